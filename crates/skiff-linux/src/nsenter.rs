//! Entering namespaces, as `nsenter` does: run a command inside the namespaces
//! of a process, or inside namespace files (bind mounts, `/proc/PID/ns/*`).
//!
//! Every namespace file is opened before the first `setns`: once inside a
//! mount or user namespace, the target's `/proc` entries may no longer be
//! reachable or openable. Joining a pid or time namespace only changes what
//! children get, so the command then runs in a forked child while this process
//! waits and passes its exit status on. Joining a target process's mount
//! namespace also takes that process's root and working directory (setns alone
//! would leave us at the namespace's root mount, which for a container is not
//! its rootfs).
//!
//! This must run while the process is single-threaded: the kernel refuses
//! `setns` into a user or mount namespace from a multi-threaded process.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode};
use nix::unistd::{Gid, Uid};

use crate::namespaces::{self, JOIN_ORDER};
use crate::nsdiscovery::NsType;
use crate::syscall::{LinuxSyscalls, Syscalls};

#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    #[error("no process with PID {0}; check the PID (has the process exited?)")]
    NoSuchProcess(i32),
    #[error("process {pid} has no {kind} namespace file ({path}); this kernel may lack {kind} namespaces")]
    NoSuchType {
        pid: i32,
        kind: NsType,
        path: PathBuf,
    },
    #[error(
        "{0} does not exist; pass a namespace file such as /proc/PID/ns/net or /run/netns/NAME"
    )]
    MissingPath(PathBuf),
    #[error("cannot open {path}: {source}{hint}")]
    Open {
        path: PathBuf,
        source: Errno,
        hint: &'static str,
    },
    #[error("{path} is not a namespace file (the kernel does not report a namespace type for it); pass a file such as /proc/PID/ns/net or /run/netns/NAME")]
    NotNamespace { path: PathBuf },
    #[error("{path} is a {found} namespace, not {wanted}; pick the flag that matches the file, or drop the flags to enter it as it is")]
    WrongType {
        path: PathBuf,
        found: NsType,
        wanted: String,
    },
    #[error("{first} and {second} are both {kind} namespaces; pass one file per type")]
    DuplicateType {
        kind: NsType,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "-{flag} was given, but no --path file is a {kind} namespace; add one or drop -{flag}"
    )]
    MissingType { kind: NsType, flag: char },
    #[error("nothing to enter: pass one or more of -m -u -i -n -p -U -C -T, or --all")]
    NothingSelected,
    #[error("cannot enter the {kind} namespace {path}: {source}{hint}")]
    Setns {
        kind: NsType,
        path: PathBuf,
        source: Errno,
        hint: &'static str,
    },
    #[error("cannot take the root and working directory of process {pid}: {what}: {source}")]
    Root {
        pid: i32,
        what: &'static str,
        source: Errno,
    },
    #[error("cannot become uid and gid 0 in the entered user namespace ({0}); it may not map 0, so pass --preserve-credentials to keep the current ids")]
    Credentials(Errno),
    #[error("cannot run `{program}`: {source}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot wait for `{program}`: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

impl EnterError {
    /// The exit status a shell would give: 127 for a command that is not
    /// there, 126 for one that cannot run, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            EnterError::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            EnterError::Exec { .. } => 126,
            _ => 1,
        }
    }
}

/// Whose namespaces to enter.
#[derive(Debug, Clone)]
pub enum Target {
    /// The namespaces of a running process (`/proc/PID/ns/*`).
    Pid(i32),
    /// Namespace files; each file's type is asked from the kernel.
    Paths(Vec<PathBuf>),
}

#[derive(Debug, Clone)]
pub struct EnterRequest {
    pub target: Target,
    /// Types to enter. For a PID, empty means nothing (unless `all`); for
    /// paths, empty means every file as it is, and otherwise each file must be
    /// one of these types and each type must have a file.
    pub types: Vec<NsType>,
    /// Every namespace of the target process.
    pub all: bool,
    /// Keep uid, gid and groups after entering a user namespace (otherwise
    /// become 0 inside it and drop supplementary groups, as nsenter does).
    pub preserve_credentials: bool,
    /// The command; empty runs `$SHELL` (or `/bin/sh`).
    pub command: Vec<OsString>,
}

