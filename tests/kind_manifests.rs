//! The real-cluster manifests hold together: every object in deploy/ parses strictly into its
//! k8s-openapi type, and the names, labels and ports that tie them (and kind-config.yaml, the
//! Dockerfile and `gatebench kind`) together agree.

use gatebench::kind::manifests::{Manifest, load_dir, yaml_files};
use gatebench::kind::{job, plan};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifests() -> Vec<Manifest> {
    load_dir(&repo().join("deploy"))
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

fn yaml(path: &Path) -> serde_json::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn gateway_deployment(all: &[Manifest]) -> Deployment {
    let found: Vec<_> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Deployment(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Deployment expected");
    found.into_iter().next().unwrap()
}

fn gateway_service(all: &[Manifest]) -> Service {
    let found: Vec<_> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Service(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Service expected");
    found.into_iter().next().unwrap()
}

fn pod_spec(d: &Deployment) -> PodSpec {
    d.spec.clone().template.spec.unwrap()
}

fn arg_value(c: &Container, flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    c.args
        .iter()
        .flatten()
        .find_map(|a| a.strip_prefix(&prefix).map(str::to_string))
}

fn port_of(c: &Container, name: &str) -> i32 {
    c.ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("container port `{name}`"))
        .container_port
}

#[test]
fn every_manifest_parses_and_the_expected_objects_exist() {
    let ids: BTreeSet<String> = manifests().iter().map(Manifest::id).collect();
    for expected in [
        "Namespace/gatebench-system",
        "Namespace/gatebench-load",
        "ServiceAccount/gatebench-system/gatebench-gateway",
        "ClusterRoleBinding/gatebench-gateway-auth-delegator",
        "ClusterRole/gatebench-signal-source",
        "ClusterRoleBinding/gatebench-signal-source",
        "ServiceAccount/gatebench-load/gatebench-loadgen",
        "Role/gatebench-load/gatebench-loadgen",
        "RoleBinding/gatebench-load/gatebench-loadgen",
        "ConfigMap/gatebench-system/gatebench-in-cluster-kubeconfig",
        "ConfigMap/gatebench-load/gatebench-in-cluster-kubeconfig",
        "Deployment/gatebench-system/gatebench-gateway",
        "Service/gatebench-system/gatebench-gateway",
        "Job/gatebench-load/gatebench-load",
    ] {
        assert!(
            ids.contains(expected),
            "{expected} missing from deploy/: {ids:?}"
        );
    }
}

#[test]
fn kustomization_lists_exactly_the_top_level_manifests() {
    let deploy = repo().join("deploy");
    let kustomization = yaml(&deploy.join("kustomization.yaml"));
    let listed: BTreeSet<PathBuf> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| deploy.join(r.as_str().unwrap()))
        .collect();
    let on_disk: BTreeSet<PathBuf> = yaml_files(&deploy)
        .unwrap()
        .into_iter()
        .filter(|p| p.parent() == Some(deploy.as_path()))
        .collect();
    assert_eq!(listed, on_disk);
    // The Job starts load as soon as it exists, so `apply -k` must not create it.
    assert!(!listed.iter().any(|p| p.starts_with(deploy.join("jobs"))));
}

#[test]
fn every_namespaced_object_lives_in_a_declared_namespace() {
    let all = manifests();
    let declared: BTreeSet<String> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Namespace(n) => Some(n.name_any()),
            _ => None,
        })
        .collect();
    for m in &all {
        let id = m.id();
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() == 3 {
            assert!(
                declared.contains(parts[1]),
                "{id}: namespace not declared in deploy/"
            );
        }
    }
}

#[test]
fn service_selects_the_gateway_pods_and_ports_match_kind_config() {
    let all = manifests();
    let deployment = gateway_deployment(&all);
    let service = gateway_service(&all);
    assert_eq!(service.namespace(), deployment.namespace());
    let spec = service.spec.clone().unwrap();
    let selector = spec.selector.clone().unwrap();
    let pod_labels = deployment
        .spec
        .clone()
        .template
        .metadata
        .unwrap()
        .labels
        .unwrap();
    let match_labels = deployment.spec.clone().selector.match_labels.unwrap();
    for (k, v) in &selector {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "Service selector {k}={v} matches no pod label"
        );
        assert_eq!(
            match_labels.get(k),
            Some(v),
            "Deployment selector differs from the Service's"
        );
    }
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    let container = &pod_spec(&deployment).containers[0];
    let mut node_ports = BTreeMap::new();
    for port in spec.ports.unwrap() {
        let name = port.name.clone().unwrap();
        match port.target_port.unwrap() {
            IntOrString::String(target) => {
                assert_eq!(target, name);
                port_of(container, &target);
            }
            IntOrString::Int(n) => panic!("use named target ports, got {n}"),
        }
        node_ports.insert(name, port.node_port.unwrap());
    }
    assert_eq!(
        node_ports,
        BTreeMap::from([("api".into(), 30080), ("metrics".into(), 30090)])
    );

    let kind = yaml(&repo().join("kind-config.yaml"));
    let mapped: BTreeSet<i64> = kind["nodes"][0]["extraPortMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(
                m["containerPort"], m["hostPort"],
                "host port differs from the NodePort"
            );
            assert_eq!(m["listenAddress"], "127.0.0.1", "expose only on loopback");
            m["containerPort"].as_i64().unwrap()
        })
        .collect();
    let exposed: BTreeSet<i64> = node_ports.values().map(|p| i64::from(*p)).collect();
    assert_eq!(mapped, exposed);
}

