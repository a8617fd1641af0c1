//! The verdict of issue 5 section 1: keep TokenReview + cache, reconsider mTLS, or the
//! alternative that measured best, with the rule and the measured values that drove it.

use super::figures::{self, Capacity};
use super::numfmt;
use crate::results::{LoadSummary, Results, RunRecord, Scenario};

/// Which way the rule came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    /// Hit ratio above target, no throttling, p99 within the SLO at both rates.
    KeepTokenReview,
    /// The expected or growth rate exceeds what cached TokenReview held, or throttling persisted.
    ReconsiderMtls,
    /// TokenReview + cache missed the hit-ratio or latency bar; this mode met it at both rates.
    Alternative { mode: String },
    /// Not enough measurements, or nothing met the bar.
    Inconclusive,
}

/// One measured input of the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub measured: String,
    pub threshold: String,
    /// None when not measured.
    pub ok: Option<bool>,
}

/// The verdict: branch, a sentence a platform lead can act on, the rule, and its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub branch: Branch,
    pub sentence: String,
    pub rule: String,
    pub checks: Vec<Check>,
}

/// Alternatives to TokenReview + cache, in the order they are preferred on a tie, with the
/// trade-off a reader must accept.
const ALTERNATIVES: [(&str, &str); 3] = [
    (
        "jwks",
        "no API call per request (local JWT verification against the cluster's JWKS), but a revoked token stays valid until it expires",
    ),
    (
        "mtls",
        "no TokenReview at all, but every client needs a certificate: you run a PKI and revoke through a CRL",
    ),
    (
        "hybrid",
        "certificates where clients have them and cached tokens elsewhere, so you operate both paths",
    ),
];

