//! `skiff server` as a child process for end-to-end tests, on the embedded store or on etcd,
//! with kubectl (1.32, or Debian's 1.20) and raw HTTPS clients pointed at it. The child is
//! SIGKILLed and reaped on drop (also when a test fails), and dies with the test's thread
//! should the test process itself be killed.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_store::testing::EtcdCluster;

/// The machine's kubectl (v1.32).
pub const KUBECTL: &str = "/usr/bin/kubectl";
/// Debian's kubernetes-client 1.20, unpacked beside it by scripts/install.sh.
pub const KUBECTL_1_20: &str = "/opt/kubernetes-client-1.20/usr/bin/kubectl";

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a server keeps its objects.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `store.redb` in the server's data dir.
    Embedded,
    /// An etcd cluster, by client URLs.
    Etcd(Vec<String>),
}

/// A backend for one test: for etcd, a throwaway 3-member cluster on loopback that lives as
/// long as this value (start it on the test's own thread).
pub struct TestBackend {
    pub backend: Backend,
    pub cluster: Option<EtcdCluster>,
}

impl TestBackend {
    pub fn embedded() -> TestBackend {
        TestBackend {
            backend: Backend::Embedded,
            cluster: None,
        }
    }

    pub fn etcd() -> TestBackend {
        let cluster = EtcdCluster::start(3).unwrap_or_else(|e| panic!("{e}"));
        TestBackend {
            backend: Backend::Etcd(cluster.endpoints()),
            cluster: Some(cluster),
        }
    }
}

/// A running `skiff server`; killed (and reaped) on drop.
pub struct Server {
    child: Option<Child>,
    dir: PathBuf,
    backend: Backend,
    pub kubeconfig: PathBuf,
    pub url: String,
    pub data: PathBuf,
    /// kubectl's discovery cache, private to this server.
    pub cache: PathBuf,
    extra_args: Vec<String>,
}

impl Server {
    /// A server on the embedded store, with its data dir, kubeconfig and cache under `dir`.
    pub fn start(dir: &Path) -> Server {
        Server::start_on(dir, &Backend::Embedded)
    }

    /// A server keeping its objects in the etcd cluster at `endpoints`.
    pub fn start_etcd(dir: &Path, endpoints: &[String]) -> Server {
        Server::start_on(dir, &Backend::Etcd(endpoints.to_vec()))
    }

    pub fn start_on(dir: &Path, backend: &Backend) -> Server {
        Server::start_with(dir, backend, &[])
    }

    /// A server on the embedded store that is also a node: the scheduler and an agent for
    /// the node `node_args` describe (`--node-name` and the other node flags).
    pub fn start_node(dir: &Path, node_args: &[&str]) -> Server {
        assert!(
            node_args.contains(&"--node-name"),
            "a node server needs --node-name"
        );
        Server::start_with(dir, &Backend::Embedded, node_args)
    }

    /// A server with extra `skiff server` flags.
    pub fn start_with(dir: &Path, backend: &Backend, extra_args: &[&str]) -> Server {
        assert!(
            Path::new(KUBECTL).exists(),
            "these tests need kubectl at {KUBECTL}"
        );
        let mut server = Server {
            child: None,
            dir: dir.to_path_buf(),
            backend: backend.clone(),
            kubeconfig: dir.join("admin.kubeconfig"),
            url: String::new(),
            data: dir.join("data"),
            cache: dir.join("kube-cache"),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skiff"));
        cmd.args(["server", "--port", "0", "--data-dir"])
            .arg(&self.data)
            .arg("--kubeconfig-out")
            .arg(&self.kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Backend::Etcd(endpoints) = &self.backend {
            cmd.arg("--etcd-endpoints").arg(endpoints.join(","));
        }
        cmd.args(&self.extra_args);
        // Only servers started as a node ([`Server::start_node`]) run the scheduler and an
        // agent: the API tests run many servers at once, which would otherwise all claim
        // the kubelet port and set pods' scheduling conditions.
        if !self.extra_args.iter().any(|a| a == "--node-name") {
            cmd.args(["--disable-agent", "--disable-scheduler"]);
        }
        // SAFETY: runs in the forked child before exec and makes one async-signal-safe
        // system call; it touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn skiff server");
        let stdout = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        // Read the start-up lines on a thread so a server that hangs fails the test on time.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("skiff server did not print its serving line within {START_TIMEOUT:?}")
            });
            if let Some(url) = line.strip_prefix("skiff server: serving the Kubernetes API on ") {
                self.url = url.to_string();
                break;
            }
        }
        assert!(self.kubeconfig.exists(), "kubeconfig not written");
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// SIGKILL the server (no clean shutdown, as in a crash) and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same data dir and backend (after [`Server::kill9`], or killing it
    /// first); the port may change.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// A kubectl command (`bin`: [`KUBECTL`] or [`KUBECTL_1_20`]) with this server's
    /// kubeconfig and cache.
    pub fn kubectl_cmd(&self, bin: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Debian's kubectl 1.20 with this server's kubeconfig.
    pub fn old_kubectl(&self, args: &[&str]) -> Output {
        assert!(
            Path::new(KUBECTL_1_20).exists(),
            "kubectl 1.20 is missing at {KUBECTL_1_20}; scripts/install.sh unpacks it"
        );
        self.kubectl_cmd(KUBECTL_1_20, args)
            .output()
            .expect("run kubectl 1.20")
    }

    /// kubectl 1.20 that must succeed; returns stdout.
    pub fn old_ok(&self, args: &[&str]) -> String {
        super::succeeded(&self.old_kubectl(args), &format!("kubectl 1.20 {args:?}"))
    }

    /// kubectl 1.20 that must fail; returns stderr.
    pub fn old_fails(&self, args: &[&str]) -> String {
        super::failed(&self.old_kubectl(args), &format!("kubectl 1.20 {args:?}"))
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_cmd(KUBECTL, args)
            .output()
            .expect("run kubectl")
    }

    /// kubectl that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        super::succeeded(&self.kubectl(args), &format!("kubectl {args:?}"))
    }

