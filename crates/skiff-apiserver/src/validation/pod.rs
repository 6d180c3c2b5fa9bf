//! The PodSpec, shared by Pods and every workload's template: its defaults, its validation,
//! and the Pod-only parts (admission-time defaults, QoS class, update rules).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;

/// Every volume source of a pod volume; a volume has exactly one.
pub(super) const POD_VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

// ---------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------

/// A Pod: the PodSpec defaults, the Pod-only ones (requests from limits, service links,
/// host-network ports), what kube-apiserver's default admission plugins add (priority,
/// service account, not-ready/unreachable tolerations), and the initial status.
pub(super) fn default_pod(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    if is_empty_str(spec.get("serviceAccountName")) && is_empty_str(spec.get("serviceAccount")) {
        spec.insert("serviceAccountName".into(), json!("default"));
    }
    default_pod_spec(spec);
    for list in ["containers", "initContainers"] {
        for c in objs_mut(spec, list) {
            requests_from_limits(c);
        }
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if get_bool(spec, "hostNetwork") == Some(true) {
        for list in ["containers", "initContainers"] {
            for c in objs_mut(spec, list) {
                for p in objs_mut(c, "ports") {
                    if get_i64(p, "hostPort").unwrap_or(0) == 0 {
                        if let Some(cp) = p.get("containerPort").cloned() {
                            p.insert("hostPort".into(), cp);
                        }
                    }
                }
            }
        }
    }
    default_priority(spec);
    default_tolerations(spec);
    let qos = qos_class(spec);
    if let Some(status) = obj_mut(obj, "status") {
        default_str(status, "phase", "Pending");
        default_str(status, "qosClass", qos);
    }
}

/// The Priority admission plugin: pods without a class get priority 0; the two built-in
/// classes have fixed values. Pods naming any other class keep what they have.
fn default_priority(spec: &mut Obj) {
    let priority = match str_of(spec, "priorityClassName") {
        "" => 0,
        "system-cluster-critical" => 2_000_000_000,
        "system-node-critical" => 2_000_001_000,
        _ => return,
    };
    set_default(spec, "priority", json!(priority));
    default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
}

/// The DefaultTolerationSeconds admission plugin: tolerate not-ready and unreachable nodes
/// for 300 s unless the pod already says how it tolerates them.
fn default_tolerations(spec: &mut Obj) {
    if !is_unset(spec.get("tolerations")) && !spec.get("tolerations").is_some_and(Value::is_array) {
        return;
    }
    let tolerates = |spec: &Obj, taint: &str| {
        objs(spec, "tolerations").any(|(_, t)| {
            str_of(t, "key") == taint && matches!(str_of(t, "effect"), "" | "NoExecute")
        })
    };
    let mut add = Vec::new();
    for taint in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(spec, taint) {
            add.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }));
        }
    }
    if add.is_empty() {
        return;
    }
    let list = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    if let Some(list) = list.as_array_mut() {
        list.extend(add);
    }
}

/// Limits without a matching request become the request (Pods only, not templates).
fn requests_from_limits(c: &mut Obj) {
    let Some(res) = existing_mut(c, "resources") else {
        return;
    };
    let Some(limits) = get_obj(res, "limits").cloned() else {
        return;
    };
    let Some(requests) = obj_mut(res, "requests") else {
        return;
    };
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// The defaults of a PodSpec, wherever it appears (Pod, templates of workloads).
pub(super) fn default_pod_spec(spec: &mut Obj) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    // serviceAccount is the deprecated spelling; the API keeps both in step.
    if is_empty_str(spec.get("serviceAccountName")) {
        if let Some(sa) = get_str(spec, "serviceAccount").filter(|s| !s.is_empty()) {
            spec.insert("serviceAccountName".into(), json!(sa));
        }
    }
    if let Some(sa) = get_str(spec, "serviceAccountName").filter(|s| !s.is_empty()) {
        let sa = sa.to_string();
        spec.insert("serviceAccount".into(), json!(sa));
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in objs_mut(spec, list) {
            default_container(c);
        }
    }
    for v in objs_mut(spec, "volumes") {
        default_volume(v);
    }
}

