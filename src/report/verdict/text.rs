//! The words of the verdict: its sentences and the rule-input rows, from measured values.

use super::Check;
use crate::report::figures::{self, Capacity};
use crate::report::numfmt;
use crate::results::{LoadSummary, Results, RunRecord};

pub(super) fn capacity_check(
    capacity: &Option<Capacity>,
    at_growth: Option<(&RunRecord, &LoadSummary)>,
    growth_rps: f64,
    slo: u64,
) -> Check {
    let threshold = format!(">= the growth rate, {} RPS", numfmt::rps(growth_rps));
    match (capacity, at_growth) {
        (Some(c), _) => Check {
            name: "highest rate cached TokenReview held (saturation ramp)".into(),
            measured: format!(
                "{} RPS (ramp up to {} RPS{})",
                numfmt::rps(c.held_rps),
                numfmt::rps(c.ramp_top_rps),
                if c.generator_limited {
                    ", generator-limited"
                } else {
                    ""
                }
            ),
            threshold,
            ok: Some(c.held_rps >= growth_rps),
        },
        (None, Some((run, load))) => Check {
            name: "cached TokenReview held the growth rate (steady run; no saturation ramp)".into(),
            measured: format!(
                "achieved {} of {} RPS offered",
                numfmt::rps(load.achieved_rps),
                numfmt::rps(run.offered_rps)
            ),
            threshold,
            ok: Some(figures::held(run, load, slo)),
        },
        (None, None) => Check {
            name: "highest rate cached TokenReview held".into(),
            measured: "n/a (no saturation run and no steady run near the growth rate)".into(),
            threshold,
            ok: None,
        },
    }
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

pub(super) fn reconsider_sentence(
    results: &Results,
    capacity: &Option<Capacity>,
    exceeds: Option<bool>,
    at_growth: Option<(&RunRecord, &LoadSummary)>,
    throttled: &[&RunRecord],
) -> String {
    let s = &results.settings;
    let mut why = Vec::new();
    match (capacity, at_growth) {
        (Some(c), _) if c.held_rps < s.growth_rps || c.held_rps < s.expected_rps => {
            let rate = if c.held_rps < s.expected_rps {
                ("expected", s.expected_rps)
            } else {
                ("growth", s.growth_rps)
            };
            why.push(format!(
                "cached TokenReview held {} RPS, below the {} rate of {} RPS",
                numfmt::rps(c.held_rps),
                rate.0,
                numfmt::rps(rate.1)
            ));
        }
        (None, Some((run, load))) if exceeds == Some(true) => why.push(format!(
            "at the growth rate cached TokenReview achieved {} of {} RPS with p99 {} (SLO {}) \
             and {} errors",
            numfmt::rps(load.achieved_rps),
            numfmt::rps(run.offered_rps),
            numfmt::latency_us(load.latency_us.p99),
            numfmt::latency_us(s.slo_p99_us),
            numfmt::pct(figures::error_ratio(load))
        )),
        _ => {}
    }
    if !throttled.is_empty() {
        why.push(format!(
            "the API server throttled the gateway even with the cache ({})",
            throttle_text(throttled)
        ));
    }
    let mtls = match figures::capacity(results, "mtls", s.slo_p99_us) {
        Some(c) => format!(
            " In the same ramp mTLS held {} RPS.",
            numfmt::rps(c.held_rps)
        ),
        None => " mTLS capacity was not measured in this run.".into(),
    };
    format!("Reconsider mTLS: {}.{mtls}", why.join(", and "))
}

pub(super) fn keep_sentence(
    results: &Results,
    capacity: &Option<Capacity>,
    min_hit: f64,
    at_expected: Option<(&RunRecord, &LoadSummary)>,
    at_growth: Option<(&RunRecord, &LoadSummary)>,
) -> String {
    let s = &results.settings;
    let p = |r: Option<(&RunRecord, &LoadSummary)>| {
        numfmt::opt(r.map(|(_, l)| l.latency_us.p99), numfmt::latency_us)
    };
    let held = match capacity {
        Some(c) => format!(" It held up to {} RPS.", numfmt::rps(c.held_rps)),
        None => String::new(),
    };
    format!(
        "Keep TokenReview + cache: at {} and {} RPS p99 was {} and {} (SLO {}), the token-cache \
         hit ratio was at least {} and the API server never throttled the gateway.{held}",
        numfmt::rps(s.expected_rps),
        numfmt::rps(s.growth_rps),
        p(at_expected),
        p(at_growth),
        numfmt::latency_us(s.slo_p99_us),
        numfmt::pct(min_hit),
    )
}
