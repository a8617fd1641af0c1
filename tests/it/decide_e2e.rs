//! End to end: `gatebench decide` on the tiny profile starts the stand-in, gateways and loadtest,
//! and writes a results.json and decision.html that agree and carry measured values.

use crate::decide_support;

use decide_support::*;
use gatebench::results::RunOutcome;
use std::time::Duration;

#[test]
fn tiny_profile_none_and_cached_writes_consistent_measured_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "none,cached"])
        .args(["--expected-rps", "50", "--growth-rps", "200", "--out"])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(150), "decide");
    assert!(
        status.success(),
        "decide failed: {}",
        logs(dir.path(), "decide")
    );

    let results = read_results(&out);
    assert!(!results.partial);
    assert_eq!(results.environment.profile, "tiny");
    assert_eq!(results.environment.time_scale, 60.0);
    let ids: Vec<_> = results.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "steady/none/50",
            "steady/cached/50",
            "steady/none/200",
            "steady/cached/200"
        ]
    );
    for run in &results.runs {
        assert_measured(run);
    }
    // One paired comparison per rate, every mode's gateway running at once.
    for rate in [50, 200] {
        for log in ["gateway-none", "gateway-cached", "loadtest"] {
            let path = out.join(format!("logs/steady_{rate}-{log}.log"));
            assert!(path.exists(), "{}", path.display());
        }
    }
    assert_eq!(results.comparisons.len(), 2);
    for c in &results.comparisons {
        assert_eq!(c.floor, "none");
        assert_eq!(c.rounds, 3, "tiny runs three rounds");
        assert!(
            c.order.iter().all(|round| round.len() == 2),
            "{:?}",
            c.order
        );
        let floor = c.mode("none").unwrap();
        assert!(floor.cost_us.is_none(), "the floor has no cost over itself");
        let cached = c.mode("cached").unwrap();
        assert_eq!(cached.rounds, 3);
        let p50 = cached
            .cost_us
            .as_ref()
            .and_then(|q| q.p50)
            .expect("p50 cost");
        assert!(p50.lo <= p50.value && p50.value <= p50.hi, "{p50:?}");
        assert!(
            cached.cpu_us_per_request.is_some(),
            "gateway CPU read per slot"
        );
        assert_eq!(c.slots.len(), 6, "{:?}", c.slots);
        // The cache's TokenReviews are what the model predicts for the requests it got (the
        // warm-up filled it; tiny's rounds are shorter than the scaled 5 s TTL).
        let check = c
            .model_checks
            .iter()
            .find(|m| m.mode == "cached" && m.api == "tokenreviews")
            .expect("model check of the token cache");
        assert!(check.requests > 0 && check.measured.is_some(), "{check:?}");
        assert_eq!(check.agrees, Some(true), "{check:?}");
    }
    for run in results.runs.iter().filter(|r| r.mode == "none") {
        assert_eq!(
            run.server().apiserver_calls.get("tokenreviews"),
            None,
            "{}",
            run.id
        );
    }
    for run in results.runs.iter().filter(|r| r.mode == "cached") {
        let requests = run.load.as_ref().unwrap().latency_us.count;
        let reviews = run
            .server()
            .apiserver_calls
            .get("tokenreviews")
            .copied()
            .unwrap_or(0);
        assert!(
            reviews < requests,
            "{}: {reviews} TokenReviews for {requests} requests",
            run.id
        );
        let cache = run
            .server()
            .token_cache
            .as_ref()
            .expect("cached mode reports token-cache counts");
        assert!(cache.hits > 0, "{}: {cache:?}", run.id);
    }
    assert_consistent(&results, &read_html(&out));
}

#[test]
fn ctrl_c_stops_children_and_writes_partial_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "none"])
        .args([
            "--expected-rps",
            "50",
            "--growth-rps",
            "60",
            "--duration-scale",
            "5",
            "--out",
        ])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    // Results are saved after each run; interrupt during the second.
    wait_until(Duration::from_secs(90), "the first run's results", || {
        std::fs::read_to_string(out.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<gatebench::results::Results>(&t).ok())
            .is_some_and(|r| r.runs.len() == 1)
    });
    let pid = child.id().to_string();
    assert!(
        gatebench::fsutil::send(child.id(), nix::sys::signal::Signal::SIGINT),
        "pid {pid}"
    );
    let status = wait_with_deadline(&mut child, Duration::from_secs(30), "interrupted decide");
    assert!(
        !status.success(),
        "an interrupted decide must exit non-zero"
    );

    let results = read_results(&out);
    assert!(results.partial, "{}", logs(dir.path(), "decide"));
    assert_eq!(results.runs.len(), 2);
    assert_measured(&results.runs[0]);
    assert!(matches!(
        results.runs[1].outcome,
        RunOutcome::Skipped { .. }
    ));
    assert_consistent(&results, &read_html(&out));
    // Every child (stand-in, gateway, loadtest) names the output directory on its command line.
    let marker = out.display().to_string();
    wait_until(Duration::from_secs(10), "children to exit", || {
        processes_mentioning(&marker).is_empty()
    });
}
