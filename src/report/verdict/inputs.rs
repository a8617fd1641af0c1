//! The rule's inputs, each judged against its bar: latency cost over the floor of the same rounds,
//! CPU-projected capacity, the API-call model's hit ratio (checked against the API server's
//! counts), throttling and failure behaviour. An interval that straddles a bar leaves the input
//! unresolved (`ok: None`) instead of deciding on noise.

use crate::report::claims::{self, Status};
use crate::report::{figures, numfmt};
use crate::results::{Estimate, Results, RunRecord, Scenario, VerdictInput};
use crate::stats::api_model::{ApiUse, Workload, hit_ratio};

/// Whether an estimate is within a bar: met when its whole interval is, not met when none of it
/// is, unresolved otherwise.
pub fn at_most(e: &Estimate, bar: f64) -> Option<bool> {
    if e.hi <= bar {
        Some(true)
    } else if e.lo > bar {
        Some(false)
    } else {
        None
    }
}

/// Whether an estimate reaches a bar (the mirror of `at_most`).
pub fn at_least(e: &Estimate, bar: f64) -> Option<bool> {
    if e.lo >= bar {
        Some(true)
    } else if e.hi < bar {
        Some(false)
    } else {
        None
    }
}

/// The rates the verdict reads: the expected and the growth rate (once when they coincide).
pub fn rates(r: &Results) -> Vec<(&'static str, f64)> {
    let s = &r.settings;
    let mut out = vec![("expected", s.expected_rps)];
    if (s.growth_rps - s.expected_rps).abs() > f64::EPSILON {
        out.push(("growth", s.growth_rps));
    }
    out
}

/// The p99 cost `mode` adds over the floor at each verdict rate, against the latency budget;
/// a cost the expected rate leaves unresolved may be bounded by the growth rate's (see
/// `bound_by_higher_rate`).
pub fn latency(r: &Results, mode: &str) -> Vec<VerdictInput> {
    let rated: Vec<(f64, VerdictInput)> = rates(r)
        .into_iter()
        .map(|(label, rate)| (rate, latency_at(r, mode, label, rate)))
        .collect();
    bound_by_higher_rate(r, mode, rated)
}

/// A p99 cost whose interval straddles the budget at one rate is met when the cost at a higher
/// rate resolved within the budget and `mode` made no API call in either rate's measured slots.
/// Without API calls a mode's check is fixed CPU work per request; at a higher rate the same work
/// meets more queueing behind other requests, never less, so the cost at the higher rate bounds
/// it. At a low rate a slot holds few requests, its p99 is close to its worst request, and the
/// machine's wake-up latency (which the floor's own p99 shows) makes the per-round difference too
/// wide to resolve on its own. Both intervals stay in the report as measured.
fn bound_by_higher_rate(
    r: &Results,
    mode: &str,
    mut rated: Vec<(f64, VerdictInput)>,
) -> Vec<VerdictInput> {
    let quiet = |rate: f64| figures::paired_without_api_calls(r, mode, rate) == Some(true);
    let bounds: Vec<Option<(f64, String, Estimate)>> = rated
        .iter()
        .map(|(rate, x)| {
            if x.ok.is_some() || x.estimate.is_none() || !quiet(*rate) {
                return None;
            }
            rated
                .iter()
                .filter(|(higher, y)| *higher > *rate && y.ok == Some(true) && quiet(*higher))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .and_then(|(higher, y)| Some((*higher, y.key.clone(), y.estimate?)))
        })
        .collect();
    for ((_, x), bound) in rated.iter_mut().zip(bounds) {
        let Some((higher, key, e)) = bound else {
            continue;
        };
        x.measured = format!(
            "{}; not resolved at this rate alone, so bounded by the cost at {} RPS, at most {}: \
             {mode} made no API call in the measured slots at either rate, so its check is fixed \
             CPU work, which meets no more queueing at a lower rate",
            x.measured,
            numfmt::rps(higher),
            numfmt::signed_us(e.hi),
        );
        x.ok = Some(true);
        x.bounded_by = Some(key);
    }
    rated.into_iter().map(|(_, x)| x).collect()
}

/// The p99 cost `mode` adds over the floor at one verdict rate, against the latency budget.
fn latency_at(r: &Results, mode: &str, label: &str, rate: f64) -> VerdictInput {
    let budget = r.settings.latency_budget_us as f64;
    let name = format!(
        "{mode}: p99 latency cost over the no-auth floor at the {label} rate ({} RPS)",
        numfmt::rps(rate)
    );
    let threshold = format!(
        "<= {} (the latency budget)",
        numfmt::latency_us(budget as u64)
    );
    let key = format!("latency-cost-p99/{mode}/{label}");
    let comparison = figures::comparison_near(r, rate);
    let Some((c, cost)) = comparison.and_then(|c| Some((c, figures::round_p99_cost(c, mode)?)))
    else {
        return VerdictInput {
            key,
            name,
            measured: "n/a (no paired comparison of this mode and the floor near this \
                       rate with enough rounds)"
                .into(),
            threshold,
            unit: "µs".into(),
            ..Default::default()
        };
    };
    let pooled = figures::p99_cost(c, mode)
        .map(|e| format!("; pooled over all slots {}", numfmt::cost_us(e)))
        .unwrap_or_default();
    let p50 = c
        .mode(mode)
        .and_then(|m| m.cost_us.as_ref()?.p50.as_ref())
        .map(|e| format!("; at p50 {}", numfmt::cost_us(e)))
        .unwrap_or_default();
    VerdictInput {
        key,
        name,
        measured: format!(
            "{} in a typical round{pooled}{p50} ({} rounds of {} at {} RPS)",
            numfmt::cost_us(&cost),
            c.rounds,
            numfmt::secs(c.slot_secs),
            numfmt::rps(c.offered_rps)
        ),
        threshold,
        ok: at_most(&cost, budget),
        estimate: Some(cost),
        unit: "µs".into(),
        ..Default::default()
    }
}

