//! The gateway processes of a run: their flags, start-up (listening line or accepting port,
//! PID), pinning, stop. kube-rbac-proxy runs as a mode: the proxy in front of the no-auth
//! reference gateway.

use super::error::{Error, Result};
use super::mode::Mode;
use super::plan::RunPlan;
use super::process::{Managed, Spec};
use super::runner::{Context, slug};
use crate::affinity::PIN_CPU_ENV;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A gateway the user runs (`--gateway external:URL`): driven and measured, never started or
/// stopped by decide.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    pub url: String,
    /// Its Prometheus metrics, if it has gatebench's (cache and TLS counters); None = those
    /// figures are not measured.
    pub metrics_url: Option<String>,
    /// Its process on this machine, for CPU per request.
    pub pid: Option<u32>,
}

/// A gateway of one mode: the reference gateway, kube-rbac-proxy with the no-auth reference
/// gateway behind it as its upstream, or the user's own (external).
pub struct LocalGateway {
    pub mode: Mode,
    /// Every process decide started for the mode, the one clients reach first.
    processes: Vec<(Managed, PathBuf)>,
    /// The process clients reach (the gateway, or the proxy); none for an external gateway
    /// started without `--gateway-pid`.
    pub pids: Vec<u32>,
    /// The app behind a proxy.
    pub upstream_pid: Option<u32>,
    pub url: String,
    /// The reference gateway's metrics (None for kube-rbac-proxy, whose API calls are counted
    /// at the API server).
    pub metrics_url: Option<String>,
}

/// A started `gatebench gateway`.
struct Started {
    process: Managed,
    pid: u32,
    url: String,
    metrics_url: String,
    log: PathBuf,
}

impl LocalGateway {
    /// Starts `mode`'s gateway for `plan` (pinned to the gateway core when pinning).
    pub async fn start(
        ctx: &Context,
        plan: &RunPlan,
        mode: Mode,
        crl: Option<&Path>,
    ) -> Result<LocalGateway> {
        match mode {
            Mode::KubeRbacProxy => return start_kube_rbac_proxy(ctx, plan).await,
            Mode::External => {
                let e = ctx.external.as_ref().ok_or(Error::ExternalNotGiven)?;
                return Ok(LocalGateway {
                    mode,
                    processes: Vec::new(),
                    pids: e.pid.into_iter().collect(),
                    upstream_pid: None,
                    url: e.url.clone(),
                    metrics_url: e.metrics_url.clone(),
                });
            }
            _ => {}
        }
        let g = start_gateway(ctx, plan, mode, crl, mode.as_str()).await?;
        Ok(LocalGateway {
            mode,
            pids: vec![g.pid],
            upstream_pid: None,
            url: g.url,
            metrics_url: Some(g.metrics_url),
            processes: vec![(g.process, g.log)],
        })
    }

    /// Every process's PID, the upstream's last.
    pub fn all_pids(&self) -> Vec<u32> {
        self.pids.iter().copied().chain(self.upstream_pid).collect()
    }

    /// Fails when a process is gone (a crash mid-run is the run's failure, named first).
    pub fn check_alive(&mut self) -> Result<()> {
        for (process, log) in &mut self.processes {
            if process.exit_status().is_some() {
                return Err(Error::GatewayExited {
                    mode: self.mode.as_str().into(),
                    log: log.clone(),
                });
            }
        }
        Ok(())
    }

    pub async fn stop(self) {
        for (process, _) in self.processes {
            process.stop(Duration::from_secs(5)).await;
        }
    }
}

async fn start_gateway(
    ctx: &Context,
    plan: &RunPlan,
    mode: Mode,
    crl: Option<&Path>,
    label: &str,
) -> Result<Started> {
    let log = ctx
        .logs_dir
        .join(format!("{}-gateway-{label}.log", slug(&plan.id)));
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
        name: format!("the {label} gateway"),
        log: log.clone(),
    })?;
    Ok(Started {
        process,
        pid,
        url,
        metrics_url,
        log,
    })
}

