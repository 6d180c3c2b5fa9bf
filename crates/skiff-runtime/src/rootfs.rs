//! Building the container's filesystem view inside its new mount namespace:
//! rootfs propagation, the spec's mounts in order, `/dev`, `pivot_root`, masked
//! and read-only paths.
//!
//! Every destination is resolved inside the rootfs (see `skiff_linux::mounts`),
//! and every privileged call goes through [`Syscalls`] so the sequence can be
//! checked with a recording double.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxDevice, Mount, Spec};
use skiff_linux::devices;
use skiff_linux::mounts::{self, proc_fd_path, MountOptions, TargetKind};
use skiff_linux::syscall::Syscalls;

use crate::error::{invalid, Result, RuntimeError, SysContext};

/// What the rootfs setup needs to know beyond the spec.
pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The container's cgroup, relative to each hierarchy's root.
    pub cgroup_path: &'a Path,
    /// mknod is not allowed in a user namespace; devices are bind-mounted instead.
    pub in_userns: bool,
    pub cgroupns: bool,
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .sys(|| format!("cannot open {}", path.display()))
}

/// Everything before `pivot_root`.
pub fn prepare(sys: &dyn Syscalls, plan: &RootfsPlan) -> Result<()> {
    let linux = plan.spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|p| !p.is_empty())
        .and_then(mounts::rootfs_propagation)
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    // Nothing we mount below may propagate back to the host. A "shared" request
    // still starts from slave; it is applied to the new root after pivot_root.
    let initial = if propagation.contains(MsFlags::MS_SHARED) {
        MsFlags::MS_SLAVE | MsFlags::MS_REC
    } else {
        propagation
    };
    sys.mount(None, Path::new("/"), None, initial, None)
        .sys(|| "cannot set the propagation of /".to_string())?;
    make_parent_private(sys, plan.rootfs)?;
    sys.mount(
        Some(plan.rootfs),
        plan.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .sys(|| format!("cannot bind-mount the rootfs {}", plan.rootfs.display()))?;

    let root = open_dir(plan.rootfs)?;
    let mut dev_is_bind = false;
    for (i, m) in plan.spec.mounts().iter().flatten().enumerate() {
        let opts = mounts::parse_options(
            m.options().as_deref().unwrap_or_default(),
            &m.destination().display().to_string(),
        )?;
        if Path::new("/dev") == m.destination() && opts.is_bind() {
            dev_is_bind = true;
        }
        mount_one(sys, plan, &root, m, &opts).map_err(|e| match e {
            RuntimeError::InvalidConfig { .. } => e,
            other => invalid(format!("mounts[{i}]"), other.to_string()),
        })?;
    }
    if !dev_is_bind {
        create_devices(sys, plan, &root)?;
    }
    Ok(())
}

/// pivot_root fails when the rootfs's parent mount is shared; make it private.
fn make_parent_private(sys: &dyn Syscalls, rootfs: &Path) -> Result<()> {
    let Some(parent) = mount_point_of(rootfs) else {
        return Ok(());
    };
    sys.mount(None, &parent, None, MsFlags::MS_PRIVATE, None)
        .sys(|| format!("cannot make {} private", parent.display()))
}

/// The mount point that contains `path`, from /proc/self/mountinfo.
fn mount_point_of(path: &Path) -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|line| line.split(' ').nth(4).map(unescape_mountinfo))
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.as_os_str().len())
}

fn unescape_mountinfo(field: &str) -> PathBuf {
    PathBuf::from(
        field
            .replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\012", "\n")
            .replace("\\134", "\\"),
    )
}

