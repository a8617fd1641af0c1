//! AlertManager webhook and Kubernetes event bodies: parsing and validation never panic, and an
//! accepted body always yields at least one fixed-size fingerprint.
#![no_main]

use gatebench::gateway::signals::{Source, fingerprints};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for source in [Source::Prometheus, Source::KubernetesEvent] {
        if let Ok(fps) = fingerprints(source, body) {
            assert!(!fps.is_empty());
        }
    }
});
