//! The resources this server serves, their key layout in the store, defaulting and
//! validation. Adding a resource means adding a [`Resource`] entry and its validator.

use serde_json::{json, Map, Value};

use crate::status::{ApiError, Cause};

/// One REST resource of the core `v1` group.
pub(crate) struct Resource {
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Field checks beyond metadata; pushes one cause per problem.
    pub validate: fn(&Map<String, Value>, &mut Vec<Cause>),
    /// Server-side defaults applied on create and update.
    pub default: fn(&mut Map<String, Value>),
}

pub(crate) const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub(crate) static NAMESPACES: Resource = Resource {
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    short_names: &["ns"],
    validate: |_, _| {},
    default: default_namespace,
};

pub(crate) static CONFIGMAPS: Resource = Resource {
    plural: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    short_names: &["cm"],
    validate: validate_configmap,
    default: |_| {},
};

pub(crate) static RESOURCES: &[&Resource] = &[&NAMESPACES, &CONFIGMAPS];

pub(crate) fn by_plural(plural: &str) -> Option<&'static Resource> {
    RESOURCES.iter().copied().find(|r| r.plural == plural)
}

impl Resource {
    /// `/registry/<plural>/<ns>/<name>` or `/registry/<plural>/<name>`. Names cannot contain
    /// `/`, so a collection's prefix never matches a longer namespace or name.
    pub fn key(&self, ns: Option<&str>, name: &str) -> Vec<u8> {
        match ns {
            Some(ns) => format!("/registry/{}/{ns}/{name}", self.plural),
            None => format!("/registry/{}/{name}", self.plural),
        }
        .into_bytes()
    }

    /// Prefix of a collection: every object, or every object of one namespace.
    pub fn prefix(&self, ns: Option<&str>) -> Vec<u8> {
        match ns {
            Some(ns) => format!("/registry/{}/{ns}/", self.plural),
            None => format!("/registry/{}/", self.plural),
        }
        .into_bytes()
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Check `apiVersion` and `kind` (filling them in when absent) and the metadata, then
    /// the resource's own fields. `name` is the final name (after generateName).
    pub fn validate(&self, obj: &Map<String, Value>, name: &str) -> Result<(), ApiError> {
        let mut causes = Vec::new();
        let name_check = if self.namespaced {
            dns1123_subdomain(name)
        } else {
            dns1123_label(name)
        };
        if let Err(msg) = name_check {
            causes.push(invalid_value("metadata.name", &json!(name), &msg));
        }
        validate_metadata(obj, &mut causes);
        (self.validate)(obj, &mut causes);
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.kind, name, causes))
        }
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
        let err = CONFIGMAPS
            .validate(obj.as_object().unwrap(), "c")
            .unwrap_err();
        let fields: Vec<&str> = err.causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "data[bad/key]",
                "data[n]",
                "binaryData[ok]",
                "binaryData[ok]"
            ]
        );
        assert_eq!(err.code, 422);
    }
}
