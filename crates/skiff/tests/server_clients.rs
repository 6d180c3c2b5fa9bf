//! Clients of `skiff server` other than the machine's kubectl 1.32: the Python `kubernetes`
//! library (Debian's python3-kubernetes, the same code as the PyPI package) and kubectl 1.20
//! (Debian's kubernetes-client, unpacked under /opt by scripts/install.sh), each through
//! create, get, list, apply, delete and watch of namespaces and configmaps.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::server::{KillOnDrop, Server, KUBECTL_1_20};

/// Debian's interpreter, which python3-kubernetes is installed for (a `python3` earlier on
/// PATH may be another one).
const PYTHON: &str = "/usr/bin/python3";

/// Run `cmd` to its end, killing it after `limit`.
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let out = tempfile::tempfile().expect("stdout file");
    let err = tempfile::tempfile().expect("stderr file");
    cmd.stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"))
        .stdin(Stdio::null());
    let mut child = KillOnDrop(cmd.spawn().expect("spawn"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{cmd:?} did not finish within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: common::read_from_start(out),
        stderr: common::read_from_start(err),
    }
}

#[test]
fn python_kubernetes_client_creates_lists_and_watches() {
    let probe = Command::new(PYTHON)
        .args(["-c", "import kubernetes; print(kubernetes.__version__)"])
        .output()
        .expect("run /usr/bin/python3");
    common::assert_ok(
        &probe,
        "importing the kubernetes package (scripts/install.sh installs python3-kubernetes)",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/kubernetes_client.py");
    let mut cmd = Command::new(PYTHON);
    cmd.arg(&script)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        // Keep __pycache__ out of the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = output_within(cmd, Duration::from_secs(90));
    let stdout = common::succeeded(&out, "the Python client script");
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("python kubernetes client: "))
        .and_then(|l| l.strip_suffix(" checks passed"))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no summary line in the script's output: {stdout}"));
    assert!(passed >= 20, "{stdout}");

    // What the library wrote, kubectl reads.
    let cm = server.json(&["get", "cm", "from-python", "-o", "json"]);
    assert_eq!(cm["data"]["lang"], "python");
}

#[test]
fn kubectl_1_20_creates_gets_applies_deletes_and_watches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let ok = |args: &[&str]| server.old_ok(args);
    let fails = |args: &[&str]| server.old_fails(args);
    let json = |args: &[&str]| -> Value { serde_json::from_str(&ok(args)).expect("JSON") };

    let version = ok(&["version"]);
    assert!(version.contains(r#"GitVersion:"v1.20"#), "{version}");
    assert!(version.contains("v1.32.0-skiff"), "{version}");

    // Namespaces and configmaps: create, get.
    assert!(ok(&["get", "ns", "-o", "name"]).contains("namespace/default"));
    ok(&["create", "namespace", "old"]);
    assert_eq!(
        json(&["get", "ns", "old", "-o", "json"])["metadata"]["name"],
        "old"
    );
    ok(&[
        "-n",
        "old",
        "create",
        "configmap",
        "c1",
        "--from-literal=a=b",
    ]);
    let c1 = json(&["-n", "old", "get", "cm", "c1", "-o", "json"]);
    assert_eq!(c1["data"]["a"], "b");
    assert!(fails(&["-n", "old", "create", "configmap", "c1"]).contains("AlreadyExists"));

    // apply: created, unchanged, configured (1.20's client-side apply: a strategic merge
    // patch computed against the last-applied annotation).
    let manifest = dir.path().join("cm.yaml");
    let write = |value: &str| {
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: old\ndata:\n  k: {value}\n"
            ),
        )
        .expect("write manifest")
    };
    let m = manifest.to_str().expect("utf-8 path");
    write("v");
    assert!(ok(&["apply", "-f", m]).contains("created"));
    assert!(ok(&["apply", "-f", m]).contains("unchanged"));
    write("w");
    assert!(ok(&["apply", "-f", m]).contains("configured"));
    let applied = json(&["-n", "old", "get", "cm", "applied", "-o", "json"]);
    assert_eq!(applied["data"]["k"], "w");
    assert!(
        applied["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains(r#""k":"w""#))
    );

    // watch: c1 and applied come with the initial list; then changes arrive in order.
    let (_watch, events) = server.watch(KUBECTL_1_20, &["-n", "old", "cm"]);
    let mut initial = Vec::new();
    while initial.len() < 2 {
        let ev = events
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("initial watch events so far: {initial:?}"));
        initial.push(
            ev["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    initial.sort();
    assert_eq!(initial, ["applied", "c1"]);
    ok(&["-n", "old", "create", "configmap", "w1"]);
    ok(&[
        "-n",
        "old",
        "patch",
        "cm",
        "w1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"1"}}"#,
    ]);
    ok(&["-n", "old", "delete", "cm", "w1"]);
    common::server::expect_events(&events, "w1", &["ADDED", "MODIFIED", "DELETED"]);

    // delete: the configmap, then the namespace with what is left in it.
    ok(&["-n", "old", "delete", "cm", "c1"]);
    assert!(fails(&["-n", "old", "get", "cm", "c1"]).contains("NotFound"));
    ok(&["delete", "namespace", "old"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = server.old_kubectl(&["get", "ns", "old"]);
        if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("NotFound") {
            break;
        }
        assert!(Instant::now() < deadline, "namespace old is still there");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(fails(&["-n", "old", "get", "cm", "applied"]).contains("NotFound"));
}

/// `skiff bench api` end to end, small: its HTTPS writers and watcher against a real server.
#[test]
fn bench_api_reports_creates_latency_and_rss() {
    let out = output_within(
        {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_skiff"));
            cmd.args(["bench", "api", "--writers", "4", "--objects", "400"]);
            cmd
        },
        Duration::from_secs(60),
    );
    let report = common::succeeded(&out, "skiff bench api");
    let field = |label: &str| -> f64 {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {report}"));
        line.split_whitespace()
            .find_map(|w| w.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no number in {line:?}"))
    };
    assert!(field("creates/s:") > 0.0, "{report}");
    assert!(report.contains("400 in"), "{report}");
    assert!(report.contains("write -> watch event: p50"), "{report}");
    let rss = report
        .lines()
        .find(|l| l.contains("server RSS:"))
        .expect("RSS line");
    // The idle figure is a real reading of the child's /proc status: a few MB at least.
    let idle: f64 = rss
        .split("idle ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{rss}"));
    assert!(idle > 1.0 && idle < 200.0, "{rss}");
}
