//! The whole per-request auth decision per mode: in-process with warm caches, and one request over a
//! loopback keep-alive connection against a running gateway + API server stand-in.

mod support;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatebench::gateway::auth::mtls::identity_from_cert;
use gatebench::gateway::auth::{AuthPipeline, Identity, RequestCredentials, build_pipeline};
use gatebench::gateway::metrics::Metrics;
use gatebench::gateway::server::kube_api;
use gatebench::gateway::{AuthMode, Config, Gateway};
use gatebench::promtext::Scrape;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use support::loopback::{KeepAlive, tls_client_config};
use support::standin::{self, CLIENT_ORG, Fixture};
use tokio::net::TcpListener;

const SIGNAL_PATH: &str = "/api/v1/signals/prometheus";

/// API calls the gateway has made so far, from its own metrics.
fn api_calls(metrics: &Metrics) -> f64 {
    Scrape::parse(&metrics.render())
        .expect("gateway metrics parse")
        .sum("gatebench_apiserver_requests_total", &[])
}

fn gateway_config(mode: AuthMode, fixture: &Fixture) -> Config {
    let kube = mode.needs_kube().then(|| fixture.gateway_kube.clone());
    let mut config = Config::new(mode, kube);
    config.sar =
        gatebench::gateway::SarAttributes::gateway_default(&fixture.rbac.gateway_namespace);
    config
}

/// What each mode's caller presents: the load token, or the verified certificate's identity.
fn credentials(mode: AuthMode, fixture: &Fixture) -> RequestCredentials {
    match mode {
        AuthMode::None => RequestCredentials::default(),
        AuthMode::Mtls => RequestCredentials {
            client_cert: Some(Identity {
                username: "gatebench-client-0".into(),
                groups: vec![CLIENT_ORG.into()],
                ..Default::default()
            }),
            ..Default::default()
        },
        _ => RequestCredentials {
            bearer: Some(fixture.load_token.clone()),
            ..Default::default()
        },
    }
}

const IN_PROCESS_MODES: [AuthMode; 5] = [
    AuthMode::None,
    AuthMode::Cached,
    AuthMode::Jwks,
    AuthMode::Mtls,
    AuthMode::Tokenreview,
];

/// Warm-cache modes must make no API call while measured; `tokenreview` makes two per decision.
fn in_process(c: &mut Criterion, runtime: &tokio::runtime::Runtime, fixture: &Fixture) {
    let mut group = c.benchmark_group("auth_path/in_process");
    group.throughput(Throughput::Elements(1));
    for mode in IN_PROCESS_MODES {
        let config = gateway_config(mode, fixture);
        let metrics = Arc::new(Metrics::new());
        let pipeline: AuthPipeline = runtime.block_on(async {
            let kube = kube_api(&config, metrics.clone()).expect("kube client");
            build_pipeline(&config, kube, metrics.clone())
                .await
                .expect("pipeline")
        });
        let creds = credentials(mode, fixture);
        runtime
            .block_on(pipeline.decide(&creds))
            .unwrap_or_else(|e| panic!("{}: warming decision refused: {e}", mode.as_str()));
        let calls_before = api_calls(&metrics);
        let decisions = AtomicU64::new(0);
        group.bench_function(BenchmarkId::new("decide", mode.as_str()), |b| {
            b.to_async(runtime).iter(|| async {
                decisions.fetch_add(1, Ordering::Relaxed);
                pipeline
                    .decide(black_box(&creds))
                    .await
                    .expect("decision allowed")
            })
        });
        let calls = api_calls(&metrics) - calls_before;
        let decisions = decisions.load(Ordering::Relaxed) as f64;
        if mode == AuthMode::Tokenreview {
            assert_eq!(
                calls,
                2.0 * decisions,
                "tokenreview: TokenReview + SAR per decision"
            );
        } else {
            assert_eq!(
                calls,
                0.0,
                "{}: warm decisions called the API",
                mode.as_str()
            );
        }
    }
    group.finish();
}

/// Per-connection (not per-request) work of mtls mode: the identity out of the client certificate.
fn cert_identity(c: &mut Criterion, pki_dir: &Path) {
    let der = CertificateDer::from_pem_file(pki_dir.join("client-0.pem")).expect("client cert");
    let mut group = c.benchmark_group("auth_path/per_connection");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mtls_identity_from_cert", |b| {
        b.iter(|| identity_from_cert(black_box(&der)).expect("identity"))
    });
    group.finish();
}

