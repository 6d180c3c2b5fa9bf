//! End-to-end tests of pods: `skiff server` running the scheduler and an
//! agent for its own node, driven by kubectl, with busybox pulled by the
//! agent from a throwaway loopback registry. Each test has its own server,
//! node name, engine data and run dirs, pod bridge and /24, and removes
//! every sandbox, container and its network when it ends, failed or not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_image::local_registry::LocalRegistry;

use common::server::Server;

/// One single-node cluster.
struct Cluster {
    server: Server,
    image: String,
    node: String,
    bridge: String,
    subnet: String,
    engine_data: PathBuf,
    engine_run: PathBuf,
    // Dropped last: the server and the engine state go first.
    _registry: LocalRegistry,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("skiff-pods-test-")
            .tempdir()
            .unwrap();
        let registry = LocalRegistry::start(None).expect("docker-registry");
        let image = common::busybox::push(&registry, "test/busybox", "1");
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let node = format!("node-{pid}-{n}");
        let bridge = format!("skp{}x{n}", pid % 100_000);
        // 10.252.0.0/16 is this suite's (engine tests use 10.251, skiff-net's 10.250).
        let subnet = format!("10.252.{}.0/24", (pid * 16 + n) % 256);
        let engine_data = dir.path().join("engine");
        let engine_run = dir.path().join("run");
        let server = Server::start_node(
            dir.path(),
            &[
                "--node-name",
                &node,
                "--kubelet-port",
                "0",
                "--pod-bridge",
                &bridge,
                "--pod-cidr",
                &subnet,
                "--engine-data-dir",
                engine_data.to_str().unwrap(),
                "--engine-run-dir",
                engine_run.to_str().unwrap(),
            ],
        );
        let cluster = Cluster {
            server,
            image,
            node,
            bridge,
            subnet,
            engine_data,
            engine_run,
            _registry: registry,
            dir,
        };
        cluster.wait_for(
            &["get", "node", &cluster.node, "-o", "json"],
            "the node to be Ready",
            Duration::from_secs(20),
            |v| {
                v["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            },
        );
        cluster
    }

    fn ok(&self, args: &[&str]) -> String {
        self.server.ok(args)
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        self.server.kubectl(args)
    }

    fn apply(&self, manifest: &str) {
        self.server.ok_stdin(&["apply", "-f", "-"], manifest);
    }

    fn pod(&self, name: &str) -> Value {
        self.server.json(&["get", "pod", name, "-o", "json"])
    }

    /// Poll `kubectl <args>` (JSON output) until `check` holds.
    fn wait_for(
        &self,
        args: &[&str],
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            let out = self.kubectl(args);
            if out.status.success() {
                if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
                    if check(&v) {
                        return v;
                    }
                    last = serde_json::to_string_pretty(&v["status"]).unwrap_or_default();
                }
            } else {
                last = String::from_utf8_lossy(&out.stderr).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last seen: {last}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(
            &["get", "pod", name, "-o", "json"],
            &format!("pod {name}: {what}"),
            Duration::from_secs(60),
            check,
        )
    }

    fn wait_running(&self, name: &str) -> Value {
        self.wait_pod(name, "Running", |p| p["status"]["phase"] == "Running")
    }

    fn engine(&self) -> skiff_engine::Engine {
        skiff_engine::Engine::open(&self.engine_data, &self.engine_run).expect("open the engine")
    }

    /// The engine's containers of pod `uid`.
    fn containers_of(&self, uid: &str) -> Vec<skiff_engine::ContainerRecord> {
        self.engine()
            .list()
            .unwrap()
            .into_iter()
            .filter(|c| c.labels.get("io.kubernetes.pod.uid").map(String::as_str) == Some(uid))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.server.kill9();
        skiff_agent::bench::remove_private_node(
            &self.engine_data,
            &self.engine_run,
            &self.bridge,
            &self.subnet,
        );
    }
}

/// Mount points under `dir`, from this process's mount table.
fn mounts_under(dir: &Path) -> Vec<String> {
    let want = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&want))
        .map(str::to_string)
        .collect()
}

