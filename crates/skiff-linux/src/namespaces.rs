//! Namespace kinds, their clone flags and their `/proc` names.
//!
//! Discovery of every namespace on the host is in `nsdiscovery`, entering them
//! as nsenter does in `nsenter`; this module only knows how to name, open and
//! join one.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType;

/// The clone flag for one namespace type.
pub fn clone_flag(kind: LinuxNamespaceType) -> CloneFlags {
    match kind {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME shares its value with CSIGNAL's range, so nix has no constant.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}

/// The file name under `/proc/PID/ns/` for one namespace type.
pub fn proc_name(kind: LinuxNamespaceType) -> &'static str {
    match kind {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Every namespace type in the order a process must join them: user first (it
/// grants the capabilities for the rest), mount last (it changes the root).
pub const JOIN_ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

/// Open a namespace file for `setns(2)`.
pub fn open_ns(path: &Path) -> Result<OwnedFd, Errno> {
    open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
}

/// The nsfs ioctl that tells which type a namespace fd is (`CLONE_NEW*`).
pub fn ns_type_of(fd: &OwnedFd) -> Result<CloneFlags, Errno> {
    use std::os::fd::AsRawFd;
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: NS_GET_NSTYPE takes no argument and only inspects the fd.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
    Errno::result(rc).map(CloneFlags::from_bits_retain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespaces_report_their_type() {
        for kind in JOIN_ORDER {
            let path = format!("/proc/self/ns/{}", proc_name(kind));
            if !Path::new(&path).exists() {
                continue;
            }
            let fd = open_ns(Path::new(&path)).expect("open own namespace");
            assert_eq!(
                ns_type_of(&fd).expect("NS_GET_NSTYPE"),
                clone_flag(kind),
                "{path}"
            );
        }
    }
}
