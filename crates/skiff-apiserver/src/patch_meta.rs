//! Patch metadata of the built-in types: which lists merge by key (`patchStrategy: merge`,
//! `patchMergeKey`), which replace, and how server-side apply sees each list (`map` lists
//! keyed by some fields, `set` lists of primitives, `atomic` lists replaced whole) and each
//! struct or map (granular or atomic). Strategic merge patch, server-side apply and the
//! OpenAPI extensions (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`) all read
//! these tables, so the three can never disagree.
//!
//! The tables hold the Kubernetes API's published tags for the kinds in `resources`; fields
//! that newer Kubernetes releases added are listed too, since a row for a field the schema
//! lacks is never consulted.

use serde_json::{json, Value};

/// How a field of a definition merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PatchMeta {
    /// `merge`, `retainKeys`, or `merge,retainKeys`.
    pub strategy: &'static str,
    /// The key that identifies list items, for lists of objects that merge.
    pub merge_key: Option<&'static str>,
}

impl PatchMeta {
    pub fn merges(&self) -> bool {
        self.strategy.split(',').any(|s| s == "merge")
    }
}

/// How server-side apply merges a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced as a whole; one owner for the whole list.
    Atomic,
    /// Primitive items, each owned on its own (`v:<value>`).
    Set,
    /// Object items identified by these key fields (`k:{...}`).
    Map(&'static [&'static str]),
}

const CORE: &str = "io.k8s.api.core.v1.";
const APPS: &str = "io.k8s.api.apps.v1.";
const BATCH: &str = "io.k8s.api.batch.v1.";
const STORAGE: &str = "io.k8s.api.storage.v1.";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/// One field with patch metadata: (package prefix, type, field, strategy, merge key).
type PatchRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const M: &str = "merge";
const MR: &str = "merge,retainKeys";

#[rustfmt::skip]
static PATCH_TABLE: &[PatchRow] = &[
    (META, "ObjectMeta", "finalizers", M, None),
    (META, "ObjectMeta", "ownerReferences", M, Some("uid")),
    (CORE, "PodSpec", "volumes", MR, Some("name")),
    (CORE, "PodSpec", "initContainers", M, Some("name")),
    (CORE, "PodSpec", "containers", M, Some("name")),
    (CORE, "PodSpec", "ephemeralContainers", M, Some("name")),
    (CORE, "PodSpec", "imagePullSecrets", M, Some("name")),
    (CORE, "PodSpec", "hostAliases", M, Some("ip")),
    (CORE, "PodSpec", "topologySpreadConstraints", M, Some("topologyKey")),
    (CORE, "PodSpec", "schedulingGates", M, Some("name")),
    (CORE, "PodSpec", "resourceClaims", MR, Some("name")),
    (CORE, "Container", "ports", M, Some("containerPort")),
    (CORE, "Container", "env", M, Some("name")),
    (CORE, "Container", "volumeMounts", M, Some("mountPath")),
    (CORE, "Container", "volumeDevices", M, Some("devicePath")),
    (CORE, "EphemeralContainer", "ports", M, Some("containerPort")),
    (CORE, "EphemeralContainer", "env", M, Some("name")),
    (CORE, "EphemeralContainer", "volumeMounts", M, Some("mountPath")),
    (CORE, "EphemeralContainer", "volumeDevices", M, Some("devicePath")),
    (CORE, "ContainerStatus", "volumeMounts", M, Some("mountPath")),
    (CORE, "ContainerStatus", "allocatedResourcesStatus", M, Some("name")),
    (CORE, "PodStatus", "conditions", M, Some("type")),
    (CORE, "PodStatus", "hostIPs", M, Some("ip")),
    (CORE, "PodStatus", "podIPs", M, Some("ip")),
    (CORE, "PodStatus", "resourceClaimStatuses", MR, Some("name")),
    (CORE, "ServiceSpec", "ports", M, Some("port")),
    (CORE, "ServiceStatus", "conditions", M, Some("type")),
    (CORE, "ServiceAccount", "secrets", M, Some("name")),
    (CORE, "NodeSpec", "podCIDRs", M, None),
    (CORE, "NodeStatus", "conditions", M, Some("type")),
    (CORE, "NodeStatus", "addresses", M, Some("type")),
    (CORE, "NamespaceStatus", "conditions", M, Some("type")),
    (CORE, "PersistentVolumeClaimStatus", "conditions", M, Some("type")),
    (CORE, "ReplicationControllerStatus", "conditions", M, Some("type")),
    (APPS, "DeploymentSpec", "strategy", "retainKeys", None),
    (APPS, "DeploymentStatus", "conditions", M, Some("type")),
    (APPS, "ReplicaSetStatus", "conditions", M, Some("type")),
    (APPS, "StatefulSetStatus", "conditions", M, Some("type")),
    (APPS, "DaemonSetStatus", "conditions", M, Some("type")),
    (BATCH, "JobStatus", "conditions", M, Some("type")),
    (STORAGE, "CSINodeSpec", "drivers", M, Some("name")),
];

