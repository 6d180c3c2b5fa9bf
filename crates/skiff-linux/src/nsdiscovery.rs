//! Discovery of every namespace on the host, including the ones no process is in.
//!
//! A namespace lives as long as something references it. Four kinds of
//! reference are visible from user space, and each is a source here:
//! 1. membership: `/proc/PID/ns/*` of every process, `/proc/PID/task/TID/ns/*`
//!    of every thread (a thread can `unshare` or `setns` on its own), and
//!    `time_for_children` (a time namespace unshared but not yet entered by a
//!    child; `pid_for_children` is not read: the kernel hides a pid namespace
//!    there until its init exists, and then the init is a member);
//! 2. nsfs bind mounts, from the mount table of one process per mount
//!    namespace, and from inside mount namespaces that no process is in;
//! 3. open file descriptors on nsfs files (`/proc/PID/fd/*`);
//! 4. relations: the owning user namespace (`NS_GET_USERNS`) of each namespace
//!    and the parent (`NS_GET_PARENT`) of each pid namespace, followed until
//!    nothing new turns up, so a user namespace that only owns others is found.
//!
//! The per-process pass is the hot path (thousands of processes): it reads the
//! links with `readlinkat` relative to one `O_PATH` handle on `/proc/PID` into
//! stack buffers, walks `task/` only when the process has more than one thread,
//! and spreads processes over a few threads. The other passes run once per
//! namespace or per mount namespace.
//!
//! What could not be read (permissions, races with exiting processes excluded)
//! is reported in [`Report::warnings`], never dropped silently.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, OsStr, OsString};
use std::fmt::{self, Write as _};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, openat, AtFlags, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::{fstat, fstatat, Mode};
use oci_spec::runtime::LinuxNamespaceType;
use serde::Serialize;

use crate::namespaces;

/// Failures that stop discovery as a whole. Everything smaller (one process,
/// one mount table) becomes a warning in the [`Report`] instead.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot list /proc: {0}; is procfs mounted at /proc?")]
    ListProc(Errno),
    #[error(
        "unknown namespace type `{0}`; expected one of mnt, net, pid, ipc, uts, user, cgroup, time"
    )]
    UnknownType(String),
    #[error("benchmark: {0}")]
    Bench(String),
}

/// One of the eight Linux namespace types, named as in `/proc/PID/ns/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NsType {
    Mnt,
    Net,
    Pid,
    Ipc,
    Uts,
    User,
    Cgroup,
    Time,
}

impl NsType {
    pub const ALL: [NsType; 8] = [
        NsType::Mnt,
        NsType::Net,
        NsType::Pid,
        NsType::Ipc,
        NsType::Uts,
        NsType::User,
        NsType::Cgroup,
        NsType::Time,
    ];

    pub fn oci(self) -> LinuxNamespaceType {
        match self {
            NsType::Mnt => LinuxNamespaceType::Mount,
            NsType::Net => LinuxNamespaceType::Network,
            NsType::Pid => LinuxNamespaceType::Pid,
            NsType::Ipc => LinuxNamespaceType::Ipc,
            NsType::Uts => LinuxNamespaceType::Uts,
            NsType::User => LinuxNamespaceType::User,
            NsType::Cgroup => LinuxNamespaceType::Cgroup,
            NsType::Time => LinuxNamespaceType::Time,
        }
    }

    pub fn from_oci(kind: LinuxNamespaceType) -> NsType {
        match kind {
            LinuxNamespaceType::Mount => NsType::Mnt,
            LinuxNamespaceType::Network => NsType::Net,
            LinuxNamespaceType::Pid => NsType::Pid,
            LinuxNamespaceType::Ipc => NsType::Ipc,
            LinuxNamespaceType::Uts => NsType::Uts,
            LinuxNamespaceType::User => NsType::User,
            LinuxNamespaceType::Cgroup => NsType::Cgroup,
            LinuxNamespaceType::Time => NsType::Time,
        }
    }

    /// The name under `/proc/PID/ns/` and in nsfs link text (`net:[...]`).
    pub fn name(self) -> &'static str {
        namespaces::proc_name(self.oci())
    }

    pub fn clone_flag(self) -> CloneFlags {
        namespaces::clone_flag(self.oci())
    }

    /// The type for a `CLONE_NEW*` value, as `NS_GET_NSTYPE` returns it.
    pub fn from_clone_flag(flag: CloneFlags) -> Option<NsType> {
        NsType::ALL.into_iter().find(|t| t.clone_flag() == flag)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// `ns/<name>` relative to `/proc/PID`, NUL-terminated for `readlinkat`.
    fn link(self) -> &'static CStr {
        match self {
            NsType::Mnt => c"ns/mnt",
            NsType::Net => c"ns/net",
            NsType::Pid => c"ns/pid",
            NsType::Ipc => c"ns/ipc",
            NsType::Uts => c"ns/uts",
            NsType::User => c"ns/user",
            NsType::Cgroup => c"ns/cgroup",
            NsType::Time => c"ns/time",
        }
    }

    fn from_name_bytes(name: &[u8]) -> Option<NsType> {
        NsType::ALL
            .into_iter()
            .find(|t| t.name().as_bytes() == name)
    }
}

impl fmt::Display for NsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NsType {
    type Err = DiscoveryError;

    /// Accepts the `/proc` names and the long names nsenter and the OCI spec use.
    fn from_str(s: &str) -> Result<NsType, DiscoveryError> {
        let t = match s {
            "mnt" | "mount" => NsType::Mnt,
            "net" | "network" => NsType::Net,
            "pid" => NsType::Pid,
            "ipc" => NsType::Ipc,
            "uts" => NsType::Uts,
            "user" => NsType::User,
            "cgroup" => NsType::Cgroup,
            "time" => NsType::Time,
            other => return Err(DiscoveryError::UnknownType(other.to_string())),
        };
        Ok(t)
    }
}

/// Parse nsfs link text such as `net:[4026531833]` (what `readlink` returns
/// for `/proc/PID/ns/net`, for an fd on an nsfs file, and what mountinfo shows
/// as the root of an nsfs bind mount).
pub fn parse_ns_link(text: &[u8]) -> Option<(NsType, u64)> {
    let colon = text.iter().position(|&b| b == b':')?;
    let kind = NsType::from_name_bytes(&text[..colon])?;
    let digits = text[colon + 1..].strip_prefix(b"[")?.strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut ino: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        ino = ino.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some((kind, ino))
}

// ---------------------------------------------------------------------------
// Data model
// ---------------------------------------------------------------------------

/// One thing that keeps a namespace alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Holder {
    /// Processes are in it; `pid` is the lowest (`nprocs` says how many).
    Process { pid: i32 },
    /// Only a non-leader thread of process `pid` is in it.
    Thread { pid: i32, tid: i32 },
    /// It is `time_for_children` of `pid` (or of a thread of `pid`): unshared,
    /// not yet entered by a child.
    Children { pid: i32 },
    /// An nsfs bind mount at `path`, as seen from mount namespace `mntns`.
    BindMount { path: String, mntns: u64 },
    /// Descriptor `fd` of process `pid` is open on it.
    Fd { pid: i32, fd: i32 },
    /// It is a user namespace that owns namespace `of` (found by `NS_GET_USERNS`).
    Owner { of: u64, of_type: NsType },
    /// It is the parent of pid or user namespace `of` (found by `NS_GET_PARENT`).
    Parent { of: u64, of_type: NsType },
}

impl Holder {
    /// Human text for the HELD-BY column. A bind mount seen in another mount
    /// namespace than the caller's names that namespace, since the path means
    /// nothing from here.
    pub fn describe(&self, own_mnt: Option<u64>) -> String {
        match self {
            Holder::Process { pid } => format!("pid {pid}"),
            Holder::Thread { pid, tid } => format!("tid {tid} of {pid}"),
            Holder::Children { pid } => format!("children of {pid}"),
            Holder::BindMount { path, mntns } => {
                if Some(*mntns) == own_mnt {
                    path.clone()
                } else {
                    format!("{path} in mnt:[{mntns}]")
                }
            }
            Holder::Fd { pid, fd } => format!("fd {fd} of {pid}"),
            Holder::Owner { of, of_type } => format!("owner of {of_type}:[{of}]"),
            Holder::Parent { of, of_type } => format!("parent of {of_type}:[{of}]"),
        }
    }
}

