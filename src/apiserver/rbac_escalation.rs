//! kube-apiserver's RBAC escalation check (`pkg/registry/rbac`): a caller may write a (Cluster)Role
//! only with rules it already holds (or the `escalate` verb on it), and a (Cluster)RoleBinding only
//! to a role whose rules it holds (or the `bind` verb on that role). system:masters may do anything.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleRef};
use serde_json::Value;

use super::rbac::{Attributes, RbacSnapshot, SYSTEM_MASTERS, UserInfo};
use super::store::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, Kind, RBAC_GROUP, ROLE_BINDINGS, ROLES};

/// Checks a create/update of `object` (a parsed, typed-valid RBAC object of `kind`) in `namespace`
/// by `user`; `Err` is the reason for the 403.
pub fn check_write(
    rbac: &RbacSnapshot,
    user: &UserInfo,
    kind: Kind,
    namespace: &str,
    object: &Value,
) -> Result<(), String> {
    if user.groups.iter().any(|g| g == SYSTEM_MASTERS) {
        return Ok(());
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let rules = if kind == ROLES || kind == CLUSTER_ROLES {
        if kind == CLUSTER_ROLES && object.get("aggregationRule").is_some_and(|a| !a.is_null()) {
            return Err("must have cluster-admin privileges to use the aggregationRule".into());
        }
        if allowed(
            rbac,
            user,
            "escalate",
            RBAC_GROUP,
            kind.plural,
            namespace,
            name,
        ) {
            return Ok(());
        }
        role_rules(kind, object)
    } else if kind == ROLE_BINDINGS || kind == CLUSTER_ROLE_BINDINGS {
        let role_ref: RoleRef = serde_json::from_value(object["roleRef"].clone())
            .map_err(|e| format!("roleRef: {e}"))?;
        let resource = match role_ref.kind.as_str() {
            "ClusterRole" => "clusterroles",
            "Role" => "roles",
            other => return Err(format!("roleRef.kind {other:?} is not a role")),
        };
        // Checked in the binding's namespace (empty for cluster bindings), as kube does.
        let group = role_ref.api_group.as_deref().unwrap_or(RBAC_GROUP);
        if allowed(
            rbac,
            user,
            "bind",
            group,
            resource,
            namespace,
            &role_ref.name,
        ) {
            return Ok(());
        }
        rbac.role_ref_rules(&role_ref, namespace)
            .ok_or_else(|| format!("{resource} \"{}\" not found", role_ref.name))?
    } else {
        return Ok(());
    };
    let held = rbac.rules_for(user, namespace);
    let missing = uncovered(&held, &rules);
    if missing.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = missing.iter().map(describe).collect();
    Err(format!(
        "user {:?} (groups={:?}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        user.groups,
        listed.join("\n")
    ))
}

fn allowed(
    rbac: &RbacSnapshot,
    user: &UserInfo,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: &str,
    name: &str,
) -> bool {
    let attrs = Attributes::Resource {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        subresource: String::new(),
        namespace: namespace.into(),
        name: name.into(),
    };
    rbac.authorize(user, &attrs).allowed
}

fn role_rules(kind: Kind, object: &Value) -> Vec<PolicyRule> {
    let rules = if kind == ROLES {
        serde_json::from_value::<Role>(object.clone()).map(|r| r.rules)
    } else {
        serde_json::from_value::<ClusterRole>(object.clone()).map(|r| r.rules)
    };
    rules.ok().flatten().unwrap_or_default()
}

fn describe(rule: &PolicyRule) -> String {
    if let Some(urls) = &rule.non_resource_urls {
        return format!("{{NonResourceURLs:{urls:?}, Verbs:{:?}}}", rule.verbs);
    }
    let mut text = format!(
        "{{APIGroups:{:?}, Resources:{:?}",
        rule.api_groups.as_deref().unwrap_or_default(),
        rule.resources.as_deref().unwrap_or_default()
    );
    if let Some(names) = &rule.resource_names {
        text.push_str(&format!(", ResourceNames:{names:?}"));
    }
    text.push_str(&format!(", Verbs:{:?}}}", rule.verbs));
    text
}

/// kube's `Covers`: the sub-rules of `servant` (one verb, resource and name each) no rule of
/// `owner` covers.
pub fn uncovered(owner: &[PolicyRule], servant: &[PolicyRule]) -> Vec<PolicyRule> {
    servant
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect()
}

fn one(value: &str) -> Option<Vec<String>> {
    Some(vec![value.to_string()])
}

/// kube's `BreakdownRule`.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let mut subrules = Vec::new();
    for group in list(&rule.api_groups) {
        for resource in list(&rule.resources) {
            for verb in &rule.verbs {
                let sub = |names| PolicyRule {
                    api_groups: one(&group),
                    resources: one(&resource),
                    verbs: vec![verb.clone()],
                    resource_names: names,
                    non_resource_urls: None,
                };
                match &rule.resource_names {
                    Some(names) if !names.is_empty() => {
                        subrules.extend(names.iter().map(|n| sub(one(n))));
                    }
                    _ => subrules.push(sub(None)),
                }
            }
        }
    }
    for url in list(&rule.non_resource_urls) {
        for verb in &rule.verbs {
            subrules.push(PolicyRule {
                non_resource_urls: one(&url),
                verbs: vec![verb.clone()],
                ..Default::default()
            });
        }
    }
    subrules
}

