//! Verdict branches on fixtures: each input nudged onto, just inside and just outside its bar,
//! intervals that straddle a bar, and a noisy run like the one that once gave no verdict.

use crate::report_fixtures;

use gatebench::report::{Branch, verdict};
use gatebench::results::{Estimate, Results, RunOutcome, Scenario};
use report_fixtures::*;

/// Sets the cached mode's CPU per request (µs, +-10%) in every comparison.
fn set_cached_cpu(results: &mut Results, cpu_us: f64) {
    for c in &mut results.comparisons {
        let m = c.modes.iter_mut().find(|m| m.mode == "cached").unwrap();
        m.cpu_us_per_request = Some(est(cpu_us, cpu_us * 0.1));
    }
}

fn input<'a>(
    v: &'a gatebench::results::Verdict,
    key: &str,
) -> &'a gatebench::results::VerdictInput {
    v.inputs
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no input {key}: {:?}", v.inputs))
}

/// Removes the alternatives so a missed bar cannot be answered by another mode.
fn without_alternatives(results: &mut Results) {
    for c in &mut results.comparisons {
        let alternative = |m: &str| matches!(m, "jwks" | "mtls" | "hybrid");
        c.modes.retain(|m| !alternative(&m.mode));
        c.slots.retain(|s| !alternative(&s.mode));
    }
}

#[test]
fn baseline_keeps_tokenreview_and_names_what_decided_it() {
    let v = verdict(&keep_baseline());
    assert_eq!(v.branch, Branch::KeepTokenReview, "{}", v.sentence);
    assert!(
        v.sentence.starts_with("Keep TokenReview + cache"),
        "{}",
        v.sentence
    );
    // The cost at both rates with its interval, the per-core capacity, the projected hit ratio.
    assert!(
        v.sentence.contains("40 µs (95% CI 20 µs to 60 µs)"),
        "{}",
        v.sentence
    );
    assert!(
        v.sentence.contains("50,000 RPS"),
        "capacity: {}",
        v.sentence
    );
    assert!(v.sentence.contains("1,000 identities"), "{}", v.sentence);
    let decisive: Vec<&str> = v
        .inputs
        .iter()
        .filter(|i| i.decisive)
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(
        decisive,
        [
            "latency-cost-p99/cached/expected",
            "latency-cost-p99/cached/growth",
            "capacity-per-core/cached",
            "hit-ratio",
            "throttling"
        ]
    );
    assert_eq!(input(&v, "capacity-per-core/cached").ok, Some(true));
    // 1,000 identities at 100 RPS with a 300 s TTL: 1 - (1000/300)/100 = 96.7%.
    let hit = input(&v, "hit-ratio").estimate.unwrap().value;
    assert!(
        (hit - (1.0 - 1_000.0 / 300.0 / 100.0)).abs() < 1e-9,
        "{hit}"
    );
    assert!(v.rule.contains("2.00 ms") && v.rule.contains("1,000 RPS"));
}

#[test]
fn the_verdict_round_trips_through_results_json_with_its_branch_name() {
    let mut r = keep_baseline();
    r.verdict = Some(verdict(&r));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"]["branch"], "keep-tokenreview");
    assert!(json["verdict"]["inputs"][0]["estimate"]["hi"].is_number());
    let back: Results = serde_json::from_value(json).unwrap();
    assert_eq!(back.verdict, r.verdict);
}

#[test]
fn a_cost_below_resolution_is_said_so_and_still_decides() {
    let mut r = keep_baseline();
    set_p99_cost(&mut r, 1_000.0, "cached", -150.0, 10.0, 170.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::KeepTokenReview, "{}", v.sentence);
    assert!(
        v.sentence
            .contains("less than 170 µs (below what this machine resolved)"),
        "{}",
        v.sentence
    );
}

