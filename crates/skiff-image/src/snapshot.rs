//! Snapshots: one directory per layer diffID, shared by every image that has
//! the layer, in the form overlayfs takes as a lowerdir. A container's root
//! is an overlay of its image's layers plus a private upper directory; when
//! overlayfs is unavailable, the layers are copied into a plain directory
//! instead, applying the whiteouts along the way.
//!
//! ```text
//! <data>/snapshots/<diffID hex>/fs          the layer's files
//! <data>/snapshots/<diffID hex>/meta.json   what it was unpacked from
//! <data>/snapshots/.tmp-*                   staging (renamed into place)
//! ```

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::AT_FDCWD;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::{mknod, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, Gid, Uid};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::store::{unique_suffix, Store};
use crate::unpack::{is_opaque, is_whiteout};

/// What `meta.json` records about a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub diff_id: Digest,
    /// The blob it was unpacked from.
    pub blob: Digest,
    /// Bytes of regular files.
    pub size: u64,
    pub entries: u64,
}

/// The snapshots of one store.
#[derive(Debug, Clone)]
pub struct Snapshotter {
    dir: PathBuf,
}

/// A snapshot being unpacked; removed on drop unless committed.
pub struct Staging {
    dir: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Staging {
    /// Where the layer's files go.
    pub fn fs(&self) -> PathBuf {
        self.dir.join("fs")
    }

    /// Record the metadata and rename the snapshot into place. Losing a race
    /// with another process that committed the same layer is fine: both
    /// unpacked the same verified content.
    pub fn commit(mut self, meta: &SnapshotMeta) -> Result<()> {
        let data = serde_json::to_vec_pretty(meta).expect("meta serialises");
        let path = self.dir.join("meta.json");
        fs::write(&path, data).path_ctx("cannot write", &path)?;
        match fs::rename(&self.dir, &self.dest) {
            Ok(()) => {
                self.committed = true;
                Ok(())
            }
            Err(e) if self.dest.join("meta.json").exists() => {
                tracing::debug!("snapshot {} already committed: {e}", self.dest.display());
                Ok(())
            }
            Err(e) => Err(Error::io_path("cannot commit snapshot", &self.dest, e)),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// How to build a root file system from snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountMode {
    /// overlayfs if the kernel has it and the mount works, else copy.
    Auto,
    Overlay,
    Copy,
}

/// What [`Snapshotter::mount`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Overlay,
    Copy,
}

/// A root file system built from an image's layers.
#[derive(Debug)]
pub struct RootfsMount {
    pub target: PathBuf,
    pub kind: MountKind,
}

impl RootfsMount {
    /// Unmount an overlay (a copied root is left for the caller to remove).
    pub fn unmount(&self) -> Result<()> {
        if self.kind == MountKind::Overlay {
            nix::mount::umount2(&self.target, MntFlags::MNT_DETACH)
                .map_err(|e| Error::io_path("cannot unmount", &self.target, e.into()))?;
        }
        Ok(())
    }
}

/// Does the running kernel know overlayfs (possibly as a loadable module)?
pub fn overlay_available() -> bool {
    let listed = fs::read_to_string("/proc/filesystems")
        .map(|s| s.lines().any(|l| l.trim_end().ends_with("\toverlay")))
        .unwrap_or(false);
    listed || Path::new("/sys/module/overlay").exists() || modprobe_possible()
}

fn modprobe_possible() -> bool {
    let Ok(release) = fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    Path::new("/lib/modules")
        .join(release.trim())
        .join("kernel/fs/overlayfs")
        .exists()
}

impl Snapshotter {
    pub fn new(store: &Store) -> Snapshotter {
        Snapshotter {
            dir: store.snapshots_dir(),
        }
    }

    pub fn dir(&self, diff_id: &Digest) -> PathBuf {
        self.dir.join(diff_id.hex())
    }

    /// The layer's files (an overlay lowerdir).
    pub fn fs_dir(&self, diff_id: &Digest) -> PathBuf {
        self.dir(diff_id).join("fs")
    }

    pub fn exists(&self, diff_id: &Digest) -> bool {
        self.dir(diff_id).join("meta.json").is_file()
    }

    pub fn meta(&self, diff_id: &Digest) -> Result<SnapshotMeta> {
        let path = self.dir(diff_id).join("meta.json");
        let data = fs::read(&path).path_ctx("cannot read snapshot metadata", &path)?;
        serde_json::from_slice(&data).map_err(|e| Error::Config {
            path,
            message: format!(
                "malformed snapshot metadata: {e}; run `skiff image prune` and pull again"
            ),
        })
    }

    /// Start unpacking a layer into a private staging directory.
    pub fn stage(&self, diff_id: &Digest) -> Result<Staging> {
        let dir = self
            .dir
            .join(format!(".tmp-{}-{}", diff_id.short(), unique_suffix()));
        fs::create_dir_all(dir.join("fs")).path_ctx("cannot create", &dir)?;
        Ok(Staging {
            dir,
            dest: self.dir(diff_id),
            committed: false,
        })
    }

    /// Every committed snapshot.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).path_ctx("cannot list", &self.dir)? {
            let e = e.path_ctx("cannot list", &self.dir)?;
            if let Some(d) = e.file_name().to_str().and_then(Digest::from_hex) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Staging directories left by interrupted pulls.
    pub fn stale_staging(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).path_ctx("cannot list", &self.dir)? {
            let e = e.path_ctx("cannot list", &self.dir)?;
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                out.push(e.path());
            }
        }
        Ok(out)
    }

