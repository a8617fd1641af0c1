//! The report section "What the API server costs": each probed server's sequential TokenReview+SAR
//! latency and the concurrent bursts at client-side QPS/burst limits, side by side.

use super::markup::{esc, table};
use crate::apiprobe::{Burst, Probe};

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn burst_label(burst: &Burst) -> String {
    format!(
        "{} concurrent, client QPS {} / burst {}",
        burst.concurrency, burst.client_qps, burst.client_burst
    )
}

/// The section as HTML (`""` when nothing was probed). Pure: from probe results to markup.
pub fn section(probes: &[Probe]) -> String {
    if probes.is_empty() {
        return String::new();
    }
    let sequential: Vec<Vec<String>> = probes
        .iter()
        .map(|p| {
            vec![
                esc(&p.server),
                p.sequential_pair_us.count.to_string(),
                ms(p.sequential_pair_us.p50),
                ms(p.sequential_pair_us.p95),
                ms(p.sequential_pair_us.p99),
                ms(p.sequential_tokenreview_us.p50),
                format!("{:.0}/s", p.sequential_tokenreviews_per_sec),
            ]
        })
        .collect();
    let bursts: Vec<Vec<String>> = probes
        .iter()
        .flat_map(|p| p.bursts.iter().map(move |b| (p, b)))
        .map(|(p, b)| {
            vec![
                esc(&p.server),
                esc(&burst_label(b)),
                ms(b.latency_us.p50),
                ms(b.latency_us.p99),
                ms(b.wall_ms * 1000),
                format!("{:.0}/s", b.pairs_per_sec),
                b.errors.to_string(),
            ]
        })
        .collect();
    let mut out = String::from("<section id=\"apiserver-cost\"><h2>What the API server costs</h2>");
    out.push_str(
        "<p>TokenReview then SubjectAccessReview, as the uncached gateway makes them, through the \
         gateway's own kube client. Sequential: one pair at a time, no client limit. Bursts: all pairs \
         started at once behind the client-side rate limiter (the envtest experiment); latency counts \
         from the burst's start, so limiter waits are included.</p>",
    );
    out.push_str(&table(
        "apiprobe-sequential",
        &[
            "server",
            "pairs",
            "pair p50",
            "pair p95",
            "pair p99",
            "TokenReview p50",
            "TokenReviews (sequential)",
        ],
        &sequential,
    ));
    out.push_str(&table(
        "apiprobe-bursts",
        &["server", "burst", "p50", "p99", "wall", "pairs", "errors"],
        &bursts,
    ));
    out.push_str("</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiprobe::LatencyUs;

    fn probe(server: &str, p95: u64) -> Probe {
        Probe {
            server: server.into(),
            sequential_pair_us: LatencyUs {
                count: 500,
                p50: 900,
                p95,
                p99: 1700,
                max: 2400,
                mean: 1100.0,
            },
            sequential_tokenreview_us: LatencyUs {
                count: 500,
                p50: 488,
                ..LatencyUs::default()
            },
            sequential_tokenreviews_per_sec: 1701.4,
            bursts: vec![Burst {
                client_qps: 50.0,
                client_burst: 100,
                concurrency: 200,
                latency_us: LatencyUs {
                    p50: 4_003_839,
                    p99: 5_963_775,
                    ..LatencyUs::default()
                },
                wall_ms: 6003,
                pairs_per_sec: 33.3,
                errors: 0,
            }],
        }
    }

    #[test]
    fn renders_both_servers_side_by_side() {
        let html = section(&[
            probe("stand-in", 1591),
            probe("kube-apiserver <v1.37.2>", 2553),
        ]);
        assert!(html.starts_with("<section id=\"apiserver-cost\">"));
        assert!(
            html.contains("<td>stand-in</td><td>500</td><td>0.90 ms</td><td>1.59 ms</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>kube-apiserver &lt;v1.37.2&gt;</td>"),
            "not escaped: {html}"
        );
        assert!(
            html.contains("<td>200 concurrent, client QPS 50 / burst 100</td><td>4003.84 ms</td>"),
            "{html}"
        );
        assert!(html.contains("<td>1701/s</td>"));
        assert_eq!(
            html.matches("<tr>").count(),
            2 + 2 + 2,
            "header rows + one row per server per table"
        );
        assert_eq!(section(&[]), "");
    }
}
