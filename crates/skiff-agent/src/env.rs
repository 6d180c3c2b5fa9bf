//! Container environment from the pod spec, as the kubelet builds it: `envFrom`
//! sources first, then `env` with `$(VAR)` expansion and `valueFrom`
//! (ConfigMap and Secret keys, pod fields, container resources).
//!
//! Pure logic: the agent fetches every object the pod refers to (see
//! [`references`]) into [`PodInputs`] and calls [`container_env`]. Errors name
//! the field (`spec.containers[0].env[2].valueFrom.configMapKeyRef.key`) or the
//! missing object, because the agent shows them as the container's waiting
//! message with reason `CreateContainerConfigError`.

pub use skiff_kube::quantity;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvFromSource, EnvVar, EphemeralContainer, PersistentVolume,
    PersistentVolumeClaim, Pod, ResourceFieldSelector, ResourceRequirements, Secret, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use quantity::Nanos;

/// Why a container's environment could not be built. The message names the
/// field path or the missing object.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{field}: {kind} {name:?} not found in namespace {namespace:?}; create it or mark the reference optional")]
    MissingObject {
        field: String,
        kind: &'static str,
        name: String,
        namespace: String,
    },
    #[error("{field}: key {key:?} not found in {kind} {name:?} in namespace {namespace:?}; add it or mark the reference optional")]
    MissingKey {
        field: String,
        kind: &'static str,
        name: String,
        key: String,
        namespace: String,
    },
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

/// A container of any kind, as env and mounts see it.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    pub name: &'a str,
    pub env: &'a [EnvVar],
    pub env_from: &'a [EnvFromSource],
    pub volume_mounts: &'a [VolumeMount],
    pub resources: Option<&'a ResourceRequirements>,
}

impl<'a> From<&'a Container> for ContainerView<'a> {
    fn from(c: &'a Container) -> Self {
        ContainerView {
            name: &c.name,
            env: c.env.as_deref().unwrap_or(&[]),
            env_from: c.env_from.as_deref().unwrap_or(&[]),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or(&[]),
            resources: c.resources.as_ref(),
        }
    }
}

impl<'a> From<&'a EphemeralContainer> for ContainerView<'a> {
    fn from(c: &'a EphemeralContainer) -> Self {
        ContainerView {
            name: &c.name,
            env: c.env.as_deref().unwrap_or(&[]),
            env_from: c.env_from.as_deref().unwrap_or(&[]),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or(&[]),
            resources: c.resources.as_ref(),
        }
    }
}

/// Everything the pod refers to, fetched by the agent before it starts
/// containers or refreshes volumes. Maps are keyed by object name (all in
/// the pod's namespace, except PersistentVolumes which have none).
///
/// Build it with `..Default::default()` so fields added later do not break
/// callers.
#[derive(Debug, Default, Clone)]
pub struct PodInputs {
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
    pub claims: BTreeMap<String, PersistentVolumeClaim>,
    pub persistent_volumes: BTreeMap<String, PersistentVolume>,
    pub node_name: String,
    pub host_ip: Option<String>,
    pub pod_ip: Option<String>,
    /// What `limits.cpu` falls back to when the container sets no CPU limit.
    pub node_allocatable_cpu_millis: i64,
    /// What `limits.memory` falls back to (bytes); also the size of memory
    /// `emptyDir` volumes that have no `sizeLimit`.
    pub node_allocatable_memory: i64,
    /// What `limits.ephemeral-storage` falls back to (bytes).
    pub node_allocatable_ephemeral_storage: i64,
}

/// Names of the objects a pod refers to, so the agent knows what to fetch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct References {
    pub config_maps: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub claims: BTreeSet<String>,
}