/// One namespace and everything known about it.
#[derive(Debug, Clone, Serialize)]
pub struct Namespace {
    /// The nsfs inode number: the namespace's identity on this host.
    pub ns: u64,
    #[serde(rename = "type")]
    pub kind: NsType,
    /// Processes with this namespace (as leader or through one of their threads).
    pub nprocs: usize,
    /// The lowest such PID.
    pub pid: Option<i32>,
    /// Owner of the lowest process; for a namespace without processes, the
    /// uid that created its owning user namespace.
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// The first holder, as text (see [`Holder::describe`]).
    pub held_by: String,
    /// Processes are summarised by the first entry; every bind mount and fd is
    /// listed; owner/parent relations are listed only when nothing else holds it.
    pub holders: Vec<Holder>,
    pub command: Option<String>,
    /// The owning user namespace (for a user namespace: its parent).
    pub owner: Option<u64>,
    /// The parent namespace (pid and user namespaces only).
    pub parent: Option<u64>,
    /// For a user namespace: the uid of the process that created it.
    pub owner_uid: Option<u32>,
    /// Ids of the skiff containers this namespace belongs to.
    pub containers: Vec<String>,
}

/// The result of [`discover`].
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Sorted by inode.
    pub namespaces: Vec<Namespace>,
    /// What could not be read, and so may be missing; empty when complete.
    pub warnings: Vec<String>,
    /// The caller's own mount namespace, to render bind-mount paths.
    #[serde(skip)]
    pub own_mnt: Option<u64>,
}

/// Inputs to [`discover`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Container init PIDs and their ids, to label container namespaces.
    pub containers: HashMap<i32, String>,
    /// Worker threads for the per-process pass; 0 picks one per CPU (at most 4).
    pub threads: usize,
}

// ---------------------------------------------------------------------------
// Small system-call helpers (the per-process pass avoids allocations)
// ---------------------------------------------------------------------------

/// Long enough for any nsfs link text (`cgroup:[18446744073709551615]` is 29
/// bytes); longer targets are truncated by the kernel and never parse.
const LINK_BUF: usize = 64;

fn readlink_at<'b>(
    dir: RawFd,
    name: &CStr,
    buf: &'b mut [u8; LINK_BUF],
) -> Result<&'b [u8], Errno> {
    // SAFETY: `name` is NUL-terminated, `buf` is writable for its full length
    // and the kernel writes at most `buf.len()` bytes into it.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(Errno::last());
    }
    Ok(&buf[..n as usize])
}

/// Call `f` with the name of every entry of the open procfs directory `dir`,
/// except `.` and `..`. Uses `getdents64` straight into a reused buffer.
fn for_each_entry(dir: RawFd, buf: &mut [u8], mut f: impl FnMut(&CStr)) -> Result<(), Errno> {
    // procfs fills the buffer until the next record does not fit, so a batch
    // that leaves room for a maximal record (name of 255 bytes) was the last
    // one: this saves the empty `getdents64` call per directory.
    const MAX_RECORD: usize = 19 + 256 + 8;
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes; the kernel fills at
        // most that many with whole `linux_dirent64` records.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(Errno::last());
        }
        if n == 0 {
            return Ok(());
        }
        let filled = &buf[..n as usize];
        let mut off = 0;
        // Record layout: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
        while off + 19 < filled.len() {
            let reclen = u16::from_ne_bytes([filled[off + 16], filled[off + 17]]) as usize;
            if reclen == 0 || off + reclen > filled.len() {
                break;
            }
            if let Ok(name) = CStr::from_bytes_until_nul(&filled[off + 19..off + reclen]) {
                let b = name.to_bytes();
                if b != b"." && b != b".." {
                    f(name);
                }
            }
            off += reclen;
        }
        if filled.len() + MAX_RECORD <= buf.len() {
            return Ok(());
        }
    }
}

fn parse_decimal(b: &[u8]) -> Option<i32> {
    if b.is_empty() || b.len() > 10 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    i32::try_from(v).ok()
}

/// A NUL-terminated decimal rendering of `n` in a stack buffer, optionally
/// followed by `suffix` (e.g. `1234/ns/net`), for `*at` calls.
fn decimal_path<'b>(n: i32, suffix: &[u8], buf: &'b mut [u8; 48]) -> &'b CStr {
    let mut digits = [0u8; 12];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let d = &digits[i..];
    let len = (d.len() + suffix.len()).min(buf.len() - 1);
    buf[..d.len()].copy_from_slice(d);
    let rest = len - d.len();
    buf[d.len()..len].copy_from_slice(&suffix[..rest]);
    buf[len] = 0;
    // The buffer has exactly one NUL, at `len`: digits and suffixes have none.
    CStr::from_bytes_until_nul(&buf[..=len]).unwrap_or(c"")
}

fn is_gone(e: Errno) -> bool {
    // The process exited (or became a zombie, whose ns links are gone) between
    // listing /proc and reading it: not an error, it just holds nothing now.
    matches!(e, Errno::ENOENT | Errno::ESRCH)
}

fn ns_ioctl(fd: BorrowedFd<'_>, request: libc::c_ulong) -> Result<OwnedFd, Errno> {
    // SAFETY: NS_GET_USERNS and NS_GET_PARENT take no argument and return a new
    // file descriptor (which we take ownership of) or -1.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request) };
    if rc < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `rc` is a fresh descriptor the kernel just opened for us.
    Ok(unsafe { OwnedFd::from_raw_fd(rc) })
}

const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

fn owner_uid_of(fd: BorrowedFd<'_>) -> Option<u32> {
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which
    // points at a live local.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            NS_GET_OWNER_UID,
            &mut uid as *mut libc::uid_t,
        )
    };
    (rc == 0).then_some(uid)
}

// ---------------------------------------------------------------------------
// Pass 1: processes and threads, and their open descriptors
// ---------------------------------------------------------------------------

/// What one pass saw of one namespace's members.
#[derive(Debug, Clone)]
struct Members {
    kind: NsType,
    nprocs: usize,
    /// Lowest PID whose leader thread is in it.
    leader: Option<i32>,
    /// Lowest (pid, tid) where only a non-leader thread is in it.
    thread: Option<(i32, i32)>,
    /// Lowest task that has it as `time_for_children`.
    children: Option<Task>,
}

impl Members {
    fn new(kind: NsType) -> Members {
        Members {
            kind,
            nprocs: 0,
            leader: None,
            thread: None,
            children: None,
        }
    }

    fn merge(&mut self, o: &Members) {
        self.nprocs += o.nprocs;
        self.leader = min_opt(self.leader, o.leader);
        self.thread = min_opt(self.thread, o.thread);
        self.children = min_opt(self.children, o.children);
    }

