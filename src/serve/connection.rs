//! One connection from accept to close: TLS handshake, protocol detection, hyper, and the watchdog
//! that ends it when it stalls, idles, ages out or the server shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::preface::{self, Protocol, Rewind};
use super::reset_stream::{ResetFlag, ResettableStream};
use super::{Handler, Limits, Peer, RequestBody};

/// How long an idle connection closed with GOAWAY may take to go before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Requests in flight on one connection and when the last one ended: what the idle and
/// first-request deadlines are computed from.
struct Activity {
    in_flight: AtomicUsize,
    /// When the connection last went quiet; `None` until the first request arrived.
    quiet_since: Mutex<Option<Instant>>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            quiet_since: Mutex::new(None),
            changed: Notify::new(),
        }
    }

    fn begin(self: &Arc<Self>) -> ActiveRequest {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
        ActiveRequest(self.clone())
    }

    fn ever_used(&self) -> bool {
        self.quiet_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
            || self.in_flight.load(Ordering::Acquire) > 0
    }

    /// When the connection counts as stalled (no first request) or idle, if nothing is in flight.
    fn deadline(&self, accepted: Instant, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match *self.quiet_since.lock().unwrap_or_else(|p| p.into_inner()) {
            None => Some(accepted + limits.header_read_timeout),
            Some(since) => Some(since + limits.idle_timeout),
        }
    }
}

struct ActiveRequest(Arc<Activity>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        *self.0.quiet_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

/// Serves one accepted connection; the permit is held until it is closed.
pub async fn serve<H: Handler>(
    stream: TcpStream,
    remote: SocketAddr,
    limits: Arc<Limits>,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let accepted = Instant::now();
    let first_bytes_by = accepted + limits.header_read_timeout;
    let _ = stream.set_nodelay(true);
    let flag = ResetFlag::default();
    let stream = ResettableStream::new(stream, flag.clone());
    let Some(tls) = handler.tls() else {
        let peer = Peer {
            remote,
            client_certificate: None,
        };
        return detect_and_serve(stream, peer, accepted, limits, handler, flag, stop).await;
    };
    let handshake = TlsAcceptor::from(tls).accept(stream);
    match tokio::time::timeout_at(first_bytes_by, handshake).await {
        Ok(Ok(tls_stream)) => {
            handler.on_tls_handshake(true);
            let peer = Peer {
                remote,
                client_certificate: tls_stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .map(|der| der.clone().into_owned()),
            };
            detect_and_serve(tls_stream, peer, accepted, limits, handler, flag, stop).await;
        }
        Ok(Err(error)) => {
            handler.on_tls_handshake(false);
            tracing::debug!(%remote, %error, "TLS handshake failed");
        }
        Err(_) => {
            handler.on_tls_handshake(false);
            tracing::debug!(%remote, "TLS handshake timed out");
        }
    }
}

async fn detect_and_serve<IO, H>(
    mut io: IO,
    peer: Peer,
    accepted: Instant,
    limits: Arc<Limits>,
    handler: Arc<H>,
    flag: ResetFlag,
    stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let detected = preface::detect(&mut io, accepted + limits.header_read_timeout).await;
    let (protocol, prefix) = match detected {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::debug!(remote = %peer.remote, "closed: nothing or half a preface before the header timeout");
            return;
        }
        Err(error) => {
            tracing::debug!(remote = %peer.remote, %error, "read failed before the first request");
            return;
        }
    };
    let io = TokioIo::new(Rewind::new(prefix, io));
    let conn = Arc::new(handler.connect(&peer));
    let activity = Arc::new(Activity::new());
    let body_timeout = limits.body_read_timeout;
    let service = {
        let activity = activity.clone();
        service_fn(move |request: hyper::Request<Incoming>| {
            let (handler, conn, flag) = (handler.clone(), conn.clone(), flag.clone());
            let active = activity.begin();
            async move {
                let _active = active;
                let request = request.map(|body| RequestBody::new(body, body_timeout));
                let answer = handler.call(&conn, request).await;
                if answer.is_err() {
                    flag.trip();
                }
                answer
            }
        })
    };
    let watchdog = Watchdog {
        accepted,
        limits: limits.clone(),
        activity,
        stop,
        remote: peer.remote,
    };
    match protocol {
        Protocol::Http1 => {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_header_size(limits.max_header_bytes)
                .max_buf_size(limits.max_header_bytes.max(super::MIN_HEADER_BYTES))
                .keep_alive(true);
            watchdog.drive(builder.serve_connection(io, service)).await;
        }
        Protocol::Http2 => {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                .max_concurrent_streams(limits.h2_max_concurrent_streams)
                .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
                .keep_alive_interval(limits.h2_keepalive_interval)
                .keep_alive_timeout(limits.h2_keepalive_timeout);
            watchdog.drive(builder.serve_connection(io, service)).await;
        }
    }
}

/// Ends a connection that idles, ages out or outlives a shutdown: first gracefully (HTTP/1 closes
/// after the answer in progress, HTTP/2 sends GOAWAY), then by dropping it after the drain timeout.
struct Watchdog {
    accepted: Instant,
    limits: Arc<Limits>,
    activity: Arc<Activity>,
    stop: watch::Receiver<bool>,
    remote: SocketAddr,
}

impl Watchdog {
    async fn drive<C>(mut self, conn: C)
    where
        C: GracefulConnection,
        C::Error: std::fmt::Display,
    {
        tokio::pin!(conn);
        // Timers are created once and reset: this loop wakes twice per request.
        let age = sleep_until(
            self.limits
                .max_connection_age
                .map(|age| self.accepted + age),
        );
        let quiet = tokio::time::sleep_until(self.accepted + self.limits.header_read_timeout);
        tokio::pin!(age, quiet);
        let mut drop_at: Option<Instant> = None;
        loop {
            let quiet_deadline = self.activity.deadline(self.accepted, &self.limits);
            if let Some(at) = quiet_deadline {
                quiet.as_mut().reset(at);
            }
            let ending = drop_at.is_some();
            let why = tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(remote = %self.remote, %error, "connection ended with an error");
                    }
                    return;
                }
                _ = self.activity.changed.notified() => continue,
                _ = self.stop.changed(), if !ending => "server shutting down",
                _ = &mut age, if !ending => "max connection age reached",
                _ = &mut quiet, if !ending && quiet_deadline.is_some() => {
                    // Re-check: a request may have started since the deadline was computed.
                    match self.activity.deadline(self.accepted, &self.limits) {
                        Some(at) if at <= Instant::now() => {}
                        _ => continue,
                    }
                    if !self.activity.ever_used() {
                        // Nothing to be polite to: a peer that never sent a request (an HTTP/2
                        // preface and nothing else) would not answer GOAWAY's ping either.
                        tracing::debug!(remote = %self.remote, "closing connection: no request within the header timeout");
                        return;
                    }
                    "idle"
                }
                _ = sleep_until(drop_at), if ending => {
                    tracing::debug!(remote = %self.remote, "connection dropped after the drain timeout");
                    return;
                }
            };
            tracing::debug!(remote = %self.remote, reason = why, "closing connection");
            conn.as_mut().graceful_shutdown();
            // An idle connection has nothing to drain; GOAWAY only needs time to be sent.
            let grace = if why == "idle" {
                self.limits.drain_timeout.min(IDLE_CLOSE_GRACE)
            } else {
                self.limits.drain_timeout
            };
            drop_at = Some(Instant::now() + grace);
        }
    }
}

/// Sleeps until `at`, or for ever when there is no deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
