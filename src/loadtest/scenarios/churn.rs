//! `churn`: a chosen fraction of requests come from never-seen identities (minted before the
//! timed window): token-cache hit ratio and TokenReviews per churn level, and the churn at
//! which the hit ratio falls below 95%.

use super::{Window, base_summary, measured_phase, write};
use crate::counters::Counters;
use crate::loadtest::body::Bodies;
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhasePlan, RequestSpec};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::{burst_offsets, fixed_rate_offsets};
use crate::loadtest::recording::Recording;
use crate::loadtest::summary::METHOD;
use crate::results::ChurnPoint;
use crate::results::ServerCounts;
use anyhow::{Result, bail};
use std::sync::Arc;
use std::time::Duration;

const HIT_RATIO_TARGET: f64 = 0.95;

/// Whether request `k` of a level with churn `fraction` is a fresh identity, and which one
/// (0-based among that level's fresh identities).
pub fn fresh_index(k: u64, fraction: f64) -> Option<u64> {
    let before = (k as f64 * fraction).floor() as u64;
    let after = ((k + 1) as f64 * fraction).floor() as u64;
    (after > before).then_some(before)
}

pub async fn run(ctx: &Context) -> Result<()> {
    let levels = ctx.cli.churn_levels.clone();
    if levels.iter().any(|l| !(0.0..=1.0).contains(l)) {
        bail!("--churn-levels must lie in 0..=1");
    }
    let known = ctx.credentials.len();
    let rate = ctx.cli.rate;
    let users = ctx.users_for_rate(rate);
    let per_level = fixed_rate_offsets(rate, ctx.duration(), users);
    let fresh_per_level: Vec<usize> = levels
        .iter()
        .map(|l| (per_level.len() as f64 * l).ceil() as usize)
        .collect();
    // Every fresh identity is minted before any timed window.
    let fresh_total: usize = fresh_per_level.iter().sum();
    let mut all = ctx.credentials.as_ref().clone();
    all.extend(ctx.credentials_for(known, fresh_total).await?);
    let target = ctx.target_with(Arc::new(all))?;

    // Warm-up: every known identity once, so level 0 measures a warm cache.
    let warm = PhasePlan {
        name: "churn-warmup".into(),
        offsets: burst_offsets(known),
        users: known,
        request: super::round_robin(ctx, known, 99),
    };
    measured_phase(ctx, &target, warm).await?;

    let cpu = CpuWindow::start();
    let before_all = Counters::scrape(&ctx.sources).await?;
    let mut combined = Recording::default();
    let mut offset = Duration::ZERO;
    let mut started_at = None;
    let mut points = Vec::new();
    let mut next_fresh = known;
    for (level, fraction) in levels.iter().copied().enumerate() {
        let bodies = Arc::new(Bodies::new(
            ctx.cli.duplicate_fraction,
            ctx.body_seed(100 + level as u64),
        ));
        let base = next_fresh;
        let known_n = known.max(1) as u64;
        let plan = PhasePlan {
            name: format!("churn-{fraction}"),
            offsets: per_level.clone(),
            users,
            request: Arc::new(move |k| RequestSpec {
                identity: match fresh_index(k, fraction) {
                    Some(i) => base + i as usize,
                    None => (k % known_n) as usize,
                },
                body: bodies.body(k),
            }),
        };
        next_fresh += fresh_per_level[level];
        let m = measured_phase(ctx, &target, plan).await?;
        points.push(point(
            fraction,
            &m.server,
            m.outcome.recording.records.len(),
        ));
        started_at.get_or_insert(m.outcome.started_at);
        combined.absorb(m.outcome.recording, offset);
        offset += m.outcome.elapsed;
    }
    let after_all = Counters::scrape(&ctx.sources).await?;
    let d = after_all.since(&before_all);
    let window = Window {
        recording: &combined,
        elapsed: offset,
        users,
        server: &d,
    };
    let mut summary = base_summary(ctx, METHOD, rate, window, &cpu);
    summary.churn_at_95 = points
        .iter()
        .find(|p| p.token_hit_ratio < HIT_RATIO_TARGET)
        .map(|p| p.churn_fraction);
    summary.churn = points;
    write(
        ctx,
        &mut summary,
        &combined,
        started_at.unwrap_or_else(std::time::SystemTime::now),
    )
}

/// One level's figures. The hit ratio is the gateway's own (its /metrics); a gateway without
/// gatebench's metrics (kube-rbac-proxy, an external one) gets it from the API server's exact
/// TokenReview count instead: one review per miss.
fn point(fraction: f64, d: &ServerCounts, requests: usize) -> ChurnPoint {
    let reviews = d.tokenreviews();
    let from_api_server = reviews
        .filter(|_| requests > 0)
        .map(|n| 1.0 - (n as f64 / requests as f64).min(1.0));
    ChurnPoint {
        churn_fraction: fraction,
        requests: requests as u64,
        token_hit_ratio: d
            .token_cache
            .as_ref()
            .and_then(|c| c.hit_ratio())
            .or(from_api_server)
            .unwrap_or(0.0),
        tokenreviews: reviews.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_gateway_metrics_the_hit_ratio_comes_from_the_api_servers_reviews() {
        // The API server was scraped (its throttling counter is present), the gateway was not.
        let mut d = ServerCounts {
            apiserver_throttled: Some(0),
            ..Default::default()
        };
        d.apiserver_calls.insert("tokenreviews".into(), 20);
        assert!((point(0.1, &d, 200).token_hit_ratio - 0.9).abs() < 1e-12);
        assert_eq!(
            point(0.1, &ServerCounts::default(), 200).token_hit_ratio,
            0.0
        );
        d.token_cache = Some(crate::results::CacheCounts { hits: 3, misses: 1 });
        assert_eq!(
            point(0.1, &d, 200).token_hit_ratio,
            0.75,
            "the gateway's own first"
        );
    }

    #[test]
    fn fresh_fraction_is_exact() {
        let fresh: Vec<u64> = (0..1000).filter_map(|k| fresh_index(k, 0.05)).collect();
        assert_eq!(fresh.len(), 50);
        assert_eq!(
            fresh,
            (0..50).collect::<Vec<_>>(),
            "each fresh identity used once"
        );
        assert_eq!((0..100).filter_map(|k| fresh_index(k, 0.0)).count(), 0);
        assert_eq!((0..100).filter_map(|k| fresh_index(k, 1.0)).count(), 100);
    }
}
