//! Request pipeline of the stand-in: metrics, faults, authentication, RBAC, then the REST handlers.

mod admin;
mod auth;
mod objects;
mod request_info;
mod reviews;
pub mod status;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::Config;
use super::discovery;
use super::faults::{Faults, Verdict};
use super::metrics::Metrics;
use super::protobuf;
use super::store::Store;
use super::tokens::Keys;
use request_info::RequestInfo;
use status::HttpResponse;

/// Largest request body accepted, as kube-apiserver's 3 MiB.
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Everything a request may touch.
pub struct State {
    pub config: Config,
    pub url: String,
    pub admin_token: String,
    pub keys: Keys,
    pub store: Store,
    pub faults: Arc<Faults>,
    pub metrics: Metrics,
}

/// The connection must be dropped without an answer (an injected `reset` outage).
#[derive(Debug)]
pub struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by injected outage")
    }
}

impl std::error::Error for ResetConnection {}

/// Paths kube serves to anyone (system:public-info-viewer).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/livez" | "/readyz" | "/version" | "/version/"
    )
}

pub async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<HttpResponse, ResetConnection> {
    let path = request.uri().path().to_string();
    if path == "/metrics" {
        return Ok(status::text_response(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ));
    }
    if path.starts_with("/gatebench/") {
        return Ok(admin::handle(&state, request).await);
    }
    let started = Instant::now();
    let info = RequestInfo::parse(request.method(), &path, request.uri().query());
    let (inflight, verdict) = state.faults.admit(&info.resource);
    let response = match verdict {
        Verdict::Proceed { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            serve(&state, &info, request).await
        }
        Verdict::TooManyRequests => status::too_many_requests(),
        Verdict::Unavailable => status::unavailable(),
        Verdict::InternalError => status::internal_error(),
        Verdict::Reset => {
            state
                .metrics
                .observe(&info.metric_kind(), 0, started.elapsed());
            return Err(ResetConnection);
        }
        Verdict::Hang { until } => {
            let mut changed = state.faults.subscribe();
            match until {
                Some(until) => {
                    let _ = tokio::time::timeout_at(until.into(), changed.changed()).await;
                }
                None => {
                    let _ = changed.changed().await;
                }
            }
            status::unavailable()
        }
    };
    drop(inflight);
    state.metrics.observe(
        &info.metric_kind(),
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}

async fn serve(state: &State, info: &RequestInfo, request: Request<Incoming>) -> HttpResponse {
    let caller = match auth::authenticate(state, request.headers()) {
        Ok(caller) => caller,
        Err(_) if is_public(&info.path) => None,
        Err(response) => return *response,
    };
    let Some(caller) = caller else {
        if is_public(&info.path) {
            return discovery::serve_public(&info.path);
        }
        return status::unauthorized();
    };
    let decision = state
        .store
        .rbac()
        .authorize(&caller.user, &info.attributes());
    if !decision.allowed {
        return if info.is_resource {
            status::forbidden(
                &caller.user.name,
                &info.verb,
                &info.group,
                &info.resource,
                &info.subresource,
                &info.namespace,
                &info.name,
            )
        } else {
            status::forbidden_path(&caller.user.name, &info.verb, &info.path)
        };
    }
    if !info.is_resource {
        if *request.method() != Method::GET && *request.method() != Method::HEAD {
            return status::method_not_allowed();
        }
        return discovery::serve(state, &info.path);
    }
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let mut body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if !body.is_empty() && content_type.starts_with(protobuf::CONTENT_TYPE) {
        // kubectl sends built-in kinds as protobuf; everything downstream speaks JSON.
        match protobuf::decode(&body) {
            Ok(object) => body = Bytes::from(serde_json::to_vec(&object).unwrap_or_default()),
            Err(message) => return status::unsupported_media_type(&message),
        }
    } else if !body.is_empty() && !content_type.contains("json") {
        return status::unsupported_media_type(&format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, {}",
            protobuf::CONTENT_TYPE
        ));
    }
    match (info.group.as_str(), info.resource.as_str()) {
        ("authentication.k8s.io", "tokenreviews") => reviews::token_review(state, info, &body),
        (
            "authorization.k8s.io",
            "subjectaccessreviews" | "localsubjectaccessreviews" | "selfsubjectaccessreviews",
        ) => reviews::subject_access_review(state, info, &body, &caller.user),
        ("", "serviceaccounts") if info.subresource == "token" => {
            reviews::token_request(state, info, &body)
        }
        _ => objects::handle(state, info, &body),
    }
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, HttpResponse> {
    match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(status::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the request body is too large or could not be read",
            serde_json::Value::Null,
        )),
    }
}
