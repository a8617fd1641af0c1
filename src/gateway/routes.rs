//! Request routing: health, metrics and the two signal endpoints (auth, content checks, bounded body, dedup).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use tokio::sync::Semaphore;

use super::auth::{AuthPipeline, Identity, RequestCredentials};
use super::metrics::Metrics;
use super::problem::{GatewayError, problem_response};
use super::signals::{DedupStore, Source, fingerprints};
use crate::serve::BodyError;

/// Shared state of every connection.
pub struct AppState {
    pub pipeline: AuthPipeline,
    pub dedup: DedupStore,
    pub metrics: Arc<Metrics>,
    pub body_limit_bytes: usize,
    pub max_credential_bytes: usize,
    /// One permit per signal request being handled (`--max-inflight-requests`).
    pub inflight: Arc<Semaphore>,
    /// `/metrics` on the main listener (when there is no separate metrics listener).
    pub serve_metrics: bool,
}

/// Handles one request on the main listener; `client_cert` is the connection's verified identity.
pub async fn handle<B>(
    state: Arc<AppState>,
    request: Request<B>,
    client_cert: Option<Identity>,
) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let started = Instant::now();
    let response = match route(&state, request, client_cert).await {
        Ok(response) => response,
        Err(err) => problem_response(&err),
    };
    state
        .metrics
        .request_duration_seconds
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn route<B>(
    state: &AppState,
    request: Request<B>,
    client_cert: Option<Identity>,
) -> Result<Response<Full<Bytes>>, GatewayError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let source = match request.uri().path() {
        "/healthz" | "/readyz" => return get_only(&request).map(|_| text(StatusCode::OK, "ok")),
        "/metrics" if state.serve_metrics => {
            return get_only(&request).map(|_| metrics_response(&state.metrics));
        }
        "/api/v1/signals/prometheus" => Source::Prometheus,
        "/api/v1/signals/kubernetes-event" => Source::KubernetesEvent,
        _ => return Err(GatewayError::NotFound),
    };
    if request.method() != Method::POST {
        return Err(GatewayError::MethodNotAllowed { allow: "POST" });
    }
    // Refused before any work, including reading the body: an overload must not queue up.
    let _inflight = state
        .inflight
        .clone()
        .try_acquire_owned()
        .map_err(|_| GatewayError::Overloaded)?;
    let (parts, body) = request.into_parts();
    let creds =
        RequestCredentials::from_headers(&parts.headers, client_cert, state.max_credential_bytes);
    let checked = match state.pipeline.decide(&creds).await {
        Ok(_) if !is_json(&parts.headers) => Err(GatewayError::UnsupportedMediaType),
        Ok(_) => Ok(()),
        Err(err) => Err(GatewayError::from(err)),
    };
    drop(creds);
    if let Err(err) = checked {
        // Drain (bounded) so the keep-alive connection survives a rejection, like Go's net/http:
        // otherwise every 401/403/503 would cost the client a new connection (and TLS handshake).
        let _ = read_limited(body, state.body_limit_bytes).await;
        return Err(err);
    }
    let body = read_limited(body, state.body_limit_bytes).await?;
    let fps = fingerprints(source, &body).map_err(GatewayError::BadRequest)?;
    let is_new = state.dedup.record(source, fps).await;
    state.metrics.signal_accepted(source.as_str());
    let (status, outcome) = if is_new {
        (StatusCode::CREATED, "created")
    } else {
        (StatusCode::ACCEPTED, "duplicate")
    };
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(format!(
            r#"{{"status":"{outcome}"}}"#
        ))))
        .expect("static response is valid"))
}

/// Serves only `/metrics` (and health) on the separate metrics listener.
pub async fn handle_metrics_only<B>(
    metrics: Arc<Metrics>,
    request: Request<B>,
) -> Response<Full<Bytes>> {
    let result = match request.uri().path() {
        "/metrics" => get_only(&request).map(|_| metrics_response(&metrics)),
        "/healthz" | "/readyz" => get_only(&request).map(|_| text(StatusCode::OK, "ok")),
        _ => Err(GatewayError::NotFound),
    };
    result.unwrap_or_else(|err| problem_response(&err))
}

fn get_only<B>(request: &Request<B>) -> Result<(), GatewayError> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        Ok(())
    } else {
        Err(GatewayError::MethodNotAllowed { allow: "GET" })
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false)
}

/// Reads at most `limit_bytes`, failing as soon as more arrive, so an oversized body is never
/// buffered whole.
async fn read_limited<B>(body: B, limit_bytes: usize) -> Result<Bytes, GatewayError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            Err(GatewayError::PayloadTooLarge { limit_bytes })
        }
        Err(err) if BodyError::is_timeout(err.as_ref()) => Err(GatewayError::BodyTimeout),
        Err(err) => Err(GatewayError::BodyRead(err.to_string())),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response is valid")
}

fn metrics_response(metrics: &Metrics) -> Response<Full<Bytes>> {
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
        .body(Full::new(Bytes::from(metrics.render())))
        .expect("static response is valid")
}