/// Every ConfigMap, Secret and PersistentVolumeClaim the pod refers to: from
/// volumes (configMap, secret, projected sources, persistentVolumeClaim, and
/// the claim a generic ephemeral volume gets), env `valueFrom` and `envFrom`
/// of init, app and ephemeral containers, and `imagePullSecrets`.
pub fn references(pod: &Pod) -> References {
    let mut refs = References::default();
    let Some(spec) = pod.spec.as_ref() else {
        return refs;
    };
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    for volume in spec.volumes.iter().flatten() {
        if let Some(cm) = &volume.config_map {
            refs.config_maps.insert(cm.name.clone());
        }
        if let Some(secret) = &volume.secret {
            if let Some(name) = &secret.secret_name {
                refs.secrets.insert(name.clone());
            }
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            refs.claims.insert(claim.claim_name.clone());
        }
        if volume.ephemeral.is_some() {
            refs.claims
                .insert(ephemeral_claim_name(pod_name, &volume.name));
        }
        if let Some(projected) = &volume.projected {
            for source in projected.sources.iter().flatten() {
                if let Some(cm) = &source.config_map {
                    refs.config_maps.insert(cm.name.clone());
                }
                if let Some(secret) = &source.secret {
                    refs.secrets.insert(secret.name.clone());
                }
            }
        }
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(ContainerView::from)
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(ContainerView::from),
        );
    for c in containers {
        for from in c.env_from {
            if let Some(cm) = &from.config_map_ref {
                refs.config_maps.insert(cm.name.clone());
            }
            if let Some(secret) = &from.secret_ref {
                refs.secrets.insert(secret.name.clone());
            }
        }
        for var in c.env {
            let Some(source) = &var.value_from else {
                continue;
            };
            if let Some(key) = &source.config_map_key_ref {
                refs.config_maps.insert(key.name.clone());
            }
            if let Some(key) = &source.secret_key_ref {
                refs.secrets.insert(key.name.clone());
            }
        }
    }
    for pull in spec.image_pull_secrets.iter().flatten() {
        if !pull.name.is_empty() {
            refs.secrets.insert(pull.name.clone());
        }
    }
    refs
}

/// The PersistentVolumeClaim Kubernetes creates for a generic ephemeral
/// volume: `<pod name>-<volume name>`.
pub fn ephemeral_claim_name(pod_name: &str, volume_name: &str) -> String {
    format!("{pod_name}-{volume_name}")
}

/// The environment of one container, in the order it is defined: each name
/// once, at the position of its first definition, with the value of its last.
/// (The kubelet builds a Go map, so its order is unspecified; keeping first
/// positions makes ours deterministic and keeps `envFrom` before `env`.)
///
/// Service link variables are not included.
pub fn container_env(
    pod: &Pod,
    container: &ContainerView,
    inputs: &PodInputs,
) -> Result<Vec<(String, String)>, EnvError> {
    let base = container_field_path(pod, container.name);
    let namespace = pod_namespace(pod);
    let mut env = OrderedEnv::default();

    for (i, from) in container.env_from.iter().enumerate() {
        let field = format!("{base}.envFrom[{i}]");
        let prefix = from.prefix.as_deref().unwrap_or("");
        if let Some(source) = &from.config_map_ref {
            let Some(cm) = inputs.config_maps.get(&source.name) else {
                if source.optional.unwrap_or(false) {
                    continue;
                }
                return Err(EnvError::MissingObject {
                    field: format!("{field}.configMapRef"),
                    kind: "configmap",
                    name: source.name.clone(),
                    namespace: namespace.to_string(),
                });
            };
            // binaryData is not offered to envFrom (the kubelet reads `data` only).
            for (key, value) in cm.data.iter().flatten() {
                let name = format!("{prefix}{key}");
                if is_env_var_name(&name) {
                    env.set(name, value.clone());
                }
            }
        }
        if let Some(source) = &from.secret_ref {
            let Some(secret) = inputs.secrets.get(&source.name) else {
                if source.optional.unwrap_or(false) {
                    continue;
                }
                return Err(EnvError::MissingObject {
                    field: format!("{field}.secretRef"),
                    kind: "secret",
                    name: source.name.clone(),
                    namespace: namespace.to_string(),
                });
            };
            for (key, value) in secret_data(secret) {
                let name = format!("{prefix}{key}");
                if !is_env_var_name(&name) {
                    continue;
                }
                let value = String::from_utf8(value).map_err(|_| EnvError::Field {
                    field: format!("{field}.secretRef"),
                    message: format!(
                        "secret {:?} key {key:?} is not valid UTF-8 and cannot be an environment variable",
                        source.name
                    ),
                })?;
                env.set(name, value);
            }
        }
    }

    for (i, var) in container.env.iter().enumerate() {
        let field = format!("{base}.env[{i}]");
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) if !value.is_empty() => {
                expand(value, |name| env.get(name).map(str::to_string))
            }
            (_, Some(source)) => {
                let field = format!("{field}.valueFrom");
                if let Some(key_ref) = &source.config_map_key_ref {
                    let optional = key_ref.optional.unwrap_or(false);
                    let field = format!("{field}.configMapKeyRef");
                    let Some(cm) = inputs.config_maps.get(&key_ref.name) else {
                        if optional {
                            continue;
                        }
                        return Err(EnvError::MissingObject {
                            field: format!("{field}.name"),
                            kind: "configmap",
                            name: key_ref.name.clone(),
                            namespace: namespace.to_string(),
                        });
                    };
                    match cm.data.as_ref().and_then(|d| d.get(&key_ref.key)) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(EnvError::MissingKey {
                                field: format!("{field}.key"),
                                kind: "configmap",
                                name: key_ref.name.clone(),
                                key: key_ref.key.clone(),
                                namespace: namespace.to_string(),
                            })
                        }
                    }
                } else if let Some(key_ref) = &source.secret_key_ref {
                    let optional = key_ref.optional.unwrap_or(false);
                    let field = format!("{field}.secretKeyRef");
                    let Some(secret) = inputs.secrets.get(&key_ref.name) else {
                        if optional {
                            continue;
                        }
                        return Err(EnvError::MissingObject {
                            field: format!("{field}.name"),
                            kind: "secret",
                            name: key_ref.name.clone(),
                            namespace: namespace.to_string(),
                        });
                    };
                    match secret_value(secret, &key_ref.key) {
                        Some(bytes) => String::from_utf8(bytes).map_err(|_| EnvError::Field {
                            field: format!("{field}.key"),
                            message: format!(
                                "secret {:?} key {:?} is not valid UTF-8 and cannot be an environment variable",
                                key_ref.name, key_ref.key
                            ),
                        })?,
                        None if optional => continue,
                        None => {
                            return Err(EnvError::MissingKey {
                                field: format!("{field}.key"),
                                kind: "secret",
                                name: key_ref.name.clone(),
                                key: key_ref.key.clone(),
                                namespace: namespace.to_string(),
                            })
                        }
                    }
                } else if let Some(field_ref) = &source.field_ref {
                    let field = format!("{field}.fieldRef");
                    check_api_version(field_ref.api_version.as_deref(), &field)?;
                    pod_field_value(pod, &field_ref.field_path, inputs, FieldUse::Env).map_err(
                        |message| EnvError::Field {
                            field: format!("{field}.fieldPath"),
                            message,
                        },
                    )?
                } else if let Some(resource_ref) = &source.resource_field_ref {
                    let field = format!("{field}.resourceFieldRef");
                    let resources = match resource_ref.container_name.as_deref() {
                        Some(other) if !other.is_empty() && other != container.name => {
                            find_container_resources(pod, other).ok_or_else(|| EnvError::Field {
                                field: format!("{field}.containerName"),
                                message: format!("no container named {other:?} in the pod"),
                            })?
                        }
                        _ => container.resources,
                    };
                    resource_field_value(resource_ref, resources, inputs)
                        .map_err(|message| EnvError::Field { field, message })?
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        env.set(var.name.clone(), value);
    }
    Ok(env.into_vec())
}

