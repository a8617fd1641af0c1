//! What decide measures side by side: the reference gateway in one of its auth modes, or a peer
//! (kube-rbac-proxy in front of the reference gateway, or a gateway the user runs).

use crate::gateway::AuthMode;

/// One column of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Mode {
    None,
    Tokenreview,
    Cached,
    Jwks,
    Mtls,
    Hybrid,
    /// kube-rbac-proxy (built by scripts/install-kube-apiserver.sh) in front of
    /// `gatebench gateway --auth none`, with its own cache TTLs.
    KubeRbacProxy,
    /// The gateway of `--gateway external:URL`: added by that flag, not listed in `--modes`.
    #[value(skip)]
    External,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::KubeRbacProxy => "kube-rbac-proxy",
            Mode::External => "external",
            m => m.auth().expect("a gateway mode").as_str(),
        }
    }

    /// The reference gateway's `--auth` of this mode (None for a peer).
    pub fn auth(self) -> Option<AuthMode> {
        Some(match self {
            Mode::None => AuthMode::None,
            Mode::Tokenreview => AuthMode::Tokenreview,
            Mode::Cached => AuthMode::Cached,
            Mode::Jwks => AuthMode::Jwks,
            Mode::Mtls => AuthMode::Mtls,
            Mode::Hybrid => AuthMode::Hybrid,
            Mode::KubeRbacProxy | Mode::External => return Option::None,
        })
    }

    /// A gateway other than gatebench's reference gateway (kube-rbac-proxy, the user's own).
    pub fn is_peer(self) -> bool {
        self.auth().is_none()
    }

    /// Whether gatebench sets this gateway's cache TTLs (and so can run them scaled).
    pub fn ttls_scale(self) -> bool {
        !self.is_peer()
    }
}

impl From<AuthMode> for Mode {
    fn from(auth: AuthMode) -> Mode {
        match auth {
            AuthMode::None => Mode::None,
            AuthMode::Tokenreview => Mode::Tokenreview,
            AuthMode::Cached => Mode::Cached,
            AuthMode::Jwks => Mode::Jwks,
            AuthMode::Mtls => Mode::Mtls,
            AuthMode::Hybrid => Mode::Hybrid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_auth_mode_round_trips_and_keeps_its_name() {
        for &auth in AuthMode::value_variants() {
            let mode = Mode::from(auth);
            assert_eq!(mode.auth(), Some(auth));
            assert_eq!(mode.as_str(), auth.as_str());
            assert!(mode.ttls_scale());
        }
    }

    #[test]
    fn peers_have_their_own_names_and_no_auth_flag() {
        assert_eq!(
            Mode::from_str("kube-rbac-proxy", false),
            Ok(Mode::KubeRbacProxy)
        );
        assert_eq!(Mode::KubeRbacProxy.auth(), Option::None);
        assert!(!Mode::KubeRbacProxy.ttls_scale());
        assert!(Mode::KubeRbacProxy.is_peer() && Mode::External.is_peer());
        assert!(!Mode::Cached.is_peer());
        // `external` comes from --gateway external:URL only.
        assert!(Mode::from_str("external", false).is_err());
        assert_eq!(Mode::External.as_str(), "external");
    }
}