    fn lowest(&self) -> Option<i32> {
        min_opt(self.leader, self.thread.map(|t| t.0))
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Where a mount table can be read: a process, or one of its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Task {
    pid: i32,
    tid: Option<i32>,
}

impl Task {
    fn proc_path(&self, rest: &str) -> PathBuf {
        match self.tid {
            Some(tid) => PathBuf::from(format!("/proc/{}/task/{tid}/{rest}", self.pid)),
            None => PathBuf::from(format!("/proc/{}/{rest}", self.pid)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct FdHold {
    ino: u64,
    kind: NsType,
    pid: i32,
    fd: i32,
}

/// Mount tables to try per mount namespace (a few, in case one is unreadable).
const MOUNT_TABLE_CANDIDATES: usize = 3;

#[derive(Debug, Default)]
struct Scan {
    members: HashMap<u64, Members>,
    fds: Vec<FdHold>,
    mnt_tasks: HashMap<u64, Vec<Task>>,
    processes: usize,
    ns_denied: Vec<(i32, Errno)>,
    fd_denied: Vec<(i32, Errno)>,
}

impl Scan {
    fn member(&mut self, ino: u64, kind: NsType) -> &mut Members {
        self.members
            .entry(ino)
            .or_insert_with(|| Members::new(kind))
    }

    fn add_mnt_task(&mut self, ino: u64, task: Task) {
        let v = self.mnt_tasks.entry(ino).or_default();
        if v.len() < MOUNT_TABLE_CANDIDATES {
            v.push(task);
        }
    }

    fn merge(&mut self, o: Scan) {
        for (ino, m) in o.members {
            match self.members.get_mut(&ino) {
                Some(mine) => mine.merge(&m),
                None => {
                    self.members.insert(ino, m);
                }
            }
        }
        self.fds.extend(o.fds);
        for (ino, tasks) in o.mnt_tasks {
            let v = self.mnt_tasks.entry(ino).or_default();
            v.extend(tasks);
        }
        self.processes += o.processes;
        self.ns_denied.extend(o.ns_denied);
        self.fd_denied.extend(o.fd_denied);
    }
}

/// The per-thread state of pass 1.
struct Scanner {
    proc_fd: RawFd,
    dents: Vec<u8>,
    scan: Scan,
}

impl Scanner {
    fn new(proc_fd: RawFd) -> Scanner {
        Scanner {
            proc_fd,
            dents: vec![0; 16 * 1024],
            scan: Scan::default(),
        }
    }

    fn process(&mut self, pid: i32) {
        let mut name = [0u8; 48];
        let pname = decimal_path(pid, b"", &mut name);
        // SAFETY: `proc_fd` is the /proc descriptor the caller keeps open for
        // the whole pass.
        let proc_dir = unsafe { BorrowedFd::borrow_raw(self.proc_fd) };
        let dir = match openat(
            proc_dir,
            pname,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(_) => return, // gone since /proc was listed
        };
        let d = dir.as_raw_fd();
        let mut buf = [0u8; LINK_BUF];
        let mut leader: [Option<u64>; 8] = [None; 8];
        let mut denied = None;
        for t in NsType::ALL {
            match readlink_at(d, t.link(), &mut buf) {
                Ok(text) => {
                    if let Some((k, ino)) = parse_ns_link(text) {
                        if k == t {
                            leader[t.index()] = Some(ino);
                        }
                    }
                }
                // ENOENT: a type this kernel lacks, or a zombie.
                Err(Errno::ENOENT) => {}
                Err(Errno::ESRCH) => return,
                Err(e) => {
                    denied = Some(e);
                    break;
                }
            }
        }
        match denied {
            Some(e) => self.scan.ns_denied.push((pid, e)),
            None => {
                self.scan.processes += 1;
                for t in NsType::ALL {
                    if let Some(ino) = leader[t.index()] {
                        let m = self.scan.member(ino, t);
                        m.nprocs += 1;
                        m.leader = min_opt(m.leader, Some(pid));
                        if t == NsType::Mnt {
                            self.scan.add_mnt_task(ino, Task { pid, tid: None });
                        }
                    }
                }
                if let Ok(Some((k, ino))) =
                    readlink_at(d, c"ns/time_for_children", &mut buf).map(parse_ns_link)
                {
                    if k == NsType::Time && leader[NsType::Time.index()] != Some(ino) {
                        let m = self.scan.member(ino, NsType::Time);
                        m.children = min_opt(m.children, Some(Task { pid, tid: None }));
                    }
                }
                // st_nlink of /proc/PID/task is 2 + the number of threads, so a
                // single-threaded process costs one fstatat here, not a readdir.
                if let Ok(st) = fstatat(&dir, c"task", AtFlags::AT_SYMLINK_NOFOLLOW) {
                    if st.st_nlink > 3 {
                        self.threads(&dir, pid, &leader);
                    }
                }
            }
        }
        self.fds(&dir, pid);
    }

    /// Namespaces that a non-leader thread has but its leader does not.
    fn threads(&mut self, dir: &OwnedFd, pid: i32, leader: &[Option<u64>; 8]) {
        let Ok(task) = openat(
            dir,
            c"task",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        let mut tids = Vec::new();
        let mut dents = std::mem::take(&mut self.dents);
        let _ = for_each_entry(task.as_raw_fd(), &mut dents, |name| {
            if let Some(tid) = parse_decimal(name.to_bytes()) {
                if tid != pid {
                    tids.push(tid);
                }
            }
        });
        self.dents = dents;
        // Each namespace counts this process once, however many threads have it.
        let mut counted: Vec<u64> = Vec::new();
        let mut buf = [0u8; LINK_BUF];
        for tid in tids {
            for t in NsType::ALL {
                let mut path = [0u8; 48];
                let mut suffix = [0u8; 16];
                let link = t.link().to_bytes();
                suffix[0] = b'/';
                suffix[1..=link.len()].copy_from_slice(link);
                let p = decimal_path(tid, &suffix[..=link.len()], &mut path);
                let Ok(Some((k, ino))) =
                    readlink_at(task.as_raw_fd(), p, &mut buf).map(parse_ns_link)
                else {
                    continue;
                };
                if k != t || leader[t.index()] == Some(ino) {
                    continue;
                }
                let m = self.scan.member(ino, t);
                m.thread = min_opt(m.thread, Some((pid, tid)));
                if !counted.contains(&ino) {
                    counted.push(ino);
                    m.nprocs += 1;
                }
                if t == NsType::Mnt {
                    self.scan.add_mnt_task(
                        ino,
                        Task {
                            pid,
                            tid: Some(tid),
                        },
                    );
                }
            }
            // A thread that unshared a time namespace holds it for the
            // children it has not forked yet.
            let mut path = [0u8; 48];
            let p = decimal_path(tid, b"/ns/time_for_children", &mut path);
            if let Ok(Some((k, ino))) =
                readlink_at(task.as_raw_fd(), p, &mut buf).map(parse_ns_link)
            {
                if k == NsType::Time
                    && leader[NsType::Time.index()] != Some(ino)
                    && !counted.contains(&ino)
                {
                    let m = self.scan.member(ino, NsType::Time);
                    m.children = min_opt(
                        m.children,
                        Some(Task {
                            pid,
                            tid: Some(tid),
                        }),
                    );
                }
            }
        }
    }

    /// Descriptors of `pid` open on nsfs files.
    fn fds(&mut self, dir: &OwnedFd, pid: i32) {
        let fd_dir = match openat(
            dir,
            c"fd",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if is_gone(e) => return,
            Err(e) => {
                self.scan.fd_denied.push((pid, e));
                return;
            }
        };
        let raw = fd_dir.as_raw_fd();
        let mut buf = [0u8; LINK_BUF];
        let mut found = Vec::new();
        let mut refused = None;
        let mut dents = std::mem::take(&mut self.dents);
        let listed = for_each_entry(raw, &mut dents, |name| {
            match readlink_at(raw, name, &mut buf).map(parse_ns_link) {
                Ok(Some((kind, ino))) => {
                    if let Some(fd) = parse_decimal(name.to_bytes()) {
                        found.push(FdHold { ino, kind, pid, fd });
                    }
                }
                Ok(None) => {}
                // Closed since the listing: holds nothing.
                Err(e) if is_gone(e) => {}
                // Listing an fd directory can be allowed while reading its
                // links is not (ptrace access is checked per link).
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        });
        self.dents = dents;
        match (listed, refused) {
            (Err(e), _) if !is_gone(e) => self.scan.fd_denied.push((pid, e)),
            (_, Some(e)) => {
                self.scan.fd_denied.push((pid, e));
                self.scan.fds.extend(found);
            }
            _ => self.scan.fds.extend(found),
        }
    }
}

fn list_pids(proc_fd: &OwnedFd) -> Result<Vec<i32>, Errno> {
    let dir = openat(
        proc_fd,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut pids = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 32 * 1024];
    for_each_entry(dir.as_raw_fd(), &mut buf, |name| {
        if let Some(pid) = parse_decimal(name.to_bytes()) {
            pids.push(pid);
        }
    })?;
    Ok(pids)
}

/// Pass 1 over every process, on `threads` threads pulling chunks of PIDs.
fn scan_processes(proc_fd: &OwnedFd, pids: &[i32], threads: usize) -> Scan {
    const CHUNK: usize = 32;
    let next = AtomicUsize::new(0);
    let work = |scanner: &mut Scanner| loop {
        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
        if start >= pids.len() {
            break;
        }
        for &pid in &pids[start..(start + CHUNK).min(pids.len())] {
            scanner.process(pid);
        }
    };
    let raw = proc_fd.as_raw_fd();
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut scanner = Scanner::new(raw);
                    work(&mut scanner);
                    scanner.scan
                })
            })
            .collect();
        let mut mine = Scanner::new(raw);
        work(&mut mine);
        let mut scan = mine.scan;
        for h in helpers {
            match h.join() {
                Ok(other) => scan.merge(other),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        scan
    })
}

// ---------------------------------------------------------------------------
// Pass 2: nsfs bind mounts in every mount namespace
// ---------------------------------------------------------------------------

/// One nsfs mount from a mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsfsMount {
    pub kind: NsType,
    pub ino: u64,
    /// The mount point, relative to the reading process's root.
    pub path: PathBuf,
}

/// Undo mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 3 < field.len() {
            let oct = &field[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = (oct[0] - b'0') as u32 * 64
                    + (oct[1] - b'0') as u32 * 8
                    + (oct[2] - b'0') as u32;
                if let Ok(b) = u8::try_from(v) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

/// The nsfs mounts in a `/proc/PID/mountinfo` text. The root field of an nsfs
/// mount is the namespace itself (`net:[4026532177]`), so no stat is needed.
pub fn parse_mountinfo_nsfs(text: &[u8]) -> Vec<NsfsMount> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        // Cheap filter first: almost every line is some other filesystem.
        let Some(sep) = find(line, b" - nsfs ") else {
            continue;
        };
        let mut fields = line[..sep].split(|&b| b == b' ');
        let (Some(_id), Some(_parent), Some(_dev), Some(root), Some(mountpoint)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        if let Some((kind, ino)) = parse_ns_link(root) {
            out.push(NsfsMount {
                kind,
                ino,
                path: PathBuf::from(OsString::from_vec(unescape_mountinfo(mountpoint))),
            });
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A bind mount, with how to open it again.
#[derive(Debug)]
struct BindHold {
    mntns: u64,
    path: PathBuf,
    /// The task whose mount table showed it: open `/proc/PID/root/<path>`.
    via: Option<Task>,
}

// ---------------------------------------------------------------------------
// The namespace table all passes fill in
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Entry {
    kind: NsType,
    members: Option<Members>,
    binds: Vec<BindHold>,
    fds: Vec<(i32, i32)>,
    owner_of: Vec<(u64, NsType)>,
    parent_of: Vec<(u64, NsType)>,
    owner: Option<u64>,
    parent: Option<u64>,
    owner_uid: Option<u32>,
    /// A descriptor already open on it (from an ioctl or from inside another
    /// mount namespace), used before any path.
    opened: Option<OwnedFd>,
    /// For mount namespaces: whether its mount table was read.
    table_read: bool,
}

impl Entry {
    fn new(kind: NsType) -> Entry {
        Entry {
            kind,
            members: None,
            binds: Vec::new(),
            fds: Vec::new(),
            owner_of: Vec::new(),
            parent_of: Vec::new(),
            owner: None,
            parent: None,
            owner_uid: None,
            opened: None,
            table_read: false,
        }
    }

    fn has_processes(&self) -> bool {
        self.members.as_ref().is_some_and(|m| m.nprocs > 0)
    }

    /// Paths that name this namespace, best first.
    fn paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let name = self.kind.name();
        if let Some(m) = &self.members {
            if let Some(pid) = m.leader {
                out.push(PathBuf::from(format!("/proc/{pid}/ns/{name}")));
            }
            if let Some((pid, tid)) = m.thread {
                out.push(PathBuf::from(format!("/proc/{pid}/task/{tid}/ns/{name}")));
            }
            if let Some(task) = m.children {
                out.push(task.proc_path(&format!("ns/{name}_for_children")));
            }
        }
        for (pid, fd) in &self.fds {
            out.push(PathBuf::from(format!("/proc/{pid}/fd/{fd}")));
        }
        for b in &self.binds {
            if let Some(task) = b.via {
                let mut p = task.proc_path("root").into_os_string();
                p.push(b.path.as_os_str());
                out.push(PathBuf::from(p));
            }
        }
        out
    }
}

/// Open namespace `ino` through any of its paths; checks the inode so a
/// reused PID or an over-mounted path is not mistaken for it.
fn open_entry(ino: u64, entry: &Entry) -> Result<OwnedFd, Errno> {
    let mut last = Errno::ENOENT;
    for path in entry.paths() {
        match namespaces::open_ns(&path) {
            Ok(fd) => match fstat(&fd) {
                Ok(st) if st.st_ino == ino => return Ok(fd),
                Ok(_) => last = Errno::ESTALE,
                Err(e) => last = e,
            },
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Warnings, grouped so one unreadable class of thing is one line.
#[derive(Debug, Default)]
struct Warnings(Vec<String>);

impl Warnings {
    fn processes(&mut self, what: &str, total: usize, denied: &[(i32, Errno)], consequence: &str) {
        if denied.is_empty() {
            return;
        }
        let mut denied = denied.to_vec();
        denied.sort_by_key(|(pid, _)| *pid);
        self.0.push(format!(
            "could not read {what} of {} of {total} processes ({}); {consequence}. {}",
            denied.len(),
            summarize(&denied, "pid"),
            privilege_hint()
        ));
    }
}

/// `pid 1, 2, 3 and 70 more: Permission denied; pid 9: ...`, grouped by error.
fn summarize<T: fmt::Display>(items: &[(T, Errno)], noun: &str) -> String {
    let mut by_errno: Vec<(Errno, Vec<&T>)> = Vec::new();
    for (item, e) in items {
        match by_errno.iter_mut().find(|(k, _)| k == e) {
            Some((_, v)) => v.push(item),
            None => by_errno.push((*e, vec![item])),
        }
    }
    let parts: Vec<String> = by_errno
        .iter()
        .map(|(e, v)| {
            let shown: Vec<String> = v.iter().take(5).map(|i| i.to_string()).collect();
            let more = if v.len() > 5 {
                format!(" and {} more", v.len() - 5)
            } else {
                String::new()
            };
            format!("{noun} {}{more}: {}", shown.join(", "), e.desc())
        })
        .collect();
    parts.join("; ")
}

fn privilege_hint() -> &'static str {
    if nix::unistd::geteuid().is_root() {
        "They are protected even from root here (a non-dumpable process with capabilities this one lacks, or a security module)"
    } else {
        "Run as root to see them"
    }
}

// ---------------------------------------------------------------------------
// discover()
// ---------------------------------------------------------------------------

/// Find every namespace on the host. See the module docs for the sources.
pub fn discover(opts: &Options) -> Result<Report, DiscoveryError> {
    let proc_fd = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(DiscoveryError::ListProc)?;
    let pids = list_pids(&proc_fd).map_err(DiscoveryError::ListProc)?;
    let threads = match opts.threads {
        0 if pids.len() < 256 => 1,
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(4),
        n => n,
    };
    let scan = scan_processes(&proc_fd, &pids, threads);

    let mut warnings = Warnings::default();
    let total = scan.processes + scan.ns_denied.len();
    warnings.processes(
        "the namespaces",
        total,
        &scan.ns_denied,
        "namespaces only they are in are missing and NPROCS may be low",
    );
    warnings.processes(
        "the open files",
        total,
        &scan.fd_denied,
        "namespaces held only by their descriptors are missing",
    );

    let mut table: HashMap<u64, Entry> = HashMap::with_capacity(scan.members.len() + 16);
    for (ino, m) in scan.members {
        let mut e = Entry::new(m.kind);
        e.members = Some(m);
        table.insert(ino, e);
    }
    for f in &scan.fds {
        table
            .entry(f.ino)
            .or_insert_with(|| Entry::new(f.kind))
            .fds
            .push((f.pid, f.fd));
    }

    // Pass 2: the mount table of one task per mount namespace with processes.
    let mut mnt_inos: Vec<u64> = scan.mnt_tasks.keys().copied().collect();
    mnt_inos.sort_unstable();
    let mut text = Vec::with_capacity(64 * 1024);
    for mntns in mnt_inos {
        let mut tasks = scan.mnt_tasks[&mntns].clone();
        tasks.sort();
        let mut errors = Vec::new();
        for task in tasks {
            text.clear();
            match std::fs::File::open(task.proc_path("mountinfo"))
                .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut text))
            {
                Ok(_) => {
                    for m in parse_mountinfo_nsfs(&text) {
                        table
                            .entry(m.ino)
                            .or_insert_with(|| Entry::new(m.kind))
                            .binds
                            .push(BindHold {
                                mntns,
                                path: m.path,
                                via: Some(task),
                            });
                    }
                    errors.clear();
                    if let Some(e) = table.get_mut(&mntns) {
                        e.table_read = true;
                    }
                    break;
                }
                Err(e)
                    if e.raw_os_error()
                        .is_some_and(|c| is_gone(Errno::from_raw(c))) => {}
                Err(e) => errors.push(format!("pid {}: {e}", task.pid)),
            }
        }
        if !errors.is_empty() {
            warnings.0.push(format!(
                "could not read the mount table of mnt:[{mntns}] ({}); nsfs bind mounts in it are missing. {}",
                errors.join("; "),
                privilege_hint()
            ));
        }
    }

    // Pass 2b: mount namespaces no process is in (held by a bind mount or an
    // fd) can hold bind mounts too; look inside each from a helper thread.
    look_inside_empty_mount_namespaces(&mut table, &mut warnings);

    // Pass 3: owners and parents, until no new namespace turns up.
    resolve_relations(&mut table, &mut warnings);

    let own = own_namespaces();
    let own_mnt = own.iter().find(|(t, _)| *t == NsType::Mnt).map(|(_, i)| *i);
    let namespaces = finish(table, opts, &own);
    Ok(Report {
        namespaces,
        warnings: warnings.0,
        own_mnt,
    })
}

fn look_inside_empty_mount_namespaces(table: &mut HashMap<u64, Entry>, warnings: &mut Warnings) {
    loop {
        let todo: Vec<u64> = table
            .iter()
            .filter(|(_, e)| e.kind == NsType::Mnt && !e.table_read && !e.has_processes())
            .map(|(ino, _)| *ino)
            .collect();
        if todo.is_empty() {
            return;
        }
        for mntns in todo {
            let Some(entry) = table.get_mut(&mntns) else {
                continue;
            };
            entry.table_read = true; // tried; do not loop on failures
            let fd = match entry.opened.take() {
                Some(fd) => Ok(fd),
                None => open_entry(mntns, entry),
            };
            let found = fd.and_then(|fd| {
                let r = read_mount_table_inside(fd.as_fd());
                entry.opened = Some(fd);
                r
            });
            match found {
                Ok(mounts) => {
                    for (m, opened) in mounts {
                        let e = table.entry(m.ino).or_insert_with(|| Entry::new(m.kind));
                        e.binds.push(BindHold {
                            mntns,
                            path: m.path,
                            via: None,
                        });
                        if e.opened.is_none() {
                            e.opened = opened;
                        }
                    }
                }
                Err(e) if is_gone(e) => {}
                Err(e) => warnings.0.push(format!(
                    "mnt:[{mntns}] has no process; could not look inside it for nsfs bind mounts ({}). {}",
                    e.desc(),
                    privilege_hint()
                )),
            }
        }
    }
}

/// Enter mount namespace `ns` on a throwaway thread and read its mount table.
/// The thread first unshares its filesystem context (`CLONE_FS`), which
/// `setns(CLONE_NEWNS)` requires and which keeps the rest of the process in
/// its own root. Each nsfs mount found is opened there too, since its path
/// only means something inside.
fn read_mount_table_inside(ns: BorrowedFd<'_>) -> Result<Vec<(NsfsMount, Option<OwnedFd>)>, Errno> {
    // Opened before the switch: /proc as seen from our own root.
    let proc_fd = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(CloneFlags::CLONE_FS)?;
            nix::sched::setns(ns, CloneFlags::CLONE_NEWNS)?;
            let info = openat(
                &proc_fd,
                c"thread-self/mountinfo",
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut std::fs::File::from(info), &mut text)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            Ok(parse_mountinfo_nsfs(&text)
                .into_iter()
                .map(|m| {
                    let fd = namespaces::open_ns(&m.path).ok();
                    (m, fd)
                })
                .collect())
        })
        .join()
        .unwrap_or(Err(Errno::EIO))
    })
}

fn resolve_relations(table: &mut HashMap<u64, Entry>, warnings: &mut Warnings) {
    let mut queue: Vec<u64> = table.keys().copied().collect();
    queue.sort_unstable();
    let mut unopenable: Vec<(u64, Errno)> = Vec::new();
    let mut unsupported = None;
    while let Some(ino) = queue.pop() {
        let Some(entry) = table.get_mut(&ino) else {
            continue;
        };
        let kind = entry.kind;
        let fd = match entry.opened.take() {
            Some(fd) => fd,
            None => match open_entry(ino, entry) {
                Ok(fd) => fd,
                Err(e) => {
                    if !is_gone(e) && e != Errno::ESTALE {
                        unopenable.push((ino, e));
                    }
                    continue;
                }
            },
        };
        if kind == NsType::User {
            entry.owner_uid = owner_uid_of(fd.as_fd());
        }
        let mut links = vec![(NS_GET_USERNS, true)];
        if kind == NsType::Pid {
            links.push((NS_GET_PARENT, false));
        }
        for (request, is_owner) in links {
            let related = match ns_ioctl(fd.as_fd(), request) {
                Ok(r) => r,
                // EPERM: outside the caller's user namespace (or the initial
                // one): there is nothing above that we may see.
                Err(Errno::EPERM) => continue,
                Err(e) => {
                    unsupported.get_or_insert(e);
                    continue;
                }
            };
            let Ok(st) = fstat(&related) else { continue };
            let rino = st.st_ino;
            let rkind = if is_owner { NsType::User } else { kind };
            if let Some(e) = table.get_mut(&ino) {
                if is_owner {
                    e.owner = Some(rino);
                    if kind == NsType::User {
                        e.parent = Some(rino);
                    }
                } else {
                    e.parent = Some(rino);
                }
            }
            let target = table.entry(rino).or_insert_with(|| {
                // New: only this relation knows it. Keep the descriptor the
                // ioctl gave, since there is no path to open it by.
                queue.push(rino);
                let mut e = Entry::new(rkind);
                e.opened = Some(related);
                e
            });
            if is_owner {
                target.owner_of.push((ino, kind));
            } else {
                target.parent_of.push((ino, kind));
            }
        }
    }
    if !unopenable.is_empty() {
        unopenable.sort_by_key(|(ino, _)| *ino);
        warnings.0.push(format!(
            "could not open {} namespaces to ask for their owner and parent ({}); owners of these may be missing. {}",
            unopenable.len(),
            summarize(&unopenable, "ns"),
            privilege_hint()
        ));
    }
    if let Some(e) = unsupported {
        warnings.0.push(format!(
            "the kernel refused NS_GET_USERNS/NS_GET_PARENT ({}); owners and parents are incomplete (Linux 4.9 or later is needed)",
            e.desc()
        ));
    }
}

/// The caller's own namespaces, by type.
fn own_namespaces() -> Vec<(NsType, u64)> {
    let mut out = Vec::new();
    let mut buf = [0u8; LINK_BUF];
    let Ok(dir) = open(
        "/proc/self",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return out;
    };
    for t in NsType::ALL {
        if let Ok(Some((k, ino))) =
            readlink_at(dir.as_raw_fd(), t.link(), &mut buf).map(parse_ns_link)
        {
            out.push((k, ino));
        }
    }
    out
}

fn namespaces_of(pid: i32) -> Vec<u64> {
    let mut out = Vec::new();
    let mut buf = [0u8; LINK_BUF];
    let Ok(dir) = open(
        format!("/proc/{pid}").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return out;
    };
    for t in NsType::ALL {
        if let Ok(Some((_, ino))) =
            readlink_at(dir.as_raw_fd(), t.link(), &mut buf).map(parse_ns_link)
        {
            out.push(ino);
        }
    }
    out
}

/// uid and command line of one process, read once per distinct lowest PID.
fn describe_process(pid: i32) -> (Option<u32>, Option<String>) {
    let uid = nix::sys::stat::stat(format!("/proc/{pid}").as_str())
        .ok()
        .map(|st| st.st_uid);
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|mut raw| {
            while raw.last() == Some(&0) {
                raw.pop();
            }
            for b in raw.iter_mut() {
                if *b == 0 {
                    *b = b' ';
                }
            }
            String::from_utf8_lossy(&raw).into_owned()
        })
        .filter(|c| !c.is_empty())
        .or_else(|| {
            // Kernel threads have an empty command line; use their name.
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()
                .map(|c| c.trim_end().to_string())
        });
    (uid, command)
}

