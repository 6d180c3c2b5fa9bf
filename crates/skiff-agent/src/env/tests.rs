use super::*;
use serde_json::json;

fn pod(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).expect("test pod parses")
}

fn config_map(name: &str, data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).expect("configmap")
}

fn secret(name: &str, data: &[(&str, &[u8])]) -> Secret {
    Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v.to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

fn inputs() -> PodInputs {
    let mut inputs = PodInputs {
        node_name: "node-1".into(),
        host_ip: Some("10.1.0.5".into()),
        pod_ip: Some("10.244.0.7".into()),
        node_allocatable_cpu_millis: 2000,
        node_allocatable_memory: 8 << 30,
        node_allocatable_ephemeral_storage: 100 << 30,
        ..Default::default()
    };
    inputs.config_maps.insert(
        "app-config".into(),
        config_map(
            "app-config",
            json!({"LOG_LEVEL": "debug", "1BAD": "x", "has space": "y", "mode": "fast"}),
        ),
    );
    inputs.secrets.insert(
        "db".into(),
        secret("db", &[("password", b"s3cret"), ("user", b"admin")]),
    );
    inputs
}

fn env_of(pod: &Pod, inputs: &PodInputs) -> Result<Vec<(String, String)>, EnvError> {
    let c = &pod.spec.as_ref().expect("spec").containers[0];
    container_env(pod, &ContainerView::from(c), inputs)
}

fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn pod_with_env(env: serde_json::Value, env_from: serde_json::Value) -> Pod {
    pod(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "u-123",
                      "labels": {"app": "web", "tier": "front"},
                      "annotations": {"note": "say \"hi\"\n"}},
        "spec": {
            "nodeName": "node-1",
            "serviceAccountName": "builder",
            "containers": [{
                "name": "app", "image": "busybox",
                "env": env, "envFrom": env_from,
                "resources": {"limits": {"memory": "256Mi", "cpu": "500m"},
                              "requests": {"cpu": "250m"}}
            }]
        }
    }))
}

#[test]
fn env_from_prefix_skips_invalid_names_then_env_overrides() {
    let p = pod_with_env(
        json!([{"name": "CFG_mode", "value": "slow"}, {"name": "EXTRA", "value": "1"}]),
        json!([
            {"prefix": "CFG_", "configMapRef": {"name": "app-config"}},
            {"secretRef": {"name": "db"}}
        ]),
    );
    let env = env_of(&p, &inputs()).unwrap();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    // "CFG_1BAD" is a valid name once prefixed; "CFG_has space" is not.
    assert_eq!(
        names,
        [
            "CFG_1BAD",
            "CFG_LOG_LEVEL",
            "CFG_mode",
            "password",
            "user",
            "EXTRA"
        ]
    );
    assert_eq!(get(&env, "CFG_mode"), Some("slow"), "env overrides envFrom");
    assert_eq!(get(&env, "password"), Some("s3cret"));

    // Without a prefix, "1BAD" is not a valid name and is skipped.
    let p = pod_with_env(json!([]), json!([{"configMapRef": {"name": "app-config"}}]));
    let env = env_of(&p, &inputs()).unwrap();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["LOG_LEVEL", "mode"]);
}

#[test]
fn expansion_of_earlier_variables() {
    let p = pod_with_env(
        json!([
            {"name": "HOST", "value": "db.local"},
            {"name": "URL", "value": "postgres://$(HOST):5432/$(LOG_LEVEL)"},
            {"name": "LATER_REF", "value": "$(NOT_YET)"},
            {"name": "NOT_YET", "value": "now"},
            {"name": "ESCAPED", "value": "$$(HOST) costs $$5 or $5, $(unclosed"},
            {"name": "EMPTY"},
            {"name": "HOST", "value": "override"}
        ]),
        json!([{"configMapRef": {"name": "app-config"}}]),
    );
    let env = env_of(&p, &inputs()).unwrap();
    assert_eq!(get(&env, "URL"), Some("postgres://db.local:5432/debug"));
    assert_eq!(get(&env, "LATER_REF"), Some("$(NOT_YET)"));
    assert_eq!(
        get(&env, "ESCAPED"),
        Some("$(HOST) costs $5 or $5, $(unclosed")
    );
    assert_eq!(get(&env, "EMPTY"), Some(""));
    assert_eq!(get(&env, "HOST"), Some("override"));
    assert_eq!(env.iter().filter(|(k, _)| k == "HOST").count(), 1);
    // One entry per name, at its first position.
    let pos = env.iter().position(|(k, _)| k == "HOST").unwrap();
    assert!(pos < env.iter().position(|(k, _)| k == "URL").unwrap());
}

