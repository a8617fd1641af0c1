//! Injected faults: per-resource latency, in-flight cap, QPS cap, outages and random errors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{Error, Result};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// The fault configuration; the JSON of `PUT /gatebench/v1/faults`. Missing fields mean "off".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added latency keyed by resource plural (e.g. "tokenreviews") or "*" for the rest.
    pub latency: BTreeMap<String, Latency>,
    pub max_inflight: Option<u32>,
    pub qps_cap: Option<f64>,
    pub outage: Option<Outage>,
    pub error_fraction: f64,
}

/// Largest injected latency (10 minutes): longer is a hang, which `outage` expresses.
const MAX_LATENCY_MS: f64 = 600_000.0;
/// Longest outage window (one day); "until replaced" is `duration_secs: null`.
const MAX_OUTAGE_SECS: f64 = 86_400.0;
const MAX_QPS: f64 = 1e9;

impl FaultConfig {
    /// Every number in range, so nothing downstream can panic or misbehave on it (the admin
    /// endpoint answers 400 with the reason).
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (resource, latency) in &self.latency {
            latency
                .validate()
                .map_err(|e| format!("latency[{resource:?}]: {e}"))?;
        }
        if let Some(qps) = self.qps_cap
            && !(qps.is_finite() && qps > 0.0 && qps <= MAX_QPS)
        {
            return Err(format!("qps_cap must be within (0, {MAX_QPS}], got {qps}"));
        }
        if let Some(secs) = self.outage.as_ref().and_then(|o| o.duration_secs)
            && !(secs.is_finite() && (0.0..=MAX_OUTAGE_SECS).contains(&secs))
        {
            return Err(format!(
                "outage.duration_secs must be within 0..={MAX_OUTAGE_SECS}, got {secs}"
            ));
        }
        if !(self.error_fraction.is_finite() && (0.0..=1.0).contains(&self.error_fraction)) {
            return Err(format!(
                "error_fraction must be within 0..=1, got {}",
                self.error_fraction
            ));
        }
        Ok(())
    }
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Latency {
    Fixed { ms: f64 },
    Uniform { min_ms: f64, max_ms: f64 },
    Lognormal { p50_ms: f64, p99_ms: f64 },
}

impl Latency {
    pub fn sample_ms(&self, rng: &mut impl Rng) -> f64 {
        match *self {
            Latency::Fixed { ms } => ms,
            Latency::Uniform { min_ms, max_ms } if max_ms > min_ms => {
                rng.random_range(min_ms..max_ms)
            }
            Latency::Uniform { min_ms, .. } => min_ms,
            Latency::Lognormal { p50_ms, p99_ms } => {
                let mu = p50_ms.max(f64::MIN_POSITIVE).ln();
                let sigma =
                    ((p99_ms.max(p50_ms) / p50_ms.max(f64::MIN_POSITIVE)).ln() / Z_P99).max(0.0);
                // Box-Muller: one standard normal draw from two uniforms.
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (mu + sigma * z).exp()
            }
        }
        .max(0.0)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let (values, ordered) = match *self {
            Latency::Fixed { ms } => (vec![ms], true),
            Latency::Uniform { min_ms, max_ms } => (vec![min_ms, max_ms], min_ms <= max_ms),
            Latency::Lognormal { p50_ms, p99_ms } => {
                (vec![p50_ms, p99_ms], p50_ms > 0.0 && p50_ms <= p99_ms)
            }
        };
        if values
            .iter()
            .any(|v| !(v.is_finite() && (0.0..=MAX_LATENCY_MS).contains(v)))
        {
            return Err(format!("milliseconds must be within 0..={MAX_LATENCY_MS}"));
        }
        if !ordered {
            return Err("expected min <= max (uniform) or 0 < p50 <= p99 (lognormal)".into());
        }
        Ok(())
    }

