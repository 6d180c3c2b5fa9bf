//! Server-side printing: `meta.k8s.io/v1` `Table` responses for `kubectl get`, which asks
//! for `application/json;as=Table;v=v1;g=meta.k8s.io`. Each kind has the columns
//! kube-apiserver prints for it (names, order, and priority 1 for the `-o wide` ones); the
//! server always fills every column and kubectl hides the wide ones. Kinds without a printer
//! get NAME and AGE.
//!
//! Cells are computed from the stored JSON, so every field access tolerates absent or
//! mistyped fields (an object from a newer client, or half-written by a controller) and
//! falls back to the value the Go types would default to.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::objects::parse_rfc3339;

use crate::resources::Resource;
use crate::status::ApiError;

/// What each row carries besides its cells (the `includeObject` query parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    /// A `PartialObjectMetadata`: what kubectl needs for names, labels and `--show-kind`.
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// The `includeObject` parameter; empty means the default, `Metadata`.
    pub(crate) fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(ApiError::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"None\", \
                 \"Metadata\", \"Object\""
            ))),
        }
    }
}

/// The `Table` for `objects`, all of kind `res`, aged against the current time.
/// `list_meta` becomes the table's `metadata` (resourceVersion, continue, ...).
pub(crate) fn to_table(
    res: &Resource,
    objects: &[Value],
    include_object: IncludeObject,
    list_meta: Value,
) -> Value {
    to_table_at(
        res,
        objects,
        include_object,
        list_meta,
        crate::objects::now_secs(),
    )
}

/// [`to_table`] with "now" given as Unix seconds.
pub(crate) fn to_table_at(
    res: &Resource,
    objects: &[Value],
    include_object: IncludeObject,
    list_meta: Value,
    now: i64,
) -> Value {
    let printer = printer(res);
    let columns: Vec<Value> = printer
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.ty,
                "format": if c.name == "Name" { "name" } else { "" },
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let o = Obj(obj);
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array((printer.cells)(o, now)));
            if let Some(conditions) = row_conditions(res, o) {
                row.insert("conditions".into(), conditions);
            }
            match include_object {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row.insert(
                        "object".into(),
                        json!({
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                        }),
                    );
                }
                IncludeObject::Object => {
                    row.insert("object".into(), obj.clone());
                }
            }
            Value::Object(row)
        })
        .collect();
    let metadata = if list_meta.is_object() {
        list_meta
    } else {
        json!({})
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

struct Column {
    name: &'static str,
    ty: &'static str,
    priority: u8,
    description: &'static str,
}

const fn col(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        name,
        ty,
        priority: 0,
        description,
    }
}

const fn wide(name: &'static str, ty: &'static str, description: &'static str) -> Column {
    Column {
        name,
        ty,
        priority: 1,
        description,
    }
}

const NAME: Column = col(
    "Name",
    "string",
    "The object's name, unique in its namespace.",
);
const AGE: Column = col("Age", "string", "Time since the object was created.");
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Container names of the pod template.",
);
const IMAGES: Column = wide("Images", "string", "Container images of the pod template.");
const SELECTOR: Column = wide("Selector", "string", "The label selector of the pods.");

