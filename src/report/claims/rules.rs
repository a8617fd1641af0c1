//! The note's decision rules (keep, reconsider, mTLS wins) and its real-world throttling context.

use super::{Claim, Status, not_measured, status};
use crate::report::verdict::{VerdictInput, at_least, verdict};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};

/// "mTLS clearly wins" threshold.
const MTLS_WINS_RPS: f64 = 10_000.0;
/// Share of the uncached throttling the cached gateway may keep and still count as removing it.
const CACHE_REMOVES_SHARE: f64 = 0.1;
/// "reconsider mTLS" threshold as the note states it.
const RECONSIDER_RPS: f64 = 1_000.0;

/// The verdict's inputs whose key starts with `prefix`.
fn inputs(r: &Results, prefix: &str) -> Vec<VerdictInput> {
    verdict(r)
        .inputs
        .into_iter()
        .filter(|c| c.key.starts_with(prefix))
        .collect()
}

pub(super) fn keep_rule(r: &Results) -> Claim {
    let (claim, note) = (
        "keep TokenReview (rule)",
        "cache hit rate > 95% and no K8s API throttling",
    );
    let rows = [inputs(r, "hit-ratio"), inputs(r, "throttling")].concat();
    let measured: Vec<String> = rows
        .iter()
        .map(|c| format!("{}: {}", c.name, c.measured))
        .collect();
    let status = if rows.iter().any(|c| c.ok.is_none()) {
        Status::NotMeasured("hit ratio or throttling not measured".into())
    } else {
        status(rows.iter().all(|c| c.ok == Some(true)))
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
    let throttled = inputs(r, "throttling").first().and_then(|c| c.ok) == Some(false);
    let Some((rate, cpu)) = figures::cpu_per_request(r, "cached") else {
        return not_measured(claim, note, "no gateway CPU per request of the cached mode");
    };
    let Some(per_core) = figures::capacity_per_core(&cpu) else {
        return not_measured(claim, note, "the cached mode's CPU per request was zero");
    };
    let measured = format!(
        "one core serves {} with cached TokenReview (CPU per request at {} RPS); throttling with \
         the cache: {}",
        numfmt::estimate_rps(&per_core),
        numfmt::rps(rate),
        if throttled { "yes" } else { "no" }
    );
    // The threshold holds when the cache carries the gateway at least up to 1,000 RPS.
    let status = match at_least(&per_core, RECONSIDER_RPS) {
        Some(carries) => Status::Projected {
            held: carries && !throttled,
        },
        None => Status::NotMeasured("the capacity interval straddles 1,000 RPS".into()),
    };
    Claim {
        claim,
        in_the_note: note,
        measured,
        status,
    }
}

pub(super) fn mtls_wins(r: &Results) -> Claim {
    let (claim, note) = ("mTLS clearly wins", "> 10,000 RPS");
    let (Some((_, m)), Some((_, c))) = (
        figures::cpu_per_request(r, "mtls"),
        figures::cpu_per_request(r, "cached"),
    ) else {
        return not_measured(
            claim,
            note,
            "needs the gateway CPU per request of both mtls and cached",
        );
    };
    let cores = |cpu: &crate::results::Estimate| cpu.scaled(MTLS_WINS_RPS / 1e6);
    let (mc, cc) = (cores(&m), cores(&c));
    let measured = format!(
        "projected to 10,000 RPS from CPU per request: cached TokenReview needs {:.2} cores \
         (95% CI {:.2} to {:.2}), mTLS on kept-alive connections {:.2} ({:.2} to {:.2}); API calls \
         stay at about one per identity per TTL for both (see the projections)",
        cc.value, cc.lo, cc.hi, mc.value, mc.lo, mc.hi
    );
    // "Clearly" reads as: mTLS's whole interval below cached's.
    Claim {
        claim,
        in_the_note: note,
        measured,
        status: Status::Projected {
            held: mc.hi < cc.lo,
        },
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
