//! Shared helpers of the loadtest scenario tests: start the real `gatebench apiserver` and
//! `gatebench gateway` processes, set up RBAC, run `loadtest` and read its summary.
#![allow(dead_code)]

use gatebench::results::LoadSummary;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A child process killed when the test ends.
pub struct Proc {
    pub child: Child,
    pub event: serde_json::Value,
}

/// Spawns `gatebench ARGS` and waits for its one JSON `listening` line on stdout.
pub async fn spawn_gatebench(args: &[String]) -> Proc {
    spawn_gatebench_pinned(args, None).await
}

/// As `spawn_gatebench`, pinned to `cpu` (GATEBENCH_PIN_CPU) when given.
pub async fn spawn_gatebench_pinned(args: &[String], cpu: Option<usize>) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatebench"));
    if let Some(cpu) = cpu {
        cmd.env(gatebench::affinity::PIN_CPU_ENV, cpu.to_string());
    }
    let mut child = cmd
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn gatebench");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("listening line within 30 s")
        .unwrap()
        .expect("a listening line, not EOF");
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON listening line");
    assert_eq!(event["event"], "listening", "{line}");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Proc { child, event }
}

/// The API server stand-in plus the RBAC the gateway and the load identities need.
pub struct Cluster {
    pub apiserver: Proc,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Cluster {
        gatebench::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("admin.kubeconfig");
        let apiserver = spawn_gatebench(&[
            "apiserver".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--kubeconfig-out".into(),
            kubeconfig.display().to_string(),
        ])
        .await;
        let client = kube_client(&kubeconfig).await;
        gatebench::kubesetup::setup_gateway_rbac(&client, &Default::default())
            .await
            .expect("RBAC set-up");
        Cluster {
            apiserver,
            kubeconfig,
            dir,
        }
    }

    /// Starts a gateway in `auth` mode on the admin kubeconfig with `extra` flags.
    pub async fn gateway(&self, auth: &str, extra: &[&str]) -> Gateway {
        self.gateway_pinned(auth, extra, None).await
    }

    /// As `gateway`, pinned to `cpu` when given.
    pub async fn gateway_pinned(&self, auth: &str, extra: &[&str], cpu: Option<usize>) -> Gateway {
        let mut args: Vec<String> = [
            "gateway",
            "--kubeconfig",
            &self.kubeconfig.display().to_string(),
            "--auth",
            auth,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let proc = spawn_gatebench_pinned(&args, cpu).await;
        Gateway {
            url: proc.event["url"].as_str().unwrap().to_string(),
            metrics_url: proc.event["metrics_url"].as_str().unwrap().to_string(),
            pid: proc.child.id().expect("gateway running"),
            _proc: proc,
        }
    }

    pub fn pki(&self, clients: u32) -> PathBuf {
        let out = self.dir.path().join("pki");
        gatebench::pki::generate(&gatebench::pki::Args {
            out: out.clone(),
            clients,
            client_cn_prefix: "client-".into(),
            client_org: "system:serviceaccounts:gatebench-load".into(),
        })
        .unwrap();
        out
    }
}

pub struct Gateway {
    pub url: String,
    pub metrics_url: String,
    pub pid: u32,
    _proc: Proc,
}

impl Gateway {
    /// This gateway as one `--pair` of a paired run.
    pub fn pair(&self, mode: &str) -> String {
        format!(
            "{mode}={};metrics={};pid={}",
            self.url, self.metrics_url, self.pid
        )
    }
}

pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Runs `loadtest --scenario NAME --host URL` with `args` and returns its summary.
pub async fn loadtest(scenario: &str, gateway: &Gateway, args: &[&str]) -> LoadSummary {
    loadtest_pinned(scenario, gateway, args, None).await
}

/// As `loadtest`, pinned to `cpu` when given.
pub async fn loadtest_pinned(
    scenario: &str,
    gateway: &Gateway,
    args: &[&str],
    cpu: Option<usize>,
) -> LoadSummary {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadtest"));
    if let Some(cpu) = cpu {
        cmd.env(gatebench::affinity::PIN_CPU_ENV, cpu.to_string());
    }
    let out = cmd
        .args(["--scenario", scenario, "--host", &gateway.url])
        .args(["--gateway-metrics", &gateway.metrics_url, "--quiet"])
        .args(["--gateway-pid", &gateway.pid.to_string()])
        .arg("--summary-out")
        .arg(&summary)
        .arg("--histogram-out")
        .arg(dir.path().join("h.hlog"))
        .args(args)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), out)
        .await
        .expect("loadtest finished within 600 s")
        .unwrap();
    assert!(
        out.status.success(),
        "loadtest {scenario} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: LoadSummary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s.scenario, scenario);
    assert!(s.histogram_log.is_some());
    s
}

/// Asserts the fields every summary carries are present and consistent.
pub fn assert_common(s: &LoadSummary) {
    assert!(s.latency_us.count > 0, "{s:#?}");
    let counted: u64 = s.status_counts.values().sum::<u64>() + s.errors.values().sum::<u64>();
    assert_eq!(counted, s.latency_us.count, "every request counted once");
    assert!(s.latency_us.p50 <= s.latency_us.p99 && s.latency_us.p99 <= s.latency_us.max);
    assert!(!s.method.is_empty());
    assert!(!s.timeseries.is_empty());
    assert!(s.generator.cpu_cores_used >= 0.0);
    assert!(
        (0.0..=1.0).contains(&s.generator.users_busy),
        "{:?}",
        s.generator
    );
    assert_eq!(
        s.timeseries.iter().map(|t| t.requests).sum::<u64>(),
        s.latency_us.count
    );
}
