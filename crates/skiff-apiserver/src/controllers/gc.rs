//! The garbage collector: deletes objects whose owners are gone, deletes the dependents of
//! owners in foreground deletion before letting them go, and detaches the dependents of
//! owners deleted with `Orphan`.
//!
//! A pass lists every object once and indexes it by key and by the owner uids it names.
//! Everything that looks actionable is confirmed with a fresh read before any write (the
//! owner that seems absent, then the dependent itself), because the lists are taken one
//! resource after another and an owner created after its own list must not pass for
//! missing. A delete makes the deleted object's dependents eligible again in the same pass,
//! so a cascade down a chain of owners finishes in one pass when nothing holds it back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{
    display_name, finalizers, has_finalizer, in_parallel, is_deleting, meta_str, stored_resources,
    without_finalizer, Cluster, Outcome, FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
use crate::resources::{Resource, RESOURCES};

/// One garbage-collection pass over the current state.
pub(crate) async fn gc_pass<C: Cluster>(cluster: &Arc<C>) -> Outcome {
    let mut gc = Collector::new(cluster).await;
    gc.orphan_dependents().await;
    gc.collect_dependents().await;
    gc.release_foreground_owners().await;
    gc.out
}

struct Obj {
    res: &'static Resource,
    ns: Option<String>,
    name: String,
    uid: String,
    key: Vec<u8>,
    /// As listed, or as returned by this pass's last write to it.
    value: Value,
}

/// How an owner reference resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OwnerState {
    /// The owner exists (possibly being deleted, but not in foreground).
    Solid,
    /// Cannot be resolved: a kind this server does not serve, a cluster-scoped dependent
    /// naming a namespaced kind, a malformed reference, or a failed read. The dependent is
    /// kept, as if the owner existed.
    Unknown,
    /// No object of that name, or one with another uid (the owner was re-created).
    Dangling,
    /// The owner is in foreground deletion, waiting for its dependents.
    Waiting,
}

/// What the live owner looks like, as far as the collector cares.
#[derive(Clone, Debug)]
struct Seen {
    uid: String,
    waiting: bool,
}

enum Action {
    Keep,
    /// Replace `metadata.ownerReferences` (dangling ones dropped, waiting ones unblocked).
    Patch(Vec<Value>),
    Delete(&'static str),
}

/// Where an object lives, owned so that a task can carry it.
struct Target {
    res: &'static Resource,
    ns: Option<String>,
    name: String,
    uid: String,
}

struct Collector<C> {
    cluster: Arc<C>,
    objs: Vec<Obj>,
    by_key: HashMap<Vec<u8>, usize>,
    /// Owner uid → objects naming it.
    dependents: HashMap<String, Vec<usize>>,
    /// Objects this pass wrote: their listed state is stale.
    touched: HashSet<usize>,
    /// Objects this pass deleted (whether or not they lingered).
    deleted: HashSet<usize>,
    /// Objects known to be gone from the store.
    gone: HashSet<usize>,
    /// Fresh reads of owners, by key (`None`: absent); invalidated by this pass's writes.
    live: HashMap<Vec<u8>, Option<Seen>>,
    /// Every resource listed. Otherwise dependents may be missing from the index, and an
    /// owner waiting on them (foreground) or detaching them (orphan) must keep its finalizer.
    complete: bool,
    out: Outcome,
}

impl<C: Cluster> Collector<C> {
    async fn new(cluster: &Arc<C>) -> Self {
        let mut gc = Collector {
            cluster: cluster.clone(),
            objs: Vec::new(),
            by_key: HashMap::new(),
            dependents: HashMap::new(),
            touched: HashSet::new(),
            deleted: HashSet::new(),
            gone: HashSet::new(),
            live: HashMap::new(),
            complete: true,
            out: Outcome::default(),
        };
        for res in stored_resources() {
            let list = match cluster.list(res, None).await {
                Ok(list) => list,
                Err(e) => {
                    // Its objects are not collected this pass; as owners they are read
                    // one by one before anything depending on them is touched.
                    tracing::warn!("garbage collector: listing {}: {e}", res.plural);
                    gc.out.errors += 1;
                    gc.complete = false;
                    continue;
                }
            };
            for value in list {
                gc.add(res, value);
            }
        }
        gc
    }

