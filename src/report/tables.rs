//! Modes side by side (issue 5 section 3): per mode and rate the achieved rate, latency,
//! errors, API calls, cache hits and CPU; per mode the capacity, revocation and outage figures.

use super::figures;
use super::markup::{esc, table};
use super::numfmt;
use crate::results::{Results, Scenario};

/// One steady run of one mode.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub mode: String,
    pub run_id: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub error_ratio: f64,
    pub api_calls_per_min_real: Option<f64>,
    pub token_hit_ratio: Option<f64>,
    pub cpu_ms_per_1000: Option<f64>,
    /// The generator, not the gateway, limited this run (its figures understate the gateway).
    pub generator_limited: bool,
}

/// Per-mode figures that do not depend on the rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeRow {
    pub mode: String,
    /// Highest rate held in the saturation ramp, as text (what the first step did when none held).
    pub held: Option<String>,
    /// Revocation delay, projected to real time, in seconds; Err(text) when never refused.
    pub revocation: Option<Result<f64, String>>,
    pub outage_known: Option<f64>,
    pub outage_new: Option<f64>,
}

/// Steady runs, ordered by mode then offered rate.
pub fn rate_rows(results: &Results) -> Vec<RateRow> {
    let scale = figures::time_scale(results);
    let mut rows = Vec::new();
    for mode in figures::modes(results) {
        let mut runs: Vec<_> = figures::runs_of(results, Scenario::Steady, &mode).collect();
        runs.sort_by(|a, b| a.0.offered_rps.total_cmp(&b.0.offered_rps));
        for (run, load) in runs {
            rows.push(RateRow {
                mode: mode.clone(),
                run_id: run.id.clone(),
                offered_rps: run.offered_rps,
                achieved_rps: load.achieved_rps,
                p50_us: load.latency_us.p50,
                p99_us: load.latency_us.p99,
                p999_us: load.latency_us.p999,
                error_ratio: figures::error_ratio(load),
                api_calls_per_min_real: figures::api_calls_per_min_real(run, scale),
                token_hit_ratio: run
                    .server()
                    .token_cache
                    .as_ref()
                    .and_then(|c| c.hit_ratio()),
                cpu_ms_per_1000: figures::cpu_ms_per_1000(run, load),
                generator_limited: load.generator.limited,
            });
        }
    }
    rows
}

/// One row per mode present in the results.
pub fn mode_rows(results: &Results) -> Vec<ModeRow> {
    let scale = figures::time_scale(results);
    figures::modes(results)
        .into_iter()
        .map(|mode| {
            let revocation = figures::runs_of(results, Scenario::Revocation, &mode)
                .find_map(|(run, l)| Some((run, l.revocation.as_ref()?)))
                .map(|(run, rev)| match rev.delay_ms {
                    Some(ms) => Ok(figures::revocation_real_secs(run, &rev.method, ms, scale)),
                    None => Err(format!(
                        "not refused within {}",
                        numfmt::secs(figures::revocation_real_secs(
                            run,
                            &rev.method,
                            rev.observed_for_ms,
                            scale,
                        ))
                    )),
                });
            let outage = figures::runs_of(results, Scenario::Outage, &mode)
                .find_map(|(_, l)| l.outage.as_ref());
            ModeRow {
                held: figures::capacity(results, &mode, results.settings.slo_p99_us)
                    .map(|c| c.text()),
                revocation,
                outage_known: outage
                    .filter(|o| o.known.requests > 0)
                    .map(|o| o.known.ratio()),
                outage_new: outage.filter(|o| o.new.requests > 0).map(|o| o.new.ratio()),
                mode,
            }
        })
        .collect()
}

/// Both tables as an HTML fragment.
pub fn render(results: &Results) -> String {
    let rate_rows: Vec<Vec<String>> = rate_rows(results)
        .into_iter()
        .map(|r| {
            vec![
                esc(&r.mode),
                numfmt::rps(r.offered_rps),
                numfmt::rps(r.achieved_rps),
                esc(&numfmt::latency_us(r.p50_us)),
                esc(&numfmt::latency_us(r.p99_us)),
                esc(&numfmt::latency_us(r.p999_us)),
                numfmt::pct(r.error_ratio),
                numfmt::opt(r.api_calls_per_min_real, |v| {
                    if v >= 100.0 {
                        numfmt::int(v)
                    } else {
                        format!("{v:.1}")
                    }
                }),
                numfmt::opt(r.token_hit_ratio, numfmt::pct),
                numfmt::opt(r.cpu_ms_per_1000, |v| format!("{v:.1} ms")),
                if r.generator_limited {
                    format!("{} (generator-limited)", esc(&r.run_id))
                } else {
                    esc(&r.run_id)
                },
            ]
        })
        .collect();
    let mode_rows: Vec<Vec<String>> = mode_rows(results)
        .into_iter()
        .map(|m| {
            vec![
                esc(&m.mode),
                esc(m.held.as_deref().unwrap_or("n/a")),
                match m.revocation {
                    Some(Ok(secs)) => esc(&numfmt::secs(secs)),
                    Some(Err(text)) => esc(&text),
                    None => "n/a".into(),
                },
                numfmt::opt(m.outage_known, numfmt::pct),
                numfmt::opt(m.outage_new, numfmt::pct),
            ]
        })
        .collect();
    let mut out = String::new();
    if rate_rows.is_empty() {
        out.push_str("<p>No steady run produced data.</p>");
    } else {
        out.push_str(&table(
            "modes",
            &[
                "mode",
                "offered RPS",
                "achieved RPS",
                "p50",
                "p99",
                "p99.9",
                "errors",
                "auth API calls/min (real time)",
                "token-cache hit ratio",
                "gateway CPU per 1,000 req",
                "run",
            ],
            &rate_rows,
        ));
    }
    out.push_str(&table(
        "modes",
        &[
            "mode",
            "highest RPS held (saturation)",
            "revocation delay (real time)",
            "outage: known identities served",
            "outage: new identities served",
        ],
        &mode_rows,
    ));
    out.push_str(&format!(
        "<p class=\"note\">Auth API calls are TokenReviews + SubjectAccessReviews counted by the API \
         server. For modes with a TTL cache they are divided by the time-scale factor ({}) to give \
         real-time figures; for tokenreview and none they follow the request rate and are not scaled. \
         A token-cache hit ratio of n/a for a caching gateway means it exposes no gatebench metrics \
         (kube-rbac-proxy; an external gateway without --gateway-metrics): its calls above are \
         still the API server's count.</p>",
        esc(&figures::time_scale(results).to_string())
    ));
    if figures::with_data(results).any(|(run, _)| run.mode == "kube-rbac-proxy") {
        out.push_str(&format!(
            "<p class=\"note\">kube-rbac-proxy's caches are its compiled-in defaults: TokenReview \
             {} for successes and failures alike, SubjectAccessReview {} for allowed answers and \
             30 s for denials. The time scale cannot shorten them, so its runs are in real time: \
             its revocation delay is measured as it would be in production, not projected, and \
             its churn and cold-burst calls are those of a 2-minute cache over a window of \
             seconds (each new identity costs a review, none expires), where the gateway modes' \
             TTLs ran scaled. Its CPU is the proxy's plus the no-auth gateway's behind it, both \
             pinned to the gateway core.</p>",
            numfmt::secs(crate::stats::api_model::KRP_TOKEN_TTL_SECS),
            numfmt::secs(crate::stats::api_model::KRP_SAR_ALLOW_TTL_SECS),
        ));
    }
    out
}
