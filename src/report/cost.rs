//! What authentication costs beyond the steady state: TLS handshakes per connection policy,
//! and the cold-cache burst (many identities arriving at once).

use super::figures;
use super::markup::{esc, table};
use super::numfmt;
use crate::results::{Results, Scenario};

fn per_request(handshakes: u64, requests: u64) -> String {
    if requests > 0 {
        format!("{:.2}", handshakes as f64 / requests as f64)
    } else {
        "n/a".into()
    }
}

/// Handshake runs: per mode and connection policy.
fn handshake_rows(results: &Results) -> Vec<Vec<String>> {
    figures::modes(results)
        .into_iter()
        .flat_map(|mode| {
            figures::runs_of(results, Scenario::Handshake, &mode)
                .flat_map(|(run, load)| {
                    // loadtest's handshake scenario measures both policies in one run.
                    if let Some(h) = &load.handshake {
                        return [
                            ("keepalive", &h.keepalive_latency_us, h.keepalive_handshakes),
                            (
                                "new-connection",
                                &h.new_connection_latency_us,
                                h.new_connection_handshakes,
                            ),
                        ]
                        .into_iter()
                        .map(|(connection, latency, handshakes)| {
                            vec![
                                esc(&format!("{mode} ({})", h.credential)),
                                esc(connection),
                                "n/a".into(),
                                esc(&numfmt::latency_us(latency.p50)),
                                esc(&numfmt::latency_us(latency.p99)),
                                numfmt::int(handshakes as f64),
                                per_request(handshakes, latency.count),
                                "n/a".into(),
                            ]
                        })
                        .collect::<Vec<_>>();
                    }
                    let connection = run
                        .params
                        .get("connection")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| load.connection.clone());
                    vec![vec![
                        esc(&mode),
                        esc(&connection),
                        numfmt::rps(load.achieved_rps),
                        esc(&numfmt::latency_us(load.latency_us.p50)),
                        esc(&numfmt::latency_us(load.latency_us.p99)),
                        numfmt::int(run.server().tls_handshakes.unwrap_or(0) as f64),
                        per_request(
                            run.server().tls_handshakes.unwrap_or(0),
                            figures::requests(load),
                        ),
                        numfmt::opt(figures::cpu_ms_per_1000(run, load), |v| {
                            format!("{v:.1} ms")
                        }),
                    ]]
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Cold-burst runs: how many reviews a burst of new identities costs and how long it takes.
fn cold_burst_rows(results: &Results) -> Vec<Vec<String>> {
    figures::modes(results)
        .into_iter()
        .flat_map(|mode| {
            figures::runs_of(results, Scenario::ColdBurst, &mode)
                .filter_map(|(_, load)| load.cold_burst.clone())
                .map(|c| {
                    let per_identity = |n: u64| {
                        if c.identities > 0 {
                            format!("{:.2}", n as f64 / c.identities as f64)
                        } else {
                            "n/a".into()
                        }
                    };
                    vec![
                        esc(&mode),
                        numfmt::int(c.concurrency as f64),
                        numfmt::int(c.identities as f64),
                        per_identity(c.tokenreviews),
                        per_identity(c.subjectaccessreviews),
                        esc(&numfmt::latency_us(c.latency_us.p50)),
                        esc(&numfmt::latency_us(c.latency_us.p99)),
                    ]
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Both tables as an HTML fragment (nothing when neither scenario ran).
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let handshakes = handshake_rows(results);
    if !handshakes.is_empty() {
        out.push_str("<h3>TLS handshake cost</h3>");
        out.push_str(&table(
            "modes",
            &[
                "mode",
                "connection",
                "achieved RPS",
                "p50",
                "p99",
                "handshakes",
                "handshakes per request",
                "gateway CPU per 1,000 req",
            ],
            &handshakes,
        ));
    }
    let bursts = cold_burst_rows(results);
    if !bursts.is_empty() {
        out.push_str("<h3>Cold-cache burst</h3>");
        out.push_str(&table(
            "modes",
            &[
                "mode",
                "concurrent requests",
                "new identities",
                "TokenReviews per identity",
                "SubjectAccessReviews per identity",
                "p50",
                "p99",
            ],
            &bursts,
        ));
        out.push_str(
            "<p class=\"note\">One review per identity means concurrent first requests of the \
             same identity were coalesced; more means each waiting request asked the API server.</p>",
        );
    }
    out
}