    pub fn remove(&self, diff_id: &Digest) -> Result<()> {
        let dir = self.dir(diff_id);
        // Rename first so a half-removed snapshot never looks committed.
        let doomed = self
            .dir
            .join(format!(".tmp-rm-{}-{}", diff_id.short(), unique_suffix()));
        fs::rename(&dir, &doomed).path_ctx("cannot remove snapshot", &dir)?;
        fs::remove_dir_all(&doomed).path_ctx("cannot remove snapshot", &doomed)
    }

    /// Build a root file system for `layers` (bottom first) at `target`.
    /// With overlay, `rw_dir` receives `upper/` and `work/` (on the same
    /// file system as the snapshots is best); with copy it is unused.
    pub fn mount(
        &self,
        layers: &[Digest],
        rw_dir: &Path,
        target: &Path,
        mode: MountMode,
    ) -> Result<RootfsMount> {
        for d in layers {
            if !self.exists(d) {
                return Err(Error::Other(format!(
                    "snapshot for layer {d} is missing; pull the image again"
                )));
            }
        }
        fs::create_dir_all(target).path_ctx("cannot create", target)?;
        match mode {
            MountMode::Copy => self.copy(layers, target),
            MountMode::Overlay => self.overlay(layers, rw_dir, target),
            MountMode::Auto => {
                if overlay_available() {
                    match self.overlay(layers, rw_dir, target) {
                        Ok(m) => return Ok(m),
                        Err(e) => tracing::warn!(
                            "overlayfs mount failed, copying the layers instead: {e}"
                        ),
                    }
                }
                self.copy(layers, target)
            }
        }
    }

    fn overlay(&self, layers: &[Digest], rw_dir: &Path, target: &Path) -> Result<RootfsMount> {
        let upper = rw_dir.join("upper");
        let work = rw_dir.join("work");
        fs::create_dir_all(&upper).path_ctx("cannot create", &upper)?;
        fs::create_dir_all(&work).path_ctx("cannot create", &work)?;
        let mut lowers = Vec::new();
        // overlayfs lists lowerdirs top first.
        for d in layers.iter().rev() {
            lowers.push(escape_overlay_path(&self.fs_dir(d))?);
        }
        if lowers.is_empty() {
            // An image without layers: an empty lower.
            let empty = rw_dir.join("empty");
            fs::create_dir_all(&empty).path_ctx("cannot create", &empty)?;
            lowers.push(escape_overlay_path(&empty)?);
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            escape_overlay_path(&upper)?,
            escape_overlay_path(&work)?
        );
        // The kernel takes mount data up to a page.
        if options.len() >= 4096 {
            return Err(Error::Other(format!(
                "{} layers make the overlay mount options {} bytes long, more than the kernel's 4096",
                layers.len(),
                options.len()
            )));
        }
        nix::mount::mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(options.as_str()),
        )
        .map_err(|e| Error::io_path("cannot mount overlay on", target, e.into()))?;
        Ok(RootfsMount {
            target: target.to_path_buf(),
            kind: MountKind::Overlay,
        })
    }

    fn copy(&self, layers: &[Digest], target: &Path) -> Result<RootfsMount> {
        let mut links = HashMap::new();
        for d in layers {
            apply_copy(&self.fs_dir(d), target, &mut links, true)?;
        }
        Ok(RootfsMount {
            target: target.to_path_buf(),
            kind: MountKind::Copy,
        })
    }
}

