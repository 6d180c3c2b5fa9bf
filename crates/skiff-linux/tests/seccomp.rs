//! Loads real seccomp filters into forked children and checks what the kernel
//! then does with their system calls.
//!
//! The test harness is multi-threaded, so a child only makes raw system calls
//! (plus `CompiledFilter::load`, itself one system call) and leaves with
//! `_exit`. Filters are compiled in the parent, as the runtime does.

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid};
use oci_spec::runtime::{ContainerProcessState, LinuxSeccomp};
use serde_json::json;
use skiff_linux::seccomp::{compile, send_notify_fd, CompiledFilter, SeccompError};

/// How a forked child ended, and the values it reported before ending.
struct Outcome<const N: usize> {
    pid: Pid,
    status: WaitStatus,
    values: Option<[i64; N]>,
}

/// Close every inherited fd except stdio and `keep`. Other tests fork at the
/// same time; a child holding their pipes open would keep them from seeing EOF.
fn close_other_fds(keep: RawFd) {
    // SAFETY: close_range only closes descriptors; the ranges skip stdio and `keep`.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, (keep - 1) as u32, 0u32);
        libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
    }
}

/// Fork, run `child` in the child and collect its wait status plus the values
/// it returned (`None` if it died before reporting).
fn run_child<const N: usize>(child: impl FnOnce() -> [i64; N]) -> Outcome<N> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    // SAFETY: the child makes only raw system calls and leaves with _exit, so it
    // never touches locks another test thread may have held at fork time.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            close_other_fds(write_end.as_raw_fd());
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)) {
                Ok(values) => {
                    for value in values {
                        // SAFETY: writes 8 bytes from a live local to our pipe.
                        unsafe {
                            libc::write(
                                write_end.as_raw_fd(),
                                (&value as *const i64).cast(),
                                std::mem::size_of::<i64>(),
                            )
                        };
                    }
                    0
                }
                Err(_) => 101,
            };
            // SAFETY: ends the child without running the harness's destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let status = waitpid(child, None).expect("waitpid");
            let mut bytes = Vec::new();
            File::from(read_end)
                .read_to_end(&mut bytes)
                .expect("read child report");
            let values = (bytes.len() == N * 8).then(|| {
                let mut values = [0i64; N];
                for (value, chunk) in values.iter_mut().zip(bytes.chunks_exact(8)) {
                    *value = i64::from_ne_bytes(chunk.try_into().expect("8-byte chunk"));
                }
                values
            });
            Outcome {
                pid: child,
                status,
                values,
            }
        }
    }
}

/// A raw system call; returns the result or `-errno`, like the kernel does.
fn sys(nr: libc::c_long, a: libc::c_long, b: libc::c_long, c: libc::c_long) -> i64 {
    // SAFETY: callers pass syscalls whose pointer arguments (if any) are valid.
    let ret = unsafe { libc::syscall(nr, a, b, c) };
    if ret == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        ret
    }
}

/// Result of `load()` as a number a child can report: 0 for no notify fd,
/// 1 for an fd, `-errno` for a load error, -1000 for any other error.
fn load_code(filter: CompiledFilter) -> i64 {
    match filter.load() {
        Ok(None) => 0,
        Ok(Some(_fd)) => 1,
        Err(SeccompError::Load { errno, .. }) => -(errno as i64),
        Err(_) => -1000,
    }
}

/// Keep a child that is killed on purpose from writing a core file.
fn no_core_dump() {
    // SAFETY: PR_SET_DUMPABLE takes an integer and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong) };
}

fn filter(value: serde_json::Value) -> CompiledFilter {
    let spec: LinuxSeccomp = serde_json::from_value(value).expect("test spec deserializes");
    compile(&spec).expect("test spec compiles")
}

fn neg(errno: i32) -> i64 {
    -i64::from(errno)
}

#[test]
fn errno_rules_under_an_allow_default() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSPC},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
        ]
    }));
    assert!(!f.uses_notify());
    let missing_dir = c"/nonexistent-skiff-seccomp-test/dir";

    let out = run_child(|| {
        let loaded = load_code(f);
        let mut buf = [0u8; 256];
        let cwd = sys(
            libc::SYS_getcwd,
            buf.as_mut_ptr() as libc::c_long,
            buf.len() as libc::c_long,
            0,
        );
        let mkdir = sys(
            libc::SYS_mkdirat,
            libc::AT_FDCWD as libc::c_long,
            missing_dir.as_ptr() as libc::c_long,
            0o700,
        );
        let pid = sys(libc::SYS_getpid, 0, 0, 0);
        [loaded, cwd, mkdir, pid]
    });

    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    let [loaded, cwd, mkdir, pid] = out.values.expect("child reported");
    assert_eq!(loaded, 0, "load() returns no fd without notify rules");
    assert_eq!(cwd, neg(libc::ENOSPC), "getcwd gets the rule's errnoRet");
    // Unfiltered, this mkdirat would fail with ENOENT; EPERM is the default errnoRet.
    assert_eq!(mkdir, neg(libc::EPERM));
    assert_eq!(
        pid,
        i64::from(out.pid.as_raw()),
        "unlisted syscalls are allowed"
    );
}

