//! Parses a request path into kube's RequestInfo (verb, group, version, namespace, resource, name, subresource).

use hyper::Method;

use super::metrics::RequestKind;
use super::rbac::Attributes;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub is_resource: bool,
    pub verb: String,
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub name: String,
    pub subresource: String,
    pub path: String,
}

impl RequestInfo {
    pub fn parse(method: &Method, path: &str, query: Option<&str>) -> Self {
        let non_resource = || RequestInfo {
            verb: method.as_str().to_ascii_lowercase(),
            path: path.to_string(),
            ..Default::default()
        };
        let parts: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let (group, version, rest) = match parts.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
            _ => return non_resource(),
        };
        let (namespace, rest): (&str, &[&str]) = match rest {
            ["namespaces", ns, more @ ..] if !more.is_empty() => (ns, more),
            _ => ("", rest),
        };
        let resource = rest[0];
        let name = rest.get(1).copied().unwrap_or_default();
        let subresource = rest.get(2).copied().unwrap_or_default();
        // A namespace's own requests carry the namespace as kube's RequestInfo does.
        let namespace = if namespace.is_empty() && resource == "namespaces" {
            name
        } else {
            namespace
        };
        let watch =
            query.is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
        let verb = match *method {
            Method::GET | Method::HEAD if watch => "watch",
            Method::GET | Method::HEAD if name.is_empty() => "list",
            Method::GET | Method::HEAD => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if name.is_empty() => "deletecollection",
            Method::DELETE => "delete",
            _ => "unknown",
        };
        RequestInfo {
            is_resource: true,
            verb: verb.to_string(),
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.to_string(),
            resource: resource.to_string(),
            name: name.to_string(),
            subresource: subresource.to_string(),
            path: path.to_string(),
        }
    }

    pub(crate) fn attributes(&self) -> Attributes {
        if self.is_resource {
            Attributes::Resource {
                verb: self.verb.clone(),
                group: self.group.clone(),
                resource: self.resource.clone(),
                subresource: self.subresource.clone(),
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            }
        } else {
            Attributes::NonResource {
                verb: self.verb.clone(),
                path: self.path.clone(),
            }
        }
    }

    /// Metric labels as kube-apiserver writes them: the verb is the upper-case request verb
    /// ("POST", "GET", "LIST", "DELETE", ...), non-resource requests get an empty resource.
    pub(crate) fn metric_kind(&self) -> RequestKind {
        let verb = metric_verb(&self.verb);
        if !self.is_resource {
            return RequestKind {
                verb,
                ..Default::default()
            };
        }
        // kube's CleanScope: every create is "resource"-scoped, named or not.
        let scope =
            if self.verb == "create" || (!self.name.is_empty() && self.resource != "namespaces") {
                "resource"
            } else if !self.namespace.is_empty() && self.resource != "namespaces" {
                "namespace"
            } else if self.resource == "namespaces" && !self.name.is_empty() {
                "resource"
            } else {
                "cluster"
            };
        RequestKind {
            verb,
            group: self.group.clone(),
            version: self.version.clone(),
            resource: self.resource.clone(),
            subresource: self.subresource.clone(),
            scope: scope.to_string(),
        }
    }
}

/// kube-apiserver's metric verb for an RBAC verb (`create` -> `POST`, `list` -> `LIST`, ...).
fn metric_verb(rbac_verb: &str) -> String {
    match rbac_verb {
        "create" => "POST".to_string(),
        "update" => "PUT".to_string(),
        "deletecollection" => "DELETE".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_paths() {
        let token = RequestInfo::parse(
            &Method::POST,
            "/api/v1/namespaces/ns/serviceaccounts/sa/token",
            None,
        );
        assert_eq!(
            (
                token.verb.as_str(),
                token.namespace.as_str(),
                token.resource.as_str(),
                token.name.as_str(),
                token.subresource.as_str()
            ),
            ("create", "ns", "serviceaccounts", "sa", "token")
        );
        let review = RequestInfo::parse(
            &Method::POST,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            None,
        );
        assert_eq!(
            (review.group.as_str(), review.resource.as_str()),
            ("authentication.k8s.io", "tokenreviews")
        );
        let ns = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/demo", None);
        assert_eq!(
            (
                ns.verb.as_str(),
                ns.resource.as_str(),
                ns.name.as_str(),
                ns.namespace.as_str()
            ),
            ("get", "namespaces", "demo", "demo")
        );
        let list = RequestInfo::parse(
            &Method::GET,
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            None,
        );
        assert_eq!(list.verb, "list");
        let discovery = RequestInfo::parse(&Method::GET, "/api/v1", None);
        assert!(!discovery.is_resource);
        assert_eq!(discovery.verb, "get");
    }
}
