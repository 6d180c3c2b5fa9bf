//! Changes the capabilities of forked children and reads the result back from
//! `/proc/<pid>/status`, as the kernel reports it.
//!
//! The test harness is multi-threaded, so a child only makes raw system calls
//! and calls into `skiff_linux::capabilities`, then waits for the parent to
//! look at it, then leaves with `_exit`.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use serde_json::json;
use skiff_linux::capabilities::{apply, restrict_bounding, CapError};

const NOBODY: libc::c_long = 65534;

fn bit(cap: u32) -> u64 {
    1 << cap
}

const CAP_CHOWN: u32 = 0;
const CAP_KILL: u32 = 5;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_RAW: u32 = 13;

/// Close every inherited fd except stdio and `keep`, so this child does not
/// hold other concurrently running tests' pipes open.
fn close_other_fds(keep: &[RawFd]) {
    let mut next = 3;
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    for fd in keep {
        if fd > next {
            // SAFETY: close_range only closes descriptors in [next, fd - 1].
            unsafe { libc::syscall(libc::SYS_close_range, next as u32, (fd - 1) as u32, 0u32) };
        }
        next = fd + 1;
    }
    // SAFETY: as above, for everything above the last kept fd.
    unsafe { libc::syscall(libc::SYS_close_range, next as u32, u32::MAX, 0u32) };
}

fn write_code(fd: &OwnedFd, code: i64) {
    // SAFETY: writes 8 bytes from a live local to our pipe.
    unsafe { libc::write(fd.as_raw_fd(), (&code as *const i64).cast(), 8) };
}

fn read_code(fd: OwnedFd) -> Option<i64> {
    let mut bytes = Vec::new();
    File::from(fd).read_to_end(&mut bytes).expect("read report");
    bytes.as_slice().try_into().ok().map(i64::from_ne_bytes)
}

/// Switch the calling process to nobody, keeping the permitted set. Raw
/// syscalls: glibc's wrappers would try to coordinate with threads that only
/// exist in the parent. Returns 0 or -errno.
fn become_nobody_keeping_caps() -> i64 {
    // SAFETY: prctl and the set*id syscalls take integers; setgroups gets an
    // empty list (size 0, null pointer).
    unsafe {
        if libc::prctl(libc::PR_SET_KEEPCAPS, 1 as libc::c_ulong) != 0
            || libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, NOBODY, NOBODY, NOBODY) != 0
            || libc::syscall(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY) != 0
        {
            return -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
    }
    0
}

/// What the parent saw of a child that paused after its setup.
struct Paused {
    code: Option<i64>,
    status_file: String,
    exit: WaitStatus,
}

/// Fork; the child runs `setup`, reports its result and waits until the parent
/// has read `/proc/<pid>/status`.
fn run_paused(setup: impl FnOnce() -> i64) -> Paused {
    let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let (release_read, release_write) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    // SAFETY: the child makes raw syscalls and capability calls, blocks in read
    // and leaves with _exit; it never returns into the test harness.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            close_other_fds(&[report_write.as_raw_fd(), release_read.as_raw_fd()]);
            let code =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(setup)).unwrap_or(-101);
            write_code(&report_write, code);
            let mut byte = 0u8;
            // SAFETY: reads into a live local; returns at EOF, when the parent
            // closes its end.
            unsafe { libc::read(release_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
            // SAFETY: ends the child without running the harness's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(report_write);
            drop(release_read);
            let mut code = [0u8; 8];
            let got = File::from(report_read).read_exact(&mut code).is_ok();
            let status_file =
                std::fs::read_to_string(format!("/proc/{child}/status")).unwrap_or_default();
            drop(release_write);
            let exit = waitpid(child, None).expect("waitpid");
            Paused {
                code: got.then(|| i64::from_ne_bytes(code)),
                status_file,
                exit,
            }
        }
    }
}

/// A `Cap*:` (hex) or `Uid:` style field of a status file.
fn field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{name} missing from status:\n{status}"))
        .trim()
        .to_string()
}

fn cap_field(status: &str, name: &str) -> u64 {
    u64::from_str_radix(&field(status, name), 16).expect("hex capability mask")
}

fn caps(value: serde_json::Value) -> LinuxCapabilities {
    serde_json::from_value(value).expect("test capabilities deserialize")
}

#[test]
fn bounding_set_is_cut_down_to_the_kept_capabilities() {
    let keep: Capabilities = [
        Capability::Chown,
        Capability::Kill,
        Capability::NetBindService,
    ]
    .into_iter()
    .collect();
    let own_permitted = cap_field(
        &std::fs::read_to_string("/proc/self/status").expect("own status"),
        "CapPrm",
    );
    let seen = run_paused(|| i64::from(restrict_bounding(&keep).is_err()));

    assert_eq!(seen.code, Some(0), "restrict_bounding failed in the child");
    assert!(
        matches!(seen.exit, WaitStatus::Exited(_, 0)),
        "{:?}",
        seen.exit
    );
    assert_eq!(
        cap_field(&seen.status_file, "CapBnd"),
        bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE)
    );
    // The bounding set limits what exec can grant; it does not take away what
    // the process already holds.
    assert_eq!(cap_field(&seen.status_file, "CapPrm"), own_permitted);
}

