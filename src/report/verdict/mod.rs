//! The verdict of issue 5 section 1: keep TokenReview + cache, reconsider mTLS, or the
//! alternative that measured best, with the rule and the measured values that drove it.

mod text;

use super::figures;
use super::numfmt;
use crate::results::{LoadSummary, Results, RunRecord, Scenario};
use text::{capacity_check, keep_sentence, reconsider_sentence, throttle_text};

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
        .map(|r| r.and_then(|(run, _)| run.server().token_cache.as_ref()?.hit_ratio()))
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
    // A capacity figure from a generator-limited run (or step) is only a lower bound.
    let (generator_limited, generator_reason) = match &capacity {
        Some(c) => (
            c.generator_limited,
            figures::runs_of(results, Scenario::Saturation, "cached")
                .find_map(|(_, load)| load.generator.reason.clone()),
        ),
        None => at_growth
            .map(|(_, load)| (load.generator.limited, load.generator.reason.clone()))
            .unwrap_or((false, None)),
    };
    // When the gateway without any authentication already misses the SLO, the machine or the
    // generator limits latency, and no auth mode can be judged against that SLO.
    let mut floor_runs: Vec<(&RunRecord, &LoadSummary)> = [s.expected_rps, s.growth_rps]
        .into_iter()
        .filter_map(|rate| figures::nearest_steady(results, "none", rate))
        .collect();
    // Close rates can pick the same run twice.
    floor_runs.dedup_by(|a, b| a.0.id == b.0.id);
    let floor_misses: Vec<String> = floor_runs
        .iter()
        .filter(|(run, load)| !figures::held(run, load, slo))
        .map(|(run, load)| {
            let mut missed = Vec::new();
            if load.latency_us.p99 > slo {
                missed.push(format!("p99 {}", numfmt::latency_us(load.latency_us.p99)));
            }
            if load.achieved_rps < run.offered_rps * figures::HELD_ACHIEVED_SHARE {
                missed.push(format!("achieved {} RPS", numfmt::rps(load.achieved_rps)));
            }
            let errors = figures::error_ratio(load);
            if errors > figures::HELD_MAX_ERROR_RATIO {
                missed.push(format!("{} errors", numfmt::pct(errors)));
            }
            format!(
                "at {} RPS: {}",
                numfmt::rps(run.offered_rps),
                missed.join(", ")
            )
        })
        .collect();

    let mut checks = vec![capacity_check(&capacity, at_growth, s.growth_rps, slo)];
    for ((label, rate), run) in [("expected", s.expected_rps), ("growth", s.growth_rps)]
        .into_iter()
        .zip([at_expected, at_growth])
    {
        let hit = run.and_then(|(r, _)| r.server().token_cache.as_ref()?.hit_ratio());
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
        name: "no-auth floor (mode none) holds both rates within the SLO".into(),
        measured: if floor_runs.is_empty() {
            "n/a (no steady run of mode none near these rates)".into()
        } else if floor_misses.is_empty() {
            "held".into()
        } else {
            floor_misses.join("; ")
        },
        threshold: format!(
            "p99 <= {}, >= 95% of offered, <= 1% errors",
            numfmt::latency_us(slo)
        ),
        ok: (!floor_runs.is_empty()).then_some(floor_misses.is_empty()),
    });
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
         with its trade-off. When the gateway without authentication (mode none) cannot hold \
         a rate within the SLO either, the machine is the limit and there is no verdict on \
         latency or capacity; a capacity measured while the load generator was the limit is a \
         lower bound and gives no verdict either.",
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
    } else if throttled {
        (
            Branch::ReconsiderMtls,
            reconsider_sentence(results, &capacity, None, at_growth, &throttled_runs),
        )
    } else if !floor_misses.is_empty() {
        (
            Branch::Inconclusive,
            format!(
                "No verdict on this machine: even without authentication the gateway missed the \
                 bar ({}), so latency and capacity here say more about the machine and the load \
                 generator than about TokenReview. Relax the SLO (--slo-p99-us) or measure on a quieter \
                 machine.",
                floor_misses.join("; ")
            ),
        )
    } else if exceeds == Some(true) && generator_limited {
        (
            Branch::Inconclusive,
            format!(
                "No verdict on capacity: the load generator, not the gateway, was the limit in the \
                 run that measured it{}, so what cached TokenReview held is a lower bound below the \
                 rate asked for. Give the generator more cores or spread it over several processes \
                 (gatebench report --merge) and measure again.",
                generator_reason
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        )
    } else if exceeds == Some(true) {
        (
            Branch::ReconsiderMtls,
            reconsider_sentence(results, &capacity, exceeds, at_growth, &[]),
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
