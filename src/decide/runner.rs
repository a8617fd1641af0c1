//! One scenario run: a fresh gateway, metrics before, the `loadtest` child, metrics after, a `RunRecord`.

use super::in_cluster::{self, Placement};
use super::matrix::{Credentials, RunPlan};
use super::process::{Managed, Spec};
use super::progress::RunBar;
use super::scrape::{self, ApiCounters, GatewayCounters};
use super::setup::Prepared;
use crate::affinity::PIN_CPU_ENV;
use crate::results::{LoadSummary, RunOutcome, RunRecord};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Beyond the planned window: minting tokens, connecting, writing the summary.
const LOADTEST_MARGIN: Duration = Duration::from_secs(90);

/// Everything the runs of one decide invocation share.
pub struct Context {
    pub gatebench: PathBuf,
    pub loadtest: PathBuf,
    pub logs_dir: PathBuf,
    pub runs_dir: PathBuf,
    /// Admin client of the target API server.
    pub kube: kube::Client,
    pub admin_kubeconfig: PathBuf,
    pub prepared: Prepared,
    /// Gateway flags that scale TTLs to the profile.
    pub ttl_args: Vec<String>,
    pub http: reqwest::Client,
    /// (gateway CPU, loadtest CPU) when pinning.
    pub pin: Option<(usize, usize)>,
    /// Where the gateway runs.
    pub placement: Placement,
}

/// The run's gateway: a local process (whose CPU time /proc shows) or the in-cluster Deployment.
enum Gateway {
    Local { process: Box<Managed>, pid: u32 },
    InCluster,
}

fn slug(id: &str) -> String {
    id.replace('/', "_")
}

/// Runs one plan; every failure ends up in the record's outcome, never as an early return.
pub async fn run(ctx: &Context, plan: &RunPlan, bar: &RunBar) -> RunRecord {
    let mut record = empty_record(plan);
    let log = ctx.logs_dir.join(format!("{}-gateway.log", slug(&plan.id)));
    match run_inner(ctx, plan, bar, &log, &mut record).await {
        Ok(()) => {}
        Err(error) => record.outcome = RunOutcome::Failed { error },
    }
    record
}

/// A record for a run that never started (skipped, interrupted, setup failed).
pub fn empty_record(plan: &RunPlan) -> RunRecord {
    RunRecord {
        id: plan.id.clone(),
        scenario: plan.scenario,
        mode: plan.mode.clone(),
        offered_rps: plan.offered_rps,
        params: plan.params.clone(),
        outcome: RunOutcome::Ok,
        load: None,
        duration_secs: plan.duration_secs,
        apiserver_calls: Default::default(),
        apiserver_throttled: 0,
        client_throttle_wait_secs: 0.0,
        token_cache: None,
        sar_cache: None,
        gateway_cpu_secs: 0.0,
        tls_handshakes: 0,
    }
}

