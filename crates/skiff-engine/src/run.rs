//! `run`: check every input, create the container (record, rootfs, bundle),
//! hand it to a monitor, and optionally follow it in the foreground.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxNamespaceType, LinuxPidsBuilder,
    LinuxResourcesBuilder, MountBuilder, Spec,
};
use skiff_image::snapshot::{MountMode, Snapshotter};
use skiff_image::spec::Overrides;
use skiff_runtime::state::StateRoot;

use crate::error::{bad_flag, EngineError, IoContext, Result};
use crate::logs::{LogFollower, LogPrinter};
use crate::net::{setup_network, teardown_network, write_etc_files};
use crate::record::{ContainerRecord, Network, NetworkState, RestartPolicy, State, Status};
use crate::volumes::{anonymous_volumes, clean_destination, VolumeMount};
use crate::{is_mountpoint, monitor, Engine};
use skiff_net::PortMapping;

/// Everything `skiff run` takes.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    /// Replaces the image's Cmd when not empty.
    pub cmd: Vec<String>,
    pub name: Option<String>,
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    /// `HOST:CONTAINER[:ro|:rw]`.
    pub volumes: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub network: Network,
    /// `-p HOST:CTR[/tcp|udp]` (bridge mode only).
    pub ports: Vec<PortMapping>,
    pub restart: RestartPolicy,
    pub auto_remove: bool,
    pub interactive: bool,
    pub tty: bool,
    pub tty_size: Option<(u16, u16)>,
}

/// A bind mount from `-v`.
#[derive(Debug)]
struct Volume {
    source: PathBuf,
    destination: String,
    readonly: bool,
}

fn parse_volume(v: &str) -> Result<Volume> {
    let parts: Vec<&str> = v.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, "rw"),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(bad_flag("-v", format!("{v:?} is not HOST:CONTAINER[:ro]"))),
    };
    let readonly = match mode {
        "ro" => true,
        "rw" => false,
        other => {
            return Err(bad_flag(
                "-v",
                format!("{v:?}: unknown mode {other:?}; use ro or rw"),
            ))
        }
    };
    if !dst.starts_with('/') {
        return Err(bad_flag(
            "-v",
            format!("{v:?}: the container path {dst:?} must be absolute"),
        ));
    }
    if !Path::new(src).is_absolute() {
        return Err(bad_flag(
            "-v",
            format!("{v:?}: the host path {src:?} must be absolute (named volumes are not supported yet)"),
        ));
    }
    let source = fs::canonicalize(src).map_err(|e| {
        bad_flag(
            "-v",
            format!("{v:?}: the host path {src:?} cannot be used ({e}); create it first"),
        )
    })?;
    Ok(Volume {
        source,
        destination: dst.to_string(),
        readonly,
    })
}

