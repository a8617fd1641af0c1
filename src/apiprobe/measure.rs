//! Running the probe: a throwaway namespace and ServiceAccount, then timed TokenReview+SAR pairs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};

use super::{Burst, Error, LatencyUs, Probe, ProbeConfig, Result};
use crate::gateway::kube_client::{ClientSettings, KubeApi};
use crate::gateway::metrics::Metrics;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Summarises microsecond samples.
pub fn summarize(histogram: &Histogram<u64>) -> LatencyUs {
    LatencyUs {
        count: histogram.len(),
        p50: histogram.value_at_quantile(0.50),
        p95: histogram.value_at_quantile(0.95),
        p99: histogram.value_at_quantile(0.99),
        max: histogram.max(),
        mean: histogram.mean(),
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("static bounds are valid")
}

/// The pair a gateway makes per uncached request, against `api`; returns the TokenReview's share.
async fn pair(api: &KubeApi, token: &str, namespace: &str) -> Result<Duration> {
    let started = Instant::now();
    let review = api
        .token_review(token, &[])
        .await
        .map_err(|e| Error::Call(e.to_string()))?;
    let tokenreview = started.elapsed();
    let user = review
        .user
        .filter(|_| review.authenticated == Some(true))
        .ok_or_else(|| Error::NotAuthenticated(review.error.clone().unwrap_or_default()))?;
    let spec = SubjectAccessReviewSpec {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        resource_attributes: Some(ResourceAttributes {
            namespace: Some(namespace.to_string()),
            verb: Some("create".into()),
            resource: Some("services".into()),
            name: Some("gateway-service".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    api.subject_access_review(&spec)
        .await
        .map_err(|e| Error::Call(e.to_string()))?;
    Ok(tokenreview)
}

fn kube_api(client: &kube::Client, qps: Option<f64>, burst: u32) -> KubeApi {
    let settings = ClientSettings {
        timeout: CALL_TIMEOUT,
        retries: 0,
        qps,
        burst,
    };
    KubeApi::new(client.clone(), settings, Arc::new(Metrics::new()))
}

/// Measures the server behind `client` (an admin client) and names it `server` in the result.
pub async fn run(client: &kube::Client, server: &str, config: &ProbeConfig) -> Result<Probe> {
    let namespace = format!(
        "gatebench-probe-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let setup = |e: crate::kubesetup::Error| Error::Setup(e.to_string());
    crate::kubesetup::ensure_namespace(client, &namespace)
        .await
        .map_err(setup)?;
    let result = measure(client, server, config, &namespace).await;
    // Best effort: a leftover namespace is harmless, a masked measurement error is not.
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&namespace, &DeleteParams::default())
        .await;
    result
}

async fn measure(
    client: &kube::Client,
    server: &str,
    config: &ProbeConfig,
    namespace: &str,
) -> Result<Probe> {
    let setup = |e: crate::kubesetup::Error| Error::Setup(e.to_string());
    crate::kubesetup::ensure_service_account(client, namespace, "probe")
        .await
        .map_err(setup)?;
    let token = crate::kubesetup::request_token(client, namespace, "probe", &[], 3600)
        .await
        .map_err(setup)?;
    let unlimited = kube_api(client, None, 0);
    // Warm the connection and the server's caches so the first sample is not a TLS handshake.
    pair(&unlimited, &token, namespace).await?;
    let (mut pairs, mut reviews) = (histogram(), histogram());
    for _ in 0..config.sequential {
        let started = Instant::now();
        let tokenreview = pair(&unlimited, &token, namespace).await?;
        let _ = pairs.record(started.elapsed().as_micros().max(1) as u64);
        let _ = reviews.record(tokenreview.as_micros().max(1) as u64);
    }
    let sequential_tokenreview_us = summarize(&reviews);
    let mut bursts = Vec::new();
    for &(qps, burst) in &config.client_limits {
        bursts.push(run_burst(client, &token, namespace, qps, burst, config.concurrency).await);
    }
    Ok(Probe {
        server: server.to_string(),
        sequential_pair_us: summarize(&pairs),
        sequential_tokenreviews_per_sec: if sequential_tokenreview_us.mean > 0.0 {
            1e6 / sequential_tokenreview_us.mean
        } else {
            0.0
        },
        sequential_tokenreview_us,
        bursts,
    })
}

async fn run_burst(
    client: &kube::Client,
    token: &str,
    namespace: &str,
    qps: f64,
    burst: u32,
    concurrency: u32,
) -> Burst {
    // A fresh limiter per burst, full at the start, as a gateway that was idle before the burst.
    let api = kube_api(client, Some(qps), burst);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (api, token, namespace) = (api.clone(), token.to_string(), namespace.to_string());
            tokio::spawn(async move {
                pair(&api, &token, &namespace)
                    .await
                    .map(|_| started.elapsed())
            })
        })
        .collect();
    let mut latencies = histogram();
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(elapsed)) => {
                let _ = latencies.record(elapsed.as_micros().max(1) as u64);
            }
            _ => errors += 1,
        }
    }
    let wall = started.elapsed();
    Burst {
        client_qps: qps,
        client_burst: burst,
        concurrency,
        latency_us: summarize(&latencies),
        wall_ms: wall.as_millis() as u64,
        pairs_per_sec: f64::from(concurrency - errors as u32) / wall.as_secs_f64().max(1e-9),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_come_from_the_histogram() {
        let mut h = histogram();
        for us in 1..=1000 {
            h.record(us).unwrap();
        }
        let s = summarize(&h);
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50, 500);
        assert_eq!(s.p99, 990);
        assert_eq!(s.max, 1000);
        assert!((s.mean - 500.5).abs() < 1.0, "{}", s.mean);
    }
}
