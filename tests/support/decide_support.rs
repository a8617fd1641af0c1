//! Shared helpers of the decide end-to-end tests: run the real binaries with deadlines, read the outputs.
#![allow(dead_code)]

use gatebench::results::{Results, RunOutcome, RunRecord};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn gatebench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatebench"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Spawns `cmd` with stdout/stderr into files under `dir` (no pipe can fill up).
pub fn spawn_logged(mut cmd: Command, dir: &Path, name: &str) -> Child {
    let out = std::fs::File::create(dir.join(format!("{name}.stdout"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn gatebench")
}

pub fn logs(dir: &Path, name: &str) -> String {
    let read =
        |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap_or_default();
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        read("stdout"),
        read("stderr")
    )
}

/// Waits for the child, killing it and panicking after `limit`.
pub fn wait_with_deadline(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `cond` every 100 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn read_results(out: &Path) -> Results {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    serde_json::from_str(&text).expect("results.json parses as Results")
}

pub fn read_html(out: &Path) -> String {
    std::fs::read_to_string(out.join("decision.html")).expect("decision.html written")
}

/// Every run id of the JSON appears in the HTML (HTML-escaped or not).
pub fn assert_consistent(results: &Results, html: &str) {
    assert!(html.contains("<html"), "not HTML");
    for run in &results.runs {
        assert!(
            html.contains(&run.id) || html.contains(&run.id.replace('/', "&#x2F;")),
            "run {} missing from decision.html",
            run.id
        );
    }
}

/// The run measured something real: load achieved, latency recorded, nothing failed.
pub fn assert_measured(run: &RunRecord) {
    assert_eq!(run.outcome, RunOutcome::Ok, "{}: {:?}", run.id, run.outcome);
    let load = run
        .load
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no load summary", run.id));
    assert!(
        load.achieved_rps > 0.0,
        "{}: achieved {}",
        run.id,
        load.achieved_rps
    );
    assert!(
        load.latency_us.count > 0,
        "{}: no requests recorded",
        run.id
    );
    assert!(load.latency_us.p50 > 0, "{}: p50 is 0", run.id);
    assert!(
        run.server().gateway_cpu_secs.unwrap_or(0.0) > 0.0,
        "{}: gateway used no CPU",
        run.id
    );
    // Identities and RBAC were set up right: every request was accepted (201 new, 202 duplicate).
    let accepted: u64 = load
        .status_counts
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        accepted, load.latency_us.count,
        "{}: {:?}",
        run.id, load.status_counts
    );
}

/// Pids of live (non-zombie) processes whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true);
            !zombie
                && String::from_utf8_lossy(&cmdline)
                    .replace('\0', " ")
                    .contains(needle)
        })
        .collect()
}

/// Runs `cmd` (a `gatebench decide ...`) with its output logged under `dir`, and fails the test
/// with those logs unless it exits 0 within `limit`.
pub fn decide_succeeds(cmd: Command, dir: &Path, limit: Duration) {
    let mut child = spawn_logged(cmd, dir, "decide");
    let status = wait_with_deadline(&mut child, limit, "decide");
    assert!(status.success(), "decide failed: {}", logs(dir, "decide"));
}

/// A `gatebench` server child (stand-in, gateway) started by a test, killed however it ends.
pub struct Server {
    child: Child,
    /// Its `{"event":"listening",..}` line.
    pub listening: serde_json::Value,
}

impl Server {
    /// Starts `gatebench ARGS` and waits (up to 60 s) for its listening line; stderr goes to
    /// `dir/NAME.stderr`.
    pub fn start(args: &[&str], dir: &Path, name: &str) -> Server {
        use std::io::BufRead;
        let mut child = gatebench()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("\"listening\"") {
                    let _ = tx.send(line);
                }
            }
        });
        let mut server = Server {
            child,
            listening: serde_json::Value::Null,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{name} reports listening"));
        server.listening = serde_json::from_str(&line).expect("a JSON listening line");
        server
    }

    /// The stand-in API server on a free loopback port, its admin kubeconfig written to
    /// `kubeconfig`.
    pub fn stand_in(dir: &Path, kubeconfig: &Path) -> Server {
        let kc = kubeconfig.display().to_string();
        let args = [
            "apiserver",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig-out",
            &kc,
        ];
        Server::start(&args, dir, "apiserver")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A string field of the listening line.
    pub fn field(&self, key: &str) -> String {
        self.listening[key]
            .as_str()
            .unwrap_or_else(|| panic!("no `{key}` in {}", self.listening))
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
