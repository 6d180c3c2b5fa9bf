//! The controllers against an in-memory cluster that follows the API's deletion rules
//! (propagation finalizers, `deletionTimestamp`, compare-and-swap, namespace finalizers).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::resources::{by_kind, lookup, NAMESPACES};

fn res(group: &str, plural: &str) -> &'static Resource {
    lookup(group, "v1", plural).expect("a served resource")
}

fn pods() -> &'static Resource {
    res("", "pods")
}
fn deployments() -> &'static Resource {
    res("apps", "deployments")
}
fn replicasets() -> &'static Resource {
    res("apps", "replicasets")
}
fn nodes() -> &'static Resource {
    res("", "nodes")
}

#[derive(Default)]
struct State {
    objs: BTreeMap<Vec<u8>, (&'static Resource, Value)>,
    rv: u64,
    /// Successful writes (create excluded): a pass that changes nothing adds none.
    writes: usize,
    reads: usize,
    lists: usize,
    /// What happened, in order: `delete <plural>/<name> <policy>`, `gone <plural>/<name>`,
    /// `update <plural>/<name>`.
    log: Vec<String>,
    /// Names whose next update fails with 409, as if someone wrote first.
    conflict_once: HashSet<String>,
    /// Keys present but left out of lists, as if created right after the list was taken.
    unlisted: HashSet<Vec<u8>>,
    /// Resources (by plural) whose lists fail.
    failing_lists: HashSet<&'static str>,
}

#[derive(Default)]
struct Fake {
    state: Mutex<State>,
}

fn key_of(res: &Resource, obj: &Value) -> Vec<u8> {
    let ns = if res.namespaced {
        meta_str(obj, "namespace")
    } else {
        None
    };
    res.key(ns, meta_str(obj, "name").unwrap_or_default())
}

fn finalizers_empty(res: &Resource, obj: &Value) -> bool {
    let spec_empty = !std::ptr::eq(res, &NAMESPACES)
        || obj["spec"]["finalizers"]
            .as_array()
            .is_none_or(|l| l.is_empty());
    spec_empty && finalizers(obj).next().is_none()
}

impl State {
    fn bump(&mut self, obj: &mut Value) {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
    }

    /// Store `obj` under `key`, or drop it when it is being deleted and nothing holds it.
    fn put(&mut self, res: &'static Resource, key: Vec<u8>, mut obj: Value) -> Value {
        self.bump(&mut obj);
        self.writes += 1;
        if is_deleting(&obj) && finalizers_empty(res, &obj) {
            self.objs.remove(&key);
            self.log.push(format!(
                "gone {}/{}",
                res.plural,
                meta_str(&obj, "name").unwrap()
            ));
        } else {
            self.objs.insert(key, (res, obj.clone()));
        }
        obj
    }

    fn current(&self, res: &Resource, obj: &Value) -> Result<Value, ApiError> {
        let name = meta_str(obj, "name").unwrap_or_default();
        let (_, cur) = self
            .objs
            .get(&key_of(res, obj))
            .ok_or_else(|| ApiError::not_found(res.plural, name))?;
        if meta_str(cur, "resourceVersion") != meta_str(obj, "resourceVersion") {
            return Err(ApiError::conflict(res.plural, name));
        }
        Ok(cur.clone())
    }
}

impl Fake {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn create(&self, res: &'static Resource, mut obj: Value) {
        let mut s = self.lock();
        s.bump(&mut obj);
        let key = key_of(res, &obj);
        s.objs.insert(key, (res, obj));
    }

    fn object(&self, res: &Resource, ns: Option<&str>, name: &str) -> Option<Value> {
        self.lock()
            .objs
            .get(&res.key(ns, name))
            .map(|(_, v)| v.clone())
    }

    fn exists(&self, res: &Resource, ns: Option<&str>, name: &str) -> bool {
        self.object(res, ns, name).is_some()
    }

    fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// A client's delete (what `kubectl delete --cascade=...` does).
    async fn delete_as_user(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        policy: &str,
    ) {
        let uid = meta_str(&self.object(res, ns, name).unwrap(), "uid")
            .unwrap()
            .to_string();
        self.delete(res, ns, name, &uid, policy).await.unwrap();
    }

