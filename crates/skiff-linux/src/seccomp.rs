//! Seccomp for container processes: validates the OCI `linux.seccomp` object
//! (runtime-spec 1.2), compiles it to a BPF program with libseccomp, loads that
//! program into the kernel and hands the user-notification fd to a seccomp agent.
//!
//! Compiling and loading are separate steps on purpose. [`compile`] allocates,
//! talks to libseccomp and reports every problem with the JSON path of the field
//! at fault, so the runtime can call it in the parent before forking and reject a
//! bad spec with nothing left behind. The result is plain data: the child can
//! reuse a copy made before the fork. [`CompiledFilter::load`] is then a single
//! `seccomp(2)` call on memory that already exists (no allocation, no libseccomp
//! state), which is what a freshly forked init needs just before `execve`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

/// Syscalls that may not use `SCMP_ACT_NOTIFY`.
///
/// Between loading the filter and the notify fd reaching the seccomp agent, the
/// container init hands the fd to the runtime over its sync socket (`sendmsg`)
/// and reports progress (`write`). If either were routed to the agent, the init
/// would wait forever for an agent that cannot have the fd yet. runc rejects
/// `write` for the same reason.
pub const NOTIFY_FORBIDDEN_SYSCALLS: &[&str] = &["write", "sendmsg"];

/// Highest errno the kernel passes through unchanged for `SECCOMP_RET_ERRNO`
/// (larger values are silently clamped to it, which would surprise the user).
const MAX_ERRNO: u32 = 4095;

/// seccomp can only look at the six argument registers of a syscall.
const MAX_ARG_INDEX: usize = 5;

/// Conditions on the same argument are alternatives, so one OCI rule can expand
/// into many libseccomp rules. Past this many the spec is almost certainly a
/// mistake, and the program would grow towards the kernel's size limit.
const MAX_RULE_EXPANSION: usize = 64;

/// Size of one classic BPF instruction as libseccomp exports it.
const BPF_INSN_SIZE: usize = std::mem::size_of::<libc::sock_filter>();

/// Errors from compiling, loading or handing over a seccomp filter.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The spec itself is wrong; `path` is the JSON path of the field at fault.
    #[error("{path}: {reason}")]
    InvalidSpec { path: String, reason: String },

    /// libseccomp refused part of an otherwise well-formed spec.
    #[error("{path}: {reason}")]
    Libseccomp {
        path: String,
        reason: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Reading the compiled program back out of libseccomp failed.
    #[error("exporting the compiled seccomp program from libseccomp failed")]
    Export(#[source] io::Error),

    /// The kernel refused the filter.
    #[error("loading the seccomp filter into the kernel failed ({errno}): {hint}")]
    Load { errno: Errno, hint: &'static str },

    /// `SECCOMP_FILTER_FLAG_TSYNC` could not move another thread onto the filter.
    #[error(
        "linux.seccomp.flags: SECCOMP_FILTER_FLAG_TSYNC could not synchronize thread {tid}; \
         the filter was not loaded. Load it before the process starts other threads"
    )]
    TsyncFailed { tid: libc::c_long },

    /// The seccomp agent's socket could not be reached.
    #[error(
        "connecting to the seccomp agent at linux.seccomp.listenerPath {path:?} failed; \
         check that the agent is running and listening on that socket"
    )]
    ListenerConnect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The notify fd or the container state could not be sent to the agent.
    #[error("sending the seccomp notify fd and container state to the agent at {path:?} failed")]
    ListenerSend {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> SeccompError {
    SeccompError::InvalidSpec {
        path: path.into(),
        reason: reason.into(),
    }
}

/// A validated seccomp filter, compiled to a BPF program and ready to load.
///
/// It owns no kernel or libseccomp resources, so it can be built in the runtime
/// before forking and cloned or moved into the container init.
#[derive(Clone)]
pub struct CompiledFilter {
    program: Vec<libc::sock_filter>,
    /// `SECCOMP_FILTER_FLAG_*` bits for `seccomp(2)`, already including
    /// `NEW_LISTENER` (and `TSYNC_ESRCH`) when a rule notifies.
    flags: libc::c_ulong,
    uses_notify: bool,
}

impl fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("uses_notify", &self.uses_notify)
            .finish()
    }
}

