//! `outage`: switches the API server to an outage through its admin endpoint for a window:
//! availability for known (cached) vs new identities, error codes, and time to recover.

use super::{Window, base_summary, measured_phase, offset_us, write};
use crate::apiserver::fault_admin::put_faults;
use crate::loadtest::body::Bodies;
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhasePlan, RequestSpec};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::{burst_offsets, fixed_rate_offsets};
use crate::loadtest::recording::{Outcome, RequestRecord};
use crate::loadtest::summary::METHOD;
use crate::results::{Availability, OutageResult};
use anyhow::{Context as _, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub async fn run(ctx: &Context) -> Result<()> {
    let kube = ctx
        .kube
        .as_ref()
        .context("outage needs --kubeconfig (the stand-in's admin endpoint)")?;
    let known = ctx.credentials.len();
    let rate = ctx.cli.rate;
    let users = ctx.users_for_rate(rate);
    let offsets = fixed_rate_offsets(rate, ctx.duration(), users);
    // Odd requests come from identities never seen before, each used once: minted up front.
    let fresh = offsets.len().div_ceil(2);
    let mut all = ctx.credentials.as_ref().clone();
    all.extend(ctx.credentials_for(known, fresh).await?);
    let target = ctx.target_with(Arc::new(all))?;
    let warm = PhasePlan {
        name: "outage-warmup".into(),
        offsets: burst_offsets(known),
        users: known,
        request: super::round_robin(ctx, known, 21),
    };
    measured_phase(ctx, &target, warm).await?;

    let window = Duration::from_secs_f64(ctx.cli.outage_secs);
    let outage_at =
        Duration::from_secs_f64(ctx.cli.outage_at_secs.unwrap_or(ctx.cli.duration / 3.0));
    let bodies = Arc::new(Bodies::new(ctx.cli.duplicate_fraction, ctx.body_seed(17)));
    let known_n = known.max(1) as u64;
    let plan = PhasePlan {
        name: "outage".into(),
        offsets,
        users,
        request: Arc::new(move |k| RequestSpec {
            identity: if k % 2 == 0 {
                ((k / 2) % known_n) as usize
            } else {
                known + (k / 2) as usize
            },
            body: bodies.body(k),
        }),
    };
    let cpu = CpuWindow::start();
    let faults = async {
        tokio::time::sleep(outage_at).await;
        let outage =
            json!({"outage": {"kind": ctx.cli.outage_kind, "duration_secs": window.as_secs_f64()}});
        put_faults(kube, &outage).await?;
        Ok::<_, anyhow::Error>(SystemTime::now())
    };
    let (m, started) = tokio::join!(measured_phase(ctx, &target, plan), faults);
    // Whatever happened, leave the API server healthy for whoever runs next.
    put_faults(kube, &json!({})).await?;
    let (m, started) = (m?, started?);
    let start_us = offset_us(m.outcome.started_at, started);
    let result = judge(&m.outcome.recording.records, known, start_us, window);
    let mut summary = base_summary(ctx, METHOD, rate, Window::of(&m), &cpu);
    summary.outage = Some(result);
    write(
        ctx,
        &mut summary,
        &m.outcome.recording,
        m.outcome.started_at,
    )
}

fn count(avail: &mut Availability, r: &RequestRecord) {
    avail.requests += 1;
    if r.outcome.is_success() {
        avail.ok += 1;
    }
    let code = match r.outcome {
        Outcome::Status(s) => s.to_string(),
        Outcome::Error(kind) => kind.to_string(),
    };
    *avail.codes.entry(code).or_default() += 1;
}

/// Availability inside the window for known (< `known`) and new identities, recovery after it,
/// and the per-second success ratio.
pub fn judge(
    records: &[RequestRecord],
    known: usize,
    start_us: u64,
    window: Duration,
) -> OutageResult {
    let end_us = start_us + window.as_micros() as u64;
    let mut result = OutageResult {
        window_secs: window.as_secs_f64(),
        ..Default::default()
    };
    let mut per_second: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for r in records {
        let slot = per_second
            .entry(r.intended_offset_us / 1_000_000)
            .or_default();
        slot.0 += 1;
        slot.1 += u64::from(r.outcome.is_success());
        if (start_us..end_us).contains(&r.intended_offset_us) {
            let group = if r.identity < known {
                &mut result.known
            } else {
                &mut result.new
            };
            count(group, r);
        }
    }
    result.recovery_ms = records
        .iter()
        .filter(|r| r.identity >= known && r.intended_offset_us >= end_us && r.outcome.is_success())
        .map(|r| r.completed_offset_us().saturating_sub(end_us) / 1000)
        .min();
    result.timeline = per_second
        .into_iter()
        .map(|(s, (n, ok))| (s as f64, ok as f64 / n.max(1) as f64))
        .collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(identity: usize, at_ms: u64, status: u16) -> RequestRecord {
        RequestRecord {
            identity,
            intended_offset_us: at_ms * 1000,
            latency_us: 2000,
            service_us: 2000,
            send_delay_us: 0,
            outcome: Outcome::Status(status),
        }
    }

    #[test]
    fn splits_known_and_new_inside_the_window() {
        let records = vec![
            rec(0, 100, 201),
            rec(0, 1200, 201),
            rec(5, 1300, 503),
            rec(1, 1400, 202),
            rec(6, 1500, 503),
            rec(7, 2100, 503),
            rec(8, 2300, 201),
        ];
        let r = judge(&records, 2, 1_000_000, Duration::from_secs(1));
        assert_eq!((r.known.requests, r.known.ok), (2, 2));
        assert_eq!((r.new.requests, r.new.ok), (2, 0));
        assert_eq!(r.new.codes["503"], 2);
        assert_eq!(r.recovery_ms, Some(302));
        assert_eq!(r.timeline.len(), 3);
        assert_eq!(r.timeline[2], (2.0, 0.5));
    }
}