type CellsFn = fn(Obj<'_>, i64) -> Vec<Value>;

struct Printer {
    columns: &'static [Column],
    cells: CellsFn,
}

fn printer(res: &Resource) -> Printer {
    let (columns, cells): (&'static [Column], CellsFn) = match (res.group, res.kind) {
        ("", "Pod") => (POD, pod),
        ("", "Service") => (SERVICE, service),
        ("", "Namespace") => (NAMESPACE, namespace),
        ("", "Node") => (NODE, node),
        ("", "ConfigMap") => (CONFIGMAP, configmap),
        ("", "Secret") => (SECRET, secret),
        ("", "ServiceAccount") => (SERVICE_ACCOUNT, service_account),
        ("", "Endpoints") => (ENDPOINTS, endpoints),
        ("", "Event") => (EVENT, event),
        ("events.k8s.io", "Event") => (EVENT, events_v1_event),
        ("", "PersistentVolume") => (PV, persistent_volume),
        ("", "PersistentVolumeClaim") => (PVC, persistent_volume_claim),
        ("apps", "Deployment") => (DEPLOYMENT, deployment),
        ("apps", "ReplicaSet") => (REPLICA_SET, replica_set),
        ("apps", "StatefulSet") => (STATEFUL_SET, stateful_set),
        ("apps", "DaemonSet") => (DAEMON_SET, daemon_set),
        ("apps", "ControllerRevision") => (CONTROLLER_REVISION, controller_revision),
        ("batch", "Job") => (JOB, job),
        ("batch", "CronJob") => (CRON_JOB, cron_job),
        ("coordination.k8s.io", "Lease") => (LEASE, lease),
        ("discovery.k8s.io", "EndpointSlice") => (ENDPOINT_SLICE, endpoint_slice),
        ("storage.k8s.io", "StorageClass") => (STORAGE_CLASS, storage_class),
        _ => (DEFAULT, default_cells),
    };
    Printer { columns, cells }
}

/// kubectl reads these to tell finished pods apart.
fn row_conditions(res: &Resource, o: Obj<'_>) -> Option<Value> {
    if !res.group.is_empty() || res.kind != "Pod" {
        return None;
    }
    let (reason, message) = match o.str(&["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has run to completion."),
        "Failed" => ("Failed", "The pod has failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

// ---------------------------------------------------------------------------------------
// Field access on stored JSON.

#[derive(Clone, Copy)]
struct Obj<'a>(&'a Value);

impl<'a> Obj<'a> {
    fn at(self, path: &[&str]) -> Obj<'a> {
        static NULL: Value = Value::Null;
        let mut v = self.0;
        for key in path {
            v = v.get(key).unwrap_or(&NULL);
        }
        Obj(v)
    }

    fn has(self, path: &[&str]) -> bool {
        !self.at(path).0.is_null()
    }

    fn str(self, path: &[&str]) -> &'a str {
        self.at(path).0.as_str().unwrap_or("")
    }

    fn int(self, path: &[&str]) -> i64 {
        self.at(path).0.as_i64().unwrap_or(0)
    }

    fn bool(self, path: &[&str]) -> bool {
        self.at(path).0.as_bool().unwrap_or(false)
    }

    fn list(self, path: &[&str]) -> &'a [Value] {
        self.at(path).0.as_array().map_or(&[], Vec::as_slice)
    }

    fn map(self, path: &[&str]) -> Option<&'a Map<String, Value>> {
        self.at(path).0.as_object()
    }

    fn len(self, path: &[&str]) -> usize {
        match self.at(path).0 {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            _ => 0,
        }
    }

    fn name(self) -> Value {
        json!(self.str(&["metadata", "name"]))
    }

    fn age(self, now: i64) -> Value {
        json!(since(self.at(&["metadata", "creationTimestamp"]), now))
    }

    fn items(self, path: &[&str]) -> impl Iterator<Item = Obj<'a>> {
        self.list(path).iter().map(Obj)
    }
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Times.

/// How long ago a timestamp was, or `<unknown>` when it is absent.
fn since(ts: Obj<'_>, now: i64) -> String {
    match ts.0.as_str().and_then(parse_rfc3339) {
        Some(t) => human_duration(now.saturating_sub(t)),
        None => "<unknown>".into(),
    }
}

/// Two or three significant figures of a duration, as Kubernetes prints ages: `45s`,
/// `5m2s`, `15m`, `3h4m`, `20h`, `2d3h`, `30d`, `2y45d`, `9y`. A time slightly in the future
/// (clock skew) is `0s`; further than that is `<invalid>`.
pub(crate) fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

// ---------------------------------------------------------------------------------------
// Shared cell helpers.

/// `k=v,k2=v2` in key order, or `<none>`.
fn format_labels(m: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<(&String, &str)> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    or_none(&joined.join(","))
}

