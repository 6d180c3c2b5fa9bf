use super::*;
use crate::resources::{lookup, Resource};

const NOW: &str = "2024-06-01T12:00:00Z";

fn now() -> i64 {
    parse_rfc3339(NOW).unwrap()
}

/// An RFC 3339 time `secs` before [`NOW`].
fn ago(secs: i64) -> String {
    crate::objects::rfc3339(now() - secs)
}

fn res(group: &str, plural: &str) -> &'static Resource {
    lookup(group, "v1", plural).unwrap()
}

fn table(group: &str, plural: &str, objects: &[Value]) -> Value {
    to_table_at(
        res(group, plural),
        objects,
        IncludeObject::Metadata,
        json!({"resourceVersion": "7"}),
        now(),
    )
}

/// Header names as kubectl prints them, `(wide)` marking priority-1 columns.
fn headers(t: &Value) -> Vec<String> {
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_uppercase();
            if c["priority"] == 1 {
                format!("{name}(wide)")
            } else {
                name
            }
        })
        .collect()
}

fn cells(t: &Value, row: usize) -> Vec<Value> {
    t["rows"][row]["cells"].as_array().unwrap().clone()
}

fn meta(name: &str, created: i64) -> Value {
    json!({"name": name, "namespace": "default", "uid": "u", "creationTimestamp": ago(created)})
}

#[test]
fn ages_are_humanised_like_kubernetes() {
    let cases = [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (302, "5m2s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 4 * 60, "3h4m"),
        (20 * 3600, "20h"),
        (2 * 86_400 + 3 * 3600, "2d3h"),
        (3 * 86_400, "3d"),
        (30 * 86_400, "30d"),
        (2 * 365 * 86_400 + 45 * 86_400, "2y45d"),
        (9 * 365 * 86_400, "9y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(secs), want, "{secs}s");
    }
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2024-06-01T14:00:00.123456+02:00"),
        Some(now())
    );
    assert_eq!(parse_rfc3339("2024-06-01"), None);
    assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
    assert_eq!(ago(302), "2024-06-01T11:54:58Z");
}

#[test]
fn table_shape_and_include_object() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "default", "creationTimestamp": ago(90_000), "labels": {"a": "b"}},
        "status": {"phase": "Active"}});
    let t = table("", "namespaces", std::slice::from_ref(&ns));
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"], json!({"resourceVersion": "7"}));
    assert_eq!(
        t["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name",
               "description": "The object's name, unique in its namespace.", "priority": 0})
    );
    assert_eq!(headers(&t), ["NAME", "STATUS", "AGE"]);
    assert_eq!(
        cells(&t, 0),
        [json!("default"), json!("Active"), json!("25h")]
    );
    assert_eq!(
        t["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
               "metadata": ns["metadata"]})
    );
    let full = to_table_at(
        res("", "namespaces"),
        std::slice::from_ref(&ns),
        IncludeObject::Object,
        Value::Null,
        now(),
    );
    assert_eq!(full["rows"][0]["object"], ns);
    assert_eq!(full["metadata"], json!({}));
    let none = to_table_at(
        res("", "namespaces"),
        &[ns],
        IncludeObject::None,
        Value::Null,
        now(),
    );
    assert!(none["rows"][0].get("object").is_none());

    assert_eq!(IncludeObject::parse("").unwrap(), IncludeObject::Metadata);
    assert_eq!(
        IncludeObject::parse("Object").unwrap(),
        IncludeObject::Object
    );
    assert_eq!(IncludeObject::parse("None").unwrap(), IncludeObject::None);
    let err = IncludeObject::parse("All").unwrap_err();
    assert_eq!(err.code, 400);
    assert!(err.message.contains("includeObject"));
}

