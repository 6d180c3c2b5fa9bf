//! One pod on this node: its sandbox, volumes and containers, driven to
//! what the pod spec asks for and reported back as the pod status. A worker
//! keeps little state of its own: the containers (and their exits) are read
//! from the engine's records, so a restarted agent adopts them as they are.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use skiff_engine::{
    ContainerRecord, DnsSettings, HostAlias, PidNamespace, PodContainerOptions, PodMount,
    PodResources, SandboxConfig, SandboxRecord, Status,
};
use skiff_image::auth::CredentialSource;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::env::{self, ContainerView, PodInputs};
use crate::error::{is_not_found, ApiContext, Result};
use crate::probes::{self, ProbeEvent, ProbeKind, Target};
use crate::runtime::Runtime;
use crate::status;
use crate::volumes::{self, PodVolumes};
use crate::AgentConfig;

pub(crate) const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub(crate) const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub(crate) const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub(crate) const LABEL_CONTAINER: &str = "io.kubernetes.container.name";
pub(crate) const LABEL_ATTEMPT: &str = "io.kubernetes.container.restartCount";
pub(crate) const LABEL_KIND: &str = "skiff.container.kind";
/// The node whose agent owns a sandbox or container: agents of several
/// nodes (or test clusters) may share one engine, and each adopts and
/// cleans up only its own.
pub(crate) const LABEL_NODE: &str = "skiff.node";

/// The kubelet's crash-loop back-off: 10 s doubling to 5 min, forgotten
/// after 10 min of running.
const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// How often running containers are checked for exits.
const POLL: Duration = Duration::from_millis(250);
/// How often configMap, secret and downward API volumes are refreshed.
const VOLUME_REFRESH: Duration = Duration::from_secs(10);
/// A config error (missing configMap, ...) is retried this often.
const CONFIG_RETRY: Duration = Duration::from_secs(2);

/// What the agent shares between its workers.
pub(crate) struct Ctx {
    pub client: kube::Client,
    pub cfg: Arc<AgentConfig>,
    pub runtime: Arc<Runtime>,
    /// Where each pod's containers are, for the streaming endpoints.
    pub views: Arc<Mutex<HashMap<(String, String), PodView>>>,
}

/// A pod's containers as the streaming endpoints see them.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodView {
    pub netns: Option<PathBuf>,
    /// The app containers' names in spec order (kubectl's default is the first).
    pub app_names: Vec<String>,
    /// By container name: every instance, oldest first.
    pub containers: BTreeMap<String, Vec<ContainerRecord>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Init,
    App,
    Ephemeral,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Init => "init",
            Kind::App => "app",
            Kind::Ephemeral => "ephemeral",
        }
    }
}

/// One container name of the pod and its instances.
#[derive(Default)]
pub(crate) struct Slot {
    /// Every instance still kept, oldest first; the last is the current one.
    pub instances: Vec<ContainerRecord>,
    /// Why the container is not running now (reason, message).
    pub waiting: Option<(String, String)>,
    /// The next back-off, and when the container may be started again.
    pub backoff: Option<Duration>,
    pub retry_at: Option<Instant>,
    /// The instance whose exit has been seen (back-off computed).
    pub exit_handled: Option<String>,
    pub ready: bool,
    pub started: bool,
    /// The probes of the current instance.
    probes: Vec<AbortHandle>,
    probes_for: Option<String>,
}

impl Slot {
    pub(crate) fn current(&self) -> Option<&ContainerRecord> {
        self.instances.last()
    }

    pub(crate) fn running(&self) -> bool {
        self.current()
            .is_some_and(|r| matches!(r.live_status(), Status::Running | Status::Created))
    }

    /// The exit code of the current instance, if it has exited.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.current()
            .filter(|r| r.live_status() == Status::Exited)
            .map(|r| r.state.exit_code.unwrap_or(137))
    }

    fn stop_probes(&mut self) {
        for p in self.probes.drain(..) {
            p.abort();
        }
        self.probes_for = None;
    }
}

pub(crate) enum Flow {
    /// Wake again after this long at the latest (None: on pod changes only).
    Continue(Option<Duration>),
    /// The pod is gone from this node; the worker ends.
    Done,
}

pub(crate) struct Worker {
    ctx: Arc<Ctx>,
    pub uid: String,
    namespace: String,
    name: String,
    pub sandbox: Option<SandboxRecord>,
    volumes: Option<PodVolumes>,
    volumes_checked: Option<Instant>,
    /// The objects the pod refers to, as last fetched.
    inputs: Option<PodInputs>,
    pub slots: BTreeMap<String, Slot>,
    probe_tx: mpsc::UnboundedSender<ProbeEvent>,
    pub probe_rx: mpsc::UnboundedReceiver<ProbeEvent>,
    /// Why the pod cannot run at all (sandbox failure), for the status.
    pub pod_error: Option<(String, String)>,
    pub start_time: String,
    last_status: Option<serde_json::Value>,
    /// The pod reached Succeeded or Failed; nothing is started any more.
    pub terminal: bool,
}