fn container_status<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

#[test]
fn kubectl_run_reaches_running_and_delete_leaves_nothing() {
    let c = Cluster::start();
    c.ok(&[
        "run",
        "sleeper",
        &format!("--image={}", c.image),
        "--",
        "sleep",
        "3600",
    ]);
    let pod = c.wait_running("sleeper");
    assert_eq!(
        pod["spec"]["nodeName"],
        c.node.as_str(),
        "the scheduler bound it"
    );
    let ip = pod["status"]["podIP"]
        .as_str()
        .expect("a pod IP")
        .to_string();
    let prefix = c.subnet.trim_end_matches("0/24");
    assert!(
        ip.starts_with(prefix),
        "pod IP {ip} is in the node's pod CIDR {}",
        c.subnet
    );
    let cs = container_status(&pod, "sleeper");
    assert_eq!(cs["ready"], true);
    assert_eq!(cs["restartCount"], 0);
    assert!(cs["state"]["running"]["startedAt"].is_string(), "{cs}");
    let conditions: Vec<(String, String)> = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert!(
            conditions.contains(&(kind.to_string(), "True".to_string())),
            "{kind} is True in {conditions:?}"
        );
    }
    assert_eq!(pod["status"]["qosClass"], "BestEffort");

    let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    let engine_containers = c.containers_of(&uid);
    assert_eq!(engine_containers.len(), 1, "one container for the pod");
    let pid = engine_containers[0].state.pid;
    assert!(pid > 0 && Path::new(&format!("/proc/{pid}")).exists());
    let sandbox = c
        .engine()
        .list_sandboxes()
        .unwrap()
        .into_iter()
        .find(|s| s.config.pod_uid == uid)
        .expect("a sandbox for the pod");

    c.ok(&["delete", "pod", "sleeper", "--grace-period=1"]);
    let out = c.kubectl(&["get", "pod", "sleeper"]);
    assert!(!out.status.success(), "the pod is gone once delete returns");
    // Nothing of the pod is left on the node.
    assert!(c.containers_of(&uid).is_empty(), "containers removed");
    assert!(
        c.engine().list_sandboxes().unwrap().is_empty(),
        "sandbox removed"
    );
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "process gone");
    assert!(
        mounts_under(&c.engine_data).is_empty(),
        "mounts: {:?}",
        mounts_under(&c.engine_data)
    );
    assert!(
        mounts_under(&c.engine_run).is_empty(),
        "mounts: {:?}",
        mounts_under(&c.engine_run)
    );
    if let Some(netns) = &sandbox.netns {
        assert!(!netns.exists(), "netns {} removed", netns.display());
    }
    let cgroup_leftovers: Vec<_> = common::cgroup_mounts()
        .into_iter()
        .map(|m| m.join("kubepods"))
        .flat_map(|k| walk_dirs(&k))
        .filter(|d| d.to_string_lossy().contains(&uid))
        .collect();
    assert!(
        cgroup_leftovers.is_empty(),
        "cgroups left: {cgroup_leftovers:?}"
    );
    let links = String::from_utf8_lossy(
        &std::process::Command::new("ip")
            .args(["-o", "link", "show", "master", &c.bridge])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(
        links.trim().is_empty(),
        "veths left on {}: {links}",
        c.bridge
    );
}

fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(e.path());
            out.extend(walk_dirs(&e.path()));
        }
    }
    out
}

