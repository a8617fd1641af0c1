//! Authorization through SubjectAccessReview: direct (tokenreview mode) or through a coalescing SAR cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use moka::Expiry;
use sha2::{Digest, Sha256};

use super::{AuthError, Identity};
use crate::gateway::SarAttributes;
use crate::gateway::kube_client::{self, KubeApi};
use crate::gateway::metrics::Metrics;

/// The SAR spec for `identity` against `attributes`: user, uid, groups and extra all passed.
/// Groups are sorted so the same identity always yields the same spec (and cache key).
pub fn sar_spec(identity: &Identity, attributes: &SarAttributes) -> SubjectAccessReviewSpec {
    let mut groups = identity.groups.clone();
    groups.sort();
    groups.dedup();
    SubjectAccessReviewSpec {
        user: Some(identity.username.clone()),
        uid: identity.uid.clone(),
        groups: Some(groups),
        extra: (!identity.extra.is_empty()).then(|| identity.extra.clone().into_iter().collect()),
        resource_attributes: Some(ResourceAttributes {
            verb: Some(attributes.verb.clone()),
            group: Some(attributes.group.clone()),
            resource: Some(attributes.resource.clone()),
            name: Some(attributes.name.clone()),
            namespace: Some(attributes.namespace.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Cache key over the whole spec: its canonical JSON (k8s-openapi serialises fields in a fixed
/// order and `extra` as a sorted map), hashed.
pub fn sar_key(spec: &SubjectAccessReviewSpec) -> [u8; 32] {
    let json = serde_json::to_vec(spec).expect("SAR spec serialises");
    Sha256::digest(&json).into()
}

/// A SAR answer lets the caller through only if allowed and not explicitly denied.
fn verdict_allows(status: &SubjectAccessReviewStatus) -> bool {
    status.allowed && !status.denied.unwrap_or(false)
}

#[derive(Debug, Clone)]
struct SarVerdict {
    allowed: bool,
    reason: Arc<str>,
    ttl: Duration,
}

struct SarExpiry;

impl Expiry<[u8; 32], SarVerdict> for SarExpiry {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        value: &SarVerdict,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// SAR results cached by spec: allowed for `allowed_ttl`, denied for `denied_ttl`, errors never.
#[derive(Clone)]
pub struct SarCache {
    cache: moka::future::Cache<[u8; 32], SarVerdict>,
    allowed_ttl: Duration,
    denied_ttl: Duration,
}

impl SarCache {
    pub fn new(max_entries: u64, allowed_ttl: Duration, denied_ttl: Duration) -> Self {
        SarCache {
            cache: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(SarExpiry)
                .build(),
            allowed_ttl,
            denied_ttl,
        }
    }

    /// Whether `spec` is allowed, asking the API server only on a miss (coalesced).
    /// Returns (allowed, reason, hit).
    pub async fn check(
        &self,
        kube: &KubeApi,
        spec: &SubjectAccessReviewSpec,
    ) -> Result<(bool, Arc<str>, bool), kube_client::Error> {
        let reviewed = AtomicBool::new(false);
        let entry = self
            .cache
            .entry(sar_key(spec))
            .or_try_insert_with(async {
                reviewed.store(true, Ordering::Relaxed);
                let status = kube.subject_access_review(spec).await?;
                let allowed = verdict_allows(&status);
                Ok::<_, kube_client::Error>(SarVerdict {
                    allowed,
                    reason: status.reason.unwrap_or_default().into(),
                    // The TTL follows the verdict: an `allowed` that is also `denied` is a denial
                    // and must not be remembered for the (long) allowed TTL.
                    ttl: if allowed {
                        self.allowed_ttl
                    } else {
                        self.denied_ttl
                    },
                })
            })
            .await
            .map_err(|e| (*e).clone())?;
        let verdict = entry.into_value();
        Ok((
            verdict.allowed,
            verdict.reason,
            !reviewed.load(Ordering::Relaxed),
        ))
    }
}

/// How an authenticated identity is authorized.
#[derive(Clone)]
pub enum Authorizer {
    /// `none` mode: everyone is allowed.
    AllowAll,
    /// `tokenreview` mode: a SAR on every request.
    Direct {
        kube: KubeApi,
        attributes: SarAttributes,
    },
    /// Every other mode: SAR through [`SarCache`].
    Cached {
        kube: KubeApi,
        attributes: SarAttributes,
        cache: SarCache,
        metrics: Arc<Metrics>,
    },
}

impl Authorizer {
    pub async fn authorize(&self, identity: &Identity) -> Result<(), AuthError> {
        let (allowed, reason) = match self {
            Authorizer::AllowAll => return Ok(()),
            Authorizer::Direct { kube, attributes } => {
                let status = kube
                    .subject_access_review(&sar_spec(identity, attributes))
                    .await?;
                (
                    verdict_allows(&status),
                    Arc::<str>::from(status.reason.unwrap_or_default()),
                )
            }
            Authorizer::Cached {
                kube,
                attributes,
                cache,
                metrics,
            } => {
                let (allowed, reason, hit) =
                    cache.check(kube, &sar_spec(identity, attributes)).await?;
                metrics.cache("sar", hit);
                (allowed, reason)
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(AuthError::Denied(if reason.is_empty() {
                "no RBAC rule allows it".into()
            } else {
                reason.to_string()
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_covers_whole_spec_and_ignores_group_order() {
        let attrs = SarAttributes::gateway_default("ns");
        let mut a = Identity {
            username: "u".into(),
            uid: Some("1".into()),
            groups: vec!["b".into(), "a".into()],
            ..Default::default()
        };
        let k1 = sar_key(&sar_spec(&a, &attrs));
        a.groups.reverse();
        assert_eq!(k1, sar_key(&sar_spec(&a, &attrs)));
        a.extra.insert("scopes".into(), vec!["x".into()]);
        assert_ne!(k1, sar_key(&sar_spec(&a, &attrs)));
        a.extra.clear();
        a.uid = Some("2".into());
        assert_ne!(k1, sar_key(&sar_spec(&a, &attrs)));
        a.uid = Some("1".into());
        let other = SarAttributes::gateway_default("other-ns");
        assert_ne!(k1, sar_key(&sar_spec(&a, &other)));
    }
}
