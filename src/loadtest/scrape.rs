//! Before/after scrapes of the API server's and the gateway's /metrics: API calls by resource,
//! 429s, cache hits and misses, TLS handshakes and client-side throttle wait of a window.

use crate::promtext::Scrape;
use crate::results::CacheCounts;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// Where to scrape; either side may be absent.
#[derive(Clone)]
pub struct Probe {
    pub kube: Option<kube::Client>,
    pub gateway_metrics: Option<String>,
    pub http: reqwest::Client,
}

/// Both sides at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub apiserver: Option<Scrape>,
    pub gateway: Option<Scrape>,
}

impl Probe {
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let apiserver = match &self.kube {
            Some(client) => {
                let request = http::Request::get("/metrics").body(Vec::new())?;
                let text = client
                    .request_text(request)
                    .await
                    .context("scraping the API server's /metrics")?;
                Some(Scrape::parse(&text)?)
            }
            None => None,
        };
        let gateway = match &self.gateway_metrics {
            Some(url) => {
                let url = if url.ends_with("/metrics") {
                    url.clone()
                } else {
                    format!("{}/metrics", url.trim_end_matches('/'))
                };
                let text = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .with_context(|| format!("scraping {url}"))?
                    .text()
                    .await?;
                Some(Scrape::parse(&text)?)
            }
            None => None,
        };
        Ok(Snapshot { apiserver, gateway })
    }
}

/// What changed between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    pub apiserver_calls: BTreeMap<String, u64>,
    pub apiserver_throttled: u64,
    pub token_cache: Option<CacheCounts>,
    pub sar_cache: Option<CacheCounts>,
    pub tls_handshakes: u64,
    pub client_throttle_wait_secs: f64,
    /// TokenReviews the gateway says it made (fallback when the API server is not scraped).
    pub gateway_tokenreviews: u64,
}

impl Delta {
    pub fn tokenreviews(&self) -> u64 {
        self.apiserver_calls
            .get("tokenreviews")
            .copied()
            .unwrap_or(self.gateway_tokenreviews)
    }
}

fn by_label(scrape: &Scrape, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in scrape.select(name, &[]) {
        if let Some(v) = s.labels.get(label) {
            *out.entry(v.clone()).or_default() += s.value;
        }
    }
    out
}

fn counter_delta(before: f64, after: f64) -> u64 {
    (after - before).max(0.0).round() as u64
}

pub fn delta(before: &Snapshot, after: &Snapshot) -> Delta {
    let mut d = Delta::default();
    if let (Some(b), Some(a)) = (&before.apiserver, &after.apiserver) {
        const NAME: &str = "apiserver_request_total";
        let before_by = by_label(b, NAME, "resource");
        for (resource, value) in by_label(a, NAME, "resource") {
            // Non-resource requests (/metrics scrapes, discovery) are not API calls by resource.
            if resource.is_empty() {
                continue;
            }
            let n = counter_delta(before_by.get(&resource).copied().unwrap_or(0.0), value);
            if n > 0 {
                d.apiserver_calls.insert(resource, n);
            }
        }
        d.apiserver_throttled = counter_delta(
            b.sum(NAME, &[("code", "429")]),
            a.sum(NAME, &[("code", "429")]),
        );
    }
    if let (Some(b), Some(a)) = (&before.gateway, &after.gateway) {
        let cache = |which: &str| {
            const NAME: &str = "gatebench_auth_cache_requests_total";
            let count =
                |s: &Scrape, result: &str| s.sum(NAME, &[("cache", which), ("result", result)]);
            let present = a.select(NAME, &[("cache", which)]).next().is_some();
            present.then(|| CacheCounts {
                hits: counter_delta(count(b, "hit"), count(a, "hit")),
                misses: counter_delta(count(b, "miss"), count(a, "miss")),
            })
        };
        d.token_cache = cache("token");
        d.sar_cache = cache("sar");
        const TLS: &str = "gatebench_tls_handshakes_total";
        d.tls_handshakes = counter_delta(b.sum(TLS, &[]), a.sum(TLS, &[]));
        const WAIT: &str = "gatebench_client_throttle_wait_seconds_total";
        d.client_throttle_wait_secs = (a.sum(WAIT, &[]) - b.sum(WAIT, &[])).max(0.0);
        const API: &str = "gatebench_apiserver_requests_total";
        d.gateway_tokenreviews = counter_delta(
            b.sum(API, &[("api", "tokenreview")]),
            a.sum(API, &[("api", "tokenreview")]),
        );
    }
    d
}

/// Replaces the API server stand-in's fault configuration (admin endpoint).
pub async fn put_faults(client: &kube::Client, faults: &serde_json::Value) -> Result<()> {
    let request = http::Request::put("/gatebench/v1/faults")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(faults)?)?;
    client
        .request_text(request)
        .await
        .context("PUT /gatebench/v1/faults")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(api: &str, gw: &str) -> Snapshot {
        Snapshot {
            apiserver: Some(Scrape::parse(api).unwrap()),
            gateway: Some(Scrape::parse(gw).unwrap()),
        }
    }

    #[test]
    fn deltas_by_resource_and_cache() {
        let before = snap(
            "apiserver_request_total{verb=\"create\",resource=\"tokenreviews\",code=\"201\"} 5\n",
            "gatebench_auth_cache_requests_total{cache=\"token\",result=\"hit\"} 10\n\
             gatebench_auth_cache_requests_total{cache=\"token\",result=\"miss\"} 2\n",
        );
        let after = snap(
            "apiserver_request_total{verb=\"create\",resource=\"tokenreviews\",code=\"201\"} 8\n\
             apiserver_request_total{verb=\"create\",resource=\"tokenreviews\",code=\"429\"} 2\n\
             apiserver_request_total{verb=\"create\",resource=\"subjectaccessreviews\",code=\"201\"} 1\n\
             apiserver_request_total{verb=\"get\",resource=\"\",code=\"200\"} 4\n",
            "gatebench_auth_cache_requests_total{cache=\"token\",result=\"hit\"} 105\n\
             gatebench_auth_cache_requests_total{cache=\"token\",result=\"miss\"} 7\n\
             gatebench_tls_handshakes_total{result=\"ok\"} 3\n",
        );
        let d = delta(&before, &after);
        assert_eq!(d.apiserver_calls["tokenreviews"], 5);
        assert_eq!(d.apiserver_calls["subjectaccessreviews"], 1);
        assert_eq!(d.apiserver_calls.len(), 2, "non-resource requests left out");
        assert_eq!(d.apiserver_throttled, 2);
        let t = d.token_cache.clone().unwrap();
        assert_eq!((t.hits, t.misses), (95, 5));
        assert!(d.sar_cache.is_none());
        assert_eq!(d.tls_handshakes, 3);
        assert_eq!(d.tokenreviews(), 5);
    }
}
