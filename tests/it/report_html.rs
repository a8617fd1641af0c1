//! The decision page: well-formed, self-contained, escaped, every chart a non-empty SVG, and
//! nothing dropped silently.

use crate::report_fixtures;

use gatebench::report::{charts, claims, render_html};
use gatebench::results::{Results, RunOutcome};
use report_fixtures::*;
use std::collections::BTreeMap;

fn parse(html: &str) -> roxmltree::Document<'_> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(html, opts)
        .unwrap_or_else(|e| panic!("not well-formed: {e}"))
}

/// Elements that actually draw something (beyond the background fill).
fn drawn_marks(svg: roxmltree::Node<'_, '_>) -> usize {
    svg.descendants()
        .filter(|n| {
            matches!(
                n.tag_name().name(),
                "polyline" | "path" | "circle" | "line" | "text" | "rect"
            )
        })
        .count()
}

#[test]
fn full_report_is_well_formed_and_self_contained() {
    let html = render_html(&keep_baseline());
    let doc = parse(&html);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    // No JavaScript, no external resources: the only URLs are XML namespace names.
    assert!(
        doc.descendants()
            .all(|n| !matches!(n.tag_name().name(), "script" | "link" | "img" | "iframe"))
    );
    for node in doc.descendants().filter(|n| n.is_element()) {
        for attr in node.attributes() {
            let external = attr.value().contains("://") && attr.name() != "xmlns";
            assert!(
                !external,
                "external reference {}={}",
                attr.name(),
                attr.value()
            );
            assert!(
                !attr.name().starts_with("on"),
                "event handler {}",
                attr.name()
            );
        }
    }
    for heading in [
        "1. Verdict",
        "2. Paired comparison: cost over the no-auth floor",
        "3. Projections to 100, 1,000 and 10,000 RPS",
        "4. Claims check",
        "5. Modes side by side (single runs)",
        "6. Charts",
        "7. How it was measured",
        "Microbenchmarks",
        "Failed, no-data and skipped runs",
    ] {
        assert!(
            doc.descendants()
                .any(|n| n.tag_name().name() == "h2" && n.text() == Some(heading)),
            "missing section {heading}"
        );
    }
    let svgs: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .collect();
    assert_eq!(svgs.len(), charts::all(&keep_baseline()).len());
    for svg in &svgs {
        assert!(
            drawn_marks(*svg) > 10,
            "chart has too little drawn: {}",
            drawn_marks(*svg)
        );
        assert!(
            !svg.descendants()
                .any(|n| n.text().is_some_and(|t| t.contains("No data"))),
            "fixture chart fell back to empty"
        );
    }
    // The verdict sentence and the skipped run are in the page.
    assert!(html.contains("Keep TokenReview + cache"));
    assert!(html.contains("handshake/mtls/50") && html.contains("not in this profile"));
    assert!(!html.contains("Partial results"));
    // Microbenchmark cost per 1,000 requests: 850 ns per op -> 850 µs per 1,000.
    assert!(html.contains("850.0 µs"));
    // Handshake cost: keepalive made 8 handshakes for 1,000 requests.
    assert!(html.contains("TLS handshake cost") && html.contains("<td>0.01</td>"));
    assert!(html.contains("Cold-cache burst"));
    // Revocation without a cache is not scaled by the time-scale factor: 40 ms stays 40 ms.
    assert!(
        html.contains("<td>tokenreview</td><td>250</td><td>40 ms</td>"),
        "uncached revocation row"
    );
}

#[test]
fn every_chart_is_a_non_empty_svg_with_its_data() {
    let results = keep_baseline();
    for chart in charts::all(&results) {
        let doc = parse(&chart.svg);
        assert_eq!(
            doc.root_element().tag_name().name(),
            "svg",
            "{}",
            chart.title
        );
        let lines = doc
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "polyline" | "rect" | "circle"))
            .count();
        assert!(lines > 3, "{}: {lines} marks", chart.title);
        assert!(
            !chart.svg.contains("No data"),
            "{} fell back to empty",
            chart.title
        );
    }
}

