//! The lifecycle operations of the runtime spec: create, start, kill, delete,
//! state, plus runc's pause, resume, ps, events and update.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxNamespaceType, LinuxResources, Spec};
use skiff_linux::cgroups::{self, CgroupManager, DriverKind};
use skiff_linux::process::{self, Channel};
use skiff_linux::{devices, namespaces};

use crate::error::{invalid, Result, RuntimeError, SysContext};
use crate::hooks;
use crate::init::{
    self, ConsoleTarget, InitPlan, MSG_ERROR_PREFIX, MSG_JOINED, MSG_READY, MSG_RUN_HOOKS,
};
use crate::spec;
use crate::state::{self, Record, StateRoot, Status};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
    pub systemd_cgroup: bool,
    /// Foreground `run` with a terminal and no console socket: the runtime
    /// receives the pty master itself and proxies it.
    pub proxy_terminal: bool,
}

/// A container that reached `created`.
pub struct Created {
    pub record: Record,
    pub console_master: Option<OwnedFd>,
}

/// Undo a half-made container on any error: kill its init, remove its cgroup
/// and its state directory.
struct Rollback<'a> {
    root: &'a StateRoot,
    id: String,
    cgroup: Option<Box<dyn CgroupManager>>,
    child: Option<Pid>,
    armed: bool,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.child {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.destroy() {
                tracing::warn!("cleanup: {e}");
            }
        }
        let _ = self.root.remove(&self.id);
    }
}

/// The cgroup driver: the host's default unless SKIFF_CGROUP_DRIVER says otherwise
/// (used to run the v2 driver on a hybrid host's unified hierarchy).
fn driver_for(layout: &cgroups::Layout) -> Result<DriverKind> {
    match std::env::var("SKIFF_CGROUP_DRIVER").as_deref() {
        Ok("v1") => Ok(DriverKind::V1),
        Ok("v2") => Ok(DriverKind::V2),
        Ok(other) => Err(RuntimeError::Usage(format!(
            "SKIFF_CGROUP_DRIVER={other:?} is not v1 or v2"
        ))),
        Err(_) => Ok(layout.default_driver()),
    }
}

/// Device cgroup rules: the spec's own, then the default devices and the spec's
/// devices allowed, so that a "deny all" rule does not lock out /dev/null.
fn resources_with_device_rules(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut rules: Vec<LinuxDeviceCgroup> = resources.devices().clone().unwrap_or_default();
    if !rules.is_empty() {
        for dev in devices::default_devices()
            .iter()
            .chain(
                linux
                    .and_then(|l| l.devices().as_ref())
                    .into_iter()
                    .flatten(),
            )
            // A fifo is not a device; the device cgroup has no rule type for it.
            .filter(|d| d.typ() != oci_spec::runtime::LinuxDeviceType::P)
        {
            rules.push(dev.into());
        }
        // /dev/pts/* and /dev/ptmx for terminals.
        for (major, minor) in [(136, None), (5, Some(2))] {
            rules.push(LinuxDeviceCgroup::from(
                &oci_spec::runtime::LinuxDeviceBuilder::default()
                    .typ(oci_spec::runtime::LinuxDeviceType::C)
                    .major(major)
                    .minor(minor.unwrap_or(0))
                    .build()
                    .unwrap_or_default(),
            ));
            if minor.is_none() {
                if let Some(last) = rules.last_mut() {
                    last.set_minor(None);
                }
            }
        }
        resources.set_devices(Some(rules));
    }
    resources
}

pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Created> {
    let bundle = spec::load_bundle(&opts.bundle)?;
    let spec = &bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process", "is required to create a container"))?;
    let terminal = process.terminal() == Some(true);
    if terminal && opts.console_socket.is_none() && !opts.proxy_terminal {
        return Err(RuntimeError::Usage(
            "process.terminal is true, so --console-socket is required to receive the pty (or set terminal to false)".into(),
        ));
    }
    let linux = spec.linux().clone().unwrap_or_default();
    let cgroup_path = cgroups::container_cgroup_path(
        linux.cgroups_path().as_ref().and_then(|p| p.to_str()),
        &opts.id,
        opts.systemd_cgroup,
    )?;
    let layout = cgroups::detect()?;
    let driver = driver_for(&layout)?;

    let dir = root.claim(&opts.id)?;
    let mut rollback = Rollback {
        root,
        id: opts.id.clone(),
        cgroup: None,
        child: None,
        armed: true,
    };
    let rootless = !nix::unistd::geteuid().is_root();
    let cg = cgroups::manager(&layout, &cgroup_path, driver)?;
    // The directories exist before the init starts: its /sys/fs/cgroup bind
    // mounts them. Limits and the move come later, overlapped with its setup.
    let has_cgroup = match cg.create() {
        Ok(()) => {
            rollback.cgroup = Some(cgroups::manager(&layout, &cgroup_path, driver)?);
            true
        }
        Err(e) if rootless && linux.resources().is_none() => {
            tracing::warn!("rootless: running without a cgroup: {e}");
            false
        }
        Err(e) => return Err(e.into()),
    };

    let fifo = dir.join(state::EXEC_FIFO);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .sys(|| format!("cannot create {}", fifo.display()))?;
    let fifo_fd = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys(|| format!("cannot open {}", fifo.display()))?;

    let console = ConsoleTarget::for_process(opts.console_socket.as_deref(), terminal)?;

    let mut clone_flags = CloneFlags::empty();
    let mut unshare_later = CloneFlags::empty();
    let mut join = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        let flag = namespaces::clone_flag(ns.typ());
        match (ns.typ(), ns.path()) {
            (LinuxNamespaceType::Pid | LinuxNamespaceType::Time, Some(path)) => {
                // These apply to the children of the caller, so the runtime joins
                // them itself right before cloning the init.
                let fd =
                    namespaces::open_ns(path).sys(|| format!("cannot open {}", path.display()))?;
                nix::sched::setns(&fd, flag)
                    .sys(|| format!("cannot join {} namespace {}", ns.typ(), path.display()))?;
            }
            (LinuxNamespaceType::Time, None) => {
                nix::sched::unshare(flag).sys(|| "cannot create a time namespace".to_string())?;
                write_time_offsets(&linux)?;
            }
            (LinuxNamespaceType::Cgroup, None) => unshare_later |= flag,
            (_, Some(path)) => join.push((ns.typ(), path.clone())),
            (_, None) => clone_flags |= flag,
        }
    }
    if clone_flags.contains(CloneFlags::CLONE_NEWUSER)
        && join.iter().any(|(t, _)| *t != LinuxNamespaceType::User)
    {
        return Err(RuntimeError::Unsupported(
            "linux.namespaces: joining an existing namespace by path together with a new user namespace is not supported; join the user namespace too, or create all namespaces new".into(),
        ));
    }

    let spec_hooks = spec.hooks().clone().unwrap_or_default();
    let runtime_hooks = spec_hooks
        .prestart()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
        || spec_hooks
            .create_runtime()
            .as_ref()
            .is_some_and(|h| !h.is_empty());
    let (parent_end, child_end) = Channel::pair().sys(|| "socketpair".to_string())?;
    let plan = InitPlan {
        spec,
        process,
        rootfs: &bundle.rootfs,
        bundle: &bundle.dir,
        cgroup_path: &cgroup_path,
        join,
        clone_flags,
        unshare_later,
        cgroup_before_mounts: layout.hierarchy() == cgroups::Hierarchy::Unified
            && unshare_later.contains(CloneFlags::CLONE_NEWCGROUP),
        fifo: fifo_fd,
        console,
        no_pivot: opts.no_pivot,
        preserve_fds: opts.preserve_fds,
        runtime_hooks,
    };
    // SAFETY: the runtime is single-threaded (the CLI starts no threads), so the
    // child's copy of the process is consistent.
    let child = match unsafe { process::clone_process(clone_flags) }
        .sys(|| "cannot create the container process".to_string())?
    {
        None => {
            drop(parent_end);
            init::run_init(plan, child_end)
        }
        Some(pid) => pid,
    };
    drop(child_end);
    drop(plan);
    rollback.child = Some(child);

    if clone_flags.contains(CloneFlags::CLONE_NEWUSER) {
        write_id_maps(child, &linux, rootless)?;
    }
    let record = Record {
        id: opts.id.clone(),
        pid: child.as_raw(),
        pid_start: process::start_time(child.as_raw()).unwrap_or_default(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        owner: state::owner_of(&dir),
        cgroup_path: cgroup_path.clone(),
        cgroup_driver: driver,
        config: spec.clone(),
    };
    let creating = record.hook_state(Status::Creating);
    parent_end
        .send(&creating)
        .sys(|| "cannot reach the container process".to_string())?;
    // The init builds its rootfs meanwhile, while we set its limits and move
    // it in (a move can wait a whole RCU grace period). It waits for
    // MSG_JOINED before it creates its cgroup namespace, and before anything of
    // the user's runs.
    if has_cgroup {
        cg.apply(&resources_with_device_rules(spec))?;
        cg.add_process(child.as_raw())?;
    }
    // If the init already failed, this send fails too; its own error message
    // is waiting in the channel and is what the loop below reports.
    let _ = parent_end.send(MSG_JOINED);
    let mut console_master = None;
    loop {
        let (msg, mut fds) = parent_end
            .recv_with_fds()
            .sys(|| "waiting for the container process".to_string())?;
        if msg == MSG_READY {
            break;
        } else if msg == MSG_RUN_HOOKS {
            hooks::run_all(
                "prestart",
                spec_hooks.prestart().as_deref().unwrap_or_default(),
                &creating,
            )?;
            hooks::run_all(
                "createRuntime",
                spec_hooks.create_runtime().as_deref().unwrap_or_default(),
                &creating,
            )?;
            parent_end
                .send(b"ok")
                .sys(|| "cannot resume the container process".to_string())?;
        } else if msg == b"console" && !fds.is_empty() {
            console_master = Some(fds.remove(0));
        } else if let Some(message) = msg.strip_prefix(MSG_ERROR_PREFIX) {
            return Err(RuntimeError::Init(
                String::from_utf8_lossy(message).into_owned(),
            ));
        } else if msg.is_empty() {
            return Err(RuntimeError::Init(
                "the container process exited before it was ready".into(),
            ));
        }
    }
    if let Some(pid_file) = &opts.pid_file {
        state::write_atomic(pid_file, child.as_raw().to_string().as_bytes())?;
    }
    root.save(&record)?;
    rollback.armed = false;
    Ok(Created {
        record,
        console_master,
    })
}

