//! The runc-compatible command line: `skiff runtime [global flags] VERB ...`,
//! also reached as `skiff-runc`. Flags follow runc's names and meanings so that
//! podman, containerd's shim and scripts written for runc work unchanged.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use oci_spec::runtime::{LinuxPids, LinuxResources, Process};

use crate::container::{self, CreateOptions};
use crate::error::{Result, RuntimeError, SysContext};
use crate::exec::{self, ExecOptions};
use crate::spec;
use crate::state::{StateRoot, Status};
use crate::wait;

pub const DEFAULT_ROOT: &str = "/run/skiff/runtime";

#[derive(Debug, Parser)]
#[command(
    name = "skiff-runc",
    about = "OCI runtime: runs containers from OCI bundles (runc-compatible)",
    version
)]
pub struct RuntimeCli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Write log messages to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug messages too.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Interpret cgroupsPath as systemd's "slice:prefix:name" (managed directly through cgroupfs).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// "true", "false" or "auto". For `spec`, writes a rootless spec; otherwise
    /// rootless mode always follows the effective uid, as with runc's "auto".
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Container id.
    pub id: String,
    /// Path to the bundle directory (holds config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's PID to this file.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Use chroot (after moving the rootfs over /) instead of pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a session keyring (skiff never creates one).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many fds beyond stdio (3, 4, ...) to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Write a default config.json into the bundle directory.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
    },
    /// Create a container; it waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Create and start a container, then wait for it unless --detach.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return once the container has started.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits.
        #[arg(long)]
        keep: bool,
    },
    /// Print the state of a container as JSON.
    State { id: String },
    /// Send a signal (default SIGTERM) to the container's init, or to all its processes.
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a container's resources; --force kills it first if it is running.
    Delete {
        id: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Run a new process inside a container.
    Exec(ExecArgs),
    /// List containers.
    #[command(alias = "ls")]
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Print only the ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show the processes of a container (`ps` arguments may follow).
    Ps {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze every process of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Print resource usage of a container: once with --stats, else every --interval.
    Events {
        id: String,
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        interval: Duration,
    },
    /// Change the resource limits of a container.
    Update(UpdateArgs),
    /// Print the features this runtime supports as JSON.
    Features,
    /// Not supported: checkpointing needs CRIU integration.
    Checkpoint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// Not supported: restoring needs CRIU integration.
    Restore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    pub id: String,
    /// Command and arguments (unless --process is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A JSON file with the whole process object (runtime-spec `process`).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (KEY=value); repeatable.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// UID[:GID] to run as.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional group ids; repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability to the bounding, effective, permitted and inheritable sets; repeatable.
    #[arg(short, long = "cap")]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    pub no_new_privs: bool,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// SELinux label for the process.
    #[arg(long)]
    pub process_label: Option<String>,
    /// Return once the process has started.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub id: String,
    /// A JSON file with a runtime-spec `linux.resources` object ("-" for stdin).
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    #[arg(long)]
    pub cpu_period: Option<u64>,
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    #[arg(long)]
    pub cpu_share: Option<u64>,
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes (suffixes k, m, g accepted); -1 for unlimited.
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Not supported: Intel RDT.
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Not supported: Intel RDT.
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
}

/// Parse "512m", "1g", "1024", "-1" into bytes.
pub fn parse_bytes(text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            RuntimeError::Usage(format!("{text:?} is not a size (e.g. 512m, 1g, 1048576)"))
        })
}