/// Insertion-ordered map: small enough that a Vec plus an index is simplest.
#[derive(Default)]
struct OrderedEnv {
    entries: Vec<(String, String)>,
    index: BTreeMap<String, usize>,
}

impl OrderedEnv {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.entries.len());
                self.entries.push((name, value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.entries[i].1.as_str())
    }

    fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

/// Kubernetes' environment variable name rule: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn is_env_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_') => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// `$(VAR)` expansion as Kubernetes does it for `env`, `command`, `args` and
/// `subPathExpr`: `$$` is a literal `$`, `$(NAME)` is replaced by
/// `lookup(NAME)` and left as written when that is `None`, and any other `$`
/// is kept as it is.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'$' => {
                out.push(b'$');
                i += 2;
            }
            b'(' => match bytes[i + 2..].iter().position(|&b| b == b')') {
                Some(len) => {
                    let name = &input[i + 2..i + 2 + len];
                    match lookup(name) {
                        Some(value) => out.extend_from_slice(value.as_bytes()),
                        None => out.extend_from_slice(&bytes[i..i + 3 + len]),
                    }
                    i += 3 + len;
                }
                None => {
                    out.extend_from_slice(b"$(");
                    i += 2;
                }
            },
            other => {
                out.push(b'$');
                out.push(other);
                i += 2;
            }
        }
    }
    // Only whole ASCII bytes were inserted or skipped, so this never replaces anything.
    String::from_utf8_lossy(&out).into_owned()
}

/// A Secret's data as bytes, with `stringData` applied on top (the API server
/// folds it into `data` on write; an object that still carries it is read the
/// same way).
pub fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    bytes_then_strings(secret.data.as_ref(), secret.string_data.as_ref())
}