/// `512m`, `1g`, `1048576`, ... to bytes.
pub fn parse_memory(text: &str) -> Result<i64> {
    let bad = || {
        bad_flag(
            "--memory",
            format!("{text:?} is not a size; use a number with an optional b, k, m or g suffix, like 256m"),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let mult: i64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(mult).ok_or_else(bad)?;
    // The kernel needs some room for the container's own pages; docker's floor.
    if bytes < 6 << 20 {
        return Err(bad_flag(
            "--memory",
            format!("{text:?} is below the minimum of 6m"),
        ));
    }
    Ok(bytes)
}

/// `--cpus 1.5` to a CFS quota over a 100 ms period.
pub fn parse_cpus(text: &str) -> Result<(i64, u64)> {
    let cpus: f64 = text.trim().parse().map_err(|_| {
        bad_flag(
            "--cpus",
            format!("{text:?} is not a number of CPUs, like 0.5 or 2"),
        )
    })?;
    if !(cpus.is_finite() && cpus >= 0.01) {
        return Err(bad_flag(
            "--cpus",
            format!("{text:?} must be at least 0.01"),
        ));
    }
    const PERIOD: u64 = 100_000;
    Ok(((cpus * PERIOD as f64).round() as i64, PERIOD))
}

fn parse_env_file(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path)
        .map_err(|e| bad_flag("--env-file", format!("cannot read {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, _)) if !k.is_empty() => out.push(line.to_string()),
            Some(_) => {
                return Err(bad_flag(
                    "--env-file",
                    format!(
                        "{}:{}: {line:?} has no variable name",
                        path.display(),
                        n + 1
                    ),
                ))
            }
            // A bare name takes the value from our own environment, as docker does.
            None => {
                if let Ok(v) = std::env::var(line) {
                    out.push(format!("{line}={v}"));
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub(crate) fn random_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ctx(|| "cannot read /dev/urandom".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Removes a half-created container (network, mount and directory) unless
/// disarmed.
pub(crate) struct CreateGuard {
    pub(crate) data_dir: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) rootfs: PathBuf,
    pub(crate) net: Option<NetworkState>,
    pub(crate) armed: bool,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = cleanup_container(&self.data_dir, &self.dir, &self.rootfs, self.net.as_ref());
        }
    }
}

/// Tear down the network (if any), then unmount the root and remove the
/// container directory: for a container that never ran or whose monitor
/// could not release its network. Every step runs; the first error is
/// returned.
impl Engine {
    /// The runtime's `config.json` in the container's bundle, an empty log,
    /// and with `stdin` the fifo a client writes the container's input to.
    pub(crate) fn write_container_files(&self, id: &str, spec: &Spec, stdin: bool) -> Result<()> {
        let dir = self.container_dir(id);
        let bundle_config = dir.join("bundle/config.json");
        let json = serde_json::to_vec_pretty(spec)
            .map_err(|e| EngineError::Other(format!("cannot encode the runtime spec: {e}")))?;
        fs::write(&bundle_config, json)
            .ctx(|| format!("cannot write {}", bundle_config.display()))?;
        let log = self.log_path(id);
        File::create(&log).ctx(|| format!("cannot create {}", log.display()))?;
        if stdin {
            let fifo = dir.join("stdin");
            nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600))
                .ctx(|| format!("cannot create {}", fifo.display()))?;
        }
        Ok(())
    }
}

pub(crate) fn cleanup_container(
    data_dir: &Path,
    dir: &Path,
    rootfs: &Path,
    net: Option<&NetworkState>,
) -> Result<()> {
    let released = match net {
        Some(n) => teardown_network(data_dir, n),
        None => Ok(()),
    };
    let removed = remove_container_dir(dir, rootfs);
    released.and(removed)
}

/// Unmount the root (if mounted) and remove the container directory. Never
/// removes a directory with a mount still inside.
pub(crate) fn remove_container_dir(dir: &Path, rootfs: &Path) -> Result<()> {
    if is_mountpoint(rootfs) {
        nix::mount::umount2(rootfs, nix::mount::MntFlags::MNT_DETACH)
            .ctx(|| format!("cannot unmount {}", rootfs.display()))?;
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).ctx(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// What the runtime spec is built from, besides the options and the image.
struct SpecInputs<'a> {
    env: Vec<String>,
    volumes: &'a [Volume],
    resources: oci_spec::runtime::LinuxResources,
    /// The pinned network namespace to join (None: host networking).
    netns: Option<&'a Path>,
    /// (host file, container path) bind mounts for /etc.
    etc_files: &'a [(PathBuf, &'static str)],
    /// The container's directory, where anonymous volumes go.
    dir: &'a Path,
}

/// The runtime spec and what the record keeps of it.
struct BuiltSpec {
    spec: Spec,
    stop_signal: Option<String>,
    /// `-v` binds and anonymous volumes, in mount order.
    volumes: Vec<VolumeMount>,
}

fn build_spec(
    opts: &RunOptions,
    id: &str,
    config: &oci_spec::image::ImageConfiguration,
    rootfs: &Path,
    inputs: SpecInputs<'_>,
) -> Result<BuiltSpec> {
    let SpecInputs {
        env,
        volumes,
        resources,
        netns,
        etc_files,
        dir,
    } = inputs;
    let mut base = skiff_runtime::spec::default_spec(false);
    if let Some(p) = base.process_mut() {
        p.set_terminal(Some(opts.tty));
    }
    if let Some(root) = base.root_mut() {
        // A container's root is its own writable overlay, as with docker.
        root.set_readonly(Some(false));
        root.set_path(PathBuf::from("rootfs"));
    }
    base.set_hostname(Some(id[..12].to_string()));
    let overrides = Overrides {
        entrypoint: opts.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        }),
        cmd: (!opts.cmd.is_empty()).then(|| opts.cmd.clone()),
        env,
        workdir: opts.workdir.clone(),
        user: opts.user.clone(),
    };
    let image_spec = skiff_image::spec::image_spec(config, rootfs, base, &overrides)?;
    let mut spec = image_spec.spec;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    // Before the volumes, so a `-v` onto /etc/hosts (say) still wins.
    for (source, dest) in etc_files {
        mounts.push(
            MountBuilder::default()
                .destination(PathBuf::from(dest))
                .typ("bind")
                .source(source.clone())
                .options(vec!["bind".to_string(), "rprivate".to_string()])
                .build()
                .map_err(|e| EngineError::Other(format!("cannot build the {dest} mount: {e}")))?,
        );
    }
    let taken: Vec<String> = volumes
        .iter()
        .map(|v| clean_destination(&v.destination))
        .collect();
    let mut all: Vec<VolumeMount> = volumes
        .iter()
        .map(|v| VolumeMount {
            destination: v.destination.clone(),
            source: v.source.clone(),
            anonymous: false,
            readonly: v.readonly,
        })
        .collect();
    all.extend(anonymous_volumes(rootfs, dir, &image_spec.volumes, &taken)?);
    // Parents before children (`-v /h:/srv` before an image's /srv/data),
    // as docker orders them; the sort is stable, so otherwise as given.
    all.sort_by_key(|v| clean_destination(&v.destination).matches('/').count());
    for v in &all {
        let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
        if v.readonly {
            options.push("ro".to_string());
        }
        mounts.push(
            MountBuilder::default()
                .destination(PathBuf::from(&v.destination))
                .typ("bind")
                .source(v.source.clone())
                .options(options)
                .build()
                .map_err(|e| {
                    EngineError::Other(format!(
                        "cannot build the volume mount at {}: {e}",
                        v.destination
                    ))
                })?,
        );
    }
    spec.set_mounts(Some(mounts));
    if let Some(linux) = spec.linux_mut() {
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        if opts.network == Network::Host {
            namespaces.retain(|n| n.typ() != LinuxNamespaceType::Network);
        }
        // Join the pinned namespace the network was set up in, rather than
        // a new empty one.
        if let Some(path) = netns {
            for n in namespaces.iter_mut() {
                if n.typ() == LinuxNamespaceType::Network {
                    n.set_path(Some(path.to_path_buf()));
                }
            }
        }
        linux.set_namespaces(Some(namespaces));
        linux.set_resources(Some(resources));
    }
    Ok(BuiltSpec {
        spec,
        stop_signal: image_spec.stop_signal,
        volumes: all,
    })
}