/// Validate and translate the OCI `linux.seccomp` object (runtime-spec 1.2) into
/// a filter.
///
/// Semantics worth knowing:
/// - `errnoRet` defaults to `EPERM` for `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE`,
///   and is rejected on any other action, as the spec requires.
/// - Syscall names unknown to libseccomp are skipped with a warning, like runc.
/// - A rule whose action equals the default action is skipped (libseccomp
///   rejects such rules, and they would change nothing).
/// - Conditions on different arguments must all match; several conditions on
///   the same argument are alternatives (any may match), as in runc.
/// - The filter does not set `no_new_privs`: that is `process.noNewPrivileges`,
///   which the caller handles (see [`CompiledFilter::load`]).
pub fn compile(seccomp: &LinuxSeccomp) -> Result<CompiledFilter, SeccompError> {
    let default_action = translate_action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        "linux.seccomp.defaultAction",
        "linux.seccomp.defaultErrnoRet",
    )?;
    if default_action == ScmpAction::Notify {
        return Err(invalid(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action: every syscall the init makes after \
             loading the filter, including handing the notify fd to the agent, would block; \
             use SCMP_ACT_NOTIFY only in syscalls[].action",
        ));
    }

    let mut ctx =
        ScmpFilterContext::new(default_action).map_err(|source| SeccompError::Libseccomp {
            path: "linux.seccomp.defaultAction".into(),
            reason: "libseccomp could not create a filter with this default action".into(),
            source,
        })?;

    for (i, arch) in seccomp.architectures().iter().flatten().enumerate() {
        ctx.add_arch(scmp_arch(*arch))
            .map_err(|source| SeccompError::Libseccomp {
                path: format!("linux.seccomp.architectures[{i}]"),
                reason: format!(
                    "the installed libseccomp does not support {arch}; remove it or upgrade libseccomp"
                ),
                source,
            })?;
    }

    let mut flags: libc::c_ulong = 0;
    let mut wait_killable_recv = false;
    for flag in seccomp.flags().iter().flatten() {
        match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {
                flags |= libc::SECCOMP_FILTER_FLAG_TSYNC;
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => {
                flags |= libc::SECCOMP_FILTER_FLAG_LOG;
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                flags |= libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
            }
            // The kernel rejects this flag without a listener, so it is only
            // applied below if some rule actually notifies.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                wait_killable_recv = true;
            }
        }
    }

    let mut uses_notify = false;
    for (i, rule) in seccomp.syscalls().iter().flatten().enumerate() {
        let added = add_rule(&mut ctx, rule, i, default_action)?;
        uses_notify |= added && rule.action() == LinuxSeccompAction::ScmpActNotify;
    }

    if uses_notify {
        validate_listener_path(seccomp.listener_path().as_deref())?;
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC reports failure by returning a thread id, which would be
        // indistinguishable from the listener fd; TSYNC_ESRCH makes it an error.
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
        if wait_killable_recv {
            flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        }
    } else if wait_killable_recv {
        tracing::warn!(
            "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV has no effect without \
             an SCMP_ACT_NOTIFY rule; ignoring it"
        );
    }

    let program = export_program(&ctx)?;
    Ok(CompiledFilter {
        program,
        flags,
        uses_notify,
    })
}

impl CompiledFilter {
    /// Whether some rule uses `SCMP_ACT_NOTIFY`, i.e. [`load`](Self::load) will
    /// return a notify fd that must be sent to the agent.
    pub fn uses_notify(&self) -> bool {
        self.uses_notify
    }

    /// Load the filter into the kernel for the calling thread (all threads with
    /// `SECCOMP_FILTER_FLAG_TSYNC`). Returns the notify fd when a rule uses
    /// `SCMP_ACT_NOTIFY`; it is close-on-exec.
    ///
    /// This makes exactly one system call and does not allocate, so it is safe
    /// right after `fork`. The kernel accepts a filter only from a process that
    /// has `no_new_privs` set or holds `CAP_SYS_ADMIN`, so call it either after
    /// `PR_SET_NO_NEW_PRIVS` (for `process.noNewPrivileges`) or before dropping
    /// capabilities. Every syscall made after this point is filtered.
    pub fn load(self) -> Result<Option<OwnedFd>, SeccompError> {
        let prog = libc::sock_fprog {
            // compile() checked the program fits BPF_MAXINSNS, far below u16::MAX.
            len: self.program.len() as libc::c_ushort,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads `prog` and the
        // instructions it points to, both alive until this call returns; the
        // kernel copies the program and keeps no pointer into our memory.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if ret < 0 {
            let errno = Errno::last();
            return Err(SeccompError::Load {
                errno,
                hint: load_hint(errno),
            });
        }
        if self.uses_notify {
            let fd = libc::c_int::try_from(ret).map_err(|_| SeccompError::Load {
                errno: Errno::EBADF,
                hint: "the kernel returned an out-of-range notify fd",
            })?;
            // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER a successful
            // seccomp() returns a new fd that nothing else owns.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        if ret > 0 {
            // Without a listener a positive return is the TSYNC failure report.
            return Err(SeccompError::TsyncFailed { tid: ret });
        }
        Ok(None)
    }
}

