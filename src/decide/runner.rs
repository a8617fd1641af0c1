//! One scenario run: fresh gateway(s), the `loadtest` child (which measures the server-side
//! counters of its own window), faults reset, and the run's record(s).

use super::error::{Error, Result};
use super::gateways::{External, LocalGateway};
use super::in_cluster::{self, Placement};
use super::mode::Mode;
use super::plan::{Credentials, RunPlan};
use super::process::{Managed, Spec};
use super::progress::RunBar;
use super::setup::Prepared;
use crate::affinity::PIN_CPU_ENV;
use crate::loadtest::cli::Cli;
use crate::loadtest::pair::{ModelSpec, PairTarget};
use crate::results::{Comparison, LoadSummary, RunOutcome, RunRecord};
use crate::stats::api_model::{ApiUse, mode_apis};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    pub http: reqwest::Client,
    /// (gateway CPU, loadtest CPU) when pinning.
    pub pin: Option<(usize, usize)>,
    /// Where the gateway runs.
    pub placement: Placement,
    /// The kube-rbac-proxy binary, located at start when its mode was asked for.
    pub kube_rbac_proxy: Option<PathBuf>,
    /// The user's gateway of `--gateway external:URL`.
    pub external: Option<External>,
    /// The CAs the load generator trusts: gatebench's, and the external gateway's if given.
    pub ca_bundle: PathBuf,
}

/// What a run produced: one record per mode, and the comparison of a paired run.
pub struct Outcome {
    pub records: Vec<RunRecord>,
    pub comparison: Option<Comparison>,
}

pub fn slug(id: &str) -> String {
    id.replace('/', "_")
}

/// Runs one plan; every failure ends up in the records' outcomes, never as an early return.
pub async fn run(ctx: &Context, plan: &RunPlan, bar: &RunBar) -> Outcome {
    match run_inner(ctx, plan, bar).await {
        Ok(outcome) => outcome,
        Err(error) => Outcome {
            records: records_with(
                plan,
                RunOutcome::Failed {
                    error: error.to_string(),
                },
            ),
            comparison: None,
        },
    }
}

/// The records of a plan that did not (or could not) run, one per mode of a paired plan.
pub fn records_with(plan: &RunPlan, outcome: RunOutcome) -> Vec<RunRecord> {
    if !plan.is_paired() {
        return vec![record(plan, &plan.id, plan.mode(), outcome, None)];
    }
    plan.modes
        .iter()
        .map(|&m| {
            let id = paired_record_id(plan, m);
            record(plan, &id, m, outcome.clone(), None)
        })
        .collect()
}

fn paired_record_id(plan: &RunPlan, mode: Mode) -> String {
    format!("steady/{}/{}", mode.as_str(), plan.offered_rps.round())
}

fn record(
    plan: &RunPlan,
    id: &str,
    mode: Mode,
    outcome: RunOutcome,
    load: Option<LoadSummary>,
) -> RunRecord {
    let mut params = plan.params.clone();
    // The report projects API-call counts to real time by the scale the run's TTLs ran at.
    params.insert("ttl_time_scale".into(), serde_json::json!(plan.ttl_scale));
    if plan.is_paired() {
        params.insert("paired_with".into(), serde_json::json!(plan.id));
    }
    RunRecord {
        id: id.to_string(),
        scenario: plan.scenario,
        mode: mode.as_str().to_string(),
        offered_rps: plan.offered_rps,
        params,
        outcome,
        duration_secs: load
            .as_ref()
            .map_or(plan.duration_secs, |l| l.duration_secs),
        load,
    }
}

/// The run's gateways: local processes, or the in-cluster Deployment (one mode).
enum Gateways {
    Local(Vec<LocalGateway>),
    InCluster { url: String, metrics_url: String },
}

async fn run_inner(ctx: &Context, plan: &RunPlan, bar: &RunBar) -> Result<Outcome> {
    bar.message("starting gateway");
    let crl = plan
        .needs_crl
        .then(|| ctx.runs_dir.join(format!("{}.crl", slug(&plan.id))));
    if let Some(crl) = &crl {
        ctx.prepared.empty_crl(crl)?;
    }
    let mut gateways = match ctx.placement {
        Placement::Local => {
            let mut started = Vec::new();
            for &mode in &plan.modes {
                started.push(LocalGateway::start(ctx, plan, mode, crl.as_deref()).await?);
            }
            Gateways::Local(started)
        }
        Placement::InCluster => {
            bar.message("rolling out the in-cluster gateway");
            let local = super::gateways::args(ctx, plan, plan.mode(), None);
            let args = in_cluster::in_cluster_args(&local);
            let run_id = format!("{}-{}", slug(&plan.id), uuid::Uuid::new_v4().simple());
            let (url, metrics_url) =
                in_cluster::deploy(&ctx.kube, &ctx.http, &args, &run_id).await?;
            Gateways::InCluster { url, metrics_url }
        }
    };

    let summary_path = ctx.runs_dir.join(format!("{}.json", slug(&plan.id)));
    let _ = std::fs::remove_file(&summary_path);
    let load = loadtest_cli(ctx, plan, &gateways, &summary_path, crl.as_deref());
    let load_log = ctx
        .logs_dir
        .join(format!("{}-loadtest.log", slug(&plan.id)));
    let mut load_spec = Spec::new("loadtest", &ctx.loadtest, load.to_args(), &load_log);
    if let Some((_, cpu)) = ctx.pin {
        load_spec = load_spec.env(PIN_CPU_ENV, cpu.to_string());
    }
    bar.message("load running");
    bar.window_started();
    let mut child = Managed::start(&load_spec)?;
    let budget = Duration::from_secs_f64(plan.duration_secs) + LOADTEST_MARGIN;
    let status = child.wait(budget).await;

    bar.message("finishing");
    let alive = match &mut gateways {
        Gateways::Local(all) => all.iter_mut().try_for_each(LocalGateway::check_alive),
        Gateways::InCluster { .. } => Ok(()),
    };
    if plan.needs_stand_in {
        // Later runs must not inherit this run's faults, whatever happened to loadtest.
        crate::apiserver::fault_admin::put_faults(&ctx.kube, &serde_json::json!({})).await?;
    }
    if let Gateways::Local(all) = gateways {
        for gateway in all {
            gateway.stop().await;
        }
    }
    alive?;
    let status = status?;
    let hint = load_log.display().to_string();
    if !status.success() {
        let error = format!("loadtest exited with {status}; see {hint}");
        return Ok(failed_outcome(plan, error));
    }
    let summary = match read_summary(&summary_path) {
        Ok(s) => s,
        Err(e) => {
            return Ok(failed_outcome(
                plan,
                format!("no usable summary: {e}; see {hint}"),
            ));
        }
    };
    match plan.is_paired() {
        true => paired_outcome(plan, summary, &summary_path, &hint),
        false => Ok(Outcome {
            records: vec![record(
                plan,
                &plan.id,
                plan.mode(),
                judged(&summary, &hint),
                Some(summary),
            )],
            comparison: None,
        }),
    }
}

