//! The `skiff` binary: wires subcommands to the library crates. Invoked as
//! `skiff-runc` (by symlink or copy), it is the runc-compatible runtime itself.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use skiff_runtime::cli::{RuncLog, RuntimeCli};

mod agent;
mod engine;
mod image;
mod ns;
mod server;

#[derive(Debug, Parser)]
#[command(name = "skiff", about = "A container platform in one binary", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The OCI runtime (runc-compatible verbs: create, start, run, exec, kill, delete, ...).
    Runtime(Box<RuntimeCli>),
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Namespaces: list every one on the host (`ls`), or run a command inside some (`enter`).
    Ns {
        #[command(subcommand)]
        command: ns::NsCommand,
    },
    #[command(flatten)]
    Image(image::ImageCommand),
    #[command(flatten)]
    Engine(engine::EngineCommand),
    /// The Kubernetes API server, with the scheduler and this machine's node agent: writes
    /// an admin kubeconfig, then serves until stopped.
    Server(server::ServerArgs),
    /// A node agent alone: registers this machine as a Node of the cluster at --server and
    /// runs the pods bound to it.
    Agent(agent::AgentArgs),
    /// Benchmarks that compare skiff with its peers on this machine.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// create+start+wait+delete of /bin/true, skiff against runc, alternating.
    Runtime {
        /// Rounds per runtime.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
        /// The runc binary to compare with.
        #[arg(long, default_value = "runc")]
        runc: String,
    },
    /// `skiff run --rm IMAGE true` (bridge and --network none) against `podman run --rm --network none`, alternating.
    Run {
        /// Rounds per contender.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// The podman binary to compare with.
        #[arg(long, default_value = "podman")]
        podman: String,
    },
    /// `skiff ns ls --json` against `lsns --json` with extra processes running, alternating.
    Ns {
        /// Extra processes to start (some in their own namespaces) while timing.
        #[arg(long, default_value_t = 1000)]
        processes: usize,
    },
    /// `skiff server` under load: N writers create configmaps over HTTPS while a watcher times
    /// each ADDED event; reports creates/s, write-to-event p50/p99 and the server's RSS.
    /// Pod start (create to Running, one at a time and a burst) and the server's memory
    /// with pods running, on a private `skiff server` with its agent.
    Pods {
        /// Pods started one after another.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// Pods created at once.
        #[arg(long, default_value_t = 100)]
        burst: usize,
        /// Pods running while the memory is read.
        #[arg(long, default_value_t = 10)]
        idle_pods: usize,
    },
    Api {
        /// Concurrent writers, each on its own keep-alive connection.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Configmaps created in all.
        #[arg(long, default_value_t = 20000)]
        objects: usize,
        /// Size of each configmap's payload, in bytes.
        #[arg(long, default_value_t = 100)]
        payload_bytes: usize,
        /// Offer this many creates per second in all (latency at a given load) instead of
        /// writing as fast as the server answers (throughput).
        #[arg(long)]
        rate: Option<f64>,
        /// Run the server on this etcd cluster (client URLs, comma-separated) instead of an
        /// embedded store in a temporary dir; the benchmark's namespace is deleted afterwards.
        #[arg(long, value_delimiter = ',', value_parser = server::parse_etcd_endpoint, conflicts_with = "etcd_members")]
        etcd_endpoints: Vec<String>,
        /// Run the server on a throwaway etcd cluster of this many members on loopback
        /// (needs Debian's etcd-server package).
        #[arg(long)]
        etcd_members: Option<usize>,
    },
    /// Pull and unpack a ~100 MB image from a loopback registry, against skopeo copy + umoci unpack.
    Pull {
        /// Unpacked size of the test image, in MB.
        #[arg(long, default_value_t = 100)]
        size_mb: u64,
        /// Layers in the test image.
        #[arg(long, default_value_t = 5)]
        layers: usize,
        /// Rounds per tool, alternating.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

fn run_runtime(cli: RuntimeCli) -> ExitCode {
    let mut log = RuncLog::open(&cli);
    match skiff_runtime::cli::run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            log.error(&e.to_string());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("skiff");
    if invoked_as.ends_with("-runc") || invoked_as == "runc" {
        return run_runtime(RuntimeCli::parse_from(args));
    }
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Runtime(rt) => run_runtime(*rt),
        Command::Completion { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "skiff", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Ns { command } => ns::run(command).unwrap_or_else(|e| {
            eprintln!("skiff: {e:#}");
            ExitCode::FAILURE
        }),
        Command::Image(cmd) => image::run(cmd).unwrap_or_else(|e| {
            eprintln!("skiff: {e:#}");
            ExitCode::FAILURE
        }),
        Command::Engine(cmd) => engine::run(cmd).unwrap_or_else(|e| {
            eprintln!("skiff: {e:#}");
            ExitCode::FAILURE
        }),
        Command::Agent(args) => {
            limit_malloc_arenas();
            agent::run(args).unwrap_or_else(|e| {
                eprintln!("skiff: {e:#}");
                ExitCode::FAILURE
            })
        }
        Command::Server(args) => {
            limit_malloc_arenas();
            server::run(args).unwrap_or_else(|e| {
                eprintln!("skiff: {e:#}");
                ExitCode::FAILURE
            })
        }
        Command::Bench { what } => match bench(what) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("skiff: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The long-running commands (server, agent) allocate from many threads
/// (the async workers, the blocking pool); glibc would give each its own
/// arena and keep what they freed. Two arenas keep the RSS near what is in
/// use (13 MB less after a burst of 100 pods, measured).
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes the allocator's settings; it runs before
    // the command starts any thread.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
}

fn bench(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Runtime { rounds, runc } => {
            let exe = std::env::current_exe().context("cannot find the skiff binary")?;
            let report = skiff_runtime::bench::runtime_lifecycle(&exe, &runc, rounds)
                .context("runtime benchmark failed")?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Pull {
            size_mb,
            layers,
            rounds,
        } => {
            let opts = skiff_image::bench::BenchOptions {
                size_mb,
                layers: layers.max(1),
                rounds: rounds.max(1),
                ..Default::default()
            };
            let report = skiff_image::bench::pull_benchmark(&opts, &mut std::io::stderr())
                .context("pull benchmark failed")?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Run { rounds, podman } => {
            let opts = skiff_engine::bench::RunBenchOptions {
                skiff: std::env::current_exe().context("cannot find the skiff binary")?,
                podman,
                rounds,
            };
            let report = skiff_engine::bench::run_benchmark(&opts, &mut std::io::stderr())
                .context("run benchmark failed")?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Pods {
            rounds,
            burst,
            idle_pods,
        } => {
            let opts = skiff_agent::bench::PodBenchOptions {
                skiff: std::env::current_exe().context("cannot find the skiff binary")?,
                rounds: rounds.max(1),
                burst: burst.max(1),
                idle_pods: idle_pods.max(1),
            };
            let report = skiff_agent::bench::pod_benchmark(&opts, &mut std::io::stderr())
                .context("pod benchmark failed")?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Api {
            writers,
            objects,
            payload_bytes,
            rate,
            etcd_endpoints,
            etcd_members,
        } => {
            use skiff_apiserver::bench::{api_benchmark, ApiBenchOptions, BenchStore};
            let store = match etcd_members {
                Some(members) => BenchStore::EtcdCluster(members.max(1)),
                None if !etcd_endpoints.is_empty() => BenchStore::Etcd(etcd_endpoints),
                None => BenchStore::Embedded,
            };
            let opts = ApiBenchOptions {
                skiff: std::env::current_exe().context("cannot find the skiff binary")?,
                writers,
                objects,
                payload_bytes,
                rate,
                store,
            };
            let report =
                api_benchmark(&opts, &mut std::io::stderr()).context("API benchmark failed")?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Ns { processes } => {
            let exe = std::env::current_exe().context("cannot find the skiff binary")?;
            let report = skiff_linux::nsdiscovery::bench(&exe, processes, 15)
                .context("namespace listing benchmark failed")?;
            println!("{report}");
            Ok(())
        }
    }
}