fn has(set: &[String], wanted: &str) -> bool {
    set.iter().any(|s| s == wanted)
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| has(set, w))
}

fn resource_covers_all(set: &[String], covers: &[String]) -> bool {
    if has(set, "*") || has_all(set, covers) {
        return true;
    }
    covers.iter().all(|path| {
        has(set, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(set, &format!("*/{sub}")))
    })
}

fn non_resource_url_covers(owner: &str, sub: &str) -> bool {
    owner == sub
        || owner
            .strip_suffix('*')
            .is_some_and(|prefix| sub.starts_with(prefix.trim_end_matches('*')))
}

/// kube's `ruleCovers`: whether `owner` covers `sub` (one verb, resource and name at most).
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let v = |x: &Option<Vec<String>>| x.clone().unwrap_or_default();
    let (owner_groups, owner_resources, owner_urls, owner_names) = (
        v(&owner.api_groups),
        v(&owner.resources),
        v(&owner.non_resource_urls),
        v(&owner.resource_names),
    );
    let sub_names = v(&sub.resource_names);
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner_groups, "*") || has_all(&owner_groups, &v(&sub.api_groups));
    let resources = resource_covers_all(&owner_resources, &v(&sub.resources));
    let urls = v(&sub.non_resource_urls)
        .iter()
        .all(|path| owner_urls.iter().any(|o| non_resource_url_covers(o, path)));
    let names = if sub_names.is_empty() {
        owner_names.is_empty()
    } else {
        owner_names.is_empty() || has_all(&owner_names, &sub_names)
    };
    verbs && groups && resources && names && urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            verbs: strings(verbs),
            resource_names: (!names.is_empty()).then(|| strings(names)),
            non_resource_urls: None,
        }
    }

    #[test]
    fn covers_follows_kube() {
        let owner = vec![rule(&[""], &["pods", "*/status"], &["get", "list"], &[])];
        assert!(uncovered(&owner, &[rule(&[""], &["pods"], &["get"], &["p1"])]).is_empty());
        assert!(uncovered(&owner, &[rule(&[""], &["services/status"], &["get"], &[])]).is_empty());
        let missing = uncovered(
            &owner,
            &[rule(&[""], &["pods", "secrets"], &["get", "delete"], &[])],
        );
        assert_eq!(missing.len(), 3, "{missing:?}");
        // A name-restricted owner rule does not cover the unrestricted one.
        let named = vec![rule(&[""], &["pods"], &["get"], &["p1"])];
        assert_eq!(
            uncovered(&named, &[rule(&[""], &["pods"], &["get"], &[])]).len(),
            1
        );
        let star = vec![rule(&["*"], &["*"], &["*"], &[])];
        assert!(uncovered(&star, &[rule(&["apps"], &["deployments"], &["patch"], &[])]).is_empty());
        let urls = vec![PolicyRule {
            non_resource_urls: Some(vec!["/healthz/*".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        }];
        let want = |u: &str| PolicyRule {
            non_resource_urls: Some(vec![u.into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        };
        assert!(uncovered(&urls, &[want("/healthz/etcd")]).is_empty());
        assert_eq!(uncovered(&urls, &[want("/metrics")]).len(), 1);
    }
}