impl Worker {
    /// A worker for pod `uid`, adopting the sandbox and containers the
    /// engine already has for it.
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        pod: &Pod,
        sandbox: Option<SandboxRecord>,
        containers: Vec<ContainerRecord>,
    ) -> Worker {
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
        let mut containers = containers;
        containers.sort_by_key(attempt);
        for c in containers {
            let name = c.labels.get(LABEL_CONTAINER).cloned().unwrap_or_default();
            let slot = slots.entry(name).or_default();
            // An adopted exit is not a new crash: its back-off starts now.
            if c.live_status() == Status::Exited {
                slot.exit_handled = Some(c.id.clone());
                slot.backoff = Some(BACKOFF_START);
            } else {
                // Probes start afresh; assume started (it ran before us).
                slot.started = true;
            }
            slot.instances.push(c);
        }
        Worker {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            ctx,
            start_time: sandbox
                .as_ref()
                .map(|s| s.created.clone())
                .unwrap_or_else(status::now),
            sandbox,
            volumes: None,
            volumes_checked: None,
            inputs: None,
            slots,
            probe_tx,
            probe_rx,
            pod_error: None,
            last_status: None,
            terminal: false,
        }
    }

    fn pod_dir(&self) -> PathBuf {
        self.ctx.cfg.pods_dir.join(&self.uid)
    }

    /// Bring the node in line with `pod` (None: it left this node).
    pub(crate) async fn sync(&mut self, pod: Option<&Pod>) -> Flow {
        let Some(pod) = pod else {
            self.teardown(Duration::from_secs(2), None).await;
            return Flow::Done;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            let grace = pod
                .metadata
                .deletion_grace_period_seconds
                .or_else(|| {
                    pod.spec
                        .as_ref()
                        .and_then(|s| s.termination_grace_period_seconds)
                })
                .unwrap_or(30)
                .max(0) as u64;
            self.teardown(Duration::from_secs(grace), Some(pod)).await;
            self.delete_from_api(pod).await;
            return Flow::Done;
        }
        self.reload().await;
        if !self.terminal {
            self.run(pod).await;
        }
        self.publish_view(pod);
        let status = status::compute(pod, self, &self.ctx.cfg);
        if matches!(status["phase"].as_str(), Some("Succeeded" | "Failed")) {
            self.terminal = true;
            for slot in self.slots.values_mut() {
                slot.stop_probes();
            }
        }
        self.post_status(pod, status).await;
        Flow::Continue(self.next_wake())
    }

    fn next_wake(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut wake: Option<Duration> = None;
        let mut earlier = |d: Duration| wake = Some(wake.map_or(d, |w| w.min(d)));
        for slot in self.slots.values() {
            if slot.running() {
                earlier(POLL);
            }
            if let Some(at) = slot.retry_at {
                earlier(at.saturating_duration_since(now));
            }
        }
        if self.volumes.is_some() && !self.terminal {
            earlier(VOLUME_REFRESH);
        }
        if self.pod_error.is_some() && !self.terminal {
            earlier(CONFIG_RETRY);
        }
        wake
    }

    /// Re-read the records of the current instances (exits land there).
    async fn reload(&mut self) {
        let ids: Vec<(String, String)> = self
            .slots
            .iter()
            .filter_map(|(name, s)| s.current().map(|c| (name.clone(), c.id.clone())))
            .collect();
        let Ok(records) = self
            .ctx
            .runtime
            .load(ids.iter().map(|(_, id)| id.clone()).collect())
            .await
        else {
            return;
        };
        for ((name, _), record) in ids.into_iter().zip(records) {
            if let (Some(slot), Some(record)) = (self.slots.get_mut(&name), record) {
                if let Some(last) = slot.instances.last_mut() {
                    *last = record;
                }
            }
        }
    }

    /// A probe changed its verdict.
    pub(crate) async fn on_probe(&mut self, event: ProbeEvent) {
        let Some(slot) = self.slots.get_mut(&event.container) else {
            return;
        };
        if slot.current().map(|c| c.id.as_str()) != Some(event.container_id.as_str()) {
            return;
        }
        match event.kind {
            ProbeKind::Readiness => slot.ready = event.success,
            ProbeKind::Startup if event.success => slot.started = true,
            ProbeKind::Startup | ProbeKind::Liveness => {
                tracing::info!(
                    "pod {}/{}: container {}: {}; restarting it",
                    self.namespace,
                    self.name,
                    event.container,
                    event.message
                );
                slot.stop_probes();
                slot.ready = false;
                let id = event.container_id.clone();
                let runtime = self.ctx.runtime.clone();
                self.event("Warning", "Unhealthy", &event.message).await;
                // The exit is picked up by the next poll; the restart
                // policy and back-off decide what follows.
                let _ = runtime.stop(id, Duration::from_secs(2)).await;
            }
        }
    }

    /// Sandbox, volumes, then the containers in Kubernetes' order.
    async fn run(&mut self, pod: &Pod) {
        let Some(spec) = pod.spec.as_ref() else {
            return;
        };
        if let Err((reason, message)) = self.ensure_sandbox(pod).await {
            self.pod_error = Some((reason, message));
            return;
        }
        let inputs = match self.ensure_volumes(pod).await {
            Ok(i) => i,
            Err(message) => {
                self.pod_error = Some(("CreateContainerConfigError".into(), message));
                return;
            }
        };
        self.pod_error = None;
        let policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        for c in spec.init_containers.iter().flatten() {
            let slot = self.slots.entry(c.name.clone()).or_default();
            match slot.exit_code() {
                _ if slot.running() => return,
                Some(0) => continue,
                Some(_) if policy == "Never" => return,
                Some(_) | None => {
                    self.maybe_start(pod, c, Kind::Init, &inputs).await;
                    return;
                }
            }
        }
        for c in spec.containers.iter() {
            let slot = self.slots.entry(c.name.clone()).or_default();
            if slot.running() {
                self.ensure_probes(pod, c);
                continue;
            }
            let restart = match slot.exit_code() {
                None => true,
                Some(0) => policy == "Always",
                Some(_) => policy != "Never",
            };
            if restart {
                self.maybe_start(pod, c, Kind::App, &inputs).await;
            }
        }
        for e in spec.ephemeral_containers.iter().flatten() {
            let slot = self.slots.entry(e.name.clone()).or_default();
            if slot.current().is_none() && slot.retry_at.is_none_or(|t| t <= Instant::now()) {
                let as_container: Container = ephemeral_as_container(e);
                let target = e.target_container_name.clone();
                self.start(pod, &as_container, Kind::Ephemeral, &inputs, target)
                    .await;
            }
        }
    }

    /// Start `c` unless it is backing off; handles a fresh exit's back-off.
    async fn maybe_start(&mut self, pod: &Pod, c: &Container, kind: Kind, inputs: &PodInputs) {
        let now = Instant::now();
        let slot = self.slots.entry(c.name.clone()).or_default();
        slot.stop_probes();
        slot.ready = false;
        if let Some(cur) = slot
            .current()
            .filter(|r| r.live_status() == Status::Exited)
            .cloned()
        {
            if slot.exit_handled.as_deref() != Some(cur.id.as_str()) {
                slot.exit_handled = Some(cur.id.clone());
                let ran = status::duration_between(
                    cur.state.started_at.as_deref(),
                    cur.state.finished_at.as_deref(),
                );
                if ran.is_some_and(|d| d >= BACKOFF_RESET) {
                    slot.backoff = None;
                }
                match slot.backoff {
                    // The first crash restarts at once, as the kubelet does.
                    None => {
                        slot.backoff = Some(BACKOFF_START);
                        slot.retry_at = None;
                    }
                    Some(b) => {
                        slot.retry_at = Some(now + b);
                        slot.backoff = Some((b * 2).min(BACKOFF_MAX));
                        slot.waiting = Some((
                            "CrashLoopBackOff".into(),
                            format!(
                                "back-off {}s restarting failed container={} pod={}_{}({})",
                                b.as_secs(),
                                c.name,
                                self.name,
                                self.namespace,
                                self.uid
                            ),
                        ));
                    }
                }
            }
        }
        if slot.retry_at.is_some_and(|t| t > now) {
            return;
        }
        slot.retry_at = None;
        self.start(pod, c, kind, inputs, None).await;
    }

    /// Create and start one instance of `c`.
    async fn start(
        &mut self,
        pod: &Pod,
        c: &Container,
        kind: Kind,
        inputs: &PodInputs,
        pid_target: Option<String>,
    ) {
        let result = self.try_start(pod, c, kind, inputs, pid_target).await;
        let slot = self.slots.entry(c.name.clone()).or_default();
        match result {
            Ok(record) => {
                slot.waiting = None;
                slot.started = c.startup_probe.is_none();
                slot.ready = false;
                slot.instances.push(record);
                // Keep the current and the previous instance (for `logs
                // --previous`); older ones go.
                while slot.instances.len() > 2 {
                    let old = slot.instances.remove(0);
                    let _ = self.ctx.runtime.remove(old.id).await;
                }
                self.after_start(pod, c).await;
            }
            Err((reason, message)) => {
                let backoff = slot.backoff.unwrap_or(BACKOFF_START);
                let delay = if reason == "CreateContainerConfigError" {
                    CONFIG_RETRY
                } else {
                    slot.backoff = Some((backoff * 2).min(BACKOFF_MAX));
                    backoff
                };
                slot.retry_at = Some(Instant::now() + delay);
                tracing::info!(
                    "pod {}/{}: container {}: {reason}: {message}",
                    self.namespace,
                    self.name,
                    c.name
                );
                let waiting_reason = if reason == "ErrImagePull"
                    && slot.waiting.as_ref().is_some_and(|w| w.0 == "ErrImagePull")
                {
                    "ImagePullBackOff".to_string()
                } else {
                    reason.clone()
                };
                slot.waiting = Some((waiting_reason, message.clone()));
                self.event("Warning", "Failed", &message).await;
            }
        }
    }

    async fn try_start(
        &mut self,
        pod: &Pod,
        c: &Container,
        kind: Kind,
        inputs: &PodInputs,
        pid_target: Option<String>,
    ) -> Result<ContainerRecord, (String, String)> {
        let config_err = |m: String| ("CreateContainerConfigError".to_string(), m);
        let view = ContainerView::from(c);
        let env = env::container_env(pod, &view, inputs).map_err(|e| config_err(e.to_string()))?;
        let image = c.image.clone().unwrap_or_default();
        let policy = c
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| default_pull_policy(&image));
        let creds = pull_credentials(pod, inputs).map_err(config_err)?;
        self.ctx
            .runtime
            .ensure_image(&image, &policy, creds)
            .await
            .map_err(|e| (e.reason().to_string(), e.message().to_string()))?;
        let volumes = self
            .volumes
            .as_ref()
            .ok_or_else(|| config_err("the pod's volumes are not set up".into()))?;
        let mounts = volumes::container_mounts(volumes, &view, &env)
            .map_err(|e| config_err(e.to_string()))?
            .into_iter()
            .map(|m| PodMount {
                source: m.source,
                destination: m.destination,
                readonly: m.readonly,
            })
            .collect();
        let sandbox = self
            .sandbox
            .clone()
            .ok_or_else(|| config_err("the pod sandbox is gone".into()))?;
        let slot = self.slots.entry(c.name.clone()).or_default();
        let attempt = slot.current().map(|r| attempt(r) + 1).unwrap_or(0);
        let pid_namespace = match pid_target {
            Some(target) => match self
                .slots
                .get(&target)
                .and_then(|s| s.current().filter(|_| s.running()))
            {
                Some(r) => PidNamespace::JoinContainer(r.id.clone()),
                None => {
                    return Err((
                        "CreateContainerError".into(),
                        format!("the target container {target:?} is not running"),
                    ))
                }
            },
            None => PidNamespace::Own,
        };
        let opts = container_options(
            pod,
            c,
            kind,
            &self.uid,
            attempt,
            env,
            mounts,
            pid_namespace,
            &self.ctx.cfg.node_name,
        );
        let record = self
            .ctx
            .runtime
            .create_container(sandbox, opts)
            .await
            .map_err(|e| ("CreateContainerError".to_string(), e.to_string()))?;
        if let Err(e) = self.ctx.runtime.start(&record.id).await {
            let _ = self.ctx.runtime.remove(record.id.clone()).await;
            return Err(("RunContainerError".into(), e.to_string()));
        }
        let mut loaded = self
            .ctx
            .runtime
            .load(vec![record.id.clone()])
            .await
            .ok()
            .and_then(|mut v| v.pop().flatten())
            .unwrap_or(record);
        loaded
            .labels
            .entry(LABEL_KIND.into())
            .or_insert_with(|| kind.label().into());
        Ok(loaded)
    }

    /// postStart, then the probes.
    async fn after_start(&mut self, pod: &Pod, c: &Container) {
        let Some(current) = self.slots.get(&c.name).and_then(|s| s.current()).cloned() else {
            return;
        };
        if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let target = self.target(c, &current.id);
            if let Err(message) = probes::run_hook(hook, &target).await {
                let message = format!("PostStartHook failed: {message}");
                self.event("Warning", "FailedPostStartHook", &message).await;
                let _ = self
                    .ctx
                    .runtime
                    .stop(current.id.clone(), Duration::from_secs(2))
                    .await;
                return;
            }
        }
        self.ensure_probes(pod, c);
    }

    fn target(&self, c: &Container, id: &str) -> Target {
        Target {
            runtime: self.ctx.runtime.clone(),
            container_id: id.to_string(),
            pod_ip: self.pod_ip(),
            container: c.clone(),
        }
    }

    pub(crate) fn pod_ip(&self) -> Option<IpAddr> {
        let sandbox = self.sandbox.as_ref()?;
        if sandbox.config.host_network {
            return Some(self.ctx.cfg.node_ip);
        }
        sandbox.ip
    }

    /// Probe tasks for the current instance of `c` (once per instance).
    fn ensure_probes(&mut self, _pod: &Pod, c: &Container) {
        let Some(id) = self
            .slots
            .get(&c.name)
            .and_then(|s| s.current())
            .map(|r| r.id.clone())
        else {
            return;
        };
        let target = self.target(c, &id);
        let tx = self.probe_tx.clone();
        let slot = self.slots.entry(c.name.clone()).or_default();
        if slot.probes_for.as_deref() == Some(id.as_str()) {
            return;
        }
        slot.stop_probes();
        slot.probes_for = Some(id);
        if c.readiness_probe.is_none() {
            slot.ready = true;
        }
        if let Some(p) = &c.startup_probe {
            if !slot.started {
                let h = tokio::spawn(probes::probe_loop(
                    ProbeKind::Startup,
                    p.clone(),
                    target.clone(),
                    tx.clone(),
                ));
                slot.probes.push(h.abort_handle());
            }
        }
        for (kind, probe) in [
            (ProbeKind::Liveness, &c.liveness_probe),
            (ProbeKind::Readiness, &c.readiness_probe),
        ] {
            if let Some(p) = probe {
                let (p, target, tx) = (p.clone(), target.clone(), tx.clone());
                let gated = c.startup_probe.is_some() && !slot.started;
                let h = tokio::spawn(async move {
                    // Liveness and readiness wait for a startup probe; its
                    // success restarts the probes without this wait.
                    if gated {
                        std::future::pending::<()>().await;
                    }
                    probes::probe_loop(kind, p, target, tx).await
                });
                slot.probes.push(h.abort_handle());
            }
        }
    }

    /// The sandbox exists (creating it if needed).
    async fn ensure_sandbox(&mut self, pod: &Pod) -> Result<(), (String, String)> {
        if self.sandbox.is_some() {
            return Ok(());
        }
        let cfg = sandbox_config(pod, &self.ctx.cfg);
        match self.ctx.runtime.create_sandbox(cfg).await {
            Ok(s) => {
                self.start_time = status::now();
                self.sandbox = Some(s);
                Ok(())
            }
            Err(e) => {
                let message = format!("Failed to create pod sandbox: {e}");
                self.event("Warning", "FailedCreatePodSandBox", &message)
                    .await;
                Err(("FailedCreatePodSandBox".into(), message))
            }
        }
    }

    /// Volumes set up (first time) or refreshed (every VOLUME_REFRESH);
    /// returns the pod's inputs for env.
    async fn ensure_volumes(&mut self, pod: &Pod) -> Result<PodInputs, String> {
        let due = self.volumes.is_none()
            || self
                .volumes_checked
                .is_none_or(|t| t.elapsed() >= VOLUME_REFRESH);
        // The objects are fetched again with each refresh, and while a
        // container waits for a missing one; otherwise the last fetch serves.
        let config_error = self.slots.values().any(|s| {
            s.waiting
                .as_ref()
                .is_some_and(|w| w.0 == "CreateContainerConfigError")
        });
        let inputs = match &self.inputs {
            Some(inputs) if !due && !config_error => return Ok(inputs.clone()),
            _ => self.fetch_inputs(pod).await?,
        };
        self.inputs = Some(inputs.clone());
        if !due {
            return Ok(inputs);
        }
        let dir = self.pod_dir().join("volumes");
        let (pod_c, inputs_c) = (pod.clone(), inputs.clone());
        let first = self.volumes.is_none();
        let result = self
            .ctx
            .runtime
            .blocking(move || {
                Ok(if first {
                    volumes::setup(&dir, &pod_c, &inputs_c).map(Some)
                } else {
                    volumes::refresh(&dir, &pod_c, &inputs_c).map(|_| None)
                })
            })
            .await
            .map_err(|e| format!("volume task failed: {e}"))?;
        match result {
            Ok(Some(v)) => self.volumes = Some(v),
            Ok(None) => {}
            Err(e) if first => return Err(e.to_string()),
            Err(e) => tracing::warn!("pod {}/{}: volume refresh: {e}", self.namespace, self.name),
        }
        self.volumes_checked = Some(Instant::now());
        Ok(inputs)
    }

    /// The configMaps, secrets and claims the pod refers to.
    async fn fetch_inputs(&self, pod: &Pod) -> Result<PodInputs, String> {
        use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim};
        let refs = env::references(pod);
        let ns = &self.namespace;
        let mut inputs = PodInputs {
            node_name: self.ctx.cfg.node_name.clone(),
            host_ip: Some(self.ctx.cfg.node_ip.to_string()),
            pod_ip: self.pod_ip().map(|ip| ip.to_string()),
            ..PodInputs::default()
        };
        let (cpus, memory) = crate::node::machine_size();
        inputs.node_allocatable_cpu_millis = cpus as i64 * 1000;
        inputs.node_allocatable_memory = memory as i64;
        let client = &self.ctx.client;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        for name in &refs.config_maps {
            if let Some(cm) = cms
                .get_opt(name)
                .await
                .map_err(|e| format!("configmap {name:?}: {e}"))?
            {
                inputs.config_maps.insert(name.clone(), cm);
            }
        }
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
        for name in &refs.secrets {
            if let Some(s) = secrets
                .get_opt(name)
                .await
                .map_err(|e| format!("secret {name:?}: {e}"))?
            {
                inputs.secrets.insert(name.clone(), s);
            }
        }
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        for name in &refs.claims {
            if let Some(claim) = claims
                .get_opt(name)
                .await
                .map_err(|e| format!("persistentvolumeclaim {name:?}: {e}"))?
            {
                if let Some(pv) = claim.spec.as_ref().and_then(|s| s.volume_name.clone()) {
                    if let Some(v) = pvs
                        .get_opt(&pv)
                        .await
                        .map_err(|e| format!("persistentvolume {pv:?}: {e}"))?
                    {
                        inputs.persistent_volumes.insert(pv, v);
                    }
                }
                inputs.claims.insert(name.clone(), claim);
            }
        }
        Ok(inputs)
    }

    /// Stop everything of the pod (preStop, then the stop signal, then
    /// SIGKILL once `grace` is over) and remove it from the node.
    async fn teardown(&mut self, grace: Duration, pod: Option<&Pod>) {
        let deadline = tokio::time::Instant::now() + grace;
        let containers: Vec<Container> = pod
            .and_then(|p| p.spec.as_ref())
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        let mut stops = Vec::new();
        for slot in self.slots.values_mut() {
            slot.stop_probes();
        }
        for (name, slot) in &self.slots {
            let Some(cur) = slot.current().filter(|_| slot.running()).cloned() else {
                continue;
            };
            let hook = containers.iter().find(|c| &c.name == name).and_then(|c| {
                c.lifecycle
                    .as_ref()
                    .and_then(|l| l.pre_stop.clone())
                    .map(|h| (h, c.clone()))
            });
            let runtime = self.ctx.runtime.clone();
            let pod_ip = self.pod_ip();
            stops.push(tokio::spawn(async move {
                if let Some((hook, c)) = hook {
                    let target = Target {
                        runtime: runtime.clone(),
                        container_id: cur.id.clone(),
                        pod_ip,
                        container: c,
                    };
                    let _ =
                        tokio::time::timeout_at(deadline, probes::run_hook(&hook, &target)).await;
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let _ = runtime.stop(cur.id.clone(), left).await;
            }));
        }
        for s in stops {
            let _ = s.await;
        }
        for slot in self.slots.values() {
            for i in &slot.instances {
                let _ = self.ctx.runtime.remove(i.id.clone()).await;
            }
        }
        if let Some(s) = self.sandbox.take() {
            if let Err(e) = self.ctx.runtime.remove_sandbox(s.id.clone()).await {
                tracing::warn!(
                    "pod {}/{}: cannot remove the sandbox: {e}",
                    self.namespace,
                    self.name
                );
            }
        }
        let dir = self.pod_dir();
        let _ = self
            .ctx
            .runtime
            .blocking(move || {
                volumes::teardown(&dir.join("volumes"))?;
                let _ = std::fs::remove_dir_all(&dir);
                Ok(())
            })
            .await;
        self.ctx
            .views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(self.namespace.clone(), self.name.clone()));
    }

    /// Once the containers are gone the pod object goes too (the kubelet's
    /// final delete with grace 0, for this uid only).
    async fn delete_from_api(&self, pod: &Pod) {
        let pods: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match pods.delete(&self.name, &params).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => tracing::warn!("cannot delete pod {}/{}: {e}", self.namespace, self.name),
        }
    }

    async fn post_status(&mut self, pod: &Pod, status: serde_json::Value) {
        if self.last_status.as_ref() == Some(&status) {
            return;
        }
        let pods: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let patch = json!({"metadata": {"uid": pod.metadata.uid}, "status": status});
        match pods
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .api(|| format!("the status of pod {}/{}", self.namespace, self.name))
        {
            Ok(_) => self.last_status = Some(status),
            Err(e) => tracing::warn!("{e}"),
        }
    }

    /// An Event about the pod, as the kubelet records them.
    async fn event(&self, kind: &str, reason: &str, message: &str) {
        crate::pods::record_event(
            &self.ctx,
            &self.namespace,
            &self.name,
            &self.uid,
            kind,
            reason,
            message,
        )
        .await;
    }

    pub(crate) fn last_posted(&self) -> Option<&serde_json::Value> {
        self.last_status.as_ref()
    }

    fn publish_view(&self, pod: &Pod) {
        let view = PodView {
            netns: self.sandbox.as_ref().and_then(|s| s.netns.clone()),
            app_names: pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default(),
            containers: self
                .slots
                .iter()
                .map(|(n, s)| (n.clone(), s.instances.clone()))
                .collect(),
        };
        self.ctx
            .views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((self.namespace.clone(), self.name.clone()), view);
    }
}

