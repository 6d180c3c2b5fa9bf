//! `exec`: start another process inside a running container's namespaces,
//! cgroup and security context.

use std::path::PathBuf;

use nix::sys::stat::stat;
use oci_spec::runtime::{LinuxNamespaceType, Process};
use skiff_linux::namespaces;
use skiff_linux::process::{self, Channel};
use skiff_linux::syscall::LinuxSyscalls;

use crate::error::{Result, RuntimeError, SysContext};
use crate::init::{self, ConsoleTarget, MSG_ERROR_PREFIX};
use crate::state::{self, StateRoot, Status};
use crate::wait;

pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: i32,
}

/// Run the process; returns its exit code (0 when detached).
pub fn exec(root: &StateRoot, opts: ExecOptions) -> Result<i32> {
    let record = root.load(&opts.id)?;
    record.require(
        root,
        "exec in",
        &[Status::Running, Status::Created],
        "running",
    )?;
    let terminal = opts.process.terminal() == Some(true);
    if terminal && opts.detach && opts.console_socket.is_none() {
        return Err(RuntimeError::Usage(
            "-t with -d needs --console-socket to hand over the pty".into(),
        ));
    }
    let console = ConsoleTarget::for_process(opts.console_socket.as_deref(), terminal)?;
    // Join every namespace the container has, except a user namespace that is
    // already ours (setns into one's own user namespace fails).
    let mut join = Vec::new();
    let own_user = stat("/proc/self/ns/user").map(|s| s.st_ino).ok();
    for ns in record
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
    {
        let path = PathBuf::from(format!(
            "/proc/{}/ns/{}",
            record.pid,
            namespaces::proc_name(ns.typ())
        ));
        if ns.typ() == LinuxNamespaceType::User && stat(&path).map(|s| s.st_ino).ok() == own_user {
            continue;
        }
        if ns.typ() == LinuxNamespaceType::Pid {
            // Applies to our children: the process we clone is born inside.
            let fd =
                namespaces::open_ns(&path).sys(|| format!("cannot open {}", path.display()))?;
            nix::sched::setns(&fd, namespaces::clone_flag(ns.typ()))
                .sys(|| format!("cannot join pid namespace {}", path.display()))?;
            continue;
        }
        join.push((ns.typ(), path));
    }
    let program_process = opts.process.clone();
    let signals = if opts.detach {
        None
    } else {
        Some(wait::block_signals()?)
    };
    let (parent_end, child_end) = Channel::pair().sys(|| "socketpair".to_string())?;
    // SAFETY: the runtime is single-threaded, see `container::create`.
    let child = match unsafe { process::clone_process(nix::sched::CloneFlags::empty()) }
        .sys(|| "cannot create the exec process".to_string())?
    {
        None => {
            drop(parent_end);
            let result = exec_child(
                &record.config,
                &program_process,
                &join,
                console,
                &child_end,
                opts.preserve_fds,
            );
            let message = match result {
                Err(e) => e.to_string(),
            };
            let mut bytes = MSG_ERROR_PREFIX.to_vec();
            bytes.extend_from_slice(message.as_bytes());
            let _ = child_end.send(&bytes);
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(127) }
        }
        Some(pid) => pid,
    };
    drop(child_end);
    let kill_child = || {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
    };
    if let Ok(cg) = record.cgroup() {
        if let Err(e) = cg.add_process(child.as_raw()) {
            kill_child();
            return Err(e.into());
        }
    }
    if let Err(e) = parent_end.send(b"go") {
        kill_child();
        return Err(RuntimeError::Sys {
            what: "cannot reach the exec process".into(),
            source: e,
        });
    }
    let mut master = None;
    loop {
        let (msg, mut fds) = parent_end
            .recv_with_fds()
            .sys(|| "waiting for the exec process".to_string())?;
        if msg.is_empty() {
            break; // close-on-exec closed the channel: the program is running.
        } else if msg == b"console" && !fds.is_empty() {
            master = Some(fds.remove(0));
        } else if let Some(message) = msg.strip_prefix(MSG_ERROR_PREFIX) {
            let _ = nix::sys::wait::waitpid(child, None);
            return Err(RuntimeError::Init(
                String::from_utf8_lossy(message).into_owned(),
            ));
        }
    }
    if let Some(pid_file) = &opts.pid_file {
        state::write_atomic(pid_file, child.as_raw().to_string().as_bytes())?;
    }
    match signals {
        None => Ok(0),
        Some(set) => wait::supervise(child, &set, master),
    }
}

fn exec_child(
    spec: &oci_spec::runtime::Spec,
    process: &Process,
    join: &[(LinuxNamespaceType, PathBuf)],
    console: Option<ConsoleTarget>,
    channel: &Channel,
    preserve_fds: i32,
) -> Result<std::convert::Infallible> {
    process::set_non_dumpable().sys(|| "prctl(PR_SET_DUMPABLE)".to_string())?;
    let go = channel
        .recv()
        .sys(|| "waiting for the runtime".to_string())?;
    if go.is_empty() {
        return Err(RuntimeError::Init("the runtime went away".into()));
    }
    init::join_namespaces(&LinuxSyscalls, join)?;
    if let Some(console) = &console {
        nix::unistd::setsid().sys(|| "setsid".to_string())?;
        init::setup_terminal(process, console, channel, false)?;
    }
    for (i, limit) in process.rlimits().iter().flatten().enumerate() {
        skiff_linux::rlimits::apply(limit).sys(|| format!("process.rlimits[{i}]: setrlimit"))?;
    }
    let program = {
        nix::unistd::chdir(process.cwd())
            .sys(|| format!("process.cwd: cannot enter {}", process.cwd().display()))?;
        init::find_program(process)?
    };
    init::exec_user_process(spec, process, &program, preserve_fds)
}
