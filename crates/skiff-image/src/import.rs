//! The common half of `skiff load` and `skiff image import`: staging the
//! input's files under `<data>/tmp/`, hashing each as it is copied, then
//! committing verified images.
//!
//! Inputs are hostile until proven otherwise. Tar member names must be
//! relative and may not contain `..`; symlinks and hardlinks in an archive
//! are never created on disk, only followed inside the archive (one that
//! leaves it is an error); JSON documents are limited to
//! [`MAX_MANIFEST_SIZE`]. Every blob's digest and size are checked against
//! the document that names it, and every layer's diffID against the image
//! config, before anything enters `blobs/`, `snapshots/` or `images/`. On
//! any error the staging directory (and every staged snapshot) is removed,
//! so the store is left as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;

use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{Compression, MAX_MANIFEST_SIZE};
use crate::reference::Reference;
use crate::snapshot::{SnapshotMeta, Snapshotter, Staging};
use crate::store::{now_rfc3339, unique_suffix, ImageRecord, LayerRecord, Store};
use crate::unpack::Unpacker;

/// More members than this in one archive is an attack, not an image.
pub const MAX_ARCHIVE_MEMBERS: usize = 100_000;

/// Symlinks followed for one lookup inside an archive.
const MAX_LINK_DEPTH: usize = 32;

/// An error about the input (archive or layout), naming what was wrong.
pub(crate) fn bad_input(what: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Manifest {
        what: what.into(),
        message: message.into(),
    }
}

/// One staged file: a private copy of an input file, with its digest.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Blob {
    /// Read a JSON document (manifest, config, index), refusing more than
    /// [`MAX_MANIFEST_SIZE`] bytes.
    pub fn read_small(&self, what: &str) -> Result<Vec<u8>> {
        if self.size > MAX_MANIFEST_SIZE {
            return Err(bad_input(
                what,
                format!(
                    "{} bytes is larger than the {} MiB limit for image metadata",
                    self.size,
                    MAX_MANIFEST_SIZE >> 20
                ),
            ));
        }
        fs::read(&self.path).path_ctx("cannot read staged file", &self.path)
    }

    /// The blob must be exactly what its descriptor says.
    pub fn verify(&self, what: &str, digest: &Digest, size: Option<u64>) -> Result<()> {
        if &self.digest != digest || size.is_some_and(|s| s != self.size) {
            return Err(bad_input(
                what,
                format!(
                    "expected {}digest {digest}, but the content is {} bytes hashing to {}; \
                     the input is corrupt or was tampered with, nothing was stored",
                    size.map(|s| format!("{s} bytes with ")).unwrap_or_default(),
                    self.size,
                    self.digest
                ),
            ));
        }
        Ok(())
    }
}

/// Where the input's files are staged: `<data>/tmp/import-<unique>/`,
/// removed on drop (whatever was not committed goes with it).
pub(crate) struct StagingDir {
    dir: PathBuf,
    next: usize,
}

impl StagingDir {
    pub fn new(store: &Store) -> Result<StagingDir> {
        let dir = store.tmp_dir().join(format!("import-{}", unique_suffix()));
        fs::create_dir(&dir).path_ctx("cannot create", &dir)?;
        Ok(StagingDir { dir, next: 0 })
    }

