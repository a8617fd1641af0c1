//! The one accept loop of every gatebench server (gateway and API stand-in): hyper 1.x over optional
//! rustls, with the connection limits, timeouts and graceful shutdown in one place.
//!
//! Each connection must make progress or go: the TLS handshake, the first byte, the HTTP/2 preface
//! and the first HTTP/1 head all fall within `header_read_timeout` of the accept; every later
//! HTTP/1 head within `header_read_timeout` of the previous answer (hyper's timer); a request body
//! within `body_read_timeout` of its head ([`RequestBody`]); an idle connection closes after
//! `idle_timeout`, any connection after `max_connection_age`, and HTTP/2 peers that stop answering
//! keep-alive pings are dropped.

/// `impl AsyncWrite` for a stream wrapper that writes straight through to its `inner` field
/// (the wrappers change how a stream reads or closes, never how it writes).
macro_rules! forward_async_write {
    ([$($generics:tt)*] $wrapper:ty) => {
        impl<$($generics)*> tokio::io::AsyncWrite for $wrapper {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut self.inner), cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut self.inner), cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_shutdown(std::pin::Pin::new(&mut self.inner), cx)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(&mut self.inner), cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                tokio::io::AsyncWrite::is_write_vectored(&self.inner)
            }
        }
    };
}

mod body;
mod connection;
mod flags;
mod preface;
mod reset_stream;
pub mod signal;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use body::{BodyError, RequestBody};
pub use flags::LimitFlags;

/// Pause after a failed `accept` (EMFILE and friends) so the loop backs off instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Bounds every connection is held to. Plain struct: set fields, keep the rest at `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Open connections at most; beyond it clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// TLS handshake + first byte + HTTP/2 preface + first HTTP/1 head, from the accept; and each
    /// later HTTP/1 head from the previous answer.
    pub header_read_timeout: Duration,
    /// Reading one request body, from its head (also the bounded drain after a rejection).
    pub body_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1 also closes an idle
    /// keep-alive connection after `header_read_timeout`, whichever is first).
    pub idle_timeout: Duration,
    /// Every connection is closed gracefully this long after it was accepted; `None` = never.
    pub max_connection_age: Option<Duration>,
    /// HTTP/2 keep-alive ping interval; `None` = no pings.
    pub h2_keepalive_interval: Option<Duration>,
    /// A ping unanswered for this long closes the HTTP/2 connection.
    pub h2_keepalive_timeout: Duration,
    pub h2_max_concurrent_streams: u32,
    /// Largest request head (HTTP/1) or header list (HTTP/2); larger ones get 431.
    pub max_header_bytes: usize,
    /// After shutdown (or a connection's age/idle limit) open requests get this long to finish.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            max_connection_age: None,
            h2_keepalive_interval: Some(Duration::from_secs(20)),
            h2_keepalive_timeout: Duration::from_secs(10),
            h2_max_concurrent_streams: 64,
            max_header_bytes: 16 * 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// hyper's HTTP/1 read buffer cannot be smaller than this, so neither can the header limit.
pub const MIN_HEADER_BYTES: usize = 8192;

impl Limits {
    /// Rejects settings the connection code cannot honour (hyper panics on some of them).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!(
                "max header bytes must be at least {MIN_HEADER_BYTES}"
            ));
        }
        if self.max_connections == 0 || self.h2_max_concurrent_streams == 0 {
            return Err("connection and stream limits must be at least 1".into());
        }
        let zero = [
            ("header read timeout", self.header_read_timeout),
            ("body read timeout", self.body_read_timeout),
            ("idle timeout", self.idle_timeout),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{name} must be above zero"));
        }
        Ok(())
    }
}

/// What is known about a connection's peer once it is established.
#[derive(Debug, Clone)]
pub struct Peer {
    pub remote: SocketAddr,
    /// The verified client certificate (end entity), if the TLS peer presented one.
    pub client_certificate: Option<CertificateDer<'static>>,
}

/// A handler asks for the connection to be dropped without an answer (and with an RST), as the
/// stand-in's injected `reset` outage does.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection reset on purpose")]
pub struct ResetConnection;

pub type HttpResponse = Response<Full<Bytes>>;

/// What a server plugs into the loop: TLS config, per-connection state and the request handler.
pub trait Handler: Send + Sync + 'static {
    /// Per-connection state derived from the peer (e.g. the client certificate's identity).
    type Conn: Send + Sync + 'static;

    /// The TLS config for the next connection; `None` = plain HTTP. Asked per connection so a
    /// reloaded config (new CRL) applies to new connections.
    fn tls(&self) -> Option<Arc<rustls::ServerConfig>>;

    /// Called after each TLS handshake attempt (also a timed-out one).
    fn on_tls_handshake(&self, _ok: bool) {}

    fn connect(&self, peer: &Peer) -> Self::Conn;

    fn call(
        &self,
        conn: &Self::Conn,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<HttpResponse, ResetConnection>> + Send;
}

/// Serves `listener` with `handler` until `shutdown` completes, then stops accepting, lets open
/// requests finish within `limits.drain_timeout` and returns.
pub async fn run<H: Handler>(
    listener: TcpListener,
    limits: Limits,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // Waiting for a permit before accepting leaves excess clients in the kernel backlog
        // instead of costing file descriptors and tasks here.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        tokio::spawn(connection::serve(
            stream,
            remote,
            limits.clone(),
            handler.clone(),
            stop_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends, so all permits back = all connections closed.
    // Connections force-close at their own drain deadline; the margin covers the last writes.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let wait = limits.drain_timeout + Duration::from_secs(1);
    if tokio::time::timeout(wait, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_reject_what_hyper_cannot_honour() {
        assert!(Limits::default().validate().is_ok());
        let small = Limits {
            max_header_bytes: 1024,
            ..Limits::default()
        };
        assert!(small.validate().unwrap_err().contains("8192"));
        let zero = Limits {
            body_read_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(zero.validate().unwrap_err().contains("body read"));
    }
}
