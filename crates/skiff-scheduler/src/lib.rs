//! skiff-scheduler: assigns pods to nodes, as kube-scheduler does, first
//! slice: it watches pods without `spec.nodeName` and the nodes, filters the
//! nodes by resource fit (requests of the pods already bound against the
//! node's `status.allocatable`), `nodeSelector` and required node affinity,
//! readiness, unschedulable and untolerated `NoSchedule`/`NoExecute` taints,
//! picks the least requested of the feasible ones, and binds through the
//! `pods/binding` subresource. An unschedulable pod gets the
//! `PodScheduled=False` condition with reason `Unschedulable` and a
//! `FailedScheduling` event, and is retried when nodes or pods change (and
//! every 10 s).
//!
//! Must not touch: the store (it is a client of the API, like every
//! controller), and anything on the node (that is the agent's).

mod filter;
pub use skiff_kube::quantity;
pub mod requests;

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Binding, Event, EventSource, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::chrono::{SecondsFormat, Utc};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::filter::{choose, NodeView};
use crate::requests::{pod_requests, PodRequests};

/// Pods that could not be placed are looked at again at least this often, even when
/// nothing in the cluster changed.
const RETRY_PERIOD: Duration = Duration::from_secs(10);
/// Bindings in flight at once: enough to place a burst of pods in a few round trips
/// without opening a connection per pod.
const BIND_CONCURRENCY: usize = 16;
/// Events are for people; a few at a time keeps them from slowing the bindings.
const EVENT_CONCURRENCY: usize = 4;
/// An unchanged "cannot schedule" verdict is announced again (as an event) this often.
const REPORT_AGAIN_AFTER: Duration = Duration::from_secs(60);
/// A pod whose binding failed waits this long before the next attempt.
const BIND_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pods it places are those whose `spec.schedulerName` is this.
    pub scheduler_name: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scheduler_name: "default-scheduler".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("scheduler_name is empty: the scheduler would place no pods")]
    EmptySchedulerName,
    /// The watch streams retry forever, so this means the runtime is going away.
    #[error("the watch of {0} ended")]
    WatchEnded(&'static str),
}

/// A pod this scheduler bound (or is binding) that the pod cache still shows unbound: its
/// requests count on the node so a burst of pods does not overcommit it.
struct Assumed {
    node: String,
    requests: PodRequests,
}

#[derive(Default)]
struct Shared {
    /// By pod uid.
    assumed: HashMap<String, Assumed>,
    /// Pods whose binding failed, by uid: not before this instant.
    retry_after: HashMap<String, Instant>,
}

struct Ctx {
    client: Client,
    scheduler_name: String,
    shared: Mutex<Shared>,
    /// One pending wake-up is enough: each pass looks at the whole cache.
    wake: Notify,
    binds: Semaphore,
    events: Semaphore,
}

impl Ctx {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        // The state is plain maps that every step leaves consistent; a panic elsewhere
        // does not make it unusable.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Run the scheduler against the API until the future is dropped; errors only if it cannot
/// start (watches are retried with back-off, like kube-runtime's watcher).
pub async fn run(client: Client, options: Options) -> Result<(), SchedulerError> {
    if options.scheduler_name.is_empty() {
        return Err(SchedulerError::EmptySchedulerName);
    }
    let (nodes, node_writer) = reflector::store::<Node>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let node_events = reflector::reflector(
        node_writer,
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .modify(|n| n.managed_fields_mut().clear())
            .default_backoff(),
    );
    let pod_events = reflector::reflector(
        pod_writer,
        watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
            .modify(|p| p.managed_fields_mut().clear())
            .default_backoff(),
    );
    let ctx = Arc::new(Ctx {
        client,
        scheduler_name: options.scheduler_name,
        shared: Mutex::new(Shared::default()),
        wake: Notify::new(),
        binds: Semaphore::new(BIND_CONCURRENCY),
        events: Semaphore::new(EVENT_CONCURRENCY),
    });
    // Everything runs inside this future, so dropping it stops the watches and any
    // binding in flight.
    tokio::select! {
        r = drive(node_events, &ctx.wake, "nodes") => r,
        r = drive(pod_events, &ctx.wake, "pods") => r,
        r = schedule_loop(ctx.clone(), nodes, pods) => r,
    }
}

/// Feed a reflector (its cache is updated as the stream is polled) and wake the scheduling
/// loop on every change the cache shows.
async fn drive<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    wake: &Notify,
    what: &'static str,
) -> Result<(), SchedulerError> {
    let mut events = pin!(events);
    while let Some(event) = events.next().await {
        match event {
            // A relist swaps the cache in only at its end.
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
            Ok(_) => wake.notify_one(),
            Err(e) => tracing::warn!("watching {what}: {e}; retrying"),
        }
    }
    Err(SchedulerError::WatchEnded(what))
}