    /// Copy `reader` into a new staged file, hashing it on the way.
    pub fn stage(&mut self, reader: &mut dyn Read) -> Result<Blob> {
        let path = self.dir.join(format!("m{}", self.next));
        self.next += 1;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .path_ctx("cannot create", &path)?;
        let mut w = HashingWriter::new(file);
        io::copy(reader, &mut w).path_ctx("cannot stage input into", &path)?;
        let (digest, size, file) = w.finish();
        // Synced now so a blob renamed into the store later is durable.
        file.sync_all().path_ctx("cannot sync", &path)?;
        Ok(Blob { path, digest, size })
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Where the files of an input come from, by their relative name.
pub(crate) trait Source {
    /// What the input is called in errors (`bb.tar`, `layout/`).
    fn name(&self) -> &str;
    /// A staged copy of the file `name`, or None if the input has none.
    fn get(&mut self, name: &str) -> Result<Option<Blob>>;

    /// `get` that errors when the file is missing.
    fn need(&mut self, name: &str, why: &str) -> Result<Blob> {
        match self.get(name)? {
            Some(b) => Ok(b),
            None => Err(bad_input(
                self.name().to_string(),
                format!("{name} is missing ({why})"),
            )),
        }
    }

    /// A blob by digest (`blobs/sha256/<hex>`), verified.
    fn blob(&mut self, what: &str, digest: &Digest, size: Option<u64>) -> Result<Blob> {
        let name = format!("blobs/sha256/{}", digest.hex());
        let b = self.need(&name, what)?;
        b.verify(&format!("{}: {name} ({what})", self.name()), digest, size)?;
        Ok(b)
    }
}

/// Split a member name into normal components, refusing absolute names and
/// `..`; `./` and empty components are dropped.
fn member_components<'a>(input: &str, name: &'a str) -> Result<Vec<&'a str>> {
    if name.starts_with('/') {
        return Err(bad_input(
            format!("{input}: member {name:?}"),
            "absolute member names are not allowed in an image archive (it would write outside the store)",
        ));
    }
    let mut out = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(bad_input(
                    format!("{input}: member {name:?}"),
                    "member names with \"..\" are not allowed in an image archive (path traversal)",
                ))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// An archive's members, staged: regular files copied, links recorded.
pub(crate) struct Members {
    input: String,
    staging: StagingDir,
    files: HashMap<String, Blob>,
    /// Symlinks: member name to its target, resolved to a member name.
    symlinks: HashMap<String, String>,
}

impl Members {
    /// Read a tar (optionally gzip- or zstd-compressed) stream to its end.
    pub fn from_tar(store: &Store, input: &str, reader: impl Read) -> Result<Members> {
        let mut buffered = BufReader::with_capacity(1 << 20, reader);
        let head = buffered
            .fill_buf()
            .map_err(|e| Error::io(format!("cannot read {input}"), e))?;
        let decoded: Box<dyn Read> = match Compression::sniff(head) {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(|e| Error::io(format!("cannot decompress {input}"), e))?,
            ),
        };
        let mut members = Members {
            input: input.to_string(),
            staging: StagingDir::new(store)?,
            files: HashMap::new(),
            symlinks: HashMap::new(),
        };
        let mut hardlinks = Vec::new();
        let mut archive = tar::Archive::new(decoded);
        let read_err = |e: io::Error| Error::io(format!("cannot read the tar archive {input}"), e);
        let mut count = 0;
        for entry in archive.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            count += 1;
            if count > MAX_ARCHIVE_MEMBERS {
                return Err(bad_input(
                    input,
                    format!(
                        "more than {MAX_ARCHIVE_MEMBERS} members; this is not an image archive"
                    ),
                ));
            }
            let raw = entry.path_bytes().into_owned();
            let raw = String::from_utf8(raw).map_err(|e| {
                bad_input(
                    format!(
                        "{input}: member {:?}",
                        String::from_utf8_lossy(e.as_bytes())
                    ),
                    "member names must be UTF-8",
                )
            })?;
            let name = member_components(input, &raw)?.join("/");
            let kind = entry.header().entry_type();
            let link = || -> Result<String> {
                let l = entry
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                String::from_utf8(l).map_err(|_| {
                    bad_input(
                        format!("{input}: member {raw:?}"),
                        "link targets must be UTF-8",
                    )
                })
            };
            let duplicate = || {
                bad_input(
                    format!("{input}: member {raw:?}"),
                    "appears twice in the archive; refusing an ambiguous archive",
                )
            };
            match kind {
                tar::EntryType::Directory
                | tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader => {}
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if name.is_empty() {
                        return Err(bad_input(
                            format!("{input}: member {raw:?}"),
                            "a file needs a name",
                        ));
                    }
                    let blob = members.staging.stage(&mut entry)?;
                    if members.files.insert(name.clone(), blob).is_some()
                        || members.symlinks.contains_key(&name)
                    {
                        return Err(duplicate());
                    }
                }
                tar::EntryType::Symlink => {
                    let target = link()?;
                    let what = format!("{input}: symlink {raw:?} -> {target:?}");
                    if target.starts_with('/') {
                        return Err(bad_input(
                            what,
                            "absolute symlink targets point outside the archive",
                        ));
                    }
                    // Resolve against the link's directory, never above the root.
                    let mut parts: Vec<&str> = name.split('/').collect();
                    parts.pop();
                    for c in target.split('/') {
                        match c {
                            "" | "." => {}
                            ".." => {
                                if parts.pop().is_none() {
                                    return Err(bad_input(what, "the target escapes the archive"));
                                }
                            }
                            c => parts.push(c),
                        }
                    }
                    let resolved = parts.join("/");
                    if members.symlinks.insert(name.clone(), resolved).is_some()
                        || members.files.contains_key(&name)
                    {
                        return Err(duplicate());
                    }
                }
                tar::EntryType::Link => {
                    let target = link()?;
                    let target = member_components(input, &target)?.join("/");
                    hardlinks.push((name, target, raw));
                }
                other => {
                    return Err(bad_input(
                        format!("{input}: member {raw:?}"),
                        format!("is a {other:?} entry, which an image archive does not contain"),
                    ))
                }
            }
        }
        // A hardlink is another name for a file earlier in the archive.
        for (name, target, raw) in hardlinks {
            let Some(blob) = members.files.get(&target).cloned() else {
                return Err(bad_input(
                    format!("{input}: hardlink {raw:?}"),
                    format!("its target {target:?} is not a file in the archive"),
                ));
            };
            if members.files.insert(name, blob).is_some() {
                return Err(duplicate_of(input, &raw));
            }
        }
        Ok(members)
    }
}