fn pod_with(status: Value, spec_extra: Value, meta_extra: Value) -> Value {
    let mut spec = json!({"nodeName": "node-1", "containers": [
        {"name": "app", "image": "nginx"}, {"name": "sidecar", "image": "envoy"}]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    let mut m = meta("web-1", 3600);
    if let (Some(m), Some(extra)) = (m.as_object_mut(), meta_extra.as_object()) {
        m.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status})
}

fn running(name: &str, ready: bool, restarts: i64) -> Value {
    json!({"name": name, "ready": ready, "restartCount": restarts,
           "state": {"running": {"startedAt": ago(600)}}})
}

#[test]
fn pod_columns_and_status_reasons() {
    let healthy = pod_with(
        json!({"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
               "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [running("app", true, 0), running("sidecar", true, 0)]}),
        json!({}),
        json!({}),
    );
    let t = table("", "pods", &[healthy]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP(wide)",
            "NODE(wide)",
            "NOMINATED NODE(wide)",
            "READINESS GATES(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("web-1"),
            json!("2/2"),
            json!("Running"),
            json!("0"),
            json!("60m"),
            json!("10.1.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("<none>")
        ]
    );

    // One container crash-looping, restarted 4 times, last exit 5m2s ago.
    let crashing = pod_with(
        json!({"phase": "Running", "containerStatuses": [
            running("app", true, 0),
            {"name": "sidecar", "ready": false, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(302)}}}]}),
        json!({"readinessGates": [{"conditionType": "example.com/lb"}]}),
        json!({}),
    );
    let c = cells(&table("", "pods", &[crashing]), 0);
    assert_eq!(
        c[1..4],
        [
            json!("1/2"),
            json!("CrashLoopBackOff"),
            json!("4 (5m2s ago)")
        ]
    );
    assert_eq!(c[5], "<none>");
    assert_eq!(c[8], "0/1");

    // Second of three init containers still running.
    let init = pod_with(
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "i1", "restartCount": 0, "state": {"running": {}}},
            {"name": "i2", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}],
            "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        json!({"initContainers": [{"name": "i0"}, {"name": "i1"}, {"name": "i2"}]}),
        json!({}),
    );
    let c = cells(&table("", "pods", &[init]), 0);
    assert_eq!(c[1..4], [json!("0/2"), json!("Init:1/3"), json!("0")]);

    let init_failed = pod_with(
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i0", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}]}),
        json!({"initContainers": [{"name": "i0"}]}),
        json!({}),
    );
    let c = cells(&table("", "pods", &[init_failed]), 0);
    assert_eq!(
        c[2..4],
        [json!("Init:CrashLoopBackOff"), json!("2 (30s ago)")]
    );

    let init_exit = pod_with(
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}]}),
        json!({"initContainers": [{"name": "i0"}]}),
        json!({}),
    );
    assert_eq!(
        cells(&table("", "pods", &[init_exit]), 0)[2],
        "Init:ExitCode:3"
    );

    // A native sidecar (restartPolicy Always) counts as a container once started.
    let sidecar = pod_with(
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
               "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true,
                   "restartCount": 1, "state": {"running": {}},
                   "lastState": {"terminated": {"exitCode": 137, "finishedAt": ago(7200)}}}],
               "containerStatuses": [running("app", true, 0), running("sidecar", true, 0)]}),
        json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}]}),
        json!({}),
    );
    let c = cells(&table("", "pods", &[sidecar]), 0);
    assert_eq!(
        c[1..4],
        [json!("3/3"), json!("Running"), json!("1 (120m ago)")]
    );

    let completed = pod_with(
        json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "sidecar", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        json!({}),
        json!({}),
    );
    let t = table("", "pods", &[completed]);
    assert_eq!(cells(&t, 0)[1..3], [json!("0/2"), json!("Completed")]);
    assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Succeeded");

    // Completed in the last container but another still running: not done.
    let half = pod_with(
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
               "containerStatuses": [running("app", true, 0),
            {"name": "sidecar", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        json!({}),
        json!({}),
    );
    assert_eq!(cells(&table("", "pods", &[half]), 0)[2], "NotReady");

    let oom = pod_with(
        json!({"phase": "Running", "containerStatuses": [running("app", true, 0),
            {"name": "sidecar", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        json!({}),
        json!({}),
    );
    assert_eq!(cells(&table("", "pods", &[oom]), 0)[2], "OOMKilled");

    let deleting = pod_with(
        json!({"phase": "Running", "containerStatuses": [running("app", true, 0), running("sidecar", true, 0)]}),
        json!({}),
        json!({"deletionTimestamp": ago(5)}),
    );
    assert_eq!(cells(&table("", "pods", &[deleting]), 0)[2], "Terminating");

    let gated = pod_with(
        json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        json!({"nodeName": null}),
        json!({}),
    );
    let c = cells(&table("", "pods", &[gated]), 0);
    assert_eq!(c[1..3], [json!("0/2"), json!("SchedulingGated")]);
    assert_eq!(c[6], "<none>");

    let evicted = pod_with(
        json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}),
        json!({}),
        json!({}),
    );
    let t = table("", "pods", &[evicted]);
    assert_eq!(cells(&t, 0)[2], "Evicted");
    assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Failed");
}

#[test]
fn service_columns() {
    let svc = |name: &str, spec: Value, status: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name, 86_400 * 3 + 3600),
               "spec": spec, "status": status})
    };
    let t = table(
        "",
        "services",
        &[
            svc(
                "kubernetes",
                json!({"type": "ClusterIP", "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"], "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}),
                json!({}),
            ),
            svc(
                "web",
                json!({"type": "NodePort", "clusterIPs": ["10.96.4.7"], "selector": {"tier": "web", "app": "shop", "app.kubernetes.io/part-of": "shop"},
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]}),
                json!({}),
            ),
            svc(
                "lb",
                json!({"type": "LoadBalancer", "clusterIPs": ["10.96.9.9"],
                "ports": [{"port": 5678, "protocol": "TCP", "nodePort": 31234}]}),
                json!({"loadBalancer": {}}),
            ),
            svc(
                "lb2",
                json!({"type": "LoadBalancer", "clusterIPs": ["10.96.9.10"], "externalIPs": ["1.2.3.4"],
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31000}]}),
                json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}, {"hostname": "lb.example.com"}]}}),
            ),
            svc(
                "db",
                json!({"type": "ExternalName", "externalName": "db.example.com"}),
                json!({}),
            ),
            svc(
                "headless",
                json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"}}),
                json!({}),
            ),
        ],
    );
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("kubernetes"),
            json!("ClusterIP"),
            json!("10.96.0.1"),
            json!("<none>"),
            json!("443/TCP"),
            json!("3d1h"),
            json!("<none>")
        ]
    );
    assert_eq!(
        cells(&t, 1)[3..],
        [
            json!("<none>"),
            json!("80:30080/TCP,53:30053/UDP"),
            json!("3d1h"),
            json!("app=shop,app.kubernetes.io/part-of=shop,tier=web")
        ]
    );
    assert_eq!(
        cells(&t, 2)[3..5],
        [json!("<pending>"), json!("5678:31234/TCP")]
    );
    assert_eq!(cells(&t, 3)[3], "203.0.113.7,lb.example.com,1.2.3.4");
    assert_eq!(
        cells(&t, 4)[1..5],
        [
            json!("ExternalName"),
            json!("<none>"),
            json!("db.example.com"),
            json!("<none>")
        ]
    );
    assert_eq!(
        cells(&t, 5)[2..5],
        [json!("None"), json!("<none>"), json!("<none>")]
    );
}

