//! Decodes the Kubernetes protobuf request bodies kubectl sends (`application/vnd.kubernetes.protobuf`)
//! for the kinds the stand-in stores, into the same JSON the REST handlers take.

use serde_json::{Map, Value, json};

/// The 4-byte prefix of every Kubernetes protobuf message.
const MAGIC: &[u8] = b"k8s\0";

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Splits a message into (field number, value) pairs.
fn fields(mut buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let tag = varint(&mut buf).ok_or("truncated tag")?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(&mut buf).ok_or("truncated varint")?),
            1 | 5 => {
                let width = if tag & 7 == 1 { 8 } else { 4 };
                buf = buf.get(width..).ok_or("truncated fixed field")?;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(varint(&mut buf).ok_or("truncated length")?)
                    .map_err(|_| "length overflow")?;
                let bytes = buf.get(..len).ok_or("truncated bytes")?;
                buf = &buf[len..];
                Field::Bytes(bytes)
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        out.push((tag >> 3, field));
    }
    Ok(out)
}

fn string(bytes: &[u8]) -> Result<Value, String> {
    String::from_utf8(bytes.to_vec())
        .map(Value::String)
        .map_err(|_| "invalid UTF-8".to_string())
}

/// How a field number maps to JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str(&'static str),
    Strs(&'static str),
    Int(&'static str),
    Bool(&'static str),
    StrMap(&'static str),
    Msg(&'static str, fn(&[u8]) -> Result<Value, String>),
    Msgs(&'static str, fn(&[u8]) -> Result<Value, String>),
}

fn message(buf: &[u8], schema: &[(u64, Kind)]) -> Result<Value, String> {
    let mut object = Map::new();
    for (number, field) in fields(buf)? {
        let Some((_, kind)) = schema.iter().find(|(n, _)| *n == number) else {
            continue;
        };
        match (*kind, field) {
            // proto2 sends unset optional strings as empty; JSON omits them.
            (Kind::Str(_), Field::Bytes([])) => {}
            (Kind::Str(name), Field::Bytes(b)) => {
                object.insert(name.into(), string(b)?);
            }
            (Kind::Strs(name), Field::Bytes(b)) => push(&mut object, name, string(b)?),
            (Kind::Int(name), Field::Varint(v)) => {
                object.insert(name.into(), json!(v as i64));
            }
            (Kind::Bool(name), Field::Varint(v)) => {
                object.insert(name.into(), json!(v != 0));
            }
            (Kind::StrMap(name), Field::Bytes(b)) => {
                let entry = message(b, &[(1, Kind::Str("k")), (2, Kind::Str("v"))])?;
                let key = entry["k"].as_str().unwrap_or_default().to_string();
                let map = object.entry(name).or_insert_with(|| json!({}));
                map[key] = entry.get("v").cloned().unwrap_or_else(|| json!(""));
            }
            (Kind::Msg(name, decode), Field::Bytes(b)) => {
                object.insert(name.into(), decode(b)?);
            }
            (Kind::Msgs(name, decode), Field::Bytes(b)) => push(&mut object, name, decode(b)?),
            (_, Field::Fixed) | (_, _) => {
                return Err(format!("unexpected wire type for field {number}"));
            }
        }
    }
    Ok(Value::Object(object))
}

fn push(object: &mut Map<String, Value>, name: &str, value: Value) {
    if let Value::Array(items) = object.entry(name).or_insert_with(|| json!([])) {
        items.push(value);
    }
}

fn object_meta(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Str("name")),
            (2, Kind::Str("generateName")),
            (3, Kind::Str("namespace")),
            (11, Kind::StrMap("labels")),
            (12, Kind::StrMap("annotations")),
            (14, Kind::Strs("finalizers")),
        ],
    )
}

fn policy_rule(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Strs("verbs")),
            (2, Kind::Strs("apiGroups")),
            (3, Kind::Strs("resources")),
            (4, Kind::Strs("resourceNames")),
            (5, Kind::Strs("nonResourceURLs")),
        ],
    )
}

fn subject(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Str("kind")),
            (2, Kind::Str("apiGroup")),
            (3, Kind::Str("name")),
            (4, Kind::Str("namespace")),
        ],
    )
}

fn role_ref(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Str("apiGroup")),
            (2, Kind::Str("kind")),
            (3, Kind::Str("name")),
        ],
    )
}

fn namespace_spec(b: &[u8]) -> Result<Value, String> {
    message(b, &[(1, Kind::Strs("finalizers"))])
}

