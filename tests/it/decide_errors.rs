//! `decide` fails loudly and still writes its outputs when it cannot run anything.

use crate::decide_support;

use decide_support::*;
use gatebench::results::RunOutcome;
use std::time::Duration;

#[test]
fn missing_loadtest_names_the_build_command_and_records_failed_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A gatebench with no loadtest beside it, not started by cargo.
    let lonely = dir.path().join("gatebench");
    std::fs::copy(env!("CARGO_BIN_EXE_gatebench"), &lonely).unwrap();
    let out = dir.path().join("reports");
    let mut cmd = std::process::Command::new(&lonely);
    cmd.env_remove("CARGO")
        .args(["decide", "--profile", "tiny", "--modes", "none", "--out"])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(60), "decide");
    assert!(!status.success());
    let text = logs(dir.path(), "decide");
    assert!(text.contains("cargo build --bin loadtest"), "{text}");

    let results = read_results(&out);
    assert_eq!(results.runs.len(), 2);
    for run in &results.runs {
        match &run.outcome {
            RunOutcome::Failed { error } => assert!(error.contains("loadtest"), "{error}"),
            other => panic!("{}: {other:?}", run.id),
        }
    }
    assert_consistent(&results, &read_html(&out));
}

#[test]
fn a_failing_load_generator_is_recorded_per_run_and_decide_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "cached"])
        .args(["--loadtest-bin", "/bin/false", "--out"])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(90), "decide");
    assert!(!status.success(), "{}", logs(dir.path(), "decide"));

    let results = read_results(&out);
    assert!(!results.partial);
    // Two paired steady runs (the floor joins cached), one record per mode each.
    assert_eq!(results.runs.len(), 4);
    for run in &results.runs {
        match &run.outcome {
            RunOutcome::Failed { error } => {
                assert!(error.contains("loadtest exited"), "{error}");
                assert!(error.contains("-loadtest.log"), "{error}");
            }
            other => panic!("{}: {other:?}", run.id),
        }
        assert!(run.load.is_none());
        // The gateways were started for the run; only the generator failed.
        let rate = run.id.rsplit('/').next().unwrap();
        let log = out.join(format!("logs/steady_{rate}-gateway-{}.log", run.mode));
        assert!(log.exists(), "{}", log.display());
    }
    assert_consistent(&results, &read_html(&out));
}