    /// Another controller removing its finalizer.
    async fn drop_finalizer(&self, res: &'static Resource, ns: Option<&str>, name: &str, f: &str) {
        let obj = without_finalizer(&self.object(res, ns, name).unwrap(), f);
        self.update(res, obj).await.unwrap();
    }
}

impl Cluster for Fake {
    async fn list(&self, res: &'static Resource, ns: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let mut s = self.lock();
        s.lists += 1;
        if s.failing_lists.contains(res.plural) {
            return Err(ApiError::internal("storage unavailable"));
        }
        let prefix = res.prefix(ns);
        Ok(s.objs
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && !s.unlisted.contains(*k))
            .map(|(_, (_, v))| v.clone())
            .collect())
    }

    async fn get(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        let mut s = self.lock();
        s.reads += 1;
        Ok(s.objs.get(&res.key(ns, name)).map(|(_, v)| v.clone()))
    }

    async fn delete(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        uid: &str,
        propagation: &str,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        let key = res.key(ns, name);
        let Some((_, mut obj)) = s.objs.get(&key).cloned() else {
            return Ok(());
        };
        if meta_str(&obj, "uid") != Some(uid) {
            return Err(ApiError::conflict(res.plural, name));
        }
        if is_deleting(&obj) {
            return Ok(());
        }
        s.log
            .push(format!("delete {}/{name} {propagation}", res.plural));
        obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        if std::ptr::eq(res, &NAMESPACES) {
            obj["status"]["phase"] = json!("Terminating");
        } else {
            let extra = match propagation {
                "Background" => None,
                "Foreground" => Some(FOREGROUND_FINALIZER),
                "Orphan" => Some(ORPHAN_FINALIZER),
                other => return Err(ApiError::bad_request(format!("propagation {other}"))),
            };
            if let Some(f) = extra {
                let meta = obj["metadata"].as_object_mut().unwrap();
                let list = meta.entry("finalizers").or_insert_with(|| json!([]));
                list.as_array_mut().unwrap().push(json!(f));
            }
        }
        s.put(res, key, obj);
        Ok(())
    }

    async fn update(&self, res: &'static Resource, obj: Value) -> Result<Value, ApiError> {
        let mut s = self.lock();
        let name = meta_str(&obj, "name").unwrap_or_default().to_string();
        if s.conflict_once.remove(&name) {
            return Err(ApiError::conflict(res.plural, &name));
        }
        let cur = s.current(res, &obj)?;
        let mut new = obj;
        // Neither the status nor (for namespaces) spec.finalizers change through here, and
        // a deletionTimestamp is the API's to set.
        if res.has_subresource("status") {
            new["status"] = cur.get("status").cloned().unwrap_or(Value::Null);
        }
        if std::ptr::eq(res, &NAMESPACES) {
            new["spec"] = cur["spec"].clone();
        }
        match cur["metadata"].get("deletionTimestamp") {
            Some(t) => new["metadata"]["deletionTimestamp"] = t.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove("deletionTimestamp");
                }
            }
        }
        s.log.push(format!("update {}/{name}", res.plural));
        Ok(s.put(res, key_of(res, &new), new))
    }

    async fn update_status(&self, res: &'static Resource, obj: Value) -> Result<Value, ApiError> {
        let mut s = self.lock();
        let mut cur = s.current(res, &obj)?;
        cur["status"] = obj["status"].clone();
        Ok(s.put(res, key_of(res, &cur), cur))
    }

    async fn finalize_namespace(&self, ns: Value) -> Result<Value, ApiError> {
        let mut s = self.lock();
        let mut cur = s.current(&NAMESPACES, &ns)?;
        cur["spec"]["finalizers"] = ns["spec"]["finalizers"].clone();
        Ok(s.put(&NAMESPACES, key_of(&NAMESPACES, &cur), cur))
    }
}

/// An owner reference to `owner` (as stored), blocking or not.
fn owner_ref(owner: &Value, block: bool) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": block,
    })
}

