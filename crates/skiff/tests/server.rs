//! End-to-end tests of `skiff server` with the real kubectl (`/usr/bin/kubectl` 1.32 and
//! Debian's 1.20): the server runs as a child on a free loopback port with a temporary data
//! dir, and is killed by a guard also when a test fails. The scenarios run twice: on the
//! embedded store and on a 3-member etcd cluster on loopback.

mod common;

use std::process::Command;
use std::time::Duration;

use common::server::{Backend, Server, TestBackend, KUBECTL};

/// One `#[test]` per backend for a scenario taking `&Backend`.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[test]
            fn embedded() {
                super::$name(&super::TestBackend::embedded().backend);
            }

            #[test]
            fn etcd() {
                let etcd = super::TestBackend::etcd();
                super::$name(&etcd.backend);
            }
        }
    };
}

on_both_backends!(kubectl_against_skiff_server);

/// Every verb of the slice through kubectl, then a restart on the same data dir.
fn kubectl_against_skiff_server(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start_on(dir.path(), backend);

    let version = server.ok(&["version"]);
    assert!(
        version.contains("Server Version: v1.32.0-skiff"),
        "{version}"
    );

    let ns = server.ok(&["get", "ns"]);
    assert!(ns.lines().any(|l| l.starts_with("default ")), "{ns}");

    server.ok(&["create", "configmap", "c1", "--from-literal=a=b"]);
    let c1 = server.json(&["get", "cm", "c1", "-o", "json"]);
    assert_eq!(c1["data"]["a"], "b");
    let rv = c1["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion");
    assert!(rv.parse::<i64>().expect("numeric rv") > 0);
    assert!(c1["metadata"]["uid"]
        .as_str()
        .is_some_and(|u| u.len() == 36));

    // apply twice: created, then unchanged.
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n",
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    assert!(server.ok(&["apply", "-f", m]).contains("created"));
    assert!(server.ok(&["apply", "-f", m]).contains("unchanged"));

    server.ok(&[
        "patch",
        "cm",
        "c1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"x":"y"}}"#,
    ]);
    server.ok(&[
        "patch",
        "cm",
        "c1",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/j","value":"1"}]"#,
    ]);
    let c1 = server.json(&["get", "cm", "c1", "-o", "json"]);
    assert_eq!(c1["data"]["x"], "y");
    assert_eq!(c1["data"]["j"], "1");

    // A replace carrying an old resourceVersion loses the compare-and-swap.
    let mut stale = c1.clone();
    server.ok(&[
        "patch",
        "cm",
        "c1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"q":"1"}}"#,
    ]);
    stale["data"]["a"] = "changed".into();
    let stale_file = dir.path().join("stale.json");
    std::fs::write(&stale_file, serde_json::to_vec(&stale).unwrap()).unwrap();
    let err = server.fails(&["replace", "-f", stale_file.to_str().unwrap()]);
    assert!(
        err.contains("Conflict") && err.contains("has been modified"),
        "{err}"
    );
    let put = serde_json::to_vec(&stale).unwrap();
    let (code, status) = server.raw(
        "PUT",
        "/api/v1/namespaces/default/configmaps/c1",
        Some(&server.token()),
        &put,
    );
    assert_eq!(code, 409, "{status}");
    assert_eq!(status["reason"], "Conflict");

    let err = server.fails(&["create", "configmap", "Bad_Name"]);
    assert!(
        err.contains("is invalid") && err.contains("metadata.name"),
        "{err}"
    );
    let (code, status) = server.raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&server.token()),
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#,
    );
    assert_eq!(code, 422);
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");

    // Authentication, body checks.
    let (code, status) = server.raw("GET", "/api/v1/namespaces", None, b"");
    assert_eq!((code, status["kind"].as_str()), (401, Some("Status")));
    let (code, _) = server.raw("GET", "/api/v1/namespaces", Some("wrong"), b"");
    assert_eq!(code, 401);
    // kubectl with only a (wrong) token: the client certificate would authenticate it.
    let token_only: String = std::fs::read_to_string(&server.kubeconfig)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    let wrong = dir.path().join("wrong-token.kubeconfig");
    std::fs::write(&wrong, token_only).unwrap();
    assert!(server
        .fails(&[
            "--kubeconfig",
            wrong.to_str().unwrap(),
            "--token",
            "wrong",
            "get",
            "ns"
        ])
        .contains("Unauthorized"));
    let token = server.token();
    let (code, status) = server.raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&token),
        b"{not json",
    );
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let (code, _) = server.raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&token),
        &big,
    );
    assert_eq!(code, 413);

    // Namespaces: create, use, delete (objects go with it).
    server.ok(&["create", "namespace", "team"]);
    server.ok(&["-n", "team", "create", "configmap", "t1"]);
    assert!(server
        .fails(&["-n", "nope", "create", "configmap", "t1"])
        .contains("namespaces \"nope\" not found"));
    server.ok(&["delete", "namespace", "team"]);
    assert!(server
        .fails(&["-n", "team", "get", "cm", "t1"])
        .contains("NotFound"));

    // Restart on the same data dir: everything is still there.
    server.restart();
    let c1 = server.json(&["get", "cm", "c1", "-o", "json"]);
    assert_eq!(c1["data"]["q"], "1");
    let names = server.ok(&["get", "cm", "-o", "name"]);
    assert_eq!(names.trim(), "configmap/applied\nconfigmap/c1");
}