/// An AlertManager v4 webhook whose `instance` label makes every body a new signal (201).
fn alert_body(n: u64) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"HighLatency\"}",
            "status": "firing",
            "receiver": "gateway",
            "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": {"alertname": "HighLatency"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [{
                "status": "firing",
                "labels": {"alertname": "HighLatency", "instance": format!("bench-{n}")},
                "annotations": {"summary": "p99 above SLO"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph"
            }]
        })
        .to_string(),
    )
}

struct LoopbackCase {
    name: &'static str,
    mode: AuthMode,
    tls: bool,
}

const LOOPBACK_CASES: [LoopbackCase; 6] = [
    LoopbackCase {
        name: "none",
        mode: AuthMode::None,
        tls: false,
    },
    LoopbackCase {
        name: "cached",
        mode: AuthMode::Cached,
        tls: false,
    },
    LoopbackCase {
        name: "cached_tls",
        mode: AuthMode::Cached,
        tls: true,
    },
    LoopbackCase {
        name: "jwks",
        mode: AuthMode::Jwks,
        tls: false,
    },
    LoopbackCase {
        name: "mtls",
        mode: AuthMode::Mtls,
        tls: true,
    },
    LoopbackCase {
        name: "tokenreview",
        mode: AuthMode::Tokenreview,
        tls: false,
    },
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One POST per iteration over a connection opened (and TLS-handshaken) before measuring.
fn loopback(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    fixture: &Fixture,
    pki_dir: &Path,
) {
    let mut group = c.benchmark_group("auth_path/loopback_request");
    group.throughput(Throughput::Elements(1));
    let next_alert = AtomicU64::new(0);
    for case in LOOPBACK_CASES {
        let mut config = gateway_config(case.mode, fixture);
        if case.tls {
            config.tls_cert = Some(pki_dir.join("server.pem"));
            config.tls_key = Some(pki_dir.join("server-key.pem"));
            if case.mode == AuthMode::Mtls {
                config.client_ca = Some(pki_dir.join("ca.pem"));
            }
        }
        let ca_pem = read(&pki_dir.join("ca.pem"));
        let client_cert = (
            read(&pki_dir.join("client-0.pem")),
            read(&pki_dir.join("client-0-key.pem")),
        );
        let (gateway, connection) = runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let gateway = Gateway::start(config, listener, None)
                .await
                .expect("gateway starts");
            let connection = if case.tls {
                let cert = (case.mode == AuthMode::Mtls)
                    .then_some((client_cert.0.as_str(), client_cert.1.as_str()));
                KeepAlive::tls(gateway.url(), tls_client_config(&ca_pem, cert)).await
            } else {
                KeepAlive::plain(gateway.url()).await
            };
            (gateway, tokio::sync::Mutex::new(connection))
        });
        let bearer = credentials(case.mode, fixture).bearer;
        let send = || async {
            let body = alert_body(next_alert.fetch_add(1, Ordering::Relaxed));
            let (status, _) = connection
                .lock()
                .await
                .post_json(SIGNAL_PATH, bearer.as_deref(), body)
                .await;
            assert_eq!(
                status,
                http::StatusCode::CREATED,
                "{}: signal not accepted",
                case.name
            );
        };
        runtime.block_on(send());
        let calls_before = api_calls(gateway.metrics());
        group.bench_function(BenchmarkId::new("post_signal", case.name), |b| {
            b.to_async(runtime).iter(send)
        });
        if case.mode != AuthMode::Tokenreview {
            assert_eq!(
                api_calls(gateway.metrics()),
                calls_before,
                "{}: warm requests called the API",
                case.name
            );
        }
        runtime.block_on(async move {
            drop(connection);
            gateway.shutdown().await;
        });
    }
    group.finish();
}

fn auth_path(c: &mut Criterion) {
    let runtime = support::multi_thread_runtime();
    let fixture = runtime.block_on(standin::start());
    let pki_dir = tempfile::tempdir().expect("temp dir");
    gatebench::pki::generate(&gatebench::pki::Args {
        out: pki_dir.path().to_path_buf(),
        clients: 1,
        client_cn_prefix: "gatebench-client-".into(),
        client_org: CLIENT_ORG.into(),
    })
    .expect("pki");
    in_process(c, &runtime, &fixture);
    cert_identity(c, pki_dir.path());
    loopback(c, &runtime, &fixture, pki_dir.path());
    runtime.block_on(fixture.server.shutdown());
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = auth_path
}
criterion_main!(benches);
