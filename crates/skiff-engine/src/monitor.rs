//! The per-container monitor: a small process, detached from the client
//! that starts it (double fork + setsid), that creates and starts the
//! container through the runtime, owns its stdio (pipes, or the pty master
//! with `-t`), writes the CRI log, records each exit in the container
//! record, deletes the runtime state, and applies `--restart` and `--rm`.
//!
//! It is a child subreaper, so the container init (and anything orphaned
//! under it) is its child to wait for. It is single-threaded, which the
//! runtime's `create` requires (it clones the init). It talks to the client
//! over one pipe: `ok` or `err MESSAGE` once, then `exit CODE` after the
//! first exit; a client that went away changes nothing (SIGPIPE is ignored
//! in Rust programs, so writes just fail).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use skiff_runtime::container::{self, CreateOptions};
use skiff_runtime::state::StateRoot;

use crate::error::{EngineError, IoContext, Result};
use crate::logs::{LogWriter, Stream};
use crate::net::teardown_network;
use crate::record::{ContainerRecord, RestartPolicy, Status};
use crate::run::{cleanup_container, remove_container_dir};
use crate::Engine;

/// Where everything of one container is; computed in the client.
struct Paths {
    data_dir: PathBuf,
    run_dir: PathBuf,
    record: PathBuf,
    dir: PathBuf,
    bundle: PathBuf,
    rootfs: PathBuf,
    log: PathBuf,
    fifo: PathBuf,
    marker: PathBuf,
}

/// Fork the monitor; returns the read end of its status pipe. The caller
/// must be single-threaded.
pub(crate) fn spawn(engine: &Engine, record: &ContainerRecord) -> Result<File> {
    let id = &record.id;
    let dir = engine.container_dir(id);
    let paths = Paths {
        data_dir: engine.data_dir.clone(),
        run_dir: engine.runtime_root().dir,
        record: engine.record_path(id),
        bundle: dir.join("bundle"),
        rootfs: engine.rootfs(id),
        log: engine.log_path(id),
        fifo: dir.join("stdin"),
        marker: engine.stop_marker(id),
        dir,
    };
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "cannot create a pipe".into())?;
    // SAFETY: the client is single-threaded when it starts a container (a
    // documented precondition of `Engine::start`), so the child is a
    // consistent copy that may go on running Rust code.
    match unsafe { nix::unistd::fork() }.ctx(|| "cannot fork the container monitor".into())? {
        ForkResult::Child => {
            drop(r);
            // A session of its own: the client's terminal, process group
            // and their signals no longer reach the monitor.
            let _ = nix::unistd::setsid();
            // SAFETY: this process has a single thread too (fork copies one).
            let code = match unsafe { nix::unistd::fork() } {
                Ok(ForkResult::Child) => {
                    let record = record.clone();
                    std::panic::catch_unwind(AssertUnwindSafe(|| monitor_main(paths, record, w)))
                        .unwrap_or(101)
                }
                _ => 0,
            };
            // SAFETY: leave without running the client's destructors or
            // flushing its buffers a second time.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            // The middle process exits at once; the monitor is re-parented.
            let _ = waitpid(child, None);
            Ok(File::from(r))
        }
    }
}

/// Close every descriptor but stdio and `keep`, so the monitor holds none
/// of the client's (a pipe the client's caller waits on, above all).
fn close_other_fds(keep: &[RawFd]) {
    let fds: Vec<RawFd> = fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // SAFETY: closing descriptors nothing in this process uses any
            // more (the directory handle above is already gone: EBADF).
            unsafe { libc::close(fd) };
        }
    }
}

