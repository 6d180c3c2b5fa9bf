//! skiff-engine: containers from images and pod sandboxes, the layer
//! between the CLI and the node agent above and the OCI runtime below.
//!
//! Owns: the container records and logs under `<data>/containers/<id>/`
//! (`config.json`, `log` in the CRI format, `bundle/` with the rootfs mount
//! point and the runtime's `config.json`, `rw/` with the overlay's upper and
//! work dirs, `volumes/<n>` with the anonymous volumes of the image's
//! `VOLUME`s), the per-container monitor process that owns the container's
//! stdio, writes its log, records its exit (and whether the OOM killer hit
//! it) and applies `--restart` and `--rm` ([`monitor`]), and the docker-like
//! verbs: run, start, ps, logs, exec, stop, kill, rm, inspect.
//!
//! Also owns pod sandboxes ([`sandbox`]): records and `/etc` files under
//! `<data>/sandboxes/<id>/`, net/ipc/uts namespaces pinned (with no process
//! in them) and the pod's `/dev/shm` under `<run>/sandboxes/<id>/`, the
//! sandbox's CNI attachment to the node's pod bridge, and the pod cgroup
//! (`cgroup_parent`) its containers' cgroups live under; and the containers
//! of pods ([`pod`]), which join the sandbox's namespaces, never restart and
//! have no network of their own.
//!
//! Must not touch: the image store's internals (it uses `skiff-image`'s
//! public API to find images and mount snapshots), the runtime's state
//! directory (it calls `skiff-runtime`'s verbs with its own state root,
//! `/run/skiff/engine` by default), the CNI plugins and firewall rules (it
//! calls `skiff-net`'s attach/detach and keeps the returned attachment in the
//! container or sandbox record), the Kubernetes API and pod specs (the agent
//! turns those into [`SandboxConfig`] and [`PodContainerOptions`]), and the
//! control plane's store.

pub mod bench;
pub mod error;
mod in_use;
pub mod logs;
mod monitor;
mod net;
mod ops;
pub mod pod;
pub mod record;
pub mod run;
pub mod sandbox;
pub mod terminal;
mod volumes;

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use skiff_image::Store;
use skiff_runtime::state::StateRoot;

pub use error::{EngineError, Result};
pub use in_use::in_use_images;
pub use net::remove_bridge_network;
pub use ops::ExecOptions;
pub use pod::{PidNamespace, PodContainerOptions, PodMount, PodResources};
pub use record::{ContainerRecord, Network, NetworkState, RestartPolicy, State, Status};
pub use run::{RunOptions, Started};
pub use sandbox::{DnsSettings, HostAlias, SandboxConfig, SandboxRecord};
pub use skiff_net::{NetworkConfig, PortMapping};
pub use volumes::VolumeMount;

use error::IoContext;

/// Where the runtime state of the engine's containers lives by default.
pub const DEFAULT_RUN_DIR: &str = "/run/skiff/engine";

/// The engine over one data dir (images and containers) and one run dir
/// (the runtime's state root).
pub struct Engine {
    data_dir: PathBuf,
    run_dir: PathBuf,
    store: Store,
    /// The bridge network new containers join (`--network bridge`).
    net: NetworkConfig,
}

/// An exclusive `flock` on a file, released on drop.
pub(crate) struct FileLock {
    /// Held for the lock; closing it releases the lock.
    _file: fs::File,
}

