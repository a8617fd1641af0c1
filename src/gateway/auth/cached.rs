//! `--auth cached`: TokenReview through the token cache (the design note's option 2).

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use super::tokenreview::review_outcome;
use super::{
    AuthError, Authenticator, Identity, RequestCredentials, TokenCache, TokenKeyer, require_bearer,
    unverified_exp,
};
use crate::gateway::kube_client::{self, KubeApi};
use crate::gateway::metrics::Metrics;

pub struct CachedAuthenticator {
    pub kube: KubeApi,
    pub audiences: Vec<String>,
    pub keyer: TokenKeyer,
    pub cache: TokenCache,
    pub metrics: Arc<Metrics>,
    /// One permit per TokenReview in flight for a miss (`--max-pending-reviews`). Requests that
    /// wait on another request's review of the same token take none.
    pub pending: Arc<Semaphore>,
}

impl CachedAuthenticator {
    /// The token-cache key this authenticator uses for `token`.
    pub fn cache_key(&self, token: &str) -> [u8; 32] {
        self.keyer.cache_key(token, &self.audiences)
    }

    /// Authenticates `token`, reviewing it only when not cached.
    pub async fn authenticate_token(&self, token: &str) -> Result<Identity, AuthError> {
        let (verdict, hit) = self
            .cache
            .get_or_review(
                self.cache_key(token),
                || unverified_exp(token),
                || async {
                    let timeout = self.kube.timeout();
                    let _slot = tokio::time::timeout(timeout, self.pending.acquire())
                        .await
                        .map_err(|_| kube_client::Error::Saturated(timeout))?
                        .expect("semaphore never closed");
                    let status = self.kube.token_review(token, &self.audiences).await?;
                    Ok(review_outcome(status, &self.audiences))
                },
            )
            .await?;
        self.metrics.cache("token", hit);
        match verdict.outcome {
            Ok(identity) => Ok((*identity).clone()),
            Err(reason) => Err(AuthError::Invalid(reason)),
        }
    }
}

impl Authenticator for CachedAuthenticator {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        Box::pin(async move { self.authenticate_token(require_bearer(creds)?).await })
    }
}
