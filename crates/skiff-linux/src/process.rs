//! Process primitives the runtime builds on: cloning into new namespaces, a
//! message channel between the runtime and a container's init, passing file
//! descriptors, identity checks that survive PID reuse, and fd hygiene.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use nix::unistd::Pid;

/// Fork the calling process into the namespaces named by `flags`.
///
/// Like `fork(2)`, but new namespaces are created for the child atomically.
/// Returns `Ok(None)` in the child and `Ok(Some(pid))` in the parent.
///
/// # Safety
/// The caller must be single-threaded, as with `fork(2)`: in the child only
/// the calling thread survives, and locks held by other threads stay held.
pub unsafe fn clone_process(flags: CloneFlags) -> Result<Option<Pid>, Errno> {
    // SAFETY: a raw clone without CLONE_VM and with a NULL stack behaves like fork:
    // the child gets a copy-on-write copy of the address space and resumes here.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0usize,
        )
    };
    match Errno::result(rc)? {
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// A datagram channel between the runtime and a container process. Messages keep
/// their boundaries, and file descriptors can ride along.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// Two connected ends, both close-on-exec.
    pub fn pair() -> Result<(Channel, Channel), Errno> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn from_fd(fd: OwnedFd) -> Channel {
        Channel { fd }
    }

    pub fn send(&self, message: &[u8]) -> Result<(), Errno> {
        self.send_with_fds(message, &[])
    }

    pub fn send_with_fds(&self, message: &[u8], fds: &[RawFd]) -> Result<(), Errno> {
        let iov = [IoSlice::new(message)];
        let cmsg = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(Errno::EINTR) => continue,
                other => return other.map(drop),
            }
        }
    }

    /// Receive one message. An empty result means the other end closed.
    pub fn recv(&self) -> Result<Vec<u8>, Errno> {
        self.recv_with_fds().map(|(m, _)| m)
    }

    pub fn recv_with_fds(&self) -> Result<(Vec<u8>, Vec<OwnedFd>), Errno> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut space = nix::cmsg_space!([RawFd; 8]);
        loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(Errno::EINTR) => continue,
                other => other?,
            };
            let mut fds = Vec::new();
            for c in msg.cmsgs()? {
                if let ControlMessageOwned::ScmRights(list) = c {
                    for fd in list {
                        // SAFETY: SCM_RIGHTS just installed this fd in our table.
                        fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                    }
                }
            }
            let n = msg.bytes;
            buf.truncate(n);
            return Ok((buf, fds));
        }
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }
}

/// Send `fd` over the unix socket at `path` (used for the console socket and
/// seccomp listeners): connect, send `message` with the fd attached, close.
pub fn send_fd_to_socket(path: &Path, message: &[u8], fd: RawFd) -> Result<(), Errno> {
    let sock = connect_unix(path)?;
    Channel::from_fd(sock).send_with_fds(message, &[fd])
}

/// Connect a close-on-exec stream socket to the unix socket at `path`.
pub fn connect_unix(path: &Path) -> Result<OwnedFd, Errno> {
    use nix::sys::socket::{connect, socket, UnixAddr};
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let addr = UnixAddr::new(path)?;
    connect(sock.as_raw_fd(), &addr)?;
    Ok(sock)
}

/// The kernel's start time of `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`). Together with the PID it identifies a process even after
/// the PID number is reused.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The one-letter state of `pid` (R, S, D, Z, T, ...).
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.chars().next()
}

/// Is the process `pid` that started at `started` still alive (and not a zombie)?
pub fn is_alive(pid: i32, started: u64) -> bool {
    start_time(pid) == Some(started) && !matches!(proc_state(pid), Some('Z') | Some('X') | None)
}

/// Mark every fd from `first` upwards close-on-exec, so nothing of the runtime's
/// leaks into the container beyond stdio and the fds the caller chose to keep.
pub fn cloexec_from(first: RawFd) -> Result<(), Errno> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags in our own table.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop)
}

/// Make the calling process non-dumpable: other processes, including ones inside
/// the container, then cannot open `/proc/PID/exe` or `/proc/PID/fd/*` of it.
pub fn set_non_dumpable() -> Result<(), Errno> {
    nix::sys::prctl::set_dumpable(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_keeps_message_boundaries_and_passes_fds() {
        let (a, b) = Channel::pair().expect("pair");
        let file = tempfile::tempfile().expect("tempfile");
        a.send(b"one").expect("send");
        a.send_with_fds(b"two", &[file.as_raw_fd()])
            .expect("send fd");
        assert_eq!(b.recv().expect("recv"), b"one");
        let (msg, fds) = b.recv_with_fds().expect("recv fd");
        assert_eq!(msg, b"two");
        assert_eq!(fds.len(), 1);
        drop(a);
        assert!(b.recv().expect("eof").is_empty());
    }

    #[test]
    fn start_time_identifies_this_process() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert!(is_alive(me, t));
        assert!(!is_alive(me, t + 1));
    }
}