    /// kubectl that must fail; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        super::failed(&self.kubectl(args), &format!("kubectl {args:?}"))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("kubectl printed JSON")
    }

    /// kubectl with stdin from `input`; must succeed.
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let mut child = self
            .kubectl_cmd(KUBECTL, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait for kubectl");
        super::succeeded(&out, &format!("kubectl {args:?}"))
    }

    /// Poll `kubectl args` until `check` holds on its output (controllers act asynchronously).
    pub fn eventually(&self, args: &[&str], what: &str, check: impl Fn(&Output) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.kubectl(args);
            if check(&out) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: kubectl {args:?} still gives {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data.join("token"))
            .expect("read token")
            .trim()
            .to_string()
    }

    /// An HTTPS agent trusting only the server's CA; it keeps connections alive, so a loop
    /// of requests through one agent reuses them.
    pub fn agent(&self) -> ureq::Agent {
        let ca = std::fs::read(self.data.join("tls/ca.crt")).expect("read CA");
        let cert = ureq::tls::Certificate::from_pem(&ca).expect("parse CA");
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // Longer than a write may stall while etcd elects a new leader (~7 s).
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    /// A raw HTTPS request; returns (status, body as JSON, or as a string if it is not).
    pub fn raw(&self, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
        raw_request(&self.agent(), &self.url, method, path, token, body).expect("HTTPS request")
    }

    /// `kubectl get <args> -w --output-watch-events -o json` (with `bin`), its events parsed
    /// on a thread: whole `{"type", "object"}` documents arrive on the receiver.
    pub fn watch(
        &self,
        bin: &str,
        args: &[&str],
    ) -> (KillOnDrop, std::sync::mpsc::Receiver<Value>) {
        let mut get = vec!["get"];
        get.extend_from_slice(args);
        get.extend_from_slice(&["-w", "--output-watch-events", "-o", "json"]);
        let mut child = self
            .kubectl_cmd(bin, &get)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kubectl get -w");
        let stdout = child.stdout.take().expect("piped stdout");
        let guard = KillOnDrop(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // `-o json` pretty-prints one event per document: read whole documents.
            let mut de = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
            while let Some(Ok(v)) = de.next() {
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        (guard, rx)
    }

    /// An HTTPS client of this server with the admin token, to move to other threads.
    pub fn client(&self) -> Client {
        Client {
            agent: self.agent(),
            url: self.url.clone(),
            token: self.token(),
        }
    }
}

/// Requests to one server as its admin, over kept-alive connections. Cheap to clone; it stays
/// pointed at the address it was made for, so take a new one after a restart.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    token: String,
}

impl Client {
    /// Transport errors (refused, reset, timed out) are returned, not panicked on.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Value), ureq::Error> {
        raw_request(
            &self.agent,
            &self.url,
            method,
            path,
            Some(&self.token),
            body,
        )
    }

    /// A request that must get `expect`; returns the body.
    pub fn expect(&self, method: &str, path: &str, body: &[u8], expect: u16) -> Value {
        let (code, value) = self
            .request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(code, expect, "{method} {path}: {value}");
        value
    }
}

fn raw_request(
    agent: &ureq::Agent,
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<(u16, Value), ureq::Error> {
    let mut b = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    let req = b.body(body.to_vec()).expect("build request");
    let mut resp = agent.run(req)?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A child process (kubectl -w, a client script) killed and reaped on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Take watch events from `rx` until `expected.len()` arrived: all about the object `name`,
/// of the `expected` types in order.
pub fn expect_events(rx: &std::sync::mpsc::Receiver<Value>, name: &str, expected: &[&str]) {
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let ev = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("watch events so far: {seen:?}, expected {expected:?}"));
        assert_eq!(ev["object"]["metadata"]["name"], name, "{ev}");
        seen.push(ev["type"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(seen, expected);
}
