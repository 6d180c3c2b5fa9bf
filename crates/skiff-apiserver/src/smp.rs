//! Strategic merge patch (`application/strategic-merge-patch+json`), the patch kubectl sends
//! for `apply` (client-side), `edit`, `patch`, `label`, `annotate`, `rollout restart` and
//! `debug`. It is a JSON merge patch whose lists follow each field's patch metadata: lists
//! with `patchStrategy: merge` merge item by item (by their merge key, or as a union of
//! primitives), other lists replace. Directives refine this:
//! - `$patch: replace | delete` in a map replaces it with the rest of the patch map, or
//!   empties it; in a list, an item `{"$patch": "replace"}` makes the list exactly the
//!   patch's other items, and `{"<key>": v, "$patch": "delete"}` deletes the item keyed `v`;
//! - `$retainKeys: [...]` drops the original's keys not listed (union types such as a
//!   volume's source or a Deployment's strategy);
//! - `$deleteFromPrimitiveList/<field>: [...]` removes values from a merged primitive list;
//! - `$setElementOrder/<field>: [...]` gives the order of the patched list's items; items
//!   only the original has keep their place relative to the others.
//!
//! The type of every field comes from the OpenAPI definitions, walked from the object's root
//! definition; fields the schema does not know merge like a JSON merge patch.

use serde_json::{Map, Value};

use crate::patch_meta::{Field, SchemaNode};

/// A patch that cannot be applied; `path` is the field (`spec.containers[1]`), empty for
/// the patch as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", prefix(.path))]
pub(crate) struct PatchError {
    pub path: String,
    pub message: String,
}

fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