fn template(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}})
}

#[test]
fn workload_columns() {
    let two =
        json!([{"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]);
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web", 7200 + 60),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                 "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                      {"key": "legacy", "operator": "DoesNotExist"}]},
                 "template": template(two.clone())},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    let t = table("apps", "deployments", &[deploy]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS(wide)",
            "IMAGES(wide)",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("121m"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web,!legacy,tier in (a,b)")
        ]
    );
    // A fresh deployment with no status yet.
    let fresh = json!({"metadata": meta("new", 5), "spec": {"template": template(json!([{"name": "c", "image": "i"}]))}});
    assert_eq!(
        cells(&table("apps", "deployments", &[fresh]), 0)[1..4],
        [json!("0/1"), json!(0), json!(0)]
    );

    let rs = json!({"metadata": meta("web-5d4f8", 600), "spec": {"replicas": 3,
        "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f8"}}, "template": template(two.clone())},
        "status": {"replicas": 3, "readyReplicas": 1}});
    let t = table("apps", "replicasets", &[rs]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "AGE",
            "CONTAINERS(wide)",
            "IMAGES(wide)",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0)[1..5],
        [json!(3), json!(3), json!(1), json!("10m")]
    );
    assert_eq!(cells(&t, 0)[7], "app=web,pod-template-hash=5d4f8");

    let sts = json!({"metadata": meta("db", 86_400 * 40), "spec": {"replicas": 2, "template": template(two.clone())},
        "status": {"readyReplicas": 2}});
    let t = table("apps", "statefulsets", &[sts]);
    assert_eq!(
        headers(&t),
        ["NAME", "READY", "AGE", "CONTAINERS(wide)", "IMAGES(wide)"]
    );
    assert_eq!(cells(&t, 0)[..3], [json!("db"), json!("2/2"), json!("40d")]);

    let ds = json!({"metadata": meta("agent", 3600 * 30), "spec": {"selector": {"matchLabels": {"app": "agent"}},
        "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "agent:1"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                   "updatedNumberScheduled": 3, "numberAvailable": 2}});
    let t = table("apps", "daemonsets", &[ds]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE SELECTOR",
            "AGE",
            "CONTAINERS(wide)",
            "IMAGES(wide)",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("agent"),
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("kubernetes.io/os=linux"),
            json!("30h"),
            json!("a"),
            json!("agent:1"),
            json!("app=agent")
        ]
    );

    let cr = json!({"metadata": {"name": "agent-6b7c", "creationTimestamp": ago(50),
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "x", "controller": true}]},
        "revision": 2, "data": {}});
    let t = table("apps", "controllerrevisions", &[cr]);
    assert_eq!(headers(&t), ["NAME", "CONTROLLER", "REVISION", "AGE"]);
    assert_eq!(
        cells(&t, 0),
        [
            json!("agent-6b7c"),
            json!("daemonset.apps/agent"),
            json!(2),
            json!("50s")
        ]
    );
}