/// overlayfs splits its options at ',' and lowerdirs at ':'.
fn escape_overlay_path(p: &Path) -> Result<String> {
    let s = p
        .to_str()
        .ok_or_else(|| Error::Other(format!("overlay paths must be UTF-8: {}", p.display())))?;
    if s.contains([',', ':', '\\']) {
        return Err(Error::Other(format!(
            "the path {s:?} contains ',', ':' or '\\', which overlayfs options cannot carry; use a data dir without them"
        )));
    }
    Ok(s.to_string())
}

/// Copy a plain directory tree into `dst`, an existing empty directory:
/// owners, modes, times and xattrs kept, symlinks copied as symlinks (never
/// followed), hardlinks within the tree kept as hardlinks, and `dst` itself
/// given `src`'s metadata. `src` must be a merged view (a mounted container
/// root, say): it has no whiteouts or opaque markers for the copy to apply.
/// The engine seeds anonymous volumes with it.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let m = fs::metadata(src).path_ctx("cannot inspect", src)?;
    apply_copy(src, dst, &mut HashMap::new(), true)?;
    copy_meta(src, dst, &m)
}

/// Apply one overlay-form layer directory onto a plain directory: whiteouts
/// delete, opaque directories first lose what was there, everything else is
/// copied with its metadata. Hardlinks within a layer stay hardlinks.
fn apply_copy(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
    is_root: bool,
) -> Result<()> {
    if !is_root && is_opaque(src) {
        for e in fs::read_dir(dst).path_ctx("cannot list", dst)? {
            let p = e.path_ctx("cannot list", dst)?.path();
            remove_any(&p)?;
        }
    }
    for e in fs::read_dir(src).path_ctx("cannot list", src)? {
        let e = e.path_ctx("cannot list", src)?;
        let s = e.path();
        let d = dst.join(e.file_name());
        let m = fs::symlink_metadata(&s).path_ctx("cannot inspect", &s)?;
        let ft = m.file_type();
        if is_whiteout(&m) {
            remove_any(&d)?;
            continue;
        }
        let existing = fs::symlink_metadata(&d).ok();
        if ft.is_dir() {
            match &existing {
                Some(x) if x.is_dir() => {}
                Some(_) => {
                    remove_any(&d)?;
                    fs::create_dir(&d).path_ctx("cannot create", &d)?;
                }
                None => fs::create_dir(&d).path_ctx("cannot create", &d)?,
            }
            apply_copy(&s, &d, links, false)?;
            copy_meta(&s, &d, &m)?;
            continue;
        }
        if existing.is_some() {
            remove_any(&d)?;
        }
        if ft.is_file() && m.nlink() > 1 {
            if let Some(first) = links.get(&(m.dev(), m.ino())) {
                fs::hard_link(first, &d).path_ctx("cannot link", &d)?;
                continue;
            }
            links.insert((m.dev(), m.ino()), d.clone());
        }
        if ft.is_file() {
            fs::copy(&s, &d).path_ctx("cannot copy to", &d)?;
        } else if ft.is_symlink() {
            let t = fs::read_link(&s).path_ctx("cannot read link", &s)?;
            std::os::unix::fs::symlink(&t, &d).path_ctx("cannot create symlink", &d)?;
        } else {
            let kind = if ft.is_char_device() {
                SFlag::S_IFCHR
            } else if ft.is_block_device() {
                SFlag::S_IFBLK
            } else if ft.is_fifo() {
                SFlag::S_IFIFO
            } else {
                SFlag::S_IFSOCK
            };
            mknod(
                &d,
                kind,
                Mode::from_bits_truncate(m.mode() as libc::mode_t & 0o7777),
                m.rdev(),
            )
            .map_err(|e| Error::io_path("cannot create device", &d, e.into()))?;
        }
        copy_meta(&s, &d, &m)?;
    }
    Ok(())
}

