//! The scheduler against the real API server: nodes and pods are created through the API,
//! and the placements, conditions and events are read back from it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use serde_json::json;

/// A running API server with the scheduler attached, and a client of it.
struct Cluster {
    client: Client,
    scheduler: tokio::task::JoinHandle<()>,
    // Kept for the server's lifetime; its thread ends with the test process.
    _data: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.scheduler.abort();
    }
}

async fn cluster() -> Cluster {
    let data = tempfile::tempdir().expect("temp dir");
    let config = skiff_apiserver::Config {
        data_dir: data.path().join("server"),
        etcd_endpoints: Vec::new(),
        bind_address: "127.0.0.1".parse().expect("loopback"),
        port: 0,
        kubeconfig_out: data.path().join("kubeconfig"),
        compaction_interval: Duration::ZERO,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // The server has a runtime of its own and runs until the process ends.
    std::thread::spawn(move || {
        let result = skiff_apiserver::run(config, |started| {
            let _ = tx.send(Ok(started.kubeconfig.clone()));
        });
        if let Err(e) = result {
            let _ = tx.send(Err(e.to_string()));
        }
    });
    let kubeconfig = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .expect("join")
        .expect("the API server started in time")
        .expect("the API server started");
    let kubeconfig = Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("client config");
    let client = Client::try_from(config).expect("client");
    let scheduler = tokio::spawn({
        let client = client.clone();
        async move {
            if let Err(e) = skiff_scheduler::run(client, skiff_scheduler::Options::default()).await
            {
                panic!("scheduler: {e}");
            }
        }
    });
    Cluster {
        client,
        scheduler,
        _data: data,
    }
}

/// A node with the given allocatable; its status (allocatable, Ready) is written through
/// nodes/status, as an agent would.
struct TestNode<'a> {
    name: &'a str,
    cpu: &'a str,
    memory: &'a str,
    labels: &'a [(&'a str, &'a str)],
    ready: bool,
    unschedulable: bool,
}

/// A ready, schedulable node without labels.
fn node<'a>(name: &'a str, cpu: &'a str, memory: &'a str) -> TestNode<'a> {
    TestNode {
        name,
        cpu,
        memory,
        labels: &[],
        ready: true,
        unschedulable: false,
    }
}

async fn add_node(client: &Client, n: TestNode<'_>) {
    let TestNode {
        name,
        cpu,
        memory,
        labels,
        ready,
        unschedulable,
    } = n;
    let nodes: Api<Node> = Api::all(client.clone());
    let labels: BTreeMap<_, _> = labels.iter().map(|(k, v)| (*k, *v)).collect();
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": unschedulable},
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
    let resources = json!({"cpu": cpu, "memory": memory, "pods": "110"});
    let status = json!({"status": {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [{
            "type": "Ready",
            "status": if ready { "True" } else { "False" },
            "reason": "KubeletReady",
            "message": "test node",
            "lastHeartbeatTime": "2026-01-01T00:00:00Z",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }],
    }});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("node status");
}

fn pod(name: &str, cpu: &str, memory: &str, node_selector: &[(&str, &str)]) -> Pod {
    let selector: BTreeMap<_, _> = node_selector.iter().map(|(k, v)| (*k, *v)).collect();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": selector,
            "containers": [{
                "name": "main",
                "image": "busybox",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }],
        },
    }))
    .expect("pod")
}

async fn create_pod(client: &Client, pod: &Pod) {
    Api::<Pod>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), pod)
        .await
        .expect("create pod");
}

/// Poll `check` until it gives a value or `limit` passes.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn node_of(client: &Client, name: &str) -> Option<String> {
    let pod = Api::<Pod>::namespaced(client.clone(), "default")
        .get(name)
        .await
        .expect("get pod");
    pod.spec.and_then(|s| s.node_name).filter(|n| !n.is_empty())
}

async fn wait_bound(client: &Client, name: &str) -> String {
    wait_for(
        &format!("pod {name} to be bound"),
        Duration::from_secs(20),
        || node_of(client, name),
    )
    .await
}