#[test]
fn cost_over_the_budget_names_the_cheapest_alternative_and_straddling_decides_nothing() {
    let mut r = keep_baseline();
    // Whole interval within the budget: keep.
    set_p99_cost(&mut r, 100.0, "cached", 1_000.0, 1_500.0, 2_000.0);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);

    // Straddles the 2 ms budget: not resolved, so no verdict (and not a flip either way).
    set_p99_cost(&mut r, 100.0, "cached", 1_500.0, 2_100.0, 2_600.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(v.sentence.contains("straddle"), "{}", v.sentence);
    assert_eq!(input(&v, "latency-cost-p99/cached/expected").ok, None);

    // Whole interval above: the alternative with the lowest cost upper bound (mtls, 30 µs).
    set_p99_cost(&mut r, 100.0, "cached", 2_001.0, 2_500.0, 3_000.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Alternative, "{}", v.sentence);
    assert_eq!(v.mode.as_deref(), Some("mtls"));
    assert!(v.sentence.contains("you run a PKI"), "{}", v.sentence);
    assert!(input(&v, "latency-cost-p99/mtls/growth").decisive);

    // mtls over the budget too: jwks is next.
    set_p99_cost(&mut r, 1_000.0, "mtls", 2_100.0, 2_500.0, 2_900.0);
    assert_eq!(verdict(&r).mode.as_deref(), Some("jwks"));

    without_alternatives(&mut r);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(v.sentence.starts_with("No clear verdict"), "{}", v.sentence);
}

#[test]
fn capacity_below_growth_reconsiders_mtls_above_keeps() {
    let mut r = keep_baseline();
    // 900 µs +- 10% per request: 1,010 to 1,235 RPS per core, all above 1,000.
    set_cached_cpu(&mut r, 900.0);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);

    // 1,200 µs +- 10%: 758 to 926 RPS per core, all below the growth rate.
    set_cached_cpu(&mut r, 1_200.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::ReconsiderMtls, "{}", v.sentence);
    assert!(
        v.sentence.contains("below the growth rate of 1,000 RPS"),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("with mTLS"), "{}", v.sentence);
    assert_eq!(input(&v, "capacity-per-core/cached").ok, Some(false));

    // 1,000 µs: the interval straddles the growth rate; the saturation ramp held 4,000 RPS, so
    // capacity is not in doubt.
    set_cached_cpu(&mut r, 1_000.0);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);
    r.runs.retain(|run| run.scenario != Scenario::Saturation);
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);
}

#[test]
fn throttling_with_the_cache_reconsiders_mtls() {
    let mut r = keep_baseline();
    run_mut(&mut r, "steady/cached/1000")
        .server_mut()
        .apiserver_throttled = Some(1);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::ReconsiderMtls, "{}", v.sentence);
    assert!(v.sentence.contains("throttled"), "{}", v.sentence);

    let mut r = keep_baseline();
    run_mut(&mut r, "saturation/cached/8000")
        .server_mut()
        .client_throttle_wait_secs = Some(0.25);
    assert_eq!(verdict(&r).branch, Branch::ReconsiderMtls);

    // Throttling of the uncached mode is expected and does not count against the cache.
    let mut r = keep_baseline();
    run_mut(&mut r, "steady/tokenreview/1000")
        .server_mut()
        .apiserver_throttled = Some(500);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);
}

#[test]
fn hit_ratio_follows_the_model_and_an_untrusted_model_decides_nothing() {
    let mut r = keep_baseline();
    // 3,000 identities at 100 RPS, 300 s TTL: 1 - 10/100 = 90%, below 95%; mtls answers.
    r.settings.identities = vec![10, 3_000];
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Alternative, "{}", v.sentence);
    assert!(v.sentence.contains("90.0%"), "{}", v.sentence);

    let mut r = keep_baseline();
    for c in &mut r.comparisons {
        c.model_checks[0].measured = Some(60);
        c.model_checks[0].agrees = Some(false);
    }
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert_eq!(input(&v, "api-model").ok, Some(false));
    assert!(input(&v, "hit-ratio").measured.contains("not trusted"));

    // Without model checks, the measured hit ratio of the steady runs decides (fixtures: 99%).
    let mut r = keep_baseline();
    for c in &mut r.comparisons {
        c.model_checks.clear();
    }
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);
}

#[test]
fn without_the_floor_in_the_same_rounds_there_is_no_verdict() {
    let mut r = keep_baseline();
    comparison_mut(&mut r, 1_000.0)
        .modes
        .retain(|m| m.mode != "none");
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(v.sentence.contains("floor"), "{}", v.sentence);

    let mut r = keep_baseline();
    for run in r.runs.iter_mut().filter(|run| run.mode == "cached") {
        run.outcome = RunOutcome::Failed {
            error: "gateway exited 1".into(),
        };
    }
    r.comparisons.clear();
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);
    assert_eq!(verdict(&Results::default()).branch, Branch::Inconclusive);
}

#[test]
fn failure_behaviour_that_differs_from_the_note_blocks_keep() {
    let mut r = keep_baseline();
    let outage = r
        .runs
        .iter_mut()
        .find(|run| run.scenario == Scenario::Outage)
        .unwrap();
    let o = outage.load.as_mut().unwrap().outage.as_mut().unwrap();
    o.known.ok = 100; // cached identities failed during the outage
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(input(&v, "failure/outage").decisive);
}