fn write_time_offsets(linux: &oci_spec::runtime::Linux) -> Result<()> {
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", text)
        .sys(|| "linux.timeOffsets: cannot write /proc/self/timens_offsets".to_string())
}

fn write_id_maps(child: Pid, linux: &oci_spec::runtime::Linux, rootless: bool) -> Result<()> {
    let render = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    let proc_dir = PathBuf::from(format!("/proc/{child}"));
    if rootless {
        // An unprivileged writer may only map its own ids, and only after
        // giving up setgroups.
        std::fs::write(proc_dir.join("setgroups"), "deny")
            .sys(|| "cannot write setgroups".to_string())?;
    }
    std::fs::write(proc_dir.join("uid_map"), render(linux.uid_mappings()))
        .sys(|| "linux.uidMappings: cannot write uid_map".to_string())?;
    std::fs::write(proc_dir.join("gid_map"), render(linux.gid_mappings()))
        .sys(|| "linux.gidMappings: cannot write gid_map".to_string())
}

pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    let record = root.load(id)?;
    record.require(root, "start", &[Status::Created], "created")?;
    let fifo_path = record.fifo_path(root);
    let open_fifo = |flags: nix::fcntl::OFlag| {
        nix::fcntl::open(
            &fifo_path,
            flags | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| {
            RuntimeError::Init(format!(
                "container {id:?} is no longer waiting to start ({e}); delete it and create it again"
            ))
        })
    };
    // A read end of our own, never read from: it reports POLLHUP once the last
    // writer is gone, and the init's own (close-on-exec) end is that writer.
    let watch = open_fifo(nix::fcntl::OFlag::O_RDONLY)?;
    let fifo = open_fifo(nix::fcntl::OFlag::O_WRONLY)?;
    nix::unistd::write(&fifo, &[0]).sys(|| "cannot signal the container to start".to_string())?;
    drop(fifo);
    let _ = std::fs::remove_file(&fifo_path);
    wait_for_exec(&watch);
    if let Some(poststart) = record
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststart().clone())
    {
        hooks::run_all_warn("poststart", &poststart, &record.hook_state(Status::Running));
    }
    Ok(())
}

/// Return once the init has executed the user's program (its end of the exec
/// fifo closes on exec), so that `start` returning means the program runs and
/// poststart hooks see it, as the runtime spec orders. Gives up after a few
/// seconds.
fn wait_for_exec(watch: &OwnedFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) | Ok(0) => return,
            Ok(_) => {}
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        // The init's end closes on exec, or when it dies: either way, done.
        if revents.contains(PollFlags::POLLHUP) {
            return;
        }
        // POLLIN: the init has not read its byte yet; once it has, poll blocks
        // until the hang-up.
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// Parse `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n)
            .map_err(|_| RuntimeError::Usage(format!("{n} is not a valid signal number")));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| {
        RuntimeError::Usage(format!(
            "{text:?} is not a signal name (try TERM, KILL, HUP or a number)"
        ))
    })
}

