//! Measurements of the harness itself (latency accuracy, generator ceiling, stand-in throughput): kept
//! in their own binary so the functional tests never share the cores with them.

#[path = "../support/gateway_cluster.rs"]
mod gateway_cluster;
#[path = "../support/loadtest_support.rs"]
mod loadtest_support;

mod apiserver_throughput;
mod generator_figures;
mod loadtest_ceiling;
mod loadtest_measurement;
mod oha_agreement;
mod soak;
