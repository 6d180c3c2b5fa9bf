//! `skiff run/start/ps/logs/exec/stop/kill/rm/inspect`: the command-line surface
//! of skiff-engine. Only argument handling and output formatting live here.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use skiff_engine::logs::{self, LogFollower, LogPrinter};
use skiff_engine::terminal::{terminal_size, RawMode};
use skiff_engine::{ContainerRecord, Engine, ExecOptions, RunOptions, Status, DEFAULT_RUN_DIR};
use skiff_image::store::DEFAULT_DATA_DIR;

#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Where images and containers are kept.
    #[arg(long, env = "SKIFF_DATA_DIR", default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    data_dir: PathBuf,
    /// Where the runtime state of running containers is kept.
    #[arg(long, env = "SKIFF_RUN_DIR", default_value = DEFAULT_RUN_DIR, value_name = "DIR")]
    run_dir: PathBuf,
    /// The bridge device new containers of `--network bridge` join (default
    /// skiff0); other names get a network (IPAM, rules) of their own.
    #[arg(long, env = "SKIFF_BRIDGE", value_name = "NAME")]
    bridge_name: Option<String>,
    /// The bridge network's IPv4 subnet (default 10.89.0.0/16).
    #[arg(long, env = "SKIFF_SUBNET", value_name = "CIDR")]
    subnet: Option<String>,
}

impl EngineArgs {
    pub(crate) fn open(&self) -> anyhow::Result<Engine> {
        let mut engine = Engine::open(&self.data_dir, &self.run_dir).with_context(|| {
            format!(
                "cannot open the container store in {}",
                self.data_dir.display()
            )
        })?;
        engine
            .set_bridge(self.bridge_name.as_deref(), self.subnet.as_deref())
            .context("--bridge-name/--subnet (SKIFF_BRIDGE/SKIFF_SUBNET)")?;
        Ok(engine)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container id.
    #[arg(short, long)]
    detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// A name for the container (default: its short id).
    #[arg(long)]
    name: Option<String>,
    /// Set an environment variable.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long, value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Bind-mount a host path.
    #[arg(short, long = "volume", value_name = "HOST:CONTAINER[:ro]")]
    volume: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// User (name or uid, optionally :group) to run as.
    #[arg(short, long)]
    user: Option<String>,
    /// Replace the image's entrypoint.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Memory limit, like 256m or 1g.
    #[arg(short, long)]
    memory: Option<String>,
    /// CPU limit, like 0.5 or 2.
    #[arg(long)]
    cpus: Option<String>,
    /// Maximum number of processes.
    #[arg(long)]
    pids_limit: Option<i64>,
    /// bridge (the default network, with an address and NAT), none (only
    /// lo) or host (the host's network namespace).
    #[arg(long, default_value = "bridge")]
    network: String,
    /// Restart policy: no, on-failure[:MAX] or always.
    #[arg(long, default_value = "no")]
    restart: String,
    /// Publish a container port on the host (bridge network only).
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "[HOST_IP:]HOST:CONTAINER[/tcp|udp]"
    )]
    publish: Vec<String>,
    /// Keep stdin open and forward it to the container.
    #[arg(short, long)]
    interactive: bool,
    /// Give the container a terminal.
    #[arg(short, long)]
    tty: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// The image: a name or an image id.
    image: String,
    /// The command to run instead of the image's Cmd.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show every container, not only running ones.
    #[arg(short, long)]
    all: bool,
    /// Only ids.
    #[arg(short, long)]
    quiet: bool,
    /// Full ids and commands.
    #[arg(long)]
    no_trunc: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Name or id.
    container: String,
    /// Keep printing new output until the container stops.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
    /// Prefix each line with its timestamp.
    #[arg(short, long)]
    timestamps: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Forward stdin to the process.
    #[arg(short, long)]
    interactive: bool,
    /// Give the process a terminal.
    #[arg(short, long)]
    tty: bool,
    /// Set an environment variable.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Name or id.
    container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal before SIGKILL.
    #[arg(short, long, default_value_t = 10)]
    time: u64,
    /// Names or ids.
    #[arg(required = true)]
    containers: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Names or ids.
    #[arg(required = true)]
    containers: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal: a name (KILL, SIGTERM, ...) or a number.
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    /// Names or ids.
    #[arg(required = true)]
    containers: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill and remove a running container.
    #[arg(short, long)]
    force: bool,
    /// Names or ids.
    #[arg(required = true)]
    containers: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Names or ids.
    #[arg(required = true)]
    containers: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Create and start a container from an image.
    Run(Box<RunArgs>),
    /// Start created or stopped containers in the background.
    Start(StartArgs),
    /// List containers.
    Ps(PsArgs),
    /// Print a container's output.
    Logs(LogsArgs),
    /// Run a command in a running container.
    Exec(ExecArgs),
    /// Stop containers: their stop signal, then SIGKILL after a timeout.
    Stop(StopArgs),
    /// Send a signal to containers (SIGKILL by default).
    Kill(KillArgs),
    /// Remove containers.
    Rm(RmArgs),
    /// Show containers' records as JSON.
    Inspect(InspectArgs),
}