/// The run of issue 11 that once gave "no verdict": the floor's own p99 above 2 ms at 100 RPS,
/// cached p99 2.79 ms end to end, saturation "held 0 RPS" for every auth mode; but paired
/// rounds resolved the cached cost at tens of microseconds.
#[test]
fn a_noisy_machine_still_decides_on_the_paired_costs() {
    let mut r = keep_baseline();
    for (id, p99) in [
        ("steady/none/100", 2_380),
        ("steady/none/1000", 890),
        ("steady/cached/100", 2_790),
        ("steady/cached/1000", 3_449),
    ] {
        run_mut(&mut r, id).load.as_mut().unwrap().latency_us.p99 = p99;
    }
    for run in r
        .runs
        .iter_mut()
        .filter(|run| run.scenario == Scenario::Saturation)
    {
        run.load.as_mut().unwrap().max_held_rps = Some(0.0);
    }
    for c in &mut r.comparisons {
        for m in &mut c.modes {
            m.latency_us.p99 = Some(Estimate {
                value: 2_400.0,
                lo: 900.0,
                hi: 4_800.0,
                n: 10,
            });
        }
    }
    set_p99_cost(&mut r, 100.0, "cached", -900.0, 120.0, 1_400.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::KeepTokenReview, "{}", v.sentence);
    assert!(v.sentence.contains("less than 1.40 ms"), "{}", v.sentence);
    // A ramp that held no step is never reported as "held 0 RPS".
    let capacity = &input(&v, "capacity-per-core/cached").measured;
    assert!(
        !capacity.contains("held 0") && capacity.contains("held none of its steps"),
        "{capacity}"
    );
}

/// Marks `mode`'s steady runs as paired runs that made no API call in their measured slots.
fn paired_without_api_calls(results: &mut Results, mode: &str) {
    for run in results
        .runs
        .iter_mut()
        .filter(|run| run.scenario == Scenario::Steady && run.mode == mode)
    {
        run.params
            .insert("paired_with".into(), serde_json::json!("paired-steady"));
        let server = run.server_mut();
        server.apiserver_calls.values_mut().for_each(|n| *n = 0);
        if let Some(cache) = server.token_cache.as_mut() {
            cache.hits += cache.misses;
            cache.misses = 0;
        }
    }
}

/// The quiet quick run of issue 11: 16 rounds of 50-request slots at 100 RPS leave the p99 cost
/// straddling the budget, while 80 rounds at 1,000 RPS resolve it well inside; with no API call
/// at either rate the growth rate's cost bounds the expected rate's.
#[test]
fn an_unresolved_low_rate_cost_is_bounded_by_the_resolved_higher_rate_without_api_calls() {
    let mut r = keep_baseline();
    set_p99_cost(&mut r, 100.0, "cached", -919.0, 200.0, 2_670.0);
    // With the cache's first fills in the measured slots the bound does not transfer.
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);

    paired_without_api_calls(&mut r, "cached");
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::KeepTokenReview, "{}", v.sentence);
    let expected = input(&v, "latency-cost-p99/cached/expected");
    assert_eq!(expected.ok, Some(true));
    assert_eq!(
        expected.bounded_by.as_deref(),
        Some("latency-cost-p99/cached/growth")
    );
    // Its own interval stays as measured, and the sentence gives the bound and where it is from.
    assert_eq!(expected.estimate.unwrap().hi, 2_670.0);
    assert!(
        expected
            .measured
            .contains("bounded by the cost at 1,000 RPS"),
        "{}",
        expected.measured
    );
    assert!(
        v.sentence
            .contains("at most 60 µs (bounded by the cost at 1,000 RPS"),
        "{}",
        v.sentence
    );

    // A miss in the low-rate slots: the cost there may be a miss's, so nothing bounds it.
    let cached_100 = run_mut(&mut r, "steady/cached/100");
    cached_100.server_mut().token_cache.as_mut().unwrap().misses = 1;
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert_eq!(
        input(&v, "latency-cost-p99/cached/expected").bounded_by,
        None
    );

    // Nor does a higher-rate cost that is itself unresolved.
    paired_without_api_calls(&mut r, "cached");
    set_p99_cost(&mut r, 1_000.0, "cached", -500.0, 300.0, 2_500.0);
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);
}
