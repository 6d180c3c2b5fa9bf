//! API discovery: the legacy documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>`,
//! `/apis/<group>/<version>`) and the aggregated v2 documents that kubectl 1.26+ asks for
//! first (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`).
//! Everything is derived from the resource table, so a new row is discoverable at once.

use serde_json::{json, Value};

use crate::resources::{Resource, GROUPS, RESOURCES, VERBS};

/// The media type of aggregated discovery, when the client accepts it (v2, or v2beta1 for
/// kubectl 1.26-1.29).
pub(crate) fn aggregated_media_type(accept: &str) -> Option<&'static str> {
    const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    const V2BETA1: &str =
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    let compact: String = accept.chars().filter(|c| !c.is_whitespace()).collect();
    for offer in compact.split(',') {
        if offer.contains("as=APIGroupDiscoveryList") && offer.contains("g=apidiscovery.k8s.io") {
            if offer.contains("v=v2beta1") {
                return Some(V2BETA1);
            }
            if offer.contains("v=v2") {
                return Some(V2);
            }
        }
    }
    None
}

pub(crate) fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    })
}

fn group_doc(group: &str) -> Value {
    let version = RESOURCES
        .iter()
        .find(|r| r.group == group)
        .map(|r| r.version)
        .unwrap_or("v1");
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv], "preferredVersion": gv})
}

pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = GROUPS.iter().map(|g| group_doc(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or `None` when the group is not served.
pub(crate) fn group(group: &str) -> Option<Value> {
    GROUPS.contains(&group).then(|| {
        let mut doc = group_doc(group);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        doc
    })
}

/// A subresource's kind and verbs, as Kubernetes publishes them.
fn subresource_info(res: &Resource, sub: &str) -> (Value, &'static [&'static str]) {
    let own = || json!({"group": res.group, "version": res.version, "kind": res.kind});
    match sub {
        "status" => (own(), &["get", "patch", "update"]),
        "scale" => (
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
            &["get", "patch", "update"],
        ),
        "finalize" => (own(), &["update"]),
        "binding" => (
            json!({"group": "", "version": "v1", "kind": "Binding"}),
            &["create"],
        ),
        "eviction" => (
            json!({"group": "policy", "version": "v1", "kind": "Eviction"}),
            &["create"],
        ),
        "ephemeralcontainers" => (own(), &["get", "patch", "update"]),
        "token" => (
            json!({"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}),
            &["create"],
        ),
        "log" => (
            json!({"group": "", "version": "v1", "kind": "Pod"}),
            &["get"],
        ),
        // exec, attach and portforward are connect verbs: GET and POST upgrade the stream.
        _ => (
            json!({"group": "", "version": "v1", "kind": "PodExecOptions"}),
            &["create", "get"],
        ),
    }
}

/// `/api/v1` or `/apis/<group>/<version>`, or `None` when not served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in served {
        resources.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
            "shortNames": r.short_names,
            "categories": r.categories,
            "storageVersionHash": storage_version_hash(r),
        }));
        for sub in r.subresources {
            let (kind, verbs) = subresource_info(r, sub);
            let mut entry = json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind["kind"],
                "verbs": verbs,
            });
            if kind["group"] != json!(r.group) {
                entry["group"] = kind["group"].clone();
                entry["version"] = kind["version"].clone();
            }
            resources.push(entry);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// A stable hash of the resource's storage identity, which clients use to notice a change
/// of storage version; it only has to differ between resources and stay stable.
fn storage_version_hash(r: &Resource) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}/{}/{}", r.group, r.version, r.kind).as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(&digest.as_ref()[..8])
}

fn aggregated_group(group: &str) -> Value {
    let mut by_version: Vec<(&str, Vec<Value>)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        let subresources: Vec<Value> = r
            .subresources
            .iter()
            .map(|sub| {
                let (kind, verbs) = subresource_info(r, sub);
                json!({"subresource": sub, "responseKind": kind, "verbs": verbs})
            })
            .collect();
        let entry = json!({
            "resource": r.plural,
            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
            "singularResource": r.singular,
            "verbs": VERBS,
            "shortNames": r.short_names,
            "categories": r.categories,
            "subresources": subresources,
        });
        match by_version.iter_mut().find(|(v, _)| *v == r.version) {
            Some((_, list)) => list.push(entry),
            None => by_version.push((r.version, vec![entry])),
        }
    }
    let versions: Vec<Value> = by_version
        .into_iter()
        .map(|(v, resources)| json!({"version": v, "resources": resources, "freshness": "Current"}))
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
}

/// The aggregated document for `/api` (core) or `/apis` (every other group).
pub(crate) fn aggregated(core: bool, media_type: &str) -> Value {
    let api_version = if media_type.contains("v=v2beta1") {
        "apidiscovery.k8s.io/v2beta1"
    } else {
        "apidiscovery.k8s.io/v2"
    };
    let items: Vec<Value> = if core {
        vec![aggregated_group("")]
    } else {
        GROUPS.iter().map(|g| aggregated_group(g)).collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_cover_every_resource() {
        let core = resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods") && names.contains(&"pods/status"));
        assert!(names.contains(&"namespaces/finalize"));
        let apps = resource_list("apps", "v1").unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["group"], "autoscaling");
        assert!(resource_list("nope", "v1").is_none());
        assert_eq!(group("batch").unwrap()["preferredVersion"]["version"], "v1");
        let agg = aggregated(false, aggregated_media_type(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        ).unwrap());
        assert_eq!(agg["items"].as_array().unwrap().len(), GROUPS.len());
        assert_eq!(aggregated_media_type("application/json"), None);
    }
}