#[test]
fn exit_codes_by_restart_policy() {
    let c = Cluster::start();
    c.ok(&[
        "run",
        "never",
        "--restart=Never",
        &format!("--image={}", c.image),
        "--",
        "sh",
        "-c",
        "echo bye; exit 3",
    ]);
    c.ok(&[
        "run",
        "done",
        "--restart=Never",
        &format!("--image={}", c.image),
        "--",
        "true",
    ]);
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "onfailure"}},
            "spec": {{"restartPolicy": "OnFailure", "containers": [{{"name": "c", "image": "{}",
              "command": ["sh", "-c", "if [ -e /data/once ]; then exit 0; fi; touch /data/once; exit 5"],
              "volumeMounts": [{{"name": "d", "mountPath": "/data"}}]}}],
              "volumes": [{{"name": "d", "emptyDir": {{}}}}]}}}}"#,
        c.image
    ));
    let never = c.wait_pod("never", "Failed", |p| p["status"]["phase"] == "Failed");
    let t = &container_status(&never, "never")["state"]["terminated"];
    assert_eq!(t["exitCode"], 3, "{t}");
    assert_eq!(t["reason"], "Error");
    assert_eq!(container_status(&never, "never")["restartCount"], 0);
    assert_eq!(c.ok(&["logs", "never"]).trim(), "bye");

    let done = c.wait_pod("done", "Succeeded", |p| p["status"]["phase"] == "Succeeded");
    let t = &container_status(&done, "done")["state"]["terminated"];
    assert_eq!(t["exitCode"], 0);
    assert_eq!(t["reason"], "Completed");

    // OnFailure restarts the failed run once, then the container succeeds.
    let onfailure = c.wait_pod("onfailure", "Succeeded", |p| {
        p["status"]["phase"] == "Succeeded"
    });
    let cs = container_status(&onfailure, "c");
    assert_eq!(cs["restartCount"], 1, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 5, "{cs}");
    assert_eq!(cs["state"]["terminated"]["exitCode"], 0, "{cs}");
}

#[test]
fn memory_hog_is_oom_killed() {
    let c = Cluster::start();
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "hog"}},
            "spec": {{"restartPolicy": "Never", "containers": [{{"name": "hog", "image": "{}",
              "command": ["sh", "-c", "tail /dev/zero"],
              "resources": {{"limits": {{"memory": "16Mi"}}}}}}]}}}}"#,
        c.image
    ));
    let pod = c.wait_pod("hog", "Failed", |p| p["status"]["phase"] == "Failed");
    let t = &container_status(&pod, "hog")["state"]["terminated"];
    assert_eq!(t["reason"], "OOMKilled", "{t}");
    assert_eq!(t["exitCode"], 137, "{t}");
    assert_eq!(pod["status"]["qosClass"], "Burstable");
}

#[test]
fn liveness_failure_restarts_with_back_off() {
    let c = Cluster::start();
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "unhealthy"}},
            "spec": {{"terminationGracePeriodSeconds": 1, "containers": [{{"name": "app", "image": "{}",
              "command": ["sh", "-c", "echo started; sleep 3600"],
              "livenessProbe": {{"exec": {{"command": ["cat", "/tmp/healthy"]}},
                                 "periodSeconds": 1, "failureThreshold": 1}}}}]}}}}"#,
        c.image
    ));
    // The first restart is immediate, the next ones back off (10 s, 20 s):
    // CrashLoopBackOff is reported while waiting.
    let pod = c.wait_for(
        &["get", "pod", "unhealthy", "-o", "json"],
        "CrashLoopBackOff",
        Duration::from_secs(90),
        |p| container_status(p, "app")["state"]["waiting"]["reason"] == "CrashLoopBackOff",
    );
    let cs = container_status(&pod, "app");
    assert!(cs["restartCount"].as_u64().unwrap() >= 1, "{cs}");
    assert!(cs["lastState"]["terminated"].is_object(), "{cs}");
    assert!(
        cs["state"]["waiting"]["message"]
            .as_str()
            .unwrap()
            .contains("back-off"),
        "{cs}"
    );
    let pod = c.wait_for(
        &["get", "pod", "unhealthy", "-o", "json"],
        "a second restart",
        Duration::from_secs(60),
        |p| container_status(p, "app")["restartCount"].as_u64() >= Some(2),
    );
    assert_eq!(pod["status"]["phase"], "Running");
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=unhealthy",
    ]);
    assert!(events.contains("Unhealthy"), "{events}");
    assert!(events.contains("Liveness probe failed"), "{events}");
}