async fn schedule_loop(
    ctx: Arc<Ctx>,
    nodes: Store<Node>,
    pods: Store<Pod>,
) -> Result<(), SchedulerError> {
    // Scheduling against a half-listed cache would see nodes as emptier than they are.
    nodes
        .wait_until_ready()
        .await
        .map_err(|_| SchedulerError::WatchEnded("nodes"))?;
    pods.wait_until_ready()
        .await
        .map_err(|_| SchedulerError::WatchEnded("pods"))?;
    tracing::info!("scheduler {:?} started", ctx.scheduler_name);
    let mut tasks = JoinSet::new();
    let mut reported = HashMap::new();
    loop {
        for job in plan(&ctx, &nodes.state(), &pods.state(), &mut reported) {
            tasks.spawn(job.run(ctx.clone()));
        }
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            () = ctx.wake.notified() => {}
            () = tokio::time::sleep(RETRY_PERIOD) => {}
        }
    }
}

/// The last "cannot schedule" verdict announced for a pod.
struct Reported {
    message: String,
    at: Instant,
}

enum Job {
    Bind {
        pod: Arc<Pod>,
        node: String,
    },
    Unschedulable {
        pod: Arc<Pod>,
        message: String,
        patch: bool,
        event: bool,
    },
}

impl Job {
    async fn run(self, ctx: Arc<Ctx>) {
        match self {
            Job::Bind { pod, node } => bind(&ctx, &pod, &node).await,
            Job::Unschedulable {
                pod,
                message,
                patch,
                event,
            } => {
                if patch {
                    set_unschedulable(&ctx, &pod, &message).await;
                }
                if event {
                    post_event(
                        &ctx,
                        &pod,
                        "Warning",
                        "FailedScheduling",
                        message,
                        "Scheduling",
                    )
                    .await;
                }
            }
        }
    }
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether the pod is ours to place now.
fn wants_scheduling(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = &pod.spec else {
        return false;
    };
    spec.scheduler_name
        .as_deref()
        .unwrap_or("default-scheduler")
        == scheduler_name
        && bound_node(pod).is_none()
        && pod.metadata.deletion_timestamp.is_none()
        && !is_terminal(pod)
        && spec.scheduling_gates.as_ref().is_none_or(|g| g.is_empty())
}

fn scheduled_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
}

/// One pass over the caches: place every pending pod it can (in priority, then age
/// order), counting each placement before the next, and say why for the others. Makes no
/// API calls: it returns the jobs that do.
fn plan(
    ctx: &Ctx,
    nodes: &[Arc<Node>],
    pods: &[Arc<Pod>],
    reported: &mut HashMap<String, Reported>,
) -> Vec<Job> {
    let now = Instant::now();
    let mut shared = ctx.shared();
    // An assumption ends when the cache shows the pod bound (or gone).
    let unbound: HashSet<&str> = pods
        .iter()
        .filter(|p| bound_node(p).is_none())
        .filter_map(|p| p.metadata.uid.as_deref())
        .collect();
    shared
        .assumed
        .retain(|uid, _| unbound.contains(uid.as_str()));
    shared.retry_after.retain(|_, t| *t > now);

    let mut nodes: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut views: Vec<NodeView<'_>> = nodes.into_iter().map(NodeView::new).collect();
    let index: HashMap<String, usize> = views
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name().to_string(), i))
        .collect();
    for pod in pods {
        let (Some(node), Some(spec)) = (bound_node(pod), &pod.spec) else {
            continue;
        };
        let Some(&i) = index.get(node) else {
            continue;
        };
        if is_terminal(pod) {
            continue;
        }
        match pod_requests(spec) {
            Ok(r) => views[i].used.add(&r),
            Err(e) => {
                // The API validates requests, so this is an old or foreign object: it
                // still takes a pod slot.
                tracing::debug!(
                    "pod {}/{}: {e}",
                    pod.namespace().unwrap_or_default(),
                    pod.name_any()
                );
                views[i].used.fit.pods += 1;
            }
        }
    }
    for a in shared.assumed.values() {
        if let Some(&i) = index.get(&a.node) {
            views[i].used.add(&a.requests);
        }
    }

    let mut pending: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| wants_scheduling(p, &ctx.scheduler_name))
        .filter(|p| {
            p.metadata.uid.as_deref().is_some_and(|uid| {
                !shared.assumed.contains_key(uid) && !shared.retry_after.contains_key(uid)
            })
        })
        .collect();
    pending.sort_by(|a, b| {
        let priority = |p: &Pod| p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
        priority(b)
            .cmp(&priority(a))
            .then_with(|| {
                a.metadata
                    .creation_timestamp
                    .cmp(&b.metadata.creation_timestamp)
            })
            .then_with(|| a.metadata.namespace.cmp(&b.metadata.namespace))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });

    let mut jobs = Vec::new();
    let mut unplaced = HashSet::new();
    for pod in pending {
        let (Some(uid), Some(spec)) = (pod.metadata.uid.as_deref(), &pod.spec) else {
            continue;
        };
        let outcome = match pod_requests(spec) {
            Ok(req) => choose(&views, spec, &req).map(|i| (i, req)),
            Err(e) => Err(format!("invalid resource requests: {e}")),
        };
        match outcome {
            Ok((i, requests)) => {
                views[i].used.add(&requests);
                let node = views[i].name().to_string();
                shared.assumed.insert(
                    uid.to_string(),
                    Assumed {
                        node: node.clone(),
                        requests,
                    },
                );
                jobs.push(Job::Bind {
                    pod: pod.clone(),
                    node,
                });
            }
            Err(message) => {
                unplaced.insert(uid.to_string());
                let shown = scheduled_condition(pod).is_some_and(|c| {
                    c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                        && c.message.as_deref() == Some(message.as_str())
                });
                let event = reported.get(uid).is_none_or(|r| {
                    r.message != message || now.duration_since(r.at) >= REPORT_AGAIN_AFTER
                });
                if event {
                    reported.insert(
                        uid.to_string(),
                        Reported {
                            message: message.clone(),
                            at: now,
                        },
                    );
                }
                if event || !shown {
                    jobs.push(Job::Unschedulable {
                        pod: pod.clone(),
                        message,
                        patch: !shown,
                        event,
                    });
                }
            }
        }
    }
    reported.retain(|uid, _| unplaced.contains(uid));
    jobs
}