#[test]
fn gateway_args_probes_and_identity_agree_with_the_rest() {
    let all = manifests();
    let deployment = gateway_deployment(&all);
    let pod = pod_spec(&deployment);
    let c = &pod.containers[0];
    assert_eq!(c.name, plan::GATEWAY_CONTAINER);
    assert_eq!(deployment.name_any(), plan::GATEWAY_DEPLOYMENT);
    assert_eq!(
        deployment.namespace().as_deref(),
        Some(plan::GATEWAY_NAMESPACE)
    );
    assert_eq!(c.image.as_deref(), Some(plan::DEFAULT_IMAGE));
    assert_eq!(c.args.as_ref().unwrap()[0], "gateway");
    assert_eq!(arg_value(c, "--auth").as_deref(), Some("cached"));
    assert_eq!(arg_value(c, "--namespace"), deployment.namespace());
    let listen = arg_value(c, "--listen").unwrap();
    assert_eq!(listen, format!("0.0.0.0:{}", port_of(c, "api")));
    let metrics = arg_value(c, "--metrics-listen").unwrap();
    assert_eq!(metrics, format!("0.0.0.0:{}", port_of(c, "metrics")));
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.clone().unwrap().http_get.unwrap().path.unwrap()
    };
    assert_eq!(probe_path(&c.readiness_probe), "/readyz");
    assert_eq!(probe_path(&c.liveness_probe), "/healthz");
    assert!(
        c.resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()
            .contains_key("cpu")
    );

    // The ServiceAccount exists and is the one bound to system:auth-delegator.
    let sa = pod.service_account_name.clone().unwrap();
    let ns = deployment.namespace().unwrap();
    let bound = all.iter().any(|m| match m {
        Manifest::ClusterRoleBinding(b) => {
            b.role_ref.name == "system:auth-delegator"
                && b.subjects.iter().flatten().any(|s| {
                    s.kind == "ServiceAccount"
                        && s.name == sa
                        && s.namespace.as_deref() == Some(&ns)
                })
        }
        _ => false,
    });
    assert!(bound, "{ns}/{sa} is not bound to system:auth-delegator");
    assert_kubeconfig_mounted(&all, &pod, &ns, c, "--kubeconfig");
}

