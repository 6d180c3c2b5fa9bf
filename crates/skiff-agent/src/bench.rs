//! `skiff bench pods`: pod start latency and the node's memory, measured on
//! a private `skiff server` (scheduler and agent included) with busybox in
//! its image store beforehand:
//! - one pod at a time, from the create request to `Running` as a watch
//!   sees it;
//! - a burst of pods created at once, each until `Running`;
//! - the RSS of the server process (API server, scheduler and agent are
//!   one process) while a few pods run, and beside it the per-container
//!   monitors'.
//!
//! The peers' figures are Kubernetes' pod-startup SLO (p99 at most 5 s) and
//! k3s's published memory, printed beside ours.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use skiff_image::local_registry::LocalRegistry;
use skiff_image::registries::RegistriesConfig;
use skiff_image::registry::Client;
use skiff_image::Reference;

use crate::error::{AgentError, Result};

#[derive(Debug, Clone)]
pub struct PodBenchOptions {
    /// The skiff binary to run as the server.
    pub skiff: PathBuf,
    /// Pods started one after another.
    pub rounds: usize,
    /// Pods created at once.
    pub burst: usize,
    /// Pods running while the memory is read.
    pub idle_pods: usize,
}

#[derive(Debug, Clone, Default)]
pub struct PodBenchReport {
    pub single: Vec<Duration>,
    pub burst: Vec<Duration>,
    pub burst_total: Duration,
    pub idle_pods: usize,
    /// VmRSS of the server process, in bytes, with `idle_pods` running:
    /// on the fresh server, and again after the burst.
    pub server_rss: u64,
    pub server_rss_after_burst: u64,
    /// VmRSS of the containers' monitors, summed.
    pub monitors_rss: u64,
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

impl fmt::Display for PodBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "pod start, image present, create -> Running seen by a watch"
        )?;
        writeln!(
            f,
            "  one at a time ({} pods):   p50 {:>7.1} ms   p99 {:>7.1} ms   (goal p50 < 100 ms)",
            self.single.len(),
            ms(percentile(&self.single, 0.5)),
            ms(percentile(&self.single, 0.99)),
        )?;
        writeln!(
            f,
            "  {} created at once:       p50 {:>7.1} ms   p99 {:>7.1} ms   all Running after {:.2} s",
            self.burst.len(),
            ms(percentile(&self.burst, 0.5)),
            ms(percentile(&self.burst, 0.99)),
            self.burst_total.as_secs_f64(),
        )?;
        writeln!(
            f,
            "  Kubernetes SLO: p99 <= 5000 ms -> one pod {:.3} x, burst {:.3} x the SLO",
            ms(percentile(&self.single, 0.99)) / 5000.0,
            ms(percentile(&self.burst, 0.99)) / 5000.0,
        )?;
        writeln!(f, "memory with {} pods running", self.idle_pods)?;
        writeln!(
            f,
            "  skiff server (API server + scheduler + agent): {:>6.1} MB RSS   (goal < 50 MB)",
            mb(self.server_rss)
        )?;
        writeln!(
            f,
            "  the same after the burst:                      {:>6.1} MB RSS",
            mb(self.server_rss_after_burst)
        )?;
        writeln!(
            f,
            "  container monitors, {} together:               {:>6.1} MB RSS",
            self.idle_pods,
            mb(self.monitors_rss)
        )?;
        writeln!(
            f,
            "  k3s (design doc): server 1596 MB + agent 275 MB = 1871 MB -> skiff server is {:.3} x",
            mb(self.server_rss) / 1871.0
        )
    }
}

