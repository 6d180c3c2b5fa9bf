//! `skiff bench api`: write throughput and write-to-event latency of `skiff server`.
//!
//! The server runs as a child process (so its RSS and CPU are its own, not the client's) on a
//! temporary data dir, on the embedded store or on etcd. N writer tasks create configmaps over
//! HTTPS, each on one keep-alive connection, while one watcher records when each object's
//! ADDED event arrives. The client is one async thread, so on a small machine it takes at most
//! one core away from the server.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use skiff_store::testing::{EtcdCluster, EtcdStartError};

/// How long the server may take to print its serving line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline of one request, and of the last event after the last write.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet time before the idle RSS is read, so start-up allocations have settled.
const SETTLE: Duration = Duration::from_millis(500);

/// Where the benchmarked server keeps its objects.
#[derive(Clone, Debug)]
pub enum BenchStore {
    /// The embedded store in the temporary data dir.
    Embedded,
    /// An existing etcd cluster, by client URLs. The benchmark writes into a namespace of its
    /// own and deletes it at the end.
    Etcd(Vec<String>),
    /// A throwaway etcd cluster of this many members on loopback (Debian's `etcd` binary).
    EtcdCluster(usize),
}

#[derive(Clone, Debug)]
pub struct ApiBenchOptions {
    /// The `skiff` binary to run as `skiff server`.
    pub skiff: PathBuf,
    pub writers: usize,
    /// Objects created in all, spread evenly over the writers.
    pub objects: usize,
    /// Bytes of the `data.payload` value of each configmap.
    pub payload_bytes: usize,
    /// Creates per second offered in all, spread evenly over the writers (open loop), to
    /// measure latency at a given load; `None`: every writer as fast as it can (throughput).
    pub rate: Option<f64>,
    pub store: BenchStore,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid benchmark options: {0}")]
    Options(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("skiff server did not start: {0}")]
    ServerStart(String),
    #[error(transparent)]
    Etcd(#[from] EtcdStartError),
    #[error("TLS setup for the client: {0}")]
    Tls(String),
    #[error("{what}: {message}")]
    Request { what: String, message: String },
    #[error("watch: {0}")]
    Watch(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct ApiBenchReport {
    /// `embedded`, `etcd (N members on loopback)` or `etcd (external)`.
    pub backend: String,
    pub writers: usize,
    pub objects: usize,
    pub payload_bytes: usize,
    pub rate: Option<f64>,
    /// From the first write sent to the last write acknowledged.
    pub elapsed: Duration,
    /// From the first write sent to the last ADDED event received.
    pub events_elapsed: Duration,
    /// Time from sending a create to its response.
    pub request_p50: Duration,
    pub request_p99: Duration,
    /// Time from sending a create to the watcher receiving its ADDED event.
    pub event_p50: Duration,
    pub event_p99: Duration,
    pub event_max: Duration,
    /// Server RSS after start-up, before any load, in KiB.
    pub rss_idle_kib: u64,
    /// Server RSS once the load is over, in KiB.
    pub rss_after_kib: u64,
    /// The server's peak RSS (VmHWM), in KiB.
    pub rss_peak_kib: u64,
    /// CPU seconds the server and this client spent during the load.
    pub server_cpu: Duration,
    pub client_cpu: Duration,
}

impl ApiBenchReport {
    pub fn creates_per_sec(&self) -> f64 {
        self.objects as f64 / self.elapsed.as_secs_f64()
    }

    /// Whether the embedded store's goals are met: ≥ 2,000 creates/s, write-to-event p99
    /// under 10 ms, idle RSS under 30 MB.
    pub fn meets_embedded_goals(&self) -> bool {
        self.creates_per_sec() >= 2000.0
            && self.event_p99 < Duration::from_millis(10)
            && self.rss_idle_kib * 1024 < 30_000_000
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

impl fmt::Display for ApiBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wall = self.elapsed.as_secs_f64();
        let offered = match self.rate {
            Some(r) => format!(", offered at {r:.0}/s"),
            None => String::new(),
        };
        writeln!(
            f,
            "skiff bench api: {} store, {} writers, {} configmaps with {} B payloads{offered}",
            self.backend, self.writers, self.objects, self.payload_bytes
        )?;
        writeln!(
            f,
            "  creates/s:            {:.0} ({} in {:.2} s; last event after {:.2} s)",
            self.creates_per_sec(),
            self.objects,
            wall,
            self.events_elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "  create request:       p50 {}, p99 {}",
            ms(self.request_p50),
            ms(self.request_p99)
        )?;
        writeln!(
            f,
            "  write -> watch event: p50 {}, p99 {}, max {}",
            ms(self.event_p50),
            ms(self.event_p99),
            ms(self.event_max)
        )?;
        writeln!(
            f,
            "  server RSS:           idle {}, after the load {}, peak {}",
            mb(self.rss_idle_kib),
            mb(self.rss_after_kib),
            mb(self.rss_peak_kib)
        )?;
        writeln!(
            f,
            "  CPU during the load:  server {:.2} cores, bench client {:.2} cores",
            self.server_cpu.as_secs_f64() / wall,
            self.client_cpu.as_secs_f64() / wall
        )?;
        if self.backend == "embedded" {
            writeln!(
                f,
                "  goals (embedded):     >= 2,000 creates/s {}; p99 write->event < 10 ms {}; idle RSS < 30 MB {}",
                verdict(self.creates_per_sec() >= 2000.0),
                verdict(self.event_p99 < Duration::from_millis(10)),
                verdict(self.rss_idle_kib * 1024 < 30_000_000)
            )?;
        }
        write!(
            f,
            "  peers (design doc):   kube-apiserver SLO: 99% of API calls < 1 s; k3s server with \
             a workload: 1596 MB RSS, k3s agent: 275 MB"
        )
    }
}

/// A `skiff server` child; killed and reaped on drop.
struct ServerChild {
    child: Child,
    addr: SocketAddr,
    ca_pem: Vec<u8>,
    token: String,
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerChild {
    fn start(skiff: &Path, dir: &Path, endpoints: &[String]) -> Result<Self, BenchError> {
        let data = dir.join("data");
        let log_path = dir.join("server.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("create the server log"))?;
        let mut cmd = Command::new(skiff);
        cmd.args(["server", "--port", "0", "--data-dir"])
            .arg(&data)
            .arg("--kubeconfig-out")
            .arg(dir.join("admin.kubeconfig"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        if !endpoints.is_empty() {
            cmd.arg("--etcd-endpoints").arg(endpoints.join(","));
        }
        let child = cmd
            .spawn()
            .map_err(io_err(format!("run {} server", skiff.display())))?;
        let mut guard = ServerGuard(Some(child));
        let child = guard.0.as_mut().expect("just set");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // The server prints its URL and then nothing more; a thread keeps reading so the wait
        // below can time out.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) =
                        line.strip_prefix("skiff server: serving the Kubernetes API on ")
                    {
                        break url.to_string();
                    }
                }
                Err(_) => {
                    let mut log = String::new();
                    let _ =
                        std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut log));
                    return Err(BenchError::ServerStart(format!(
                        "no serving line within {START_TIMEOUT:?}; its log:\n{log}"
                    )));
                }
            }
        };
        let addr: SocketAddr = url
            .strip_prefix("https://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| BenchError::ServerStart(format!("unexpected serving URL {url:?}")))?;
        let ca_path = data.join("tls/ca.crt");
        let ca_pem =
            std::fs::read(&ca_path).map_err(io_err(format!("read {}", ca_path.display())))?;
        let token_path = data.join("token");
        let token = std::fs::read_to_string(&token_path)
            .map_err(io_err(format!("read {}", token_path.display())))?
            .trim()
            .to_string();
        Ok(ServerChild {
            child: guard.0.take().expect("still set"),
            addr,
            ca_pem,
            token,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Kills a server that failed to start properly.
struct ServerGuard(Option<Child>);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn rss_kib(pid: u32) -> Result<(u64, u64), BenchError> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(io_err(format!("read {path}")))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// User plus system CPU time of a process (`self` for this one).
fn cpu_time(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses and may contain spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

/// Everything a connection needs to reach the server.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    authority: String,
    bearer: String,
    connector: tokio_rustls::TlsConnector,
}

impl Target {
    fn new(server: &ServerChild) -> Result<Self, BenchError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&server.ca_pem) {
            let cert = cert.map_err(|e| BenchError::Tls(format!("the server's CA: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| BenchError::Tls(format!("the server's CA: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BenchError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Target {
            addr: server.addr,
            authority: server.addr.to_string(),
            bearer: format!("Bearer {}", server.token),
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// One keep-alive HTTPS connection.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, BenchError> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(io_err(format!("connect to {}", self.addr)))?;
        tcp.set_nodelay(true).map_err(io_err("set TCP_NODELAY"))?;
        let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
        let tls = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(io_err(format!("TLS handshake with {}", self.addr)))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| BenchError::Request {
                what: "HTTP handshake".into(),
                message: e.to_string(),
            })?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection.
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn request(&self, method: Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, &self.bearer)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(body))
            .expect("method, path and headers are valid")
    }
}

/// Send one request and wait for the response head.
async fn send(
    conn: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
    what: &str,
) -> Result<Response<Incoming>, BenchError> {
    let fail = |message: String| BenchError::Request {
        what: what.to_string(),
        message,
    };
    let call = async {
        conn.ready().await.map_err(|e| fail(e.to_string()))?;
        conn.send_request(req)
            .await
            .map_err(|e| fail(e.to_string()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .map_err(|_| fail(format!("no response within {REQUEST_TIMEOUT:?}")))?
}

/// Send one request and read the whole response; fails unless the status is `expect`.
async fn call(
    conn: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
    expect: StatusCode,
    what: &str,
) -> Result<Bytes, BenchError> {
    let resp = send(conn, req, what).await?;
    let status = resp.status();
    let body = tokio::time::timeout(REQUEST_TIMEOUT, resp.into_body().collect())
        .await
        .map_err(|_| BenchError::Request {
            what: what.to_string(),
            message: "the response body did not arrive".into(),
        })?
        .map_err(|e| BenchError::Request {
            what: what.to_string(),
            message: e.to_string(),
        })?
        .to_bytes();
    if status != expect {
        return Err(BenchError::Request {
            what: what.to_string(),
            message: format!(
                "status {status} (expected {expect}): {}",
                String::from_utf8_lossy(&body)
            ),
        });
    }
    Ok(body)
}

#[derive(Deserialize)]
struct EventLine {
    #[serde(rename = "type")]
    kind: String,
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    #[serde(default)]
    metadata: EventMeta,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize, Default)]
struct EventMeta {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct ListMeta {
    metadata: ListRv,
}

#[derive(Deserialize)]
struct ListRv {
    #[serde(rename = "resourceVersion")]
    resource_version: String,
}

/// Read watch events until every object `o<i>` has been ADDED; stamps `arrivals[i]` with
/// nanoseconds since `t0`.
async fn watch_added(
    mut body: Incoming,
    t0: Instant,
    arrivals: Arc<Vec<AtomicU64>>,
    seen: Arc<AtomicUsize>,
) -> Result<(), BenchError> {
    let total = arrivals.len();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    while seen.load(Ordering::Relaxed) < total {
        let frame = match body.frame().await {
            Some(Ok(f)) => f,
            Some(Err(e)) => return Err(BenchError::Watch(e.to_string())),
            None => {
                return Err(BenchError::Watch(format!(
                    "the server ended the watch after {} of {total} events",
                    seen.load(Ordering::Relaxed)
                )))
            }
        };
        // One timestamp per chunk: the events in it arrived together.
        let now = t0.elapsed().as_nanos() as u64;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            start += nl + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let ev: EventLine = serde_json::from_slice(line).map_err(|e| {
                BenchError::Watch(format!(
                    "unparsable event ({e}): {}",
                    String::from_utf8_lossy(line)
                ))
            })?;
            match ev.kind.as_str() {
                "ADDED" => {}
                "ERROR" => {
                    return Err(BenchError::Watch(format!(
                        "the server sent an error event: {}",
                        ev.object.message
                    )))
                }
                _ => continue,
            }
            let index = ev
                .object
                .metadata
                .name
                .strip_prefix('o')
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(slot) = index.and_then(|i| arrivals.get(i)) {
                if slot.swap(now, Ordering::Relaxed) == 0 {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        buf.drain(..start);
    }
    Ok(())
}

/// Percentile `p` (0..=1) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Run the benchmark; progress goes to `log`.
pub fn api_benchmark(
    opts: &ApiBenchOptions,
    log: &mut dyn std::io::Write,
) -> Result<ApiBenchReport, BenchError> {
    if opts.writers == 0 || opts.objects == 0 {
        return Err(BenchError::Options(
            "--writers and --objects must be at least 1".into(),
        ));
    }
    if opts.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(BenchError::Options(
            "--rate must be a positive number".into(),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("skiff-bench-api-")
        .tempdir()
        .map_err(io_err("create a temporary directory"))?;
    // Started on this thread: the members die with it (see `EtcdCluster`).
    let (cluster, endpoints, backend) = match &opts.store {
        BenchStore::Embedded => (None, Vec::new(), "embedded".to_string()),
        BenchStore::Etcd(endpoints) => (None, endpoints.clone(), "etcd (external)".to_string()),
        BenchStore::EtcdCluster(members) => {
            let _ = writeln!(log, "starting a {members}-member etcd cluster on loopback");
            let cluster = EtcdCluster::start(*members)?;
            let endpoints = cluster.endpoints();
            (
                Some(cluster),
                endpoints,
                format!("etcd ({members} members on loopback)"),
            )
        }
    };
    let server = ServerChild::start(&opts.skiff, dir.path(), &endpoints)?;
    let _ = writeln!(
        log,
        "skiff server (pid {}) listening on {}",
        server.pid(),
        server.addr
    );
    std::thread::sleep(SETTLE);
    let (rss_idle_kib, _) = rss_kib(server.pid())?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_err("start the client's async runtime"))?;
    let mut report = rt.block_on(load(&server, opts, log))?;
    drop(rt);

    std::thread::sleep(SETTLE);
    let (rss_after_kib, rss_peak_kib) = rss_kib(server.pid())?;
    report.backend = backend;
    report.rss_idle_kib = rss_idle_kib;
    report.rss_after_kib = rss_after_kib;
    report.rss_peak_kib = rss_peak_kib;
    drop(server);
    drop(cluster);
    Ok(report)
}

async fn load(
    server: &ServerChild,
    opts: &ApiBenchOptions,
    log: &mut dyn std::io::Write,
) -> Result<ApiBenchReport, BenchError> {
    let target = Target::new(server)?;
    let mut admin = target.connect().await?;
    // A namespace of its own, so runs against a shared etcd never collide.
    let ns = format!("bench-{}-{}", std::process::id(), crate::tls::random_hex(3));
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    call(
        &mut admin,
        target.request(
            Method::POST,
            "/api/v1/namespaces",
            Bytes::from(body.to_string()),
        ),
        StatusCode::CREATED,
        "create the benchmark namespace",
    )
    .await?;
    let collection = format!("/api/v1/namespaces/{ns}/configmaps");
    let list = call(
        &mut admin,
        target.request(Method::GET, &collection, Bytes::new()),
        StatusCode::OK,
        "list configmaps",
    )
    .await?;
    let rv = serde_json::from_slice::<ListMeta>(&list)
        .map_err(|e| BenchError::Request {
            what: "list configmaps".into(),
            message: format!("no metadata.resourceVersion in the list: {e}"),
        })?
        .metadata
        .resource_version;

    // The watch starts after the list's revision, so no event can be missed however long the
    // server takes to set it up; the writers start once its response head is here.
    let mut watch_conn = target.connect().await?;
    let watch_resp = send(
        &mut watch_conn,
        target.request(
            Method::GET,
            &format!("{collection}?watch=1&resourceVersion={rv}&allowWatchBookmarks=false"),
            Bytes::new(),
        ),
        "start the watch",
    )
    .await?;
    if watch_resp.status() != StatusCode::OK {
        return Err(BenchError::Watch(format!(
            "the server answered the watch with {}",
            watch_resp.status()
        )));
    }

    let arrivals: Arc<Vec<AtomicU64>> =
        Arc::new((0..opts.objects).map(|_| AtomicU64::new(0)).collect());
    let starts: Arc<Vec<AtomicU64>> =
        Arc::new((0..opts.objects).map(|_| AtomicU64::new(0)).collect());
    let seen = Arc::new(AtomicUsize::new(0));
    let payload = "x".repeat(opts.payload_bytes);

    let mut conns = Vec::with_capacity(opts.writers);
    for _ in 0..opts.writers {
        conns.push(target.connect().await?);
    }
    let _ = writeln!(
        log,
        "{} writers creating {} configmaps in namespace {ns}",
        opts.writers, opts.objects
    );
    let server_pid = server.pid().to_string();
    let (server_cpu0, client_cpu0) = (cpu_time(&server_pid), cpu_time("self"));
    let t0 = Instant::now();
    let watcher = tokio::spawn(watch_added(
        watch_resp.into_body(),
        t0,
        arrivals.clone(),
        seen.clone(),
    ));
    let mut writers = Vec::with_capacity(opts.writers);
    for (w, mut conn) in conns.into_iter().enumerate() {
        let (target, starts, payload, collection) = (
            target.clone(),
            starts.clone(),
            payload.clone(),
            collection.clone(),
        );
        let (n, objects, rate) = (opts.writers, opts.objects, opts.rate);
        writers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(objects / n + 1);
            for i in (w..objects).step_by(n) {
                if let Some(rate) = rate {
                    // Object i is due at i/rate: the writers take turns at an even pace.
                    let due = t0 + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let body = format!(
                    r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"o{i}"}},"data":{{"payload":"{payload}"}}}}"#
                );
                let req = target.request(Method::POST, &collection, Bytes::from(body));
                let sent = t0.elapsed();
                starts[i].store(sent.as_nanos() as u64, Ordering::Relaxed);
                call(&mut conn, req, StatusCode::CREATED, &format!("create configmap o{i}"))
                    .await?;
                latencies.push(t0.elapsed() - sent);
            }
            Ok::<_, BenchError>(latencies)
        }));
    }
    let mut request_latencies = Vec::with_capacity(opts.objects);
    for w in writers {
        let lat = w.await.map_err(|e| BenchError::Request {
            what: "writer task".into(),
            message: e.to_string(),
        })??;
        request_latencies.extend(lat);
    }
    let elapsed = t0.elapsed();
    match tokio::time::timeout(REQUEST_TIMEOUT, watcher).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(BenchError::Watch(e.to_string())),
        Err(_) => {
            return Err(BenchError::Watch(format!(
                "only {} of {} ADDED events arrived within {REQUEST_TIMEOUT:?} of the last write",
                seen.load(Ordering::Relaxed),
                opts.objects
            )))
        }
    }
    let (server_cpu, client_cpu) = (
        cpu_time(&server_pid).saturating_sub(server_cpu0),
        cpu_time("self").saturating_sub(client_cpu0),
    );

    let mut event_latencies: Vec<Duration> = starts
        .iter()
        .zip(arrivals.iter())
        .map(|(s, a)| {
            Duration::from_nanos(
                a.load(Ordering::Relaxed)
                    .saturating_sub(s.load(Ordering::Relaxed)),
            )
        })
        .collect();
    let events_elapsed = arrivals
        .iter()
        .map(|a| Duration::from_nanos(a.load(Ordering::Relaxed)))
        .max()
        .unwrap_or_default();
    event_latencies.sort_unstable();
    request_latencies.sort_unstable();

    // Leave an external etcd as it was; a temporary store goes away with its directory.
    if matches!(opts.store, BenchStore::Etcd(_)) {
        let _ = call(
            &mut admin,
            target.request(
                Method::DELETE,
                &format!("/api/v1/namespaces/{ns}"),
                Bytes::new(),
            ),
            StatusCode::OK,
            "delete the benchmark namespace",
        )
        .await;
    }

    Ok(ApiBenchReport {
        backend: String::new(),
        writers: opts.writers,
        objects: opts.objects,
        payload_bytes: opts.payload_bytes,
        rate: opts.rate,
        elapsed,
        events_elapsed,
        request_p50: percentile(&request_latencies, 0.50),
        request_p99: percentile(&request_latencies, 0.99),
        event_p50: percentile(&event_latencies, 0.50),
        event_p99: percentile(&event_latencies, 0.99),
        event_max: event_latencies.last().copied().unwrap_or_default(),
        rss_idle_kib: 0,
        rss_after_kib: 0,
        rss_peak_kib: 0,
        server_cpu,
        client_cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&v[..1], 0.99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
    }

    #[test]
    fn cpu_time_of_this_process_is_read() {
        // Burn a little CPU so the counter is past zero even on a fresh process.
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_time("self") > Duration::ZERO);
    }
}
