//! `gatebench kube-apiserver`: starts etcd + kube-apiserver, writes the admin kubeconfig, prints one
//! JSON "listening" line, serves the fault endpoint, and stops both on SIGTERM/Ctrl-C or when one dies.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::signal::unix::{SignalKind, signal};

use super::admin::{self, Admin};
use super::args::ApiserverFlags;
use super::{Binaries, ControlPlane, Options};

/// How often the supervisor checks that its children are still alive.
const LIVENESS_POLL: Duration = Duration::from_millis(500);

/// Flags of `gatebench kube-apiserver`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where to write the admin kubeconfig once kube-apiserver is ready.
    #[arg(long)]
    pub kubeconfig_out: PathBuf,
    /// kube-apiserver's secure port on 127.0.0.1 (0 = a free one).
    #[arg(long, default_value_t = 0)]
    pub listen_port: u16,
    /// Keep certificates, etcd data and logs here (default: a temp dir removed at exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// kube-apiserver `--max-requests-inflight` (its default: 400).
    #[arg(long)]
    pub max_requests_inflight: Option<u32>,
    /// kube-apiserver `--max-mutating-requests-inflight` (its default: 200).
    #[arg(long)]
    pub max_mutating_requests_inflight: Option<u32>,
    /// `iss` of ServiceAccount tokens (the stand-in's default, so both servers issue alike).
    #[arg(long, default_value = "https://kubernetes.default.svc.cluster.local")]
    pub issuer: String,
    /// Address of the fault admin endpoint (HTTP, loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub admin_listen: String,
    /// Seconds etcd and kube-apiserver together may take to become ready.
    #[arg(long, default_value_t = 120)]
    pub start_timeout_secs: u64,
    /// One more kube-apiserver flag, e.g. `--apiserver-arg=--v=2`. Repeatable.
    #[arg(
        long = "apiserver-arg",
        value_name = "FLAG",
        allow_hyphen_values = true
    )]
    pub apiserver_args: Vec<String>,
}

impl Args {
    pub fn new(kubeconfig_out: PathBuf) -> Args {
        Args {
            kubeconfig_out,
            listen_port: 0,
            data_dir: None,
            max_requests_inflight: None,
            max_mutating_requests_inflight: None,
            issuer: ApiserverFlags::default().issuer,
            admin_listen: "127.0.0.1:0".into(),
            start_timeout_secs: 120,
            apiserver_args: Vec::new(),
        }
    }

    /// The command line after `gatebench`, for a supervisor started as a child process.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "kube-apiserver".to_string(),
            "--kubeconfig-out".into(),
            self.kubeconfig_out.display().to_string(),
            "--listen-port".into(),
            self.listen_port.to_string(),
            "--issuer".into(),
            self.issuer.clone(),
            "--admin-listen".into(),
            self.admin_listen.clone(),
            "--start-timeout-secs".into(),
            self.start_timeout_secs.to_string(),
        ];
        if let Some(dir) = &self.data_dir {
            args.extend(["--data-dir".into(), dir.display().to_string()]);
        }
        if let Some(n) = self.max_requests_inflight {
            args.extend(["--max-requests-inflight".into(), n.to_string()]);
        }
        if let Some(n) = self.max_mutating_requests_inflight {
            args.extend(["--max-mutating-requests-inflight".into(), n.to_string()]);
        }
        args.extend(
            self.apiserver_args
                .iter()
                .map(|a| format!("--apiserver-arg={a}")),
        );
        args
    }

    fn options(&self, binaries: Binaries) -> Options {
        Options {
            data_dir: self.data_dir.clone(),
            apiserver_port: self.listen_port,
            flags: ApiserverFlags {
                issuer: self.issuer.clone(),
                max_requests_inflight: self.max_requests_inflight,
                max_mutating_requests_inflight: self.max_mutating_requests_inflight,
                extra: self.apiserver_args.clone(),
            },
            start_timeout: Duration::from_secs(self.start_timeout_secs),
            ..Options::new(binaries)
        }
    }
}

/// The line printed on stdout once ready (`{"event":"listening",...}`), as `gatebench apiserver` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listening {
    pub event: String,
    pub url: String,
    pub kubeconfig: PathBuf,
    /// `PUT`/`GET` the fault JSON here (admin bearer token of the kubeconfig).
    pub faults_url: String,
    pub kube_apiserver_version: String,
    pub etcd_version: String,
    pub data_dir: PathBuf,
    /// The ServiceAccount signing key (PKCS#8 PEM), for tests that forge tokens.
    pub service_account_signing_key: PathBuf,
    /// Both children's logs.
    pub logs: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    // Handlers first: a supervisor may signal as soon as it reads the listening line.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let binaries = Binaries::find()?;
    let admin_listener = tokio::net::TcpListener::bind(&args.admin_listen)
        .await
        .with_context(|| format!("binding the admin endpoint {}", args.admin_listen))?;
    let plane = tokio::select! {
        plane = ControlPlane::start(args.options(binaries)) => plane?,
        _ = interrupt.recv() => anyhow::bail!("interrupted while starting"),
        _ = terminate.recv() => anyhow::bail!("terminated while starting"),
    };
    plane
        .write_kubeconfig(&args.kubeconfig_out)
        .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
    let listening = Listening {
        event: "listening".into(),
        url: plane.url(),
        kubeconfig: args.kubeconfig_out.clone(),
        faults_url: format!(
            "http://{}{}",
            admin_listener.local_addr()?,
            admin::FAULTS_PATH
        ),
        kube_apiserver_version: plane.versions().kube_apiserver.clone(),
        etcd_version: plane.versions().etcd.clone(),
        data_dir: plane.layout().dir.clone(),
        service_account_signing_key: plane.layout().sa_key(),
        logs: plane.layout().logs(),
    };
    let token = plane.admin_token().to_string();
    let plane = Arc::new(tokio::sync::Mutex::new(plane));
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = tokio::spawn(admin::serve(
        admin_listener,
        Admin::new(plane.clone(), token),
        async {
            let _ = admin_stopped.await;
        },
    ));
    println!("{}", serde_json::to_string(&listening)?);
    let failure = loop {
        tokio::select! {
            _ = interrupt.recv() => break None,
            _ = terminate.recv() => break None,
            () = tokio::time::sleep(LIVENESS_POLL) => {
                if let Some(exited) = plane.lock().await.exited() {
                    break Some(exited);
                }
            }
        }
    };
    tracing::info!("stopping kube-apiserver and etcd");
    let _ = stop_admin.send(());
    let _ = admin_task.await;
    plane.lock().await.stop().await;
    match failure {
        Some(exited) => anyhow::bail!("{exited}; see {}", listening.logs.display()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Subcommand)]
    enum Command {
        KubeApiserver(Args),
    }

    #[test]
    fn to_args_parses_back_to_the_same_flags() {
        let mut args = Args::new(PathBuf::from("/tmp/kc"));
        args.max_mutating_requests_inflight = Some(3);
        args.data_dir = Some(PathBuf::from("/tmp/data"));
        args.apiserver_args = vec!["--v=2".into()];
        let mut line = vec!["gatebench".to_string()];
        line.extend(args.to_args());
        let Command::KubeApiserver(parsed) = Cli::parse_from(line).command;
        assert_eq!(parsed.to_args(), args.to_args());
        assert_eq!(parsed.max_mutating_requests_inflight, Some(3));
        assert_eq!(parsed.apiserver_args, vec!["--v=2".to_string()]);
    }
}
