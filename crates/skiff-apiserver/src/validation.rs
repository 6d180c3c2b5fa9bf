//! Server-side defaulting and validation of the built-in kinds, as kube-apiserver does them:
//! defaults fill what a client left out, then validation reports every problem at once as a
//! [`Cause`] whose `field` is the Kubernetes field path (`spec.template.spec.containers[0].image`)
//! and whose message uses the wording kubectl users know ("Required value", "Unsupported
//! value: ...").
//!
//! Entry points are keyed by `apiVersion` and `kind` so the request path never needs to know
//! which kinds have rules. The rules live by API group: `pod` (the PodSpec shared by every
//! workload), `core`, `apps`, `batch` and `other` (coordination, discovery, storage, events).
//!
//! Everything here works on untyped JSON: the schema check that runs first guarantees JSON
//! types, but a wrong type must still never panic, so every accessor treats a value of the
//! wrong type as absent.

mod apps;
mod batch;
mod core;
mod other;
mod pod;

use serde_json::{json, Map, Value};

use crate::status::Cause;

pub(crate) type Obj = Map<String, Value>;

/// Fill server-side defaults into `obj` (create and update, before validation). Job defaults
/// need `metadata.uid` and `metadata.name`, so the caller sets them first.
pub(crate) fn default_object(api_version: &str, kind: &str, obj: &mut Obj) {
    match (api_version, kind) {
        ("v1", "Namespace") => core::default_namespace(obj),
        ("v1", "Pod") => pod::default_pod(obj),
        ("v1", "Service") => core::default_service(obj),
        ("v1", "Endpoints") => core::default_endpoints(obj),
        ("v1", "Secret") => core::default_secret(obj),
        ("v1", "Node") => core::default_node(obj),
        ("v1", "PersistentVolume") => core::default_pv(obj),
        ("v1", "PersistentVolumeClaim") => core::default_pvc(obj),
        ("apps/v1", "Deployment") => apps::default_deployment(obj),
        ("apps/v1", "ReplicaSet") => apps::default_replicaset(obj),
        ("apps/v1", "StatefulSet") => apps::default_statefulset(obj),
        ("apps/v1", "DaemonSet") => apps::default_daemonset(obj),
        ("batch/v1", "Job") => batch::default_job(obj),
        ("batch/v1", "CronJob") => batch::default_cronjob(obj),
        ("discovery.k8s.io/v1", "EndpointSlice") => other::default_endpointslice(obj),
        ("storage.k8s.io/v1", "StorageClass") => other::default_storageclass(obj),
        _ => {}
    }
}

/// Check `obj` (already defaulted). `old` is the stored object on update and patch, for
/// immutable fields and update-only rules. Pushes one cause per problem; metadata.name itself
/// is checked by the caller through [`validate_name`].
pub(crate) fn validate_object(
    api_version: &str,
    kind: &str,
    obj: &Obj,
    old: Option<&Obj>,
    causes: &mut Vec<Cause>,
) {
    validate_metadata(api_version, kind, obj, old, causes);
    match (api_version, kind) {
        ("v1", "Namespace") => core::validate_namespace(obj, causes),
        ("v1", "Pod") => pod::validate_pod(obj, old, causes),
        ("v1", "Service") => core::validate_service(obj, old, causes),
        ("v1", "Endpoints") => core::validate_endpoints(obj, causes),
        ("v1", "ConfigMap") => core::validate_configmap(obj, old, causes),
        ("v1", "Secret") => core::validate_secret(obj, old, causes),
        ("v1", "Node") => core::validate_node(obj, causes),
        ("v1", "Event") => core::validate_event(obj, causes),
        ("v1", "PersistentVolume") => core::validate_pv(obj, old, causes),
        ("v1", "PersistentVolumeClaim") => core::validate_pvc(obj, old, causes),
        ("apps/v1", "Deployment") => apps::validate_deployment(obj, old, causes),
        ("apps/v1", "ReplicaSet") => apps::validate_replicaset(obj, old, causes),
        ("apps/v1", "StatefulSet") => apps::validate_statefulset(obj, old, causes),
        ("apps/v1", "DaemonSet") => apps::validate_daemonset(obj, old, causes),
        ("apps/v1", "ControllerRevision") => apps::validate_controllerrevision(obj, old, causes),
        ("batch/v1", "Job") => batch::validate_job(obj, old, causes),
        ("batch/v1", "CronJob") => batch::validate_cronjob(obj, causes),
        ("coordination.k8s.io/v1", "Lease") => other::validate_lease(obj, causes),
        ("discovery.k8s.io/v1", "EndpointSlice") => other::validate_endpointslice(obj, old, causes),
        ("storage.k8s.io/v1", "StorageClass") => other::validate_storageclass(obj, old, causes),
        ("events.k8s.io/v1", "Event") => other::validate_event(obj, causes),
        _ => {}
    }
}

/// The rule metadata.name must follow for this kind: most kinds take a DNS subdomain;
/// namespaces and stateful sets a DNS-1123 label (their names end up in hostnames), services
/// a DNS-1035 label (their names become environment variable prefixes too).
pub(crate) fn validate_name(api_version: &str, kind: &str, name: &str) -> Result<(), String> {
    let msgs = name_messages(api_version, kind, name, false);
    match msgs.into_iter().next() {
        None => Ok(()),
        Some(m) => Err(m),
    }
}