async fn run_inner(
    ctx: &Context,
    plan: &RunPlan,
    bar: &RunBar,
    gateway_log: &Path,
    record: &mut RunRecord,
) -> Result<(), String> {
    bar.message("starting gateway");
    let crl = plan
        .needs_crl
        .then(|| ctx.runs_dir.join(format!("{}.crl", slug(&plan.id))));
    if let Some(crl) = &crl {
        ctx.prepared.empty_crl(crl).map_err(|e| e.to_string())?;
    }
    let (mut gateway, url, metrics_url) = match ctx.placement {
        Placement::Local => start_local(ctx, plan, crl.as_deref(), gateway_log).await?,
        Placement::InCluster => {
            bar.message("rolling out the in-cluster gateway");
            let args = in_cluster::in_cluster_args(&gateway_args(ctx, plan, None));
            let run_id = format!("{}-{}", slug(&plan.id), uuid::Uuid::new_v4().simple());
            let (url, metrics_url) = in_cluster::deploy(&ctx.kube, &ctx.http, &args, &run_id)
                .await
                .map_err(|e| e.to_string())?;
            record.params.insert(
                "gateway_cpu".into(),
                serde_json::json!("not measured (in-cluster)"),
            );
            (Gateway::InCluster, url, metrics_url)
        }
    };

    let api_before = api_counters(ctx).await?;
    let gw_before = gateway_counters(ctx, &metrics_url).await?;
    let cpu_before = match &gateway {
        Gateway::Local { pid, .. } => scrape::cpu_secs(*pid).map_err(|e| e.to_string())?,
        Gateway::InCluster => 0.0,
    };

    bar.message("load running");
    bar.window_started();
    let summary_path = ctx.runs_dir.join(format!("{}.json", slug(&plan.id)));
    let _ = std::fs::remove_file(&summary_path);
    let load_log = ctx
        .logs_dir
        .join(format!("{}-loadtest.log", slug(&plan.id)));
    let args = loadtest_args(ctx, plan, &url, &metrics_url, &summary_path, crl.as_deref());
    let mut load_spec = Spec::new("loadtest", &ctx.loadtest, args, &load_log);
    if let Some((_, cpu)) = ctx.pin {
        load_spec = load_spec.env(PIN_CPU_ENV, cpu.to_string());
    }
    let mut load = Managed::start(&load_spec).map_err(|e| e.to_string())?;
    let budget = Duration::from_secs_f64(plan.duration_secs) + LOADTEST_MARGIN;
    let status = load.wait(budget).await;

    bar.message("scraping");
    let exited = match &mut gateway {
        Gateway::Local { process, .. } => process.exit_status().is_some(),
        Gateway::InCluster => false,
    };
    if exited {
        if plan.needs_stand_in {
            set_faults(&ctx.kube, &serde_json::json!({})).await?;
        }
        return Err(format!(
            "the gateway exited during the run; see {}",
            gateway_log.display()
        ));
    }
    let cpu_after = match &gateway {
        Gateway::Local { pid, .. } => scrape::cpu_secs(*pid),
        Gateway::InCluster => Ok(cpu_before),
    };
    let gw_after = gateway_counters(ctx, &metrics_url).await;
    let api_after = api_counters(ctx).await;
    if plan.needs_stand_in {
        // Later runs must not inherit this run's faults, whatever happened to loadtest.
        set_faults(&ctx.kube, &serde_json::json!({})).await?;
    }
    if let Gateway::Local { process, .. } = gateway {
        process.stop(Duration::from_secs(5)).await;
    }

    let (calls, throttled) = api_after?.since(&api_before);
    record.apiserver_calls = calls;
    record.apiserver_throttled = throttled;
    let gw = gw_after?.since(&gw_before);
    record.client_throttle_wait_secs = gw.throttle_wait_secs;
    record.token_cache = (gw.token.hits + gw.token.misses > 0).then_some(gw.token);
    record.sar_cache = (gw.sar.hits + gw.sar.misses > 0).then_some(gw.sar);
    record.tls_handshakes = gw.handshakes_ok;
    record.gateway_cpu_secs = (cpu_after.map_err(|e| e.to_string())? - cpu_before).max(0.0);

    let status = status.map_err(|e| e.to_string())?;
    let summary = read_summary(&summary_path);
    if let Ok(summary) = &summary {
        record.duration_secs = summary.duration_secs;
        record.load = Some(summary.clone());
    }
    let log_hint = load_log.display();
    record.outcome = if !status.success() {
        RunOutcome::Failed {
            error: format!("loadtest exited with {status}; see {log_hint}"),
        }
    } else {
        match summary {
            Err(e) => RunOutcome::Failed {
                error: format!("no usable summary: {e}; see {log_hint}"),
            },
            Ok(s) if s.latency_us.count == 0 => RunOutcome::NoData {
                reason: format!("loadtest recorded no requests; see {log_hint}"),
            },
            Ok(_) => RunOutcome::Ok,
        }
    };
    Ok(())
}

