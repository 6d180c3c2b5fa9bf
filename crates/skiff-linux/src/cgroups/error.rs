use std::io;
use std::path::PathBuf;

use super::DriverKind;

/// Everything that can go wrong while placing a container in cgroups.
///
/// Messages name the OCI spec field at fault (`linux.cgroupsPath`,
/// `linux.resources.memory.limit`, ...) and say how to fix it, because they
/// end up verbatim in front of the person who wrote the spec.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// `linux.cgroupsPath` (or the container id standing in for it) cannot be used.
    #[error("linux.cgroupsPath: {reason} (got {value:?})")]
    InvalidPath { value: String, reason: String },

    /// A resource value is out of range or malformed.
    #[error("{field}: value {value} is invalid ({expected})")]
    InvalidValue {
        field: String,
        value: String,
        expected: String,
    },

    /// The value is fine but this driver or kernel cannot honour it.
    #[error("{field}: {reason}")]
    Unsupported { field: String, reason: String },

    /// A v2 controller the spec needs is missing from the hierarchy or the cgroup.
    #[error(
        "{field}: controller {controller} is not available in cgroup v2 at {} (enabled: {enabled}){hint}",
        mount.display()
    )]
    ControllerUnavailableV2 {
        field: String,
        controller: String,
        mount: PathBuf,
        enabled: String,
        hint: String,
    },

    /// A v1 controller the spec needs has no mounted hierarchy.
    #[error(
        "{field}: controller {controller} is not mounted as a cgroup v1 hierarchy (mounted: {mounted}); \
         mount it under /sys/fs/cgroup or leave {field} unset"
    )]
    ControllerUnavailableV1 {
        field: String,
        controller: String,
        mounted: String,
    },

    /// Neither cgroup v1 nor cgroup2 is mounted.
    #[error(
        "no cgroup hierarchy is mounted (nothing of type cgroup or cgroup2 in {}); \
         mount cgroup2 at /sys/fs/cgroup or the v1 controllers under it",
        mountinfo.display()
    )]
    NotMounted { mountinfo: PathBuf },

    /// The requested driver does not match what the host mounts.
    #[error("the {driver} cgroup driver cannot be used on this host: {reason}")]
    DriverUnavailable { driver: DriverKind, reason: String },

    /// An operation needs the cgroup but it has not been created (or was destroyed).
    #[error("cgroup {} does not exist; create() must run before {action}", path.display())]
    NotCreated { path: PathBuf, action: &'static str },

    /// The kernel refused a value written to a control file.
    #[error("{field}: writing {value:?} to {} failed: {source}{hint}", path.display())]
    Write {
        field: String,
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
        hint: String,
    },

    /// Moving a process into the cgroup failed.
    #[error("adding pid {pid} to {}: {source}{hint}", path.display())]
    AddProcess {
        pid: i32,
        path: PathBuf,
        #[source]
        source: io::Error,
        hint: String,
    },

    /// Any other file-system operation on the hierarchy failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A control file holds something we do not understand.
    #[error("{}: unexpected content {content:?}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        content: String,
        reason: String,
    },

    /// The freezer did not reach the requested state in time.
    #[error(
        "{}: cgroup still {state} after {waited_ms} ms; a task may be stuck in \
         uninterruptible sleep (D state) or a parent cgroup overrides the state; retry later",
        path.display()
    )]
    FreezeTimeout {
        path: PathBuf,
        state: String,
        waited_ms: u64,
    },

    /// rmdir kept failing because tasks are still inside.
    #[error(
        "removing {}: cgroup still has tasks (pids: {pids:?}) after {waited_ms} ms; \
         kill them first (kill_all) and retry",
        path.display()
    )]
    Busy {
        path: PathBuf,
        pids: Vec<i32>,
        waited_ms: u64,
    },

    /// Building, loading or attaching the v2 device-filter BPF program failed.
    #[error("linux.resources.devices: {reason}")]
    DeviceFilter {
        reason: String,
        #[source]
        source: Option<io::Error>,
    },

    /// Sending a signal to a task of the cgroup failed.
    #[error("sending signal {signal} to pid {pid}: {source}")]
    Signal {
        pid: i32,
        signal: i32,
        #[source]
        source: io::Error,
    },
}

impl CgroupError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        CgroupError::InvalidValue {
            field: field.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CgroupError::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CgroupError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The OS error number behind this error, if there is one, so callers can
    /// branch on ENOENT/EBUSY without parsing messages.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            CgroupError::Write { source, .. }
            | CgroupError::AddProcess { source, .. }
            | CgroupError::Io { source, .. }
            | CgroupError::Signal { source, .. } => source.raw_os_error(),
            CgroupError::DeviceFilter {
                source: Some(source),
                ..
            } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// A hint appended to write failures: the raw errno rarely tells the user what
/// to change, but the combination of errno and file usually does.
pub(crate) fn write_hint(file: &str, err: &io::Error) -> String {
    let hint = match err.raw_os_error() {
        Some(libc::ENOENT) => {
            "the kernel does not provide this file: the controller is not enabled for this cgroup \
             or the kernel lacks the feature"
        }
        Some(libc::EBUSY) if file.starts_with("memory.") => {
            "the cgroup currently uses more memory than the new limit allows"
        }
        Some(libc::EBUSY) if file.contains("subtree_control") => {
            "the cgroup has processes of its own, so it cannot delegate controllers to children"
        }
        Some(libc::EBUSY) => "the kernel reports the resource busy",
        Some(libc::EINVAL) if file.starts_with("cpu.") => {
            "the kernel rejected the value; a child cannot exceed its parent's CPU quota or \
             real-time budget"
        }
        Some(libc::EINVAL) if file.starts_with("cpuset.") => {
            "the CPUs/memory nodes must exist and be a subset of the parent cgroup's"
        }
        Some(libc::EINVAL) => "the kernel rejected the value",
        Some(libc::ERANGE) => {
            "a number is outside what the kernel accepts, e.g. CPUs or memory nodes that do not exist"
        }
        Some(libc::ENODEV) => "no such block device (check major:minor)",
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "permission denied: skiff must run as root or own the delegated cgroup"
        }
        Some(libc::EOPNOTSUPP) => "the kernel does not support this setting",
        _ => return String::new(),
    };
    format!(" ({hint})")
}

pub(crate) fn add_process_hint(err: &io::Error) -> String {
    let hint = match err.raw_os_error() {
        Some(libc::ESRCH) => "the process does not exist (it may have exited)",
        Some(libc::ENOSPC) => {
            "cpuset.cpus or cpuset.mems of the cgroup is empty, or a pids limit was reached"
        }
        Some(libc::EBUSY) => {
            "the cgroup has child cgroups with controllers enabled; cgroup v2 only allows \
             processes in leaves"
        }
        Some(libc::EOPNOTSUPP) => "the cgroup is threaded or of an invalid type",
        Some(libc::ENOENT) => "the cgroup does not exist; call create() first",
        _ => return String::new(),
    };
    format!(" ({hint})")
}