/// Computes the verdict from measured values (pure).
pub fn verdict(results: &Results) -> Verdict {
    let s = &results.settings;
    let slo = s.slo_p99_us;
    let at_expected = figures::nearest_steady(results, "cached", s.expected_rps);
    let at_growth = figures::nearest_steady(results, "cached", s.growth_rps);
    let capacity = figures::capacity(results, "cached", slo);
    let throttled_runs: Vec<&RunRecord> = figures::runs_of(results, Scenario::Steady, "cached")
        .chain(figures::runs_of(results, Scenario::Saturation, "cached"))
        .map(|(run, _)| run)
        .filter(|run| figures::throttled(run))
        .collect();
    let any_cached_run = figures::runs_of(results, Scenario::Steady, "cached")
        .chain(figures::runs_of(results, Scenario::Saturation, "cached"))
        .next()
        .is_some();

    let hit_ratios: Vec<Option<f64>> = [at_expected, at_growth]
        .iter()
        .map(|r| r.and_then(|(run, _)| run.token_cache.as_ref()?.hit_ratio()))
        .collect();
    let min_hit = if hit_ratios.iter().all(Option::is_some) {
        hit_ratios.iter().flatten().copied().reduce(f64::min)
    } else {
        None
    };
    let p99 = |r: Option<(&RunRecord, &LoadSummary)>| r.map(|(_, load)| load.latency_us.p99);

    // What cached TokenReview held: the saturation ramp when there is one, else whether the
    // steady run at the growth rate held.
    let exceeds = match &capacity {
        Some(c) => Some(c.held_rps < s.expected_rps || c.held_rps < s.growth_rps),
        None => at_growth.map(|(run, load)| !figures::held(run, load, slo)),
    };
    let throttled = !throttled_runs.is_empty();

    let mut checks = vec![capacity_check(&capacity, at_growth, s.growth_rps, slo)];
    for ((label, rate), run) in [("expected", s.expected_rps), ("growth", s.growth_rps)]
        .into_iter()
        .zip([at_expected, at_growth])
    {
        let hit = run.and_then(|(r, _)| r.token_cache.as_ref()?.hit_ratio());
        checks.push(Check {
            name: format!(
                "token-cache hit ratio at the {label} rate ({} RPS)",
                numfmt::rps(rate)
            ),
            measured: numfmt::opt(hit, numfmt::pct),
            threshold: format!("> {}", numfmt::pct(s.hit_ratio_target)),
            ok: hit.map(|h| h > s.hit_ratio_target),
        });
        checks.push(Check {
            name: format!("p99 at the {label} rate ({} RPS)", numfmt::rps(rate)),
            measured: run
                .map(|(r, l)| format!("{} (run {})", numfmt::latency_us(l.latency_us.p99), r.id))
                .unwrap_or_else(|| "n/a (no cached steady run near this rate)".into()),
            threshold: format!("<= {}", numfmt::latency_us(slo)),
            ok: run.map(|(_, l)| l.latency_us.p99 <= slo),
        });
    }
    checks.push(Check {
        name: "API throttling with the cache (429s or client rate-limiter wait)".into(),
        measured: throttle_text(&throttled_runs),
        threshold: "none".into(),
        ok: any_cached_run.then_some(!throttled),
    });

    let rule = format!(
        "Keep TokenReview + cache when, at the expected ({e} RPS) and growth ({g} RPS) rates, the \
         token-cache hit ratio is above {h}, the API server did not throttle the cached gateway \
         (no 429s, no client-side rate-limiter wait) and p99 stays within the SLO ({slo}). \
         Reconsider mTLS when the expected or growth rate exceeds what cached TokenReview held \
         in the saturation ramp, or throttling persisted with the cache. Otherwise name the \
         alternative that met the SLO at both rates with the lowest p99 at the growth rate, \
         with its trade-off.",
        e = numfmt::rps(s.expected_rps),
        g = numfmt::rps(s.growth_rps),
        h = numfmt::pct(s.hit_ratio_target),
        slo = numfmt::latency_us(slo),
    );

    let (branch, sentence) = if !any_cached_run {
        (
            Branch::Inconclusive,
            "No verdict: there is no cached TokenReview run with data, so nothing can be compared \
             against the rule."
                .to_string(),
        )
    } else if exceeds == Some(true) || throttled {
        (
            Branch::ReconsiderMtls,
            reconsider_sentence(results, &capacity, &throttled_runs),
        )
    } else {
        let p99_ok = [p99(at_expected), p99(at_growth)]
            .iter()
            .all(|p| p.is_some_and(|p| p <= slo));
        let hit_ok = min_hit.is_some_and(|h| h > s.hit_ratio_target);
        if p99_ok && hit_ok && exceeds == Some(false) {
            (
                Branch::KeepTokenReview,
                keep_sentence(
                    results,
                    &capacity,
                    min_hit.unwrap_or(0.0),
                    at_expected,
                    at_growth,
                ),
            )
        } else {
            // A measured miss can point to an alternative; a missing measurement only to "no verdict".
            let mut missed = Vec::new();
            let mut missing = Vec::new();
            let low_hit = hit_ratios.iter().flatten().copied().reduce(f64::min);
            match low_hit {
                Some(h) if h <= s.hit_ratio_target => missed.push(format!(
                    "its token-cache hit ratio was {} (target above {})",
                    numfmt::pct(h),
                    numfmt::pct(s.hit_ratio_target)
                )),
                _ if min_hit.is_none() => {
                    missing.push("the hit ratio was not measured at both rates".to_string())
                }
                _ => {}
            }
            for (label, run) in [("expected", at_expected), ("growth", at_growth)] {
                match p99(run) {
                    Some(p) if p > slo => missed.push(format!(
                        "p99 at the {label} rate was {} (SLO {})",
                        numfmt::latency_us(p),
                        numfmt::latency_us(slo)
                    )),
                    None => missing.push(format!("no cached steady run near the {label} rate")),
                    _ => {}
                }
            }
            if exceeds.is_none() {
                missing.push("the cached capacity was not measured".into());
            }
            if missed.is_empty() {
                let sentence = format!(
                    "No verdict yet: TokenReview + cache met every measured condition, but {}; \
                     run the missing scenarios before deciding.",
                    missing.join(", ")
                );
                return Verdict {
                    branch: Branch::Inconclusive,
                    sentence,
                    rule,
                    checks,
                };
            }
            missed.extend(missing);
            match best_alternative(results) {
                Some((mode, tradeoff, p99_growth)) => (
                    Branch::Alternative {
                        mode: mode.to_string(),
                    },
                    format!(
                        "Use {mode} rather than TokenReview + cache: the cached gateway missed the \
                         bar ({}), while {mode} met the SLO at {} and {} RPS (p99 {} at the growth \
                         rate). Trade-off: {tradeoff}.",
                        missed.join("; "),
                        numfmt::rps(s.expected_rps),
                        numfmt::rps(s.growth_rps),
                        numfmt::latency_us(p99_growth),
                    ),
                ),
                None => (
                    Branch::Inconclusive,
                    format!(
                        "No clear verdict: TokenReview + cache missed the bar ({}) and no \
                         alternative mode met the SLO at both rates; look at the claims and mode \
                         tables before deciding.",
                        missed.join("; ")
                    ),
                ),
            }
        }
    };
    Verdict {
        branch,
        sentence,
        rule,
        checks,
    }
}

fn capacity_check(
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

fn throttle_text(runs: &[&RunRecord]) -> String {
    if runs.is_empty() {
        return "none in cached steady or saturation runs".into();
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{}: {} x 429, client wait {}",
                r.id,
                numfmt::int(r.apiserver_throttled as f64),
                numfmt::secs(r.client_throttle_wait_secs)
            )
        })
        .collect();
    parts.join("; ")
}

fn reconsider_sentence(
    results: &Results,
    capacity: &Option<Capacity>,
    throttled: &[&RunRecord],
) -> String {
    let s = &results.settings;
    let mut why = Vec::new();
    if let Some(c) = capacity {
        if c.held_rps < s.growth_rps || c.held_rps < s.expected_rps {
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
    } else {
        why.push(format!(
            "cached TokenReview did not hold the growth rate of {} RPS",
            numfmt::rps(s.growth_rps)
        ));
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

fn keep_sentence(
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

/// The alternative mode that held the SLO at both rates with the lowest p99 at the growth rate.
fn best_alternative(results: &Results) -> Option<(&'static str, &'static str, u64)> {
    let s = &results.settings;
    ALTERNATIVES
        .iter()
        .filter_map(|(mode, tradeoff)| {
            let e = figures::nearest_steady(results, mode, s.expected_rps)?;
            let g = figures::nearest_steady(results, mode, s.growth_rps)?;
            let ok = figures::held(e.0, e.1, s.slo_p99_us) && figures::held(g.0, g.1, s.slo_p99_us);
            ok.then_some((*mode, *tradeoff, g.1.latency_us.p99))
        })
        .min_by_key(|(_, _, p99)| *p99)
}
