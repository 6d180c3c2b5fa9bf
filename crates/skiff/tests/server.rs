//! End-to-end tests of `skiff server` with the real kubectl (`/usr/bin/kubectl`): the server
//! runs as a child on a free loopback port with a temporary data dir, and is killed by a
//! guard also when a test fails.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

const KUBECTL: &str = "/usr/bin/kubectl";

/// A running `skiff server`; killed (and reaped) on drop.
struct Server {
    child: Child,
    kubeconfig: PathBuf,
    url: String,
    data: PathBuf,
    /// kubectl's discovery cache, private to the test.
    cache: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        assert!(
            Path::new(KUBECTL).exists(),
            "these tests need kubectl at {KUBECTL}"
        );
        let data = dir.join("data");
        let kubeconfig = dir.join("admin.kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["server", "--port", "0", "--data-dir"])
            .arg(&data)
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn skiff server");
        let stdout = child.stdout.take().expect("piped stdout");
        // Read the start-up lines on a thread so a server that hangs fails the test on time.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            kubeconfig,
            url: String::new(),
            data,
            cache: dir.join("kube-cache"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("skiff server did not print its serving line within 20 s");
            if let Some(url) = line.strip_prefix("skiff server: serving the Kubernetes API on ") {
                server.url = url.to_string();
                break;
            }
        }
        assert!(server.kubeconfig.exists(), "kubeconfig not written");
        server
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(KUBECTL)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    /// kubectl that must succeed; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(&self.kubectl(args), &format!("kubectl {args:?}"))
    }

    /// kubectl that must fail; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        common::failed(&self.kubectl(args), &format!("kubectl {args:?}"))
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("kubectl printed JSON")
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.data.join("token")).expect("read token")
    }

    /// A raw HTTPS request trusting only the server's CA; returns (status, body as JSON).
    fn raw(&self, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
        let ca = std::fs::read(self.data.join("tls/ca.crt")).expect("read CA");
        let cert = ureq::tls::Certificate::from_pem(&ca).expect("parse CA");
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let req = http_request(method, &url, token);
        let mut resp = agent
            .run(req.body(body.to_vec()).expect("build request"))
            .expect("HTTPS request");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().expect("read body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn http_request(method: &str, url: &str, token: Option<&str>) -> ureq::http::request::Builder {
    let mut b = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    b
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every verb of the slice through kubectl, then a restart on the same data dir.
#[test]
fn kubectl_against_skiff_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());

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
    assert!(server
        .fails(&["--token", "wrong", "get", "ns"])
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
    drop(server);
    let server = Server::start(dir.path());
    let c1 = server.json(&["get", "cm", "c1", "-o", "json"]);
    assert_eq!(c1["data"]["q"], "1");
    let names = server.ok(&["get", "cm", "-o", "name"]);
    assert_eq!(names.trim(), "configmap/applied\nconfigmap/c1");
}

/// `kubectl get -w` sees ADDED, MODIFIED and DELETED in order while the test writes.
#[test]
fn kubectl_watch_sees_changes_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let mut watch = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .arg("--cache-dir")
        .arg(&server.cache)
        .args(["get", "cm", "-w", "--output-watch-events", "-o", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn kubectl get -w");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = watch.stdout.take().unwrap();
    let _guard = Kill(watch);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // `-o json` prints one pretty-printed event per object: collect whole documents.
        let mut de = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
        while let Some(Ok(v)) = de.next() {
            let _ = tx.send(v);
        }
    });
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
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("watch events so far: {seen:?}"));
        assert_eq!(ev["object"]["metadata"]["name"], "w1", "{ev}");
        seen.push(ev["type"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);
}