/// One namespace to join.
#[derive(Debug)]
pub struct Join {
    pub kind: NsType,
    pub path: PathBuf,
    pub fd: OwnedFd,
}

/// Everything opened up front.
#[derive(Debug)]
pub struct Plan {
    pub joins: Vec<Join>,
    /// For a target process whose mount namespace is joined: its root and cwd.
    pub root: Option<(i32, OwnedFd, Option<OwnedFd>)>,
}

impl Plan {
    /// Whether the command must run in a child: pid and time namespaces apply
    /// to children only.
    pub fn needs_fork(&self) -> bool {
        self.joins
            .iter()
            .any(|j| matches!(j.kind, NsType::Pid | NsType::Time))
    }
}

/// How the command ended (only when it ran in a child).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
}

impl Outcome {
    /// As a shell reports it: the code, or 128 + the signal number.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Exited(c) => c.clamp(0, 255) as u8,
            Outcome::Signaled(s) => (128 + s).clamp(0, 255) as u8,
        }
    }
}

fn short_flag(kind: NsType) -> char {
    match kind {
        NsType::Mnt => 'm',
        NsType::Uts => 'u',
        NsType::Ipc => 'i',
        NsType::Net => 'n',
        NsType::Pid => 'p',
        NsType::User => 'U',
        NsType::Cgroup => 'C',
        NsType::Time => 'T',
    }
}

fn open_hint(e: Errno) -> &'static str {
    match e {
        Errno::EACCES | Errno::EPERM => "; run as root (or as the owner of the target)",
        _ => "",
    }
}

fn own_inode(kind: NsType) -> Option<u64> {
    std::fs::metadata(format!("/proc/self/ns/{}", kind.name()))
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

fn inode(fd: &OwnedFd) -> Option<u64> {
    fstat(fd).ok().map(|st| st.st_ino)
}

/// Open every namespace file (and the target's root and cwd) without changing
/// anything yet, checking types and existence so mistakes are reported before
/// any namespace is entered.
pub fn plan(req: &EnterRequest) -> Result<Plan, EnterError> {
    let mut joins = Vec::new();
    let mut root = None;
    match &req.target {
        Target::Pid(pid) => {
            let pid = *pid;
            let proc_dir = PathBuf::from(format!("/proc/{pid}"));
            if pid <= 0 || !proc_dir.join("ns").exists() {
                return Err(EnterError::NoSuchProcess(pid));
            }
            let kinds: Vec<NsType> = if req.all {
                NsType::ALL
                    .into_iter()
                    .filter(|k| proc_dir.join("ns").join(k.name()).exists())
                    .collect()
            } else {
                req.types.clone()
            };
            if kinds.is_empty() {
                return Err(EnterError::NothingSelected);
            }
            for kind in kinds {
                let path = proc_dir.join("ns").join(kind.name());
                let fd = match namespaces::open_ns(&path) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT) if !proc_dir.exists() => {
                        return Err(EnterError::NoSuchProcess(pid))
                    }
                    Err(Errno::ENOENT) => return Err(EnterError::NoSuchType { pid, kind, path }),
                    Err(source) => {
                        return Err(EnterError::Open {
                            path,
                            source,
                            hint: open_hint(source),
                        })
                    }
                };
                joins.push(Join { kind, path, fd });
            }
            if joins.iter().any(|j| j.kind == NsType::Mnt) {
                let dir = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                let r = open(&proc_dir.join("root"), dir, Mode::empty()).map_err(|source| {
                    EnterError::Root {
                        pid,
                        what: "open its root",
                        source,
                    }
                })?;
                // A deleted or unreachable cwd falls back to the root, as a
                // login would.
                let cwd = open(&proc_dir.join("cwd"), dir, Mode::empty()).ok();
                root = Some((pid, r, cwd));
            }
        }
        Target::Paths(paths) => {
            for path in paths {
                let fd = match namespaces::open_ns(path) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT) => return Err(EnterError::MissingPath(path.clone())),
                    Err(source) => {
                        return Err(EnterError::Open {
                            path: path.clone(),
                            source,
                            hint: open_hint(source),
                        })
                    }
                };
                let kind = namespaces::ns_type_of(&fd)
                    .ok()
                    .and_then(NsType::from_clone_flag)
                    .ok_or_else(|| EnterError::NotNamespace { path: path.clone() })?;
                if !req.types.is_empty() && !req.types.contains(&kind) {
                    let wanted: Vec<String> = req
                        .types
                        .iter()
                        .map(|t| format!("{t} (-{})", short_flag(*t)))
                        .collect();
                    return Err(EnterError::WrongType {
                        path: path.clone(),
                        found: kind,
                        wanted: wanted.join(" or "),
                    });
                }
                if let Some(other) = joins.iter().find(|j: &&Join| j.kind == kind) {
                    return Err(EnterError::DuplicateType {
                        kind,
                        first: other.path.clone(),
                        second: path.clone(),
                    });
                }
                joins.push(Join {
                    kind,
                    path: path.clone(),
                    fd,
                });
            }
            for kind in &req.types {
                if !joins.iter().any(|j| j.kind == *kind) {
                    return Err(EnterError::MissingType {
                        kind: *kind,
                        flag: short_flag(*kind),
                    });
                }
            }
        }
    }
    // The kernel refuses to "enter" the user namespace one is already in.
    let own_user = own_inode(NsType::User);
    joins.retain(|j| j.kind != NsType::User || own_user.is_none() || inode(&j.fd) != own_user);
    Ok(Plan { joins, root })
}