on_both_backends!(kubectl_watch_sees_changes_in_order);

/// `kubectl get -w` sees ADDED, MODIFIED and DELETED in order while the test writes.
fn kubectl_watch_sees_changes_in_order(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(dir.path(), backend);
    let (_guard, rx) = server.watch(KUBECTL, &["cm"]);
    // Give the watch time to be established before writing; the list that precedes it is
    // empty, so any event seen comes from the watch itself.
    std::thread::sleep(Duration::from_millis(1500));
    server.ok(&["create", "configmap", "w1"]);
    server.ok(&[
        "patch",
        "cm",
        "w1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"1"}}"#,
    ]);
    server.ok(&["delete", "cm", "w1"]);
    common::server::expect_events(&rx, "w1", &["ADDED", "MODIFIED", "DELETED"]);
}

const WEB_MANIFEST: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 6
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.example/busybox:1.36
        command: ["httpd", "-f", "-p", "80"]
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
"#;

on_both_backends!(kubectl_drives_workloads);

/// The kinds beyond configmaps through kubectl: apply twice, the output formats, describe,
/// scale, strategic patches, edit, label/annotate, server-side apply with conflicts,
/// dry-run, explain and discovery.
fn kubectl_drives_workloads(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(dir.path(), backend);
    let manifest = dir.path().join("web.yaml");
    std::fs::write(&manifest, WEB_MANIFEST).unwrap();
    let m = manifest.to_str().unwrap();

    let first = server.ok(&["apply", "-f", m]);
    assert!(
        first.contains("deployment.apps/web created") && first.contains("service/web created"),
        "{first}"
    );
    let second = server.ok(&["apply", "-f", m]);
    assert!(
        second.contains("deployment.apps/web unchanged")
            && second.contains("service/web unchanged"),
        "{second}"
    );

    // Server-set fields and defaults.
    let dep = server.json(&["get", "deploy", "web", "-o", "json"]);
    assert_eq!(dep["metadata"]["generation"], 1);
    assert_eq!(dep["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(dep["spec"]["template"]["spec"]["restartPolicy"], "Always");
    let svc = server.json(&["get", "svc", "web", "-o", "json"]);
    let cluster_ip = svc["spec"]["clusterIP"].as_str().expect("clusterIP");
    assert!(cluster_ip.starts_with("10.43."), "{svc}");
    let node_port = svc["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .expect("nodePort");
    assert!((30000..=32767).contains(&node_port), "{svc}");

    // Output formats.
    let table = server.ok(&["get", "deploy", "web"]);
    assert!(
        table.starts_with("NAME") && table.contains("READY") && table.contains("UP-TO-DATE"),
        "{table}"
    );
    let wide = server.ok(&["get", "svc", "web", "-o", "wide"]);
    assert!(
        wide.contains("LoadBalancer") && wide.contains(cluster_ip) && wide.contains("SELECTOR"),
        "{wide}"
    );
    let yaml = server.ok(&["get", "deploy", "web", "-o", "yaml"]);
    assert!(yaml.contains("replicas: 6"), "{yaml}");
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "6"
    );
    let cols = server.ok(&[
        "get",
        "svc",
        "-o",
        "custom-columns=NAME:.metadata.name,TYPE:.spec.type",
    ]);
    assert!(
        cols.contains("web") && cols.contains("LoadBalancer"),
        "{cols}"
    );
    let described = server.ok(&["describe", "deployment", "web"]);
    assert!(
        described.contains("Replicas:") && described.contains("registry.example/busybox:1.36"),
        "{described}"
    );

    // The scale subresource and strategic merge patches on a list keyed by name.
    server.ok(&["scale", "deployment", "web", "--replicas=3"]);
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    server.ok(&[
        "set",
        "image",
        "deployment/web",
        "web=registry.example/busybox:1.37",
    ]);
    server.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.example/pause:3"}]}}}}"#,
    ]);
    let dep = server.json(&["get", "deploy", "web", "-o", "json"]);
    let containers = dep["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2, "{dep}");
    assert_eq!(containers[0]["image"], "registry.example/busybox:1.37");
    assert!(dep["metadata"]["generation"].as_i64().unwrap() >= 3);

    // edit through KUBE_EDITOR, label, annotate.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/sessionAffinity: None/sessionAffinity: ClientIP/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(["edit", "svc", "web"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .expect("kubectl edit");
    common::succeeded(&out, "kubectl edit");
    server.ok(&["label", "svc", "web", "tier=frontend"]);
    server.ok(&["annotate", "svc", "web", "note=hello"]);
    let svc2 = server.json(&["get", "svc", "web", "-o", "json"]);
    assert_eq!(svc2["metadata"]["labels"]["tier"], "frontend");
    assert_eq!(svc2["spec"]["sessionAffinity"], "ClientIP", "{svc2}");
    assert_eq!(svc2["metadata"]["annotations"]["note"], "hello");
    assert_eq!(svc2["spec"]["clusterIP"], svc["spec"]["clusterIP"]);

    // Server-side apply: twice is a no-op; a field another manager owns is a conflict.
    let ssa = dir.path().join("ssa.yaml");
    std::fs::write(
        &ssa,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"1\"\n",
    )
    .unwrap();
    let s = ssa.to_str().unwrap();
    assert!(server
        .ok(&["apply", "--server-side", "-f", s])
        .contains("serverside-applied"));
    let before = server.json(&["get", "cm", "ssa", "-o", "json"]);
    server.ok(&["apply", "--server-side", "-f", s]);
    let after = server.json(&["get", "cm", "ssa", "-o", "json"]);
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "a second identical apply must not write"
    );
    server.ok(&[
        "patch",
        "cm",
        "ssa",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"2"}}"#,
    ]);
    let err = server.fails(&["apply", "--server-side", "-f", s]);
    assert!(err.contains("conflict"), "{err}");
    server.ok(&["apply", "--server-side", "--force-conflicts", "-f", s]);
    let forced = server.json(&["get", "cm", "ssa", "-o", "json"]);
    assert_eq!(forced["data"]["a"], "1");
    assert!(server
        .ok(&["get", "cm", "ssa", "-o", "yaml", "--show-managed-fields"])
        .contains("manager: kubectl"));

    // Dry run writes nothing.
    server.ok(&[
        "create",
        "deployment",
        "dry",
        "--image=x",
        "--dry-run=server",
    ]);
    assert!(server.fails(&["get", "deploy", "dry"]).contains("NotFound"));

    // Typed creates (protobuf bodies) of several kinds.
    server.ok(&["create", "secret", "generic", "s1", "--from-literal=k=v"]);
    server.ok(&["create", "service", "clusterip", "c1", "--tcp=8080:80"]);
    server.ok(&[
        "create",
        "job",
        "j1",
        "--image=registry.example/busybox",
        "--",
        "true",
    ]);
    server.ok(&[
        "create",
        "cronjob",
        "cj1",
        "--image=x",
        "--schedule=*/5 * * * *",
    ]);
    server.ok(&["create", "serviceaccount", "sa1"]);
    server.ok(&[
        "run",
        "p1",
        "--image=registry.example/busybox",
        "--restart=Never",
        "--",
        "sleep",
        "1",
    ]);
    let secret = server.json(&["get", "secret", "s1", "-o", "json"]);
    assert_eq!(secret["data"]["k"], "dg==");
    assert_eq!(secret["type"], "Opaque");
    let pod = server.json(&["get", "pod", "p1", "-o", "json"]);
    assert_eq!(pod["status"]["phase"], "Pending");
    let pods = server.ok(&["get", "pods"]);
    assert!(pods.contains("p1") && pods.contains("Pending"), "{pods}");

    // Discovery and schemas.
    let resources = server.ok(&["api-resources"]);
    for kind in [
        "Deployment",
        "StatefulSet",
        "CronJob",
        "Lease",
        "EndpointSlice",
        "StorageClass",
        "PersistentVolumeClaim",
    ] {
        assert!(resources.contains(kind), "{kind} missing from {resources}");
    }
    let versions = server.ok(&["api-versions"]);
    assert!(
        versions.contains("apps/v1") && versions.contains("batch/v1"),
        "{versions}"
    );
    let explained = server.ok(&["explain", "deployment.spec.replicas"]);
    assert!(explained.contains("replicas"), "{explained}");

    // Unknown fields under Strict validation name the field, and nothing is stored.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndataa:\n  a: b\n",
    )
    .unwrap();
    let err = server.fails(&["create", "-f", bad.to_str().unwrap()]);
    assert!(err.contains("dataa"), "{err}");
    assert!(server.fails(&["get", "cm", "bad"]).contains("NotFound"));
}

