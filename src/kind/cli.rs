//! Command-line entry point of `gatebench kind`: bring a kind cluster up with the gateway,
//! run distributed load as a Job and collect its results, tear the cluster down.

use super::frames;
use super::job::{self, LoadJobOptions, RESULTS_CONTAINER};
use super::job_status::{self, JobState};
use super::plan::{self, DEFAULT_CLUSTER, DEFAULT_IMAGE, Target, UpPlan};
use super::tools;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Flags of `gatebench kind`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create the kind cluster (kind-config.yaml), build and load the image, apply deploy/, wait for the gateway.
    Up(Box<UpArgs>),
    /// Run distributed load as a Job (deploy/jobs/loadtest-job.yaml) and collect every pod's results.
    Load(Box<LoadArgs>),
    /// Decode result frames from saved Job logs into one directory per pod.
    Collect(CollectArgs),
    /// Print the result files in a directory as log frames (what each Job pod runs after loadtest).
    EmitResults(EmitArgs),
    /// Delete the kind cluster.
    Down(ClusterArgs),
}

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// kind cluster name.
    #[arg(long, default_value = DEFAULT_CLUSTER)]
    pub name: String,
    /// kubectl context to use instead of `kind-<name>` (e.g. a non-kind cluster for `load`).
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Repository root (holds kind-config.yaml, deploy/ and the Docker build context).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Image to build and load.
    #[arg(long, default_value = DEFAULT_IMAGE)]
    pub image: String,
    /// Use an image already built under --image instead of running docker build.
    #[arg(long)]
    pub skip_build: bool,
    /// How long to wait for the gateway rollout.
    #[arg(long, default_value_t = 180)]
    pub rollout_timeout_secs: u64,
    /// Also write the cluster's kubeconfig here (for `gatebench decide --target kubeconfig:PATH`).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Print the commands instead of running them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Load pods running at once.
    #[arg(long, default_value_t = 3)]
    pub parallelism: i32,
    /// Load pods in total (default: --parallelism).
    #[arg(long)]
    pub completions: Option<i32>,
    /// loadtest scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Offered requests/s per pod (the total is this times --parallelism).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds each pod runs.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Load identities (ServiceAccounts load-0..N-1 in gatebench-load).
    #[arg(long)]
    pub identities: Option<u64>,
    /// Gateway URL as the pods see it.
    #[arg(long)]
    pub host: Option<String>,
    /// Image of the Job's pods.
    #[arg(long)]
    pub image: Option<String>,
    /// Directory for the results, one subdirectory per pod; must be empty or absent.
    #[arg(long, default_value = "reports/distributed")]
    pub out: PathBuf,
    /// Give up waiting for the Job after this long (default: pod duration x waves + 5 minutes).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Print the Job manifest (JSON) and exit without a cluster.
    #[arg(long)]
    pub print: bool,
    /// Further loadtest flags, after `--`.
    #[arg(last = true)]
    pub loadtest_args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Saved `kubectl logs -c results` output ("-" for stdin).
    #[arg(long)]
    pub logs: PathBuf,
    /// Directory for the results, one subdirectory per pod.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct EmitArgs {
    /// Directory holding the result files.
    #[arg(long)]
    pub dir: PathBuf,
    /// Pod name to tag the frames with.
    #[arg(long, env = "POD_NAME")]
    pub pod: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Up(a) => up(*a).await,
        Command::Load(a) => load(*a).await,
        Command::Collect(a) => collect(a),
        Command::EmitResults(a) => {
            print!("{}", frames::encode_dir(&a.pod, &a.dir)?);
            Ok(())
        }
        Command::Down(a) => {
            tools::require(&["kind"])?;
            let target = Target::kind(&a.name, a.context.as_deref());
            Ok(tools::run(&plan::down(&target)).await?)
        }
    }
}

async fn up(a: UpArgs) -> anyhow::Result<()> {
    let target = Target::kind(&a.cluster.name, a.cluster.context.as_deref());
    for file in [
        "kind-config.yaml",
        "deploy/kustomization.yaml",
        "deploy/Dockerfile",
    ] {
        anyhow::ensure!(
            a.repo.join(file).is_file(),
            "{} not found: run from the gatebench repository or pass --repo",
            a.repo.join(file).display()
        );
    }
    let mut needed = vec!["kind", "kubectl"];
    if !a.skip_build {
        needed.push("docker");
    }
    let cluster_exists = if a.dry_run {
        false
    } else {
        tools::require(&needed)?;
        plan::cluster_listed(
            &tools::output(&plan::list_clusters()).await?,
            &target.cluster,
        )
    };
    let up = UpPlan {
        target: target.clone(),
        repo: a.repo.clone(),
        image: a.image.clone(),
        cluster_exists,
        build_image: !a.skip_build,
        rollout_timeout_secs: a.rollout_timeout_secs,
    };
    for step in up.steps() {
        if a.dry_run {
            println!("{step}");
        } else {
            tools::run(&step).await?;
        }
    }
    if a.dry_run {
        return Ok(());
    }
    let kubeconfig_hint = match &a.kubeconfig_out {
        Some(path) => {
            let text = tools::output(&plan::kubeconfig(&target)).await?;
            write_private(path, &text)?;
            format!("kubeconfig:{}", path.display())
        }
        None => "kubeconfig".to_string(),
    };
    let (api_url, metrics_url) = plan::gateway_host_urls();
    eprintln!(
        "gateway ready in {} ({api_url}, metrics {metrics_url})\n\
         next: gatebench decide --target {kubeconfig_hint}",
        target.context
    );
    Ok(())
}

