//! `skiff server` on a 3-member etcd cluster on loopback, and durability under `kill -9`.
//!
//! - Two servers on one cluster serve the same objects: what kubectl writes through one is
//!   read and watched through the other.
//! - Killing the etcd leader while a client writes in a loop fails no request: the store
//!   retries what it safely can and recognises an ambiguous create that was applied, so the
//!   server never hands a member failure to its clients. Everything acknowledged is readable
//!   afterwards, through the other server, and its watch saw it.
//! - `kill -9` of the server while clients write: after a restart on the same data (the
//!   embedded file, or the same etcd cluster) every acknowledged object is there, and every
//!   object there is whole.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_store::testing::EtcdCluster;

use common::server::{Client, Server, KUBECTL};

/// The payload of the configmap called `name`: derived from the name, so a reader can tell
/// a whole object from a damaged one without knowing who wrote it.
fn payload_for(name: &str) -> String {
    let mut p = String::with_capacity(1100);
    while p.len() < 1024 {
        p.push_str(name);
        p.push('/');
    }
    p
}

fn configmap(name: &str) -> Vec<u8> {
    let obj = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"payload": payload_for(name), "length": payload_for(name).len().to_string()},
    });
    serde_json::to_vec(&obj).expect("serialize")
}

/// Writer threads creating configmaps `<prefix>-<writer>-<n>` in a loop until told to stop,
/// or each until its first failed request.
struct WriteLoop {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Upper bound of writes per writer, so a loop ends by itself whatever happens.
const MAX_WRITES_PER_WRITER: usize = 20_000;
/// How long any wait for the loop's progress may take.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(25);

impl WriteLoop {
    fn start(client: &Client, prefix: &str, writers: usize) -> WriteLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..writers)
            .map(|w| {
                let (client, stop, acked, failures) = (
                    client.clone(),
                    stop.clone(),
                    acked.clone(),
                    failures.clone(),
                );
                let prefix = prefix.to_string();
                std::thread::spawn(move || {
                    for n in 0..MAX_WRITES_PER_WRITER {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let name = format!("{prefix}-{w}-{n}");
                        let result = client.request(
                            "POST",
                            "/api/v1/namespaces/default/configmaps",
                            &configmap(&name),
                        );
                        match result {
                            Ok((201, _)) => acked.lock().unwrap().push(name),
                            Ok((code, body)) => {
                                failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("create {name}: HTTP {code}: {body}"));
                                return;
                            }
                            Err(e) => {
                                failures.lock().unwrap().push(format!("create {name}: {e}"));
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        WriteLoop {
            stop,
            acked,
            failures,
            threads,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Wait until `n` writes in all were acknowledged; fails early if the writers failed.
    fn wait_for(&self, n: usize, what: &str) {
        let deadline = Instant::now() + PROGRESS_TIMEOUT;
        while self.acked() < n {
            let failures = self.failures.lock().unwrap().clone();
            assert!(
                failures.is_empty(),
                "{what}: requests failed after {} acknowledged writes: {failures:#?}",
                self.acked()
            );
            assert!(
                Instant::now() < deadline,
                "{what}: only {} of {n} writes acknowledged within {PROGRESS_TIMEOUT:?}",
                self.acked()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stop the writers; returns the acknowledged names and the failures.
    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().expect("writer thread panicked");
        }
        let acked = std::mem::take(&mut *self.acked.lock().unwrap());
        let failures = std::mem::take(&mut *self.failures.lock().unwrap());
        (acked, failures)
    }
}

impl Drop for WriteLoop {
    fn drop(&mut self) {
        // A failed assertion must not leave writers running against the next test's server.
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Every configmap named `<prefix>-…` in `default`, by name, as read through `client`.
fn stored(client: &Client, prefix: &str) -> BTreeMap<String, Value> {
    let list = client.expect("GET", "/api/v1/namespaces/default/configmaps", b"", 200);
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| {
            let name = item["metadata"]["name"].as_str()?;
            name.starts_with(&format!("{prefix}-"))
                .then(|| (name.to_string(), item.clone()))
        })
        .collect()
}

/// Every acknowledged write is stored, and every stored object is whole. Objects whose
/// create was in flight at a crash may or may not be there, but only whole.
fn assert_acked_present_and_whole(client: &Client, prefix: &str, acked: &[String]) {
    let stored = stored(client, prefix);
    let missing: Vec<&String> = acked.iter().filter(|n| !stored.contains_key(*n)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged objects are missing, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    for (name, obj) in &stored {
        let payload = payload_for(name);
        assert_eq!(
            obj["data"]["payload"].as_str(),
            Some(payload.as_str()),
            "{name} is damaged: {obj}"
        );
        assert_eq!(obj["data"]["length"], payload.len().to_string(), "{obj}");
        assert!(
            obj["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "{name} lost its uid: {obj}"
        );
    }
}

/// SIGKILL `server` while 4 clients create objects through it, restart it on the same data,
/// and check what survived, also through `other` when given (a second server on the same
/// etcd). Returns the acknowledged names.
fn kill9_while_writing(server: &mut Server, other: Option<&Server>, prefix: &str) -> Vec<String> {
    let writes = WriteLoop::start(&server.client(), prefix, 4);
    // Let a steady stream build up so requests are in flight when the kill lands.
    writes.wait_for(200, "before the kill");
    server.kill9();
    let (acked, _failures) = writes.finish();
    // The restart itself checks a clean start: the serving line within the time limit.
    server.restart();
    assert_acked_present_and_whole(&server.client(), prefix, &acked);
    if let Some(other) = other {
        assert_acked_present_and_whole(&other.client(), prefix, &acked);
    }
    // And the restarted server takes writes again.
    server.ok(&["create", "configmap", &format!("after-{prefix}")]);
    acked
}

#[test]
fn acknowledged_writes_survive_kill_9_of_the_server_on_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let first = kill9_while_writing(&mut server, None, "crash");
    assert!(first.len() >= 200, "{}", first.len());
    // Twice: recovery after a crash leaves a store that survives the next crash too.
    let second = kill9_while_writing(&mut server, None, "again");
    assert!(second.len() >= 200, "{}", second.len());
    assert_acked_present_and_whole(&server.client(), "crash", &first);
}

/// Wait until the watch delivered a `kind` event for every name in `wanted`.
fn collect_watch(
    rx: &std::sync::mpsc::Receiver<Value>,
    mut wanted: BTreeSet<String>,
    kind: &str,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    let total = wanted.len();
    while !wanted.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "the watch missed {} of {total} {kind} events, e.g. {:?}",
                wanted.len(),
                wanted.iter().take(5).collect::<Vec<_>>()
            )
        });
        if ev["type"] == kind {
            if let Some(name) = ev["object"]["metadata"]["name"].as_str() {
                wanted.remove(name);
            }
        }
    }
}

fn leader(cluster: &EtcdCluster) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(cluster.leader())
        .expect("the etcd cluster has a leader")
}

#[test]
fn two_servers_on_one_etcd_cluster_share_objects_and_survive_losing_the_leader() {
    let mut cluster = EtcdCluster::start(3).unwrap_or_else(|e| panic!("{e}"));
    let endpoints = cluster.endpoints();
    let mut reversed = endpoints.clone();
    reversed.reverse();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = Server::start_etcd(&dir.path().join("a"), &endpoints);
    let b = Server::start_etcd(&dir.path().join("b"), &reversed);

    // Both made sure `default` exists; neither overwrote the other's.
    let uid_a = a.json(&["get", "ns", "default", "-o", "json"])["metadata"]["uid"].clone();
    let uid_b = b.json(&["get", "ns", "default", "-o", "json"])["metadata"]["uid"].clone();
    assert_eq!(uid_a, uid_b);

    // Writes through one server are read through the other, both ways.
    a.ok(&["create", "configmap", "from-a", "--from-literal=k=v"]);
    let from_a = b.json(&["get", "cm", "from-a", "-o", "json"]);
    assert_eq!(from_a["data"]["k"], "v");
    b.ok(&["create", "namespace", "team-b"]);
    b.ok(&[
        "-n",
        "team-b",
        "create",
        "configmap",
        "inside",
        "--from-literal=x=1",
    ]);
    assert_eq!(
        a.ok(&["-n", "team-b", "get", "cm", "-o", "name"]).trim(),
        "configmap/inside"
    );
    assert!(a
        .ok(&["get", "ns", "-o", "name"])
        .contains("namespace/team-b"));

    // B watches what A writes. `from-a` is in the watch's initial list: once it arrives the
    // watch's start revision is fixed, and everything after comes from the watch itself.
    let (_watch, events) = b.watch(KUBECTL, &["cm"]);
    collect_watch(
        &events,
        BTreeSet::from(["from-a".to_string()]),
        "ADDED",
        Duration::from_secs(15),
    );
    a.ok(&["create", "configmap", "w1"]);
    a.ok(&[
        "patch",
        "cm",
        "w1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"1"}}"#,
    ]);
    a.ok(&["delete", "cm", "w1"]);
    common::server::expect_events(&events, "w1", &["ADDED", "MODIFIED", "DELETED"]);

    // Kill the etcd leader (the worst member to lose) while a client writes through A.
    let writes = WriteLoop::start(&a.client(), "load", 2);
    writes.wait_for(50, "before killing the leader");
    let killed = leader(&cluster);
    cluster.kill(killed);
    let at_kill = writes.acked();
    writes.wait_for(at_kill + 100, "after killing the etcd leader");
    let (acked, failures) = writes.finish();
    assert!(
        failures.is_empty(),
        "requests failed while etcd lost its leader (member {killed}): {failures:#?}"
    );
    // Everything acknowledged is readable through B, and B's watch delivered all of it.
    assert_acked_present_and_whole(&b.client(), "load", &acked);
    collect_watch(
        &events,
        acked.iter().cloned().collect(),
        "ADDED",
        Duration::from_secs(15),
    );
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "a name was acknowledged twice");

    // kill -9 of a server on etcd: after its restart (on the two members left) nothing
    // acknowledged is lost, as seen through it and through B.
    let acked = kill9_while_writing(&mut a, Some(&b), "crash");
    assert!(acked.len() >= 200, "{}", acked.len());
}

/// Bad `--etcd-endpoints` values are refused up front, naming the flag and the value.
#[test]
fn bad_etcd_endpoints_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (value, says) in [
        ("127.0.0.1:2379", "expected http://host:port"),
        ("http://127.0.0.1", "has no port"),
        ("http://127.0.0.1:99999", "is not a number"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args([
                "server",
                "--port",
                "0",
                "--etcd-endpoints",
                value,
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .arg("--kubeconfig-out")
            .arg(dir.path().join("kc"))
            .output()
            .expect("run skiff server");
        let err = common::failed(&out, &format!("skiff server --etcd-endpoints {value}"));
        assert!(
            err.contains("--etcd-endpoints") && err.contains(value) && err.contains(says),
            "{value}: {err}"
        );
    }
    // Nothing was started or written for a refused flag.
    assert!(!dir.path().join("data").exists());
}