pub(crate) fn attempt(r: &ContainerRecord) -> u32 {
    r.labels
        .get(LABEL_ATTEMPT)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0)
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
fn default_pull_policy(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent".into();
    }
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always".into(),
        Some(_) => "IfNotPresent".into(),
    }
}

/// Registry credentials from the pod's imagePullSecrets.
fn pull_credentials(pod: &Pod, inputs: &PodInputs) -> Result<CredentialSource, String> {
    let mut creds = CredentialSource::default();
    for r in pod
        .spec
        .as_ref()
        .and_then(|s| s.image_pull_secrets.as_ref())
        .into_iter()
        .flatten()
    {
        let Some(secret) = inputs.secrets.get(&r.name) else {
            // The kubelet goes on without a missing pull secret.
            continue;
        };
        let data = secret.data.as_ref();
        let json = data
            .and_then(|d| d.get(".dockerconfigjson"))
            .map(|b| b.0.clone())
            .or_else(|| {
                data.and_then(|d| d.get(".dockercfg")).map(|b| {
                    // The legacy format is the `auths` map alone.
                    let mut wrapped = b"{\"auths\":".to_vec();
                    wrapped.extend_from_slice(&b.0);
                    wrapped.push(b'}');
                    wrapped
                })
            });
        if let Some(json) = json {
            let what = PathBuf::from(format!("secret {}", r.name));
            let found = CredentialSource::from_docker_config(&what, &json)
                .map_err(|e| format!("imagePullSecrets: {e}"))?;
            creds.by_host.extend(found.by_host);
        }
    }
    Ok(creds)
}