/// The order to try: every non-user namespace in [`JOIN_ORDER`], then the user
/// namespace. Privileged callers can enter everything from where they are,
/// and entering the user namespace first could take away the rights over
/// namespaces owned by an outer one; unprivileged callers get `EPERM` on the
/// first round and succeed after the user namespace (see [`join_all`]).
pub fn join_order(joins: &[Join]) -> Vec<usize> {
    let rank = |k: NsType| {
        let pos = JOIN_ORDER
            .iter()
            .position(|o| NsType::from_oci(*o) == k)
            .unwrap_or(0);
        (k == NsType::User, pos)
    };
    let mut idx: Vec<usize> = (0..joins.len()).collect();
    idx.sort_by_key(|&i| rank(joins[i].kind));
    idx
}

/// Join every namespace, retrying the ones refused with `EPERM` after the
/// others (entering a user namespace grants the capabilities its namespaces
/// need), until all are joined or a round makes no progress.
pub fn join_all(
    joins: &[Join],
    mut setns: impl FnMut(RawFd, NsType) -> Result<(), Errno>,
) -> Result<(), EnterError> {
    let mut pending = join_order(joins);
    loop {
        let mut refused = Vec::new();
        let before = pending.len();
        let mut first_refusal = None;
        for i in pending {
            let j = &joins[i];
            match setns(j.fd.as_raw_fd(), j.kind) {
                Ok(()) => {}
                Err(Errno::EPERM) => {
                    first_refusal.get_or_insert(i);
                    refused.push(i);
                }
                Err(source) => {
                    return Err(EnterError::Setns {
                        kind: j.kind,
                        path: j.path.clone(),
                        source,
                        hint: setns_hint(j.kind, source),
                    })
                }
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        if refused.len() == before {
            let j = &joins[first_refusal.unwrap_or(refused[0])];
            return Err(EnterError::Setns {
                kind: j.kind,
                path: j.path.clone(),
                source: Errno::EPERM,
                hint: setns_hint(j.kind, Errno::EPERM),
            });
        }
        pending = refused;
    }
}

fn setns_hint(kind: NsType, e: Errno) -> &'static str {
    match (kind, e) {
        (_, Errno::EPERM) => {
            "; entering needs CAP_SYS_ADMIN over the namespace's owner: run as root, or also enter its user namespace (-U)"
        }
        (NsType::User | NsType::Mnt | NsType::Time, Errno::EINVAL) => {
            "; the process must be single-threaded to enter this type"
        }
        _ => "",
    }
}

/// Take the target's root and then its working directory: fchdir to the
/// root, chroot("."), fchdir to the cwd (inside the new root).
fn take_root(pid: i32, root: &OwnedFd, cwd: Option<&OwnedFd>) -> Result<(), EnterError> {
    let err = |what, source| EnterError::Root { pid, what, source };
    nix::unistd::fchdir(root.as_fd()).map_err(|e| err("chdir to its root", e))?;
    LinuxSyscalls
        .chroot(Path::new("."))
        .map_err(|e| err("chroot", e))?;
    match cwd {
        Some(c) => {
            nix::unistd::fchdir(c.as_fd()).map_err(|e| err("chdir to its working directory", e))
        }
        None => nix::unistd::chdir("/").map_err(|e| err("chdir to /", e)),
    }
}

/// Become 0:0 with no supplementary groups inside the entered user namespace.
fn become_root_inside() -> Result<(), EnterError> {
    // setgroups is denied inside user namespaces whose `setgroups` file says
    // "deny"; the groups are then already fixed, which is fine.
    match nix::unistd::setgroups(&[]) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(e) => return Err(EnterError::Credentials(e)),
    }
    let (g, u) = (Gid::from_raw(0), Uid::from_raw(0));
    nix::unistd::setresgid(g, g, g).map_err(EnterError::Credentials)?;
    nix::unistd::setresuid(u, u, u).map_err(EnterError::Credentials)
}