/// The defaults of a pod template (`spec.template` of the workloads).
pub(super) fn default_template(parent: &mut Obj) {
    if let Some(t) = existing_mut(parent, "template") {
        if let Some(spec) = existing_mut(t, "spec") {
            default_pod_spec(spec);
        }
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
fn pull_policy_for(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t);
    let tag = match (tag, digest) {
        (None, None) if !name.is_empty() => Some("latest"),
        (t, _) => t,
    };
    if tag == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

fn default_container(c: &mut Obj) {
    if is_empty_str(c.get("imagePullPolicy")) {
        let policy = pull_policy_for(str_of(c, "image"));
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    set_default(c, "resources", json!({}));
    for p in objs_mut(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for e in objs_mut(c, "env") {
        if let Some(vf) = existing_mut(e, "valueFrom") {
            default_selectors(vf);
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing_mut(c, probe) {
            for (k, v) in [
                ("timeoutSeconds", 1),
                ("periodSeconds", 10),
                ("successThreshold", 1),
                ("failureThreshold", 3),
            ] {
                if get_i64(p, k).unwrap_or(0) == 0
                    && !p.get(k).is_some_and(|x| !x.is_number() && !x.is_null())
                {
                    p.insert(k.into(), json!(v));
                }
            }
            default_handler(p);
        }
    }
    if let Some(lc) = existing_mut(c, "lifecycle") {
        for h in ["postStart", "preStop"] {
            if let Some(h) = existing_mut(lc, h) {
                default_handler(h);
            }
        }
    }
}

fn default_handler(h: &mut Obj) {
    if let Some(g) = existing_mut(h, "httpGet") {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    }
}

/// `fieldRef.apiVersion` is v1 and `resourceFieldRef.divisor` "0" unless given.
fn default_selectors(m: &mut Obj) {
    if let Some(f) = existing_mut(m, "fieldRef") {
        default_str(f, "apiVersion", "v1");
    }
    if let Some(r) = existing_mut(m, "resourceFieldRef") {
        set_default(r, "divisor", json!("0"));
    }
}

fn default_downward_items(m: &mut Obj) {
    for item in objs_mut(m, "items") {
        default_selectors(item);
    }
}

fn default_volume(v: &mut Obj) {
    if POD_VOLUME_SOURCES.iter().all(|s| is_unset(v.get(*s))) {
        v.insert("emptyDir".into(), json!({}));
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = existing_mut(v, src) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = existing_mut(v, "downwardAPI") {
        default_downward_items(d);
    }
    if let Some(p) = existing_mut(v, "projected") {
        for s in objs_mut(p, "sources") {
            if let Some(t) = existing_mut(s, "serviceAccountToken") {
                set_default(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = existing_mut(s, "downwardAPI") {
                default_downward_items(d);
            }
        }
    }
    default_volume_source_fields(v);
    if let Some(e) = existing_mut(v, "ephemeral") {
        if let Some(t) = existing_mut(e, "volumeClaimTemplate") {
            if let Some(spec) = existing_mut(t, "spec") {
                default_str(spec, "volumeMode", "Filesystem");
            }
        }
    }
}

/// Defaults of sources shared by pod volumes and persistent volumes.
pub(super) fn default_volume_source_fields(v: &mut Obj) {
    if let Some(h) = existing_mut(v, "hostPath") {
        set_default(h, "type", json!(""));
    }
    if let Some(s) = existing_mut(v, "iscsi") {
        default_str(s, "iscsiInterface", "default");
    }
    if let Some(s) = existing_mut(v, "rbd") {
        default_str(s, "pool", "rbd");
        default_str(s, "user", "admin");
        default_str(s, "keyring", "/etc/ceph/keyring");
    }
    if let Some(s) = existing_mut(v, "azureDisk") {
        default_str(s, "cachingMode", "ReadWrite");
        default_str(s, "fsType", "ext4");
        set_default(s, "readOnly", json!(false));
        default_str(s, "kind", "Shared");
    }
    if let Some(s) = existing_mut(v, "scaleIO") {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
}

/// The QoS class from the containers' cpu and memory requests and limits.
pub(super) fn qos_class(spec: &Obj) -> &'static str {
    use std::collections::BTreeMap;
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    for list in ["initContainers", "containers"] {
        for (_, c) in objs(spec, list) {
            let res = get_obj(c, "resources");
            let positive = |field: &str| -> Vec<(&str, Quantity)> {
                res.and_then(|r| get_obj(r, field))
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| matches!(k.as_str(), "cpu" | "memory"))
                    .filter_map(|(k, v)| quantity_of(v).map(|q| (k.as_str(), q)))
                    .filter(|(_, q)| *q > Quantity::ZERO)
                    .collect()
            };
            for (k, q) in positive("requests") {
                let e = requests.entry(k).or_insert(Quantity::ZERO);
                *e = e.add(q);
            }
            let lims = positive("limits");
            let has = |r: &str| lims.iter().any(|(k, _)| *k == r);
            if !(has("cpu") && has("memory")) {
                guaranteed = false;
            }
            for (k, q) in lims {
                let e = limits.entry(k).or_insert(Quantity::ZERO);
                *e = e.add(q);
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.iter().all(|(k, q)| limits.get(k) == Some(q))
        && requests.len() == limits.len()
    {
        return "Guaranteed";
    }
    "Burstable"
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

const POD_UPDATE_MSG: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

pub(super) fn validate_pod(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    match get_obj(obj, "spec") {
        Some(spec) => validate_pod_spec(spec, "spec", causes),
        None => causes.push(required("spec.containers", "")),
    }
    if let (Some(new), Some(old)) = (get_obj(obj, "spec"), old.and_then(|o| get_obj(o, "spec"))) {
        if masked_pod_spec(new, old) != masked_pod_spec(old, old) {
            causes.push(forbidden("spec", POD_UPDATE_MSG));
        }
        // Ephemeral containers can be added, never changed or removed.
        let (was, now) = (
            get_arr(old, "ephemeralContainers"),
            get_arr(new, "ephemeralContainers"),
        );
        for (i, c) in was.iter().enumerate() {
            let name = c.get("name");
            match now.iter().find(|n| n.get("name") == name) {
                Some(n) if n == c => {}
                Some(_) => causes.push(forbidden(
                    &format!("spec.ephemeralContainers[{i}]"),
                    "existing ephemeral containers may not be changed",
                )),
                None => causes.push(forbidden(
                    "spec.ephemeralContainers",
                    &format!(
                        "existing ephemeral containers {:?} may not be removed",
                        name.and_then(|n| n.as_str()).unwrap_or_default()
                    ),
                )),
            }
        }
    }
}

/// The spec with what a pod update may change taken out: images, the active deadline,
/// tolerations (appended to), the grace period, and a node name set for the first time
/// (binding).
fn masked_pod_spec(spec: &Obj, old: &Obj) -> Obj {
    let mut s = spec.clone();
    for list in ["containers", "initContainers"] {
        for c in objs_mut(&mut s, list) {
            c.remove("image");
        }
    }
    s.remove("activeDeadlineSeconds");
    s.remove("terminationGracePeriodSeconds");
    // They change through the `ephemeralcontainers` subresource, checked below.
    s.remove("ephemeralContainers");
    let old_tol = get_arr(old, "tolerations");
    let new_tol = get_arr(spec, "tolerations");
    if new_tol.len() >= old_tol.len() && new_tol[..old_tol.len()] == *old_tol {
        s.remove("tolerations");
    }
    if str_of(old, "nodeName").is_empty() {
        s.remove("nodeName");
    }
    s
}

/// Everything about a PodSpec that stands on its own.
pub(super) fn validate_pod_spec(spec: &Obj, path: &str, causes: &mut Vec<Cause>) {
    let volumes = validate_volumes(spec, &child(path, "volumes"), causes);
    let host_network = get_bool(spec, "hostNetwork") == Some(true);
    let cpath = child(path, "containers");
    if get_arr(spec, "containers").is_empty() {
        causes.push(required(&cpath, ""));
    }
    let mut names = BTreeSet::new();
    for (i, c) in objs(spec, "containers") {
        let p = idx(&cpath, i);
        validate_container(c, &p, &volumes, &mut names, host_network, causes);
        if c.get("restartPolicy").is_some_and(|v| !v.is_null()) {
            causes.push(forbidden(
                &child(&p, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    let ipath = child(path, "initContainers");
    for (i, c) in objs(spec, "initContainers") {
        let p = idx(&ipath, i);
        validate_container(c, &p, &volumes, &mut names, host_network, causes);
        let sidecar = get_str(c, "restartPolicy") == Some("Always");
        if !is_unset(c.get("restartPolicy")) {
            one_of(c, "restartPolicy", &p, &["Always"], true, causes);
        }
        if !sidecar {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if !is_unset(c.get(probe)) {
                    causes.push(forbidden(
                        &child(&p, probe),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    one_of(
        spec,
        "restartPolicy",
        path,
        &["Always", "OnFailure", "Never"],
        false,
        causes,
    );
    one_of(
        spec,
        "dnsPolicy",
        path,
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        false,
        causes,
    );
    if str_of(spec, "dnsPolicy") == "None" && is_unset(spec.get("dnsConfig")) {
        causes.push(required(
            &child(path, "dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ));
    }
    validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
        causes,
    );
    if let Some(sa) = get_str(spec, "serviceAccountName").filter(|s| !s.is_empty()) {
        push_msgs(
            causes,
            &child(path, "serviceAccountName"),
            sa,
            dns1123_subdomain_msgs(sa),
        );
    }
    if let Some(n) = get_str(spec, "nodeName").filter(|s| !s.is_empty()) {
        push_msgs(
            causes,
            &child(path, "nodeName"),
            n,
            dns1123_subdomain_msgs(n),
        );
    }
    for field in ["hostname", "subdomain"] {
        if let Some(h) = get_str(spec, field).filter(|s| !s.is_empty()) {
            push_msgs(causes, &child(path, field), h, dns1123_label_msgs(h));
        }
    }
    if let Some(d) = get_i64(spec, "activeDeadlineSeconds") {
        if !(1..=i64::from(i32::MAX)).contains(&d) {
            causes.push(invalid_value(
                &child(path, "activeDeadlineSeconds"),
                &json!(d),
                &format!("must be between 1 and {}, inclusive", i32::MAX),
            ));
        }
    }
    validate_tolerations(spec, &child(path, "tolerations"), causes);
}

fn validate_tolerations(spec: &Obj, path: &str, causes: &mut Vec<Cause>) {
    for (i, t) in objs(spec, "tolerations") {
        let p = idx(path, i);
        let k = str_of(t, "key");
        if !k.is_empty() {
            push_msgs(causes, &child(&p, "key"), k, qualified_name_msgs(k));
        }
        let op = str_of(t, "operator");
        if k.is_empty() && op != "Exists" {
            causes.push(invalid(
                &child(&p, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if !is_unset(t.get("tolerationSeconds")) && str_of(t, "effect") != "NoExecute" {
            causes.push(invalid(
                &child(&p, "effect"),
                str_of(t, "effect"),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "" | "Equal" => {
                let v = str_of(t, "value");
                push_msgs(causes, &child(&p, "value"), v, label_value_msgs(v));
            }
            "Exists" => {
                if !str_of(t, "value").is_empty() {
                    causes.push(invalid_value(
                        &child(&p, "operator"),
                        &Value::Object(t.clone()),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            _ => causes.push(not_supported(
                &child(&p, "operator"),
                &json!(op),
                &["Equal", "Exists"],
            )),
        }
        if !is_empty_str(t.get("effect")) {
            one_of(
                t,
                "effect",
                &p,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                true,
                causes,
            );
        }
    }
}

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn file_mode(m: &Obj, k: &str, path: &str, causes: &mut Vec<Cause>) {
    if let Some(mode) = get_i64(m, k) {
        if !(0..=0o777).contains(&mode) {
            causes.push(invalid_value(&child(path, k), &json!(mode), FILE_MODE_MSG));
        }
    }
}

/// A path inside a volume: relative, without `..` elements.
fn local_descending_path(p: &str, path: &str, causes: &mut Vec<Cause>) {
    if p.starts_with('/') {
        causes.push(invalid(path, p, "must be a relative path"));
    }
    if p.split('/').any(|e| e == "..") {
        causes.push(invalid(path, p, "must not contain '..'"));
    }
}

fn local_nonreserved_path(p: &str, path: &str, causes: &mut Vec<Cause>) {
    local_descending_path(p, path, causes);
    if p.starts_with("..") && !p.starts_with("../") {
        causes.push(invalid(path, p, "must not start with '..'"));
    }
}

fn validate_key_to_paths(src: &Obj, path: &str, causes: &mut Vec<Cause>) {
    for (i, item) in objs(src, "items") {
        let p = idx(&child(path, "items"), i);
        if str_of(item, "key").is_empty() {
            causes.push(required(&child(&p, "key"), ""));
        }
        let ip = str_of(item, "path");
        if ip.is_empty() {
            causes.push(required(&child(&p, "path"), ""));
        }
        local_nonreserved_path(ip, &child(&p, "path"), causes);
        file_mode(item, "mode", &p, causes);
    }
}

/// The sources present in `v`, in declaration order.
pub(super) fn present_sources<'a>(v: &Obj, sources: &[&'a str]) -> Vec<&'a str> {
    sources
        .iter()
        .copied()
        .filter(|s| !is_unset(v.get(*s)))
        .collect()
}

/// Exactly one source: none is "must specify a volume type", each extra one is forbidden.
pub(super) fn one_source(v: &Obj, sources: &[&str], path: &str, causes: &mut Vec<Cause>) {
    let present = present_sources(v, sources);
    if present.is_empty() {
        causes.push(required(path, "must specify a volume type"));
    }
    for extra in present.iter().skip(1) {
        causes.push(forbidden(
            &child(path, extra),
            "may not specify more than 1 volume type",
        ));
    }
}

/// Checks of the sources pod volumes and persistent volumes share.
pub(super) fn validate_common_sources(v: &Obj, path: &str, causes: &mut Vec<Cause>) {
    if let Some(h) = get_obj(v, "hostPath") {
        let p = child(path, "hostPath");
        if str_of(h, "path").is_empty() {
            causes.push(required(&child(&p, "path"), ""));
        }
        if let Some(t) = h.get("type") {
            if !t.is_null() {
                let ok = [
                    "",
                    "BlockDevice",
                    "CharDevice",
                    "Directory",
                    "DirectoryOrCreate",
                    "File",
                    "FileOrCreate",
                    "Socket",
                ];
                if !t.as_str().is_some_and(|s| ok.contains(&s)) {
                    causes.push(not_supported(&child(&p, "type"), t, &ok));
                }
            }
        }
    }
    if let Some(n) = get_obj(v, "nfs") {
        let p = child(path, "nfs");
        if str_of(n, "server").is_empty() {
            causes.push(required(&child(&p, "server"), ""));
        }
        let np = str_of(n, "path");
        if np.is_empty() {
            causes.push(required(&child(&p, "path"), ""));
        } else if !np.starts_with('/') {
            causes.push(invalid(&child(&p, "path"), np, "must be an absolute path"));
        }
    }
    if let Some(c) = get_obj(v, "csi") {
        if str_of(c, "driver").is_empty() {
            causes.push(required(&child(&child(path, "csi"), "driver"), ""));
        }
    }
    if let Some(c) = get_obj(v, "iscsi") {
        let p = child(path, "iscsi");
        for f in ["targetPortal", "iqn"] {
            if str_of(c, f).is_empty() {
                causes.push(required(&child(&p, f), ""));
            }
        }
    }
}

/// Volumes: unique DNS-label names, exactly one source each. Returns the names.
fn validate_volumes(spec: &Obj, path: &str, causes: &mut Vec<Cause>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, v) in objs(spec, "volumes") {
        let p = idx(path, i);
        let name = str_of(v, "name");
        let np = child(&p, "name");
        if name.is_empty() {
            causes.push(required(&np, ""));
        } else {
            push_msgs(causes, &np, name, dns1123_label_msgs(name));
        }
        if !name.is_empty() && !names.insert(name.to_string()) {
            causes.push(duplicate(&np, &json!(name)));
        }
        one_source(v, POD_VOLUME_SOURCES, &p, causes);
        validate_common_sources(v, &p, causes);
        if let Some(s) = get_obj(v, "secret") {
            let sp = child(&p, "secret");
            if str_of(s, "secretName").is_empty() {
                causes.push(required(&child(&sp, "secretName"), ""));
            }
            file_mode(s, "defaultMode", &sp, causes);
            validate_key_to_paths(s, &sp, causes);
        }
        if let Some(s) = get_obj(v, "configMap") {
            let sp = child(&p, "configMap");
            if str_of(s, "name").is_empty() {
                causes.push(required(&child(&sp, "name"), ""));
            }
            file_mode(s, "defaultMode", &sp, causes);
            validate_key_to_paths(s, &sp, causes);
        }
        if let Some(s) = get_obj(v, "persistentVolumeClaim") {
            if str_of(s, "claimName").is_empty() {
                causes.push(required(
                    &child(&child(&p, "persistentVolumeClaim"), "claimName"),
                    "",
                ));
            }
        }
        if let Some(s) = get_obj(v, "downwardAPI") {
            let sp = child(&p, "downwardAPI");
            file_mode(s, "defaultMode", &sp, causes);
            for (j, item) in objs(s, "items") {
                let ip = idx(&child(&sp, "items"), j);
                let path_s = str_of(item, "path");
                if path_s.is_empty() {
                    causes.push(required(&child(&ip, "path"), ""));
                }
                local_nonreserved_path(path_s, &child(&ip, "path"), causes);
                file_mode(item, "mode", &ip, causes);
            }
        }
        if let Some(s) = get_obj(v, "emptyDir") {
            if let Some(q) = s.get("sizeLimit").filter(|q| !q.is_null()) {
                let qp = child(&child(&p, "emptyDir"), "sizeLimit");
                if let Some(q) = quantity_at(q, &qp, causes) {
                    if q.is_negative() {
                        causes.push(invalid_value(
                            &qp,
                            s.get("sizeLimit").unwrap_or(&Value::Null),
                            "must be greater than or equal to 0",
                        ));
                    }
                }
            }
        }
    }
    names
}

const ENV_NAME_ERR: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

fn env_name_msgs(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let ok_char = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_';
    let ok = !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|&c| ok_char(c));
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            ENV_NAME_ERR,
            "[-._a-zA-Z][-._a-zA-Z0-9]*",
            &["my.env-name", "MY_ENV.NAME", "MyEnvName1"],
        )]
    }
}

fn port_num_msgs(n: i64) -> Vec<String> {
    if (1..=65535).contains(&n) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".into()]
    }
}

pub(super) fn port_name_msgs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 15 {
        out.push(max_len_error(15));
    }
    if !s.bytes().all(|b| is_lower_alnum(b) || b == b'-') || s.is_empty() {
        out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".into());
    }
    if s.contains("--") {
        out.push("must not contain consecutive hyphens".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        out.push("must not begin or end with a hyphen".into());
    }
    out
}

/// A port number (1-65535) when given as an integer, an IANA port name when a string.
pub(super) fn port_num_or_name(v: Option<&Value>, path: &str, causes: &mut Vec<Cause>) {
    match v {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            for m in port_num_msgs(n) {
                causes.push(invalid_value(path, &json!(n), &m));
            }
        }
        Some(Value::String(s)) => push_msgs(causes, path, s, port_name_msgs(s)),
        Some(other) => causes.push(invalid_value(path, other, "must be an int or a string")),
        None => causes.push(required(path, "")),
    }
}

/// A port number field that must be 1-65535.
pub(super) fn port_num(m: &Obj, k: &str, path: &str, causes: &mut Vec<Cause>) {
    let n = get_i64(m, k).unwrap_or(0);
    for msg in port_num_msgs(n) {
        causes.push(invalid_value(&child(path, k), &json!(n), &msg));
    }
}

pub(super) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

fn validate_container(
    c: &Obj,
    path: &str,
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
    host_network: bool,
    causes: &mut Vec<Cause>,
) {
    let name = str_of(c, "name");
    let np = child(path, "name");
    if name.is_empty() {
        causes.push(required(&np, ""));
    } else {
        push_msgs(causes, &np, name, dns1123_label_msgs(name));
        if !names.insert(name.to_string()) {
            causes.push(duplicate(&np, &json!(name)));
        }
    }
    let image = str_of(c, "image");
    if image.is_empty() {
        causes.push(required(&child(path, "image"), ""));
    } else if image.trim() != image {
        causes.push(invalid(
            &child(path, "image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    one_of(
        c,
        "imagePullPolicy",
        path,
        &["Always", "IfNotPresent", "Never"],
        false,
        causes,
    );
    one_of(
        c,
        "terminationMessagePolicy",
        path,
        &["File", "FallbackToLogsOnError"],
        false,
        causes,
    );
    validate_container_ports(c, &child(path, "ports"), host_network, causes);
    validate_env(c, &child(path, "env"), causes);
    validate_env_from(c, &child(path, "envFrom"), causes);
    validate_volume_mounts(c, &child(path, "volumeMounts"), volumes, causes);
    if let Some(r) = get_obj(c, "resources") {
        validate_resources(r, &child(path, "resources"), causes);
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = get_obj(c, probe) {
            validate_probe(p, probe, &child(path, probe), causes);
        }
    }
    if let Some(lc) = get_obj(c, "lifecycle") {
        for h in ["postStart", "preStop"] {
            if let Some(hv) = get_obj(lc, h) {
                validate_handler(
                    hv,
                    &child(&child(path, "lifecycle"), h),
                    &["exec", "httpGet", "tcpSocket", "sleep"],
                    causes,
                );
            }
        }
    }
}

fn validate_container_ports(c: &Obj, path: &str, host_network: bool, causes: &mut Vec<Cause>) {
    let mut names = BTreeSet::new();
    for (i, p) in objs(c, "ports") {
        let pp = idx(path, i);
        let name = str_of(p, "name");
        if !name.is_empty() {
            let msgs = port_name_msgs(name);
            if !msgs.is_empty() {
                push_msgs(causes, &child(&pp, "name"), name, msgs);
            } else if !names.insert(name) {
                causes.push(duplicate(&child(&pp, "name"), &json!(name)));
            }
        }
        let cp = get_i64(p, "containerPort").unwrap_or(0);
        if cp == 0 {
            causes.push(required(&child(&pp, "containerPort"), ""));
        } else {
            port_num(p, "containerPort", &pp, causes);
        }
        let hp = get_i64(p, "hostPort").unwrap_or(0);
        if hp != 0 {
            port_num(p, "hostPort", &pp, causes);
            if host_network && hp != cp {
                causes.push(invalid_value(
                    &child(&pp, "hostPort"),
                    &json!(hp),
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
        one_of(p, "protocol", &pp, PROTOCOLS, false, causes);
    }
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_REFS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn validate_field_ref(f: &Obj, path: &str, causes: &mut Vec<Cause>) {
    if str_of(f, "apiVersion").is_empty() {
        causes.push(required(&child(path, "apiVersion"), ""));
    }
    let fp = str_of(f, "fieldPath");
    let fpp = child(path, "fieldPath");
    if fp.is_empty() {
        causes.push(required(&fpp, ""));
        return;
    }
    // `metadata.labels['key']` picks one label; the whole map only fits a volume file.
    for prefix in ["metadata.labels", "metadata.annotations"] {
        if let Some(sub) = fp.strip_prefix(prefix) {
            if let Some(k) = sub.strip_prefix("['").and_then(|s| s.strip_suffix("']")) {
                push_msgs(causes, &fpp, k, qualified_name_msgs(k));
                return;
            }
        }
    }
    let allowed: Vec<&str> = ENV_FIELD_PATHS
        .iter()
        .copied()
        .filter(|p| !p.starts_with("metadata.labels") && !p.starts_with("metadata.annotations"))
        .collect();
    if !allowed.contains(&fp) {
        causes.push(not_supported(&fpp, &json!(fp), &allowed));
    }
}

fn validate_key_selector(s: &Obj, path: &str, causes: &mut Vec<Cause>) {
    if str_of(s, "name").is_empty() {
        causes.push(required(&child(path, "name"), ""));
    }
    let k = str_of(s, "key");
    if k.is_empty() {
        causes.push(required(&child(path, "key"), ""));
    } else {
        push_msgs(causes, &child(path, "key"), k, config_key_msgs(k));
    }
}

fn validate_env(c: &Obj, path: &str, causes: &mut Vec<Cause>) {
    for (i, e) in objs(c, "env") {
        let p = idx(path, i);
        let name = str_of(e, "name");
        if name.is_empty() {
            causes.push(required(&child(&p, "name"), ""));
        } else {
            push_msgs(causes, &child(&p, "name"), name, env_name_msgs(name));
        }
        let Some(vf) = get_obj(e, "valueFrom") else {
            continue;
        };
        let vp = child(&p, "valueFrom");
        let refs = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
        ];
        let present = present_sources(vf, &refs);
        if let Some(f) = get_obj(vf, "fieldRef") {
            validate_field_ref(f, &child(&vp, "fieldRef"), causes);
        }
        if let Some(r) = get_obj(vf, "resourceFieldRef") {
            let rp = child(&vp, "resourceFieldRef");
            let res = str_of(r, "resource");
            if res.is_empty() {
                causes.push(required(&child(&rp, "resource"), ""));
            } else if !RESOURCE_FIELD_REFS.contains(&res) && !res.contains("hugepages-") {
                causes.push(not_supported(
                    &child(&rp, "resource"),
                    &json!(res),
                    RESOURCE_FIELD_REFS,
                ));
            }
        }
        for sel in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(s) = get_obj(vf, sel) {
                validate_key_selector(s, &child(&vp, sel), causes);
            }
        }
        match present.len() {
            0 => causes.push(invalid(
                &vp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            )),
            1 => {
                if !str_of(e, "value").is_empty() {
                    causes.push(invalid(
                        &vp,
                        "",
                        "may not be specified when `value` is not empty",
                    ));
                }
            }
            _ => causes.push(invalid(
                &vp,
                "",
                "may not have more than one field specified at a time",
            )),
        }
    }
}

fn validate_env_from(c: &Obj, path: &str, causes: &mut Vec<Cause>) {
    for (i, e) in objs(c, "envFrom") {
        let p = idx(path, i);
        if let Some(prefix) = get_str(e, "prefix").filter(|s| !s.is_empty()) {
            push_msgs(causes, &child(&p, "prefix"), prefix, env_name_msgs(prefix));
        }
        let present = present_sources(e, &["configMapRef", "secretRef"]);
        for r in &present {
            if let Some(s) = get_obj(e, r) {
                let name = str_of(s, "name");
                let rp = child(&child(&p, r), "name");
                if name.is_empty() {
                    causes.push(required(&rp, ""));
                } else {
                    push_msgs(causes, &rp, name, dns1123_subdomain_msgs(name));
                }
            }
        }
        match present.len() {
            0 => causes.push(invalid(
                &p,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            )),
            1 => {}
            _ => causes.push(invalid(
                &p,
                "",
                "may not have more than one field specified at a time",
            )),
        }
    }
}

fn validate_volume_mounts(
    c: &Obj,
    path: &str,
    volumes: &BTreeSet<String>,
    causes: &mut Vec<Cause>,
) {
    let mut mount_paths = BTreeSet::new();
    for (i, m) in objs(c, "volumeMounts") {
        let p = idx(path, i);
        let name = str_of(m, "name");
        if name.is_empty() {
            causes.push(required(&child(&p, "name"), ""));
        } else if !volumes.contains(name) {
            causes.push(not_found(&child(&p, "name"), &json!(name)));
        }
        let mp = str_of(m, "mountPath");
        if mp.is_empty() {
            causes.push(required(&child(&p, "mountPath"), ""));
        } else if !mount_paths.insert(mp) {
            causes.push(invalid(&child(&p, "mountPath"), mp, "must be unique"));
        }
        for sub in ["subPath", "subPathExpr"] {
            if let Some(s) = get_str(m, sub).filter(|s| !s.is_empty()) {
                local_descending_path(s, &child(&p, sub), causes);
            }
        }
        if !str_of(m, "subPath").is_empty() && !str_of(m, "subPathExpr").is_empty() {
            causes.push(invalid(
                &child(&p, "subPathExpr"),
                str_of(m, "subPathExpr"),
                "subPathExpr and subPath are mutually exclusive",
            ));
        }
        one_of(
            m,
            "mountPropagation",
            &p,
            &["Bidirectional", "HostToContainer", "None"],
            true,
            causes,
        );
    }
}

fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

/// Requests and limits: resource names, non-negative quantities, whole numbers for extended
/// resources, and no request above its limit.
pub(super) fn validate_resources(r: &Obj, path: &str, causes: &mut Vec<Cause>) {
    let parse = |field: &str, causes: &mut Vec<Cause>| {
        let mut out = Vec::new();
        let fp = child(path, field);
        for (name, v) in get_obj(r, field).into_iter().flatten() {
            let p = key(&fp, name);
            push_msgs(causes, &p, name, qualified_name_msgs(name));
            if !name.contains('/') && !is_standard_container_resource(name) {
                causes.push(invalid(
                    &p,
                    name,
                    "must be a standard resource for containers",
                ));
            }
            let Some(q) = quantity_at(v, &p, causes) else {
                continue;
            };
            if q.is_negative() {
                causes.push(invalid_value(&p, v, "must be greater than or equal to 0"));
            }
            if name.contains('/') && !name.starts_with("kubernetes.io/") && !q.is_integer() {
                causes.push(invalid_value(&p, v, "must be an integer"));
            }
            out.push((name.as_str(), q, v));
        }
        out
    };
    let limits = parse("limits", causes);
    let requests = parse("requests", causes);
    for (name, q, v) in requests {
        let req_path = key(&child(path, "requests"), name);
        // Extended resources and huge pages cannot be overcommitted: a request needs an
        // equal limit.
        let overcommit = (!name.contains('/') || name.starts_with("kubernetes.io/"))
            && !name.starts_with("hugepages-");
        let Some((_, lq, lv)) = limits.iter().find(|(n, _, _)| *n == name) else {
            if !overcommit {
                causes.push(required(
                    &child(path, "limits"),
                    "Limit must be set for non overcommitable resources",
                ));
            }
            continue;
        };
        let shown = lv
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| lv.to_string());
        if !overcommit && q != *lq {
            causes.push(invalid_value(
                &req_path,
                v,
                &format!("must be equal to {name} limit of {shown}"),
            ));
        } else if q > *lq {
            causes.push(invalid_value(
                &req_path,
                v,
                &format!("must be less than or equal to {name} limit of {shown}"),
            ));
        }
    }
}

fn validate_probe(p: &Obj, kind: &str, path: &str, causes: &mut Vec<Cause>) {
    validate_handler(p, path, &["exec", "httpGet", "tcpSocket", "grpc"], causes);
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        nonnegative(p, f, path, causes);
    }
    if kind != "readinessProbe" {
        if let Some(s) = get_i64(p, "successThreshold") {
            if s != 1 {
                causes.push(invalid_value(
                    &child(path, "successThreshold"),
                    &json!(s),
                    "must be 1",
                ));
            }
        }
    }
    if let Some(t) = get_i64(p, "terminationGracePeriodSeconds") {
        if kind == "readinessProbe" {
            causes.push(invalid_value(
                &child(path, "terminationGracePeriodSeconds"),
                &json!(t),
                "must not be set for readinessProbes",
            ));
        } else if t <= 0 {
            causes.push(invalid_value(
                &child(path, "terminationGracePeriodSeconds"),
                &json!(t),
                "must be greater than 0",
            ));
        }
    }
}

fn validate_handler(h: &Obj, path: &str, kinds: &[&str], causes: &mut Vec<Cause>) {
    let present = present_sources(h, kinds);
    if present.is_empty() {
        causes.push(required(path, "must specify a handler type"));
    }
    for extra in present.iter().skip(1) {
        causes.push(forbidden(
            &child(path, extra),
            "may not specify more than 1 handler type",
        ));
    }
    if let Some(e) = get_obj(h, "exec") {
        if get_arr(e, "command").is_empty() {
            causes.push(required(&child(&child(path, "exec"), "command"), ""));
        }
    }
    if let Some(g) = get_obj(h, "httpGet") {
        let gp = child(path, "httpGet");
        if str_of(g, "path").is_empty() {
            causes.push(required(&child(&gp, "path"), ""));
        }
        port_num_or_name(g.get("port"), &child(&gp, "port"), causes);
        one_of(g, "scheme", &gp, &["HTTP", "HTTPS"], false, causes);
    }
    if let Some(t) = get_obj(h, "tcpSocket") {
        let tp = child(path, "tcpSocket");
        port_num_or_name(t.get("port"), &child(&tp, "port"), causes);
    }
    if let Some(g) = get_obj(h, "grpc") {
        port_num(g, "port", &child(path, "grpc"), causes);
    }
    if let Some(s) = get_obj(h, "sleep") {
        let secs = get_i64(s, "seconds").unwrap_or(0);
        if secs < 0 {
            causes.push(invalid_value(
                &child(&child(path, "sleep"), "seconds"),
                &json!(secs),
                "must be non-negative",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn minimal_pod_defaults_match_upstream() {
        let pod = defaulted(
            "v1",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "default"},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}),
        );
        // What `kubectl run nginx --image=nginx` stores upstream (less the service account
        // token volume, which needs the token controller).
        let expected = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "default"},
            "spec": {
                "containers": [{
                    "name": "nginx", "image": "nginx", "imagePullPolicy": "Always",
                    "resources": {}, "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
                ]
            },
            "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        assert_eq!(pod, expected);
        assert!(check("v1", "Pod", &pod, None).is_empty());
        // Defaulting twice changes nothing (updates run it again).
        assert_eq!(defaulted("v1", "Pod", pod.clone()), pod);
    }

    #[test]
    fn container_and_volume_defaults() {
        let pod = defaulted(
            "v1",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {
                "containers": [{"name": "a", "image": "registry:5000/app:1.2",
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}
                }, {"name": "b", "image": "busybox@sha256:0123"}],
                "volumes": [{"name": "v1"}, {"name": "v2", "configMap": {"name": "c"}},
                    {"name": "v3", "secret": {"secretName": "s"}}, {"name": "v4", "hostPath": {"path": "/x"}},
                    {"name": "v5", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]
            }}),
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            pod["spec"]["containers"][1]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(c["env"][1]["valueFrom"]["resourceFieldRef"]["divisor"], "0");
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
        assert_eq!(
            c["resources"]["requests"],
            json!({"cpu": "1", "memory": "1Gi"})
        );
        let v = &pod["spec"]["volumes"];
        assert_eq!(v[0]["emptyDir"], json!({}));
        assert_eq!(v[1]["configMap"]["defaultMode"], 420);
        assert_eq!(v[2]["secret"]["defaultMode"], 420);
        assert_eq!(v[3]["hostPath"]["type"], "");
        assert_eq!(v[4]["projected"]["defaultMode"], 420);
        assert_eq!(
            v[4]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
        assert_eq!(pod["status"]["qosClass"], "Burstable");
        assert_eq!(pull_policy_for("nginx:latest"), "Always");
        assert_eq!(pull_policy_for("localhost:5000/nginx"), "Always");
        assert_eq!(pull_policy_for("nginx:1.25"), "IfNotPresent");
    }

    #[test]
    fn qos_classes() {
        let qos = |containers: Value| {
            let spec = json!({"containers": containers});
            let mut pod = json!({"metadata": {"name": "p"}, "spec": spec});
            default_pod(pod.as_object_mut().unwrap());
            pod["status"]["qosClass"].as_str().unwrap().to_string()
        };
        assert_eq!(qos(json!([{"name": "a", "image": "x"}])), "BestEffort");
        assert_eq!(
            qos(
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}])
            ),
            "Guaranteed"
        );
        assert_eq!(
            qos(json!([{"name": "a", "image": "x", "resources": {
                "limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "1000m", "memory": "128Mi"}}}])),
            "Guaranteed"
        );
        assert_eq!(
            qos(json!([{"name": "a", "image": "x", "resources": {"requests": {"cpu": "100m"}}}])),
            "Burstable"
        );
        assert_eq!(
            qos(
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                       {"name": "b", "image": "x"}])
            ),
            "Burstable"
        );
    }

    fn pod_errors(spec: Value) -> Vec<(String, &'static str)> {
        errors(
            "v1",
            "Pod",
            json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec}),
        )
    }

    #[test]
    fn container_rules() {
        let e = pod_errors(json!({"containers": []}));
        assert_has(&e, "spec.containers", "FieldValueRequired");
        let e = pod_errors(json!({"containers": [
            {"name": "a", "image": ""},
            {"name": "a", "image": "x"},
            {"name": "Bad_Name", "image": "x", "imagePullPolicy": "Sometimes"},
            {"image": "x"}
        ]}));
        assert_has(&e, "spec.containers[0].image", "FieldValueRequired");
        assert_has(&e, "spec.containers[1].name", "FieldValueDuplicate");
        assert_has(&e, "spec.containers[2].name", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.containers[2].imagePullPolicy",
            "FieldValueNotSupported",
        );
        assert_has(&e, "spec.containers[3].name", "FieldValueRequired");
        let e = pod_errors(json!({"containers": [{"name": "a", "image": "x"}],
            "initContainers": [{"name": "a", "image": "x", "livenessProbe": {"exec": {"command": ["x"]}}}]}));
        assert_has(&e, "spec.initContainers[0].name", "FieldValueDuplicate");
        assert_has(
            &e,
            "spec.initContainers[0].livenessProbe",
            "FieldValueForbidden",
        );
    }

    #[test]
    fn port_rules() {
        let e = pod_errors(json!({"containers": [{"name": "a", "image": "x", "ports": [
            {"containerPort": 0},
            {"containerPort": 70000, "hostPort": -1},
            {"containerPort": 80, "protocol": "ICMP", "name": "http"},
            {"containerPort": 81, "name": "http"},
            {"containerPort": 82, "name": "Not--Valid-Name-Too-Long"}
        ]}]}));
        assert_has(
            &e,
            "spec.containers[0].ports[0].containerPort",
            "FieldValueRequired",
        );
        assert_has(
            &e,
            "spec.containers[0].ports[1].containerPort",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].ports[1].hostPort",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].ports[2].protocol",
            "FieldValueNotSupported",
        );
        assert_has(
            &e,
            "spec.containers[0].ports[3].name",
            "FieldValueDuplicate",
        );
        assert_has(&e, "spec.containers[0].ports[4].name", "FieldValueInvalid");
    }

    #[test]
    fn env_rules() {
        let e = pod_errors(json!({"containers": [{"name": "a", "image": "x", "env": [
            {"name": "1BAD"},
            {"name": ""},
            {"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "B", "valueFrom": {}},
            {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}},
            {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a"}, "secretKeyRef": {"name": "s", "key": "b"}}},
            {"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": "bad/key"}}},
            {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}
        ], "envFrom": [{}]}]}));
        assert_has(&e, "spec.containers[0].env[0].name", "FieldValueInvalid");
        assert_has(&e, "spec.containers[0].env[1].name", "FieldValueRequired");
        assert_has(
            &e,
            "spec.containers[0].env[2].valueFrom",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].env[3].valueFrom",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].env[4].valueFrom.fieldRef.fieldPath",
            "FieldValueNotSupported",
        );
        assert_has(
            &e,
            "spec.containers[0].env[5].valueFrom",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].env[6].valueFrom.secretKeyRef.key",
            "FieldValueInvalid",
        );
        assert!(
            !e.iter()
                .any(|(f, _)| f.starts_with("spec.containers[0].env[7]")),
            "{e:?}"
        );
        assert_has(&e, "spec.containers[0].envFrom[0]", "FieldValueInvalid");
    }

    #[test]
    fn volume_rules() {
        let e = pod_errors(
            json!({"containers": [{"name": "a", "image": "x", "volumeMounts": [
                {"name": "data", "mountPath": "/d"},
                {"name": "missing", "mountPath": "/d"},
                {"name": "data", "mountPath": ""},
                {"name": "data", "mountPath": "/e", "subPath": "../x"}
            ]}], "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "data", "emptyDir": {}},
                {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}},
                {"name": "Bad_Name", "secret": {"defaultMode": 1000}},
                {"name": "cm", "configMap": {"name": "c", "items": [{"key": "", "path": "/abs"}]}},
                {"name": "hp", "hostPath": {"path": "/x", "type": "Weird"}},
                {"name": "pvc", "persistentVolumeClaim": {}}
            ]}),
        );
        assert_has(
            &e,
            "spec.containers[0].volumeMounts[1].name",
            "FieldValueNotFound",
        );
        assert_has(
            &e,
            "spec.containers[0].volumeMounts[1].mountPath",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[0].volumeMounts[2].mountPath",
            "FieldValueRequired",
        );
        assert_has(
            &e,
            "spec.containers[0].volumeMounts[3].subPath",
            "FieldValueInvalid",
        );
        assert_has(&e, "spec.volumes[1].name", "FieldValueDuplicate");
        assert_has(&e, "spec.volumes[2].emptyDir", "FieldValueForbidden");
        assert_has(&e, "spec.volumes[3].name", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.volumes[3].secret.secretName",
            "FieldValueRequired",
        );
        assert_has(
            &e,
            "spec.volumes[3].secret.defaultMode",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.volumes[4].configMap.items[0].key",
            "FieldValueRequired",
        );
        assert_has(
            &e,
            "spec.volumes[4].configMap.items[0].path",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.volumes[5].hostPath.type",
            "FieldValueNotSupported",
        );
        assert_has(
            &e,
            "spec.volumes[6].persistentVolumeClaim.claimName",
            "FieldValueRequired",
        );
        // A volume with no source in a stored object (defaults not applied) is reported.
        let spec = json!({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always",
            "terminationMessagePolicy": "File"}], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "volumes": [{"name": "v"}]});
        let mut causes = Vec::new();
        validate_pod_spec(spec.as_object().unwrap(), "spec", &mut causes);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec.volumes[0]");
        assert_eq!(
            causes[0].message,
            "Required value: must specify a volume type"
        );
    }

    #[test]
    fn resource_rules() {
        let e = pod_errors(
            json!({"containers": [{"name": "a", "image": "x", "resources": {
                "limits": {"cpu": "500m", "memory": "bogus", "example.com/gpu": "1.5", "widgets": "1", "example.com/fpga": "2"},
                "requests": {"cpu": "1", "ephemeral-storage": "-1", "example.com/fpga": "1"}
            }}, {"name": "b", "image": "x", "resources": {"requests": {"example.com/gpu": "1"}}}]}),
        );
        let p = "spec.containers[0].resources";
        assert_has(&e, &format!("{p}.requests[cpu]"), "FieldValueInvalid");
        assert_has(&e, &format!("{p}.limits[memory]"), "FieldValueInvalid");
        assert_has(
            &e,
            &format!("{p}.limits[example.com/gpu]"),
            "FieldValueInvalid",
        );
        assert_has(&e, &format!("{p}.limits[widgets]"), "FieldValueInvalid");
        assert_has(
            &e,
            &format!("{p}.requests[ephemeral-storage]"),
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            &format!("{p}.requests[example.com/fpga]"),
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.containers[1].resources.limits",
            "FieldValueRequired",
        );
        let pod = defaulted(
            "v1",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "x", "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}}]}}),
        );
        let causes = check("v1", "Pod", &pod, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].message,
            "Invalid value: \"1\": must be less than or equal to cpu limit of 500m"
        );
    }

    #[test]
    fn probe_and_policy_rules() {
        let e = pod_errors(json!({"restartPolicy": "Sometimes", "dnsPolicy": "Nope",
            "activeDeadlineSeconds": 0,
            "containers": [{"name": "a", "image": "x",
            "livenessProbe": {},
            "readinessProbe": {"httpGet": {"port": 0}, "exec": {"command": []}, "terminationGracePeriodSeconds": 5},
            "startupProbe": {"tcpSocket": {"port": "http"}, "successThreshold": 2, "initialDelaySeconds": -1}
        }], "tolerations": [{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v"},
            {"key": "k", "effect": "Sometimes"}]}));
        let p = "spec.containers[0]";
        assert_has(&e, "spec.restartPolicy", "FieldValueNotSupported");
        assert_has(&e, "spec.dnsPolicy", "FieldValueNotSupported");
        assert_has(&e, "spec.activeDeadlineSeconds", "FieldValueInvalid");
        assert_has(&e, &format!("{p}.livenessProbe"), "FieldValueRequired");
        assert_has(
            &e,
            &format!("{p}.readinessProbe.httpGet"),
            "FieldValueForbidden",
        );
        assert_has(
            &e,
            &format!("{p}.readinessProbe.exec.command"),
            "FieldValueRequired",
        );
        assert_has(
            &e,
            &format!("{p}.readinessProbe.httpGet.port"),
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            &format!("{p}.readinessProbe.terminationGracePeriodSeconds"),
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            &format!("{p}.startupProbe.successThreshold"),
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            &format!("{p}.startupProbe.initialDelaySeconds"),
            "FieldValueInvalid",
        );
        assert_has(&e, "spec.tolerations[0].operator", "FieldValueInvalid");
        assert_has(&e, "spec.tolerations[1].operator", "FieldValueInvalid");
        assert_has(&e, "spec.tolerations[2].effect", "FieldValueNotSupported");
        let e =
            pod_errors(json!({"dnsPolicy": "None", "containers": [{"name": "a", "image": "x"}]}));
        assert_has(&e, "spec.dnsConfig", "FieldValueRequired");
    }

    #[test]
    fn ephemeral_containers_are_added_never_changed_or_removed() {
        let old = defaulted(
            "v1",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:1"}],
                "ephemeralContainers": [{"name": "dbg", "image": "x:1"}]}}),
        );
        let mut added = old.clone();
        added["spec"]["ephemeralContainers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "dbg2", "image": "x:1"}));
        assert!(check("v1", "Pod", &added, Some(&old)).is_empty());
        let mut changed = old.clone();
        changed["spec"]["ephemeralContainers"][0]["image"] = json!("x:2");
        let causes = check("v1", "Pod", &changed, Some(&old));
        assert_eq!(causes[0].field, "spec.ephemeralContainers[0]");
        let mut removed = old.clone();
        removed["spec"]["ephemeralContainers"] = json!([]);
        let causes = check("v1", "Pod", &removed, Some(&old));
        assert_eq!(causes[0].field, "spec.ephemeralContainers");
    }

    #[test]
    fn pod_updates_only_change_images_and_few_fields() {
        let old = defaulted(
            "v1",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:1"}]}}),
        );
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("x:2");
        new["spec"]["nodeName"] = json!("node-1");
        assert!(check("v1", "Pod", &new, Some(&old)).is_empty());
        new["spec"]["restartPolicy"] = json!("Never");
        let causes = check("v1", "Pod", &new, Some(&old));
        assert_eq!(causes.len(), 1);
        assert_eq!(
            (causes[0].field.as_str(), causes[0].reason),
            ("spec", "FieldValueForbidden")
        );
    }
}
