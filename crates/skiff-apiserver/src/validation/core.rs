//! core/v1 kinds other than Pod: Namespace, Service, Endpoints, ConfigMap, Secret, Node,
//! Event, PersistentVolume and PersistentVolumeClaim.

use std::collections::BTreeSet;
use std::net::IpAddr;

use base64::Engine;
use serde_json::{json, Value};

use super::pod::{
    default_volume_source_fields, one_source, port_num, port_num_or_name, validate_common_sources,
    PROTOCOLS,
};
use super::*;

const MAX_DATA_SIZE: usize = 1024 * 1024;
const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

// ---------------------------------------------------------------------------------------
// Namespace
// ---------------------------------------------------------------------------------------

pub(super) fn default_namespace(obj: &mut Obj) {
    // Every namespace carries its own name as a label, so selectors can pick namespaces by
    // name.
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(meta) = obj_mut(obj, "metadata") {
        if name.is_string() {
            if let Some(labels) = obj_mut(meta, "labels") {
                labels.insert("kubernetes.io/metadata.name".into(), name);
            }
        }
    }
    if let Some(spec) = obj_mut(obj, "spec") {
        // The namespace controller removes "kubernetes" once the namespace's content is gone;
        // an update keeps the stored list, so only a list never set gets it.
        set_default(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = obj_mut(obj, "status") {
        default_str(status, "phase", "Active");
    }
}

pub(super) fn validate_namespace(obj: &Obj, causes: &mut Vec<Cause>) {
    let Some(spec) = get_obj(obj, "spec") else {
        return;
    };
    for f in get_arr(spec, "finalizers").iter().filter_map(Value::as_str) {
        push_msgs(causes, "spec.finalizers", f, qualified_name_msgs(f));
        if !f.contains('/') && f != "kubernetes" {
            causes.push(invalid(
                "spec.finalizers",
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    if let Some(status) = get_obj(obj, "status") {
        one_of(
            status,
            "phase",
            "status",
            &["Active", "Terminating"],
            true,
            causes,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------

fn ip_family(ip: &str) -> Option<&'static str> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some("IPv4"),
        IpAddr::V6(_) => Some("IPv6"),
    }
}

pub(super) fn default_service(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    default_str(spec, "sessionAffinity", "None");
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let has_timeout = get_obj(spec, "sessionAffinityConfig")
                .and_then(|c| get_obj(c, "clientIP"))
                .is_some_and(|c| !is_unset(c.get("timeoutSeconds")));
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    default_str(spec, "type", "ClusterIP");
    for p in objs_mut(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if unset {
            if let Some(port) = p.get("port").cloned() {
                p.insert("targetPort".into(), port);
            }
        }
    }
    let ty = str_of(spec, "type").to_string();
    if ty == "NodePort" || ty == "LoadBalancer" {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    // clusterIP and clusterIPs[0] are the same address; either may be given.
    let ip = str_of(spec, "clusterIP").to_string();
    let ips_empty = get_arr(spec, "clusterIPs").is_empty();
    let ips_settable = spec
        .get("clusterIPs")
        .is_none_or(|v| v.is_null() || v.is_array());
    if !ip.is_empty() && ips_empty && ips_settable {
        spec.insert("clusterIPs".into(), json!([ip]));
    } else if ip.is_empty() {
        if let Some(first) = get_arr(spec, "clusterIPs").first().and_then(Value::as_str) {
            let first = first.to_string();
            spec.insert("clusterIP".into(), json!(first));
        }
    }
    if ty == "ExternalName" {
        // An alias has no cluster addresses, so no address families either.
        spec.remove("ipFamilies");
        spec.remove("ipFamilyPolicy");
    } else {
        default_ip_families(spec);
    }
    if let Some(status) = obj_mut(obj, "status") {
        set_default(status, "loadBalancer", json!({}));
    }
}

/// IP families of a single-stack IPv4 cluster: the family of the given cluster IPs, IPv4
/// otherwise; headless services without a selector ask for both families.
fn default_ip_families(spec: &mut Obj) {
    let headless = str_of(spec, "clusterIP") == "None";
    let selectorless = get_obj(spec, "selector").is_none_or(Map::is_empty);
    if headless && selectorless {
        set_default(spec, "ipFamilyPolicy", json!("RequireDualStack"));
    } else {
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
    if get_arr(spec, "ipFamilies").is_empty() && spec.get("ipFamilies").is_none_or(Value::is_array)
    {
        let mut fams: Vec<&str> = get_arr(spec, "clusterIPs")
            .iter()
            .filter_map(Value::as_str)
            .filter_map(ip_family)
            .collect();
        if fams.is_empty() {
            fams.push("IPv4");
        }
        if str_of(spec, "ipFamilyPolicy") != "SingleStack" && fams.len() == 1 && headless {
            fams.push(if fams[0] == "IPv4" { "IPv6" } else { "IPv4" });
        }
        spec.insert("ipFamilies".into(), json!(fams));
    }
}

pub(super) fn validate_service(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    let sp = "spec";
    one_of(
        spec,
        "type",
        sp,
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        false,
        causes,
    );
    let ty = str_of(spec, "type");
    let cluster_ip = str_of(spec, "clusterIP");
    let headless = cluster_ip == "None";
    if get_arr(spec, "ports").is_empty() && !headless && ty != "ExternalName" {
        causes.push(required("spec.ports", ""));
    }
    if ty == "ExternalName" {
        if !get_arr(spec, "clusterIPs").is_empty() || !cluster_ip.is_empty() {
            causes.push(forbidden(
                "spec.clusterIPs",
                "may not be set for ExternalName services",
            ));
        }
        let name = str_of(spec, "externalName");
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            causes.push(required("spec.externalName", ""));
        } else {
            push_msgs(
                causes,
                "spec.externalName",
                name,
                dns1123_subdomain_msgs(trimmed),
            );
        }
    }
    for (i, ip) in get_arr(spec, "clusterIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        let ok = (i == 0 && ip == "None") || ip_family(ip).is_some();
        if !ok {
            let msg = if ip == "None" {
                "`None` must be the first and only value"
            } else {
                IP_MSG
            };
            causes.push(invalid(&idx("spec.clusterIPs", i), ip, msg));
        }
    }
    if let Some(first) = get_arr(spec, "clusterIPs").first().and_then(Value::as_str) {
        if !cluster_ip.is_empty() && first != cluster_ip {
            causes.push(invalid(
                "spec.clusterIPs",
                first,
                "must be empty or the first value must match spec.clusterIP",
            ));
        }
    }
    validate_service_ports(spec, ty, causes);
    one_of(
        spec,
        "sessionAffinity",
        sp,
        &["ClientIP", "None"],
        false,
        causes,
    );
    match str_of(spec, "sessionAffinity") {
        "None" if !is_unset(spec.get("sessionAffinityConfig")) => causes.push(forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
        )),
        "ClientIP" => {
            let t = get_obj(spec, "sessionAffinityConfig")
                .and_then(|c| get_obj(c, "clientIP"))
                .and_then(|c| get_i64(c, "timeoutSeconds"));
            if let Some(t) = t.filter(|t| !(1..=86400).contains(t)) {
                causes.push(invalid_value(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    &json!(t),
                    "must be greater than 0 and less than 86400",
                ));
            }
        }
        _ => {}
    }
    let etp = spec.get("externalTrafficPolicy");
    if ty == "NodePort" || ty == "LoadBalancer" {
        one_of(
            spec,
            "externalTrafficPolicy",
            sp,
            &["Cluster", "Local"],
            false,
            causes,
        );
    } else if !is_empty_str(etp) {
        causes.push(invalid_value(
            "spec.externalTrafficPolicy",
            etp.unwrap_or(&Value::Null),
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    }
    if ty != "ExternalName" {
        one_of(
            spec,
            "internalTrafficPolicy",
            sp,
            &["Cluster", "Local"],
            false,
            causes,
        );
    }
    if ty == "LoadBalancer" {
        if is_unset(spec.get("allocateLoadBalancerNodePorts")) {
            causes.push(required("spec.allocateLoadBalancerNodePorts", ""));
        }
    } else {
        if !is_unset(spec.get("allocateLoadBalancerNodePorts")) {
            causes.push(forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        if !get_arr(spec, "loadBalancerSourceRanges").is_empty() {
            causes.push(forbidden(
                "spec.loadBalancerSourceRanges",
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    validate_labels(spec.get("selector"), "spec.selector", causes);
    for (i, ip) in get_arr(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        if ip_family(ip).is_none() {
            causes.push(invalid(&idx("spec.externalIPs", i), ip, IP_MSG));
        }
    }
    validate_ip_families(spec, causes);
    if let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) {
        let old_ip = str_of(old_spec, "clusterIP");
        if str_of(old_spec, "type") != "ExternalName" && ty != "ExternalName" && !old_ip.is_empty()
        {
            immutable(
                "spec.clusterIP",
                spec.get("clusterIP"),
                old_spec.get("clusterIP"),
                causes,
            );
        }
    }
}

fn validate_service_ports(spec: &Obj, ty: &str, causes: &mut Vec<Cause>) {
    let require_name = get_arr(spec, "ports").len() > 1;
    let mut names = BTreeSet::new();
    let mut ports = BTreeSet::new();
    let mut node_ports = BTreeSet::new();
    for (i, p) in objs(spec, "ports") {
        let pp = idx("spec.ports", i);
        port_name(p, &pp, require_name, &mut names, causes);
        port_num(p, "port", &pp, causes);
        one_of(p, "protocol", &pp, PROTOCOLS, false, causes);
        port_num_or_name(p.get("targetPort"), &child(&pp, "targetPort"), causes);
        let port = get_i64(p, "port").unwrap_or(0);
        let proto = str_of(p, "protocol");
        if !ports.insert((port, proto)) {
            causes.push(duplicate(&pp, &json!({"port": port, "protocol": proto})));
        }
        let np = get_i64(p, "nodePort").unwrap_or(0);
        if np != 0 {
            let npp = child(&pp, "nodePort");
            if ty == "ClusterIP" {
                causes.push(forbidden(
                    &npp,
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !(30000..=32767).contains(&np) {
                causes.push(invalid_value(
                    &npp,
                    &json!(np),
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                ));
            } else if !node_ports.insert((np, proto)) {
                causes.push(duplicate(&npp, &json!(np)));
            }
        }
    }
}

fn validate_ip_families(spec: &Obj, causes: &mut Vec<Cause>) {
    one_of(
        spec,
        "ipFamilyPolicy",
        "spec",
        &["PreferDualStack", "RequireDualStack", "SingleStack"],
        true,
        causes,
    );
    let fams = get_arr(spec, "ipFamilies");
    let mut seen = BTreeSet::new();
    for (i, f) in fams.iter().enumerate() {
        let p = idx("spec.ipFamilies", i);
        match f.as_str() {
            Some(s @ ("IPv4" | "IPv6")) => {
                if !seen.insert(s) {
                    causes.push(duplicate(&p, f));
                }
            }
            _ => causes.push(not_supported(&p, f, &["IPv4", "IPv6"])),
        }
    }
    if fams.len() > 2 {
        causes.push(too_many("spec.ipFamilies", fams.len(), 2));
    }
    if fams.len() == 2 && str_of(spec, "ipFamilyPolicy") == "SingleStack" {
        causes.push(invalid_value(
            "spec.ipFamilies",
            &Value::Array(fams.to_vec()),
            "when multiple IP families are specified, the IP family policy must be 'RequireDualStack' or 'PreferDualStack'",
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

pub(super) fn default_endpoints(obj: &mut Obj) {
    for s in objs_mut(obj, "subsets") {
        for p in objs_mut(s, "ports") {
            default_str(p, "protocol", "TCP");
        }
    }
}

pub(super) fn validate_endpoints(obj: &Obj, causes: &mut Vec<Cause>) {
    for (i, ss) in objs(obj, "subsets") {
        let p = idx("subsets", i);
        let no_addresses =
            get_arr(ss, "addresses").is_empty() && get_arr(ss, "notReadyAddresses").is_empty();
        if no_addresses && !get_arr(ss, "ports").is_empty() {
            causes.push(required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in objs(ss, list) {
                let ap = idx(&child(&p, list), j);
                let ip = str_of(a, "ip");
                if ip.is_empty() {
                    causes.push(required(&child(&ap, "ip"), ""));
                } else if ip_family(ip).is_none() {
                    causes.push(invalid(&child(&ap, "ip"), ip, IP_MSG));
                }
                if let Some(h) = get_str(a, "hostname").filter(|h| !h.is_empty()) {
                    push_msgs(causes, &child(&ap, "hostname"), h, dns1123_label_msgs(h));
                }
                if let Some(n) = get_str(a, "nodeName").filter(|n| !n.is_empty()) {
                    push_msgs(
                        causes,
                        &child(&ap, "nodeName"),
                        n,
                        dns1123_subdomain_msgs(n),
                    );
                }
            }
        }
        let require_name = get_arr(ss, "ports").len() > 1;
        let mut names = BTreeSet::new();
        for (j, port) in objs(ss, "ports") {
            let pp = idx(&child(&p, "ports"), j);
            port_name(port, &pp, require_name, &mut names, causes);
            port_num(port, "port", &pp, causes);
            one_of(port, "protocol", &pp, PROTOCOLS, false, causes);
        }
    }
}

// ---------------------------------------------------------------------------------------
// ConfigMap and Secret
// ---------------------------------------------------------------------------------------

pub(super) fn validate_configmap(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let mut total = 0usize;
    for (k, v) in get_obj(obj, "data").into_iter().flatten() {
        push_msgs(causes, &key("data", k), k, config_key_msgs(k));
        match v.as_str() {
            Some(s) => total += s.len(),
            None => causes.push(invalid_value(&key("data", k), v, "must be a string")),
        }
    }
    let data = get_obj(obj, "data");
    for (k, v) in get_obj(obj, "binaryData").into_iter().flatten() {
        push_msgs(causes, &key("binaryData", k), k, config_key_msgs(k));
        if data.is_some_and(|d| d.contains_key(k)) {
            causes.push(invalid("binaryData", k, "duplicate of key present in data"));
        }
        match v.as_str().and_then(|s| b64().decode(s).ok()) {
            Some(bytes) => total += bytes.len(),
            None => causes.push(invalid_value(
                &key("binaryData", k),
                v,
                "must be a base64-encoded string",
            )),
        }
    }
    if total > MAX_DATA_SIZE {
        causes.push(too_long("", MAX_DATA_SIZE));
    }
    if let Some(old) = old {
        check_immutable_data(obj, old, &["data", "binaryData"], causes);
    }
}

/// Once `immutable` is true it stays true and the data never changes.
fn check_immutable_data(obj: &Obj, old: &Obj, fields: &[&str], causes: &mut Vec<Cause>) {
    if get_bool(old, "immutable") != Some(true) {
        return;
    }
    if get_bool(obj, "immutable") != Some(true) {
        causes.push(forbidden("immutable", IMMUTABLE_WHEN_SET));
    }
    for f in fields {
        let norm = |o: &Obj| o.get(*f).filter(|v| !v.is_null()).cloned();
        if norm(obj) != norm(old) {
            causes.push(forbidden(f, IMMUTABLE_WHEN_SET));
        }
    }
}

/// `type` defaults to Opaque; `stringData` is a write-only convenience merged into `data`.
pub(super) fn default_secret(obj: &mut Obj) {
    default_str(obj, "type", "Opaque");
    if obj.get("stringData").is_some_and(Value::is_null) {
        obj.remove("stringData");
    }
    if let Some(Value::Object(sd)) = obj.get("stringData").cloned() {
        obj.remove("stringData");
        if let Some(data) = obj_mut(obj, "data") {
            for (k, v) in sd {
                if let Some(s) = v.as_str() {
                    data.insert(k, json!(b64().encode(s)));
                }
            }
        }
    }
}

pub(super) fn validate_secret(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let mut decoded: std::collections::BTreeMap<&str, Vec<u8>> = Default::default();
    let mut total = 0usize;
    for (k, v) in get_obj(obj, "data").into_iter().flatten() {
        push_msgs(causes, &key("data", k), k, config_key_msgs(k));
        match v.as_str().and_then(|s| b64().decode(s).ok()) {
            Some(bytes) => {
                total += bytes.len();
                decoded.insert(k, bytes);
            }
            None => causes.push(invalid_value(
                &key("data", k),
                v,
                "must be a base64-encoded string",
            )),
        }
    }
    if total > MAX_DATA_SIZE {
        causes.push(too_long("data", MAX_DATA_SIZE));
    }
    let has = |k: &str| get_obj(obj, "data").is_some_and(|d| d.contains_key(k));
    let ty = str_of(obj, "type");
    match ty {
        "kubernetes.io/service-account-token" => {
            let named = get_obj(obj, "metadata")
                .and_then(|m| get_obj(m, "annotations"))
                .and_then(|a| get_str(a, "kubernetes.io/service-account.name"))
                .is_some_and(|n| !n.is_empty());
            if !named {
                causes.push(required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let k = if ty == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            match decoded.get(k) {
                None if !has(k) => causes.push(required(&key("data", k), "")),
                None => {}
                Some(bytes) => {
                    if let Err(e) = serde_json::from_slice::<Value>(bytes) {
                        causes.push(invalid(
                            &key("data", k),
                            "<secret contents redacted>",
                            &e.to_string(),
                        ));
                    }
                }
            }
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            causes.push(required("data[username]", ""));
            causes.push(required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth" if decoded.get("ssh-privatekey").is_none_or(Vec::is_empty) => {
            causes.push(required("data[ssh-privatekey]", ""));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    causes.push(required(&key("data", k), ""));
                }
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        immutable("type", obj.get("type"), old.get("type"), causes);
        check_immutable_data(obj, old, &["data"], causes);
    }
}

// ---------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------

pub(super) fn default_node(obj: &mut Obj) {
    if let Some(status) = existing_mut(obj, "status") {
        if is_unset(status.get("allocatable")) {
            if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
                status.insert("allocatable".into(), cap);
            }
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits <= 32,
        Ok(IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

pub(super) fn validate_node(obj: &Obj, causes: &mut Vec<Cause>) {
    let Some(spec) = get_obj(obj, "spec") else {
        return;
    };
    if let Some(c) = get_str(spec, "podCIDR").filter(|c| !c.is_empty()) {
        if !is_cidr(c) {
            causes.push(invalid(
                "spec.podCIDR",
                c,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
    }
    let cidrs = get_arr(spec, "podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        if !is_cidr(c) {
            causes.push(invalid(
                &idx("spec.podCIDRs", i),
                c,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
    }
    if cidrs.len() > 2 {
        causes.push(too_many("spec.podCIDRs", cidrs.len(), 2));
    }
    let mut seen = BTreeSet::new();
    for (i, t) in objs(spec, "taints") {
        let p = idx("spec.taints", i);
        let k = str_of(t, "key");
        push_msgs(causes, &child(&p, "key"), k, qualified_name_msgs(k));
        let v = str_of(t, "value");
        let msgs = label_value_msgs(v);
        if !msgs.is_empty() {
            causes.push(invalid(&child(&p, "value"), v, &msgs.join(";")));
        }
        one_of(
            t,
            "effect",
            &p,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            false,
            causes,
        );
        if !seen.insert((k, str_of(t, "effect"))) {
            let mut c = duplicate(&p, &Value::Object(t.clone()));
            c.message
                .push_str(": taints must be unique by key and effect pair");
            causes.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Event (core/v1)
// ---------------------------------------------------------------------------------------

/// Whether the kind an event is about is namespaced, when this server knows the kind.
pub(super) fn kind_is_namespaced(api_version: &str, kind: &str) -> Option<bool> {
    let av = if api_version.is_empty() {
        "v1"
    } else {
        api_version
    };
    crate::resources::by_kind(av, kind).map(|r| r.namespaced)
}

pub(super) fn validate_event(obj: &Obj, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let io = get_obj(obj, "involvedObject").unwrap_or(&empty);
    let ns = get_obj(obj, "metadata")
        .and_then(|m| get_str(m, "namespace"))
        .unwrap_or("");
    let io_ns = str_of(io, "namespace");
    let mismatch = || {
        invalid(
            "involvedObject.namespace",
            io_ns,
            "does not match event.namespace",
        )
    };
    if is_empty_str(obj.get("eventTime")) {
        if io_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                causes.push(mismatch());
            }
        } else if ns != io_ns {
            causes.push(mismatch());
        }
    } else {
        if io_ns.is_empty() && ns != "default" && ns != "kube-system" {
            causes.push(mismatch());
        }
        validate_event_report(obj, "reportingComponent", "message", causes);
    }
    let kind = str_of(io, "kind");
    match kind_is_namespaced(str_of(io, "apiVersion"), kind) {
        Some(true) if io_ns.is_empty() => causes.push(required(
            "involvedObject.namespace",
            &format!("required for kind {kind}"),
        )),
        Some(false) if !io_ns.is_empty() => causes.push(invalid(
            "involvedObject.namespace",
            io_ns,
            &format!("not allowed for kind {kind}"),
        )),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// PersistentVolume and PersistentVolumeClaim
// ---------------------------------------------------------------------------------------

const PV_SOURCES: &[&str] = &[
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "iscsi",
    "cinder",
    "cephfs",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

pub(super) fn default_pv(obj: &mut Obj) {
    if let Some(spec) = obj_mut(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_str(spec, "volumeMode", "Filesystem");
        default_volume_source_fields(spec);
    }
    if let Some(status) = obj_mut(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

pub(super) fn default_pvc(obj: &mut Obj) {
    if let Some(spec) = obj_mut(obj, "spec") {
        default_str(spec, "volumeMode", "Filesystem");
    }
    if let Some(status) = obj_mut(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

fn validate_access_modes(spec: &Obj, path: &str, required_msg: &str, causes: &mut Vec<Cause>) {
    let modes = get_arr(spec, "accessModes");
    let p = child(path, "accessModes");
    if modes.is_empty() {
        causes.push(required(&p, required_msg));
    }
    for m in modes {
        if !m.as_str().is_some_and(|s| ACCESS_MODES.contains(&s)) {
            causes.push(not_supported(&p, m, ACCESS_MODES));
        }
    }
    if modes.len() > 1 && modes.iter().any(|m| m.as_str() == Some("ReadWriteOncePod")) {
        causes.push(forbidden(
            &p,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

fn positive_quantity(v: &Value, path: &str, causes: &mut Vec<Cause>) {
    if let Some(q) = quantity_at(v, path, causes) {
        if q.is_negative() {
            causes.push(invalid_value(path, v, "must be greater than or equal to 0"));
        }
        if q <= Quantity::ZERO {
            causes.push(invalid_value(path, v, "must be greater than zero"));
        }
    }
}

pub(super) fn validate_pv(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    validate_access_modes(spec, "spec", "", causes);
    match get_obj(spec, "capacity") {
        None => causes.push(required("spec.capacity", "")),
        Some(cap) if cap.is_empty() => causes.push(required("spec.capacity", "")),
        Some(cap) => {
            if !cap.contains_key("storage") || cap.len() > 1 {
                causes.push(not_supported(
                    "spec.capacity",
                    &Value::Object(cap.clone()),
                    &["storage"],
                ));
            }
            if let Some(v) = cap.get("storage") {
                positive_quantity(v, "spec.capacity[storage]", causes);
            }
        }
    }
    one_source(spec, PV_SOURCES, "spec", causes);
    validate_common_sources(spec, "spec", causes);
    if let Some(l) = get_obj(spec, "local") {
        let p = str_of(l, "path");
        if p.is_empty() {
            causes.push(required("spec.local.path", ""));
        }
    }
    if let Some(h) = get_obj(spec, "hostPath") {
        let p = str_of(h, "path");
        if !p.is_empty() && p.split('/').any(|e| e == "..") {
            causes.push(invalid("spec.hostPath.path", p, "must not contain '..'"));
        }
    }
    one_of(
        spec,
        "persistentVolumeReclaimPolicy",
        "spec",
        &["Delete", "Recycle", "Retain"],
        false,
        causes,
    );
    one_of(
        spec,
        "volumeMode",
        "spec",
        &["Block", "Filesystem"],
        true,
        causes,
    );
    if let Some(sc) = get_str(spec, "storageClassName").filter(|s| !s.is_empty()) {
        push_msgs(
            causes,
            "spec.storageClassName",
            sc,
            dns1123_subdomain_msgs(sc),
        );
    }
    if let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) {
        let source = |s: &Obj| -> Vec<(String, Value)> {
            PV_SOURCES
                .iter()
                .filter_map(|k| {
                    s.get(*k)
                        .filter(|v| !v.is_null())
                        .map(|v| (k.to_string(), v.clone()))
                })
                .collect()
        };
        if source(spec) != source(old_spec) {
            causes.push(forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            ));
        }
        immutable(
            "spec.volumeMode",
            spec.get("volumeMode"),
            old_spec.get("volumeMode"),
            causes,
        );
    }
}

/// A claim's spec, also used for StatefulSet volume claim templates.
pub(super) fn validate_pvc_spec(spec: &Obj, path: &str, causes: &mut Vec<Cause>) {
    validate_access_modes(spec, path, "at least 1 access mode is required", causes);
    let storage = get_obj(spec, "resources")
        .and_then(|r| get_obj(r, "requests"))
        .and_then(|r| r.get("storage"));
    match storage {
        None => causes.push(required(&key(&child(path, "resources"), "storage"), "")),
        Some(v) => positive_quantity(
            v,
            &key(&child(&child(path, "resources"), "requests"), "storage"),
            causes,
        ),
    }
    one_of(
        spec,
        "volumeMode",
        path,
        &["Block", "Filesystem"],
        true,
        causes,
    );
    if let Some(sc) = get_str(spec, "storageClassName").filter(|s| !s.is_empty()) {
        push_msgs(
            causes,
            &child(path, "storageClassName"),
            sc,
            dns1123_subdomain_msgs(sc),
        );
    }
    if let Some(sel) = get_obj(spec, "selector") {
        validate_label_selector(sel, &child(path, "selector"), causes);
    }
}

pub(super) fn validate_pvc(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    validate_pvc_spec(spec, "spec", causes);
    if let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) {
        // Only the requested size may change, and the binder fills in volumeName once.
        let mask = |s: &Obj| {
            let mut s = s.clone();
            if let Some(r) = existing_mut(&mut s, "resources") {
                r.remove("requests");
            }
            s.remove("volumeAttributesClassName");
            if str_of(old_spec, "volumeName").is_empty() {
                s.remove("volumeName");
            }
            s
        };
        if mask(spec) != mask(old_spec) {
            causes.push(forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
    }
}

/// The reporter fields both Event APIs require (named `reportingComponent`/`message` in
/// core/v1 and `reportingController`/`note` in events.k8s.io/v1).
pub(super) fn validate_event_report(
    obj: &Obj,
    reporter_field: &str,
    text_field: &str,
    causes: &mut Vec<Cause>,
) {
    let reporter = str_of(obj, reporter_field);
    if reporter.is_empty() {
        causes.push(required(reporter_field, ""));
    } else {
        push_msgs(
            causes,
            reporter_field,
            reporter,
            qualified_name_msgs(reporter),
        );
    }
    for (field, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
        let v = str_of(obj, field);
        if v.is_empty() {
            causes.push(required(field, ""));
        } else if v.len() > limit {
            causes.push(invalid(
                field,
                "",
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    if str_of(obj, text_field).len() > 1024 {
        causes.push(invalid(text_field, "", "can have at most 1024 characters"));
    }
}

/// A port's name in a list of ports (Service, Endpoints): a DNS label, unique in the list,
/// and required when the list has more than one port.
fn port_name<'a>(
    port: &'a Obj,
    path: &str,
    require_name: bool,
    names: &mut BTreeSet<&'a str>,
    causes: &mut Vec<Cause>,
) {
    let name = str_of(port, "name");
    if name.is_empty() {
        if require_name {
            causes.push(required(&child(path, "name"), ""));
        }
    } else {
        push_msgs(causes, &child(path, "name"), name, dns1123_label_msgs(name));
        if !names.insert(name) {
            causes.push(duplicate(&child(path, "name"), &json!(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn namespace_defaults_match_upstream() {
        let ns = defaulted(
            "v1",
            "Namespace",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}),
        );
        assert_eq!(
            ns,
            json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "dev"}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}})
        );
        assert!(check("v1", "Namespace", &ns, None).is_empty());
        let e = errors(
            "v1",
            "Namespace",
            json!({"metadata": {"name": "x"}, "spec": {"finalizers": ["custom", "a/b/c"]}}),
        );
        assert_eq!(
            e.iter().filter(|(f, _)| f == "spec.finalizers").count(),
            2,
            "{e:?}"
        );
    }

    #[test]
    fn service_defaults_match_upstream() {
        let svc = defaulted(
            "v1",
            "Service",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        );
        assert_eq!(
            svc,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {
                    "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                    "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                    "selector": {"app": "web"},
                    "sessionAffinity": "None",
                    "type": "ClusterIP"
                },
                "status": {"loadBalancer": {}}})
        );
        assert!(check("v1", "Service", &svc, None).is_empty());
        let lb = defaulted(
            "v1",
            "Service",
            json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer",
            "clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": "http"}], "sessionAffinity": "ClientIP"}}),
        );
        assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(lb["spec"]["clusterIPs"], json!(["10.96.0.10"]));
        assert_eq!(lb["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(
            lb["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            10800
        );
        let headless = defaulted(
            "v1",
            "Service",
            json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}}),
        );
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
        assert!(check("v1", "Service", &headless, None).is_empty());
        let ext = defaulted(
            "v1",
            "Service",
            json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "example.com."}}),
        );
        assert!(ext["spec"].get("ipFamilies").is_none());
        assert!(ext["spec"].get("internalTrafficPolicy").is_none());
        assert!(check("v1", "Service", &ext, None).is_empty());
    }

    #[test]
    fn service_rules() {
        let e = errors(
            "v1",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"type": "Bogus"}}),
        );
        assert_has(&e, "spec.type", "FieldValueNotSupported");
        assert_has(&e, "spec.ports", "FieldValueRequired");
        let e = errors(
            "v1",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"ports": [
            {"port": 80}, {"port": 70000, "name": "b", "nodePort": 30001}, {"port": 81, "name": "b", "protocol": "ICMP"},
            {"port": 82, "name": "c", "targetPort": "Bad_Name"}
        ], "externalTrafficPolicy": "Local", "clusterIP": "not-an-ip"}}),
        );
        assert_has(&e, "spec.ports[0].name", "FieldValueRequired");
        assert_has(&e, "spec.ports[1].port", "FieldValueInvalid");
        assert_has(&e, "spec.ports[1].nodePort", "FieldValueForbidden");
        assert_has(&e, "spec.ports[2].name", "FieldValueDuplicate");
        assert_has(&e, "spec.ports[2].protocol", "FieldValueNotSupported");
        assert_has(&e, "spec.ports[3].targetPort", "FieldValueInvalid");
        assert_has(&e, "spec.externalTrafficPolicy", "FieldValueInvalid");
        assert_has(&e, "spec.clusterIPs[0]", "FieldValueInvalid");
        let e = errors(
            "v1",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [
                {"port": 80, "name": "a", "nodePort": 8080}, {"port": 81, "name": "b", "nodePort": 30080}, {"port": 82, "name": "c", "nodePort": 30080}
            ]}}),
        );
        assert_has(&e, "spec.ports[0].nodePort", "FieldValueInvalid");
        assert_has(&e, "spec.ports[2].nodePort", "FieldValueDuplicate");
        let e = errors(
            "v1",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"type": "ExternalName", "clusterIP": "10.0.0.1"}}),
        );
        assert_has(&e, "spec.externalName", "FieldValueRequired");
        assert_has(&e, "spec.clusterIPs", "FieldValueForbidden");
        let old = defaulted(
            "v1",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}}),
        );
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.0.0.2");
        new["spec"]["clusterIPs"] = json!(["10.0.0.2"]);
        let e = update_errors("v1", "Service", &new, Some(&old));
        assert_has(&e, "spec.clusterIP", "FieldValueInvalid");
    }

    #[test]
    fn secret_defaults_and_rules() {
        let s = defaulted(
            "v1",
            "Secret",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "eA=="}, "stringData": {"password": "hunter2", "a": "y"}}),
        );
        assert_eq!(
            s,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"a": "eQ==", "password": "aHVudGVyMg=="}, "type": "Opaque"})
        );
        assert!(check("v1", "Secret", &s, None).is_empty());
        let e = errors(
            "v1",
            "Secret",
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": "eA==", "bad/key": "eA==", "notb64": "!!!"}}),
        );
        assert_has(&e, "data[tls.key]", "FieldValueRequired");
        assert_has(&e, "data[bad/key]", "FieldValueInvalid");
        assert_has(&e, "data[notb64]", "FieldValueInvalid");
        let e = errors(
            "v1",
            "Secret",
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson"}),
        );
        assert_has(&e, "data[.dockerconfigjson]", "FieldValueRequired");
        let e = errors(
            "v1",
            "Secret",
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": "{not json"}}),
        );
        assert_has(&e, "data[.dockerconfigjson]", "FieldValueInvalid");
        let big = "x".repeat(MAX_DATA_SIZE + 1);
        let e = errors(
            "v1",
            "Secret",
            json!({"metadata": {"name": "s"}, "stringData": {"big": big}}),
        );
        assert_has(&e, "data", "FieldValueTooLong");
        let old = defaulted(
            "v1",
            "Secret",
            json!({"metadata": {"name": "s"}, "immutable": true, "stringData": {"a": "1"}}),
        );
        let mut new = old.clone();
        new["data"]["a"] = json!("Mg==");
        new["type"] = json!("other");
        let e = update_errors("v1", "Secret", &new, Some(&old));
        assert_has(&e, "data", "FieldValueForbidden");
        assert_has(&e, "type", "FieldValueInvalid");
    }

    #[test]
    fn configmap_rules() {
        let e = errors(
            "v1",
            "ConfigMap",
            json!({"metadata": {"name": "c"},
            "data": {"ok": "1", "bad/key": "2", "n": 3}, "binaryData": {"ok": "!!"}}),
        );
        assert_eq!(
            e,
            [
                ("data[bad/key]".to_string(), "FieldValueInvalid"),
                ("data[n]".to_string(), "FieldValueInvalid"),
                ("binaryData".to_string(), "FieldValueInvalid"),
                ("binaryData[ok]".to_string(), "FieldValueInvalid"),
            ]
        );
        let e = errors(
            "v1",
            "ConfigMap",
            json!({"metadata": {"name": "c"}, "data": {"a": "x".repeat(MAX_DATA_SIZE + 1)}}),
        );
        assert_has(&e, "", "FieldValueTooLong");
        let old = json!({"metadata": {"name": "c"}, "immutable": true, "data": {"a": "1"}});
        let new = json!({"metadata": {"name": "c"}, "data": {"a": "2"}});
        let e = update_errors("v1", "ConfigMap", &new, Some(&old));
        assert_has(&e, "immutable", "FieldValueForbidden");
        assert_has(&e, "data", "FieldValueForbidden");
    }

    #[test]
    fn endpoints_rules() {
        let ep = defaulted(
            "v1",
            "Endpoints",
            json!({"metadata": {"name": "web"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
        );
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
        assert!(check("v1", "Endpoints", &ep, None).is_empty());
        let e = errors(
            "v1",
            "Endpoints",
            json!({"metadata": {"name": "web"}, "subsets": [
            {"addresses": [{"ip": "nope"}], "ports": [{"port": 80}, {"port": 0, "name": "b"}]},
            {"ports": [{"port": 80}]}]}),
        );
        assert_has(&e, "subsets[0].addresses[0].ip", "FieldValueInvalid");
        assert_has(&e, "subsets[0].ports[0].name", "FieldValueRequired");
        assert_has(&e, "subsets[0].ports[1].port", "FieldValueInvalid");
        assert_has(&e, "subsets[1]", "FieldValueRequired");
    }

    #[test]
    fn node_rules() {
        let n = defaulted(
            "v1",
            "Node",
            json!({"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "2"}}}),
        );
        assert_eq!(n["status"]["allocatable"], json!({"cpu": "2"}));
        let e = errors(
            "v1",
            "Node",
            json!({"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.0.0.0/99",
            "taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "Sometimes"}, {"key": "c"}]}}),
        );
        assert_has(&e, "spec.podCIDR", "FieldValueInvalid");
        assert_has(&e, "spec.taints[1]", "FieldValueDuplicate");
        assert_has(&e, "spec.taints[2].effect", "FieldValueNotSupported");
        assert_has(&e, "spec.taints[3].effect", "FieldValueRequired");
    }

    #[test]
    fn event_rules() {
        let ok = json!({"metadata": {"name": "p.1", "namespace": "default"}, "reason": "Pulled", "message": "pulled",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default", "apiVersion": "v1"}, "type": "Normal"});
        assert!(check("v1", "Event", &ok, None).is_empty());
        let e = errors(
            "v1",
            "Event",
            json!({"metadata": {"name": "p.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}}),
        );
        assert_has(&e, "involvedObject.namespace", "FieldValueInvalid");
        let e = errors(
            "v1",
            "Event",
            json!({"metadata": {"name": "p.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p"}}),
        );
        assert_has(&e, "involvedObject.namespace", "FieldValueRequired");
        let e = errors(
            "v1",
            "Event",
            json!({"metadata": {"name": "n.1", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": "n", "namespace": "default"}}),
        );
        assert_has(&e, "involvedObject.namespace", "FieldValueInvalid");
        let e = errors(
            "v1",
            "Event",
            json!({"metadata": {"name": "p.1", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z", "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}}),
        );
        assert_has(&e, "reportingComponent", "FieldValueRequired");
        assert_has(&e, "action", "FieldValueRequired");
        assert_has(&e, "reason", "FieldValueRequired");
    }

    #[test]
    fn pv_and_pvc() {
        let pv = defaulted(
            "v1",
            "PersistentVolume",
            json!({"metadata": {"name": "pv1"}, "spec": {
            "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/mnt/data"}}}),
        );
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pv["spec"]["hostPath"]["type"], "");
        assert_eq!(pv["status"]["phase"], "Pending");
        assert!(check("v1", "PersistentVolume", &pv, None).is_empty());
        let e = errors(
            "v1",
            "PersistentVolume",
            json!({"metadata": {"name": "pv1"}, "spec": {
            "capacity": {"cpu": "1"}, "accessModes": ["Sometimes"], "persistentVolumeReclaimPolicy": "Keep"}}),
        );
        assert_has(&e, "spec.capacity", "FieldValueNotSupported");
        assert_has(&e, "spec.accessModes", "FieldValueNotSupported");
        assert_has(&e, "spec", "FieldValueRequired");
        assert_has(
            &e,
            "spec.persistentVolumeReclaimPolicy",
            "FieldValueNotSupported",
        );
        let e = errors(
            "v1",
            "PersistentVolume",
            json!({"metadata": {"name": "pv1"}, "spec": {
            "hostPath": {"path": "/x"}, "nfs": {"server": "s", "path": "/p"}}}),
        );
        assert_has(&e, "spec.capacity", "FieldValueRequired");
        assert_has(&e, "spec.accessModes", "FieldValueRequired");
        assert_has(&e, "spec.nfs", "FieldValueForbidden");
        let mut changed = pv.clone();
        changed["spec"]["hostPath"]["path"] = json!("/other");
        let e = update_errors("v1", "PersistentVolume", &changed, Some(&pv));
        assert_has(&e, "spec.persistentvolumesource", "FieldValueForbidden");

        let pvc = defaulted(
            "v1",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "c"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        );
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");
        assert!(check("v1", "PersistentVolumeClaim", &pvc, None).is_empty());
        let e = errors(
            "v1",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "c"}, "spec": {}}),
        );
        assert_has(&e, "spec.accessModes", "FieldValueRequired");
        assert_has(&e, "spec.resources[storage]", "FieldValueRequired");
        let e = errors(
            "v1",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "c"}, "spec": {
            "accessModes": ["ReadWriteOncePod", "ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}, "volumeMode": "Tape"}}),
        );
        assert_has(&e, "spec.accessModes", "FieldValueForbidden");
        assert_has(&e, "spec.resources.requests[storage]", "FieldValueInvalid");
        assert_has(&e, "spec.volumeMode", "FieldValueNotSupported");
        let mut grown = pvc.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        grown["spec"]["volumeName"] = json!("pv1");
        assert!(check("v1", "PersistentVolumeClaim", &grown, Some(&pvc)).is_empty());
        grown["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        let e = update_errors("v1", "PersistentVolumeClaim", &grown, Some(&pvc));
        assert_has(&e, "spec", "FieldValueForbidden");
    }
}
