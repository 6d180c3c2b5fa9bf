use super::*;
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/proto/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Every capture of a typed kubectl write decodes to exactly the object that `kubectl
/// create ... --dry-run=client -o json` prints for the same command.
#[test]
fn kubectl_captures_decode_to_their_dry_run_json() {
    let names = [
        "deployment",
        "deployment_full",
        "secret_generic",
        "secret_tls",
        "secret_docker",
        "service_clusterip",
        "service_headless",
        "service_nodeport",
        "service_loadbalancer",
        "service_externalname",
        "job",
        "job_from_cronjob",
        "cronjob",
        "serviceaccount",
        "namespace",
        "configmap",
    ];
    for name in names {
        let got = decode(&fixture(&format!("{name}.pb"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = fixture_json(&format!("{name}.json"));
        assert_eq!(got, want, "{name}");
    }
}

/// `kubectl debug rich --copy-to=rich-copy --image=busybox -c dbg` against a server holding
/// `pod_debug_copy.source.json`: the copy keeps the whole PodSpec (probes, volumes, quantities,
/// affinity, negative numbers, ...) except `nodeName`, and gains the debug container.
#[test]
fn pod_copy_from_kubectl_debug_keeps_the_whole_spec() {
    let got = decode(&fixture("pod_debug_copy.pb")).unwrap();
    let source = fixture_json("pod_debug_copy.source.json");
    let mut want_spec = source["spec"].clone();
    let spec = want_spec.as_object_mut().unwrap();
    spec.remove("nodeName");
    spec["containers"].as_array_mut().unwrap().push(json!({
        "image": "busybox", "name": "dbg", "resources": {}, "terminationMessagePolicy": "File"
    }));
    assert_eq!(got["spec"], want_spec);
    assert_eq!(
        got["metadata"],
        json!({"name": "rich-copy", "namespace": "default", "annotations": {"note": "hello"},
               "creationTimestamp": null})
    );
    assert_eq!(got["status"], json!({}));
    assert_eq!(
        (got["apiVersion"].as_str(), got["kind"].as_str()),
        (Some("v1"), Some("Pod"))
    );
}

#[test]
fn node_debug_pod_token_request_and_drain_delete_options() {
    assert_eq!(
        decode(&fixture("pod_debug_node.pb")).unwrap(),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "node-debugger-n1-hm95z", "creationTimestamp": null},
            "spec": {
                "containers": [{
                    "name": "debugger", "image": "busybox", "resources": {},
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                }],
                "hostIPC": true, "hostNetwork": true, "hostPID": true, "nodeName": "n1",
                "restartPolicy": "Never", "tolerations": [{"operator": "Exists"}],
                "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            },
            "status": {},
        })
    );
    assert_eq!(
        decode(&fixture("token.pb")).unwrap(),
        json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": {"creationTimestamp": null},
            "spec": {"audiences": ["api"], "expirationSeconds": 600},
            "status": {"token": "", "expirationTimestamp": null},
        })
    );
    // `kubectl drain --grace-period=7` against a server without the eviction subresource.
    assert_eq!(
        decode(&fixture("delete_options.pb")).unwrap(),
        json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 7})
    );
}

// A minimal encoder, to build messages the captures do not cover.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn int(out: &mut Vec<u8>, field: u64, v: u64) {
    varint(out, field << 3);
    varint(out, v);
}

fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut tm = Vec::new();
    bytes(&mut tm, 1, api_version.as_bytes());
    bytes(&mut tm, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    bytes(&mut out, 1, &tm);
    bytes(&mut out, 2, raw);
    out
}

