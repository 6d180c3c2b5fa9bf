//! The smaller groups: coordination.k8s.io Lease, discovery.k8s.io EndpointSlice,
//! storage.k8s.io StorageClass and events.k8s.io Event.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::core::kind_is_namespaced;
use super::pod::{port_num, PROTOCOLS};
use super::*;

// ---------------------------------------------------------------------------------------
// Lease
// ---------------------------------------------------------------------------------------

pub(super) fn validate_lease(obj: &Obj, causes: &mut Vec<Cause>) {
    let Some(spec) = get_obj(obj, "spec") else {
        return;
    };
    if let Some(d) = get_i64(spec, "leaseDurationSeconds") {
        if d <= 0 {
            causes.push(invalid_value(
                "spec.leaseDurationSeconds",
                &json!(d),
                "must be greater than 0",
            ));
        }
    }
    nonnegative(spec, "leaseTransitions", "spec", causes);
    one_of(
        spec,
        "strategy",
        "spec",
        &["OldestEmulationVersion"],
        true,
        causes,
    );
    if !is_empty_str(spec.get("preferredHolder")) && is_empty_str(spec.get("strategy")) {
        causes.push(forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
}

// ---------------------------------------------------------------------------------------
// EndpointSlice
// ---------------------------------------------------------------------------------------

pub(super) fn default_endpointslice(obj: &mut Obj) {
    for p in objs_mut(obj, "ports") {
        set_default(p, "name", json!(""));
        set_default(p, "protocol", json!("TCP"));
    }
}

pub(super) fn validate_endpointslice(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    one_of(
        obj,
        "addressType",
        "",
        &["FQDN", "IPv4", "IPv6"],
        false,
        causes,
    );
    let ty = str_of(obj, "addressType");
    let endpoints = get_arr(obj, "endpoints");
    if endpoints.len() > 1000 {
        causes.push(too_many("endpoints", endpoints.len(), 1000));
    }
    for (i, ep) in objs(obj, "endpoints") {
        let p = idx("endpoints", i);
        let ap = child(&p, "addresses");
        let addresses = get_arr(ep, "addresses");
        if addresses.is_empty() {
            causes.push(required(&ap, "must contain at least 1 address"));
        } else if addresses.len() > 100 {
            causes.push(too_many(&ap, addresses.len(), 100));
        }
        for (j, a) in addresses.iter().enumerate() {
            let a = a.as_str().unwrap_or("");
            let apj = idx(&ap, j);
            match ty {
                "IPv4" if a.parse::<std::net::Ipv4Addr>().is_err() => {
                    causes.push(invalid(&apj, a, "must be a valid IPv4 address"));
                }
                "IPv6" if a.parse::<std::net::Ipv6Addr>().is_err() => {
                    causes.push(invalid(&apj, a, "must be a valid IPv6 address"));
                }
                "FQDN" => push_msgs(causes, &apj, a, dns1123_subdomain_msgs(a)),
                _ => {}
            }
        }
        if let Some(h) = get_str(ep, "hostname").filter(|h| !h.is_empty()) {
            push_msgs(causes, &child(&p, "hostname"), h, dns1123_label_msgs(h));
        }
        if let Some(n) = get_str(ep, "nodeName").filter(|n| !n.is_empty()) {
            push_msgs(causes, &child(&p, "nodeName"), n, dns1123_subdomain_msgs(n));
        }
    }
    let ports = get_arr(obj, "ports");
    if ports.len() > 20000 {
        causes.push(too_many("ports", ports.len(), 20000));
    }
    let mut names = BTreeSet::new();
    for (i, port) in objs(obj, "ports") {
        let p = idx("ports", i);
        let name = str_of(port, "name");
        if !name.is_empty() {
            push_msgs(causes, &child(&p, "name"), name, dns1123_label_msgs(name));
        }
        if !names.insert(name) {
            causes.push(duplicate(&child(&p, "name"), &json!(name)));
        }
        one_of(port, "protocol", &p, PROTOCOLS, false, causes);
        if !is_unset(port.get("port")) {
            port_num(port, "port", &p, causes);
        }
        if let Some(ap) = get_str(port, "appProtocol").filter(|s| !s.is_empty()) {
            push_msgs(
                causes,
                &child(&p, "appProtocol"),
                ap,
                qualified_name_msgs(ap),
            );
        }
    }
    if let Some(old) = old {
        immutable(
            "addressType",
            obj.get("addressType"),
            old.get("addressType"),
            causes,
        );
    }
}

// ---------------------------------------------------------------------------------------
// StorageClass
// ---------------------------------------------------------------------------------------

pub(super) fn default_storageclass(obj: &mut Obj) {
    default_str(obj, "reclaimPolicy", "Delete");
    default_str(obj, "volumeBindingMode", "Immediate");
}

const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;

pub(super) fn validate_storageclass(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let prov = str_of(obj, "provisioner");
    if prov.is_empty() {
        causes.push(required("provisioner", ""));
    } else {
        push_msgs(
            causes,
            "provisioner",
            prov,
            qualified_name_msgs(&prov.to_ascii_lowercase()),
        );
    }
    if let Some(params) = get_obj(obj, "parameters") {
        if params.len() > MAX_PARAMETERS {
            causes.push(too_long("parameters", MAX_PARAMETERS));
        }
        let mut total = 0;
        for (k, v) in params {
            if k.is_empty() {
                causes.push(invalid("parameters", k, "field can not be empty."));
            }
            total += k.len() + v.as_str().map_or(0, str::len);
        }
        if total > MAX_PARAMETERS_SIZE {
            causes.push(too_long("parameters", MAX_PARAMETERS_SIZE));
        }
    }
    one_of(
        obj,
        "reclaimPolicy",
        "",
        &["Delete", "Retain"],
        false,
        causes,
    );
    one_of(
        obj,
        "volumeBindingMode",
        "",
        &["Immediate", "WaitForFirstConsumer"],
        false,
        causes,
    );
    if let Some(old) = old {
        let norm = |o: &Obj, k: &str| o.get(k).filter(|v| !v.is_null()).cloned();
        for (f, what) in [
            ("parameters", "parameters"),
            ("provisioner", "provisioner"),
            ("reclaimPolicy", "reclaimPolicy"),
        ] {
            if norm(obj, f) != norm(old, f) {
                causes.push(forbidden(f, &format!("updates to {what} are forbidden.")));
            }
        }
        immutable(
            "volumeBindingMode",
            obj.get("volumeBindingMode"),
            old.get("volumeBindingMode"),
            causes,
        );
    }
}

// ---------------------------------------------------------------------------------------
// events.k8s.io Event
// ---------------------------------------------------------------------------------------

pub(super) fn validate_event(obj: &Obj, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let regarding = get_obj(obj, "regarding").unwrap_or(&empty);
    let ns = get_obj(obj, "metadata")
        .and_then(|m| get_str(m, "namespace"))
        .unwrap_or("");
    let r_ns = str_of(regarding, "namespace");
    if is_empty_str(obj.get("eventTime")) {
        causes.push(required("eventTime", ""));
    }
    if r_ns.is_empty() {
        if !ns.is_empty() && ns != "default" && ns != "kube-system" {
            causes.push(invalid(
                "regarding.namespace",
                r_ns,
                "does not match event.namespace",
            ));
        }
    } else if r_ns != ns {
        causes.push(invalid(
            "regarding.namespace",
            r_ns,
            "does not match event.namespace",
        ));
    }
    super::core::validate_event_report(obj, "reportingController", "note", causes);
    let ty = str_of(obj, "type");
    if ty != "Normal" && ty != "Warning" {
        causes.push(invalid("type", "", &format!("has invalid value: {ty}")));
    }
    for f in [
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedSource",
    ] {
        let set = match obj.get(f) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Object(o)) => o.values().any(|v| !is_empty_str(Some(v))),
            Some(_) => true,
        };
        if set {
            causes.push(invalid(f, "", "needs to be unset"));
        }
    }
    if get_i64(obj, "deprecatedCount").unwrap_or(0) != 0 {
        causes.push(invalid("deprecatedCount", "", "needs to be unset"));
    }
    if let Some(series) = get_obj(obj, "series") {
        if get_i64(series, "count").unwrap_or(0) < 2 {
            causes.push(invalid_value(
                "series.count",
                series.get("count").unwrap_or(&json!(0)),
                "should be at least 2",
            ));
        }
        if is_empty_str(series.get("lastObservedTime")) {
            causes.push(required("series.lastObservedTime", ""));
        }
    }
    let kind = str_of(regarding, "kind");
    match kind_is_namespaced(str_of(regarding, "apiVersion"), kind) {
        Some(true) if r_ns.is_empty() => causes.push(required(
            "regarding.namespace",
            &format!("required for kind {kind}"),
        )),
        Some(false) if !r_ns.is_empty() => causes.push(invalid(
            "regarding.namespace",
            r_ns,
            &format!("not allowed for kind {kind}"),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn lease_rules() {
        let ok = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
            "leaseTransitions": 0}});
        assert!(check("coordination.k8s.io/v1", "Lease", &ok, None).is_empty());
        let e = errors(
            "coordination.k8s.io/v1",
            "Lease",
            json!({"metadata": {"name": "l"}, "spec": {
            "leaseDurationSeconds": 0, "leaseTransitions": -1, "preferredHolder": "b"}}),
        );
        assert_has(&e, "spec.leaseDurationSeconds", "FieldValueInvalid");
        assert_has(&e, "spec.leaseTransitions", "FieldValueInvalid");
        assert_has(&e, "spec.preferredHolder", "FieldValueForbidden");
    }

    #[test]
    fn endpointslice_rules() {
        let s = defaulted(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"metadata": {"name": "web-abc"},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}}],
            "ports": [{"port": 80}]}),
        );
        assert_eq!(
            s["ports"][0],
            json!({"port": 80, "name": "", "protocol": "TCP"})
        );
        assert!(check("discovery.k8s.io/v1", "EndpointSlice", &s, None).is_empty());
        let e = errors(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"metadata": {"name": "x"}, "addressType": "IPX",
            "endpoints": [{"addresses": []}], "ports": [{"port": 0, "name": "a"}, {"name": "a", "protocol": "ICMP"}]}),
        );
        assert_has(&e, "addressType", "FieldValueNotSupported");
        assert_has(&e, "endpoints[0].addresses", "FieldValueRequired");
        assert_has(&e, "ports[0].port", "FieldValueInvalid");
        assert_has(&e, "ports[1].name", "FieldValueDuplicate");
        assert_has(&e, "ports[1].protocol", "FieldValueNotSupported");
        let e = errors(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"metadata": {"name": "x"},
            "endpoints": [{"addresses": ["::1"]}]}),
        );
        assert_has(&e, "addressType", "FieldValueRequired");
        let e = errors(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"metadata": {"name": "x"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["::1"]}]}),
        );
        assert_has(&e, "endpoints[0].addresses[0]", "FieldValueInvalid");
        let mut new = s.clone();
        new["addressType"] = json!("IPv6");
        new["endpoints"] = json!([]);
        let e = update_errors("discovery.k8s.io/v1", "EndpointSlice", &new, Some(&s));
        assert_eq!(e, [("addressType".to_string(), "FieldValueInvalid")]);
    }

    #[test]
    fn storageclass_rules() {
        let sc = defaulted(
            "storage.k8s.io/v1",
            "StorageClass",
            json!({"metadata": {"name": "standard"},
            "provisioner": "rancher.io/local-path"}),
        );
        assert_eq!(sc["reclaimPolicy"], "Delete");
        assert_eq!(sc["volumeBindingMode"], "Immediate");
        assert!(check("storage.k8s.io/v1", "StorageClass", &sc, None).is_empty());
        let e = errors(
            "storage.k8s.io/v1",
            "StorageClass",
            json!({"metadata": {"name": "s"},
            "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"}),
        );
        assert_has(&e, "provisioner", "FieldValueRequired");
        assert_has(&e, "reclaimPolicy", "FieldValueNotSupported");
        assert_has(&e, "volumeBindingMode", "FieldValueNotSupported");
        let mut new = sc.clone();
        new["parameters"] = json!({"a": "b"});
        new["volumeBindingMode"] = json!("WaitForFirstConsumer");
        let e = update_errors("storage.k8s.io/v1", "StorageClass", &new, Some(&sc));
        assert_has(&e, "parameters", "FieldValueForbidden");
        assert_has(&e, "volumeBindingMode", "FieldValueInvalid");
    }

    #[test]
    fn events_v1_rules() {
        let ok = json!({"metadata": {"name": "p.1", "namespace": "default"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "skiff.dev/kubelet", "reportingInstance": "node-1", "action": "Pulling",
            "reason": "Pulling", "type": "Normal", "note": "pulling image",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default", "apiVersion": "v1"}});
        assert!(check("events.k8s.io/v1", "Event", &ok, None).is_empty());
        let e = errors(
            "events.k8s.io/v1",
            "Event",
            json!({"metadata": {"name": "p.1", "namespace": "default"},
            "type": "Odd", "deprecatedCount": 3, "series": {"count": 1},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "other"}}),
        );
        for f in [
            "eventTime",
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "series.lastObservedTime",
        ] {
            assert_has(&e, f, "FieldValueRequired");
        }
        for f in [
            "type",
            "deprecatedCount",
            "series.count",
            "regarding.namespace",
        ] {
            assert_has(&e, f, "FieldValueInvalid");
        }
    }
}
