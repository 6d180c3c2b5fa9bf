//! Applying one layer tar to a directory, in the form overlayfs reads as a
//! lower layer: an OCI whiteout `.wh.NAME` becomes a 0:0 character device,
//! and `.wh..wh..opq` becomes the `trusted.overlay.opaque` xattr on its
//! directory.
//!
//! Safety: every entry is placed relative to the layer root and nothing is
//! ever written through a symlink. An entry is rejected, and the layer with
//! it, when its path contains `..`, when any of its parent directories is a
//! symlink (a write through it could land anywhere, an absolute target
//! pointing at the host), or when a hardlink names a target with `..` or
//! through a symlink. Absolute entry paths are taken relative to the root,
//! as tar does. The layer root is a fresh private staging directory, so no
//! one else changes it between the checks and the writes.
//!
//! Preserved: regular files, directories, symlinks, hardlinks (within the
//! layer, or to a file of a lower layer, which is copied up first), device
//! nodes and FIFOs, numeric ownership, permission bits (setuid included),
//! mtimes (with PAX sub-second precision) and xattrs from PAX
//! `SCHILY.xattr.*` records, except `trusted.overlay.*`, which would let a
//! layer steer overlayfs.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{makedev, mknod, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, Gid, Uid};

use crate::error::{Error, IoContext, Result};

/// The xattr overlayfs reads to hide a lower directory's content.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What unpacking one layer produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnpackStats {
    pub entries: u64,
    /// Bytes of regular files written.
    pub file_bytes: u64,
}

/// Is this file an overlay whiteout (a 0:0 character device)?
pub fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Is this directory marked opaque?
pub fn is_opaque(path: &Path) -> bool {
    matches!(xattr::get(path, OPAQUE_XATTR), Ok(Some(v)) if v == b"y")
}

/// Applies the entries of one layer tar under `root`.
pub struct Unpacker<'a> {
    root: PathBuf,
    layer: String,
    /// Lower layers' directories, top first; used only to copy up the target
    /// of a hardlink into a lower layer. Empty when they are not unpacked yet.
    lowers: &'a [PathBuf],
    /// Relative paths known to be real directories of this layer.
    dirs_ok: HashSet<PathBuf>,
    /// Directory mtimes, set last: creating children changes them.
    dir_times: Vec<(PathBuf, TimeSpec)>,
    is_root: bool,
    stats: UnpackStats,
}

/// Ownership, mode, times and xattrs of one entry.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: TimeSpec,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