/// The `--kubeconfig` file comes from a ConfigMap in the pod's namespace, mounted where the flag says.
fn assert_kubeconfig_mounted(all: &[Manifest], pod: &PodSpec, ns: &str, c: &Container, flag: &str) {
    let path = arg_value(c, flag).unwrap();
    let (dir, file) = path.rsplit_once('/').unwrap();
    let mount = c
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.mount_path == dir)
        .unwrap_or_else(|| panic!("nothing mounted at {dir}"));
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)
        .unwrap();
    let cm_name = volume.config_map.as_ref().unwrap().name.clone();
    let cm = all
        .iter()
        .find_map(|m| match m {
            Manifest::ConfigMap(cm)
                if cm.name_any() == cm_name && cm.namespace().as_deref() == Some(ns) =>
            {
                Some(cm.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("ConfigMap {ns}/{cm_name} missing"));
    let text = cm.data.unwrap().get(file).cloned().unwrap();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    let user = kubeconfig.auth_infos[0].auth_info.clone().unwrap();
    assert_eq!(
        user.token_file.as_deref(),
        Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
}

#[test]
fn load_job_targets_the_service_and_can_mint_tokens() {
    let all = manifests();
    let service = gateway_service(&all);
    let job = job::template().unwrap();
    let pod = job.spec.clone().unwrap().template.spec.unwrap();
    let ns = job.namespace().unwrap();
    assert_eq!(
        ns, "gatebench-load",
        "load identities live in gatebench-load"
    );
    let loadtest = pod
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == job::LOADTEST_CONTAINER)
        .unwrap();
    let api_port = service
        .spec
        .clone()
        .unwrap()
        .ports
        .unwrap()
        .into_iter()
        .find(|p| p.name.as_deref() == Some("api"))
        .unwrap()
        .port;
    assert_eq!(
        arg_value(loadtest, "--host").unwrap(),
        format!(
            "http://{}.{}.svc:{api_port}",
            service.name_any(),
            service.namespace().unwrap()
        )
    );
    assert_eq!(
        arg_value(loadtest, "--namespace").as_deref(),
        Some(ns.as_str())
    );
    assert_kubeconfig_mounted(&all, &pod, &ns, loadtest, "--kubeconfig");

    // Both result files land in the volume the results container reads.
    let results = pod
        .containers
        .iter()
        .find(|c| c.name == job::RESULTS_CONTAINER)
        .unwrap();
    let dir = arg_value(results, "--dir").unwrap();
    for flag in ["--summary-out", "--histogram-out"] {
        assert!(
            arg_value(loadtest, flag)
                .unwrap()
                .starts_with(&format!("{dir}/")),
            "{flag}"
        );
    }
    let mount_of = |c: &Container| {
        c.volume_mounts
            .iter()
            .flatten()
            .find(|m| m.mount_path == dir)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(mount_of(loadtest), mount_of(results));
    assert!(results.env.iter().flatten().any(|e| e.name == "POD_NAME"));

    // The Job's ServiceAccount may create ServiceAccounts and TokenRequests in its namespace.
    let sa = pod.service_account_name.clone().unwrap();
    let role_name = all
        .iter()
        .find_map(|m| match m {
            Manifest::RoleBinding(b)
                if b.namespace().as_deref() == Some(&ns)
                    && b.subjects
                        .iter()
                        .flatten()
                        .any(|s| s.kind == "ServiceAccount" && s.name == sa) =>
            {
                Some(b.role_ref.name.clone())
            }
            _ => None,
        })
        .expect("Job ServiceAccount has a RoleBinding");
    let role = all
        .iter()
        .find_map(|m| match m {
            Manifest::Role(r)
                if r.name_any() == role_name && r.namespace().as_deref() == Some(&ns) =>
            {
                Some(r.clone())
            }
            _ => None,
        })
        .unwrap();
    let grants = |resource: &str, verb: &str| {
        role.rules.iter().flatten().any(|r| {
            r.resources.iter().flatten().any(|x| x == resource) && r.verbs.iter().any(|v| v == verb)
        })
    };
    assert!(grants("serviceaccounts", "create") && grants("serviceaccounts", "get"));
    assert!(grants("serviceaccounts/token", "create"));
}

#[test]
fn pods_run_as_the_image_user() {
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked --bins"));
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("Dockerfile sets USER");
    let uid: i64 = user.split(':').next().unwrap().trim().parse().unwrap();
    let all = manifests();
    let mut checked = 0;
    for m in &all {
        let pod = match m {
            Manifest::Deployment(d) => pod_spec(d),
            Manifest::Job(j) => j.spec.clone().unwrap().template.spec.unwrap(),
            _ => continue,
        };
        let ctx = pod.security_context.unwrap();
        assert_eq!(ctx.run_as_user, Some(uid), "{}", m.id());
        assert_eq!(ctx.run_as_non_root, Some(true));
        for c in pod.init_containers.iter().flatten().chain(&pod.containers) {
            let binary = c.command.as_ref().unwrap()[0].clone();
            let name = binary.rsplit('/').next().unwrap();
            assert!(
                dockerfile.contains(&format!("/out/{name}")),
                "image lacks {binary}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3, "gateway + loadtest + results containers");
}

#[test]
fn kind_config_sets_the_same_apiserver_flags_for_both_kubeadm_versions() {
    let kind = yaml(&repo().join("kind-config.yaml"));
    assert_eq!(kind["apiVersion"], "kind.x-k8s.io/v1alpha4");
    assert_eq!(kind["kind"], "Cluster");
    let mut by_version = BTreeMap::new();
    for patch in kind["kubeadmConfigPatches"].as_array().unwrap() {
        let doc: serde_json::Value = serde_yaml_ng::from_str(patch.as_str().unwrap()).unwrap();
        assert_eq!(doc["kind"], "ClusterConfiguration");
        let extra = &doc["apiServer"]["extraArgs"];
        let args: BTreeMap<String, String> = match extra {
            // kubeadm v1beta3: a map
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            // kubeadm v1beta4: a list of name/value
            serde_json::Value::Array(list) => list
                .iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap().into(),
                        a["value"].as_str().unwrap().into(),
                    )
                })
                .collect(),
            other => panic!("extraArgs: {other}"),
        };
        by_version.insert(doc["apiVersion"].as_str().unwrap().to_string(), args);
    }
    let v3 = &by_version["kubeadm.k8s.io/v1beta3"];
    let v4 = &by_version["kubeadm.k8s.io/v1beta4"];
    assert_eq!(v3, v4);
    assert_eq!(v3["max-requests-inflight"], "400");
    assert_eq!(v3["max-mutating-requests-inflight"], "200");
    assert!(v3.contains_key("service-account-issuer"));
}
