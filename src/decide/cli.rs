//! Command-line entry point of `gatebench decide`.

use super::gateways::External;
use super::in_cluster::Placement;
use super::mode::Mode;
use super::orchestrate::{self, Options, Target};
use super::profile::Profile;
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
    /// `gatebench-gateway` Deployment of deploy/ (needs `--target kubeconfig[:PATH]`);
    /// `external:URL` also measures a gateway you run (your build, in or out of a cluster)
    /// beside the local modes. It must accept the tokens minted for the load ServiceAccounts.
    #[arg(long, default_value = "local", value_parser = parse_gateway)]
    pub gateway: GatewayArg,
    /// The external gateway's Prometheus metrics URL (gatebench's metric names; optional).
    #[arg(long)]
    pub gateway_metrics: Option<String>,
    /// The external gateway's PID on this machine, for CPU per request (optional).
    #[arg(long)]
    pub gateway_pid: Option<u32>,
    /// The CA (PEM) that signed the external gateway's serving certificate.
    #[arg(long)]
    pub gateway_ca: Option<PathBuf>,
    /// Modes to measure, comma separated: the reference gateway's auth modes, and
    /// `kube-rbac-proxy` (in front of the no-auth gateway; built by
    /// scripts/install-kube-apiserver.sh).
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

/// Where the gateways of a run come from.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayArg {
    Placed(Placement),
    /// The user's gateway at this URL, beside local modes.
    External(String),
}

fn parse_gateway(text: &str) -> Result<GatewayArg, String> {
    match text {
        "local" => Ok(GatewayArg::Placed(Placement::Local)),
        "in-cluster" => Ok(GatewayArg::Placed(Placement::InCluster)),
        _ => match text.strip_prefix("external:") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(GatewayArg::External(url.trim_end_matches('/').to_string()))
            }
            Some(_) => Err("external:URL needs an http:// or https:// URL".into()),
            None => Err(format!(
                "expected `local`, `in-cluster` or `external:URL`, not `{text}`"
            )),
        },
    }
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
    let (placement, external) = match &args.gateway {
        GatewayArg::Placed(p) => (*p, None),
        GatewayArg::External(url) => (
            Placement::Local,
            Some(External {
                url: url.clone(),
                metrics_url: args.gateway_metrics.clone(),
                pid: args.gateway_pid,
            }),
        ),
    };
    anyhow::ensure!(
        external.is_some()
            || (args.gateway_metrics.is_none()
                && args.gateway_pid.is_none()
                && args.gateway_ca.is_none()),
        "--gateway-metrics, --gateway-pid and --gateway-ca describe --gateway external:URL"
    );
    check_placement(&target, placement)?;
    anyhow::ensure!(
        placement == Placement::Local || !args.modes.contains(&Mode::KubeRbacProxy),
        "--modes kube-rbac-proxy runs the proxy as a local process; it has no in-cluster \
         Deployment in deploy/ (use --gateway local)"
    );
    let options = Options {
        profile: args.profile,
        target,
        gateway: placement,
        modes: args.modes,
        external,
        external_ca: args.gateway_ca,
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
    fn gateways_parse() {
        let parse = |t| parse_gateway(t);
        assert_eq!(parse("local"), Ok(GatewayArg::Placed(Placement::Local)));
        assert_eq!(
            parse("in-cluster"),
            Ok(GatewayArg::Placed(Placement::InCluster))
        );
        assert_eq!(
            parse("external:https://10.0.0.5:8443/"),
            Ok(GatewayArg::External("https://10.0.0.5:8443".into()))
        );
        assert!(parse("external:").is_err());
        assert!(parse("external:10.0.0.5:8443").is_err());
        assert!(parse("remote").is_err());
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
