//! The pod status the agent reports: phase, conditions, IPs, QoS class and
//! each container's state, computed from the worker's view (the kubelet's
//! `generateAPIPodStatus`, reduced to what a node without sidecars needs).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use serde_json::{json, Value};
use skiff_engine::{ContainerRecord, Status};

use crate::worker::{Slot, Worker};
use crate::AgentConfig;

/// Now, as Kubernetes writes times (RFC 3339, seconds, UTC).
pub(crate) fn now() -> String {
    k8s_openapi::chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn parse_time(t: &str) -> Option<k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>> {
    k8s_openapi::chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&k8s_openapi::chrono::Utc))
}

/// An engine timestamp in the API's form.
fn api_time(t: Option<&str>) -> Value {
    match t.and_then(parse_time) {
        Some(d) => json!(d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

pub(crate) fn duration_between(start: Option<&str>, end: Option<&str>) -> Option<Duration> {
    let (s, e) = (parse_time(start?)?, parse_time(end?)?);
    (e - s).to_std().ok()
}

/// Guaranteed, Burstable or BestEffort, as Kubernetes computes it.
pub(crate) fn qos_class(spec: &PodSpec) -> &'static str {
    let all: Vec<&Container> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &all {
        let r = c.resources.clone().unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        let requests = r.requests.unwrap_or_default();
        for res in ["cpu", "memory"] {
            let limit = limits.get(res).map(|q| q.0.clone());
            let request = requests.get(res).map(|q| q.0.clone()).or(limit.clone());
            if limit.is_some() || request.is_some() {
                any = true;
            }
            let same = match (res, &limit, &request) {
                ("cpu", Some(l), Some(r)) => parse_millis(l) == parse_millis(r),
                (_, Some(l), Some(r)) => parse_bytes(l) == parse_bytes(r),
                _ => false,
            };
            if !same {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

pub(crate) fn parse_millis(q: &str) -> Option<i64> {
    crate::env::quantity::parse(q)
        .ok()
        .and_then(|n| i64::try_from(n.milli_value()).ok())
}

pub(crate) fn parse_bytes(q: &str) -> Option<i64> {
    crate::env::quantity::parse(q)
        .ok()
        .and_then(|n| i64::try_from(n.value()).ok())
}

/// One instance's `state` (or `lastState`) object.
fn instance_state(r: &ContainerRecord) -> Value {
    match r.live_status() {
        Status::Running | Status::Restarting => {
            json!({"running": {"startedAt": api_time(r.state.started_at.as_deref())}})
        }
        Status::Created => json!({"waiting": {"reason": "ContainerCreating"}}),
        Status::Exited => {
            let code = r.state.exit_code.unwrap_or(137);
            let reason = if r.state.oom_killed {
                "OOMKilled"
            } else if code == 0 {
                "Completed"
            } else {
                "Error"
            };
            json!({"terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": api_time(r.state.started_at.as_deref()),
                "finishedAt": api_time(r.state.finished_at.as_deref()),
                "containerID": format!("skiff://{}", r.id),
            }})
        }
    }
}

fn container_status(
    c_name: &str,
    image: &str,
    slot: Option<&Slot>,
    pod_error: Option<&(String, String)>,
) -> Value {
    let empty = Slot::default();
    let slot = slot.unwrap_or(&empty);
    let current = slot.current();
    let mut state = match current {
        Some(r) => instance_state(r),
        None => Value::Null,
    };
    let exited = current.is_some_and(|r| r.live_status() == Status::Exited);
    // A container waiting for its next start (back-off, pull, config)
    // shows the reason; the exit moves to lastState.
    let mut last_state = json!({});
    if let Some((reason, message)) = &slot.waiting {
        if current.is_none() || exited {
            if exited {
                last_state = state.clone();
            }
            state = json!({"waiting": {"reason": reason, "message": message}});
        }
    }
    if state.is_null() {
        state = match pod_error {
            Some((reason, message)) if reason == "CreateContainerConfigError" => {
                json!({"waiting": {"reason": reason, "message": message}})
            }
            _ => json!({"waiting": {"reason": "ContainerCreating"}}),
        };
    }
    if last_state == json!({}) {
        if let Some(prev) = slot
            .instances
            .len()
            .checked_sub(2)
            .map(|i| &slot.instances[i])
        {
            last_state = instance_state(prev);
        }
    }
    let running = state.get("running").is_some();
    let mut v = json!({
        "name": c_name,
        "image": image,
        "imageID": current.map(|r| r.image_id.clone()).unwrap_or_default(),
        "ready": running && slot.ready && slot.started,
        "started": running && slot.started,
        "restartCount": current.map(crate::worker::attempt).unwrap_or(0),
        "state": state,
        "lastState": last_state,
    });
    if let Some(r) = current {
        v["containerID"] = json!(format!("skiff://{}", r.id));
    }
    v
}

fn condition(kind: &str, ok: bool, reason: Option<&str>, now: &str) -> Value {
    let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" },
        "lastProbeTime": null, "lastTransitionTime": now});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

/// The pod's status as the worker sees it now.
pub(crate) fn compute(pod: &Pod, w: &Worker, cfg: &AgentConfig) -> Value {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    let previous = pod.status.clone().unwrap_or_default();
    let now = now();
    let pod_error = w.pod_error.as_ref();
    let statuses = |named: Vec<(&String, &Option<String>)>| -> Vec<Value> {
        named
            .into_iter()
            .map(|(name, image)| {
                container_status(
                    name,
                    image.as_deref().unwrap_or_default(),
                    w.slots.get(name),
                    pod_error,
                )
            })
            .collect()
    };
    let init = statuses(
        spec.init_containers
            .iter()
            .flatten()
            .map(|c| (&c.name, &c.image))
            .collect(),
    );
    let apps = statuses(
        spec.containers
            .iter()
            .map(|c| (&c.name, &c.image))
            .collect(),
    );
    let ephemeral = statuses(
        spec.ephemeral_containers
            .iter()
            .flatten()
            .map(|c| (&c.name, &c.image))
            .collect(),
    );
    let init_done = spec
        .init_containers
        .iter()
        .flatten()
        .all(|c| w.slots.get(&c.name).and_then(|s| s.exit_code()) == Some(0));
    let init_failed = policy == "Never"
        && spec.init_containers.iter().flatten().any(|c| {
            w.slots
                .get(&c.name)
                .and_then(|s| s.exit_code())
                .is_some_and(|c| c != 0)
        });
    // The kubelet's getPhase for app containers.
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    for c in &spec.containers {
        let slot = w.slots.get(&c.name);
        let will_restart = |code: i32| policy == "Always" || (policy == "OnFailure" && code != 0);
        match slot.map(|s| (s.running(), s.exit_code())) {
            Some((true, _)) => running += 1,
            Some((false, Some(code))) if will_restart(code) => running += 1,
            Some((false, Some(0))) => succeeded += 1,
            Some((false, Some(_))) => failed += 1,
            _ => waiting += 1,
        }
    }
    let phase = if init_failed {
        "Failed"
    } else if !init_done || waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if failed > 0 {
        "Failed"
    } else if succeeded > 0 {
        "Succeeded"
    } else {
        "Pending"
    };
    let containers_ready =
        phase == "Running" && apps.iter().all(|s| s["ready"].as_bool() == Some(true));
    let not_ready = (!containers_ready).then_some("ContainersNotReady");
    let mut conditions = vec![
        condition("PodReadyToStartContainers", w.sandbox.is_some(), None, &now),
        condition(
            "Initialized",
            init_done,
            (!init_done).then_some("ContainersNotInitialized"),
            &now,
        ),
        condition("Ready", containers_ready, not_ready, &now),
        condition("ContainersReady", containers_ready, not_ready, &now),
        condition("PodScheduled", true, None, &now),
    ];
    // A condition keeps its transition time while its status stays: the
    // last status this worker posted knows best, then the pod's.
    let posted: Vec<Value> = w
        .last_posted()
        .and_then(|s| s["conditions"].as_array().cloned())
        .or_else(|| {
            serde_json::to_value(&previous.conditions)
                .ok()
                .and_then(|v| v.as_array().cloned())
        })
        .unwrap_or_default();
    for c in conditions.iter_mut() {
        if let Some(old) = posted.iter().find(|o| o["type"] == c["type"]) {
            if old["status"] == c["status"] && old["lastTransitionTime"].is_string() {
                c["lastTransitionTime"] = old["lastTransitionTime"].clone();
            }
        }
    }
    let pod_ip = w.pod_ip().map(|ip| ip.to_string());
    let host_ip = cfg.node_ip.to_string();
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": w.start_time,
        "qosClass": qos_class(&spec),
        "containerStatuses": apps,
    });
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    if !ephemeral.is_empty() {
        status["ephemeralContainerStatuses"] = json!(ephemeral);
    }
    if let Some((reason, message)) = pod_error.filter(|e| e.0 != "CreateContainerConfigError") {
        status["reason"] = json!(reason);
        status["message"] = json!(message);
    }
    status
}
