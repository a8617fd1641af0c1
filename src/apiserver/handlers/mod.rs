//! Request pipeline of the stand-in: metrics, faults, authentication, RBAC, then the REST handlers.

mod admin;
mod auth;
mod objects;
mod reviews;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::{Method, Request, StatusCode};

use super::discovery;
use super::faults::Verdict;
use super::protobuf;
use super::request_info::RequestInfo;
use super::state::State;
use super::status::{self, ApiError, HttpResponse};
use crate::serve::{BodyError, RequestBody, ResetConnection};

/// Largest request body accepted, as kube-apiserver's 3 MiB.
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub async fn handle(
    state: Arc<State>,
    request: Request<RequestBody>,
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

async fn serve(state: &State, info: &RequestInfo, request: Request<RequestBody>) -> HttpResponse {
    let caller = match auth::authenticate(state, request.headers()) {
        Ok(caller) => caller,
        Err(_) if discovery::is_public(&info.path) => None,
        Err(response) => return *response,
    };
    let Some(caller) = caller else {
        if discovery::is_public(&info.path) {
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
        _ => objects::handle(state, info, &body, &caller.user),
    }
}

async fn read_body(request: Request<RequestBody>) -> Result<Bytes, HttpResponse> {
    match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if BodyError::is_timeout(error.as_ref()) => {
            Err(ApiError::BodyTimeout.into_response())
        }
        Err(_) => Err(ApiError::PayloadTooLarge.into_response()),
    }
}
