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
            review_outcome(status, &self.audiences).map_err(AuthError::Invalid)
        })
    }
}

/// The identity a TokenReview established, or the API server's reason for rejecting the token.
/// With `audiences` asked for, the answer's `status.audiences` must share one of them: kube's
/// webhook token authenticator treats an answer without that intersection as unauthenticated
/// (the token was minted for someone else).
pub fn review_outcome(status: TokenReviewStatus, audiences: &[String]) -> Result<Identity, String> {
    match (status.authenticated, status.user) {
        (Some(true), Some(user)) => {
            let answered = status.audiences.unwrap_or_default();
            if !audiences.is_empty() && !answered.iter().any(|a| audiences.contains(a)) {
                return Err(format!(
                    "token audiences {answered:?} do not include any of {audiences:?}"
                ));
            }
            Ok(Identity::from(user))
        }
        _ => Err(status
            .error
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "token not authenticated".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::UserInfo;

    fn answer(audiences: Option<&[&str]>) -> TokenReviewStatus {
        TokenReviewStatus {
            authenticated: Some(true),
            user: Some(UserInfo {
                username: Some("u".into()),
                ..Default::default()
            }),
            audiences: audiences.map(|a| a.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn asked_audiences_must_intersect_the_answer() {
        let want = vec!["gateway".to_string()];
        assert!(review_outcome(answer(Some(&["gateway", "x"])), &want).is_ok());
        assert!(review_outcome(answer(Some(&["api"])), &want).is_err());
        assert!(review_outcome(answer(None), &want).is_err());
        // Without --audience the API server's default audience decides.
        assert!(review_outcome(answer(None), &[]).is_ok());
    }
}