fn name_messages(api_version: &str, kind: &str, name: &str, prefix: bool) -> Vec<String> {
    // A generateName prefix may end in '-': the random suffix follows it.
    let name = if prefix {
        name.strip_suffix('-').unwrap_or(name)
    } else {
        name
    };
    match (api_version, kind) {
        ("v1", "Namespace") | ("apps/v1", "StatefulSet") => dns1123_label_msgs(name),
        ("v1", "Service") => dns1035_label_msgs(name),
        ("batch/v1", "CronJob") => {
            let mut msgs = dns1123_subdomain_msgs(name);
            // Job names are "<cronjob>-<11 digits of schedule time>" and must stay labels.
            if !prefix && name.len() > 52 {
                msgs.push("must be no more than 52 characters".into());
            }
            msgs
        }
        _ => dns1123_subdomain_msgs(name),
    }
}

// ---------------------------------------------------------------------------------------
// Causes, worded like the Kubernetes field errors.
// ---------------------------------------------------------------------------------------

/// A bad value as Kubernetes prints it: strings quoted, numbers and booleans bare.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

pub(crate) fn invalid_value(field: &str, value: &Value, msg: &str) -> Cause {
    let mut message = format!("Invalid value: {}", show(value));
    if !msg.is_empty() {
        message.push_str(": ");
        message.push_str(msg);
    }
    Cause {
        reason: "FieldValueInvalid",
        field: field.to_string(),
        message,
    }
}

fn invalid(field: &str, value: &str, msg: &str) -> Cause {
    invalid_value(field, &json!(value), msg)
}

pub(crate) fn required(field: &str, msg: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        field: field.to_string(),
        message: with_detail("Required value", msg),
    }
}

fn with_detail(head: &str, detail: &str) -> String {
    if detail.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {detail}")
    }
}

fn forbidden(field: &str, msg: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden",
        field: field.to_string(),
        message: with_detail("Forbidden", msg),
    }
}

fn duplicate(field: &str, value: &Value) -> Cause {
    Cause {
        reason: "FieldValueDuplicate",
        field: field.to_string(),
        message: format!("Duplicate value: {}", show(value)),
    }
}

fn not_found(field: &str, value: &Value) -> Cause {
    Cause {
        reason: "FieldValueNotFound",
        field: field.to_string(),
        message: format!("Not found: {}", show(value)),
    }
}

fn not_supported(field: &str, value: &Value, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    let mut message = format!("Unsupported value: {}", show(value));
    if !list.is_empty() {
        message.push_str(": supported values: ");
        message.push_str(&list.join(", "));
    }
    Cause {
        reason: "FieldValueNotSupported",
        field: field.to_string(),
        message,
    }
}

fn too_long(field: &str, max: usize) -> Cause {
    let unit = if max == 1 { "byte" } else { "bytes" };
    Cause {
        reason: "FieldValueTooLong",
        field: field.to_string(),
        message: format!("Too long: may not be more than {max} {unit}"),
    }
}

fn too_many(field: &str, actual: usize, max: usize) -> Cause {
    let unit = if max == 1 { "item" } else { "items" };
    Cause {
        reason: "FieldValueTooMany",
        field: field.to_string(),
        message: format!("Too many: {actual}: must have at most {max} {unit}"),
    }
}

const IMMUTABLE: &str = "field is immutable";

/// `field is immutable` when `new` differs from `old` (absent and null are the same).
fn immutable(field: &str, new: Option<&Value>, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    let (n, o) = (norm(new), norm(old));
    if n != o {
        causes.push(invalid_value(
            field,
            n.as_ref().unwrap_or(&Value::Null),
            IMMUTABLE,
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Field paths and tolerant JSON access.
// ---------------------------------------------------------------------------------------

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn idx(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

fn get_obj<'a>(m: &'a Obj, k: &str) -> Option<&'a Obj> {
    m.get(k).and_then(Value::as_object)
}

fn get_str<'a>(m: &'a Obj, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

/// The string at `k`, or "" when absent or not a string (Go's zero value).
fn str_of<'a>(m: &'a Obj, k: &str) -> &'a str {
    get_str(m, k).unwrap_or("")
}

fn get_i64(m: &Obj, k: &str) -> Option<i64> {
    m.get(k).and_then(Value::as_i64)
}

fn get_bool(m: &Obj, k: &str) -> Option<bool> {
    m.get(k).and_then(Value::as_bool)
}

fn get_arr<'a>(m: &'a Obj, k: &str) -> &'a [Value] {
    m.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The objects of the array at `k`, with their index (non-objects are skipped).
fn objs<'a>(m: &'a Obj, k: &str) -> impl Iterator<Item = (usize, &'a Obj)> {
    get_arr(m, k)
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_object().map(|o| (i, o)))
}

fn objs_mut<'a>(m: &'a mut Obj, k: &str) -> impl Iterator<Item = &'a mut Obj> {
    m.get_mut(k)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn is_unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Absent, null or "": what Go sees as an unset string.
