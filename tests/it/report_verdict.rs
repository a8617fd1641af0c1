//! Verdict branches on fixtures that sit exactly on each threshold.

use crate::report_fixtures;

use gatebench::report::{Branch, verdict};
use gatebench::results::{RunOutcome, Scenario};
use report_fixtures::*;

fn set_hit_ratio(results: &mut gatebench::results::Results, id: &str, ratio: f64) {
    let hits = (ratio * 10_000.0).round() as u64;
    run_mut(results, id).server_mut().token_cache = Some(gatebench::results::CacheCounts {
        hits,
        misses: 10_000 - hits,
    });
}

fn set_cached_capacity(results: &mut gatebench::results::Results, rps: f64) {
    let run = run_mut(results, "saturation/cached/8000");
    run.load.as_mut().unwrap().max_held_rps = Some(rps);
}

fn set_p99(results: &mut gatebench::results::Results, id: &str, p99: u64) {
    run_mut(results, id).load.as_mut().unwrap().latency_us.p99 = p99;
}

/// Removes the alternatives so a missed bar cannot be answered by another mode.
fn without_alternatives(results: &mut gatebench::results::Results) {
    results
        .runs
        .retain(|r| !matches!(r.mode.as_str(), "jwks" | "mtls" | "hybrid"));
}

#[test]
fn baseline_keeps_tokenreview_and_says_why() {
    let v = verdict(&keep_baseline());
    assert_eq!(v.branch, Branch::KeepTokenReview, "{}", v.sentence);
    assert!(
        v.sentence.starts_with("Keep TokenReview + cache"),
        "{}",
        v.sentence
    );
    assert!(
        v.sentence.contains("99.0%"),
        "lowest hit ratio is named: {}",
        v.sentence
    );
    assert!(
        v.sentence.contains("4,000 RPS"),
        "capacity is named: {}",
        v.sentence
    );
    assert!(
        v.checks.iter().all(|c| c.ok == Some(true)),
        "{:?}",
        v.checks
    );
    assert!(v.rule.contains("95.0%") && v.rule.contains("1,000 RPS"));
}

#[test]
fn hit_ratio_just_above_target_keeps_just_below_does_not() {
    let mut r = keep_baseline();
    set_hit_ratio(&mut r, "steady/cached/1000", 0.951);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);

    set_hit_ratio(&mut r, "steady/cached/1000", 0.949);
    let v = verdict(&r);
    // jwks met the SLO at both rates with the lowest growth-rate p99, so it is named.
    assert_eq!(
        v.branch,
        Branch::Alternative {
            mode: "jwks".into()
        },
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("94.9%"), "{}", v.sentence);
    assert!(
        v.sentence
            .contains("revoked token stays valid until it expires"),
        "{}",
        v.sentence
    );

    without_alternatives(&mut r);
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);
}

#[test]
fn capacity_just_below_growth_reconsiders_mtls_just_above_keeps() {
    let mut r = keep_baseline();
    set_cached_capacity(&mut r, 1_001.0);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);

    set_cached_capacity(&mut r, 999.0);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::ReconsiderMtls, "{}", v.sentence);
    assert!(
        v.sentence
            .contains("held 999 RPS, below the growth rate of 1,000 RPS"),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("mTLS held 6,000 RPS"), "{}", v.sentence);
    let capacity = &v.checks[0];
    assert_eq!(capacity.ok, Some(false));
    assert!(
        capacity.measured.starts_with("999 RPS"),
        "{}",
        capacity.measured
    );
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
fn p99_just_within_slo_keeps_just_over_does_not() {
    let mut r = keep_baseline();
    set_p99(&mut r, "steady/cached/100", SLO_US);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);

    set_p99(&mut r, "steady/cached/100", SLO_US + 1);
    let v = verdict(&r);
    assert_eq!(
        v.branch,
        Branch::Alternative {
            mode: "jwks".into()
        },
        "{}",
        v.sentence
    );
    assert!(
        v.sentence.contains("p99 at the expected rate was 2.00 ms"),
        "{}",
        v.sentence
    );

    // When jwks also misses the SLO at the growth rate, the next best alternative is named.
    set_p99(&mut r, "steady/jwks/1000", SLO_US + 1);
    assert_eq!(
        verdict(&r).branch,
        Branch::Alternative {
            mode: "mtls".into()
        }
    );

    without_alternatives(&mut r);
    assert_eq!(verdict(&r).branch, Branch::Inconclusive);
}