#[test]
fn readiness_probe_flips_ready() {
    let c = Cluster::start();
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "ready"}},
            "spec": {{"terminationGracePeriodSeconds": 1, "containers": [{{"name": "app", "image": "{}",
              "command": ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 4; rm /tmp/ready; sleep 3600"],
              "readinessProbe": {{"exec": {{"command": ["cat", "/tmp/ready"]}},
                                  "periodSeconds": 1, "failureThreshold": 1}}}}]}}}}"#,
        c.image
    ));
    let ready = |p: &Value| {
        p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready")
            .map(|c| c["status"].clone())
    };
    let pod = c.wait_running("ready");
    assert_eq!(
        ready(&pod),
        Some(Value::from("False")),
        "not ready before the file exists"
    );
    c.wait_pod("ready", "Ready", |p| ready(p) == Some(Value::from("True")));
    c.wait_pod("ready", "not Ready again", |p| {
        ready(p) == Some(Value::from("False"))
    });
    let pod = c.pod("ready");
    assert_eq!(
        container_status(&pod, "app")["restartCount"],
        0,
        "readiness never restarts"
    );
}

#[test]
fn delete_sends_sigterm_then_sigkill_after_the_grace_period() {
    let c = Cluster::start();
    let host = c.dir.path().join("host");
    std::fs::create_dir_all(&host).unwrap();
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "List", "items": [
            {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "polite"}},
              "spec": {{"terminationGracePeriodSeconds": 30, "containers": [{{"name": "app", "image": "{image}",
                "command": ["sh", "-c", "trap 'echo TERM > /host/polite; exit 0' TERM; while true; do sleep 0.2; done"],
                "volumeMounts": [{{"name": "host", "mountPath": "/host"}}]}}],
                "volumes": [{{"name": "host", "hostPath": {{"path": "{host}", "type": "Directory"}}}}]}}}},
            {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "stubborn"}},
              "spec": {{"terminationGracePeriodSeconds": 3, "containers": [{{"name": "app", "image": "{image}",
                "command": ["sh", "-c", "trap 'echo TERM > /host/stubborn' TERM; while true; do sleep 0.2; done"],
                "volumeMounts": [{{"name": "host", "mountPath": "/host"}}]}}],
                "volumes": [{{"name": "host", "hostPath": {{"path": "{host}", "type": "Directory"}}}}]}}}}]}}"#,
        image = c.image,
        host = host.display()
    ));
    c.wait_running("polite");
    c.wait_running("stubborn");

    let started = Instant::now();
    c.ok(&["delete", "pod", "polite"]);
    let polite = started.elapsed();
    assert_eq!(
        std::fs::read_to_string(host.join("polite")).unwrap().trim(),
        "TERM"
    );
    assert!(
        polite < Duration::from_secs(10),
        "a process that exits on TERM is not waited for: {polite:?}"
    );

    let started = Instant::now();
    c.ok(&["delete", "pod", "stubborn"]);
    let stubborn = started.elapsed();
    assert_eq!(
        std::fs::read_to_string(host.join("stubborn"))
            .unwrap()
            .trim(),
        "TERM"
    );
    assert!(
        stubborn >= Duration::from_secs(3) && stubborn < Duration::from_secs(15),
        "SIGKILL comes when the 3 s grace period is over: {stubborn:?}"
    );
}