/// Lists whose server-side-apply type is not the one their patch metadata implies: map lists
/// with more than one key, atomic lists that still patch by key, and set or map lists
/// without patch metadata.
#[rustfmt::skip]
static LIST_TABLE: &[(&str, &str, &str, ListType)] = &[
    (CORE, "Container", "ports", ListType::Map(&["containerPort", "protocol"])),
    (CORE, "EphemeralContainer", "ports", ListType::Map(&["containerPort", "protocol"])),
    (CORE, "ServiceSpec", "ports", ListType::Map(&["port", "protocol"])),
    (CORE, "PodSpec", "topologySpreadConstraints", ListType::Map(&["topologyKey", "whenUnsatisfiable"])),
    (CORE, "PodStatus", "hostIPs", ListType::Atomic),
    (BATCH, "JobStatus", "conditions", ListType::Atomic),
    (CORE, "ResourceRequirements", "claims", ListType::Map(&["name"])),
    (CORE, "ResourceStatus", "resources", ListType::Map(&["resourceID"])),
    (CORE, "VolumeMount", "bindMountOptions", ListType::Set),
    (CORE, "PodStatus", "volumeHealth", ListType::Map(&["name"])),
    (BATCH, "PodFailurePolicyOnExitCodesRequirement", "values", ListType::Set),
    (BATCH, "UncountedTerminatedPods", "succeeded", ListType::Set),
    (BATCH, "UncountedTerminatedPods", "failed", ListType::Set),
    ("io.k8s.api.discovery.v1.", "Endpoint", "addresses", ListType::Set),
    (STORAGE, "CSIDriverSpec", "volumeLifecycleModes", ListType::Set),
    (META, "ObjectMeta", "managedFields", ListType::Atomic),
];

/// Key fields of map lists that have a schema default, so items that leave them out still
/// get an identity (`k:{"containerPort":80,"protocol":"TCP"}`).
static KEY_DEFAULTS: &[(&str, &str)] = &[("protocol", "TCP")];

/// Structs owned as a whole by server-side apply (`+structType=atomic`).
#[rustfmt::skip]
static ATOMIC_STRUCTS: &[(&str, &str)] = &[
    (META, "LabelSelector"),
    (CORE, "SecretReference"), (CORE, "FileKeySelector"), (CORE, "ObjectFieldSelector"),
    (CORE, "ResourceFieldSelector"), (CORE, "ConfigMapKeySelector"), (CORE, "SecretKeySelector"),
    (CORE, "NodeSelector"), (CORE, "NodeSelectorTerm"), (CORE, "TopologySelectorTerm"),
    (CORE, "EndpointAddress"), (CORE, "EndpointPort"), (CORE, "ObjectReference"),
    (CORE, "LocalObjectReference"), (CORE, "TypedLocalObjectReference"), (CORE, "ScopeSelector"),
    ("io.k8s.api.discovery.v1.", "EndpointPort"),
    ("io.k8s.api.autoscaling.v1.", "CrossVersionObjectReference"),
];