/// uid -> name from /etc/passwd, read once and only when a uid needs a name.
#[derive(Default)]
struct Users(Option<HashMap<u32, String>>);

impl Users {
    fn name(&mut self, uid: u32) -> String {
        let map = self.0.get_or_insert_with(|| {
            let mut m = HashMap::new();
            if let Ok(text) = std::fs::read_to_string("/etc/passwd") {
                for line in text.lines() {
                    let mut f = line.split(':');
                    if let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) {
                        if let Ok(uid) = uid.parse::<u32>() {
                            m.entry(uid).or_insert_with(|| name.to_string());
                        }
                    }
                }
            }
            m
        });
        map.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

fn finish(table: HashMap<u64, Entry>, opts: &Options, own: &[(NsType, u64)]) -> Vec<Namespace> {
    // Container labels: the namespaces of each container init, except the
    // caller's own (those are the host's, shared by every container that does
    // not unshare that type).
    let own_inos: HashSet<u64> = own.iter().map(|(_, i)| *i).collect();
    let mut labels: HashMap<u64, Vec<String>> = HashMap::new();
    let mut containers: Vec<(&i32, &String)> = opts.containers.iter().collect();
    containers.sort();
    for (pid, id) in containers {
        for ino in namespaces_of(*pid) {
            if !own_inos.contains(&ino) {
                labels.entry(ino).or_default().push(id.clone());
            }
        }
    }

    let owner_uids: HashMap<u64, u32> = table
        .iter()
        .filter_map(|(ino, e)| e.owner_uid.map(|u| (*ino, u)))
        .collect();
    let own_mnt = own.iter().find(|(t, _)| *t == NsType::Mnt).map(|(_, i)| *i);
    let mut procs: HashMap<i32, (Option<u32>, Option<String>)> = HashMap::new();
    let mut users = Users::default();
    let mut out: Vec<Namespace> = Vec::with_capacity(table.len());
    for (ino, e) in table {
        let mut holders = Vec::new();
        let (mut nprocs, mut pid) = (0, None);
        if let Some(m) = &e.members {
            nprocs = m.nprocs;
            pid = m.lowest();
            match (m.leader, m.thread) {
                (Some(l), Some((p, t))) if p < l => holders.push(Holder::Thread { pid: p, tid: t }),
                (Some(l), _) => holders.push(Holder::Process { pid: l }),
                (None, Some((p, t))) => holders.push(Holder::Thread { pid: p, tid: t }),
                (None, None) => {}
            }
            if let Some(c) = m.children {
                if holders.is_empty() {
                    holders.push(Holder::Children { pid: c.pid });
                }
            }
        }
        let mut binds: Vec<Holder> = e
            .binds
            .iter()
            .map(|b| Holder::BindMount {
                path: b.path.to_string_lossy().into_owned(),
                mntns: b.mntns,
            })
            .collect();
        binds.sort_by_key(|b| bind_rank(b, own));
        binds.dedup();
        holders.extend(binds);
        let mut fds = e.fds.clone();
        fds.sort();
        holders.extend(fds.into_iter().map(|(pid, fd)| Holder::Fd { pid, fd }));
        if holders.is_empty() {
            let mut rel: Vec<Holder> = e
                .owner_of
                .iter()
                .map(|&(of, of_type)| Holder::Owner { of, of_type })
                .chain(
                    e.parent_of
                        .iter()
                        .map(|&(of, of_type)| Holder::Parent { of, of_type }),
                )
                .collect();
            rel.sort_by_key(|h| match h {
                Holder::Owner { of, .. } | Holder::Parent { of, .. } => *of,
                _ => 0,
            });
            holders.extend(rel);
        }
        let (uid, command) = match pid {
            Some(p) => procs
                .entry(p)
                .or_insert_with(|| describe_process(p))
                .clone(),
            None => {
                // No process: the creator of the owning user namespace.
                let uid = if e.kind == NsType::User {
                    e.owner_uid
                } else {
                    e.owner.and_then(|o| owner_uids.get(&o).copied())
                };
                (uid, None)
            }
        };
        out.push(Namespace {
            ns: ino,
            kind: e.kind,
            nprocs,
            pid,
            uid,
            user: uid.map(|u| users.name(u)),
            held_by: holders
                .first()
                .map(|h| h.describe(own_mnt))
                .unwrap_or_else(|| "-".to_string()),
            holders,
            command,
            owner: e.owner,
            parent: e.parent,
            owner_uid: e.owner_uid,
            containers: labels.remove(&ino).unwrap_or_default(),
        });
    }
    out.sort_by_key(|n| (n.ns, n.kind));
    out
}

/// Bind mounts in the caller's own mount namespace sort first: those paths
/// can be used as they are.
fn bind_rank(h: &Holder, own: &[(NsType, u64)]) -> (bool, u64, String) {
    match h {
        Holder::BindMount { path, mntns } => {
            (!own.contains(&(NsType::Mnt, *mntns)), *mntns, path.clone())
        }
        _ => (true, 0, String::new()),
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// How [`render_table`] and [`render_json`] shape their output.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Only these types (empty: all). In a tree, ancestors of a shown
    /// namespace are kept so it still has its place.
    pub types: Vec<NsType>,
    pub tree: bool,
}

/// A forest: ownership (user namespaces and what they own, user namespaces
/// nested) and nesting (pid namespaces in their parents).
struct Forest<'a> {
    by_ino: HashMap<u64, &'a Namespace>,
    children: HashMap<u64, Vec<u64>>,
    roots: Vec<u64>,
}

impl<'a> Forest<'a> {
    fn build(namespaces: &'a [Namespace], pid_tree: bool) -> Forest<'a> {
        let by_ino: HashMap<u64, &Namespace> = namespaces.iter().map(|n| (n.ns, n)).collect();
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut roots = Vec::new();
        for n in namespaces {
            let up = if pid_tree {
                if n.kind != NsType::Pid {
                    continue;
                }
                n.parent
            } else {
                n.owner
            };
            match up.filter(|u| by_ino.contains_key(u) && *u != n.ns) {
                Some(u) => children.entry(u).or_default().push(n.ns),
                None => roots.push(n.ns),
            }
        }
        for v in children.values_mut() {
            // Owned non-user namespaces first, then nested user namespaces, so
            // what a namespace owns reads before its sub-trees.
            v.sort_by_key(|i| (by_ino[i].kind == NsType::User, *i));
        }
        roots.sort_by_key(|i| (by_ino[i].kind != NsType::User, *i));
        Forest {
            by_ino,
            children,
            roots,
        }
    }

    /// Whether `ino` or anything below it passes the type filter.
    fn visible(&self, ino: u64, types: &[NsType], memo: &mut HashMap<u64, bool>) -> bool {
        if let Some(v) = memo.get(&ino) {
            return *v;
        }
        memo.insert(ino, false); // guards against cycles in broken input
        let mut v = types.is_empty() || types.contains(&self.by_ino[&ino].kind);
        for c in self.children.get(&ino).map(Vec::as_slice).unwrap_or(&[]) {
            v |= self.visible(*c, types, memo);
        }
        memo.insert(ino, v);
        v
    }

    /// Depth-first rows with their tree prefix.
    fn rows(&self, types: &[NsType]) -> Vec<(String, &'a Namespace)> {
        let mut memo = HashMap::new();
        let mut out = Vec::new();
        let roots: Vec<u64> = self
            .roots
            .iter()
            .copied()
            .filter(|r| self.visible(*r, types, &mut memo))
            .collect();
        for r in roots {
            self.walk(
                r,
                String::new(),
                String::new(),
                types,
                &mut memo,
                &mut out,
                0,
            );
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        ino: u64,
        prefix: String,
        child_prefix: String,
        types: &[NsType],
        memo: &mut HashMap<u64, bool>,
        out: &mut Vec<(String, &'a Namespace)>,
        depth: usize,
    ) {
        out.push((prefix, self.by_ino[&ino]));
        if depth > 64 {
            return; // nesting is limited to 32 levels by the kernel
        }
        let kids: Vec<u64> = self
            .children
            .get(&ino)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|c| self.visible(*c, types, memo))
                    .collect()
            })
            .unwrap_or_default();
        let last = kids.len().saturating_sub(1);
        for (i, c) in kids.into_iter().enumerate() {
            let (branch, cont) = if i == last {
                ("└─", "  ")
            } else {
                ("├─", "│ ")
            };
            self.walk(
                c,
                format!("{child_prefix}{branch}"),
                format!("{child_prefix}{cont}"),
                types,
                memo,
                out,
                depth + 1,
            );
        }
    }