fn failed_outcome(plan: &RunPlan, error: String) -> Outcome {
    Outcome {
        records: records_with(plan, RunOutcome::Failed { error }),
        comparison: None,
    }
}

/// Ok when requests were recorded, no data otherwise.
fn judged(summary: &LoadSummary, hint: &str) -> RunOutcome {
    match summary.latency_us.count {
        0 => RunOutcome::NoData {
            reason: format!("loadtest recorded no requests; see {hint}"),
        },
        _ => RunOutcome::Ok,
    }
}

/// Splits a paired summary into one record per mode and the comparison.
fn paired_outcome(
    plan: &RunPlan,
    mut summary: LoadSummary,
    path: &Path,
    hint: &str,
) -> Result<Outcome> {
    let paired = summary.paired.take().ok_or_else(|| Error::NotPaired {
        path: path.to_path_buf(),
    })?;
    let mut per_mode = paired.per_mode;
    let records = plan
        .modes
        .iter()
        .map(|&mode| {
            let id = paired_record_id(plan, mode);
            match per_mode.remove(mode.as_str()) {
                Some(load) => record(plan, &id, mode, judged(&load, hint), Some(load)),
                None => record(
                    plan,
                    &id,
                    mode,
                    RunOutcome::NoData {
                        reason: format!("the paired run measured no slot of this mode; see {hint}"),
                    },
                    None,
                ),
            }
        })
        .collect();
    Ok(Outcome {
        records,
        comparison: Some(paired.comparison),
    })
}

fn read_summary(path: &Path) -> Result<LoadSummary> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::SummaryRead {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::SummaryParse {
        path: path.to_path_buf(),
        source,
    })
}

/// The plan's loadtest flags with where to send, what to present, and where to write.
fn loadtest_cli(
    ctx: &Context,
    plan: &RunPlan,
    gateways: &Gateways,
    summary: &Path,
    crl: Option<&Path>,
) -> Cli {
    let pki = &ctx.prepared.pki_dir;
    let mut load = plan.load.clone();
    load.summary_out = summary.to_path_buf();
    load.histogram_out = Some(summary.with_extension("hlog"));
    load.identities = plan.identities as usize;
    load.kubeconfig = Some(ctx.admin_kubeconfig.clone());
    load.namespace = ctx.prepared.load_namespace.clone();
    load.ca_cert = Some(ctx.ca_bundle.clone());
    load.crl_out = crl.map(Path::to_path_buf);
    match gateways {
        Gateways::Local(all) if plan.is_paired() => {
            load.pair = all
                .iter()
                .map(|g| PairTarget {
                    mode: g.mode.as_str().into(),
                    url: g.url.clone(),
                    metrics: g.metrics_url.clone(),
                    pids: g.pids.clone(),
                    upstream_pid: g.upstream_pid,
                    certs: (Credentials::of(g.mode) == Credentials::ClientCert)
                        .then(|| pki.clone()),
                })
                .collect();
            load.floor = Mode::None.as_str().into();
            load.model = models(plan);
        }
        Gateways::Local(all) => {
            let g = &all[0];
            load.goose.host = Some(g.url.clone());
            load.gateway_metrics = g.metrics_url.clone();
            load.gateway_pid = g.all_pids();
        }
        Gateways::InCluster { url, metrics_url } => {
            load.goose.host = Some(url.clone());
            load.gateway_metrics = Some(metrics_url.clone());
        }
    }
    if !plan.is_paired() && plan.credentials() == Credentials::ClientCert {
        load.pki_dir = Some(pki.clone());
    }
    load
}

/// The API-call model each mode of a paired run is checked against, with the TTLs as run.
fn models(plan: &RunPlan) -> Vec<ModelSpec> {
    let (token_ttl, sar_ttl) = super::profile::model_ttl_secs(plan.ttl_scale);
    plan.modes
        .iter()
        .flat_map(|m| {
            mode_apis(m.as_str(), token_ttl, sar_ttl)
                .into_iter()
                .filter_map(move |(api, used)| {
                    let ttl_secs = match used {
                        ApiUse::NotCalled => return None,
                        ApiUse::EveryRequest => None,
                        ApiUse::Cached { ttl_secs } => Some(ttl_secs),
                    };
                    Some(ModelSpec {
                        mode: m.as_str().into(),
                        api: api.into(),
                        ttl_secs,
                    })
                })
        })
        .collect()
}