fn remove_any(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).path_ctx("cannot remove", p),
        Ok(_) => fs::remove_file(p).path_ctx("cannot remove", p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io_path("cannot inspect", p, e)),
    }
}

fn copy_meta(src: &Path, dst: &Path, m: &fs::Metadata) -> Result<()> {
    let symlink = m.file_type().is_symlink();
    fchownat(
        AT_FDCWD,
        dst,
        Some(Uid::from_raw(m.uid())),
        Some(Gid::from_raw(m.gid())),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::io_path("cannot set the owner of", dst, e.into()))?;
    if !symlink {
        fs::set_permissions(dst, fs::Permissions::from_mode(m.mode() & 0o7777))
            .path_ctx("cannot set the mode of", dst)?;
    }
    if let Ok(names) = xattr::list(src) {
        for n in names {
            if n.to_string_lossy().starts_with("trusted.overlay.") {
                continue;
            }
            if let Ok(Some(v)) = xattr::get(src, &n) {
                if let Err(e) = xattr::set(dst, &n, &v) {
                    tracing::debug!("{}: xattr {n:?} not copied: {e}", dst.display());
                }
            }
        }
    }
    let atime = TimeSpec::new(m.atime(), m.atime_nsec());
    let mtime = TimeSpec::new(m.mtime(), m.mtime_nsec());
    nix::sys::stat::utimensat(
        AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| Error::io_path("cannot set the times of", dst, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::unpack_layer;

    fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1);
            match data {
                Some(d) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(d.len() as u64);
                    h.set_mode(0o644);
                    b.append_data(&mut h, path, d.as_bytes()).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    h.set_mode(0o755);
                    b.append_data(&mut h, path, &[][..]).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn copy_mode_applies_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data")).unwrap();
        let snaps = Snapshotter::new(&store);
        let l1 = layer(&[
            ("a", None),
            ("a/x", Some("1")),
            ("a/y", Some("2")),
            ("o", None),
            ("o/old", Some("3")),
        ]);
        let l2 = layer(&[
            ("a/.wh.x", Some("")),
            ("o/.wh..wh..opq", Some("")),
            ("o/new", Some("4")),
        ]);
        let mut ids = vec![];
        for (i, l) in [l1, l2].iter().enumerate() {
            let d = Digest::of(l);
            let st = snaps.stage(&d).unwrap();
            let stats = unpack_layer(&l[..], &st.fs(), &format!("l{i}"), &[]).unwrap();
            st.commit(&SnapshotMeta {
                diff_id: d.clone(),
                blob: d.clone(),
                size: stats.file_bytes,
                entries: stats.entries,
            })
            .unwrap();
            ids.push(d);
        }
        assert_eq!(snaps.list().unwrap().len(), 2);
        let target = dir.path().join("rootfs");
        let m = snaps
            .mount(&ids, &dir.path().join("rw"), &target, MountMode::Copy)
            .unwrap();
        assert_eq!(m.kind, MountKind::Copy);
        assert!(!target.join("a/x").exists());
        assert!(target.join("a/y").exists());
        assert!(!target.join("o/old").exists());
        assert!(target.join("o/new").exists());
        m.unmount().unwrap();
        assert!(snaps.stale_staging().unwrap().is_empty());
    }

    #[test]
    fn copy_tree_keeps_metadata_and_symlinks() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), "x").unwrap();
        fs::set_permissions(src.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o711)).unwrap();
        fs::hard_link(src.join("sub/f"), src.join("h")).unwrap();
        // Copied as a link, not followed to the host's file.
        symlink("/etc/hostname", src.join("l")).unwrap();
        let dst = dir.path().join("dst");
        fs::create_dir(&dst).unwrap();
        copy_tree(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("sub/f")).unwrap(), "x");
        let m = fs::metadata(dst.join("sub/f")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.ino(), fs::metadata(dst.join("h")).unwrap().ino());
        assert_eq!(fs::metadata(&dst).unwrap().mode() & 0o7777, 0o711);
        assert_eq!(
            fs::read_link(dst.join("l")).unwrap(),
            Path::new("/etc/hostname")
        );
    }
}
