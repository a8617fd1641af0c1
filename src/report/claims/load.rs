//! Claims about latency, API calls per request and per token, and the load the gateway takes.

use super::{Claim, Status, not_measured, status};
use crate::report::{figures, numfmt};
use crate::results::{Estimate, Results, Scenario};

/// The range the note gives for a cached authentication, microseconds.
const CACHED_LATENCY_CLAIM_US: (f64, f64) = (1_000.0, 2_000.0);
/// The range the note gives for an uncached TokenReview, microseconds.
const UNCACHED_LATENCY_CLAIM_US: (f64, f64) = (50_000.0, 100_000.0);
/// Tolerance around "1 API call per request" for the uncached mode.
const ONE_CALL_TOLERANCE: f64 = 0.1;

/// Judges a cost over the floor against a claimed range: held when its interval lies inside,
/// otherwise how many times faster or slower than the claim it was.
fn against_range(cost: &Estimate, (lo, hi): (f64, f64)) -> (String, Status) {
    if cost.lo >= lo && cost.hi <= hi {
        return ("in the claimed range".into(), Status::Held);
    }
    if cost.hi < lo {
        let times = lo / cost.hi.max(1.0);
        let what = if cost.contains_zero() {
            format!(
                "below what this machine resolved (< {}), at least {times:.0}x faster than claimed",
                numfmt::signed_us(cost.hi.max(0.0))
            )
        } else {
            format!("{times:.0}x faster than claimed")
        };
        return (what, Status::DidNotHold);
    }
    if cost.lo > hi {
        return (
            format!("{:.1}x slower than claimed", cost.value / hi),
            Status::DidNotHold,
        );
    }
    (
        "its interval straddles an end of the claimed range".into(),
        Status::NotMeasured("the interval is too wide to tell; measure more rounds".into()),
    )
}

/// A mode's p50 and p99 cost over the floor at the comparison nearest the expected rate.
fn costs(r: &Results, mode: &str) -> Option<(f64, Estimate, Estimate)> {
    let c = figures::comparison_near(r, r.settings.expected_rps)?;
    let q = c.mode(mode)?.cost_us.as_ref()?;
    Some((c.offered_rps, q.p50?, q.p99?))
}

pub(super) fn cached_latency(r: &Results) -> Claim {
    let (claim, note) = ("cached auth latency", "1-2 ms (first request 50-100 ms)");
    let Some((rate, p50, p99)) = costs(r, "cached") else {
        return not_measured(
            claim,
            note,
            "no paired comparison of cached and the floor near the expected rate",
        );
    };
    let first = figures::runs_of(r, Scenario::ColdBurst, "cached")
        .find_map(|(_, l)| l.cold_burst.as_ref().map(|c| c.latency_us.p50))
        .map(|p| format!("; first request (cold burst) p50 {}", numfmt::latency_us(p)))
        .unwrap_or_default();
    let (judged, status) = against_range(&p99, CACHED_LATENCY_CLAIM_US);
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "cost over the no-auth floor at {} RPS: p50 {}, p99 {}: {judged}{first}",
            numfmt::rps(rate),
            numfmt::cost_us(&p50),
            numfmt::cost_us(&p99),
        ),
        status,
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
    let calls = format!("{per_request:.2} TokenReviews per request");
    let calls_held = (per_request - 1.0).abs() <= ONE_CALL_TOLERANCE;
    // On the embedded stand-in a TokenReview takes what its latency model says: that is
    // configuration, not a fact about Kubernetes, so only the call count is measured there.
    if r.environment.target == "embedded" {
        return Claim {
            claim,
            in_the_note: note,
            measured: calls,
            status: Status::NotMeasured(format!(
                "not measurable on the stand-in: its TokenReview latency is configured, not \
                 measured (the call count {}); run decide --target kube-apiserver",
                if calls_held { "held" } else { "did not hold" }
            )),
        };
    }
    let Some((rate, p50, _)) = costs(r, "tokenreview") else {
        return Claim {
            claim,
            in_the_note: note,
            measured: calls,
            status: Status::NotMeasured("no paired comparison of tokenreview and the floor".into()),
        };
    };
    let (judged, status) = against_range(&p50, UNCACHED_LATENCY_CLAIM_US);
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "{calls}; p50 cost over the floor at {} RPS {}: {judged}",
            numfmt::rps(rate),
            numfmt::cost_us(&p50)
        ),
        status: if calls_held {
            status
        } else {
            Status::DidNotHold
        },
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
    let scale = figures::run_time_scale(c_run, figures::time_scale(r));
    let cached = per_request(figures::auth_calls(c_run) as f64 / scale, c_load);
    let uncached = per_request(figures::auth_calls(t_run) as f64, t_load);
    match (cached, uncached) {
        (Some(c), Some(u)) if u > 0.0 => {
            let reduction = 1.0 - c / u;
            Claim {
                claim,
                in_the_note: note,
                measured: format!(
                    "{} fewer auth API calls per request ({c:.4} vs {u:.2}; {})",
                    numfmt::pct(reduction),
                    if scale > 1.0 {
                        format!("cached figure projected to real time, time scale {scale}")
                    } else {
                        "the run's TTLs were real".to_string()
                    }
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
    let real_secs = run.duration_secs * figures::run_time_scale(run, figures::time_scale(r));
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
        // Whether the rate was carried; its latency is judged as a cost, in the verdict.
        status: status(
            load.achieved_rps >= run.offered_rps * figures::HELD_ACHIEVED_SHARE
                && figures::error_ratio(load) <= figures::HELD_MAX_ERROR_RATIO,
        ),
    }
}
