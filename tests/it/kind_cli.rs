//! `gatebench kind` as a process: the result frames survive the emit -> log -> collect trip, and
//! `up`/`load` drive kind, docker and kubectl in the right order. No Docker engine runs here, so
//! those three are stand-in scripts on PATH that record their arguments and answer like the real
//! tools; the real-cluster run is `kind_cluster.rs` (ignored without a cluster).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GATEBENCH: &str = env!("CARGO_BIN_EXE_gatebench");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gatebench(
    args: &[&str],
    path_var: Option<&Path>,
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut cmd = Command::new(GATEBENCH);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "0");
    if let Some(dir) = path_var {
        // Only the stand-in tools (and the few utilities they use): a real kubectl on the
        // machine must never be reached from these tests.
        cmd.env("PATH", dir);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stand-in tools that append `tool args...` to `calls.log`.
fn fake_tools(dir: &Path, kubectl_body: &str, clusters: &str) {
    for util in ["basename", "cat", "touch"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(util))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(real, dir.join(util)).unwrap();
    }
    let log = dir.join("calls.log");
    let record = format!("echo \"$(basename \"$0\") $*\" >> {}", log.display());
    script(
        dir,
        "kind",
        &format!(
            "{record}\ncase \"$1 $2\" in\n  \"get clusters\") printf '{clusters}' ;;\n  \
             \"get kubeconfig\") echo 'apiVersion: v1' ;;\nesac"
        ),
    );
    script(dir, "docker", &record);
    script(dir, "kubectl", &format!("{record}\n{kubectl_body}"));
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn results_survive_emit_log_collect() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let summary = br#"{"schema_version":1,"scenario":"steady"}"#;
    let histogram: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(results.join("summary.json"), summary).unwrap();
    std::fs::write(results.join("histogram.hlog"), &histogram).unwrap();

    let mut log = String::from("unrelated container output\n");
    for pod in ["gatebench-load-0-aaaaa", "gatebench-load-1-bbbbb"] {
        let dir = results.to_str().unwrap();
        let (ok, stdout, stderr) = gatebench(
            &["kind", "emit-results", "--dir", dir, "--pod", pod],
            None,
            None,
        );
        assert!(ok, "{stderr}");
        log.push_str(&stdout);
    }
    let out = tmp.path().join("collected");
    let (ok, stdout, stderr) = gatebench(
        &[
            "kind",
            "collect",
            "--logs",
            "-",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
        Some(&log),
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for pod in ["gatebench-load-0-aaaaa", "gatebench-load-1-bbbbb"] {
        assert_eq!(
            std::fs::read(out.join(pod).join("summary.json")).unwrap(),
            summary
        );
        assert_eq!(
            std::fs::read(out.join(pod).join("histogram.hlog")).unwrap(),
            histogram
        );
    }

    // A log cut short must not be collected as if complete.
    let cut = &log[..log.len() - 40];
    let (ok, _, stderr) = gatebench(
        &[
            "kind",
            "collect",
            "--logs",
            "-",
            "--out",
            tmp.path().join("cut").to_str().unwrap(),
        ],
        None,
        Some(cut),
    );
    assert!(!ok);
    assert!(
        stderr.contains("truncated") || stderr.contains("mismatch"),
        "{stderr}"
    );
}

#[test]
fn up_creates_builds_loads_applies_and_waits_in_order() {
    let tools = tempfile::tempdir().unwrap();
    fake_tools(tools.path(), "", "other\\n");
    let kubeconfig = tools.path().join("kubeconfig");
    let repo = repo();
    let (ok, _, stderr) = gatebench(
        &[
            "kind",
            "up",
            "--repo",
            repo.to_str().unwrap(),
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
        ],
        Some(tools.path()),
        None,
    );
    assert!(ok, "{stderr}");
    let calls = calls(tools.path());
    let order: Vec<String> = calls
        .iter()
        .map(|c| c.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        order,
        [
            "kind get clusters",
            "kind create cluster",
            "docker build -f",
            "kind load docker-image",
            "kubectl --context kind-gatebench",
            "kubectl --context kind-gatebench",
            "kind get kubeconfig",
        ],
        "{calls:#?}"
    );
    assert!(calls[4].ends_with(&format!("apply -k {}", repo.join("deploy").display())));
    assert!(calls[5].contains("rollout status deployment/gatebench-gateway"));
    let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "kubeconfig holds admin credentials");
    assert!(
        stderr.contains(&format!("--target kubeconfig:{}", kubeconfig.display())),
        "{stderr}"
    );
}

#[test]
fn up_reuses_an_existing_cluster_and_restarts_the_gateway() {
    let tools = tempfile::tempdir().unwrap();
    fake_tools(tools.path(), "", "gatebench\\n");
    let repo = repo();
    let (ok, _, stderr) = gatebench(
        &[
            "kind",
            "up",
            "--repo",
            repo.to_str().unwrap(),
            "--skip-build",
        ],
        Some(tools.path()),
        None,
    );
    assert!(ok, "{stderr}");
    let calls = calls(tools.path());
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("kind create") || c.starts_with("docker")),
        "{calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contains("rollout restart deployment/gatebench-gateway"))
    );
}

