//! The workloads in deploy/ fit the rest of the repository: the gateway's args, probes and identity,
//! the load Job's target and token-minting rights, the Dockerfile's binaries and user, and the
//! kube-apiserver flags kind-config.yaml sets for both kubeadm config versions.

use crate::kind_support;

use gatebench::kind::manifests::Manifest;
use gatebench::kind::{job, plan};
use k8s_openapi::api::core::v1::Container;
use kind_support::*;
use kube::ResourceExt;
use std::collections::BTreeMap;

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
