//! Server-side counters of a measured window, scraped once per instant and diffed once
//! (`Counters::since`): API-server calls from its own `apiserver_request_total`, the gateway's
//! cache, TLS and throttle counters from its /metrics, and the gateway's CPU time from /proc.

use crate::promtext::Scrape;
use crate::results::{CacheCounts, ServerCounts};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("scraping the API server's /metrics: {0}")]
    ApiServer(#[source] kube::Error),
    #[error("scraping the gateway's /metrics at {url}: {source}")]
    Gateway {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("parsing /metrics: {0}")]
    Parse(#[from] crate::promtext::Error),
    #[error("reading the CPU time of process {pid} from /proc (has it exited?)")]
    Cpu { pid: u32 },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where a window's counters come from; any source may be absent.
#[derive(Clone, Default)]
pub struct Sources {
    /// Client of the API server (its `/metrics` is the API-call ground truth).
    pub kube: Option<kube::Client>,
    /// Base URL of the gateway's metrics listener (with or without the `/metrics` path).
    pub gateway_metrics: Option<String>,
    /// Local gateway process(es) whose CPU time is the gateway's cost.
    pub gateway_pids: Vec<u32>,
    pub http: reqwest::Client,
}

/// The counters at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub api: Option<ApiCounters>,
    pub gateway: Option<GatewayCounters>,
    /// Summed CPU seconds of the gateway processes.
    pub gateway_cpu_secs: Option<f64>,
}

impl Counters {
    /// Reads every source present.
    pub async fn scrape(sources: &Sources) -> Result<Counters> {
        let api = match &sources.kube {
            Some(client) => Some(ApiCounters::from_scrape(&scrape_apiserver(client).await?)),
            None => None,
        };
        let gateway = match &sources.gateway_metrics {
            Some(url) => Some(GatewayCounters::from_scrape(
                &scrape_gateway(&sources.http, url).await?,
            )),
            None => None,
        };
        Ok(Counters {
            api,
            gateway,
            gateway_cpu_secs: cpu_secs(&sources.gateway_pids)?,
        })
    }

    /// What grew from `before` to `self`. A counter absent at either instant is absent in the
    /// result, never zero: "not measured" must not read as "none happened".
    pub fn since(&self, before: &Counters) -> ServerCounts {
        let mut out = ServerCounts::default();
        if let (Some(a), Some(b)) = (&self.api, &before.api) {
            out.apiserver_calls = grown(&a.by_resource, &b.by_resource);
            out.apiserver_throttled = Some(delta(a.throttled, b.throttled));
        }
        if let (Some(a), Some(b)) = (&self.gateway, &before.gateway) {
            let cache = |after: &Option<CacheCounts>, before: &Option<CacheCounts>| {
                after.as_ref().map(|a| {
                    let b = before.clone().unwrap_or_default();
                    CacheCounts {
                        hits: a.hits.saturating_sub(b.hits),
                        misses: a.misses.saturating_sub(b.misses),
                    }
                })
            };
            out.token_cache = cache(&a.token, &b.token);
            out.sar_cache = cache(&a.sar, &b.sar);
            out.tls_handshakes = Some(delta(a.handshakes_ok, b.handshakes_ok));
            out.tls_handshake_failures = Some(delta(a.handshakes_failed, b.handshakes_failed));
            out.client_throttle_wait_secs =
                Some((a.throttle_wait_secs - b.throttle_wait_secs).max(0.0));
            out.gateway_apiserver_calls = grown(&a.apiserver_calls, &b.apiserver_calls);
        }
        if let (Some(a), Some(b)) = (self.gateway_cpu_secs, before.gateway_cpu_secs) {
            out.gateway_cpu_secs = Some((a - b).max(0.0));
        }
        out
    }
}

/// API-server counters from `apiserver_request_total` (the stand-in's and kube-apiserver's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiCounters {
    /// "resource" or "resource/subresource" -> requests. Non-resource requests (discovery,
    /// health, /metrics scrapes) are not API calls by resource and are left out.
    pub by_resource: BTreeMap<String, f64>,
    /// Answers with code 429.
    pub throttled: f64,
}

impl ApiCounters {
    pub fn from_scrape(scrape: &Scrape) -> ApiCounters {
        let mut out = ApiCounters::default();
        for sample in scrape.select("apiserver_request_total", &[]) {
            let label = |name: &str| sample.labels.get(name).map(String::as_str).unwrap_or("");
            if label("resource").is_empty() {
                continue;
            }
            let key = match label("subresource") {
                "" => label("resource").to_string(),
                sub => format!("{}/{sub}", label("resource")),
            };
            *out.by_resource.entry(key).or_default() += sample.value;
            if label("code") == "429" {
                out.throttled += sample.value;
            }
        }
        out
    }
}

/// The gateway's own counters (gatebench's metric names; absent series stay `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayCounters {
    pub token: Option<CacheCounts>,
    pub sar: Option<CacheCounts>,
    pub handshakes_ok: f64,
    pub handshakes_failed: f64,
    pub throttle_wait_secs: f64,
    /// api (tokenreview, subjectaccessreview, jwks) -> calls the gateway says it made.
    pub apiserver_calls: BTreeMap<String, f64>,
}

