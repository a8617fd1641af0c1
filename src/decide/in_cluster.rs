//! `decide --gateway in-cluster`: each run re-configures and restarts the `gatebench-gateway`
//! Deployment (from `deploy/`) instead of spawning a local gateway, and loadtest reaches it through
//! the NodePorts kind maps to the host.

use super::mode::Mode;
use super::plan::{Credentials, RunPlan};
use crate::kind::plan::gateway_host_urls;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

pub const NAMESPACE: &str = "gatebench-system";
pub const DEPLOYMENT: &str = "gatebench-gateway";
pub const CONTAINER: &str = "gateway";
/// Changing this annotation restarts the pods even when the args did not change: every run must
/// start with empty caches, as a fresh local gateway does.
pub const RUN_ANNOTATION: &str = "gatebench.dev/run";

/// Flags the Deployment fixes itself (they name the pod's own files and ports, see
/// deploy/gateway-deployment.yaml and deploy/gateway-service.yaml).
const POD_ARGS: [&str; 3] = [
    "--kubeconfig=/etc/gatebench/kubeconfig",
    "--listen=0.0.0.0:8080",
    "--metrics-listen=0.0.0.0:9090",
];
/// Local-only flags (host paths and host listen addresses); each takes one value.
const LOCAL_ONLY: [&str; 7] = [
    "--kubeconfig",
    "--listen",
    "--metrics-listen",
    "--tls-cert",
    "--tls-key",
    "--client-ca",
    "--crl",
];