#[test]
fn charts_without_data_explain_themselves() {
    let results = Results::default();
    for chart in charts::all(&results) {
        let doc = parse(&chart.svg);
        let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.contains("No data:"), "{}: {texts}", chart.title);
    }
    // And the page still renders, with the verdict saying there is nothing to decide on.
    let html = render_html(&results);
    parse(&html);
    assert!(html.contains("No verdict"));
}

#[test]
fn strings_from_results_are_escaped() {
    let mut results = keep_baseline();
    let hostile = "<script>alert('x')</script> & \"quoted\"";
    results.environment.command_line = hostile.into();
    results.runs[0].id = hostile.into();
    results.runs[0].mode = "<b>weird</b>".into();
    results.runs[0].outcome = RunOutcome::Failed {
        error: hostile.into(),
    };
    let html = render_html(&results);
    let doc = parse(&html);
    assert!(
        doc.descendants()
            .all(|n| n.tag_name().name() != "script" && n.tag_name().name() != "b")
    );
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.contains(hostile),
        "escaped text reads back as the original"
    );
}

#[test]
fn partial_results_get_a_banner_and_failed_runs_are_listed() {
    let mut results = keep_baseline();
    results.partial = true;
    run_mut(&mut results, "steady/none/100").outcome = RunOutcome::NoData {
        reason: "loadtest wrote no summary".into(),
    };
    run_mut(&mut results, "steady/jwks/100").outcome = RunOutcome::Failed {
        error: "gateway exited with 101".into(),
    };
    let html = render_html(&results);
    parse(&html);
    assert!(html.contains("Partial results"));
    assert!(html.contains("loadtest wrote no summary") && html.contains("gateway exited with 101"));
}

#[test]
fn claims_table_covers_every_row_of_the_design_note() {
    let rows = claims::claims(&keep_baseline());
    let names: Vec<&str> = rows.iter().map(|c| c.claim).collect();
    for claim in [
        "cached auth latency",
        "TokenReview without cache",
        "cache: API call reduction",
        "cache: calls per token",
        "revocation delay",
        "API outage",
        "gateway load",
        "keep TokenReview (rule)",
        "reconsider mTLS (rule)",
        "mTLS clearly wins",
    ] {
        assert!(names.contains(&claim), "missing claim {claim}");
    }
    let status = |name: &str| {
        rows.iter()
            .find(|c| c.claim == name)
            .unwrap()
            .status
            .clone()
    };
    use claims::Status::*;
    // A 40 µs p99 cost is not "1-2 ms": far faster than claimed, so the range did not hold.
    assert_eq!(status("cached auth latency"), DidNotHold);
    // On the stand-in the uncached latency is its configuration, not a measurement.
    assert!(
        matches!(status("TokenReview without cache"), NotMeasured(why) if why.contains("not measurable on the stand-in")),
        "1 TokenReview per request is measured, the latency is not"
    );
    assert_eq!(status("cache: API call reduction"), Held);
    // Cached revocation: 24 s as run x time scale 10 = 240 s <= 300 s TTL.
    assert_eq!(status("revocation delay"), Held);
    assert_eq!(status("API outage"), Held);
    assert_eq!(status("keep TokenReview (rule)"), Held);
    // One core serves ~50,000 cached RPS (projected from CPU per request), above 1,000.
    assert_eq!(status("reconsider mTLS (rule)"), Projected { held: true });
    // mTLS 18 µs +-10% vs cached 20 µs +-10% per request: the intervals overlap, not "clearly".
    assert_eq!(status("mTLS clearly wins"), Projected { held: false });
    assert_eq!(
        status("client-side throttling is what a cache removes"),
        Held
    );
    let throttle = |wait| {
        let mut r = keep_baseline();
        run_mut(&mut r, "throttle/cached/client-qps-50")
            .server_mut()
            .client_throttle_wait_secs = Some(wait);
        claims::claims(&r)
            .into_iter()
            .find(|c| c.claim.starts_with("client-side"))
            .unwrap()
            .status
    };
    // A cold cache may wait a little: up to a tenth of the uncached 12.5 s counts as removed.
    assert_eq!(throttle(1.25), Held);
    assert_eq!(throttle(1.3), DidNotHold);

    let mut slow = keep_baseline();
    let rev = run_mut(&mut slow, "revocation/cached/10")
        .load
        .as_mut()
        .unwrap()
        .revocation
        .as_mut()
        .unwrap();
    // 310 s real time: within the 300 s TTL plus the 5% allowance for scrape and poll timing.
    rev.delay_ms = Some(31_000);
    assert_eq!(
        claims::claims(&slow)
            .iter()
            .find(|c| c.claim == "revocation delay")
            .unwrap()
            .status,
        Held
    );
    let rev = run_mut(&mut slow, "revocation/cached/10")
        .load
        .as_mut()
        .unwrap()
        .revocation
        .as_mut()
        .unwrap();
    rev.delay_ms = Some(32_000); // 320 s: past it.
    assert_eq!(
        claims::claims(&slow)
            .iter()
            .find(|c| c.claim == "revocation delay")
            .unwrap()
            .status,
        DidNotHold
    );
}

