//! The note's decision rules (keep, reconsider, mTLS wins) and its real-world throttling context.

use super::{Claim, Status, not_measured, status};
use crate::report::verdict::verdict;
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};

/// "mTLS clearly wins" threshold.
const MTLS_WINS_RPS: f64 = 10_000.0;
/// "reconsider mTLS" threshold as the note states it.
const RECONSIDER_RPS: f64 = 1_000.0;

pub(super) fn check_ok(r: &Results, prefix: &str) -> Vec<Option<bool>> {
    verdict(r)
        .checks
        .into_iter()
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| c.ok)
        .collect()
}

pub(super) fn keep_rule(r: &Results) -> Claim {
    let (claim, note) = (
        "keep TokenReview (rule)",
        "cache hit rate > 95% and no K8s API throttling",
    );
    let v = verdict(r);
    let measured: Vec<String> = v
        .checks
        .iter()
        .filter(|c| {
            c.name.starts_with("token-cache hit ratio") || c.name.starts_with("API throttling")
        })
        .map(|c| format!("{}: {}", c.name, c.measured))
        .collect();
    let oks: Vec<Option<bool>> = [
        check_ok(r, "token-cache hit ratio"),
        check_ok(r, "API throttling"),
    ]
    .concat();
    let status = if oks.iter().any(Option::is_none) {
        Status::NotMeasured("hit ratio or throttling not measured at both rates".into())
    } else {
        status(oks.iter().all(|ok| *ok == Some(true)))
    };
    Claim {
        claim,
        in_the_note: note,
        measured: measured.join("; "),
        status,
    }
}

pub(super) fn reconsider_rule(r: &Results) -> Claim {
    let (claim, note) = (
        "reconsider mTLS (rule)",
        "sustained > 1,000 RPS, or throttling persists with the cache",
    );
    let Some(c) = figures::capacity(r, "cached", r.settings.slo_p99_us) else {
        return not_measured(claim, note, "no cached saturation run");
    };
    let throttled = check_ok(r, "API throttling").first().copied().flatten() == Some(false);
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "cached TokenReview held {} RPS (ramp to {}); throttling with the cache: {}",
            numfmt::rps(c.held_rps),
            numfmt::rps(c.ramp_top_rps),
            if throttled { "yes" } else { "no" }
        ),
        // The threshold holds when the cache carries the gateway at least up to 1,000 RPS.
        status: status(c.held_rps >= RECONSIDER_RPS && !throttled),
    }
}

pub(super) fn mtls_wins(r: &Results) -> Claim {
    let (claim, note) = ("mTLS clearly wins", "> 10,000 RPS");
    let slo = r.settings.slo_p99_us;
    let (Some(m), Some(c)) = (
        figures::capacity(r, "mtls", slo),
        figures::capacity(r, "cached", slo),
    ) else {
        return not_measured(claim, note, "needs saturation runs of both mtls and cached");
    };
    let measured = format!(
        "mTLS held {} RPS, cached TokenReview {} RPS",
        numfmt::rps(m.held_rps),
        numfmt::rps(c.held_rps)
    );
    if m.ramp_top_rps < MTLS_WINS_RPS && c.ramp_top_rps < MTLS_WINS_RPS {
        let why = format!(
            "the saturation ramp stopped at {} RPS on this machine{}",
            numfmt::rps(m.ramp_top_rps.max(c.ramp_top_rps)),
            if m.generator_limited || c.generator_limited {
                " (generator-limited)"
            } else {
                ""
            }
        );
        return Claim {
            claim,
            in_the_note: note,
            measured,
            status: Status::NotMeasured(why),
        };
    }
    Claim {
        claim,
        in_the_note: note,
        measured,
        status: status(m.held_rps > c.held_rps),
    }
}

pub(super) fn client_throttling(r: &Results) -> Claim {
    let (claim, note) = (
        "client-side throttling is what a cache removes",
        "real-world context: QPS 50 / Burst 100, p50 ~800 ms at 200 concurrent",
    );
    let wait = |mode| {
        figures::runs_of(r, Scenario::Throttle, mode)
            .next()
            .map(|(run, load)| {
                (
                    run.client_throttle_wait_secs,
                    run.apiserver_throttled,
                    load.latency_us.p50,
                )
            })
    };
    let (Some(tr), Some(ca)) = (wait("tokenreview"), wait("cached")) else {
        return not_measured(claim, note, "needs throttle runs of tokenreview and cached");
    };
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "tokenreview: client wait {}, {} x 429, p50 {}; cached: client wait {}, {} x 429, p50 {}",
            numfmt::secs(tr.0),
            tr.1,
            numfmt::latency_us(tr.2),
            numfmt::secs(ca.0),
            ca.1,
            numfmt::latency_us(ca.2)
        ),
        status: status((tr.0 > 0.0 || tr.1 > 0) && ca.0 == 0.0 && ca.1 == 0),
    }
}