/// Send the seccomp notify fd to the agent listening on `listener_path`
/// (runtime-spec `linux.seccomp.listenerPath`).
///
/// `process_state_json` is the spec's `containerProcessState` object
/// (`ociVersion`, `fds: ["seccompFd"]`, `pid`, `metadata` = `listenerMetadata`,
/// `state`); the fd travels with it as `SCM_RIGHTS` in the same message, so
/// `fds[0]` names it. The connection is closed afterwards, which tells the
/// agent the message is complete.
///
/// Call this from the runtime process rather than the filtered init when you
/// can: in the init, `socket`, `connect` and `sendmsg` all pass through the
/// freshly loaded filter.
pub fn send_notify_fd(
    listener_path: &Path,
    fd: BorrowedFd,
    process_state_json: &[u8],
) -> Result<(), SeccompError> {
    // A stream socket carries ancillary data only alongside at least one byte.
    if process_state_json.is_empty() {
        return Err(SeccompError::ListenerSend {
            path: listener_path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the container process state JSON is empty; the agent needs it to identify \
                 the container",
            ),
        });
    }
    let connect_err = |source| SeccompError::ListenerConnect {
        path: listener_path.to_path_buf(),
        source,
    };
    // Check the path fits sockaddr_un first: std reports an over-long path with
    // a vaguer message.
    UnixAddr::new(listener_path).map_err(|e| connect_err(io::Error::from(e)))?;
    let mut stream = UnixStream::connect(listener_path).map_err(connect_err)?;
    let send_err = |source| SeccompError::ListenerSend {
        path: listener_path.to_path_buf(),
        source,
    };

    let fds = [fd.as_raw_fd()];
    let cmsgs = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(process_state_json)];
    let sent = loop {
        // MSG_NOSIGNAL: an agent that hangs up must produce an error, not a
        // SIGPIPE that kills the runtime.
        match sendmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => break n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(send_err(io::Error::from(e))),
        }
    };
    // A stream socket may take only part of a large state; the fd already went
    // with the first chunk, the rest is plain data.
    stream
        .write_all(&process_state_json[sent..])
        .map_err(send_err)?;
    Ok(())
}

