//! The content store and the image records, on disk under the data dir:
//!
//! ```text
//! <data>/content/blobs/sha256/<hex>   verified blobs (manifests, configs, layers)
//! <data>/content/ingest/<hex>         partial downloads, kept so a pull resumes
//! <data>/images/<name>.json           one record per tag (or digest) pulled
//! <data>/snapshots/<diffID hex>/fs    one unpacked layer (an overlay lowerdir)
//! <data>/locks/                       gc.lock and one lock per layer
//! <data>/tmp/                         staging for atomic writes
//! ```
//!
//! Every write lands in `tmp/` or `ingest/` first and is renamed into place
//! only once its digest is verified, so a reader never sees partial content
//! and a crash leaves at worst garbage that `prune` removes. Pulls hold
//! `gc.lock` shared and a layer's lock exclusively while they fetch and
//! unpack it; prune holds `gc.lock` exclusively.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::reference::Reference;

/// Where persistent state lives unless `--data-dir` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/skiff";

/// The content store and image records of one data dir.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One layer of a pulled image.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerRecord {
    /// The compressed blob.
    pub digest: Digest,
    /// The digest of the uncompressed tar (the snapshot's key).
    pub diff_id: Digest,
    pub size: u64,
    pub media_type: String,
}

/// What `skiff images` lists: a name pulled, and what it resolved to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRecord {
    /// The normalised reference as pulled (`docker.io/library/busybox:latest`).
    pub name: String,
    /// The digest the name resolved to (an index or a manifest): what
    /// `--digests` shows and what `name@digest` pulls again.
    pub digest: Digest,
    /// The platform manifest actually used.
    pub manifest: Digest,
    /// The image config; its digest is the image id.
    pub config: Digest,
    pub platform: String,
    pub layers: Vec<LayerRecord>,
    /// Compressed size: config plus layer blobs.
    pub size: u64,
    /// Size of the unpacked layers' files.
    pub unpacked_size: u64,
    /// The image's own creation time (RFC 3339), from its config.
    pub created: Option<String>,
    /// When it was pulled (RFC 3339).
    pub pulled: String,
}

impl ImageRecord {
    pub fn reference(&self) -> Result<Reference> {
        Reference::parse(&self.name)
    }

    /// The image id: the config digest.
    pub fn id(&self) -> &Digest {
        &self.config
    }
}

/// A held `flock`; released on drop.
pub struct LockGuard {
    _lock: Flock<File>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique name for staging files in this process.
pub(crate) fn unique_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `/` in a name becomes `%2F` (and `%` becomes `%25`) so that every record
/// is one file directly in `images/`.
fn encode_name(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

impl Store {
    /// Open (creating it if needed) the store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        for dir in [
            store.root.join("content/blobs/sha256"),
            store.root.join("content/ingest"),
            store.root.join("images"),
            store.root.join("snapshots"),
            store.root.join("locks"),
            store.root.join("tmp"),
        ] {
            fs::create_dir_all(&dir).path_ctx("cannot create data directory", &dir)?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("content/blobs/sha256").join(d.hex())
    }

    pub fn ingest_path(&self, d: &Digest) -> PathBuf {
        self.root.join("content/ingest").join(d.hex())
    }

    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Read a small blob (manifest, config), refusing more than `limit`.
    pub fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(d);
        let meta = fs::metadata(&path).path_ctx("cannot read blob", &path)?;
        if meta.len() > limit {
            return Err(Error::Other(format!(
                "blob {d} is {} bytes, more than the {limit} byte limit",
                meta.len()
            )));
        }
        fs::read(&path).path_ctx("cannot read blob", &path)
    }

    /// Store `data` as blob `expected`, verifying it first.
    pub fn write_blob(&self, expected: &Digest, data: &[u8]) -> Result<()> {
        let actual = Digest::of(data);
        if &actual != expected {
            return Err(Error::Verification {
                what: format!("blob {expected}"),
                message: format!("content hashes to {actual}"),
            });
        }
        if self.has_blob(expected) {
            return Ok(());
        }
        let dest = self.blob_path(expected);
        self.write_atomic(&dest, data)
    }

    /// Write a file through `tmp/` and rename it over `dest`.
    pub(crate) fn write_atomic(&self, dest: &Path, data: &[u8]) -> Result<()> {
        let tmp = self.tmp_dir().join(format!("write-{}", unique_suffix()));
        let result = (|| -> io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, dest)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.path_ctx("cannot write", dest)
    }

    /// Move a verified ingest file into the blob store.
    pub(crate) fn commit_ingest(&self, d: &Digest) -> Result<()> {
        let from = self.ingest_path(d);
        let to = self.blob_path(d);
        fs::rename(&from, &to).path_ctx("cannot commit blob", &to)
    }

    fn lock(&self, name: &str, arg: FlockArg) -> Result<LockGuard> {
        let path = self.root.join("locks").join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .path_ctx("cannot open lock", &path)?;
        let lock = Flock::lock(file, arg)
            .map_err(|(_, e)| Error::io_path("cannot lock", &path, e.into()))?;
        Ok(LockGuard { _lock: lock })
    }