/// String maps owned as a whole (`+mapType=atomic`).
static ATOMIC_MAPS: &[(&str, &str, &str)] = &[
    (CORE, "ServiceSpec", "selector"),
    (CORE, "ReplicationControllerSpec", "selector"),
];

fn split_def(definition: &str) -> (&str, &str) {
    match definition.rfind('.') {
        Some(i) => definition.split_at(i + 1),
        None => ("", definition),
    }
}

fn row(definition: &str, property: &str) -> Option<&'static PatchRow> {
    let (pkg, ty) = split_def(definition);
    PATCH_TABLE
        .iter()
        .find(|r| r.0 == pkg && r.1 == ty && r.2 == property)
}

/// Patch metadata of `property` of the definition `definition`
/// (e.g. `io.k8s.api.core.v1.PodSpec`, `containers`).
pub(crate) fn lookup(definition: &str, property: &str) -> Option<PatchMeta> {
    row(definition, property).map(|r| PatchMeta {
        strategy: r.3,
        merge_key: r.4,
    })
}

/// How server-side apply merges the list `property` of `definition`: the explicit list type
/// if the API declares one, else what the patch metadata implies (a merge key makes a map
/// list, `merge` without one a set), else `None`, which means atomic.
pub(crate) fn list_type(definition: &str, property: &str) -> Option<ListType> {
    let (pkg, ty) = split_def(definition);
    if let Some(r) = LIST_TABLE
        .iter()
        .find(|r| r.0 == pkg && r.1 == ty && r.2 == property)
    {
        return Some(r.3);
    }
    let r = row(definition, property)?;
    if !r.3.split(',').any(|s| s == "merge") {
        return None;
    }
    Some(match &r.4 {
        Some(key) => ListType::Map(std::slice::from_ref(key)),
        None => ListType::Set,
    })
}

/// The default of a map-list key field the item leaves out, if the schema has one.
pub(crate) fn key_default(key: &str) -> Option<&'static str> {
    KEY_DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
}

/// Whether server-side apply owns values of this definition as a whole.
pub(crate) fn is_atomic_struct(definition: &str) -> bool {
    let (pkg, ty) = split_def(definition);
    ATOMIC_STRUCTS.iter().any(|(p, t)| *p == pkg && *t == ty)
}

/// Whether the map `property` of `definition` is owned as a whole.
pub(crate) fn is_atomic_map(definition: &str, property: &str) -> bool {
    let (pkg, ty) = split_def(definition);
    ATOMIC_MAPS
        .iter()
        .any(|(p, t, f)| *p == pkg && *t == ty && *f == property)
}

/// The `x-kubernetes-*` extensions of one property, for the OpenAPI documents.
pub(crate) fn property_extensions(definition: &str, property: &str) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if let Some(meta) = lookup(definition, property) {
        if let Some(key) = meta.merge_key {
            out.push(("x-kubernetes-patch-merge-key", json!(key)));
        }
        out.push(("x-kubernetes-patch-strategy", json!(meta.strategy)));
    }
    match list_type(definition, property) {
        Some(ListType::Atomic) => out.push(("x-kubernetes-list-type", json!("atomic"))),
        Some(ListType::Set) => out.push(("x-kubernetes-list-type", json!("set"))),
        Some(ListType::Map(keys)) => {
            out.push(("x-kubernetes-list-map-keys", json!(keys)));
            out.push(("x-kubernetes-list-type", json!("map")));
        }
        None => {}
    }
    if is_atomic_map(definition, property) {
        out.push(("x-kubernetes-map-type", json!("atomic")));
    }
    out
}