fn err(path: &str, message: impl Into<String>) -> PatchError {
    PatchError {
        path: path.to_string(),
        message: message.into(),
    }
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// Apply the strategic merge patch `patch` to `original`, an object whose schema is the
/// definition `root_definition` (`io.k8s.api.apps.v1.Deployment`).
pub(crate) fn strategic_merge_patch(
    root_definition: &str,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(err("", "a strategic merge patch must be a JSON object"));
    };
    let original = match original {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    merge_map(original, patch, SchemaNode::root(root_definition), "").map(Value::Object)
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    node: SchemaNode,
    path: &str,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(PATCH) {
        match directive.as_str() {
            Some("replace") => {
                let mut rest = patch.clone();
                rest.remove(PATCH);
                // Merging into nothing drops nulls and resolves nested directives.
                return merge_map(Map::new(), &rest, node, path);
            }
            Some("delete") => return Ok(Map::new()),
            Some("merge") => {}
            _ => {
                return Err(err(
                    path,
                    format!("unknown $patch directive {directive} (want replace, merge or delete)"),
                ))
            }
        }
    }

    if let Some(keys) = patch.get(RETAIN_KEYS) {
        let keys = string_list(keys)
            .ok_or_else(|| err(path, "$retainKeys must be a list of field names"))?;
        original.retain(|k, _| keys.contains(&k.as_str()));
    }

    // The original order of lists that the patch reorders, taken before the merge.
    let mut orders = Vec::new();
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let Value::Array(order) = value else {
                return Err(err(
                    &child_path(path, key),
                    "$setElementOrder must be a list",
                ));
            };
            let before = match original.get(field) {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            orders.push((field, order, before));
        }
    }

    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let Value::Array(remove) = value else {
                return Err(err(
                    &child_path(path, key),
                    "$deleteFromPrimitiveList must be a list",
                ));
            };
            if let Some(Value::Array(items)) = original.get_mut(field) {
                items.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if key.starts_with(SET_ELEMENT_ORDER) || key == PATCH || key == RETAIN_KEYS {
            continue;
        }
        if key.starts_with('$') {
            return Err(err(&child_path(path, key), "unknown patch directive"));
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        let field = node.field(key);
        let here = child_path(path, key);
        let merged = merge_value(original.remove(key), value, &field, &here)?;
        original.insert(key.clone(), merged);
    }

    for (field, order, before) in orders {
        let key = node.field(field).meta.and_then(|m| m.merge_key);
        if let Some(Value::Array(items)) = original.get_mut(field) {
            let merged = std::mem::take(items);
            *items = set_element_order(merged, order, &before, key);
        }
    }
    Ok(original)
}

fn merge_value(
    original: Option<Value>,
    patch: &Value,
    field: &Field,
    path: &str,
) -> Result<Value, PatchError> {
    match (original, patch) {
        (Some(Value::Object(o)), Value::Object(p)) => {
            merge_map(o, p, field.node, path).map(Value::Object)
        }
        (None, Value::Object(p)) => merge_map(Map::new(), p, field.node, path).map(Value::Object),
        (original, Value::Array(p)) if field.meta.is_some_and(|m| m.merges()) => {
            let original = match original {
                Some(Value::Array(o)) => o,
                _ => Vec::new(),
            };
            merge_list(original, p, field, path).map(Value::Array)
        }
        // Scalars, lists that replace, and a value whose type differs from the original's.
        (_, p) => Ok(p.clone()),
    }
}

fn merge_list(
    mut original: Vec<Value>,
    patch: &[Value],
    field: &Field,
    path: &str,
) -> Result<Vec<Value>, PatchError> {
    let merge_key = field.meta.and_then(|m| m.merge_key);
    let items_node = field.node.items();
    let item_path = |i: usize| format!("{path}[{i}]");

    let mut replace = false;
    let mut items = Vec::new();
    for (i, item) in patch.iter().enumerate() {
        let Some(directive) = item.get(PATCH) else {
            items.push((i, item));
            continue;
        };
        match directive.as_str() {
            Some("replace") => replace = true,
            Some("merge") => {}
            Some("delete") => {
                let Some(key) = merge_key else {
                    return Err(err(
                        &item_path(i),
                        "$patch: delete needs a list with a merge key",
                    ));
                };
                let id = item.get(key).ok_or_else(|| {
                    err(
                        &item_path(i),
                        format!("$patch: delete item has no merge key {key:?}"),
                    )
                })?;
                original.retain(|o| o.get(key) != Some(id));
            }
            _ => {
                return Err(err(
                    &item_path(i),
                    format!("unknown $patch directive {directive} (want replace, merge or delete)"),
                ))
            }
        }
    }
    if replace {
        original.clear();
    }

    for (i, item) in items {
        match (merge_key, item) {
            (Some(key), Value::Object(p)) => {
                let id = p.get(key).ok_or_else(|| {
                    err(
                        &item_path(i),
                        format!("list item does not contain the merge key {key:?}"),
                    )
                })?;
                match original.iter().position(|o| o.get(key) == Some(id)) {
                    Some(at) => {
                        let o = match std::mem::take(&mut original[at]) {
                            Value::Object(o) => o,
                            _ => Map::new(),
                        };
                        original[at] = Value::Object(merge_map(o, p, items_node, &item_path(i))?);
                    }
                    None => original.push(Value::Object(merge_map(
                        Map::new(),
                        p,
                        items_node,
                        &item_path(i),
                    )?)),
                }
            }
            (Some(key), _) => {
                return Err(err(
                    &item_path(i),
                    format!("list items must be objects with the merge key {key:?}"),
                ))
            }
            // Lists of primitives that merge are sets: add what is missing.
            (None, v) => {
                if !original.contains(v) {
                    original.push(v.clone());
                }
            }
        }
    }
    Ok(original)
}

/// Order `merged` by `order` (merge-key objects, or the primitive values themselves). Items
/// `order` does not name stay where they were in `before` relative to the ordered ones.
fn set_element_order(
    merged: Vec<Value>,
    order: &[Value],
    before: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let order_ids: Vec<Value> = order.iter().map(&id).collect();
    let before_ids: Vec<Value> = before.iter().map(&id).collect();
    let pos = |ids: &[Value], v: &Value| ids.iter().position(|x| *x == id(v));

    let (mut listed, mut others): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|v| pos(&order_ids, v).is_some());
    listed.sort_by_key(|v| pos(&order_ids, v));
    // A stable sort: items missing from `before` keep their relative order at the end.
    others.sort_by_key(|v| pos(&before_ids, v).unwrap_or(usize::MAX));

    // Interleave: take the original-only item first when it came first in `before`; when
    // either side is new to `before` there is nothing to compare, so the ordered one goes.
    let mut out = Vec::with_capacity(listed.len() + others.len());
    let (mut l, mut o) = (listed.into_iter().peekable(), others.into_iter().peekable());
    loop {
        match (l.peek(), o.peek()) {
            (Some(a), Some(b)) => {
                let other_first = matches!(
                    (pos(&before_ids, a), pos(&before_ids, b)),
                    (Some(x), Some(y)) if y < x
                );
                let next = if other_first { o.next() } else { l.next() };
                out.extend(next);
            }
            (Some(_), None) => out.extend(l.next()),
            (None, Some(_)) => out.extend(o.next()),
            (None, None) => break,
        }
    }
    out
}

