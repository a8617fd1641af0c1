//! Proves the loadtest's latency measurement against a local HTTP server that holds each request
//! for a known time and measures how long it actually held it: the recorded p50 matches what the
//! server held, and a server stall at a fixed rate shows in the p99 (coordinated omission
//! corrected) while the closed-loop service time hides it.

use bytes::Bytes;
use gatebench::results::LoadSummary;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// The runs compete for the same 2 cores; run them one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Injected server delay. 5 ms rather than 2: the loopback + HTTP round trip alone costs
/// 0.1-0.3 ms on this shared 2-core machine when other builds run, which 10% of 2 ms cannot
/// absorb; 10% of 5 ms can, and still catches a pacer that adds a timer tick (1 ms).
const DELAY: Duration = Duration::from_millis(5);

struct Server {
    requests: AtomicU64,
    /// How long the handler held each request, measured in the server (microseconds).
    held_us: Mutex<Vec<u64>>,
    stall_at_request: u64,
    stall: Duration,
    stall_until: Mutex<Option<Instant>>,
}

async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let arrived = Instant::now();
    let body = req.into_body().collect().await?.to_bytes();
    let n = server.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let stall_until = {
        let mut guard = server.stall_until.lock().unwrap();
        if n == server.stall_at_request {
            *guard = Some(Instant::now() + server.stall);
        }
        *guard
    };
    if let Some(until) = stall_until.filter(|until| Instant::now() < *until) {
        tokio::time::sleep_until(until.into()).await;
    }
    // A tokio timer rounds up to 1 ms and a thread sleep overshoots by tens of microseconds:
    // sleep most of the delay, then spin to the exact instant.
    tokio::task::spawn_blocking(move || {
        let deadline = arrived.max(stall_until.unwrap_or(arrived)) + DELAY;
        let now = Instant::now();
        if deadline > now + Duration::from_micros(200) {
            std::thread::sleep(deadline - now - Duration::from_micros(200));
        }
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
    })
    .await
    .unwrap();
    let status = if body.is_empty() { 400 } else { 201 };
    server
        .held_us
        .lock()
        .unwrap()
        .push(arrived.elapsed().as_micros() as u64);
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

async fn start_server(stall_at_request: u64, stall: Duration) -> (SocketAddr, Arc<Server>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server {
        requests: AtomicU64::new(0),
        held_us: Mutex::new(Vec::new()),
        stall_at_request,
        stall,
        stall_until: Mutex::new(None),
    });
    let shared = server.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let server = shared.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(server.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, server)
}

async fn run_loadtest(addr: SocketAddr, extra: &[&str]) -> LoadSummary {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let hlog = dir.path().join("latency.hlog");
    let report = dir.path().join("goose.json");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"));
    cmd.args(["--scenario", "steady", "--host"])
        .arg(format!("http://{addr}"))
        .arg("--summary-out")
        .arg(&summary)
        .arg("--histogram-out")
        .arg(&hlog)
        .arg("--report-file")
        .arg(&report)
        .args(["--identities", "1", "--quiet"])
        .args(extra)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("loadtest finished within 60 s")
        .unwrap();
    assert!(
        out.status.success(),
        "loadtest failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let s: LoadSummary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert!(
        std::fs::metadata(&hlog).unwrap().len() > 0,
        "interval log written"
    );
    assert!(
        report.exists(),
        "goose's own JSON report written beside the summary"
    );
    s
}

