//! Keyed hashing of bearer tokens (gateway and stand-in): cache keys and log fingerprints, so a raw
//! token is never stored or logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 under a random per-process key: equal tokens map to equal keys inside one
/// gateway, and a leaked cache key or log line cannot be checked against a guessed token offline.
#[derive(Clone)]
pub struct TokenKeyer {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenKeyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeyer(..)")
    }
}

impl Default for TokenKeyer {
    fn default() -> Self {
        Self::random()
    }
}

impl TokenKeyer {
    pub fn random() -> Self {
        TokenKeyer {
            key: rand::random(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    /// Token-cache key over the length-prefixed token and each length-prefixed audience, so
    /// (token "ab", aud "c") and (token "a", aud "bc") cannot collide.
    pub fn cache_key(&self, token: &str, audiences: &[String]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(&(token.len() as u64).to_be_bytes());
        mac.update(token.as_bytes());
        mac.update(&(audiences.len() as u64).to_be_bytes());
        for audience in audiences {
            mac.update(&(audience.len() as u64).to_be_bytes());
            mac.update(audience.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// First 8 hex digits of the token's HMAC: enough to correlate log lines, useless to an attacker.
    pub fn fingerprint(&self, token: &str) -> String {
        let mut mac = self.mac();
        mac.update(b"fingerprint:");
        mac.update(token.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_length_prefixed_and_per_process() {
        let k = TokenKeyer::random();
        assert_eq!(k.cache_key("tok", &[]), k.cache_key("tok", &[]));
        assert_ne!(
            k.cache_key("ab", &["c".into()]),
            k.cache_key("a", &["bc".into()])
        );
        assert_ne!(k.cache_key("tok", &[]), k.cache_key("tok", &["x".into()]));
        assert_ne!(
            k.cache_key("tok", &[]),
            TokenKeyer::random().cache_key("tok", &[])
        );
        let fp = k.fingerprint("secret-token");
        assert_eq!(fp.len(), 8);
        assert!(!fp.contains("secret"));
    }
}
