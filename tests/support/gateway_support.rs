//! Shared helpers of the gateway integration tests: start a gateway in-process, payloads, scrapes.
#![allow(dead_code)]

use std::time::Duration;

use gatebench::gateway::{AuthMode, Config, Gateway, RunningGateway};
use gatebench::promtext::Scrape;
use tokio::net::TcpListener;

pub const PROM_PATH: &str = "/api/v1/signals/prometheus";
pub const EVENT_PATH: &str = "/api/v1/signals/kubernetes-event";

/// Starts a gateway on loopback ephemeral ports after `configure` adjusts the defaults.
pub async fn start(
    auth: AuthMode,
    kube: Option<kube::Config>,
    separate_metrics: bool,
    configure: impl FnOnce(&mut Config),
) -> RunningGateway {
    gatebench::tls::install_crypto_provider();
    let mut config = Config::new(auth, kube);
    configure(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_listener = if separate_metrics {
        Some(TcpListener::bind("127.0.0.1:0").await.unwrap())
    } else {
        None
    };
    Gateway::start(config, listener, metrics_listener)
        .await
        .expect("gateway starts")
}

/// An AlertManager v4 webhook with one alert; `key` makes its label set (and fingerprint) unique.
pub fn alert_body(key: &str) -> String {
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
            "labels": {"alertname": "HighLatency", "instance": key},
            "annotations": {"summary": "p99 above SLO"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph"
        }]
    })
    .to_string()
}

pub fn event_body(event_type: &str, name: &str) -> String {
    serde_json::json!({
        "type": event_type,
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": name, "uid": "u-1"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:01:00Z",
        "count": 3,
        "source": {"component": "kubelet"}
    })
    .to_string()
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn scrape(client: &reqwest::Client, base_url: &str) -> Scrape {
    let text = client
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(&text).unwrap()
}

/// POSTs a prometheus webhook with an optional bearer token; returns (status, body).
pub async fn post_alert(
    client: &reqwest::Client,
    base_url: &str,
    token: Option<&str>,
    key: &str,
) -> (u16, String) {
    let mut request = client
        .post(format!("{base_url}{PROM_PATH}"))
        .header("content-type", "application/json")
        .body(alert_body(key));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A dev PKI in a temp dir (CA, server cert, `clients` client certs with O = `org`).
pub fn pki(clients: u32, org: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    gatebench::pki::generate(&gatebench::pki::Args {
        out: dir.path().to_path_buf(),
        clients,
        client_cn_prefix: "client-".into(),
        client_org: org.into(),
    })
    .unwrap();
    dir
}

/// Points `config` at the PKI for TLS (+ client CA).
pub fn use_pki(config: &mut Config, dir: &std::path::Path) {
    config.tls_cert = Some(dir.join("server.pem"));
    config.tls_key = Some(dir.join("server-key.pem"));
    config.client_ca = Some(dir.join("ca.pem"));
}

/// A fresh client (no pooled connections, so each request does a new handshake) trusting
/// `ca_dir`'s CA, presenting `client-<i>` of `cert_dir` when given.
pub fn tls_client(
    ca_dir: &std::path::Path,
    cert: Option<(&std::path::Path, u32)>,
) -> reqwest::Client {
    gatebench::tls::install_crypto_provider();
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(ca_dir.join("ca.pem")).unwrap()).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20));
    if let Some((dir, i)) = cert {
        let mut pem = std::fs::read(dir.join(format!("client-{i}.pem"))).unwrap();
        pem.extend(std::fs::read(dir.join(format!("client-{i}-key.pem"))).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// A kube config whose API server refuses connections: start-up of cert modes never calls it,
/// and every SAR fails closed.
pub fn dead_kube() -> kube::Config {
    kube::Config::new("http://127.0.0.1:1".parse().unwrap())
}