pub fn run(cmd: EngineCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EngineCommand::Run(a) => cmd_run(*a),
        EngineCommand::Start(a) => each(&a.engine, &a.containers, |e, c| {
            e.start_container(c).map(|_| ())
        }),
        EngineCommand::Ps(a) => cmd_ps(a),
        EngineCommand::Logs(a) => cmd_logs(a),
        EngineCommand::Exec(a) => cmd_exec(a),
        EngineCommand::Stop(a) => each(&a.engine, &a.containers, |e, c| {
            e.stop(c, Duration::from_secs(a.time)).map(|_| ())
        }),
        EngineCommand::Kill(a) => each(&a.engine, &a.containers, |e, c| {
            e.kill(c, &a.signal).map(|_| ())
        }),
        EngineCommand::Rm(a) => each(&a.engine, &a.containers, |e, c| {
            e.remove(c, a.force).map(|_| ())
        }),
        EngineCommand::Inspect(a) => cmd_inspect(a),
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Apply `f` to every named container, printing each name as docker does;
/// report every failure, fail if any did.
fn each(
    args: &EngineArgs,
    names: &[String],
    f: impl Fn(&Engine, &str) -> skiff_engine::Result<()>,
) -> anyhow::Result<ExitCode> {
    let engine = args.open()?;
    let mut failed = false;
    for n in names {
        match f(&engine, n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("skiff: {n}: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_run(a: RunArgs) -> anyhow::Result<ExitCode> {
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        bail!("-it needs a terminal on stdin; drop -t to pipe input");
    }
    let opts = RunOptions {
        image: a.image,
        cmd: a.command,
        name: a.name,
        env: a.env,
        env_files: a.env_file,
        volumes: a.volume,
        workdir: a.workdir,
        user: a.user,
        entrypoint: a.entrypoint,
        memory: a.memory,
        cpus: a.cpus,
        pids_limit: a.pids_limit,
        network: a.network.parse()?,
        ports: a
            .publish
            .iter()
            .map(|p| skiff_engine::PortMapping::from_str(p))
            .collect::<Result<_, _>>()?,
        restart: a.restart.parse()?,
        auto_remove: a.rm,
        interactive: a.interactive,
        tty: a.tty,
        tty_size: if a.tty { terminal_size() } else { None },
    };
    let engine = a.engine.open()?;
    let record = engine.create(&opts)?;
    let started = engine.start(&record, !a.detach)?;
    if a.detach {
        println!("{}", started.id);
        return Ok(ExitCode::SUCCESS);
    }
    let _raw = (a.tty && a.interactive).then(RawMode::enter);
    let code = started.attach(&mut std::io::stdout(), &mut std::io::stderr())?;
    Ok(exit(code))
}

fn ago(rfc3339: Option<&str>) -> String {
    let Some(t) = rfc3339.and_then(|s| humantime::parse_rfc3339_weak(s).ok()) else {
        return "?".into();
    };
    let secs = SystemTime::now()
        .duration_since(t)
        .unwrap_or_default()
        .as_secs();
    match secs {
        0..=59 => format!("{secs} seconds"),
        60..=3599 => format!("{} minutes", secs / 60),
        3600..=172_799 => format!("{} hours", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

fn status_text(r: &ContainerRecord) -> String {
    match r.live_status() {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", ago(r.state.started_at.as_deref())),
        Status::Restarting => format!("Restarting ({})", r.state.exit_code.unwrap_or(0)),
        Status::Exited => match r.state.exit_code {
            Some(c) => format!("Exited ({c}) {} ago", ago(r.state.finished_at.as_deref())),
            None => "Exited (unknown: its monitor died)".into(),
        },
    }
}

fn cmd_ps(a: PsArgs) -> anyhow::Result<ExitCode> {
    let engine = a.engine.open()?;
    let list: Vec<_> = engine
        .list()?
        .into_iter()
        .filter(|r| a.all || matches!(r.live_status(), Status::Running | Status::Restarting))
        .collect();
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for r in &list {
            writeln!(out, "{}", if a.no_trunc { &r.id } else { r.short_id() })?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|r| {
            let mut command = r.args.join(" ");
            if !a.no_trunc && command.chars().count() > 30 {
                command = command.chars().take(29).collect::<String>() + "…";
            }
            [
                if a.no_trunc {
                    r.id.clone()
                } else {
                    r.short_id().to_string()
                },
                r.image.clone(),
                format!("\"{command}\""),
                format!("{} ago", ago(Some(&r.created))),
                status_text(r),
                r.name.clone(),
            ]
        })
        .collect();
    let header = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "NAMES",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(|s| s.as_str()).collect()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_logs(a: LogsArgs) -> anyhow::Result<ExitCode> {
    let engine = a.engine.open()?;
    let rec = engine.find(&a.container)?;
    let path = engine.log_path(&rec.id);
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open the log {}", path.display()))?;
    let mut follower = LogFollower::new(file);
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut printer = LogPrinter::new(&mut stdout, &mut stderr, a.timestamps);
    let mut records = follower.read_new()?;
    if let Some(n) = a.tail {
        records = logs::tail(records, n);
    }
    for r in &records {
        printer.print(r)?;
    }
    if a.follow {
        loop {
            // Read once more after the container stopped: its last lines.
            let alive = engine
                .load(&rec.id)
                .is_ok_and(|r| matches!(r.live_status(), Status::Running | Status::Restarting));
            for r in follower.read_new()? {
                printer.print(&r)?;
            }
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_exec(a: ExecArgs) -> anyhow::Result<ExitCode> {
    let engine = a.engine.open()?;
    let _raw = (a.tty && a.interactive && std::io::stdin().is_terminal()).then(RawMode::enter);
    let code = engine.exec(
        &a.container,
        &ExecOptions {
            args: a.command,
            interactive: a.interactive,
            tty: a.tty,
            env: a.env,
            workdir: a.workdir,
        },
    )?;
    Ok(exit(code))
}

fn cmd_inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = a.engine.open()?;
    let mut out = Vec::new();
    let mut failed = false;
    for c in &a.containers {
        match engine.find(c) {
            Ok(r) => {
                let status = r.live_status();
                let mut v = serde_json::to_value(&r)?;
                v["state"]["status"] = serde_json::json!(status);
                v["log_path"] = serde_json::json!(engine.log_path(&r.id));
                v["rootfs"] = serde_json::json!(engine.container_dir(&r.id).join("bundle/rootfs"));
                out.push(v);
            }
            Err(e) => {
                eprintln!("skiff: {e}");
                failed = true;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
