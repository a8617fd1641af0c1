//! The words of the verdict: the rule and one sentence per branch, naming the inputs that decided
//! it with their intervals.

use crate::report::{figures, numfmt};
use crate::results::{Estimate, Results, RunRecord, VerdictInput};

/// A cost in a sentence: the estimate with its interval, or the bound this machine resolved.
fn short_cost(e: &Estimate) -> String {
    if e.contains_zero() {
        format!(
            "less than {} (below what this machine resolved)",
            numfmt::signed_us(e.hi.max(0.0))
        )
    } else {
        format!(
            "{} (95% CI {} to {})",
            numfmt::signed_us(e.value),
            numfmt::signed_us(e.lo),
            numfmt::signed_us(e.hi)
        )
    }
}

/// The inputs' names and measured values, for a sentence.
fn listed(inputs: &[&VerdictInput]) -> String {
    inputs
        .iter()
        .map(|x| format!("{}: {}", x.name, x.measured))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn rule(r: &Results) -> String {
    let s = &r.settings;
    format!(
        "Every mode is measured paired with the no-auth floor (mode none) in interleaved rounds at \
         the expected ({e} RPS) and growth ({g} RPS) rates; each figure carries a 95% interval \
         (bootstrap over rounds; for the p99 cost in a typical round, the median of the \
         per-round differences with its sign-test interval). Keep TokenReview + cache when the \
         p99 latency it adds over the floor in a typical round stays within the budget ({b}) at \
         both rates, one gateway core serves at least the \
         growth rate (from the gateway's CPU per request), the API-call model, checked against \
         the API server's exact counts, projects a token-cache hit ratio of at least {h} for \
         {ids} identities at both rates, and the API server did not throttle the cached gateway. \
         Reconsider mTLS when throttling persisted with the cache or one core cannot serve the \
         growth rate. When the cost or the hit ratio misses its bar, name the alternative that \
         met the budget at both rates with the lowest cost. An interval that straddles a bar \
         decides nothing: the verdict is then inconclusive and says which input to measure \
         longer. One inference is allowed: a p99 cost the expected rate leaves unresolved is \
         bounded by the growth rate's when that one resolved within the budget and the mode \
         made no API call in either rate's measured slots (its check is then fixed CPU work, \
         which meets no less queueing at the higher rate). The absolute end-to-end p99 of this \
         machine is shown beside the costs and is not judged against a fixed threshold.",
        e = numfmt::rps(s.expected_rps),
        g = numfmt::rps(s.growth_rps),
        b = numfmt::latency_us(s.latency_budget_us),
        h = numfmt::pct(s.hit_ratio_target),
        ids = s
            .identities
            .iter()
            .map(|n| numfmt::int(*n as f64))
            .collect::<Vec<_>>()
            .join(" / "),
    )
}

pub(super) fn throttle_text(runs: &[&RunRecord]) -> String {
    if runs.is_empty() {
        return "none in cached steady or saturation runs".into();
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{}: {} x 429, client wait {}",
                r.id,
                numfmt::int(r.server().apiserver_throttled.unwrap_or(0) as f64),
                numfmt::secs(r.server().client_throttle_wait_secs.unwrap_or(0.0))
            )
        })
        .collect();
    parts.join("; ")
}

