//! Mount options and mount targets that cannot escape a root directory.
//!
//! Every destination inside a container rootfs is opened with `openat2(2)` and
//! `RESOLVE_IN_ROOT`, so a symlink planted in the image (`/proc -> /etc` or
//! `/x -> ../../../host`) resolves inside the rootfs and never on the host.
//! The mount is then made on `/proc/self/fd/N`, the exact inode that was
//! resolved, which closes the window between checking a path and using it.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mount option {option:?} is not supported; remove it from the mount of {destination}")]
    UnsupportedOption { option: String, destination: String },
    #[error("mount destination {0:?} must be an absolute path inside the container")]
    RelativeDestination(String),
    #[error("cannot resolve {path:?} inside the rootfs {root}: {source}")]
    Resolve {
        path: String,
        root: String,
        source: Errno,
    },
    #[error("cannot create {path:?} inside the rootfs: {source}")]
    Create { path: String, source: Errno },
    #[error("{what}: {source}")]
    Sys { what: String, source: Errno },
}

/// What a list of OCI mount options means to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the initial mount(2) (includes MS_BIND / MS_REC for binds).
    pub flags: MsFlags,
    /// Flags that clear bits, such as `rw` or `suid`, only matter for remounts.
    pub cleared: MsFlags,
    /// MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE (+ MS_REC), applied in a second call.
    pub propagation: MsFlags,
    /// `mount_setattr(2)` attributes to set recursively (`rro`, `rnosuid`, ...).
    pub recursive_set: u64,
    /// `mount_setattr(2)` attributes to clear recursively (`rrw`, `rsuid`, ...).
    pub recursive_clear: u64,
    /// Filesystem-specific data, comma-joined (`mode=755,size=65536k`).
    pub data: String,
    /// `tmpcopyup` and similar runtime-level options that have no kernel meaning.
    pub tmpcopyup: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: MsFlags::empty(),
            recursive_set: 0,
            recursive_clear: 0,
            data: String::new(),
            tmpcopyup: false,
        }
    }
}

/// MS_NOSYMFOLLOW (linux 5.10); nix does not export it.
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Flags that need a `MS_REMOUNT` after a bind mount, since the kernel ignores
    /// them on the initial bind.
    pub fn bind_remount_flags(&self) -> MsFlags {
        self.flags
            & !(MsFlags::MS_BIND
                | MsFlags::MS_REC
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_SHARED
                | MsFlags::MS_SLAVE
                | MsFlags::MS_PRIVATE
                | MsFlags::MS_UNBINDABLE)
    }
}

// mount_setattr attribute bits (linux/mount.h).
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// Parse the `options` of one OCI mount. `destination` is only used in errors.
pub fn parse_options(options: &[String], destination: &str) -> Result<MountOptions, MountError> {
    let mut out = MountOptions::default();
    let mut data = Vec::new();
    for option in options {
        let (set, clear) = match option.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
            "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
            "nosymfollow" => (MS_NOSYMFOLLOW, MsFlags::empty()),
            "symfollow" => (MsFlags::empty(), MS_NOSYMFOLLOW),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "tmpcopyup" => {
                out.tmpcopyup = true;
                continue;
            }
            other => {
                if let Some(prop) = propagation_flag(other) {
                    out.propagation |= prop;
                    continue;
                }
                if let Some((set, attr)) = recursive_attr(other) {
                    if set {
                        out.recursive_set |= attr;
                    } else {
                        out.recursive_clear |= attr;
                    }
                    continue;
                }
                if other == "idmap" || other == "ridmap" {
                    return Err(MountError::UnsupportedOption {
                        option: other.to_string(),
                        destination: destination.to_string(),
                    });
                }
                data.push(other.to_string());
                continue;
            }
        };
        out.flags |= set;
        out.flags &= !clear;
        out.cleared |= clear;
    }
    out.data = data.join(",");
    Ok(out)
}

