//! Starting, faulting and stopping the two processes: etcd, then kube-apiserver once etcd is healthy;
//! ready when `/readyz` answers 200. Children die with the supervisor (parent-death signal).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::args::{self, ApiserverFlags, Ports};
use super::pki::{self, Layout, Material};
use super::{Binaries, Error, Result, Versions};

/// How often readiness is polled while starting.
const POLL: Duration = Duration::from_millis(200);
/// SIGTERM to exit: kube-apiserver drains in a few seconds when idle.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Sets a parent-death signal and execs, so a SIGKILLed supervisor leaves no process behind
/// (std cannot set one without unsafe code, which this crate forbids).
const SETPRIV: &str = "/usr/bin/setpriv";

/// How to start a control plane.
#[derive(Debug, Clone)]
pub struct Options {
    pub binaries: Binaries,
    /// Where certificates, etcd data and logs go; `None` = a fresh temp dir removed on stop.
    pub data_dir: Option<PathBuf>,
    /// kube-apiserver's secure port; 0 = a free one.
    pub apiserver_port: u16,
    pub flags: ApiserverFlags,
    /// Both processes together, ready or fail (kube-apiserver takes ~10-20 s on 2 busy cores).
    pub start_timeout: Duration,
}

impl Options {
    pub fn new(binaries: Binaries) -> Options {
        Options {
            binaries,
            data_dir: None,
            apiserver_port: 0,
            flags: ApiserverFlags::default(),
            start_timeout: Duration::from_secs(120),
        }
    }
}

/// A running etcd + kube-apiserver pair. Dropping it kills both; `stop` ends them gracefully.
pub struct ControlPlane {
    layout: Layout,
    owned_dir: bool,
    opts: Options,
    ports: Ports,
    material: Material,
    versions: Versions,
    /// `None` only after `stop`.
    etcd: Option<Child>,
    /// `None` while killed by a `refuse` outage.
    apiserver: Option<Child>,
    /// True while SIGSTOPped by a `hang` outage.
    frozen: bool,
    http: reqwest::Client,
}

impl ControlPlane {
    pub async fn start(opts: Options) -> Result<ControlPlane> {
        let (dir, owned_dir) = match &opts.data_dir {
            Some(dir) => (dir.clone(), false),
            None => (fresh_temp_dir()?, true),
        };
        let layout = Layout::new(&dir);
        let material = {
            let layout = layout.clone();
            tokio::task::spawn_blocking(move || pki::prepare(&layout))
                .await
                .map_err(|e| Error::Pki(e.to_string()))??
        };
        let versions = {
            let binaries = opts.binaries.clone();
            tokio::task::spawn_blocking(move || binaries.versions())
                .await
                .map_err(|e| Error::Pki(e.to_string()))??
        };
        let apiserver_port = match opts.apiserver_port {
            0 => free_port()?,
            port => port,
        };
        let ports = Ports {
            apiserver: apiserver_port,
            etcd_client: free_port()?,
            etcd_peer: free_port()?,
        };
        let http = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(material.ca_pem.as_bytes())
                    .map_err(|e| Error::Pki(e.to_string()))?,
            )
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Pki(e.to_string()))?;
        let deadline = Instant::now() + opts.start_timeout;
        let mut etcd = spawn(
            "etcd",
            &opts.binaries.etcd,
            &args::etcd(&layout, ports),
            &layout.logs().join("etcd.log"),
        )?;
        let etcd_health = format!("http://127.0.0.1:{}/health", ports.etcd_client);
        let etcd_log = layout.logs().join("etcd.log");
        wait_ready(
            "etcd",
            &mut etcd,
            &http,
            &etcd_health,
            None,
            deadline,
            &etcd_log,
        )
        .await?;
        let mut plane = ControlPlane {
            layout,
            owned_dir,
            opts,
            ports,
            material,
            versions,
            etcd: Some(etcd),
            apiserver: None,
            frozen: false,
            http,
        };
        plane.start_apiserver(deadline).await?;
        Ok(plane)
    }

    async fn start_apiserver(&mut self, deadline: Instant) -> Result<()> {
        let log = self.apiserver_log();
        let args = args::kube_apiserver(&self.layout, self.ports, &self.opts.flags);
        let mut child = spawn(
            "kube-apiserver",
            &self.opts.binaries.kube_apiserver,
            &args,
            &log,
        )?;
        let readyz = format!("{}/readyz", self.url());
        let token = self.material.admin_token.clone();
        let ready = wait_ready(
            "kube-apiserver",
            &mut child,
            &self.http,
            &readyz,
            Some(&token),
            deadline,
            &log,
        )
        .await;
        self.apiserver = Some(child);
        ready
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.ports.apiserver)
    }
    pub fn ports(&self) -> Ports {
        self.ports
    }
    pub fn ca_pem(&self) -> &str {
        &self.material.ca_pem
    }
    pub fn admin_token(&self) -> &str {
        &self.material.admin_token
    }
    pub fn versions(&self) -> &Versions {
        &self.versions
    }
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    pub fn apiserver_log(&self) -> PathBuf {
        self.layout.logs().join("kube-apiserver.log")
    }
    /// (etcd, kube-apiserver) process ids; kube-apiserver's is `None` while killed.
    pub fn pids(&self) -> (Option<u32>, Option<u32>) {
        (
            self.etcd.as_ref().and_then(Child::id),
            self.apiserver.as_ref().and_then(Child::id),
        )
    }

    /// The admin kubeconfig (bearer token of `gatebench:admin`, group `system:masters`).
    pub fn kubeconfig_yaml(&self) -> Result<String> {
        Ok(crate::apiserver::kubeconfig::render(
            &self.url(),
            Some(self.ca_pem()),
            self.admin_token(),
        )?)
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<()> {
        Ok(crate::apiserver::kubeconfig::write_atomic(
            &self.kubeconfig_yaml()?,
            path,
        )?)
    }

    /// Which child died on its own, if one did (an outage's kill does not count).
    pub fn exited(&mut self) -> Option<String> {
        if let Some(Ok(Some(status))) = self.etcd.as_mut().map(Child::try_wait) {
            return Some(format!("etcd exited ({status})"));
        }
        match self.apiserver.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => Some(format!("kube-apiserver exited ({status})")),
            _ => None,
        }
    }

    /// Hang outage: SIGSTOP kube-apiserver; connections are accepted by the kernel and never answered.
    pub async fn hang(&mut self) -> Result<()> {
        let Some(pid) = self.apiserver.as_ref().and_then(Child::id) else {
            return Err(Error::FaultUnavailable(
                "kube-apiserver is down (killed); recover it before a hang".into(),
            ));
        };
        if !self.frozen {
            signal(pid, nix::sys::signal::Signal::SIGSTOP).await?;
            self.frozen = true;
        }
        Ok(())
    }

    /// Refused outage: SIGKILL kube-apiserver; its port refuses connections until `recover`.
    pub async fn refuse(&mut self) -> Result<()> {
        if let Some(mut child) = self.apiserver.take() {
            let _ = child.kill().await;
        }
        self.frozen = false;
        Ok(())
    }

    /// Ends any outage: SIGCONT a frozen kube-apiserver, or restart a killed one on the same port
    /// and data dir (same certificates and signing key, so issued tokens stay valid); waits for `/readyz`.
    pub async fn recover(&mut self) -> Result<()> {
        if self.frozen {
            if let Some(pid) = self.apiserver.as_ref().and_then(Child::id) {
                signal(pid, nix::sys::signal::Signal::SIGCONT).await?;
            }
            self.frozen = false;
            return Ok(());
        }
        if self.apiserver.is_none() {
            self.start_apiserver(Instant::now() + self.opts.start_timeout)
                .await?;
        }
        Ok(())
    }

    /// SIGTERM kube-apiserver, then etcd (each SIGKILLed after a grace period); removes an owned dir.
    /// Idempotent; open admin connections may still hold the plane, so this does not consume it.
    pub async fn stop(&mut self) {
        if self.frozen
            && let Some(pid) = self.apiserver.as_ref().and_then(Child::id)
        {
            let _ = signal(pid, nix::sys::signal::Signal::SIGCONT).await;
        }
        if let Some(child) = self.apiserver.take() {
            terminate(child).await;
        }
        if let Some(child) = self.etcd.take() {
            terminate(child).await;
        }
        if self.owned_dir {
            let _ = std::fs::remove_dir_all(&self.layout.dir);
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if self.owned_dir {
            let _ = std::fs::remove_dir_all(&self.layout.dir);
        }
    }
}

