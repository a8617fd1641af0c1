//! The token cache of `cached`/`hybrid` mode: coalesced TokenReviews, per-entry TTL capped at the token's exp.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use moka::Expiry;

use super::Identity;
use crate::gateway::kube_client;

/// A cached authentication result: who the token belongs to, or why it was rejected.
#[derive(Debug, Clone)]
pub struct TokenVerdict {
    pub outcome: Result<Arc<Identity>, String>,
    pub ttl: Duration,
}

struct VerdictExpiry;

impl Expiry<[u8; 32], TokenVerdict> for VerdictExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &TokenVerdict,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// TTLs of the token cache.
#[derive(Debug, Clone, Copy)]
pub struct TokenCacheTtls {
    pub success: Duration,
    pub negative: Duration,
}

/// Bounded moka cache keyed by [`super::TokenKeyer::cache_key`]; API errors are never cached.
#[derive(Clone)]
pub struct TokenCache {
    cache: moka::future::Cache<[u8; 32], TokenVerdict>,
    ttls: TokenCacheTtls,
}

impl TokenCache {
    pub fn new(max_entries: u64, ttls: TokenCacheTtls) -> Self {
        TokenCache {
            cache: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(VerdictExpiry)
                .build(),
            ttls,
        }
    }

    /// The cached verdict for `key`, or the one `review` produces. Concurrent misses for one key
    /// run `review` once; the others wait for it. Returns the verdict and whether it was a hit
    /// (no API call made by or for this request). `token_exp` is only called on a miss: a hit
    /// should not pay for decoding the token's payload.
    pub async fn get_or_review<E, F, Fut>(
        &self,
        key: [u8; 32],
        token_exp: E,
        review: F,
    ) -> Result<(TokenVerdict, bool), kube_client::Error>
    where
        E: FnOnce() -> Option<SystemTime>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Result<Identity, String>, kube_client::Error>>,
    {
        let reviewed = AtomicBool::new(false);
        let ttls = self.ttls;
        let entry = self
            .cache
            .entry(key)
            .or_try_insert_with(async {
                reviewed.store(true, Ordering::Relaxed);
                let outcome = review().await?;
                Ok::<_, kube_client::Error>(verdict(outcome, ttls, token_exp(), SystemTime::now()))
            })
            .await
            .map_err(|e| (*e).clone())?;
        Ok((entry.into_value(), !reviewed.load(Ordering::Relaxed)))
    }

    /// Entries currently held (approximate; moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

/// Success entries live `ttls.success` but never past the token's own expiry; failures `ttls.negative`.
fn verdict(
    outcome: Result<Identity, String>,
    ttls: TokenCacheTtls,
    token_exp: Option<SystemTime>,
    now: SystemTime,
) -> TokenVerdict {
    let ttl = match (&outcome, token_exp) {
        (Ok(_), Some(exp)) => ttls
            .success
            .min(exp.duration_since(now).unwrap_or(Duration::ZERO)),
        (Ok(_), None) => ttls.success,
        (Err(_), _) => ttls.negative,
    };
    TokenVerdict {
        outcome: outcome.map(Arc::new),
        ttl,
    }
}

/// The `exp` claim of a JWT-shaped token, read WITHOUT verifying anything: it only shortens a
/// cache entry, it never grants access. Opaque tokens yield `None`.
pub fn unverified_exp(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTLS: TokenCacheTtls = TokenCacheTtls {
        success: Duration::from_secs(300),
        negative: Duration::from_secs(10),
    };

    fn jwt_with_exp(exp: u64) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            enc.encode(br#"{"alg":"RS256"}"#),
            enc.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    #[test]
    fn ttl_capped_at_token_exp() {
        let now = SystemTime::now();
        let exp = now + Duration::from_secs(42);
        let v = verdict(Ok(Identity::default()), TTLS, Some(exp), now);
        assert_eq!(v.ttl, Duration::from_secs(42));
        let v = verdict(Err("no".into()), TTLS, Some(exp), now);
        assert_eq!(v.ttl, TTLS.negative);
        let v = verdict(Ok(Identity::default()), TTLS, None, now);
        assert_eq!(v.ttl, TTLS.success);
    }

    #[test]
    fn reads_exp_of_jwts_only() {
        let exp = unverified_exp(&jwt_with_exp(2_000_000_000)).unwrap();
        assert_eq!(
            exp.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_secs(2_000_000_000)
        );
        assert!(unverified_exp("opaque-token").is_none());
        assert!(unverified_exp("a.!!!.c").is_none());
    }

    #[tokio::test]
    async fn coalesces_misses_and_never_caches_errors() {
        let cache = TokenCache::new(100, TTLS);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_review(
                        [1; 32],
                        || None,
                        || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Ok(Identity::default()))
                        },
                    )
                    .await
                    .unwrap()
                    .1
            }));
        }
        let mut misses = 0;
        for t in tasks {
            if !t.await.unwrap() {
                misses += 1;
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(misses, 1);

        let err = cache
            .get_or_review(
                [2; 32],
                || None,
                || async { Err(kube_client::Error::Timeout(Duration::from_secs(1))) },
            )
            .await;
        assert!(err.is_err());
        let (v, hit) = cache
            .get_or_review([2; 32], || None, || async { Ok(Err("bad".into())) })
            .await
            .unwrap();
        assert!(!hit && v.outcome.is_err());
    }
}