/// The server child, killed on drop; the pods it ran are removed by then.
struct ServerChild {
    child: Child,
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Run the benchmark; progress lines go to `log`.
pub fn pod_benchmark(opts: &PodBenchOptions, log: &mut dyn Write) -> Result<PodBenchReport> {
    let work = tempfile::Builder::new()
        .prefix("skiff-bench-pods-")
        .tempdir()
        .map_err(|e| AgentError::Io("cannot create a temporary directory".into(), e))?;
    let registry = LocalRegistry::start(None)?;
    let image = format!("{}/bench/busybox:1", registry.host());
    let client = Client::new(RegistriesConfig::default(), Default::default());
    skiff_image::synth::busybox(&["sh", "sleep"])?.push(
        &client,
        &Reference::parse(&image)?,
        "1",
    )?;
    let _ = writeln!(log, "pushed {image}");
    let pid = std::process::id();
    let bridge = format!("skbench{}", pid % 10_000);
    let subnet = format!("10.253.{}.0/24", pid % 250);
    let engine_data = work.path().join("engine");
    let engine_run = work.path().join("run");
    let server_dir = work.path().join("server");
    let kubeconfig = work.path().join("admin.kubeconfig");
    let mut child = Command::new(&opts.skiff)
        .args([
            "server",
            "--port",
            "0",
            "--kubelet-port",
            "0",
            "--node-name",
        ])
        .arg(format!("bench-{pid}"))
        .args(["--pod-bridge", &bridge, "--pod-cidr", &subnet, "--data-dir"])
        .arg(&server_dir)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .arg("--engine-data-dir")
        .arg(&engine_data)
        .arg("--engine-run-dir")
        .arg(&engine_run)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| AgentError::Io(format!("cannot run {}", opts.skiff.display()), e))?;
    let stdout = child.stdout.take();
    let server = ServerChild { child };
    let mut url = None;
    for line in BufReader::new(stdout.ok_or_else(|| AgentError::Other("no server stdout".into()))?)
        .lines()
        .map_while(std::result::Result::ok)
    {
        if let Some(u) = line.strip_prefix("skiff server: serving the Kubernetes API on ") {
            url = Some(u.to_string());
            break;
        }
    }
    let url = url.ok_or_else(|| AgentError::Other("the server exited before serving".into()))?;
    let token = std::fs::read_to_string(server_dir.join("token"))
        .map_err(|e| AgentError::Io("cannot read the server's token".into(), e))?;
    let ca = std::fs::read(server_dir.join("tls/ca.crt"))
        .map_err(|e| AgentError::Io("cannot read the server's CA".into(), e))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AgentError::Io("cannot start the async runtime".into(), e))?;
    let result = rt.block_on(async {
        let api = crate::api_client(&url, token.trim(), &ca)?;
        run_phases(api, opts, &image, server.child.id(), log).await
    });
    drop(server);
    remove_private_node(&engine_data, &engine_run, &bridge, &subnet);
    drop(registry);
    result
}

/// Remove everything pods left in a private engine (data dir `data`, run
/// dir `run`) after its agent was killed: containers, sandboxes, the pods'
/// volumes (tmpfs included) and the pod network. For benchmarks and tests,
/// which give a node an engine of its own; never point it at a shared one.
pub fn remove_private_node(data: &Path, run: &Path, bridge: &str, subnet: &str) {
    if let Ok(engine) = skiff_engine::Engine::open(data, run) {
        for c in engine.list().unwrap_or_default() {
            let _ = engine.remove(&c.id, true);
        }
        for s in engine.list_sandboxes().unwrap_or_default() {
            let _ = engine.remove_sandbox(&s.id);
        }
    }
    for pod in std::fs::read_dir(data.join("pods"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let _ = crate::volumes::teardown(&pod.path().join("volumes"));
    }
    let _ = skiff_engine::remove_bridge_network(data, bridge, subnet);
}

fn pod(name: &str, image: &str) -> Result<Pod> {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "pods"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}],
        },
    }))
    .map_err(|e| AgentError::Other(format!("pod object: {e}")))
}

/// When each pod was first seen Running, from one watch.
async fn watch_running(api: Api<Pod>, tx: tokio::sync::mpsc::UnboundedSender<(String, Instant)>) {
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    while let Some(event) = stream.next().await {
        if let Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = event {
            let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            if running {
                let _ = tx.send((p.metadata.name.unwrap_or_default(), Instant::now()));
            }
        }
    }
}

/// Run `count` pods (named `prefix-N`), let them settle, read the server's
/// and the monitors' RSS, and delete them again.
#[allow(clippy::too_many_arguments)]
async fn idle_memory<C, CF, D, DF>(
    create: &C,
    delete_all: &D,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
    running: &mut HashMap<String, Instant>,
    count: usize,
    prefix: &str,
    server_pid: u32,
) -> Result<(u64, u64)>
where
    C: Fn(String) -> CF,
    CF: std::future::Future<Output = Result<Pod>>,
    D: Fn() -> DF,
    DF: std::future::Future<Output = Result<()>>,
{
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    for c in futures::future::join_all(names.iter().cloned().map(create)).await {
        c?;
    }
    wait_running(rx, running, names).await?;
    // Past the agent's start-up work and the blocking threads' idle time.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let measured = (rss(server_pid), monitors_rss());
    delete_all().await?;
    Ok(measured)
}

