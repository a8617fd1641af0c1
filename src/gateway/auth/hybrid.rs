//! `--auth hybrid`: a presented client certificate takes the mtls path, otherwise cached bearer (option 3).

use futures::future::BoxFuture;

use super::cached::CachedAuthenticator;
use super::{AuthError, Authenticator, Identity, RequestCredentials};

pub struct HybridAuthenticator {
    pub bearer: CachedAuthenticator,
}

impl Authenticator for HybridAuthenticator {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        match &creds.client_cert {
            Some(identity) => {
                let identity = identity.clone();
                Box::pin(async move { Ok(identity) })
            }
            None => self.bearer.authenticate(creds),
        }
    }
}