impl FileLock {
    pub(crate) fn exclusive(path: &Path) -> Result<FileLock> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ctx(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(EngineError::Io {
                what: format!("cannot lock {}", path.display()),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(FileLock { _file: file })
    }
}

impl Engine {
    pub fn open(data_dir: impl Into<PathBuf>, run_dir: impl Into<PathBuf>) -> Result<Engine> {
        let data_dir = data_dir.into();
        let run_dir = run_dir.into();
        let store = Store::open(&data_dir)?;
        let containers = data_dir.join("containers");
        fs::create_dir_all(&containers)
            .ctx(|| format!("cannot create {}", containers.display()))?;
        fs::create_dir_all(&run_dir).ctx(|| format!("cannot create {}", run_dir.display()))?;
        let net = NetworkConfig::default_bridge(&data_dir);
        Ok(Engine {
            data_dir,
            run_dir,
            store,
            net,
        })
    }

    /// Use another bridge and subnet than `skiff0` and 10.89.0.0/16 for new
    /// containers (tests, or hosts where that subnet is taken). The network's
    /// CNI name is `skiff` for the default bridge and the bridge's name
    /// otherwise, since IPAM and firewall state are keyed on it.
    pub fn set_bridge(&mut self, bridge: Option<&str>, subnet: Option<&str>) -> Result<()> {
        let bridge = bridge.unwrap_or(skiff_net::DEFAULT_BRIDGE);
        let subnet = subnet.unwrap_or(skiff_net::DEFAULT_SUBNET);
        self.net = self.network_config(bridge, subnet)?;
        Ok(())
    }

    /// The bridge network new containers join.
    pub fn bridge_network(&self) -> &NetworkConfig {
        &self.net
    }

    /// The configuration of a bridge network with state under our data dir.
    pub(crate) fn network_config(&self, bridge: &str, subnet: &str) -> Result<NetworkConfig> {
        network_config(&self.data_dir, bridge, subnet)
    }

    /// Where a container's network namespace is pinned.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.run_dir.join("netns").join(id)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn runtime_root(&self) -> StateRoot {
        StateRoot::new(&self.run_dir)
    }

    pub(crate) fn containers_dir(&self) -> PathBuf {
        self.data_dir.join("containers")
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("log")
    }

    pub(crate) fn record_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("config.json")
    }

    pub(crate) fn rootfs(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("bundle/rootfs")
    }

    /// The marker `stop`, `rm` and `kill -s KILL` leave so the monitor does
    /// not restart the container.
    pub(crate) fn stop_marker(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("stopped-by-user")
    }

    pub(crate) fn name_lock(&self) -> Result<FileLock> {
        FileLock::exclusive(&self.containers_dir().join(".lock"))
    }

    pub fn load(&self, id: &str) -> Result<ContainerRecord> {
        ContainerRecord::load(&self.record_path(id))
    }

    /// Every container with a readable record, oldest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>> {
        let dir = self.containers_dir();
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).ctx(|| format!("cannot list {}", dir.display()))? {
            let e = e.ctx(|| format!("cannot list {}", dir.display()))?;
            let name = e.file_name();
            let Some(id) = name.to_str() else { continue };
            if id.starts_with('.') {
                continue;
            }
            // A directory without a record is a container being created (or
            // removed) right now.
            if let Ok(r) = self.load(id) {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// A container by name, full id or unique id prefix.
    pub fn find(&self, arg: &str) -> Result<ContainerRecord> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.name == arg || r.id == arg) {
            return Ok(r.clone());
        }
        let matches: Vec<_> = if arg.is_empty() || !arg.chars().all(|c| c.is_ascii_hexdigit()) {
            Vec::new()
        } else {
            all.into_iter().filter(|r| r.id.starts_with(arg)).collect()
        };
        match matches.len() {
            0 => Err(EngineError::NotFound(arg.to_string())),
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(EngineError::Ambiguous {
                arg: arg.to_string(),
                matches: matches
                    .iter()
                    .map(|r| r.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// The bridge network of `bridge` and `subnet` with state under `data_dir`.
/// Its CNI name is `skiff` for the default bridge and the bridge's name
/// otherwise, since IPAM and firewall state are keyed on it.
pub(crate) fn network_config(data_dir: &Path, bridge: &str, subnet: &str) -> Result<NetworkConfig> {
    let name = if bridge == skiff_net::DEFAULT_BRIDGE {
        skiff_net::DEFAULT_NETWORK
    } else {
        bridge
    };
    let cfg = NetworkConfig::bridge(name, bridge, subnet.parse()?, data_dir);
    cfg.validate()?;
    Ok(cfg)
}

/// Is something mounted exactly at `path`?
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    let Ok(table) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| unescape_mountinfo(p) == want)
}

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}