#[test]
#[ignore = "writes a sample report for eyeballing: GATEBENCH_SAMPLE_OUT=DIR"]
fn write_sample_report() {
    let dir = std::env::var("GATEBENCH_SAMPLE_OUT").unwrap_or_else(|_| "/tmp".into());
    let results = keep_baseline();
    std::fs::write(format!("{dir}/sample.html"), render_html(&results)).unwrap();
    for (i, chart) in charts::all(&results).iter().enumerate() {
        std::fs::write(format!("{dir}/chart-{i}.svg"), &chart.svg).unwrap();
    }
    let mut single = results.clone();
    single
        .runs
        .retain(|r| r.id != "revocation/jwks/10" && r.id != "revocation/tokenreview/10");
    std::fs::write(
        format!("{dir}/revocation-single.svg"),
        charts::revocation_delay(&single).svg,
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/empty.svg"),
        charts::revocation_delay(&Results::default()).svg,
    )
    .unwrap();
}

#[test]
fn api_calls_chart_follows_a_timeline_when_runs_carry_one() {
    let mut results = keep_baseline();
    assert!(
        charts::api_calls(&results)
            .title
            .contains("by offered rate")
    );
    // Cached: a cold-cache burst then quiet; tokenreview: one call per request throughout.
    let cached: Vec<serde_json::Value> = (0..20)
        .map(|t| serde_json::json!([t, if t == 0 { 20 } else { 0 }]))
        .collect();
    let uncached: Vec<serde_json::Value> = (0..20).map(|t| serde_json::json!([t, 200])).collect();
    run_mut(&mut results, "steady/cached/100")
        .params
        .insert("apiserver_calls_timeline".into(), cached.into());
    run_mut(&mut results, "steady/tokenreview/100")
        .params
        .insert("apiserver_calls_timeline".into(), uncached.into());
    let chart = charts::api_calls(&results);
    assert!(chart.title.contains("over time"), "{}", chart.title);
    let doc = parse(&chart.svg);
    let lines = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "polyline")
        .count();
    assert!(lines >= 2, "one line per mode with a timeline, got {lines}");
    // A malformed timeline is ignored rather than drawn.
    run_mut(&mut results, "steady/cached/100")
        .params
        .insert("apiserver_calls_timeline".into(), serde_json::json!("oops"));
    run_mut(&mut results, "steady/tokenreview/100")
        .params
        .insert("apiserver_calls_timeline".into(), serde_json::json!([[1]]));
    assert!(
        charts::api_calls(&results)
            .title
            .contains("by offered rate")
    );
}