#[test]
fn killed_server_leaves_pods_running_and_adopts_them() {
    let mut c = Cluster::start();
    c.ok(&[
        "run",
        "survivor",
        &format!("--image={}", c.image),
        "--",
        "sleep",
        "3600",
    ]);
    let pod = c.wait_running("survivor");
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    let before = c.containers_of(&uid);
    assert_eq!(before.len(), 1);
    let pid = before[0].state.pid;

    c.server.kill9();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the container outlives the server"
    );

    c.server.restart();
    // The restarted agent posts a fresh status from what it adopted.
    let pod = c.wait_pod("survivor", "Running after the restart", |p| {
        p["status"]["phase"] == "Running" && container_status(p, "survivor")["ready"] == true
    });
    let cs = container_status(&pod, "survivor");
    assert_eq!(cs["restartCount"], 0, "not restarted: {cs}");
    assert_eq!(
        cs["containerID"].as_str().unwrap(),
        format!("skiff://{}", before[0].id),
        "the same container"
    );
    std::thread::sleep(Duration::from_secs(2));
    let after = c.containers_of(&uid);
    assert_eq!(after.len(), 1, "no duplicate container: {after:?}");
    assert_eq!(after[0].state.pid, pid);
    assert_eq!(c.engine().list_sandboxes().unwrap().len(), 1, "one sandbox");
}

