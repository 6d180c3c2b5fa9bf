//! cgroup drivers for containers: placing a container's processes in a cgroup,
//! limiting its resources, freezing, signalling, measuring and removing it.
//!
//! Owns: discovery of how a host mounts cgroups ([`detect`], [`Layout`]: pure v1,
//! hybrid, or pure v2), the mapping from `linux.cgroupsPath` to a cgroup path
//! ([`container_cgroup_path`], including the systemd `slice:prefix:name` form),
//! validation and translation of `linux.resources` into control-file writes for
//! the v1 and v2 drivers, the v2 device filter (a hand-assembled BPF program,
//! `devices_bpf`), and statistics in the shape of `runc events --stats`.
//!
//! Does not own: talking to systemd over D-Bus (systemd-style paths are created
//! directly in cgroupfs), OCI bundles or container state (`skiff-runtime`).
//!
//! Invariants:
//! * `apply` validates the whole `LinuxResources` (including against the
//!   kernel's current state) before writing anything, so a bad spec leaves no
//!   partial configuration. A write the kernel still refuses returns an error
//!   naming the spec field; the caller then calls `destroy`.
//! * Every error message names the spec field or file at fault and says how to
//!   fix it.
//! * Files are written with one write(2) each and never created: a missing
//!   control file means a missing kernel feature and is reported as such.
//! * `destroy` removes only the container's own cgroup and its descendants,
//!   never parent slices, and is idempotent.

use std::fmt;
use std::path::{Component, Path};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

mod devices_bpf;
mod error;
mod fsutil;
mod layout;
mod path;
mod resources;
mod stats;
mod v1;
mod v2;

pub use error::CgroupError;
pub use layout::{detect, Layout};
pub use path::container_cgroup_path;
pub use resources::{blkio_weight_to_io_weight, shares_to_weight};
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, PidsStats,
    Stats, Throttling,
};

/// How long freeze and thaw wait for the kernel to settle before giving up.
pub(crate) const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the host mounts cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hierarchy {
    /// Only v1 hierarchies (possibly with a v1 `name=systemd` one).
    Legacy,
    /// v1 controllers plus cgroup2 (usually at `/sys/fs/cgroup/unified`).
    Hybrid,
    /// Only cgroup2.
    Unified,
}

/// Which driver manages a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    V1,
    V2,
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriverKind::V1 => "v1",
            DriverKind::V2 => "v2",
        })
    }
}

/// Operations the runtime performs on a container's cgroup.
pub trait CgroupManager: Send + Sync {
    fn driver(&self) -> DriverKind;

    /// Creates the cgroup (and missing parents) in every relevant hierarchy.
    /// v2: parents delegate every available controller to their children.
    /// v1: cpuset cgroups inherit cpus/mems so tasks can join.
    fn create(&self) -> Result<(), CgroupError>;

    /// Applies resource limits; also used by `update` with a partial set, in
    /// which case unset fields are left as they are. Following runc, `0`
    /// means "unset" for memory, CPU and pids values. A non-empty `devices`
    /// list replaces the device policy with "deny all, then the rules in
    /// order" on both drivers; an absent or empty list leaves it alone.
    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError>;

    /// Moves process `pid` (all its threads) into the cgroup.
    fn add_process(&self, pid: i32) -> Result<(), CgroupError>;

    /// Freezes every task and returns once the kernel reports them frozen.
    fn freeze(&self) -> Result<(), CgroupError>;

    fn thaw(&self) -> Result<(), CgroupError>;

    fn is_frozen(&self) -> Result<bool, CgroupError>;

    /// Every pid in the cgroup and its descendants, sorted.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;

    fn stats(&self) -> Result<Stats, CgroupError>;

    /// Sends `signal` to every task, race-free against forks where the kernel
    /// allows it (cgroup.kill for SIGKILL on v2, freeze-signal-thaw otherwise).
    fn kill_all(&self, signal: i32) -> Result<(), CgroupError>;

    /// Removes the cgroup and its descendants in every hierarchy, deepest
    /// first. Succeeds if they are already gone.
    fn destroy(&self) -> Result<(), CgroupError>;

    fn exists(&self) -> bool;
}

/// Builds the manager for the cgroup at `path` (as returned by
/// [`container_cgroup_path`]) using `driver`.
pub fn manager(
    layout: &Layout,
    path: &Path,
    driver: DriverKind,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let shown = path.display().to_string();
    let plain = path.is_absolute()
        && path
            .components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain || path.components().count() < 2 {
        return Err(CgroupError::InvalidPath {
            value: shown,
            reason: "must be an absolute path below the hierarchy root without . or .. \
                     (use container_cgroup_path to derive it)"
                .to_string(),
        });
    }
    match driver {
        DriverKind::V1 => {
            if layout.hierarchy() == Hierarchy::Unified || layout.v1_mounts().is_empty() {
                return Err(CgroupError::DriverUnavailable {
                    driver,
                    reason: "no cgroup v1 controller hierarchy is mounted (this is a cgroup v2 \
                             host); use the v2 driver"
                        .to_string(),
                });
            }
            Ok(Box::new(v1::V1Manager::new(layout, path)))
        }
        DriverKind::V2 => {
            let Some(mount) = layout.unified_mount() else {
                return Err(CgroupError::DriverUnavailable {
                    driver,
                    reason: "cgroup2 is not mounted; use the v1 driver or mount cgroup2 \
                             (mount -t cgroup2 none /sys/fs/cgroup/unified)"
                        .to_string(),
                });
            };
            let hybrid = layout.hierarchy() == Hierarchy::Hybrid;
            Ok(Box::new(v2::V2Manager::new(mount, path, hybrid)))
        }
    }
}

#[cfg(test)]
mod tests;
