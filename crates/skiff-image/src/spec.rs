//! From an image config to an OCI runtime spec: Entrypoint and Cmd become
//! `process.args`, Env is merged over the base environment, WorkingDir is
//! `process.cwd`, User is resolved to numeric ids through the image's own
//! `/etc/passwd` and `/etc/group`, and ExposedPorts, Volumes, StopSignal and
//! Labels become annotations (the keys of the OCI image spec's conversion
//! document), with Volumes and ports also returned for the engine to act on.
//!
//! The base spec comes from the caller (the engine passes
//! `skiff_runtime::spec::default_spec()`): this crate does not depend on the
//! runtime.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{Spec, User};

use crate::error::{Error, Result};

pub const ANNOTATION_STOP_SIGNAL: &str = "org.opencontainers.image.stopSignal";
pub const ANNOTATION_EXPOSED_PORTS: &str = "org.opencontainers.image.exposedPorts";
pub const ANNOTATION_VOLUMES: &str = "org.opencontainers.image.volumes";
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What `skiff run` lets a user override.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the image's Entrypoint (and drops its Cmd, as docker does).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's Cmd.
    pub cmd: Option<Vec<String>>,
    /// `KEY=VALUE`, over the image's Env.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
}

/// The spec, plus what the engine must set up around it.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub spec: Spec,
    /// Paths the image declares as volumes (each wants a mount).
    pub volumes: Vec<String>,
    /// `80/tcp`, `53/udp`, ...
    pub exposed_ports: Vec<String>,
    pub stop_signal: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::Manifest {
        what: format!("image config {field}"),
        message: message.into(),
    }
}

/// Build the spec for a container of this image whose root is `rootfs`.
pub fn image_spec(
    config: &ImageConfiguration,
    rootfs: &Path,
    base: Spec,
    overrides: &Overrides,
) -> Result<ImageSpec> {
    let c = config.config().clone().unwrap_or_default();
    let mut spec = base;
    let mut process = spec.process().clone().unwrap_or_default();

    let entrypoint = overrides
        .entrypoint
        .clone()
        .or_else(|| c.entrypoint().clone())
        .unwrap_or_default();
    let cmd = match (&overrides.cmd, &overrides.entrypoint) {
        (Some(cmd), _) => cmd.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => c.cmd().clone().unwrap_or_default(),
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(Error::Other(
            "the image has neither Entrypoint nor Cmd: give the command to run".into(),
        ));
    }
    process.set_args(Some(args));

    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    for list in [c.env().clone().unwrap_or_default(), overrides.env.clone()] {
        for kv in list {
            let key = kv.split('=').next().unwrap_or("").to_string();
            if key.is_empty() {
                return Err(bad("Env", format!("{kv:?} is not KEY=VALUE")));
            }
            env.retain(|e| e.split('=').next() != Some(key.as_str()));
            env.push(kv);
        }
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_string());
    }
    process.set_env(Some(env));

    let cwd = overrides
        .workdir
        .clone()
        .or_else(|| c.working_dir().clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        return Err(bad(
            "WorkingDir",
            format!("{cwd:?} must be an absolute path"),
        ));
    }
    process.set_cwd(PathBuf::from(cwd));

    let user_spec = overrides
        .user
        .clone()
        .or_else(|| c.user().clone())
        .unwrap_or_default();
    process.set_user(resolve_user(rootfs, &user_spec)?);
    spec.set_process(Some(process));

    let exposed_ports = c.exposed_ports().clone().unwrap_or_default();
    let volumes = c.volumes().clone().unwrap_or_default();
    let stop_signal = c.stop_signal().clone();
    let mut annotations = spec.annotations().clone().unwrap_or_default();
    if let Some(labels) = c.labels() {
        for (k, v) in labels {
            annotations.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(s) = &stop_signal {
        annotations.insert(ANNOTATION_STOP_SIGNAL.into(), s.clone());
    }
    if !exposed_ports.is_empty() {
        annotations.insert(ANNOTATION_EXPOSED_PORTS.into(), exposed_ports.join(","));
    }
    if !volumes.is_empty() {
        annotations.insert(ANNOTATION_VOLUMES.into(), volumes.join(","));
    }
    spec.set_annotations(Some(annotations));
    Ok(ImageSpec {
        spec,
        volumes,
        exposed_ports,
        stop_signal,
    })
}

/// Read a file of the image, resolving every path component inside
/// `rootfs` (an image's `/etc/passwd` may be a symlink to anywhere).
fn read_in_root(rootfs: &Path, path: &str) -> Result<Option<String>> {
    let root = File::open(rootfs).map_err(|e| Error::io_path("cannot open rootfs", rootfs, e))?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .mode(Mode::empty())
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match nix::fcntl::openat2(root.as_fd(), path, how) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(None),
        Err(e) => {
            return Err(Error::io(
                format!("cannot open {path} in the image"),
                e.into(),
            ))
        }
    };
    let mut text = String::new();
    File::from(fd)
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(format!("cannot read {path} in the image"), e))?;
    Ok(Some(text))
}

