//! Garbage collection (`skiff image prune`, and after `skiff rmi`): blobs
//! and snapshots that no image record reaches are removed, with partial
//! downloads and staging left by interrupted pulls.
//!
//! The roots are the image records. From each: its top digest (index or
//! manifest), its platform manifest, its config, its layer blobs, and the
//! snapshots of its diffIDs. Everything else under `content/` and
//! `snapshots/` goes. The collector holds `gc.lock` exclusively, so no pull
//! is between fetching a blob and writing the record that references it.

use std::collections::HashSet;
use std::fs;

use crate::digest::Digest;
use crate::error::{IoContext, Result};
use crate::snapshot::Snapshotter;
use crate::store::Store;

/// What a collection removed.
#[derive(Debug, Default, Clone)]
pub struct PruneReport {
    pub blobs_removed: Vec<Digest>,
    pub snapshots_removed: Vec<Digest>,
    /// Partial downloads and staging directories.
    pub partial_removed: usize,
    pub bytes_freed: u64,
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(m) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !m.is_dir() {
        return m.len();
    }
    fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

/// A container that uses an image. The engine lists these (see
/// `skiff_engine::in_use_images`); this crate knows nothing of containers,
/// so callers pass them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    /// The container's name, for messages.
    pub container: String,
    /// The image id (config digest) it was created from.
    pub image_id: Digest,
    /// The layers mounted as its root, bottom first.
    pub diff_ids: Vec<Digest>,
}

/// The containers (by name) that use image `id`.
pub fn users_of<'a>(users: &'a [ImageUser], id: &Digest) -> Vec<&'a str> {
    users
        .iter()
        .filter(|u| &u.image_id == id)
        .map(|u| u.container.as_str())
        .collect()
}

/// Remove everything unreferenced.
pub fn prune(store: &Store) -> Result<PruneReport> {
    prune_keeping(store, &[])
}

/// Remove everything unreferenced by an image record or by a container in
/// `in_use`: a container keeps its image's config, its layer snapshots and
/// their blobs even after its image's name was removed (`rmi --force`), so
/// it can still start and be inspected.
pub fn prune_keeping(store: &Store, in_use: &[ImageUser]) -> Result<PruneReport> {
    let _gc = store.lock_gc_exclusive()?;
    let _images = store.lock_images()?;
    let mut blobs = HashSet::new();
    let mut snapshots = HashSet::new();
    let snaps = Snapshotter::new(store);
    for u in in_use {
        blobs.insert(u.image_id.clone());
        for d in &u.diff_ids {
            snapshots.insert(d.clone());
            if let Ok(meta) = snaps.meta(d) {
                blobs.insert(meta.blob);
            }
        }
    }
    for r in store.images()? {
        blobs.insert(r.digest.clone());
        blobs.insert(r.manifest.clone());
        blobs.insert(r.config.clone());
        for l in &r.layers {
            blobs.insert(l.digest.clone());
            snapshots.insert(l.diff_id.clone());
        }
    }
    let mut report = PruneReport::default();
    let blob_dir = store.root().join("content/blobs/sha256");
    for e in fs::read_dir(&blob_dir).path_ctx("cannot list", &blob_dir)? {
        let e = e.path_ctx("cannot list", &blob_dir)?;
        let keep = e
            .file_name()
            .to_str()
            .and_then(Digest::from_hex)
            .is_some_and(|d| blobs.contains(&d));
        if !keep {
            let path = e.path();
            report.bytes_freed += dir_size(&path);
            fs::remove_file(&path).path_ctx("cannot remove", &path)?;
            if let Some(d) = e.file_name().to_str().and_then(Digest::from_hex) {
                report.blobs_removed.push(d);
            }
        }
    }
    for d in snaps.list()? {
        if !snapshots.contains(&d) {
            report.bytes_freed += dir_size(&snaps.dir(&d));
            snaps.remove(&d)?;
            report.snapshots_removed.push(d);
        }
    }
    for stale in snaps.stale_staging()? {
        report.bytes_freed += dir_size(&stale);
        fs::remove_dir_all(&stale).path_ctx("cannot remove", &stale)?;
        report.partial_removed += 1;
    }
    for dir in [
        store.root().join("content/ingest"),
        store.root().join("tmp"),
    ] {
        for e in fs::read_dir(&dir).path_ctx("cannot list", &dir)? {
            let path = e.path_ctx("cannot list", &dir)?.path();
            report.bytes_freed += dir_size(&path);
            if path.is_dir() {
                fs::remove_dir_all(&path).path_ctx("cannot remove", &path)?;
            } else {
                fs::remove_file(&path).path_ctx("cannot remove", &path)?;
            }
            report.partial_removed += 1;
        }
    }
    report.blobs_removed.sort();
    report.snapshots_removed.sort();
    Ok(report)
}
