//! The node's pods: a watch on the pods bound to this node, one worker task
//! per pod uid, adoption of what the engine already runs (after an agent
//! restart), removal of what no pod owns any more, and the container
//! lookup behind the streaming endpoints.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use skiff_engine::{ContainerRecord, SandboxRecord, Status};
use tokio::sync::watch;

use crate::error::Result;
use crate::runtime::Runtime;
use crate::streaming::{ContainerLookup, LookupError, StreamTarget};
use crate::worker::{Ctx, Flow, PodView, Worker, LABEL_NODE, LABEL_POD_UID};
use crate::AgentConfig;

pub(crate) struct PodManager {
    ctx: Arc<Ctx>,
}

/// The latest pod object a worker should act on (None: gone from the node).
type PodSender = watch::Sender<Option<Arc<Pod>>>;

impl PodManager {
    pub(crate) fn new(
        client: kube::Client,
        cfg: Arc<AgentConfig>,
        runtime: Arc<Runtime>,
    ) -> PodManager {
        PodManager {
            ctx: Arc::new(Ctx {
                client,
                cfg,
                runtime,
                views: Default::default(),
            }),
        }
    }

    pub(crate) fn lookup(&self) -> Arc<dyn ContainerLookup> {
        Arc::new(Lookup {
            views: self.ctx.views.clone(),
            cfg: self.ctx.cfg.clone(),
        })
    }

    /// Watch this node's pods and run them, for ever.
    pub(crate) async fn run(self) -> Result<()> {
        let (sandboxes, containers) = self.ctx.runtime.list().await?;
        let mut adopted: HashMap<String, (Option<SandboxRecord>, Vec<ContainerRecord>)> =
            HashMap::new();
        let node = &self.ctx.cfg.node_name;
        let ours = |labels: &std::collections::BTreeMap<String, String>| {
            labels.get(LABEL_NODE) == Some(node)
        };
        for s in sandboxes.into_iter().filter(|s| ours(&s.config.labels)) {
            let uid = s.config.pod_uid.clone();
            adopted.entry(uid).or_default().0 = Some(s);
        }
        for c in containers.into_iter().filter(|c| ours(&c.labels)) {
            if let Some(uid) = c.labels.get(LABEL_POD_UID) {
                adopted.entry(uid.clone()).or_default().1.push(c);
            }
        }
        let pods: Api<Pod> = Api::all(self.ctx.client.clone());
        let config =
            watcher::Config::default().fields(&format!("spec.nodeName={}", self.ctx.cfg.node_name));
        let mut stream = watcher(pods, config).boxed();
        let mut workers: HashMap<String, PodSender> = HashMap::new();
        let mut listed: Option<std::collections::HashSet<String>> = None;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("pod watch: {e}; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            workers.retain(|_, tx| !tx.is_closed());
            match event {
                watcher::Event::Init => listed = Some(Default::default()),
                watcher::Event::InitApply(pod) | watcher::Event::Apply(pod) => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    if let Some(seen) = listed.as_mut() {
                        seen.insert(uid.clone());
                    }
                    let pod = Arc::new(pod);
                    match workers.get(&uid) {
                        Some(tx) => {
                            let _ = tx.send(Some(pod));
                        }
                        None => {
                            let (sandbox, containers) = adopted.remove(&uid).unwrap_or_default();
                            let tx = self.spawn_worker(pod, sandbox, containers);
                            workers.insert(uid, tx);
                        }
                    }
                }
                watcher::Event::Delete(pod) => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    if let Some(tx) = workers.get(&uid) {
                        let _ = tx.send(None);
                    }
                }
                watcher::Event::InitDone => {
                    let seen = listed.take().unwrap_or_default();
                    // Pods that went while we were away (or while the watch
                    // was down): their workers, and what the engine still
                    // holds for them, go.
                    for (uid, tx) in &workers {
                        if !seen.contains(uid) {
                            let _ = tx.send(None);
                        }
                    }
                    for (uid, (sandbox, containers)) in adopted.drain() {
                        self.remove_orphan(&uid, sandbox, containers).await;
                    }
                }
            }
        }
        Ok(())
    }

    fn spawn_worker(
        &self,
        pod: Arc<Pod>,
        sandbox: Option<SandboxRecord>,
        containers: Vec<ContainerRecord>,
    ) -> PodSender {
        let (tx, mut rx) = watch::channel(Some(pod.clone()));
        let mut worker = Worker::new(self.ctx.clone(), &pod, sandbox, containers);
        tokio::spawn(async move {
            loop {
                let pod = rx.borrow_and_update().clone();
                let wake = match worker.sync(pod.as_deref()).await {
                    Flow::Done => return,
                    Flow::Continue(wake) => wake,
                };
                let sleep = async {
                    match wake {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = rx.changed() => {
                        if changed.is_err() {
                            // The manager is gone: the agent is stopping;
                            // the containers keep running.
                            return;
                        }
                    }
                    Some(event) = worker.probe_rx.recv() => worker.on_probe(event).await,
                    _ = sleep => {}
                }
            }
        });
        tx
    }

    /// A sandbox or containers of a pod the API no longer has for this node.
    async fn remove_orphan(
        &self,
        uid: &str,
        sandbox: Option<SandboxRecord>,
        containers: Vec<ContainerRecord>,
    ) {
        tracing::info!("removing the containers of pod {uid}, which is no longer on this node");
        for c in containers {
            if c.live_status() != Status::Exited {
                let _ = self
                    .ctx
                    .runtime
                    .stop(c.id.clone(), std::time::Duration::from_secs(2))
                    .await;
            }
            let _ = self.ctx.runtime.remove(c.id).await;
        }
        if let Some(s) = sandbox {
            let _ = self.ctx.runtime.remove_sandbox(s.id).await;
        }
        let dir = self.ctx.cfg.pods_dir.join(uid);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = crate::volumes::teardown(&dir.join("volumes"));
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }
}

