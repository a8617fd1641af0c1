//! The load engine against a local hyper server that counts connections: a target's kept-alive
//! connections persist across phases (a paired run alternates many short slots), every request
//! is logged once at its intended offset, and `--new-connection` dials per request.

use bytes::Bytes;
use gatebench::loadtest::client::ClientOptions;
use gatebench::loadtest::credentials::Credential;
use gatebench::loadtest::engine::{PhasePlan, RequestSpec, Target, run_phase};
use gatebench::loadtest::pacing::fixed_rate_offsets;
use goose::config::GooseConfiguration;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    requests: AtomicU64,
    bearer: AtomicU64,
}

async fn handle(
    counts: Arc<Counts>,
    req: Request<Incoming>,
) -> hyper::Result<Response<Full<Bytes>>> {
    if req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer t-1")
    {
        counts.bearer.fetch_add(1, Ordering::SeqCst);
    }
    let ok = req.uri().path() == "/api/v1/signals/prometheus"
        && req.headers()["content-type"] == "application/json";
    let body = req.into_body().collect().await?.to_bytes();
    counts.requests.fetch_add(1, Ordering::SeqCst);
    let status = if ok && body.as_ref() == b"{}" {
        201
    } else {
        400
    };
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

async fn server() -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let counts = shared.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(counts.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, counts)
}

fn target(url: &str, new_connection: bool) -> Target {
    let mut goose = GooseConfiguration::default();
    goose.quiet = 1;
    goose.no_print_metrics = true;
    let creds = vec![
        Credential::Bearer("t-0".into()),
        Credential::Bearer("t-1".into()),
    ];
    let options = ClientOptions {
        new_connection,
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Target::new(goose, url, Arc::new(creds), options).unwrap()
}

fn plan(name: &str, rate: f64, users: usize) -> PhasePlan {
    PhasePlan {
        name: name.into(),
        offsets: fixed_rate_offsets(rate, Duration::from_millis(300), users),
        users,
        request: Arc::new(|k| RequestSpec {
            identity: (k % 2) as usize,
            body: Bytes::from_static(b"{}"),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_alive_connections_persist_across_phases() {
    let (url, counts) = server().await;
    let target = target(&url, false);
    let mut total = 0;
    for slot in 0..4 {
        let out = run_phase(&target, plan(&format!("slot-{slot}"), 200.0, 4))
            .await
            .unwrap();
        let records = &out.recording.records;
        assert_eq!(records.len(), 60, "slot {slot}");
        assert!(
            records.iter().all(|r| r.outcome.is_success()),
            "{records:?}"
        );
        // Logged in intended order, 5 ms apart at 200 RPS, whichever user sent them.
        for (k, r) in records.iter().enumerate() {
            assert_eq!(r.intended_offset_us, k as u64 * 5_000);
            assert_eq!(r.identity, k % 2);
        }
        total += records.len() as u64;
    }
    assert_eq!(counts.requests.load(Ordering::SeqCst), total);
    assert_eq!(counts.bearer.load(Ordering::SeqCst), total / 2);
    assert_eq!(
        counts.connections.load(Ordering::SeqCst),
        4,
        "one connection per user, dialed once for all four phases"
    );
    assert_eq!(target.idle_connections(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connection_dials_for_every_request() {
    let (url, counts) = server().await;
    let target = target(&url, true);
    let out = run_phase(&target, plan("fresh", 100.0, 2)).await.unwrap();
    assert_eq!(out.recording.records.len(), 30);
    assert!(out.recording.records.iter().all(|r| r.outcome.is_success()));
    assert_eq!(counts.connections.load(Ordering::SeqCst), 30);
    assert_eq!(target.idle_connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_recorded_not_fatal() {
    // A port nothing listens on: every request is a recorded "connect" error.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = run_phase(&target(&url, false), plan("refused", 100.0, 2))
        .await
        .unwrap();
    assert_eq!(out.recording.records.len(), 30);
    assert_eq!(out.recording.errors().get("connect"), Some(&30));
}