/// Median of what the server held.
fn held_p50_us(server: &Server) -> u64 {
    let mut held = server.held_us.lock().unwrap().clone();
    held.sort_unstable();
    held[held.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p50_matches_what_the_server_held() {
    let _serial = SERIAL.lock().await;
    // This machine is shared with other builds, whose bursts add scheduling delay to a run.
    // A systematic error (a timer tick, a skipped schedule) shows in every attempt; a noisy
    // neighbour rarely in three.
    let mut seen = Vec::new();
    for _attempt in 0..3 {
        let (addr, server) = start_server(u64::MAX, Duration::ZERO).await;
        let s = run_loadtest(addr, &["--rate", "200", "--duration", "3", "--users", "4"]).await;
        assert_eq!(s.latency_us.count, 600, "{s:?}");
        assert_eq!(server.requests.load(Ordering::SeqCst), 600);
        assert_eq!(s.status_counts.get("201"), Some(&600));
        assert!(
            (s.achieved_rps - 200.0).abs() < 20.0,
            "achieved {}",
            s.achieved_rps
        );
        assert!(s.method.contains("intended send time"));
        assert_eq!(s.timeseries.len(), 3);
        let held_us = held_p50_us(&server);
        assert!(
            held_us >= DELAY.as_micros() as u64,
            "the server held less than its delay"
        );
        assert!(
            s.latency_us.p50 >= held_us,
            "p50 {} us below what the server held ({held_us} us): {s:?}",
            s.latency_us.p50
        );
        println!(
            "p50 {} us for {held_us} us held by the server (send delay p99 {} us)",
            s.latency_us.p50, s.generator.send_delay_p99_us
        );
        // What the generator adds on top of the round trip it saw (late sends, a timer tick)
        // is judged against its own service time; the round trip itself (a debug build's
        // client and loopback) may add up to 1 ms over what the server held.
        let service_p50 = s.service_time_us.as_ref().map_or(held_us, |l| l.p50);
        if s.latency_us.p50 <= held_us.max(service_p50) * 11 / 10 && service_p50 <= held_us + 1_000
        {
            return;
        }
        seen.push((s.latency_us.p50, held_us, s.service_time_us, s.generator));
    }
    panic!(
        "p50 never within 10% of the round trip (and that within 1 ms of what the server held): {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_shows_in_p99() {
    let _serial = SERIAL.lock().await;
    let stall = Duration::from_millis(500);
    // Request 200 arrives about 1 s into a 4 s run at 200 RPS.
    let (addr, _server) = start_server(200, stall).await;
    let s = run_loadtest(addr, &["--rate", "200", "--duration", "4", "--users", "4"]).await;
    assert_eq!(s.latency_us.count, 800);
    let stall_us = stall.as_micros() as u64;
    println!(
        "stall {stall_us} us: p99 {} us, service-time p99 {:?}",
        s.latency_us.p99,
        s.service_time_us.as_ref().map(|l| l.p99)
    );
    assert!(
        s.latency_us.p99 >= stall_us * 8 / 10,
        "p99 {} us hides the {stall_us} us stall",
        s.latency_us.p99
    );
    // Only the 4 in-flight requests saw the stall from the sender's side: a closed-loop
    // measurement (send to completion) would report a p99 near the plain delay.
    let service = s.service_time_us.expect("service time reported");
    assert!(
        service.p99 < stall_us / 2,
        "service-time p99 {} us should not show the stall",
        service.p99
    );
    assert!(s.latency_us.max >= stall_us * 9 / 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_credentials_fail_the_run_instead_of_hanging() {
    let _serial = SERIAL.lock().await;
    let (addr, server) = start_server(u64::MAX, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client-0.pem"), "not a certificate").unwrap();
    std::fs::write(dir.path().join("client-0-key.pem"), "not a key").unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"));
    cmd.args(["--scenario", "steady", "--host"])
        .arg(format!("http://{addr}"))
        .arg("--summary-out")
        .arg(dir.path().join("s.json"))
        .arg("--pki-dir")
        .arg(dir.path())
        .args([
            "--identities",
            "1",
            "--rate",
            "50",
            "--duration",
            "1",
            "--quiet",
        ])
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("loadtest gave up within 60 s")
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("building client"), "{stderr}");
    assert!(
        !dir.path().join("s.json").exists(),
        "no summary from a failed run"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}
