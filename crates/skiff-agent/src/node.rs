//! The Node object and its heartbeat: registration with capacity,
//! allocatable, addresses and node info, the NodeReady condition, and a
//! Lease in `kube-node-lease` renewed every 10 s (the kubelet's
//! defaults: lease duration 40 s, renewed at a quarter of it).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::error::{is_conflict, is_not_found, ApiContext, Result};
use crate::AgentConfig;

const LEASE_SECONDS: i32 = 40;
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// The NodeReady condition's heartbeat is refreshed this often even when
/// nothing changed (the kubelet's nodeStatusReportFrequency is 5 m; the
/// Lease carries liveness in between).
const STATUS_EVERY: Duration = Duration::from_secs(60);

pub const KUBELET_VERSION: &str = "v1.32.0-skiff";

/// Create the Node (or take over the existing one of this name) and post
/// its status.
pub(crate) async fn register(client: &kube::Client, cfg: &AgentConfig, port: u16) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": cfg.node_name,
            "labels": {
                "kubernetes.io/hostname": cfg.node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
                "node-role.kubernetes.io/control-plane": "",
            },
        },
        "spec": {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr]},
    }))
    .map_err(|e| crate::AgentError::Other(format!("node object: {e}")))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(e) if is_conflict(&e) => {
            // A restarted agent keeps the Node (and its uid, which the
            // Lease's owner reference names); only the pod CIDR is ours to set.
            nodes
                .patch(
                    &cfg.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(
                        json!({"spec": {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr]}}),
                    ),
                )
                .await
                .api(|| format!("the update of node {}", cfg.node_name))?;
        }
        Err(e) => return Err(e).api(|| format!("the registration of node {}", cfg.node_name)),
    }
    post_status(client, cfg, port).await
}

/// The node's status: capacity, addresses, info and conditions.
pub(crate) async fn post_status(client: &kube::Client, cfg: &AgentConfig, port: u16) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let now = crate::status::now();
    let (cpus, memory) = machine_size();
    let capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", memory / 1024),
        "pods": cfg.max_pods.to_string(),
        "ephemeral-storage": format!("{}Ki", disk_size(&cfg.engine_data_dir) / 1024),
    });
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let uname = nix::sys::utsname::uname().ok();
    let kernel = uname
        .as_ref()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let status = json!({
        "capacity": capacity,
        "allocatable": capacity,
        "addresses": [
            {"type": "InternalIP", "address": cfg.node_ip.to_string()},
            {"type": "Hostname", "address": cfg.node_name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": read_trimmed("/etc/machine-id"),
            "systemUUID": read_trimmed("/sys/class/dmi/id/product_uuid"),
            "bootID": read_trimmed("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": kernel,
            "osImage": os_image(),
            "containerRuntimeVersion": concat!("skiff://", env!("CARGO_PKG_VERSION")),
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        },
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
    });
    nodes
        .patch_status(
            &cfg.node_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .api(|| format!("the status of node {}", cfg.node_name))?;
    Ok(())
}

/// Renew the Lease every 10 s and the node status every minute, for ever.
/// Failures are logged and retried: the API server may be restarting.
pub(crate) async fn heartbeat(client: kube::Client, cfg: std::sync::Arc<AgentConfig>, port: u16) {
    let mut last_status = tokio::time::Instant::now();
    loop {
        if let Err(e) = renew_lease(&client, &cfg).await {
            tracing::warn!("cannot renew the node lease: {e}");
        }
        if last_status.elapsed() >= STATUS_EVERY {
            match post_status(&client, &cfg, port).await {
                Ok(()) => last_status = tokio::time::Instant::now(),
                Err(e) => tracing::warn!("cannot post the node status: {e}"),
            }
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
}

async fn renew_lease(client: &kube::Client, cfg: &AgentConfig) -> Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = MicroTime(chrono_now());
    match leases
        .get_opt(&cfg.node_name)
        .await
        .api(|| "the node lease".into())?
    {
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            spec.renew_time = Some(now);
            spec.holder_identity = Some(cfg.node_name.clone());
            spec.lease_duration_seconds = Some(LEASE_SECONDS);
            leases
                .replace(&cfg.node_name, &PostParams::default(), &lease)
                .await
                .api(|| "the node lease renewal".into())?;
        }
        None => {
            let nodes: Api<Node> = Api::all(client.clone());
            let uid = match nodes.get(&cfg.node_name).await {
                Ok(n) => n.metadata.uid,
                Err(e) if is_not_found(&e) => None,
                Err(e) => return Err(e).api(|| format!("node {}", cfg.node_name)),
            };
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.node_name.clone()),
                    namespace: Some("kube-node-lease".into()),
                    owner_references: uid.map(|uid| {
                        vec![OwnerReference {
                            api_version: "v1".into(),
                            kind: "Node".into(),
                            name: cfg.node_name.clone(),
                            uid,
                            ..OwnerReference::default()
                        }]
                    }),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.node_name.clone()),
                    lease_duration_seconds: Some(LEASE_SECONDS),
                    renew_time: Some(now),
                    ..LeaseSpec::default()
                }),
            };
            leases
                .create(&PostParams::default(), &lease)
                .await
                .api(|| "the node lease".into())?;
        }
    }
    Ok(())
}

fn chrono_now() -> k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc> {
    k8s_openapi::chrono::Utc::now()
}

/// CPUs online and memory in bytes.
pub(crate) fn machine_size() -> (usize, u64) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    (cpus, memory)
}

fn disk_size(path: &std::path::Path) -> u64 {
    nix::sys::statvfs::statvfs(path)
        .map(|s| s.blocks() * s.fragment_size())
        .unwrap_or(0)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_image() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}