/// `user`, `uid`, `user:group`, `uid:gid` (and mixes) to numeric ids, with
/// the user's supplementary groups from `/etc/group`.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<User> {
    let mut user = User::default();
    if spec.is_empty() {
        return Ok(user);
    }
    let (name, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_in_root(rootfs, "/etc/passwd")?.unwrap_or_default();
    let groups = read_in_root(rootfs, "/etc/group")?.unwrap_or_default();
    // name:x:uid:gid:gecos:home:shell
    let pw: Vec<Vec<&str>> = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4)
        .collect();
    // name:x:gid:member,member
    let gr: Vec<Vec<&str>> = groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    let entry = match name.parse::<u32>() {
        Ok(uid) => pw.iter().find(|f| f[2].parse() == Ok(uid)),
        Err(_) => pw.iter().find(|f| f[0] == name),
    };
    let (uid, primary_gid, user_name) = match (name.parse::<u32>(), entry) {
        (Ok(uid), Some(f)) => (uid, f[3].parse().unwrap_or(0), Some(f[0].to_string())),
        (Ok(uid), None) => (uid, 0, None),
        (Err(_), Some(f)) => (
            f[2].parse::<u32>().map_err(|_| bad("User", format!("/etc/passwd has a bad uid for {name:?}")))?,
            f[3].parse::<u32>().map_err(|_| bad("User", format!("/etc/passwd has a bad gid for {name:?}")))?,
            Some(name.to_string()),
        ),
        (Err(_), None) => {
            return Err(bad(
                "User",
                format!("user {name:?} is not in the image's /etc/passwd; use a numeric uid or a user the image has"),
            ))
        }
    };
    let gid = match group {
        None | Some("") => primary_gid,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => gr
                .iter()
                .find(|f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    bad(
                        "User",
                        format!("group {g:?} is not in the image's /etc/group"),
                    )
                })?,
        },
    };
    let mut additional: Vec<u32> = Vec::new();
    if let (Some(n), None) = (&user_name, group) {
        for f in &gr {
            let members = f.get(3).copied().unwrap_or("");
            if members.split(',').any(|m| m == n) {
                if let Ok(g) = f[2].parse::<u32>() {
                    if g != gid && !additional.contains(&g) {
                        additional.push(g);
                    }
                }
            }
        }
    }
    user.set_uid(uid);
    user.set_gid(gid);
    if !additional.is_empty() {
        user.set_additional_gids(Some(additional));
    }
    Ok(user)
}