const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(180);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "deployment {NAMESPACE}/{DEPLOYMENT} not found: apply deploy/ first (`gatebench kind up` or `kubectl apply -k deploy/`)"
    )]
    Missing,
    #[error("patching deployment {NAMESPACE}/{DEPLOYMENT}: {0}")]
    Patch(#[source] kube::Error),
    #[error("reading deployment {NAMESPACE}/{DEPLOYMENT}: {0}")]
    Get(#[source] kube::Error),
    #[error(
        "deployment {NAMESPACE}/{DEPLOYMENT} did not finish its rollout within {0:?} (last status: {1})"
    )]
    Rollout(Duration, String),
    #[error("{url} did not answer 200 within {timeout:?} (last: {last})")]
    NotReady {
        url: String,
        timeout: Duration,
        last: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where `decide` runs the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Placement {
    /// A local `gatebench gateway` process per run, with the target's kubeconfig.
    #[default]
    Local,
    /// The `gatebench-gateway` Deployment of `deploy/`, patched and restarted per run.
    InCluster,
}

/// Why a plan cannot run against the in-cluster gateway, if it cannot.
pub fn skip_reason(plan: &RunPlan) -> Option<String> {
    let mode = plan.mode();
    if plan.credentials() == Credentials::ClientCert || matches!(mode, Mode::Mtls | Mode::Hybrid) {
        return Some(format!(
            "in-cluster gateway: mode `{}` needs the client CA and server certificates, which the Deployment does not mount",
            mode.as_str()
        ));
    }
    if plan.needs_crl {
        return Some(
            "in-cluster gateway: CRL revocation rewrites a file next to the local gateway process"
                .into(),
        );
    }
    if plan.scenario == crate::results::Scenario::Handshake {
        return Some(
            "in-cluster gateway: the Deployment serves plain HTTP, so there are no TLS handshakes to measure".into(),
        );
    }
    None
}

/// The Deployment's args for the gateway args the local path would use: local-only flags dropped
/// (both `--flag value` and `--flag=value`), the pod's own paths and ports put in their place.
pub fn in_cluster_args(local: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(local.len());
    let mut rest = local.iter();
    if let Some(first) = local.first().filter(|a| !a.starts_with('-')) {
        out.push(first.clone());
        rest.next();
    }
    out.extend(POD_ARGS.iter().map(|a| a.to_string()));
    while let Some(arg) = rest.next() {
        if LOCAL_ONLY.contains(&arg.as_str()) {
            rest.next();
            continue;
        }
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if arg.contains('=') && LOCAL_ONLY.contains(&flag) {
            continue;
        }
        out.push(arg.clone());
    }
    out
}

/// Strategic merge patch: containers merge by name, and `args` (a plain list) is replaced whole.
pub fn patch_json(args: &[String], run_id: &str) -> Value {
    json!({
        "spec": {
            "template": {
                "metadata": { "annotations": { RUN_ANNOTATION: run_id } },
                "spec": { "containers": [ { "name": CONTAINER, "args": args } ] }
            }
        }
    })
}

/// True once the controller has seen the latest spec and every replica is the new, ready, available one.
pub fn rollout_complete(deployment: &Deployment) -> bool {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let Some(status) = &deployment.status else {
        return false;
    };
    status.observed_generation.unwrap_or(-1) >= generation
        && status.updated_replicas.unwrap_or(0) == wanted
        && status.ready_replicas.unwrap_or(0) == wanted
        && status.available_replicas.unwrap_or(0) == wanted
        // Old pods still counted would share the Service with the new one.
        && status.replicas.unwrap_or(0) == wanted
}

fn status_summary(deployment: &Deployment) -> String {
    match &deployment.status {
        None => "no status".into(),
        Some(s) => format!(
            "generation {:?}, observed {:?}, replicas {:?}, updated {:?}, ready {:?}, available {:?}",
            deployment.metadata.generation,
            s.observed_generation,
            s.replicas,
            s.updated_replicas,
            s.ready_replicas,
            s.available_replicas
        ),
    }
}

/// The in-cluster gateway as loadtest and the scraper reach it: (API URL, metrics base URL).
pub fn host_urls() -> (String, String) {
    let (api, metrics) = gateway_host_urls();
    // The scraper appends /metrics itself.
    let metrics = metrics
        .strip_suffix("/metrics")
        .map(str::to_string)
        .unwrap_or(metrics);
    (api, metrics)
}

/// Patches the Deployment to `args`, waits for the rollout and for `/readyz`; returns the host URLs.
pub async fn deploy(
    kube: &kube::Client,
    http: &reqwest::Client,
    args: &[String],
    run_id: &str,
) -> Result<(String, String)> {
    let api: Api<Deployment> = Api::namespaced(kube.clone(), NAMESPACE);
    api.patch(
        DEPLOYMENT,
        &PatchParams::default(),
        &Patch::Strategic(patch_json(args, run_id)),
    )
    .await
    .map_err(|e| match &e {
        kube::Error::Api(status) if status.code == 404 => Error::Missing,
        _ => Error::Patch(e),
    })?;
    let deadline = tokio::time::Instant::now() + ROLLOUT_TIMEOUT;
    loop {
        let current = api.get(DEPLOYMENT).await.map_err(Error::Get)?;
        if rollout_complete(&current) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Rollout(ROLLOUT_TIMEOUT, status_summary(&current)));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let (url, metrics_url) = host_urls();
    wait_ready(http, &format!("{url}/readyz")).await?;
    Ok((url, metrics_url))
}

/// The gateway container's args as the Deployment has them now (to restore after the matrix).
pub async fn current_args(kube: &kube::Client) -> Result<Vec<String>> {
    let api: Api<Deployment> = Api::namespaced(kube.clone(), NAMESPACE);
    let deployment = api.get(DEPLOYMENT).await.map_err(|e| match &e {
        kube::Error::Api(status) if status.code == 404 => Error::Missing,
        _ => Error::Get(e),
    })?;
    Ok(container_args(&deployment))
}

fn container_args(deployment: &Deployment) -> Vec<String> {
    deployment
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|pod| pod.containers.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.args.clone())
        .unwrap_or_default()
}

/// Puts `args` back without waiting for the rollout: nothing is measured after it.
pub async fn restore(kube: &kube::Client, args: &[String]) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(kube.clone(), NAMESPACE);
    api.patch(
        DEPLOYMENT,
        &PatchParams::default(),
        &Patch::Strategic(patch_json(args, "restored")),
    )
    .await
    .map(|_| ())
    .map_err(Error::Patch)
}

async fn wait_ready(http: &reqwest::Client, url: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let last = match http.get(url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::NotReady {
                url: url.into(),
                timeout: READY_TIMEOUT,
                last,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
#[path = "in_cluster_tests.rs"]
mod tests;
