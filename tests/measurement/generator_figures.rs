//! The generator's figures beside oha's in one run (issue 15's table): against the same `none`
//! and `cached` gateways (pinned to CPU 0), `oha -q R --latency-correction -c 64` and `loadtest
//! --scenario steady --rate R` (and, with GATEBENCH_LOADTEST_BEFORE=PATH, an older loadtest build
//! for the before/after columns), each pinned to CPU 1 with `taskset`, whole-process CPU time from
//! `/usr/bin/time` for both. Ignored: minutes of load; prints a markdown table.
//! `cargo test --release --test measurement generator_figures:: -- --ignored --nocapture`

use crate::loadtest_support::Cluster;
use crate::oha_agreement::{Setup, parse_oha, require_oha, setup, stderr_tail};
use std::ffi::OsString;
use std::time::Duration;

const SECS: u64 = 10;
const OHA_CONNECTIONS: usize = 64;

/// One tool's run at one rate.
struct Figures {
    tool: String,
    target: String,
    offered: f64,
    achieved: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_secs: f64,
    wall_secs: f64,
    requests: f64,
    /// loadtest only: how late its own sends were.
    send_delay_p99_us: Option<u64>,
}

impl Figures {
    fn row(&self) -> String {
        format!(
            "| {} | `{}` | {:.0} | {:.0} | {:.0} us | {:.0} us | {:.2} | {:.1} us | {} |",
            self.tool,
            self.target,
            self.offered,
            self.achieved,
            self.p50_us,
            self.p99_us,
            self.cpu_secs / self.wall_secs.max(1e-3),
            1e6 * self.cpu_secs / self.requests.max(1.0),
            self.send_delay_p99_us
                .map_or("-".to_string(), |us| format!("{us} us"))
        )
    }
}

/// Runs `program args` pinned to CPU 1 under /usr/bin/time: (stdout, cpu secs, wall secs).
async fn timed(program: &str, args: Vec<OsString>) -> (Vec<u8>, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let times = dir.path().join("time");
    let mut cmd = tokio::process::Command::new("/usr/bin/time");
    cmd.arg("-o")
        .arg(&times)
        .args(["-f", "%e %U %S", "taskset", "-c", "1", program])
        .args(args)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(SECS + 120), cmd.output())
        .await
        .expect("finished")
        .expect("spawned");
    assert!(
        out.status.success(),
        "{program}: {}",
        stderr_tail(&out.stderr)
    );
    let text = std::fs::read_to_string(&times).unwrap();
    let f: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    (out.stdout, f[1] + f[2], f[0])
}

async fn oha_run(s: &Setup, mode: &str, rate: f64) -> Figures {
    let url = format!("{}/api/v1/signals/prometheus", s.gateway.url);
    let mut args: Vec<OsString> = [
        "-q",
        &rate.to_string(),
        "--latency-correction",
        "-c",
        &OHA_CONNECTIONS.to_string(),
        "-z",
        &format!("{SECS}s"),
        "--no-tui",
        "--output-format",
        "json",
        "-m",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-D",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(s.body.clone().into());
    if let Some(path) = &s.tokens {
        let token = std::fs::read_to_string(path).unwrap();
        args.push("-H".into());
        args.push(format!("Authorization: Bearer {}", token.trim()).into());
    }
    args.push(url.into());
    let (stdout, cpu, wall) = timed("oha", args).await;
    let run = parse_oha(&stdout);
    Figures {
        tool: format!("oha -c {OHA_CONNECTIONS}"),
        target: mode.into(),
        offered: rate,
        achieved: run.achieved_rps,
        p50_us: run.p50_us,
        p99_us: run.p99_us,
        cpu_secs: cpu,
        wall_secs: wall,
        requests: run.achieved_rps * SECS as f64,
        send_delay_p99_us: None,
    }
}

async fn loadtest_run(s: &Setup, mode: &str, rate: f64, tool: &str, binary: &str) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let mut args: Vec<OsString> = ["--scenario", "steady", "--host", &s.gateway.url]
        .iter()
        .map(OsString::from)
        .collect();
    for a in [
        "--rate",
        &rate.to_string(),
        "--duration",
        &SECS.to_string(),
        "--identities",
        "1",
        "--quiet",
        "--no-print-metrics",
        "--summary-out",
    ] {
        args.push(a.into());
    }
    args.push(summary.clone().into());
    if let Some(path) = &s.tokens {
        args.push("--tokens-file".into());
        args.push(path.clone().into());
    }
    let (_, cpu, wall) = timed(binary, args).await;
    let s: gatebench::results::LoadSummary =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    Figures {
        tool: format!("{tool} ({} users)", s.users),
        target: mode.into(),
        offered: rate,
        achieved: s.achieved_rps,
        p50_us: s.latency_us.p50 as f64,
        p99_us: s.latency_us.p99 as f64,
        cpu_secs: cpu,
        wall_secs: wall,
        requests: s.latency_us.count as f64,
        send_delay_p99_us: Some(s.generator.send_delay_p99_us),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: minutes of load, release build, needs oha"]
async fn side_by_side_with_oha() {
    require_oha();
    let before = std::env::var("GATEBENCH_LOADTEST_BEFORE").ok();
    let rates: Vec<f64> = std::env::var("GENERATOR_RATES")
        .unwrap_or_else(|_| "2000 5000 10000 20000".into())
        .split_whitespace()
        .filter_map(|r| r.parse().ok())
        .collect();
    let cluster = Cluster::start().await;
    let mut rows = Vec::new();
    for mode in ["none", "cached"] {
        let s = setup(&cluster, mode).await;
        let mode_rates = if mode == "none" {
            rates.clone()
        } else {
            vec![10000.0]
        };
        for rate in mode_rates {
            rows.push(oha_run(&s, mode, rate).await);
            let now = env!("CARGO_BIN_EXE_loadtest");
            rows.push(loadtest_run(&s, mode, rate, "loadtest", now).await);
            if let Some(path) = &before {
                rows.push(loadtest_run(&s, mode, rate, "loadtest before", path).await);
            }
            println!("{}", rows[rows.len() - 1].row());
        }
    }
    println!(
        "\n| generator | gateway | offered RPS | achieved | p50 | p99 | CPU (cores) | CPU per request | send delay p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{}", r.row());
    }
}
