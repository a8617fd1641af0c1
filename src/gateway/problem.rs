//! The one place gateway errors become HTTP answers: RFC 7807 `application/problem+json`, never echoing credentials.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

use super::auth::AuthError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("body larger than {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("reading request: {0}")]
    BodyRead(String),
    #[error("request body not received in time")]
    BodyTimeout,
    #[error("too many requests in flight; try again")]
    Overloaded,
}

pub type Result<T> = std::result::Result<T, GatewayError>;

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::BadRequest(_) | GatewayError::BodyRead(_) => StatusCode::BAD_REQUEST,
            GatewayError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            GatewayError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Auth(AuthError::Denied(_)) => StatusCode::FORBIDDEN,
            GatewayError::Auth(AuthError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Auth(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// What the client is told. Auth details (API server messages, reasons) stay in the logs:
    /// they can carry identities, and a client guessing tokens learns nothing from them.
    fn detail(&self) -> String {
        match self {
            GatewayError::Auth(AuthError::Missing) => "no credentials presented".into(),
            GatewayError::Auth(AuthError::Malformed) => {
                "Authorization header must be 'Bearer <token>'".into()
            }
            GatewayError::Auth(AuthError::Invalid(_)) => "credentials are not valid".into(),
            GatewayError::Auth(AuthError::Denied(_)) => {
                "caller is not allowed to send signals".into()
            }
            GatewayError::Auth(AuthError::Unavailable(_)) => {
                "authentication backend unavailable; try again".into()
            }
            other => other.to_string(),
        }
    }
}

/// Renders `err` as problem+json with the headers its status requires.
pub fn problem_response(err: &GatewayError) -> Response<Full<Bytes>> {
    let status = err.status();
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": err.detail(),
    });
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json");
    match err {
        GatewayError::Auth(AuthError::Missing | AuthError::Malformed | AuthError::Invalid(_)) => {
            builder = builder.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        GatewayError::Auth(AuthError::Unavailable(_)) | GatewayError::Overloaded => {
            builder = builder.header(header::RETRY_AFTER, "1");
        }
        // The body was not read to its end, so the connection cannot be reused.
        GatewayError::BodyTimeout => {
            builder = builder.header(header::CONNECTION, "close");
        }
        GatewayError::MethodNotAllowed { allow } => {
            builder = builder.header(header::ALLOW, *allow);
        }
        _ => {}
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_auth_errors() {
        let r = problem_response(&GatewayError::Auth(AuthError::Invalid("tok-xyz".into())));
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let r = problem_response(&GatewayError::Auth(AuthError::Denied("x".into())));
        assert_eq!(r.status(), 403);
        let r = problem_response(&GatewayError::Auth(AuthError::Unavailable(
            crate::gateway::kube_client::Error::Timeout(std::time::Duration::from_secs(1)),
        )));
        assert_eq!(r.status(), 503);
        assert_eq!(
            problem_response(&GatewayError::PayloadTooLarge { limit_bytes: 1 }).status(),
            413
        );
        let r = problem_response(&GatewayError::Overloaded);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(problem_response(&GatewayError::BodyTimeout).status(), 408);
    }
}