async fn bind(ctx: &Ctx, pod: &Pod, node: &str) {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    let result = match serde_json::to_vec(&binding) {
        Ok(body) => {
            let _permit = ctx.binds.acquire().await;
            Api::<Pod>::namespaced(ctx.client.clone(), &ns)
                .create_subresource::<serde_json::Value>(
                    "binding",
                    &name,
                    &PostParams::default(),
                    body,
                )
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(_) => {
            tracing::debug!("bound {ns}/{name} to {node}");
            let message = format!("Successfully assigned {ns}/{name} to {node}");
            post_event(ctx, pod, "Normal", "Scheduled", message, "Binding").await;
        }
        Err(e) => {
            // A pod already bound elsewhere or deleted fails here too; the cache catches
            // up before the retry.
            tracing::info!("binding {ns}/{name} to {node}: {e}");
            {
                let mut shared = ctx.shared();
                shared.assumed.remove(&uid);
                shared
                    .retry_after
                    .insert(uid, Instant::now() + BIND_RETRY_DELAY);
            }
            tokio::time::sleep(BIND_RETRY_DELAY).await;
            ctx.wake.notify_one();
        }
    }
}

async fn set_unschedulable(ctx: &Ctx, pod: &Pod, message: &str) {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    // The transition time moves only when the status does.
    let since = scheduled_condition(pod)
        .filter(|c| c.status == "False")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
        .unwrap_or_else(Utc::now);
    let patch = serde_json::json!({"status": {"conditions": [{
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "lastProbeTime": null,
        "lastTransitionTime": since.to_rfc3339_opts(SecondsFormat::Secs, true),
    }]}});
    if let Err(e) = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
        .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
    {
        tracing::info!("marking {ns}/{name} unschedulable: {e}");
    }
}

/// A core/v1 Event about the pod, as `kubectl describe pod` shows them.
async fn post_event(
    ctx: &Ctx,
    pod: &Pod,
    type_: &str,
    reason: &str,
    message: String,
    action: &str,
) {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let now = Utc::now();
    let event = Event {
        metadata: ObjectMeta {
            // Unique per pod and instant, as client-go names them.
            name: Some(format!(
                "{name}.{:x}",
                now.timestamp_nanos_opt().unwrap_or_default()
            )),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..Default::default()
        },
        reason: Some(reason.into()),
        message: Some(message),
        type_: Some(type_.into()),
        action: Some(action.into()),
        source: Some(EventSource {
            component: Some(ctx.scheduler_name.clone()),
            host: None,
        }),
        reporting_component: Some(ctx.scheduler_name.clone()),
        reporting_instance: Some(ctx.scheduler_name.clone()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        ..Default::default()
    };
    let _permit = ctx.events.acquire().await;
    if let Err(e) = Api::<Event>::namespaced(ctx.client.clone(), &ns)
        .create(&PostParams::default(), &event)
        .await
    {
        tracing::info!("event {reason} for {ns}/{name}: {e}");
    }
}