/// A ConfigMap's `binaryData` and `data` as one map of bytes (the API
/// keeps their keys apart).
pub fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    bytes_then_strings(cm.binary_data.as_ref(), cm.data.as_ref())
}

/// A map of bytes with a map of strings laid over it.
fn bytes_then_strings(
    bytes: Option<&BTreeMap<String, k8s_openapi::ByteString>>,
    strings: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> = bytes
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in strings.into_iter().flatten() {
        data.insert(k.clone(), v.as_bytes().to_vec());
    }
    data
}

fn secret_value(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    if let Some(v) = secret.string_data.as_ref().and_then(|d| d.get(key)) {
        return Some(v.as_bytes().to_vec());
    }
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| v.0.clone())
}

/// The pod's namespace, `default` when the object does not say.
pub fn pod_namespace(pod: &Pod) -> &str {
    match pod.metadata.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns,
        _ => "default",
    }
}

/// `spec.containers[1]`, `spec.initContainers[0]` or
/// `spec.ephemeralContainers[0]` for a container name.
pub fn container_field_path(pod: &Pod, name: &str) -> String {
    if let Some(spec) = &pod.spec {
        if let Some(i) = spec
            .init_containers
            .iter()
            .flatten()
            .position(|c| c.name == name)
        {
            return format!("spec.initContainers[{i}]");
        }
        if let Some(i) = spec.containers.iter().position(|c| c.name == name) {
            return format!("spec.containers[{i}]");
        }
        if let Some(i) = spec
            .ephemeral_containers
            .iter()
            .flatten()
            .position(|c| c.name == name)
        {
            return format!("spec.ephemeralContainers[{i}]");
        }
    }
    format!("container {name:?}")
}

/// The resources of a named app or init container.
pub(crate) fn find_container_resources<'p>(
    pod: &'p Pod,
    name: &str,
) -> Option<Option<&'p ResourceRequirements>> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
        .map(|c| c.resources.as_ref())
}

fn check_api_version(version: Option<&str>, field: &str) -> Result<(), EnvError> {
    match version {
        None | Some("") | Some("v1") => Ok(()),
        Some(other) => Err(EnvError::Field {
            field: format!("{field}.apiVersion"),
            message: format!("unsupported API version {other:?}: only \"v1\""),
        }),
    }
}

/// Where a pod field is read: env vars accept spec and status fields too,
/// downward API volumes only metadata (the kubelet writes volumes once and
/// on metadata changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldUse {
    Env,
    Volume,
}

/// The value of a `fieldRef`. The error is a message without the field path.
pub(crate) fn pod_field_value(
    pod: &Pod,
    path: &str,
    inputs: &PodInputs,
    usage: FieldUse,
) -> Result<String, String> {
    let meta = &pod.metadata;
    if let Some((map, key)) = subscripted(path) {
        let values = match map {
            "metadata.labels" => &meta.labels,
            _ => &meta.annotations,
        };
        return Ok(values
            .as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default());
    }
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => pod_namespace(pod).to_string(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        _ if usage == FieldUse::Volume => {
            return Err(format!(
                "unsupported field path {path:?} in a downward API volume: use metadata.name, metadata.namespace, metadata.uid, metadata.labels or metadata.annotations (optionally ['key'])"
            ))
        }
        "spec.nodeName" => {
            if inputs.node_name.is_empty() {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default()
            } else {
                inputs.node_name.clone()
            }
        }
        "spec.serviceAccountName" => pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" => host_ips(pod, inputs).into_iter().next().unwrap_or_default(),
        "status.hostIPs" => host_ips(pod, inputs).join(","),
        "status.podIP" => pod_ips(pod, inputs).into_iter().next().unwrap_or_default(),
        "status.podIPs" => pod_ips(pod, inputs).join(","),
        _ => {
            return Err(format!(
                "unsupported field path {path:?}: use metadata.name, metadata.namespace, metadata.uid, metadata.labels['key'], metadata.annotations['key'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP or status.podIPs"
            ))
        }
    };
    Ok(value)
}

/// `metadata.labels['key']` → ("metadata.labels", "key").
fn subscripted(path: &str) -> Option<(&str, &str)> {
    for map in ["metadata.labels", "metadata.annotations"] {
        if let Some(key) = path
            .strip_prefix(map)
            .and_then(|rest| rest.strip_prefix("['"))
            .and_then(|rest| rest.strip_suffix("']"))
        {
            return Some((map, key));
        }
    }
    None
}

