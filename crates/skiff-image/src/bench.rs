//! `skiff bench pull`: pull and unpack a multi-layer image of about 100 MB
//! from a loopback registry, against `skopeo copy` followed by `umoci
//! unpack` of the same image, alternating, in the same run.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};
use crate::local_registry::LocalRegistry;
use crate::manifest::Compression;
use crate::pull::{pull, PullOptions};
use crate::reference::Reference;
use crate::registries::RegistriesConfig;
use crate::registry::Client;
use crate::store::Store;
use crate::synth::{layer, SynthImage};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Unpacked size of the image.
    pub size_mb: u64,
    pub layers: usize,
    pub rounds: usize,
    pub skopeo: String,
    pub umoci: String,
    /// Where the stores, layouts and bundles go (a temporary dir if None).
    pub work_dir: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            size_mb: 100,
            layers: 5,
            rounds: 3,
            skopeo: "skopeo".into(),
            umoci: "umoci".into(),
            work_dir: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub layers: usize,
    pub files: usize,
    pub unpacked_bytes: u64,
    pub compressed_bytes: u64,
    pub skiff: Vec<Duration>,
    pub skopeo: Vec<Duration>,
    pub umoci: Vec<Duration>,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

impl BenchReport {
    pub fn skiff_median(&self) -> Duration {
        median(&self.skiff)
    }

    /// skopeo copy + umoci unpack, per round.
    pub fn peer(&self) -> Vec<Duration> {
        self.skopeo
            .iter()
            .zip(&self.umoci)
            .map(|(a, b)| *a + *b)
            .collect()
    }

    pub fn peer_median(&self) -> Duration {
        median(&self.peer())
    }

    pub fn ratio(&self) -> f64 {
        self.skiff_median().as_secs_f64() / self.peer_median().as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let list = |v: &[Duration]| {
            v.iter()
                .map(|d| format!("{:.3}", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            f,
            "image: {} layers, {} files, {:.1} MiB unpacked, {:.1} MiB compressed (gzip), loopback registry",
            self.layers,
            self.files,
            mib(self.unpacked_bytes),
            mib(self.compressed_bytes)
        )?;
        writeln!(
            f,
            "skiff pull (fetch, verify, unpack):  median {:.3} s  runs: {}",
            self.skiff_median().as_secs_f64(),
            list(&self.skiff)
        )?;
        writeln!(
            f,
            "skopeo copy + umoci unpack:          median {:.3} s  runs: {}  (skopeo median {:.3} s, umoci median {:.3} s)",
            self.peer_median().as_secs_f64(),
            list(&self.peer()),
            median(&self.skopeo).as_secs_f64(),
            median(&self.umoci).as_secs_f64()
        )?;
        write!(
            f,
            "ratio skiff / (skopeo + umoci): {:.2} (goal <= 0.50)",
            self.ratio()
        )
    }
}

/// A small, fast PRNG: the content only has to be incompressible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Layer tars of about `size` bytes in total: files of 4 KiB to 4 MiB, half
/// random bytes (as binaries are) and half text (as configs and scripts are),
/// so gzip has realistic work to do.
fn bench_tars(size: u64, layers: usize) -> Result<(Vec<Vec<u8>>, usize)> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let sizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
    let text: Vec<u8> =
        b"export PATH=/usr/local/bin:/usr/bin:/bin # a line of configuration text\n"
            .iter()
            .copied()
            .cycle()
            .take(4 << 20)
            .collect();
    let per_layer = size / layers.max(1) as u64;
    let mut files = 0;
    let mut tars = Vec::new();
    for l in 0..layers {
        let mut b = tar::Builder::new(Vec::new());
        let mut written = 0u64;
        let mut n = 0usize;
        let dir_header = |path: &str| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            (h, path.to_string())
        };
        let (mut h, p) = dir_header(&format!("layer{l}/"));
        b.append_data(&mut h, p, &[][..])
            .map_err(|e| Error::io("tar", e))?;
        while written < per_layer {
            if n.is_multiple_of(32) {
                let (mut h, p) = dir_header(&format!("layer{l}/d{}/", n / 32));
                b.append_data(&mut h, p, &[][..])
                    .map_err(|e| Error::io("tar", e))?;
            }
            // Mostly small files, as in real images: the mean is ~70 KiB.
            let pick = match rng.next() % 100 {
                0..=39 => 0,
                40..=69 => 1,
                70..=89 => 2,
                90..=97 => 3,
                98 => 4,
                _ => 5,
            };
            let size = sizes[pick].min((per_layer - written).max(1) as usize);
            let mut data = vec![0u8; size];
            rng.fill(&mut data[..size / 2]);
            data[size / 2..].copy_from_slice(&text[..size - size / 2]);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(size as u64);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            b.append_data(&mut h, format!("layer{l}/d{}/f{n}", n / 32), &data[..])
                .map_err(|e| Error::io("tar", e))?;
            written += size as u64;
            n += 1;
        }
        files += n;
        tars.push(b.into_inner().map_err(|e| Error::io("tar", e))?);
    }
    Ok((tars, files))
}

