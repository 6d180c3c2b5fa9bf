//! The container side of `create` and `exec`: code that runs in the freshly
//! cloned process, inside the new namespaces, until it `execve`s the user's
//! program.
//!
//! The process is a fork of the single-threaded runtime, so it may allocate,
//! but it must never return into the runtime's own control flow: every path
//! ends in `execve` or `_exit`.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};
use skiff_linux::process::Channel;
use skiff_linux::syscall::{LinuxSyscalls, Syscalls};
use skiff_linux::{capabilities, lsm, namespaces, rlimits, seccomp};

use crate::error::{Result, RuntimeError, SysContext};
use crate::rootfs::{self, RootfsPlan};

/// Messages from the container process to the runtime.
pub const MSG_READY: &[u8] = b"ready";
pub const MSG_RUN_HOOKS: &[u8] = b"hooks";
/// From the runtime: the process is in its cgroup.
pub const MSG_JOINED: &[u8] = b"joined";
pub const MSG_ERROR_PREFIX: &[u8] = b"error:";

/// Where the pty master goes when the process has a terminal.
pub enum ConsoleTarget {
    /// `--console-socket`: a connected unix socket of the caller.
    Socket(OwnedFd),
    /// The runtime proxies the terminal itself (foreground `run`/`exec` without a socket).
    Channel,
}

impl ConsoleTarget {
    /// Where a process's pty master goes: `--console-socket` if given, else to
    /// the runtime itself; `None` without a terminal.
    pub fn for_process(console_socket: Option<&Path>, terminal: bool) -> Result<Option<Self>> {
        Ok(match (console_socket, terminal) {
            (Some(path), true) => Some(ConsoleTarget::Socket(
                skiff_linux::process::connect_unix(path)
                    .sys(|| format!("--console-socket {}: cannot connect", path.display()))?,
            )),
            (None, true) => Some(ConsoleTarget::Channel),
            (_, false) => None,
        })
    }
}

/// Everything the container init needs; built by the runtime before cloning.
pub struct InitPlan<'a> {
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub cgroup_path: &'a Path,
    /// Namespaces to join by path (the pid one is joined by the runtime before cloning).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// Namespaces created by the clone itself.
    pub clone_flags: CloneFlags,
    /// Namespaces created after the runtime placed us in our cgroup.
    pub unshare_later: CloneFlags,
    /// Wait for our cgroup before building the rootfs, because a fresh cgroup2
    /// mount must already see our cgroup namespace. Otherwise the two overlap:
    /// moving a task between cgroups can wait a whole RCU grace period.
    pub cgroup_before_mounts: bool,
    /// The exec fifo, opened read-write by the runtime: a user-namespaced init
    /// could not open it itself.
    pub fifo: OwnedFd,
    pub console: Option<ConsoleTarget>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
    pub runtime_hooks: bool,
}

/// Entry point of the cloned init. Never returns.
pub fn run_init(plan: InitPlan, channel: Channel) -> ! {
    let result = init(&plan, &channel);
    fail(&channel, result)
}

fn fail(channel: &Channel, result: Result<Infallible>) -> ! {
    let message = match result {
        Err(e) => e.to_string(),
    };
    let mut bytes = MSG_ERROR_PREFIX.to_vec();
    bytes.extend_from_slice(message.as_bytes());
    if channel.send(&bytes).is_err() {
        eprintln!("skiff: {message}");
    }
    // SAFETY: _exit skips the runtime's atexit handlers and destructors, which
    // belong to the parent's copy of this address space.
    unsafe { libc::_exit(1) }
}

