//! Before/after snapshots of the API server's and the gateway's /metrics and the gateway's CPU time.

use crate::promtext::Scrape;
use crate::results::CacheCounts;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("scraping the API server's /metrics: {0}")]
    ApiServer(#[source] kube::Error),
    #[error("scraping the gateway's /metrics at {url}: {source}")]
    Gateway { url: String, source: reqwest::Error },
    #[error("parsing /metrics: {0}")]
    Parse(#[from] crate::promtext::Error),
    #[error("reading /proc/{pid}/stat: {reason}")]
    ProcStat { pid: u32, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// API-server counters from `apiserver_request_total` (works on the stand-in and on kube-apiserver).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiCounters {
    /// "resource" or "resource/subresource" -> requests.
    pub by_resource: BTreeMap<String, f64>,
    pub throttled: f64,
}

impl ApiCounters {
    pub fn from_scrape(scrape: &Scrape) -> ApiCounters {
        let mut out = ApiCounters::default();
        for sample in scrape.select("apiserver_request_total", &[]) {
            let resource = sample
                .labels
                .get("resource")
                .map(String::as_str)
                .unwrap_or("");
            if resource.is_empty() {
                continue;
            }
            let key = match sample.labels.get("subresource").map(String::as_str) {
                Some(sub) if !sub.is_empty() => format!("{resource}/{sub}"),
                _ => resource.to_string(),
            };
            *out.by_resource.entry(key).or_default() += sample.value;
            if sample.labels.get("code").map(String::as_str) == Some("429") {
                out.throttled += sample.value;
            }
        }
        out
    }

    /// Counts that grew from `before` to `self` (series that appeared count from zero).
    pub fn since(&self, before: &ApiCounters) -> (BTreeMap<String, u64>, u64) {
        let calls = self
            .by_resource
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    delta(*v, before.by_resource.get(k).copied().unwrap_or(0.0)),
                )
            })
            .filter(|(_, d)| *d > 0)
            .collect();
        (calls, delta(self.throttled, before.throttled))
    }
}

/// The gateway counters a run record carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayCounters {
    pub token: CacheCounts,
    pub sar: CacheCounts,
    pub handshakes_ok: u64,
    pub handshakes_total: u64,
    pub throttle_wait_secs: f64,
    /// api (tokenreview, subjectaccessreview, jwks) -> calls the gateway made.
    pub apiserver_calls: BTreeMap<String, u64>,
}

impl GatewayCounters {
    pub fn from_scrape(s: &Scrape) -> GatewayCounters {
        let cache = |name: &str| CacheCounts {
            hits: s.sum(
                "gatebench_auth_cache_requests_total",
                &[("cache", name), ("result", "hit")],
            ) as u64,
            misses: s.sum(
                "gatebench_auth_cache_requests_total",
                &[("cache", name), ("result", "miss")],
            ) as u64,
        };
        let mut apiserver_calls = BTreeMap::new();
        for sample in s.select("gatebench_apiserver_requests_total", &[]) {
            if let Some(api) = sample.labels.get("api") {
                *apiserver_calls.entry(api.clone()).or_default() += sample.value as u64;
            }
        }
        GatewayCounters {
            token: cache("token"),
            sar: cache("sar"),
            handshakes_ok: s.sum("gatebench_tls_handshakes_total", &[("result", "ok")]) as u64,
            handshakes_total: s.sum("gatebench_tls_handshakes_total", &[]) as u64,
            throttle_wait_secs: s.sum("gatebench_client_throttle_wait_seconds_total", &[]),
            apiserver_calls,
        }
    }

    pub fn since(&self, before: &GatewayCounters) -> GatewayCounters {
        let cache = |a: &CacheCounts, b: &CacheCounts| CacheCounts {
            hits: a.hits.saturating_sub(b.hits),
            misses: a.misses.saturating_sub(b.misses),
        };
        GatewayCounters {
            token: cache(&self.token, &before.token),
            sar: cache(&self.sar, &before.sar),
            handshakes_ok: self.handshakes_ok.saturating_sub(before.handshakes_ok),
            handshakes_total: self
                .handshakes_total
                .saturating_sub(before.handshakes_total),
            throttle_wait_secs: (self.throttle_wait_secs - before.throttle_wait_secs).max(0.0),
            apiserver_calls: self
                .apiserver_calls
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.saturating_sub(*before.apiserver_calls.get(k).unwrap_or(&0)),
                    )
                })
                .filter(|(_, d)| *d > 0)
                .collect(),
        }
    }
}