#[test]
fn key_refs_and_optional_misses() {
    let p = pod_with_env(
        json!([
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "LOG_LEVEL"}}},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "OPT_KEY", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "nope", "optional": true}}},
            {"name": "OPT_CM", "valueFrom": {"configMapKeyRef": {"name": "ghost", "key": "k", "optional": true}}},
            {"name": "OPT_SECRET", "valueFrom": {"secretKeyRef": {"name": "ghost", "key": "k", "optional": true}}}
        ]),
        json!([{"configMapRef": {"name": "ghost", "optional": true}}, {"secretRef": {"name": "ghost", "optional": true}}]),
    );
    let env = env_of(&p, &inputs()).unwrap();
    assert_eq!(get(&env, "LEVEL"), Some("debug"));
    assert_eq!(get(&env, "PASS"), Some("s3cret"));
    assert_eq!(get(&env, "OPT_KEY"), None);
    assert_eq!(get(&env, "OPT_CM"), None);
    assert_eq!(get(&env, "OPT_SECRET"), None);
}

#[test]
fn missing_objects_and_keys_name_the_field() {
    let p = pod_with_env(
        json!([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "nope"}}}]),
        json!([]),
    );
    let e = env_of(&p, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.containers[0].env[0].valueFrom.configMapKeyRef.key: key \"nope\" not found in configmap \"app-config\" in namespace \"shop\""), "{e}");

    let p = pod_with_env(
        json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}]),
        json!([]),
    );
    let e = env_of(&p, &inputs()).unwrap_err().to_string();
    assert!(e.contains("spec.containers[0].env[0].valueFrom.secretKeyRef.name: secret \"gone\" not found in namespace \"shop\""), "{e}");

    let p = pod_with_env(json!([]), json!([{"configMapRef": {"name": "app-cfg"}}]));
    let e = env_of(&p, &inputs()).unwrap_err().to_string();
    assert_eq!(
        e,
        "spec.containers[0].envFrom[0].configMapRef: configmap \"app-cfg\" not found in namespace \"shop\"; create it or mark the reference optional"
    );
}

#[test]
fn secret_values_must_be_utf8() {
    let mut inputs = inputs();
    inputs
        .secrets
        .insert("bin".into(), secret("bin", &[("blob", &[0xff, 0xfe])]));
    let p = pod_with_env(
        json!([{"name": "B", "valueFrom": {"secretKeyRef": {"name": "bin", "key": "blob"}}}]),
        json!([]),
    );
    let e = env_of(&p, &inputs).unwrap_err().to_string();
    assert!(e.contains("secretKeyRef.key") && e.contains("UTF-8"), "{e}");
}

#[test]
fn field_refs() {
    let refs = [
        ("NAME", "metadata.name", "web-0"),
        ("NS", "metadata.namespace", "shop"),
        ("UID", "metadata.uid", "u-123"),
        ("APP", "metadata.labels['app']", "web"),
        ("NOLABEL", "metadata.labels['missing']", ""),
        ("NOTE", "metadata.annotations['note']", "say \"hi\"\n"),
        ("NODE", "spec.nodeName", "node-1"),
        ("SA", "spec.serviceAccountName", "builder"),
        ("HOST_IP", "status.hostIP", "10.1.0.5"),
        ("HOST_IPS", "status.hostIPs", "10.1.0.5"),
        ("POD_IP", "status.podIP", "10.244.0.7"),
        ("POD_IPS", "status.podIPs", "10.244.0.7,fd00::7"),
    ];
    let env_json: Vec<serde_json::Value> = refs
        .iter()
        .map(
            |(name, path, _)| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}),
        )
        .collect();
    let mut p = pod_with_env(json!(env_json), json!([]));
    p.status = Some(
        serde_json::from_value(
            json!({"podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}, {"ip": "fd00::7"}]}),
        )
        .unwrap(),
    );
    let env = env_of(&p, &inputs()).unwrap();
    for (name, _, want) in refs {
        assert_eq!(get(&env, name), Some(want), "{name}");
    }

    let p = pod_with_env(
        json!([{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]),
        json!([]),
    );
    let e = env_of(&p, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported field path \"spec.hostname\""), "{e}");
}

#[test]
fn resource_field_refs_with_divisors_and_fallbacks() {
    let refs = [
        ("MEM_MI", "limits.memory", Some("1Mi"), "256"),
        ("MEM", "limits.memory", None, "268435456"),
        ("CPU_LIMIT", "limits.cpu", None, "1"), // 500m rounds up to one core
        ("CPU_LIMIT_M", "limits.cpu", Some("1m"), "500"),
        ("CPU_REQ_M", "requests.cpu", Some("1m"), "250"),
        ("MEM_REQ", "requests.memory", Some("1Mi"), "256"), // defaults to the limit
        ("EPH", "limits.ephemeral-storage", Some("1Gi"), "100"), // node allocatable
        ("MEM_G", "limits.memory", Some("1G"), "1"),        // 268 MB rounds up
    ];
    let env_json: Vec<serde_json::Value> = refs
        .iter()
        .map(|(name, res, div, _)| {
            let mut sel = json!({"resource": res});
            if let Some(d) = div {
                sel["divisor"] = json!(d);
            }
            json!({"name": name, "valueFrom": {"resourceFieldRef": sel}})
        })
        .collect();
    let p = pod_with_env(json!(env_json), json!([]));
    let env = env_of(&p, &inputs()).unwrap();
    for (name, _, _, want) in refs {
        assert_eq!(get(&env, name), Some(want), "{name}");
    }

    // No limits at all: the node's allocatable amounts.
    let p = pod(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "env": [
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory"}}}
        ]}]}
    }));
    let env = env_of(&p, &inputs()).unwrap();
    assert_eq!(get(&env, "CPU"), Some("2000"));
    assert_eq!(get(&env, "MEM"), Some("8192"));
    assert_eq!(get(&env, "REQ"), Some("0"));

    let p = pod_with_env(
        json!([{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]),
        json!([]),
    );
    let e = env_of(&p, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.containers[0].env[0].valueFrom.resourceFieldRef: unsupported resource \"limits.gpu\""), "{e}");
    let p = pod_with_env(
        json!([{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "lots"}}}]),
        json!([]),
    );
    assert!(env_of(&p, &inputs())
        .unwrap_err()
        .to_string()
        .contains("divisor"));
}

