//! `--auth none`: every caller is anonymous and allowed, the floor the other modes are compared to.

use futures::future::BoxFuture;

use super::{AuthError, Authenticator, Identity, RequestCredentials};

pub struct NoneAuthenticator;

impl Authenticator for NoneAuthenticator {
    fn authenticate<'a>(
        &'a self,
        _creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        Box::pin(async {
            Ok(Identity {
                username: "system:anonymous".into(),
                groups: vec!["system:unauthenticated".into()],
                ..Default::default()
            })
        })
    }
}