/// The `x-kubernetes-*` extensions of a definition itself (atomic structs).
pub(crate) fn definition_extensions(definition: &str) -> Vec<(&'static str, Value)> {
    if is_atomic_struct(definition) {
        vec![("x-kubernetes-map-type", json!("atomic"))]
    } else {
        Vec::new()
    }
}

/// A place in the schema tree: the schema of a value and, when it is a named definition,
/// that name (patch metadata is keyed by the definition that holds a property). Unknown
/// places (fields the schema lacks) have neither, and merge like untyped JSON.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SchemaNode {
    pub definition: Option<&'static str>,
    schema: Option<&'static Value>,
}

/// What a property is, seen from its parent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub node: SchemaNode,
    /// Patch metadata of the property (none for map entries and unknown fields).
    pub meta: Option<PatchMeta>,
    /// Server-side apply list type (lists only; `None` is atomic).
    pub list_type: Option<ListType>,
    /// The property is a map owned as a whole.
    pub atomic_map: bool,
}

impl SchemaNode {
    pub const UNKNOWN: SchemaNode = SchemaNode {
        definition: None,
        schema: None,
    };

    /// The node of a named definition (`io.k8s.api.apps.v1.Deployment`); unknown if the
    /// server has no such schema.
    pub fn root(definition: &str) -> SchemaNode {
        match crate::openapi::definitions().get_key_value(definition) {
            Some((name, schema)) => SchemaNode {
                definition: Some(name.as_str()),
                schema: Some(schema),
            },
            None => SchemaNode::UNKNOWN,
        }
    }

