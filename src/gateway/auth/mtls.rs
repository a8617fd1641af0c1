//! `--auth mtls`: the verified client certificate is the identity (user = CN, groups = O), SAR cached.

use futures::future::BoxFuture;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{AuthError, Authenticator, Identity, RequestCredentials};

pub struct MtlsAuthenticator;

impl Authenticator for MtlsAuthenticator {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        // rustls already refused connections without a valid certificate; this guards a
        // misconfigured listener that let one through anyway.
        Box::pin(async move { creds.client_cert.clone().ok_or(AuthError::Missing) })
    }
}

/// kube-rbac-proxy's convention: user = subject CN, groups = every subject O.
/// `None` if the DER does not parse or has no CN.
pub fn identity_from_cert(der: &[u8]) -> Option<Identity> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject();
    let username = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    Some(Identity {
        username,
        uid: None,
        groups,
        extra: Default::default(),
    })
}