/// The acceptance pod: init container, two containers sharing an emptyDir
/// and talking over localhost, configMap (items) and secret volumes and env,
/// downward API env and volume.
fn full_pod_manifest(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: app-config}}
data: {{greeting: hello, app.properties: "color=blue\n", unused: x}}
---
apiVersion: v1
kind: Secret
metadata: {{name: app-secret}}
stringData: {{password: s3cret, token: abc}}
---
apiVersion: v1
kind: Pod
metadata: {{name: full, labels: {{app: full, tier: web}}}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init
    image: {image}
    command: [sh, -c, "echo from-init > /shared/index.html"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: web
    image: {image}
    command: [httpd, -f, -p, "8080", -h, /shared]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: client
    image: {image}
    command: [sh, -c, "sleep 3600"]
    env:
    - {{name: GREETING, valueFrom: {{configMapKeyRef: {{name: app-config, key: greeting}}}}}}
    - {{name: PASSWORD, valueFrom: {{secretKeyRef: {{name: app-secret, key: password}}}}}}
    - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
    - {{name: NODE, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
    - {{name: MEM_LIMIT_MI, valueFrom: {{resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}}}}}
    - {{name: MESSAGE, value: "$(GREETING) from $(POD_NAME)"}}
    envFrom:
    - {{prefix: CFG_, configMapRef: {{name: app-config}}}}
    - {{secretRef: {{name: app-secret}}}}
    resources: {{limits: {{memory: 64Mi}}}}
    volumeMounts:
    - {{name: config, mountPath: /etc/config}}
    - {{name: config, mountPath: /etc/greeting, subPath: greeting}}
    - {{name: secret, mountPath: /etc/secret}}
    - {{name: podinfo, mountPath: /etc/podinfo}}
    - {{name: shared, mountPath: /shared}}
  volumes:
  - {{name: shared, emptyDir: {{}}}}
  - name: config
    configMap:
      name: app-config
      items: [{{key: greeting, path: greeting}}, {{key: app.properties, path: conf/app.properties}}]
  - {{name: secret, secret: {{secretName: app-secret}}}}
  - name: podinfo
    downwardAPI:
      items:
      - {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}
      - {{path: name, fieldRef: {{fieldPath: metadata.name}}}}
"#
    )
}

impl Cluster {
    /// `kubectl exec POD -c CONTAINER -- ARGS`, which must succeed; stdout.
    fn exec(&self, pod: &str, container: &str, args: &[&str]) -> String {
        let mut all = vec!["exec", pod, "-c", container, "--"];
        all.extend_from_slice(args);
        self.ok(&all)
    }
}

#[test]
fn full_pod_runs_with_volumes_env_and_init() {
    let c = Cluster::start();
    c.apply(&full_pod_manifest(&c.image));
    let pod = c.wait_running("full");
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["state"]["terminated"]["reason"], "Completed", "{init}");
    c.wait_pod("full", "both containers ready", |p| {
        container_status(p, "web")["ready"] == true
            && container_status(p, "client")["ready"] == true
    });
    let pod_ip = pod["status"]["podIP"].as_str().unwrap().to_string();

    // The two containers share the network (localhost) and the emptyDir the
    // init container filled.
    let page = c.exec(
        "full",
        "client",
        &["wget", "-qO-", "http://127.0.0.1:8080/index.html"],
    );
    assert_eq!(page.trim(), "from-init");

    let env = c.exec("full", "client", &["env"]);
    for want in [
        "GREETING=hello".to_string(),
        "PASSWORD=s3cret".into(),
        "POD_NAME=full".into(),
        format!("POD_IP={pod_ip}"),
        format!("NODE={}", c.node),
        "MEM_LIMIT_MI=64".into(),
        "MESSAGE=hello from full".into(),
        "CFG_greeting=hello".into(),
        "password=s3cret".into(),
        "token=abc".into(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in:\n{env}");
    }

    assert_eq!(
        c.exec("full", "client", &["cat", "/etc/config/greeting"]),
        "hello"
    );
    assert_eq!(
        c.exec(
            "full",
            "client",
            &["cat", "/etc/config/conf/app.properties"]
        ),
        "color=blue\n"
    );
    let listing = c.exec("full", "client", &["ls", "/etc/config"]);
    assert!(
        !listing.contains("unused"),
        "only the items are projected: {listing}"
    );
    assert_eq!(
        c.exec("full", "client", &["cat", "/etc/secret/password"]),
        "s3cret"
    );
    let mounts = c.exec("full", "client", &["cat", "/proc/mounts"]);
    let secret_fs = mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("/etc/secret"))
        .unwrap_or_else(|| panic!("/etc/secret is a mount: {mounts}"));
    assert!(
        secret_fs.starts_with("tmpfs ") || secret_fs.split(' ').nth(2) == Some("tmpfs"),
        "{secret_fs}"
    );
    let labels = c.exec("full", "client", &["cat", "/etc/podinfo/labels"]);
    assert!(labels.contains("app=\"full\""), "{labels}");
    assert_eq!(
        c.exec("full", "client", &["cat", "/etc/podinfo/name"]),
        "full"
    );
    // kubectl 1.20 speaks SPDY for exec.
    assert_eq!(
        c.server.old_ok(&[
            "exec",
            "full",
            "-c",
            "client",
            "--",
            "cat",
            "/etc/podinfo/name"
        ]),
        "full"
    );

    // A configMap update reaches the mounted file, but not the subPath.
    c.ok(&[
        "patch",
        "configmap",
        "app-config",
        "-p",
        r#"{"data":{"greeting":"bonjour"}}"#,
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = c.exec("full", "client", &["cat", "/etc/config/greeting"]);
        if now == "bonjour" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the update did not arrive within 60 s: {now}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        c.exec("full", "client", &["cat", "/etc/greeting"]),
        "hello",
        "subPath keeps the old file"
    );
}

/// `kubectl port-forward` to a pod port; returns the child and the local port.
fn port_forward(c: &Cluster, pod: &str, remote: u16) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = c
        .server
        .kubectl_cmd(
            common::server::KUBECTL,
            &["port-forward", pod, &format!(":{remote}")],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("kubectl port-forward");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let line = lines.next().expect("a Forwarding line").expect("read");
    // "Forwarding from 127.0.0.1:43567 -> 8080"
    let port = line
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected port-forward output {line:?}"));
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

#[test]
fn logs_exec_cp_port_forward_and_debug() {
    let c = Cluster::start();
    c.apply(&full_pod_manifest(&c.image));
    c.wait_pod("full", "both containers ready", |p| {
        container_status(p, "web")["ready"] == true
            && container_status(p, "client")["ready"] == true
    });

    // logs -f follows until the container exits.
    c.ok(&[
        "run",
        "counter",
        "--restart=Never",
        &format!("--image={}", c.image),
        "--",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done",
    ]);
    c.wait_pod("counter", "started", |p| {
        matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded"))
    });
    let followed = c.ok(&["logs", "-f", "counter"]);
    assert_eq!(followed, "line 1\nline 2\nline 3\nline 4\nline 5\n");
    assert_eq!(c.ok(&["logs", "--tail=2", "counter"]), "line 4\nline 5\n");

    // --previous shows the last run before the restart.
    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "twice"}},
            "spec": {{"restartPolicy": "OnFailure", "containers": [{{"name": "c", "image": "{}",
              "command": ["sh", "-c", "if [ -e /data/ran ]; then echo second run; sleep 3600; fi; touch /data/ran; echo first run; exit 1"],
              "volumeMounts": [{{"name": "d", "mountPath": "/data"}}]}}],
              "volumes": [{{"name": "d", "emptyDir": {{}}}}]}}}}"#,
        c.image
    ));
    c.wait_pod("twice", "restarted once", |p| {
        container_status(p, "c")["restartCount"] == 1 && p["status"]["phase"] == "Running"
    });
    assert_eq!(c.ok(&["logs", "twice", "--previous"]), "first run\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.ok(&["logs", "twice"]) != "second run\n" {
        assert!(
            Instant::now() < deadline,
            "current logs: {}",
            c.ok(&["logs", "twice"])
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // exec: exit codes pass through; stdin reaches the process.
    let out = c.kubectl(&[
        "exec",
        "full",
        "-c",
        "client",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err"));
    assert_eq!(
        c.server.ok_stdin(
            &["exec", "-i", "full", "-c", "client", "--", "cat"],
            "piped in\n"
        ),
        "piped in\n"
    );
    // exec -it under a real terminal (script gives kubectl a pty).
    let kubectl = format!(
        "{} --kubeconfig {} exec -it full -c client -- sh -c 'tty; echo interactive'",
        common::server::KUBECTL,
        c.server.kubeconfig.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &kubectl, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("/dev/pts/"),
        "a terminal in the container: {text}"
    );
    assert!(text.contains("interactive"), "{text}");

    // cp both ways (tar through exec).
    let local = c.dir.path().join("upload.txt");
    std::fs::write(&local, "uploaded\n").unwrap();
    c.ok(&[
        "cp",
        local.to_str().unwrap(),
        "full:/tmp/upload.txt",
        "-c",
        "client",
    ]);
    assert_eq!(
        c.exec("full", "client", &["cat", "/tmp/upload.txt"]),
        "uploaded\n"
    );
    let back = c.dir.path().join("index.html");
    c.ok(&[
        "cp",
        "full:/shared/index.html",
        back.to_str().unwrap(),
        "-c",
        "client",
    ]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "from-init\n");

    // port-forward to the web container's port.
    let (mut pf, port) = port_forward(&c, "full", 8080);
    let mut body = String::new();
    for _ in 0..2 {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))
            .expect("connect to the forwarded port");
        s.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        body.clear();
        s.read_to_string(&mut body).unwrap();
        assert!(
            body.contains("200 OK") && body.ends_with("from-init\n"),
            "{body}"
        );
    }
    let _ = pf.kill();
    let _ = pf.wait();

    // kubectl debug: an ephemeral container in the target's PID namespace.
    c.ok(&[
        "debug",
        "full",
        &format!("--image={}", c.image),
        "-c",
        "debugger",
        "--target=client",
        "--",
        "sleep",
        "3600",
    ]);
    c.wait_pod("full", "the ephemeral container runs", |p| {
        p["status"]["ephemeralContainerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == "debugger" && s["state"]["running"].is_object())
    });
    let ps = c.exec("full", "debugger", &["ps"]);
    // The target's process is pid 1 of the namespace, the debugger's own
    // sleep another.
    let sleeps: Vec<&str> = ps.lines().filter(|l| l.ends_with("sleep 3600")).collect();
    assert_eq!(sleeps.len(), 2, "sees the target's processes: {ps}");
    assert!(sleeps[0].trim_start().starts_with("1 "), "{ps}");
}

/// A second node joined with `skiff agent`, killed with the test.
struct JoinedAgent {
    child: std::process::Child,
    engine_data: PathBuf,
    engine_run: PathBuf,
    bridge: String,
    subnet: String,
}

impl Drop for JoinedAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        skiff_agent::bench::remove_private_node(
            &self.engine_data,
            &self.engine_run,
            &self.bridge,
            &self.subnet,
        );
    }
}