#[test]
fn restricting_the_bounding_set_needs_cap_setpcap() {
    let keep: Capabilities = [Capability::Chown].into_iter().collect();
    let nothing = caps(json!({}));
    let seen = run_paused(|| {
        if apply(&nothing).is_err() {
            return -1;
        }
        match restrict_bounding(&keep) {
            Err(CapError::BoundingDrop { errno, .. }) => errno as i64,
            Err(_) => -2,
            Ok(()) => -3,
        }
    });
    assert_eq!(seen.code, Some(libc::EPERM as i64));
    assert_eq!(cap_field(&seen.status_file, "CapEff"), 0);
}

fn non_root_spec() -> (Capabilities, LinuxCapabilities) {
    let bounding: Capabilities = [
        Capability::Chown,
        Capability::NetBindService,
        Capability::NetRaw,
    ]
    .into_iter()
    .collect();
    let sets = caps(json!({
        "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "effective": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "permitted": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "ambient": ["CAP_NET_BIND_SERVICE"]
    }));
    (bounding, sets)
}

/// The runtime's order: bounding while privileged, uid switch with keepcaps,
/// then the four sets. Returns 0 or the failing step.
fn container_setup(bounding: &Capabilities, sets: &LinuxCapabilities) -> i64 {
    if let Err(e) = restrict_bounding(bounding) {
        eprintln!("restrict_bounding: {e}");
        return 1;
    }
    let switched = become_nobody_keeping_caps();
    if switched != 0 {
        return 1000 + switched;
    }
    if let Err(e) = apply(sets) {
        eprintln!("apply: {e}");
        return 3;
    }
    0
}

#[test]
fn sets_are_applied_after_switching_to_a_non_root_user() {
    let (bounding, sets) = non_root_spec();
    let seen = run_paused(|| container_setup(&bounding, &sets));

    assert_eq!(seen.code, Some(0), "setup step failed");
    assert!(
        matches!(seen.exit, WaitStatus::Exited(_, 0)),
        "{:?}",
        seen.exit
    );
    let status = &seen.status_file;
    assert!(field(status, "Uid").starts_with("65534"), "{status}");
    assert_eq!(
        cap_field(status, "CapEff"),
        bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW)
    );
    assert_eq!(
        cap_field(status, "CapPrm"),
        bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW)
    );
    assert_eq!(
        cap_field(status, "CapInh"),
        bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW)
    );
    assert_eq!(cap_field(status, "CapAmb"), bit(CAP_NET_BIND_SERVICE));
    assert_eq!(
        cap_field(status, "CapBnd"),
        bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW)
    );
}

#[test]
fn ambient_capabilities_are_what_a_non_root_program_gets_after_exec() {
    let (bounding, sets) = non_root_spec();
    let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let program = c"/bin/sleep";
    let argv = [c"sleep".as_ptr(), c"30".as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];

    // SAFETY: the child sets up, then execs or reports why it could not; it
    // never returns into the test harness.
    let child: Pid = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            close_other_fds(&[report_write.as_raw_fd()]);
            let code = container_setup(&bounding, &sets);
            if code == 0 {
                // SAFETY: program, argv and envp are NUL-terminated and live.
                unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
            }
            write_code(&report_write, if code == 0 { -99 } else { code });
            // SAFETY: ends the child without running the harness's destructors.
            unsafe { libc::_exit(1) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(report_write);
    // The report pipe is close-on-exec: EOF without a code means execve worked.
    let code = read_code(report_read);
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap_or_default();
    let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
    kill(child, Signal::SIGKILL).expect("kill sleep");
    waitpid(child, None).expect("waitpid");

    assert_eq!(code, None, "setup or execve failed with code {code:?}");
    assert_eq!(comm.trim(), "sleep");
    assert!(field(&status, "Uid").starts_with("65534"), "{status}");
    // For a non-root user and a file without capabilities, execve keeps only
    // the ambient set in permitted and effective; inheritable is unchanged.
    assert_eq!(cap_field(&status, "CapAmb"), bit(CAP_NET_BIND_SERVICE));
    assert_eq!(cap_field(&status, "CapPrm"), bit(CAP_NET_BIND_SERVICE));
    assert_eq!(cap_field(&status, "CapEff"), bit(CAP_NET_BIND_SERVICE));
    assert_eq!(
        cap_field(&status, "CapInh"),
        bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW)
    );
}

#[test]
fn ambient_that_cannot_be_raised_is_skipped() {
    let partial = caps(json!({
        "permitted": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "inheritable": ["CAP_CHOWN"],
        "effective": [],
        "ambient": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    }));
    let seen = run_paused(|| match apply(&partial) {
        Ok(()) => 0,
        Err(_) => 1,
    });
    assert_eq!(seen.code, Some(0));
    // Only the capability that is both permitted and inheritable is raised.
    assert_eq!(cap_field(&seen.status_file, "CapAmb"), bit(CAP_CHOWN));
}
