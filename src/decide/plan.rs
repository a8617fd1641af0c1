//! One planned run of the matrix: what it measures, which gateways it starts and the scenario's
//! loadtest flags (typed; the runner adds host, credentials, outputs and counter sources).

use super::mode::Mode;
use crate::loadtest::cli::Cli;
use crate::results::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;

/// How the load identities present themselves to a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// ServiceAccount tokens minted through TokenRequest.
    Bearer,
    /// Client certificates from the PKI directory.
    ClientCert,
}

impl Credentials {
    /// mtls needs certificates; hybrid is measured on its bearer path, every other mode too.
    pub fn of(mode: Mode) -> Credentials {
        match mode {
            Mode::Mtls => Credentials::ClientCert,
            _ => Credentials::Bearer,
        }
    }
}

/// One planned run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub id: String,
    pub scenario: Scenario,
    /// The gateways the run starts: one mode, or every mode of a paired comparison.
    pub modes: Vec<Mode>,
    pub offered_rps: f64,
    /// Planned timed window (the bar's length).
    pub duration_secs: f64,
    pub identities: u64,
    /// How much faster than real time the gateways' TTLs run (the profile's scale, or 1 where a
    /// run needs the real-time hit ratio).
    pub ttl_scale: f64,
    /// The gateway's Kubernetes client limits (QPS, burst), each gateway in its own flags;
    /// None = its defaults.
    pub client_qps: Option<(u32, u32)>,
    /// The scenario's loadtest flags.
    pub load: Cli,
    /// Needs the stand-in's fault admin endpoint (skipped on a real cluster; faults reset after).
    pub needs_stand_in: bool,
    /// The gateway gets a CRL file the scenario may rewrite.
    pub needs_crl: bool,
    pub params: BTreeMap<String, Value>,
}

impl RunPlan {
    /// The run's (first) mode.
    pub fn mode(&self) -> Mode {
        self.modes[0]
    }

    /// Several gateways measured in interleaved rounds (one record per mode comes out).
    pub fn is_paired(&self) -> bool {
        self.load.scenario == Scenario::Paired
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::of(self.mode())
    }
}