fn is_empty_str(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

fn set_default(m: &mut Obj, k: &str, v: Value) {
    if is_unset(m.get(k)) {
        m.insert(k.to_string(), v);
    }
}

fn default_str(m: &mut Obj, k: &str, v: &str) {
    if is_empty_str(m.get(k)) {
        m.insert(k.to_string(), json!(v));
    }
}

/// The object at `k`, created empty when absent or null; `None` when it holds something else
/// (validation reports that).
fn obj_mut<'a>(m: &'a mut Obj, k: &str) -> Option<&'a mut Obj> {
    if is_unset(m.get(k)) {
        m.insert(k.to_string(), Value::Object(Map::new()));
    }
    m.get_mut(k).and_then(Value::as_object_mut)
}

/// The object at `k` only if it already exists.
fn existing_mut<'a>(m: &'a mut Obj, k: &str) -> Option<&'a mut Obj> {
    m.get_mut(k).and_then(Value::as_object_mut)
}

fn string_map(m: Option<&Obj>) -> impl Iterator<Item = (&String, &str)> {
    m.into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s)))
}

// ---------------------------------------------------------------------------------------
// Syntax rules for names, keys and values (the apimachinery validators).
// ---------------------------------------------------------------------------------------

/// "<msg> (e.g. 'a',  or 'b', regex used for validation is '<re>')", the exact shape of the
/// Kubernetes messages so users can search for them.
fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{re}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{re}')"));
    out
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn matches_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";

fn dns1123_label_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len_error(63));
    }
    if !matches_dns_label(s) {
        out.push(regex_error(
            DNS1123_LABEL_ERR,
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    out
}

fn dns1123_subdomain_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push(max_len_error(253));
    }
    if s.is_empty() || !s.split('.').all(matches_dns_label) {
        out.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    out
}

fn dns1035_label_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len_error(63));
    }
    if !(matches_dns_label(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        out.push(regex_error(
            DNS1035_LABEL_ERR,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    out
}

/// One cause per message, all on `field` with `value` as the bad value.
fn push_msgs(causes: &mut Vec<Cause>, field: &str, value: &str, msgs: Vec<String>) {
    for m in msgs {
        causes.push(invalid(field, value, &m));
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn matches_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// A qualified name: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63
/// characters (label keys, annotation keys, finalizers, resource names).
fn qualified_name_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                out.push("prefix part must be non-empty".into());
            } else {
                for m in dns1123_subdomain_msgs(prefix) {
                    out.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            out.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return out;
        }
    };
    if name.is_empty() {
        out.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        out.push(format!("name part {}", max_len_error(63)));
    }
    if !matches_qualified_part(name) {
        out.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    out
}

fn label_value_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len_error(63));
    }
    if !s.is_empty() && !matches_qualified_part(s) {
        out.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    out
}

/// A ConfigMap or Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
fn config_key_msgs(k: &str) -> Vec<String> {
    let mut out = Vec::new();
    if k.len() > 253 {
        out.push(max_len_error(253));
    }
    if k.is_empty()
        || !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        out.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if k == "." {
        out.push("must not be '.'".into());
    } else if k == ".." {
        out.push("must not be '..'".into());
    } else if k.starts_with("..") {
        out.push("must not start with '..'".into());
    }
    out
}

/// Labels (metadata.labels, nodeSelector, selectors): qualified-name keys, label values.
fn validate_labels(labels: Option<&Value>, path: &str, causes: &mut Vec<Cause>) {
    let Some(Value::Object(m)) = labels else {
        return;
    };
    for (k, v) in m {
        push_msgs(causes, path, k, qualified_name_msgs(k));
        match v.as_str() {
            Some(s) => push_msgs(causes, path, s, label_value_msgs(s)),
            None => causes.push(invalid_value(path, v, "must be a string")),
        }
    }
}

const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

fn validate_annotations(annotations: Option<&Value>, path: &str, causes: &mut Vec<Cause>) {
    let Some(Value::Object(m)) = annotations else {
        return;
    };
    let mut total = 0;
    for (k, v) in m {
        push_msgs(
            causes,
            path,
            k,
            qualified_name_msgs(&k.to_ascii_lowercase()),
        );
        match v.as_str() {
            Some(s) => total += k.len() + s.len(),
            None => causes.push(invalid_value(path, v, "must be a string")),
        }
    }
    if total > TOTAL_ANNOTATION_SIZE {
        causes.push(too_long(path, TOTAL_ANNOTATION_SIZE));
    }
}

/// metadata: labels, annotations, generateName, ownerReferences, finalizers, and on update
/// the fields that never change (namespace, uid, creationTimestamp).
fn validate_metadata(
    api_version: &str,
    kind: &str,
    obj: &Obj,
    old: Option<&Obj>,
    causes: &mut Vec<Cause>,
) {
    let Some(meta) = get_obj(obj, "metadata") else {
        return;
    };
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(v) => causes.push(invalid_value(
                &format!("metadata.{field}"),
                v,
                "must be a map of string keys to string values",
            )),
        }
    }
    validate_labels(meta.get("labels"), "metadata.labels", causes);
    validate_annotations(meta.get("annotations"), "metadata.annotations", causes);
    if let Some(g) = get_str(meta, "generateName").filter(|g| !g.is_empty()) {
        push_msgs(
            causes,
            "metadata.generateName",
            g,
            name_messages(api_version, kind, g, true),
        );
    }
    validate_owner_references(meta, causes);
    let mut seen = std::collections::BTreeSet::new();
    for (i, f) in get_arr(meta, "finalizers").iter().enumerate() {
        let Some(f) = f.as_str() else { continue };
        push_msgs(causes, "metadata.finalizers", f, qualified_name_msgs(f));
        if !seen.insert(f) {
            causes.push(duplicate(&idx("metadata.finalizers", i), &json!(f)));
        }
    }
    if let Some(old_meta) = old.and_then(|o| get_obj(o, "metadata")) {
        for field in ["namespace", "uid", "creationTimestamp"] {
            // A client that leaves these out of an update keeps the stored values; only a
            // different value is a change.
            if let (Some(n), Some(o)) = (meta.get(field), old_meta.get(field)) {
                if !n.is_null() && n != o {
                    causes.push(invalid_value(&format!("metadata.{field}"), n, IMMUTABLE));
                }
            }
        }
    }
}

