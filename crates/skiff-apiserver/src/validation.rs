//! Server-side defaulting and validation of the built-in kinds, as kube-apiserver does them:
//! defaults fill what a client left out, then validation reports every problem at once as a
//! [`Cause`] whose `field` is the Kubernetes field path (`spec.template.spec.containers[0].image`).
//!
//! Entry points are keyed by `apiVersion` and `kind` so the request path never needs to know
//! which kinds have rules.

use serde_json::{json, Map, Value};

use crate::status::Cause;

/// Fill server-side defaults into `obj` (create and update, before validation).
pub(crate) fn default_object(api_version: &str, kind: &str, obj: &mut Map<String, Value>) {
    match (api_version, kind) {
        ("v1", "Namespace") => default_namespace(obj),
        _ => {}
    }
}

/// Check `obj` (already defaulted). `old` is the stored object on update, for immutable
/// fields. Pushes one cause per problem; metadata.name is checked by the caller.
pub(crate) fn validate_object(
    api_version: &str,
    kind: &str,
    obj: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    causes: &mut Vec<Cause>,
) {
    let _ = old;
    validate_metadata(obj, causes);
    match (api_version, kind) {
        ("v1", "ConfigMap") => validate_configmap(obj, causes),
        _ => {}
    }
}

/// The rule metadata.name must follow for this kind: most kinds take a DNS subdomain,
/// namespaces and services a DNS label.
pub(crate) fn validate_name(api_version: &str, kind: &str, name: &str) -> Result<(), String> {
    match (api_version, kind) {
        ("v1", "Namespace" | "Service") => dns1123_label(name),
        _ => dns1123_subdomain(name),
    }
}

pub(crate) fn invalid_value(field: &str, value: &Value, msg: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        field: field.to_string(),
        message: format!("Invalid value: {value}: {msg}"),
    }
}

pub(crate) fn required(field: &str, msg: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        field: field.to_string(),
        message: format!("Required value: {msg}"),
    }
}

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";

pub(crate) fn dns1123_label(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{DNS1123_LABEL_MSG}, regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'"
        ))
    }
}

pub(crate) fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    let ok = !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{DNS1123_SUBDOMAIN_MSG}, regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'"
        ))
    }
}

/// Labels and annotations must be string maps; deeper label-syntax checks come later.
fn validate_metadata(obj: &Map<String, Value>, causes: &mut Vec<Cause>) {
    let Some(meta) = obj.get("metadata").and_then(Value::as_object) else {
        return;
    };
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if !v.is_string() {
                        causes.push(invalid_value(
                            &format!("metadata.{field}[{k}]"),
                            v,
                            "must be a string",
                        ));
                    }
                }
            }
            Some(v) => causes.push(invalid_value(
                &format!("metadata.{field}"),
                v,
                "must be a map of string keys to string values",
            )),
        }
    }
}

/// A ConfigMap key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
fn config_key(k: &str) -> Result<(), &'static str> {
    if k.is_empty() || k.len() > 253 {
        return Err("a valid config key must be 1 to 253 characters long");
    }
    if k == "." || k == ".." {
        return Err("must not be '.' or '..'");
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    Ok(())
}

fn validate_configmap(obj: &Map<String, Value>, causes: &mut Vec<Cause>) {
    let mut seen = std::collections::BTreeSet::new();
    for field in ["data", "binaryData"] {
        match obj.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let path = format!("{field}[{k}]");
                    if let Err(msg) = config_key(k) {
                        causes.push(invalid_value(&path, &json!(k), msg));
                    }
                    if !seen.insert(k.clone()) {
                        causes.push(invalid_value(
                            &path,
                            &json!(k),
                            "duplicate of key present in data",
                        ));
                    }
                    let valid = match (field, v) {
                        ("data", Value::String(_)) => true,
                        ("binaryData", Value::String(s)) => {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                        }
                        _ => false,
                    };
                    if !valid {
                        let msg = if field == "data" {
                            "must be a string"
                        } else {
                            "must be a base64-encoded string"
                        };
                        causes.push(invalid_value(&path, v, msg));
                    }
                }
            }
            Some(v) => causes.push(invalid_value(field, v, "must be a map of keys to values")),
        }
    }
}

fn default_namespace(obj: &mut Map<String, Value>) {
    // Every namespace carries its own name as a label, so selectors can pick namespaces by
    // name (the Kubernetes convention since 1.21).
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        let name = meta.get("name").cloned().unwrap_or(Value::Null);
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if !labels.is_object() {
            return; // validation reports it
        }
        labels["kubernetes.io/metadata.name"] = name;
    }
    // Deletion is immediate in this slice (there is no namespace controller yet), so a
    // namespace is always Active.
    obj.insert("status".into(), json!({"phase": "Active"}));
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj.insert("spec".into(), json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1123_label("default").is_ok());
        assert!(dns1123_label("a-1").is_ok());
        assert!(dns1123_label("Bad").is_err());
        assert!(dns1123_label("a.b").is_err());
        assert!(dns1123_label("-a").is_err());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1123_subdomain("a.b-c").is_ok());
        assert!(dns1123_subdomain("Bad_Name").is_err());
        assert!(dns1123_subdomain("a..b").is_err());
        assert!(dns1123_subdomain("").is_err());
    }

    #[test]
    fn configmap_validation_names_fields() {
        let obj = json!({"data": {"ok": "1", "bad/key": "2", "n": 3}, "binaryData": {"ok": "!!"}});
        let mut causes = Vec::new();
        validate_object(
            "v1",
            "ConfigMap",
            obj.as_object().unwrap(),
            None,
            &mut causes,
        );
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "data[bad/key]",
                "data[n]",
                "binaryData[ok]",
                "binaryData[ok]"
            ]
        );
    }
}