fn duplicate_of(input: &str, raw: &str) -> Error {
    bad_input(
        format!("{input}: member {raw:?}"),
        "appears twice in the archive; refusing an ambiguous archive",
    )
}

impl Source for Members {
    fn name(&self) -> &str {
        &self.input
    }

    fn get(&mut self, name: &str) -> Result<Option<Blob>> {
        let mut name = member_components(&self.input, name)?.join("/");
        for _ in 0..MAX_LINK_DEPTH {
            if let Some(b) = self.files.get(&name) {
                return Ok(Some(b.clone()));
            }
            // A symlink, or a path through a symlinked directory.
            let mut next = None;
            let parts: Vec<&str> = name.split('/').collect();
            for i in (1..=parts.len()).rev() {
                let prefix = parts[..i].join("/");
                if let Some(t) = self.symlinks.get(&prefix) {
                    let mut rest = vec![t.as_str()];
                    rest.extend(&parts[i..]);
                    next = Some(
                        rest.into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join("/"),
                    );
                    break;
                }
            }
            match next {
                Some(n) => name = n,
                None => return Ok(None),
            }
        }
        Err(bad_input(
            format!("{}: member {name:?}", self.input),
            "too many levels of symlinks",
        ))
    }
}

/// An OCI layout directory on disk: files are copied into staging as they
/// are asked for, so what is verified is what gets committed.
pub(crate) struct DirSource {
    input: String,
    root: PathBuf,
    staging: StagingDir,
}

impl DirSource {
    pub fn new(store: &Store, root: &Path) -> Result<DirSource> {
        let root = fs::canonicalize(root).path_ctx("cannot open", root)?;
        Ok(DirSource {
            input: root.display().to_string(),
            root,
            staging: StagingDir::new(store)?,
        })
    }
}

impl Source for DirSource {
    fn name(&self) -> &str {
        &self.input
    }

    fn get(&mut self, name: &str) -> Result<Option<Blob>> {
        let rel = member_components(&self.input, name)?.join("/");
        let path = self.root.join(&rel);
        let real = match fs::canonicalize(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io_path("cannot open", &path, e)),
        };
        if !real.starts_with(&self.root) {
            return Err(bad_input(
                format!("{}: {rel}", self.input),
                format!("is a symlink to {}, outside the layout", real.display()),
            ));
        }
        let mut f = File::open(&real).path_ctx("cannot open", &real)?;
        if !f.metadata().path_ctx("cannot stat", &real)?.is_file() {
            return Err(bad_input(
                format!("{}: {rel}", self.input),
                "is not a regular file",
            ));
        }
        self.staging.stage(&mut f).map(Some)
    }
}

/// One layer of an image ready to commit.
#[derive(Debug, Clone)]
pub(crate) struct PreparedLayer {
    pub blob: Blob,
    pub diff_id: Digest,
    pub media_type: String,
}

/// An image whose documents are verified and whose layer blobs are staged.
pub(crate) struct PreparedImage {
    pub names: Vec<Reference>,
    /// What the names resolve to: the manifest, or an index above it.
    pub top: Digest,
    /// Documents to store as blobs (manifest, index), already verified.
    pub documents: Vec<(Digest, Vec<u8>)>,
    pub manifest: Digest,
    pub config_digest: Digest,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfiguration,
    pub layers: Vec<PreparedLayer>,
}