fn ephemeral_as_container(e: &k8s_openapi::api::core::v1::EphemeralContainer) -> Container {
    Container {
        name: e.name.clone(),
        image: e.image.clone(),
        image_pull_policy: e.image_pull_policy.clone(),
        command: e.command.clone(),
        args: e.args.clone(),
        env: e.env.clone(),
        env_from: e.env_from.clone(),
        working_dir: e.working_dir.clone(),
        volume_mounts: e.volume_mounts.clone(),
        security_context: e.security_context.clone(),
        stdin: e.stdin,
        stdin_once: e.stdin_once,
        tty: e.tty,
        ..Container::default()
    }
}

/// The sandbox of `pod` on this node.
fn sandbox_config(pod: &Pod, cfg: &AgentConfig) -> SandboxConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut hostname = spec.hostname.clone().unwrap_or_else(|| name.clone());
    hostname.truncate(63);
    let hostname = hostname.trim_end_matches(['-', '.']).to_string();
    let domain = spec
        .subdomain
        .as_ref()
        .map(|sub| format!("{sub}.{namespace}.svc.{}", cfg.cluster_domain));
    let host_network = spec.host_network.unwrap_or(false);
    let policy = spec
        .dns_policy
        .clone()
        .unwrap_or_else(|| "ClusterFirst".into());
    let mut dns = DnsSettings::default();
    let cluster_first =
        policy == "ClusterFirst" && !host_network || policy == "ClusterFirstWithHostNet";
    if cluster_first && !cfg.cluster_dns.is_empty() {
        dns.nameservers = cfg.cluster_dns.clone();
        dns.searches = vec![
            format!("{namespace}.svc.{}", cfg.cluster_domain),
            format!("svc.{}", cfg.cluster_domain),
            cfg.cluster_domain.clone(),
        ];
        dns.options = vec!["ndots:5".into()];
    }
    if let Some(extra) = &spec.dns_config {
        if policy != "None" && dns.nameservers.is_empty() {
            // Merging with the host's file: start from it.
            let (ns, search, options) = host_resolv_conf();
            dns.nameservers = ns;
            dns.searches = search;
            dns.options = options;
        }
        dns.nameservers
            .extend(extra.nameservers.iter().flatten().cloned());
        dns.searches
            .extend(extra.searches.iter().flatten().cloned());
        for o in extra.options.iter().flatten() {
            let text = match &o.value {
                Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            let key = text.split(':').next().unwrap_or_default().to_string();
            dns.options
                .retain(|x| x.split(':').next() != Some(key.as_str()));
            dns.options.push(text);
        }
    }
    let host_aliases = spec
        .host_aliases
        .iter()
        .flatten()
        .map(|a| HostAlias {
            ip: a.ip.clone(),
            hostnames: a.hostnames.clone().unwrap_or_default(),
        })
        .collect();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let qos = status::qos_class(&spec);
    let cgroup_parent = match qos {
        "Guaranteed" => format!("/kubepods/pod{uid}"),
        other => format!("/kubepods/{}/pod{uid}", other.to_lowercase()),
    };
    SandboxConfig {
        pod_uid: uid,
        name,
        namespace,
        hostname,
        domain,
        host_network,
        bridge: cfg.pod_bridge.clone(),
        subnet: cfg.pod_cidr.clone(),
        dns,
        host_aliases,
        cgroup_parent,
        labels: [
            (
                LABEL_POD_UID.to_string(),
                pod.metadata.uid.clone().unwrap_or_default(),
            ),
            (
                LABEL_POD_NAME.to_string(),
                pod.metadata.name.clone().unwrap_or_default(),
            ),
            (
                LABEL_POD_NAMESPACE.to_string(),
                pod.metadata.namespace.clone().unwrap_or_default(),
            ),
            (LABEL_NODE.to_string(), cfg.node_name.clone()),
        ]
        .into_iter()
        .collect(),
    }
}

