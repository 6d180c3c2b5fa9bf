//! `skiff pull`: resolve a reference to a platform manifest, fetch its
//! config, then fetch and unpack the layers in parallel, each streamed from
//! the registry through a digest check, a decompressor (gzip, zstd or none,
//! by the blob's first bytes), a diffID check and the unpacker, while the
//! compressed bytes are also written to the ingest file.
//!
//! Nothing is committed unless it verified: a layer's blob moves from
//! `ingest/` to `blobs/` and its snapshot from staging into place only when
//! its size, digest and diffID match; the manifests, config and image record
//! are written last, once every layer is in. An interrupted download leaves
//! its ingest file, and the next pull asks the registry for the rest with a
//! Range request (re-reading the saved prefix to feed the hashes and the
//! unpacker).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::ProgressBar;
use oci_spec::image::ImageManifest;

use crate::digest::{Digest, HashingReader};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, Compression, Manifest, Platform, MAX_MANIFEST_SIZE};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::Client;
use crate::snapshot::{SnapshotMeta, Snapshotter, Staging};
use crate::store::{now_rfc3339, ImageRecord, LayerRecord, Store};
use crate::unpack::{UnpackStats, Unpacker};

/// How to pull.
#[derive(Clone)]
pub struct PullOptions {
    pub platform: Platform,
    /// Layers fetched at once.
    pub jobs: usize,
    pub progress: Progress,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: Platform::default(),
            jobs: 4,
            progress: Progress::none(),
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullReport {
    pub record: ImageRecord,
    /// Layers downloaded (or unpacked from a stored blob) by this pull.
    pub layers_fetched: usize,
    /// Layers that were already there.
    pub layers_present: usize,
    /// Bytes received from the registry for layers.
    pub bytes_downloaded: u64,
    /// Bytes of partial downloads picked up again instead of re-fetched.
    pub bytes_resumed: u64,
    /// The name already pointed at this digest and everything was present.
    pub up_to_date: bool,
}

/// One layer to fetch.
#[derive(Debug, Clone)]
struct LayerTask {
    index: usize,
    digest: Digest,
    diff_id: Digest,
    size: u64,
    media_type: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct LayerOutcome {
    fetched: bool,
    downloaded: u64,
    resumed: u64,
    /// The blob is in, but the snapshot needs the layers below it first.
    needs_lowers: bool,
}

/// Pull `reference` into `store`.
pub fn pull(
    store: &Store,
    client: &Client,
    reference: &Reference,
    opts: &PullOptions,
) -> Result<PullReport> {
    let _gc = store.lock_gc_shared()?;
    if let Some(report) = up_to_date(store, client, reference, opts)? {
        return Ok(report);
    }
    let top = client.fetch_manifest(reference, &reference.manifest_reference())?;
    let top_what = format!("manifest of {reference}");
    let mut manifests = vec![(top.digest.clone(), top.data.clone())];
    let (manifest, manifest_digest) =
        match Manifest::parse(&top_what, top.content_type.as_deref(), &top.data)? {
            Manifest::Image(m) => (m, top.digest.clone()),
            Manifest::Index(index) => {
                let desc =
                    manifest::select_platform(&index, &opts.platform, &reference.to_string())?;
                let digest = manifest::descriptor_digest(&top_what, desc)?;
                let what = format!("{} manifest {digest} of {reference}", opts.platform);
                let fetched = client.fetch_manifest(reference, &digest.to_string())?;
                let m =
                    match Manifest::parse(&what, fetched.content_type.as_deref(), &fetched.data)? {
                        Manifest::Image(m) => m,
                        Manifest::Index(_) => {
                            return Err(Error::Manifest {
                                what,
                                message: "an index inside an index is not supported".into(),
                            })
                        }
                    };
                manifests.push((digest.clone(), fetched.data));
                (m, digest)
            }
        };

    let config_desc = manifest.config();
    let config_digest =
        manifest::descriptor_digest(&format!("manifest {manifest_digest}: config"), config_desc)?;
    let config_what = format!("image config {config_digest} of {reference}");
    let config_data = if store.has_blob(&config_digest) {
        store.read_blob(&config_digest, MAX_MANIFEST_SIZE)?
    } else {
        client.fetch_blob_bytes(reference, &config_digest, config_desc.size(), &config_what)?
    };
    let config = manifest::parse_config(&config_what, &config_data)?;
    let (os, arch) = (config.os().to_string(), config.architecture().to_string());
    if !opts
        .platform
        .matches(&os, &arch, config.variant().as_deref())
    {
        let theirs = match config.variant() {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        };
        return Err(Error::NoPlatform {
            reference: reference.to_string(),
            wanted: opts.platform.to_string(),
            available: theirs,
        });
    }
    let tasks = layer_tasks(&manifest, &manifest_digest, config.rootfs().diff_ids())?;

    let previous = store.image(&reference.to_string())?;
    let snaps = Snapshotter::new(store);
    let all_present = tasks
        .iter()
        .all(|t| store.has_blob(&t.digest) && snaps.exists(&t.diff_id));
    let up_to_date = all_present && previous.as_ref().is_some_and(|p| p.digest == top.digest);

    let outcomes = fetch_layers(store, client, reference, &tasks, opts)?;

    // Layers with a hardlink into a lower layer, in order, now that the
    // layers below them are unpacked.
    for (task, outcome) in tasks.iter().zip(&outcomes) {
        if outcome.needs_lowers {
            let lowers: Vec<PathBuf> = tasks[..task.index]
                .iter()
                .rev()
                .map(|t| snaps.fs_dir(&t.diff_id))
                .collect();
            let _lock = store.lock_layer(&task.diff_id)?;
            if !snaps.exists(&task.diff_id) {
                let file = File::open(store.blob_path(&task.digest))
                    .path_ctx("cannot open blob", &store.blob_path(&task.digest))?;
                let staging = snaps.stage(&task.diff_id)?;
                let result = run_stream(file, &staging, task, &lowers);
                finish_stored(store, task, staging, result)?;
            }
        }
    }

    for (d, data) in &manifests {
        store.write_blob(d, data)?;
    }
    store.write_blob(&config_digest, &config_data)?;
    let mut unpacked_size = 0;
    for t in &tasks {
        unpacked_size += snaps.meta(&t.diff_id).map(|m| m.size).unwrap_or(0);
    }
    let record = ImageRecord {
        name: reference.to_string(),
        digest: top.digest.clone(),
        manifest: manifest_digest,
        config: config_digest,
        platform: match config.variant() {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        },
        layers: tasks
            .iter()
            .map(|t| LayerRecord {
                digest: t.digest.clone(),
                diff_id: t.diff_id.clone(),
                size: t.size,
                media_type: t.media_type.clone(),
            })
            .collect(),
        size: config_desc.size() + tasks.iter().map(|t| t.size).sum::<u64>(),
        unpacked_size,
        created: config.created().clone(),
        pulled: now_rfc3339(),
    };
    {
        let _images = store.lock_images()?;
        store.put_image(&record)?;
    }
    Ok(PullReport {
        record,
        layers_fetched: outcomes.iter().filter(|o| o.fetched).count(),
        layers_present: outcomes.iter().filter(|o| !o.fetched).count(),
        bytes_downloaded: outcomes.iter().map(|o| o.downloaded).sum(),
        bytes_resumed: outcomes.iter().map(|o| o.resumed).sum(),
        up_to_date,
    })
}

/// A HEAD of the tag answers whether the image we have is still current:
/// then nothing else is fetched (and registries that count pulls do not
/// count a HEAD).
fn up_to_date(
    store: &Store,
    client: &Client,
    reference: &Reference,
    opts: &PullOptions,
) -> Result<Option<PullReport>> {
    let Some(previous) = store.image(&reference.to_string())? else {
        return Ok(None);
    };
    let snaps = Snapshotter::new(store);
    let complete = [&previous.digest, &previous.manifest, &previous.config]
        .iter()
        .all(|d| store.has_blob(d))
        && previous
            .layers
            .iter()
            .all(|l| store.has_blob(&l.digest) && snaps.exists(&l.diff_id));
    let platform_ok = Platform::parse(&previous.platform).is_ok_and(|p| {
        opts.platform
            .matches(&p.os, &p.architecture, p.variant.as_deref())
    });
    if !complete || !platform_ok {
        return Ok(None);
    }
    let current = match reference.digest() {
        Some(d) => Some(d.clone()),
        None => client
            .head_manifest(reference, &reference.manifest_reference())?
            .map(|(d, _)| d),
    };
    if current.as_ref() != Some(&previous.digest) {
        return Ok(None);
    }
    let layers = previous.layers.len();
    Ok(Some(PullReport {
        record: previous,
        layers_fetched: 0,
        layers_present: layers,
        bytes_downloaded: 0,
        bytes_resumed: 0,
        up_to_date: true,
    }))
}

fn layer_tasks(
    manifest: &ImageManifest,
    manifest_digest: &Digest,
    diff_ids: &[String],
) -> Result<Vec<LayerTask>> {
    let what = format!("manifest {manifest_digest}");
    if manifest.layers().len() != diff_ids.len() {
        return Err(Error::Manifest {
            what,
            message: format!(
                "it lists {} layers but its config has {} rootfs.diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        });
    }
    let mut tasks = Vec::new();
    for (i, (layer, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        let media_type = layer.media_type().to_string();
        if Compression::from_media_type(&media_type).is_none() {
            return Err(Error::Manifest {
                what,
                message: format!(
                    "layers[{i}].mediaType {media_type:?} is not a layer skiff can unpack (tar, tar+gzip or tar+zstd)"
                ),
            });
        }
        let digest = manifest::descriptor_digest(&format!("{what}: layers[{i}]"), layer)?;
        let diff_id = Digest::parse(diff_id).map_err(|e| Error::Manifest {
            what: format!("image config of {what}"),
            message: format!("rootfs.diff_ids[{i}]: {e}"),
        })?;
        tasks.push(LayerTask {
            index: i,
            digest,
            diff_id,
            size: layer.size(),
            media_type,
        });
    }
    Ok(tasks)
}

fn fetch_layers(
    store: &Store,
    client: &Client,
    reference: &Reference,
    tasks: &[LayerTask],
    opts: &PullOptions,
) -> Result<Vec<LayerOutcome>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<LayerOutcome>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let bars: Vec<Option<ProgressBar>> = tasks
        .iter()
        .map(|t| opts.progress.layer(t.digest.short(), t.size))
        .collect();
    let workers = opts.jobs.clamp(1, tasks.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= tasks.len() {
                    break;
                }
                let r = fetch_layer(store, client, reference, &tasks[i], bars[i].as_ref());
                if let Some(bar) = &bars[i] {
                    match &r {
                        Ok(o) if o.fetched => bar.finish_with_message("done"),
                        Ok(_) => bar.finish_with_message("already present"),
                        Err(_) => bar.abandon_with_message("failed"),
                    }
                }
                let failed = r.is_err();
                results.lock().expect("results lock")[i] = Some(r);
                if failed {
                    // Stop handing out new layers; running ones finish.
                    next.store(tasks.len(), Ordering::SeqCst);
                }
            });
        }
    });
    let mut out = Vec::new();
    // Layers left unstarted after a failure are None; the failure is
    // returned (the first by layer order).
    for r in results
        .into_inner()
        .expect("results lock")
        .into_iter()
        .flatten()
    {
        out.push(r?);
    }
    Ok(out)
}

/// Fetch (or find) one layer and unpack it into its snapshot.
fn fetch_layer(
    store: &Store,
    client: &Client,
    r: &Reference,
    task: &LayerTask,
    bar: Option<&ProgressBar>,
) -> Result<LayerOutcome> {
    let snaps = Snapshotter::new(store);
    let _lock = store.lock_layer(&task.diff_id)?;
    // With the lock held, any staging of this layer belongs to a dead pull.
    for stale in snaps.stale_staging()? {
        let name = stale
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with(&format!(".tmp-{}-", task.diff_id.short())) {
            let _ = fs::remove_dir_all(&stale);
        }
    }
    let have_blob = store.has_blob(&task.digest);
    if snaps.exists(&task.diff_id) && have_blob {
        return Ok(LayerOutcome::default());
    }
    if have_blob {
        // Unpack from the stored blob (a snapshot pruned or lost).
        let path = store.blob_path(&task.digest);
        let file = File::open(&path).path_ctx("cannot open blob", &path)?;
        let staging = snaps.stage(&task.diff_id)?;
        let result = run_stream(file, &staging, task, &[]);
        let needs_lowers = finish_stored(store, task, staging, result)?;
        return Ok(LayerOutcome {
            fetched: true,
            needs_lowers,
            ..Default::default()
        });
    }
    let had_partial = fs::metadata(store.ingest_path(&task.digest)).is_ok_and(|m| m.len() > 0);
    match download_layer(store, client, r, task, bar, true) {
        // The saved prefix may be what did not verify (a disk error, a
        // different blob's bytes): start over once, from byte 0.
        Err(Error::Verification { .. }) if had_partial => {
            tracing::warn!(
                "layer {}: resumed download did not verify; downloading it again",
                task.digest
            );
            if let Some(b) = bar {
                b.set_position(0);
            }
            download_layer(store, client, r, task, bar, false)
        }
        other => other,
    }
}

fn download_layer(
    store: &Store,
    client: &Client,
    r: &Reference,
    task: &LayerTask,
    bar: Option<&ProgressBar>,
    allow_resume: bool,
) -> Result<LayerOutcome> {
    let snaps = Snapshotter::new(store);
    let ingest = store.ingest_path(&task.digest);
    let mut have = fs::metadata(&ingest).map(|m| m.len()).unwrap_or(0);
    if !allow_resume || have >= task.size {
        have = 0;
    }
    let stream = client.open_blob(r, &task.digest, have)?;
    // The registry may ignore the range and send everything.
    let resumed = stream.offset;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&ingest)
        .path_ctx("cannot open ingest file", &ingest)?;
    file.set_len(resumed).path_ctx("cannot truncate", &ingest)?;
    // Appends go after the saved prefix; the prefix is re-read through its
    // own open file description, so the two offsets stay independent.
    let file = OpenOptions::new()
        .append(true)
        .open(&ingest)
        .path_ctx("cannot open ingest file", &ingest)?;
    let prefix = File::open(&ingest).path_ctx("cannot open ingest file", &ingest)?;
    if let Some(b) = bar {
        b.set_position(resumed);
    }
    let tee = Tee {
        inner: stream.reader,
        file,
        bar: bar.cloned(),
        count: 0,
    };
    let source = prefix.take(resumed).chain(tee);
    let staging = snaps.stage(&task.diff_id)?;
    let result = run_stream(source, &staging, task, &[]);
    let downloaded = result.received.saturating_sub(resumed);
    if let Err(e) = &result.read_error {
        // Keep the ingest file: the next pull resumes from it.
        return Err(Error::Registry {
            registry: r.registry_host().to_string(),
            message: format!(
                "download of layer {} interrupted after {} of {} bytes: {e}; run the pull again to resume",
                task.digest, result.received, task.size
            ),
        });
    }
    let needs_lowers = match finish_stream(store, task, staging, result) {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&ingest);
            return Err(e);
        }
    };
    Ok(LayerOutcome {
        fetched: true,
        downloaded,
        resumed,
        needs_lowers,
    })
}

