//! The built-in controllers that run inside the server: the garbage collector (owner
//! references, `Background`/`Foreground`/`Orphan` propagation) and the namespace controller
//! (emptying a terminating namespace, then finalizing it).
//!
//! They act only through [`Cluster`], the same verbs a client has, so the API's rules
//! (compare-and-swap, finalizers, `deletionTimestamp`) apply to them as to anyone. Each pass
//! reads the current state and converges it a step; nothing is remembered between passes,
//! so a failed write is simply redone on the next one.

mod gc;
mod namespace;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use crate::resources::{Resource, RESOURCES};
use crate::status::ApiError;

pub(crate) use gc::gc_pass;
pub(crate) use namespace::namespace_pass;

/// Finalizer of an object whose dependents are being deleted before it (`Foreground`).
pub(crate) const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Finalizer of an object whose dependents are being detached from it (`Orphan`).
pub(crate) const ORPHAN_FINALIZER: &str = "orphan";
/// The namespace controller's entry in a namespace's `spec.finalizers`.
pub(crate) const NAMESPACE_FINALIZER: &str = "kubernetes";

/// A pass runs at least this often, so anything a wake-up missed (a write through another
/// server on the same etcd, or a write that failed) is picked up without one. Every write
/// on this server that can give the controllers work wakes them, so this only bounds the
/// rare case; a pass lists every object, so it is kept slow.
pub(crate) const RESYNC: Duration = Duration::from_secs(30);
/// Passes list every object; a pause after each, at least as long as the pass took, keeps
/// a storm of wake-ups from using more than half a core, while in a small cluster the
/// next pass still follows within tens of milliseconds.
const MIN_GAP: Duration = Duration::from_millis(20);
/// Reads and writes a pass keeps in flight at once: the store commits concurrent writes
/// together, so a cascade over thousands of objects costs a few commits, not one each.
const IN_FLIGHT: usize = 32;
/// Passes that changed something are followed at once by another (the next level of a
/// cascade is visible only then), but not forever if something keeps undoing our work.
const MAX_EAGER_PASSES: usize = 64;

