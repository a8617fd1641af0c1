//! `--auth tokenreview`: a TokenReview on every request (what the real gateway does today).

use futures::future::BoxFuture;
use k8s_openapi::api::authentication::v1::TokenReviewStatus;

use super::{AuthError, Authenticator, Identity, RequestCredentials, require_bearer};
use crate::gateway::kube_client::KubeApi;

pub struct TokenReviewAuthenticator {
    pub kube: KubeApi,
    pub audiences: Vec<String>,
}

impl Authenticator for TokenReviewAuthenticator {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        Box::pin(async move {
            let token = require_bearer(creds)?;
            let status = self.kube.token_review(token, &self.audiences).await?;
            review_outcome(status).map_err(AuthError::Invalid)
        })
    }
}

/// The identity a TokenReview established, or the API server's reason for rejecting the token.
pub fn review_outcome(status: TokenReviewStatus) -> Result<Identity, String> {
    match (status.authenticated, status.user) {
        (Some(true), Some(user)) => Ok(Identity::from(user)),
        _ => Err(status
            .error
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "token not authenticated".into())),
    }
}