/// Map an OCI action and its errno field to a libseccomp action.
fn translate_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    action_path: &str,
    errno_path: &str,
) -> Result<ScmpAction, SeccompError> {
    use LinuxSeccompAction as A;
    if let Some(errno) = errno_ret {
        if !matches!(action, A::ScmpActErrno | A::ScmpActTrace) {
            return Err(invalid(
                errno_path,
                format!(
                    "is {errno}, but {action} does not return an errno; only SCMP_ACT_ERRNO \
                     and SCMP_ACT_TRACE take one, so remove the field or change {action_path}"
                ),
            ));
        }
    }
    let scmp = match action {
        A::ScmpActErrno => {
            let errno = errno_ret.unwrap_or(libc::EPERM as u32);
            if errno > MAX_ERRNO {
                return Err(invalid(
                    errno_path,
                    format!(
                        "{errno} is not a valid errno for SCMP_ACT_ERRNO; use a value from 0 to \
                         {MAX_ERRNO} (e.g. 1 for EPERM, 38 for ENOSYS)"
                    ),
                ));
            }
            // Bounded by MAX_ERRNO above, so the cast is lossless.
            ScmpAction::Errno(errno as i32)
        }
        A::ScmpActTrace => {
            let value = errno_ret.unwrap_or(libc::EPERM as u32);
            let value = u16::try_from(value).map_err(|_| {
                invalid(
                    errno_path,
                    format!(
                        "{value} does not fit the 16-bit data of SCMP_ACT_TRACE; use 0 to {}",
                        u16::MAX
                    ),
                )
            })?;
            ScmpAction::Trace(value)
        }
        // SCMP_ACT_KILL is the historical name for killing the thread.
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    };
    Ok(scmp)
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// Add the libseccomp rules for `linux.seccomp.syscalls[index]`. Returns whether
/// any rule was added (false when skipped or when no name is known).
fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    index: usize,
    default_action: ScmpAction,
) -> Result<bool, SeccompError> {
    let path = format!("linux.seccomp.syscalls[{index}]");
    let action = translate_action(
        rule.action(),
        rule.errno_ret(),
        &format!("{path}.action"),
        &format!("{path}.errnoRet"),
    )?;
    let alternatives = condition_sets(rule.args().as_deref().unwrap_or_default(), &path)?;

    // Names are checked before the rule may be skipped, so a spec is judged the
    // same whatever its default action.
    if rule.names().is_empty() {
        return Err(invalid(
            format!("{path}.names"),
            "is empty; list at least one syscall name",
        ));
    }
    for (j, name) in rule.names().iter().enumerate() {
        if name.is_empty() {
            return Err(invalid(
                format!("{path}.names[{j}]"),
                "is an empty string; give a syscall name such as \"mkdir\"",
            ));
        }
        if action == ScmpAction::Notify && NOTIFY_FORBIDDEN_SYSCALLS.contains(&name.as_str()) {
            return Err(invalid(
                format!("{path}.names[{j}]"),
                format!(
                    "SCMP_ACT_NOTIFY cannot be used for {name:?}: the container init needs it \
                     to hand the notify fd to the runtime, so it would block forever; use \
                     another action for {name:?}"
                ),
            ));
        }
    }

    if action == default_action {
        tracing::debug!(path = %path, "rule action equals the default action; skipping it");
        return Ok(false);
    }

    let mut added = false;
    for (j, name) in rule.names().iter().enumerate() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            tracing::warn!(
                path = %format!("{path}.names[{j}]"),
                syscall = %name,
                "syscall is unknown to libseccomp on this architecture; skipping it"
            );
            continue;
        };
        for conditions in &alternatives {
            ctx.add_rule_conditional(action, syscall, conditions)
                .map_err(|source| {
                    let reason = match source.errno() {
                        Some(libseccomp::error::SeccompErrno::EEXIST) => format!(
                            "another rule already gives {name:?} a different action under the \
                             same conditions; merge the rules or make their args differ"
                        ),
                        _ => format!(
                            "libseccomp rejected the rule for {name:?}; check its action and args"
                        ),
                    };
                    SeccompError::Libseccomp {
                        path: format!("{path}.names[{j}]"),
                        reason,
                        source,
                    }
                })?;
            added = true;
        }
    }
    Ok(added)
}

/// Turn `args[]` into the list of condition sets to add as separate rules: one
/// set per combination of alternatives for arguments compared more than once.
fn condition_sets(
    args: &[LinuxSeccompArg],
    path: &str,
) -> Result<Vec<Vec<ScmpArgCompare>>, SeccompError> {
    let mut by_index: BTreeMap<usize, Vec<ScmpArgCompare>> = BTreeMap::new();
    for (k, arg) in args.iter().enumerate() {
        let index = arg.index();
        if index > MAX_ARG_INDEX {
            return Err(invalid(
                format!("{path}.args[{k}].index"),
                format!(
                    "{index} is out of range (0-{MAX_ARG_INDEX}); seccomp can only inspect the \
                     first six syscall arguments"
                ),
            ));
        }
        let op = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
            LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
            LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
            LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
            LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
            LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
            // The spec puts the mask in `value` and the expected result in `valueTwo`.
            LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(arg.value()),
        };
        let datum = match arg.op() {
            LinuxSeccompOperator::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
            _ => arg.value(),
        };
        // Bounded by MAX_ARG_INDEX above.
        by_index
            .entry(index)
            .or_default()
            .push(ScmpArgCompare::new(index as u32, op, datum));
    }

    let mut sets: Vec<Vec<ScmpArgCompare>> = vec![Vec::new()];
    for alternatives in by_index.values() {
        let expanded = sets.len().saturating_mul(alternatives.len());
        if expanded > MAX_RULE_EXPANSION {
            return Err(invalid(
                format!("{path}.args"),
                format!(
                    "repeated conditions on the same argument are alternatives, and these args \
                     expand to more than {MAX_RULE_EXPANSION} rules; split the entry into \
                     several syscalls[] entries"
                ),
            ));
        }
        sets = sets
            .iter()
            .flat_map(|set| {
                alternatives.iter().map(move |alt| {
                    let mut next = set.clone();
                    next.push(*alt);
                    next
                })
            })
            .collect();
    }
    Ok(sets)
}

