//! `skiff bench run`: `skiff run --rm IMAGE true` (bridge network and
//! `--network none`) against `podman run --rm --network none IMAGE true`,
//! alternating, with the same busybox image in both and private stores, so
//! nothing of the host's skiff or podman state is used or touched.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use skiff_image::local_registry::LocalRegistry;
use skiff_image::manifest::Compression;
use skiff_image::pull::{pull, PullOptions};
use skiff_image::registries::RegistriesConfig;
use skiff_image::registry::Client;
use skiff_image::synth::{layer, SynthImage};
use skiff_image::{Reference, Store};

use crate::error::{EngineError, IoContext, Result};

/// podman's defaults ask for more than the hard NOFILE and NPROC limits of
/// the CI machine allow.
const PODMAN_ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

#[derive(Debug, Clone)]
pub struct RunBenchOptions {
    /// The skiff binary to time.
    pub skiff: PathBuf,
    pub podman: String,
    pub rounds: usize,
}

/// Wall times per round of each contender.
#[derive(Debug, Clone, Default)]
pub struct RunBenchReport {
    pub rounds: usize,
    /// `skiff run --rm` until the command returns (default bridge network).
    pub skiff_bridge: Vec<Duration>,
    /// ... and until the container (network included) is gone: the monitor
    /// tears down after the client got the exit code.
    pub skiff_bridge_removed: Vec<Duration>,
    pub skiff_none: Vec<Duration>,
    pub skiff_none_removed: Vec<Duration>,
    /// `podman run --rm --network none` (None if podman is not installed).
    pub podman_none: Option<Vec<Duration>>,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl RunBenchReport {
    /// skiff's median over podman's (None without podman).
    pub fn ratio(&self, skiff: &[Duration]) -> Option<f64> {
        let p = median(self.podman_none.as_ref()?);
        (!p.is_zero()).then(|| median(skiff).as_secs_f64() / p.as_secs_f64())
    }
}

impl fmt::Display for RunBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "run --rm IMAGE true, {} rounds, alternating (medians; goal: skiff <= 0.3 x podman)",
            self.rounds
        )?;
        let row = |f: &mut fmt::Formatter<'_>, what: &str, v: &[Duration]| -> fmt::Result {
            write!(f, "  {what:<44} {:>8.1} ms", ms(median(v)))?;
            match self.ratio(v) {
                Some(r) => writeln!(f, "   {r:.2} x podman"),
                None => writeln!(f),
            }
        };
        row(f, "skiff run --rm (bridge)", &self.skiff_bridge)?;
        row(
            f,
            "skiff run --rm (bridge), until removed",
            &self.skiff_bridge_removed,
        )?;
        row(f, "skiff run --rm --network none", &self.skiff_none)?;
        row(
            f,
            "skiff run --rm --network none, until removed",
            &self.skiff_none_removed,
        )?;
        match &self.podman_none {
            Some(p) => writeln!(
                f,
                "  {:<44} {:>8.1} ms",
                "podman run --rm --network none",
                ms(median(p))
            ),
            None => writeln!(f, "  podman: not found; no comparison"),
        }
    }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |source| EngineError::Io { what, source }
}

fn check(out: Output, what: &str) -> Result<Output> {
    if out.status.success() {
        return Ok(out);
    }
    Err(EngineError::Other(format!(
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Everything the benchmark made, removed on drop (also on error).
struct Work {
    dir: tempfile::TempDir,
    podman: Option<String>,
    bridge: String,
}

impl Work {
    fn podman(&self, podman: &str, args: &[&str]) -> Command {
        let mut c = Command::new(podman);
        let d = self.dir.path();
        c.arg("--root")
            .arg(d.join("podman-root"))
            .arg("--runroot")
            .arg(d.join("podman-runroot"))
            // vfs: no overlay mounts to leave behind; cgroupfs and a file
            // event log: no systemd or journald involved.
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn skiff(&self, skiff: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(skiff);
        let d = self.dir.path();
        c.args(args)
            .env("SKIFF_DATA_DIR", d.join("skiff-data"))
            .env("SKIFF_RUN_DIR", d.join("skiff-run"))
            .env("SKIFF_BRIDGE", &self.bridge)
            .env("SKIFF_SUBNET", bench_subnet())
            .stdin(Stdio::null());
        c
    }

    fn containers_left(&self) -> bool {
        std::fs::read_dir(self.dir.path().join("skiff-data/containers"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
            })
            .unwrap_or(false)
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(podman) = self.podman.clone() {
            for args in [
                &["rm", "-af", "-t", "0"][..],
                &["rmi", "-af"],
                &["system", "reset", "-f"],
            ] {
                let _ = self.podman(&podman, args).output();
            }
            // podman's parent cgroup for conmon; removable once empty.
            for hierarchy in skiff_linux_cgroup_roots() {
                let parent = hierarchy.join("libpod_parent");
                let _ = std::fs::remove_dir(parent.join("conmon"));
                let _ = std::fs::remove_dir(parent);
            }
        }
        // Anything still mounted under the work dir (podman's shm, a skiff
        // rootfs of a failed round), deepest first, so the removal can work.
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        let mut mounts: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&base))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(Path::new(m), nix::mount::MntFlags::MNT_DETACH);
        }
        // The network's rules, bridge and state; if a failed round left a
        // container on the bridge, the bridge goes first so the rest can.
        let data = self.dir.path().join("skiff-data");
        if crate::remove_bridge_network(&data, &self.bridge, &bench_subnet()).is_err() {
            let _ = Command::new("ip")
                .args(["link", "del", &self.bridge])
                .stderr(Stdio::null())
                .status();
            let _ = crate::remove_bridge_network(&data, &self.bridge, &bench_subnet());
        }
    }
}

/// The cgroup hierarchies podman may have used (v1 controllers and v2).
fn skiff_linux_cgroup_roots() -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .chain(std::iter::once(PathBuf::from("/sys/fs/cgroup")))
                .collect()
        })
        .unwrap_or_default()
}