/// The layer media type for a blob, from its first bytes.
pub(crate) fn oci_layer_media_type(blob: &Blob) -> Result<String> {
    let mut head = [0u8; 4];
    let mut f = File::open(&blob.path).path_ctx("cannot open", &blob.path)?;
    let n = f.read(&mut head).path_ctx("cannot read", &blob.path)?;
    Ok(match Compression::sniff(&head[..n]) {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
    .to_string())
}

/// A decompressing reader over a layer blob (gzip, zstd or none, sniffed).
pub(crate) fn decompressed(path: &Path) -> Result<Box<dyn Read>> {
    let f = File::open(path).path_ctx("cannot open", path)?;
    let mut buffered = BufReader::with_capacity(1 << 20, f);
    let head = buffered.fill_buf().path_ctx("cannot read", path)?;
    Ok(match Compression::sniff(head) {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .path_ctx("cannot decompress", path)?,
        ),
    })
}

/// Check the config's diffIDs against the layer list.
pub(crate) fn config_diff_ids(
    what: &str,
    config: &ImageConfiguration,
    layers: usize,
) -> Result<Vec<Digest>> {
    let ids = config.rootfs().diff_ids();
    if ids.len() != layers {
        return Err(bad_input(
            what,
            format!(
                "rootfs.diff_ids has {} entries but the image has {layers} layers",
                ids.len()
            ),
        ));
    }
    ids.iter()
        .enumerate()
        .map(|(i, d)| {
            Digest::parse(d).map_err(|e| bad_input(what, format!("rootfs.diff_ids[{i}]: {e}")))
        })
        .collect()
}