    /// Follow `$ref` (also inside a one-element `allOf`) to the named definition.
    fn resolve(schema: &'static Value) -> SchemaNode {
        let target = schema
            .get("$ref")
            .or_else(|| {
                schema
                    .get("allOf")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find_map(|s| s.get("$ref")))
            })
            .and_then(Value::as_str);
        if let Some(r) = target {
            let name = r.rsplit('/').next().unwrap_or(r);
            return SchemaNode::root(name);
        }
        SchemaNode {
            definition: None,
            schema: Some(schema),
        }
    }

    /// The schema of property `name` of this object (or of the value of a map entry).
    pub fn field(&self, name: &str) -> Field {
        let unknown = Field {
            node: SchemaNode::UNKNOWN,
            meta: None,
            list_type: None,
            atomic_map: false,
        };
        let Some(schema) = self.schema else {
            return unknown;
        };
        if let Some(prop) = schema.get("properties").and_then(|p| p.get(name)) {
            let def = self.definition.unwrap_or("");
            return Field {
                node: SchemaNode::resolve(prop),
                meta: lookup(def, name),
                list_type: list_type(def, name),
                atomic_map: is_atomic_map(def, name),
            };
        }
        match schema.get("additionalProperties") {
            Some(v) if v.is_object() => Field {
                node: SchemaNode::resolve(v),
                ..unknown
            },
            _ => unknown,
        }
    }

    /// The schema of the items of this array.
    pub fn items(&self) -> SchemaNode {
        match self.schema.and_then(|s| s.get("items")) {
            Some(items) => SchemaNode::resolve(items),
            None => SchemaNode::UNKNOWN,
        }
    }

    /// Whether this is a struct server-side apply owns whole.
    pub fn is_atomic_struct(&self) -> bool {
        self.definition.is_some_and(is_atomic_struct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_the_published_tags() {
        let pod_spec = "io.k8s.api.core.v1.PodSpec";
        let c = "io.k8s.api.core.v1.Container";
        let m = |s, k| {
            Some(PatchMeta {
                strategy: s,
                merge_key: k,
            })
        };
        assert_eq!(lookup(pod_spec, "containers"), m("merge", Some("name")));
        assert_eq!(
            lookup(pod_spec, "volumes"),
            m("merge,retainKeys", Some("name"))
        );
        assert_eq!(lookup(pod_spec, "tolerations"), None);
        assert_eq!(lookup(c, "ports"), m("merge", Some("containerPort")));
        assert_eq!(lookup(c, "env"), m("merge", Some("name")));
        assert_eq!(lookup(c, "volumeMounts"), m("merge", Some("mountPath")));
        assert_eq!(lookup(c, "args"), None);
        assert_eq!(
            lookup("io.k8s.api.core.v1.ServiceSpec", "ports"),
            m("merge", Some("port"))
        );
        assert_eq!(
            lookup(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "finalizers"
            ),
            m("merge", None)
        );
        assert_eq!(
            lookup("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
            m("retainKeys", None)
        );
        assert_eq!(
            lookup("io.k8s.api.apps.v1.DeploymentStatus", "conditions"),
            m("merge", Some("type"))
        );
    }

    #[test]
    fn list_types_follow_explicit_tags_then_patch_metadata() {
        let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        assert_eq!(list_type(meta, "finalizers"), Some(ListType::Set));
        assert_eq!(
            list_type(meta, "ownerReferences"),
            Some(ListType::Map(&["uid"]))
        );
        assert_eq!(list_type(meta, "managedFields"), Some(ListType::Atomic));
        assert_eq!(
            list_type("io.k8s.api.core.v1.Container", "ports"),
            Some(ListType::Map(&["containerPort", "protocol"]))
        );
        assert_eq!(
            list_type("io.k8s.api.batch.v1.JobStatus", "conditions"),
            Some(ListType::Atomic)
        );
        assert_eq!(list_type("io.k8s.api.core.v1.Container", "args"), None);
        assert!(is_atomic_struct(
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
        ));
        assert!(is_atomic_map("io.k8s.api.core.v1.ServiceSpec", "selector"));
        assert_eq!(
            definition_extensions("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
            vec![("x-kubernetes-map-type", json!("atomic"))]
        );
        assert!(definition_extensions("io.k8s.api.core.v1.PodSpec").is_empty());
    }

    #[test]
    fn every_row_names_a_real_property_or_a_newer_field() {
        // A typo in a table row would silently turn a merge list into a replace list, so
        // every row whose type this server has must name one of its properties.
        let defs = crate::openapi::definitions();
        let rows = PATCH_TABLE
            .iter()
            .map(|r| (r.0, r.1, r.2))
            .chain(LIST_TABLE.iter().map(|r| (r.0, r.1, r.2)))
            .chain(ATOMIC_MAPS.iter().copied());
        let mut checked = 0;
        for (pkg, ty, prop) in rows {
            let Some(def) = defs.get(&format!("{pkg}{ty}")) else {
                continue;
            };
            let newer = matches!(
                (ty, prop),
                ("PodStatus", "volumeHealth")
                    | ("ResourceStatus", "resources")
                    | ("VolumeMount", "bindMountOptions")
            );
            assert!(
                newer || def["properties"].get(prop).is_some(),
                "{pkg}{ty}.{prop} is not a property"
            );
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
    }

    #[test]
    fn schema_walk_reaches_nested_definitions() {
        let dep = SchemaNode::root("io.k8s.api.apps.v1.Deployment");
        let spec = dep.field("spec").node;
        assert_eq!(spec.definition, Some("io.k8s.api.apps.v1.DeploymentSpec"));
        let pod = spec.field("template").node.field("spec").node;
        let containers = pod.field("containers");
        assert_eq!(containers.meta.and_then(|m| m.merge_key), Some("name"));
        assert_eq!(
            containers.node.items().definition,
            Some("io.k8s.api.core.v1.Container")
        );
        let labels = dep.field("metadata").node.field("labels");
        assert!(labels.node.definition.is_none());
        assert!(dep.field("nope").node.definition.is_none());
        let ext = property_extensions("io.k8s.api.core.v1.Container", "ports");
        assert!(ext.contains(&("x-kubernetes-list-type", json!("map"))));
        assert!(ext.contains(&("x-kubernetes-patch-merge-key", json!("containerPort"))));
    }
}