fn resources_from_update(args: &UpdateArgs) -> Result<LinuxResources> {
    if args.l3_cache_schema.is_some() || args.mem_bw_schema.is_some() {
        return Err(RuntimeError::Unsupported(
            "--l3-cache-schema and --mem-bw-schema need Intel RDT, which skiff does not support"
                .into(),
        ));
    }
    let mut r: LinuxResources = match &args.resources {
        Some(path) if path.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .sys(|| "cannot read resources from stdin".to_string())?;
            spec::parse_json(std::path::Path::new("<stdin>"), &buf)?
        }
        Some(path) => spec::read_json(path)?,
        None => LinuxResources::default(),
    };
    let mut memory = (*r.memory()).unwrap_or_default();
    let mut mem_set = r.memory().is_some();
    if let Some(m) = &args.memory {
        memory.set_limit(Some(parse_bytes(m)?));
        mem_set = true;
    }
    if let Some(m) = &args.memory_reservation {
        memory.set_reservation(Some(parse_bytes(m)?));
        mem_set = true;
    }
    if let Some(m) = &args.memory_swap {
        memory.set_swap(Some(parse_bytes(m)?));
        mem_set = true;
    }
    if mem_set {
        r.set_memory(Some(memory));
    }
    let mut cpu = r.cpu().clone().unwrap_or_default();
    let mut cpu_set = r.cpu().is_some();
    macro_rules! cpu_field {
        ($arg:expr, $setter:ident) => {
            if let Some(v) = $arg.clone() {
                cpu.$setter(Some(v));
                cpu_set = true;
            }
        };
    }
    cpu_field!(args.cpu_period, set_period);
    cpu_field!(args.cpu_quota, set_quota);
    cpu_field!(args.cpu_share, set_shares);
    cpu_field!(args.cpu_rt_period, set_realtime_period);
    cpu_field!(args.cpu_rt_runtime, set_realtime_runtime);
    cpu_field!(args.cpuset_cpus, set_cpus);
    cpu_field!(args.cpuset_mems, set_mems);
    if cpu_set {
        r.set_cpu(Some(cpu));
    }
    if let Some(limit) = args.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        r.set_pids(Some(pids));
    }
    if let Some(w) = args.blkio_weight {
        let mut blkio = r.block_io().clone().unwrap_or_default();
        blkio.set_weight(Some(w));
        r.set_block_io(Some(blkio));
    }
    Ok(r)
}

fn exec_process(root: &StateRoot, args: &ExecArgs) -> Result<Process> {
    if let Some(file) = &args.process {
        if !args.command.is_empty() {
            return Err(RuntimeError::Usage(
                "give either --process FILE or a command, not both".into(),
            ));
        }
        let mut process: Process = spec::read_json(file)?;
        if args.tty {
            process.set_terminal(Some(true));
        }
        return Ok(process);
    }
    if args.command.is_empty() {
        return Err(RuntimeError::Usage(
            "exec needs a command (or --process FILE); e.g. `exec ID sh -c 'echo hi'`".into(),
        ));
    }
    let record = root.load(&args.id)?;
    let mut process = record.config.process().clone().unwrap_or_default();
    process.set_args(Some(args.command.clone()));
    process.set_terminal(Some(args.tty));
    process.set_console_size(None);
    let mut env = process.env().clone().unwrap_or_default();
    for pair in &args.env {
        if !pair.contains('=') {
            return Err(RuntimeError::Usage(format!(
                "--env {pair:?} is not of the form KEY=value"
            )));
        }
        let key = pair.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(pair.clone());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        process.set_cwd(cwd.clone());
    }
    if let Some(user) = &args.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user.as_str(), None),
        };
        let parse = |s: &str, what: &str| {
            s.parse::<u32>().map_err(|_| {
                RuntimeError::Usage(format!(
                    "--user {user:?}: {what} must be numeric (UID[:GID])"
                ))
            })
        };
        let u = process.user_mut();
        u.set_uid(parse(uid, "uid")?);
        u.set_gid(match gid {
            Some(g) => parse(g, "gid")?,
            None => 0,
        });
    }
    if !args.additional_gids.is_empty() {
        process
            .user_mut()
            .set_additional_gids(Some(args.additional_gids.clone()));
    }
    if !args.cap.is_empty() {
        let mut caps = process.capabilities().clone().unwrap_or_default();
        for name in &args.cap {
            let cap: oci_spec::runtime::Capability =
                serde_json::from_value(serde_json::Value::String(name.to_ascii_uppercase()))
                    .map_err(|_| {
                        RuntimeError::Usage(format!("--cap {name:?} is not a capability name"))
                    })?;
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            caps.set_inheritable(add(caps.inheritable()));
        }
        process.set_capabilities(Some(caps));
    }
    if args.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if let Some(p) = &args.apparmor {
        process.set_apparmor_profile(Some(p.clone()));
    }
    if let Some(l) = &args.process_label {
        process.set_selinux_label(Some(l.clone()));
    }
    Ok(process)
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| RuntimeError::Init(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Run one verb. Returns the process exit code.
pub fn run(cli: RuntimeCli) -> Result<i32> {
    if let Some(mode) = cli.rootless.as_deref() {
        if !matches!(mode, "true" | "false" | "auto") {
            return Err(RuntimeError::Usage(format!(
                "--rootless {mode:?}: use true, false or auto"
            )));
        }
    }
    let root = StateRoot::new(&cli.root);
    match cli.verb {
        Verb::Spec { bundle } => {
            let rootless = cli.rootless.as_deref() == Some("true");
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(RuntimeError::Usage(format!(
                    "{} already exists; remove it first",
                    path.display()
                )));
            }
            let text = serde_json::to_string_pretty(&spec::default_spec(rootless))
                .map_err(|e| RuntimeError::Init(e.to_string()))?;
            std::fs::write(&path, text + "\n")
                .sys(|| format!("cannot write {}", path.display()))?;
            Ok(0)
        }
        Verb::Create(args) => {
            container::create(&root, &create_options(&args, cli.systemd_cgroup, false))?;
            Ok(0)
        }
        Verb::Start { id } => container::start(&root, &id).map(|_| 0),
        Verb::Run {
            create,
            detach,
            keep,
        } => {
            let signals = if detach {
                None
            } else {
                Some(wait::block_signals()?)
            };
            let opts = create_options(&create, cli.systemd_cgroup, !detach);
            let created = container::create(&root, &opts)?;
            if let Err(e) = container::start(&root, &create.id) {
                let _ = container::delete(&root, &create.id, true);
                return Err(e);
            }
            let Some(signals) = signals else {
                return Ok(0);
            };
            let code = wait::supervise(
                nix::unistd::Pid::from_raw(created.record.pid),
                &signals,
                created.console_master,
            )?;
            if !keep {
                container::delete(&root, &create.id, true)?;
            }
            Ok(code)
        }
        Verb::State { id } => {
            let record = root.load(&id)?;
            print_json(&record.state_output(&root))?;
            Ok(0)
        }
        Verb::Kill { id, signal, all } => {
            let sig = container::parse_signal(&signal)?;
            container::kill(&root, &id, sig, all).map(|_| 0)
        }
        Verb::Delete { id, force } => container::delete(&root, &id, force).map(|_| 0),
        Verb::Exec(args) => {
            let process = exec_process(&root, &args)?;
            exec::exec(
                &root,
                ExecOptions {
                    id: args.id.clone(),
                    process,
                    detach: args.detach,
                    pid_file: args.pid_file.clone(),
                    console_socket: args.console_socket.clone(),
                    preserve_fds: args.preserve_fds,
                },
            )
        }
        Verb::List { format, quiet } => {
            list(&root, format, quiet)?;
            Ok(0)
        }
        Verb::Ps {
            format,
            id,
            ps_args,
        } => {
            ps(&root, &id, format, &ps_args)?;
            Ok(0)
        }
        Verb::Pause { id } => container::pause(&root, &id).map(|_| 0),
        Verb::Resume { id } => container::resume(&root, &id).map(|_| 0),
        Verb::Events {
            id,
            stats,
            interval,
        } => {
            events(&root, &id, stats, interval)?;
            Ok(0)
        }
        Verb::Update(args) => {
            let resources = resources_from_update(&args)?;
            container::update(&root, &args.id, &resources).map(|_| 0)
        }
        Verb::Features => {
            print_json(&features())?;
            Ok(0)
        }
        Verb::Checkpoint { .. } | Verb::Restore { .. } => Err(RuntimeError::Unsupported(
            "checkpoint and restore are not supported by skiff (no CRIU integration)".into(),
        )),
    }
}