#[test]
fn delete_options_with_preconditions_propagation_and_dry_run() {
    let mut pre = Vec::new();
    bytes(&mut pre, 1, b"uid-1");
    bytes(&mut pre, 2, b"42");
    let mut opts = Vec::new();
    int(&mut opts, 1, 0);
    bytes(&mut opts, 2, &pre);
    bytes(&mut opts, 4, b"Foreground");
    bytes(&mut opts, 5, b"All");
    let v = decode(&envelope("meta.k8s.io/v1", "DeleteOptions", &opts)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions",
            // A pointer field: zero is kept, it means "delete now".
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
            "propagationPolicy": "Foreground",
            "dryRun": ["All"],
        })
    );
}

#[test]
fn special_types_decode_like_their_json_forms() {
    // Pod with a deletionTimestamp (Time), a negative priority (int32), a packed repeated
    // int64, a string targetPort-like IntOrString in a probe, and a resource quantity.
    let mut ts = Vec::new();
    int(&mut ts, 1, 1_700_000_000);
    int(&mut ts, 2, 123_456_789);
    let mut meta = Vec::new();
    bytes(&mut meta, 1, b"p");
    bytes(&mut meta, 9, &ts);
    let mut qty = Vec::new();
    bytes(&mut qty, 1, b"250m");
    let mut rl_entry = Vec::new();
    bytes(&mut rl_entry, 1, b"cpu");
    bytes(&mut rl_entry, 2, &qty);
    let mut resources = Vec::new();
    bytes(&mut resources, 2, &rl_entry);
    let mut port = Vec::new();
    int(&mut port, 1, 1);
    bytes(&mut port, 3, b"http");
    let mut tcp = Vec::new();
    bytes(&mut tcp, 1, &port);
    let mut handler = Vec::new();
    bytes(&mut handler, 3, &tcp);
    let mut probe = Vec::new();
    bytes(&mut probe, 1, &handler);
    int(&mut probe, 2, 0);
    let mut c = Vec::new();
    bytes(&mut c, 1, b"c");
    bytes(&mut c, 8, &resources);
    bytes(&mut c, 11, &probe);
    int(&mut c, 16, 1);
    let mut packed = Vec::new();
    varint(&mut packed, 5);
    varint(&mut packed, 300);
    let mut sc = Vec::new();
    bytes(&mut sc, 4, &packed);
    let mut spec = Vec::new();
    bytes(&mut spec, 2, &c);
    bytes(&mut spec, 14, &sc);
    int(&mut spec, 25, (-5i64) as u64);
    let mut pod = Vec::new();
    bytes(&mut pod, 1, &meta);
    bytes(&mut pod, 2, &spec);
    let v = decode(&envelope("v1", "Pod", &pod)).unwrap();
    assert_eq!(v["metadata"]["deletionTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(v["spec"]["priority"], -5);
    assert_eq!(
        v["spec"]["securityContext"]["supplementalGroups"],
        json!([5, 300])
    );
    let c = &v["spec"]["containers"][0];
    assert_eq!(c["resources"], json!({"requests": {"cpu": "250m"}}));
    // initialDelaySeconds is a plain int with omitempty: zero is left out.
    assert_eq!(c["readinessProbe"], json!({"tcpSocket": {"port": "http"}}));
    assert_eq!(c["stdin"], true);

    let mut renew = Vec::new();
    int(&mut renew, 1, 1_700_000_000);
    int(&mut renew, 2, 123_456_789);
    let mut lspec = Vec::new();
    bytes(&mut lspec, 1, b"holder");
    bytes(&mut lspec, 4, &renew);
    let mut lease = Vec::new();
    bytes(&mut lease, 2, &lspec);
    let v = decode(&envelope("coordination.k8s.io/v1", "Lease", &lease)).unwrap();
    assert_eq!(v["spec"]["renewTime"], "2023-11-14T22:13:20.123456Z");

    let mut raw = Vec::new();
    bytes(&mut raw, 1, br#"{"spec":{"replicas":2}}"#);
    let mut cr = Vec::new();
    bytes(&mut cr, 2, &raw);
    int(&mut cr, 3, 4);
    let v = decode(&envelope("apps/v1", "ControllerRevision", &cr)).unwrap();
    assert_eq!(v["data"], json!({"spec": {"replicas": 2}}));
    assert_eq!(v["revision"], 4);
}

#[test]
fn unknown_fields_and_kinds_are_refused_by_name() {
    let mut c = Vec::new();
    bytes(&mut c, 1, b"c");
    int(&mut c, 99, 1);
    let mut spec = Vec::new();
    bytes(&mut spec, 2, &c);
    let mut pod = Vec::new();
    bytes(&mut pod, 2, &spec);
    let err = decode(&envelope("v1", "Pod", &pod)).unwrap_err();
    assert_eq!(err.code, 415);
    assert!(err.message.contains("field number 99"), "{}", err.message);
    assert!(
        err.message.contains("k8s.io.api.core.v1.Container"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("spec.containers[0]"),
        "{}",
        err.message
    );
    assert!(err.message.contains("JSON"), "{}", err.message);

    let err = decode(&envelope("example.com/v1", "Widget", &[])).unwrap_err();
    assert_eq!(err.code, 415);
    assert!(err.message.contains("Widget"), "{}", err.message);

    // A string where a message belongs is named, not ignored.
    let mut pod = Vec::new();
    int(&mut pod, 2, 7);
    let err = decode(&envelope("v1", "Pod", &pod)).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(err.message.contains("field 2 (spec)"), "{}", err.message);
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    assert_eq!(decode(b"").unwrap_err().code, 400);
    assert_eq!(decode(b"{}").unwrap_err().code, 400);
    assert_eq!(decode(b"k8s\0\x0a\xff").unwrap_err().code, 400);
    assert_eq!(
        decode(b"k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
            .unwrap_err()
            .code,
        400
    );
    let names = [
        "deployment_full.pb",
        "pod_debug_copy.pb",
        "job_from_cronjob.pb",
        "secret_tls.pb",
    ];
    // xorshift: a fixed sequence, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for name in names {
        let body = fixture(name);
        for len in 0..body.len() {
            // Every truncation either decodes (a shorter, valid message) or is an error.
            errors += usize::from(decode(&body[..len]).is_err());
        }
        for _ in 0..3000 {
            let mut b = body.clone();
            for _ in 0..=(rand() % 4) {
                let i = (rand() as usize) % b.len();
                b[i] = rand() as u8;
            }
            let _ = decode(&b);
        }
        let garbage: Vec<u8> = MAGIC
            .iter()
            .copied()
            .chain((0..512).map(|_| rand() as u8))
            .collect();
        let _ = decode(&garbage);
    }
    assert!(errors > 0);
}

#[test]
fn envelopes_around_other_encodings_are_refused() {
    let mut tm = Vec::new();
    bytes(&mut tm, 1, b"v1");
    bytes(&mut tm, 2, b"ConfigMap");
    let mut body = MAGIC.to_vec();
    bytes(&mut body, 1, &tm);
    bytes(&mut body, 2, br#"{"metadata":{"name":"x"}}"#);
    bytes(&mut body, 4, b"application/json");
    let err = decode(&body).unwrap_err();
    assert_eq!(err.code, 415);
    assert!(err.message.contains("application/json"), "{}", err.message);

    let mut body = envelope("v1", "ConfigMap", &[]);
    bytes(&mut body, 3, b"gzip");
    assert_eq!(decode(&body).unwrap_err().code, 415);

    // No kind at all.
    let mut body = MAGIC.to_vec();
    bytes(&mut body, 2, &[]);
    assert_eq!(decode(&body).unwrap_err().code, 400);

    // A map entry without its value holds the zero value.
    let mut entry = Vec::new();
    bytes(&mut entry, 1, b"empty");
    let mut cm = Vec::new();
    bytes(&mut cm, 2, &entry);
    let v = decode(&envelope("v1", "ConfigMap", &cm)).unwrap();
    assert_eq!(v["data"], json!({"empty": ""}));
}