/// A path inside the layer, cleaned: `None` for the root itself.
fn clean(raw: &[u8]) -> std::result::Result<Option<PathBuf>, String> {
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                return Err("the path contains '..', which could climb out of the root".into())
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

fn display(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

impl<'a> Unpacker<'a> {
    /// `root` must be an existing, empty, private directory. `layer` names
    /// the layer in errors (its digest).
    pub fn new(root: &Path, layer: &str, lowers: &'a [PathBuf]) -> Unpacker<'a> {
        Unpacker {
            root: root.to_path_buf(),
            layer: layer.to_string(),
            lowers,
            dirs_ok: HashSet::new(),
            dir_times: Vec::new(),
            is_root: nix::unistd::geteuid().is_root(),
            stats: UnpackStats::default(),
        }
    }

    fn err(&self, entry: &str, reason: impl Into<String>) -> Error {
        Error::Layer {
            layer: self.layer.clone(),
            entry: entry.to_string(),
            reason: reason.into(),
        }
    }

    fn io_err(&self, entry: &str, what: &str, e: io::Error) -> Error {
        self.err(entry, format!("{what}: {e}"))
    }

    /// Apply every entry of the tar stream, then set directory times.
    pub fn unpack<R: Read>(mut self, reader: R) -> Result<UnpackStats> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| self.io_err("<archive>", "reading the layer", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.io_err("<archive>", "reading the layer", e))?;
            self.apply(&mut entry)?;
            self.stats.entries += 1;
        }
        self.finish()
    }

    fn finish(mut self) -> Result<UnpackStats> {
        // Deepest (latest created) first, so a parent's time is set after
        // its children stop changing it.
        for (rel, ts) in self.dir_times.drain(..).rev() {
            let path = self.root.join(&rel);
            nix::sys::stat::utimensat(AT_FDCWD, &path, &ts, &ts, UtimensatFlags::NoFollowSymlink)
                .map_err(|e| Error::io_path("cannot set the mtime of", &path, e.into()))?;
        }
        Ok(self.stats)
    }

    fn meta<R: Read>(&self, entry: &mut tar::Entry<R>, name: &str) -> Result<Meta> {
        let h = entry.header();
        let bad = |field: &str, e: io::Error| {
            self.err(name, format!("bad {field} in the tar header: {e}"))
        };
        let mut meta = Meta {
            uid: h.uid().map_err(|e| bad("uid", e))? as u32,
            gid: h.gid().map_err(|e| bad("gid", e))? as u32,
            mode: h.mode().map_err(|e| bad("mode", e))? & 0o7777,
            mtime: TimeSpec::new(h.mtime().map_err(|e| bad("mtime", e))? as i64, 0),
            xattrs: Vec::new(),
        };
        let Some(exts) = entry.pax_extensions().map_err(|e| bad("PAX header", e))? else {
            return Ok(meta);
        };
        for ext in exts {
            let ext = ext.map_err(|e| bad("PAX record", e))?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value_bytes();
            let text = || std::str::from_utf8(value).ok();
            match key {
                "uid" => {
                    if let Some(v) = text().and_then(|t| t.parse().ok()) {
                        meta.uid = v
                    }
                }
                "gid" => {
                    if let Some(v) = text().and_then(|t| t.parse().ok()) {
                        meta.gid = v
                    }
                }
                "mtime" => {
                    if let Some(ts) = text().and_then(parse_pax_time) {
                        meta.mtime = ts
                    }
                }
                k if k.starts_with("SCHILY.xattr.") => {
                    let xname = &k["SCHILY.xattr.".len()..];
                    // A layer must not steer overlayfs (redirects, metacopy,
                    // fake opaque dirs): those xattrs are ours to set.
                    if !xname.starts_with("trusted.overlay.") {
                        meta.xattrs.push((OsString::from(xname), value.to_vec()));
                    }
                }
                _ => {}
            }
        }
        Ok(meta)
    }

    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<()> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        let name = display(&raw);
        let rel = clean(&raw).map_err(|r| self.err(&name, r))?;
        let Some(rel) = rel else {
            // The root itself ("./"): only its metadata can change.
            if kind.is_dir() {
                let meta = self.meta(entry, &name)?;
                let root = self.root.clone();
                self.set_path_meta(&root, &meta, &name, false)?;
                self.dir_times.insert(0, (PathBuf::new(), meta.mtime));
            }
            return Ok(());
        };
        let file_name = rel
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        if file_name.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(&rel, &file_name, &name);
        }
        self.ensure_parents(&rel, &name)?;
        let path = self.root.join(&rel);
        if kind.is_dir() {
            let meta = self.meta(entry, &name)?;
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    let was_whiteout = is_whiteout(&m);
                    fs::remove_file(&path).map_err(|e| self.io_err(&name, "replacing it", e))?;
                    self.mkdir(&path, &name)?;
                    if was_whiteout {
                        // `.wh.d` then `d/` in one layer: a new directory that
                        // must not show what lower layers had at `d`.
                        self.set_opaque(&path, &name)?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.mkdir(&path, &name)?,
                Err(e) => return Err(self.io_err(&name, "inspecting it", e)),
            }
            self.set_path_meta(&path, &meta, &name, false)?;
            self.dirs_ok.insert(rel.clone());
            self.dir_times.push((rel, meta.mtime));
        } else if kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse() {
            let meta = self.meta(entry, &name)?;
            self.replace(&rel, &name)?;
            self.write_file(entry, &path, &meta, &name)?;
        } else if kind.is_symlink() {
            let meta = self.meta(entry, &name)?;
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| self.err(&name, "symlink without a target"))?
                .into_owned();
            self.replace(&rel, &name)?;
            std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                .map_err(|e| self.io_err(&name, "creating the symlink", e))?;
            self.set_path_meta(&path, &meta, &name, true)?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| self.err(&name, "hardlink without a target"))?
                .into_owned();
            self.hardlink(&rel, &path, &target, &name)?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let meta = self.meta(entry, &name)?;
            self.replace(&rel, &name)?;
            self.device(entry, &path, &meta, &name)?;
        } else {
            tracing::warn!(
                "layer {}: skipping {name:?} of unsupported tar type {:?}",
                self.layer,
                kind
            );
        }
        Ok(())
    }

    fn whiteout(&mut self, rel: &Path, file_name: &[u8], name: &str) -> Result<()> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if file_name == OPAQUE_MARKER.as_bytes() {
            if parent.as_os_str().is_empty() {
                // overlayfs ignores an opaque layer root; such a layer would
                // mean "delete everything below", which no builder produces.
                tracing::warn!(
                    "layer {}: ignoring an opaque marker at the root",
                    self.layer
                );
                return Ok(());
            }
            self.ensure_parents(rel, name)?;
            let dir = self.root.join(parent);
            return self.set_opaque(&dir, name);
        }
        if file_name.starts_with(b".wh..wh.") {
            // aufs bookkeeping (.wh..wh.plnk and friends), not content.
            return Ok(());
        }
        let hidden = &file_name[WHITEOUT_PREFIX.len()..];
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(self.err(name, "a whiteout must name a file"));
        }
        self.ensure_parents(rel, name)?;
        let path = self.root.join(parent).join(OsStr::from_bytes(hidden));
        match fs::symlink_metadata(&path) {
            // Something of this layer is already there: it hides the lower
            // entry by itself (and OCI says a whiteout never hides its own
            // layer's content).
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                mknod(&path, SFlag::S_IFCHR, Mode::empty(), 0).map_err(|e| {
                    self.err(
                        name,
                        format!(
                            "creating the overlay whiteout (a 0:0 device; this needs root): {e}"
                        ),
                    )
                })
            }
            Err(e) => Err(self.io_err(name, "inspecting the whited-out path", e)),
        }
    }

    fn set_opaque(&self, dir: &Path, name: &str) -> Result<()> {
        xattr::set(dir, OPAQUE_XATTR, b"y").map_err(|e| {
            self.err(
                name,
                format!(
                    "marking the directory opaque (xattr {OPAQUE_XATTR}; this needs root): {e}"
                ),
            )
        })
    }

    fn mkdir(&self, path: &Path, name: &str) -> Result<()> {
        fs::create_dir(path).map_err(|e| self.io_err(name, "creating the directory", e))
    }

    /// Make sure every parent of `rel` is a real directory of this layer,
    /// creating missing ones; refuse to go through a symlink.
    fn ensure_parents(&mut self, rel: &Path, name: &str) -> Result<()> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        let mut cur = PathBuf::new();
        for c in parent.components() {
            cur.push(c);
            if self.dirs_ok.contains(&cur) {
                continue;
            }
            let abs = self.root.join(&cur);
            match fs::symlink_metadata(&abs) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    let target = fs::read_link(&abs).unwrap_or_default();
                    return Err(self.err(
                        name,
                        format!(
                            "its parent {:?} is a symlink (to {:?}); writing through a symlink could land outside the root, so the layer is refused",
                            cur.display().to_string(),
                            target.display().to_string()
                        ),
                    ));
                }
                Ok(m) if is_whiteout(&m) => {
                    // Whited out earlier in this layer, now recreated.
                    fs::remove_file(&abs)
                        .map_err(|e| self.io_err(name, "replacing a whiteout", e))?;
                    self.mkdir(&abs, name)?;
                    self.set_opaque(&abs, name)?;
                }
                Ok(_) => {
                    return Err(self.err(
                        name,
                        format!(
                            "its parent {:?} is not a directory",
                            cur.display().to_string()
                        ),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // A parent the tar does not list: 0755 whatever the umask.
                    self.mkdir(&abs, name)?;
                    fs::set_permissions(&abs, fs::Permissions::from_mode(0o755))
                        .map_err(|e| self.io_err(name, "setting the mode of a parent", e))?;
                }
                Err(e) => return Err(self.io_err(name, "inspecting a parent directory", e)),
            }
            self.dirs_ok.insert(cur.clone());
        }
        Ok(())
    }

    /// Remove whatever this layer has at `rel` before a non-directory entry
    /// takes its place.
    fn replace(&mut self, rel: &Path, name: &str) -> Result<()> {
        let path = self.root.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                fs::remove_dir_all(&path)
                    .map_err(|e| self.io_err(name, "replacing a directory", e))?;
                self.dirs_ok.retain(|d| !d.starts_with(rel));
                self.dir_times.retain(|(d, _)| !d.starts_with(rel));
                Ok(())
            }
            Ok(_) => fs::remove_file(&path).map_err(|e| self.io_err(name, "replacing it", e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_err(name, "inspecting it", e)),
        }
    }

    fn write_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        path: &Path,
        meta: &Meta,
        name: &str,
    ) -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o600)
            .open(path)
            .map_err(|e| self.io_err(name, "creating the file", e))?;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(name, "reading the layer", e)),
            };
            file.write_all(&buf[..n])
                .map_err(|e| self.io_err(name, "writing the file", e))?;
            self.stats.file_bytes += n as u64;
        }
        if self.is_root {
            nix::unistd::fchown(
                &file,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| self.err(name, format!("setting the owner: {e}")))?;
        }
        // After chown, which clears setuid/setgid bits.
        nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(meta.mode as libc::mode_t))
            .map_err(|e| self.err(name, format!("setting the mode: {e}")))?;
        for (k, v) in &meta.xattrs {
            if let Err(e) = xattr::FileExt::set_xattr(&file, k, v) {
                self.xattr_failed(name, k, e)?;
            }
        }
        nix::sys::stat::futimens(&file, &meta.mtime, &meta.mtime)
            .map_err(|e| self.err(name, format!("setting the mtime: {e}")))?;
        Ok(())
    }

    fn xattr_failed(&self, name: &str, key: &OsStr, e: io::Error) -> Result<()> {
        let unsupported = matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM));
        if unsupported {
            // e.g. security.selinux on a host without SELinux, or user.* on
            // a symlink: the content is still right.
            tracing::debug!("layer {}: {name}: xattr {key:?} not kept: {e}", self.layer);
            Ok(())
        } else {
            Err(self.err(name, format!("setting xattr {key:?}: {e}")))
        }
    }

    /// Owner, mode, xattrs and (except for directories, which wait until
    /// the end) times of a path that is not a regular file.
    fn set_path_meta(&self, path: &Path, meta: &Meta, name: &str, symlink: bool) -> Result<()> {
        if self.is_root {
            fchownat(
                AT_FDCWD,
                path,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| self.err(name, format!("setting the owner: {e}")))?;
        }
        if !symlink {
            // The path was created by this unpacker and is not a symlink, so
            // following it is harmless.
            fs::set_permissions(path, fs::Permissions::from_mode(meta.mode))
                .map_err(|e| self.io_err(name, "setting the mode", e))?;
        }
        for (k, v) in &meta.xattrs {
            if let Err(e) = xattr::set(path, k, v) {
                self.xattr_failed(name, k, e)?;
            }
        }
        let is_dir = fs::symlink_metadata(path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !is_dir {
            nix::sys::stat::utimensat(
                AT_FDCWD,
                path,
                &meta.mtime,
                &meta.mtime,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(|e| self.err(name, format!("setting the mtime: {e}")))?;
        }
        Ok(())
    }

    fn device<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        path: &Path,
        meta: &Meta,
        name: &str,
    ) -> Result<()> {
        let h = entry.header();
        let kind = h.entry_type();
        let flag = if kind.is_character_special() {
            SFlag::S_IFCHR
        } else if kind.is_block_special() {
            SFlag::S_IFBLK
        } else {
            SFlag::S_IFIFO
        };
        let major = h.device_major().ok().flatten().unwrap_or(0);
        let minor = h.device_minor().ok().flatten().unwrap_or(0);
        if flag == SFlag::S_IFCHR && major == 0 && minor == 0 {
            // That would read as an overlay whiteout; docker refuses it too.
            return Err(self.err(
                name,
                "a 0:0 character device is reserved for overlay whiteouts",
            ));
        }
        if flag != SFlag::S_IFIFO && !self.is_root {
            tracing::warn!(
                "layer {}: skipping device {name:?}: creating devices needs root",
                self.layer
            );
            return Ok(());
        }
        mknod(
            path,
            flag,
            Mode::from_bits_truncate(meta.mode as libc::mode_t),
            makedev(major as u64, minor as u64),
        )
        .map_err(|e| self.err(name, format!("creating the device node: {e}")))?;
        self.set_path_meta(path, meta, name, false)
    }

    fn hardlink(&mut self, rel: &Path, path: &Path, target_raw: &[u8], name: &str) -> Result<()> {
        let target = clean(target_raw)
            .map_err(|r| {
                self.err(
                    name,
                    format!("hardlink target {:?}: {r}", display(target_raw)),
                )
            })?
            .ok_or_else(|| self.err(name, "a hardlink to the root directory"))?;
        if target == rel {
            return Ok(());
        }
        let target_path = self.root.join(&target);
        // The target's parents must be real directories too: a link through
        // a symlink could pin a host file into the image.
        let mut cur = PathBuf::new();
        for c in target.parent().unwrap_or(Path::new("")).components() {
            cur.push(c);
            if let Ok(m) = fs::symlink_metadata(self.root.join(&cur)) {
                if m.file_type().is_symlink() {
                    return Err(self.err(
                        name,
                        format!(
                            "hardlink target {:?} goes through the symlink {:?}, which could point outside the root",
                            target.display().to_string(),
                            cur.display().to_string()
                        ),
                    ));
                }
            }
        }
        match fs::symlink_metadata(&target_path) {
            Ok(m) if m.is_dir() => return Err(self.err(name, "a hardlink to a directory")),
            Ok(m) if !is_whiteout(&m) => {}
            _ => self.copy_up(&target, name, target_raw)?,
        }
        self.ensure_parents(rel, name)?;
        self.replace(rel, name)?;
        fs::hard_link(&target_path, path).map_err(|e| self.io_err(name, "creating the hardlink", e))
    }

    /// Bring the target of a hardlink from the lower layers into this one.
    fn copy_up(&mut self, target: &Path, name: &str, target_raw: &[u8]) -> Result<()> {
        let needs_lowers = || Error::NeedsLowerLayers {
            layer: self.layer.clone(),
            entry: name.to_string(),
            target: display(target_raw),
        };
        let mut found = None;
        'layers: for lower in self.lowers {
            let mut cur = lower.clone();
            for c in target.components() {
                cur.push(c);
                match fs::symlink_metadata(&cur) {
                    Ok(m) if is_whiteout(&m) => break 'layers,
                    Ok(m) if m.file_type().is_symlink() && cur != lower.join(target) => {
                        break 'layers
                    }
                    Ok(m) if m.is_dir() && cur != lower.join(target) => {
                        if is_opaque(&cur) {
                            // Below this directory the lower layers are hidden.
                            if fs::symlink_metadata(lower.join(target)).is_ok_and(|m| m.is_file()) {
                                found = Some(lower.join(target));
                            }
                            break 'layers;
                        }
                    }
                    Ok(m) if m.is_file() && cur == lower.join(target) => {
                        found = Some(cur.clone());
                        break 'layers;
                    }
                    Ok(_) => break 'layers,
                    Err(_) => continue 'layers,
                }
            }
        }
        let Some(source) = found else {
            return Err(needs_lowers());
        };
        self.ensure_parents(target, name)?;
        let dest = self.root.join(target);
        self.replace(target, name)?;
        fs::copy(&source, &dest)
            .map_err(|e| self.io_err(name, "copying up the hardlink target", e))?;
        let m = fs::symlink_metadata(&source)
            .map_err(|e| self.io_err(name, "copying up the hardlink target", e))?;
        let meta = Meta {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode() & 0o7777,
            mtime: TimeSpec::new(m.mtime(), m.mtime_nsec()),
            xattrs: xattr::list(&source)
                .map(|names| {
                    names
                        .filter(|n| !n.as_bytes().starts_with(b"trusted.overlay."))
                        .filter_map(|n| xattr::get(&source, &n).ok().flatten().map(|v| (n, v)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        self.set_path_meta(&dest, &meta, name, false)
    }
}

/// PAX times are decimal seconds with an optional fraction.
fn parse_pax_time(s: &str) -> Option<TimeSpec> {
    let (secs, frac) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += c.to_digit(10)? as i64 * 10i64.pow(8 - i as u32);
    }
    if secs < 0 && nanos > 0 {
        return Some(TimeSpec::new(secs - 1, 1_000_000_000 - nanos));
    }
    Some(TimeSpec::new(secs, nanos))
}

/// Unpack a whole layer stream into `root`.
pub fn unpack_layer<R: Read>(
    reader: R,
    root: &Path,
    layer: &str,
    lowers: &[PathBuf],
) -> Result<UnpackStats> {
    fs::create_dir_all(root).path_ctx("cannot create", root)?;
    Unpacker::new(root, layer, lowers).unpack(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_600_000_000);
        h
    }

    /// Build a tar in memory. Paths are written raw so that hostile names
    /// (which the tar crate's safe setters refuse) can be tested.
    fn tar(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut h = match kind {
                tar::EntryType::Directory => header(*kind, 0, 0o755),
                tar::EntryType::Symlink | tar::EntryType::Link => header(*kind, 0, 0o777),
                _ => header(*kind, data.len() as u64, 0o644),
            };
            {
                let gnu = h.as_gnu_mut().unwrap();
                gnu.name = [0; 100];
                gnu.name[..path.len()].copy_from_slice(path.as_bytes());
                if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                    gnu.linkname = [0; 100];
                    gnu.linkname[..data.len()].copy_from_slice(data.as_bytes());
                }
            }
            h.set_cksum();
            let body: &[u8] = if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                h.set_size(0);
                h.set_cksum();
                &[]
            } else {
                data.as_bytes()
            };
            b.append(&h, body).unwrap();
        }
        b.into_inner().unwrap()
    }

    use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as S};

    #[test]
    fn unpacks_files_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fs");
        let data = tar(&[
            ("etc/", D, ""),
            ("etc/passwd", F, "root:x:0:0::/root:/bin/sh\n"),
            ("etc/link", H, "etc/passwd"),
            ("etc/sym", S, "/etc/passwd"),
            ("/abs/file", F, "x"),
            ("./dot/file", F, "y"),
        ]);
        let stats = unpack_layer(&data[..], &root, "l", &[]).unwrap();
        assert_eq!(stats.entries, 6);
        let m = fs::metadata(root.join("etc/passwd")).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o7777, m.mtime()),
            (1000, 1001, 0o644, 1_600_000_000)
        );
        assert_eq!(m.nlink(), 2);
        assert_eq!(
            fs::read_link(root.join("etc/sym")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(fs::read(root.join("abs/file")).unwrap(), b"x");
        assert_eq!(fs::read(root.join("dot/file")).unwrap(), b"y");
        assert_eq!(
            fs::metadata(root.join("etc")).unwrap().mtime(),
            1_600_000_000
        );
    }

    #[test]
    fn whiteouts_become_overlay_form() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fs");
        let data = tar(&[
            ("a/", D, ""),
            ("a/.wh.gone", F, ""),
            ("b/", D, ""),
            ("b/.wh..wh..opq", F, ""),
            ("b/new", F, "n"),
            ("c/.wh.kept", F, ""),
            ("c/kept", F, "mine"),
            (".wh.d", F, ""),
            ("d/", D, ""),
            ("d/x", F, ""),
        ]);
        unpack_layer(&data[..], &root, "l", &[]).unwrap();
        assert!(is_whiteout(
            &fs::symlink_metadata(root.join("a/gone")).unwrap()
        ));
        assert!(is_opaque(&root.join("b")));
        assert!(!is_opaque(&root.join("a")));
        assert_eq!(fs::read(root.join("c/kept")).unwrap(), b"mine");
        assert!(
            is_opaque(&root.join("d")),
            "a dir recreated after its whiteout is opaque"
        );
        assert!(root.join("d/x").exists());
    }

    #[test]
    fn hostile_entries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (tar(&[("../escape", F, "x")]), "'..'"),
            (tar(&[("a/../../escape", F, "x")]), "'..'"),
            (
                tar(&[
                    ("evil", S, outside.to_str().unwrap()),
                    ("evil/file", F, "x"),
                ]),
                "symlink",
            ),
            (
                tar(&[("rel", S, "../../.."), ("rel/x/y", F, "x")]),
                "symlink",
            ),
            (tar(&[("link", H, "../../etc/passwd")]), "'..'"),
            (
                tar(&[("evil", S, "/etc"), ("link", H, "evil/passwd")]),
                "symlink",
            ),
        ];
        for (i, (data, why)) in cases.iter().enumerate() {
            let root = dir.path().join(format!("fs{i}"));
            let e = unpack_layer(&data[..], &root, "sha256:bad", &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(why) && e.contains("sha256:bad"), "case {i}: {e}");
        }
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn hardlink_to_lower_layer_is_copied_up() {
        let dir = tempfile::tempdir().unwrap();
        let lower = dir.path().join("lower");
        unpack_layer(
            &tar(&[("bin/", D, ""), ("bin/tool", F, "tool")])[..],
            &lower,
            "l1",
            &[],
        )
        .unwrap();
        let upper = dir.path().join("upper");
        let data = tar(&[("usr/tool2", H, "bin/tool")]);
        let e = unpack_layer(&data[..], &dir.path().join("u0"), "l2", &[]).unwrap_err();
        assert!(matches!(e, Error::NeedsLowerLayers { .. }), "{e}");
        unpack_layer(&data[..], &upper, "l2", std::slice::from_ref(&lower)).unwrap();
        assert_eq!(fs::read(upper.join("usr/tool2")).unwrap(), b"tool");
        assert_eq!(fs::metadata(upper.join("bin/tool")).unwrap().nlink(), 2);
        assert_eq!(fs::metadata(lower.join("bin/tool")).unwrap().nlink(), 1);
    }

    #[test]
    fn pax_times() {
        let t = parse_pax_time("1600000000.5").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (1_600_000_000, 500_000_000));
        assert!(parse_pax_time("x").is_none());
    }
}
