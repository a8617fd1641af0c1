//! The gateway's Prometheus metrics (names are a contract with the harness; see DESIGN.md).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    pub api: &'static str,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub mode: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: &'static str,
}

/// Every metric the gateway exports, plus the registry that renders them.
pub struct Metrics {
    registry: Registry,
    pub cache_requests: Family<CacheLabels, Counter>,
    pub apiserver_requests: Family<ApiLabels, Counter>,
    pub decisions: Family<DecisionLabels, Counter>,
    pub request_duration_seconds: Histogram,
    pub tls_handshakes: Family<ResultLabels, Counter>,
    pub signals_accepted: Family<SourceLabels, Counter>,
    pub throttle_wait_seconds: Counter<f64, AtomicU64>,
    pub crl_reloads: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let cache_requests = Family::<CacheLabels, Counter>::default();
        let apiserver_requests = Family::<ApiLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        // 50us .. ~13s: covers cached hits through throttled multi-second waits.
        let request_duration_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.00005, 2.0, 19),
        );
        let tls_handshakes = Family::<ResultLabels, Counter>::default();
        let signals_accepted = Family::<SourceLabels, Counter>::default();
        let throttle_wait_seconds = Counter::<f64, AtomicU64>::default();
        let crl_reloads = Family::<ResultLabels, Counter>::default();
        // prometheus-client appends `_total` to counters, so names are registered without it.
        registry.register(
            "gatebench_auth_cache_requests",
            "Token and SAR cache lookups by result",
            cache_requests.clone(),
        );
        registry.register(
            "gatebench_apiserver_requests",
            "Calls the gateway made to the API server, by api and HTTP code",
            apiserver_requests.clone(),
        );
        registry.register(
            "gatebench_auth_decisions",
            "Authentication/authorization decisions by mode and outcome",
            decisions.clone(),
        );
        registry.register(
            "gatebench_request_duration_seconds",
            "Time from request head to response, seconds",
            request_duration_seconds.clone(),
        );
        registry.register(
            "gatebench_tls_handshakes",
            "TLS handshakes on the gateway listener by result",
            tls_handshakes.clone(),
        );
        registry.register(
            "gatebench_signals_accepted",
            "Signals answered 201 or 202, by source",
            signals_accepted.clone(),
        );
        registry.register(
            "gatebench_client_throttle_wait_seconds",
            "Total time API calls waited in the client-side rate limiter, seconds",
            throttle_wait_seconds.clone(),
        );
        registry.register(
            "gatebench_crl_reloads",
            "Reloads of the --crl file by result (error: the last good CRL stays in force)",
            crl_reloads.clone(),
        );
        Metrics {
            registry,
            cache_requests,
            apiserver_requests,
            decisions,
            request_duration_seconds,
            tls_handshakes,
            signals_accepted,
            throttle_wait_seconds,
            crl_reloads,
        }
    }

    pub fn cache(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_requests
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    pub fn apiserver(&self, api: &'static str, code: &str) {
        self.apiserver_requests
            .get_or_create(&ApiLabels {
                api,
                code: code.to_string(),
            })
            .inc();
    }

    pub fn decision(&self, mode: &'static str, outcome: &'static str) {
        self.decisions
            .get_or_create(&DecisionLabels { mode, outcome })
            .inc();
    }

    pub fn tls_handshake(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.tls_handshakes
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub fn crl_reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.crl_reloads
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub fn signal_accepted(&self, source: &'static str) {
        self.signals_accepted
            .get_or_create(&SourceLabels { source })
            .inc();
    }

    /// Renders the text exposition served at `/metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promtext::Scrape;

    #[test]
    fn renders_contract_names() {
        let m = Metrics::new();
        m.cache("token", true);
        m.cache("token", true);
        m.apiserver("tokenreview", "201");
        m.throttle_wait_seconds.inc_by(0.5);
        let scrape = Scrape::parse(&m.render()).unwrap();
        assert_eq!(
            scrape.sum(
                "gatebench_auth_cache_requests_total",
                &[("cache", "token"), ("result", "hit")]
            ),
            2.0
        );
        assert_eq!(
            scrape.sum(
                "gatebench_apiserver_requests_total",
                &[("api", "tokenreview"), ("code", "201")]
            ),
            1.0
        );
        assert_eq!(
            scrape.sum("gatebench_client_throttle_wait_seconds_total", &[]),
            0.5
        );
    }
}
