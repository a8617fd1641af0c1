//! Projections to rates and identity counts never run: API calls per second from the API-call
//! model (real-time TTLs), gateway cores from the measured CPU per request, and the latency cost
//! measured nearest to the rate; and which resource limits each mode first.

use super::markup::{esc, table};
use super::{figures, numfmt};
use crate::results::{Estimate, Results};
use crate::stats::api_model::{Workload, calls_per_sec, mode_apis};

/// The rates the design note draws its lines at.
pub const NOTE_RATES: [f64; 3] = [100.0, 1_000.0, 10_000.0];

/// One projected cell: calls per second (by the largest identity count) and cores.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub mode: String,
    pub rps: f64,
    pub identities: u64,
    pub api_calls_per_sec: f64,
    pub cores: Option<Estimate>,
    /// Cores from the CPU per request at the highest saturation step carried (no interval).
    pub cores_at_load: Option<f64>,
}

/// Every mode with a CPU measurement, at every note rate and identity count.
pub fn projections(r: &Results) -> Vec<Projection> {
    let s = &r.settings;
    let mut out = Vec::new();
    for mode in figures::modes(r) {
        let apis = mode_apis(&mode, s.token_ttl_secs_real, s.sar_ttl_secs_real);
        let cpu = figures::cpu_per_request(r, &mode).map(|(_, e)| e);
        let ramp_cpu = figures::ramp_cpu_per_request(r, &mode).map(|(_, us)| us);
        if apis.is_empty() && cpu.is_none() {
            continue;
        }
        for rps in NOTE_RATES {
            for &identities in &s.identities {
                let w = Workload {
                    rps,
                    identities: identities as f64,
                    churn_fraction: 0.0,
                };
                out.push(Projection {
                    mode: mode.clone(),
                    rps,
                    identities,
                    api_calls_per_sec: apis.iter().map(|(_, api)| calls_per_sec(*api, &w)).sum(),
                    cores: cpu.map(|c| c.scaled(rps / 1e6)),
                    cores_at_load: ramp_cpu.map(|us| us * rps / 1e6),
                });
            }
        }
    }
    out
}

fn cores_text(e: &Estimate) -> String {
    format!("{:.3} ({:.3} to {:.3})", e.value, e.lo, e.hi)
}

/// What runs out first for a mode at a rate: a whole core of gateway CPU, or API calls beyond
/// the client-side budget a gateway is usually given (client-go's default QPS 50 is the bar).
fn first_limit(p: &Projection) -> String {
    const CLIENT_QPS: f64 = 50.0;
    let cpu = p.cores_at_load.or(p.cores.map(|c| c.value)).unwrap_or(0.0);
    let api = p.api_calls_per_sec / CLIENT_QPS;
    if cpu < 0.5 && api < 0.5 {
        "nothing near its limit".into()
    } else if api >= cpu {
        format!(
            "API-server calls ({:.0}/s, {:.0}% of a QPS-50 client)",
            p.api_calls_per_sec,
            api * 100.0
        )
    } else {
        format!("gateway CPU ({:.0}% of a core)", cpu * 100.0)
    }
}

pub fn render(r: &Results) -> String {
    let all = projections(r);
    if all.is_empty() {
        return String::new();
    }
    // One row per mode and rate; the identity counts side by side, the limit for the largest.
    let mut rows: Vec<Vec<String>> = Vec::new();
    for group in all.chunk_by(|a, b| a.mode == b.mode && a.rps == b.rps) {
        let last = &group[group.len() - 1];
        let calls: Vec<String> = group
            .iter()
            .map(|p| format!("{:.2}", p.api_calls_per_sec))
            .collect();
        rows.push(vec![
            esc(&last.mode),
            numfmt::rps(last.rps),
            calls.join(" / "),
            esc(&numfmt::opt(last.cores.as_ref(), cores_text)),
            numfmt::opt(last.cores_at_load, |c| format!("{c:.3}")),
            esc(&first_limit(last)),
        ]);
    }
    let ids: Vec<String> = r
        .settings
        .identities
        .iter()
        .map(|n| numfmt::int(*n as f64))
        .collect();
    let calls_header = format!(
        "auth API calls per second for {} identities",
        ids.join(" / ")
    );
    let cost_note: Vec<String> = r
        .comparisons
        .iter()
        .map(|c| {
            let costs: Vec<String> = c
                .modes
                .iter()
                .filter_map(|m| {
                    let p99 = m.cost_us.as_ref()?.p99.as_ref()?;
                    Some(format!("{} {}", m.mode, numfmt::cost_us(p99)))
                })
                .collect();
            format!(
                "at {} RPS: {}",
                numfmt::rps(c.offered_rps),
                costs.join(", ")
            )
        })
        .collect();
    format!(
        "<p>Projected, not measured: API calls per second follow the API-call model with \
         real-time TTLs (token {}, SubjectAccessReview {}; each known identity costs one call \
         per TTL per API, no churn), and gateway cores are the rate times the CPU per request \
         measured in the paired rounds (with its interval; at the paired rates a request also \
         carries wake-up and timer overhead, so this is the pessimistic figure) and, beside it, \
         the CPU per request at the highest saturation step the mode carried (one step, no \
         interval; the first-limit column uses it when present). Latency cost is not projected: \
         measured p99 costs over the floor were {}. Per-core figures assume one gateway process \
         scales to a core; TLS handshakes of new connections (handshake scenario) come on top \
         for mTLS.</p>{}",
        numfmt::secs(r.settings.token_ttl_secs_real),
        numfmt::secs(r.settings.sar_ttl_secs_real),
        esc(&cost_note.join("; ")),
        table(
            "modes",
            &[
                "mode",
                "RPS",
                &calls_header,
                "gateway cores, paired CPU (95% CI)",
                "gateway cores, CPU at the ramp's top step",
                "limits first (largest identity count)",
            ],
            &rows
        )
    )
}