/// Record an Event about a pod, as the kubelet does (best effort).
pub(crate) async fn record_event(
    ctx: &Ctx,
    namespace: &str,
    pod: &str,
    uid: &str,
    kind: &str,
    reason: &str,
    message: &str,
) {
    let events: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    let now = crate::status::now();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let event: Event = match serde_json::from_value(json!({
        // The kubelet's naming: the object's name and the time in hex.
        "metadata": {"name": format!("{pod}.{nanos:x}"), "namespace": namespace},
        "involvedObject": {"kind": "Pod", "apiVersion": "v1", "namespace": namespace, "name": pod, "uid": uid},
        "reason": reason,
        "message": message,
        "type": kind,
        "source": {"component": "kubelet", "host": ctx.cfg.node_name},
        "reportingComponent": "kubelet",
        "reportingInstance": ctx.cfg.node_name,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    })) {
        Ok(e) => e,
        Err(_) => return,
    };
    if let Err(e) = events.create(&PostParams::default(), &event).await {
        tracing::debug!("cannot record event {reason} for pod {namespace}/{pod}: {e}");
    }
}

/// The streaming endpoints' view of the pods.
struct Lookup {
    views: Arc<Mutex<HashMap<(String, String), PodView>>>,
    cfg: Arc<AgentConfig>,
}

impl ContainerLookup for Lookup {
    fn find(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<StreamTarget, LookupError> {
        let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        let view = views
            .get(&(namespace.to_string(), pod.to_string()))
            .ok_or_else(|| LookupError::PodNotFound(format!("{namespace}/{pod}")))?;
        let name = match container.filter(|c| !c.is_empty()) {
            Some(c) => c.to_string(),
            None => view
                .app_names
                .first()
                .cloned()
                .ok_or_else(|| LookupError::PodNotFound(format!("{namespace}/{pod}")))?,
        };
        let instances =
            view.containers
                .get(&name)
                .ok_or_else(|| LookupError::ContainerNotFound {
                    pod: pod.to_string(),
                    container: name.clone(),
                })?;
        let record = if previous {
            instances
                .len()
                .checked_sub(2)
                .map(|i| &instances[i])
                .ok_or_else(|| {
                    LookupError::NoPrevious(format!(
                        "previous terminated container \"{name}\" in pod \"{pod}\" not found"
                    ))
                })?
        } else {
            instances
                .last()
                .ok_or_else(|| LookupError::ContainerNotFound {
                    pod: pod.to_string(),
                    container: name.clone(),
                })?
        };
        Ok(StreamTarget {
            container_id: record.id.clone(),
            log_path: self
                .cfg
                .engine_data_dir
                .join("containers")
                .join(&record.id)
                .join("log"),
            running: matches!(record.live_status(), Status::Running | Status::Created),
            tty: record.tty,
            stdin: record.interactive,
        })
    }

    fn pod_netns(&self, namespace: &str, pod: &str) -> Result<PathBuf, LookupError> {
        let views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views
            .get(&(namespace.to_string(), pod.to_string()))
            .and_then(|v| v.netns.clone())
            .ok_or_else(|| LookupError::PodNotFound(format!("{namespace}/{pod}")))
    }
}
