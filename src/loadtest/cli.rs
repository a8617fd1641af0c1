//! `loadtest` flags: gatebench's own, with goose's whole command line flattened in beside them.

use crate::results::Scenario;
use clap::{Parser, ValueEnum};
use goose::config::GooseConfiguration;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    Steady,
    Saturation,
    Churn,
    ColdBurst,
    Revocation,
    Outage,
    Throttle,
    Handshake,
}

impl ScenarioName {
    pub fn scenario(self) -> Scenario {
        match self {
            ScenarioName::Steady => Scenario::Steady,
            ScenarioName::Saturation => Scenario::Saturation,
            ScenarioName::Churn => Scenario::Churn,
            ScenarioName::ColdBurst => Scenario::ColdBurst,
            ScenarioName::Revocation => Scenario::Revocation,
            ScenarioName::Outage => Scenario::Outage,
            ScenarioName::Throttle => Scenario::Throttle,
            ScenarioName::Handshake => Scenario::Handshake,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevokeMethod {
    /// Delete the identity's ServiceAccount (bearer tokens).
    Sa,
    /// Write a CRL revoking the identity's client certificate (mtls; gateway started with --crl).
    Crl,
}

/// Load scenarios against a gatebench gateway, measuring latency from the intended send time.
/// goose's own flags (`--host`, `--users`, `--report-file`, `--threshold`, ...) work as usual.
#[derive(Debug, Parser)]
#[command(name = "loadtest", disable_version_flag = true)]
pub struct Cli {
    /// Scenario to run.
    #[arg(long, value_enum)]
    pub scenario: ScenarioName,
    /// Where to write the LoadSummary JSON.
    #[arg(long)]
    pub summary_out: PathBuf,
    /// Where to write the HdrHistogram V2+Deflate interval log (one interval per second and status class).
    #[arg(long)]
    pub histogram_out: Option<PathBuf>,
    /// Offered rate in requests per second (fixed-rate scenarios).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Length of the timed window in seconds (per phase or step where a scenario has several).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Number of identities (ServiceAccounts load-0..N-1, tokens or client certificates).
    #[arg(long, default_value_t = 10)]
    pub identities: usize,
    /// Admin kubeconfig: mints tokens, scrapes the API server's /metrics, drives faults.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of the load ServiceAccounts.
    #[arg(long, default_value = "gatebench-load")]
    pub namespace: String,
    /// Before minting, create the gateway RBAC (namespaces, gateway SA, ClusterRole
    /// gatebench-signal-source bound to every SA of --namespace) through --kubeconfig.
    #[arg(long, requires = "kubeconfig")]
    pub setup_rbac: bool,
    /// Bearer tokens, one per line (instead of minting).
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,
    /// `gatebench pki` directory: use client-N.pem / client-N-key.pem as client certificates.
    #[arg(long)]
    pub pki_dir: Option<PathBuf>,
    /// CA certificate (PEM) of the gateway's TLS listener.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Gateway metrics URL (cache hit ratios, TLS handshakes, throttle wait).
    #[arg(long)]
    pub gateway_metrics: Option<String>,
    /// New connection (and TLS handshake) for every request instead of keep-alive.
    #[arg(long)]
    pub new_connection: bool,
    /// Fraction of requests repeating an earlier alert exactly (dedup hits, 202).
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_fraction: f64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub request_timeout_secs: f64,
    /// saturation: first rate step (RPS).
    #[arg(long, default_value_t = 100.0)]
    pub start_rate: f64,
    /// saturation: stop after this rate (RPS).
    #[arg(long, default_value_t = 20000.0)]
    pub max_rate: f64,
    /// saturation: each step multiplies the rate by this.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// saturation: p99 SLO in microseconds a step must hold.
    #[arg(long, default_value_t = 2000)]
    pub slo_p99_us: u64,
    /// churn: fractions of requests from never-seen identities, one level each.
    #[arg(long, value_delimiter = ',', default_value = "0,0.01,0.05,0.1,0.25")]
    pub churn_levels: Vec<f64>,
    /// cold-burst / throttle: concurrent requests in the burst.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// revocation: how to revoke identity 0.
    #[arg(long, value_enum, default_value = "sa")]
    pub revoke: RevokeMethod,
    /// revocation: seconds into the window at which to revoke.
    #[arg(long)]
    pub revoke_after_secs: Option<f64>,
    /// revocation --revoke crl: the CRL file the gateway reads (its --crl).
    #[arg(long)]
    pub crl_out: Option<PathBuf>,
    /// outage: seconds into the window at which the outage starts.
    #[arg(long)]
    pub outage_at_secs: Option<f64>,
    /// outage: length of the outage window in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub outage_secs: f64,
    /// outage: unavailable (503), hang or reset.
    #[arg(long, default_value = "unavailable")]
    pub outage_kind: String,
    /// throttle: set the API server stand-in's max in-flight requests for the run.
    #[arg(long)]
    pub apiserver_max_inflight: Option<u32>,
    #[command(flatten)]
    pub goose: GooseConfiguration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goose_flags_parse_beside_ours() {
        let cli = Cli::try_parse_from([
            "loadtest",
            "--scenario",
            "cold-burst",
            "--summary-out",
            "s.json",
            "--host",
            "http://127.0.0.1:1",
            "--users",
            "7",
            "--report-file",
            "r.json",
            "--churn-levels",
            "0,0.5",
        ])
        .unwrap();
        assert_eq!(cli.scenario, ScenarioName::ColdBurst);
        assert_eq!(cli.goose.users, Some(7));
        assert_eq!(cli.goose.host.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(cli.goose.report_file, vec!["r.json".to_string()]);
        assert_eq!(cli.churn_levels, vec![0.0, 0.5]);
    }
}
