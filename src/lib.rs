//! gatebench: measures whether TokenReview + caching is enough for a Kubernetes alert gateway, or mTLS is due.
#![forbid(unsafe_code)]

pub mod affinity;
pub mod apiprobe;
pub mod apiserver;
pub mod counters;
pub mod decide;
pub mod duration;
pub mod fsutil;
pub mod gateway;
pub mod kind;
pub mod kubeapiserver;
pub mod kubesetup;
pub mod loadtest;
pub mod pki;
pub mod procstat;
pub mod promtext;
pub mod report;
pub mod results;
pub mod serve;
pub mod stats;
pub mod tls;
pub mod token_key;
