//! The gateway's one shared kube client: per-call timeout, opt-in retries, client-side rate limit, API metrics.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::authorization::v1::{
    SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use kube::api::{Api, PostParams};

use super::metrics::Metrics;
use super::rate_limiter::RateLimiter;

/// Why an API call failed. Every variant makes the gateway answer 503 and is never cached.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("API server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("API server answered {code}: {message}")]
    Status { code: u16, message: String },
    #[error("transport: {0}")]
    Transport(String),
    #[error("API server returned no status")]
    EmptyStatus,
    #[error("building client: {0}")]
    Build(String),
    /// Client-side: the rate limiter's wait for this call would exceed the call's timeout, so it
    /// fails at once (client-go's `Wait(ctx)` does the same) instead of waiting to time out.
    #[error("client-side rate limit: the call would wait {wait:?}, beyond its {timeout:?} timeout")]
    RateLimited { wait: Duration, timeout: Duration },
    /// Client-side: every review slot stayed busy for the whole timeout (`--max-pending-reviews`).
    #[error("no free review slot within {0:?}")]
    Saturated(Duration),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Label for `gatebench_apiserver_requests_total{code}`.
    fn code_label(&self) -> String {
        match self {
            Error::Timeout(_) => "timeout".into(),
            Error::Status { code, .. } => code.to_string(),
            Error::Transport(_) => "error".into(),
            Error::EmptyStatus => "201".into(),
            Error::Build(_) => "error".into(),
            Error::RateLimited { .. } => "ratelimited".into(),
            Error::Saturated(_) => "saturated".into(),
        }
    }

    /// Worth retrying when the operator opted in: throttling, unavailability, transport trouble.
    fn retryable(&self) -> bool {
        match self {
            Error::Timeout(_) | Error::Transport(_) => true,
            Error::Status { code, .. } => matches!(code, 429 | 500 | 502 | 503 | 504),
            Error::EmptyStatus
            | Error::Build(_)
            | Error::RateLimited { .. }
            | Error::Saturated(_) => false,
        }
    }
}

impl From<kube::Error> for Error {
    fn from(err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => Error::Status {
                code: status.code,
                message: status.message,
            },
            other => Error::Transport(other.to_string()),
        }
    }
}

/// Settings of [`KubeApi`].
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub timeout: Duration,
    pub retries: u32,
    pub qps: Option<f64>,
    pub burst: u32,
}

/// Typed calls the auth modes need, each timed out, rate limited and counted.
#[derive(Clone)]
pub struct KubeApi {
    client: kube::Client,
    limiter: Option<Arc<RateLimiter>>,
    settings: ClientSettings,
    metrics: Arc<Metrics>,
}

/// Builds the kube client with kube's own retry layer OFF: kube >= 4 retries 429/503/504 up to
/// 15 times by default, which would hide the faults the harness injects. Retries, when asked
/// for, happen in [`KubeApi`] so each attempt is rate limited and counted.
pub fn build_client(mut config: kube::Config, timeout: Duration) -> Result<kube::Client> {
    config.default_retry = false;
    // kube has no read timeout by default; the per-call timeout below is the real bound, this one
    // also frees a connection stuck mid-body.
    config.read_timeout = Some(timeout);
    config.connect_timeout = Some(timeout);
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| Error::Build(e.to_string()))?;
    Ok(builder.build())
}

impl KubeApi {
    pub fn new(client: kube::Client, settings: ClientSettings, metrics: Arc<Metrics>) -> Self {
        let limiter = RateLimiter::new(settings.qps, settings.burst).map(Arc::new);
        KubeApi {
            client,
            limiter,
            settings,
            metrics,
        }
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The per-call timeout (rate-limiter wait included).
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Runs `call` with rate limiting, the per-call timeout and up to `retries` extra attempts.
    async fn call<T, F, Fut>(&self, api: &'static str, success_code: &str, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
    {
        let mut attempt = 0;
        let timeout = self.settings.timeout;
        loop {
            let mut waited = Duration::ZERO;
            if let Some(limiter) = &self.limiter {
                waited = limiter
                    .acquire(timeout)
                    .await
                    .map_err(|wait| Error::RateLimited { wait, timeout })?;
                if !waited.is_zero() {
                    self.metrics
                        .throttle_wait_seconds
                        .inc_by(waited.as_secs_f64());
                }
            }
            // The wait counts against the call's timeout, as a client-go context deadline does.
            let budget = timeout.saturating_sub(waited);
            let result = match tokio::time::timeout(budget, call()).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(err)) => Err(Error::from(err)),
                Err(_) => Err(Error::Timeout(timeout)),
            };
            match result {
                Ok(value) => {
                    self.metrics.apiserver(api, success_code);
                    return Ok(value);
                }
                Err(err) => {
                    self.metrics.apiserver(api, &err.code_label());
                    if attempt >= self.settings.retries || !err.retryable() {
                        return Err(err);
                    }
                    attempt += 1;
                    // Short capped backoff: retries exist to ride out blips, not outages.
                    let backoff_ms = 10u64 << attempt.min(6);
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                }
            }
        }
    }

    /// POSTs a TokenReview for `token` with `audiences` (empty = the API server's default).
    pub async fn token_review(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenReviewStatus> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: (!audiences.is_empty()).then(|| audiences.to_vec()),
            },
            ..Default::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let params = PostParams::default();
        let created = self
            .call("tokenreview", "201", || api.create(&params, &review))
            .await?;
        created.status.ok_or(Error::EmptyStatus)
    }

    /// POSTs a SubjectAccessReview with `spec`.
    pub async fn subject_access_review(
        &self,
        spec: &SubjectAccessReviewSpec,
    ) -> Result<SubjectAccessReviewStatus> {
        let review = SubjectAccessReview {
            spec: spec.clone(),
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let params = PostParams::default();
        let created = self
            .call("subjectaccessreview", "201", || {
                api.create(&params, &review)
            })
            .await?;
        created.status.ok_or(Error::EmptyStatus)
    }

    /// GETs a non-resource path (OIDC discovery, JWKS) as text, authenticated like every call.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        self.call("jwks", "200", || {
            let request = http::Request::get(path)
                .body(Vec::new())
                .expect("static GET request is valid");
            self.client.request_text(request)
        })
        .await
    }
}