fn init(plan: &InitPlan, channel: &Channel) -> Result<Infallible> {
    let sys = LinuxSyscalls;
    // The runtime tells us to go once our id maps are written; "joined" follows
    // once we are in our cgroup.
    let state = channel
        .recv()
        .sys(|| "waiting for the runtime".to_string())?;
    if state.is_empty() {
        return Err(RuntimeError::Init("the runtime went away".into()));
    }
    // Only now: a non-dumpable process's /proc files belong to root, and an
    // unprivileged runtime could no longer write our uid_map.
    skiff_linux::process::set_non_dumpable().sys(|| "prctl(PR_SET_DUMPABLE)".to_string())?;
    if plan.clone_flags.contains(CloneFlags::CLONE_NEWUSER) {
        become_root_in_userns()?;
    }
    join_namespaces(&sys, &plan.join)?;
    nix::unistd::setsid().sys(|| "setsid".to_string())?;
    let joined = || -> Result<()> {
        let msg = channel
            .recv()
            .sys(|| "waiting for the cgroup".to_string())?;
        if msg != MSG_JOINED {
            return Err(RuntimeError::Init("the runtime went away".into()));
        }
        if !plan.unshare_later.is_empty() {
            sys.unshare(plan.unshare_later)
                .sys(|| "cannot create the cgroup namespace".to_string())?;
        }
        Ok(())
    };
    if plan.cgroup_before_mounts {
        joined()?;
    }

    let has_mnt = plan.clone_flags.contains(CloneFlags::CLONE_NEWNS)
        || plan
            .join
            .iter()
            .any(|(t, _)| *t == LinuxNamespaceType::Mount);
    let in_userns = plan.clone_flags.contains(CloneFlags::CLONE_NEWUSER)
        || plan
            .join
            .iter()
            .any(|(t, _)| *t == LinuxNamespaceType::User);
    if has_mnt {
        let rootfs_plan = RootfsPlan {
            spec: plan.spec,
            rootfs: plan.rootfs,
            bundle: plan.bundle,
            cgroup_path: plan.cgroup_path,
            in_userns,
            cgroupns: plan.unshare_later.contains(CloneFlags::CLONE_NEWCGROUP)
                || plan
                    .join
                    .iter()
                    .any(|(t, _)| *t == LinuxNamespaceType::Cgroup),
        };
        rootfs::prepare(&sys, &rootfs_plan)?;
        ensure_cwd(plan.rootfs, plan.process.cwd())?;
    }
    if !plan.cgroup_before_mounts {
        joined()?;
    }
    if plan.runtime_hooks {
        channel
            .send(MSG_RUN_HOOKS)
            .sys(|| "cannot ask for hooks".to_string())?;
        let reply = channel.recv().sys(|| "waiting for hooks".to_string())?;
        if reply.is_empty() {
            return Err(RuntimeError::Init(
                "the runtime went away during hooks".into(),
            ));
        }
    }
    if let Some(hooks) = plan
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().clone())
    {
        crate::hooks::run_all("createContainer", &hooks, &state)?;
    }
    if has_mnt {
        rootfs::enter(&sys, plan.rootfs, plan.no_pivot)?;
    } else {
        sys.chroot(plan.rootfs)
            .sys(|| format!("cannot chroot into {}", plan.rootfs.display()))?;
        sys.chdir(Path::new("/")).sys(|| "chdir /".to_string())?;
    }
    if let Some(console) = &plan.console {
        setup_terminal(plan.process, console, channel, true)?;
    }
    if plan.clone_flags.contains(CloneFlags::CLONE_NEWUTS) {
        if let Some(name) = plan.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
            sys.sethostname(name)
                .sys(|| format!("hostname: cannot set {name:?}"))?;
        }
        if let Some(name) = plan.spec.domainname().as_deref().filter(|h| !h.is_empty()) {
            sys.setdomainname(name)
                .sys(|| format!("domainname: cannot set {name:?}"))?;
        }
    }
    if let Some(linux) = plan.spec.linux() {
        for (key, value) in linux.sysctl().iter().flatten() {
            let file = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&file, value)
                .sys(|| format!("linux.sysctl.{key}: cannot write {}", file.display()))?;
        }
    }
    if has_mnt {
        rootfs::finish(&sys, plan.spec)?;
    }
    apply_process_limits(plan.process)?;
    let program = find_program(plan.process)?;
    // After `ready`, a failure could only be seen on the container's stderr.
    if let Some(caps) = plan.process.capabilities() {
        capabilities::check_within_bounding(caps).map_err(|e| RuntimeError::Init(e.to_string()))?;
    }

    channel
        .send(MSG_READY)
        .sys(|| "cannot report ready".to_string())?;
    // Block until `start` writes to the fifo.
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(&plan.fifo, &mut byte) {
            Ok(1) => break,
            Ok(_) => return Err(RuntimeError::Init("exec fifo closed".into())),
            Err(Errno::EINTR) => continue,
            Err(e) => {
                return Err(RuntimeError::Sys {
                    what: "reading the exec fifo".into(),
                    source: e,
                })
            }
        }
    }
    if let Some(hooks) = plan
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().clone())
    {
        crate::hooks::run_all("startContainer", &hooks, &state)?;
    }
    exec_user_process(plan.spec, plan.process, &program, plan.preserve_fds)
}

fn become_root_in_userns() -> Result<()> {
    // Only possible when 0 is mapped; otherwise keep the mapped identity.
    let _ = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
    let _ = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
    Ok(())
}

