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