#[test]
fn skiff_agent_joins_a_second_node() {
    let c = Cluster::start();
    let name = format!("{}-second", c.node);
    let pid = std::process::id();
    let mut agent = JoinedAgent {
        child: std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args([
                "agent",
                "--server",
                &c.server.url,
                "--token",
                &c.server.token(),
                "--ca-file",
            ])
            .arg(c.server.data.join("tls/ca.crt"))
            .args(["--node-name", &name, "--kubelet-port", "0"])
            .args(["--pod-bridge", &format!("skq{}", pid % 100_000)])
            .args(["--pod-cidr", &format!("10.254.{}.0/24", pid % 250)])
            .arg("--engine-data-dir")
            .arg(c.dir.path().join("engine2"))
            .arg("--engine-run-dir")
            .arg(c.dir.path().join("run2"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("skiff agent"),
        engine_data: c.dir.path().join("engine2"),
        engine_run: c.dir.path().join("run2"),
        bridge: format!("skq{}", pid % 100_000),
        subnet: format!("10.254.{}.0/24", pid % 250),
    };
    c.wait_for(
        &["get", "node", &name, "-o", "json"],
        "the joined node to be Ready",
        Duration::from_secs(20),
        |v| {
            v["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        },
    );
    let lease = c
        .server
        .json(&["get", "lease", &name, "-n", "kube-node-lease", "-o", "json"]);
    assert_eq!(lease["spec"]["holderIdentity"], name.as_str());

    c.apply(&format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "there"}},
            "spec": {{"nodeSelector": {{"kubernetes.io/hostname": "{name}"}},
              "terminationGracePeriodSeconds": 1,
              "containers": [{{"name": "c", "image": "{}", "command": ["sh", "-c", "echo on the second node; sleep 3600"]}}]}}}}"#,
        c.image
    ));
    let pod = c.wait_running("there");
    assert_eq!(pod["spec"]["nodeName"], name.as_str());
    assert!(pod["status"]["podIP"]
        .as_str()
        .unwrap()
        .starts_with("10.254."));
    // Logs come through the API server from the second agent.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.ok(&["logs", "there"]) != "on the second node\n" {
        assert!(Instant::now() < deadline, "logs of the second node's pod");
        std::thread::sleep(Duration::from_millis(200));
    }
    c.ok(&["delete", "pod", "there"]);
    let left = skiff_engine::Engine::open(&agent.engine_data, &agent.engine_run)
        .unwrap()
        .list()
        .unwrap();
    assert!(
        left.is_empty(),
        "the second node removed the pod's containers"
    );
    let _ = agent.child.kill();
}

/// `skiff bench pods` on a tiny scale: it runs its own server and node and
/// reports every figure (the numbers themselves are not judged here).
#[test]
fn bench_pods_smoke() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args([
            "bench",
            "pods",
            "--rounds",
            "2",
            "--burst",
            "3",
            "--idle-pods",
            "1",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("skiff bench pods");
    let text = common::succeeded(&out, "skiff bench pods");
    assert!(text.contains("one at a time (2 pods)"), "{text}");
    assert!(text.contains("3 created at once"), "{text}");
    let rss: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split_once("MB RSS"))
        .filter_map(|(before, _)| before.split_whitespace().last()?.parse().ok())
        .collect();
    assert!(
        rss.len() >= 2 && rss.iter().all(|r| *r > 1.0),
        "RSS figures in {text}"
    );
}