#[test]
fn ephemeral_and_init_containers_get_their_field_paths() {
    let p: Pod = pod(json!({
        "metadata": {"name": "p"},
        "spec": {
            "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "nope"}}]}],
            "containers": [{"name": "c"}],
            "ephemeralContainers": [{"name": "debug", "env": [{"name": "A", "value": "1"}]}]
        }
    }));
    let spec = p.spec.as_ref().unwrap();
    let init = ContainerView::from(&spec.init_containers.as_ref().unwrap()[0]);
    let e = container_env(&p, &init, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.initContainers[0].envFrom[0].secretRef: secret \"nope\" not found in namespace \"default\""), "{e}");
    let debug = ContainerView::from(&spec.ephemeral_containers.as_ref().unwrap()[0]);
    assert_eq!(
        container_env(&p, &debug, &inputs()).unwrap(),
        vec![("A".to_string(), "1".to_string())]
    );
}

#[test]
fn references_cover_every_source() {
    let p = pod(json!({
        "metadata": {"name": "web"},
        "spec": {
            "imagePullSecrets": [{"name": "regcred"}],
            "volumes": [
                {"name": "a", "configMap": {"name": "cm-vol"}},
                {"name": "b", "secret": {"secretName": "secret-vol"}},
                {"name": "c", "projected": {"sources": [
                    {"configMap": {"name": "cm-proj"}},
                    {"secret": {"name": "secret-proj"}},
                    {"serviceAccountToken": {"path": "token"}}
                ]}},
                {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
            ],
            "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
            "containers": [{"name": "c", "env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "secret-env", "key": "k"}}},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}}
            ]}],
            "ephemeralContainers": [{"name": "e", "envFrom": [{"secretRef": {"name": "secret-eph"}}]}]
        }
    }));
    let refs = references(&p);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        refs.config_maps,
        set(&["cm-env", "cm-init", "cm-proj", "cm-vol"])
    );
    assert_eq!(
        refs.secrets,
        set(&[
            "regcred",
            "secret-env",
            "secret-eph",
            "secret-proj",
            "secret-vol"
        ])
    );
    assert_eq!(refs.claims, set(&["data", "web-scratch"]));
}

#[test]
fn expand_matches_kubernetes_rules() {
    let vars = |n: &str| match n {
        "A" => Some("x".to_string()),
        _ => None,
    };
    assert_eq!(expand("$(A)$(A)", vars), "xx");
    assert_eq!(expand("$$(A)", vars), "$(A)");
    assert_eq!(expand("$(B)", vars), "$(B)");
    assert_eq!(expand("a$", vars), "a$");
    assert_eq!(expand("$A", vars), "$A");
    assert_eq!(expand("$(A", vars), "$(A");
    assert_eq!(expand("é$(A)ü$é", vars), "éxü$é");
}

#[test]
fn labels_are_formatted_like_go() {
    let mut m = BTreeMap::new();
    m.insert("b".to_string(), "two\tlines\n".to_string());
    m.insert("a".to_string(), "say \"hi\" \\ é".to_string());
    assert_eq!(
        format_map(Some(&m)),
        "a=\"say \\\"hi\\\" \\\\ é\"\nb=\"two\\tlines\\n\""
    );
    assert_eq!(format_map(None), "");
}