    fn node(
        &self,
        ino: u64,
        types: &[NsType],
        memo: &mut HashMap<u64, bool>,
        depth: usize,
    ) -> TreeNode<'a> {
        let mut children = Vec::new();
        if depth <= 64 {
            for &c in self.children.get(&ino).map(Vec::as_slice).unwrap_or(&[]) {
                if self.visible(c, types, memo) {
                    children.push(self.node(c, types, memo, depth + 1));
                }
            }
        }
        TreeNode {
            namespace: self.by_ino[&ino],
            children,
        }
    }

    fn nodes(&self, types: &[NsType]) -> Vec<TreeNode<'a>> {
        let mut memo = HashMap::new();
        let mut out = Vec::new();
        for &r in &self.roots {
            if self.visible(r, types, &mut memo) {
                out.push(self.node(r, types, &mut memo, 0));
            }
        }
        out
    }
}

/// A namespace with the namespaces below it, for `--json --tree`.
#[derive(Serialize)]
struct TreeNode<'a> {
    #[serde(flatten)]
    namespace: &'a Namespace,
    children: Vec<TreeNode<'a>>,
}

const HEADERS: [&str; 8] = [
    "NS",
    "TYPE",
    "NPROCS",
    "PID",
    "USER",
    "HELD-BY",
    "CONTAINER",
    "COMMAND",
];