fn validate_listener_path(path: Option<&Path>) -> Result<(), SeccompError> {
    let Some(path) = path else {
        return Err(invalid(
            "linux.seccomp.listenerPath",
            "is required when a rule uses SCMP_ACT_NOTIFY: without an agent to receive the \
             notify fd, the notified syscalls would block forever; set it to the agent's unix \
             socket",
        ));
    };
    if path.as_os_str().is_empty() {
        return Err(invalid(
            "linux.seccomp.listenerPath",
            "is empty; set it to the agent's unix socket",
        ));
    }
    // Checked now so a spec the runtime cannot act on fails before anything runs.
    UnixAddr::new(path).map_err(|e| {
        invalid(
            "linux.seccomp.listenerPath",
            format!("{path:?} cannot be used as a unix socket address ({e}); use a shorter path"),
        )
    })?;
    Ok(())
}

/// Read the BPF program libseccomp would load, so that loading later needs no
/// libseccomp call (and no allocation).
fn export_program(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, SeccompError> {
    // libseccomp 2.5 only exports to a file descriptor; a memfd avoids both
    // temporary files and the deadlock a pipe would risk on a large program.
    let fd = memfd_create(c"skiff-seccomp-bpf", MFdFlags::MFD_CLOEXEC)
        .map_err(|e| SeccompError::Export(e.into()))?;
    let mut file = File::from(fd);
    ctx.export_bpf(&file)
        .map_err(|source| SeccompError::Libseccomp {
            path: "linux.seccomp".into(),
            reason: "libseccomp could not generate the BPF program".into(),
            source,
        })?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(SeccompError::Export)?;

    if bytes.is_empty() || bytes.len() % BPF_INSN_SIZE != 0 {
        return Err(SeccompError::Export(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "libseccomp produced {} bytes, not a whole number of BPF instructions",
                bytes.len()
            ),
        )));
    }
    let program: Vec<libc::sock_filter> = bytes
        .chunks_exact(BPF_INSN_SIZE)
        .map(|insn| libc::sock_filter {
            code: u16::from_ne_bytes([insn[0], insn[1]]),
            jt: insn[2],
            jf: insn[3],
            k: u32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]),
        })
        .collect();
    if program.len() > libc::BPF_MAXINSNS as usize {
        return Err(invalid(
            "linux.seccomp.syscalls",
            format!(
                "the filter compiles to {} BPF instructions, more than the kernel's limit of {}; \
                 merge rules that share an action or drop architectures you do not need",
                program.len(),
                libc::BPF_MAXINSNS
            ),
        ));
    }
    Ok(program)
}