/// The image's labels (for `inspect`).
pub fn labels(config: &ImageConfiguration) -> HashMap<String, String> {
    config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\napp:x:1000:\nvideo:x:44:app,www\naudio:x:29:app\n",
        )
        .unwrap();
        dir
    }

    fn config(json: &str) -> ImageConfiguration {
        serde_json::from_str(&format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"config":{json}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn users_resolve_through_the_image() {
        let r = rootfs();
        let u = resolve_user(r.path(), "app").unwrap();
        assert_eq!((u.uid(), u.gid()), (1000, 1000));
        assert_eq!(u.additional_gids().clone().unwrap(), vec![44, 29]);
        let u = resolve_user(r.path(), "www:audio").unwrap();
        assert_eq!(
            (u.uid(), u.gid(), u.additional_gids().clone()),
            (33, 29, None)
        );
        let u = resolve_user(r.path(), "1000").unwrap();
        assert_eq!((u.uid(), u.gid()), (1000, 1000));
        let u = resolve_user(r.path(), "4242:4343").unwrap();
        assert_eq!((u.uid(), u.gid()), (4242, 4343));
        let e = resolve_user(r.path(), "nobody").unwrap_err().to_string();
        assert!(e.contains("nobody") && e.contains("/etc/passwd"), "{e}");
        assert!(resolve_user(r.path(), "app:nogroup").is_err());
    }

    #[test]
    fn passwd_symlink_cannot_escape() {
        let r = tempfile::tempdir().unwrap();
        std::fs::create_dir(r.path().join("etc")).unwrap();
        // Resolved inside the root, the target is the image's own
        // /etc/shadow (absent), never the host's.
        std::os::unix::fs::symlink("/../../../../etc/shadow", r.path().join("etc/passwd")).unwrap();
        let e = resolve_user(r.path(), "root");
        assert!(e.is_err(), "the host's files must not be read");
    }

    #[test]
    fn config_to_spec() {
        let r = rootfs();
        let c = config(
            r#"{"User":"app","Env":["PATH=/app/bin","LANG=C"],"Entrypoint":["/bin/app"],"Cmd":["--serve"],
               "WorkingDir":"/srv","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},
               "StopSignal":"SIGQUIT","Labels":{"a":"b"}}"#,
        );
        let out = image_spec(&c, r.path(), Spec::default(), &Overrides::default()).unwrap();
        let p = out.spec.process().clone().unwrap();
        assert_eq!(p.args().clone().unwrap(), ["/bin/app", "--serve"]);
        let env = p.env().clone().unwrap();
        assert!(env.contains(&"PATH=/app/bin".to_string()) && env.contains(&"LANG=C".to_string()));
        assert_eq!(env.iter().filter(|e| e.starts_with("PATH=")).count(), 1);
        assert_eq!(p.cwd(), Path::new("/srv"));
        assert_eq!(p.user().uid(), 1000);
        let a = out.spec.annotations().clone().unwrap();
        assert_eq!(a[ANNOTATION_STOP_SIGNAL], "SIGQUIT");
        assert_eq!(a["a"], "b");
        assert_eq!(out.volumes, ["/data"]);
        assert_eq!(out.exposed_ports.len(), 2);

        let o = Overrides {
            entrypoint: Some(vec!["/bin/sh".into()]),
            ..Default::default()
        };
        let out = image_spec(&c, r.path(), Spec::default(), &o).unwrap();
        assert_eq!(
            out.spec.process().clone().unwrap().args().clone().unwrap(),
            ["/bin/sh"]
        );
        let o = Overrides {
            cmd: Some(vec!["--once".into()]),
            env: vec!["LANG=fr".into()],
            ..Default::default()
        };
        let out = image_spec(&c, r.path(), Spec::default(), &o).unwrap();
        let p = out.spec.process().clone().unwrap();
        assert_eq!(p.args().clone().unwrap(), ["/bin/app", "--once"]);
        assert!(p.env().clone().unwrap().contains(&"LANG=fr".to_string()));
        let e = image_spec(
            &config("{}"),
            r.path(),
            Spec::default(),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Entrypoint nor Cmd"));
    }
}
