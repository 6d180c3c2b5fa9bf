//! apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.

use serde_json::{json, Value};

use super::core::validate_pvc_spec;
use super::pod::{default_template, validate_pod_spec};
use super::*;

// ---------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------

pub(super) fn default_deployment(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = obj_mut(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate" {
            if let Some(ru) = obj_mut(strategy, "rollingUpdate") {
                set_default(ru, "maxUnavailable", json!("25%"));
                set_default(ru, "maxSurge", json!("25%"));
            }
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec);
}

pub(super) fn default_replicaset(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    default_template(spec);
}

pub(super) fn default_statefulset(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(us) = obj_mut(spec, "updateStrategy") {
        if is_empty_str(us.get("type")) {
            us.insert("type".into(), json!("RollingUpdate"));
            set_default(us, "rollingUpdate", json!({}));
        }
        if str_of(us, "type") == "RollingUpdate" {
            if let Some(ru) = existing_mut(us, "rollingUpdate") {
                set_default(ru, "partition", json!(0));
            }
        }
    }
    if let Some(p) = obj_mut(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(p, "whenDeleted", "Retain");
        default_str(p, "whenScaled", "Retain");
    }
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
    for t in objs_mut(spec, "volumeClaimTemplates") {
        default_str(t, "apiVersion", "v1");
        default_str(t, "kind", "PersistentVolumeClaim");
        if let Some(s) = obj_mut(t, "spec") {
            default_str(s, "volumeMode", "Filesystem");
        }
        if let Some(s) = obj_mut(t, "status") {
            default_str(s, "phase", "Pending");
        }
    }
}

