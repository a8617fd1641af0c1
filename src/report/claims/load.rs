//! Claims about latency, API calls per request and per token, and the load the gateway takes.

use super::{Claim, not_measured, status};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};

/// Latency the note gives for a cached authentication.
const CACHED_LATENCY_CLAIM_US: u64 = 2_000;
/// Tolerance around "1 API call per request" for the uncached mode.
const ONE_CALL_TOLERANCE: f64 = 0.1;

pub(super) fn cached_latency(r: &Results) -> Claim {
    let (claim, note) = ("cached auth latency", "1-2 ms (first request 50-100 ms)");
    let Some((run, load)) = figures::nearest_steady(r, "cached", r.settings.expected_rps) else {
        return not_measured(claim, note, "no cached steady run near the expected rate");
    };
    let first = figures::runs_of(r, Scenario::ColdBurst, "cached")
        .find_map(|(_, l)| l.cold_burst.as_ref().map(|c| c.latency_us.p50))
        .map(|p| format!("; first request (cold burst) p50 {}", numfmt::latency_us(p)))
        .unwrap_or_default();
    // The claim is about what authentication adds; the no-auth floor at the same rate takes
    // out what the machine, the network stack and the generator cost anyway.
    let floor = figures::nearest_steady(r, "none", run.offered_rps)
        .filter(|(f, _)| f.offered_rps == run.offered_rps)
        .map(|(_, f)| f.latency_us.p50);
    let (added, floor_text) = match floor {
        Some(f) => (
            load.latency_us.p50.saturating_sub(f),
            format!(
                "; {} over the no-auth floor (p50 {})",
                numfmt::latency_us(load.latency_us.p50.saturating_sub(f)),
                numfmt::latency_us(f)
            ),
        ),
        None => (load.latency_us.p50, String::new()),
    };
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "p50 {}, p99 {} end to end at {} RPS (run {}){floor_text}{first}",
            numfmt::latency_us(load.latency_us.p50),
            numfmt::latency_us(load.latency_us.p99),
            numfmt::rps(run.offered_rps),
            run.id
        ),
        status: status(added <= CACHED_LATENCY_CLAIM_US),
    }
}

pub(super) fn uncached(r: &Results) -> Claim {
    let (claim, note) = (
        "TokenReview without cache",
        "50-100 ms, 1 API call per request, \"limited by K8s API\"",
    );
    let Some((run, load)) = figures::nearest_steady(r, "tokenreview", r.settings.expected_rps)
    else {
        return not_measured(
            claim,
            note,
            "no tokenreview steady run near the expected rate",
        );
    };
    let Some(per_request) = figures::tokenreviews_per_request(run, load) else {
        return not_measured(claim, note, "the run sent no requests");
    };
    let held = figures::capacity(r, "tokenreview", r.settings.slo_p99_us)
        .map(|c| format!("; held up to {} RPS", numfmt::rps(c.held_rps)))
        .unwrap_or_default();
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "{per_request:.2} TokenReviews per request, p50 {} at {} RPS{held}",
            numfmt::latency_us(load.latency_us.p50),
            numfmt::rps(run.offered_rps)
        ),
        status: status((per_request - 1.0).abs() <= ONE_CALL_TOLERANCE),
    }
}

pub(super) fn call_reduction(r: &Results) -> Claim {
    let (claim, note) = ("cache: API call reduction", "95%+");
    let rate = r.settings.expected_rps;
    let (Some((c_run, c_load)), Some((t_run, t_load))) = (
        figures::nearest_steady(r, "cached", rate),
        figures::nearest_steady(r, "tokenreview", rate),
    ) else {
        return not_measured(
            claim,
            note,
            "needs steady cached and tokenreview runs near the expected rate",
        );
    };
    let per_request = |calls: f64, load| {
        let n = figures::requests(load);
        (n > 0).then(|| calls / n as f64)
    };
    let scale = figures::time_scale(r);
    let cached = per_request(figures::auth_calls(c_run) as f64 / scale, c_load);
    let uncached = per_request(figures::auth_calls(t_run) as f64, t_load);
    match (cached, uncached) {
        (Some(c), Some(u)) if u > 0.0 => {
            let reduction = 1.0 - c / u;
            Claim {
                claim,
                in_the_note: note,
                measured: format!(
                    "{} fewer auth API calls per request ({c:.4} vs {u:.2}; cached figure projected \
                     to real time, time scale {scale})",
                    numfmt::pct(reduction)
                ),
                status: status(reduction >= 0.95),
            }
        }
        _ => not_measured(
            claim,
            note,
            "the uncached run made no API calls or sent no requests",
        ),
    }
}

pub(super) fn calls_per_token(r: &Results) -> Claim {
    let (claim, note) = ("cache: calls per token", "1 call per 5 min per token");
    let ttl = r.settings.token_ttl_secs_real;
    let Some((run, load)) = figures::nearest_steady(r, "cached", r.settings.expected_rps) else {
        return not_measured(claim, note, "no cached steady run near the expected rate");
    };
    let real_secs = run.duration_secs * figures::time_scale(r);
    if load.identities == 0 || real_secs <= 0.0 || ttl <= 0.0 {
        return not_measured(claim, note, "the run has no identity count or duration");
    }
    let tokenreviews = run.server().tokenreviews().unwrap_or(0) as f64;
    let per_token = tokenreviews / load.identities as f64;
    // A run of d TTLs re-validates each token at most ceil(d) times.
    let allowed = (real_secs / ttl).ceil();
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "{per_token:.2} TokenReviews per token over {} real-time equivalent ({} TTL windows, {} identities)",
            numfmt::secs(real_secs),
            allowed,
            load.identities
        ),
        status: status(per_token <= allowed * 1.05),
    }
}

pub(super) fn gateway_load(r: &Results) -> Claim {
    let (claim, note) = ("gateway load", "~100 RPS today");
    let Some((run, load)) = figures::nearest_steady(r, "cached", r.settings.expected_rps) else {
        return not_measured(claim, note, "no cached steady run near the expected rate");
    };
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "cached gateway achieved {} of {} RPS offered, p99 {}, errors {}",
            numfmt::rps(load.achieved_rps),
            numfmt::rps(run.offered_rps),
            numfmt::latency_us(load.latency_us.p99),
            numfmt::pct(figures::error_ratio(load))
        ),
        status: status(figures::held(run, load, r.settings.slo_p99_us)),
    }
}