fn build_resources(opts: &RunOptions) -> Result<oci_spec::runtime::LinuxResources> {
    let mut b = LinuxResourcesBuilder::default();
    let other = |e: oci_spec::OciSpecError| EngineError::Other(format!("resources: {e}"));
    if let Some(m) = &opts.memory {
        let bytes = parse_memory(m)?;
        b = b.memory(
            LinuxMemoryBuilder::default()
                .limit(bytes)
                .build()
                .map_err(other)?,
        );
    }
    if let Some(c) = &opts.cpus {
        let (quota, period) = parse_cpus(c)?;
        b = b.cpu(
            LinuxCpuBuilder::default()
                .quota(quota)
                .period(period)
                .build()
                .map_err(other)?,
        );
    }
    if let Some(n) = opts.pids_limit {
        if n < 1 {
            return Err(bad_flag("--pids-limit", format!("{n} must be at least 1")));
        }
        b = b.pids(
            LinuxPidsBuilder::default()
                .limit(n)
                .build()
                .map_err(other)?,
        );
    }
    b.build().map_err(other)
}

impl Engine {
    /// The one image `image` names in the store, and its config.
    pub(crate) fn find_image(
        &self,
        image: &str,
    ) -> Result<(
        skiff_image::store::ImageRecord,
        oci_spec::image::ImageConfiguration,
    )> {
        let images = self
            .store()
            .find_images(image)
            .map_err(|_| EngineError::NoImage(image.to_string()))?;
        let found = match images.as_slice() {
            [] => return Err(EngineError::NoImage(image.to_string())),
            [one] => one.clone(),
            many => {
                return Err(EngineError::Other(format!(
                    "{:?} matches several images ({}); name one",
                    image,
                    many.iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        let config_bytes = self.store().read_blob(&found.config, 4 << 20)?;
        let config = skiff_image::manifest::parse_config("image config", &config_bytes)?;
        Ok((found, config))
    }

    /// Check every input and create the container: record, rootfs mount and
    /// bundle. Nothing is left behind on error.
    pub fn create(&self, opts: &RunOptions) -> Result<ContainerRecord> {
        // Everything that can be checked without touching the disk, first.
        if opts.auto_remove && opts.restart != RestartPolicy::No {
            return Err(bad_flag(
                "--rm",
                "cannot be combined with --restart (a container removed on exit cannot be restarted); drop one",
            ));
        }
        opts.network.check_ports(&opts.ports)?;
        let resources = build_resources(opts)?;
        let volumes = opts
            .volumes
            .iter()
            .map(|v| parse_volume(v))
            .collect::<Result<Vec<_>>>()?;
        let mut env = Vec::new();
        for f in &opts.env_files {
            env.extend(parse_env_file(f)?);
        }
        env.extend(opts.env.iter().cloned());
        if let Some(name) = &opts.name {
            if !valid_name(name) {
                return Err(bad_flag(
                    "--name",
                    format!("{name:?} is not a valid name; use letters, digits, '_', '.' and '-', starting with a letter or digit"),
                ));
            }
        }
        let (image, config) = self.find_image(&opts.image)?;

        let _lock = self.name_lock()?;
        let id = random_id()?;
        let name = opts.name.clone().unwrap_or_else(|| id[..12].to_string());
        if let Some(other) = self.list()?.into_iter().find(|r| r.name == name) {
            return Err(EngineError::NameInUse { name, id: other.id });
        }
        let dir = self.container_dir(&id);
        fs::create_dir(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        let rootfs = self.rootfs(&id);
        let mut guard = CreateGuard {
            data_dir: self.data_dir.clone(),
            dir: dir.clone(),
            rootfs: rootfs.clone(),
            net: None,
            armed: true,
        };
        let layers: Vec<_> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        // The network (CNI plugin runs, mostly waiting on process start-up
        // and the kernel) is set up while the root is mounted. The thread is
        // joined here, so the client is single-threaded again for `start`.
        let netns = self.netns_path(&id);
        let (mounted, net) = std::thread::scope(|s| {
            let net = s.spawn(|| setup_network(&self.net, &netns, &id, opts.network, &opts.ports));
            let mounted = Snapshotter::new(self.store()).mount(
                &layers,
                &dir.join("rw"),
                &rootfs,
                MountMode::Auto,
            );
            (mounted, net.join())
        });
        // Either may have failed; the guard undoes whatever the other did.
        guard.net = net.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        mounted?;
        let ip = guard
            .net
            .as_ref()
            .and_then(|n| n.attachment.as_ref())
            .map(|a| a.ip);
        let etc_files = write_etc_files(&dir, &id[..12], opts.network, ip)?;
        let BuiltSpec {
            spec,
            stop_signal,
            volumes,
        } = build_spec(
            opts,
            &id,
            &config,
            &rootfs,
            SpecInputs {
                env,
                volumes: &volumes,
                resources,
                netns: guard.net.as_ref().map(|n| n.netns.as_path()),
                etc_files: &etc_files,
                dir: &dir,
            },
        )?;
        self.write_container_files(&id, &spec, opts.interactive)?;
        let record = ContainerRecord {
            id: id.clone(),
            name,
            image: opts.image.clone(),
            image_id: image.config.to_string(),
            layers: layers.iter().map(|d| d.to_string()).collect(),
            created: skiff_runtime::state::now_rfc3339(),
            args: spec
                .process()
                .as_ref()
                .and_then(|p| p.args().clone())
                .unwrap_or_default(),
            restart: opts.restart,
            auto_remove: opts.auto_remove,
            tty: opts.tty,
            interactive: opts.interactive,
            stop_signal: stop_signal.unwrap_or_else(|| "SIGTERM".to_string()),
            network: opts.network,
            ports: opts.ports.clone(),
            net: guard.net.clone(),
            tty_size: opts.tty_size,
            volumes,
            sandbox: None,
            labels: Default::default(),
            state: State {
                status: Some(Status::Created),
                ..State::default()
            },
        };
        record.save(&self.record_path(&id))?;
        guard.armed = false;
        Ok(record)
    }

    /// Start a created container under a new monitor and return once it
    /// runs. `attach` keeps stdin (for `-i`) and the exit status for a
    /// foreground client. The caller must be single-threaded (it forks).
    pub fn start(&self, record: &ContainerRecord, attach: bool) -> Result<Started> {
        let id = &record.id;
        // The client holds the fifo's write end before the monitor opens it,
        // so the container does not see an end of file before we are there.
        let stdin = if attach && record.interactive {
            let fifo = self.container_dir(id).join("stdin");
            let reader = nix::fcntl::open(
                &fifo,
                OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ctx(|| format!("cannot open {}", fifo.display()))?;
            let writer = nix::fcntl::open(&fifo, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
                .ctx(|| format!("cannot open {}", fifo.display()))?;
            drop(reader);
            Some(writer)
        } else {
            None
        };
        let log =
            File::open(self.log_path(id)).ctx(|| "cannot open the container log".to_string())?;
        let status = match monitor::spawn(self, record) {
            Ok(s) => s,
            Err(e) => {
                self.discard_unstarted(record, &e.to_string());
                return Err(e);
            }
        };
        let mut reader = StatusReader {
            file: status,
            buf: Vec::new(),
        };
        match reader.line(None)? {
            Line::Text(line) if line == "ok" => Ok(Started {
                id: id.clone(),
                status: reader,
                log: LogFollower::new(log),
                stdin,
                proxy_signals: !record.tty,
                runtime_root: self.runtime_root(),
                wait_for_removal: record.auto_remove,
            }),
            Line::Text(line) => Err(EngineError::Other(
                line.strip_prefix("err ").unwrap_or(&line).to_string(),
            )),
            Line::Eof | Line::Pending => {
                // The monitor died without a word; it cannot have cleaned up.
                let _ = skiff_runtime::container::delete(&self.runtime_root(), id, true);
                let msg = "the container monitor exited before the container started";
                self.discard_unstarted(record, msg);
                Err(EngineError::Other(msg.into()))
            }
        }
    }
}

impl Engine {
    /// A container whose start failed before its monitor could clean up: a
    /// new plain one is removed (as a failed `run` leaves nothing); a pod's,
    /// or one that ran before, stays as exited with the error and without
    /// its network.
    fn discard_unstarted(&self, record: &ContainerRecord, error: &str) {
        let id = &record.id;
        if record.kept_after_failed_start() {
            let mut rec = self.load(id).unwrap_or_else(|_| record.clone());
            if let Some(net) = &rec.net {
                rec.state.network_released = teardown_network(&self.data_dir, net).is_ok();
            }
            rec.state.status = Some(Status::Exited);
            rec.state.exit_code = Some(128);
            rec.state.pid = 0;
            rec.state.error = Some(error.to_string());
            rec.state.finished_at = Some(skiff_runtime::state::now_rfc3339());
            let _ = rec.save(&self.record_path(id));
            return;
        }
        let _ = cleanup_container(
            &self.data_dir,
            &self.container_dir(id),
            &self.rootfs(id),
            record.net.as_ref(),
        );
    }
}

/// Lines from the monitor: `ok`, `err MESSAGE`, `exit CODE`.
pub(crate) struct StatusReader {
    file: File,
    buf: Vec<u8>,
}

impl StatusReader {
    /// The next line, waiting at most `timeout` (None: for ever).
    fn line(&mut self, timeout: Option<Duration>) -> Result<Line> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..=pos);
                return Ok(Line::Text(line));
            }
            if let Some(t) = timeout {
                let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
                let ms = PollTimeout::try_from(t.as_millis() as i32).unwrap_or(PollTimeout::NONE);
                match poll(&mut fds, ms) {
                    Ok(0) => return Ok(Line::Pending),
                    Err(nix::errno::Errno::EINTR) => continue,
                    _ => {}
                }
            }
            let mut chunk = [0u8; 512];
            match self.file.read(&mut chunk) {
                Ok(0) => return Ok(Line::Eof),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).ctx(|| "cannot read from the monitor".to_string()),
            }
        }
    }
}

enum Line {
    Text(String),
    /// The monitor is gone (or closed its end).
    Eof,
    /// Nothing within the timeout.
    Pending,
}

/// A container that is running, seen from the client that started it.
pub struct Started {
    pub id: String,
    status: StatusReader,
    log: LogFollower,
    stdin: Option<OwnedFd>,
    /// Signals to the client are forwarded to the container (not with `-t`).
    proxy_signals: bool,
    runtime_root: StateRoot,
    /// `--rm`: return only once the monitor has removed the container.
    wait_for_removal: bool,
}

/// What a foreground client passes on to the container's main process, as
/// docker's `--sig-proxy` does.
const FORWARDED_SIGNALS: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// The forwarded signals, blocked and read from a signalfd for as long as
/// the client follows the container, so they end the container (or not, if
/// it traps them) rather than the client. SIGKILL cannot be caught: a
/// client killed with it leaves the container running.
struct SignalProxy {
    fd: SignalFd,
    old_mask: SigSet,
}

impl SignalProxy {
    /// Must run before the client starts any thread, which inherits the
    /// mask: a thread with the signals unblocked would die of them.
    fn new() -> Result<SignalProxy> {
        let mut set = SigSet::empty();
        for s in FORWARDED_SIGNALS {
            set.add(s);
        }
        let mut old_mask = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old_mask))
            .ctx(|| "cannot block signals to forward them to the container".into())?;
        match SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
            Ok(fd) => Ok(SignalProxy { fd, old_mask }),
            Err(e) => {
                let _ = nix::sys::signal::pthread_sigmask(
                    SigmaskHow::SIG_SETMASK,
                    Some(&old_mask),
                    None,
                );
                Err(e).ctx(|| "cannot create a signalfd to forward signals".into())
            }
        }
    }

