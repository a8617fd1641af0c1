//! The note's decision rules (keep, reconsider, mTLS wins) and its real-world throttling context.

use super::{Claim, Status, not_measured, status};
use crate::report::verdict::verdict;
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};

/// "mTLS clearly wins" threshold.
const MTLS_WINS_RPS: f64 = 10_000.0;
/// Share of the uncached throttling the cached gateway may keep and still count as removing it.
const CACHE_REMOVES_SHARE: f64 = 0.1;
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

/// The client-QPS throttle run of a mode (the one with `kube_qps` set), if any.
fn client_qps_run<'a>(r: &'a Results, mode: &'a str) -> Option<&'a crate::results::LoadSummary> {
    let mut runs: Vec<_> = figures::runs_of(r, Scenario::Throttle, mode).collect();
    runs.sort_by_key(|(run, _)| !run.params.contains_key("kube_qps"));
    runs.first().map(|(_, load)| *load)
}

/// With loadtest's cold-then-warm bursts, the warm burst shows what the cache changes: the
/// uncached gateway reviews every request again (and queues behind the client limiter), the
/// cached one should not call the API server at all.
fn warm_burst_claim(r: &Results, claim: &'static str, note: &'static str) -> Option<Claim> {
    let tr = client_qps_run(r, "tokenreview")?.throttle.as_ref()?;
    let ca = client_qps_run(r, "cached")?.throttle.as_ref()?;
    let reviews = |calls: &std::collections::BTreeMap<String, u64>| {
        calls.get("tokenreviews").copied().unwrap_or(0)
    };
    let (tr_warm, ca_warm) = (
        reviews(&tr.warm_apiserver_calls),
        reviews(&ca.warm_apiserver_calls),
    );
    let measured = format!(
        "warm burst of {}: tokenreview p50 {} with {} TokenReviews, cached p50 {} with {}; cold \
         burst: tokenreview p50 {}, cached p50 {}; client wait over both bursts {} vs {}",
        tr.concurrency,
        numfmt::latency_us(tr.warm_latency_us.p50),
        tr_warm,
        numfmt::latency_us(ca.warm_latency_us.p50),
        ca_warm,
        numfmt::latency_us(tr.cold_latency_us.p50),
        numfmt::latency_us(ca.cold_latency_us.p50),
        numfmt::secs(tr.client_throttle_wait_secs),
        numfmt::secs(ca.client_throttle_wait_secs),
    );
    if tr_warm == 0 {
        return Some(Claim {
            claim,
            in_the_note: note,
            measured,
            status: Status::NotMeasured("the uncached warm burst made no TokenReviews".into()),
        });
    }
    let removed = ca_warm as f64 <= tr_warm as f64 * CACHE_REMOVES_SHARE
        && ca.warm_latency_us.p50 < tr.warm_latency_us.p50;
    Some(Claim {
        claim,
        in_the_note: note,
        measured,
        status: status(removed),
    })
}

pub(super) fn client_throttling(r: &Results) -> Claim {
    let (claim, note) = (
        "client-side throttling is what a cache removes",
        "real-world context: QPS 50 / Burst 100, p50 ~800 ms at 200 concurrent",
    );
    // The client-QPS throttle run is the one with `kube_qps` set; other throttle runs cap the
    // API server instead.
    let figures_of = |mode| {
        let mut runs: Vec<_> = figures::runs_of(r, Scenario::Throttle, mode).collect();
        runs.sort_by_key(|(run, _)| !run.params.contains_key("kube_qps"));
        runs.first().map(|(run, load)| {
            (
                run.server().client_throttle_wait_secs.unwrap_or(0.0),
                run.server().apiserver_throttled.unwrap_or(0),
                load.latency_us.p50,
            )
        })
    };
    if let Some(claim_row) = warm_burst_claim(r, claim, note) {
        return claim_row;
    }
    let (Some(tr), Some(ca)) = (figures_of("tokenreview"), figures_of("cached")) else {
        return not_measured(claim, note, "needs throttle runs of tokenreview and cached");
    };
    if tr.0 <= 0.0 && tr.1 == 0 {
        return Claim {
            claim,
            in_the_note: note,
            measured: "the uncached gateway was not throttled either".into(),
            status: Status::NotMeasured(
                "the throttle run did not throttle the uncached gateway".into(),
            ),
        };
    }
    // The cache still sends each identity's first review, so a cold start may wait briefly;
    // "removes" is read as at most a tenth of the uncached wait and 429s.
    let removed =
        ca.0 <= tr.0 * CACHE_REMOVES_SHARE && ca.1 as f64 <= tr.1 as f64 * CACHE_REMOVES_SHARE;
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
        status: status(removed),
    }
}