#[test]
fn failed_or_missing_cached_runs_give_no_verdict() {
    let mut r = keep_baseline();
    for run in r.runs.iter_mut().filter(|run| run.mode == "cached") {
        run.outcome = RunOutcome::Failed {
            error: "gateway exited 1".into(),
        };
    }
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(v.checks.iter().any(|c| c.ok.is_none()));

    let empty = gatebench::results::Results::default();
    assert_eq!(verdict(&empty).branch, Branch::Inconclusive);
}

#[test]
fn without_saturation_the_steady_growth_run_decides_capacity() {
    let mut r = keep_baseline();
    r.runs.retain(|run| run.scenario != Scenario::Saturation);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);
    // Achieving less than 95% of the growth rate means it did not hold it.
    run_mut(&mut r, "steady/cached/1000")
        .load
        .as_mut()
        .unwrap()
        .achieved_rps = 940.0;
    assert_eq!(verdict(&r).branch, Branch::ReconsiderMtls);
}

#[test]
fn missing_measurements_never_point_to_an_alternative() {
    // Cached met everything it was measured on, but the growth-rate run is missing: the
    // alternatives (which held both rates) must not be recommended on absent data.
    let mut r = keep_baseline();
    r.runs.retain(|run| run.id != "steady/cached/1000");
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(
        v.sentence
            .contains("no cached steady run near the growth rate"),
        "{}",
        v.sentence
    );

    // A measured miss plus a missing run still names the alternative, and says both.
    set_hit_ratio(&mut r, "steady/cached/100", 0.90);
    let v = verdict(&r);
    assert_eq!(
        v.branch,
        Branch::Alternative {
            mode: "jwks".into()
        },
        "{}",
        v.sentence
    );
    assert!(
        v.sentence.contains("90.0%") && v.sentence.contains("growth rate"),
        "{}",
        v.sentence
    );
}

#[test]
fn a_floor_that_misses_the_slo_gives_no_verdict_on_latency() {
    // The gateway without authentication misses the SLO too: the machine is the limit.
    let mut r = keep_baseline();
    set_p99(&mut r, "steady/cached/1000", SLO_US * 40);
    set_p99(&mut r, "steady/none/1000", SLO_US + 1);
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(
        v.sentence.contains("even without authentication"),
        "{}",
        v.sentence
    );
    assert!(
        v.checks
            .iter()
            .any(|c| c.name.starts_with("no-auth floor") && c.ok == Some(false))
    );

    // A floor exactly on the SLO holds, and the cached miss is judged on its own.
    set_p99(&mut r, "steady/none/1000", SLO_US);
    assert_eq!(
        verdict(&r).branch,
        Branch::Alternative {
            mode: "jwks".into()
        }
    );

    // Throttling with the cache is an auth problem whatever the floor does.
    set_p99(&mut r, "steady/none/1000", SLO_US + 1);
    run_mut(&mut r, "steady/cached/100")
        .server_mut()
        .apiserver_throttled = Some(3);
    assert_eq!(verdict(&r).branch, Branch::ReconsiderMtls);
}

#[test]
fn without_a_ramp_the_reconsider_sentence_says_what_the_growth_run_did() {
    let mut r = keep_baseline();
    r.runs
        .retain(|run| run.scenario != gatebench::results::Scenario::Saturation);
    run_mut(&mut r, "steady/cached/1000")
        .load
        .as_mut()
        .unwrap()
        .achieved_rps = 700.0;
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::ReconsiderMtls, "{}", v.sentence);
    assert!(
        v.sentence.contains("achieved 700 of 1,000 RPS"),
        "{}",
        v.sentence
    );
}

#[test]
fn a_generator_limited_capacity_is_a_lower_bound_not_a_verdict() {
    let mut r = keep_baseline();
    set_cached_capacity(&mut r, 999.0);
    let generator = &mut run_mut(&mut r, "saturation/cached/8000")
        .load
        .as_mut()
        .unwrap()
        .generator;
    generator.limited = true;
    generator.reason = Some("generator CPU 99%".into());
    let v = verdict(&r);
    assert_eq!(v.branch, Branch::Inconclusive, "{}", v.sentence);
    assert!(
        v.sentence.contains("lower bound") && v.sentence.contains("generator CPU 99%"),
        "{}",
        v.sentence
    );

    // A generator limit does not hide a capacity that already covers the growth rate.
    set_cached_capacity(&mut r, 1_001.0);
    assert_eq!(verdict(&r).branch, Branch::KeepTokenReview);
}