on_both_backends!(deletion_cascades_and_namespaces_terminate);

/// Deletion semantics: cascading through ownerReferences (background, foreground and
/// orphan) and a namespace that terminates with its content.
fn deletion_cascades_and_namespaces_terminate(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(dir.path(), backend);
    let owned = |owner_uid: &str, name: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","ownerReferences":[{{"apiVersion":"apps/v1","kind":"Deployment","name":"owner","uid":"{owner_uid}","blockOwnerDeletion":true}}]}}}}"#
        )
    };
    for (cascade, survives) in [
        ("background", false),
        ("foreground", false),
        ("orphan", true),
    ] {
        server.ok(&["create", "deployment", "owner", "--image=x"]);
        let uid = server.ok(&["get", "deploy", "owner", "-o", "jsonpath={.metadata.uid}"]);
        server.ok_stdin(&["create", "-f", "-"], &owned(&uid, "dependent"));
        server.ok(&[
            "delete",
            "deployment",
            "owner",
            &format!("--cascade={cascade}"),
        ]);
        assert!(server
            .fails(&["get", "deploy", "owner"])
            .contains("NotFound"));
        if survives {
            let cm = server.json(&["get", "cm", "dependent", "-o", "json"]);
            assert!(cm["metadata"]["ownerReferences"].is_null(), "{cm}");
            server.ok(&["delete", "cm", "dependent"]);
        } else {
            server.eventually(&["get", "cm", "dependent"], cascade, |o| {
                !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("NotFound")
            });
        }
    }

    server.ok(&["create", "namespace", "doomed"]);
    server.ok(&["-n", "doomed", "create", "configmap", "c"]);
    server.ok(&["-n", "doomed", "create", "deployment", "d", "--image=x"]);
    server.ok(&["delete", "namespace", "doomed"]);
    assert!(server.fails(&["get", "ns", "doomed"]).contains("NotFound"));
    assert!(server
        .fails(&["-n", "doomed", "get", "cm", "c"])
        .contains("NotFound"));
    assert!(server
        .fails(&["delete", "namespace", "default"])
        .contains("forbidden"));
}