fn load_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EACCES => {
            "the process has neither no_new_privs set nor CAP_SYS_ADMIN; set \
             process.noNewPrivileges or load the filter before dropping capabilities"
        }
        Errno::EINVAL => {
            "the kernel does not support one of the filter flags (SECCOMP_FILTER_FLAG_LOG needs \
             Linux 4.14, SPEC_ALLOW 4.17, SCMP_ACT_NOTIFY 5.0, TSYNC with NOTIFY 5.7, \
             WAIT_KILLABLE_RECV 5.19); remove the flag or upgrade the kernel"
        }
        Errno::EBUSY => {
            "an earlier seccomp filter of this process still has an open notify fd, and the \
             kernel allows one listener at a time; close that fd first, or do not use \
             SCMP_ACT_NOTIFY in the earlier filter"
        }
        Errno::ESRCH => {
            "SECCOMP_FILTER_FLAG_TSYNC could not synchronize another thread; load the filter \
             before the process starts other threads"
        }
        Errno::ENOMEM => {
            "the kernel ran out of memory for the filter, or the process's filters together \
             exceed the kernel's total size limit"
        }
        _ => "unexpected error from seccomp(2)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(value).expect("test spec must deserialize")
    }

    fn compile_err(value: serde_json::Value) -> String {
        match compile(&spec(value)) {
            Ok(filter) => panic!("expected an error, compiled {filter:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn arg_index_out_of_range_names_the_json_path() {
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[2].args[0].index: 7 is out of range (0-5)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_operator_and_action_strings_are_rejected_when_parsing() {
        let bad_op = serde_json::from_value::<LinuxSeccomp>(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]
        }))
        .expect_err("an unknown operator must not deserialize");
        assert!(bad_op.to_string().contains("SCMP_CMP_ALMOST"), "{bad_op}");

        let bad_action = serde_json::from_value::<LinuxSeccomp>(json!({
            "defaultAction": "SCMP_ACT_MAYBE"
        }))
        .expect_err("an unknown action must not deserialize");
        assert!(
            bad_action.to_string().contains("SCMP_ACT_MAYBE"),
            "{bad_action}"
        );
    }

    #[test]
    fn errno_ret_on_an_action_without_errno_is_rejected() {
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[0].errnoRet: is 5, but SCMP_ACT_ALLOW"),
            "{err}"
        );

        let err = compile_err(json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}));
        assert!(err.starts_with("linux.seccomp.defaultErrnoRet: "), "{err}");
    }

    #[test]
    fn errno_values_must_fit_the_kernel_range() {
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[0].errnoRet: 70000"),
            "{err}"
        );

        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 70000}]
        }));
        assert!(err.contains("SCMP_ACT_TRACE"), "{err}");

        // 0 is legitimate: it makes the syscall "succeed" without running it.
        compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["sync"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]
        })))
        .expect("errnoRet 0 is valid");
    }

    #[test]
    fn notify_detection_and_listener_requirements() {
        let with_notify = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]
        });
        let filter = compile(&spec(with_notify)).expect("notify spec compiles");
        assert!(filter.uses_notify());
        assert_ne!(filter.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER, 0);

        let without = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .expect("plain spec compiles");
        assert!(!without.uses_notify());
        assert_eq!(without.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER, 0);

        // A notify rule for an unknown syscall adds nothing, so there is nothing
        // to listen for.
        let unknown_only = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_NOTIFY"}]
        })))
        .expect("unknown names are skipped");
        assert!(!unknown_only.uses_notify());

        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert!(
            err.starts_with("linux.seccomp.listenerPath: is required"),
            "{err}"
        );

        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": format!("/{}", "x".repeat(200)),
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert!(err.starts_with("linux.seccomp.listenerPath: "), "{err}");

        let err = compile_err(json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
        assert!(err.starts_with("linux.seccomp.defaultAction: "), "{err}");

        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mount", "write"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[0].names[1]: "),
            "{err}"
        );
    }

    #[test]
    fn notify_with_tsync_asks_the_kernel_for_an_error_instead_of_a_tid() {
        let filter = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]
        })))
        .expect("compiles");
        let expected = libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
            | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        assert_eq!(filter.flags, expected);

        let plain = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
        })))
        .expect("compiles");
        assert_eq!(
            plain.flags,
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
    }

    #[test]
    fn names_must_be_present_and_non_empty() {
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[0].names: is empty"),
            "{err}"
        );

        // Rejected even though the rule would be skipped as equal to the default.
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[0].names[1]: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_names_and_default_action_rules_are_skipped() {
        let skipped = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["definitely_not_a_syscall"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        })))
        .expect("skippable rules compile");
        let baseline = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38
        })))
        .expect("empty spec compiles");
        assert_eq!(skipped.program.len(), baseline.program.len());

        // The same errno action with a different errno is a real rule.
        let real = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        })))
        .expect("compiles");
        assert!(real.program.len() > baseline.program.len());
    }

    #[test]
    fn conflicting_rules_name_the_rule() {
        let err = compile_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                 "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]},
                {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2,
                 "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]
        }));
        assert!(
            err.starts_with("linux.seccomp.syscalls[1].names[0]: "),
            "{err}"
        );
    }

    #[test]
    fn repeated_argument_conditions_become_alternatives() {
        let arg = |index: usize, value: u64| {
            serde_json::from_value::<LinuxSeccompArg>(
                json!({"index": index, "value": value, "op": "SCMP_CMP_EQ"}),
            )
            .expect("arg")
        };
        let sets =
            condition_sets(&[arg(0, 1), arg(2, 5), arg(0, 2), arg(2, 6)], "p").expect("valid args");
        // (a0==1 || a0==2) && (a2==5 || a2==6) -> four rules.
        assert_eq!(sets.len(), 4);
        assert!(sets.iter().all(|set| set.len() == 2));

        let many: Vec<_> = (0..=3)
            .flat_map(|i| [arg(i, 1), arg(i, 2), arg(i, 3)])
            .collect();
        match condition_sets(&many, "p") {
            Ok(sets) => panic!("3^4 alternatives must be refused, got {} rules", sets.len()),
            Err(err) => assert!(err.to_string().starts_with("p.args: "), "{err}"),
        }
    }

    #[test]
    fn architectures_are_added() {
        let native = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .expect("compiles");
        let multi = compile(&spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                              "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .expect("compiles");
        // Each extra architecture adds its own arch check and syscall table.
        assert!(multi.program.len() > native.program.len());
    }
}