    /// Held (shared) by pulls, (exclusive) by garbage collection.
    pub fn lock_gc_shared(&self) -> Result<LockGuard> {
        self.lock("gc.lock", FlockArg::LockShared)
    }

    pub fn lock_gc_exclusive(&self) -> Result<LockGuard> {
        self.lock("gc.lock", FlockArg::LockExclusive)
    }

    /// Serialises work on one layer (by diffID) across processes.
    pub fn lock_layer(&self, diff_id: &Digest) -> Result<LockGuard> {
        self.lock(
            &format!("layer-{}.lock", diff_id.hex()),
            FlockArg::LockExclusive,
        )
    }

    /// Serialises updates of image records.
    pub fn lock_images(&self) -> Result<LockGuard> {
        self.lock("images.lock", FlockArg::LockExclusive)
    }

    fn image_path(&self, name: &str) -> PathBuf {
        self.root
            .join("images")
            .join(format!("{}.json", encode_name(name)))
    }

    /// Every image record, sorted by name.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let dir = self.root.join("images");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).path_ctx("cannot list", &dir)? {
            let entry = entry.path_ctx("cannot list", &dir)?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            out.push(read_record(&path)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn image(&self, name: &str) -> Result<Option<ImageRecord>> {
        let path = self.image_path(name);
        if !path.exists() {
            return Ok(None);
        }
        read_record(&path).map(Some)
    }

    pub fn put_image(&self, record: &ImageRecord) -> Result<()> {
        let data = serde_json::to_vec_pretty(record).expect("records serialise");
        self.write_atomic(&self.image_path(&record.name), &data)
    }

    /// Remove a record; true if it existed.
    pub fn remove_image(&self, name: &str) -> Result<bool> {
        let path = self.image_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io_path("cannot remove", &path, e)),
        }
    }

    /// Find images by a user's argument: a name (normalised), a full or
    /// short image id (config digest), or a `name@digest`.
    pub fn find_images(&self, arg: &str) -> Result<Vec<ImageRecord>> {
        let all = self.images()?;
        let id = arg.strip_prefix("sha256:").unwrap_or(arg);
        if id.len() >= 4 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            let by_id: Vec<_> = all
                .iter()
                .filter(|r| r.config.hex().starts_with(id))
                .cloned()
                .collect();
            if !by_id.is_empty() {
                return Ok(by_id);
            }
        }
        let reference = Reference::parse(arg)?;
        let name = reference.to_string();
        if let Some(r) = all.iter().find(|r| r.name == name) {
            return Ok(vec![r.clone()]);
        }
        // `name@digest` also finds a tag record that resolved to that digest.
        if let Some(d) = reference.digest() {
            let repo = reference.name();
            return Ok(all
                .into_iter()
                .filter(|r| {
                    (r.digest == *d || r.manifest == *d)
                        && r.reference().is_ok_and(|x| x.name() == repo)
                })
                .collect());
        }
        Ok(Vec::new())
    }
}

fn read_record(path: &Path) -> Result<ImageRecord> {
    let data = fs::read(path).path_ctx("cannot read image record", path)?;
    let de = &mut serde_json::Deserializer::from_slice(&data);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: format!(
            "malformed image record at {}: {}; remove the file and pull the image again",
            e.path(),
            e.inner()
        ),
    })
}

/// Now, as RFC 3339 in UTC.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, config: &Digest) -> ImageRecord {
        ImageRecord {
            name: name.into(),
            digest: Digest::of(b"m"),
            manifest: Digest::of(b"m"),
            config: config.clone(),
            platform: "linux/amd64".into(),
            layers: vec![],
            size: 1,
            unpacked_size: 1,
            created: None,
            pulled: now_rfc3339(),
        }
    }

    #[test]
    fn blobs_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"hello");
        assert!(store.write_blob(&Digest::of(b"other"), b"hello").is_err());
        assert!(!store.has_blob(&Digest::of(b"other")));
        store.write_blob(&d, b"hello").unwrap();
        assert_eq!(store.read_blob(&d, 100).unwrap(), b"hello");
        assert!(store.read_blob(&d, 2).is_err());

        let cfg = Digest::of(b"config");
        store
            .put_image(&record("docker.io/library/busybox:latest", &cfg))
            .unwrap();
        store
            .put_image(&record("127.0.0.1:5000/a/b:v1", &cfg))
            .unwrap();
        let names: Vec<_> = store
            .images()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names,
            ["127.0.0.1:5000/a/b:v1", "docker.io/library/busybox:latest"]
        );
        assert_eq!(store.find_images("busybox").unwrap().len(), 1);
        assert_eq!(store.find_images(cfg.short()).unwrap().len(), 2);
        assert_eq!(store.find_images("127.0.0.1:5000/a/b:v1").unwrap().len(), 1);
        assert!(store.find_images("nothere").unwrap().is_empty());
        assert!(store.remove_image("127.0.0.1:5000/a/b:v1").unwrap());
        assert!(!store.remove_image("127.0.0.1:5000/a/b:v1").unwrap());
        fs::write(dir.path().join("images/bad.json"), "{\"name\": 1}").unwrap();
        let e = store.images().unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("name"), "{e}");
    }
}