    /// Parses the flag form: `fixed:MS`, `uniform:MIN:MAX`, `lognormal:P50:P99`.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: &str| Error::FaultSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let nums: Vec<f64> = parts[1..]
            .iter()
            .map(|p| {
                p.parse::<f64>()
                    .map_err(|_| bad("numbers expected after the kind"))
            })
            .collect::<Result<_>>()?;
        if nums.iter().any(|n| !n.is_finite() || *n < 0.0) {
            return Err(bad("milliseconds must be finite and >= 0"));
        }
        match (parts[0], nums.as_slice()) {
            ("fixed", [ms]) => Ok(Latency::Fixed { ms: *ms }),
            ("uniform", [min_ms, max_ms]) if min_ms <= max_ms => Ok(Latency::Uniform {
                min_ms: *min_ms,
                max_ms: *max_ms,
            }),
            ("lognormal", [p50_ms, p99_ms]) if *p50_ms > 0.0 && p50_ms <= p99_ms => {
                Ok(Latency::Lognormal {
                    p50_ms: *p50_ms,
                    p99_ms: *p99_ms,
                })
            }
            _ => Err(bad(
                "expected fixed:MS, uniform:MIN:MAX or lognormal:P50:P99 (P50 > 0, P50 <= P99)",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutageKind {
    /// 503 ServiceUnavailable.
    Unavailable,
    /// Hold the request until the client gives up or the outage ends.
    Hang,
    /// Close the connection without answering.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub kind: OutageKind,
    /// From the moment the config is applied; `None` = until replaced.
    #[serde(default)]
    pub duration_secs: Option<f64>,
}

impl Outage {
    /// Parses `KIND:SECS` or `KIND` (until replaced).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: &str| Error::FaultSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (kind, secs) = spec
            .split_once(':')
            .map_or((spec, None), |(k, s)| (k, Some(s)));
        let kind = match kind {
            "unavailable" => OutageKind::Unavailable,
            "hang" => OutageKind::Hang,
            "reset" => OutageKind::Reset,
            _ => return Err(bad("kind must be unavailable, hang or reset")),
        };
        let duration_secs = secs
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| bad("bad seconds"))
            })
            .transpose()?;
        Ok(Outage {
            kind,
            duration_secs,
        })
    }
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Proceed { delay: Duration },
    TooManyRequests,
    Unavailable,
    Hang { until: Option<Instant> },
    Reset,
    InternalError,
}

struct Active {
    config: FaultConfig,
    outage_until: Option<Instant>,
    tokens: f64,
    refilled_at: Instant,
}

/// Live fault state shared by all connections.
pub struct Faults {
    active: Mutex<Active>,
    inflight: AtomicU32,
    changed: watch::Sender<u64>,
}

/// Holds an in-flight slot until dropped.
pub struct InflightGuard(Arc<Faults>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Faults {
    pub fn new(config: FaultConfig) -> Arc<Self> {
        let faults = Arc::new(Self {
            active: Mutex::new(Active {
                config: FaultConfig::default(),
                outage_until: None,
                tokens: 0.0,
                refilled_at: Instant::now(),
            }),
            inflight: AtomicU32::new(0),
            changed: watch::channel(0).0,
        });
        faults.set(config);
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Active> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Replaces the configuration; outage windows start now. Wakes requests hanging in an outage.
    pub fn set(&self, config: FaultConfig) {
        let mut active = self.lock();
        let now = Instant::now();
        // `validate` keeps these in range; the checked forms make an unvalidated config harmless.
        active.outage_until = config
            .outage
            .as_ref()
            .and_then(|o| o.duration_secs)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .and_then(|window| now.checked_add(window));
        active.tokens = config.qps_cap.map_or(0.0, |qps| qps.max(1.0));
        active.refilled_at = now;
        active.config = config;
        drop(active);
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// A receiver that changes whenever the configuration is replaced.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Admits one API request: takes an in-flight slot (kept by the guard) and decides its fate.
    pub fn admit(self: &Arc<Self>, resource: &str) -> (InflightGuard, Verdict) {
        let inflight = self.inflight.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = InflightGuard(self.clone());
        let mut active = self.lock();
        let now = Instant::now();
        if let Some(outage) = &active.config.outage
            && active.outage_until.is_none_or(|until| now < until)
        {
            let verdict = match outage.kind {
                OutageKind::Unavailable => Verdict::Unavailable,
                OutageKind::Hang => Verdict::Hang {
                    until: active.outage_until,
                },
                OutageKind::Reset => Verdict::Reset,
            };
            return (guard, verdict);
        }
        if let Some(qps) = active.config.qps_cap {
            let burst = qps.max(1.0);
            let elapsed_secs = now.duration_since(active.refilled_at).as_secs_f64();
            active.tokens = (active.tokens + elapsed_secs * qps).min(burst);
            active.refilled_at = now;
            if active.tokens < 1.0 {
                return (guard, Verdict::TooManyRequests);
            }
            active.tokens -= 1.0;
        }
        if active.config.max_inflight.is_some_and(|max| inflight > max) {
            return (guard, Verdict::TooManyRequests);
        }
        let mut rng = rand::rng();
        if active.config.error_fraction > 0.0 && rng.random::<f64>() < active.config.error_fraction
        {
            return (guard, Verdict::InternalError);
        }
        let latency = active
            .config
            .latency
            .get(resource)
            .or_else(|| active.config.latency.get("*"));
        let delay_ms = latency.map_or(0.0, |l| l.sample_ms(&mut rng));
        (
            guard,
            Verdict::Proceed {
                delay: Duration::try_from_secs_f64(delay_ms / 1000.0).unwrap_or(Duration::ZERO),
            },
        )
    }
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