fn mount_one(
    sys: &dyn Syscalls,
    plan: &RootfsPlan,
    root: &OwnedFd,
    m: &Mount,
    opts: &MountOptions,
) -> Result<()> {
    let fstype = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    if fstype == "cgroup" || fstype == "cgroup2" {
        return mount_cgroup(sys, plan, root, m, opts);
    }
    if opts.is_bind() || fstype == "bind" {
        let source = m
            .source()
            .as_ref()
            .ok_or_else(|| invalid("source", "a bind mount needs a source path"))?;
        let source = if source.is_absolute() {
            source.clone()
        } else {
            plan.bundle.join(source)
        };
        let meta = std::fs::metadata(&source).map_err(|e| {
            invalid(
                "source",
                format!("{} cannot be bind-mounted: {e}", source.display()),
            )
        })?;
        let kind = if meta.is_dir() {
            TargetKind::Directory
        } else {
            TargetKind::File
        };
        let target = mounts::ensure_in_root(root, dest, kind)?;
        let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        sys.mount(
            Some(&source),
            &proc_fd_path(target.as_raw_fd()),
            None,
            flags,
            None,
        )
        .sys(|| format!("cannot bind {} to {}", source.display(), dest.display()))?;
        let remount = opts.bind_remount_flags();
        if !remount.is_empty() {
            let mounted = reopen(root, dest)?;
            remount_keeping_locked(sys, &mounted, MsFlags::MS_BIND | remount)?;
        }
    } else {
        let target = mounts::ensure_in_root(root, dest, TargetKind::Directory)?;
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(fstype));
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let path = proc_fd_path(target.as_raw_fd());
        let flags = opts.flags & !MsFlags::MS_REMOUNT;
        let lower = opts.tmpcopyup.then(|| open_dir(&path)).transpose()?;
        match sys.mount(Some(&source), &path, Some(fstype), flags, data) {
            Ok(()) => {}
            // sysfs cannot be mounted in a user namespace that does not own the
            // network namespace; a recursive read-only bind of the host's is the
            // usual replacement.
            Err(Errno::EPERM) if fstype == "sysfs" => {
                sys.mount(
                    Some(Path::new("/sys")),
                    &path,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )
                .sys(|| format!("cannot bind /sys to {}", dest.display()))?;
            }
            Err(e) => {
                return Err(RuntimeError::Sys {
                    what: format!("cannot mount {fstype} on {}", dest.display()),
                    source: e,
                })
            }
        }
        if let Some(lower) = lower {
            let mounted = reopen(root, dest)?;
            copy_up(&lower, &mounted)?;
        }
    }
    if !opts.propagation.is_empty() || opts.recursive_set != 0 || opts.recursive_clear != 0 {
        let mounted = reopen(root, dest)?;
        let path = proc_fd_path(mounted.as_raw_fd());
        for flag in [
            MsFlags::MS_SHARED,
            MsFlags::MS_SLAVE,
            MsFlags::MS_PRIVATE,
            MsFlags::MS_UNBINDABLE,
        ] {
            if opts.propagation.contains(flag) {
                sys.mount(
                    None,
                    &path,
                    None,
                    flag | (opts.propagation & MsFlags::MS_REC),
                    None,
                )
                .sys(|| format!("cannot set propagation of {}", dest.display()))?;
            }
        }
        if opts.recursive_set != 0 || opts.recursive_clear != 0 {
            mounts::mount_setattr_recursive(&path, opts.recursive_set, opts.recursive_clear)
                .sys(|| format!("cannot set recursive attributes of {}", dest.display()))?;
        }
    }
    Ok(())
}

/// After a mount, the fd we mounted on still designates the covered directory;
/// open the path again to reach the new mount on top.
fn reopen(root: &OwnedFd, dest: &Path) -> Result<OwnedFd> {
    mounts::open_in_root(root, dest, libc::O_PATH)
        .sys(|| format!("cannot reopen {} after mounting", dest.display()))
}

fn remount_keeping_locked(sys: &dyn Syscalls, target: &OwnedFd, flags: MsFlags) -> Result<()> {
    let path = proc_fd_path(target.as_raw_fd());
    let flags = flags | MsFlags::MS_REMOUNT;
    match sys.mount(None, &path, None, flags, None) {
        // In a user namespace, flags inherited from the host mount are locked and
        // must be repeated in the remount.
        Err(Errno::EPERM) => sys
            .mount(None, &path, None, flags | mounts::locked_flags(&path), None)
            .sys(|| "cannot remount".to_string()),
        other => other.sys(|| "cannot remount".to_string()),
    }
}

/// `tmpcopyup`: the new tmpfs starts with a copy of what it covers.
fn copy_up(lower: &OwnedFd, upper: &OwnedFd) -> Result<()> {
    let from = proc_fd_path(lower.as_raw_fd());
    let to = proc_fd_path(upper.as_raw_fd());
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(&to)
        .status()
        .sys(|| "cannot run cp for tmpcopyup".to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(RuntimeError::Init(format!(
            "tmpcopyup copy failed: {status}"
        )))
    }
}

