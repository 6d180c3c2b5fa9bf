//! `skiff ns`: the command-line surface of the namespace toolkit. Discovery
//! and entering live in `skiff_linux::{nsdiscovery, nsenter}`; this file only
//! parses flags, maps skiff container ids to their init PIDs and prints.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args, Subcommand};
use skiff_linux::nsdiscovery::{self, NsType, RenderOptions};
use skiff_linux::nsenter::{self, EnterRequest, Target};
use skiff_runtime::cli::DEFAULT_ROOT;
use skiff_runtime::state::StateRoot;

#[derive(Debug, Subcommand)]
pub enum NsCommand {
    /// List every namespace on the host: those of processes and threads, nsfs
    /// bind mounts in every mount namespace, open descriptors, and user or pid
    /// namespaces reachable only as the owner or parent of another.
    Ls {
        /// Only these types (repeat or comma-separate): mnt, net, pid, ipc, uts, user, cgroup, time.
        #[arg(short = 't', long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = parse_type)]
        types: Vec<NsType>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Show which namespaces each user namespace owns, and how pid namespaces nest.
        #[arg(long)]
        tree: bool,
        /// The skiff runtime state root, to label namespaces with container ids.
        #[arg(long, default_value = DEFAULT_ROOT)]
        root: PathBuf,
    },
    /// Run a command in the namespaces of a process, a skiff container or
    /// namespace files, like nsenter. Without a command, runs $SHELL.
    Enter(EnterArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("whose").required(true).args(["target", "container", "path"])))]
pub struct EnterArgs {
    /// Enter the namespaces of this process.
    #[arg(short = 't', long = "target", value_name = "PID")]
    target: Option<i32>,
    /// Enter the namespaces of this skiff container's init (all of them unless
    /// types are given).
    #[arg(long, value_name = "ID")]
    container: Option<String>,
    /// Enter this namespace file (e.g. /run/netns/NAME); repeat for more. The
    /// type of each is read from the kernel; flags, if given, must match.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    path: Vec<PathBuf>,
    /// The mount namespace (also takes the target's root and working directory).
    #[arg(short = 'm', long)]
    mount: bool,
    /// The UTS namespace (hostname).
    #[arg(short = 'u', long)]
    uts: bool,
    /// The IPC namespace.
    #[arg(short = 'i', long)]
    ipc: bool,
    /// The network namespace.
    #[arg(short = 'n', long)]
    net: bool,
    /// The pid namespace (the command runs in a forked child inside it).
    #[arg(short = 'p', long)]
    pid: bool,
    /// The user namespace (then becomes uid and gid 0 inside it).
    #[arg(short = 'U', long)]
    user: bool,
    /// The cgroup namespace.
    #[arg(short = 'C', long)]
    cgroup: bool,
    /// The time namespace.
    #[arg(short = 'T', long)]
    time: bool,
    /// Every namespace of the target process.
    #[arg(short = 'a', long, conflicts_with = "path")]
    all: bool,
    /// Keep uid, gid and groups when entering a user namespace.
    #[arg(long)]
    preserve_credentials: bool,
    /// The skiff runtime state root, for --container.
    #[arg(long, default_value = DEFAULT_ROOT)]
    root: PathBuf,
    /// The command and its arguments (default: $SHELL).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<OsString>,
}

fn parse_type(s: &str) -> Result<NsType, String> {
    s.parse::<NsType>().map_err(|e| e.to_string())
}

pub fn run(cmd: NsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NsCommand::Ls {
            types,
            json,
            tree,
            root,
        } => list(types, json, tree, &root),
        NsCommand::Enter(args) => enter(args),
    }
}

/// Init PID -> container id for every running container under `root`.
/// Containers that cannot be read are reported, not skipped silently.
fn container_pids(root: &Path) -> (HashMap<i32, String>, Vec<String>) {
    let state = StateRoot::new(root);
    let mut map = HashMap::new();
    let mut problems = Vec::new();
    let ids = match state.ids() {
        Ok(ids) => ids,
        Err(e) => {
            problems.push(format!(
                "cannot list containers under {}: {e}",
                root.display()
            ));
            return (map, problems);
        }
    };
    for id in ids {
        match state.load(&id) {
            Ok(rec) if rec.is_alive() => {
                map.insert(rec.pid, id);
            }
            Ok(_) => {} // stopped: its namespaces are gone or belong to someone else
            Err(e) => problems.push(format!("cannot read container {id}: {e}")),
        }
    }
    (map, problems)
}

fn list(types: Vec<NsType>, json: bool, tree: bool, root: &Path) -> anyhow::Result<ExitCode> {
    let (containers, problems) = container_pids(root);
    let mut report = nsdiscovery::discover(&nsdiscovery::Options {
        containers,
        threads: 0,
    })
    .context("cannot list namespaces")?;
    report.warnings.extend(problems);
    let opts = RenderOptions { types, tree };
    let text = if json {
        nsdiscovery::render_json(&report, &opts)
    } else {
        nsdiscovery::render_table(&report, &opts)
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`| head`) is not an error worth a message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("cannot write the listing");
        }
    }
    for w in &report.warnings {
        eprintln!("skiff: warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

fn enter(args: EnterArgs) -> anyhow::Result<ExitCode> {
    let mut types = Vec::new();
    for (on, kind) in [
        (args.mount, NsType::Mnt),
        (args.uts, NsType::Uts),
        (args.ipc, NsType::Ipc),
        (args.net, NsType::Net),
        (args.pid, NsType::Pid),
        (args.user, NsType::User),
        (args.cgroup, NsType::Cgroup),
        (args.time, NsType::Time),
    ] {
        if on {
            types.push(kind);
        }
    }
    let mut all = args.all;
    let target = if let Some(pid) = args.target {
        Target::Pid(pid)
    } else if let Some(id) = &args.container {
        let state = StateRoot::new(&args.root);
        let rec = state.load(id).with_context(|| {
            format!(
                "cannot find container {id} under {} (see `skiff runtime --root {} list`)",
                args.root.display(),
                args.root.display()
            )
        })?;
        if !rec.is_alive() {
            bail!(
                "container {id} is not running (its init, PID {}, has exited); start it first",
                rec.pid
            );
        }
        // A container is entered whole unless types are picked.
        all |= types.is_empty();
        Target::Pid(rec.pid)
    } else {
        Target::Paths(args.path.clone())
    };
    let req = EnterRequest {
        target,
        types,
        all,
        preserve_credentials: args.preserve_credentials,
        command: args.command,
    };
    match nsenter::enter(&req) {
        Ok(outcome) => Ok(ExitCode::from(outcome.exit_code())),
        Err(e) => {
            eprintln!("skiff: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}