/// Writes what it reads to the ingest file and advances the progress bar.
struct Tee<R> {
    inner: R,
    file: File,
    bar: Option<ProgressBar>,
    count: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.file.write_all(&buf[..n])?;
        self.count += n as u64;
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }
}

enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, R>>),
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

/// Everything learnt from one pass over a layer stream.
struct StreamResult {
    unpack: Result<UnpackStats>,
    /// Reading the compressed stream to its end failed (network, disk).
    read_error: io::Result<()>,
    digest: Digest,
    received: u64,
    diff_id: Digest,
    compression: Compression,
}

/// Hash, decompress, hash again and unpack one layer stream. The stream is
/// always read to its end, even when unpacking fails, so the digest check
/// can tell tampered content from a hostile (but authentic) layer.
fn run_stream<R: Read>(
    source: R,
    staging: &Staging,
    task: &LayerTask,
    lowers: &[PathBuf],
) -> StreamResult {
    let compressed = HashingReader::new(source);
    let mut buffered = BufReader::with_capacity(1 << 20, compressed);
    let (compression, head_err) = match buffered.fill_buf() {
        Ok(head) => (Compression::sniff(head), None),
        Err(e) => (Compression::None, Some(e)),
    };
    let layer_name = task.digest.to_string();
    let mut decoder = match compression {
        Compression::None => Decoder::Plain(buffered),
        Compression::Gzip => {
            Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
        }
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(buffered) {
            Ok(d) => Decoder::Zstd(Box::new(d)),
            Err(e) => {
                return StreamResult {
                    unpack: Err(Error::io("cannot start a zstd decoder", e)),
                    read_error: Ok(()),
                    digest: Digest::of(b""),
                    received: 0,
                    diff_id: Digest::of(b""),
                    compression,
                }
            }
        },
    };
    let mut uncompressed = HashingReader::new(&mut decoder);
    let unpack = match head_err {
        Some(e) => Err(Error::io("reading the layer", e)),
        None => Unpacker::new(&staging.fs(), &layer_name, lowers).unpack(&mut uncompressed),
    };
    let unpack = match unpack {
        Ok(stats) => match uncompressed.drain() {
            Ok(_) => Ok(stats),
            Err(e) => Err(Error::Layer {
                layer: layer_name.clone(),
                entry: "<archive>".into(),
                reason: format!("reading the layer: {e}"),
            }),
        },
        Err(e) => Err(e),
    };
    let (diff_id, _, _) = uncompressed.finish();
    let mut compressed = decoder.into_inner().into_inner();
    let read_error = compressed.drain().map(|_| ());
    let (digest, received, _) = compressed.finish();
    StreamResult {
        unpack,
        read_error,
        digest,
        received,
        diff_id,
        compression,
    }
}