pub(crate) fn join_namespaces(
    sys: &dyn Syscalls,
    join: &[(LinuxNamespaceType, PathBuf)],
) -> Result<()> {
    let mut opened = Vec::new();
    // Open all first: after joining a mount namespace, host paths stop resolving.
    for (kind, path) in join {
        let fd = namespaces::open_ns(path)
            .sys(|| format!("cannot open {} namespace {}", kind, path.display()))?;
        opened.push((*kind, fd, path));
    }
    for kind in namespaces::JOIN_ORDER {
        for (k, fd, path) in &opened {
            if *k == kind {
                sys.setns(fd.as_raw_fd(), namespaces::clone_flag(kind))
                    .sys(|| format!("cannot join {} namespace {}", kind, path.display()))?;
            }
        }
    }
    Ok(())
}

fn ensure_cwd(rootfs: &Path, cwd: &Path) -> Result<()> {
    let root = nix::fcntl::open(
        rootfs,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys(|| format!("cannot open {}", rootfs.display()))?;
    skiff_linux::mounts::ensure_in_root(&root, cwd, skiff_linux::mounts::TargetKind::Directory)
        .map_err(|e| crate::error::invalid("process.cwd", e.to_string()))?;
    Ok(())
}

/// Create a pty inside the container, hand the master to the caller and make
/// the slave our controlling terminal and stdio.
pub(crate) fn setup_terminal(
    process: &Process,
    console: &ConsoleTarget,
    channel: &Channel,
    bind_console: bool,
) -> Result<()> {
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY)
        .sys(|| "cannot open /dev/ptmx in the container (is /dev/pts mounted?)".to_string())?;
    grantpt(&master).sys(|| "grantpt".to_string())?;
    unlockpt(&master).sys(|| "unlockpt".to_string())?;
    let slave_path = ptsname_r(&master).sys(|| "ptsname".to_string())?;
    if let Some(size) = process.console_size() {
        let ws = libc::winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct that lives for the call.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    let slave = nix::fcntl::open(
        Path::new(&slave_path),
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys(|| format!("cannot open {slave_path}"))?;
    if bind_console {
        let console_path = Path::new("/dev/console");
        if !console_path.exists() {
            let _ = std::fs::File::create(console_path);
        }
        nix::mount::mount(
            Some(Path::new(&slave_path)),
            console_path,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .sys(|| "cannot bind the pty to /dev/console".to_string())?;
    }
    let master_fd = master.as_raw_fd();
    match console {
        ConsoleTarget::Socket(sock) => {
            Channel::from_fd(sock.try_clone().sys(|| "dup console socket".to_string())?)
                .send_with_fds(b"/dev/ptmx", &[master_fd])
        }
        ConsoleTarget::Channel => channel.send_with_fds(b"console", &[master_fd]),
    }
    .sys(|| "cannot send the pty master to the console socket".to_string())?;
    drop(master);
    for target in 0..3 {
        // SAFETY: 0..2 are stdio slots we deliberately replace; dup2 closes the old ones.
        let rc = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        Errno::result(rc).sys(|| "dup2 pty".to_string())?;
    }
    // SAFETY: TIOCSCTTY with arg 0 only changes our session's controlling tty.
    let rc = unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) };
    Errno::result(rc).sys(|| "cannot make the pty the controlling terminal".to_string())?;
    Ok(())
}

fn apply_process_limits(process: &Process) -> Result<()> {
    for (i, limit) in process.rlimits().iter().flatten().enumerate() {
        rlimits::apply(limit).sys(|| format!("process.rlimits[{i}]: setrlimit"))?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .sys(|| "process.oomScoreAdj: cannot write".to_string())?;
    }
    Ok(())
}

/// Resolve `process.args[0]` the way execvp would, using the container's PATH.
pub(crate) fn find_program(process: &Process) -> Result<PathBuf> {
    let arg0 = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .ok_or_else(|| crate::error::invalid("process.args", "is empty"))?;
    let cwd = process.cwd();
    let executable = |p: &Path| {
        nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok()
            && std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
    };
    if arg0.contains('/') {
        let p = if Path::new(arg0).is_absolute() {
            PathBuf::from(arg0)
        } else {
            cwd.join(arg0)
        };
        return if executable(&p) {
            Ok(p)
        } else {
            Err(crate::error::invalid(
                "process.args[0]",
                format!("{arg0:?} is not an executable file in the container"),
            ))
        };
    }
    let path_var = process
        .env()
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(arg0);
        if executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(crate::error::invalid(
        "process.args[0]",
        format!("executable {arg0:?} not found in $PATH ({path_var}) inside the container"),
    ))
}

/// Switch identity and security context, then execve. Shared by init and exec.
pub(crate) fn exec_user_process(
    spec: &Spec,
    process: &Process,
    program: &Path,
    preserve_fds: i32,
) -> Result<Infallible> {
    let user = process.user();
    let no_new_privs = process.no_new_privileges() == Some(true);
    // Before any filter is loaded: seccomp profiles commonly omit close_range.
    skiff_linux::process::cloexec_from(3 + preserve_fds).sys(|| "close_range".to_string())?;
    if !no_new_privs {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
        // capability switch below may drop; load it while we still hold it.
        load_seccomp(spec)?;
    }
    nix::unistd::chdir(process.cwd())
        .sys(|| format!("process.cwd: cannot enter {}", process.cwd().display()))?;
    if let Some(caps) = process.capabilities() {
        if let Some(bounding) = caps.bounding() {
            capabilities::restrict_bounding(bounding).map_err(|e| {
                crate::error::invalid("process.capabilities.bounding", e.to_string())
            })?;
        }
    }
    let setgroups_allowed = std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true);
    if setgroups_allowed {
        let groups: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups)
            .sys(|| "process.user.additionalGids: setgroups".to_string())?;
    }
    nix::sys::prctl::set_keepcaps(true).sys(|| "prctl(PR_SET_KEEPCAPS)".to_string())?;
    let gid = Gid::from_raw(user.gid());
    nix::unistd::setresgid(gid, gid, gid)
        .sys(|| format!("process.user.gid: cannot switch to {gid}"))?;
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresuid(uid, uid, uid)
        .sys(|| format!("process.user.uid: cannot switch to {uid}"))?;
    nix::sys::prctl::set_keepcaps(false).sys(|| "prctl(PR_SET_KEEPCAPS)".to_string())?;
    if let Some(caps) = process.capabilities() {
        capabilities::apply(caps)
            .map_err(|e| crate::error::invalid("process.capabilities", e.to_string()))?;
    }
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    if no_new_privs {
        nix::sys::prctl::set_no_new_privs().sys(|| "process.noNewPrivileges".to_string())?;
    }
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        lsm::apply_apparmor(profile).map_err(|e| RuntimeError::Init(e.to_string()))?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|p| !p.is_empty()) {
        lsm::apply_selinux_exec_label(label).map_err(|e| RuntimeError::Init(e.to_string()))?;
    }
    let env = process_env(process);
    let argv: Vec<CString> = process
        .args()
        .iter()
        .flatten()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let program_c = CString::new(program.as_os_str().as_bytes())
        .map_err(|_| crate::error::invalid("process.args[0]", "contains a NUL byte"))?;
    reset_signals();
    if no_new_privs {
        // With no_new_privs the filter needs no privilege, so it comes last and
        // filters nothing of our own setup.
        load_seccomp(spec)?;
    }
    let err = nix::unistd::execve(&program_c, &argv, &env).unwrap_err();
    Err(RuntimeError::Sys {
        what: format!("cannot execute {}", program.display()),
        source: err,
    })
}