on_both_backends!(lists_page_and_clients_authenticate_by_certificate);

/// Paging, selectors and the client-certificate credential.
fn lists_page_and_clients_authenticate_by_certificate(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(dir.path(), backend);
    for i in 0..7 {
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        server.ok(&["create", "configmap", &format!("page-{i}")]);
        server.ok(&["label", "cm", &format!("page-{i}"), &format!("tier={tier}")]);
    }
    let token = server.token();
    let (code, first) = server.raw(
        "GET",
        "/api/v1/namespaces/default/configmaps?limit=3",
        Some(&token),
        b"",
    );
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["metadata"]["remainingItemCount"], 4);
    let cont = first["metadata"]["continue"]
        .as_str()
        .expect("continue token");
    let (code, rest) = server.raw(
        "GET",
        &format!("/api/v1/namespaces/default/configmaps?limit=10&continue={cont}"),
        Some(&token),
        b"",
    );
    assert_eq!(code, 200, "{rest}");
    assert_eq!(rest["items"].as_array().unwrap().len(), 4);
    assert!(rest["metadata"]["continue"].is_null());
    let chunked = server.ok(&["get", "cm", "--chunk-size=2", "-o", "name"]);
    assert_eq!(chunked.lines().filter(|l| l.contains("page-")).count(), 7);
    let odd = server.ok(&["get", "cm", "-l", "tier in (odd)", "-o", "name"]);
    assert_eq!(odd.lines().count(), 3, "{odd}");
    let named = server.ok(&[
        "get",
        "cm",
        "--field-selector",
        "metadata.name=page-4",
        "-o",
        "name",
    ]);
    assert_eq!(named.trim(), "configmap/page-4");
    server.ok(&["delete", "cm", "-l", "tier=even"]);
    assert_eq!(
        server
            .ok(&["get", "cm", "-o", "name"])
            .lines()
            .filter(|l| l.contains("page-"))
            .count(),
        3
    );

    // A kubeconfig with only the client certificate works; no credential at all does not.
    let text = std::fs::read_to_string(&server.kubeconfig).unwrap();
    let cert_only: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("token:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(cert_only, text, "the kubeconfig carries a token");
    let kc = dir.path().join("cert-only.kubeconfig");
    std::fs::write(&kc, cert_only).unwrap();
    let out = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["get", "ns", "default", "-o", "name"])
        .output()
        .expect("kubectl");
    assert_eq!(
        common::succeeded(&out, "cert-only kubectl").trim(),
        "namespace/default"
    );
    let (code, _) = server.raw("GET", "/api/v1/namespaces", None, b"");
    assert_eq!(code, 401);
}