/// Mount the container's own cgroups at a `cgroup` mount's destination.
fn mount_cgroup(
    sys: &dyn Syscalls,
    plan: &RootfsPlan,
    root: &OwnedFd,
    m: &Mount,
    opts: &MountOptions,
) -> Result<()> {
    let dest = m.destination();
    let target = mounts::ensure_in_root(root, dest, TargetKind::Directory)?;
    let path = proc_fd_path(target.as_raw_fd());
    let ro = opts.flags & MsFlags::MS_RDONLY;
    let base = opts.flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    let hierarchies = cgroup_hierarchies();
    if let [(fstype, mountpoint, _)] = hierarchies.as_slice() {
        if fstype == "cgroup2" {
            // Pure v2: with a cgroup namespace the fresh mount shows only the
            // container's subtree; without one, bind the subtree itself.
            return if plan.cgroupns {
                sys.mount(
                    Some(Path::new("cgroup2")),
                    &path,
                    Some("cgroup2"),
                    base | ro,
                    None,
                )
                .sys(|| format!("cannot mount cgroup2 on {}", dest.display()))
            } else {
                bind_cgroup(
                    sys,
                    root,
                    dest,
                    &mountpoint.join(strip_root(plan.cgroup_path)),
                    "",
                    base | ro,
                )
            };
        }
    }
    // v1 or hybrid: a tmpfs with one bind per hierarchy, each showing only the
    // container's own cgroup.
    sys.mount(
        Some(Path::new("tmpfs")),
        &path,
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )
    .sys(|| format!("cannot mount tmpfs on {}", dest.display()))?;
    for (_, mountpoint, name) in &hierarchies {
        let host = mountpoint.join(strip_root(plan.cgroup_path));
        if !host.exists() {
            continue;
        }
        bind_cgroup(sys, root, dest, &host, name, base | ro)?;
    }
    if !ro.is_empty() {
        let mounted = reopen(root, dest)?;
        remount_keeping_locked(sys, &mounted, base | ro)?;
    }
    Ok(())
}

fn bind_cgroup(
    sys: &dyn Syscalls,
    root: &OwnedFd,
    dest: &Path,
    host: &Path,
    name: &str,
    flags: MsFlags,
) -> Result<()> {
    let sub = if name.is_empty() {
        dest.to_path_buf()
    } else {
        dest.join(name)
    };
    let target = mounts::ensure_in_root(root, &sub, TargetKind::Directory)?;
    sys.mount(
        Some(host),
        &proc_fd_path(target.as_raw_fd()),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .sys(|| format!("cannot bind {} to {}", host.display(), sub.display()))?;
    if !flags.is_empty() {
        let mounted = reopen(root, &sub)?;
        remount_keeping_locked(sys, &mounted, MsFlags::MS_BIND | flags)?;
    }
    Ok(())
}

fn strip_root(p: &Path) -> &Path {
    p.strip_prefix("/").unwrap_or(p)
}

/// (fstype, mount point, name inside the container's cgroup dir) for each
/// hierarchy on the host.
fn cgroup_hierarchies() -> Vec<(String, PathBuf, String)> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let Some(mountpoint) = left.split(' ').nth(4).map(unescape_mountinfo) else {
            continue;
        };
        let name = mountpoint
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((fstype.to_string(), mountpoint, name));
    }
    out
}

/// Default and spec devices, the standard symlinks, and `/dev/ptmx`.
fn create_devices(sys: &dyn Syscalls, plan: &RootfsPlan, root: &OwnedFd) -> Result<()> {
    let mut all = devices::default_devices();
    let spec_devices = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    all.retain(|d| !spec_devices.iter().any(|s| s.path() == d.path()));
    all.extend(spec_devices);
    for dev in &all {
        create_device(sys, plan, root, dev)?;
    }
    for (link, target) in devices::DEV_SYMLINKS {
        symlink_in_root(sys, root, Path::new(link), Path::new(target))?;
    }
    if Path::new("/proc/kcore").exists() {
        symlink_in_root(sys, root, Path::new("/dev/core"), Path::new("/proc/kcore"))?;
    }
    symlink_in_root(sys, root, Path::new("/dev/ptmx"), Path::new("pts/ptmx"))?;
    Ok(())
}

