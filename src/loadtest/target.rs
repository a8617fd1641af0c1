//! A load target: the gateway URL, the identities' credentials, and the connections to it, made
//! once and kept across phases (a paired run alternates short slots between several targets, and
//! none of them may pay a TCP or TLS handshake per slot).

use crate::loadtest::client::{self, Client, ClientOptions, Conn};
use crate::loadtest::credentials::Credential;
use crate::loadtest::engine::SIGNAL_PATH;
use goose::config::GooseConfiguration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where and with what phases send. Build it once (`Target::new`) and run every phase against it.
pub struct Target {
    /// goose's flags for each phase's attack (users, iterations and host are set per phase).
    pub goose: GooseConfiguration,
    host: String,
    credentials: Arc<Vec<Credential>>,
    pool: Arc<Pool>,
    /// Held by this target's goose attack until it has ended (see `attack`).
    attack_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Target {
    /// Parses the URL and builds the TLS configs (one per client-certificate identity); the
    /// connections themselves are dialed when a phase first needs them and then kept.
    pub fn new(
        goose: GooseConfiguration,
        host: impl Into<String>,
        credentials: Arc<Vec<Credential>>,
        options: ClientOptions,
    ) -> client::Result<Self> {
        let host = host.into();
        let client = Client::new(&host, SIGNAL_PATH, &options, &credentials)?;
        Ok(Target {
            goose,
            host,
            credentials,
            pool: Arc::new(Pool {
                client,
                idle: Mutex::new(HashMap::new()),
            }),
            attack_lock: Arc::default(),
        })
    }

    /// The same gateway with other credentials (a pool of its own: identities are per connection).
    pub fn with_credentials(&self, credentials: Arc<Vec<Credential>>) -> client::Result<Self> {
        Target::new(
            self.goose.clone(),
            self.host.clone(),
            credentials,
            self.options().clone(),
        )
    }

    /// The same gateway and credentials with other connection options.
    pub fn with_options(&self, options: ClientOptions) -> client::Result<Self> {
        Target::new(
            self.goose.clone(),
            self.host.clone(),
            self.credentials.clone(),
            options,
        )
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn credentials(&self) -> &Arc<Vec<Credential>> {
        &self.credentials
    }

    pub fn options(&self) -> &ClientOptions {
        self.pool.client.options()
    }

    /// Open connections waiting for the next phase.
    pub fn idle_connections(&self) -> usize {
        self.pool
            .idle
            .lock()
            .expect("lock")
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Waits until this target's previous goose attack has ended.
    pub(crate) async fn attack_slot(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.attack_lock.clone().lock_owned().await
    }

    pub(crate) fn pool(&self) -> Arc<Pool> {
        self.pool.clone()
    }
}

/// The target's client and its idle connections by slot (see `Client::slot`). A goose user takes
/// its connections at the start of a phase and gives them back at its end: the lock is taken per
/// user and phase, never per request.
pub struct Pool {
    pub client: Client,
    idle: Mutex<HashMap<usize, Vec<Conn>>>,
}

impl Pool {
    /// An idle connection of `slot` that is still open, if any.
    pub fn checkout(&self, slot: usize) -> Option<Conn> {
        let mut idle = self.idle.lock().expect("lock");
        let conns = idle.get_mut(&slot)?;
        while let Some(conn) = conns.pop() {
            if conn.is_open() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for a later phase (a closed one is dropped).
    pub fn give_back(&self, slot: usize, conn: Conn) {
        if conn.is_open() {
            self.idle
                .lock()
                .expect("lock")
                .entry(slot)
                .or_default()
                .push(conn);
        }
    }
}