/// Wait for `names` to be Running; returns when each got there.
async fn wait_running(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
    running: &mut HashMap<String, Instant>,
    names: Vec<String>,
) -> Result<Vec<Instant>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut out = Vec::new();
    for n in names {
        loop {
            if let Some(t) = running.get(&n) {
                out.push(*t);
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((name, t))) => {
                    running.entry(name).or_insert(t);
                }
                _ => {
                    return Err(AgentError::Other(format!(
                        "pod {n} did not reach Running within 120 s"
                    )))
                }
            }
        }
    }
    Ok(out)
}

async fn run_phases(
    client: kube::Client,
    opts: &PodBenchOptions,
    image: &str,
    server_pid: u32,
    log: &mut dyn Write,
) -> Result<PodBenchReport> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn(watch_running(pods.clone(), tx));
    let mut running: HashMap<String, Instant> = HashMap::new();
    let create = |name: String| {
        let pods = pods.clone();
        let image = image.to_string();
        async move {
            let p = pod(&name, &image)?;
            pods.create(&PostParams::default(), &p)
                .await
                .map_err(|e| AgentError::Other(format!("create pod {name}: {e}")))
        }
    };
    let delete_all = || {
        let pods = pods.clone();
        async move {
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            };
            pods.delete_collection(&dp, &ListParams::default().labels("bench=pods"))
                .await
                .map_err(|e| AgentError::Other(format!("delete pods: {e}")))?;
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let left = pods
                    .list(&ListParams::default().labels("bench=pods"))
                    .await
                    .map_err(|e| AgentError::Other(format!("list pods: {e}")))?;
                if left.items.is_empty() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(AgentError::Other(format!(
                        "{} pods were not removed within 120 s",
                        left.items.len()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };

    // Warm-up: the image is pulled (then present) and the network set up.
    create("warmup".into()).await?;
    wait_running(&mut rx, &mut running, vec!["warmup".into()]).await?;
    delete_all().await?;
    let _ = writeln!(log, "warm-up pod ran");

    let mut report = PodBenchReport::default();
    for i in 0..opts.rounds {
        let name = format!("single-{i}");
        let t0 = Instant::now();
        create(name.clone()).await?;
        let t = wait_running(&mut rx, &mut running, vec![name]).await?;
        report.single.push(t[0].saturating_duration_since(t0));
    }
    delete_all().await?;
    let _ = writeln!(log, "{} single pods done", opts.rounds);

    // Memory with a few pods running, on the fresh server ...
    let (rss_fresh, monitors) = idle_memory(
        &create,
        &delete_all,
        &mut rx,
        &mut running,
        opts.idle_pods,
        "idle",
        server_pid,
    )
    .await?;
    report.server_rss = rss_fresh;
    report.monitors_rss = monitors;
    report.idle_pods = opts.idle_pods;
    let _ = writeln!(log, "memory with {} pods read", opts.idle_pods);

    let names: Vec<String> = (0..opts.burst).map(|i| format!("burst-{i}")).collect();
    let t0 = Instant::now();
    let creates = futures::future::join_all(names.iter().cloned().map(&create)).await;
    for c in creates {
        c?;
    }
    let times = wait_running(&mut rx, &mut running, names).await?;
    report.burst = times
        .iter()
        .map(|t| t.saturating_duration_since(t0))
        .collect();
    report.burst_total = report.burst.iter().max().copied().unwrap_or_default();
    delete_all().await?;
    let _ = writeln!(log, "burst of {} done", opts.burst);

    // ... and again after the burst (what the process kept of it).
    let (rss_after, _) = idle_memory(
        &create,
        &delete_all,
        &mut rx,
        &mut running,
        opts.idle_pods,
        "again",
        server_pid,
    )
    .await?;
    report.server_rss_after_burst = rss_after;
    watch.abort();
    Ok(report)
}

/// The RSS of every running container monitor (their comm is skiff's, and
/// they are children of nothing but init or a subreaper).
fn monitors_rss() -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        // A monitor is a fork of `skiff start`: same command line, and a
        // child subreaper.
        let is_skiff_start = cmdline.split(|b| *b == 0).nth(1) == Some(b"start".as_slice());
        if is_skiff_start && status.contains("skiff") {
            total += rss(pid);
        }
    }
    total
}