fn host_resolv_conf() -> (Vec<String>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (mut ns, mut search, mut options) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => ns.extend(words.next().map(str::to_string)),
            Some("search") => search = words.map(str::to_string).collect(),
            Some("options") => options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    (ns, search, options)
}

/// The engine's options for one instance of `c`.
#[allow(clippy::too_many_arguments)]
fn container_options(
    pod: &Pod,
    c: &Container,
    kind: Kind,
    uid: &str,
    attempt: u32,
    env: Vec<(String, String)>,
    mounts: Vec<PodMount>,
    pid_namespace: PidNamespace,
    node: &str,
) -> PodContainerOptions {
    let spec = pod.spec.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let psc = spec.security_context.clone().unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let run_as_user = sc.run_as_user.or(psc.run_as_user);
    let run_as_group = sc.run_as_group.or(psc.run_as_group);
    let caps = sc.capabilities.clone().unwrap_or_default();
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_POD_UID.to_string(), uid.to_string());
    labels.insert(LABEL_POD_NAME.to_string(), pod_name.clone());
    labels.insert(LABEL_POD_NAMESPACE.to_string(), namespace.clone());
    labels.insert(LABEL_CONTAINER.to_string(), c.name.clone());
    labels.insert(LABEL_ATTEMPT.to_string(), attempt.to_string());
    labels.insert(LABEL_KIND.to_string(), kind.label().to_string());
    labels.insert(LABEL_NODE.to_string(), node.to_string());
    let short_uid: String = uid.chars().filter(|c| *c != '-').take(8).collect();
    PodContainerOptions {
        name: format!(
            "k8s_{}_{pod_name}_{namespace}_{short_uid}_{attempt}",
            c.name
        ),
        image: c.image.clone().unwrap_or_default(),
        command: c.command.clone().unwrap_or_default(),
        args: c.args.clone().unwrap_or_default(),
        env,
        working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
        mounts,
        resources: resources(c),
        user: run_as_user.map(|u| (u as u32, run_as_group.map(|g| g as u32))),
        supplemental_groups: psc
            .supplemental_groups
            .iter()
            .flatten()
            .map(|g| *g as u32)
            .collect(),
        privileged: sc.privileged.unwrap_or(false),
        capabilities_add: caps.add.unwrap_or_default(),
        capabilities_drop: caps.drop.unwrap_or_default(),
        read_only_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        stdin: c.stdin.unwrap_or(false),
        pid_namespace,
        stop_signal: None,
        labels,
    }
}

/// Limits and requests as cgroup settings: memory limit, CPU quota from
/// the limit, CPU shares from the request (the kubelet's formulas).
fn resources(c: &Container) -> PodResources {
    let r = c.resources.clone().unwrap_or_default();
    let get =
        |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| { m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone()) };
    let memory_limit = get(&r.limits, "memory").and_then(|q| status::parse_bytes(&q));
    let cpu_limit = get(&r.limits, "cpu").and_then(|q| status::parse_millis(&q));
    let cpu_request = get(&r.requests, "cpu")
        .and_then(|q| status::parse_millis(&q))
        .or(cpu_limit);
    const PERIOD: u64 = 100_000;
    PodResources {
        memory_limit,
        cpu_shares: Some(cpu_request.map_or(2, |m| ((m as u64) * 1024 / 1000).max(2))),
        cpu_quota: cpu_limit.map(|m| ((m * PERIOD as i64) / 1000).max(1000)),
        cpu_period: cpu_limit.map(|_| PERIOD),
        pids_limit: None,
    }
}
