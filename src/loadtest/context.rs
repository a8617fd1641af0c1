//! Everything a scenario needs, set up once from the flags: target, credentials, counter sources, knobs.

use crate::counters::Sources;
use crate::loadtest::cli::Cli;
use crate::loadtest::client::ClientOptions;
use crate::loadtest::credentials::{self, Credential};
use crate::loadtest::engine::Target;
use anyhow::{Context as _, Result, bail};
use std::sync::Arc;
use std::time::Duration;

pub struct Context {
    pub cli: Cli,
    pub target: Target,
    /// Where each window's server-side counters come from.
    pub sources: Sources,
    pub kube: Option<kube::Client>,
    /// Credentials of identities `0..--identities`.
    pub credentials: Arc<Vec<Credential>>,
    /// Random per process: mixed into every body seed so two runs against the same gateway
    /// never send each other's alerts (which its dedup window would answer with 202).
    pub run_seed: u64,
}

impl Context {
    pub async fn from_cli(cli: Cli) -> Result<Self> {
        // A paired run's default target is its first pair.
        let host = cli
            .goose
            .host
            .clone()
            .or_else(|| cli.pair.first().map(|p| p.url.clone()))
            .context("--host URL of the gateway is required")?;
        let kube = match &cli.kubeconfig {
            Some(path) => Some(credentials::kube_client(path).await?),
            None => None,
        };
        if let (true, Some(client)) = (cli.setup_rbac, &kube) {
            let setup = crate::kubesetup::RbacSetup {
                load_namespace: cli.namespace.clone(),
                ..Default::default()
            };
            crate::kubesetup::setup_gateway_rbac(client, &setup)
                .await
                .context("setting up the gateway RBAC")?;
        }
        let ca_pem = match &cli.ca_cert {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        let client = ClientOptions {
            ca_pem,
            new_connection: cli.new_connection,
            timeout: Duration::from_secs_f64(cli.request_timeout_secs.max(0.001)),
            accept_invalid_certs: cli.goose.accept_invalid_certs,
        };
        let sources = Sources {
            kube: kube.clone(),
            gateway_metrics: cli.gateway_metrics.clone(),
            gateway_pids: cli.gateway_pid.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        };
        let mut ctx = Context {
            target: Target::new(cli.goose.clone(), host, Arc::new(Vec::new()), client)
                .context("building client")?,
            sources,
            kube,
            credentials: Arc::new(Vec::new()),
            run_seed: rand::random(),
            cli,
        };
        let identities = ctx.cli.identities.max(1);
        let creds = ctx.credentials_for(0, identities).await?;
        ctx.credentials = Arc::new(creds);
        ctx.target = ctx.target_with(ctx.credentials.clone())?;
        Ok(ctx)
    }

    /// Credentials of identities `first..first+count` (minted, read, or anonymous). Scenarios
    /// that need never-seen identities ask for ranges past `--identities`.
    pub async fn credentials_for(&self, first: usize, count: usize) -> Result<Vec<Credential>> {
        if let Some(dir) = &self.cli.pki_dir {
            let all = credentials::certificates_from_pki(dir, first + count)?;
            return Ok(all[first..].to_vec());
        }
        if let Some(path) = &self.cli.tokens_file {
            let all = credentials::tokens_from_file(path)?;
            if all.len() < first + count {
                bail!(
                    "tokens file has {} tokens, the scenario needs {}",
                    all.len(),
                    first + count
                );
            }
            return Ok(all[first..first + count].to_vec());
        }
        if let Some(client) = &self.kube {
            let names: Vec<String> = (first..first + count)
                .map(|i| format!("load-{i}"))
                .collect();
            return credentials::mint_tokens(client, &self.cli.namespace, &names).await;
        }
        Ok(vec![Credential::Anonymous; count])
    }

    /// A target that sends with `credentials` instead of the default identities (connections
    /// of its own, since a client certificate is per connection).
    pub fn target_with(&self, credentials: Arc<Vec<Credential>>) -> Result<Target> {
        self.target
            .with_credentials(credentials)
            .context("building client")
    }

    /// goose users for a fixed rate: `--users` if given, else enough that each user's share
    /// leaves room for a few milliseconds of latency before it falls behind.
    pub fn users_for_rate(&self, rate_rps: f64) -> usize {
        self.cli
            .goose
            .users
            .unwrap_or_else(|| ((rate_rps / 25.0).ceil() as usize).clamp(4, 256))
    }

    /// Seed of one phase's bodies: distinct per phase and per run.
    pub fn body_seed(&self, phase: u64) -> u64 {
        self.run_seed ^ phase.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.cli.duration.max(0.1))
    }
}
