//! Soak (not in CI): the real gateway binary under `cached` at 1,000 RPS for 10 minutes with
//! identity churn, an API outage every 2 minutes and hostile clients; samples the gateway's RSS and
//! open file descriptors every second and fails when either keeps growing or a legitimate request
//! is lost. Run: `scripts/soak.sh` (SOAK_SECS, SOAK_RPS to change the defaults).

use crate::gateway_cluster::{Cluster, LOAD_NS};

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{RwLock, Semaphore};

const POOL: usize = 16;
const CHURN_EVERY: Duration = Duration::from_secs(10);
const OUTAGE_EVERY: Duration = Duration::from_secs(120);
const OUTAGE_FOR: Duration = Duration::from_secs(10);
/// After an outage ends, reviews that were in flight may still answer 503 for this long.
const OUTAGE_GRACE: Duration = Duration::from_secs(3);
const WARMUP: Duration = Duration::from_secs(60);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    fail_closed: AtomicU64,
    lost: AtomicU64,
    skipped: AtomicU64,
}

/// Outage windows as offsets from the start, so a 503 can be judged expected or lost.
struct Clock {
    start: Instant,
}

impl Clock {
    /// Time since the latest outage began (the first at OUTAGE_EVERY), `None` before it.
    fn since_outage(&self, at: Instant) -> Option<Duration> {
        let after_first = at.duration_since(self.start).checked_sub(OUTAGE_EVERY)?;
        Some(Duration::from_nanos(
            (after_first.as_nanos() % OUTAGE_EVERY.as_nanos()) as u64,
        ))
    }

    /// Whether the API server is down at `at`.
    fn outage_active(&self, at: Instant) -> bool {
        self.since_outage(at).is_some_and(|d| d < OUTAGE_FOR)
    }

    /// Whether a 503 sent at `at` is the expected fail-closed answer (outage plus grace).
    fn in_outage(&self, at: Instant) -> bool {
        self.since_outage(at)
            .is_some_and(|d| d < OUTAGE_FOR + OUTAGE_GRACE)
    }
}

