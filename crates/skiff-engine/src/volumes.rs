//! Image `VOLUME`s: every path the image declares as a volume and no `-v`
//! covers gets an anonymous volume, as with docker: a directory under the
//! container's own dir (`volumes/<n>`), seeded with a copy of what the
//! image has at that path and bind-mounted there. Being inside the
//! container dir, it lives as long as the container and goes with `rm`.

use std::fs::{self, File};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, IoContext, Result};

/// A volume of a container: a `-v` bind or an anonymous volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    /// The path in the container.
    pub destination: String,
    /// The directory (or file) on the host.
    pub source: PathBuf,
    /// Made for an image `VOLUME` (removed with the container), rather than
    /// given with `-v`.
    pub anonymous: bool,
    pub readonly: bool,
}

/// `/a/./b//c/` to `/a/b/c`, so that `-v` and image volume paths compare
/// as docker compares them. `..` climbs, never above `/`.
pub(crate) fn clean_destination(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// Make the anonymous volumes for `image_volumes` under `<dir>/volumes/`,
/// skipping paths a `-v` (`taken`, cleaned destinations) already mounts.
/// `rootfs` is the container's mounted root, whose content at each path is
/// copied in. The caller removes `dir` on error.
pub(crate) fn anonymous_volumes(
    rootfs: &Path,
    dir: &Path,
    image_volumes: &[String],
    taken: &[String],
) -> Result<Vec<VolumeMount>> {
    let mut out: Vec<VolumeMount> = Vec::new();
    let mut root: Option<OwnedFd> = None;
    for raw in image_volumes {
        if !raw.starts_with('/') {
            return Err(EngineError::Other(format!(
                "the image declares the volume {raw:?}, which is not an absolute path; fix the image's Volumes"
            )));
        }
        let destination = clean_destination(raw);
        if destination == "/" {
            return Err(EngineError::Other(format!(
                "the image declares the volume {raw:?}, the container's root, which cannot be a volume; fix the image's Volumes"
            )));
        }
        if taken.contains(&destination) || out.iter().any(|v| v.destination == destination) {
            continue;
        }
        let volumes = dir.join("volumes");
        fs::create_dir_all(&volumes).ctx(|| format!("cannot create {}", volumes.display()))?;
        let source = volumes.join(out.len().to_string());
        fs::create_dir(&source).ctx(|| format!("cannot create {}", source.display()))?;
        let root = match &root {
            Some(r) => r,
            None => root.insert(
                File::open(rootfs)
                    .ctx(|| format!("cannot open {}", rootfs.display()))?
                    .into(),
            ),
        };
        seed(root, &destination, &source)?;
        out.push(VolumeMount {
            destination,
            source,
            anonymous: true,
            readonly: false,
        });
    }
    Ok(out)
}

/// Copy what the image has at `destination` into the empty `source`. The
/// path is resolved with `RESOLVE_IN_ROOT`, so an image symlink (`/data ->
/// /etc`) lands inside the image, never on the host; below it nothing is
/// followed (the copy reads symlinks as symlinks). A path the image does not
/// have makes an empty volume, as with docker.
fn seed(root: &OwnedFd, destination: &str, source: &Path) -> Result<()> {
    let fd = match skiff_linux::mounts::open_in_root(
        root,
        Path::new(destination),
        libc::O_PATH | libc::O_CLOEXEC,
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => {
            return Err(e).ctx(|| format!("cannot open the image's {destination} for its volume"))
        }
    };
    // The resolved inode through its descriptor: no second path walk.
    let path = skiff_linux::mounts::proc_fd_path(fd.as_raw_fd());
    let meta = fs::metadata(&path).ctx(|| format!("cannot inspect the image's {destination}"))?;
    if !meta.is_dir() {
        return Err(EngineError::Other(format!(
            "the image declares {destination} a volume, but it is not a directory in the image; mount a host directory there with -v HOST:{destination}"
        )));
    }
    skiff_image::snapshot::copy_tree(&path, source)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn destinations_are_cleaned() {
        assert_eq!(clean_destination("/data/"), "/data");
        assert_eq!(clean_destination("//a/./b/../c"), "/a/c");
        assert_eq!(clean_destination("/../.."), "/");
    }

    #[test]
    fn volumes_are_seeded_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let rootfs = t.path().join("rootfs");
        fs::create_dir_all(rootfs.join("srv/data")).unwrap();
        fs::write(rootfs.join("srv/data/f"), "image").unwrap();
        // Resolved inside the root: the image's /srv/data, not the host's /srv.
        symlink("/srv/data", rootfs.join("data")).unwrap();
        symlink("/srv/data/../../../../", rootfs.join("up")).unwrap();
        fs::write(rootfs.join("file"), "").unwrap();
        let dir = t.path().join("ctr");
        fs::create_dir(&dir).unwrap();
        let vols = anonymous_volumes(
            &rootfs,
            &dir,
            &[
                "/data/".into(),
                "/data".into(),
                "/taken".into(),
                "/missing".into(),
                "/up".into(),
            ],
            &["/taken".into()],
        )
        .unwrap();
        let dests: Vec<_> = vols.iter().map(|v| v.destination.as_str()).collect();
        assert_eq!(dests, ["/data", "/missing", "/up"]);
        assert_eq!(vols[0].source, dir.join("volumes/0"));
        assert_eq!(
            fs::read_to_string(dir.join("volumes/0/f")).unwrap(),
            "image"
        );
        assert!(fs::read_dir(dir.join("volumes/1"))
            .unwrap()
            .next()
            .is_none());
        // `/up` climbs no higher than the image's root.
        assert!(dir.join("volumes/2/srv/data/f").exists());
        assert_eq!(
            fs::metadata(dir.join("volumes/0")).unwrap().mode(),
            fs::metadata(rootfs.join("srv/data")).unwrap().mode()
        );
        let other = t.path().join("other");
        fs::create_dir(&other).unwrap();
        let e = anonymous_volumes(&rootfs, &other, &["/file".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/file") && e.contains("-v"), "{e}");
    }
}