fn load_seccomp(spec: &Spec) -> Result<()> {
    if let Some(filter) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let compiled = seccomp::compile(filter)?;
        if let Some(notify) = compiled.load()? {
            if let Some(listener) = filter.listener_path() {
                let state = serde_json::json!({
                    "ociVersion": spec.version(),
                    "fds": ["seccompFd"],
                    "pid": std::process::id(),
                    "metadata": filter.listener_metadata().clone().unwrap_or_default(),
                    "state": {"ociVersion": spec.version(), "status": "creating"},
                });
                seccomp::send_notify_fd(
                    listener,
                    std::os::fd::AsFd::as_fd(&notify),
                    state.to_string().as_bytes(),
                )?;
            }
        }
    }
    Ok(())
}

/// The environment exactly as the spec gives it, plus HOME if the spec does not set it.
fn process_env(process: &Process) -> Vec<CString> {
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    env.into_iter()
        .filter_map(|e| CString::new(e).ok())
        .collect()
}

/// The user's home from the container's /etc/passwd, or "/".
fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() >= 6 && fields[2].parse::<u32>().ok() == Some(uid))
                    .then(|| fields[5].to_string())
            })
        })
        .unwrap_or_else(|| "/".to_string())
}

/// The user process starts with default signal handling and nothing blocked; the
/// Rust runtime ignores SIGPIPE, which must not leak into the container.
pub(crate) fn reset_signals() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: restoring the default disposition installs no handler code.
        unsafe {
            let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl);
        }
    }
}