async fn load(a: LoadArgs) -> anyhow::Result<()> {
    let options = LoadJobOptions {
        parallelism: Some(a.parallelism),
        completions: a.completions,
        scenario: a.scenario.clone(),
        rate_rps: a.rate,
        duration_secs: a.duration,
        identities: a.identities,
        host: a.host.clone(),
        image: a.image.clone(),
        extra_args: a.loadtest_args.clone(),
    };
    let job = job::build(&options)?;
    let manifest = serde_json::to_string_pretty(&job)?;
    if a.print {
        println!("{manifest}");
        return Ok(());
    }
    tools::require(&["kubectl"])?;
    // `report --merge OUT/*` would silently fold an older run's pods into this one.
    let stale = std::fs::read_dir(&a.out)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    anyhow::ensure!(
        !stale,
        "{} is not empty: pass a new --out directory (or remove the previous run's results)",
        a.out.display()
    );
    let target = Target::kind(&a.cluster.name, a.cluster.context.as_deref());
    let (namespace, name) = job::namespace_and_name(&job);
    let spec = job.spec.clone().unwrap_or_default();
    let completions = spec.completions.unwrap_or(1);
    let waves = u64::try_from((completions + a.parallelism - 1) / a.parallelism).unwrap_or(1);
    let pod_secs = a.duration.unwrap_or(60) + 60; // run time plus token minting and start-up
    let timeout = Duration::from_secs(a.timeout_secs.unwrap_or(pod_secs * waves + 300));

    tools::run(&plan::delete_job(&target, &namespace, &name)).await?;
    tools::run(&plan::create_job(&target, manifest)).await?;
    wait_for_job(&target, &namespace, &name, timeout).await?;

    let logs = tools::output(&plan::job_logs(
        &target,
        &namespace,
        &name,
        RESULTS_CONTAINER,
        completions,
    ))
    .await?;
    let dirs = write_results(&logs, &a.out)?;
    anyhow::ensure!(
        dirs.len() == usize::try_from(completions).unwrap_or(0),
        "expected results from {completions} pods, got {} (see `kubectl -n {namespace} logs -l job-name={name} -c {RESULTS_CONTAINER}`)",
        dirs.len()
    );
    let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    eprintln!(
        "results of {} pods in {}\nnext: gatebench report --merge {}",
        dirs.len(),
        a.out.display(),
        list.join(" ")
    );
    Ok(())
}

async fn wait_for_job(
    target: &Target,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last = None;
    loop {
        let text = tools::output(&plan::get_job(target, namespace, name)).await?;
        let job: k8s_openapi::api::batch::v1::Job =
            serde_json::from_str(&text).context("parsing `kubectl get job -o json`")?;
        let state = job_status::state(&job);
        if last.as_ref() != Some(&state) {
            eprintln!("job {namespace}/{name}: {state:?}");
            last = Some(state.clone());
        }
        match state {
            JobState::Complete { .. } => return Ok(()),
            JobState::Failed { reason } => anyhow::bail!(
                "load Job failed ({reason}); see `kubectl -n {namespace} logs -l job-name={name} -c {}`",
                job::LOADTEST_CONTAINER
            ),
            JobState::Running { .. } if started.elapsed() > timeout => {
                anyhow::bail!("load Job still running after {}s", timeout.as_secs())
            }
            JobState::Running { .. } => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

fn collect(a: CollectArgs) -> anyhow::Result<()> {
    let logs = if a.logs == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&a.logs).with_context(|| format!("reading {}", a.logs.display()))?
    };
    let dirs = write_results(&logs, &a.out)?;
    anyhow::ensure!(!dirs.is_empty(), "no result frames in {}", a.logs.display());
    for dir in dirs {
        println!("{}", dir.display());
    }
    Ok(())
}

fn write_results(logs: &str, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = frames::decode(logs)?;
    Ok(frames::write_all(&files, out)?)
}

/// A kubeconfig holds cluster-admin credentials: owner-only permissions.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    crate::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::PRIVATE)
        .with_context(|| format!("writing {}", path.display()))
}
