//! The whole decide run: start the target, set it up, run the matrix, write results.json and decision.html.

use super::error::Error as RunError;
use super::gateways::External;
use super::in_cluster::{self, Placement};
use super::matrix::{self, MatrixInput};
use super::mode::Mode;
use super::plan::RunPlan;
use super::process::{Managed, Spec};
use super::profile::{Profile, ProfileSpec};
use super::progress::RunBar;
use super::runner::{self, Context};
use super::{binaries, criterion, environment, output, setup};
use crate::results::{Results, RunOutcome, RunRecord, SCHEMA_VERSION, Scenario, Settings};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Output(#[from] output::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where the API server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start `gatebench apiserver` (the stand-in).
    Embedded,
    /// A real (or separately started) API server reached through this admin kubeconfig.
    Kubeconfig(PathBuf),
    /// Start `gatebench kube-apiserver` (etcd + kube-apiserver built from upstream).
    KubeApiserver,
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Embedded => "embedded".into(),
            Target::Kubeconfig(p) => format!("kubeconfig:{}", p.display()),
            Target::KubeApiserver => "kube-apiserver".into(),
        }
    }
}

/// Everything `decide` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Profile,
    pub target: Target,
    /// Local gateway process per run, or the in-cluster Deployment (kubeconfig targets only).
    pub gateway: Placement,
    pub modes: Vec<Mode>,
    /// The user's own gateway, measured beside the modes (`--gateway external:URL`).
    pub external: Option<External>,
    /// The CA of the external gateway's serving certificate, added to what the generator trusts.
    pub external_ca: Option<PathBuf>,
    pub scenarios: Vec<Scenario>,
    pub expected_rps: f64,
    pub growth_rps: f64,
    pub slo_p99_us: u64,
    pub latency_budget_us: u64,
    pub identities: Vec<u64>,
    pub out: PathBuf,
    pub duration_scale: Option<f64>,
    pub loadtest_bin: Option<PathBuf>,
}

/// What a finished (or interrupted) decide run wrote.
#[derive(Debug)]
pub struct Finished {
    pub results: Results,
    pub results_path: PathBuf,
    pub html_path: PathBuf,
    /// "id: reason" of every run that failed or produced no data.
    pub failures: Vec<String>,
    /// Why nothing could run (stand-in, set-up or binaries), if so.
    pub startup_error: Option<String>,
}

const APISERVER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// etcd + kube-apiserver: ~10-20 s on 2 busy cores; the supervisor's own limit is 120 s.
const KUBE_APISERVER_START_TIMEOUT: Duration = Duration::from_secs(150);

/// Runs the matrix. Errors only when nothing can be written; failed runs are recorded instead.
pub async fn decide(opts: Options) -> Result<Finished> {
    let mut spec = ProfileSpec::of(opts.profile);
    if let Some(factor) = opts.duration_scale {
        spec.scale_durations(factor);
    }
    let plans = matrix::plan(
        &spec,
        &MatrixInput {
            modes: opts
                .modes
                .iter()
                .copied()
                .chain(opts.external.as_ref().map(|_| Mode::External))
                .collect(),
            scenarios: opts.scenarios.clone(),
            expected_rps: opts.expected_rps,
            growth_rps: opts.growth_rps,
            slo_p99_us: opts.slo_p99_us,
            // One Deployment cannot be several gateways at once.
            paired: opts.gateway == Placement::Local,
            apiserver_token_cache_secs: match opts.target {
                Target::Embedded => 0.0,
                // kube-apiserver's built-in token success cache (not a flag): 10 s.
                Target::KubeApiserver | Target::Kubeconfig(_) => {
                    crate::kubeapiserver::TOKEN_SUCCESS_CACHE_SECS
                }
            },
        },
    );
    let dirs = output::Dirs::create(&opts.out)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // Gateway and generator on different cores so neither's CPU use shows up in the other's latency.
    let pin = (cores >= 2).then_some((0, 1));
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        partial: true,
        environment: environment::gather(&environment::RunInfo {
            profile: spec.name.to_string(),
            time_scale: spec.time_scale,
            target: match opts.gateway {
                Placement::Local => opts.target.label(),
                Placement::InCluster => format!("{} (gateway in-cluster)", opts.target.label()),
            },
            pinned: pin.is_some(),
        }),
        settings: Settings {
            expected_rps: opts.expected_rps,
            growth_rps: opts.growth_rps,
            slo_p99_us: opts.slo_p99_us,
            latency_budget_us: opts.latency_budget_us,
            identities: opts.identities.clone(),
            ..Settings::default()
        },
        runs: Vec::new(),
        microbenchmarks: criterion::default_dir()
            .map(|d| criterion::read_all(&d))
            .unwrap_or_default(),
        comparisons: Vec::new(),
        verdict: None,
    };
    println!(
        "gatebench decide: profile {} (TTLs and windows scaled {}x: a 300 s TTL runs as {:.1} s), {} runs, about {:.0} s; target {}",
        spec.name,
        spec.time_scale,
        spec.token_ttl_secs(),
        plans.len(),
        matrix::estimated_secs(&plans),
        opts.target.label()
    );

    let mut startup_error = None;
    let interrupted = {
        let work = run_all(&opts, &plans, &dirs, pin, &mut results, &mut startup_error);
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => true,
            () = work => false,
        }
    };
    // Children were killed when the run future was dropped; account for what never ran.
    let ran: std::collections::BTreeSet<&str> =
        results.runs.iter().map(|r| r.id.as_str()).collect();
    let not_run: Vec<RunRecord> = plans
        .iter()
        .flat_map(|plan| {
            runner::records_with(
                plan,
                RunOutcome::Skipped {
                    reason: "not run: decide was interrupted (Ctrl-C)".into(),
                },
            )
        })
        .filter(|r| !ran.contains(r.id.as_str()))
        .collect();
    results.runs.extend(not_run);
    if interrupted {
        eprintln!("interrupted: writing the results gathered so far (partial)");
    }
    results.partial = interrupted;
    results.environment.finished_at = Some(environment::now());
    let failures = failures(&results.runs);
    results.verdict = Some(crate::report::verdict(&results));
    let (results_path, html_path) = output::write_all(&dirs, &results)?;
    Ok(Finished {
        results,
        results_path,
        html_path,
        failures,
        startup_error,
    })
}