    fn add(&mut self, res: &'static Resource, value: Value) {
        let (Some(name), Some(uid)) = (meta_str(&value, "name"), meta_str(&value, "uid")) else {
            tracing::warn!(
                "garbage collector: a {} without metadata.name or metadata.uid",
                res.kind
            );
            return;
        };
        let ns = if res.namespaced {
            match meta_str(&value, "namespace") {
                Some(ns) => Some(ns.to_string()),
                None => {
                    tracing::warn!(
                        "garbage collector: {} {name} has no metadata.namespace",
                        res.kind
                    );
                    return;
                }
            }
        } else {
            None
        };
        let i = self.objs.len();
        let key = res.key(ns.as_deref(), name);
        for r in owner_refs(&value) {
            if let Some(uid) = r.get("uid").and_then(Value::as_str) {
                self.dependents.entry(uid.to_string()).or_default().push(i);
            }
        }
        self.by_key.insert(key.clone(), i);
        self.objs.push(Obj {
            res,
            ns,
            name: name.to_string(),
            uid: uid.to_string(),
            key,
            value,
        });
    }

    /// `Orphan`: take the owner's references out of every dependent, then its finalizer.
    async fn orphan_dependents(&mut self) {
        for o in 0..self.objs.len() {
            let owner = &self.objs[o].value;
            if !is_deleting(owner) || !has_finalizer(owner, ORPHAN_FINALIZER) {
                continue;
            }
            let deps = self
                .dependents
                .get(&self.objs[o].uid)
                .cloned()
                .unwrap_or_default();
            let mut patches = Vec::new();
            for d in deps {
                let refs = owner_refs(&self.objs[d].value);
                let kept: Vec<Value> = refs
                    .iter()
                    .filter(|r| !self.refers_to(d, r, o))
                    .cloned()
                    .collect();
                if kept.len() != refs.len() {
                    patches.push((d, with_owner_refs(&self.objs[d].value, kept)));
                }
            }
            let all_detached = self
                .write_all(patches, "detaching from its orphaned owner")
                .await
                == 0;
            if all_detached && self.complete {
                let obj = without_finalizer(&self.objs[o].value, ORPHAN_FINALIZER);
                self.write_all(vec![(o, obj)], "removing the orphan finalizer")
                    .await;
            }
        }
    }

    /// Every object with owner references: delete it when no owner is left (or all that are
    /// left wait for it), or tidy its references when some owner still holds it. Works in
    /// waves: the dependents of what one wave deleted make the next.
    async fn collect_dependents(&mut self) {
        let mut wave: Vec<usize> = (0..self.objs.len()).collect();
        while !wave.is_empty() {
            let mut candidates = Vec::new();
            let mut in_wave = HashSet::new();
            for d in wave {
                if !in_wave.insert(d) || self.gone.contains(&d) || self.deleted.contains(&d) {
                    continue;
                }
                let value = &self.objs[d].value;
                if is_deleting(value) || owner_refs(value).is_empty() {
                    continue;
                }
                let refs = owner_refs(value).to_vec();
                if !matches!(self.decide(d, refs).await, Action::Keep) {
                    candidates.push(d);
                }
            }
            // Decide again on fresh copies: a dependent may have been adopted or changed
            // since it was listed.
            let mut patches = Vec::new();
            let mut deletes = Vec::new();
            for (d, latest) in self.read_all(candidates).await {
                if is_deleting(&latest) {
                    continue;
                }
                match self.decide(d, owner_refs(&latest).to_vec()).await {
                    Action::Keep => {}
                    Action::Patch(refs) => patches.push((d, with_owner_refs(&latest, refs))),
                    Action::Delete(policy) => {
                        let lingers =
                            policy != "Background" || finalizers(&latest).next().is_some();
                        deletes.push((d, policy, lingers));
                    }
                }
            }
            self.write_all(patches, "dropping references to missing owners")
                .await;
            wave = self.delete_all(deletes).await;
        }
    }