impl GatewayCounters {
    pub fn from_scrape(s: &Scrape) -> GatewayCounters {
        const CACHE: &str = "gatebench_auth_cache_requests_total";
        const TLS: &str = "gatebench_tls_handshakes_total";
        let cache = |name: &str| {
            let present = s.select(CACHE, &[("cache", name)]).next().is_some();
            present.then(|| CacheCounts {
                hits: s.sum(CACHE, &[("cache", name), ("result", "hit")]) as u64,
                misses: s.sum(CACHE, &[("cache", name), ("result", "miss")]) as u64,
            })
        };
        let mut apiserver_calls = BTreeMap::new();
        for sample in s.select("gatebench_apiserver_requests_total", &[]) {
            if let Some(api) = sample.labels.get("api") {
                *apiserver_calls.entry(api.clone()).or_default() += sample.value;
            }
        }
        let ok = s.sum(TLS, &[("result", "ok")]);
        GatewayCounters {
            token: cache("token"),
            sar: cache("sar"),
            handshakes_ok: ok,
            handshakes_failed: s.sum(TLS, &[]) - ok,
            throttle_wait_secs: s.sum("gatebench_client_throttle_wait_seconds_total", &[]),
            apiserver_calls,
        }
    }
}

fn delta(after: f64, before: f64) -> u64 {
    (after - before).max(0.0).round() as u64
}

/// Series that grew, from zero when they appeared during the window.
fn grown(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), delta(*v, before.get(k).copied().unwrap_or(0.0))))
        .filter(|(_, d)| *d > 0)
        .collect()
}

/// The `/metrics` URL of a metrics listener given by its base URL (or already by its path).
pub fn metrics_url(base: &str) -> String {
    if base.trim_end_matches('/').ends_with("/metrics") {
        base.trim_end_matches('/').to_string()
    } else {
        format!("{}/metrics", base.trim_end_matches('/'))
    }
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

/// Scrapes a gateway's plain-HTTP metrics listener.
pub async fn scrape_gateway(http: &reqwest::Client, base: &str) -> Result<Scrape> {
    let url = metrics_url(base);
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

/// Summed CPU seconds of `pids` (None when there are none).
fn cpu_secs(pids: &[u32]) -> Result<Option<f64>> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut total = 0.0;
    for &pid in pids {
        total += crate::procstat::pid_cpu_secs_precise(pid).ok_or(Error::Cpu { pid })?;
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(api: &str, gateway: &str, cpu: f64) -> Counters {
        Counters {
            api: Some(ApiCounters::from_scrape(&Scrape::parse(api).unwrap())),
            gateway: Some(GatewayCounters::from_scrape(
                &Scrape::parse(gateway).unwrap(),
            )),
            gateway_cpu_secs: Some(cpu),
        }
    }

    #[test]
    fn api_calls_by_resource_and_subresource_with_429s() {
        let before = counters(
            r#"apiserver_request_total{verb="POST",resource="tokenreviews",subresource="",code="201"} 5
apiserver_request_total{verb="GET",resource="",subresource="",code="200"} 9
"#,
            "",
            1.0,
        );
        let after = counters(
            r#"apiserver_request_total{verb="POST",resource="tokenreviews",subresource="",code="201"} 12
apiserver_request_total{verb="POST",resource="tokenreviews",subresource="",code="429"} 3
apiserver_request_total{verb="POST",resource="serviceaccounts",subresource="token",code="201"} 4
apiserver_request_total{verb="GET",resource="",subresource="",code="200"} 20
"#,
            "",
            1.25,
        );
        let d = after.since(&before);
        assert_eq!(d.apiserver_calls["tokenreviews"], 10);
        assert_eq!(d.apiserver_calls["serviceaccounts/token"], 4);
        assert_eq!(d.apiserver_calls.len(), 2, "non-resource requests left out");
        assert_eq!(d.apiserver_throttled, Some(3));
        assert_eq!(d.gateway_cpu_secs, Some(0.25));
        assert_eq!(d.tokenreviews(), Some(10));
    }

    #[test]
    fn gateway_caches_absent_unless_the_series_exists() {
        let text = |hits: u32, misses: u32, wait: f64| {
            format!(
                "gatebench_auth_cache_requests_total{{cache=\"token\",result=\"hit\"}} {hits}\n\
                 gatebench_auth_cache_requests_total{{cache=\"token\",result=\"miss\"}} {misses}\n\
                 gatebench_apiserver_requests_total{{api=\"tokenreview\",code=\"201\"}} {misses}\n\
                 gatebench_tls_handshakes_total{{result=\"ok\"}} 2\n\
                 gatebench_tls_handshakes_total{{result=\"error\"}} {misses}\n\
                 gatebench_client_throttle_wait_seconds_total {wait}\n"
            )
        };
        let gateway_only = |text: &str| Counters {
            api: None,
            ..counters("", text, 0.0)
        };
        let before = gateway_only(&text(1, 1, 0.5));
        let after = gateway_only(&text(99, 3, 2.0));
        let d = after.since(&before);
        assert_eq!(
            d.token_cache,
            Some(CacheCounts {
                hits: 98,
                misses: 2
            })
        );
        assert_eq!(d.sar_cache, None, "no sar series: not measured, not zero");
        assert_eq!(d.gateway_apiserver_calls["tokenreview"], 2);
        assert_eq!(d.tls_handshakes, Some(0));
        assert_eq!(d.tls_handshake_failures, Some(2));
        assert_eq!(d.client_throttle_wait_secs, Some(1.5));
        assert_eq!(
            d.tokenreviews(),
            Some(2),
            "the gateway's count when the API server's is absent"
        );
    }

    #[test]
    fn missing_sources_stay_unmeasured() {
        let d = Counters::default().since(&Counters::default());
        assert_eq!(d, ServerCounts::default());
        assert_eq!(d.apiserver_throttled, None);
        assert_eq!(d.tokenreviews(), None);
    }

    #[test]
    fn metrics_urls() {
        assert_eq!(metrics_url("http://a:1"), "http://a:1/metrics");
        assert_eq!(metrics_url("http://a:1/"), "http://a:1/metrics");
        assert_eq!(metrics_url("http://a:1/metrics"), "http://a:1/metrics");
    }
}