#[test]
fn argument_conditions_pick_the_calls() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EDOM,
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            // value is the mask, valueTwo the expected masked result.
            {"names": ["umask"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOTTY,
             "args": [{"index": 0, "value": 0o070, "valueTwo": 0o070, "op": "SCMP_CMP_MASKED_EQ"}]},
            // arg0 >= 1000 AND (arg2 == 1 OR arg2 == 2)
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ERANGE,
             "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_GE"},
                      {"index": 2, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fsync"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
             "args": [{"index": 0, "value": 7777, "op": "SCMP_CMP_NE"}]},
            {"names": ["fdatasync"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::E2BIG,
             "args": [{"index": 0, "value": 3000, "op": "SCMP_CMP_LT"}]},
            {"names": ["syncfs"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ELOOP,
             "args": [{"index": 0, "value": 4000, "op": "SCMP_CMP_GT"}]},
            {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOTBLK,
             "args": [{"index": 0, "value": 5000, "op": "SCMP_CMP_LE"}]}
        ]
    }));

    let out = run_child(|| {
        let loaded = load_code(f);
        [
            loaded,
            sys(libc::SYS_personality, 0xffff_ffff, 0, 0),
            sys(libc::SYS_personality, 0, 0, 0),
            sys(libc::SYS_umask, 0o077, 0, 0),
            sys(libc::SYS_umask, 0o022, 0, 0),
            sys(libc::SYS_lseek, 1000, 0, 1),
            sys(libc::SYS_lseek, 1000, 0, 2),
            sys(libc::SYS_lseek, 1000, 0, 0),
            sys(libc::SYS_lseek, 999, 0, 1),
            sys(libc::SYS_fsync, 7776, 0, 0),
            sys(libc::SYS_fsync, 7777, 0, 0),
            sys(libc::SYS_fdatasync, 2999, 0, 0),
            sys(libc::SYS_fdatasync, 3000, 0, 0),
            sys(libc::SYS_syncfs, 4001, 0, 0),
            sys(libc::SYS_syncfs, 4000, 0, 0),
            sys(libc::SYS_fchdir, 5000, 0, 0),
            sys(libc::SYS_fchdir, 5001, 0, 0),
        ]
    });

    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    let v = out.values.expect("child reported");
    let ebadf = neg(libc::EBADF);
    assert_eq!(v[0], 0, "load");
    assert_eq!(v[1], neg(libc::EDOM), "personality(0xffffffff) matches EQ");
    assert!(v[2] >= 0, "personality(0) does not match: {}", v[2]);
    assert_eq!(v[3], neg(libc::ENOTTY), "umask(077) & 070 == 070");
    assert!(v[4] >= 0, "umask(022) & 070 != 070: {}", v[4]);
    assert_eq!(v[5], neg(libc::ERANGE), "lseek(1000, _, 1)");
    assert_eq!(
        v[6],
        neg(libc::ERANGE),
        "lseek(1000, _, 2): same-index conditions are ORed"
    );
    assert_eq!(v[7], ebadf, "lseek(1000, _, 0): whence matches neither");
    assert_eq!(
        v[8], ebadf,
        "lseek(999, _, 1): conditions on different args are ANDed"
    );
    assert_eq!(v[9], neg(libc::EXDEV), "fsync(7776) != 7777");
    assert_eq!(v[10], ebadf, "fsync(7777)");
    assert_eq!(v[11], neg(libc::E2BIG), "fdatasync(2999) < 3000");
    assert_eq!(v[12], ebadf, "fdatasync(3000)");
    assert_eq!(v[13], neg(libc::ELOOP), "syncfs(4001) > 4000");
    assert_eq!(v[14], ebadf, "syncfs(4000)");
    assert_eq!(v[15], neg(libc::ENOTBLK), "fchdir(5000) <= 5000");
    assert_eq!(v[16], ebadf, "fchdir(5001)");
}

#[test]
fn kill_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
    ] {
        let f = filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": action}]
        }));
        let out = run_child(|| {
            no_core_dump();
            let loaded = load_code(f);
            [loaded, sys(libc::SYS_getppid, 0, 0, 0)]
        });
        assert!(
            matches!(out.status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "{action}: expected death by SIGSYS, got {:?}",
            out.status
        );
        assert!(
            out.values.is_none(),
            "{action}: child must not survive getppid"
        );
    }
}

static TRAP_HITS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
static TRAP_CODE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    use std::sync::atomic::Ordering;
    TRAP_HITS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    TRAP_CODE.store(i64::from(code), Ordering::SeqCst);
}