fn row_cells(prefix: &str, n: &Namespace) -> [String; 8] {
    [
        format!("{prefix}{}", n.ns),
        n.kind.to_string(),
        n.nprocs.to_string(),
        n.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
        n.user.clone().unwrap_or_else(|| "-".to_string()),
        n.held_by.clone(),
        if n.containers.is_empty() {
            "-".to_string()
        } else {
            n.containers.join(",")
        },
        n.command.clone().unwrap_or_default(),
    ]
}

fn write_table(out: &mut String, rows: &[(String, &Namespace)], with_container: bool) {
    let cols: Vec<usize> = (0..8).filter(|&c| c != 6 || with_container).collect();
    let cells: Vec<[String; 8]> = rows.iter().map(|(p, n)| row_cells(p, n)).collect();
    let mut width = [0usize; 8];
    for (c, h) in HEADERS.iter().enumerate() {
        width[c] = h.chars().count();
    }
    for r in &cells {
        for c in 0..8 {
            width[c] = width[c].max(r[c].chars().count());
        }
    }
    let numeric = |c: usize| matches!(c, 2 | 3);
    let mut line = |cells: [&str; 8]| {
        let mut s = String::new();
        for (i, &c) in cols.iter().enumerate() {
            let last = i + 1 == cols.len();
            let pad = width[c].saturating_sub(cells[c].chars().count());
            if numeric(c) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cells[c]);
            } else {
                s.push_str(cells[c]);
                if !last {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if !last {
                s.push(' ');
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(HEADERS);
    for r in &cells {
        line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]]);
    }
}