/// Requests per second one core serves in `mode`, from its gateway CPU per request, against the
/// growth rate; the saturation ramp's lower bound answers when CPU was not measured.
pub fn capacity(r: &Results, mode: &str) -> VerdictInput {
    let growth = r.settings.growth_rps;
    let mut input = VerdictInput {
        key: format!("capacity-per-core/{mode}"),
        name: format!("{mode}: requests per second one gateway core serves"),
        threshold: format!(">= the growth rate, {} RPS", numfmt::rps(growth)),
        unit: "RPS".into(),
        ..Default::default()
    };
    let ramp = figures::capacity(r, mode, r.settings.slo_p99_us);
    let ramp_text = ramp
        .as_ref()
        .map(|c| match (c.held_rps > 0.0, c.generator_limited) {
            (true, true) => format!(
                "; the saturation ramp held {} RPS (a lower bound: the generator was the limit)",
                numfmt::rps(c.held_rps)
            ),
            (true, false) => format!("; the saturation ramp held {} RPS", numfmt::rps(c.held_rps)),
            // No step held: with the generator the limit, that says nothing about the gateway.
            (false, true) => format!(
                "; the saturation ramp gave no lower bound: the generator could not drive \
                 even its first step (the ramp went up to {} RPS)",
                numfmt::rps(c.ramp_top_rps)
            ),
            (false, false) => format!(
                "; the saturation ramp held none of its steps up to {} RPS",
                numfmt::rps(c.ramp_top_rps)
            ),
        });
    if let Some((rate, cpu)) = figures::cpu_per_request(r, mode)
        && let Some(per_core) = figures::capacity_per_core(&cpu)
    {
        input.measured = format!(
            "{} from {} of gateway CPU per request at {} RPS{}",
            numfmt::estimate_rps(&per_core),
            numfmt::estimate_us(&cpu),
            numfmt::rps(rate),
            ramp_text.unwrap_or_default()
        );
        input.ok = at_least(&per_core, growth);
        // The ramp held the growth rate outright: capacity is not in doubt.
        if input.ok.is_none() && ramp.as_ref().is_some_and(|c| c.held_rps >= growth) {
            input.ok = Some(true);
        }
        input.estimate = Some(per_core);
        return input;
    }
    match ramp {
        Some(c) => {
            input.measured = format!(
                "CPU per request not measured{}",
                ramp_text.unwrap_or_default()
            );
            input.ok = if c.held_rps >= growth {
                Some(true)
            } else if c.generator_limited {
                None
            } else {
                Some(false)
            };
            input.estimate = Some(Estimate::point(c.held_rps));
        }
        None => input.measured = "n/a (no CPU per request and no saturation ramp)".into(),
    }
    input
}