async fn terminate(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = signal(pid, nix::sys::signal::Signal::SIGTERM).await;
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Sends `sig` to kube-apiserver's process.
async fn signal(pid: u32, sig: nix::sys::signal::Signal) -> Result<()> {
    if crate::fsutil::send(pid, sig) {
        Ok(())
    } else {
        Err(Error::Signal {
            name: "kube-apiserver",
            reason: format!("{sig} to pid {pid}: no such process"),
        })
    }
}

fn spawn(name: &'static str, program: &Path, args: &[String], log: &Path) -> Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = if Path::new(SETPRIV).is_file() {
        let mut cmd = Command::new(SETPRIV);
        cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        // Own process group: a terminal's Ctrl-C reaches the supervisor, which stops them in order.
        .process_group(0)
        .kill_on_drop(true);
    cmd.spawn().map_err(|source| Error::Spawn {
        name,
        program: program.display().to_string(),
        source,
    })
}

/// Polls `url` until it answers 200, the child exits, or the deadline passes.
async fn wait_ready(
    name: &'static str,
    child: &mut Child,
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    deadline: Instant,
    log: &Path,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::ExitedEarly {
                name,
                status: status.to_string(),
                log: log.to_path_buf(),
                tail: log_tail(log),
            });
        }
        let mut request = http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let last = match request.send().await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => format!("{url}: HTTP {}", answer.status()),
            Err(e) => format!("{url}: {e}"),
        };
        if Instant::now() >= deadline {
            let _ = child.kill().await;
            return Err(Error::NotReady {
                name,
                secs: started.elapsed().as_secs(),
                last,
                log: log.to_path_buf(),
                tail: log_tail(log),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The last lines of a child's log, for errors: a temp data dir is gone once the error is printed.
fn log_tail(log: &Path) -> String {
    const LINES: usize = 5;
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

/// A loopback port free right now (the child binds it a moment later, as envtest does; another
/// process could take it in between, so callers of a child that fails to bind may retry).
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn free_port() -> Result<u16> {
    free_loopback_port().map_err(Error::Port)
}

fn fresh_temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "gatebench-kube-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