fn start_gateway(kubeconfig: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["gateway", "--auth", "cached", "--listen", "127.0.0.1:0"])
        .args(["--token-cache-ttl", "30s", "--sar-allowed-ttl", "30s"])
        .args(["--header-read-timeout", "2s", "--body-read-timeout", "2s"])
        .args(["--apiserver-timeout", "2s", "--max-connections", "1024"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap();
    (child, listening["url"].as_str().unwrap().to_string())
}

/// (RSS in KiB, open fds) of `pid`.
fn sample(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    (rss_kib, fds)
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// Stalled connections of every kind, reopened as the gateway closes them.
async fn hostile(addr: String, stop: Arc<AtomicBool>, kind: usize) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let _ = match kind % 3 {
            0 => Ok(()),
            1 => s.write_all(b"PRI * HTTP/2.0\r\n").await,
            _ => {
                let head = "POST /api/v1/signals/prometheus HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
                s.write_all(head.as_bytes()).await
            }
        };
        let mut buf = [0u8; 512];
        // Trickle a byte a second until the gateway hangs up.
        loop {
            use tokio::io::AsyncReadExt;
            match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => {}
                Err(_) => {
                    if s.write_all(b" ").await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: 10 minutes, run scripts/soak.sh"]
async fn soak_cached_gateway_holds_memory_fds_and_every_request() {
    let secs = env_or("SOAK_SECS", 600);
    let rps = env_or("SOAK_RPS", 1000);
    let cluster = Arc::new(Cluster::start().await);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        serde_yaml_ng::to_string(&cluster.gateway_kubeconfig().await).unwrap(),
    )
    .unwrap();
    let (mut child, url) = start_gateway(&kubeconfig);
    let pid = child.id();
    let addr = url.trim_start_matches("http://").to_string();
    let mut tokens = VecDeque::new();
    for i in 0..POOL {
        tokens.push_back(cluster.token(LOAD_NS, &format!("soak-{i}")).await);
    }
    let tokens = Arc::new(RwLock::new(tokens));
    let clock = Arc::new(Clock {
        start: Instant::now(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let hostiles: Vec<_> = (0..30)
        .map(|k| tokio::spawn(hostile(addr.clone(), stop.clone(), k)))
        .collect();

    // Churn: a new identity replaces the oldest every CHURN_EVERY; outages on schedule.
    let background = {
        let (cluster, tokens, stop, clock) =
            (cluster.clone(), tokens.clone(), stop.clone(), clock.clone());
        tokio::spawn(async move {
            let mut next = POOL;
            let mut outage_on = false;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let now = Instant::now();
                let in_window = clock.outage_active(now);
                if in_window != outage_on {
                    outage_on = in_window;
                    let faults = if in_window {
                        serde_json::json!({"outage": {"kind": "unavailable"}})
                    } else {
                        serde_json::json!({})
                    };
                    cluster.set_faults(faults);
                }
                let due = now.duration_since(clock.start).as_secs() / CHURN_EVERY.as_secs();
                if !outage_on && due as usize + POOL > next {
                    let token = cluster.token(LOAD_NS, &format!("soak-{next}")).await;
                    let mut pool = tokens.write().await;
                    pool.pop_front();
                    pool.push_back(token);
                    next += 1;
                }
            }
            cluster.set_faults(serde_json::json!({}));
        })
    };

    // Samples every second.
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut series = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                series.push(sample(pid));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            series
        })
    };

    // Fixed-rate legitimate load on keep-alive connections; a request that cannot start because
    // 512 are already outstanding is counted as skipped (generator limit), not as sent.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let outstanding = Arc::new(Semaphore::new(512));
    let interval = Duration::from_secs_f64(1.0 / rps as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = clock.start + Duration::from_secs(secs);
    let mut n: u64 = 0;
    while Instant::now() < end {
        ticker.tick().await;
        n += 1;
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            tally.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let token = {
            let pool = tokens.read().await;
            pool[(n as usize) % pool.len()].clone()
        };
        let (client, url, tally, clock) =
            (client.clone(), url.clone(), tally.clone(), clock.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let sent = Instant::now();
            let result = client
                .post(format!("{url}/api/v1/signals/prometheus"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"version":"4","groupKey":"g","status":"firing","receiver":"r","alerts":[{{"status":"firing","labels":{{"alertname":"Soak","n":"{}"}}}}]}}"#,
                    n % 5000
                ))
                .send()
                .await;
            let counter = match result.map(|r| r.status().as_u16()) {
                Ok(201 | 202) => &tally.ok,
                Ok(503) if clock.in_outage(sent) => &tally.fail_closed,
                _ => &tally.lost,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), outstanding.acquire_many(512)).await;
    stop.store(true, Ordering::Relaxed);
    let series = sampler.await.unwrap();
    background.await.unwrap();
    for h in hostiles {
        h.abort();
    }
    gatebench::fsutil::terminate(pid);
    let _ = child.wait();

    let per_min = 60.min(series.len() / 3).max(1);
    let warm = (WARMUP.as_secs() as usize).min(series.len().saturating_sub(2 * per_min));
    let early: Vec<_> = series[warm..warm + per_min].to_vec();
    let late: Vec<_> = series[series.len() - per_min..].to_vec();
    let (rss_early, rss_late) = (
        median(early.iter().map(|s| s.0).collect()),
        median(late.iter().map(|s| s.0).collect()),
    );
    let (fd_early, fd_late) = (
        median(early.iter().map(|s| s.1).collect()),
        median(late.iter().map(|s| s.1).collect()),
    );
    let rss_max = series.iter().map(|s| s.0).max().unwrap_or(0);
    let fd_max = series.iter().map(|s| s.1).max().unwrap_or(0);
    let summary = serde_json::json!({
        "secs": secs, "offered_rps": rps,
        "ok": tally.ok.load(Ordering::Relaxed),
        "fail_closed_during_outages": tally.fail_closed.load(Ordering::Relaxed),
        "lost": tally.lost.load(Ordering::Relaxed),
        "skipped_by_generator": tally.skipped.load(Ordering::Relaxed),
        "rss_kib": {"after_warmup_median": rss_early, "last_minute_median": rss_late, "max": rss_max},
        "open_fds": {"after_warmup_median": fd_early, "last_minute_median": fd_late, "max": fd_max},
        "samples": series.len(),
    });
    println!("soak summary: {summary}");
    if let Ok(out) = std::env::var("SOAK_OUT") {
        let rows: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(t, (rss, fds))| format!("{t},{rss},{fds}"))
            .collect();
        std::fs::write(
            &out,
            format!("t_secs,rss_kib,open_fds\n{}\n", rows.join("\n")),
        )
        .unwrap();
    }
    assert_eq!(
        tally.lost.load(Ordering::Relaxed),
        0,
        "legitimate requests lost: {summary}"
    );
    // Growth, not level: caches fill during warm-up; after that memory and fds must level off.
    assert!(
        rss_late <= rss_early + rss_early / 5 + 8 * 1024,
        "RSS kept growing: {summary}"
    );
    assert!(fd_late <= fd_early + 64, "open fds kept growing: {summary}");
}
