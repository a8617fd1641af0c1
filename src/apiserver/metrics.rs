//! `/metrics` of the stand-in: kube-apiserver's request counter and latency histogram, same names and labels.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// kube-apiserver's `apiserver_request_duration_seconds` buckets.
const DURATION_BUCKETS_SECS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// Labels of `apiserver_request_total` (kube's names; `code` is the HTTP status).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub scope: String,
    pub component: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub scope: String,
    pub component: String,
}

/// What one API request was, for labelling.
#[derive(Debug, Clone, Default)]
pub struct RequestKind {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    /// "cluster", "namespace", "resource" or "" for non-resource requests, as kube labels it.
    pub scope: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(DURATION_BUCKETS_SECS)) as fn() -> Histogram,
        );
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            durations.clone(),
        );
        Self {
            registry,
            requests,
            durations: Family::clone(&durations),
        }
    }

    pub fn observe(&self, kind: &RequestKind, code: u16, elapsed: Duration) {
        let component = "apiserver".to_string();
        self.requests
            .get_or_create(&RequestLabels {
                verb: kind.verb.clone(),
                group: kind.group.clone(),
                version: kind.version.clone(),
                resource: kind.resource.clone(),
                subresource: kind.subresource.clone(),
                scope: kind.scope.clone(),
                component: component.clone(),
                code: code.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels {
                verb: kind.verb.clone(),
                group: kind.group.clone(),
                version: kind.version.clone(),
                resource: kind.resource.clone(),
                subresource: kind.subresource.clone(),
                scope: kind.scope.clone(),
                component,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