fn failures(runs: &[RunRecord]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| match &r.outcome {
            RunOutcome::Failed { error } => Some(format!("{}: {error}", r.id)),
            RunOutcome::NoData { reason } => Some(format!("{}: {reason}", r.id)),
            _ => None,
        })
        .collect()
}

/// Start-up and the matrix; pushes one record per plan into `results` as it goes.
async fn run_all(
    opts: &Options,
    plans: &[RunPlan],
    dirs: &output::Dirs,
    pin: Option<(usize, usize)>,
    results: &mut Results,
    startup_error: &mut Option<String>,
) {
    // Held until the matrix ends: dropping it stops the stand-in.
    let mut apiserver: Option<Managed> = None;
    let ctx = match start(opts, dirs, pin, &mut apiserver, results).await {
        Ok(ctx) => ctx,
        Err(error) => {
            eprintln!("start-up failed: {error}");
            for plan in plans {
                results.runs.extend(runner::records_with(
                    plan,
                    RunOutcome::Failed {
                        error: format!("start-up failed: {error}"),
                    },
                ));
            }
            *startup_error = Some(error.to_string());
            return;
        }
    };
    // Put the Deployment back as deploy/ left it once the matrix ends (not on Ctrl-C).
    let original_args = match opts.gateway {
        Placement::InCluster => in_cluster::current_args(&ctx.kube).await.ok(),
        Placement::Local => None,
    };
    let total = plans.len();
    for (i, plan) in plans.iter().enumerate() {
        let index = i + 1;
        let bar = RunBar::start(index, total, &plan.id, plan.duration_secs);
        let outcome = if plan.needs_stand_in && opts.target != Target::Embedded {
            let reason = match opts.target {
                Target::KubeApiserver => {
                    "needs the stand-in's injected faults (latency, 503, 429 at run time); \
                     a real kube-apiserver has only hang/refused outages and start-time inflight limits"
                }
                _ => "needs the stand-in's fault admin endpoint; not available on a real cluster",
            };
            skipped(plan, reason.into())
        } else if let Some(reason) = external_skip_reason(plan) {
            skipped(plan, reason.into())
        } else if let Some(reason) = (opts.gateway == Placement::InCluster)
            .then(|| in_cluster::skip_reason(plan))
            .flatten()
        {
            skipped(plan, reason)
        } else {
            runner::run(&ctx, plan, &bar).await
        };
        bar.finish(index, total, &outcome.records);
        results.runs.extend(outcome.records);
        results.comparisons.extend(outcome.comparison);
        // A crash or Ctrl-C later still leaves what was measured on disk.
        if let Err(e) = output::write_results(dirs, results) {
            eprintln!("warning: could not save intermediate results: {e}");
        }
    }
    if let Some(args) = original_args.filter(|a| !a.is_empty())
        && let Err(e) = in_cluster::restore(&ctx.kube, &args).await
    {
        eprintln!("warning: could not restore the in-cluster gateway's args: {e}");
    }
    if let Some(apiserver) = apiserver {
        apiserver.stop(Duration::from_secs(5)).await;
    }
}