fn parent_in_root(root: &OwnedFd, path: &Path) -> Result<(OwnedFd, std::ffi::OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| invalid("path", format!("{} has no file name", path.display())))?
        .to_os_string();
    let parent = path.parent().unwrap_or(Path::new("/"));
    let dir = mounts::ensure_in_root(root, parent, TargetKind::Directory)?;
    Ok((dir, name))
}

fn symlink_in_root(sys: &dyn Syscalls, root: &OwnedFd, link: &Path, target: &Path) -> Result<()> {
    let (dir, name) = parent_in_root(root, link)?;
    let at = proc_fd_path(dir.as_raw_fd()).join(&name);
    match sys.symlink(target, &at) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(RuntimeError::Sys {
            what: format!("cannot create symlink {}", link.display()),
            source: e,
        }),
    }
}

fn create_device(
    sys: &dyn Syscalls,
    plan: &RootfsPlan,
    root: &OwnedFd,
    dev: &LinuxDevice,
) -> Result<()> {
    let (dir, name) = parent_in_root(root, dev.path())?;
    let at = proc_fd_path(dir.as_raw_fd()).join(&name);
    let mode = Mode::from_bits_truncate(dev.file_mode().unwrap_or(0o666));
    let number = devices::makedev(dev.major(), dev.minor());
    if !plan.in_userns {
        let _ = std::fs::remove_file(&at);
        match sys.mknod(&at, devices::file_type(dev.typ()), mode, number) {
            Ok(()) => {
                let _ = nix::unistd::chown(
                    &at,
                    Some(nix::unistd::Uid::from_raw(dev.uid().unwrap_or(0))),
                    Some(nix::unistd::Gid::from_raw(dev.gid().unwrap_or(0))),
                );
                // mknod honours the umask; the spec's mode is exact.
                let _ = nix::sys::stat::fchmodat(
                    nix::fcntl::AT_FDCWD,
                    &at,
                    mode,
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                );
                return Ok(());
            }
            Err(Errno::EPERM) => {}
            Err(e) => {
                return Err(RuntimeError::Sys {
                    what: format!("cannot create device {}", dev.path().display()),
                    source: e,
                })
            }
        }
    }
    // No mknod in a user namespace: bind the host's node instead.
    let target = mounts::ensure_in_root(root, dev.path(), TargetKind::File)?;
    sys.mount(
        Some(dev.path()),
        &proc_fd_path(target.as_raw_fd()),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .sys(|| format!("cannot bind device {}", dev.path().display()))
}

/// Switch the root to the rootfs. With `no_pivot`, move the rootfs over `/` and chroot,
/// which works on ramfs-rooted systems where pivot_root cannot.
pub fn enter(sys: &dyn Syscalls, rootfs: &Path, no_pivot: bool) -> Result<()> {
    sys.chdir(rootfs)
        .sys(|| format!("cannot enter {}", rootfs.display()))?;
    if no_pivot {
        sys.mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)
            .sys(|| "cannot move the rootfs to /".to_string())?;
        sys.chroot(Path::new("."))
            .sys(|| "cannot chroot into the rootfs".to_string())?;
    } else {
        // Stack the old root under the new one, then detach it; nothing of the
        // host stays reachable.
        sys.pivot_root(Path::new("."), Path::new("."))
            .sys(|| "pivot_root failed".to_string())?;
        sys.mount(
            None,
            Path::new("."),
            None,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None,
        )
        .sys(|| "cannot make the old root a slave".to_string())?;
        sys.umount2(Path::new("."), MntFlags::MNT_DETACH)
            .sys(|| "cannot detach the old root".to_string())?;
    }
    sys.chdir(Path::new("/"))
        .sys(|| "cannot chdir to the new root".to_string())
}

