//! stop, kill, rm and exec on a container the engine made.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use skiff_runtime::container;
use skiff_runtime::RuntimeError;

use crate::error::{EngineError, IoContext, Result};
use crate::net::{setup_network, teardown_network, write_etc_files};
use crate::record::{ContainerRecord, Status};
use crate::run::remove_container_dir;
use crate::{is_mountpoint, Engine, FileLock};

/// `skiff exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub args: Vec<String>,
    pub interactive: bool,
    pub tty: bool,
    pub env: Vec<String>,
    pub workdir: Option<String>,
}

fn running(s: Status) -> bool {
    matches!(s, Status::Running | Status::Restarting | Status::Created)
}

impl Engine {
    /// Send a signal to the container's main process. SIGKILL also keeps
    /// `--restart` from starting it again, as a stop does.
    pub fn kill(&self, arg: &str, signal: &str) -> Result<ContainerRecord> {
        let rec = self.find(arg)?;
        let sig = container::parse_signal(signal)?;
        if !running(rec.live_status()) {
            return Err(EngineError::WrongState {
                name: rec.name.clone(),
                status: rec.live_status().to_string(),
                hint: "only a running container can be signalled".into(),
            });
        }
        if sig == Signal::SIGKILL {
            self.mark_stopped(&rec)?;
        }
        container::kill(&self.runtime_root(), &rec.id, sig, false)?;
        Ok(rec)
    }

    fn mark_stopped(&self, rec: &ContainerRecord) -> Result<()> {
        let marker = self.stop_marker(&rec.id);
        std::fs::write(&marker, b"").ctx(|| format!("cannot write {}", marker.display()))
    }

    /// Wait until the monitor recorded an exit (or is gone).
    fn wait_exited(&self, id: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            match self.load(id) {
                Ok(r) if running(r.live_status()) => {}
                _ => return true,
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The image's stop signal, then SIGKILL after `timeout`.
    pub fn stop(&self, arg: &str, timeout: Duration) -> Result<ContainerRecord> {
        let rec = self.find(arg)?;
        if rec.monitor_alive() {
            // Also between two runs: no restart after a stop.
            self.mark_stopped(&rec)?;
        }
        if !running(rec.live_status()) {
            return Ok(rec);
        }
        let root = self.runtime_root();
        let sig = container::parse_signal(&rec.stop_signal)?;
        match container::kill(&root, &rec.id, sig, false) {
            // Between two runs of a restarting container there is nothing to signal.
            Ok(()) | Err(RuntimeError::NotFound(_) | RuntimeError::WrongState { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if self.wait_exited(&rec.id, timeout) {
            return Ok(rec);
        }
        let _ = container::kill(&root, &rec.id, Signal::SIGKILL, true);
        if !self.wait_exited(&rec.id, Duration::from_secs(10)) {
            return Err(EngineError::Other(format!(
                "container {:?} did not exit after SIGKILL; see `skiff inspect {}`",
                rec.name, rec.name
            )));
        }
        Ok(rec)
    }

    /// Remove a container: its monitor, runtime state, cgroup, rootfs mount,
    /// record and log. A running one only with `force`.
    pub fn remove(&self, arg: &str, force: bool) -> Result<ContainerRecord> {
        let rec = self.find(arg)?;
        let status = rec.live_status();
        if running(status) {
            if !force {
                return Err(EngineError::WrongState {
                    name: rec.name.clone(),
                    status: status.to_string(),
                    hint: format!(
                        "stop it first (`skiff stop {}`) or remove it with `skiff rm -f`",
                        rec.name
                    ),
                });
            }
            self.mark_stopped(&rec)?;
            let _ = container::kill(&self.runtime_root(), &rec.id, Signal::SIGKILL, true);
            if !self.wait_exited(&rec.id, Duration::from_secs(10)) {
                return Err(EngineError::Other(format!(
                    "container {:?} did not exit after SIGKILL",
                    rec.name
                )));
            }
        } else {
            self.mark_stopped(&rec).ok();
        }
        // The monitor leaves once it sees the marker (a restart back-off, or
        // the last record write); then nobody else touches the directory.
        let deadline = Instant::now() + Duration::from_secs(5);
        while rec.monitor_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if rec.monitor_alive() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(rec.state.monitor_pid),
                Signal::SIGKILL,
            );
        }
        container::delete(&self.runtime_root(), &rec.id, true)?;
        // The monitor released the network after the last exit unless it
        // died first (killed, or the host rebooted): then it is ours to do.
        let last = self.load(&rec.id).unwrap_or_else(|_| rec.clone());
        if let Some(net) = &last.net {
            if last.state.network_released {
                skiff_net::remove_netns(&net.netns)?;
            } else {
                teardown_network(&self.data_dir, net)?;
            }
        }
        remove_container_dir(&self.container_dir(&rec.id), &self.rootfs(&rec.id))?;
        Ok(rec)
    }

    /// `skiff start`: start a created container under a new monitor, or a
    /// plain container that exited again (with a fresh network attachment,
    /// its root and volumes as they were); a running one is left as it is.
    /// A pod's container that ran once does not start again: its agent
    /// makes a new one. The caller must be single-threaded (it forks).
    pub fn start_container(&self, arg: &str) -> Result<ContainerRecord> {
        let found = self.find(arg)?;
        // One start at a time: a second one waits, then finds it running.
        let _lock = FileLock::exclusive(&self.container_dir(&found.id).join("start.lock"))?;
        let mut rec = self.load(&found.id)?;
        let never_started = rec.state.status == Some(Status::Created) && rec.state.monitor_pid == 0;
        if never_started {
            self.start(&rec, false)?;
            return self.load(&rec.id);
        }
        if rec.monitor_alive() && running(rec.live_status()) {
            return Ok(rec);
        }
        if rec.sandbox.is_some() {
            return Err(EngineError::WrongState {
                name: rec.name.clone(),
                status: rec.live_status().to_string(),
                hint: "a pod's container runs once; create a new one to run it again".into(),
            });
        }
        // The monitor of the last run may still be releasing the network.
        let deadline = Instant::now() + Duration::from_secs(10);
        while rec.monitor_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            rec = self.load(&rec.id)?;
        }
        if rec.monitor_alive() {
            return Err(EngineError::Other(format!(
                "the monitor of container {:?} (pid {}) is still running; try again",
                rec.name, rec.state.monitor_pid
            )));
        }
        self.prepare_restart(&mut rec)?;
        self.start(&rec, false)?;
        self.load(&rec.id)
    }

    /// Make an exited plain container startable again: no runtime state,
    /// no stop marker, its root mounted, its network set up anew (the old
    /// attachment was released at exit) and its state reset.
    fn prepare_restart(&self, rec: &mut ContainerRecord) -> Result<()> {
        let id = rec.id.clone();
        container::delete(&self.runtime_root(), &id, true)?;
        let marker = self.stop_marker(&id);
        match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx(|| format!("cannot remove {}", marker.display()))
            }
            _ => {}
        }
        // After a reboot an overlay root is no longer mounted (a copied one
        // is a plain directory that still holds the files).
        let rootfs = self.rootfs(&id);
        let empty = std::fs::read_dir(&rootfs).map_or(true, |mut d| d.next().is_none());
        if !is_mountpoint(&rootfs) && empty {
            let layers = rec
                .layers
                .iter()
                .map(|l| skiff_image::Digest::parse(l))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            skiff_image::snapshot::Snapshotter::new(self.store()).mount(
                &layers,
                &self.container_dir(&id).join("rw"),
                &rootfs,
                skiff_image::snapshot::MountMode::Auto,
            )?;
        }
        if let Some(old) = rec.net.clone() {
            // Whatever the last run left (nothing, if its monitor released it).
            teardown_network(&self.data_dir, &old)?;
            let subnet: skiff_net::Subnet = old.subnet.parse()?;
            let cfg =
                skiff_net::NetworkConfig::bridge(&old.network, &old.bridge, subnet, &self.data_dir);
            let net = setup_network(&cfg, &old.netns, &id, rec.network, &rec.ports)?;
            let ip = net
                .as_ref()
                .and_then(|n| n.attachment.as_ref())
                .map(|a| a.ip);
            rec.net = net;
            if let Err(e) = write_etc_files(&self.container_dir(&id), &id[..12], rec.network, ip) {
                if let Some(n) = &rec.net {
                    let _ = teardown_network(&self.data_dir, n);
                }
                return Err(e);
            }
        }
        rec.state.status = Some(crate::record::Status::Created);
        rec.state.pid = 0;
        rec.state.monitor_pid = 0;
        rec.state.monitor_start = 0;
        rec.state.error = None;
        rec.state.network_released = false;
        rec.state.oom_killed = false;
        rec.save(&self.record_path(&id))
    }

