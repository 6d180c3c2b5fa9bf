//! Pinned network namespaces: a namespace kept alive by a bind mount on a
//! file (as `ip netns add` does), so it outlives the container's processes and
//! CNI DEL can still enter it to delete the veth.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use crate::NetError;

/// Identity of a namespace file's target (nsfs device and inode), used to make
/// sure DEL never enters a different namespace that reused a path such as
/// `/proc/PID/ns/net` after the container died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NsId {
    pub dev: u64,
    pub ino: u64,
}

/// The identity of the namespace behind `path`, if it exists.
pub fn ns_id(path: &Path) -> Option<NsId> {
    std::fs::metadata(path).ok().map(|m| NsId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// Creates a new network namespace pinned at `path` (the file is created; its
/// directory must exist). The caller passes `path` to the runtime as the
/// container's network namespace and to [`crate::attach`].
pub fn create_netns(path: &Path) -> Result<(), NetError> {
    let io = |what: &str, e: std::io::Error| {
        NetError::io(
            format!("creating network namespace at {}: {what}", path.display()),
            e,
        )
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io("creating the mount point", e))?;
    let target = path.to_path_buf();
    // unshare(CLONE_NEWNET) changes only the calling thread's namespace, so a
    // short-lived thread does it and never runs anything else.
    let res = std::thread::spawn(move || -> Result<(), nix::Error> {
        unshare(CloneFlags::CLONE_NEWNET)?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    })
    .join()
    .expect("netns thread does not panic");
    if let Err(e) = res {
        let _ = std::fs::remove_file(path);
        return Err(io("unshare and bind mount (are we root?)", e.into()));
    }
    Ok(())
}

/// Unpins and removes a namespace created by [`create_netns`]. Missing paths
/// are fine (idempotent). The namespace itself dies with its last process, and
/// with it the container end of every veth.
pub fn remove_netns(path: &Path) -> Result<(), NetError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => {
            return Err(NetError::io(
                format!("unmounting network namespace {}", path.display()),
                e.into(),
            ))
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetError::io(format!("removing {}", path.display()), e)),
    }
}

/// Runs `f` on a fresh thread that has joined the network namespace at `path`
/// (sockets it creates belong to that namespace and stay there). Used by
/// tests and health checks; the thread ends afterwards, so no thread of ours
/// is left in a foreign namespace.
pub fn in_netns<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetError> {
    let file = File::open(path)
        .map_err(|e| NetError::io(format!("opening network namespace {}", path.display()), e))?;
    let shown = path.display().to_string();
    std::thread::spawn(move || -> Result<T, NetError> {
        setns(&file, CloneFlags::CLONE_NEWNET)
            .map_err(|e| NetError::io(format!("joining network namespace {shown}"), e.into()))?;
        Ok(f())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
