//! Request bodies: realistic AlertManager v4 webhooks (1-5 alerts, labels and annotations of
//! real sizes) with unique fingerprints, a chosen fraction repeating an earlier request exactly.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// Stands in for a per-request 16-hex-digit value; replaced byte-for-byte, so templates are
/// built once and each request costs one copy.
const PLACEHOLDER: &[u8; 16] = b"@@@@@@@@@@@@@@@@";

const ALERTS: &[(&str, &str, &str)] = &[
    (
        "KubePodCrashLooping",
        "warning",
        "Pod is restarting {{ $value }} times / 10 minutes.",
    ),
    (
        "HighErrorRate",
        "critical",
        "More than 5% of requests to the checkout service failed over the last 5 minutes.",
    ),
    (
        "NodeFilesystemSpaceFillingUp",
        "warning",
        "Filesystem on /dev/nvme0n1p1 is predicted to run out of space within the next 24 hours.",
    ),
    (
        "KubeDeploymentReplicasMismatch",
        "warning",
        "Deployment has not matched the expected number of replicas for longer than 15 minutes.",
    ),
    (
        "TargetDown",
        "critical",
        "50% of the node-exporter/node-exporter targets in monitoring namespace are down.",
    ),
];

/// Pre-built webhook templates and the duplicate policy.
pub struct Bodies {
    templates: Vec<Vec<u8>>,
    duplicate_fraction: f64,
    seed: u64,
}

impl Bodies {
    pub fn new(duplicate_fraction: f64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let templates = (0..64).map(|i| template(&mut rng, i)).collect();
        Bodies {
            templates,
            duplicate_fraction: duplicate_fraction.clamp(0.0, 1.0),
            seed,
        }
    }

    /// Body of request `seq`: fresh, or (with the duplicate fraction) byte-identical to a
    /// recent earlier request so the gateway's dedup window sees it again.
    pub fn body(&self, seq: u64) -> Bytes {
        // Every request repeats the first: the chain below would walk back to it, one step per
        // few requests, which makes a long run quadratic.
        if self.duplicate_fraction >= 1.0 {
            return self.fresh(0);
        }
        // A duplicate copies an earlier request, which may itself be a copy: follow the chain
        // to the fresh body that request actually sent.
        let mut source = seq;
        while let Some(earlier) = self.copies(source) {
            source = earlier;
        }
        self.fresh(source)
    }

    /// The earlier request `seq` repeats, if it is a duplicate.
    fn copies(&self, seq: u64) -> Option<u64> {
        let mut rng = StdRng::seed_from_u64(self.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        (seq > 0 && rng.random::<f64>() < self.duplicate_fraction)
            .then(|| seq - 1 - rng.random_range(0..seq.min(32)))
    }

    fn fresh(&self, seq: u64) -> Bytes {
        let mut out = self.templates[(seq % self.templates.len() as u64) as usize].clone();
        let mut n = 0u64;
        let mut i = 0;
        while i + PLACEHOLDER.len() <= out.len() {
            if &out[i..i + PLACEHOLDER.len()] == PLACEHOLDER {
                let value = format!(
                    "{:016x}",
                    (seq.wrapping_mul(31) + n).wrapping_mul(0xA24B_AED4_963E_E407) ^ self.seed
                );
                out[i..i + PLACEHOLDER.len()].copy_from_slice(value.as_bytes());
                n += 1;
                i += PLACEHOLDER.len();
            } else {
                i += 1;
            }
        }
        Bytes::from(out)
    }
}

fn template(rng: &mut StdRng, index: usize) -> Vec<u8> {
    let placeholder = std::str::from_utf8(PLACEHOLDER).expect("ascii");
    let (name, severity, description) = ALERTS[index % ALERTS.len()];
    let namespace = ["payments", "checkout", "monitoring", "ingress-nginx"][index % 4];
    let count = rng.random_range(1..=5);
    let alerts: Vec<_> = (0..count)
        .map(|a| {
            json!({
                "status": "firing",
                "labels": {
                    "alertname": name,
                    "severity": severity,
                    "namespace": namespace,
                    "pod": format!("{namespace}-api-{placeholder}"),
                    "container": "server",
                    "instance": format!("10.244.{}.{}:8080", rng.random_range(0..255), rng.random_range(1..255)),
                    "job": "kubernetes-pods",
                    "prometheus": "monitoring/k8s",
                    "endpoint": "http-metrics",
                    "service": format!("{namespace}-api"),
                    "replica": format!("{a}"),
                },
                "annotations": {
                    "summary": format!("{name} on {namespace}"),
                    "description": description,
                    "runbook_url": format!("https://runbooks.prometheus-operator.dev/runbooks/kubernetes/{}", name.to_lowercase()),
                },
                "startsAt": "2026-11-28T06:00:00.000Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": format!("http://prometheus-k8s-0:9090/graph?g0.expr=rate%28{name}%5B5m%5D%29&g0.tab=1"),
                "fingerprint": placeholder,
            })
        })
        .collect();
    let webhook = json!({
        "version": "4",
        "groupKey": format!("{{}}/{{severity=\"{severity}\"}}:{{alertname=\"{name}\", namespace=\"{namespace}\"}}"),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "gatebench-gateway",
        "groupLabels": {"alertname": name, "namespace": namespace},
        "commonLabels": {"alertname": name, "severity": severity, "namespace": namespace},
        "commonAnnotations": {"summary": format!("{name} on {namespace}")},
        "externalURL": "http://alertmanager-main-0:9093",
        "alerts": alerts,
    });
    serde_json::to_vec(&webhook).expect("static JSON serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn bodies_are_valid_webhooks_with_unique_fingerprints() {
        let bodies = Bodies::new(0.0, 7);
        let mut seen = HashSet::new();
        for seq in 0..200 {
            let b = bodies.body(seq);
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(v["version"], "4");
            let alerts = v["alerts"].as_array().unwrap();
            assert!((1..=5).contains(&alerts.len()));
            for a in alerts {
                let fp = a["fingerprint"].as_str().unwrap();
                assert_eq!(fp.len(), 16);
                assert!(seen.insert(fp.to_string()), "fingerprint repeated");
            }
            assert!(!String::from_utf8_lossy(&b).contains('@'));
        }
    }

    #[test]
    fn duplicate_fraction_repeats_earlier_bodies() {
        let bodies = Bodies::new(0.3, 11);
        let mut seen = HashSet::new();
        let mut dups = 0;
        for seq in 0..2000 {
            if !seen.insert(bodies.body(seq)) {
                dups += 1;
            }
        }
        assert!((450..750).contains(&dups), "{dups} duplicates of 2000");
        let all = Bodies::new(1.0, 11);
        assert!((0..100).all(|seq| all.body(seq) == all.body(0)));
    }
}