#[test]
fn job_and_cronjob_columns() {
    let base = |status: Value, spec_extra: Value, meta_extra: Value| {
        let mut spec = json!({"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                              "template": template(json!([{"name": "pi", "image": "perl"}]))});
        spec.as_object_mut()
            .unwrap()
            .extend(spec_extra.as_object().unwrap().clone());
        let mut m = meta("pi", 600);
        m.as_object_mut()
            .unwrap()
            .extend(meta_extra.as_object().unwrap().clone());
        json!({"metadata": m, "spec": spec, "status": status})
    };
    let done = base(
        json!({"succeeded": 1, "startTime": ago(590), "completionTime": ago(590 - 42),
               "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        json!({"completions": 1, "parallelism": 1}),
        json!({}),
    );
    let t = table("batch", "jobs", &[done]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "STATUS",
            "COMPLETIONS",
            "DURATION",
            "AGE",
            "CONTAINERS(wide)",
            "IMAGES(wide)",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("pi"),
            json!("Complete"),
            json!("1/1"),
            json!("42s"),
            json!("10m"),
            json!("pi"),
            json!("perl"),
            json!("batch.kubernetes.io/controller-uid=u1")
        ]
    );
    let running = base(
        json!({"active": 2, "startTime": ago(302)}),
        json!({"parallelism": 2}),
        json!({}),
    );
    assert_eq!(
        cells(&table("batch", "jobs", &[running]), 0)[1..4],
        [json!("Running"), json!("0/1 of 2"), json!("5m2s")]
    );
    let failed = base(
        json!({"failed": 6, "startTime": ago(500), "conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}]}),
        json!({"completions": 3}),
        json!({}),
    );
    assert_eq!(
        cells(&table("batch", "jobs", &[failed]), 0)[1..3],
        [json!("Failed"), json!("0/3")]
    );
    let suspended = base(
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
        json!({}),
        json!({}),
    );
    assert_eq!(
        cells(&table("batch", "jobs", &[suspended]), 0)[1..4],
        [json!("Suspended"), json!("0/1"), json!("")]
    );
    let deleting = base(json!({}), json!({}), json!({"deletionTimestamp": ago(1)}));
    assert_eq!(
        cells(&table("batch", "jobs", &[deleting]), 0)[1],
        "Terminating"
    );

    let cj = json!({"metadata": meta("report", 86_400 * 2), "spec": {"schedule": "*/5 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": template(json!([{"name": "r", "image": "report:2"}]))}}},
        "status": {"active": [{"name": "report-1"}], "lastScheduleTime": ago(65)}});
    let t = table("batch", "cronjobs", &[cj]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
            "CONTAINERS(wide)",
            "IMAGES(wide)",
            "SELECTOR(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("report"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("65s"),
            json!("2d"),
            json!("r"),
            json!("report:2"),
            json!("")
        ]
    );
    let never = json!({"metadata": meta("n", 10), "spec": {"schedule": "@daily", "timeZone": "Europe/Paris"}});
    assert_eq!(
        cells(&table("batch", "cronjobs", &[never]), 0)[1..6],
        [
            json!("@daily"),
            json!("Europe/Paris"),
            json!("<unset>"),
            json!(0),
            json!("<none>")
        ]
    );
}

#[test]
fn node_columns() {
    let node = json!({"metadata": {"name": "node-1", "creationTimestamp": ago(86_400 * 12),
            "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "", "kubernetes.io/hostname": "node-1"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "192.0.2.10"}],
            "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "skiff://0.1.0"}}});
    let t = table("", "nodes", &[node]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP(wide)",
            "EXTERNAL-IP(wide)",
            "OS-IMAGE(wide)",
            "KERNEL-VERSION(wide)",
            "CONTAINER-RUNTIME(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("node-1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,worker"),
            json!("12d"),
            json!("v1.32.4"),
            json!("192.0.2.10"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0-18-amd64"),
            json!("skiff://0.1.0")
        ]
    );
    let new = json!({"metadata": {"name": "n2", "creationTimestamp": ago(3)},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(
        cells(&table("", "nodes", &[new]), 0)[1..],
        [
            json!("NotReady"),
            json!("<none>"),
            json!("3s"),
            json!(""),
            json!("<none>"),
            json!("<none>"),
            json!("<unknown>"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );
    let bare = json!({"metadata": {"name": "n3"}});
    assert_eq!(
        cells(&table("", "nodes", &[bare]), 0)[1..4],
        [json!("Unknown"), json!("<none>"), json!("<unknown>")]
    );
}

#[test]
fn config_and_identity_columns() {
    let cm = json!({"metadata": meta("settings", 40), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    let t = table("", "configmaps", &[cm]);
    assert_eq!(headers(&t), ["NAME", "DATA", "AGE"]);
    assert_eq!(cells(&t, 0), [json!("settings"), json!(3), json!("40s")]);

    let secret = json!({"metadata": meta("tls", 86_400), "type": "kubernetes.io/tls",
        "data": {"tls.crt": "AA==", "tls.key": "AA=="}});
    let t = table(
        "",
        "secrets",
        &[secret, json!({"metadata": meta("empty", 1)})],
    );
    assert_eq!(headers(&t), ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(
        cells(&t, 0),
        [
            json!("tls"),
            json!("kubernetes.io/tls"),
            json!(2),
            json!("24h")
        ]
    );
    assert_eq!(
        cells(&t, 1),
        [json!("empty"), json!("Opaque"), json!(0), json!("1s")]
    );

    let sa = json!({"metadata": meta("default", 900)});
    let t = table("", "serviceaccounts", &[sa]);
    assert_eq!(headers(&t), ["NAME", "SECRETS", "AGE"]);
    assert_eq!(cells(&t, 0), [json!("default"), json!(0), json!("15m")]);

    let lease = json!({"metadata": meta("node-1", 86_400 * 400), "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}});
    let t = table(
        "coordination.k8s.io",
        "leases",
        &[lease, json!({"metadata": meta("free", 1)})],
    );
    assert_eq!(headers(&t), ["NAME", "HOLDER", "AGE"]);
    assert_eq!(
        cells(&t, 0),
        [json!("node-1"), json!("node-1"), json!("400d")]
    );
    assert_eq!(cells(&t, 1)[1], "");
}

#[test]
fn endpoint_columns() {
    let ep = json!({"metadata": meta("web", 60), "subsets": [
        {"addresses": [{"ip": "10.1.0.5"}, {"ip": "10.1.0.6"}], "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
        {"addresses": [{"ip": "fd00::7"}], "ports": [{"port": 8080}]}]});
    let t = table(
        "",
        "endpoints",
        &[
            ep,
            json!({"metadata": meta("none", 60)}),
            json!({"metadata": meta("headless", 60), "subsets": [{"addresses": [{"ip": "10.1.0.9"}]}]}),
        ],
    );
    assert_eq!(headers(&t), ["NAME", "ENDPOINTS", "AGE"]);
    assert_eq!(
        cells(&t, 0)[1],
        "10.1.0.5:80,10.1.0.6:80,10.1.0.5:443 + 2 more..."
    );
    assert_eq!(cells(&t, 1)[1], "<none>");
    assert_eq!(cells(&t, 2)[1], "10.1.0.9");

    let slice = json!({"metadata": meta("web-abc12", 60), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.1.0.5"]}, {"addresses": ["10.1.0.6"]}, {"addresses": ["10.1.0.7"]}, {"addresses": ["10.1.0.8"]}]});
    let t = table(
        "discovery.k8s.io",
        "endpointslices",
        &[
            slice,
            json!({"metadata": meta("empty", 60), "addressType": "IPv6", "endpoints": null}),
            json!({"metadata": meta("any", 60), "addressType": "FQDN", "ports": [{"name": "x"}, {}]}),
        ],
    );
    assert_eq!(
        headers(&t),
        ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    );
    assert_eq!(
        cells(&t, 0)[1..4],
        [
            json!("IPv4"),
            json!("80"),
            json!("10.1.0.5,10.1.0.6,10.1.0.7 + 1 more...")
        ]
    );
    assert_eq!(cells(&t, 1)[2..4], [json!("<unset>"), json!("<unset>")]);
    assert_eq!(cells(&t, 2)[2], "x,*");
}

#[test]
fn event_columns_for_both_apis() {
    let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": meta("web-1.17d", 300),
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(300), "lastTimestamp": ago(20), "count": 7});
    let t = table("", "events", &[core]);
    assert_eq!(
        headers(&t),
        [
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "SUBOBJECT(wide)",
            "SOURCE(wide)",
            "MESSAGE",
            "FIRST SEEN(wide)",
            "COUNT(wide)",
            "NAME(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("20s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-1"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Back-off restarting failed container"),
            json!("5m"),
            json!(7),
            json!("web-1.17d")
        ]
    );
    let new_api = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("x.1", 100),
        "regarding": {"kind": "Deployment", "name": "web"}, "reason": "ScalingReplicaSet",
        "note": "Scaled up replica set web-5d4f8 to 3", "type": "Normal", "action": "Scale",
        "reportingController": "deployment-controller", "reportingInstance": "",
        "eventTime": "2024-06-01T11:58:20.000000Z"});
    let t = to_table_at(
        res("events.k8s.io", "events"),
        &[new_api],
        IncludeObject::None,
        Value::Null,
        now(),
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("100s"),
            json!("Normal"),
            json!("ScalingReplicaSet"),
            json!("deployment/web"),
            json!(""),
            json!("deployment-controller"),
            json!("Scaled up replica set web-5d4f8 to 3"),
            json!("100s"),
            json!(1),
            json!("x.1")
        ]
    );
    let series = json!({"metadata": meta("s", 100), "involvedObject": {"kind": "Node"}, "eventTime": ago(3600),
        "series": {"count": 12, "lastObservedTime": ago(30)}});
    assert_eq!(
        cells(&table("", "events", &[series]), 0)[..4],
        [json!("30s"), json!(""), json!(""), json!("node")]
    );
    let none = json!({"metadata": meta("n", 1)});
    assert_eq!(cells(&table("", "events", &[none]), 0)[0], "<unknown>");
}

#[test]
fn storage_columns() {
    let pv = json!({"metadata": {"name": "pv-1", "creationTimestamp": ago(7200)},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast", "volumeMode": "Filesystem",
                 "claimRef": {"namespace": "default", "name": "data"}},
        "status": {"phase": "Bound"}});
    let t = table(
        "",
        "persistentvolumes",
        &[
            pv,
            json!({"metadata": {"name": "pv-2", "deletionTimestamp": ago(1)},
        "spec": {}, "status": {"phase": "Released", "reason": "gone"}}),
        ],
    );
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
            "VOLUMEMODE(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("pv-1"),
            json!("10Gi"),
            json!("RWO,RWX"),
            json!("Retain"),
            json!("Bound"),
            json!("default/data"),
            json!("fast"),
            json!("<unset>"),
            json!(""),
            json!("120m"),
            json!("Filesystem")
        ]
    );
    assert_eq!(
        cells(&t, 1)[1..9],
        [
            json!("0"),
            json!(""),
            json!(""),
            json!("Terminating"),
            json!(""),
            json!(""),
            json!("<unset>"),
            json!("gone")
        ]
    );

    let bound = json!({"metadata": {"name": "data", "namespace": "default", "creationTimestamp": ago(7200),
            "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"}},
        "spec": {"volumeName": "pv-1", "storageClassName": "fast", "resources": {"requests": {"storage": "5Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}});
    let pending = json!({"metadata": meta("wait", 30), "spec": {"storageClassName": "fast", "volumeMode": "Block",
        "volumeAttributesClassName": "gold"}, "status": {"phase": "Pending"}});
    let t = table("", "persistentvolumeclaims", &[bound, pending]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
            "VOLUMEMODE(wide)"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("10Gi"),
            json!("RWO"),
            json!("legacy"),
            json!("<unset>"),
            json!("120m"),
            json!("<unset>")
        ]
    );
    assert_eq!(
        cells(&t, 1),
        [
            json!("wait"),
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!("fast"),
            json!("gold"),
            json!("30s"),
            json!("Block")
        ]
    );

    let sc = json!({"metadata": {"name": "standard", "creationTimestamp": ago(86_400 * 10),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    let t = table("storage.k8s.io", "storageclasses", &[sc]);
    assert_eq!(
        headers(&t),
        [
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE"
        ]
    );
    assert_eq!(
        cells(&t, 0),
        [
            json!("standard (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("WaitForFirstConsumer"),
            json!(false),
            json!("10d")
        ]
    );
}

#[test]
fn every_served_kind_prints_and_tolerates_junk() {
    let junk = [
        json!({}),
        json!({"metadata": {"name": 5, "creationTimestamp": "yesterday"}, "spec": [], "status": "x"}),
        json!({"metadata": {"name": "a"}, "spec": {"containers": "no", "replicas": "3", "ports": [1, null]},
               "status": {"containerStatuses": [null, 3], "conditions": {}}}),
        json!(null),
    ];
    for r in crate::resources::RESOURCES {
        let t = to_table_at(r, &junk, IncludeObject::Metadata, Value::Null, now());
        let width = t["columnDefinitions"].as_array().unwrap().len();
        for row in t["rows"].as_array().unwrap() {
            assert_eq!(row["cells"].as_array().unwrap().len(), width, "{}", r.kind);
        }
    }
}

#[test]
fn unknown_kinds_get_name_and_age() {
    let r = Resource {
        group: "example.com",
        version: "v1",
        plural: "widgets",
        singular: "widget",
        kind: "Widget",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
    };
    let t = to_table_at(
        &r,
        &[json!({"metadata": meta("w", 59)})],
        IncludeObject::Metadata,
        Value::Null,
        now(),
    );
    assert_eq!(headers(&t), ["NAME", "AGE"]);
    assert_eq!(cells(&t, 0), [json!("w"), json!("59s")]);
}