pub(super) fn default_daemonset(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    if let Some(us) = obj_mut(spec, "updateStrategy") {
        default_str(us, "type", "RollingUpdate");
        if str_of(us, "type") == "RollingUpdate" {
            if let Some(ru) = obj_mut(us, "rollingUpdate") {
                set_default(ru, "maxUnavailable", json!(1));
                set_default(ru, "maxSurge", json!(0));
            }
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
}

// ---------------------------------------------------------------------------------------
// Validation shared by the controllers of pods
// ---------------------------------------------------------------------------------------

/// `spec.selector` present, well-formed and not empty; `spec.template` labels selected by it;
/// the template a valid pod template. Returns nothing; the checks push causes.
pub(super) fn validate_selector_and_template(
    spec: &Obj,
    path: &str,
    kind: &str,
    selector_required: bool,
    causes: &mut Vec<Cause>,
) {
    let sel_path = child(path, "selector");
    let selector = get_obj(spec, "selector");
    match selector {
        None if selector_required => causes.push(required(&sel_path, "")),
        None => {}
        Some(sel) => {
            validate_label_selector(sel, &sel_path, causes);
            if selector_is_empty(sel) && !kind.is_empty() {
                causes.push(invalid_value(
                    &sel_path,
                    &Value::Object(sel.clone()),
                    &format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
    let tpath = child(path, "template");
    let Some(template) = get_obj(spec, "template") else {
        causes.push(required(&tpath, ""));
        return;
    };
    validate_template(template, &tpath, selector, causes);
}

/// A pod template: its labels and annotations, the selector matching them, its PodSpec.
pub(super) fn validate_template(
    template: &Obj,
    tpath: &str,
    selector: Option<&Obj>,
    causes: &mut Vec<Cause>,
) {
    let meta = get_obj(template, "metadata");
    let labels = meta.and_then(|m| get_obj(m, "labels"));
    let lpath = child(&child(tpath, "metadata"), "labels");
    validate_labels(meta.and_then(|m| m.get("labels")), &lpath, causes);
    validate_annotations(
        meta.and_then(|m| m.get("annotations")),
        &child(&child(tpath, "metadata"), "annotations"),
        causes,
    );
    if let Some(sel) = selector {
        if !selector_is_empty(sel) && !selector_matches(sel, labels) {
            causes.push(invalid_value(
                &lpath,
                &labels.cloned().map(Value::Object).unwrap_or(Value::Null),
                "`selector` does not match template `labels`",
            ));
        }
    }
    match get_obj(template, "spec") {
        Some(ps) => validate_pod_spec(ps, &child(tpath, "spec"), causes),
        None => causes.push(required(&child(&child(tpath, "spec"), "containers"), "")),
    }
}

/// Pods of long-running controllers restart forever and have no deadline.
fn long_running_template(spec: &Obj, path: &str, owner: &str, causes: &mut Vec<Cause>) {
    let Some(ps) = get_obj(spec, "template").and_then(|t| get_obj(t, "spec")) else {
        return;
    };
    let sp = child(&child(path, "template"), "spec");
    if let Some(rp) = ps.get("restartPolicy") {
        if rp.as_str() != Some("Always") {
            causes.push(not_supported(&child(&sp, "restartPolicy"), rp, &["Always"]));
        }
    }
    if !is_unset(ps.get("activeDeadlineSeconds")) {
        causes.push(forbidden(
            &child(&sp, "activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
}

const PERCENT_MSG: &str =
    "a valid percent string must be a numeric string followed by an ending '%'";

/// An int (>= 0) or a percentage string; returns the value when it is zero-ish-comparable:
/// `Some(0)` for 0 or "0%", `Some(1)` for anything else valid.
fn int_or_percent(
    v: Option<&Value>,
    path: &str,
    max_100: bool,
    causes: &mut Vec<Cause>,
) -> Option<i64> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(-1);
            if n < 0 {
                causes.push(invalid_value(
                    path,
                    &json!(n),
                    "must be greater than or equal to 0",
                ));
            }
            Some(n)
        }
        Some(Value::String(s)) => {
            let digits = s.strip_suffix('%').unwrap_or("");
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                causes.push(invalid(
                    path,
                    s,
                    &regex_error(PERCENT_MSG, "[0-9]+%", &["1%", "93%"]),
                ));
                return None;
            }
            let pct: i64 = digits.parse().unwrap_or(i64::MAX);
            if max_100 && pct > 100 {
                causes.push(invalid(path, s, "must not be greater than 100%"));
            }
            Some(pct)
        }
        Some(other) => {
            causes.push(invalid_value(
                path,
                other,
                "must be an integer or percentage (e.g '5%')",
            ));
            None
        }
    }
}

fn selector_immutable(spec: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    if let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) {
        immutable(
            "spec.selector",
            spec.get("selector"),
            old_spec.get("selector"),
            causes,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------

pub(super) fn validate_deployment(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    for f in [
        "replicas",
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        nonnegative(spec, f, "spec", causes);
    }
    validate_selector_and_template(spec, "spec", "deployment", true, causes);
    long_running_template(spec, "spec", "ReplicaSet", causes);
    let strategy_path = "spec.strategy";
    if let Some(strategy) = get_obj(spec, "strategy") {
        one_of(
            strategy,
            "type",
            strategy_path,
            &["Recreate", "RollingUpdate"],
            false,
            causes,
        );
        let ru = get_obj(strategy, "rollingUpdate");
        match str_of(strategy, "type") {
            "Recreate" if ru.is_some() => causes.push(forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )),
            "RollingUpdate" => {
                if let Some(ru) = ru {
                    let rp = "spec.strategy.rollingUpdate";
                    let mu_path = child(rp, "maxUnavailable");
                    let mu = int_or_percent(ru.get("maxUnavailable"), &mu_path, true, causes);
                    let ms =
                        int_or_percent(ru.get("maxSurge"), &child(rp, "maxSurge"), false, causes);
                    if mu == Some(0) && ms == Some(0) {
                        causes.push(invalid_value(
                            &mu_path,
                            ru.get("maxUnavailable").unwrap_or(&Value::Null),
                            "may not be 0 when `maxSurge` is 0",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if let (Some(pd), Some(mr)) = (
        get_i64(spec, "progressDeadlineSeconds"),
        get_i64(spec, "minReadySeconds"),
    ) {
        if pd <= mr {
            causes.push(invalid_value(
                "spec.progressDeadlineSeconds",
                &json!(pd),
                "must be greater than minReadySeconds",
            ));
        }
    }
    selector_immutable(spec, old, causes);
}

pub(super) fn validate_replicaset(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    for f in ["replicas", "minReadySeconds"] {
        nonnegative(spec, f, "spec", causes);
    }
    validate_selector_and_template(spec, "spec", "replicaset", true, causes);
    long_running_template(spec, "spec", "ReplicaSet", causes);
    selector_immutable(spec, old, causes);
}

const STS_UPDATE_MSG: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

pub(super) fn validate_statefulset(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    match str_of(spec, "podManagementPolicy") {
        "" => causes.push(required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => causes.push(invalid(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let us = get_obj(spec, "updateStrategy");
    let ru = us.and_then(|u| get_obj(u, "rollingUpdate"));
    match us.map(|u| str_of(u, "type")).unwrap_or("") {
        "" => causes.push(required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(ru) = ru {
                causes.push(invalid_value(
                    "spec.updateStrategy.rollingUpdate",
                    &Value::Object(ru.clone()),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = ru {
                nonnegative(ru, "partition", "spec.updateStrategy.rollingUpdate", causes);
                if let Some(mu) = int_or_percent(
                    ru.get("maxUnavailable"),
                    "spec.updateStrategy.rollingUpdate.maxUnavailable",
                    true,
                    causes,
                ) {
                    if mu == 0 {
                        causes.push(invalid_value(
                            "spec.updateStrategy.rollingUpdate.maxUnavailable",
                            ru.get("maxUnavailable").unwrap_or(&Value::Null),
                            "must be greater than 0",
                        ));
                    }
                }
            }
        }
        _ => causes.push(invalid_value(
            "spec.updateStrategy",
            &us.cloned().map(Value::Object).unwrap_or(Value::Null),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(p) = get_obj(spec, "persistentVolumeClaimRetentionPolicy") {
        for f in ["whenDeleted", "whenScaled"] {
            one_of(
                p,
                f,
                "spec.persistentVolumeClaimRetentionPolicy",
                &["Retain", "Delete"],
                false,
                causes,
            );
        }
    }
    for f in ["replicas", "minReadySeconds", "revisionHistoryLimit"] {
        nonnegative(spec, f, "spec", causes);
    }
    if let Some(o) = get_obj(spec, "ordinals") {
        nonnegative(o, "start", "spec.ordinals", causes);
    }
    validate_selector_and_template(spec, "spec", "statefulset", true, causes);
    long_running_template(spec, "spec", "StatefulSet", causes);
    for (i, t) in objs(spec, "volumeClaimTemplates") {
        let p = idx("spec.volumeClaimTemplates", i);
        let name = get_obj(t, "metadata")
            .map(|m| str_of(m, "name"))
            .unwrap_or("");
        if name.is_empty() {
            causes.push(required(&child(&child(&p, "metadata"), "name"), ""));
        }
        match get_obj(t, "spec") {
            Some(s) => validate_pvc_spec(s, &child(&p, "spec"), causes),
            None => causes.push(required(&child(&p, "spec"), "")),
        }
    }
    if let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) {
        let mask = |s: &Obj| {
            let mut s = s.clone();
            for f in [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ] {
                s.remove(f);
            }
            s
        };
        if mask(spec) != mask(old_spec) {
            causes.push(forbidden("spec", STS_UPDATE_MSG));
        }
    }
}

pub(super) fn validate_daemonset(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    validate_selector_and_template(spec, "spec", "daemonset", true, causes);
    long_running_template(spec, "spec", "DaemonSet", causes);
    for f in ["minReadySeconds", "revisionHistoryLimit"] {
        nonnegative(spec, f, "spec", causes);
    }
    if let Some(us) = get_obj(spec, "updateStrategy") {
        one_of(
            us,
            "type",
            "spec.updateStrategy",
            &["OnDelete", "RollingUpdate"],
            false,
            causes,
        );
        if str_of(us, "type") == "RollingUpdate" {
            if let Some(ru) = get_obj(us, "rollingUpdate") {
                let rp = "spec.updateStrategy.rollingUpdate";
                let mu = int_or_percent(
                    ru.get("maxUnavailable"),
                    &child(rp, "maxUnavailable"),
                    true,
                    causes,
                );
                let ms = int_or_percent(ru.get("maxSurge"), &child(rp, "maxSurge"), true, causes);
                let (mu, ms) = (mu.unwrap_or(0), ms.unwrap_or(0));
                if mu != 0 && ms != 0 {
                    causes.push(invalid_value(
                        &child(rp, "maxSurge"),
                        ru.get("maxSurge").unwrap_or(&Value::Null),
                        "may not be set when maxUnavailable is non-zero",
                    ));
                } else if mu == 0 && ms == 0 {
                    causes.push(required(
                        &child(rp, "maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ));
                }
            }
        }
    }
    selector_immutable(spec, old, causes);
}

pub(super) fn validate_controllerrevision(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    if is_unset(obj.get("data")) {
        causes.push(required("data", "data is mandatory"));
    }
    nonnegative(obj, "revision", "", causes);
    if let Some(old) = old {
        immutable("data", obj.get("data"), old.get("data"), causes);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    fn nginx_template() -> Value {
        json!({"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}})
    }

    fn defaulted_template() -> Value {
        json!({"metadata": {"labels": {"app": "nginx"}}, "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.14.2", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
            "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "securityContext": {}, "terminationGracePeriodSeconds": 30}})
    }

    #[test]
    fn deployment_defaults_match_upstream() {
        let d = defaulted(
            "apps/v1",
            "Deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template()}}),
        );
        assert_eq!(
            d,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 3,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "nginx"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                "template": defaulted_template()
            }})
        );
        assert!(check("apps/v1", "Deployment", &d, None).is_empty());
        let minimal = defaulted(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "x"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "strategy": {"type": "Recreate"}}}),
        );
        assert_eq!(minimal["spec"]["replicas"], 1);
        assert_eq!(minimal["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn deployment_rules() {
        let e = errors(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {"template": nginx_template()}}),
        );
        assert_has(&e, "spec.selector", "FieldValueRequired");
        let mut t = nginx_template();
        t["spec"]["restartPolicy"] = json!("Never");
        t["spec"]["activeDeadlineSeconds"] = json!(5);
        let e = errors(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {
            "replicas": -1, "selector": {"matchLabels": {"app": "other"}}, "template": t,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}},
            "minReadySeconds": 700}}),
        );
        assert_has(&e, "spec.replicas", "FieldValueInvalid");
        assert_has(&e, "spec.template.metadata.labels", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        assert_has(
            &e,
            "spec.template.spec.activeDeadlineSeconds",
            "FieldValueForbidden",
        );
        assert_has(
            &e,
            "spec.strategy.rollingUpdate.maxUnavailable",
            "FieldValueInvalid",
        );
        assert_has(&e, "spec.progressDeadlineSeconds", "FieldValueInvalid");
        let e = errors(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {
            "selector": {}, "template": nginx_template(),
            "strategy": {"type": "Recreate", "rollingUpdate": {}}}}),
        );
        assert_has(&e, "spec.selector", "FieldValueInvalid");
        assert_has(&e, "spec.strategy.rollingUpdate", "FieldValueForbidden");
        let e = errors(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "strategy": {"type": "Blue", "rollingUpdate": {"maxUnavailable": "150%", "maxSurge": "x"}}}}),
        );
        assert_has(&e, "spec.strategy.type", "FieldValueNotSupported");
        let e = errors(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "strategy": {"rollingUpdate": {"maxUnavailable": "150%", "maxSurge": "x"}}}}),
        );
        assert_has(
            &e,
            "spec.strategy.rollingUpdate.maxUnavailable",
            "FieldValueInvalid",
        );
        assert_has(
            &e,
            "spec.strategy.rollingUpdate.maxSurge",
            "FieldValueInvalid",
        );
        // The selector is fixed at creation.
        let old = defaulted(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template()}}),
        );
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["tier"] = json!("web");
        new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("web");
        let e = update_errors("apps/v1", "Deployment", &new, Some(&old));
        assert_eq!(e, [("spec.selector".to_string(), "FieldValueInvalid")]);
    }

    #[test]
    fn replicaset_rules() {
        let rs = defaulted(
            "apps/v1",
            "ReplicaSet",
            json!({"metadata": {"name": "r"}, "spec": {
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["nginx"]}]}, "template": nginx_template()}}),
        );
        assert_eq!(rs["spec"]["replicas"], 1);
        assert!(check("apps/v1", "ReplicaSet", &rs, None).is_empty());
        let e = errors(
            "apps/v1",
            "ReplicaSet",
            json!({"metadata": {"name": "r"}, "spec": {"replicas": -2,
            "selector": {"matchLabels": {"app": "x"}}, "template": nginx_template()}}),
        );
        assert_has(&e, "spec.replicas", "FieldValueInvalid");
        assert_has(&e, "spec.template.metadata.labels", "FieldValueInvalid");
    }

    #[test]
    fn statefulset_defaults_match_upstream() {
        let s = defaulted(
            "apps/v1",
            "StatefulSet",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx", "replicas": 3,
                "template": nginx_template(),
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        );
        assert_eq!(
            s,
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady",
                "replicas": 3,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "nginx"}},
                "serviceName": "nginx",
                "template": defaulted_template(),
                "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "www"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                        "volumeMode": "Filesystem"},
                    "status": {"phase": "Pending"}}]
            }})
        );
        assert!(check("apps/v1", "StatefulSet", &s, None).is_empty());
        let ondelete = defaulted(
            "apps/v1",
            "StatefulSet",
            json!({"metadata": {"name": "w"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(), "updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(
            ondelete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }

    #[test]
    fn statefulset_rules() {
        let e = errors(
            "apps/v1",
            "StatefulSet",
            json!({"metadata": {"name": "w"}, "spec": {
            "podManagementPolicy": "Random", "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"},
            "volumeClaimTemplates": [{"metadata": {}, "spec": {}}]}}),
        );
        assert_has(&e, "spec.podManagementPolicy", "FieldValueInvalid");
        assert_has(&e, "spec.updateStrategy.rollingUpdate", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            "FieldValueNotSupported",
        );
        assert_has(
            &e,
            "spec.volumeClaimTemplates[0].metadata.name",
            "FieldValueRequired",
        );
        assert_has(
            &e,
            "spec.volumeClaimTemplates[0].spec.accessModes",
            "FieldValueRequired",
        );
        let e = errors(
            "apps/v1",
            "StatefulSet",
            json!({"metadata": {"name": "w"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "updateStrategy": {"type": "Sometimes"}}}),
        );
        assert_has(&e, "spec.updateStrategy", "FieldValueInvalid");
        let old = defaulted(
            "apps/v1",
            "StatefulSet",
            json!({"metadata": {"name": "w"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(), "serviceName": "a"}}),
        );
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        assert!(check("apps/v1", "StatefulSet", &new, Some(&old)).is_empty());
        new["spec"]["serviceName"] = json!("b");
        let e = update_errors("apps/v1", "StatefulSet", &new, Some(&old));
        assert_eq!(e, [("spec".to_string(), "FieldValueForbidden")]);
    }

    #[test]
    fn daemonset_defaults_and_rules() {
        let ds = defaulted(
            "apps/v1",
            "DaemonSet",
            json!({"metadata": {"name": "ds"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template()}}),
        );
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        assert!(check("apps/v1", "DaemonSet", &ds, None).is_empty());
        let e = errors(
            "apps/v1",
            "DaemonSet",
            json!({"metadata": {"name": "ds"}, "spec": {
            "selector": {"matchLabels": {"app": "nginx"}}, "template": nginx_template(),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}}}),
        );
        assert_has(
            &e,
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "FieldValueRequired",
        );
        let e = errors(
            "apps/v1",
            "DaemonSet",
            json!({"metadata": {"name": "ds"}, "spec": {
            "selector": {}, "template": nginx_template(), "updateStrategy": {"type": "Never"}}}),
        );
        assert_has(&e, "spec.selector", "FieldValueInvalid");
        assert_has(&e, "spec.updateStrategy.type", "FieldValueNotSupported");
    }

    #[test]
    fn controllerrevision_rules() {
        let e = errors(
            "apps/v1",
            "ControllerRevision",
            json!({"metadata": {"name": "r"}, "revision": -1}),
        );
        assert_has(&e, "data", "FieldValueRequired");
        assert_has(&e, "revision", "FieldValueInvalid");
        let old = json!({"metadata": {"name": "r"}, "revision": 1, "data": {"a": 1}});
        let new = json!({"metadata": {"name": "r"}, "revision": 2, "data": {"a": 2}});
        let e = update_errors("apps/v1", "ControllerRevision", &new, Some(&old));
        assert_eq!(e, [("data".to_string(), "FieldValueInvalid")]);
    }
}