fn host_ips(pod: &Pod, inputs: &PodInputs) -> Vec<String> {
    let status = pod.status.as_ref();
    merged_ips(
        inputs.host_ip.as_ref(),
        status.and_then(|s| s.host_ip.clone()),
        status
            .and_then(|s| s.host_ips.as_ref())
            .into_iter()
            .flatten()
            .map(|h| h.ip.clone()),
    )
}

fn pod_ips(pod: &Pod, inputs: &PodInputs) -> Vec<String> {
    let status = pod.status.as_ref();
    merged_ips(
        inputs.pod_ip.as_ref(),
        status.and_then(|s| s.pod_ip.clone()),
        status
            .and_then(|s| s.pod_ips.as_ref())
            .into_iter()
            .flatten()
            .map(|p| p.ip.clone()),
    )
}

/// The agent's own address first, then those the status knows, once each.
fn merged_ips(
    own: Option<&String>,
    single: Option<String>,
    list: impl Iterator<Item = String>,
) -> Vec<String> {
    let mut ips: Vec<String> = own.cloned().into_iter().collect();
    for ip in single.into_iter().chain(list) {
        if !ip.is_empty() && !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    ips
}

/// Labels or annotations in the downward API's file format: `key="value"`
/// lines sorted by key, values quoted like Go's `%q`, no final newline.
pub(crate) fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    let lines: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    lines.join("\n")
}

/// Go's `strconv.Quote`: printable characters as they are, the usual
/// backslash escapes, other control characters as `\xNN`, `\uNNNN` or
/// `\UNNNNNNNN`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c == '\u{feff}' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The value of a `resourceFieldRef` for a container with `resources`: CPU in
/// units of the divisor's millicores, memory and storage in units of its
/// bytes, both rounded up. A limit the container does not set is the node's
/// allocatable amount; a request it does not set is its limit when it has
/// one (the API server's defaulting), else 0.
pub(crate) fn resource_field_value(
    selector: &ResourceFieldSelector,
    resources: Option<&ResourceRequirements>,
    inputs: &PodInputs,
) -> Result<String, String> {
    let divisor = match &selector.divisor {
        Some(q) if !q.0.is_empty() => quantity::parse(&q.0).map_err(|e| format!("divisor: {e}"))?,
        _ => Nanos::from_units(1),
    };
    let divisor = if divisor.0 == 0 {
        Nanos::from_units(1)
    } else {
        divisor
    };
    let (kind, name) = selector
        .resource
        .split_once('.')
        .ok_or_else(|| unsupported_resource(&selector.resource))?;
    let get = |map: Option<&BTreeMap<String, Quantity>>| -> Result<Option<Nanos>, String> {
        match map.and_then(|m| m.get(name)) {
            Some(q) => quantity::parse(&q.0)
                .map(Some)
                .map_err(|e| format!("resources.{kind}[{name:?}]: {e}")),
            None => Ok(None),
        }
    };
    let limits = resources.and_then(|r| r.limits.as_ref());
    let requests = resources.and_then(|r| r.requests.as_ref());
    let allocatable = match name {
        "cpu" => Some(Nanos::from_millis(inputs.node_allocatable_cpu_millis)),
        "memory" => Some(Nanos::from_units(inputs.node_allocatable_memory)),
        "ephemeral-storage" => Some(Nanos::from_units(inputs.node_allocatable_ephemeral_storage)),
        n if n.starts_with("hugepages-") => None,
        _ => return Err(unsupported_resource(&selector.resource)),
    };
    let amount = match kind {
        "limits" => get(limits)?.or(allocatable).unwrap_or(Nanos(0)),
        "requests" => match get(requests)? {
            Some(q) => q,
            None => get(limits)?.unwrap_or(Nanos(0)),
        },
        _ => return Err(unsupported_resource(&selector.resource)),
    };
    let value = if name == "cpu" {
        let per = divisor.milli_value();
        if per <= 0 {
            return Err("divisor must be positive".to_string());
        }
        quantity::ceil_div(amount.milli_value(), per)
    } else {
        let per = divisor.value();
        if per <= 0 {
            return Err("divisor must be positive".to_string());
        }
        quantity::ceil_div(amount.value(), per)
    };
    Ok(value.to_string())
}

fn unsupported_resource(resource: &str) -> String {
    format!(
        "unsupported resource {resource:?}: use limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory, requests.ephemeral-storage or limits/requests.hugepages-<size>"
    )
}

#[cfg(test)]
mod tests;
