//! Integration tests over real sockets, one binary (each test binary links the whole library): a module per
//! area and file. Timing-sensitive measurements live in the `measurement` binary instead.

#[path = "../support/apiserver_common.rs"]
mod apiserver_common;
#[path = "../support/conformance_servers.rs"]
mod conformance_servers;
#[path = "../support/decide_support.rs"]
mod decide_support;
#[path = "../support/fake_kube.rs"]
mod fake_kube;
#[path = "../support/gateway_cluster.rs"]
mod gateway_cluster;
#[path = "../support/gateway_support.rs"]
mod gateway_support;
#[path = "../support/kind_support.rs"]
mod kind_support;
#[path = "../support/loadtest_support.rs"]
mod loadtest_support;
#[path = "../support/report_fixtures.rs"]
mod report_fixtures;

mod apiprobe_run;
mod apiserver_access;
mod apiserver_cli;
mod apiserver_faults;
mod apiserver_hardening;
mod apiserver_metrics;
mod apiserver_rbac;
mod apiserver_setup;
mod conformance_access;
mod conformance_metrics;
mod conformance_shapes;
mod conformance_tokens;
mod decide_e2e;
mod decide_errors;
mod decide_in_cluster;
mod decide_kube_apiserver;
mod decide_kubeconfig;
mod decide_peers;
mod gateway_api_calls;
mod gateway_decisions;
mod gateway_hostile;
mod gateway_http;
mod gateway_kube_client;
mod gateway_lifecycle;
mod gateway_limits;
mod gateway_mtls;
mod gateway_revocation;
mod gateway_secrets;
mod gateway_tls;
mod kind_cli;
mod kind_cluster;
mod kind_manifests;
mod kind_rbac;
mod kind_workloads;
mod kube_apiserver_cli;
mod loadtest_engine;
mod loadtest_scenarios;
mod report_html;
mod report_merge;
mod report_verdict;