/// The blob must be exactly what the manifest says.
fn verify(task: &LayerTask, result: &StreamResult) -> Result<()> {
    let what = format!("layer {}", task.digest);
    if result.received != task.size || result.digest != task.digest {
        return Err(Error::Verification {
            what,
            message: format!(
                "expected {} bytes with digest {}, received {} bytes hashing to {}",
                task.size, task.digest, result.received, result.digest
            ),
        });
    }
    Ok(())
}

/// Verify a stream's result and commit the blob and the snapshot; returns
/// whether the layer must wait for its lower layers.
fn finish_common(
    store: &Store,
    task: &LayerTask,
    staging: Staging,
    result: StreamResult,
    commit_blob: bool,
) -> Result<bool> {
    verify(task, &result)?;
    let stats = match result.unpack {
        Ok(stats) => stats,
        Err(Error::NeedsLowerLayers { .. }) => {
            if commit_blob {
                store.commit_ingest(&task.digest)?;
            }
            return Ok(true);
        }
        Err(e) => return Err(e),
    };
    if result.diff_id != task.diff_id {
        return Err(Error::Verification {
            what: format!("layer {}", task.digest),
            message: format!(
                "its uncompressed ({:?}) content hashes to {}, but the image config says rootfs.diff_ids[{}] is {}",
                result.compression, result.diff_id, task.index, task.diff_id
            ),
        });
    }
    if commit_blob {
        let ingest = store.ingest_path(&task.digest);
        File::open(&ingest)
            .and_then(|f| f.sync_all())
            .path_ctx("cannot sync", &ingest)?;
        store.commit_ingest(&task.digest)?;
    }
    staging.commit(&SnapshotMeta {
        diff_id: task.diff_id.clone(),
        blob: task.digest.clone(),
        size: stats.file_bytes,
        entries: stats.entries,
    })?;
    Ok(false)
}

fn finish_stream(
    store: &Store,
    task: &LayerTask,
    staging: Staging,
    result: StreamResult,
) -> Result<bool> {
    finish_common(store, task, staging, result, true)
}

fn finish_stored(
    store: &Store,
    task: &LayerTask,
    staging: Staging,
    result: StreamResult,
) -> Result<bool> {
    if let Err(e) = &result.read_error {
        return Err(Error::io(
            format!("reading stored blob {}", task.digest),
            io::Error::new(e.kind(), e.to_string()),
        ));
    }
    finish_common(store, task, staging, result, false)
}