#[test]
fn trap_delivers_sigsys_to_the_handler() {
    const SYS_SECCOMP: i64 = 1;
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]
    }));
    let out = run_child(|| {
        use std::sync::atomic::Ordering;
        no_core_dump();
        // SAFETY: installs an async-signal-safe handler (atomics only) with a
        // zeroed, then filled, sigaction struct.
        let installed = unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigsys as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO;
            libc::sigaction(libc::SIGSYS, &act, std::ptr::null_mut())
        };
        let loaded = load_code(f);
        sys(libc::SYS_getppid, 0, 0, 0);
        [
            i64::from(installed),
            loaded,
            TRAP_HITS.load(Ordering::SeqCst),
            TRAP_CODE.load(Ordering::SeqCst),
        ]
    });
    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    let [installed, loaded, hits, code] = out.values.expect("child reported");
    assert_eq!((installed, loaded), (0, 0));
    assert_eq!(hits, 1, "the handler runs once per trapped call");
    assert_eq!(
        code, SYS_SECCOMP,
        "si_code says the signal came from seccomp"
    );
}

#[test]
fn log_allows_while_an_errno_default_refuses_everything_else() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::ENOKEY,
        "syscalls": [
            {"names": ["getcwd"], "action": "SCMP_ACT_LOG"},
            // The child reports through write and leaves through exit_group.
            {"names": ["write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            // Same as the default: skipped, and the result is the same.
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOKEY}
        ]
    }));
    let out = run_child(|| {
        let loaded = load_code(f);
        let mut buf = [0u8; 256];
        let cwd = sys(
            libc::SYS_getcwd,
            buf.as_mut_ptr() as libc::c_long,
            buf.len() as libc::c_long,
            0,
        );
        [
            loaded,
            cwd,
            sys(libc::SYS_getpid, 0, 0, 0),
            sys(libc::SYS_getppid, 0, 0, 0),
        ]
    });
    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    let [loaded, cwd, pid, ppid] = out.values.expect("child reported");
    assert_eq!(loaded, 0);
    assert!(
        cwd > 0,
        "SCMP_ACT_LOG runs the syscall: getcwd returned {cwd}"
    );
    assert_eq!(pid, neg(libc::ENOKEY), "defaultErrnoRet applies");
    assert_eq!(ppid, neg(libc::ENOKEY));
}

#[test]
fn filter_flags_reach_the_kernel() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSPC}]
    }));
    let out = run_child(|| {
        let loaded = load_code(f);
        let mut buf = [0u8; 64];
        let cwd = sys(
            libc::SYS_getcwd,
            buf.as_mut_ptr() as libc::c_long,
            buf.len() as libc::c_long,
            0,
        );
        [loaded, cwd]
    });
    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    assert_eq!(out.values, Some([0, neg(libc::ENOSPC)]));
}

#[test]
fn loading_needs_no_new_privs_or_cap_sys_admin() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSPC}]
    }));
    let again = f.clone();
    let no_caps: oci_spec::runtime::LinuxCapabilities =
        serde_json::from_value(json!({})).expect("empty capabilities");
    let out = run_child(|| {
        let dropped = i64::from(skiff_linux::capabilities::apply(&no_caps).is_err());
        let without = load_code(f);
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
        let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) };
        let with = load_code(again);
        [dropped, without, i64::from(nnp), with]
    });
    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    assert_eq!(out.values, Some([0, neg(libc::EACCES), 0, 0]));
}

#[test]
fn a_second_listener_is_refused() {
    let spec = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/unused-agent.sock",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let first = filter(spec.clone());
    let second = filter(spec);
    let out = run_child(|| {
        // The kernel only counts listeners whose fd is still open.
        let held = first.load();
        let first_code = match &held {
            Ok(Some(_)) => 1,
            Ok(None) => 0,
            Err(_) => -1000,
        };
        [first_code, load_code(second)]
    });
    assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
    assert_eq!(out.values, Some([1, neg(libc::EBUSY)]));
}