    /// Foreground owners none of whose dependents block any more lose their finalizer (and
    /// the API deletes them). Repeated while it helps, so a chain of owners unwinds in one
    /// pass once its leaves are gone.
    async fn release_foreground_owners(&mut self) {
        if !self.complete {
            return;
        }
        let mut released: HashSet<usize> = HashSet::new();
        loop {
            let mut progress = false;
            for o in 0..self.objs.len() {
                if released.contains(&o) || self.gone.contains(&o) {
                    continue;
                }
                let owner = &self.objs[o].value;
                if !is_deleting(owner) || !has_finalizer(owner, FOREGROUND_FINALIZER) {
                    continue;
                }
                let blocking = self
                    .dependents
                    .get(&self.objs[o].uid)
                    .into_iter()
                    .flatten()
                    .find(|&&d| {
                        !self.gone.contains(&d)
                            && owner_refs(&self.objs[d].value).iter().any(|r| {
                                self.refers_to(d, r, o)
                                    && r.get("blockOwnerDeletion") == Some(&Value::Bool(true))
                            })
                    })
                    .copied();
                if let Some(d) = blocking {
                    tracing::trace!(
                        "garbage collector: {} waits for {}",
                        display_name(self.objs[o].res, &self.objs[o].value),
                        display_name(self.objs[d].res, &self.objs[d].value)
                    );
                    continue;
                }
                released.insert(o);
                let obj = without_finalizer(&self.objs[o].value, FOREGROUND_FINALIZER);
                if self
                    .write_all(vec![(o, obj)], "removing the foregroundDeletion finalizer")
                    .await
                    == 0
                {
                    progress = true;
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Whether reference `r` held by object `d` names object `o`.
    fn refers_to(&self, d: usize, r: &Value, o: usize) -> bool {
        let owner = &self.objs[o];
        if r.get("uid").and_then(Value::as_str) != Some(owner.uid.as_str()) {
            return false;
        }
        owner_key(self.objs[d].ns.as_deref(), r).is_some_and(|(_, _, key)| key == owner.key)
    }

    async fn decide(&mut self, d: usize, refs: Vec<Value>) -> Action {
        let mut states = Vec::with_capacity(refs.len());
        let ns = self.objs[d].ns.clone();
        for r in &refs {
            states.push(self.owner_state(ns.as_deref(), r).await);
        }
        let held = states
            .iter()
            .any(|s| matches!(s, OwnerState::Solid | OwnerState::Unknown));
        if held {
            let blocks = |r: &Value| r.get("blockOwnerDeletion") == Some(&Value::Bool(true));
            let stale = refs.iter().zip(&states).any(|(r, s)| {
                *s == OwnerState::Dangling || (*s == OwnerState::Waiting && blocks(r))
            });
            if !stale {
                return Action::Keep;
            }
            let kept = refs
                .iter()
                .zip(&states)
                .filter(|(_, s)| **s != OwnerState::Dangling)
                .map(|(r, s)| {
                    let mut r = r.clone();
                    if *s == OwnerState::Waiting && blocks(&r) {
                        // The waiting owner may go; this object stays with its other owners.
                        r["blockOwnerDeletion"] = Value::Bool(false);
                    }
                    r
                })
                .collect();
            return Action::Patch(kept);
        }
        let has_dependents = self
            .dependents
            .get(&self.objs[d].uid)
            .is_some_and(|deps| deps.iter().any(|x| !self.gone.contains(x)));
        if has_dependents && states.contains(&OwnerState::Waiting) {
            // The owner waits for this object, and this object must wait for its own.
            Action::Delete("Foreground")
        } else {
            Action::Delete("Background")
        }
    }

    /// The listing is trusted when it shows the owner alive; anything else is read again.
    async fn owner_state(&mut self, dep_ns: Option<&str>, r: &Value) -> OwnerState {
        let Some(uid) = r.get("uid").and_then(Value::as_str) else {
            return OwnerState::Unknown;
        };
        let Some((res, ns, key)) = owner_key(dep_ns, r) else {
            return OwnerState::Unknown;
        };
        if let Some(&i) = self.by_key.get(&key) {
            if !self.touched.contains(&i)
                && classify(Some(&seen(&self.objs[i].value)), uid) == OwnerState::Solid
            {
                return OwnerState::Solid;
            }
        }
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        if !self.live.contains_key(&key) {
            match self.cluster.get(res, ns.as_deref(), name).await {
                Ok(v) => {
                    self.live.insert(key.clone(), v.as_ref().map(seen));
                }
                Err(e) => {
                    tracing::warn!("garbage collector: reading {} {name}: {e}", res.plural);
                    self.out.errors += 1;
                    return OwnerState::Unknown;
                }
            }
        }
        classify(self.live.get(&key).and_then(Option::as_ref), uid)
    }

    fn target(&self, i: usize) -> Target {
        let obj = &self.objs[i];
        Target {
            res: obj.res,
            ns: obj.ns.clone(),
            name: obj.name.clone(),
            uid: obj.uid.clone(),
        }
    }

    /// The objects as they are now; those gone or replaced are noted and left out.
    async fn read_all(&mut self, objs: Vec<usize>) -> Vec<(usize, Value)> {
        let jobs: Vec<(usize, Target)> = objs.into_iter().map(|i| (i, self.target(i))).collect();
        let cluster = self.cluster.clone();
        let results = in_parallel(jobs, move |(i, t)| {
            let cluster = cluster.clone();
            async move {
                let got = cluster.get(t.res, t.ns.as_deref(), &t.name).await;
                (i, t, got)
            }
        })
        .await;
        let mut fresh = Vec::with_capacity(results.len());
        for (i, t, got) in results {
            match got {
                Ok(Some(v)) if meta_str(&v, "uid") == Some(t.uid.as_str()) => fresh.push((i, v)),
                Ok(_) => {
                    self.gone.insert(i);
                }
                Err(e) => {
                    tracing::warn!(
                        "garbage collector: reading {}: {e}",
                        display_name(t.res, &self.objs[i].value)
                    );
                    self.out.errors += 1;
                }
            }
        }
        fresh
    }

    /// Delete objects with the given propagation (`lingers`: it will stay, with a
    /// deletionTimestamp, until finalizers are removed). Returns the dependents of what was
    /// deleted: the next wave to look at.
    async fn delete_all(&mut self, jobs: Vec<(usize, &'static str, bool)>) -> Vec<usize> {
        let jobs: Vec<_> = jobs
            .into_iter()
            .map(|(i, policy, lingers)| (i, policy, lingers, self.target(i)))
            .collect();
        let cluster = self.cluster.clone();
        let results = in_parallel(jobs, move |(i, policy, lingers, t)| {
            let cluster = cluster.clone();
            async move {
                let done = cluster
                    .delete(t.res, t.ns.as_deref(), &t.name, &t.uid, policy)
                    .await;
                (i, policy, lingers, done)
            }
        })
        .await;
        let mut next = Vec::new();
        let mut lingering = Vec::new();
        for (i, policy, lingers, done) in results {
            let obj = &self.objs[i];
            if let Err(e) = done {
                tracing::warn!(
                    "garbage collector: deleting {}: {e}",
                    display_name(obj.res, &obj.value)
                );
                self.out.errors += 1;
                continue;
            }
            tracing::debug!(
                "garbage collector: deleted {} ({policy})",
                display_name(obj.res, &obj.value)
            );
            self.out.changes += 1;
            self.deleted.insert(i);
            self.touched.insert(i);
            self.live.remove(&obj.key);
            if lingers {
                lingering.push(i);
            } else {
                self.gone.insert(i);
            }
            if let Some(deps) = self.dependents.get(&obj.uid) {
                next.extend(deps.iter().copied());
            }
        }
        // They stay with a deletionTimestamp (and, in the foreground, the finalizer this pass
        // may remove once their dependents are gone): keep their current state.
        for (i, v) in self.read_all(lingering).await {
            self.objs[i].value = v;
        }
        next
    }

    /// Replace objects; each success replaces the listed state. Returns how many failed.
    async fn write_all(&mut self, jobs: Vec<(usize, Value)>, what: &'static str) -> usize {
        let jobs: Vec<_> = jobs
            .into_iter()
            .map(|(i, obj)| (i, self.objs[i].res, obj))
            .collect();
        let cluster = self.cluster.clone();
        let results = in_parallel(jobs, move |(i, res, obj)| {
            let cluster = cluster.clone();
            async move { (i, cluster.update(res, obj).await) }
        })
        .await;
        let mut failed = 0;
        for (i, result) in results {
            let entry = &mut self.objs[i];
            self.touched.insert(i);
            self.live.remove(&entry.key);
            match result {
                Ok(v) => {
                    tracing::debug!(
                        "garbage collector: {what}: {}",
                        display_name(entry.res, &entry.value)
                    );
                    if is_deleting(&v) && finalizers(&v).next().is_none() {
                        // The last finalizer is off: the API has deleted it.
                        self.gone.insert(i);
                    }
                    entry.value = v;
                    self.out.changes += 1;
                }
                Err(e) => {
                    tracing::warn!(
                        "garbage collector: {what}: {}: {e}",
                        display_name(entry.res, &entry.value)
                    );
                    self.out.errors += 1;
                    failed += 1;
                }
            }
        }
        failed
    }
}

fn owner_refs(obj: &Value) -> &[Value] {
    obj.get("metadata")
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn with_owner_refs(obj: &Value, refs: Vec<Value>) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if refs.is_empty() {
            meta.remove("ownerReferences");
        } else {
            meta.insert("ownerReferences".into(), json!(refs));
        }
    }
    obj
}

/// The resource, namespace and store key a reference from an object in `dep_ns` names;
/// `None` when it cannot name anything (unknown kind, or a cluster-scoped dependent naming
/// a namespaced kind).
fn owner_key(
    dep_ns: Option<&str>,
    r: &Value,
) -> Option<(&'static Resource, Option<String>, Vec<u8>)> {
    let api_version = r.get("apiVersion")?.as_str()?;
    let kind = r.get("kind")?.as_str()?;
    let name = r.get("name")?.as_str()?;
    // Owners are matched by group and kind: any served version names the same object.
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let res = RESOURCES
        .iter()
        .find(|res| res.group == group && res.kind == kind)?;
    let ns = if res.namespaced {
        Some(dep_ns?.to_string())
    } else {
        None
    };
    let key = res.key(ns.as_deref(), name);
    Some((res, ns, key))
}

fn seen(owner: &Value) -> Seen {
    Seen {
        uid: meta_str(owner, "uid").unwrap_or_default().to_string(),
        waiting: is_deleting(owner) && has_finalizer(owner, FOREGROUND_FINALIZER),
    }
}

fn classify(owner: Option<&Seen>, uid: &str) -> OwnerState {
    match owner {
        None => OwnerState::Dangling,
        Some(o) if o.uid != uid => OwnerState::Dangling,
        Some(o) if o.waiting => OwnerState::Waiting,
        Some(_) => OwnerState::Solid,
    }
}
