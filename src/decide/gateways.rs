//! The gateway processes of a run: their flags, start-up (listening line, PID), pinning, stop.

use super::error::{Error, Result};
use super::plan::RunPlan;
use super::process::{Managed, Spec};
use super::runner::{Context, slug};
use crate::affinity::PIN_CPU_ENV;
use super::mode::Mode;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A local gateway process of one mode.
pub struct LocalGateway {
    pub mode: Mode,
    pub process: Managed,
    pub pid: u32,
    pub url: String,
    pub metrics_url: String,
    pub log: PathBuf,
}

impl LocalGateway {
    /// Starts `mode`'s gateway for `plan` (pinned to the gateway core when pinning).
    pub async fn start(
        ctx: &Context,
        plan: &RunPlan,
        mode: Mode,
        crl: Option<&Path>,
    ) -> Result<LocalGateway> {
        let log = ctx
            .logs_dir
            .join(format!("{}-gateway-{}.log", slug(&plan.id), mode.as_str()));
        let mut spec = Spec::new("gateway", &ctx.gatebench, args(ctx, plan, mode, crl), &log);
        if let Some((cpu, _)) = ctx.pin {
            spec = spec.env(PIN_CPU_ENV, cpu.to_string());
        }
        let (process, listening) = Managed::start_listening(&spec, GATEWAY_START_TIMEOUT).await?;
        let url = listening_str(&listening, "url")?;
        let metrics_url = listening
            .get("metrics_url")
            .and_then(|v| v.as_str())
            .unwrap_or(&url)
            .to_string();
        let pid = process.pid().ok_or_else(|| Error::NoPid {
            name: format!("the {} gateway", mode.as_str()),
            log: log.clone(),
        })?;
        Ok(LocalGateway {
            mode,
            process,
            pid,
            url,
            metrics_url,
            log,
        })
    }

    /// Fails when the process is gone (a crash mid-run is the run's failure, named first).
    pub fn check_alive(&mut self) -> Result<()> {
        match self.process.exit_status() {
            Some(_) => Err(Error::GatewayExited {
                mode: self.mode.as_str().into(),
                log: self.log.clone(),
            }),
            None => Ok(()),
        }
    }

    pub async fn stop(self) {
        self.process.stop(Duration::from_secs(5)).await;
    }
}

fn listening_str(value: &serde_json::Value, key: &'static str) -> Result<String> {
    value
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::ListeningLine {
            name: "gateway".into(),
            key,
            line: value.to_string(),
        })
}

/// The `gatebench gateway` flags of `mode` in `plan`.
pub fn args(ctx: &Context, plan: &RunPlan, mode: Mode, crl: Option<&Path>) -> Vec<String> {
    let pki = &ctx.prepared.pki_dir;
    let path = |p: PathBuf| p.display().to_string();
    let mut args: Vec<String> = vec![
        "gateway".into(),
        "--kubeconfig".into(),
        path(ctx.prepared.gateway_kubeconfig.clone()),
        "--auth".into(),
        mode.as_str().into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--metrics-listen".into(),
        "127.0.0.1:0".into(),
        "--namespace".into(),
        ctx.prepared.gateway_namespace.clone(),
        // Every mode serves TLS: bearer tokens belong on TLS in a fair comparison.
        "--tls-cert".into(),
        path(pki.join("server.pem")),
        "--tls-key".into(),
        path(pki.join("server-key.pem")),
    ];
    if matches!(mode, Mode::Mtls | Mode::Hybrid) {
        args.extend(["--client-ca".into(), path(pki.join("ca.pem"))]);
    }
    if let Some(crl) = crl {
        args.extend(["--crl".into(), path(crl.to_path_buf())]);
    }
    args.extend(super::profile::gateway_ttl_args(plan.ttl_scale));
    args.extend(plan.gateway_args.iter().cloned());
    args
}