/// A /24 of its own per process, apart from skiff0's 10.89.0.0/16 and the
/// test suites' 10.250/10.251 ranges.
fn bench_subnet() -> String {
    format!("10.252.{}.0/24", std::process::id() % 250)
}

/// A busybox rootfs (the runtime benchmark's) as one uncompressed tar.
fn busybox_tar(work: &Path) -> Result<PathBuf> {
    let bundle = skiff_runtime::bench::busybox_bundle(&work.join("image"), &["true"])?;
    let tar = work.join("busybox.tar");
    let out = Command::new("tar")
        .arg("-C")
        .arg(bundle.join("rootfs"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .output()
        .map_err(io_err("cannot run tar".into()))?;
    check(out, "tar of the busybox rootfs")?;
    Ok(tar)
}

/// Push the tar as a one-layer image to a throwaway loopback registry and
/// pull it into skiff's store; returns the name to run.
fn import_into_skiff(tar: &Path, data: &Path) -> Result<String> {
    let bytes = std::fs::read(tar).ctx(|| format!("cannot read {}", tar.display()))?;
    let blob = layer(&bytes, Compression::None, false)?;
    let image = SynthImage::new(
        vec![blob],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["sh"], "Env": ["PATH=/bin"]}),
        false,
    );
    let registry = LocalRegistry::start(None)?;
    let name = format!("{}/bench/busybox:1", registry.host());
    let reference = Reference::parse(&name)?;
    let client = Client::new(RegistriesConfig::default(), Default::default());
    image.push(&client, &reference, "1")?;
    let store = Store::open(data)?;
    pull(&store, &client, &reference, &PullOptions::default())?;
    Ok(name)
}

/// Time `cmd` until it exits; fails if it did.
fn time_run(mut cmd: Command, what: &str) -> Result<Duration> {
    let t0 = Instant::now();
    let out = cmd.output().map_err(io_err(format!("cannot run {what}")))?;
    let took = t0.elapsed();
    check(out, what)?;
    Ok(took)
}

/// Wait until skiff's containers dir is empty (so runs never overlap);
/// returns the time since `since`.
fn wait_removed(work: &Work, since: Instant) -> Result<Duration> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while work.containers_left() {
        if Instant::now() > deadline {
            return Err(EngineError::Other(
                "a `skiff run --rm` container was not removed within 30 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(since.elapsed())
}

/// Run the benchmark; progress lines go to `log`.
pub fn run_benchmark(opts: &RunBenchOptions, log: &mut dyn Write) -> Result<RunBenchReport> {
    let dir = tempfile::Builder::new()
        .prefix("skiff-bench-run-")
        .tempdir()
        .map_err(io_err("cannot create a temporary directory".into()))?;
    let podman = Command::new(&opts.podman)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then(|| opts.podman.clone());
    let work = Work {
        dir,
        podman,
        bridge: format!("skb{}", std::process::id()),
    };
    let d = work.dir.path().to_path_buf();
    let _ = writeln!(log, "building the busybox image...");
    let tar = busybox_tar(&d)?;
    let image = import_into_skiff(&tar, &d.join("skiff-data"))?;
    const PODMAN_IMAGE: &str = "localhost/skiff-bench-busybox:latest";
    if let Some(p) = &work.podman {
        let out = work
            .podman(p, &["import", "-q", &tar.to_string_lossy(), PODMAN_IMAGE])
            .output()
            .map_err(io_err("cannot run podman import".into()))?;
        check(out, "podman import")?;
    } else {
        let _ = writeln!(log, "{} not found: timing skiff only", opts.podman);
    }
    let rounds = opts.rounds.max(1);
    let mut report = RunBenchReport {
        rounds,
        podman_none: work.podman.as_ref().map(|_| Vec::new()),
        ..Default::default()
    };
    // Each round runs all three, starting with a different one each time,
    // so none always follows the same neighbour.
    let round = |r: &mut RunBenchReport, n: usize, timed: bool| -> Result<()> {
        for k in 0..3 {
            match (k + n) % 3 {
                which @ (0 | 1) => {
                    let none = which == 1;
                    let mut args = vec!["run", "--rm"];
                    if none {
                        args.extend(["--network", "none"]);
                    }
                    args.extend([image.as_str(), "true"]);
                    let t0 = Instant::now();
                    let took = time_run(work.skiff(&opts.skiff, &args), "skiff run --rm")?;
                    let removed = wait_removed(&work, t0)?;
                    if timed {
                        let (a, b) = if none {
                            (&mut r.skiff_none, &mut r.skiff_none_removed)
                        } else {
                            (&mut r.skiff_bridge, &mut r.skiff_bridge_removed)
                        };
                        a.push(took);
                        b.push(removed);
                    }
                }
                _ => {
                    let Some(p) = &work.podman else { continue };
                    let mut args = vec!["run", "--rm", "--network", "none"];
                    args.extend(PODMAN_ULIMITS);
                    args.extend([PODMAN_IMAGE, "true"]);
                    let took = time_run(work.podman(p, &args), "podman run --rm")?;
                    if timed {
                        if let Some(v) = r.podman_none.as_mut() {
                            v.push(took);
                        }
                    }
                }
            }
        }
        Ok(())
    };
    // One untimed round first: page cache, the bridge's creation.
    round(&mut report, 0, false)?;
    let _ = writeln!(log, "{rounds} rounds...");
    for n in 0..rounds {
        round(&mut report, n, true)?;
    }
    Ok(report)
}