    /// Run a process in a running container, with this process's stdio (a
    /// pty proxied to it with `tty`); returns its exit code. The caller must
    /// be single-threaded (the runtime clones the process).
    pub fn exec(&self, arg: &str, opts: &ExecOptions) -> Result<i32> {
        let rec = self.find(arg)?;
        if rec.live_status() != Status::Running {
            return Err(EngineError::WrongState {
                name: rec.name.clone(),
                status: rec.live_status().to_string(),
                hint: "exec needs a running container".into(),
            });
        }
        let root = self.runtime_root();
        let state = root.load(&rec.id)?;
        let mut process = state.config.process().clone().unwrap_or_default();
        process.set_args(Some(opts.args.clone()));
        process.set_terminal(Some(opts.tty));
        if !opts.env.is_empty() {
            let mut env = process.env().clone().unwrap_or_default();
            for kv in &opts.env {
                let key = kv.split('=').next().unwrap_or_default();
                env.retain(|e| e.split('=').next() != Some(key));
                env.push(kv.clone());
            }
            process.set_env(Some(env));
        }
        if let Some(w) = &opts.workdir {
            process.set_cwd(w.into());
        }
        if !opts.interactive {
            // Without -i the process gets no input, as with docker.
            let null = std::fs::File::open("/dev/null").ctx(|| "cannot open /dev/null".into())?;
            // SAFETY: dup2 onto our own stdin descriptor.
            unsafe { libc::dup2(null.as_raw_fd(), 0) };
        }
        Ok(skiff_runtime::exec::exec(
            &root,
            skiff_runtime::exec::ExecOptions {
                id: rec.id.clone(),
                process,
                detach: false,
                pid_file: None,
                console_socket: None,
                preserve_fds: 0,
            },
        )?)
    }
}