/// kube-rbac-proxy on a free loopback port in front of `gatebench gateway --auth none`, both on
/// the gateway core.
async fn start_kube_rbac_proxy(ctx: &Context, plan: &RunPlan) -> Result<LocalGateway> {
    let program = ctx
        .kube_rbac_proxy
        .clone()
        .ok_or(Error::KubeRbacProxyNotLocated)?;
    let upstream = start_gateway(ctx, plan, Mode::None, None, "kube-rbac-proxy-upstream").await?;
    let config = ctx
        .runs_dir
        .join(format!("{}-kube-rbac-proxy.yaml", slug(&plan.id)));
    std::fs::write(
        &config,
        kube_rbac_proxy_config(&ctx.prepared.gateway_namespace),
    )
    .map_err(|source| Error::Write {
        path: config.clone(),
        source,
    })?;
    let log = ctx
        .logs_dir
        .join(format!("{}-kube-rbac-proxy.log", slug(&plan.id)));
    // The port is found free by binding it and letting go; another process could take it in
    // between, so a proxy that exits at start-up is tried once more on a new port.
    let mut last = None;
    for _ in 0..2 {
        let port = crate::kubeapiserver::supervisor::free_loopback_port()
            .map_err(|source| Error::FreePort { source })?;
        let args = kube_rbac_proxy_args(ctx, plan, port, &upstream.url, &config);
        let spec = Spec::new("kube-rbac-proxy", &program, args, &log);
        let mut process = Managed::start(&spec)?;
        match wait_accepting(&mut process, port).await {
            Ok(()) => {
                let pid = process.pid().ok_or_else(|| Error::NoPid {
                    name: "kube-rbac-proxy".into(),
                    log: log.clone(),
                })?;
                if let Some((cpu, _)) = ctx.pin {
                    // A Go program does not read PIN_CPU_ENV: its threads are pinned from here,
                    // once it serves (later threads inherit the pin).
                    crate::affinity::pin_process(pid, cpu)
                        .map_err(|source| Error::Pin { pid, source })?;
                }
                return Ok(LocalGateway {
                    mode: Mode::KubeRbacProxy,
                    pids: vec![pid],
                    upstream_pid: Some(upstream.pid),
                    url: format!("https://127.0.0.1:{port}"),
                    metrics_url: None,
                    processes: vec![(process, log), (upstream.process, upstream.log)],
                });
            }
            Err(e) => {
                process.stop(Duration::from_secs(2)).await;
                last = Some(e);
            }
        }
    }
    upstream.process.stop(Duration::from_secs(5)).await;
    Err(last.expect("tried at least once"))
}

/// Polls until `port` accepts on loopback, failing when the process exits or after the start-up
/// timeout.
async fn wait_accepting(process: &mut Managed, port: u16) -> Result<()> {
    let deadline = tokio::time::Instant::now() + GATEWAY_START_TIMEOUT;
    loop {
        if process.exit_status().is_some() {
            return Err(Error::ProxyStart {
                reason: "it exited at start-up".into(),
            });
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::ProxyStart {
                reason: format!("nothing listened on port {port} within {GATEWAY_START_TIMEOUT:?}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// kube-rbac-proxy's authorization: the same SubjectAccessReview as the reference gateway's
/// modes (`create` on `services/gateway-service`; the proxy takes the verb from the method).
fn kube_rbac_proxy_config(namespace: &str) -> String {
    format!(
        "authorization:\n  resourceAttributes:\n    namespace: {namespace}\n    apiVersion: v1\n    \
         resource: services\n    name: gateway-service\n"
    )
}

fn kube_rbac_proxy_args(
    ctx: &Context,
    plan: &RunPlan,
    port: u16,
    upstream: &str,
    config: &Path,
) -> Vec<String> {
    let pki = &ctx.prepared.pki_dir;
    let path = |p: &Path| p.display().to_string();
    let mut args = vec![
        format!("--secure-listen-address=127.0.0.1:{port}"),
        format!("--upstream={upstream}/"),
        format!("--upstream-ca-file={}", path(&pki.join("ca.pem"))),
        format!("--tls-cert-file={}", path(&pki.join("server.pem"))),
        format!(
            "--tls-private-key-file={}",
            path(&pki.join("server-key.pem"))
        ),
        format!("--kubeconfig={}", path(&ctx.prepared.krp_kubeconfig)),
        format!("--config-file={}", path(config)),
    ];
    if let Some((qps, burst)) = plan.client_qps {
        args.push(format!("--kube-api-qps={qps}"));
        args.push(format!("--kube-api-burst={burst}"));
    }
    args
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
        mode.auth()
            .expect("the reference gateway runs an auth mode")
            .as_str()
            .into(),
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
    if let Some((qps, burst)) = plan.client_qps {
        args.extend([
            "--kube-qps".into(),
            qps.to_string(),
            "--kube-burst".into(),
            burst.to_string(),
        ]);
    }
    args
}