async fn start_local(
    ctx: &Context,
    plan: &RunPlan,
    crl: Option<&Path>,
    gateway_log: &Path,
) -> Result<(Gateway, String, String), String> {
    let mut spec = Spec::new(
        "gateway",
        &ctx.gatebench,
        gateway_args(ctx, plan, crl),
        gateway_log,
    );
    if let Some((cpu, _)) = ctx.pin {
        spec = spec.env(PIN_CPU_ENV, cpu.to_string());
    }
    let (process, listening) = Managed::start_listening(&spec, GATEWAY_START_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let url = json_str(&listening, "url")?;
    let metrics_url = listening
        .get("metrics_url")
        .and_then(|v| v.as_str())
        .unwrap_or(&url)
        .to_string();
    let pid = process.pid().ok_or("gateway exited right after start")?;
    Ok((
        Gateway::Local {
            process: Box::new(process),
            pid,
        },
        url,
        metrics_url,
    ))
}

fn json_str(value: &serde_json::Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("listening line has no `{key}`: {value}"))
}

fn read_summary(path: &Path) -> Result<LoadSummary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn api_counters(ctx: &Context) -> Result<ApiCounters, String> {
    let scrape = scrape::scrape_apiserver(&ctx.kube)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ApiCounters::from_scrape(&scrape))
}

async fn gateway_counters(ctx: &Context, metrics_url: &str) -> Result<GatewayCounters, String> {
    let scrape = scrape::scrape_gateway(&ctx.http, metrics_url)
        .await
        .map_err(|e| e.to_string())?;
    Ok(GatewayCounters::from_scrape(&scrape))
}

/// Replaces the stand-in's fault configuration through its admin endpoint.
pub async fn set_faults(kube: &kube::Client, faults: &serde_json::Value) -> Result<(), String> {
    let request = http::Request::put("/gatebench/v1/faults")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(faults).expect("JSON value serializes"))
        .expect("static request is valid");
    kube.request_text(request)
        .await
        .map(|_| ())
        .map_err(|e| format!("setting stand-in faults {faults}: {e}"))
}

fn gateway_args(ctx: &Context, plan: &RunPlan, crl: Option<&Path>) -> Vec<String> {
    let pki = &ctx.prepared.pki_dir;
    let path = |p: PathBuf| p.display().to_string();
    let mut args: Vec<String> = vec![
        "gateway".into(),
        "--kubeconfig".into(),
        path(ctx.prepared.gateway_kubeconfig.clone()),
        "--auth".into(),
        plan.mode.clone(),
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
    if matches!(plan.mode.as_str(), "mtls" | "hybrid") {
        args.extend(["--client-ca".into(), path(pki.join("ca.pem"))]);
    }
    if let Some(crl) = crl {
        args.extend(["--crl".into(), path(crl.to_path_buf())]);
    }
    args.extend(ctx.ttl_args.iter().cloned());
    args.extend(plan.gateway_args.iter().cloned());
    args
}

fn loadtest_args(
    ctx: &Context,
    plan: &RunPlan,
    url: &str,
    metrics_url: &str,
    summary: &Path,
    crl: Option<&Path>,
) -> Vec<String> {
    let pki = &ctx.prepared.pki_dir;
    let path = |p: &Path| p.display().to_string();
    let mut args: Vec<String> = vec![
        "--scenario".into(),
        plan.scenario.as_str().into(),
        "--host".into(),
        url.into(),
        "--summary-out".into(),
        path(summary),
        "--histogram-out".into(),
        path(&summary.with_extension("hlog")),
        "--identities".into(),
        plan.identities.to_string(),
        "--kubeconfig".into(),
        path(&ctx.admin_kubeconfig),
        "--namespace".into(),
        ctx.prepared.load_namespace.clone(),
        "--ca-cert".into(),
        path(&pki.join("ca.pem")),
        "--gateway-metrics".into(),
        metrics_url.into(),
    ];
    if plan.offered_rps > 0.0 {
        args.extend(["--rate".into(), format!("{}", plan.offered_rps)]);
    }
    if plan.credentials == Credentials::ClientCert {
        args.extend(["--pki-dir".into(), path(pki)]);
    }
    if let Some(crl) = crl {
        args.extend(["--crl-out".into(), path(crl)]);
    }
    args.extend(plan.loadtest_args.iter().cloned());
    args
}