/// The rate and estimate of the input that bounds `x` (see `inputs::bound_by_higher_rate`).
fn bound(
    latency: &[VerdictInput],
    rates: &[(&'static str, f64)],
    x: &VerdictInput,
) -> Option<(f64, Estimate)> {
    let key = x.bounded_by.as_ref()?;
    latency
        .iter()
        .zip(rates)
        .find(|(y, _)| &y.key == key)
        .and_then(|(y, (_, rate))| Some((*rate, y.estimate?)))
}

pub(super) fn keep(
    r: &Results,
    latency: &[VerdictInput],
    capacity: &VerdictInput,
    hit: &VerdictInput,
) -> String {
    let s = &r.settings;
    let rates = super::inputs::rates(r);
    let costs: Vec<String> = latency
        .iter()
        .zip(&rates)
        .filter_map(|(x, (_, rate))| {
            let own = short_cost(x.estimate.as_ref()?);
            let cost = match bound(latency, &rates, x) {
                Some((higher, e)) => format!(
                    "at most {} (bounded by the cost at {} RPS; this rate alone resolved {own})",
                    numfmt::signed_us(e.hi.max(0.0)),
                    numfmt::rps(higher)
                ),
                None => own,
            };
            Some(format!("{cost} at {} RPS", numfmt::rps(*rate)))
        })
        .collect();
    let per_core = capacity
        .estimate
        .map(|e| format!("one gateway core serves {}", numfmt::estimate_rps(&e)))
        .unwrap_or_else(|| capacity.measured.clone());
    let ids = s.identities.iter().copied().max().unwrap_or(0);
    format!(
        "Keep TokenReview + cache: it adds {} at p99 over the no-auth floor (budget {}); {per_core}, \
         above the growth rate of {} RPS; the API-call model, which matched the API server's \
         counts, projects a token-cache hit ratio of at least {} with up to {} identities; and \
         the API server never throttled it.",
        costs.join(" and "),
        numfmt::latency_us(s.latency_budget_us),
        numfmt::rps(s.growth_rps),
        hit.estimate
            .map(|e| numfmt::pct(e.value))
            .unwrap_or_else(|| "n/a".into()),
        numfmt::int(ids as f64),
    )
}

pub(super) fn reconsider(
    r: &Results,
    throttling: &VerdictInput,
    capacity: &VerdictInput,
) -> String {
    let mut why = Vec::new();
    if throttling.ok == Some(false) {
        why.push(format!(
            "the API server throttled the gateway even with the cache ({})",
            throttling.measured
        ));
    }
    if capacity.ok == Some(false) {
        why.push(format!(
            "one gateway core serves only {} with cached TokenReview, below the growth rate of {} \
             RPS",
            capacity
                .estimate
                .map(|e| numfmt::estimate_rps(&e))
                .unwrap_or_else(|| capacity.measured.clone()),
            numfmt::rps(r.settings.growth_rps)
        ));
    }
    let mtls = match figures::cpu_per_request(r, "mtls")
        .and_then(|(_, cpu)| figures::capacity_per_core(&cpu))
    {
        Some(e) => format!(
            " In the same rounds one core serves {} with mTLS (on kept-alive connections).",
            numfmt::estimate_rps(&e)
        ),
        None => " mTLS was not measured in the same rounds.".into(),
    };
    format!("Reconsider mTLS: {}.{mtls}", why.join(", and "))
}

pub(super) fn alternative(
    mode: &str,
    tradeoff: &str,
    missed: &[&VerdictInput],
    alt: &[VerdictInput],
) -> String {
    let costs: Vec<String> = alt
        .iter()
        .filter_map(|x| x.estimate.as_ref().map(short_cost))
        .collect();
    format!(
        "Use {mode} rather than TokenReview + cache: the cached gateway missed the bar ({}), \
         while {mode} adds {} at p99 over the floor at the verdict rates. Trade-off: {tradeoff}.",
        listed(missed),
        costs.join(" and "),
    )
}

pub(super) fn missed_without_alternative(missed: &[&VerdictInput]) -> String {
    format!(
        "No clear verdict: TokenReview + cache missed the bar ({}) and no alternative mode met \
         the latency budget at both rates; look at the paired comparison before deciding.",
        listed(missed)
    )
}

pub(super) fn unresolved(inputs: &[&VerdictInput]) -> String {
    format!(
        "No verdict yet: TokenReview + cache missed no bar, but these inputs were not measured or \
         their intervals straddle the bar ({}); measure them longer (more rounds, --profile \
         standard) before deciding.",
        listed(inputs)
    )
}

pub(super) fn failure_differs(inputs: &[&VerdictInput]) -> String {
    format!(
        "No verdict: TokenReview + cache met the cost, capacity and API-call bars, but its \
         failure behaviour differs from the design note ({}); look at the resilience section \
         before deciding.",
        inputs
            .iter()
            .map(|x| format!("{} (the note: {}): {}", x.name, x.threshold, x.measured))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// kube-rbac-proxy beside the cached mode, when both ran in a comparison: the off-the-shelf way
/// to run TokenReview + SubjectAccessReview with caches, and what it costs here.
pub(super) fn off_the_shelf(r: &Results) -> Option<String> {
    let c = r
        .comparisons
        .iter()
        .rev()
        .find(|c| c.mode("cached").is_some() && c.mode("kube-rbac-proxy").is_some())?;
    let (ours, krp) = (c.mode("cached")?, c.mode("kube-rbac-proxy")?);
    let p50 = |m: &crate::results::ModeComparison| {
        m.cost_us
            .as_ref()
            .and_then(|q| q.p50.as_ref())
            .map_or("not measured".to_string(), short_cost)
    };
    let cpu = |m: &crate::results::ModeComparison| {
        numfmt::opt(m.cpu_us_per_request.as_ref(), numfmt::estimate_us)
    };
    Some(format!(
        "Off the shelf, kube-rbac-proxy runs the same strategy (TokenReview cached 2 min, \
         SubjectAccessReview cached 5 min, in front of the app): at {} RPS its p50 cost over \
         the floor was {} against the cached gateway's {}, and its CPU per request (proxy and \
         app) {} against {}.",
        numfmt::rps(c.offered_rps),
        p50(krp),
        p50(ours),
        cpu(krp),
        cpu(ours),
    ))
}
