//! `/metrics` of the stand-in: kube-apiserver's request counter and latency histogram, same names and
//! labels, in the classic Prometheus text format kube-apiserver serves (`# TYPE apiserver_request_total counter`).

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// kube-apiserver's `apiserver_request_duration_seconds` buckets.
const DURATION_BUCKETS_SECS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// kube's label names of `apiserver_request_total` (`code` is the HTTP status; `dry_run` is always "").
const REQUEST_LABELS: [&str; 9] = [
    "code",
    "component",
    "dry_run",
    "group",
    "resource",
    "scope",
    "subresource",
    "verb",
    "version",
];
/// The duration histogram's labels: the request counter's without `code` (its first).
const DURATION_LABELS: &[&str] = match REQUEST_LABELS.split_first() {
    Some((_, rest)) => rest,
    None => &[],
};

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
    requests: IntCounterVec,
    durations: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            ),
            &REQUEST_LABELS,
        )
        .expect("static metric definition is valid");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            )
            .buckets(DURATION_BUCKETS_SECS.to_vec()),
            DURATION_LABELS,
        )
        .expect("static metric definition is valid");
        let registry = Registry::new();
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(durations.clone()))
            .expect("registered once");
        Self {
            registry,
            requests,
            durations,
        }
    }

    pub fn observe(&self, kind: &RequestKind, code: u16, elapsed: Duration) {
        let code = code.to_string();
        let (verb, group, version) = (&kind.verb, &kind.group, &kind.version);
        let (resource, subresource, scope) = (&kind.resource, &kind.subresource, &kind.scope);
        self.requests
            .with_label_values(&[
                code.as_str(),
                "apiserver",
                "",
                group,
                resource,
                scope,
                subresource,
                verb,
                version,
            ])
            .inc();
        self.durations
            .with_label_values(&[
                "apiserver",
                "",
                group,
                resource,
                scope,
                subresource,
                verb,
                version,
            ])
            .observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding our own registry into memory cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_classic_text_format_with_kube_names() {
        let metrics = Metrics::new();
        let kind = RequestKind {
            verb: "POST".into(),
            group: "authentication.k8s.io".into(),
            version: "v1".into(),
            resource: "tokenreviews".into(),
            scope: "resource".into(),
            ..RequestKind::default()
        };
        metrics.observe(&kind, 201, Duration::from_millis(3));
        metrics.observe(&kind, 201, Duration::from_millis(30));
        let text = metrics.render();
        assert!(
            text.contains("# TYPE apiserver_request_total counter\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE apiserver_request_duration_seconds histogram\n"));
        assert!(
            !text.contains("# EOF"),
            "OpenMetrics terminator in a classic exposition"
        );
        assert!(text.contains(
            "apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"authentication.k8s.io\",resource=\"tokenreviews\",scope=\"resource\",subresource=\"\",verb=\"POST\",version=\"v1\"} 2\n"
        ), "{text}");
        assert!(text.contains("le=\"0.025\"} 1\n"), "{text}");
    }
}