fn string_list(v: &Value) -> Option<Vec<&str>> {
    v.as_array()?.iter().map(Value::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POD: &str = "io.k8s.api.core.v1.Pod";
    const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";
    const CM: &str = "io.k8s.api.core.v1.ConfigMap";

    fn smp(def: &str, original: Value, patch: Value) -> Value {
        strategic_merge_patch(def, &original, &patch).unwrap()
    }

    fn pod(containers: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": containers}})
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let out = smp(
            CM,
            json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}}),
            json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": {"y": "2"}}),
        );
        assert_eq!(
            out,
            json!({"metadata": {"name": "c", "labels": {"b": "2", "c": "3"}},
                   "data": {"x": "1", "y": "2"}})
        );
    }

    #[test]
    fn lists_without_merge_strategy_replace() {
        let out = smp(
            POD,
            pod(json!([{"name": "a", "image": "i", "args": ["1", "2"]}])),
            json!({"spec": {"containers": [{"name": "a", "args": ["3"]}],
                            "tolerations": [{"key": "k", "operator": "Exists"}]}}),
        );
        assert_eq!(out["spec"]["containers"][0]["args"], json!(["3"]));
        assert_eq!(out["spec"]["containers"][0]["image"], "i");
        assert_eq!(
            out["spec"]["tolerations"],
            json!([{"key": "k", "operator": "Exists"}])
        );
    }

    #[test]
    fn merge_lists_of_primitives_are_unions() {
        let out = smp(
            CM,
            json!({"metadata": {"name": "c", "finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        // An empty list adds nothing to a merge list.
        let out = smp(CM, out, json!({"metadata": {"finalizers": []}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    }

    #[test]
    fn object_lists_merge_by_key() {
        let out = smp(
            POD,
            pod(json!([
                {"name": "a", "image": "ia", "env": [{"name": "X", "value": "1"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "b", "image": "ib"},
            ])),
            json!({"spec": {"containers": [
                {"name": "a", "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "9"}],
                 "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]},
                {"name": "c", "image": "ic"},
            ]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([
                {"name": "a", "image": "ia",
                 "env": [{"name": "X", "value": "9"}, {"name": "Y", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"},
                           {"containerPort": 443}]},
                {"name": "b", "image": "ib"},
                {"name": "c", "image": "ic"},
            ])
        );
    }

    #[test]
    fn service_ports_merge_on_port_and_conditions_on_type() {
        let out = smp(
            "io.k8s.api.core.v1.Service",
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]},
                   "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
        );
        let out = smp(
            "io.k8s.api.core.v1.Node",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"},
                                             {"type": "DiskPressure", "status": "False"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        assert_eq!(
            out["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}])
        );
    }

    #[test]
    fn patch_replace_and_delete_on_maps() {
        let orig = json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}});
        let out = smp(
            CM,
            orig.clone(),
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"c": "3"}));
        let out = smp(
            CM,
            orig.clone(),
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({}));
        let e = strategic_merge_patch(CM, &orig, &json!({"metadata": {"labels": {"$patch": "x"}}}))
            .unwrap_err();
        assert_eq!(e.path, "metadata.labels");
    }

    #[test]
    fn patch_directives_in_lists() {
        let orig = pod(json!([{"name": "a", "image": "ia"}, {"name": "b", "image": "ib"}]));
        let out = smp(
            POD,
            orig.clone(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "ib"}])
        );
        let out = smp(
            POD,
            orig.clone(),
            json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "z", "image": "iz"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "z", "image": "iz"}])
        );
        // A replace directive in any item replaces the list with the other items; that item
        // itself is dropped.
        let out = smp(
            POD,
            orig,
            json!({"spec": {"containers": [{"name": "a", "$patch": "replace", "image": "new"},
                {"name": "b", "image": "ib2"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "ib2"}])
        );
        // Finalizers replaced whole (kubectl patch --type strategic with $patch: replace).
        let out = smp(
            CM,
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": [{"$patch": "replace"}, "c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["c"]));
    }

    #[test]
    fn retain_keys_clears_the_other_members_of_a_union() {
        // kubectl apply switching a volume from emptyDir to configMap.
        let orig = json!({"spec": {"containers": [{"name": "a"}],
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]}});
        let out = smp(
            POD,
            orig,
            json!({"spec": {"volumes": [{"$retainKeys": ["configMap", "name"],
                "configMap": {"name": "cm"}, "name": "v"}]}}),
        );
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "emptyDir": {}}])
        );
        // Deployment strategy: RollingUpdate to Recreate drops rollingUpdate.
        let orig = json!({"spec": {"strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
        let out = smp(
            DEPLOY,
            orig,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let e = strategic_merge_patch(
            DEPLOY,
            &json!({}),
            &json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        )
        .unwrap_err();
        assert_eq!(e.path, "spec.strategy");
    }

    #[test]
    fn delete_from_primitive_list() {
        let out = smp(
            CM,
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"],
                                "$setElementOrder/finalizers": ["c", "a"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a"]));
    }

    #[test]
    fn set_element_order_orders_patched_items_and_keeps_server_only_ones_in_place() {
        let names = |v: &Value| -> Vec<String> {
            v["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        let orig = pod(json!([{"name": "a"}, {"name": "s"}, {"name": "b"}, {"name": "c"}]));
        // The client knows a, b, c (s exists only on the server) and adds d at the end.
        let out = smp(
            POD,
            orig.clone(),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"},
                {"name": "c"}, {"name": "d"}], "containers": [{"name": "d", "image": "x"}]}}),
        );
        assert_eq!(names(&out), ["a", "s", "b", "c", "d"]);
        // Reordered to c, a, b: s stays ahead of the items that followed it.
        let out = smp(
            POD,
            orig,
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"},
                {"name": "b"}]}}),
        );
        assert_eq!(names(&out), ["s", "c", "a", "b"]);
        // A new item goes where the order puts it.
        let out = smp(
            POD,
            pod(json!([{"name": "a"}, {"name": "b"}])),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "n"},
                {"name": "b"}], "containers": [{"name": "n"}]}}),
        );
        assert_eq!(names(&out), ["a", "n", "b"]);
    }

    #[test]
    fn errors_name_the_field() {
        let e = strategic_merge_patch(
            POD,
            &pod(json!([])),
            &json!({"spec": {"containers": [{"name": "a"}, {"image": "x"}]}}),
        )
        .unwrap_err();
        assert_eq!(e.path, "spec.containers[1]");
        assert!(e.to_string().contains("merge key \"name\""), "{e}");
        let e =
            strategic_merge_patch(POD, &json!({}), &json!({"spec": {"$bogus": 1}})).unwrap_err();
        assert_eq!(e.path, "spec.$bogus");
        assert!(strategic_merge_patch(POD, &json!({}), &json!([1])).is_err());
    }

    #[test]
    fn unknown_fields_merge_like_a_merge_patch() {
        let out = smp(
            POD,
            json!({"spec": {"x": {"l": [1, 2], "m": {"a": 1}}}}),
            json!({"spec": {"x": {"l": [3], "m": {"b": 2}}}}),
        );
        assert_eq!(out["spec"]["x"], json!({"l": [3], "m": {"a": 1, "b": 2}}));
    }

    #[test]
    fn new_fields_are_cleaned_of_directives_and_nulls() {
        let out = smp(
            POD,
            json!({}),
            json!({"spec": {"containers": [{"name": "a", "image": "i", "args": null},
                {"name": "b", "$patch": "delete"}], "volumes": [{"name": "v", "$retainKeys": ["name"]}]}}),
        );
        assert_eq!(
            out["spec"],
            json!({"containers": [{"name": "a", "image": "i"}], "volumes": [{"name": "v"}]})
        );
    }

    // The patches below are the exact bodies kubectl 1.32 sends.

    #[test]
    fn kubectl_client_side_apply_of_a_configmap() {
        // `kubectl apply -f cm.yaml` after changing data a=1 to b=2.
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                    "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"c\",\"namespace\":\"default\"}}\n"}},
            "data": {"a": "1"}});
        let patch = json!({"data": {"a": null, "b": "2"}, "metadata": {"annotations":
            {"kubectl.kubernetes.io/last-applied-configuration":
                "{\"apiVersion\":\"v1\",\"data\":{\"b\":\"2\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"c\",\"namespace\":\"default\"}}\n"}}});
        let out = smp(CM, live, patch);
        assert_eq!(out["data"], json!({"b": "2"}));
        assert!(
            out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
                .as_str()
                .unwrap()
                .contains("\"b\":\"2\"")
        );
    }

    #[test]
    fn kubectl_client_side_apply_of_a_deployment() {
        // Live object after `kubectl apply` of a Deployment with two containers (env A and B,
        // an emptyDir volume, RollingUpdate with maxSurge) and the server's defaulting.
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [
                        {"name": "nginx", "image": "nginx:1",
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "terminationMessagePath": "/dev/termination-log"},
                        {"name": "side", "image": "busybox"}],
                    "volumes": [{"name": "v", "emptyDir": {}}]}}}});
        // The body kubectl 1.32 sent for the next `kubectl apply` (image nginx:2, env B and
        // the sidecar dropped, strategy Recreate, the volume now a configMap); only the
        // last-applied annotation's value is shortened.
        let patch = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
            "spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"},
                "template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                    "$setElementOrder/volumes": [{"name": "v"}],
                    "containers": [{"$setElementOrder/env": [{"name": "A"}],
                        "env": [{"$patch": "delete", "name": "B"}], "image": "nginx:2", "name": "nginx"},
                        {"$patch": "delete", "name": "side"}],
                    "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "c1"},
                        "emptyDir": null, "name": "v"}]}}}});
        let out = smp(DEPLOY, live, patch);
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx:2",
                    "env": [{"name": "A", "value": "1"}],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "terminationMessagePath": "/dev/termination-log"}])
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "v", "configMap": {"name": "c1"}}])
        );
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    }

    #[test]
    fn kubectl_client_side_apply_changing_finalizers() {
        // The body of the second `kubectl apply` of a ConfigMap whose finalizers went from
        // [a, b] to [b, c] and whose data went from a=1 to b=2.
        let live = json!({"metadata": {"name": "c1", "finalizers": ["x.io/a", "x.io/b"]},
            "data": {"a": "1"}});
        let patch = json!({"data": {"a": null, "b": "2"}, "metadata": {
            "$deleteFromPrimitiveList/finalizers": ["x.io/a"],
            "$setElementOrder/finalizers": ["x.io/b", "x.io/c"],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
            "finalizers": ["x.io/c"]}});
        let out = smp(CM, live, patch);
        assert_eq!(out["data"], json!({"b": "2"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["x.io/b", "x.io/c"]));
    }

    #[test]
    fn kubectl_rollout_restart_label_and_annotate() {
        let live = json!({"spec": {"template": {"metadata": {"labels": {"app": "d"}}}}});
        let out = smp(
            DEPLOY,
            live,
            json!({"spec": {"template": {"metadata": {"annotations":
                {"kubectl.kubernetes.io/restartedAt": "2026-11-23T18:00:00Z"}}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["metadata"],
            json!({"labels": {"app": "d"},
                   "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-23T18:00:00Z"}})
        );
        let out = smp(
            CM,
            json!({"metadata": {"name": "c", "labels": {"x": "1"}}}),
            json!({"metadata": {"labels": {"x": null, "y": "2"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"y": "2"}));
    }

    #[test]
    fn kubectl_debug_adds_an_ephemeral_container() {
        let live = pod(json!([{"name": "a", "image": "ia"}]));
        let patch = json!({"spec": {"ephemeralContainers": [{"name": "debugger-abcde",
            "image": "busybox", "resources": {}, "terminationMessagePolicy": "File",
            "imagePullPolicy": "Always", "stdin": true, "tty": true}]}});
        let out = smp(POD, live.clone(), patch.clone());
        assert_eq!(
            out["spec"]["ephemeralContainers"],
            patch["spec"]["ephemeralContainers"]
        );
        // A second debug container is added beside the first, not in its place.
        let patch2 = json!({"spec": {"ephemeralContainers": [{"name": "debugger-zzzzz", "image": "busybox"}]}});
        let out = smp(POD, out, patch2);
        assert_eq!(
            out["spec"]["ephemeralContainers"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn kubectl_edit_deleting_a_container_and_a_finalizer() {
        // `kubectl edit` removing finalizer x.io/b of [a, b, c] sent exactly this.
        let out = smp(
            CM,
            json!({"metadata": {"name": "c1", "finalizers": ["x.io/a", "x.io/b", "x.io/c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x.io/b"],
                                "$setElementOrder/finalizers": ["x.io/a", "x.io/c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["x.io/a", "x.io/c"]));
        let live = json!({"metadata": {"name": "p", "finalizers": ["x/a", "x/b"]},
            "spec": {"containers": [{"name": "a", "image": "ia"}, {"name": "b", "image": "ib"}]}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x/b"],
                                        "$setElementOrder/finalizers": ["x/a"]},
            "spec": {"$setElementOrder/containers": [{"name": "a"}],
                     "containers": [{"$patch": "delete", "name": "b"}]}});
        let out = smp(POD, live, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["x/a"]));
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "image": "ia"}])
        );
    }
}
