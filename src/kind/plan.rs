//! The command lines behind `gatebench kind up|load|down`, built as data so they can be shown,
//! tested and run by one runner. Everything kubectl does is pinned to one context, so a run never
//! lands on whatever cluster happens to be current.

use super::tools::Cmd;
use std::path::{Path, PathBuf};

/// The gateway Deployment `kind up` waits for (deploy/gateway-deployment.yaml).
pub const GATEWAY_NAMESPACE: &str = "gatebench-system";
pub const GATEWAY_DEPLOYMENT: &str = "gatebench-gateway";
pub const GATEWAY_CONTAINER: &str = "gateway";
/// The image name the manifests use; `kind load docker-image` makes it present on every node.
pub const DEFAULT_IMAGE: &str = "gatebench:dev";
pub const DEFAULT_CLUSTER: &str = "gatebench";
/// NodePorts of the gateway Service, mapped 1:1 to the host's 127.0.0.1 by kind-config.yaml.
pub const GATEWAY_API_NODEPORT: u16 = 30080;
pub const GATEWAY_METRICS_NODEPORT: u16 = 30090;

/// The in-cluster gateway as the host sees it: (API URL, metrics URL).
pub fn gateway_host_urls() -> (String, String) {
    (
        format!("http://127.0.0.1:{GATEWAY_API_NODEPORT}"),
        format!("http://127.0.0.1:{GATEWAY_METRICS_NODEPORT}/metrics"),
    )
}

/// Which cluster: a kind cluster's name and the kubectl context to use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub cluster: String,
    pub context: String,
}

impl Target {
    /// kind names the kubectl context of cluster `NAME` `kind-NAME`.
    pub fn kind(cluster: &str, context: Option<&str>) -> Self {
        Target {
            cluster: cluster.to_string(),
            context: context.map_or_else(|| format!("kind-{cluster}"), str::to_string),
        }
    }

    fn kubectl<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all = vec!["--context".to_string(), self.context.clone()];
        all.extend(args.into_iter().map(Into::into));
        Cmd::new("kubectl", all)
    }
}

/// What `kind up` does.
#[derive(Debug, Clone)]
pub struct UpPlan {
    pub target: Target,
    /// Repository root: holds kind-config.yaml, deploy/ and the build context.
    pub repo: PathBuf,
    pub image: String,
    /// The cluster already exists (then it is reused and the gateway restarted on the new image).
    pub cluster_exists: bool,
    pub build_image: bool,
    pub rollout_timeout_secs: u64,
}

impl UpPlan {
    pub fn steps(&self) -> Vec<Cmd> {
        let repo = &self.repo;
        let mut steps = Vec::new();
        if !self.cluster_exists {
            steps.push(Cmd::new(
                "kind",
                [
                    "create",
                    "cluster",
                    "--name",
                    &self.target.cluster,
                    "--config",
                    &path(&repo.join("kind-config.yaml")),
                    "--wait",
                    "180s",
                ],
            ));
        }
        if self.build_image {
            steps.push(
                Cmd::new(
                    "docker",
                    ["build", "-f", "deploy/Dockerfile", "-t", &self.image, "."],
                )
                .in_dir(repo),
            );
        }
        steps.push(Cmd::new(
            "kind",
            [
                "load",
                "docker-image",
                &self.image,
                "--name",
                &self.target.cluster,
            ],
        ));
        steps.push(
            self.target
                .kubectl(["apply", "-k", &path(&repo.join("deploy"))]),
        );
        let deployment = format!("deployment/{GATEWAY_DEPLOYMENT}");
        if self.image != DEFAULT_IMAGE {
            steps.push(self.target.kubectl([
                "-n",
                GATEWAY_NAMESPACE,
                "set",
                "image",
                &deployment,
                &format!("{GATEWAY_CONTAINER}={}", self.image),
            ]));
        }
        if self.cluster_exists {
            // Same tag, new image: only a restart makes the pods pick it up.
            steps.push(self.target.kubectl([
                "-n",
                GATEWAY_NAMESPACE,
                "rollout",
                "restart",
                &deployment,
            ]));
        }
        steps.push(self.target.kubectl([
            "-n",
            GATEWAY_NAMESPACE,
            "rollout",
            "status",
            &deployment,
            &format!("--timeout={}s", self.rollout_timeout_secs),
        ]));
        steps
    }
}

