//! Signal payloads (AlertManager webhook v4, Kubernetes Events), their fingerprints and the dedup window.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Where a signal came from; also the `source` label of `gatebench_signals_accepted_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Prometheus,
    KubernetesEvent,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Prometheus => "prometheus",
            Source::KubernetesEvent => "kubernetes-event",
        }
    }
}

/// AlertManager webhook payload, version 4. Required fields are non-optional so serde rejects
/// payloads missing them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    pub version: String,
    pub group_key: String,
    pub status: String,
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: String,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// A Kubernetes Event as forwarded by an event exporter.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    pub message: String,
    pub involved_object: InvolvedObject,
    #[serde(default)]
    pub first_timestamp: Option<String>,
    #[serde(default)]
    pub last_timestamp: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub source: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct InvolvedObject {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
}

/// A dedup key: 16 bytes of SHA-256, whatever the caller sent. AlertManager's own fingerprints are
/// hashed too, so a client cannot park 256 KiB strings in the dedup cache.
pub type Fingerprint = [u8; 16];

/// Parses and validates a body; returns the fingerprints it carries, or a reason for 400.
pub fn fingerprints(source: Source, body: &[u8]) -> Result<Vec<Fingerprint>, String> {
    match source {
        Source::Prometheus => {
            let hook: AlertmanagerWebhook =
                serde_json::from_slice(body).map_err(|e| e.to_string())?;
            if hook.version != "4" {
                return Err(format!("unsupported webhook version {:?}", hook.version));
            }
            if hook.alerts.is_empty() {
                return Err("alerts must not be empty".into());
            }
            Ok(hook
                .alerts
                .iter()
                .map(|a| match &a.fingerprint {
                    Some(fp) if !fp.is_empty() => digest(&[b"fp", fp.as_bytes()]),
                    _ => label_hash(&a.labels),
                })
                .collect())
        }
        Source::KubernetesEvent => {
            let event: KubernetesEvent = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            if !matches!(event.event_type.as_str(), "Warning" | "Error") {
                return Err(format!(
                    "event type {:?} not accepted (Warning or Error only)",
                    event.event_type
                ));
            }
            let o = &event.involved_object;
            let mut parts = BTreeMap::new();
            parts.insert("type".to_string(), event.event_type.clone());
            parts.insert("reason".to_string(), event.reason.clone());
            parts.insert("kind".to_string(), o.kind.clone());
            parts.insert(
                "namespace".to_string(),
                o.namespace.clone().unwrap_or_default(),
            );
            parts.insert("name".to_string(), o.name.clone());
            parts.insert("uid".to_string(), o.uid.clone().unwrap_or_default());
            Ok(vec![label_hash(&parts)])
        }
    }
}

/// Hash of the sorted label set (BTreeMap iterates sorted), length-prefixed so `a=bc` != `ab=c`.
fn label_hash(labels: &BTreeMap<String, String>) -> Fingerprint {
    let mut parts: Vec<&[u8]> = vec![b"labels"];
    for (k, v) in labels {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    digest(&parts)
}

/// SHA-256 over length-prefixed parts (the first names the kind of key), truncated to 16 bytes.
fn digest(parts: &[&[u8]]) -> Fingerprint {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let mut fp = Fingerprint::default();
    fp.copy_from_slice(&hasher.finalize()[..16]);
    fp
}

/// Fingerprints seen within the window; an insert is atomic, so two concurrent copies of one
/// signal yield exactly one "new".
#[derive(Clone)]
pub struct DedupStore {
    seen: moka::future::Cache<(Source, Fingerprint), ()>,
}

impl DedupStore {
    pub fn new(window: Duration, max_entries: u64) -> Self {
        DedupStore {
            seen: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(window)
                .build(),
        }
    }

    /// Records the fingerprints; true if any was not seen within the window.
    pub async fn record(&self, source: Source, fingerprints: Vec<Fingerprint>) -> bool {
        let mut any_new = false;
        for fp in fingerprints {
            if self.seen.entry((source, fp)).or_insert(()).await.is_fresh() {
                any_new = true;
            }
        }
        any_new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOOK: &str = r#"{"version":"4","groupKey":"g","status":"firing","receiver":"r",
        "alerts":[{"status":"firing","labels":{"alertname":"A","b":"1"}}]}"#;

    #[test]
    fn validates_required_fields() {
        assert_eq!(
            fingerprints(Source::Prometheus, HOOK.as_bytes())
                .unwrap()
                .len(),
            1
        );
        assert!(fingerprints(Source::Prometheus, br#"{"version":"4"}"#).is_err());
        assert!(fingerprints(Source::Prometheus, b"not json").is_err());
        let normal = br#"{"type":"Normal","reason":"x","message":"m","involvedObject":{"kind":"Pod","name":"p"}}"#;
        assert!(fingerprints(Source::KubernetesEvent, normal).is_err());
        let warning = br#"{"type":"Warning","reason":"x","message":"m","involvedObject":{"kind":"Pod","name":"p"}}"#;
        assert!(fingerprints(Source::KubernetesEvent, warning).is_ok());
    }

    #[test]
    fn client_fingerprints_are_hashed_to_a_fixed_size() {
        let huge = "f".repeat(200 * 1024);
        let hook = serde_json::json!({"version": "4", "groupKey": "g", "status": "firing",
            "receiver": "r", "alerts": [{"status": "firing", "labels": {}, "fingerprint": huge}]});
        let fps = fingerprints(Source::Prometheus, hook.to_string().as_bytes()).unwrap();
        assert_eq!(std::mem::size_of_val(&fps[0]), 16);
        let other = hook.to_string().replace("fff\"", "ffg\"");
        let fps2 = fingerprints(Source::Prometheus, other.as_bytes()).unwrap();
        assert_ne!(fps, fps2);
    }

    #[tokio::test]
    async fn dedups_within_window() {
        let store = DedupStore::new(Duration::from_secs(60), 100);
        let fp = fingerprints(Source::Prometheus, HOOK.as_bytes()).unwrap();
        assert!(store.record(Source::Prometheus, fp.clone()).await);
        assert!(!store.record(Source::Prometheus, fp.clone()).await);
        assert!(store.record(Source::KubernetesEvent, fp).await);
    }
}