fn object(res: &Resource, ns: Option<&str>, name: &str, uid: &str, owners: &[Value]) -> Value {
    let mut obj = json!({
        "apiVersion": res.api_version(),
        "kind": res.kind,
        "metadata": {"name": name, "uid": uid},
    });
    if let Some(ns) = ns {
        obj["metadata"]["namespace"] = json!(ns);
    }
    if !owners.is_empty() {
        obj["metadata"]["ownerReferences"] = json!(owners);
    }
    obj
}

fn with_finalizer(mut obj: Value, f: &str) -> Value {
    obj["metadata"]["finalizers"] = json!([f]);
    obj
}

fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "uid": format!("ns-{name}")},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

const NS: Option<&str> = Some("default");

/// A Deployment → ReplicaSet → `n` Pods chain in `default`, every link blocking.
fn chain(fake: &Fake, n: usize) -> (Value, Value) {
    let deploy = object(deployments(), NS, "web", "uid-web", &[]);
    let rs = object(
        replicasets(),
        NS,
        "web-1",
        "uid-web-1",
        &[owner_ref(&deploy, true)],
    );
    fake.create(deployments(), deploy.clone());
    fake.create(replicasets(), rs.clone());
    for i in 0..n {
        let pod = object(
            pods(),
            NS,
            &format!("web-1-{i}"),
            &format!("uid-pod-{i}"),
            &[owner_ref(&rs, true)],
        );
        fake.create(pods(), pod);
    }
    (deploy, rs)
}

/// Passes until one changes nothing; how many changed something.
async fn converge(fake: &Arc<Fake>) -> usize {
    for n in 0..20 {
        if pass(fake).await.changes == 0 {
            return n;
        }
    }
    panic!(
        "the controllers did not converge in 20 passes: {:?}",
        fake.log()
    );
}

/// A further pass writes nothing (and reads nothing one by one).
async fn assert_quiet(fake: &Arc<Fake>) {
    let (writes, reads) = {
        let s = fake.lock();
        (s.writes, s.reads)
    };
    let out = pass(fake).await;
    assert_eq!(out, Outcome::default());
    let s = fake.lock();
    assert_eq!(s.writes, writes, "a quiet pass wrote: {:?}", s.log);
    assert_eq!(s.reads, reads, "a quiet pass read objects one by one");
}

fn position(log: &[String], entry: &str) -> usize {
    log.iter()
        .position(|l| l == entry)
        .unwrap_or_else(|| panic!("{entry:?} not in {log:?}"))
}

