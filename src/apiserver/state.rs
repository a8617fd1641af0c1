//! What every request of the stand-in may touch: config, keys, objects, faults and metrics.

use std::sync::Arc;

use super::Config;
use super::faults::Faults;
use super::metrics::Metrics;
use super::store::Store;
use super::tokens::Keys;
use crate::token_key::TokenKeyer;

/// Shared by all connections.
pub struct State {
    pub config: Config,
    pub url: String,
    pub admin_token: String,
    pub keys: Keys,
    pub store: Store,
    pub faults: Arc<Faults>,
    pub metrics: Metrics,
    /// Keyed hash for token fingerprints in logs (per process, so logs cannot be checked offline).
    pub log_keyer: TokenKeyer,
}