fn platform_of(config: &ImageConfiguration) -> String {
    let (os, arch) = (config.os().to_string(), config.architecture().to_string());
    match config.variant() {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

/// Unpack (or, when the snapshot exists, only hash) every layer, check its
/// diffID, then commit snapshots, blobs, documents and records, in that
/// order. Nothing is renamed into the store until every layer of every
/// image has verified.
pub(crate) fn commit(store: &Store, images: Vec<PreparedImage>) -> Result<Vec<ImageRecord>> {
    let _gc = store.lock_gc_shared()?;
    // Every layer lock at once, in a fixed order, so two imports cannot
    // deadlock (pulls take one at a time).
    let mut all: Vec<Digest> = images
        .iter()
        .flat_map(|i| i.layers.iter().map(|l| l.diff_id.clone()))
        .collect();
    all.sort();
    all.dedup();
    let _locks = all
        .iter()
        .map(|d| store.lock_layer(d))
        .collect::<Result<Vec<_>>>()?;

    let snaps = Snapshotter::new(store);
    // diffID -> (staged snapshot, its fs dir, the meta to commit).
    let mut staged: BTreeMap<Digest, (Staging, SnapshotMeta)> = BTreeMap::new();
    let mut hashed: BTreeSet<Digest> = BTreeSet::new();
    for image in &images {
        let mut lowers: Vec<PathBuf> = Vec::new();
        for (i, layer) in image.layers.iter().enumerate() {
            let name = layer.blob.digest.to_string();
            let check = |diff: &Digest| -> Result<()> {
                if diff != &layer.diff_id {
                    return Err(bad_input(
                        format!("layer {name}"),
                        format!(
                            "its uncompressed content hashes to {diff}, but the image config says \
                             rootfs.diff_ids[{i}] is {}; nothing was stored",
                            layer.diff_id
                        ),
                    ));
                }
                Ok(())
            };
            let fs_dir = if let Some((s, _)) = staged.get(&layer.diff_id) {
                s.fs()
            } else if snaps.exists(&layer.diff_id) {
                // Present already: the blob still has to be what the
                // config says before it is stored under this diffID.
                if layer.blob.digest != layer.diff_id && !hashed.contains(&layer.diff_id) {
                    let mut r = HashingReader::new(decompressed(&layer.blob.path)?);
                    r.drain().path_ctx("cannot read", &layer.blob.path)?;
                    check(&r.finish().0)?;
                    hashed.insert(layer.diff_id.clone());
                }
                snaps.fs_dir(&layer.diff_id)
            } else {
                let staging = snaps.stage(&layer.diff_id)?;
                let mut lower_dirs = lowers.clone();
                lower_dirs.reverse();
                let mut r = HashingReader::new(decompressed(&layer.blob.path)?);
                let stats = Unpacker::new(&staging.fs(), &name, &lower_dirs).unpack(&mut r)?;
                r.drain().path_ctx("cannot read", &layer.blob.path)?;
                check(&r.finish().0)?;
                let fs_dir = staging.fs();
                let meta = SnapshotMeta {
                    diff_id: layer.diff_id.clone(),
                    blob: layer.blob.digest.clone(),
                    size: stats.file_bytes,
                    entries: stats.entries,
                };
                staged.insert(layer.diff_id.clone(), (staging, meta));
                fs_dir
            };
            lowers.push(fs_dir);
        }
    }

    // Everything verified: commit.
    for (_, (staging, meta)) in staged {
        staging.commit(&meta)?;
    }
    let mut records = Vec::new();
    for image in &images {
        for layer in &image.layers {
            let dest = store.blob_path(&layer.blob.digest);
            if !dest.exists() {
                // The same staged file may back two layers: it moves once,
                // and the second time `dest` exists.
                fs::rename(&layer.blob.path, &dest).path_ctx("cannot commit blob", &dest)?;
            }
        }
        for (d, data) in &image.documents {
            store.write_blob(d, data)?;
        }
        store.write_blob(&image.config_digest, &image.config_bytes)?;
        let unpacked_size = image
            .layers
            .iter()
            .map(|l| snaps.meta(&l.diff_id).map(|m| m.size).unwrap_or(0))
            .sum();
        for name in &image.names {
            records.push(ImageRecord {
                name: name.to_string(),
                digest: image.top.clone(),
                manifest: image.manifest.clone(),
                config: image.config_digest.clone(),
                platform: platform_of(&image.config),
                layers: image
                    .layers
                    .iter()
                    .map(|l| LayerRecord {
                        digest: l.blob.digest.clone(),
                        diff_id: l.diff_id.clone(),
                        size: l.blob.size,
                        media_type: l.media_type.clone(),
                    })
                    .collect(),
                size: image.config_bytes.len() as u64
                    + image.layers.iter().map(|l| l.blob.size).sum::<u64>(),
                unpacked_size,
                created: image.config.created().clone(),
                pulled: now_rfc3339(),
            });
        }
    }
    // Records last: an image is visible only once all of it is in.
    let _images = store.lock_images()?;
    for r in &records {
        store.put_image(r)?;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::RawTar;

    #[test]
    fn member_names_and_links_stay_inside() {
        assert_eq!(member_components("a", "./x//y/").unwrap(), ["x", "y"]);
        assert!(member_components("a", "x/../../y").is_err());
        assert!(member_components("a", "/etc/passwd").is_err());

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tar = RawTar::new()
            .file("blobs/a.tar", b"layer", 0o644)
            .unwrap()
            .symlink("id/layer.tar", "../blobs/a.tar")
            .unwrap()
            .symlink("alias", "blobs")
            .unwrap()
            .hardlink("hard", "blobs/a.tar")
            .unwrap()
            .finish()
            .unwrap();
        let mut m = Members::from_tar(&store, "t.tar", tar.as_slice()).unwrap();
        let want = Digest::of(b"layer");
        for name in [
            "blobs/a.tar",
            "id/layer.tar",
            "alias/a.tar",
            "hard",
            "./hard",
        ] {
            assert_eq!(m.get(name).unwrap().unwrap().digest, want, "{name}");
        }
        assert!(m.get("missing").unwrap().is_none());
        drop(m);
        // The staging directory goes with the members.
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);

        let loop_tar = RawTar::new()
            .symlink("a", "b")
            .unwrap()
            .symlink("b", "a")
            .unwrap()
            .finish()
            .unwrap();
        let mut m = Members::from_tar(&store, "t.tar", loop_tar.as_slice()).unwrap();
        let e = m.get("a").unwrap_err().to_string();
        assert!(e.contains("too many levels of symlinks"), "{e}");

        let dup = RawTar::new()
            .file("x", b"1", 0o644)
            .unwrap()
            .file("x", b"2", 0o644)
            .unwrap()
            .finish()
            .unwrap();
        let e = Members::from_tar(&store, "t.tar", dup.as_slice())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("appears twice"), "{e}");
    }
}