/// The WordPress and MySQL set (Services, PersistentVolumeClaims, Deployments and a
/// kustomize secretGenerator) applies cleanly with `kubectl apply -k`, and a second apply
/// changes nothing.
#[test]
fn wordpress_and_mysql_apply_with_kustomize() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let app = dir.path().join("wordpress");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "secretGenerator:\n- name: mysql-pass\n  literals:\n  - password=s3cret\nresources:\n- mysql.yaml\n- wordpress.yaml\n",
    )
    .unwrap();
    let tier = |name: &str, tier: &str, image: &str, port: u16, env: &str, mount: &str| {
        format!(
            r#"apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    app: wordpress
spec:
  ports:
  - port: {port}
  selector:
    app: wordpress
    tier: {tier}
  {service_extra}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {tier}-pv-claim
  labels:
    app: wordpress
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 20Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: wordpress
spec:
  selector:
    matchLabels:
      app: wordpress
      tier: {tier}
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: wordpress
        tier: {tier}
    spec:
      containers:
      - image: {image}
        name: {tier}
        env:
        - name: {env}
          valueFrom:
            secretKeyRef:
              name: mysql-pass
              key: password
        ports:
        - containerPort: {port}
          name: {tier}
        volumeMounts:
        - name: {tier}-persistent-storage
          mountPath: {mount}
      volumes:
      - name: {tier}-persistent-storage
        persistentVolumeClaim:
          claimName: {tier}-pv-claim
"#,
            service_extra = if tier == "mysql" {
                "clusterIP: None"
            } else {
                "type: LoadBalancer"
            }
        )
    };
    std::fs::write(
        app.join("mysql.yaml"),
        tier(
            "wordpress-mysql",
            "mysql",
            "mysql:8.0",
            3306,
            "MYSQL_ROOT_PASSWORD",
            "/var/lib/mysql",
        ),
    )
    .unwrap();
    std::fs::write(
        app.join("wordpress.yaml"),
        tier(
            "wordpress",
            "frontend",
            "wordpress:6.2.1-apache",
            80,
            "WORDPRESS_DB_PASSWORD",
            "/var/www/html",
        ),
    )
    .unwrap();
    let a = app.to_str().unwrap();
    let first = server.ok(&["apply", "-k", a]);
    assert_eq!(first.matches(" created").count(), 7, "{first}");
    let second = server.ok(&["apply", "-k", a]);
    assert_eq!(second.matches(" unchanged").count(), 7, "{second}");
    let secret = server.ok(&["get", "secrets", "-o", "name"]);
    assert!(secret.contains("secret/mysql-pass-"), "{secret}");
    let mysql = server.json(&["get", "svc", "wordpress-mysql", "-o", "json"]);
    assert_eq!(mysql["spec"]["clusterIP"], "None");
    let pvcs = server.ok(&["get", "pvc"]);
    assert!(
        pvcs.contains("mysql-pv-claim") && pvcs.contains("frontend-pv-claim"),
        "{pvcs}"
    );
}

