//! `skiff pull`, `skiff images`, `skiff rmi` and `skiff image ...`: the
//! command-line surface of skiff-image. Only argument handling and output
//! formatting live here.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use skiff_image::auth::CredentialSource;
use skiff_image::gc::{self, ImageUser};
use skiff_image::manifest::Platform;
use skiff_image::oci_layout::ExportFormat;
use skiff_image::progress::Progress;
use skiff_image::pull::{pull, PullOptions};
use skiff_image::registries::{RegistriesConfig, DEFAULT_REGISTRIES_CONFIG};
use skiff_image::registry::Client;
use skiff_image::snapshot::{MountMode, Snapshotter};
use skiff_image::store::DEFAULT_DATA_DIR;
use skiff_image::{ImageRecord, Reference, Store};

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where images, layers and snapshots are kept.
    #[arg(long, env = "SKIFF_DATA_DIR", default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    data_dir: PathBuf,
}

impl StoreArgs {
    fn open(&self) -> anyhow::Result<Store> {
        Store::open(&self.data_dir)
            .with_context(|| format!("cannot open the image store in {}", self.data_dir.display()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry settings: which registries use plain HTTP or skip TLS verification.
    #[arg(long, env = "SKIFF_REGISTRIES_CONFIG", value_name = "FILE")]
    registries_config: Option<PathBuf>,
    /// Credentials for the registry.
    #[arg(long, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// A docker-style auth file (default: /etc/skiff/auth.json, then ~/.docker/config.json).
    #[arg(long, env = "SKIFF_AUTH_FILE", value_name = "FILE")]
    authfile: Option<PathBuf>,
}

impl RegistryArgs {
    fn client(&self) -> anyhow::Result<Client> {
        let config = match &self.registries_config {
            Some(p) => RegistriesConfig::load(p, true)?,
            None => RegistriesConfig::load(std::path::Path::new(DEFAULT_REGISTRIES_CONFIG), false)?,
        };
        let creds = CredentialSource::load(self.creds.as_deref(), self.authfile.as_deref())?;
        Ok(Client::new(config, creds))
    }
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image: NAME[:TAG|@DIGEST]; `busybox` means docker.io/library/busybox:latest.
    reference: String,
    /// The platform to pull from a multi-platform image.
    #[arg(long, default_value = "linux/amd64", value_name = "OS/ARCH[/VARIANT]")]
    platform: String,
    /// Print only the pulled reference.
    #[arg(short, long)]
    quiet: bool,
    /// Layers downloaded at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Only image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Show the digest each name resolved to.
    #[arg(long)]
    digests: bool,
    /// Full image ids.
    #[arg(long)]
    no_trunc: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Names or image ids.
    #[arg(required = true)]
    images: Vec<String>,
    /// Remove every name of an image id that has several.
    #[arg(short, long)]
    force: bool,
    /// Keep the content no image refers to any more (see `skiff image prune`).
    #[arg(long)]
    no_prune: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Names or image ids.
    #[arg(required = true)]
    images: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// Name or image id.
    image: String,
    /// Directory to write the root file system into (created; must be empty).
    dir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An OCI image layout: a directory (with oci-layout, index.json and
    /// blobs/) or a tar of one.
    path: PathBuf,
    /// Name the image (default: the layout's full-name annotation).
    #[arg(long, value_name = "REPOSITORY[:TAG]")]
    name: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormatArg {
    /// An OCI layout directory.
    OciDir,
    /// A tar of an OCI layout.
    OciTar,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Name or image id.
    image: String,
    /// Where to write the layout (must not exist).
    path: PathBuf,
    /// The default is oci-tar when PATH ends in .tar, else oci-dir.
    #[arg(long, value_enum)]
    format: Option<ExportFormatArg>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// A docker-save archive (or a tar of an OCI layout), optionally
    /// gzip- or zstd-compressed; `-` or none reads standard input.
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Print only the loaded names.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Names or image ids.
    #[arg(required = true)]
    images: Vec<String>,
    /// The archive to write (replaced atomically); `-` or none writes
    /// standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Pull an image from a registry.
    Pull(PullArgs),
    /// List images.
    Images(ImagesArgs),
    /// Remove images (and the layers no other image uses).
    Rmi(RmiArgs),
    /// Load images from a docker-save archive (podman save, docker save).
    Load(LoadArgs),
    /// Save images as a docker-save archive (podman load and docker load read it).
    Save(SaveArgs),
    /// Manage images: pull, ls, rm, prune, inspect, unpack, import, export, load, save.
    #[command(subcommand)]
    Image(ImageSub),
}

#[derive(Debug, Subcommand)]
pub enum ImageSub {
    /// Pull an image from a registry.
    Pull(PullArgs),
    /// List images.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove images.
    Rm(RmiArgs),
    /// Remove blobs, snapshots and partial downloads no image refers to.
    Prune(PruneArgs),
    /// Show an image's record and config as JSON.
    Inspect(InspectArgs),
    /// Write an image's root file system (all layers applied) into a directory.
    Unpack(UnpackArgs),
    /// Import an image from an OCI layout (a directory, or a tar of one).
    Import(ImportArgs),
    /// Export an image as an OCI layout (a directory, or a tar of one).
    Export(ExportArgs),
    /// Load images from a docker-save archive.
    Load(LoadArgs),
    /// Save images as a docker-save archive.
    Save(SaveArgs),
}

pub fn run(cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Pull(a) | ImageCommand::Image(ImageSub::Pull(a)) => cmd_pull(a),
        ImageCommand::Images(a) | ImageCommand::Image(ImageSub::Ls(a)) => cmd_images(a),
        ImageCommand::Rmi(a) | ImageCommand::Image(ImageSub::Rm(a)) => cmd_rmi(a),
        ImageCommand::Image(ImageSub::Prune(a)) => cmd_prune(a),
        ImageCommand::Image(ImageSub::Inspect(a)) => cmd_inspect(a),
        ImageCommand::Image(ImageSub::Unpack(a)) => cmd_unpack(a),
        ImageCommand::Image(ImageSub::Import(a)) => cmd_import(a),
        ImageCommand::Image(ImageSub::Export(a)) => cmd_export(a),
        ImageCommand::Load(a) | ImageCommand::Image(ImageSub::Load(a)) => cmd_load(a),
        ImageCommand::Save(a) | ImageCommand::Image(ImageSub::Save(a)) => cmd_save(a),
    }
}

/// Sizes as docker prints them (decimal units).
fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1e3 {
        format!("{bytes}B")
    } else if b < 1e6 {
        format!("{:.3}kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.3}MB", b / 1e6)
    } else {
        format!("{:.3}GB", b / 1e9)
    }
    .replace(".000", "")
}

fn ago(rfc3339: Option<&str>) -> String {
    let Some(t) = rfc3339.and_then(|s| humantime::parse_rfc3339_weak(s).ok()) else {
        return "N/A".into();
    };
    let Ok(d) = SystemTime::now().duration_since(t) else {
        return "Less than a second ago".into();
    };
    let s = d.as_secs();
    let (n, unit) = match s {
        0..=59 => return format!("{s} seconds ago"),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        86_400..=1_209_599 => (s / 86_400, "day"),
        1_209_600..=5_183_999 => (s / 604_800, "week"),
        5_184_000..=63_071_999 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn cmd_pull(a: PullArgs) -> anyhow::Result<ExitCode> {
    let reference = Reference::parse(&a.reference)?;
    let platform = Platform::parse(&a.platform)?;
    let client = a.registry.client()?;
    let store = a.store.open()?;
    let tty = std::io::stdout().is_terminal();
    if !a.quiet {
        println!("Pulling {reference} ({platform})");
    }
    let opts = PullOptions {
        platform,
        jobs: a.jobs.max(1),
        progress: if a.quiet {
            Progress::none()
        } else {
            Progress::auto()
        },
    };
    let report = pull(&store, &client, &reference, &opts)
        .with_context(|| format!("cannot pull {reference}"))?;
    if a.quiet {
        println!("{reference}");
        return Ok(ExitCode::SUCCESS);
    }
    if tty {
        println!();
    }
    println!("Digest: {}", report.record.digest);
    let n = report.record.layers.len();
    let mut detail = format!(
        "{n} layer{}: {} fetched, {} already present; {} downloaded",
        if n == 1 { "" } else { "s" },
        report.layers_fetched,
        report.layers_present,
        human_size(report.bytes_downloaded)
    );
    if report.bytes_resumed > 0 {
        detail.push_str(&format!(", {} resumed", human_size(report.bytes_resumed)));
    }
    if report.up_to_date {
        println!("Status: Image is up to date for {reference} ({detail})");
    } else {
        println!("Status: Downloaded newer image for {reference} ({detail})");
    }
    Ok(ExitCode::SUCCESS)
}

fn repo_and_tag(r: &ImageRecord) -> (String, String) {
    match r.reference() {
        Ok(reference) => (
            reference.familiar_name(),
            reference.tag().unwrap_or("<none>").to_string(),
        ),
        Err(_) => (r.name.clone(), "<none>".into()),
    }
}

fn cmd_images(a: ImagesArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let images = store.images()?;
    let id = |r: &ImageRecord| {
        if a.no_trunc {
            r.id().to_string()
        } else {
            r.id().short().to_string()
        }
    };
    if a.quiet {
        let mut seen = HashSet::new();
        for r in &images {
            if seen.insert(r.id().clone()) {
                println!("{}", id(r));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![];
    let mut header = vec!["REPOSITORY", "TAG"];
    if a.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "PLATFORM", "SIZE"]);
    rows.push(header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    for r in &images {
        let (repo, tag) = repo_and_tag(r);
        let mut row = vec![repo, tag];
        if a.digests {
            row.push(r.digest.to_string());
        }
        row.extend([
            id(r),
            ago(r.created.as_deref()),
            r.platform.clone(),
            human_size(r.unpacked_size),
        ]);
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:<w$}", w = widths[i])
                }
            })
            .collect();
        println!("{}", line.join("   "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The containers that use images, from the engine's records.
fn image_users(store: &StoreArgs) -> anyhow::Result<Vec<ImageUser>> {
    skiff_engine::in_use_images(&store.data_dir).with_context(|| {
        format!(
            "cannot list the containers in {} to see which images are in use",
            store.data_dir.display()
        )
    })
}

fn cmd_rmi(a: RmiArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let users = image_users(&a.store)?;
    let mut failed = false;
    for arg in &a.images {
        let found = match store.find_images(arg) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("skiff: {arg}: {e}");
                failed = true;
                continue;
            }
        };
        if found.is_empty() {
            eprintln!("skiff: no such image: {arg} (see `skiff images`)");
            failed = true;
            continue;
        }
        if found.len() > 1 && !a.force {
            let names: Vec<String> = found.iter().map(|r| r.name.clone()).collect();
            eprintln!(
                "skiff: image {arg} has {} names ({}); remove them by name, or pass --force to remove them all",
                found.len(),
                names.join(", ")
            );
            failed = true;
            continue;
        }
        // The last name of an image a container uses stays unless --force
        // (which removes the name; prune keeps the layers while in use).
        let in_use = gc::users_of(&users, found[0].id());
        let other_names = store
            .images()?
            .iter()
            .any(|r| r.id() == found[0].id() && !found.iter().any(|f| f.name == r.name));
        if !in_use.is_empty() && !other_names && !a.force {
            eprintln!(
                "skiff: image {arg} is in use by container{} {}; remove {} first (`skiff rm`), or pass --force to remove the name and keep the layers until then",
                if in_use.len() == 1 { "" } else { "s" },
                in_use.join(", "),
                if in_use.len() == 1 { "it" } else { "them" },
            );
            failed = true;
            continue;
        }
        for r in found {
            store.remove_image(&r.name)?;
            let (repo, tag) = repo_and_tag(&r);
            println!("Untagged: {repo}:{tag}");
        }
    }
    if !a.no_prune {
        let report = gc::prune_keeping(&store, &users)?;
        for d in &report.blobs_removed {
            println!("Deleted: {d}");
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_prune(a: PruneArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let users = image_users(&a.store)?;
    let report = gc::prune_keeping(&store, &users)?;
    for d in &report.blobs_removed {
        println!("Deleted blob: {d}");
    }
    for d in &report.snapshots_removed {
        println!("Deleted snapshot: {d}");
    }
    if report.partial_removed > 0 {
        println!(
            "Deleted {} partial downloads or staging directories",
            report.partial_removed
        );
    }
    println!("Total reclaimed space: {}", human_size(report.bytes_freed));
    Ok(ExitCode::SUCCESS)
}

fn find_one(store: &Store, arg: &str) -> anyhow::Result<ImageRecord> {
    let found = store.find_images(arg)?;
    match found.len() {
        0 => bail!("no such image: {arg} (see `skiff images`)"),
        _ => Ok(found.into_iter().next().expect("one")),
    }
}

fn cmd_inspect(a: InspectArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let mut out = vec![];
    for arg in &a.images {
        let r = find_one(&store, arg)?;
        let config: serde_json::Value = serde_json::from_slice(
            &store.read_blob(&r.config, skiff_image::manifest::MAX_MANIFEST_SIZE)?,
        )
        .with_context(|| format!("the stored config {} of {} is not JSON", r.config, r.name))?;
        out.push(serde_json::json!({
            "Id": r.config.to_string(),
            "Name": r.name,
            "Digest": r.digest.to_string(),
            "Manifest": r.manifest.to_string(),
            "Platform": r.platform,
            "Created": r.created,
            "Pulled": r.pulled,
            "Size": r.size,
            "UnpackedSize": r.unpacked_size,
            "Layers": r.layers,
            "Config": config,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn cmd_unpack(a: UnpackArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let r = find_one(&store, &a.image)?;
    if a.dir.exists() && std::fs::read_dir(&a.dir)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty directory",
            a.dir.display()
        );
    }
    let layers: Vec<_> = r.layers.iter().map(|l| l.diff_id.clone()).collect();
    Snapshotter::new(&store)
        .mount(&layers, &a.dir, &a.dir, MountMode::Copy)
        .with_context(|| format!("cannot unpack {} into {}", r.name, a.dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn print_loaded(records: &[ImageRecord], quiet: bool) {
    for r in records {
        if quiet {
            println!("{}", r.name);
        } else {
            println!("Loaded image: {} ({})", r.name, r.id().short());
        }
    }
}

fn cmd_import(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let name = a.name.as_deref().map(Reference::parse).transpose()?;
    let records = skiff_image::oci_layout::import(&store, &a.path, name.as_ref())
        .with_context(|| format!("cannot import {}", a.path.display()))?;
    print_loaded(&records, false);
    Ok(ExitCode::SUCCESS)
}

fn cmd_export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let r = find_one(&store, &a.image)?;
    let format = match a.format {
        Some(ExportFormatArg::OciDir) => ExportFormat::Dir,
        Some(ExportFormatArg::OciTar) => ExportFormat::Tar,
        None if a.path.extension().is_some_and(|e| e == "tar") => ExportFormat::Tar,
        None => ExportFormat::Dir,
    };
    skiff_image::oci_layout::export(&store, &r, &a.path, format)
        .with_context(|| format!("cannot export {} to {}", r.name, a.path.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_load(a: LoadArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let records = match a.input.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            skiff_image::archive::load(&store, &path.display().to_string(), file)
                .with_context(|| format!("cannot load {}", path.display()))?
        }
        None => {
            if std::io::stdin().is_terminal() {
                bail!("give an archive with -i FILE, or pipe one into standard input");
            }
            skiff_image::archive::load(&store, "<stdin>", std::io::stdin().lock())
                .context("cannot load the archive from standard input")?
        }
    };
    print_loaded(&records, a.quiet);
    Ok(ExitCode::SUCCESS)
}

fn cmd_save(a: SaveArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let mut records = Vec::new();
    for arg in &a.images {
        let found = store.find_images(arg)?;
        if found.is_empty() {
            bail!("no such image: {arg} (see `skiff images`)");
        }
        records.extend(found);
    }
    match a.output.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => skiff_image::archive::save_to_file(&store, &records, path)
            .with_context(|| format!("cannot save to {}", path.display()))?,
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to write an archive to a terminal; give -o FILE or redirect standard output");
            }
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            skiff_image::archive::save(&store, &records, out)
                .context("cannot write the archive to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