/// A `LabelSelector` in selector syntax (`app=web,tier in (a,b),!legacy`), requirements in
/// key order; empty for a missing or empty selector.
fn label_selector(sel: Obj<'_>) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.map(&["matchLabels"]) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in sel.items(&["matchExpressions"]) {
        let key = e.str(&["key"]);
        let values: BTreeSet<&str> = e
            .list(&["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let values = values.into_iter().collect::<Vec<_>>().join(",");
        let text = match e.str(&["operator"]) {
            "In" => format!("{key} in ({values})"),
            "NotIn" => format!("{key} notin ({values})"),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({values})"),
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort();
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// The CONTAINERS and IMAGES cells of a pod spec.
fn containers(spec: Obj<'_>) -> (Value, Value) {
    let (mut names, mut images) = (Vec::new(), Vec::new());
    for c in spec.items(&["containers"]) {
        names.push(c.str(&["name"]));
        images.push(c.str(&["image"]));
    }
    (json!(names.join(",")), json!(images.join(",")))
}

fn condition_true(o: Obj<'_>, path: &[&str], ty: &str) -> bool {
    o.items(path)
        .any(|c| c.str(&["type"]) == ty && c.str(&["status"]) == "True")
}

fn quantity(o: Obj<'_>, path: &[&str]) -> String {
    match o.at(path).0 {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".into(),
    }
}

/// `RWO,ROX,RWX,RWOP`, each at most once, in that order.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| has(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

fn storage_class_of(o: Obj<'_>) -> &str {
    match o.str(&[
        "metadata",
        "annotations",
        "volume.beta.kubernetes.io/storage-class",
    ]) {
        "" => o.str(&["spec", "storageClassName"]),
        class => class,
    }
}

/// `ip:port` joined for IPv4, `[ip]:port` for IPv6, as Go's `net.JoinHostPort`.
fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// At most three entries, then `+ N more...`; `<unset>` when there are none.
fn list_with_more(list: Vec<String>, total: usize) -> String {
    let shown = list.len();
    let joined = list.join(",");
    if total > shown {
        format!("{joined} + {} more...", total - shown)
    } else if joined.is_empty() {
        "<unset>".into()
    } else {
        joined
    }
}

// ---------------------------------------------------------------------------------------
// Kinds.

static DEFAULT: &[Column] = &[NAME, AGE];

fn default_cells(o: Obj<'_>, now: i64) -> Vec<Value> {
    vec![o.name(), o.age(now)]
}

static POD: &[Column] = &[
    NAME,
    col("Ready", "string", "Ready containers of all containers."),
    col(
        "Status",
        "string",
        "The pod's phase, or why it is not running.",
    ),
    col(
        "Restarts",
        "string",
        "Container restarts, and how long ago the last one was.",
    ),
    AGE,
    wide("IP", "string", "The pod's first IP address."),
    wide("Node", "string", "The node the pod is bound to."),
    wide(
        "Nominated Node",
        "string",
        "The node the scheduler nominated by preemption.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "Readiness gates whose condition is True.",
    ),
];

fn is_sidecar(init: Obj<'_>) -> bool {
    init.str(&["restartPolicy"]) == "Always"
}

fn pod(o: Obj<'_>, now: i64) -> Vec<Value> {
    let status = o.at(&["status"]);
    let mut reason = match status.str(&["reason"]) {
        "" => status.str(&["phase"]).to_string(),
        r => r.to_string(),
    };
    if status
        .items(&["conditions"])
        .any(|c| c.str(&["type"]) == "PodScheduled" && c.str(&["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let inits: Vec<Obj<'_>> = o.items(&["spec", "initContainers"]).collect();
    let sidecar_named = |name: &str| {
        inits
            .iter()
            .any(|c| c.str(&["name"]) == name && is_sidecar(*c))
    };
    let total = o.len(&["spec", "containers"]) + inits.iter().filter(|c| is_sidecar(**c)).count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut last_restart: Option<i64> = None;
    let mut sidecar_restarts = 0i64;
    let mut sidecar_last_restart: Option<i64> = None;
    let finished_at = |c: Obj<'_>| {
        c.at(&["lastState", "terminated", "finishedAt"])
            .0
            .as_str()
            .and_then(parse_rfc3339)
    };

    let mut initializing = false;
    let init_statuses: Vec<Obj<'_>> = status.items(&["initContainerStatuses"]).collect();
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += c.int(&["restartCount"]);
        let finished = finished_at(*c);
        last_restart = last_restart.max(finished);
        let sidecar = sidecar_named(c.str(&["name"]));
        if sidecar {
            sidecar_restarts += c.int(&["restartCount"]);
            sidecar_last_restart = sidecar_last_restart.max(finished);
        }
        let terminated = c.at(&["state", "terminated"]);
        let waiting_reason = c.str(&["state", "waiting", "reason"]);
        if terminated.has(&[]) && terminated.int(&["exitCode"]) == 0 {
            continue;
        }
        if sidecar && c.bool(&["started"]) {
            if c.bool(&["ready"]) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.has(&[]) {
            match terminated.str(&["reason"]) {
                "" if terminated.int(&["signal"]) != 0 => {
                    format!("Init:Signal:{}", terminated.int(&["signal"]))
                }
                "" => format!("Init:ExitCode:{}", terminated.int(&["exitCode"])),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(status, &["conditions"], "Initialized") {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        for c in status
            .items(&["containerStatuses"])
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            restarts += c.int(&["restartCount"]);
            last_restart = last_restart.max(finished_at(c));
            let waiting = c.str(&["state", "waiting", "reason"]);
            let terminated = c.at(&["state", "terminated"]);
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if terminated.has(&[]) {
                reason = match terminated.str(&["reason"]) {
                    "" if terminated.int(&["signal"]) != 0 => {
                        format!("Signal:{}", terminated.int(&["signal"]))
                    }
                    "" => format!("ExitCode:{}", terminated.int(&["exitCode"])),
                    r => r.to_string(),
                };
            } else if c.bool(&["ready"]) && c.has(&["state", "running"]) {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last container finished while another still runs is not done.
        if reason == "Completed" && has_running {
            reason = if condition_true(status, &["conditions"], "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if o.has(&["metadata", "deletionTimestamp"]) {
        if status.str(&["reason"]) == "NodeLost" {
            reason = "Unknown".into();
        } else if !matches!(status.str(&["phase"]), "Succeeded" | "Failed") {
            reason = "Terminating".into();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now - t)),
        _ => restarts.to_string(),
    };
    let ip = status
        .items(&["podIPs"])
        .next()
        .map(|p| p.str(&["ip"]))
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| status.str(&["podIP"]));
    let gates = o.list(&["spec", "readinessGates"]);
    let gates_cell = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_gates = gates
            .iter()
            .filter(|g| {
                let ty = Obj(g).str(&["conditionType"]);
                status
                    .items(&["conditions"])
                    .find(|c| c.str(&["type"]) == ty)
                    .is_some_and(|c| c.str(&["status"]) == "True")
            })
            .count();
        format!("{true_gates}/{}", gates.len())
    };
    vec![
        o.name(),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        o.age(now),
        json!(or_none(ip)),
        json!(or_none(o.str(&["spec", "nodeName"]))),
        json!(or_none(status.str(&["nominatedNodeName"]))),
        json!(gates_cell),
    ]
}

static SERVICE: &[Column] = &[
    NAME,
    col("Type", "string", "How the service is exposed."),
    col("Cluster-IP", "string", "The service's cluster IP."),
    col(
        "External-IP",
        "string",
        "External or load-balancer addresses.",
    ),
    col("Port(s)", "string", "Service ports, with node ports."),
    AGE,
    wide(
        "Selector",
        "string",
        "The label selector of the backing pods.",
    ),
];

fn service(o: Obj<'_>, now: i64) -> Vec<Value> {
    let spec = o.at(&["spec"]);
    let ty = spec.str(&["type"]);
    let cluster_ip = spec
        .list(&["clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| spec.str(&["clusterIP"]));
    let external: Vec<&str> = spec
        .list(&["externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external_ip = match ty {
        "ClusterIP" | "NodePort" | "" => or_none(&external.join(",")),
        "LoadBalancer" => {
            let mut all: Vec<&str> = o
                .items(&["status", "loadBalancer", "ingress"])
                .filter_map(|i| match (i.str(&["ip"]), i.str(&["hostname"])) {
                    ("", "") => None,
                    ("", host) => Some(host),
                    (ip, _) => Some(ip),
                })
                .collect();
            all.extend(external);
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => spec.str(&["externalName"]).to_string(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = spec
        .items(&["ports"])
        .map(|p| {
            let proto = match p.str(&["protocol"]) {
                "" => "TCP",
                other => other,
            };
            match p.int(&["nodePort"]) {
                n if n > 0 => format!("{}:{n}/{proto}", p.int(&["port"])),
                _ => format!("{}/{proto}", p.int(&["port"])),
            }
        })
        .collect();
    vec![
        o.name(),
        json!(ty),
        json!(or_none(cluster_ip)),
        json!(external_ip),
        json!(or_none(&ports.join(","))),
        o.age(now),
        json!(format_labels(spec.map(&["selector"]))),
    ]
}

static NAMESPACE: &[Column] = &[NAME, col("Status", "string", "The namespace's phase."), AGE];

fn namespace(o: Obj<'_>, now: i64) -> Vec<Value> {
    vec![o.name(), json!(o.str(&["status", "phase"])), o.age(now)]
}

static NODE: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "Ready or not, and whether scheduling is disabled.",
    ),
    col(
        "Roles",
        "string",
        "Roles from the node-role.kubernetes.io/ labels.",
    ),
    AGE,
    col("Version", "string", "The kubelet's version."),
    wide(
        "Internal-IP",
        "string",
        "The node's first internal address.",
    ),
    wide(
        "External-IP",
        "string",
        "The node's first external address.",
    ),
    wide("OS-Image", "string", "The operating system image."),
    wide("Kernel-Version", "string", "The kernel version."),
    wide(
        "Container-Runtime",
        "string",
        "The container runtime and its version.",
    ),
];

fn node(o: Obj<'_>, now: i64) -> Vec<Value> {
    let status = o.at(&["status"]);
    let mut states = Vec::new();
    // The last condition of a type wins, as a map keyed by type would keep it.
    if let Some(c) = status
        .items(&["conditions"])
        .filter(|c| c.str(&["type"]) == "Ready")
        .last()
    {
        states.push(if c.str(&["status"]) == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if states.is_empty() {
        states.push("Unknown");
    }
    if o.bool(&["spec", "unschedulable"]) {
        states.push("SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    if let Some(labels) = o.map(&["metadata", "labels"]) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role" {
                if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                    roles.insert(v.to_string());
                }
            }
        }
    }
    let address = |ty: &str| {
        or_none(
            status
                .items(&["addresses"])
                .find(|a| a.str(&["type"]) == ty)
                .map_or("", |a| a.str(&["address"])),
        )
    };
    let info = |field: &str| match status.str(&["nodeInfo", field]) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        o.name(),
        json!(states.join(",")),
        json!(or_none(&roles.into_iter().collect::<Vec<_>>().join(","))),
        o.age(now),
        json!(status.str(&["nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

static CONFIGMAP: &[Column] = &[NAME, col("Data", "string", "Number of data keys."), AGE];

fn configmap(o: Obj<'_>, now: i64) -> Vec<Value> {
    let n = o.len(&["data"]) + o.len(&["binaryData"]);
    vec![o.name(), json!(n), o.age(now)]
}

static SECRET: &[Column] = &[
    NAME,
    col("Type", "string", "The secret's type."),
    col("Data", "string", "Number of data keys."),
    AGE,
];

fn secret(o: Obj<'_>, now: i64) -> Vec<Value> {
    let keys: BTreeSet<&String> = o
        .map(&["data"])
        .into_iter()
        .chain(o.map(&["stringData"]))
        .flat_map(|m| m.keys())
        .collect();
    let ty = match o.str(&["type"]) {
        "" => "Opaque",
        t => t,
    };
    vec![o.name(), json!(ty), json!(keys.len()), o.age(now)]
}

static SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    col(
        "Secrets",
        "string",
        "Number of secrets listed for the account.",
    ),
    AGE,
];

fn service_account(o: Obj<'_>, now: i64) -> Vec<Value> {
    vec![o.name(), json!(o.len(&["secrets"])), o.age(now)]
}

static ENDPOINTS: &[Column] = &[
    NAME,
    col("Endpoints", "string", "Ready addresses with their ports."),
    AGE,
];

fn endpoints(o: Obj<'_>, now: i64) -> Vec<Value> {
    const MAX: usize = 3;
    let subsets = o.list(&["subsets"]);
    let cell = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let (mut list, mut count) = (Vec::new(), 0usize);
        for ss in subsets.iter().map(Obj) {
            let addrs: Vec<&str> = ss.items(&["addresses"]).map(|a| a.str(&["ip"])).collect();
            let ports: Vec<i64> = ss.items(&["ports"]).map(|p| p.int(&["port"])).collect();
            if ports.is_empty() {
                // Headless services may have no ports.
                count += addrs.len();
                list.extend(addrs.iter().map(|a| a.to_string()));
            } else {
                for port in ports {
                    count += addrs.len();
                    list.extend(addrs.iter().map(|a| host_port(a, port)));
                }
            }
        }
        list.truncate(MAX);
        if count > list.len() {
            format!("{} + {} more...", list.join(","), count - list.len())
        } else {
            list.join(",")
        }
    };
    vec![o.name(), json!(cell), o.age(now)]
}

static EVENT: &[Column] = &[
    col("Last Seen", "string", "Time since the event was last seen."),
    col("Type", "string", "Normal or Warning."),
    col("Reason", "string", "Why the event happened, in CamelCase."),
    col("Object", "string", "The object the event is about."),
    wide(
        "Subobject",
        "string",
        "The part of the object, e.g. a container.",
    ),
    wide(
        "Source",
        "string",
        "The component, and host, that reported the event.",
    ),
    col("Message", "string", "What happened."),
    wide(
        "First Seen",
        "string",
        "Time since the event was first seen.",
    ),
    wide("Count", "string", "How often the event happened."),
    Column {
        name: "Name",
        ty: "string",
        priority: 1,
        description: "The event's name.",
    },
];

/// A core/v1 Event's cells from its fields, shared with the events.k8s.io/v1 form.
#[allow(clippy::too_many_arguments)]
fn event_cells(
    o: Obj<'_>,
    now: i64,
    first: Obj<'_>,
    last: Obj<'_>,
    count: i64,
    event_time: Obj<'_>,
    series: Obj<'_>,
    regarding: Obj<'_>,
    source: (&str, &str),
    message: &str,
) -> Vec<Value> {
    let first_seen = if first.has(&[]) {
        since(first, now)
    } else {
        since(event_time, now)
    };
    let mut last_seen = if last.has(&[]) {
        since(last, now)
    } else {
        first_seen.clone()
    };
    let mut count = count;
    if series.has(&[]) {
        last_seen = since(series.at(&["lastObservedTime"]), now);
        count = series.int(&["count"]);
    } else if count == 0 {
        // Events of the newer API that happened once carry no count.
        count = 1;
    }
    let kind = regarding.str(&["kind"]).to_lowercase();
    let target = match regarding.str(&["name"]) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = match source {
        (component, "") => component.to_string(),
        (component, host) => format!("{component}, {host}"),
    };
    vec![
        json!(last_seen),
        json!(o.str(&["type"])),
        json!(o.str(&["reason"])),
        json!(target),
        json!(regarding.str(&["fieldPath"])),
        json!(source),
        json!(message.trim()),
        json!(first_seen),
        json!(count),
        o.name(),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

fn event(o: Obj<'_>, now: i64) -> Vec<Value> {
    event_cells(
        o,
        now,
        o.at(&["firstTimestamp"]),
        o.at(&["lastTimestamp"]),
        o.int(&["count"]),
        o.at(&["eventTime"]),
        o.at(&["series"]),
        o.at(&["involvedObject"]),
        (
            first_non_empty(
                o.str(&["source", "component"]),
                o.str(&["reportingComponent"]),
            ),
            first_non_empty(o.str(&["source", "host"]), o.str(&["reportingInstance"])),
        ),
        o.str(&["message"]),
    )
}

/// events.k8s.io/v1 names the same fields differently (and keeps the old ones as
/// `deprecated*`).
fn events_v1_event(o: Obj<'_>, now: i64) -> Vec<Value> {
    event_cells(
        o,
        now,
        o.at(&["deprecatedFirstTimestamp"]),
        o.at(&["deprecatedLastTimestamp"]),
        o.int(&["deprecatedCount"]),
        o.at(&["eventTime"]),
        o.at(&["series"]),
        o.at(&["regarding"]),
        (
            first_non_empty(
                o.str(&["deprecatedSource", "component"]),
                o.str(&["reportingController"]),
            ),
            first_non_empty(
                o.str(&["deprecatedSource", "host"]),
                o.str(&["reportingInstance"]),
            ),
        ),
        o.str(&["note"]),
    )
}

static PV: &[Column] = &[
    NAME,
    col("Capacity", "string", "The volume's storage capacity."),
    col("Access Modes", "string", "How the volume can be mounted."),
    col(
        "Reclaim Policy",
        "string",
        "What happens to the volume when released.",
    ),
    col("Status", "string", "The volume's phase."),
    col("Claim", "string", "The claim bound to the volume."),
    col("StorageClass", "string", "The volume's storage class."),
    col(
        "VolumeAttributesClass",
        "string",
        "The volume's attributes class.",
    ),
    col("Reason", "string", "Why the volume is in its phase."),
    AGE,
    wide("VolumeMode", "string", "Filesystem or Block."),
];

fn persistent_volume(o: Obj<'_>, now: i64) -> Vec<Value> {
    let spec = o.at(&["spec"]);
    let claim = if spec.has(&["claimRef"]) {
        format!(
            "{}/{}",
            spec.str(&["claimRef", "namespace"]),
            spec.str(&["claimRef", "name"])
        )
    } else {
        String::new()
    };
    let phase = if o.has(&["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else {
        o.str(&["status", "phase"])
    };
    vec![
        o.name(),
        json!(quantity(spec, &["capacity", "storage"])),
        json!(access_modes(spec.list(&["accessModes"]))),
        json!(spec.str(&["persistentVolumeReclaimPolicy"])),
        json!(phase),
        json!(claim),
        json!(storage_class_of(o)),
        json!(unset(spec, &["volumeAttributesClassName"])),
        json!(o.str(&["status", "reason"])),
        o.age(now),
        json!(unset(spec, &["volumeMode"])),
    ]
}

fn unset(o: Obj<'_>, path: &[&str]) -> String {
    match o.at(path).0.as_str() {
        Some(s) => s.to_string(),
        None => "<unset>".into(),
    }
}

static PVC: &[Column] = &[
    NAME,
    col("Status", "string", "The claim's phase."),
    col("Volume", "string", "The volume bound to the claim."),
    col("Capacity", "string", "The bound volume's capacity."),
    col(
        "Access Modes",
        "string",
        "How the bound volume can be mounted.",
    ),
    col("StorageClass", "string", "The claim's storage class."),
    col(
        "VolumeAttributesClass",
        "string",
        "The claim's attributes class.",
    ),
    AGE,
    wide("VolumeMode", "string", "Filesystem or Block."),
];

fn persistent_volume_claim(o: Obj<'_>, now: i64) -> Vec<Value> {
    let spec = o.at(&["spec"]);
    let phase = if o.has(&["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else {
        o.str(&["status", "phase"])
    };
    let volume = spec.str(&["volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(o, &["status", "capacity", "storage"]),
            access_modes(o.list(&["status", "accessModes"])),
        )
    };
    vec![
        o.name(),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class_of(o)),
        json!(unset(spec, &["volumeAttributesClassName"])),
        o.age(now),
        json!(unset(spec, &["volumeMode"])),
    ]
}

static DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", "Ready pods of the desired replicas."),
    col(
        "Up-to-date",
        "string",
        "Pods that run the current template.",
    ),
    col("Available", "string", "Pods available to serve."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

/// `spec.replicas`, which defaults to 1.
fn desired(o: Obj<'_>) -> i64 {
    o.at(&["spec", "replicas"]).0.as_i64().unwrap_or(1)
}

fn deployment(o: Obj<'_>, now: i64) -> Vec<Value> {
    let (names, images) = containers(o.at(&["spec", "template", "spec"]));
    vec![
        o.name(),
        json!(format!(
            "{}/{}",
            o.int(&["status", "readyReplicas"]),
            desired(o)
        )),
        json!(o.int(&["status", "updatedReplicas"])),
        json!(o.int(&["status", "availableReplicas"])),
        o.age(now),
        names,
        images,
        json!(label_selector(o.at(&["spec", "selector"]))),
    ]
}

static REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", "Desired pods."),
    col("Current", "integer", "Pods that exist."),
    col("Ready", "integer", "Ready pods."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

fn replica_set(o: Obj<'_>, now: i64) -> Vec<Value> {
    let (names, images) = containers(o.at(&["spec", "template", "spec"]));
    vec![
        o.name(),
        json!(desired(o)),
        json!(o.int(&["status", "replicas"])),
        json!(o.int(&["status", "readyReplicas"])),
        o.age(now),
        names,
        images,
        json!(label_selector(o.at(&["spec", "selector"]))),
    ]
}

static STATEFUL_SET: &[Column] = &[
    NAME,
    col("Ready", "string", "Ready pods of the desired replicas."),
    AGE,
    CONTAINERS,
    IMAGES,
];

fn stateful_set(o: Obj<'_>, now: i64) -> Vec<Value> {
    let (names, images) = containers(o.at(&["spec", "template", "spec"]));
    vec![
        o.name(),
        json!(format!(
            "{}/{}",
            o.int(&["status", "readyReplicas"]),
            desired(o)
        )),
        o.age(now),
        names,
        images,
    ]
}

static DAEMON_SET: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Nodes that should run the daemon pod.",
    ),
    col("Current", "integer", "Nodes that run the daemon pod."),
    col("Ready", "integer", "Nodes whose daemon pod is ready."),
    col(
        "Up-to-date",
        "integer",
        "Nodes that run the current template.",
    ),
    col(
        "Available",
        "integer",
        "Nodes whose daemon pod is available.",
    ),
    col(
        "Node Selector",
        "string",
        "The pod template's node selector.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

fn daemon_set(o: Obj<'_>, now: i64) -> Vec<Value> {
    let spec = o.at(&["spec", "template", "spec"]);
    let (names, images) = containers(spec);
    let status = o.at(&["status"]);
    vec![
        o.name(),
        json!(status.int(&["desiredNumberScheduled"])),
        json!(status.int(&["currentNumberScheduled"])),
        json!(status.int(&["numberReady"])),
        json!(status.int(&["updatedNumberScheduled"])),
        json!(status.int(&["numberAvailable"])),
        json!(format_labels(spec.map(&["nodeSelector"]))),
        o.age(now),
        names,
        images,
        json!(label_selector(o.at(&["spec", "selector"]))),
    ]
}

static CONTROLLER_REVISION: &[Column] = &[
    NAME,
    col("Controller", "string", "The object that owns the revision."),
    col("Revision", "string", "The revision number."),
    AGE,
];

fn controller_revision(o: Obj<'_>, now: i64) -> Vec<Value> {
    let controller = o
        .items(&["metadata", "ownerReferences"])
        .find(|r| r.bool(&["controller"]))
        .map_or_else(
            || "<none>".to_string(),
            |r| {
                let kind = r.str(&["kind"]);
                let group = r
                    .str(&["apiVersion"])
                    .rsplit_once('/')
                    .map_or("", |(g, _)| g);
                let name = r.str(&["name"]);
                match (kind, group) {
                    ("", "") => name.to_string(),
                    (kind, "") => format!("{}/{name}", kind.to_lowercase()),
                    (kind, group) => format!("{}.{group}/{name}", kind.to_lowercase()),
                }
            },
        );
    vec![
        o.name(),
        json!(controller),
        json!(o.int(&["revision"])),
        o.age(now),
    ]
}

static JOB: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "Complete, Failed, Running, Suspended, ...",
    ),
    col(
        "Completions",
        "string",
        "Succeeded pods of the desired completions.",
    ),
    col(
        "Duration",
        "string",
        "How long the job ran, or has run so far.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

fn job(o: Obj<'_>, now: i64) -> Vec<Value> {
    let is = |ty: &str| condition_true(o, &["status", "conditions"], ty);
    let status = if is("Complete") {
        "Complete"
    } else if is("Failed") {
        "Failed"
    } else if o.has(&["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else if is("Suspended") {
        "Suspended"
    } else if is("FailureTarget") {
        "FailureTarget"
    } else if is("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let succeeded = o.int(&["status", "succeeded"]);
    let completions = match o.at(&["spec", "completions"]).0.as_i64() {
        Some(n) => format!("{succeeded}/{n}"),
        None => match o.int(&["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = o.str(&["status", "startTime"]);
    let end = o.str(&["status", "completionTime"]);
    let duration = match (parse_rfc3339(start), parse_rfc3339(end)) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now - s),
        (Some(s), Some(e)) => human_duration(e - s),
    };
    let (names, images) = containers(o.at(&["spec", "template", "spec"]));
    vec![
        o.name(),
        json!(status),
        json!(completions),
        json!(duration),
        o.age(now),
        names,
        images,
        json!(label_selector(o.at(&["spec", "selector"]))),
    ]
}

static CRON_JOB: &[Column] = &[
    NAME,
    col("Schedule", "string", "The cron schedule."),
    col("Timezone", "string", "The time zone of the schedule."),
    col("Suspend", "boolean", "Whether new runs are suspended."),
    col("Active", "integer", "Jobs running now."),
    col(
        "Last Schedule",
        "string",
        "Time since a job was last scheduled.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

fn cron_job(o: Obj<'_>, now: i64) -> Vec<Value> {
    let spec = o.at(&["spec"]);
    let suspend = match spec.at(&["suspend"]).0.as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let last = if o.has(&["status", "lastScheduleTime"]) {
        since(o.at(&["status", "lastScheduleTime"]), now)
    } else {
        "<none>".into()
    };
    let job_spec = spec.at(&["jobTemplate", "spec"]);
    let (names, images) = containers(job_spec.at(&["template", "spec"]));
    vec![
        o.name(),
        json!(spec.str(&["schedule"])),
        json!(or_none(spec.str(&["timeZone"]))),
        json!(suspend),
        json!(o.len(&["status", "active"])),
        json!(last),
        o.age(now),
        names,
        images,
        json!(label_selector(job_spec.at(&["selector"]))),
    ]
}

static LEASE: &[Column] = &[NAME, col("Holder", "string", "Who holds the lease."), AGE];

fn lease(o: Obj<'_>, now: i64) -> Vec<Value> {
    vec![
        o.name(),
        json!(o.str(&["spec", "holderIdentity"])),
        o.age(now),
    ]
}

static ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", "string", "IPv4, IPv6 or FQDN."),
    col("Ports", "string", "The slice's ports."),
    col("Endpoints", "string", "The slice's addresses."),
    AGE,
];

fn endpoint_slice(o: Obj<'_>, now: i64) -> Vec<Value> {
    const MAX: usize = 3;
    let ports: Vec<String> = o
        .items(&["ports"])
        .map(|p| match p.at(&["port"]).0.as_i64() {
            Some(n) => n.to_string(),
            None if p.has(&["name"]) => p.str(&["name"]).to_string(),
            None => "*".into(),
        })
        .collect();
    let port_count = ports.len();
    let addrs: Vec<String> = o
        .items(&["endpoints"])
        .flat_map(|e| e.list(&["addresses"]).iter())
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    let addr_count = addrs.len();
    vec![
        o.name(),
        json!(o.str(&["addressType"])),
        json!(list_with_more(
            ports.into_iter().take(MAX).collect(),
            port_count
        )),
        json!(list_with_more(
            addrs.into_iter().take(MAX).collect(),
            addr_count
        )),
        o.age(now),
    ]
}

static STORAGE_CLASS: &[Column] = &[
    NAME,
    col(
        "Provisioner",
        "string",
        "The volume plugin that provisions volumes.",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "What happens to released volumes.",
    ),
    col(
        "VolumeBindingMode",
        "string",
        "When volumes are bound and provisioned.",
    ),
    col("AllowVolumeExpansion", "string", "Whether claims may grow."),
    AGE,
];

fn storage_class(o: Obj<'_>, now: i64) -> Vec<Value> {
    let is_default = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| o.str(&["metadata", "annotations", a]) == "true");
    let mut name = o.str(&["metadata", "name"]).to_string();
    if is_default {
        name.push_str(" (default)");
    }
    let or = |path: &[&str], dflt: &str| match o.str(path) {
        "" => dflt.to_string(),
        v => v.to_string(),
    };
    vec![
        json!(name),
        json!(o.str(&["provisioner"])),
        json!(or(&["reclaimPolicy"], "Delete")),
        json!(or(&["volumeBindingMode"], "Immediate")),
        json!(o.bool(&["allowVolumeExpansion"])),
        o.age(now),
    ]
}

#[cfg(test)]
mod tests;
