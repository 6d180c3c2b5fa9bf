//! The narrow system-call interface that container setup goes through.
//!
//! The runtime's rootfs and namespace logic calls these methods instead of
//! `libc` directly, so its ordering and flag choices can be unit-tested with
//! [`RecordingSyscalls`] on a machine where nobody is root.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

pub type SysResult<T> = Result<T, Errno>;

/// Every privileged operation the container init performs while building the
/// container's view of the system.
pub trait Syscalls {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()>;
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()>;
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()>;
    fn chroot(&self, path: &Path) -> SysResult<()>;
    fn chdir(&self, path: &Path) -> SysResult<()>;
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult<()>;
    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()>;
    fn sethostname(&self, name: &str) -> SysResult<()>;
    fn setdomainname(&self, name: &str) -> SysResult<()>;
    fn setns(&self, fd: RawFd, kind: CloneFlags) -> SysResult<()>;
    fn unshare(&self, kind: CloneFlags) -> SysResult<()>;
}

/// The real kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinuxSyscalls;

impl Syscalls for LinuxSyscalls {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()> {
        nix::mount::umount2(target, flags)
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }

    fn chroot(&self, path: &Path) -> SysResult<()> {
        nix::unistd::chroot(path)
    }

    fn chdir(&self, path: &Path) -> SysResult<()> {
        nix::unistd::chdir(path)
    }

    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult<()> {
        nix::sys::stat::mknod(path, kind, perm, dev)
    }

    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()> {
        nix::unistd::symlinkat(target, nix::fcntl::AT_FDCWD, link)
    }

    fn sethostname(&self, name: &str) -> SysResult<()> {
        nix::unistd::sethostname(name)
    }

    fn setdomainname(&self, name: &str) -> SysResult<()> {
        let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `c` is a valid NUL-terminated buffer of the given length.
        let rc = unsafe { libc::setdomainname(c.as_ptr(), name.len()) };
        Errno::result(rc).map(drop)
    }

    fn setns(&self, fd: RawFd, kind: CloneFlags) -> SysResult<()> {
        // SAFETY: setns only reads the fd number; an invalid fd yields EBADF.
        let rc = unsafe { libc::setns(fd, kind.bits()) };
        Errno::result(rc).map(drop)
    }

    fn unshare(&self, kind: CloneFlags) -> SysResult<()> {
        nix::sched::unshare(kind)
    }
}

/// One recorded call, rendered as text so tests can compare sequences.
#[derive(Debug, Default)]
pub struct RecordingSyscalls {
    calls: Mutex<Vec<String>>,
}

impl RecordingSyscalls {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, call: String) -> SysResult<()> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
        Ok(())
    }
}

impl Syscalls for RecordingSyscalls {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()> {
        self.record(format!(
            "mount {} {} {} {:?} {}",
            source.map(|s| s.display().to_string()).unwrap_or_default(),
            target.display(),
            fstype.unwrap_or(""),
            flags,
            data.unwrap_or("")
        ))
    }
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()> {
        self.record(format!("umount2 {} {:?}", target.display(), flags))
    }
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()> {
        self.record(format!(
            "pivot_root {} {}",
            new_root.display(),
            put_old.display()
        ))
    }
    fn chroot(&self, path: &Path) -> SysResult<()> {
        self.record(format!("chroot {}", path.display()))
    }
    fn chdir(&self, path: &Path) -> SysResult<()> {
        self.record(format!("chdir {}", path.display()))
    }
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult<()> {
        self.record(format!(
            "mknod {} {:?} {:o} {dev}",
            path.display(),
            kind,
            perm.bits()
        ))
    }
    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()> {
        self.record(format!("symlink {} {}", target.display(), link.display()))
    }
    fn sethostname(&self, name: &str) -> SysResult<()> {
        self.record(format!("sethostname {name}"))
    }
    fn setdomainname(&self, name: &str) -> SysResult<()> {
        self.record(format!("setdomainname {name}"))
    }
    fn setns(&self, fd: RawFd, kind: CloneFlags) -> SysResult<()> {
        self.record(format!("setns {fd} {kind:?}"))
    }
    fn unshare(&self, kind: CloneFlags) -> SysResult<()> {
        self.record(format!("unshare {kind:?}"))
    }
}
