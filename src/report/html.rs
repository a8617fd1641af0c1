//! The self-contained decision page: inline CSS and SVG, no JavaScript, no external URLs,
//! printable, and well-formed XML (XHTML-compatible) so a strict parser accepts it.

use super::markup::{esc, table};
use super::verdict::verdict;
use super::{charts, claims, cost, numfmt, paired, projection, tables, verdict_view};
use crate::results::{Results, RunOutcome};

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.7em;margin-bottom:0.2em}h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}\
table{border-collapse:collapse;width:100%;margin:0.8em 0;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.35em 0.5em;text-align:left;vertical-align:top}\
th{background:#f2f2f2}.note{color:#555;font-size:0.85em}\
.banner{background:#fff3cd;border:1px solid #e0c060;padding:0.8em;margin:1em 0}\
.verdict{font-size:1.25em;padding:0.8em 1em;border-left:6px solid #0072b2;background:#eef5fb}\
.branch-keep .verdict{border-color:#009e73;background:#eaf7f2}\
.branch-mtls .verdict{border-color:#d55e00;background:#fcefe6}\
.branch-none .verdict{border-color:#999;background:#f4f4f4}\
.held{color:#00704f;font-weight:bold}.not-held{color:#b34700;font-weight:bold}\
.not-measured{color:#666}figure{margin:1.5em 0;page-break-inside:avoid}\
figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:0.9em;color:#444}\
dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}dt{font-weight:bold}dd{margin:0}\
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}";

/// Renders the whole self-contained decision report (pure).
pub fn render_html(results: &Results) -> String {
    render_html_with(results, &charts::RunHistograms::new())
}

/// The report, drawing the latency spectrum from whole-run histograms where given (pure;
/// `load_histograms` reads them from the runs' interval logs).
pub fn render_html_with(results: &Results, histograms: &charts::RunHistograms) -> String {
    let v = verdict(results);
    let env = &results.environment;
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
    out.push_str("<title>gatebench decision report</title><style>");
    out.push_str(CSS);
    out.push_str("</style></head><body>");
    out.push_str(&format!(
        "<h1>Is TokenReview + caching enough, or is it time for mTLS?</h1><p class=\"note\">gatebench {} \
         decision report, profile {}, target {}, started {}.</p>",
        esc(&env.gatebench_version),
        esc(&env.profile),
        esc(&env.target),
        esc(&env.started_at)
    ));
    if results.partial {
        out.push_str(
            "<div class=\"banner\"><strong>Partial results.</strong> The run was interrupted or a \
             child process failed before the matrix finished; the verdict uses only what was \
             measured, and the missing runs are listed below.</div>",
        );
    }

    out.push_str(&verdict_view::render(results, &v));
    if !results.comparisons.is_empty() {
        out.push_str("<section><h2>2. Paired comparison: cost over the no-auth floor</h2>");
        out.push_str(&paired::render(results));
        out.push_str("</section>");
    }
    let projections = projection::render(results);
    if !projections.is_empty() {
        out.push_str("<section><h2>3. Projections to 100, 1,000 and 10,000 RPS</h2>");
        out.push_str(&projections);
        out.push_str("</section>");
    }
    out.push_str("<section><h2>4. Claims check</h2>");
    out.push_str(&claims::render(results));
    out.push_str("</section><section><h2>5. Modes side by side (single runs)</h2>");
    out.push_str(&tables::render(results));
    out.push_str(&cost::render(results));
    out.push_str("</section><section><h2>6. Charts</h2>");
    for chart in charts::all_with(results, histograms) {
        out.push_str(&format!(
            "<figure><figcaption><strong>{}</strong>. {}</figcaption>{}</figure>",
            esc(&chart.title),
            esc(&chart.caption),
            chart.svg
        ));
    }
    out.push_str("</section>");
    out.push_str(&microbenchmarks(results));
    out.push_str(&not_measured_runs(results));
    out.push_str(&every_run(results));
    out.push_str(&how_measured(results));
    out.push_str("</body></html>\n");
    out
}

fn microbenchmarks(results: &Results) -> String {
    let mut out = String::from("<section><h2>Microbenchmarks</h2>");
    if results.microbenchmarks.is_empty() {
        out.push_str("<p>No criterion estimates were collected for this report (run <code>cargo bench</code> before <code>gatebench decide</code> to include them).</p>");
    } else {
        let rows: Vec<Vec<String>> = results
            .microbenchmarks
            .iter()
            .map(|b| {
                vec![
                    esc(&b.id),
                    format!("{:.0} ns", b.median_ns),
                    format!("{:.0} - {:.0} ns", b.lower_ns, b.upper_ns),
                    // ns per op x 1,000 ops = µs per 1,000 requests.
                    esc(&format!("{:.1} µs", b.median_ns)),
                ]
            })
            .collect();
        out.push_str(&table(
            "bench",
            &[
                "operation",
                "median per op",
                "confidence interval",
                "per 1,000 requests",
            ],
            &rows,
        ));
    }
    out.push_str("</section>");
    out
}

fn not_measured_runs(results: &Results) -> String {
    let rows: Vec<Vec<String>> = results
        .runs
        .iter()
        .filter_map(|run| {
            let (kind, why) = match &run.outcome {
                RunOutcome::Ok if run.load.is_none() => {
                    ("no data", "the run ended without a load summary")
                }
                RunOutcome::Ok => return None,
                RunOutcome::Failed { error } => (run.outcome.label(), error.as_str()),
                RunOutcome::NoData { reason } => (run.outcome.label(), reason.as_str()),
                RunOutcome::Skipped { reason } => (run.outcome.label(), reason.as_str()),
            };
            Some(vec![
                esc(&run.id),
                esc(run.scenario.as_str()),
                esc(&run.mode),
                esc(kind),
                esc(why),
            ])
        })
        .collect();
    let mut out = String::from("<section><h2>Failed, no-data and skipped runs</h2>");
    if rows.is_empty() {
        out.push_str(&format!(
            "<p>None: all {} runs produced data.</p>",
            results.runs.len()
        ));
    } else {
        out.push_str(&table(
            "runs",
            &["run", "scenario", "mode", "outcome", "why"],
            &rows,
        ));
    }
    out.push_str("</section>");
    out
}

/// Every run of the matrix with what it offered and achieved and the TTL scale it ran at, so a
/// figure anywhere above can be traced to its run and its files under runs/.
fn every_run(results: &Results) -> String {
    let scale = super::figures::time_scale(results);
    let rows: Vec<Vec<String>> = results
        .runs
        .iter()
        .map(|r| {
            let load = r.load.as_ref();
            let ttl = match super::figures::run_time_scale(r, scale) {
                s if s > 1.0 => format!("scaled {s}x"),
                _ if r.params.contains_key("ttls") => "real time (the peer's own)".into(),
                _ => "real time".into(),
            };
            vec![
                esc(&r.id),
                esc(r.outcome.label()),
                numfmt::rps(r.offered_rps),
                load.map_or("n/a".into(), |l| numfmt::rps(l.achieved_rps)),
                load.map_or("n/a".into(), |l| {
                    numfmt::int(super::figures::requests(l) as f64)
                }),
                numfmt::secs(r.duration_secs),
                esc(&ttl),
            ]
        })
        .collect();
    format!(
        "<section><h2>Every run</h2>{}<p class=\"note\">Each run's load summary and interval log \
         are runs/&lt;run id with / as _&gt;.json and .hlog beside results.json (a paired run's \
         modes share one file, named after the comparison).</p></section>",
        table(
            "runs",
            &[
                "run",
                "outcome",
                "offered RPS",
                "achieved RPS",
                "requests",
                "window",
                "TTLs",
            ],
            &rows,
        )
    )
}

fn how_measured(results: &Results) -> String {
    let env = &results.environment;
    let s = &results.settings;
    let limited: Vec<String> = results
        .runs
        .iter()
        .filter_map(|r| {
            let g = &r.load.as_ref()?.generator;
            g.limited.then(|| {
                format!(
                    "{}: {} ({:.2} cores)",
                    r.id,
                    g.reason.as_deref().unwrap_or("limited"),
                    g.cpu_cores_used
                )
            })
        })
        .collect();
    let mut items: Vec<(&str, String)> = vec![
        ("command line", env.command_line.clone()),
        ("profile", env.profile.clone()),
        (
            "time-scale factor",
            format!(
                "{} (real seconds per run second for TTLs; per-minute API-call figures of cached modes are divided by it)",
                env.time_scale
            ),
        ),
        ("target", env.target.clone()),
        ("latency method", env.latency_method.clone()),
        (
            "thresholds",
            format!(
                "expected {} RPS, growth {} RPS, p99 latency budget over the floor {}, \
                 saturation-ramp SLO {}, hit ratio target {}, token TTL {}",
                numfmt::rps(s.expected_rps),
                numfmt::rps(s.growth_rps),
                numfmt::latency_us(s.latency_budget_us),
                numfmt::latency_us(s.slo_p99_us),
                numfmt::pct(s.hit_ratio_target),
                numfmt::secs(s.token_ttl_secs_real)
            ),
        ),
        (
            "generator limits reached",
            if limited.is_empty() {
                "none".into()
            } else {
                limited.join("; ")
            },
        ),
        ("gatebench version", env.gatebench_version.clone()),
        (
            "git commit",
            env.git_commit.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("rustc", env.rustc_version.clone()),
        ("OS", env.os.clone()),
        ("CPU", format!("{} ({} cores)", env.cpu_model, env.cpus)),
        (
            "pinned to separate cores",
            if env.pinned { "yes" } else { "no" }.into(),
        ),
        ("started", env.started_at.clone()),
        (
            "finished",
            env.finished_at
                .clone()
                .unwrap_or_else(|| "not finished".into()),
        ),
        ("schema version", results.schema_version.to_string()),
    ];
    // A real kube-apiserver target names what answered (the stand-in has no separate version).
    if let Some(kube) = &env.kube_apiserver_version {
        let etcd = env.etcd_version.as_deref().unwrap_or("unknown");
        items.insert(
            1,
            ("API server", format!("kube-apiserver {kube}, etcd {etcd}")),
        );
    }
    let mut out = String::from("<section><h2>7. How it was measured</h2><dl>");
    for (k, v) in items {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v)));
    }
    out.push_str("</dl></section>");
    out
}
