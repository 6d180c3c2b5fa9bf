//! The resources this server serves: their group, version, names and scope, and the key
//! layout of their objects in the store. Adding a built-in kind means adding a row here;
//! defaulting and validation live in `validation`, printing columns in `table`, and the
//! schema comes from the OpenAPI definitions.

/// One REST resource.
pub(crate) struct Resource {
    /// API group; "" is the legacy core group served under `/api`.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources served under `<object>/<name>`; `status` and `scale` are stored in the
    /// object itself.
    pub subresources: &'static [&'static str],
}

pub(crate) const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

macro_rules! resource {
    ($group:literal, $version:literal, $plural:literal, $singular:literal, $kind:literal,
     namespaced: $ns:literal, short: [$($short:literal),*], categories: [$($cat:literal),*],
     sub: [$($sub:literal),*]) => {
        Resource {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            subresources: &[$($sub),*],
        }
    };
}

pub(crate) static NAMESPACES: Resource = resource!("", "v1", "namespaces", "namespace", "Namespace",
    namespaced: false, short: ["ns"], categories: [], sub: ["status", "finalize"]);

/// Every served resource, in discovery order.
pub(crate) static RESOURCES: &[Resource] = &[
    resource!("", "v1", "namespaces", "namespace", "Namespace",
        namespaced: false, short: ["ns"], categories: [], sub: ["status", "finalize"]),
    resource!("", "v1", "pods", "pod", "Pod",
        namespaced: true, short: ["po"], categories: ["all"],
        sub: ["status", "binding", "ephemeralcontainers", "eviction", "log", "exec", "attach", "portforward"]),
    resource!("", "v1", "services", "service", "Service",
        namespaced: true, short: ["svc"], categories: ["all"], sub: ["status"]),
    resource!("", "v1", "endpoints", "endpoints", "Endpoints",
        namespaced: true, short: ["ep"], categories: [], sub: []),
    resource!("", "v1", "configmaps", "configmap", "ConfigMap",
        namespaced: true, short: ["cm"], categories: [], sub: []),
    resource!("", "v1", "secrets", "secret", "Secret",
        namespaced: true, short: [], categories: [], sub: []),
    resource!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount",
        namespaced: true, short: ["sa"], categories: [], sub: []),
    resource!("", "v1", "nodes", "node", "Node",
        namespaced: false, short: ["no"], categories: [], sub: ["status"]),
    resource!("", "v1", "events", "event", "Event",
        namespaced: true, short: ["ev"], categories: [], sub: []),
    resource!("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume",
        namespaced: false, short: ["pv"], categories: [], sub: ["status"]),
    resource!("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
        namespaced: true, short: ["pvc"], categories: [], sub: ["status"]),
    resource!("apps", "v1", "deployments", "deployment", "Deployment",
        namespaced: true, short: ["deploy"], categories: ["all"], sub: ["status", "scale"]),
    resource!("apps", "v1", "replicasets", "replicaset", "ReplicaSet",
        namespaced: true, short: ["rs"], categories: ["all"], sub: ["status", "scale"]),
    resource!("apps", "v1", "statefulsets", "statefulset", "StatefulSet",
        namespaced: true, short: ["sts"], categories: ["all"], sub: ["status", "scale"]),
    resource!("apps", "v1", "daemonsets", "daemonset", "DaemonSet",
        namespaced: true, short: ["ds"], categories: ["all"], sub: ["status"]),
    resource!("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision",
        namespaced: true, short: [], categories: [], sub: []),
    resource!("batch", "v1", "jobs", "job", "Job",
        namespaced: true, short: [], categories: ["all"], sub: ["status"]),
    resource!("batch", "v1", "cronjobs", "cronjob", "CronJob",
        namespaced: true, short: ["cj"], categories: ["all"], sub: ["status"]),
    resource!("coordination.k8s.io", "v1", "leases", "lease", "Lease",
        namespaced: true, short: [], categories: [], sub: []),
    resource!("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice",
        namespaced: true, short: [], categories: [], sub: []),
    resource!("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass",
        namespaced: false, short: ["sc"], categories: [], sub: []),
    resource!("events.k8s.io", "v1", "events", "event", "Event",
        namespaced: true, short: ["ev"], categories: [], sub: []),
];

/// The groups served under `/apis`, in discovery order (the core group is served under
/// `/api`). Each group has one version today.
pub(crate) const GROUPS: &[&str] = &[
    "apps",
    "batch",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "storage.k8s.io",
    "events.k8s.io",
];

pub(crate) fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource that stores objects of this `apiVersion` and `kind`.
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

impl Resource {
    /// `v1` for the core group, `<group>/<version>` otherwise: the objects' `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The store prefix segment: `<plural>` for the core group, `<group>/<plural>` otherwise,
    /// so `events` of the core and events.k8s.io groups are the same objects only by choice.
    fn key_segment(&self) -> String {
        if self.group.is_empty() || self.group == "events.k8s.io" {
            // Both Event APIs serve the same stored objects, as in Kubernetes.
            self.plural.to_string()
        } else {
            format!("{}/{}", self.group, self.plural)
        }
    }

    /// `/registry/<segment>/<ns>/<name>` or `/registry/<segment>/<name>`. Names cannot
    /// contain `/`, so a collection's prefix never matches a longer namespace or name.
    pub fn key(&self, ns: Option<&str>, name: &str) -> Vec<u8> {
        match ns {
            Some(ns) => format!("/registry/{}/{ns}/{name}", self.key_segment()),
            None => format!("/registry/{}/{name}", self.key_segment()),
        }
        .into_bytes()
    }

    /// Prefix of a collection: every object, or every object of one namespace.
    pub fn prefix(&self, ns: Option<&str>) -> Vec<u8> {
        match ns {
            Some(ns) => format!("/registry/{}/{ns}/", self.key_segment()),
            None => format!("/registry/{}/", self.key_segment()),
        }
        .into_bytes()
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.contains(&sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_is_listed_and_keys_do_not_collide() {
        for r in RESOURCES {
            assert!(
                r.group.is_empty() || GROUPS.contains(&r.group),
                "{}",
                r.plural
            );
        }
        let mut prefixes: Vec<_> = RESOURCES
            .iter()
            .filter(|r| r.group != "events.k8s.io")
            .map(|r| r.prefix(None))
            .collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), RESOURCES.len() - 1);
        assert_eq!(
            by_kind("apps/v1", "Deployment").unwrap().plural,
            "deployments"
        );
        assert_eq!(lookup("", "v1", "pods").unwrap().kind, "Pod");
    }
}
