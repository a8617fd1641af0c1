//! Command-line entry point of `gatebench decide`.

use super::in_cluster::Placement;
use super::orchestrate::{self, Options, Target};
use super::profile::Profile;
use super::mode::Mode;
use crate::results::Scenario;
use std::path::PathBuf;

/// Flags of `gatebench decide`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// quick (~5 min, TTLs scaled 60x), standard (~20 min, 10x) or full (real 5-minute TTLs).
    #[arg(long, value_enum, default_value = "quick")]
    pub profile: Profile,
    /// `embedded` starts the stand-in API server; `kube-apiserver` starts etcd + kube-apiserver
    /// (built by scripts/install-kube-apiserver.sh); `kubeconfig[:PATH]` uses a running cluster
    /// (PATH defaults to $KUBECONFIG or ~/.kube/config).
    #[arg(long, default_value = "embedded")]
    pub target: String,
    /// `local` runs a gateway process per run; `in-cluster` patches and restarts the
    /// `gatebench-gateway` Deployment of deploy/ (needs `--target kubeconfig[:PATH]`).
    #[arg(long, value_enum, default_value = "local")]
    pub gateway: Placement,
    /// Gateway auth modes to measure, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "none,tokenreview,cached,jwks,mtls,hybrid"
    )]
    pub modes: Vec<Mode>,
    /// Scenarios to run, comma separated (default: all of the profile).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Vec<Scenario>,
    /// Today's load, requests per second: the verdict's first yardstick.
    #[arg(long, default_value_t = 100.0)]
    pub expected_rps: f64,
    /// The load to plan for, requests per second.
    #[arg(long, default_value_t = 1000.0)]
    pub growth_rps: f64,
    /// Latency objective for p99, microseconds (the design note's cached claim: 2 ms).
    #[arg(long, default_value_t = 2000)]
    pub slo_p99_us: u64,
    /// The p99 latency authentication may add over the no-auth floor, microseconds (the design
    /// note's cached-latency claim, 2 ms, read as a cost).
    #[arg(long, default_value_t = 2000)]
    pub latency_budget_us: u64,
    /// Identity counts (Prometheus and Alertmanager replicas sending alerts) to project API
    /// calls and hit ratios for, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    pub identities: Vec<u64>,
    /// Output directory for results.json, decision.html, logs/ and runs/.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Multiplies every timed window (not TTLs); for tests of the harness.
    #[arg(long, hide = true)]
    pub duration_scale: Option<f64>,
    /// Use this `loadtest` executable instead of the one next to gatebench.
    #[arg(long, hide = true)]
    pub loadtest_bin: Option<PathBuf>,
}

fn parse_target(text: &str) -> anyhow::Result<Target> {
    match text {
        "embedded" => return Ok(Target::Embedded),
        "kube-apiserver" => return Ok(Target::KubeApiserver),
        _ => {}
    }
    let Some(rest) = text.strip_prefix("kubeconfig") else {
        anyhow::bail!(
            "--target must be `embedded`, `kube-apiserver` or `kubeconfig[:PATH]`, not `{text}`"
        );
    };
    let path = match rest.strip_prefix(':') {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        None if rest.is_empty() => default_kubeconfig()?,
        _ => anyhow::bail!("--target kubeconfig:PATH needs a path after the colon"),
    };
    Ok(Target::Kubeconfig(path))
}

fn default_kubeconfig() -> anyhow::Result<PathBuf> {
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .and_then(|v| std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty()))
    {
        return Ok(first);
    }
    let home = std::env::var_os("HOME").ok_or_else(|| {
        anyhow::anyhow!("no KUBECONFIG and no HOME: use --target kubeconfig:PATH")
    })?;
    Ok(PathBuf::from(home).join(".kube").join("config"))
}

/// `paired` is how steady runs, not a scenario of its own.
fn check_scenarios(scenarios: &[Scenario]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !scenarios.contains(&Scenario::Paired),
        "`paired` is how decide runs `steady` (every mode interleaved); ask for `steady`"
    );
    Ok(())
}

/// The in-cluster gateway is the Deployment of deploy/: there is none next to the stand-in.
fn check_placement(target: &Target, gateway: Placement) -> anyhow::Result<()> {
    anyhow::ensure!(
        gateway == Placement::Local || matches!(target, Target::Kubeconfig(_)),
        "--gateway in-cluster needs --target kubeconfig[:PATH] (a cluster with deploy/ applied); \
         the embedded stand-in has no Deployments"
    );
    Ok(())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    check_scenarios(&args.scenarios)?;
    anyhow::ensure!(
        args.expected_rps > 0.0 && args.growth_rps > 0.0,
        "--expected-rps and --growth-rps must be positive"
    );
    let target = parse_target(&args.target)?;
    check_placement(&target, args.gateway)?;
    let options = Options {
        profile: args.profile,
        target,
        gateway: args.gateway,
        modes: args.modes,
        scenarios: args.scenarios,
        expected_rps: args.expected_rps,
        growth_rps: args.growth_rps,
        slo_p99_us: args.slo_p99_us,
        latency_budget_us: args.latency_budget_us,
        identities: args.identities,
        out: args.out,
        duration_scale: args.duration_scale,
        loadtest_bin: args.loadtest_bin,
    };
    let finished = orchestrate::decide(options).await?;
    println!(
        "wrote {} and {}",
        finished.results_path.display(),
        finished.html_path.display()
    );
    if let Some(v) = &finished.results.verdict {
        println!("verdict: {}: {}", v.branch.as_str(), v.sentence);
    }
    if let Some(error) = finished.startup_error {
        anyhow::bail!("start-up failed, nothing was measured: {error}");
    }
    if finished.results.partial {
        anyhow::bail!("the matrix did not finish; results are marked partial");
    }
    if !finished.failures.is_empty() {
        anyhow::bail!(
            "{} run(s) failed or produced no data: {}",
            finished.failures.len(),
            finished.failures.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(parse_target("embedded").unwrap(), Target::Embedded);
        assert_eq!(
            parse_target("kube-apiserver").unwrap(),
            Target::KubeApiserver
        );
        assert_eq!(
            parse_target("kubeconfig:/tmp/kc").unwrap(),
            Target::Kubeconfig(PathBuf::from("/tmp/kc"))
        );
        assert!(matches!(
            parse_target("kubeconfig").unwrap(),
            Target::Kubeconfig(_)
        ));
        assert!(parse_target("kubeconfig:").is_err());
        assert!(parse_target("kind").is_err());
    }

    #[test]
    fn in_cluster_gateway_needs_a_kubeconfig_target() {
        let kc = Target::Kubeconfig(PathBuf::from("/tmp/kc"));
        assert!(check_placement(&kc, Placement::InCluster).is_ok());
        assert!(check_placement(&kc, Placement::Local).is_ok());
        assert!(check_placement(&Target::Embedded, Placement::Local).is_ok());
        let err = check_placement(&Target::Embedded, Placement::InCluster).unwrap_err();
        assert!(err.to_string().contains("--target kubeconfig"), "{err}");
    }

    #[test]
    fn paired_is_not_a_decide_scenario() {
        assert!(check_scenarios(&[Scenario::Steady, Scenario::ColdBurst]).is_ok());
        let err = check_scenarios(&[Scenario::Paired]).unwrap_err();
        assert!(err.to_string().contains("steady"), "{err}");
    }
}