#[test]
fn latency_claims_are_judged_on_the_paired_cost_for_what_they_say() {
    let claim = |r: &Results, name: &str| {
        claims::claims(r)
            .into_iter()
            .find(|c| c.claim == name)
            .unwrap()
    };
    let mut r = keep_baseline();
    // A p99 cost of 1.5 ms (1.2 to 1.8) is inside "1-2 ms".
    set_p99_cost(&mut r, 100.0, "cached", 1_200.0, 1_500.0, 1_800.0);
    let c = claim(&r, "cached auth latency");
    assert_eq!(c.status, claims::Status::Held, "{}", c.measured);
    // 40 µs (20 to 60): at least 1,000 / 60 = 17x faster than claimed.
    set_p99_cost(&mut r, 100.0, "cached", 20.0, 40.0, 60.0);
    let c = claim(&r, "cached auth latency");
    assert_eq!(c.status, claims::Status::DidNotHold);
    assert!(
        c.measured.contains("17x faster than claimed"),
        "{}",
        c.measured
    );
    // 5 ms (3 to 7): 2.5x slower.
    set_p99_cost(&mut r, 100.0, "cached", 3_000.0, 5_000.0, 7_000.0);
    let c = claim(&r, "cached auth latency");
    assert!(
        c.measured.contains("2.5x slower than claimed"),
        "{}",
        c.measured
    );
    // Without the paired rounds there is no cost to judge.
    r.comparisons.clear();
    assert!(matches!(
        claim(&r, "cached auth latency").status,
        claims::Status::NotMeasured(_)
    ));

    // Against a real API server the uncached latency is measured: 900 µs is ~56x faster than 50 ms.
    let mut r = keep_baseline();
    r.environment.target = "kube-apiserver".into();
    let c = claim(&r, "TokenReview without cache");
    assert_eq!(c.status, claims::Status::DidNotHold, "{}", c.measured);
    assert!(
        c.measured.contains("x faster than claimed"),
        "{}",
        c.measured
    );
}

#[test]
fn throttle_claim_reads_the_warm_burst_when_loadtest_reports_one() {
    use gatebench::results::{LatencyUs, ThrottleResult};
    let burst = |warm_reviews: u64, warm_p50: u64| ThrottleResult {
        concurrency: 200,
        identities: 200,
        cold_latency_us: LatencyUs {
            count: 200,
            p50: 800_000,
            ..Default::default()
        },
        warm_latency_us: LatencyUs {
            count: 200,
            p50: warm_p50,
            ..Default::default()
        },
        cold_apiserver_calls: BTreeMap::from([("tokenreviews".into(), 200)]),
        warm_apiserver_calls: BTreeMap::from([("tokenreviews".into(), warm_reviews)]),
        apiserver_throttled: 0,
        client_throttle_wait_secs: 6.0,
    };
    let with = |cached: ThrottleResult| {
        let mut r = keep_baseline();
        run_mut(&mut r, "throttle/tokenreview/client-qps-50")
            .load
            .as_mut()
            .unwrap()
            .throttle = Some(burst(200, 780_000));
        run_mut(&mut r, "throttle/cached/client-qps-50")
            .load
            .as_mut()
            .unwrap()
            .throttle = Some(cached);
        claims::claims(&r)
            .into_iter()
            .find(|c| c.claim.starts_with("client-side"))
            .unwrap()
    };
    let held = with(burst(0, 900));
    assert_eq!(held.status, claims::Status::Held, "{}", held.measured);
    assert!(
        held.measured.contains("warm burst of 200"),
        "{}",
        held.measured
    );
    // A cache that keeps reviewing in the warm burst did not remove the throttled calls.
    assert_eq!(with(burst(150, 600_000)).status, claims::Status::DidNotHold);
}