/// Everything after `pivot_root`: masked and read-only paths, a read-only root,
/// and the final root propagation.
pub fn finish(sys: &dyn Syscalls, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    for path in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        let p = Path::new(path);
        match sys.mount(Some(p), p, None, MsFlags::MS_BIND | MsFlags::MS_REC, None) {
            Ok(()) => {}
            Err(Errno::ENOENT) => continue,
            Err(e) => {
                return Err(RuntimeError::Sys {
                    what: format!("linux.readonlyPaths: cannot bind {path}"),
                    source: e,
                })
            }
        }
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_REC
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC;
        match sys.mount(None, p, None, flags, None) {
            Err(Errno::EPERM) => sys
                .mount(None, p, None, flags | mounts::locked_flags(p), None)
                .sys(|| format!("linux.readonlyPaths: cannot make {path} read-only"))?,
            other => other.sys(|| format!("linux.readonlyPaths: cannot make {path} read-only"))?,
        }
    }
    for path in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        let p = Path::new(path);
        let is_dir = match std::fs::metadata(p) {
            Ok(m) => m.is_dir(),
            Err(_) => continue,
        };
        let result = if is_dir {
            sys.mount(
                Some(Path::new("tmpfs")),
                p,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )
        } else {
            sys.mount(
                Some(Path::new("/dev/null")),
                p,
                None,
                MsFlags::MS_BIND,
                None,
            )
        };
        result.sys(|| format!("linux.maskedPaths: cannot mask {path}"))?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        let root = Path::new("/");
        match sys.mount(None, root, None, flags, None) {
            Err(Errno::EPERM) => sys
                .mount(None, root, None, flags | mounts::locked_flags(root), None)
                .sys(|| "root.readonly: cannot remount / read-only".to_string())?,
            other => other.sys(|| "root.readonly: cannot remount / read-only".to_string())?,
        }
    }
    if let Some(prop) = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mounts::rootfs_propagation)
    {
        sys.mount(None, Path::new("/"), None, prop, None)
            .sys(|| "linux.rootfsPropagation: cannot apply".to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_linux::syscall::RecordingSyscalls;

    fn spec(json: &str) -> Spec {
        crate::spec::parse_json(Path::new("config.json"), json.as_bytes()).expect("spec")
    }

    #[test]
    fn mounts_are_made_in_order_inside_the_rootfs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(&rootfs).expect("rootfs");
        let spec = spec(
            r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
            "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                      {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]},
                      {"destination":"/data","type":"bind","source":"/tmp","options":["rbind","ro"]}]}"#,
        );
        let sys = RecordingSyscalls::default();
        let plan = RootfsPlan {
            spec: &spec,
            rootfs: &rootfs,
            bundle: dir.path(),
            cgroup_path: Path::new("/test"),
            in_userns: false,
            cgroupns: false,
        };
        prepare(&sys, &plan).expect("prepare");
        let calls = sys.calls();
        let kinds: Vec<&str> = calls
            .iter()
            .filter(|c| c.starts_with("mount"))
            .map(|c| c.split(' ').nth(3).unwrap_or(""))
            .collect();
        assert!(calls[0].starts_with("mount  / "), "{calls:?}");
        let proc_at = kinds
            .iter()
            .position(|k| *k == "proc")
            .expect("proc mounted");
        let tmpfs_at = kinds
            .iter()
            .position(|k| *k == "tmpfs")
            .expect("tmpfs mounted");
        assert!(proc_at < tmpfs_at);
        assert!(calls.iter().any(|c| c.contains("mode=755")));
        assert!(calls
            .iter()
            .any(|c| c.starts_with("mount /tmp ") && c.contains("MS_REC")));
        assert!(calls
            .iter()
            .any(|c| c.contains("MS_RDONLY") && c.contains("MS_REMOUNT")));
        assert!(calls
            .iter()
            .any(|c| c.starts_with("mknod") && c.contains("null")));
        assert!(calls.iter().any(|c| c.starts_with("symlink pts/ptmx")));
        // Destinations were created inside the rootfs, not on the host.
        assert!(rootfs.join("proc").is_dir() && rootfs.join("data").is_dir());
    }

    #[test]
    fn pivot_detaches_the_old_root() {
        let sys = RecordingSyscalls::default();
        enter(&sys, Path::new("/r"), false).expect("enter");
        let calls = sys.calls();
        assert_eq!(calls[0], "chdir /r");
        assert_eq!(calls[1], "pivot_root . .");
        assert!(calls[3].starts_with("umount2 . "));
        assert_eq!(calls.last().map(String::as_str), Some("chdir /"));
        let sys = RecordingSyscalls::default();
        enter(&sys, Path::new("/r"), true).expect("enter");
        assert!(sys.calls().iter().any(|c| c == "chroot ."));
    }
}
