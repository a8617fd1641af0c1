//! The per-request decision: authenticate with the mode's [`Authenticator`], authorize, count, log.

use std::sync::Arc;

use super::cached::CachedAuthenticator;
use super::hybrid::HybridAuthenticator;
use super::jwks::JwksAuthenticator;
use super::mtls::MtlsAuthenticator;
use super::none::NoneAuthenticator;
use super::token_cache::TokenCacheTtls;
use super::tokenreview::TokenReviewAuthenticator;
use super::{
    AuthError, AuthSetupError, Authenticator, Authorizer, Identity, RequestCredentials, SarCache,
    TokenCache, TokenKeyer,
};
use crate::gateway::kube_client::KubeApi;
use crate::gateway::metrics::Metrics;
use crate::gateway::{AuthMode, Config};

/// Authenticator + authorizer of one mode. `decide` is the whole per-request auth cost.
pub struct AuthPipeline {
    pub mode: AuthMode,
    pub authenticator: Arc<dyn Authenticator>,
    pub authorizer: Authorizer,
    pub keyer: TokenKeyer,
    pub metrics: Arc<Metrics>,
}

impl AuthPipeline {
    /// Authenticates then authorizes; records `gatebench_auth_decisions_total` and logs
    /// rejections with a token fingerprint (never the token).
    pub async fn decide(&self, creds: &RequestCredentials) -> Result<Identity, AuthError> {
        let result: Result<Identity, AuthError> = async {
            let identity = self.authenticator.authenticate(creds).await?;
            self.authorizer.authorize(&identity).await?;
            Ok(identity)
        }
        .await;
        let mode = self.mode.as_str();
        match &result {
            Ok(_) => self.metrics.decision(mode, "allowed"),
            Err(err) => {
                self.metrics.decision(mode, err.outcome());
                let token_fp = creds
                    .bearer
                    .as_deref()
                    .map(|t| self.keyer.fingerprint(t))
                    .unwrap_or_default();
                let user = creds
                    .client_cert
                    .as_ref()
                    .map(|c| c.username.as_str())
                    .unwrap_or("");
                tracing::warn!(
                    event = "auth_rejected",
                    mode,
                    outcome = err.outcome(),
                    reason = %err,
                    token_fp,
                    cert_user = user,
                    "request rejected"
                );
            }
        }
        result
    }
}

/// Builds the pipeline for `config.auth`. `kube` must be `Some` for every mode but `none`.
pub async fn build_pipeline(
    config: &Config,
    kube: Option<KubeApi>,
    metrics: Arc<Metrics>,
) -> Result<AuthPipeline, AuthSetupError> {
    let keyer = TokenKeyer::random();
    let kube = match (config.auth, kube) {
        (AuthMode::None, _) => {
            return Ok(AuthPipeline {
                mode: AuthMode::None,
                authenticator: Arc::new(NoneAuthenticator),
                authorizer: Authorizer::AllowAll,
                keyer,
                metrics,
            });
        }
        (_, Some(kube)) => kube,
        (mode, None) => return Err(AuthSetupError::NoKube(mode.as_str())),
    };
    let cached_authorizer = || Authorizer::Cached {
        kube: kube.clone(),
        attributes: config.sar.clone(),
        cache: SarCache::new(
            config.cache_max_entries,
            config.sar_allowed_ttl,
            config.sar_denied_ttl,
        ),
        metrics: metrics.clone(),
    };
    let pending = Arc::new(tokio::sync::Semaphore::new(
        config.max_pending_reviews.max(1),
    ));
    let cached_bearer = || CachedAuthenticator {
        kube: kube.clone(),
        audiences: config.audiences.clone(),
        keyer: keyer.clone(),
        cache: TokenCache::new(
            config.cache_max_entries,
            TokenCacheTtls {
                success: config.token_cache_ttl,
                negative: config.token_negative_ttl,
            },
        ),
        metrics: metrics.clone(),
        pending: pending.clone(),
    };
    let (authenticator, authorizer): (Arc<dyn Authenticator>, Authorizer) = match config.auth {
        AuthMode::None => unreachable!("handled above"),
        AuthMode::Tokenreview => (
            Arc::new(TokenReviewAuthenticator {
                kube: kube.clone(),
                audiences: config.audiences.clone(),
            }),
            Authorizer::Direct {
                kube: kube.clone(),
                attributes: config.sar.clone(),
            },
        ),
        AuthMode::Cached => (Arc::new(cached_bearer()), cached_authorizer()),
        AuthMode::Jwks => (
            Arc::new(
                JwksAuthenticator::start(
                    kube.clone(),
                    config.jwks_issuer.clone(),
                    config.audiences.clone(),
                    config.jwks_refresh,
                )
                .await?,
            ),
            cached_authorizer(),
        ),
        AuthMode::Mtls => (Arc::new(MtlsAuthenticator), cached_authorizer()),
        AuthMode::Hybrid => (
            Arc::new(HybridAuthenticator {
                bearer: cached_bearer(),
            }),
            cached_authorizer(),
        ),
    };
    Ok(AuthPipeline {
        mode: config.auth,
        authenticator,
        authorizer,
        keyer,
        metrics,
    })
}