fn delta(after: f64, before: f64) -> u64 {
    (after - before).max(0.0).round() as u64
}

/// Scrapes `/metrics` of the API server through the kubeconfig's credentials.
pub async fn scrape_apiserver(client: &kube::Client) -> Result<Scrape> {
    let request = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("static request is valid");
    let text = client
        .request_text(request)
        .await
        .map_err(Error::ApiServer)?;
    Ok(Scrape::parse(&text)?)
}

/// Scrapes the gateway's plain-HTTP metrics listener.
pub async fn scrape_gateway(http: &reqwest::Client, metrics_url: &str) -> Result<Scrape> {
    let url = format!("{}/metrics", metrics_url.trim_end_matches('/'));
    let err = |source| Error::Gateway {
        url: url.clone(),
        source,
    };
    let text = http
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    Ok(Scrape::parse(&text)?)
}

/// User + system CPU seconds a process has used so far.
pub fn cpu_secs(pid: u32) -> Result<f64> {
    crate::procstat::pid_cpu_secs(pid).ok_or_else(|| Error::ProcStat {
        pid,
        reason: "not readable or unexpected format".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_counters_group_by_resource_and_count_429s() {
        let before = Scrape::parse(
            r#"apiserver_request_total{verb="create",resource="tokenreviews",subresource="",code="201"} 5
apiserver_request_total{verb="get",resource="",subresource="",code="200"} 9
"#,
        )
        .unwrap();
        let after = Scrape::parse(
            r#"apiserver_request_total{verb="create",resource="tokenreviews",subresource="",code="201"} 12
apiserver_request_total{verb="create",resource="tokenreviews",subresource="",code="429"} 3
apiserver_request_total{verb="create",resource="serviceaccounts",subresource="token",code="201"} 4
apiserver_request_total{verb="get",resource="",subresource="",code="200"} 20
"#,
        )
        .unwrap();
        let (calls, throttled) =
            ApiCounters::from_scrape(&after).since(&ApiCounters::from_scrape(&before));
        assert_eq!(calls["tokenreviews"], 10);
        assert_eq!(calls["serviceaccounts/token"], 4);
        assert_eq!(calls.len(), 2);
        assert_eq!(throttled, 3);
    }

    #[test]
    fn gateway_counters_delta() {
        let text = |hits: u32, misses: u32, wait: f64| {
            format!(
                "gatebench_auth_cache_requests_total{{cache=\"token\",result=\"hit\"}} {hits}\n\
                 gatebench_auth_cache_requests_total{{cache=\"token\",result=\"miss\"}} {misses}\n\
                 gatebench_apiserver_requests_total{{api=\"tokenreview\",code=\"201\"}} {misses}\n\
                 gatebench_tls_handshakes_total{{result=\"ok\"}} 2\n\
                 gatebench_client_throttle_wait_seconds_total {wait}\n"
            )
        };
        let before = GatewayCounters::from_scrape(&Scrape::parse(&text(1, 1, 0.5)).unwrap());
        let after = GatewayCounters::from_scrape(&Scrape::parse(&text(99, 3, 2.0)).unwrap());
        let d = after.since(&before);
        assert_eq!(
            d.token,
            CacheCounts {
                hits: 98,
                misses: 2
            }
        );
        assert_eq!(d.sar, CacheCounts::default());
        assert_eq!(d.apiserver_calls["tokenreview"], 2);
        assert_eq!(d.handshakes_total, 0);
        assert_eq!(d.throttle_wait_secs, 1.5);
    }

    #[test]
    fn cpu_secs_of_this_process() {
        assert!(cpu_secs(std::process::id()).unwrap() >= 0.0);
        assert!(cpu_secs(u32::MAX).is_err());
    }
}