fn send(status: &mut Option<File>, line: &str) {
    if let Some(f) = status {
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

fn monitor_main(paths: Paths, mut rec: ContainerRecord, status_w: OwnedFd) -> i32 {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let _ = nix::unistd::chdir("/");
    let Ok(devnull) = nix::fcntl::open("/dev/null", OFlag::O_RDWR, Mode::empty()) else {
        return 1;
    };
    for fd in 0..3 {
        let _ = dup_onto(&devnull, fd);
    }
    close_other_fds(&[status_w.as_raw_fd(), devnull.as_raw_fd()]);
    let mut status = Some(File::from(status_w));
    let root = StateRoot::new(&paths.run_dir);

    let setup = || -> Result<(SignalFd, File)> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .ctx(|| "sigprocmask".into())?;
        let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .ctx(|| "signalfd".into())?;
        let log = OpenOptions::new()
            .append(true)
            .open(&paths.log)
            .ctx(|| format!("cannot open {}", paths.log.display()))?;
        Ok((sfd, log))
    };
    let (sfd, log) = match setup() {
        Ok(x) => x,
        Err(e) => {
            let _ = cleanup_container(&paths.data_dir, &paths.dir, &paths.rootfs, rec.net.as_ref());
            send(&mut status, &format!("err {e}"));
            return 1;
        }
    };
    let mut log = LogWriter::new(log, rec.tty);
    let me = nix::unistd::getpid().as_raw();
    rec.state.monitor_pid = me;
    rec.state.monitor_start = skiff_linux::process::start_time(me).unwrap_or_default();

    let mut first = true;
    let mut backoff = Duration::from_millis(100);
    // The network's release, once started (see `release_network`).
    let mut releasing: Option<Releasing> = None;
    loop {
        let started = Instant::now();
        match launch(&paths, &root, &rec, first, &devnull) {
            Err(e) if first => {
                let _ = container::delete(&root, &rec.id, true);
                if rec.kept_after_failed_start() {
                    // A pod's container stays, exited with the error, for its
                    // agent to report and remove (it never restarts one); so
                    // does one that ran before, for `skiff start` again.
                    if let Some(net) = &rec.net {
                        rec.state.network_released = teardown_network(&paths.data_dir, net).is_ok();
                    }
                    rec.state.status = Some(Status::Exited);
                    rec.state.exit_code = Some(128);
                    rec.state.error = Some(e.to_string());
                    rec.state.finished_at = Some(skiff_runtime::state::now_rfc3339());
                    let _ = rec.save(&paths.record);
                } else {
                    let _ = cleanup_container(
                        &paths.data_dir,
                        &paths.dir,
                        &paths.rootfs,
                        rec.net.as_ref(),
                    );
                }
                send(&mut status, &format!("err {e}"));
                return 1;
            }
            Err(e) => {
                rec.state.status = Some(Status::Exited);
                rec.state.error = Some(format!("restart failed: {e}"));
                rec.state.finished_at = Some(skiff_runtime::state::now_rfc3339());
                let _ = rec.save(&paths.record);
                break;
            }
            Ok(running) => {
                rec.state.status = Some(Status::Running);
                rec.state.pid = running.pid.as_raw();
                rec.state.started_at = Some(skiff_runtime::state::now_rfc3339());
                rec.state.error = None;
                rec.state.oom_killed = false;
                let _ = rec.save(&paths.record);
                if first {
                    send(&mut status, "ok");
                }
                let code = supervise(running, &mut log, &sfd);
                // Without a restart policy this exit is the last: the network
                // goes now, beside the cleanup below.
                if rec.restart == RestartPolicy::No {
                    releasing = release_network(&paths, &rec);
                }
                // Read while the cgroup still exists: the delete removes it.
                rec.state.oom_killed = oom_killed(&root, &rec.id);
                // The init is gone; this removes the cgroup and runtime state.
                if let Err(e) = container::delete(&root, &rec.id, true) {
                    rec.state.error = Some(format!("cleanup after exit: {e}"));
                }
                rec.state.status = Some(Status::Exited);
                rec.state.pid = 0;
                rec.state.exit_code = Some(code);
                rec.state.finished_at = Some(skiff_runtime::state::now_rfc3339());
                let _ = rec.save(&paths.record);
                send(&mut status, &format!("exit {code}"));
                // Only the first exit is the foreground client's to report.
                // With --rm the client waits for the end of the stream, which
                // comes when this process exits, after the removal below: like
                // docker's, `run --rm` returns once the container is gone.
                if !rec.auto_remove {
                    status = None;
                }
            }
        }
        first = false;
        if !should_restart(&rec, &paths) {
            break;
        }
        // A container that ran for a while starts over with a short pause.
        if started.elapsed() > Duration::from_secs(10) {
            backoff = Duration::from_millis(100);
        }
        rec.state.status = Some(Status::Restarting);
        let _ = rec.save(&paths.record);
        let until = Instant::now() + backoff;
        while Instant::now() < until && !paths.marker.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if paths.marker.exists() {
            // Stopped during the back-off: it stays exited.
            rec.state.status = Some(Status::Exited);
            let _ = rec.save(&paths.record);
            break;
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
        rec.state.restart_count += 1;
    }
    // Exited for good: give back the address, veth and port rules now
    // rather than at `rm`, so a stopped container holds no network. The
    // namespace stayed pinned across restarts so the address did not change.
    if releasing.is_none() {
        releasing = release_network(&paths, &rec);
    }
    if rec.auto_remove {
        let _ = container::delete(&root, &rec.id, true);
        let _ = remove_container_dir(&paths.dir, &paths.rootfs);
    }
    // Joined before this process exits: `run --rm` returns (and `rm` goes
    // on) only once the network is gone.
    if let Some(release) = releasing {
        match release.wait() {
            Ok(()) => rec.state.network_released = true,
            Err(e) => rec.state.error = Some(format!("network cleanup after exit: {e}")),
        }
        if !rec.auto_remove {
            let _ = rec.save(&paths.record);
        }
    }
    0
}

/// A network release under way on its own thread, or already done here.
enum Releasing {
    Thread(std::thread::JoinHandle<Result<()>>),
    Done(Result<()>),
}

impl Releasing {
    fn wait(self) -> Result<()> {
        match self {
            Releasing::Thread(h) => h.join().unwrap_or_else(|_| {
                Err(EngineError::Other(
                    "the network release thread panicked".into(),
                ))
            }),
            Releasing::Done(r) => r,
        }
    }
}

/// Starts detaching the container from its network (CNI DEL) and unpinning
/// its namespace on a thread, so it overlaps the removal of the runtime
/// state, cgroup and root: DEL waits mostly on the kernel (a veth's deletion
/// takes RCU grace periods) and on plugin start-up, and the other cleanup
/// does not touch the network. Only called once the container will not run
/// again, when no more containers are cloned from this process (which must
/// be single-threaded for that).
fn release_network(paths: &Paths, rec: &ContainerRecord) -> Option<Releasing> {
    let net = rec.net.clone()?;
    let data_dir = paths.data_dir.clone();
    let work = move || teardown_network(&data_dir, &net);
    Some(
        match std::thread::Builder::new()
            .name("net-release".into())
            .spawn(work.clone())
        {
            Ok(h) => Releasing::Thread(h),
            // No thread to be had: release it here and now.
            Err(_) => Releasing::Done(work()),
        },
    )
}

fn should_restart(rec: &ContainerRecord, paths: &Paths) -> bool {
    if paths.marker.exists() || !paths.dir.exists() {
        return false;
    }
    match rec.restart {
        RestartPolicy::No => false,
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure { max } => {
            rec.state.exit_code.unwrap_or(1) != 0 && (max == 0 || rec.state.restart_count < max)
        }
    }
}

fn dup_onto(fd: &impl AsFd, target: RawFd) -> nix::Result<()> {
    // SAFETY: dup2 onto a stdio number this process owns; the old
    // description there is released by the kernel.
    let rc = unsafe { libc::dup2(fd.as_fd().as_raw_fd(), target) };
    if rc < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

struct Running {
    pid: Pid,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    master: Option<OwnedFd>,
    /// `-it`: the client's input, copied to the pty master.
    input: Option<OwnedFd>,
}

/// Create and start the container once, its stdio wired to us.
fn launch(
    paths: &Paths,
    root: &StateRoot,
    rec: &ContainerRecord,
    first: bool,
    devnull: &OwnedFd,
) -> Result<Running> {
    // The client's stdin only for the first run: it is one stream.
    // A pod's container reads its fifo read-write: it holds a writer itself,
    // so it waits for input (from whoever attaches later) instead of seeing
    // an end of file at once.
    let access = if rec.sandbox.is_some() {
        OFlag::O_RDWR
    } else {
        OFlag::O_RDONLY
    };
    let fifo = if rec.interactive && first {
        Some(
            nix::fcntl::open(
                &paths.fifo,
                access | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ctx(|| format!("cannot open {}", paths.fifo.display()))?,
        )
    } else {
        None
    };
    let mut pipes = None;
    let mut input = None;
    if !rec.tty {
        let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
        let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
        let stdin = match &fifo {
            Some(f) => {
                // The container reads it blocking, like any stdin.
                fcntl(f, FcntlArg::F_SETFL(OFlag::empty())).ctx(|| "fcntl".into())?;
                f.as_fd()
            }
            None => devnull.as_fd(),
        };
        // The init inherits the runtime's stdio: make ours the container's
        // for the duration of `create`.
        dup_onto(&stdin, 0).ctx(|| "dup2".into())?;
        dup_onto(&out_w, 1).ctx(|| "dup2".into())?;
        dup_onto(&err_w, 2).ctx(|| "dup2".into())?;
        pipes = Some((out_r, err_r));
    } else {
        input = fifo;
    }
    let created = container::create(
        root,
        &CreateOptions {
            id: rec.id.clone(),
            bundle: paths.bundle.clone(),
            proxy_terminal: rec.tty,
            ..Default::default()
        },
    );
    for fd in 0..3 {
        let _ = dup_onto(devnull, fd);
    }
    let created = created?;
    if let (Some(m), Some((rows, cols))) = (&created.console_master, rec.tty_size) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize struct we own.
        unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    if let Err(e) = container::start(root, &rec.id) {
        let _ = container::delete(root, &rec.id, true);
        let pid = Pid::from_raw(created.record.pid);
        let _ = waitpid(pid, None);
        return Err(EngineError::from(e));
    }
    let (out, err) = match pipes {
        Some((o, e)) => (Some(o), Some(e)),
        None => (None, None),
    };
    Ok(Running {
        pid: Pid::from_raw(created.record.pid),
        out,
        err,
        master: created.console_master,
        input,
    })
}

/// Did the OOM killer kill anything in the container's memory cgroup? The
/// v1 memory controller counts kills in `memory.oom_control` (`oom_kill N`),
/// cgroup v2 in `memory.events`; whichever driver the runtime used.
fn oom_killed(root: &StateRoot, id: &str) -> bool {
    let Ok(record) = root.load(id) else {
        return false;
    };
    let Ok(layout) = skiff_linux::cgroups::detect() else {
        return false;
    };
    let rel = record
        .cgroup_path
        .strip_prefix("/")
        .unwrap_or(&record.cgroup_path);
    let file = match record.cgroup_driver {
        skiff_linux::cgroups::DriverKind::V1 => layout
            .v1_mount("memory")
            .map(|m| m.join(rel).join("memory.oom_control")),
        skiff_linux::cgroups::DriverKind::V2 => layout
            .unified_mount()
            .map(|m| m.join(rel).join("memory.events")),
    };
    file.and_then(|f| fs::read_to_string(f).ok())
        .is_some_and(|text| oom_kill_count(&text) > 0)
}

/// The `oom_kill N` line of `memory.oom_control` or `memory.events`.
fn oom_kill_count(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == "oom_kill")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Write everything (a pty master may take it in pieces); errors end the copy.
fn write_all_fd(fd: &OwnedFd, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(_) => return,
        }
    }
}

fn exit_code(status: WaitStatus) -> Option<(Pid, i32)> {
    match status {
        WaitStatus::Exited(p, code) => Some((p, code)),
        WaitStatus::Signaled(p, sig, _) => Some((p, 128 + sig as i32)),
        _ => None,
    }
}

/// Read one chunk; false at end of file or on an error (EIO from a pty
/// whose other side is gone).
fn pump(fd: &OwnedFd, mut f: impl FnMut(&[u8])) -> bool {
    let mut buf = [0u8; 16 * 1024];
    match nix::unistd::read(fd, &mut buf) {
        Ok(0) => false,
        Ok(n) => {
            f(&buf[..n]);
            true
        }
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => true,
        Err(_) => false,
    }
}

/// Log the container's output until its init exits and the output is
/// drained; returns the exit code (128 + signal for a signal).
fn supervise(mut r: Running, log: &mut LogWriter, sfd: &SignalFd) -> i32 {
    let mut exit: Option<i32> = None;
    let mut deadline: Option<Instant> = None;
    loop {
        // Reap everything: we are a subreaper, orphans come to us.
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
            if let Some((p, code)) = exit_code(status) {
                if p == r.pid {
                    exit = Some(code);
                }
            }
        }
        if let Some(code) = exit {
            // Processes that kept the output open die with the pid namespace;
            // do not wait for them forever.
            let d = *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(2));
            if (r.out.is_none() && r.err.is_none() && r.master.is_none()) || Instant::now() >= d {
                log.finish();
                return code;
            }
        }
        let timeout = match deadline {
            Some(d) => PollTimeout::try_from(
                d.saturating_duration_since(Instant::now()).as_millis() as i32 + 1,
            )
            .unwrap_or(PollTimeout::ZERO),
            None => PollTimeout::NONE,
        };
        let (ready, n) = {
            let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
            let mut kinds = vec![0u8];
            for (k, fd) in [
                (1u8, &r.out),
                (2, &r.err),
                (3, &r.master),
                (4, if r.master.is_some() { &r.input } else { &None }),
            ] {
                if let Some(fd) = fd {
                    fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                    kinds.push(k);
                }
            }
            // EINTR and friends: go round again (the reap comes first).
            let n: i32 = poll(&mut fds, timeout).unwrap_or_default();
            let ready: Vec<u8> = fds
                .iter()
                .zip(&kinds)
                .filter(|(f, _)| f.revents().is_some_and(|e| !e.is_empty()))
                .map(|(_, k)| *k)
                .collect();
            (ready, n)
        };
        if n == 0 {
            continue;
        }
        for k in ready {
            match k {
                0 => while let Ok(Some(_)) = sfd.read_signal() {},
                1 => {
                    if !r
                        .out
                        .as_ref()
                        .is_some_and(|fd| pump(fd, |d| log.write(Stream::Stdout, d)))
                    {
                        r.out = None;
                    }
                }
                2 => {
                    if !r
                        .err
                        .as_ref()
                        .is_some_and(|fd| pump(fd, |d| log.write(Stream::Stderr, d)))
                    {
                        r.err = None;
                    }
                }
                3 => {
                    if !r
                        .master
                        .as_ref()
                        .is_some_and(|fd| pump(fd, |d| log.write(Stream::Stdout, d)))
                    {
                        r.master = None;
                    }
                }
                _ => {
                    let master = r.master.as_ref();
                    let ok = r.input.as_ref().is_some_and(|fd| {
                        pump(fd, |d| {
                            if let Some(m) = master {
                                write_all_fd(m, d);
                            }
                        })
                    });
                    if !ok {
                        r.input = None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kill_counts() {
        assert_eq!(
            oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            2
        );
        assert_eq!(
            oom_kill_count("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n"),
            1
        );
        assert_eq!(oom_kill_count("oom_kill_disable 0\nunder_oom 0\n"), 0);
    }
}