fn create_options(args: &CreateArgs, systemd_cgroup: bool, proxy_terminal: bool) -> CreateOptions {
    CreateOptions {
        id: args.id.clone(),
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        no_pivot: args.no_pivot,
        preserve_fds: args.preserve_fds,
        systemd_cgroup,
        proxy_terminal,
    }
}

fn list(root: &StateRoot, format: OutputFormat, quiet: bool) -> Result<()> {
    let mut states = Vec::new();
    for id in root.ids()? {
        if let Ok(record) = root.load(&id) {
            states.push(record.state_output(root));
        }
    }
    if quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    if format == OutputFormat::Json {
        return print_json(&states);
    }
    let mut out = std::io::stdout().lock();
    let rows: Vec<[String; 6]> = states
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.pid.to_string(),
                s.status.to_string(),
                s.bundle.display().to_string(),
                s.created.clone(),
                s.owner.clone(),
            ]
        })
        .collect();
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("   ").trim_end());
    }
    Ok(())
}

fn ps(root: &StateRoot, id: &str, format: OutputFormat, ps_args: &[String]) -> Result<()> {
    let pids = container::pids(root, id)?;
    if format == OutputFormat::Json {
        return print_json(&pids);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .sys(|| "cannot run ps".to_string())?;
    if !output.status.success() {
        return Err(RuntimeError::Usage(format!(
            "ps {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| RuntimeError::Usage("ps output has no PID column".into()))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}

fn events(root: &StateRoot, id: &str, once: bool, interval: Duration) -> Result<()> {
    loop {
        let record = root.load(id)?;
        if record.status(root) == Status::Stopped {
            if once {
                return Err(RuntimeError::WrongState {
                    id: id.to_string(),
                    action: "read events of",
                    status: "stopped".into(),
                    expected: "running",
                });
            }
            return Ok(());
        }
        let value = container::stats_json(&record)?;
        println!("{}", serde_json::to_string(&value).unwrap_or_default());
        if once {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": ["defaults","ro","rw","suid","nosuid","dev","nodev","exec","noexec","sync","async","dirsync",
            "remount","mand","nomand","atime","noatime","diratime","nodiratime","relatime","norelatime",
            "strictatime","nostrictatime","iversion","noiversion","lazytime","nolazytime","nosymfollow","symfollow",
            "bind","rbind","private","rprivate","shared","rshared","slave","rslave","unbindable","runbindable",
            "rro","rrw","rnosuid","rsuid","rnodev","rdev","rnoexec","rexec","rnoatime","rrelatime",
            "rstrictatime","rnodiratime","rdiratime","rnosymfollow","rsymfollow","tmpcopyup"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": true},
            "apparmor": {"enabled": skiff_linux::lsm::apparmor_enabled()},
            "selinux": {"enabled": skiff_linux::lsm::selinux_enabled()},
        },
    })
}

/// runc-style log lines: `{"level":"error","msg":"...","time":"..."}` in json
/// mode, which is what podman and containerd parse out of `--log`.
pub struct RuncLog {
    file: Option<std::fs::File>,
    json: bool,
}

impl RuncLog {
    pub fn open(cli: &RuntimeCli) -> RuncLog {
        let file = cli.log.as_ref().and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        // Warnings (and with --debug, debug messages) from the layers below go
        // to the same place as errors: the --log file, else stderr.
        let level = if cli.debug {
            tracing::Level::DEBUG
        } else {
            tracing::Level::WARN
        };
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_target(false)
            .with_ansi(false);
        // A JSON --log file is parsed by podman and containerd, which expect
        // runc's line shape; only error lines (below) go there, and the rest
        // goes to stderr.
        let installed = match file.as_ref().and_then(|f| f.try_clone().ok()) {
            Some(f) if cli.log_format == LogFormat::Text => {
                builder.with_writer(std::sync::Mutex::new(f)).try_init()
            }
            _ => builder.with_writer(std::io::stderr).try_init(),
        };
        // A second install (as in tests that call this twice) keeps the first.
        drop(installed);
        RuncLog {
            file,
            json: cli.log_format == LogFormat::Json,
        }
    }

    pub fn error(&mut self, message: &str) {
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": message, "time": crate::state::now_rfc3339()})
                .to_string()
        } else {
            format!(
                "time=\"{}\" level=error msg=\"{}\"",
                crate::state::now_rfc3339(),
                message
            )
        };
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{line}");
        }
        eprintln!("skiff-runc: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("1024").expect("plain"), 1024);
        assert_eq!(parse_bytes("4m").expect("m"), 4 << 20);
        assert_eq!(parse_bytes("1G").expect("G"), 1 << 30);
        assert_eq!(parse_bytes("-1").expect("unlimited"), -1);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn signals_parse_by_name_and_number() {
        use nix::sys::signal::Signal;
        assert_eq!(
            container::parse_signal("KILL").expect("KILL"),
            Signal::SIGKILL
        );
        assert_eq!(
            container::parse_signal("SIGTERM").expect("SIGTERM"),
            Signal::SIGTERM
        );
        assert_eq!(container::parse_signal("9").expect("9"), Signal::SIGKILL);
        assert_eq!(container::parse_signal("hup").expect("hup"), Signal::SIGHUP);
        assert!(container::parse_signal("NOPE").is_err());
        assert!(container::parse_signal("999").is_err());
    }

    #[test]
    fn unimplemented_update_flags_fail() {
        let cli = RuntimeCli::try_parse_from([
            "skiff-runc",
            "update",
            "--l3-cache-schema",
            "L3:0=f",
            "c1",
        ])
        .expect("parses");
        let Verb::Update(args) = cli.verb else {
            panic!("not update")
        };
        assert!(resources_from_update(&args).is_err());
    }

    #[test]
    fn update_flags_become_resources() {
        let cli = RuntimeCli::try_parse_from([
            "skiff-runc",
            "update",
            "--memory",
            "64m",
            "--cpu-quota",
            "50000",
            "--pids-limit",
            "10",
            "c1",
        ])
        .expect("parses");
        let Verb::Update(args) = cli.verb else {
            panic!("not update")
        };
        let r = resources_from_update(&args).expect("resources");
        assert_eq!(r.memory().as_ref().and_then(|m| m.limit()), Some(64 << 20));
        assert_eq!(r.cpu().as_ref().and_then(|c| c.quota()), Some(50000));
        assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(10));
    }
}
