//! Foreground supervision for `run` and `exec`: forward signals to the
//! container process, proxy its terminal when we hold the pty master, and
//! turn its wait status into an exit code the way shells do (128 + signal).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Result, SysContext};

/// Signals a foreground runtime relays to the container instead of dying of them.
const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
];

/// Block the forwarded signals and SIGCHLD. Call before creating the child so
/// no signal is lost in between; the child unblocks them before `execve`.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .sys(|| "sigprocmask".to_string())?;
    Ok(set)
}

fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Restores the terminal mode on drop.
struct RawMode {
    saved: Option<termios::Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

fn copy_once(from: &impl AsFd, to: &impl AsFd) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from.as_fd(), &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut off = 0;
            while off < n {
                match nix::unistd::write(to, &buf[off..n]) {
                    Ok(w) => off += w,
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

fn copy_winsize(master: &OwnedFd) {
    let mut ws: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read or write one winsize struct we own.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Wait for `pid` to exit while forwarding signals (to the whole process group
/// of a terminal, to `pid` otherwise) and proxying `master` if given.
pub fn supervise(pid: Pid, signals: &SigSet, master: Option<OwnedFd>) -> Result<i32> {
    let sfd =
        SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC).sys(|| "signalfd".to_string())?;
    let _raw = master.as_ref().map(|m| {
        copy_winsize(m);
        RawMode::enter()
    });
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = master.is_some();
    loop {
        if let Ok(status) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            if let Some(code) = exit_code(status) {
                if let Some(m) = &master {
                    // Drain what the process wrote just before exiting.
                    while poll(
                        &mut [PollFd::new(m.as_fd(), PollFlags::POLLIN)],
                        PollTimeout::ZERO,
                    )
                    .unwrap_or(0)
                        > 0
                        && copy_once(m, &stdout)
                    {}
                }
                return Ok(code);
            }
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other.sys(|| "poll".to_string())?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        if ready[0] {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32).ok();
                match sig {
                    Some(Signal::SIGCHLD) | None => {}
                    Some(Signal::SIGWINCH) => {
                        if let Some(m) = &master {
                            copy_winsize(m);
                        }
                    }
                    Some(sig) => {
                        let _ = nix::sys::signal::kill(pid, sig);
                    }
                }
            }
        }
        if let Some(m) = &master {
            if ready.get(1).copied().unwrap_or(false) && !copy_once(m, &stdout) {
                // The pty closed: the process is exiting; keep waiting for it.
                let status = waitpid(pid, None).sys(|| "waitpid".to_string())?;
                return Ok(exit_code(status).unwrap_or(1));
            }
            if ready.get(2).copied().unwrap_or(false) && !copy_once(&stdin, m) {
                stdin_open = false;
            }
        }
    }
}
