//! Process-wide rustls set-up shared by every TLS endpoint gatebench runs or dials.

use std::sync::Once;

/// Installs ring as rustls' process default crypto provider. Idempotent; call before any TLS use
/// (kube, reqwest and tokio-rustls all consult the default).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which is equally usable.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