/// The `skiff ns ls` table (columns NS, TYPE, NPROCS, PID, USER, HELD-BY,
/// CONTAINER when any namespace has one, COMMAND). With `tree`, two sections:
/// ownership under user namespaces, then pid namespace nesting.
pub fn render_table(report: &Report, opts: &RenderOptions) -> String {
    let with_container = report.namespaces.iter().any(|n| !n.containers.is_empty());
    let mut out = String::new();
    if opts.tree {
        let owners = Forest::build(&report.namespaces, false);
        let _ = writeln!(out, "# ownership: each user namespace and what it owns");
        write_table(&mut out, &owners.rows(&opts.types), with_container);
        if opts.types.is_empty() || opts.types.contains(&NsType::Pid) {
            let pids = Forest::build(&report.namespaces, true);
            let _ = writeln!(out, "\n# nesting: pid namespaces inside their parents");
            write_table(&mut out, &pids.rows(&opts.types), with_container);
        }
    } else {
        let rows: Vec<(String, &Namespace)> = report
            .namespaces
            .iter()
            .filter(|n| opts.types.is_empty() || opts.types.contains(&n.kind))
            .map(|n| (String::new(), n))
            .collect();
        write_table(&mut out, &rows, with_container);
    }
    out
}

/// `{"namespaces": [...], "warnings": [...]}`; with `tree`,
/// `{"ownership": [...], "pid_nesting": [...], "warnings": [...]}` where each
/// node has a `children` array.
pub fn render_json(report: &Report, opts: &RenderOptions) -> String {
    // Serialized straight from the structs (not through `serde_json::Value`)
    // so fields keep their declared order and nothing is copied.
    #[derive(Serialize)]
    struct Flat<'a> {
        namespaces: Vec<&'a Namespace>,
        warnings: &'a [String],
    }
    #[derive(Serialize)]
    struct Trees<'a> {
        ownership: Vec<TreeNode<'a>>,
        pid_nesting: Vec<TreeNode<'a>>,
        warnings: &'a [String],
    }
    let text = if opts.tree {
        let owners = Forest::build(&report.namespaces, false);
        let pids = Forest::build(&report.namespaces, true);
        let pid_nesting = if opts.types.is_empty() || opts.types.contains(&NsType::Pid) {
            pids.nodes(&opts.types)
        } else {
            Vec::new()
        };
        serde_json::to_string_pretty(&Trees {
            ownership: owners.nodes(&opts.types),
            pid_nesting,
            warnings: &report.warnings,
        })
    } else {
        serde_json::to_string_pretty(&Flat {
            namespaces: report
                .namespaces
                .iter()
                .filter(|n| opts.types.is_empty() || opts.types.contains(&n.kind))
                .collect(),
            warnings: &report.warnings,
        })
    };
    // Serializing plain structs with string keys cannot fail.
    let mut s = text.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// Benchmark: `skiff bench ns`
// ---------------------------------------------------------------------------

/// Processes the benchmark started; all are killed and reaped on drop, also
/// when the benchmark fails half-way.
struct Crowd(Vec<Child>);

