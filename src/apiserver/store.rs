//! In-memory object store with Kubernetes metadata semantics (uid, resourceVersion, creationTimestamp).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use super::rbac::RbacSnapshot;

/// A resource type the stand-in stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `KINDS` entry equal to this one (every `Kind` in use comes from that table).
    pub fn canonical(&self) -> &'static Kind {
        KINDS.iter().find(|k| *k == self).unwrap_or(&KINDS[0])
    }

    pub fn is_rbac(&self) -> bool {
        self.group == RBAC_GROUP
    }
}

pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

const fn core(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> Kind {
    Kind {
        group: "",
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names: short,
    }
}

const fn rbac(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group: RBAC_GROUP,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names: &[],
    }
}

pub const NAMESPACES: Kind = core("namespaces", "namespace", "Namespace", false, &["ns"]);
pub const SERVICE_ACCOUNTS: Kind = core(
    "serviceaccounts",
    "serviceaccount",
    "ServiceAccount",
    true,
    &["sa"],
);
pub const ROLES: Kind = rbac("roles", "role", "Role", true);
pub const ROLE_BINDINGS: Kind = rbac("rolebindings", "rolebinding", "RoleBinding", true);
pub const CLUSTER_ROLES: Kind = rbac("clusterroles", "clusterrole", "ClusterRole", false);
pub const CLUSTER_ROLE_BINDINGS: Kind = rbac(
    "clusterrolebindings",
    "clusterrolebinding",
    "ClusterRoleBinding",
    false,
);

/// Every stored kind. Services, config maps and secrets are plain stored objects: kubectl's
/// `create role --resource=services` resolves resource names through discovery, so they must exist.
pub const KINDS: &[Kind] = &[
    NAMESPACES,
    SERVICE_ACCOUNTS,
    core("services", "service", "Service", true, &["svc"]),
    core("configmaps", "configmap", "ConfigMap", true, &["cm"]),
    core("secrets", "secret", "Secret", true, &[]),
    ROLES,
    ROLE_BINDINGS,
    CLUSTER_ROLES,
    CLUSTER_ROLE_BINDINGS,
];

pub fn find_kind(group: &str, plural: &str) -> Option<Kind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.group == group && k.plural == plural)
}

/// Why a store operation failed (mapped to `Status` by the handlers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound { kind: &'static Kind, name: String },
    AlreadyExists { kind: &'static Kind, name: String },
    NamespaceNotFound(String),
}

type Key = (&'static str, String, String);

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    rbac: Arc<RbacSnapshot>,
}

/// The object store: one lock, short critical sections; RBAC is kept as a parsed snapshot
/// rebuilt on every RBAC write so authorization never parses JSON.
#[derive(Default)]
pub struct Store {
    inner: RwLock<Inner>,
}

fn key(kind: Kind, namespace: &str, name: &str) -> Key {
    let ns = if kind.namespaced { namespace } else { "" };
    (kind.plural, ns.to_string(), name.to_string())
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Store {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn rbac(&self) -> Arc<RbacSnapshot> {
        self.read().rbac.clone()
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Result<Value, StoreError> {
        self.read()
            .objects
            .get(&key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                kind: kind.canonical(),
                name: name.to_string(),
            })
    }

    /// The uid of a ServiceAccount, if it exists: the revocation check of every token review.
    pub fn service_account_uid(&self, namespace: &str, name: &str) -> Option<String> {
        let inner = self.read();
        let sa = inner.objects.get(&key(SERVICE_ACCOUNTS, namespace, name))?;
        sa.pointer("/metadata/uid")?.as_str().map(str::to_string)
    }

    /// Objects of a kind, in one namespace or (empty `namespace`) all; plus the list resourceVersion.
    pub fn list(&self, kind: Kind, namespace: &str) -> (Vec<Value>, u64) {
        let inner = self.read();
        let items = inner
            .objects
            .iter()
            .filter(|((plural, ns, _), _)| {
                *plural == kind.plural && (namespace.is_empty() || ns == namespace)
            })
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.resource_version)
    }

    /// Stores a new object, filling server-set metadata. `object` must already carry `metadata.name`.
    pub fn create(
        &self,
        kind: Kind,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, StoreError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut inner = self.write();
        if kind.namespaced && !inner.objects.contains_key(&key(NAMESPACES, "", namespace)) {
            return Err(StoreError::NamespaceNotFound(namespace.to_string()));
        }
        let k = key(kind, namespace, &name);
        if inner.objects.contains_key(&k) {
            return Err(StoreError::AlreadyExists {
                kind: kind.canonical(),
                name,
            });
        }
        inner.resource_version += 1;
        let metadata = &mut object["metadata"];
        metadata["uid"] = uuid::Uuid::new_v4().to_string().into();
        metadata["resourceVersion"] = inner.resource_version.to_string().into();
        metadata["creationTimestamp"] = now_rfc3339().into();
        if kind.namespaced {
            metadata["namespace"] = namespace.into();
        }
        object["apiVersion"] = kind.api_version().into();
        object["kind"] = kind.kind.into();
        inner.objects.insert(k, object.clone());
        if kind.is_rbac() {
            inner.rbac = Arc::new(RbacSnapshot::build(&inner.objects_of_rbac()));
        }
        Ok(object)
    }

    /// Replaces an existing object, keeping uid and creationTimestamp.
    pub fn update(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        mut object: Value,
    ) -> Result<Value, StoreError> {
        let mut inner = self.write();
        let k = key(kind, namespace, name);
        let Some(old) = inner.objects.get(&k) else {
            return Err(StoreError::NotFound {
                kind: kind.canonical(),
                name: name.to_string(),
            });
        };
        let uid = old["metadata"]["uid"].clone();
        let created = old["metadata"]["creationTimestamp"].clone();
        inner.resource_version += 1;
        let metadata = &mut object["metadata"];
        metadata["name"] = name.into();
        metadata["uid"] = uid;
        metadata["creationTimestamp"] = created;
        metadata["resourceVersion"] = inner.resource_version.to_string().into();
        if kind.namespaced {
            metadata["namespace"] = namespace.into();
        }
        object["apiVersion"] = kind.api_version().into();
        object["kind"] = kind.kind.into();
        inner.objects.insert(k, object.clone());
        if kind.is_rbac() {
            inner.rbac = Arc::new(RbacSnapshot::build(&inner.objects_of_rbac()));
        }
        Ok(object)
    }

    /// Deletes an object; deleting a namespace deletes everything in it at once.
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) -> Result<Value, StoreError> {
        let mut inner = self.write();
        let removed = inner
            .objects
            .remove(&key(kind, namespace, name))
            .ok_or_else(|| StoreError::NotFound {
                kind: kind.canonical(),
                name: name.to_string(),
            })?;
        inner.resource_version += 1;
        let mut rbac_touched = kind.is_rbac();
        if kind == NAMESPACES {
            let before = inner.objects.len();
            // Cluster-scoped objects are keyed with an empty namespace, which no namespace can be named.
            inner.objects.retain(|(_, ns, _), _| ns != name);
            rbac_touched |= before != inner.objects.len();
        }
        if rbac_touched {
            inner.rbac = Arc::new(RbacSnapshot::build(&inner.objects_of_rbac()));
        }
        Ok(removed)
    }
}

impl Inner {
    fn objects_of_rbac(&self) -> Vec<(&'static str, &Value)> {
        self.objects
            .iter()
            .filter(|((plural, _, _), _)| find_kind(RBAC_GROUP, plural).is_some())
            .map(|((plural, _, _), v)| (*plural, v))
            .collect()
    }
}