/// Runs of the user's gateway that need what only gatebench's own gateways give: a cache TTL
/// decide sets (revocation's window), a client QPS decide sets, or the stand-in's faults between
/// that gateway and its API server.
fn external_skip_reason(plan: &RunPlan) -> Option<&'static str> {
    if !plan.modes.contains(&Mode::External) || plan.is_paired() {
        return None;
    }
    match plan.scenario {
        Scenario::Revocation => Some(
            "the external gateway's cache TTL is its own and unknown to decide, so no window \
             can be planned to see a revoked token expire",
        ),
        Scenario::Outage => Some(
            "the faults are injected by the stand-in API server decide starts; the external \
             gateway talks to its own",
        ),
        Scenario::Throttle => Some(
            "the client QPS and the API server's inflight limit are set by decide for its own \
             gateways; the external gateway runs with its own settings",
        ),
        _ => None,
    }
}

fn skipped(plan: &RunPlan, reason: String) -> runner::Outcome {
    runner::Outcome {
        records: runner::records_with(plan, RunOutcome::Skipped { reason }),
        comparison: None,
    }
}

async fn start(
    opts: &Options,
    dirs: &output::Dirs,
    pin: Option<(usize, usize)>,
    apiserver: &mut Option<Managed>,
    results: &mut Results,
) -> std::result::Result<Context, RunError> {
    let gatebench = binaries::gatebench()?;
    let loadtest = match &opts.loadtest_bin {
        Some(path) => path.clone(),
        None => binaries::loadtest(|msg| println!("{msg}"))?,
    };
    let admin_kubeconfig = match &opts.target {
        Target::Embedded => {
            let path = dirs.work.join("admin.kubeconfig");
            let spec = Spec::new(
                "apiserver",
                &gatebench,
                vec![
                    "apiserver".into(),
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--kubeconfig-out".into(),
                    path.display().to_string(),
                ],
                &dirs.logs.join("apiserver.log"),
            );
            let (child, listening) =
                Managed::start_listening(&spec, APISERVER_START_TIMEOUT).await?;
            println!(
                "stand-in API server at {}",
                listening.get("url").and_then(|u| u.as_str()).unwrap_or("?")
            );
            *apiserver = Some(child);
            path
        }
        Target::Kubeconfig(path) => path.clone(),
        Target::KubeApiserver => {
            let path = dirs.work.join("admin.kubeconfig");
            let args = crate::kubeapiserver::cli::Args::new(path.clone()).to_args();
            let spec = Spec::new(
                "kube-apiserver",
                &gatebench,
                args,
                &dirs.logs.join("kube-apiserver.log"),
            );
            let (child, listening) =
                Managed::start_listening(&spec, KUBE_APISERVER_START_TIMEOUT).await?;
            *apiserver = Some(child);
            let listening: crate::kubeapiserver::cli::Listening =
                serde_json::from_value(listening.clone()).map_err(|_| RunError::ListeningLine {
                    name: "kube-apiserver".into(),
                    key: "kube_apiserver_version",
                    line: listening.to_string(),
                })?;
            println!(
                "kube-apiserver {} (etcd {}) at {}",
                listening.kube_apiserver_version, listening.etcd_version, listening.url
            );
            let environment = &mut results.environment;
            environment.kube_apiserver_version = Some(listening.kube_apiserver_version);
            environment.etcd_version = Some(listening.etcd_version);
            path
        }
    };
    let kube_rbac_proxy = match opts.modes.contains(&Mode::KubeRbacProxy) {
        true => Some(crate::kubeapiserver::locate::kube_rbac_proxy()?),
        false => None,
    };
    let kube = setup::admin_client(&admin_kubeconfig).await?;
    println!("setting up identities, RBAC and PKI through the Kubernetes API");
    let prepared = setup::prepare(&kube, &admin_kubeconfig, &dirs.work).await?;
    let ca_bundle = match &opts.external_ca {
        None => prepared.pki_dir.join("ca.pem"),
        Some(extra) => {
            let path = dirs.work.join("ca-bundle.pem");
            ca_bundle(&prepared.pki_dir.join("ca.pem"), extra, &path)?;
            path
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(RunError::Http)?;
    Ok(Context {
        gatebench,
        loadtest,
        logs_dir: dirs.logs.clone(),
        runs_dir: dirs.runs.clone(),
        kube,
        admin_kubeconfig,
        prepared,
        http,
        pin,
        placement: opts.gateway,
        kube_rbac_proxy,
        external: opts.external.clone(),
        ca_bundle,
    })
}

/// Writes gatebench's CA and `extra` (the external gateway's) into one PEM bundle at `out`.
fn ca_bundle(ours: &Path, extra: &Path, out: &Path) -> std::result::Result<(), RunError> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| RunError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let text = format!("{}\n{}", read(ours)?.trim_end(), read(extra)?);
    std::fs::write(out, text).map_err(|source| RunError::Write {
        path: out.to_path_buf(),
        source,
    })
}