#[test]
fn handshake_table_shows_both_phases_of_a_combined_run() {
    use gatebench::results::{HandshakeResult, LatencyUs};
    let mut r = keep_baseline();
    run_mut(&mut r, "handshake/mtls/keepalive")
        .load
        .as_mut()
        .unwrap()
        .handshake = Some(HandshakeResult {
        credential: "client-certificate".into(),
        keepalive_latency_us: LatencyUs {
            count: 400,
            p50: 700,
            p99: 1_500,
            ..Default::default()
        },
        new_connection_latency_us: LatencyUs {
            count: 400,
            p50: 2_100,
            p99: 4_000,
            ..Default::default()
        },
        keepalive_handshakes: 4,
        new_connection_handshakes: 400,
    });
    let html = render_html(&r);
    parse(&html);
    assert!(html.contains("<td>mtls (client-certificate)</td><td>new-connection</td><td>n/a</td><td>2.10 ms</td><td>4.00 ms</td><td>400</td><td>1.00</td>"));
    assert!(html.contains("<td>mtls (client-certificate)</td><td>keepalive</td><td>n/a</td><td>700 µs</td><td>1.50 ms</td><td>4</td><td>0.01</td>"));
}

#[test]
fn a_generator_limited_ramp_is_a_lower_bound_that_decides_nothing_below_growth() {
    let mut r = keep_baseline();
    // No CPU per request: the saturation ramp is all the capacity there is.
    for c in &mut r.comparisons {
        for m in &mut c.modes {
            m.cpu_us_per_request = None;
        }
    }
    let load = run_mut(&mut r, "saturation/cached/8000")
        .load
        .as_mut()
        .unwrap();
    let first_failed = load.steps.iter_mut().find(|s| !s.held).unwrap();
    first_failed.generator_limited = true;
    load.max_held_rps = Some(999.0);
    let v = gatebench::report::verdict(&r);
    assert_eq!(
        v.branch,
        gatebench::report::Branch::Inconclusive,
        "{}",
        v.sentence
    );
    let capacity = v
        .inputs
        .iter()
        .find(|i| i.key == "capacity-per-core/cached")
        .unwrap();
    assert_eq!(capacity.ok, None);
    assert!(
        capacity.measured.contains("a lower bound"),
        "{}",
        capacity.measured
    );
    // Not generator-limited, the same 999 RPS is a measured miss of the growth rate.
    run_mut(&mut r, "saturation/cached/8000")
        .load
        .as_mut()
        .unwrap()
        .steps
        .iter_mut()
        .for_each(|s| s.generator_limited = false);
    assert_eq!(
        gatebench::report::verdict(&r).branch,
        gatebench::report::Branch::ReconsiderMtls
    );
}

#[test]
fn projections_follow_the_model_and_the_measured_cpu() {
    use gatebench::report::projection::projections;
    let r = keep_baseline();
    let all = projections(&r);
    let at = |mode: &str, rps: f64, ids: u64| {
        all.iter()
            .find(|p| p.mode == mode && p.rps == rps && p.identities == ids)
            .unwrap_or_else(|| panic!("no projection {mode} {rps} {ids}"))
    };
    // cached at 10,000 RPS from 1,000 identities: one TokenReview and one SAR per identity per
    // 300 s; 20 µs (+-10%) of CPU per request is 0.2 cores (0.18 to 0.22).
    let p = at("cached", 10_000.0, 1_000);
    assert!(
        (p.api_calls_per_sec - 2.0 * 1_000.0 / 300.0).abs() < 1e-9,
        "{p:?}"
    );
    let cores = p.cores.unwrap();
    assert!((cores.value - 0.2).abs() < 1e-9 && (cores.lo - 0.18).abs() < 1e-9);
    // Uncached: two calls per request, whatever the identity count.
    assert_eq!(at("tokenreview", 1_000.0, 10).api_calls_per_sec, 2_000.0);
    // mtls makes no TokenReview, only the cached SAR.
    let m = at("mtls", 100.0, 100);
    assert!((m.api_calls_per_sec - 100.0 / 300.0).abs() < 1e-9, "{m:?}");
    let html = render_html(&r);
    assert!(html.contains("3. Projections to 100, 1,000 and 10,000 RPS"));
}
