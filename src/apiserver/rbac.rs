//! RBAC evaluation as kube's `rbac/authorizer` does it, over a parsed snapshot of the stored RBAC objects.

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use serde_json::Value;

/// The group whose members kube-apiserver authorizes unconditionally.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// An authenticated user, as TokenReview returns it and SubjectAccessReview takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

/// What is being asked for: a resource request or a non-resource URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    Resource {
        verb: String,
        group: String,
        resource: String,
        subresource: String,
        namespace: String,
        name: String,
    },
    NonResource {
        verb: String,
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

/// Roles and bindings parsed once per RBAC write.
#[derive(Debug, Default)]
pub struct RbacSnapshot {
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    roles: HashMap<(String, String), Vec<PolicyRule>>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
    role_bindings: Vec<RoleBinding>,
}

impl RbacSnapshot {
    /// Builds from `(plural, object)` pairs; objects that fail to parse were rejected at create time.
    pub fn build(objects: &[(&'static str, &Value)]) -> Self {
        let mut snapshot = Self::default();
        for (plural, object) in objects {
            let object = (*object).clone();
            match *plural {
                "clusterroles" => {
                    if let Ok(role) = serde_json::from_value::<ClusterRole>(object) {
                        let name = role.metadata.name.unwrap_or_default();
                        snapshot
                            .cluster_roles
                            .insert(name, role.rules.unwrap_or_default());
                    }
                }
                "roles" => {
                    if let Ok(role) = serde_json::from_value::<Role>(object) {
                        let ns = role.metadata.namespace.unwrap_or_default();
                        let name = role.metadata.name.unwrap_or_default();
                        snapshot
                            .roles
                            .insert((ns, name), role.rules.unwrap_or_default());
                    }
                }
                "clusterrolebindings" => {
                    if let Ok(binding) = serde_json::from_value(object) {
                        snapshot.cluster_role_bindings.push(binding);
                    }
                }
                "rolebindings" => {
                    if let Ok(binding) = serde_json::from_value(object) {
                        snapshot.role_bindings.push(binding);
                    }
                }
                _ => {}
            }
        }
        snapshot
    }

    /// Every rule `user` holds in `namespace` (empty: cluster-wide only), as kube's `RulesFor`.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        let mut rules = Vec::new();
        for binding in &self.cluster_role_bindings {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            if subjects.iter().any(|s| applies_to_user(user, s, ""))
                && let Some(found) = self.role_ref_rules(&binding.role_ref, "")
            {
                rules.extend(found);
            }
        }
        if namespace.is_empty() {
            return rules;
        }
        for binding in &self.role_bindings {
            let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            if ns == namespace
                && subjects.iter().any(|s| applies_to_user(user, s, ns))
                && let Some(found) = self.role_ref_rules(&binding.role_ref, ns)
            {
                rules.extend(found);
            }
        }
        rules
    }

    /// The rules a binding's `roleRef` grants in `namespace`, if the role exists.
    pub fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Option<Vec<PolicyRule>> {
        match role_ref.kind.as_str() {
            "ClusterRole" => self.cluster_roles.get(&role_ref.name).cloned(),
            "Role" => self
                .roles
                .get(&(namespace.to_string(), role_ref.name.clone()))
                .cloned(),
            _ => None,
        }
    }

    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        if user.groups.iter().any(|g| g == SYSTEM_MASTERS) {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        for binding in &self.cluster_role_bindings {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = subjects.iter().find(|s| applies_to_user(user, s, "")) else {
                continue;
            };
            let role = &binding.role_ref.name;
            if binding.role_ref.kind == "ClusterRole"
                && self
                    .cluster_roles
                    .get(role)
                    .is_some_and(|rules| rules_allow(attrs, rules))
            {
                let name = binding.metadata.name.as_deref().unwrap_or_default();
                return allowed(format!(
                    "RBAC: allowed by ClusterRoleBinding \"{name}\" of ClusterRole \"{role}\" to {}",
                    describe(subject)
                ));
            }
        }
        let namespace = match attrs {
            Attributes::Resource { namespace, .. } if !namespace.is_empty() => namespace,
            _ => return denied(),
        };
        for binding in &self.role_bindings {
            let binding_ns = binding.metadata.namespace.as_deref().unwrap_or_default();
            if binding_ns != namespace {
                continue;
            }
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = subjects
                .iter()
                .find(|s| applies_to_user(user, s, binding_ns))
            else {
                continue;
            };
            let role = &binding.role_ref.name;
            let rules = match binding.role_ref.kind.as_str() {
                "ClusterRole" => self.cluster_roles.get(role),
                "Role" => self.roles.get(&(binding_ns.to_string(), role.clone())),
                _ => None,
            };
            if rules.is_some_and(|rules| rules_allow(attrs, rules)) {
                let name = binding.metadata.name.as_deref().unwrap_or_default();
                return allowed(format!(
                    "RBAC: allowed by RoleBinding \"{name}/{binding_ns}\" of {} \"{role}\" to {}",
                    binding.role_ref.kind,
                    describe(subject)
                ));
            }
        }
        denied()
    }
}

fn allowed(reason: String) -> Decision {
    Decision {
        allowed: true,
        reason,
    }
}

fn denied() -> Decision {
    Decision {
        allowed: false,
        reason: String::new(),
    }
}

fn describe(subject: &Subject) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => format!(
            "ServiceAccount \"{}/{}\"",
            subject.name,
            subject.namespace.as_deref().unwrap_or_default()
        ),
        kind => format!("{kind} \"{}\"", subject.name),
    }
}

fn applies_to_user(user: &UserInfo, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            // A RoleBinding may name SAs of its own namespace without qualifying them.
            let ns = subject
                .namespace
                .as_deref()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(binding_namespace);
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

fn rules_allow(attrs: &Attributes, rules: &[PolicyRule]) -> bool {
    rules.iter().any(|rule| rule_allows(attrs, rule))
}

fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    match attrs {
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            has_or_star(&rule.verbs, verb)
                && has_or_star(rule.api_groups.as_deref().unwrap_or_default(), group)
                && resource_matches(
                    rule.resources.as_deref().unwrap_or_default(),
                    resource,
                    subresource,
                )
                && resource_name_matches(rule.resource_names.as_deref().unwrap_or_default(), name)
        }
        Attributes::NonResource { verb, path } => {
            has_or_star(&rule.verbs, verb)
                && rule
                    .non_resource_urls
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|url| {
                        url == "*"
                            || url == path
                            || url
                                .strip_suffix('*')
                                .is_some_and(|prefix| path.starts_with(prefix))
                    })
        }
    }
}

fn has_or_star(values: &[String], wanted: &str) -> bool {
    values.iter().any(|v| v == "*" || v == wanted)
}

fn resource_matches(rule_resources: &[String], resource: &str, subresource: &str) -> bool {
    let combined = if subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{subresource}")
    };
    rule_resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

fn resource_name_matches(names: &[String], name: &str) -> bool {
    names.is_empty() || names.iter().any(|n| n == name)
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