pub fn list_clusters() -> Cmd {
    Cmd::new("kind", ["get", "clusters"])
}

/// Whether `kind get clusters` output names `cluster`.
pub fn cluster_listed(output: &str, cluster: &str) -> bool {
    output.lines().any(|line| line.trim() == cluster)
}

pub fn kubeconfig(target: &Target) -> Cmd {
    Cmd::new("kind", ["get", "kubeconfig", "--name", &target.cluster])
}

pub fn down(target: &Target) -> Cmd {
    Cmd::new("kind", ["delete", "cluster", "--name", &target.cluster])
}

/// A previous run's Job must go first: Jobs are immutable and the name is fixed.
pub fn delete_job(target: &Target, namespace: &str, name: &str) -> Cmd {
    target.kubectl([
        "-n",
        namespace,
        "delete",
        "job",
        name,
        "--ignore-not-found",
        "--wait=true",
    ])
}

pub fn create_job(target: &Target, manifest_json: String) -> Cmd {
    target.kubectl(["create", "-f", "-"]).stdin(manifest_json)
}

pub fn get_job(target: &Target, namespace: &str, name: &str) -> Cmd {
    target.kubectl(["-n", namespace, "get", "job", name, "-o", "json"])
}

/// All result frames of a Job. With a selector kubectl shows only 10 lines and 5 pods by default.
pub fn job_logs(target: &Target, namespace: &str, name: &str, container: &str, pods: i32) -> Cmd {
    target.kubectl([
        "-n",
        namespace,
        "logs",
        "-l",
        &format!("job-name={name}"),
        "-c",
        container,
        "--tail=-1",
        &format!("--max-log-requests={}", pods.max(5)),
    ])
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(cluster_exists: bool, image: &str) -> UpPlan {
        UpPlan {
            target: Target::kind("gatebench", None),
            repo: PathBuf::from("/repo"),
            image: image.into(),
            cluster_exists,
            build_image: true,
            rollout_timeout_secs: 120,
        }
    }

    fn rendered(steps: &[Cmd]) -> Vec<String> {
        steps.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn fresh_cluster_steps() {
        let steps = plan(false, DEFAULT_IMAGE).steps();
        assert_eq!(
            rendered(&steps),
            [
                "kind create cluster --name gatebench --config /repo/kind-config.yaml --wait 180s",
                "docker build -f deploy/Dockerfile -t gatebench:dev .",
                "kind load docker-image gatebench:dev --name gatebench",
                "kubectl --context kind-gatebench apply -k /repo/deploy",
                "kubectl --context kind-gatebench -n gatebench-system rollout status deployment/gatebench-gateway --timeout=120s",
            ]
        );
        assert_eq!(steps[1].dir.as_deref(), Some(Path::new("/repo")));
    }

    #[test]
    fn existing_cluster_is_reused_and_restarted_on_a_custom_image() {
        let steps = rendered(&plan(true, "gatebench:pr-7").steps());
        assert!(!steps.iter().any(|s| s.starts_with("kind create")));
        let set = steps.iter().position(|s| s.contains("set image")).unwrap();
        let restart = steps
            .iter()
            .position(|s| s.contains("rollout restart"))
            .unwrap();
        let status = steps
            .iter()
            .position(|s| s.contains("rollout status"))
            .unwrap();
        assert!(set < restart && restart < status, "{steps:?}");
        assert!(steps[set].ends_with("deployment/gatebench-gateway gateway=gatebench:pr-7"));
    }

    #[test]
    fn context_override_and_cluster_listing() {
        let t = Target::kind("x", Some("prod-ish"));
        assert!(
            delete_job(&t, "ns", "j")
                .to_string()
                .starts_with("kubectl --context prod-ish -n ns delete job j")
        );
        assert!(cluster_listed("kind\ngatebench\n", "gatebench"));
        assert!(!cluster_listed("gatebench-old\n", "gatebench"));
        let logs = job_logs(&t, "ns", "j", "results", 12).to_string();
        assert!(
            logs.contains("-l job-name=j -c results --tail=-1 --max-log-requests=12"),
            "{logs}"
        );
    }
}