impl Drop for Crowd {
    fn drop(&mut self) {
        // The sleepers forked by `unshare --fork` first, so their parents reap
        // them instead of leaving them to init.
        for c in &self.0 {
            let pid = c.id();
            let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            for kid in kids
                .split_whitespace()
                .filter_map(|k| k.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(kid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .unwrap_or_else(|| OsString::from("/usr/sbin:/usr/bin:/sbin:/bin"))
        .as_bytes()
        .split(|&b| b == b':')
        .map(|d| Path::new(OsStr::from_bytes(d)).join(name))
        .find(|p| p.is_file())
}

fn time_command(program: &Path, args: &[&str]) -> Result<(Duration, Vec<u8>), DiscoveryError> {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| DiscoveryError::Bench(format!("cannot run {}: {e}", program.display())))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        return Err(DiscoveryError::Bench(format!(
            "{} {} exited with {}",
            program.display(),
            args.join(" "),
            out.status
        )));
    }
    Ok((elapsed, out.stdout))
}

fn count_json_namespaces(stdout: &[u8]) -> usize {
    serde_json::from_slice::<serde_json::Value>(stdout)
        .ok()
        .and_then(|v| v["namespaces"].as_array().map(Vec::len))
        .unwrap_or(0)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `skiff bench ns`: start `processes` extra processes (`sleep`; every tenth
/// in new net and uts namespaces, every fiftieth in a new pid namespace, when
/// run as root), then time `skiff ns ls --json` and `lsns --json` in
/// alternation for `rounds` rounds each and report both medians and the ratio.
/// Every process started is killed before returning.
pub fn bench(skiff: &Path, processes: usize, rounds: usize) -> Result<String, DiscoveryError> {
    let rounds = rounds.max(1);
    let lsns = find_program("lsns").ok_or_else(|| {
        DiscoveryError::Bench("lsns not found in PATH (install util-linux)".into())
    })?;
    let sleep = find_program("sleep")
        .ok_or_else(|| DiscoveryError::Bench("sleep not found in PATH".into()))?;
    let unshare = find_program("unshare").filter(|_| nix::unistd::geteuid().is_root());
    let mut crowd = Crowd(Vec::with_capacity(processes));
    let mut in_own = 0;
    for i in 0..processes {
        let mut cmd = match (&unshare, i % 50, i % 10) {
            (Some(u), 0, _) => {
                in_own += 1;
                // --kill-child: the sleeping child dies with its unshare parent.
                let mut c = Command::new(u);
                c.args(["--pid", "--fork", "--kill-child"]).arg(&sleep);
                c
            }
            (Some(u), _, 0) => {
                in_own += 1;
                let mut c = Command::new(u);
                c.args(["--net", "--uts"]).arg(&sleep);
                c
            }
            _ => Command::new(&sleep),
        };
        cmd.arg("3600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().map_err(|e| {
            DiscoveryError::Bench(format!("cannot start process {i} of {processes}: {e}"))
        })?;
        crowd.0.push(child);
    }
    // Let the forked children of `unshare --fork` come up.
    std::thread::sleep(Duration::from_millis(300));
    let total = list_pids(
        &open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| DiscoveryError::Bench(format!("cannot open /proc: {e}")))?,
    )
    .map(|p| p.len())
    .unwrap_or(0);

    // One untimed run each warms the page cache and reports the counts.
    let (_, ours_out) = time_command(skiff, &["ns", "ls", "--json"])?;
    let (_, theirs_out) = time_command(&lsns, &["--json"])?;
    let mut ours = Vec::with_capacity(rounds);
    let mut theirs = Vec::with_capacity(rounds);
    for i in 0..rounds {
        // Alternate who goes first so neither always runs on a warmer cache.
        if i % 2 == 0 {
            ours.push(time_command(skiff, &["ns", "ls", "--json"])?.0);
            theirs.push(time_command(&lsns, &["--json"])?.0);
        } else {
            theirs.push(time_command(&lsns, &["--json"])?.0);
            ours.push(time_command(skiff, &["ns", "ls", "--json"])?.0);
        }
    }
    let (o, t) = (median(&mut ours), median(&mut theirs));
    drop(crowd);
    Ok(format!(
        "namespace listing with {processes} extra processes ({in_own} in their own namespaces; {total} processes in all), {rounds} rounds each, alternating\n  \
         skiff ns ls --json median: {:.2} ms ({} namespaces)\n  \
         lsns --json median:        {:.2} ms ({} namespaces)\n  \
         ratio skiff/lsns: {:.3}\n",
        o.as_secs_f64() * 1e3,
        count_json_namespaces(&ours_out),
        t.as_secs_f64() * 1e3,
        count_json_namespaces(&theirs_out),
        o.as_secs_f64() / t.as_secs_f64(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_text() {
        assert_eq!(
            parse_ns_link(b"net:[4026531833]"),
            Some((NsType::Net, 4026531833))
        );
        assert_eq!(parse_ns_link(b"cgroup:[1]"), Some((NsType::Cgroup, 1)));
        assert_eq!(parse_ns_link(b"pipe:[123]"), None);
        assert_eq!(parse_ns_link(b"/proc/1/ns/net"), None);
        assert_eq!(parse_ns_link(b"net:[]"), None);
        assert_eq!(parse_ns_link(b"net:[12x]"), None);
        assert_eq!(parse_ns_link(b"net:[99999999999999999999999]"), None);
        assert_eq!(parse_ns_link(b"net:4026531833"), None);
    }

    #[test]
    fn type_names_round_trip() {
        for t in NsType::ALL {
            assert_eq!(t.name().parse::<NsType>().unwrap(), t);
            assert_eq!(NsType::from_clone_flag(t.clone_flag()), Some(t));
            assert_eq!(NsType::from_oci(t.oci()), t);
            assert_eq!(t.link().to_bytes(), format!("ns/{}", t.name()).as_bytes());
        }
        assert_eq!("network".parse::<NsType>().unwrap(), NsType::Net);
        let err = "bogus".parse::<NsType>().unwrap_err().to_string();
        assert!(err.contains("bogus") && err.contains("mnt, net"), "{err}");
    }

    #[test]
    fn decimal_paths() {
        let mut b = [0u8; 48];
        assert_eq!(decimal_path(0, b"", &mut b).to_bytes(), b"0");
        assert_eq!(
            decimal_path(4194304, b"/ns/net", &mut b).to_bytes(),
            b"4194304/ns/net"
        );
        assert_eq!(parse_decimal(b"4194304"), Some(4194304));
        assert_eq!(parse_decimal(b"self"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"99999999999"), None);
    }

    #[test]
    fn mountinfo_nsfs_lines() {
        let text = b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
42 51 0:4 net:[4026532177] /run/netns/probe rw shared:2 - nsfs nsfs rw\n\
43 22 0:4 user:[4026532300] /tmp/a\\040dir/u rw - nsfs nsfs rw\n\
44 22 0:4 / /mnt/nsfs-root rw - nsfs nsfs rw\n\
45 22 0:55 / /srv/x\\134y rw master:3 - tmpfs tmpfs rw\n";
        let m = parse_mountinfo_nsfs(text);
        assert_eq!(
            m,
            vec![
                NsfsMount {
                    kind: NsType::Net,
                    ino: 4026532177,
                    path: PathBuf::from("/run/netns/probe")
                },
                NsfsMount {
                    kind: NsType::User,
                    ino: 4026532300,
                    path: PathBuf::from("/tmp/a dir/u")
                },
            ]
        );
        assert_eq!(unescape_mountinfo(b"a\\134b\\01"), b"a\\b\\01".to_vec());
    }

    fn ns(ino: u64, kind: NsType, owner: Option<u64>, parent: Option<u64>) -> Namespace {
        Namespace {
            ns: ino,
            kind,
            nprocs: 1,
            pid: Some(ino as i32),
            uid: Some(0),
            user: Some("root".into()),
            held_by: format!("pid {ino}"),
            holders: vec![Holder::Process { pid: ino as i32 }],
            command: Some("cmd".into()),
            owner,
            parent,
            owner_uid: None,
            containers: Vec::new(),
        }
    }

    #[test]
    fn tree_nests_owners_and_pid_parents() {
        let report = Report {
            namespaces: vec![
                ns(1, NsType::User, None, None),
                ns(2, NsType::Pid, Some(1), None),
                ns(3, NsType::User, Some(1), Some(1)),
                ns(4, NsType::Net, Some(3), None),
                ns(5, NsType::Pid, Some(3), Some(2)),
                ns(6, NsType::Net, Some(1), None),
            ],
            warnings: Vec::new(),
            own_mnt: None,
        };
        let text = render_table(
            &report,
            &RenderOptions {
                types: Vec::new(),
                tree: true,
            },
        );
        // The first column: tree prefix and inode (the header and titles as they are).
        let firsts: Vec<&str> = text
            .lines()
            .map(|l| match l.find(|c: char| c.is_ascii_digit()) {
                Some(start) if !l.starts_with('#') => {
                    let len = l[start..]
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(l.len() - start);
                    &l[..start + len]
                }
                _ if l.starts_with("NS ") => "NS",
                _ => l,
            })
            .collect();
        assert_eq!(
            firsts,
            vec![
                "# ownership: each user namespace and what it owns",
                "NS",
                "1",
                "├─2",
                "├─6",
                "└─3",
                "  ├─4",
                "  └─5",
                "",
                "# nesting: pid namespaces inside their parents",
                "NS",
                "2",
                "└─5",
            ],
            "{text}"
        );
        // Filtering keeps the ancestors a match needs.
        let only_net = render_table(
            &report,
            &RenderOptions {
                types: vec![NsType::Net],
                tree: true,
            },
        );
        assert!(only_net.contains("  └─4"), "{only_net}");
        assert!(!only_net.contains("├─2"), "{only_net}");
        let json: serde_json::Value = serde_json::from_str(&render_json(
            &report,
            &RenderOptions {
                types: Vec::new(),
                tree: true,
            },
        ))
        .unwrap();
        assert_eq!(json["ownership"][0]["ns"], 1);
        assert_eq!(json["ownership"][0]["children"][2]["children"][1]["ns"], 5);
        assert_eq!(json["pid_nesting"][0]["children"][0]["ns"], 5);
    }

    #[test]
    fn flat_table_columns_and_filter() {
        let mut a = ns(10, NsType::Net, None, None);
        a.containers = vec!["web".into()];
        let b = ns(11, NsType::Uts, None, None);
        let report = Report {
            namespaces: vec![a, b],
            warnings: Vec::new(),
            own_mnt: None,
        };
        let text = render_table(&report, &RenderOptions::default());
        let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NS",
                "TYPE",
                "NPROCS",
                "PID",
                "USER",
                "HELD-BY",
                "CONTAINER",
                "COMMAND"
            ]
        );
        assert!(text.lines().nth(1).unwrap().contains("web"));
        let filtered = render_json(
            &report,
            &RenderOptions {
                types: vec![NsType::Uts],
                tree: false,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&filtered).unwrap();
        assert_eq!(v["namespaces"].as_array().unwrap().len(), 1);
        assert_eq!(v["namespaces"][0]["type"], "uts");
        assert_eq!(v["namespaces"][0]["holders"][0]["kind"], "process");
    }

    #[test]
    fn holder_text() {
        assert_eq!(Holder::Fd { pid: 7, fd: 3 }.describe(None), "fd 3 of 7");
        let b = Holder::BindMount {
            path: "/run/netns/a".into(),
            mntns: 5,
        };
        assert_eq!(b.describe(Some(5)), "/run/netns/a");
        assert_eq!(b.describe(Some(6)), "/run/netns/a in mnt:[5]");
        assert_eq!(
            Holder::Owner {
                of: 9,
                of_type: NsType::Net
            }
            .describe(None),
            "owner of net:[9]"
        );
    }

    /// Runs unprivileged: a process can always read its own namespaces.
    #[test]
    fn discovers_own_namespaces_and_fd_holders() {
        let held = namespaces::open_ns(Path::new("/proc/self/ns/uts")).unwrap();
        let held_ino = fstat(&held).unwrap().st_ino;
        for threads in [1, 2] {
            let report = discover(&Options {
                threads,
                ..Options::default()
            })
            .unwrap();
            let me = std::process::id() as i32;
            for (kind, ino) in own_namespaces() {
                let n = report
                    .namespaces
                    .iter()
                    .find(|n| n.ns == ino)
                    .unwrap_or_else(|| panic!("own {kind} namespace {ino} not found"));
                assert_eq!(n.kind, kind);
                assert!(n.nprocs >= 1);
                assert!(n.pid.is_some_and(|p| p <= me));
            }
            let n = report.namespaces.iter().find(|n| n.ns == held_ino).unwrap();
            assert!(
                n.holders.contains(&Holder::Fd {
                    pid: me,
                    fd: held.as_raw_fd()
                }),
                "{:?}",
                n.holders
            );
        }
    }

    #[test]
    fn labels_container_namespaces_but_not_the_hosts() {
        let me = std::process::id() as i32;
        let report = discover(&Options {
            containers: HashMap::from([(me, "self".to_string())]),
            threads: 1,
        })
        .unwrap();
        // Every namespace of this process is the caller's own: no labels.
        assert!(report.namespaces.iter().all(|n| n.containers.is_empty()));
    }
}
