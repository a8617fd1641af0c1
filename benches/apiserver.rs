//! The API server stand-in's TokenReview and SAR rate over loopback, no injected latency, concurrent
//! keep-alive clients: shows it is never the harness's bottleneck (goal: > 5,000 TokenReviews/s).

mod support;

use std::sync::Arc;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use gatebench::gateway::auth::Identity;
use gatebench::gateway::metrics::Metrics;
use gatebench::gateway::server::kube_api;
use gatebench::gateway::{AuthMode, Config, SarAttributes};
use support::loopback::{KeepAlive, tls_client_config};
use support::standin::{self, Fixture};
use tokio::sync::Mutex;

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 8;
const REVIEWS_PER_ITERATION: u64 = (CLIENTS * REQUESTS_PER_CLIENT) as u64;

const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const SAR_PATH: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

fn token_review_body(token: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token}
        })
        .to_string(),
    )
}

fn load_identity(fixture: &Fixture) -> Identity {
    let ns = &fixture.rbac.load_namespace;
    Identity {
        username: format!(
            "system:serviceaccount:{ns}:{}",
            standin::LOAD_SERVICE_ACCOUNT
        ),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".into(),
        ],
        ..Default::default()
    }
}

fn sar_body(fixture: &Fixture) -> Bytes {
    let spec = gatebench::gateway::auth::sar_spec(
        &load_identity(fixture),
        &SarAttributes::gateway_default(&fixture.rbac.gateway_namespace),
    );
    Bytes::from(
        serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec
        })
        .to_string(),
    )
}

/// `CLIENTS` raw HTTP/1.1 keep-alive connections over TLS, each sending `REQUESTS_PER_CLIENT`
/// POSTs per iteration in parallel; every answer must be 201 and contain `expect`.
fn raw_clients(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    fixture: &Fixture,
    name: &str,
    path: &'static str,
    body: Bytes,
    expect: &'static str,
) {
    let ca_pem = fixture
        .server
        .ca_pem()
        .expect("stand-in serves TLS")
        .to_string();
    let url = fixture.server.url().to_string();
    let connections: Vec<Arc<Mutex<KeepAlive>>> = runtime.block_on(async {
        let config = tls_client_config(&ca_pem, None);
        let mut connections = Vec::new();
        for _ in 0..CLIENTS {
            connections.push(Arc::new(Mutex::new(
                KeepAlive::tls(&url, config.clone()).await,
            )));
        }
        connections
    });
    let token: Arc<str> = fixture.gateway_token.clone().into();
    // Spawns inside the future: criterion polls it within the runtime, the warm-up call too.
    let run = || async {
        let tasks: Vec<_> = connections
            .iter()
            .map(|connection| {
                let connection = connection.clone();
                let token = token.clone();
                let body = body.clone();
                tokio::spawn(async move {
                    let mut connection = connection.lock().await;
                    for _ in 0..REQUESTS_PER_CLIENT {
                        let (status, answer) =
                            connection.post_json(path, Some(&token), body.clone()).await;
                        assert_eq!(status, http::StatusCode::CREATED, "{path}");
                        assert!(
                            std::str::from_utf8(&answer).is_ok_and(|a| a.contains(expect)),
                            "{path}: answer lacks {expect}"
                        );
                    }
                })
            })
            .collect();
        for result in join_all(tasks).await {
            result.expect("client task");
        }
    };
    runtime.block_on(run());
    let mut group = c.benchmark_group("apiserver/loopback");
    group.throughput(Throughput::Elements(REVIEWS_PER_ITERATION));
    group.bench_function(BenchmarkId::new(name, format!("{CLIENTS}_clients")), |b| {
        b.to_async(runtime).iter(run)
    });
    group.finish();
}

/// The same TokenReviews through the gateway's own kube client (kube-rs, its connection pool).
fn kube_client_reviews(c: &mut Criterion, runtime: &tokio::runtime::Runtime, fixture: &Fixture) {
    let config = Config::new(AuthMode::Tokenreview, Some(fixture.gateway_kube.clone()));
    let kube = runtime.block_on(async {
        kube_api(&config, Arc::new(Metrics::new()))
            .expect("kube client")
            .expect("mode needs kube")
    });
    let token: Arc<str> = fixture.load_token.clone().into();
    let run = || async {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let kube = kube.clone();
                let token = token.clone();
                tokio::spawn(async move {
                    for _ in 0..REQUESTS_PER_CLIENT {
                        let status = kube.token_review(&token, &[]).await.expect("TokenReview");
                        assert_eq!(status.authenticated, Some(true));
                    }
                })
            })
            .collect();
        for result in join_all(tasks).await {
            result.expect("client task");
        }
    };
    runtime.block_on(run());
    let mut group = c.benchmark_group("apiserver/loopback");
    group.throughput(Throughput::Elements(REVIEWS_PER_ITERATION));
    group.bench_function(
        BenchmarkId::new("tokenreviews_kube_client", format!("{CLIENTS}_tasks")),
        |b| b.to_async(runtime).iter(run),
    );
    group.finish();
}

fn apiserver(c: &mut Criterion) {
    let runtime = support::multi_thread_runtime();
    let fixture = runtime.block_on(standin::start());
    raw_clients(
        c,
        &runtime,
        &fixture,
        "tokenreviews",
        TOKEN_REVIEW_PATH,
        token_review_body(&fixture.load_token),
        "\"authenticated\":true",
    );
    raw_clients(
        c,
        &runtime,
        &fixture,
        "subjectaccessreviews",
        SAR_PATH,
        sar_body(&fixture),
        "\"allowed\":true",
    );
    kube_client_reviews(c, &runtime, &fixture);
    runtime.block_on(fixture.server.shutdown());
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = apiserver
}
criterion_main!(benches);
