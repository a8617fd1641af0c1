//! Helpers shared by the criterion benches: short criterion settings, tokio runtimes, realistic inputs.
#![allow(dead_code)]

pub mod loopback;
pub mod standin;

use std::time::Duration;

use base64::Engine;
use criterion::Criterion;
use gatebench::gateway::auth::Identity;

/// Short enough that `cargo bench` over every group stays near five minutes on two shared cores:
/// the analysis (bootstrap resamples) and SVG plots cost more wall time than the measuring itself.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .nresamples(20_000)
        .without_plots()
}

/// One-thread runtime: the per-operation cost without cross-thread wake-ups.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Two workers, like the gateway on this two-core machine.
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A JWT-shaped token the size of a real projected ServiceAccount token (~1 KB). The signature
/// is filler: only code paths that never verify it (keying, `unverified_exp`) may use this.
pub fn service_account_token_shape(exp_secs: u64) -> String {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header =
        enc.encode(br#"{"alg":"RS256","kid":"bench-key-0000000000000000000000000000000000"}"#);
    let claims = serde_json::json!({
        "aud": ["https://kubernetes.default.svc.cluster.local"],
        "exp": exp_secs,
        "iat": exp_secs - 3600,
        "nbf": exp_secs - 3600,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "jti": "5a2e6d0c-3f0e-4d6b-9a57-2f1d3b9c8e11",
        "kubernetes.io": {
            "namespace": "gatebench-load",
            "serviceaccount": {"name": "load-0", "uid": "0b8f3c2e-7d4a-4a1e-9c55-6e2f8d1b7a90"}
        },
        "sub": "system:serviceaccount:gatebench-load:load-0"
    });
    let payload = enc.encode(claims.to_string());
    let signature = enc.encode([0x5au8; 256]);
    format!("{header}.{payload}.{signature}")
}

/// Seconds since the epoch, `ahead` from now.
pub fn unix_secs_from_now(ahead: Duration) -> u64 {
    (std::time::SystemTime::now() + ahead)
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The identity a TokenReview returns for a load ServiceAccount.
pub fn service_account_identity() -> Identity {
    Identity {
        username: "system:serviceaccount:gatebench-load:load-0".into(),
        uid: Some("0b8f3c2e-7d4a-4a1e-9c55-6e2f8d1b7a90".into()),
        groups: vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:gatebench-load".into(),
            "system:authenticated".into(),
        ],
        extra: Default::default(),
    }
}