/// `kubectl get pods -w` streams events in order while another client writes.
#[test]
fn kubectl_watches_pods_while_another_client_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (_guard, rx) = server.watch(KUBECTL, &["pods"]);
    std::thread::sleep(Duration::from_millis(1500));
    let token = server.token();
    let mut expected = Vec::new();
    for i in 0..5 {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"w{i}"}},"spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
        );
        let (code, resp) = server.raw(
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(&token),
            body.as_bytes(),
        );
        assert_eq!(code, 201, "{resp}");
        expected.push(("ADDED".to_string(), format!("w{i}")));
    }
    let (code, _) = server.raw(
        "DELETE",
        "/api/v1/namespaces/default/pods/w0",
        Some(&token),
        b"",
    );
    assert!(code == 200 || code == 202, "delete answered {code}");
    expected.push(("DELETED".to_string(), "w0".to_string()));
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let ev = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("watch events so far: {seen:?}"));
        seen.push((
            ev["type"].as_str().unwrap_or("").to_string(),
            ev["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ));
    }
    assert_eq!(seen, expected);
}

on_both_backends!(bad_input_is_refused_and_nothing_is_stored);

/// Bad input gets a precise status and leaves nothing behind.
fn bad_input_is_refused_and_nothing_is_stored(backend: &Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(dir.path(), backend);
    let token = server.token();
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let dep = |extra: &str| {
        format!(
            r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"d"}},"spec":{{"selector":{{"matchLabels":{{"a":"b"}}}},"template":{{"metadata":{{"labels":{{"a":"b"}}}},"spec":{{"containers":[{{"name":"c","image":"x"}}]}}}}{extra}}}}}"#
        )
    };
    // (body, expected code, text the message or a cause must mention)
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"apiVersion\": ".into(), 400, "not valid JSON"),
        (
            dep("").replace("\"kind\":\"Deployment\"", "\"kind\":\"ReplicaSet\""),
            400,
            "ReplicaSet",
        ),
        (
            dep("").replace("apps/v1", "apps/v1beta1"),
            400,
            "apps/v1beta1",
        ),
        (dep(",\"replicas\":\"three\""), 400, "spec.replicas"),
        (dep(",\"replicas\":-1"), 422, "spec.replicas"),
        (dep(",\"replicaz\":2"), 422, "spec.replicaz"),
        (
            dep("").replace("\"name\":\"d\"", "\"name\":\"D_bad\""),
            422,
            "metadata.name",
        ),
        (
            dep("").replace("\"image\":\"x\"", "\"image\":\"\""),
            422,
            "spec.template.spec.containers[0].image",
        ),
    ];
    for (body, code, mention) in cases {
        let (got, status) = server.raw(
            "POST",
            &format!("{deployments}?fieldValidation=Strict"),
            Some(&token),
            body.as_bytes(),
        );
        assert_eq!(got, code, "{body} -> {status}");
        assert_eq!(status["kind"], "Status", "{status}");
        assert!(
            status.to_string().contains(mention),
            "{mention} not in {status}"
        );
    }
    let yaml = dir.path().join("broken.yaml");
    std::fs::write(
        &yaml,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
    )
    .unwrap();
    let err = server.fails(&["apply", "-f", yaml.to_str().unwrap()]);
    assert!(err.contains("yaml") || err.contains("YAML"), "{err}");
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let (code, _) = server.raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&token),
        big.as_bytes(),
    );
    assert_eq!(code, 413);
    // Nothing of the above was stored.
    let (code, list) = server.raw("GET", deployments, Some(&token), b"");
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    assert!(server.fails(&["get", "cm", "big"]).contains("NotFound"));
}

