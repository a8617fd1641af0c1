//! `gatebench decide`: starts the API server, gateway and load generator as processes, runs the
//! scenario matrix of a profile and writes `results.json` + `decision.html`.

pub mod binaries;
pub mod cli;
pub mod criterion;
pub mod environment;
pub mod error;
pub mod gateways;
pub mod in_cluster;
pub mod matrix;
pub mod mode;
pub mod orchestrate;
pub mod output;
pub mod plan;
pub mod process;
pub mod profile;
pub mod progress;
pub mod runner;
pub mod scenario_runs;
pub mod setup;