fn propagation_flag(option: &str) -> Option<MsFlags> {
    Some(match option {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// `rro`, `rnosuid`, ... : (true = set, attribute); `rrw`, `rsuid`, ... : (false = clear).
fn recursive_attr(option: &str) -> Option<(bool, u64)> {
    Some(match option {
        "rro" => (true, MOUNT_ATTR_RDONLY),
        "rrw" => (false, MOUNT_ATTR_RDONLY),
        "rnosuid" => (true, MOUNT_ATTR_NOSUID),
        "rsuid" => (false, MOUNT_ATTR_NOSUID),
        "rnodev" => (true, MOUNT_ATTR_NODEV),
        "rdev" => (false, MOUNT_ATTR_NODEV),
        "rnoexec" => (true, MOUNT_ATTR_NOEXEC),
        "rexec" => (false, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (true, MOUNT_ATTR_NODIRATIME),
        "rdiratime" => (false, MOUNT_ATTR_NODIRATIME),
        "rnoatime" => (true, MOUNT_ATTR_NOATIME),
        "rrelatime" => (true, MOUNT_ATTR_RELATIME),
        "rstrictatime" => (true, MOUNT_ATTR_STRICTATIME),
        "rnosymfollow" => (true, MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => (false, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// Propagation named by `linux.rootfsPropagation`.
pub fn rootfs_propagation(value: &str) -> Option<MsFlags> {
    propagation_flag(value)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

fn openat2(dirfd: RawFd, path: &Path, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: `c` is NUL-terminated and `how` is a properly laid out `struct open_how`
    // whose size we pass; the kernel only reads both.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = Errno::result(fd)? as RawFd;
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Open `path` relative to `root`, treating `root` as `/` for every component and
/// every symlink on the way.
pub fn open_in_root(root: &OwnedFd, path: &Path, flags: i32) -> Result<OwnedFd, Errno> {
    openat2(
        root.as_raw_fd(),
        &relative(path),
        flags,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    )
}

fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// What to create at a mount destination that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Directory,
    File,
}

/// Resolve `path` inside `root`, creating missing components (directories, and the
/// last one as `kind`), and return an `O_PATH` fd to the result.
pub fn ensure_in_root(
    root: &OwnedFd,
    path: &Path,
    kind: TargetKind,
) -> Result<OwnedFd, MountError> {
    let rel = relative(path);
    let display = path.display().to_string();
    let root_display = fd_path(root.as_raw_fd());
    if let Ok(fd) = open_in_root(root, &rel, libc::O_PATH) {
        return Ok(fd);
    }
    let names: Vec<&OsStr> = rel.iter().collect();
    let mut dir =
        open_in_root(root, Path::new("."), libc::O_PATH | libc::O_DIRECTORY).map_err(|e| {
            MountError::Resolve {
                path: display.clone(),
                root: root_display.clone(),
                source: e,
            }
        })?;
    let mut walked = PathBuf::new();
    for (i, name) in names.iter().enumerate() {
        walked.push(name);
        let last = i + 1 == names.len();
        match open_in_root(root, &walked, libc::O_PATH) {
            Ok(fd) => {
                dir = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => {
                return Err(MountError::Resolve {
                    path: display,
                    root: root_display,
                    source: e,
                })
            }
        }
        let cname = CString::new(name.as_bytes()).map_err(|_| MountError::Create {
            path: display.clone(),
            source: Errno::EINVAL,
        })?;
        // `name` is a single component, so creating it relative to the already
        // resolved parent cannot leave the root. A dangling symlink of that name
        // makes mkdirat fail with EEXIST instead of following it.
        let rc = if last && kind == TargetKind::File {
            // SAFETY: valid dirfd and NUL-terminated single-component name.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    cname.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o644,
                )
            };
            if fd >= 0 {
                // SAFETY: fd was just returned by openat and is owned here.
                unsafe { libc::close(fd) };
            }
            fd
        } else {
            // SAFETY: valid dirfd and NUL-terminated single-component name.
            unsafe { libc::mkdirat(dir.as_raw_fd(), cname.as_ptr(), 0o755) }
        };
        if rc < 0 {
            let e = Errno::last();
            if e != Errno::EEXIST {
                return Err(MountError::Create {
                    path: display,
                    source: e,
                });
            }
        }
        dir = open_in_root(root, &walked, libc::O_PATH).map_err(|e| MountError::Resolve {
            path: display.clone(),
            root: root_display.clone(),
            source: e,
        })?;
    }
    Ok(dir)
}

/// The `/proc/self/fd/N` path that designates exactly the inode `fd` refers to.
pub fn proc_fd_path(fd: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

fn fd_path(fd: RawFd) -> String {
    std::fs::read_link(proc_fd_path(fd))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("fd {fd}"))
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Apply recursive attributes (`rro`, `rnosuid`, ...) to the mount at `target`.
pub fn mount_setattr_recursive(target: &Path, set: u64, clear: u64) -> Result<(), Errno> {
    let c = CString::new(target.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut clear = clear;
    // The atime attributes form one field; setting one must clear the field first.
    if set & MOUNT_ATTR__ATIME != 0 || set == MOUNT_ATTR_RELATIME && clear == 0 {
        clear |= MOUNT_ATTR__ATIME;
    }
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    const AT_RECURSIVE: u32 = 0x8000;
    // SAFETY: `c` is NUL-terminated and `attr` is a correctly sized `struct mount_attr`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Flags of an existing mount that an unprivileged remount must keep ("locked" flags).
pub fn locked_flags(target: &Path) -> MsFlags {
    let Ok(st) = nix::sys::statvfs::statvfs(target) else {
        return MsFlags::empty();
    };
    use nix::sys::statvfs::FsFlags;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (from, to) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(from) {
            out |= to;
        }
    }
    out
}

/// Validate a mount destination from the spec: absolute, and without `..`.
pub fn check_destination(destination: &Path) -> Result<(), MountError> {
    let text = destination.display().to_string();
    if !destination.is_absolute() {
        return Err(MountError::RelativeDestination(text));
    }
    Ok(())
}

/// Does `path` lexically stay inside `/`? `..` components that would climb above the
/// root are an escape attempt, and are reported rather than silently clamped.
pub fn escapes_root(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        let v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        parse_options(&v, "/x").expect("valid options")
    }

    #[test]
    fn bind_options_split_into_flags_and_remount() {
        let o = opts(&["rbind", "ro", "nosuid", "rslave"]);
        assert!(o.is_bind());
        assert!(o.flags.contains(MsFlags::MS_REC));
        assert_eq!(
            o.bind_remount_flags(),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
        );
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    }

    #[test]
    fn later_option_overrides_earlier_one() {
        let o = opts(&["ro", "rw", "nodev", "dev"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(!o.flags.contains(MsFlags::MS_NODEV));
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn unknown_options_become_fs_data() {
        let o = opts(&["nosuid", "mode=755", "size=65536k"]);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.flags, MsFlags::MS_NOSUID);
    }

    #[test]
    fn recursive_attributes_are_collected() {
        let o = opts(&["rbind", "rro", "rnosuid", "rdev"]);
        assert_eq!(o.recursive_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        assert_eq!(o.recursive_clear, MOUNT_ATTR_NODEV);
    }

    #[test]
    fn idmap_is_refused_clearly() {
        let err = parse_options(&["idmap".to_string()], "/data").unwrap_err();
        assert!(err.to_string().contains("idmap"));
        assert!(err.to_string().contains("/data"));
    }

    #[test]
    fn escape_detection() {
        assert!(escapes_root(Path::new("/../etc")));
        assert!(escapes_root(Path::new("/a/../../b")));
        assert!(!escapes_root(Path::new("/a/../b")));
        assert!(!escapes_root(Path::new("/proc/sys")));
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        // An absolute symlink and a climbing relative one both point "outside".
        std::os::unix::fs::symlink("/", root.join("abs")).expect("symlink");
        std::os::unix::fs::symlink("../../../../..", root.join("up")).expect("symlink");
        let rootfd = nix::fcntl::open(
            &root,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .expect("open root");
        let made = ensure_in_root(
            &rootfd,
            Path::new("/abs/created/deep"),
            TargetKind::Directory,
        )
        .expect("create through symlink");
        drop(made);
        assert!(
            root.join("created/deep").is_dir(),
            "created inside the root"
        );
        let made = ensure_in_root(&rootfd, Path::new("/up/file"), TargetKind::File).expect("file");
        drop(made);
        assert!(root.join("file").is_file());
        assert!(!dir.path().join("file").exists());
    }
}