/// What the controllers need from the API (implemented over the server's own write paths).
pub(crate) trait Cluster: Send + Sync + 'static {
    /// Every object of the resource (all namespaces when ns is None).
    fn list(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Value>, ApiError>> + Send;

    /// One object, `None` when it does not exist. The collector reads an owner (and the
    /// dependent) again right before deleting anything, so objects created after its list
    /// are never taken for missing owners.
    fn get(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
    ) -> impl Future<Output = Result<Option<Value>, ApiError>> + Send;

    /// Delete with the given propagation ("Background", "Foreground", "Orphan") and a uid
    /// precondition; Ok also when already gone (404).
    fn delete(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        uid: &str,
        propagation: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Replace the object (compare-and-swap on metadata.resourceVersion; Err 409 on
    /// conflict, the controller retries on its next pass). Its `status` is not written.
    fn update(
        &self,
        res: &'static Resource,
        obj: Value,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// Replace the object's `status` through the `status` subresource (compare-and-swap
    /// like `update`); used for a terminating namespace's conditions.
    fn update_status(
        &self,
        res: &'static Resource,
        obj: Value,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// Replace a namespace through its `finalize` subresource (only spec.finalizers changes).
    fn finalize_namespace(&self, ns: Value)
        -> impl Future<Output = Result<Value, ApiError>> + Send;
}

/// What a pass did: writes that succeeded and failures (logged, retried next pass).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub changes: usize,
    pub errors: usize,
}

impl Outcome {
    fn add(&mut self, other: Outcome) {
        self.changes += other.changes;
        self.errors += other.errors;
    }
}

/// One garbage-collection pass, then one namespace pass.
pub(crate) async fn pass<C: Cluster>(cluster: &Arc<C>) -> Outcome {
    let mut out = gc_pass(cluster).await;
    out.add(namespace_pass(cluster).await);
    out
}

/// Run the controllers forever: a pass on every wake-up (bursts are coalesced into one),
/// again at once while passes keep changing things, and every few seconds regardless.
pub(crate) async fn run<C: Cluster>(cluster: Arc<C>, mut wake: tokio::sync::mpsc::Receiver<()>) {
    let mut wake_open = true;
    let mut eager = 0usize;
    loop {
        let started = Instant::now();
        let out = pass(&cluster).await;
        let took = started.elapsed();
        if out.changes > 0 || out.errors > 0 {
            tracing::debug!(
                changes = out.changes,
                errors = out.errors,
                elapsed_ms = took.as_millis() as u64,
                "controllers pass"
            );
        }
        let rest = Instant::now() + took.max(MIN_GAP);
        if out.changes > 0 && eager < MAX_EAGER_PASSES {
            eager += 1;
            tokio::time::sleep_until(rest).await;
            drain(&mut wake, &mut wake_open);
            continue;
        }
        eager = 0;
        let deadline = started + RESYNC;
        if wake_open {
            tokio::select! {
                got = wake.recv() => {
                    if got.is_none() {
                        // The API side is gone (shutdown or a test): keep the periodic passes.
                        wake_open = false;
                        tokio::time::sleep_until(deadline).await;
                    }
                }
                () = tokio::time::sleep_until(deadline) => {}
            }
        } else {
            tokio::time::sleep_until(deadline).await;
        }
        tokio::time::sleep_until(rest).await;
        drain(&mut wake, &mut wake_open);
    }
}

/// `op` on every item, at most [`IN_FLIGHT`] at a time, each on a task of its own; the
/// results come in completion order. A task that panicked is logged and has no result.
pub(crate) async fn in_parallel<T, R, F, Fut>(items: Vec<T>, op: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(items.len());
    let keep = |out: &mut Vec<R>, joined: Result<R, tokio::task::JoinError>| match joined {
        Ok(r) => out.push(r),
        Err(e) => tracing::error!("controller task failed: {e}"),
    };
    for item in items {
        while set.len() >= IN_FLIGHT {
            match set.join_next().await {
                Some(joined) => keep(&mut out, joined),
                None => break,
            }
        }
        set.spawn(op(item));
    }
    while let Some(joined) = set.join_next().await {
        keep(&mut out, joined);
    }
    out
}

/// Swallow the wake-ups already queued: the pass about to run sees their writes.
fn drain(wake: &mut tokio::sync::mpsc::Receiver<()>, open: &mut bool) {
    loop {
        match wake.try_recv() {
            Ok(()) => {}
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                *open = false;
                return;
            }
        }
    }
}

/// The resources with distinct storage (both Event APIs serve the same objects), so every
/// object is seen once.
pub(crate) fn stored_resources() -> impl Iterator<Item = &'static Resource> {
    RESOURCES.iter().enumerate().filter_map(|(i, r)| {
        let prefix = r.prefix(None);
        RESOURCES[..i]
            .iter()
            .all(|earlier| earlier.prefix(None) != prefix)
            .then_some(r)
    })
}

pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

pub(crate) fn is_deleting(obj: &Value) -> bool {
    obj.get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|t| !t.is_null())
}

pub(crate) fn finalizers(obj: &Value) -> impl Iterator<Item = &str> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

pub(crate) fn has_finalizer(obj: &Value, name: &str) -> bool {
    finalizers(obj).any(|f| f == name)
}

/// The object with one entry taken out of `metadata.finalizers`.
pub(crate) fn without_finalizer(obj: &Value, name: &str) -> Value {
    let mut obj = obj.clone();
    if let Some(list) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("finalizers"))
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(name));
    }
    obj
}

/// `namespace/name` or `name`, for log lines.
pub(crate) fn display_name(res: &Resource, obj: &Value) -> String {
    let name = meta_str(obj, "name").unwrap_or("?");
    match meta_str(obj, "namespace") {
        Some(ns) if res.namespaced => format!("{} {ns}/{name}", res.plural),
        _ => format!("{} {name}", res.plural),
    }
}