fn run(cmd: &mut Command, what: &str) -> Result<Duration> {
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("cannot run {what}"), e))?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(Error::Other(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(took)
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}

/// Run the benchmark; progress lines go to `log`.
pub fn pull_benchmark(opts: &BenchOptions, log: &mut dyn Write) -> Result<BenchReport> {
    let work_tmp;
    let work = match &opts.work_dir {
        Some(p) => {
            std::fs::create_dir_all(p).path_ctx("cannot create", p)?;
            p.clone()
        }
        None => {
            work_tmp = tempfile::Builder::new()
                .prefix("skiff-bench-pull-")
                .tempdir()
                .map_err(|e| Error::io("cannot create a temporary directory", e))?;
            work_tmp.path().to_path_buf()
        }
    };
    let _ = writeln!(
        log,
        "building a {} MB image of {} layers...",
        opts.size_mb, opts.layers
    );
    let (tars, files) = bench_tars(opts.size_mb << 20, opts.layers)?;
    let unpacked: u64 = tars.iter().map(|t| t.len() as u64).sum();
    let mut blobs = Vec::new();
    for t in &tars {
        blobs.push(layer(t, Compression::Gzip, false)?);
    }
    drop(tars);
    let image = SynthImage::new(
        blobs,
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
        false,
    );
    let compressed: u64 = image.layers.iter().map(|l| l.data.len() as u64).sum();
    let registry = LocalRegistry::start(None)?;
    let name = format!("{}/bench/pull:v1", registry.host());
    let reference = Reference::parse(&name)?;
    let client = Client::new(RegistriesConfig::default(), Default::default());
    image.push(&client, &reference, "v1")?;
    drop(image);
    let _ = writeln!(log, "pushed {name}; {} rounds, alternating", opts.rounds);

    let mut report = BenchReport {
        layers: opts.layers,
        files,
        unpacked_bytes: unpacked,
        compressed_bytes: compressed,
        skiff: vec![],
        skopeo: vec![],
        umoci: vec![],
    };
    for round in 0..opts.rounds {
        let skiff_first = round % 2 == 0;
        for which in 0..2 {
            if (which == 0) == skiff_first {
                let data = work.join(format!("skiff-{round}"));
                let store = Store::open(&data)?;
                // A fresh client per round: no cached connections or tokens.
                let client = Client::new(RegistriesConfig::default(), Default::default());
                let start = Instant::now();
                pull(&store, &client, &reference, &PullOptions::default())?;
                let took = start.elapsed();
                report.skiff.push(took);
                let _ = writeln!(log, "round {round}: skiff {:.3} s", took.as_secs_f64());
                remove(&data);
            } else {
                let layout = work.join(format!("oci-{round}"));
                let bundle = work.join(format!("bundle-{round}"));
                let s = run(
                    Command::new(&opts.skopeo)
                        .args(["copy", "--quiet", "--src-tls-verify=false"])
                        .arg(format!("docker://{name}"))
                        .arg(format!("oci:{}:v1", layout.display())),
                    "skopeo copy",
                )?;
                let u = run(
                    Command::new(&opts.umoci)
                        .args(["unpack", "--image"])
                        .arg(format!("{}:v1", layout.display()))
                        .arg(&bundle),
                    "umoci unpack",
                )?;
                report.skopeo.push(s);
                report.umoci.push(u);
                let _ = writeln!(
                    log,
                    "round {round}: skopeo {:.3} s + umoci {:.3} s",
                    s.as_secs_f64(),
                    u.as_secs_f64()
                );
                remove(&layout);
                remove(&bundle);
            }
        }
    }
    Ok(report)
}