    /// Pass every pending signal on to the container's main process.
    fn forward(&mut self, root: &StateRoot, id: &str, err: &mut dyn Write) {
        while let Ok(Some(info)) = self.fd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            match skiff_runtime::container::kill(root, id, sig, false) {
                // Exited (or between two runs of --restart): the exit report
                // follows, nothing to deliver it to.
                Ok(())
                | Err(
                    skiff_runtime::RuntimeError::NotFound(_)
                    | skiff_runtime::RuntimeError::WrongState { .. },
                ) => {}
                Err(e) => {
                    let _ = writeln!(err, "skiff: cannot forward {sig} to the container: {e}");
                }
            }
        }
    }
}

impl Drop for SignalProxy {
    fn drop(&mut self) {
        // Signals that came after the exit report are dropped with the
        // signalfd instead of killing the client before it reports the code.
        while let Ok(Some(_)) = self.fd.read_signal() {}
        let _ =
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old_mask), None);
    }
}

impl Started {
    /// Follow the container's output until it exits; returns its exit code.
    /// Stdin is forwarded when the container was created with `-i`.
    pub fn attach(mut self, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
        // Before the stdin thread, which must inherit the blocked mask.
        let mut proxy = if self.proxy_signals {
            Some(SignalProxy::new()?)
        } else {
            None
        };
        if let Some(fd) = self.stdin.take() {
            // The pump is a thread: the client no longer forks, and a blocking
            // read of our stdin must not hold up the output.
            std::thread::spawn(move || {
                let mut fifo = File::from(fd);
                let mut stdin = std::io::stdin().lock();
                let mut buf = [0u8; 8192];
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if fifo.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                // Dropping the fifo ends the container's input.
            });
        }
        let mut printer = LogPrinter::new(out, err, false);
        let code = loop {
            if let Some(p) = proxy.as_mut() {
                p.forward(&self.runtime_root, &self.id, printer.err);
            }
            for r in self.log.read_new()? {
                let _ = printer.print(&r);
            }
            match self.status.line(Some(Duration::from_millis(20)))? {
                Line::Text(line) => {
                    if let Some(code) = line.strip_prefix("exit ") {
                        break code.trim().parse().unwrap_or(125);
                    }
                }
                // The monitor went away without reporting an exit.
                Line::Eof => break 125,
                Line::Pending => {}
            }
        };
        // The monitor wrote every record before it reported the exit.
        for r in self.log.read_new()? {
            let _ = printer.print(&r);
        }
        if self.wait_for_removal {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < deadline {
                if let Line::Eof = self.status.line(Some(Duration::from_millis(20)))? {
                    break;
                }
            }
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("256m").unwrap(), 256 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("10485760").unwrap(), 10 << 20);
        assert!(parse_memory("lots")
            .unwrap_err()
            .to_string()
            .contains("--memory"));
        assert!(parse_memory("1k").is_err());
    }

    #[test]
    fn cpus_to_quota() {
        assert_eq!(parse_cpus("1.5").unwrap(), (150_000, 100_000));
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("x").is_err());
    }

    #[test]
    fn volumes_are_checked() {
        assert!(parse_volume("/tmp:/data:ro").unwrap().readonly);
        let e = parse_volume("/does/not/exist:/data")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("-v") && e.contains("/does/not/exist"), "{e}");
        assert!(parse_volume("/tmp:data").is_err());
        assert!(parse_volume("/tmp:/data:rx").is_err());
    }

    #[test]
    fn names() {
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
    }
}