#[test]
fn notify_fd_reaches_the_agent_which_answers_the_syscall() {
    const ANSWER: i64 = 4242;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).expect("bind agent socket");
    listener.set_nonblocking(true).expect("nonblocking");

    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "listenerPath": socket,
        "listenerMetadata": "skiff-test-metadata",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert!(f.uses_notify());
    let state = serde_json::to_vec(&json!({
        "ociVersion": "1.2.0",
        "fds": ["seccompFd"],
        "pid": 4321,
        "metadata": "skiff-test-metadata",
        "state": {"ociVersion": "1.2.0", "id": "c1", "status": "creating",
                  "pid": 4321, "bundle": "/bundle"}
    }))
    .expect("state json");

    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    // SAFETY: the child makes raw system calls, plus send_notify_fd (socket,
    // connect, sendmsg; its allocations are safe after fork with glibc), and
    // leaves with _exit.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            close_other_fds(write_end.as_raw_fd());
            let result = match f.load() {
                Ok(Some(fd)) => match send_notify_fd(&socket, fd.as_fd(), &state) {
                    // The agent has its own copy now; ours would only keep the
                    // listener alive.
                    Ok(()) => {
                        drop(fd);
                        sys(libc::SYS_getppid, 0, 0, 0)
                    }
                    Err(_) => -2000,
                },
                Ok(None) => -1001,
                Err(_) => -1000,
            };
            // SAFETY: writes 8 bytes from a live local, then ends the child.
            unsafe {
                libc::write(write_end.as_raw_fd(), (&result as *const i64).cast(), 8);
                libc::_exit(0)
            }
        }
        ForkResult::Parent { child } => child,
    };
    drop(write_end);

    // Accept with a deadline so a child that failed early fails the test
    // instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(status @ WaitStatus::Exited(..)) =
                    waitpid(child, Some(WaitPidFlag::WNOHANG))
                {
                    panic!("child ended before contacting the agent: {status:?}");
                }
                assert!(Instant::now() < deadline, "the agent was never contacted");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    stream.set_nonblocking(false).expect("blocking stream");

    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!(RawFd);
    let (received, notify_fd) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .expect("recvmsg");
        let mut fds = Vec::new();
        for c in msg.cmsgs().expect("control messages") {
            if let ControlMessageOwned::ScmRights(rights) = c {
                fds.extend(rights);
            }
        }
        assert_eq!(fds.len(), 1, "exactly one fd travels with the state");
        // SAFETY: SCM_RIGHTS installed this fd in our table; we own it now.
        (msg.bytes, unsafe { OwnedFd::from_raw_fd(fds[0]) })
    };
    let mut json_bytes = buf[..received].to_vec();
    (&stream)
        .read_to_end(&mut json_bytes)
        .expect("rest of the state");
    let process_state: ContainerProcessState =
        serde_json::from_slice(&json_bytes).expect("agent receives containerProcessState");
    assert_eq!(process_state.fds(), &vec!["seccompFd".to_string()]);
    assert_eq!(
        process_state.metadata().as_deref(),
        Some("skiff-test-metadata")
    );
    assert_eq!(process_state.state().id(), "c1");

    let request = ScmpNotifReq::receive(notify_fd.as_raw_fd()).expect("notification");
    assert_eq!(
        request.data.syscall,
        ScmpSyscall::from_name("getppid").expect("getppid")
    );
    assert_eq!(request.pid, child.as_raw() as u32);
    ScmpNotifResp::new_val(request.id, ANSWER, ScmpNotifRespFlags::empty())
        .respond(notify_fd.as_raw_fd())
        .expect("respond");

    let status = waitpid(child, None).expect("waitpid");
    assert_eq!(status, WaitStatus::Exited(child, 0));
    let mut report = Vec::new();
    File::from(read_end)
        .read_to_end(&mut report)
        .expect("child report");
    let got = i64::from_ne_bytes(report.as_slice().try_into().expect("8-byte report"));
    assert_eq!(got, ANSWER, "getppid returns what the agent answered");
}

#[cfg(target_arch = "x86_64")]
mod i386 {
    use super::*;

    /// getppid through the 32-bit entry point (`int 0x80`, i386 number 64).
    fn getppid_i386() -> i64 {
        let ret: i64;
        // SAFETY: i386 getppid takes no arguments and touches no memory. The
        // compat entry zeroes r8-r11, so they are declared clobbered.
        unsafe {
            std::arch::asm!(
                "int 0x80",
                inlateout("rax") 64i64 => ret,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                options(nostack)
            );
        }
        // The i386 ABI returns a 32-bit value.
        i64::from(ret as i32)
    }

    #[test]
    fn listed_architectures_are_filtered_too() {
        let f = filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": libc::EDQUOT}]
        }));
        let out = run_child(|| {
            let loaded = load_code(f);
            [loaded, sys(libc::SYS_getppid, 0, 0, 0), getppid_i386()]
        });
        assert_eq!(out.status, WaitStatus::Exited(out.pid, 0));
        assert_eq!(
            out.values,
            Some([0, neg(libc::EDQUOT), neg(libc::EDQUOT)]),
            "the rule applies to the 64-bit and the 32-bit syscall"
        );
    }

    #[test]
    fn unlisted_architectures_are_killed() {
        let f = filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let out = run_child(|| {
            no_core_dump();
            let loaded = load_code(f);
            [loaded, getppid_i386()]
        });
        assert!(
            matches!(out.status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "a 32-bit syscall under an x86_64-only filter must be killed, got {:?}",
            out.status
        );
    }
}