#[tokio::test]
async fn background_cascade_crosses_two_levels_in_one_pass() {
    let fake = Arc::new(Fake::default());
    let (_, _) = chain(&fake, 3);
    // Owned by a live ReplicaSet: must stay.
    let other_rs = object(replicasets(), NS, "api-1", "uid-api-1", &[]);
    fake.create(replicasets(), other_rs.clone());
    fake.create(
        pods(),
        object(
            pods(),
            NS,
            "api-1-0",
            "uid-api-pod",
            &[owner_ref(&other_rs, true)],
        ),
    );
    fake.create(
        res("", "configmaps"),
        object(res("", "configmaps"), NS, "cfg", "uid-cfg", &[]),
    );
    assert_quiet(&fake).await;

    fake.delete_as_user(deployments(), NS, "web", "Background")
        .await;
    assert!(!fake.exists(deployments(), NS, "web"));
    let out = gc_pass(&fake).await;
    assert_eq!(
        out,
        Outcome {
            changes: 4,
            errors: 0
        }
    );
    assert!(!fake.exists(replicasets(), NS, "web-1"));
    for i in 0..3 {
        assert!(!fake.exists(pods(), NS, &format!("web-1-{i}")));
    }
    assert!(fake.exists(replicasets(), NS, "api-1"));
    assert!(fake.exists(pods(), NS, "api-1-0"));
    assert!(fake.exists(res("", "configmaps"), NS, "cfg"));
    let log = fake.log();
    assert!(log.contains(&"delete replicasets/web-1 Background".to_string()));
    assert!(log.contains(&"delete pods/web-1-2 Background".to_string()));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn foreground_deletes_dependents_first_and_waits_for_blocking_ones() {
    let fake = Arc::new(Fake::default());
    let owner = object(deployments(), NS, "web", "uid-web", &[]);
    fake.create(deployments(), owner.clone());
    let dep = |name: &str, block: bool| {
        object(
            replicasets(),
            NS,
            name,
            &format!("uid-{name}"),
            &[owner_ref(&owner, block)],
        )
    };
    // Blocking and held by someone else's finalizer: the owner must wait for it.
    fake.create(
        replicasets(),
        with_finalizer(dep("held", true), "example.com/hold"),
    );
    // Not blocking: deleted too, but the owner does not wait for it.
    fake.create(
        replicasets(),
        with_finalizer(dep("loose", false), "example.com/hold"),
    );
    fake.create(replicasets(), dep("plain", true));

    fake.delete_as_user(deployments(), NS, "web", "Foreground")
        .await;
    converge(&fake).await;
    let owner_now = fake.object(deployments(), NS, "web").expect("owner waits");
    assert!(has_finalizer(&owner_now, FOREGROUND_FINALIZER));
    assert!(!fake.exists(replicasets(), NS, "plain"));
    assert!(is_deleting(
        &fake.object(replicasets(), NS, "held").unwrap()
    ));
    assert!(is_deleting(
        &fake.object(replicasets(), NS, "loose").unwrap()
    ));
    assert_quiet(&fake).await;

    fake.drop_finalizer(replicasets(), NS, "held", "example.com/hold")
        .await;
    assert!(!fake.exists(replicasets(), NS, "held"));
    converge(&fake).await;
    assert!(!fake.exists(deployments(), NS, "web"));
    // Still held by its own finalizer; the owner did not wait for it.
    assert!(fake.exists(replicasets(), NS, "loose"));
    let log = fake.log();
    assert!(position(&log, "gone replicasets/held") < position(&log, "gone deployments/web"));
    assert!(position(&log, "gone replicasets/plain") < position(&log, "gone deployments/web"));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn foreground_chain_unwinds_from_the_leaves() {
    let fake = Arc::new(Fake::default());
    chain(&fake, 2);
    fake.delete_as_user(deployments(), NS, "web", "Foreground")
        .await;
    converge(&fake).await;
    assert!(fake.lock().objs.is_empty(), "{:?}", fake.log());
    let log = fake.log();
    // The ReplicaSet has dependents of its own, so it goes in the foreground too.
    assert!(log.contains(&"delete replicasets/web-1 Foreground".to_string()));
    let rs_gone = position(&log, "gone replicasets/web-1");
    assert!(position(&log, "gone pods/web-1-0") < rs_gone);
    assert!(position(&log, "gone pods/web-1-1") < rs_gone);
    assert!(rs_gone < position(&log, "gone deployments/web"));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn foreground_owner_lets_go_of_a_dependent_with_another_owner() {
    let fake = Arc::new(Fake::default());
    let a = object(deployments(), NS, "a", "uid-a", &[]);
    let b = object(deployments(), NS, "b", "uid-b", &[]);
    fake.create(deployments(), a.clone());
    fake.create(deployments(), b.clone());
    fake.create(
        replicasets(),
        object(
            replicasets(),
            NS,
            "shared",
            "uid-shared",
            &[owner_ref(&a, true), owner_ref(&b, true)],
        ),
    );
    fake.delete_as_user(deployments(), NS, "a", "Foreground")
        .await;
    converge(&fake).await;
    assert!(!fake.exists(deployments(), NS, "a"));
    let shared = fake.object(replicasets(), NS, "shared").expect("kept by b");
    // Unblocked while a was going, then dropped once a was gone.
    assert_eq!(
        shared["metadata"]["ownerReferences"],
        json!([owner_ref(&b, true)])
    );
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn orphan_detaches_dependents_and_retries_after_a_conflict() {
    let fake = Arc::new(Fake::default());
    let (deploy, _) = chain(&fake, 1);
    let other = object(deployments(), NS, "other", "uid-other", &[]);
    fake.create(deployments(), other.clone());
    fake.create(
        replicasets(),
        object(
            replicasets(),
            NS,
            "two-owners",
            "uid-two",
            &[owner_ref(&deploy, true), owner_ref(&other, false)],
        ),
    );
    fake.lock().conflict_once.insert("web-1".into());

    fake.delete_as_user(deployments(), NS, "web", "Orphan")
        .await;
    let out = gc_pass(&fake).await;
    assert_eq!(out.errors, 1);
    // One dependent is still attached, so the owner keeps its orphan finalizer.
    assert!(has_finalizer(
        &fake.object(deployments(), NS, "web").unwrap(),
        ORPHAN_FINALIZER
    ));
    converge(&fake).await;
    assert!(!fake.exists(deployments(), NS, "web"));
    let rs = fake
        .object(replicasets(), NS, "web-1")
        .expect("orphaned, not deleted");
    assert!(rs["metadata"].get("ownerReferences").is_none());
    assert!(!is_deleting(&rs));
    let two = fake.object(replicasets(), NS, "two-owners").unwrap();
    assert_eq!(
        two["metadata"]["ownerReferences"],
        json!([owner_ref(&other, false)])
    );
    // The pods still belong to the surviving ReplicaSet.
    assert!(fake.exists(pods(), NS, "web-1-0"));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn owners_keep_their_finalizers_while_a_list_fails() {
    let fake = Arc::new(Fake::default());
    chain(&fake, 1);
    let job = object(res("batch", "jobs"), NS, "j", "uid-j", &[]);
    fake.create(res("batch", "jobs"), job.clone());
    fake.create(
        pods(),
        object(pods(), NS, "j-0", "uid-j-0", &[owner_ref(&job, true)]),
    );
    fake.delete_as_user(replicasets(), NS, "web-1", "Orphan")
        .await;
    fake.delete_as_user(res("batch", "jobs"), NS, "j", "Foreground")
        .await;
    // Unseen, the pods could still name either owner.
    fake.lock().failing_lists.insert("pods");
    let out = gc_pass(&fake).await;
    assert_eq!(
        out,
        Outcome {
            changes: 0,
            errors: 1
        }
    );
    assert!(has_finalizer(
        &fake.object(replicasets(), NS, "web-1").unwrap(),
        ORPHAN_FINALIZER
    ));
    assert!(has_finalizer(
        &fake.object(res("batch", "jobs"), NS, "j").unwrap(),
        FOREGROUND_FINALIZER
    ));

    fake.lock().failing_lists.clear();
    converge(&fake).await;
    assert!(!fake.exists(replicasets(), NS, "web-1"));
    let pod = fake
        .object(pods(), NS, "web-1-0")
        .expect("orphaned, not deleted");
    assert!(pod["metadata"].get("ownerReferences").is_none());
    assert!(!fake.exists(res("batch", "jobs"), NS, "j"));
    assert!(!fake.exists(pods(), NS, "j-0"));
    assert!(fake.exists(deployments(), NS, "web"));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn an_owner_recreated_under_the_same_name_does_not_keep_old_dependents() {
    let fake = Arc::new(Fake::default());
    let old = object(deployments(), NS, "web", "uid-old", &[]);
    let new = object(deployments(), NS, "web", "uid-new", &[]);
    let keeper = object(deployments(), NS, "keeper", "uid-keeper", &[]);
    fake.create(deployments(), new.clone());
    fake.create(deployments(), keeper.clone());
    fake.create(
        replicasets(),
        object(
            replicasets(),
            NS,
            "old-rs",
            "uid-old-rs",
            &[owner_ref(&old, true)],
        ),
    );
    fake.create(
        replicasets(),
        object(
            replicasets(),
            NS,
            "new-rs",
            "uid-new-rs",
            &[owner_ref(&new, true)],
        ),
    );
    fake.create(
        replicasets(),
        object(
            replicasets(),
            NS,
            "mixed",
            "uid-mixed",
            &[owner_ref(&old, false), owner_ref(&keeper, false)],
        ),
    );
    converge(&fake).await;
    assert!(!fake.exists(replicasets(), NS, "old-rs"));
    assert!(fake.exists(replicasets(), NS, "new-rs"));
    let mixed = fake.object(replicasets(), NS, "mixed").unwrap();
    assert_eq!(
        mixed["metadata"]["ownerReferences"],
        json!([owner_ref(&keeper, false)])
    );
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn cluster_scoped_owner_of_namespaced_dependents() {
    let fake = Arc::new(Fake::default());
    let node = object(nodes(), None, "n1", "uid-n1", &[]);
    fake.create(nodes(), node.clone());
    for ns in ["a", "b"] {
        fake.create(
            pods(),
            object(
                pods(),
                Some(ns),
                "p",
                &format!("uid-p-{ns}"),
                &[owner_ref(&node, false)],
            ),
        );
    }
    // A cluster-scoped object cannot have a namespaced owner: unresolvable, so kept.
    let pod_kind = json!({"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "uid-p-a"});
    let pv_res = res("", "persistentvolumes");
    fake.create(pv_res, object(pv_res, None, "pv", "uid-pv", &[pod_kind]));
    // A kind this server does not serve: unresolvable, so kept.
    let foreign =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "uid-w"});
    fake.create(
        res("", "configmaps"),
        object(res("", "configmaps"), Some("a"), "cm", "uid-cm", &[foreign]),
    );
    assert_quiet(&fake).await;

    fake.delete_as_user(nodes(), None, "n1", "Background").await;
    converge(&fake).await;
    assert!(!fake.exists(pods(), Some("a"), "p"));
    assert!(!fake.exists(pods(), Some("b"), "p"));
    assert!(fake.exists(pv_res, None, "pv"));
    assert!(fake.exists(res("", "configmaps"), Some("a"), "cm"));
    assert_quiet(&fake).await;
}

#[tokio::test]
async fn an_owner_missing_from_the_list_is_read_before_anything_is_deleted() {
    let fake = Arc::new(Fake::default());
    chain(&fake, 1);
    // The Deployment exists but the lists do not show it (created after they were taken).
    let key = deployments().key(NS, "web");
    fake.lock().unlisted.insert(key);
    assert_eq!(gc_pass(&fake).await, Outcome::default());
    assert!(fake.exists(replicasets(), NS, "web-1"));
    assert!(fake.exists(pods(), NS, "web-1-0"));
    // The owner was read once, for the one dependent that named it.
    assert_eq!(fake.lock().reads, 1);
}

#[tokio::test]
async fn namespace_termination_waits_for_a_lingering_finalizer() {
    let fake = Arc::new(Fake::default());
    fake.create(&NAMESPACES, namespace("team"));
    fake.create(&NAMESPACES, namespace("other"));
    let team = Some("team");
    let deploy = object(deployments(), team, "web", "uid-web", &[]);
    let rs = object(
        replicasets(),
        team,
        "web-1",
        "uid-rs",
        &[owner_ref(&deploy, true)],
    );
    fake.create(deployments(), deploy);
    fake.create(replicasets(), rs.clone());
    fake.create(
        pods(),
        object(pods(), team, "web-1-0", "uid-p0", &[owner_ref(&rs, true)]),
    );
    fake.create(
        pods(),
        with_finalizer(
            object(pods(), team, "stuck", "uid-stuck", &[]),
            "example.com/hold",
        ),
    );
    for (group, plural) in [("", "configmaps"), ("", "secrets"), ("", "services")] {
        fake.create(
            res(group, plural),
            object(res(group, plural), team, "x", plural, &[]),
        );
    }
    let event = by_kind("events.k8s.io/v1", "Event").unwrap();
    fake.create(event, object(event, team, "ev", "uid-ev", &[]));
    fake.create(
        res("", "configmaps"),
        object(res("", "configmaps"), Some("other"), "x", "o", &[]),
    );

    fake.delete_as_user(&NAMESPACES, None, "team", "Background")
        .await;
    converge(&fake).await;
    let ns = fake
        .object(&NAMESPACES, None, "team")
        .expect("still terminating");
    assert_eq!(ns["status"]["phase"], "Terminating");
    let cond = |ns: &Value, kind: &str| -> Value {
        ns["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} condition in {ns}"))
    };
    assert_eq!(
        cond(&ns, "NamespaceDeletionContentFailure")["status"],
        "False"
    );
    let remaining = cond(&ns, "NamespaceContentRemaining");
    assert_eq!(remaining["status"], "True");
    assert_eq!(remaining["reason"], "SomeResourcesRemain");
    assert!(remaining["message"].as_str().unwrap().contains("pods (1)"));
    let held = cond(&ns, "NamespaceFinalizersRemaining");
    assert_eq!(held["status"], "True");
    assert!(held["message"]
        .as_str()
        .unwrap()
        .contains("example.com/hold (1)"));
    assert!(has_transition_time(&held));
    {
        let s = fake.lock();
        let left: Vec<&Vec<u8>> = s
            .objs
            .keys()
            .filter(|k| {
                k.starts_with(b"/registry/") && String::from_utf8_lossy(k).contains("/team/")
            })
            .collect();
        assert_eq!(left, vec![&pods().key(team, "stuck")], "{:?}", s.log);
    }
    assert!(fake.exists(res("", "configmaps"), Some("other"), "x"));
    assert_eq!(
        fake.object(&NAMESPACES, None, "team").unwrap()["spec"]["finalizers"],
        json!(["kubernetes"])
    );
    assert_quiet(&fake).await;

    fake.drop_finalizer(pods(), team, "stuck", "example.com/hold")
        .await;
    let out = pass(&fake).await;
    // Conditions brought up to date, then the finalize that lets the API delete it.
    assert_eq!(
        out,
        Outcome {
            changes: 2,
            errors: 0
        }
    );
    assert!(!fake.exists(&NAMESPACES, None, "team"));
    assert!(fake.exists(&NAMESPACES, None, "other"));
    assert_quiet(&fake).await;
}

fn has_transition_time(cond: &Value) -> bool {
    cond["lastTransitionTime"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z') && t.len() == 20)
}

#[tokio::test]
async fn an_empty_namespace_is_finalized_in_one_pass() {
    let fake = Arc::new(Fake::default());
    fake.create(&NAMESPACES, namespace("empty"));
    fake.delete_as_user(&NAMESPACES, None, "empty", "Background")
        .await;
    let out = namespace_pass(&fake).await;
    assert_eq!(
        out,
        Outcome {
            changes: 2,
            errors: 0
        }
    );
    assert!(!fake.exists(&NAMESPACES, None, "empty"));
}

#[tokio::test]
async fn a_namespace_without_our_finalizer_is_left_alone() {
    let fake = Arc::new(Fake::default());
    let mut ns = namespace("theirs");
    ns["spec"]["finalizers"] = json!(["example.com/keep"]);
    fake.create(&NAMESPACES, ns);
    fake.create(pods(), object(pods(), Some("theirs"), "p", "uid-p", &[]));
    fake.delete_as_user(&NAMESPACES, None, "theirs", "Background")
        .await;
    assert_quiet(&fake).await;
    assert!(fake.exists(pods(), Some("theirs"), "p"));
}

#[tokio::test]
async fn a_steady_cluster_costs_one_list_per_resource_and_nothing_else() {
    let fake = Arc::new(Fake::default());
    chain(&fake, 5);
    fake.create(&NAMESPACES, namespace("default"));
    assert_quiet(&fake).await;
    let before = fake.lock().lists;
    pass(&fake).await;
    let lists = fake.lock().lists - before;
    // Every stored resource once for the collector, plus the namespaces once more.
    assert_eq!(lists, stored_resources().count() + 1);
}

#[tokio::test]
async fn run_acts_on_a_wake_up() {
    let fake = Arc::new(Fake::default());
    chain(&fake, 2);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(run(fake.clone(), rx));
    fake.delete_as_user(deployments(), NS, "web", "Background")
        .await;
    let _ = tx.try_send(());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while fake.exists(pods(), NS, "web-1-1") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", fake.log());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!fake.exists(replicasets(), NS, "web-1"));
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn run_keeps_a_slow_pace_without_wake_ups() {
    let fake = Arc::new(Fake::default());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    drop(tx);
    let task = tokio::spawn(run(fake.clone(), rx));
    tokio::time::sleep(super::RESYNC * 3 + Duration::from_secs(1)).await;
    let per_pass = stored_resources().count() + 1;
    let passes = fake.lock().lists / per_pass;
    // One at start, then one per resync period: no spinning on the closed channel.
    assert!(
        (3..=5).contains(&passes),
        "{passes} passes in three resync periods"
    );
    task.abort();
}