pub fn kill(root: &StateRoot, id: &str, signal: Signal, all: bool) -> Result<()> {
    let record = root.load(id)?;
    record.require(
        root,
        "kill",
        &[Status::Created, Status::Running, Status::Paused],
        "created, running or paused",
    )?;
    if all {
        record.cgroup()?.kill_all(signal as i32)?;
    } else {
        nix::sys::signal::kill(Pid::from_raw(record.pid), signal)
            .sys(|| format!("cannot send {signal} to {}", record.pid))?;
    }
    Ok(())
}

fn wait_until_dead(record: &Record, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_micros(100);
    while record.is_alive() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    true
}

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let record = match root.load(id) {
        Err(RuntimeError::NotFound(_)) if force => return Ok(()),
        other => other?,
    };
    let status = record.status(root);
    let cg = record.cgroup();
    match status {
        Status::Stopped => {}
        // The runtime spec makes deleting anything but a stopped container an
        // error, a created one included (runc deviates here); --force kills first.
        Status::Created | Status::Running | Status::Paused if force => {
            if let Ok(cg) = &cg {
                let _ = cg.kill_all(Signal::SIGKILL as i32);
                if status == Status::Paused {
                    let _ = cg.thaw();
                }
            }
            let _ = nix::sys::signal::kill(Pid::from_raw(record.pid), Signal::SIGKILL);
        }
        _ => {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                action: "delete",
                status: status.to_string(),
                expected: "stopped (stop it first, or use --force)",
            })
        }
    }
    if !wait_until_dead(&record, Duration::from_secs(10)) {
        return Err(RuntimeError::Init(format!(
            "container {id:?} (pid {}) did not exit after SIGKILL",
            record.pid
        )));
    }
    if let Ok(cg) = &cg {
        // Stragglers outside the init's pid namespace would keep the cgroup busy.
        let _ = cg.kill_all(Signal::SIGKILL as i32);
        cg.destroy()?;
    }
    if let Some(poststop) = record
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststop().clone())
    {
        hooks::run_all_warn("poststop", &poststop, &record.hook_state(Status::Stopped));
    }
    root.remove(id)
}

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let record = root.load(id)?;
    record.require(root, "pause", &[Status::Running], "running")?;
    Ok(record.cgroup()?.freeze()?)
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let record = root.load(id)?;
    record.require(root, "resume", &[Status::Paused], "paused")?;
    Ok(record.cgroup()?.thaw()?)
}

/// PIDs of every process in the container.
pub fn pids(root: &StateRoot, id: &str) -> Result<Vec<i32>> {
    let record = root.load(id)?;
    if record.status(root) == Status::Stopped {
        return Ok(Vec::new());
    }
    Ok(record.cgroup()?.pids()?)
}

pub fn stats_json(record: &Record) -> Result<serde_json::Value> {
    let stats = record.cgroup()?.stats()?;
    Ok(serde_json::json!({"type": "stats", "id": record.id, "data": stats}))
}

/// Change the resources of a running container.
pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let mut record = root.load(id)?;
    record.require(
        root,
        "update",
        &[Status::Created, Status::Running, Status::Paused],
        "created, running or paused",
    )?;
    record.cgroup()?.apply(resources)?;
    // Keep the stored config in step, so `state` and later updates see the new values.
    if let Some(linux) = record.config.linux_mut() {
        let mut merged = linux.resources().clone().unwrap_or_default();
        merge_resources(&mut merged, resources);
        linux.set_resources(Some(merged));
    }
    root.save(&record)
}

fn merge_resources(into: &mut LinuxResources, from: &LinuxResources) {
    if from.memory().is_some() {
        into.set_memory(*from.memory());
    }
    if from.cpu().is_some() {
        into.set_cpu(from.cpu().clone());
    }
    if from.pids().is_some() {
        into.set_pids(*from.pids());
    }
    if from.block_io().is_some() {
        into.set_block_io(from.block_io().clone());
    }
    if from.unified().is_some() {
        into.set_unified(from.unified().clone());
    }
}
