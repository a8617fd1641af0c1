//! The paired comparisons: every mode's cost over the no-auth floor of the same rounds, with its
//! interval and beside its absolute latency; the API-call model against the exact counts; and
//! the spread of single slots across rounds (what one run's p99 would have said).

use super::markup::{esc, table};
use super::{figures, numfmt};
use crate::results::{Comparison, Estimate, Results};

fn opt_cost(e: Option<&Estimate>) -> String {
    numfmt::opt(e, numfmt::cost_us)
}

fn cost_rows(c: &Comparison) -> Vec<Vec<String>> {
    c.modes
        .iter()
        .map(|m| {
            let cost = m.cost_us.as_ref();
            let per_core = m
                .cpu_us_per_request
                .as_ref()
                .and_then(figures::capacity_per_core)
                .map(|e| numfmt::estimate_rps(&e));
            vec![
                esc(&m.mode),
                if m.mode == c.floor {
                    "the floor".into()
                } else {
                    esc(&opt_cost(cost.and_then(|q| q.p50.as_ref())))
                },
                if m.mode == c.floor {
                    "the floor".into()
                } else {
                    esc(&opt_cost(cost.and_then(|q| q.p99.as_ref())))
                },
                if m.mode == c.floor {
                    "the floor".into()
                } else {
                    esc(&opt_cost(figures::round_p99_cost(c, &m.mode).as_ref()))
                },
                esc(&numfmt::opt(m.latency_us.p99.as_ref(), numfmt::estimate_us)),
                esc(&numfmt::opt(
                    m.cpu_us_per_request.as_ref(),
                    numfmt::estimate_us,
                )),
                esc(&per_core.unwrap_or_else(|| "n/a".into())),
                numfmt::int(m.errors as f64),
            ]
        })
        .collect()
}

fn model_rows(c: &Comparison) -> Vec<Vec<String>> {
    c.model_checks
        .iter()
        .map(|m| {
            vec![
                esc(&m.mode),
                esc(&m.api),
                esc(&numfmt::opt(m.ttl_secs, numfmt::secs)),
                numfmt::int(m.requests as f64),
                numfmt::int(m.predicted as f64),
                numfmt::opt(m.measured, |n| numfmt::int(n as f64)),
                match m.agrees {
                    Some(true) => "<span class=\"held\">agrees</span>".into(),
                    Some(false) => "<span class=\"not-held\">disagrees</span>".into(),
                    None => "<span class=\"not-measured\">not counted</span>".into(),
                },
            ]
        })
        .collect()
}

/// Per mode: the lowest, median and highest p99 of single slots, and of the cost of single
/// rounds (slot minus the floor's slot of the same round).
fn spread_rows(c: &Comparison) -> Vec<Vec<String>> {
    let floor: std::collections::BTreeMap<u64, u64> = c
        .slots
        .iter()
        .filter(|s| s.mode == c.floor)
        .map(|s| (s.round, s.p99_us))
        .collect();
    c.modes
        .iter()
        .map(|m| {
            let mut p99: Vec<f64> = Vec::new();
            let mut diff: Vec<f64> = Vec::new();
            for s in c.slots.iter().filter(|s| s.mode == m.mode) {
                p99.push(s.p99_us as f64);
                if let Some(f) = floor.get(&s.round) {
                    diff.push(s.p99_us as f64 - *f as f64);
                }
            }
            let span = |v: &mut Vec<f64>| {
                if v.is_empty() {
                    return "n/a".to_string();
                }
                v.sort_by(f64::total_cmp);
                format!(
                    "{} / {} / {}",
                    numfmt::signed_us(v[0]),
                    numfmt::signed_us(v[v.len() / 2]),
                    numfmt::signed_us(v[v.len() - 1])
                )
            };
            vec![
                esc(&m.mode),
                numfmt::int(p99.len() as f64),
                esc(&span(&mut p99)),
                if m.mode == c.floor {
                    "the floor".into()
                } else {
                    esc(&span(&mut diff))
                },
            ]
        })
        .collect()
}

/// For a proxy measured with the app behind it (kube-rbac-proxy): how much of its CPU the app
/// spent, so the proxy's own share can be read off.
fn upstream_notes(results: &Results, c: &Comparison) -> Vec<String> {
    figures::with_data(results)
        .filter(|(run, _)| {
            run.params.get("paired_with").and_then(|v| v.as_str()) == Some(c.id.as_str())
        })
        .filter_map(|(run, load)| {
            let upstream = load.server.upstream_cpu_secs?;
            let all = load.server.gateway_cpu_secs.filter(|a| *a > 0.0)?;
            let n = figures::requests(load).max(1) as f64;
            Some(format!(
                "{}: its CPU is the proxy's plus the no-auth gateway's behind it (its upstream, \
                 the floor's program); the upstream spent {:.0}% of it, {} per request, so the \
                 proxy itself spent {} per request.",
                run.mode,
                upstream / all * 100.0,
                numfmt::signed_us(upstream * 1e6 / n),
                numfmt::signed_us((all - upstream) * 1e6 / n),
            ))
        })
        .collect()
}

/// Every comparison as an HTML fragment (nothing when there is none).
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    for c in &results.comparisons {
        out.push_str(&format!(
            "<h3>At {} RPS: {} rounds of {} per mode, floor {}</h3>",
            numfmt::rps(c.offered_rps),
            c.rounds,
            numfmt::secs(c.slot_secs),
            esc(&c.floor)
        ));
        out.push_str(&table(
            "modes",
            &[
                "mode",
                "p50 cost over the floor",
                "p99 cost over the floor, pooled",
                "p99 cost in a typical round (the verdict's)",
                "p99 end to end",
                "gateway CPU per request",
                "requests per second per core",
                "errors",
            ],
            &cost_rows(c),
        ));
        out.push_str(&table(
            "modes",
            &[
                "mode",
                "slots",
                "single-slot p99: lowest / median / highest",
                "single-round p99 cost: lowest / median / highest",
            ],
            &spread_rows(c),
        ));
        let models = model_rows(c);
        if !models.is_empty() {
            out.push_str(&table(
                "modes",
                &[
                    "mode",
                    "API",
                    "cache TTL (as run)",
                    "requests",
                    "model predicts",
                    "API server counted",
                    "",
                ],
                &models,
            ));
        }
        out.push_str(&format!("<p class=\"note\">{}</p>", esc(&c.method)));
        for note in upstream_notes(results, c) {
            out.push_str(&format!("<p class=\"note\">{}</p>", esc(&note)));
        }
        for note in &c.notes {
            out.push_str(&format!("<p class=\"note\">{}</p>", esc(note)));
        }
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "<p>Each mode's gateway ran at the same time as the others; the generator rotated \
         between them in short slots, round after round, so every mode met the same machine \
         state. A cost is the mode's latency minus the floor's in the same rounds; its 95% \
         interval comes from resampling whole rounds. Where it contains zero the cost is below \
         what this machine resolved, and the upper end is the bound. The verdict reads the p99 \
         cost in a typical round: the median over rounds of the mode's slot p99 minus the \
         floor's slot p99 of the same round, with a sign-test interval; a burst of machine noise \
         moves one round's difference, not the median. The spread table shows \
         what single slots (one short run each) would have said.</p>{out}"
    )
}