fn command_of(req: &EnterRequest) -> Command {
    let mut argv = req.command.clone();
    if argv.is_empty() {
        argv.push(std::env::var_os("SHELL").unwrap_or_else(|| OsString::from("/bin/sh")));
    }
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

fn program_name(req: &EnterRequest) -> String {
    req.command
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| {
            std::env::var_os("SHELL")
                .unwrap_or_else(|| OsStr::new("/bin/sh").to_os_string())
                .to_string_lossy()
                .into_owned()
        })
}

/// Enter the namespaces and run the command. Without a pid or time namespace
/// this process becomes the command (exec) and only returns on failure; with
/// one, the command runs in a child and its outcome is returned.
pub fn enter(req: &EnterRequest) -> Result<Outcome, EnterError> {
    let plan = plan(req)?;
    let entered_user = plan.joins.iter().any(|j| j.kind == NsType::User);
    join_all(&plan.joins, |fd, kind| {
        LinuxSyscalls.setns(fd, kind.clone_flag())
    })?;
    if let Some((pid, root, cwd)) = &plan.root {
        take_root(*pid, root, cwd.as_ref())?;
    }
    if entered_user && !req.preserve_credentials {
        become_root_inside()?;
    }
    let program = program_name(req);
    let mut cmd = command_of(req);
    if !plan.needs_fork() {
        // Only returns if the exec failed.
        let source = cmd.exec();
        return Err(EnterError::Exec { program, source });
    }
    drop(plan);
    let mut child = cmd.spawn().map_err(|source| EnterError::Exec {
        program: program.clone(),
        source,
    })?;
    // The terminal sends ^C and ^\ to the whole foreground group: let the
    // command decide what they mean, and report how it ended. The child has
    // already exec'd (spawn waits for that), so it keeps default handlers.
    for sig in [nix::sys::signal::SIGINT, nix::sys::signal::SIGQUIT] {
        // SAFETY: SIG_IGN installs no Rust code as a handler.
        let _ = unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn) };
    }
    let status = child
        .wait()
        .map_err(|source| EnterError::Wait { program, source })?;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => Outcome::Exited(c),
        (None, Some(s)) => Outcome::Signaled(s),
        (None, None) => Outcome::Exited(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: Target, types: &[NsType]) -> EnterRequest {
        EnterRequest {
            target,
            types: types.to_vec(),
            all: false,
            preserve_credentials: false,
            command: Vec::new(),
        }
    }

    fn fake_joins(kinds: &[NsType]) -> Vec<Join> {
        kinds
            .iter()
            .map(|k| Join {
                kind: *k,
                path: PathBuf::from(format!("/fake/{k}")),
                fd: namespaces::open_ns(Path::new("/proc/self/ns/net")).unwrap(),
            })
            .collect()
    }

    #[test]
    fn order_puts_user_last_and_mount_after_the_rest() {
        let joins = fake_joins(&[
            NsType::Mnt,
            NsType::User,
            NsType::Net,
            NsType::Pid,
            NsType::Uts,
        ]);
        let kinds: Vec<NsType> = join_order(&joins).iter().map(|&i| joins[i].kind).collect();
        assert_eq!(
            kinds,
            [
                NsType::Uts,
                NsType::Net,
                NsType::Pid,
                NsType::Mnt,
                NsType::User
            ]
        );
    }

    #[test]
    fn refused_joins_are_retried_after_the_user_namespace() {
        // An unprivileged caller: nothing but the user namespace works until
        // the user namespace is entered.
        let joins = fake_joins(&[NsType::Net, NsType::User, NsType::Mnt]);
        let mut in_user = false;
        let mut calls = Vec::new();
        join_all(&joins, |_, kind| {
            calls.push(kind);
            if kind == NsType::User {
                in_user = true;
                Ok(())
            } else if in_user {
                Ok(())
            } else {
                Err(Errno::EPERM)
            }
        })
        .unwrap();
        assert_eq!(
            calls,
            [
                NsType::Net,
                NsType::Mnt,
                NsType::User,
                NsType::Net,
                NsType::Mnt
            ]
        );
    }

    #[test]
    fn no_progress_is_an_error_naming_the_namespace() {
        let joins = fake_joins(&[NsType::Net]);
        let err = join_all(&joins, |_, _| Err(Errno::EPERM)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("net namespace /fake/net"), "{text}");
        assert!(text.contains("run as root"), "{text}");
        let err = join_all(&joins, |_, _| Err(Errno::EINVAL)).unwrap_err();
        assert!(matches!(
            err,
            EnterError::Setns {
                source: Errno::EINVAL,
                ..
            }
        ));
    }

    #[test]
    fn plan_checks_pids_paths_and_types() {
        let missing = plan(&req(Target::Pid(i32::MAX), &[NsType::Net])).unwrap_err();
        assert!(matches!(missing, EnterError::NoSuchProcess(_)), "{missing}");
        assert!(missing.to_string().contains("no process with PID"));

        let nothing = plan(&req(Target::Pid(std::process::id() as i32), &[])).unwrap_err();
        assert!(matches!(nothing, EnterError::NothingSelected));

        let gone = plan(&req(Target::Paths(vec!["/nonexistent/ns".into()]), &[])).unwrap_err();
        assert!(matches!(gone, EnterError::MissingPath(_)), "{gone}");

        let not_ns = plan(&req(Target::Paths(vec!["/proc/self/status".into()]), &[])).unwrap_err();
        assert!(
            matches!(not_ns, EnterError::NotNamespace { .. }),
            "{not_ns}"
        );

        let wrong = plan(&req(
            Target::Paths(vec!["/proc/self/ns/uts".into()]),
            &[NsType::Net],
        ))
        .unwrap_err();
        let text = wrong.to_string();
        assert!(text.contains("is a uts namespace, not net (-n)"), "{text}");

        let dup = plan(&req(
            Target::Paths(vec![
                "/proc/self/ns/uts".into(),
                "/proc/1/../self/ns/uts".into(),
            ]),
            &[],
        ))
        .unwrap_err();
        assert!(matches!(dup, EnterError::DuplicateType { .. }), "{dup}");

        let uncovered = plan(&req(
            Target::Paths(vec!["/proc/self/ns/uts".into()]),
            &[NsType::Uts, NsType::Ipc],
        ))
        .unwrap_err();
        assert!(
            uncovered
                .to_string()
                .contains("-i was given, but no --path file is a ipc"),
            "{uncovered}"
        );
    }

    #[test]
    fn plan_opens_own_namespaces_and_skips_own_user() {
        let me = std::process::id() as i32;
        let p = plan(&req(
            Target::Pid(me),
            &[NsType::Net, NsType::User, NsType::Mnt],
        ))
        .unwrap();
        let kinds: Vec<NsType> = p.joins.iter().map(|j| j.kind).collect();
        assert_eq!(kinds, [NsType::Net, NsType::Mnt]);
        assert!(
            p.root.is_some(),
            "joining a process's mnt ns takes its root"
        );
        assert!(!p.needs_fork());
        let typed = plan(&req(Target::Paths(vec!["/proc/self/ns/pid".into()]), &[])).unwrap();
        assert_eq!(typed.joins[0].kind, NsType::Pid);
        assert!(typed.needs_fork());
        assert!(typed.root.is_none());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Exited(3).exit_code(), 3);
        assert_eq!(Outcome::Signaled(9).exit_code(), 137);
        let e = EnterError::Exec {
            program: "x".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(e.exit_code(), 127);
        assert_eq!(EnterError::NothingSelected.exit_code(), 1);
    }
}