#[test]
fn up_stops_before_doing_anything_when_a_tool_is_missing() {
    let tools = tempfile::tempdir().unwrap();
    fake_tools(tools.path(), "", "");
    std::fs::remove_file(tools.path().join("kubectl")).unwrap();
    let repo = repo();
    let (ok, _, stderr) = gatebench(
        &["kind", "up", "--repo", repo.to_str().unwrap()],
        Some(tools.path()),
        None,
    );
    assert!(!ok);
    assert!(stderr.contains("`kubectl` is not installed"), "{stderr}");
    assert!(
        calls(tools.path()).is_empty(),
        "nothing may run before the check"
    );
}

#[test]
fn load_creates_the_job_waits_and_collects_every_pod() {
    let tools = tempfile::tempdir().unwrap();
    let dir = tools.path();
    // Two pods' result frames, as `kubectl logs -c results` would print them.
    let results = dir.join("r");
    std::fs::create_dir(&results).unwrap();
    std::fs::write(results.join("summary.json"), b"{}").unwrap();
    let mut frames = String::new();
    for pod in ["gatebench-load-0-x", "gatebench-load-1-y"] {
        let (ok, out, err) = gatebench(
            &[
                "kind",
                "emit-results",
                "--dir",
                results.to_str().unwrap(),
                "--pod",
                pod,
            ],
            None,
            None,
        );
        assert!(ok, "{err}");
        frames.push_str(&out);
    }
    std::fs::write(dir.join("frames.log"), frames).unwrap();
    // `get job` answers Running once, then Complete, so the wait loop is exercised.
    let kubectl = format!(
        r#"case "$*" in
  *" create -f -"*) cat > {d}/created.json ;;
  *" get job "*)
    if [ -e {d}/polled ]; then
      echo '{{"apiVersion":"batch/v1","kind":"Job","metadata":{{"name":"gatebench-load"}},"status":{{"succeeded":2,"conditions":[{{"type":"Complete","status":"True"}}]}}}}'
    else
      touch {d}/polled
      echo '{{"apiVersion":"batch/v1","kind":"Job","metadata":{{"name":"gatebench-load"}},"status":{{"active":2}}}}'
    fi ;;
  *" logs "*) cat {d}/frames.log ;;
esac"#,
        d = dir.display()
    );
    fake_tools(dir, &kubectl, "");
    let out = dir.join("out");
    let (ok, _, stderr) = gatebench(
        &[
            "kind",
            "load",
            "--parallelism",
            "2",
            "--rate",
            "40",
            "--duration",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(dir),
        None,
    );
    assert!(ok, "{stderr}");
    let calls = calls(dir);
    let verbs: Vec<&str> = calls
        .iter()
        .map(|c| c.split(" -n gatebench-load ").nth(1).unwrap_or(c.as_str()))
        .collect();
    assert!(
        verbs[0].starts_with("delete job gatebench-load --ignore-not-found"),
        "{calls:#?}"
    );
    assert!(calls[1].ends_with("create -f -"), "{calls:#?}");
    assert!(
        verbs[2].starts_with("get job") && verbs[3].starts_with("get job"),
        "{calls:#?}"
    );
    assert!(
        verbs[4].starts_with("logs -l job-name=gatebench-load -c results --tail=-1"),
        "{calls:#?}"
    );

    let created: k8s_openapi::api::batch::v1::Job =
        serde_json::from_str(&std::fs::read_to_string(dir.join("created.json")).unwrap()).unwrap();
    let spec = created.spec.unwrap();
    assert_eq!((spec.parallelism, spec.completions), (Some(2), Some(2)));
    let args = spec.template.spec.unwrap().init_containers.unwrap()[0]
        .args
        .clone()
        .unwrap();
    assert!(
        args.contains(&"--rate=40".to_string()) && args.contains(&"--duration=5".to_string()),
        "{args:?}"
    );
    for pod in ["gatebench-load-0-x", "gatebench-load-1-y"] {
        assert_eq!(
            std::fs::read(out.join(pod).join("summary.json")).unwrap(),
            b"{}"
        );
    }
    assert!(stderr.contains("gatebench report --merge"), "{stderr}");
}

#[test]
fn load_fails_fast_when_the_job_fails() {
    let tools = tempfile::tempdir().unwrap();
    let kubectl = r#"case "$*" in
  *" get job "*) echo '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"gatebench-load"},"status":{"failed":1,"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}}' ;;
  *" create -f -"*) cat > /dev/null ;;
esac"#;
    fake_tools(tools.path(), kubectl, "");
    let out = tools.path().join("out");
    let (ok, _, stderr) = gatebench(
        &[
            "kind",
            "load",
            "--out",
            out.to_str().unwrap(),
            "--timeout-secs",
            "60",
        ],
        Some(tools.path()),
        None,
    );
    assert!(!ok);
    assert!(stderr.contains("BackoffLimitExceeded"), "{stderr}");
    assert!(!calls(tools.path()).iter().any(|c| c.contains(" logs ")));
}

#[test]
fn load_refuses_to_mix_with_a_previous_run() {
    let tools = tempfile::tempdir().unwrap();
    fake_tools(tools.path(), "", "");
    let out = tools.path().join("out");
    std::fs::create_dir_all(out.join("gatebench-load-0-old")).unwrap();
    let (ok, _, stderr) = gatebench(
        &["kind", "load", "--out", out.to_str().unwrap()],
        Some(tools.path()),
        None,
    );
    assert!(!ok);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(calls(tools.path()).is_empty(), "no Job may be started");
}