/// The older client, Debian's kubectl 1.20 (legacy discovery, OpenAPI v2 in protobuf for
/// client-side validation and apply), drives the same workloads.
#[test]
fn kubectl_1_20_drives_workloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let ok = |args: &[&str]| server.old_ok(args);
    let manifest = dir.path().join("web.yaml");
    std::fs::write(&manifest, WEB_MANIFEST).unwrap();
    let m = manifest.to_str().unwrap();
    assert!(ok(&["version"]).contains("v1.32.0-skiff"));
    let first = ok(&["apply", "-f", m]);
    assert!(first.contains("deployment.apps/web created"), "{first}");
    let second = ok(&["apply", "-f", m]);
    assert!(second.contains("deployment.apps/web unchanged"), "{second}");
    let table = ok(&["get", "deploy,svc", "-o", "wide"]);
    assert!(
        table.contains("LoadBalancer") && table.contains("UP-TO-DATE"),
        "{table}"
    );
    ok(&[
        "create",
        "deployment",
        "d2",
        "--image=registry.example/busybox",
    ]);
    ok(&["scale", "deployment", "d2", "--replicas=4"]);
    assert_eq!(
        ok(&["get", "deploy", "d2", "-o", "jsonpath={.spec.replicas}"]),
        "4"
    );
    ok(&["label", "deploy", "d2", "team=a"]);
    ok(&[
        "patch",
        "deploy",
        "d2",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"busybox","image":"registry.example/busybox:2"}]}}}}"#,
    ]);
    let d2 = server.json(&["get", "deploy", "d2", "-o", "json"]);
    assert_eq!(d2["metadata"]["labels"]["team"], "a");
    assert_eq!(
        d2["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/busybox:2"
    );
    assert!(ok(&["explain", "deployment.spec.replicas"]).contains("replicas"));
    assert!(ok(&["describe", "svc", "web"]).contains("LoadBalancer"));
    let resources = ok(&["api-resources"]);
    assert!(
        resources.contains("cronjobs") && resources.contains("leases"),
        "{resources}"
    );
    // Client-side validation from the served schema refuses an unknown field.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        WEB_MANIFEST.replace("containerPort: 80", "containerPortt: 80"),
    )
    .unwrap();
    let err = server.old_fails(&["create", "-f", bad.to_str().unwrap()]);
    assert!(err.contains("containerPortt"), "{err}");
    ok(&["annotate", "deploy", "d2", "note=old-client"]);
    ok(&[
        "patch",
        "deploy",
        "d2",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"m":"1"}}}"#,
    ]);
    ok(&[
        "patch",
        "deploy",
        "d2",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels/j","value":"2"}]"#,
    ]);
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/sessionAffinity: None/sessionAffinity: ClientIP/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = server
        .kubectl_cmd(common::server::KUBECTL_1_20, &["edit", "svc", "web"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .expect("kubectl 1.20 edit");
    common::succeeded(&out, "kubectl 1.20 edit");
    assert!(ok(&["api-versions"]).contains("apps/v1"));
    let ssa = dir.path().join("ssa.yaml");
    std::fs::write(
        &ssa,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-old\ndata:\n  a: \"1\"\n",
    )
    .unwrap();
    assert!(
        ok(&["apply", "--server-side", "-f", ssa.to_str().unwrap()]).contains("serverside-applied")
    );
    let d2 = server.json(&["get", "deploy", "d2", "-o", "json"]);
    assert_eq!(d2["metadata"]["annotations"]["note"], "old-client");
    assert_eq!(
        (
            d2["metadata"]["labels"]["m"].as_str(),
            d2["metadata"]["labels"]["j"].as_str()
        ),
        (Some("1"), Some("2"))
    );
    let svc = server.json(&["get", "svc", "web", "-o", "json"]);
    assert_eq!(svc["spec"]["sessionAffinity"], "ClientIP", "{svc}");
    ok(&["delete", "deployment", "web", "d2", "--cascade=orphan"]);
    assert!(server.fails(&["get", "deploy", "web"]).contains("NotFound"));
}

/// Once history is compacted, a watch or a paged list from before it gets 410 Gone, while
/// a watch from a recent resourceVersion still works.
#[test]
fn compacted_resource_versions_are_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(
        dir.path(),
        &Backend::Embedded,
        &["--compaction-interval", "500ms"],
    );
    let token = server.token();
    for i in 0..3 {
        server.ok(&["create", "configmap", &format!("old-{i}")]);
    }
    let (code, page) = server.raw(
        "GET",
        "/api/v1/namespaces/default/configmaps?limit=1",
        Some(&token),
        b"",
    );
    assert_eq!(code, 200, "{page}");
    let old_rv = page["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let cont = page["metadata"]["continue"].as_str().unwrap().to_string();
    for i in 0..3 {
        server.ok(&["label", "cm", "old-0", &format!("round={i}"), "--overwrite"]);
    }
    // Two ticks: the first notes the revision, the second compacts to it.
    std::thread::sleep(Duration::from_millis(1600));
    let (code, body) = server.raw(
        "GET",
        &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={old_rv}&timeoutSeconds=5"),
        Some(&token),
        b"",
    );
    assert_eq!(code, 200);
    let text = body.to_string();
    assert!(
        text.contains("\"ERROR\"") && text.contains("410") && text.contains("Expired"),
        "{text}"
    );
    let (code, status) = server.raw(
        "GET",
        &format!("/api/v1/namespaces/default/configmaps?limit=1&continue={cont}"),
        Some(&token),
        b"",
    );
    assert_eq!(code, 410, "{status}");
    let current = server.json(&["get", "cm", "old-0", "-o", "json"]);
    let rv = current["metadata"]["resourceVersion"].as_str().unwrap();
    let (code, body) = server.raw(
        "GET",
        &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        Some(&token),
        b"",
    );
    assert_eq!(code, 200);
    assert!(!body.to_string().contains("ERROR"), "{body}");
}