fn validate_owner_references(meta: &Obj, causes: &mut Vec<Cause>) {
    let path = "metadata.ownerReferences";
    let mut controllers = Vec::new();
    for (i, r) in objs(meta, "ownerReferences") {
        let p = idx(path, i);
        let api_version = str_of(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            causes.push(invalid(
                &child(&p, "apiVersion"),
                version,
                "version must not be empty",
            ));
        }
        if str_of(r, "kind").is_empty() {
            causes.push(invalid(&child(&p, "kind"), "", "kind must not be empty"));
        }
        if str_of(r, "name").is_empty() {
            causes.push(invalid(&child(&p, "name"), "", "name must not be empty"));
        }
        if str_of(r, "uid").is_empty() {
            causes.push(invalid(&child(&p, "uid"), "", "uid must not be empty"));
        }
        if get_bool(r, "controller") == Some(true) {
            controllers.push(format!("{}/{}", str_of(r, "kind"), str_of(r, "name")));
        }
    }
    if controllers.len() > 1 {
        causes.push(invalid_value(
            path,
            meta.get("ownerReferences").unwrap_or(&Value::Null),
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {}",
                controllers.join(" and ")
            ),
        ));
    }
}

/// A `LabelSelector`: matchLabels as labels, matchExpressions with a known operator and
/// values exactly when the operator needs them.
fn validate_label_selector(sel: &Obj, path: &str, causes: &mut Vec<Cause>) {
    validate_labels(sel.get("matchLabels"), &child(path, "matchLabels"), causes);
    for (i, e) in objs(sel, "matchExpressions") {
        let p = idx(&child(path, "matchExpressions"), i);
        let values = get_arr(e, "values");
        match str_of(e, "operator") {
            "In" | "NotIn" => {
                if values.is_empty() {
                    causes.push(required(
                        &child(&p, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    causes.push(forbidden(
                        &child(&p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            op => causes.push(invalid(
                &child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        let k = str_of(e, "key");
        push_msgs(causes, &child(&p, "key"), k, qualified_name_msgs(k));
    }
}

/// Whether a `LabelSelector` selects `labels`; an empty selector selects everything.
fn selector_matches(sel: &Obj, labels: Option<&Obj>) -> bool {
    let label = |k: &str| labels.and_then(|l| get_str(l, k));
    let labels_ok = string_map(get_obj(sel, "matchLabels")).all(|(k, v)| label(k) == Some(v));
    labels_ok
        && objs(sel, "matchExpressions").all(|(_, e)| {
            let have = label(str_of(e, "key"));
            let in_values = |v: &str| get_arr(e, "values").iter().any(|x| x.as_str() == Some(v));
            match str_of(e, "operator") {
                "In" => have.is_some_and(in_values),
                "NotIn" => !have.is_some_and(in_values),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

fn selector_is_empty(sel: &Obj) -> bool {
    get_obj(sel, "matchLabels").is_none_or(Map::is_empty)
        && get_arr(sel, "matchExpressions").is_empty()
}

fn nonnegative(m: &Obj, k: &str, path: &str, causes: &mut Vec<Cause>) {
    if let Some(n) = get_i64(m, k) {
        if n < 0 {
            causes.push(invalid_value(
                &child(path, k),
                &json!(n),
                "must be greater than or equal to 0",
            ));
        }
    }
}

/// A value from a fixed set, required unless `optional`.
fn one_of(
    m: &Obj,
    k: &str,
    path: &str,
    supported: &[&str],
    optional: bool,
    causes: &mut Vec<Cause>,
) {
    let field = child(path, k);
    match m.get(k) {
        None | Some(Value::Null) if optional => {}
        v if is_empty_str(v) && !optional => causes.push(required(&field, "")),
        Some(v) if !v.as_str().is_some_and(|s| supported.contains(&s)) => {
            causes.push(not_supported(&field, v, supported));
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Quantities ("500m", "1Gi", "2e3").
// ---------------------------------------------------------------------------------------

const QUANTITY_ERR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// A parsed quantity in units of 10^-9, rounded up like Kubernetes rounds sub-nano values;
/// saturates instead of overflowing (nothing real is that big).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Quantity(i128);

impl Quantity {
    pub(crate) const ZERO: Quantity = Quantity(0);

    pub(crate) fn parse(s: &str) -> Option<Quantity> {
        let (neg, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        // value = digits * 10^exp10 * 2^exp2
        let (exp10, exp2): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            s if s.starts_with(['e', 'E']) => {
                let e = &s[1..];
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (e.parse::<i32>().ok()?, 0)
            }
            _ => return None,
        };
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(i128::from(b - b'0'));
        }
        // Scale to nano units: * 10^(9 + exp10 - frac digits), then * 2^exp2.
        let frac_len = i32::try_from(frac_part.len()).ok()?;
        let shift = 9 + exp10 - frac_len;
        let mut v = mantissa;
        if shift >= 0 {
            for _ in 0..shift.min(60) {
                v = v.saturating_mul(10);
            }
        } else {
            let div = (0..(-shift).min(38)).fold(1i128, |d, _| d.saturating_mul(10));
            v = v / div + i128::from(v % div != 0);
        }
        v = v.saturating_mul(1i128 << exp2);
        Some(Quantity(if neg { -v } else { v }))
    }

    fn is_negative(self) -> bool {
        self.0 < 0
    }

    fn is_integer(self) -> bool {
        self.0 % 1_000_000_000 == 0
    }

    fn add(self, other: Quantity) -> Quantity {
        Quantity(self.0.saturating_add(other.0))
    }
}

/// Parse a quantity field, pushing a cause when it is not one.
fn quantity_at(v: &Value, path: &str, causes: &mut Vec<Cause>) -> Option<Quantity> {
    let q = match v {
        Value::String(s) => Quantity::parse(s),
        Value::Number(n) => n.as_f64().and_then(|f| Quantity::parse(&f.to_string())),
        _ => None,
    };
    if q.is_none() {
        causes.push(invalid_value(path, v, QUANTITY_ERR));
    }
    q
}

/// The quantity at `v` if it parses, without reporting.
fn quantity_of(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => Quantity::parse(s),
        Value::Number(n) => n.as_f64().and_then(|f| Quantity::parse(&f.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn check(
        api_version: &str,
        kind: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Vec<Cause> {
        let mut causes = Vec::new();
        let obj = obj.as_object().expect("test object");
        validate_object(
            api_version,
            kind,
            obj,
            old.and_then(Value::as_object),
            &mut causes,
        );
        causes
    }

    pub(super) fn defaulted(api_version: &str, kind: &str, obj: Value) -> Value {
        let mut obj = obj;
        default_object(api_version, kind, obj.as_object_mut().expect("test object"));
        obj
    }

    /// Default, validate, and return the causes as (field, reason) pairs.
    pub(super) fn errors(api_version: &str, kind: &str, obj: Value) -> Vec<(String, &'static str)> {
        let obj = defaulted(api_version, kind, obj);
        update_errors(api_version, kind, &obj, None)
    }

    /// Validate `obj` (as an update of `old`, when given) and return the causes as
    /// (field, reason) pairs.
    pub(super) fn update_errors(
        api_version: &str,
        kind: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Vec<(String, &'static str)> {
        check(api_version, kind, obj, old)
            .into_iter()
            .map(|c| (c.field, c.reason))
            .collect()
    }

    pub(super) fn has(errs: &[(String, &'static str)], field: &str, reason: &str) -> bool {
        errs.iter().any(|(f, r)| f == field && *r == reason)
    }

    #[track_caller]
    pub(super) fn assert_has(errs: &[(String, &'static str)], field: &str, reason: &str) {
        assert!(
            has(errs, field, reason),
            "expected {field} {reason} in {errs:?}"
        );
    }

    fn dns1123_label(s: &str) -> Result<(), String> {
        dns1123_label_msgs(s).into_iter().next().map_or(Ok(()), Err)
    }

    fn dns1123_subdomain(s: &str) -> Result<(), String> {
        dns1123_subdomain_msgs(s)
            .into_iter()
            .next()
            .map_or(Ok(()), Err)
    }

    #[test]
    fn names() {
        assert!(dns1123_label("default").is_ok());
        assert!(dns1123_label("a-1").is_ok());
        assert!(dns1123_label("Bad").is_err());
        assert!(dns1123_label("a.b").is_err());
        assert!(dns1123_label("-a").is_err());
        assert_eq!(
            dns1123_label(&"a".repeat(64)),
            Err("must be no more than 63 characters".into())
        );
        assert!(dns1123_subdomain("a.b-c").is_ok());
        assert!(dns1123_subdomain("Bad_Name").is_err());
        assert!(dns1123_subdomain("a..b").is_err());
        assert!(dns1123_subdomain("").is_err());
        assert_eq!(
            dns1123_subdomain("Bad").unwrap_err(),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        assert!(validate_name("v1", "Service", "1abc").is_err());
        assert!(validate_name("v1", "Pod", "1abc").is_ok());
        assert!(validate_name("v1", "Namespace", "a.b").is_err());
        assert!(validate_name("v1", "ConfigMap", "a.b").is_ok());
        assert!(validate_name("apps/v1", "StatefulSet", "a.b").is_err());
        assert!(validate_name("apps/v1", "Deployment", "a.b").is_ok());
        assert_eq!(
            validate_name("batch/v1", "CronJob", &"a".repeat(53)),
            Err("must be no more than 52 characters".into())
        );
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert!(qualified_name_msgs("app").is_empty());
        assert!(qualified_name_msgs("app.kubernetes.io/name").is_empty());
        assert!(qualified_name_msgs("My_Name.1").is_empty());
        assert_eq!(qualified_name_msgs("/x"), ["prefix part must be non-empty"]);
        assert_eq!(qualified_name_msgs("a/b/c").len(), 1);
        assert!(qualified_name_msgs("Example.com/x")[0].starts_with("prefix part a lowercase"));
        assert!(qualified_name_msgs("x/")[0].starts_with("name part must be non-empty"));
        assert!(qualified_name_msgs(&"a".repeat(64))[0].contains("no more than 63"));
        assert!(label_value_msgs("").is_empty());
        assert!(label_value_msgs("v1.2_3").is_empty());
        assert_eq!(label_value_msgs("-x").len(), 1);
        assert!(config_key_msgs("a.b_C-1").is_empty());
        assert!(!config_key_msgs("..a").is_empty());
        assert!(!config_key_msgs("a/b").is_empty());
    }

    #[test]
    fn quantities() {
        let q = |s: &str| Quantity::parse(s).map(|q| q.0);
        assert_eq!(q("1"), Some(1_000_000_000));
        assert_eq!(q("500m"), Some(500_000_000));
        assert_eq!(q("0.5"), Some(500_000_000));
        assert_eq!(q("1Ki"), Some(1024 * 1_000_000_000));
        assert_eq!(q("1Gi"), Some((1i128 << 30) * 1_000_000_000));
        assert_eq!(q("1e3"), Some(1000 * 1_000_000_000));
        assert_eq!(q("1E"), Some(1_000_000_000_000_000_000 * 1_000_000_000));
        assert_eq!(q("-1"), Some(-1_000_000_000));
        assert_eq!(q("1n"), Some(1));
        assert_eq!(q("0.1n"), Some(1), "sub-nano rounds up");
        assert_eq!(Quantity::parse("1000m"), Quantity::parse("1"));
        for bad in ["", "abc", "1x", "1.2.3", "Gi", "1 Gi", "1e", "1ee3", "."] {
            assert_eq!(q(bad), None, "{bad}");
        }
        assert!(Quantity::parse("2").unwrap() > Quantity::parse("1500m").unwrap());
    }

    #[test]
    fn cause_messages_are_worded_like_kubernetes() {
        assert_eq!(required("spec.x", "").message, "Required value");
        assert_eq!(
            required("spec.x", "must be set").message,
            "Required value: must be set"
        );
        assert_eq!(
            not_supported(
                "spec.restartPolicy",
                &json!("Sometimes"),
                &["Always", "Never"]
            )
            .message,
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\""
        );
        assert_eq!(
            invalid_value(
                "spec.replicas",
                &json!(-1),
                "must be greater than or equal to 0"
            )
            .message,
            "Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            duplicate("a", &json!("x")).message,
            "Duplicate value: \"x\""
        );
        assert_eq!(
            too_long("data", 1048576).message,
            "Too long: may not be more than 1048576 bytes"
        );
        assert_eq!(
            too_many("x", 5, 4).message,
            "Too many: 5: must have at most 4 items"
        );
        assert_eq!(forbidden("x", "no").reason, "FieldValueForbidden");
    }

    #[test]
    fn metadata_rules() {
        let obj = json!({"metadata": {
            "name": "x",
            "labels": {"good": "v", "bad key!": "v", "k": "bad value!"},
            "annotations": {"a/b/c": "x"},
            "generateName": "Bad-",
            "finalizers": ["example.com/f", "bad/f/x", "example.com/f"],
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
                {"apiVersion": "", "kind": "", "name": "", "uid": ""}
            ]
        }});
        let causes = check("v1", "ConfigMap", &obj, None);
        let errs: Vec<(String, &str)> =
            causes.iter().map(|c| (c.field.clone(), c.reason)).collect();
        let count = |f: &str| errs.iter().filter(|(x, _)| x == f).count();
        assert_eq!(count("metadata.labels"), 2, "{errs:?}");
        assert_eq!(count("metadata.annotations"), 1);
        assert_eq!(count("metadata.generateName"), 1);
        assert_eq!(count("metadata.finalizers"), 1);
        assert_has(&errs, "metadata.finalizers[2]", "FieldValueDuplicate");
        assert_has(
            &errs,
            "metadata.ownerReferences[2].apiVersion",
            "FieldValueInvalid",
        );
        assert_has(
            &errs,
            "metadata.ownerReferences[2].uid",
            "FieldValueInvalid",
        );
        assert!(causes
            .iter()
            .any(|c| c.field == "metadata.ownerReferences"
                && c.message.contains("Only one reference")));
        let big = json!({"metadata": {"name": "x", "annotations": {"a": "x".repeat(300 * 1024)}}});
        let errs = update_errors("v1", "ConfigMap", &big, None);
        assert_has(&errs, "metadata.annotations", "FieldValueTooLong");
        let old = json!({"metadata": {"name": "x", "uid": "1"}});
        let new = json!({"metadata": {"name": "x", "uid": "2"}});
        let errs = update_errors("v1", "ConfigMap", &new, Some(&old));
        assert_has(&errs, "metadata.uid", "FieldValueInvalid");
    }

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "canary", "operator": "DoesNotExist"}
        ]});
        let sel = sel.as_object().unwrap();
        let l = |v: Value| v.as_object().cloned();
        assert!(selector_matches(
            sel,
            l(json!({"app": "web", "tier": "a"})).as_ref()
        ));
        assert!(!selector_matches(
            sel,
            l(json!({"app": "web", "tier": "c"})).as_ref()
        ));
        assert!(!selector_matches(
            sel,
            l(json!({"app": "web", "tier": "a", "canary": "1"})).as_ref()
        ));
        assert!(!selector_matches(sel, None));
        let bad = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Maybe"}
        ]});
        let mut causes = Vec::new();
        validate_label_selector(bad.as_object().unwrap(), "spec.selector", &mut causes);
        let errs: Vec<_> = causes.into_iter().map(|c| (c.field, c.reason)).collect();
        assert_has(
            &errs,
            "spec.selector.matchExpressions[0].values",
            "FieldValueRequired",
        );
        assert_has(
            &errs,
            "spec.selector.matchExpressions[1].values",
            "FieldValueForbidden",
        );
        assert_has(
            &errs,
            "spec.selector.matchExpressions[2].operator",
            "FieldValueInvalid",
        );
    }

    /// Default then validate, asserting no causes; returns the stored form.
    fn accepted(obj: Value) -> Value {
        let av = obj["apiVersion"].as_str().expect("apiVersion").to_string();
        let kind = obj["kind"].as_str().expect("kind").to_string();
        let obj = defaulted(&av, &kind, obj);
        let causes = check(&av, &kind, &obj, None);
        assert!(causes.is_empty(), "{kind}: {causes:?}");
        // Updating with the stored object itself is always allowed.
        assert!(
            check(&av, &kind, &obj, Some(&obj)).is_empty(),
            "{kind} update"
        );
        obj
    }

    /// The WordPress and MySQL tutorial of the Kubernetes documentation.
    #[test]
    fn wordpress_tutorial_passes() {
        accepted(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "mysql-pass-c57bb4t7mf", "namespace": "default"},
            "type": "Opaque", "data": {"password": "WU9VUl9QQVNTV09SRA=="}}));
        for (name, tier, port, extra) in [
            (
                "wordpress-mysql",
                "mysql",
                3306,
                json!({"clusterIP": "None"}),
            ),
            ("wordpress", "frontend", 80, json!({"type": "LoadBalancer"})),
        ] {
            let mut spec =
                json!({"ports": [{"port": port}], "selector": {"app": "wordpress", "tier": tier}});
            for (k, v) in extra.as_object().unwrap() {
                spec[k] = v.clone();
            }
            accepted(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": "wordpress"}}, "spec": spec}));
        }
        for claim in ["mysql-pv-claim", "wp-pv-claim"] {
            accepted(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": "default", "labels": {"app": "wordpress"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}));
        }
        let secret_env = |name: &str| json!({"name": name, "valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}}});
        accepted(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "wordpress-mysql", "namespace": "default", "labels": {"app": "wordpress"}},
            "spec": {"selector": {"matchLabels": {"app": "wordpress", "tier": "mysql"}},
                "strategy": {"type": "Recreate"},
                "template": {"metadata": {"labels": {"app": "wordpress", "tier": "mysql"}},
                    "spec": {"containers": [{"image": "mysql:8.0", "name": "mysql",
                        "env": [secret_env("MYSQL_ROOT_PASSWORD"), {"name": "MYSQL_DATABASE", "value": "wordpress"},
                            {"name": "MYSQL_USER", "value": "wordpress"}, secret_env("MYSQL_PASSWORD")],
                        "ports": [{"containerPort": 3306, "name": "mysql"}],
                        "volumeMounts": [{"name": "mysql-persistent-storage", "mountPath": "/var/lib/mysql"}]}],
                    "volumes": [{"name": "mysql-persistent-storage", "persistentVolumeClaim": {"claimName": "mysql-pv-claim"}}]}}}}));
        let wp = accepted(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "wordpress", "namespace": "default", "labels": {"app": "wordpress"}},
            "spec": {"selector": {"matchLabels": {"app": "wordpress", "tier": "frontend"}},
                "strategy": {"type": "Recreate"},
                "template": {"metadata": {"labels": {"app": "wordpress", "tier": "frontend"}},
                    "spec": {"containers": [{"image": "wordpress:6.2.1-apache", "name": "wordpress",
                        "env": [{"name": "WORDPRESS_DB_HOST", "value": "wordpress-mysql"}, secret_env("WORDPRESS_DB_PASSWORD"),
                            {"name": "WORDPRESS_DB_USER", "value": "wordpress"}],
                        "ports": [{"containerPort": 80, "name": "wordpress"}],
                        "volumeMounts": [{"name": "wordpress-persistent-storage", "mountPath": "/var/www/html"}]}],
                    "volumes": [{"name": "wordpress-persistent-storage", "persistentVolumeClaim": {"claimName": "wp-pv-claim"}}]}}}}));
        assert_eq!(wp["spec"]["replicas"], 1);
        assert_eq!(
            wp["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    /// An nginx Deployment behind a LoadBalancer Service, plus the other kinds a small
    /// cluster carries.
    #[test]
    fn realistic_objects_pass() {
        accepted(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "web", "labels": {"app.kubernetes.io/name": "nginx"},
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
                    "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "initialDelaySeconds": 5},
                    "readinessProbe": {"tcpSocket": {"port": 80}},
                    "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx/conf.d", "readOnly": true}]}],
                    "volumes": [{"name": "conf", "configMap": {"name": "nginx-conf", "items": [{"key": "default.conf", "path": "default.conf"}]}}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]}}}}));
        accepted(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx", "namespace": "web"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "nginx"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443}]}}),
        );
        accepted(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nginx-conf", "namespace": "web"},
            "data": {"default.conf": "server { listen 80; }"}}),
        );
        accepted(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}));
        accepted(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "web"}}),
        );
        accepted(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "web"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "sh", "image": "busybox", "command": ["sleep", "3600"],
                "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}],
                "resources": {"limits": {"memory": "32Mi", "cpu": "100m"}}}],
                "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}}),
        );
        accepted(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"name": "agent"}}, "template": {"metadata": {"labels": {"name": "agent"}},
                "spec": {"hostNetwork": true, "containers": [{"name": "agent", "image": "example.com/agent:v1",
                    "ports": [{"containerPort": 9100, "hostPort": 9100}],
                    "volumeMounts": [{"name": "proc", "mountPath": "/host/proc", "readOnly": true}]}],
                    "volumes": [{"name": "proc", "hostPath": {"path": "/proc", "type": "Directory"}}]}}}}),
        );
        accepted(
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup", "namespace": "web"},
            "spec": {"schedule": "30 2 * * 1-5", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure",
                    "containers": [{"name": "backup", "image": "example.com/backup:2"}]}}}}}}),
        );
        accepted(
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "web", "uid": "1234"},
            "spec": {"completions": 3, "parallelism": 3, "completionMode": "Indexed", "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "m", "image": "example.com/migrate:1"}]}}}}),
        );
        accepted(
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40, "renewTime": "2024-01-01T00:00:00.000000Z"}}),
        );
        accepted(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
            "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}),
        );
        accepted(
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-local"},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "local",
                "local": {"path": "/mnt/disks/ssd1"}, "persistentVolumeReclaimPolicy": "Delete"}}),
        );
        accepted(
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
            "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}),
        );
        accepted(
            json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "web-5d4f8", "namespace": "web"},
            "revision": 1, "data": {"spec": {}}}),
        );
    }

    #[test]
    fn wrong_json_types_never_panic() {
        let junk = [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, "a", null, {}]),
            json!({"a": [1]}),
            json!(true),
        ];
        for r in crate::resources::RESOURCES {
            let av = r.api_version();
            for j in &junk {
                let mut obj = json!({"metadata": {"name": "x", "uid": "u", "labels": j, "annotations": j},
                    "spec": j, "status": j, "data": j, "stringData": j, "subsets": j,
                    "endpoints": j, "ports": j, "addressType": j, "provisioner": j,
                    "involvedObject": j, "regarding": j, "type": j});
                default_object(&av, r.kind, obj.as_object_mut().unwrap());
                let _ = check(&av, r.kind, &obj, Some(&obj));
                let mut obj = json!({"metadata": j, "spec": {"template": j}, "status": j});
                default_object(&av, r.kind, obj.as_object_mut().unwrap());
                let _ = check(&av, r.kind, &obj, Some(&obj));
                // Nested junk under a well-formed spec.
                let mut obj = json!({"metadata": {"name": "x"}, "spec": {
                    "template": {"metadata": j, "spec": {"containers": j, "volumes": j, "initContainers": [j]}},
                    "jobTemplate": {"spec": j},
                    "containers": [{"name": j, "ports": j, "env": [j], "resources": {"limits": j, "requests": {"cpu": j}},
                        "livenessProbe": j, "volumeMounts": [j]}],
                    "volumes": [j, {"name": "v", "secret": j}],
                    "ports": [j, {"port": j, "targetPort": j}],
                    "selector": j, "strategy": j, "updateStrategy": j, "schedule": j,
                    "accessModes": j, "resources": j, "capacity": j, "volumeClaimTemplates": [j]
                }});
                default_object(&av, r.kind, obj.as_object_mut().unwrap());
                let _ = check(&av, r.kind, &obj, Some(&obj));
            }
        }
    }
}