/// The token cache's hit ratio the API-call model projects for the expected and growth rates and
/// every identity count of the settings (the lowest), trusted when the model matched the counts.
pub fn hit_ratio_projected(r: &Results, model: &VerdictInput) -> VerdictInput {
    let s = &r.settings;
    let ttl = ApiUse::Cached {
        ttl_secs: s.token_ttl_secs_real,
    };
    let worst = rates(r)
        .into_iter()
        .flat_map(|(_, rate)| s.identities.iter().map(move |&n| (rate, n)))
        .map(|(rps, n)| {
            let w = Workload {
                rps,
                identities: n as f64,
                churn_fraction: 0.0,
            };
            (hit_ratio(ttl, &w), rps, n)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let mut input = VerdictInput {
        key: "hit-ratio".into(),
        name: "cached: token-cache hit ratio the API-call model projects (lowest case)".into(),
        threshold: format!(">= {}", numfmt::pct(s.hit_ratio_target)),
        unit: "ratio".into(),
        ..Default::default()
    };
    let Some((ratio, rps, identities)) = worst else {
        input.measured = "n/a (no identity counts to project for)".into();
        return input;
    };
    input.measured = format!(
        "{} at {} RPS from {} identities (TTL {}; real time)",
        numfmt::pct(ratio),
        numfmt::rps(rps),
        numfmt::int(identities as f64),
        numfmt::secs(s.token_ttl_secs_real)
    );
    input.estimate = Some(Estimate::point(ratio));
    input.ok = match model.ok {
        Some(true) => Some(ratio >= s.hit_ratio_target),
        Some(false) => {
            input
                .measured
                .push_str("; not trusted: the model disagreed with the counts");
            None
        }
        None => measured_hit_ratio(r).map(|(measured, runs)| {
            input.measured.push_str(&format!(
                "; no model check, so the lowest measured ratio decides: {} ({runs} steady runs)",
                numfmt::pct(measured)
            ));
            measured >= s.hit_ratio_target
        }),
    };
    input
}

/// The lowest token-cache hit ratio measured in the cached steady runs, and how many runs.
fn measured_hit_ratio(r: &Results) -> Option<(f64, usize)> {
    let ratios: Vec<f64> = figures::runs_of(r, Scenario::Steady, "cached")
        .filter_map(|(run, _)| run.server().token_cache.as_ref()?.hit_ratio())
        .collect();
    let low = ratios.iter().copied().reduce(f64::min)?;
    Some((low, ratios.len()))
}

/// Whether the API-call model predicted the API server's exact counts for the cached mode.
pub fn model(r: &Results) -> VerdictInput {
    let checks: Vec<_> = r
        .comparisons
        .iter()
        .flat_map(|c| c.model_checks.iter())
        .filter(|m| m.mode == "cached" && m.measured.is_some())
        .collect();
    let agreed = checks.iter().filter(|m| m.agrees == Some(true)).count();
    let detail: Vec<String> = checks
        .iter()
        .map(|m| {
            format!(
                "{} predicted {} measured {}",
                m.api,
                m.predicted,
                m.measured.unwrap_or(0)
            )
        })
        .collect();
    VerdictInput {
        key: "api-model".into(),
        name: "cached: the API-call model matches the API server's exact counts".into(),
        measured: if checks.is_empty() {
            "n/a (no model check with a measured count)".into()
        } else {
            format!(
                "{agreed} of {} checks agree ({})",
                checks.len(),
                detail.join("; ")
            )
        },
        threshold: "within 10% or 2 calls".into(),
        ok: (!checks.is_empty()).then_some(agreed == checks.len()),
        estimate: None,
        unit: String::new(),
        ..Default::default()
    }
}

/// Cached runs the API server or the client-side limiter throttled (steady and saturation).
pub fn throttled_runs(r: &Results) -> (bool, Vec<&RunRecord>) {
    let runs: Vec<&RunRecord> = figures::runs_of(r, Scenario::Steady, "cached")
        .chain(figures::runs_of(r, Scenario::Saturation, "cached"))
        .map(|(run, _)| run)
        .collect();
    let any = !runs.is_empty();
    (
        any,
        runs.into_iter()
            .filter(|run| run.server().throttled())
            .collect(),
    )
}

pub fn throttling(r: &Results) -> VerdictInput {
    let (any, throttled) = throttled_runs(r);
    VerdictInput {
        key: "throttling".into(),
        name: "cached: API throttling (429s or client rate-limiter wait) in steady and saturation runs"
            .into(),
        measured: super::text::throttle_text(&throttled),
        threshold: "none".into(),
        ok: any.then_some(throttled.is_empty()),
        estimate: None,
        unit: String::new(),
        ..Default::default()
    }
}

/// The floor measured in the same rounds at each verdict rate (without it no cost exists).
pub fn floor(r: &Results) -> VerdictInput {
    let parts: Vec<(String, bool)> = rates(r)
        .into_iter()
        .map(|(label, rate)| {
            let floor = figures::comparison_near(r, rate)
                .and_then(|c| Some((c, c.mode(&c.floor)?.latency_us.p99?)));
            match floor {
                Some((c, p99)) => (
                    format!(
                        "{label} rate: {} p99 {} over {} rounds",
                        c.floor,
                        numfmt::estimate_us(&p99),
                        c.rounds
                    ),
                    true,
                ),
                None => (format!("{label} rate: not measured"), false),
            }
        })
        .collect();
    VerdictInput {
        key: "floor".into(),
        name: "the no-auth floor, measured in the same rounds".into(),
        measured: parts
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        threshold: "measured at every verdict rate".into(),
        ok: Some(parts.iter().all(|(_, ok)| *ok)),
        estimate: None,
        unit: String::new(),
        ..Default::default()
    }
}

/// Outage and revocation of the cached mode, as the claims check judges them.
pub fn failure(r: &Results) -> Vec<VerdictInput> {
    [
        ("outage", claims::outage(r)),
        ("revocation", claims::revocation(r)),
    ]
    .into_iter()
    .map(|(key, claim)| VerdictInput {
        key: format!("failure/{key}"),
        name: format!("cached: {}", claim.claim),
        measured: match &claim.status {
            Status::NotMeasured(why) => format!("not measured: {why}"),
            _ => claim.measured.clone(),
        },
        threshold: claim.in_the_note.to_string(),
        ok: match claim.status {
            Status::Held => Some(true),
            Status::DidNotHold => Some(false),
            _ => None,
        },
        estimate: None,
        unit: String::new(),
        ..Default::default()
    })
    .collect()
}