fn token_request_spec(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Strs("audiences")),
            (4, Kind::Int("expirationSeconds")),
        ],
    )
}

fn object_reference(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Str("kind")),
            (2, Kind::Str("namespace")),
            (3, Kind::Str("name")),
        ],
    )
}

fn local_object_reference(b: &[u8]) -> Result<Value, String> {
    message(b, &[(1, Kind::Str("name"))])
}

fn resource_attributes(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Str("namespace")),
            (2, Kind::Str("verb")),
            (3, Kind::Str("group")),
            (4, Kind::Str("version")),
            (5, Kind::Str("resource")),
            (6, Kind::Str("subresource")),
            (7, Kind::Str("name")),
        ],
    )
}

fn non_resource_attributes(b: &[u8]) -> Result<Value, String> {
    message(b, &[(1, Kind::Str("path")), (2, Kind::Str("verb"))])
}

fn self_subject_access_review_spec(b: &[u8]) -> Result<Value, String> {
    message(
        b,
        &[
            (1, Kind::Msg("resourceAttributes", resource_attributes)),
            (
                2,
                Kind::Msg("nonResourceAttributes", non_resource_attributes),
            ),
        ],
    )
}

fn ignore(_: &[u8]) -> Result<Value, String> {
    Ok(json!({}))
}

/// Decodes a protobuf body into JSON with `apiVersion` and `kind` set from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("missing the k8s protobuf prefix")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (number, field) in fields(envelope)? {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                let meta = message(
                    type_meta,
                    &[(1, Kind::Str("apiVersion")), (2, Kind::Str("kind"))],
                )?;
                api_version = meta["apiVersion"].as_str().unwrap_or_default().to_string();
                kind = meta["kind"].as_str().unwrap_or_default().to_string();
            }
            (2, Field::Bytes(bytes)) => raw = bytes,
            _ => {}
        }
    }
    let schema: &[(u64, Kind)] = match kind.as_str() {
        "Namespace" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msg("spec", namespace_spec)),
        ],
        "ServiceAccount" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msgs("secrets", object_reference)),
            (3, Kind::Msgs("imagePullSecrets", local_object_reference)),
            (4, Kind::Bool("automountServiceAccountToken")),
        ],
        "Role" | "ClusterRole" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msgs("rules", policy_rule)),
            (3, Kind::Msg("aggregationRule", ignore)),
        ],
        "RoleBinding" | "ClusterRoleBinding" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msgs("subjects", subject)),
            (3, Kind::Msg("roleRef", role_ref)),
        ],
        "TokenRequest" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msg("spec", token_request_spec)),
        ],
        "SelfSubjectAccessReview" => &[
            (1, Kind::Msg("metadata", object_meta)),
            (2, Kind::Msg("spec", self_subject_access_review_spec)),
        ],
        "DeleteOptions" => &[],
        other => {
            return Err(format!(
                "protobuf bodies of kind {other:?} are not supported; send JSON"
            ));
        }
    };
    let mut object = message(raw, schema)?;
    object["apiVersion"] = api_version.into();
    object["kind"] = kind.into();
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_kubectls_namespace() {
        // `kubectl create namespace demo` as captured with -v=8 (prefix of the body; the rest are empty fields).
        let body: &[u8] = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x0a\x0a\x06\x0a\x04demo\x12\x00\x1a\x00\x22\x00\x2a\x00";
        let object = decode(body).unwrap();
        assert_eq!(object["kind"], "Namespace");
        assert_eq!(object["metadata"]["name"], "demo");
    }

    #[test]
    fn decodes_rules_and_rejects_unknown_kinds() {
        // PolicyRule{verbs:[create], resources:[services]} inside a ClusterRole named "r".
        let rule = b"\x0a\x06create\x1a\x08services";
        let mut raw = b"\x0a\x03\x0a\x01r\x12".to_vec();
        raw.push(rule.len() as u8);
        raw.extend_from_slice(rule);
        let mut body =
            b"k8s\x00\x0a\x2b\x0a\x1crbac.authorization.k8s.io/v1\x12\x0bClusterRole\x12".to_vec();
        body.push(raw.len() as u8);
        body.extend_from_slice(&raw);
        let object = decode(&body).unwrap();
        assert_eq!(object["rules"][0]["verbs"][0], "create");
        assert_eq!(object["rules"][0]["resources"][0], "services");
        assert!(decode(b"k8s\x00\x0a\x07\x0a\x02v1\x12\x03Pod").is_err());
        assert!(decode(b"{}").is_err());
    }
}