async fn events_for(client: &Client, pod: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(pod))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_pods_on_fitting_ready_nodes_and_honours_node_selectors() {
    let c = cluster().await;
    let client = &c.client;
    add_node(
        client,
        TestNode {
            labels: &[("disk", "ssd")],
            ..node("a", "4", "8Gi")
        },
    )
    .await;
    add_node(client, node("b", "1", "8Gi")).await;
    add_node(
        client,
        TestNode {
            labels: &[("disk", "hdd")],
            ..node("c", "8", "8Gi")
        },
    )
    .await;
    // Huge but unusable: not ready, and cordoned.
    add_node(
        client,
        TestNode {
            labels: &[("disk", "hdd")],
            ready: false,
            ..node("down", "64", "64Gi")
        },
    )
    .await;
    add_node(
        client,
        TestNode {
            labels: &[("disk", "hdd")],
            unschedulable: true,
            ..node("cordoned", "64", "64Gi")
        },
    )
    .await;

    // Only c has six free cores.
    create_pod(client, &pod("big", "6", "1Gi", &[])).await;
    assert_eq!(wait_bound(client, "big").await, "c");
    // c is the only usable hdd node, though a is far emptier.
    create_pod(client, &pod("hdd", "100m", "64Mi", &[("disk", "hdd")])).await;
    assert_eq!(wait_bound(client, "hdd").await, "c");
    // Without constraints the least requested node wins: a (b has a quarter of its cores).
    create_pod(client, &pod("plain", "250m", "64Mi", &[])).await;
    assert_eq!(wait_bound(client, "plain").await, "a");

    let pod = Api::<Pod>::namespaced(client.clone(), "default")
        .get("big")
        .await
        .expect("get");
    let scheduled = pod
        .status
        .and_then(|s| s.conditions)
        .and_then(|cs| cs.into_iter().find(|c| c.type_ == "PodScheduled"))
        .expect("PodScheduled condition");
    assert_eq!(scheduled.status, "True");
    let events = wait_for("the Scheduled event", Duration::from_secs(10), || async {
        let e = events_for(client, "big").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    let e = &events[0];
    assert_eq!(e.reason.as_deref(), Some("Scheduled"));
    assert_eq!(e.type_.as_deref(), Some("Normal"));
    assert_eq!(
        e.message.as_deref(),
        Some("Successfully assigned default/big to c")
    );
    assert_eq!(
        e.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("default-scheduler")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unschedulable_pod_is_reported_and_placed_once_a_node_has_room() {
    let c = cluster().await;
    let client = &c.client;
    add_node(client, node("small", "2", "1Gi")).await;
    create_pod(client, &pod("hungry", "500m", "2Gi", &[])).await;

    let message = "0/1 nodes are available: 1 Insufficient memory.";
    wait_for(
        "the Unschedulable condition",
        Duration::from_secs(20),
        || async {
            let pod = Api::<Pod>::namespaced(client.clone(), "default")
                .get("hungry")
                .await
                .expect("get");
            assert_eq!(pod.spec.as_ref().and_then(|s| s.node_name.clone()), None);
            let cond = pod
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "PodScheduled")?;
            (cond.status == "False"
                && cond.reason.as_deref() == Some("Unschedulable")
                && cond.message.as_deref() == Some(message))
            .then_some(())
        },
    )
    .await;
    let failed = wait_for(
        "the FailedScheduling event",
        Duration::from_secs(10),
        || async {
            events_for(client, "hungry")
                .await
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        },
    )
    .await;
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    assert_eq!(failed.message.as_deref(), Some(message));
    assert_eq!(failed.involved_object.kind.as_deref(), Some("Pod"));
    assert_eq!(failed.involved_object.namespace.as_deref(), Some("default"));
    assert_eq!(
        failed.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("default-scheduler")
    );

    // A selector nothing matches reads differently, and counts per reason.
    create_pod(client, &pod("picky", "100m", "64Mi", &[("zone", "mars")])).await;
    let picky = wait_for(
        "picky's FailedScheduling event",
        Duration::from_secs(20),
        || async {
            events_for(client, "picky")
                .await
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        },
    )
    .await;
    assert_eq!(
        picky.message.as_deref(),
        Some("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
    );

    // A node with room appears: the watch retries the pod well before the periodic pass.
    let start = Instant::now();
    add_node(client, node("roomy", "2", "4Gi")).await;
    assert_eq!(wait_bound(client, "hungry").await, "roomy");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(node_of(client, "picky").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pods_is_bound_without_overcommitting() {
    let c = cluster().await;
    let client = &c.client;
    // Exactly 20 and 30 one-core pods fit; memory and the pod count leave room.
    add_node(client, node("n20", "20", "64Gi")).await;
    add_node(client, node("n30", "30", "64Gi")).await;

    let start = Instant::now();
    let creates = (0..50).map(|i| {
        let p = pod(&format!("burst-{i}"), "1", "128Mi", &[]);
        async move { create_pod(client, &p).await }
    });
    futures::future::join_all(creates).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let placed = wait_for(
        "all 50 pods to be bound",
        Duration::from_secs(30),
        || async {
            let list = pods.list(&ListParams::default()).await.expect("list");
            let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
            for p in &list.items {
                if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
                    *per_node.entry(n).or_default() += 1;
                }
            }
            (per_node.values().sum::<usize>() == 50).then_some(per_node)
        },
    )
    .await;
    let elapsed = start.elapsed();
    assert_eq!(placed.get("n20"), Some(&20), "{placed:?}");
    assert_eq!(placed.get("n30"), Some(&30), "{placed:?}");
    eprintln!("50 pods created and bound in {elapsed:?}");

    // The cluster is full now.
    create_pod(client, &pod("one-more", "1", "128Mi", &[])).await;
    let failed = wait_for(
        "one-more's FailedScheduling event",
        Duration::from_secs(20),
        || async {
            events_for(client, "one-more")
                .await
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        },
    )
    .await;
    assert_eq!(
        failed.message.as_deref(),
        Some("0/2 nodes are available: 2 Insufficient cpu.")
    );
    // Finished pods free their share: one succeeds, and the waiting pod takes its place.
    pods.patch_status(
        "burst-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
    )
    .await
    .expect("finish a pod");
    let freed = node_of(client, "burst-0").await.expect("bound");
    assert_eq!(wait_bound(client, "one-more").await, freed);
}
