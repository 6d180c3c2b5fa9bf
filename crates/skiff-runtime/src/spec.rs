//! Loading and validating a bundle's `config.json`.
//!
//! Deserialisation errors carry the JSON path of the offending value
//! (`process.user.uid: invalid type ...`), and semantic checks use the same
//! path notation, so a user can find the field without reading our code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use skiff_linux::mounts;

use crate::error::{invalid, Result, RuntimeError};

/// Largest config.json we accept; real ones are a few KiB.
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Parse JSON into `T`, naming the JSON path of the first bad value.
pub fn parse_json<T: serde::de::DeserializeOwned>(file: &Path, bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        RuntimeError::ParseFile {
            file: file.to_path_buf(),
            message: if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
        }
    })
}

/// Read a JSON file (bounded in size) and parse it.
pub fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T> {
    let meta = std::fs::metadata(file).map_err(|source| RuntimeError::ReadFile {
        file: file.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(RuntimeError::ParseFile {
            file: file.to_path_buf(),
            message: format!(
                "file is {} bytes, larger than the {MAX_CONFIG_BYTES}-byte limit",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(file).map_err(|source| RuntimeError::ReadFile {
        file: file.to_path_buf(),
        source,
    })?;
    parse_json(file, &bytes)
}

/// A validated bundle: the spec plus the absolute rootfs path.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

/// Load `<bundle>/config.json` and validate it.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).map_err(|source| RuntimeError::ReadFile {
        file: dir.to_path_buf(),
        source,
    })?;
    let spec: Spec = read_json(&dir.join("config.json"))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "is missing; set root.path to the rootfs directory"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    let meta = std::fs::metadata(&rootfs).map_err(|e| {
        invalid(
            "root.path",
            format!(
                "rootfs {} is not usable: {e}; create it or fix root.path",
                rootfs.display()
            ),
        )
    })?;
    if !meta.is_dir() {
        return Err(invalid(
            "root.path",
            format!("rootfs {} is not a directory", rootfs.display()),
        ));
    }
    validate(&spec)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// Semantic checks that serde cannot express.
pub fn validate(spec: &Spec) -> Result<()> {
    if !spec.version().starts_with("1.") {
        return Err(invalid(
            "ociVersion",
            format!("{:?} is not a 1.x runtime-spec version", spec.version()),
        ));
    }
    if let Some(process) = spec.process() {
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(invalid(
                "process.args",
                "must name at least the program to run",
            ));
        }
        if !process.cwd().is_absolute() {
            return Err(invalid(
                "process.cwd",
                format!("{:?} must be an absolute path", process.cwd()),
            ));
        }
        for (i, env) in process.env().iter().flatten().enumerate() {
            if !env.contains('=') || env.starts_with('=') {
                return Err(invalid(
                    format!("process.env[{i}]"),
                    format!("{env:?} is not of the form KEY=value"),
                ));
            }
        }
        for (i, limit) in process.rlimits().iter().flatten().enumerate() {
            skiff_linux::rlimits::validate(limit)
                .map_err(|m| invalid(format!("process.rlimits[{i}]"), m))?;
        }
        if let Some(adj) = process.oom_score_adj() {
            if !(-1000..=1000).contains(&adj) {
                return Err(invalid(
                    "process.oomScoreAdj",
                    format!("{adj} is outside -1000..1000"),
                ));
            }
        }
        if let Some(caps) = process.capabilities() {
            skiff_linux::capabilities::validate(caps)
                .map_err(|e| invalid("process.capabilities", e.to_string()))?;
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if mounts::escapes_root(m.destination()) {
            return Err(invalid(
                format!("mounts[{i}].destination"),
                format!(
                    "{} climbs out of the container's root with '..'; use a path inside the container",
                    m.destination().display()
                ),
            ));
        }
        mounts::parse_options(
            m.options().as_deref().unwrap_or_default(),
            &m.destination().display().to_string(),
        )
        .map_err(|e| invalid(format!("mounts[{i}].options"), e.to_string()))?;
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    let mut new_ns = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                format!("linux.namespaces[{i}].type"),
                format!("namespace type {} is listed twice", ns.typ()),
            ));
        }
        match ns.path() {
            Some(path) => {
                if !path.is_absolute() {
                    return Err(invalid(
                        format!("linux.namespaces[{i}].path"),
                        format!("{} must be an absolute path", path.display()),
                    ));
                }
                let fd = skiff_linux::namespaces::open_ns(path).map_err(|e| {
                    invalid(
                        format!("linux.namespaces[{i}].path"),
                        format!("cannot open {}: {e}", path.display()),
                    )
                })?;
                let kind = skiff_linux::namespaces::ns_type_of(&fd).map_err(|e| {
                    invalid(
                        format!("linux.namespaces[{i}].path"),
                        format!("{} is not a namespace file: {e}", path.display()),
                    )
                })?;
                if kind != skiff_linux::namespaces::clone_flag(ns.typ()) {
                    return Err(invalid(
                        format!("linux.namespaces[{i}].path"),
                        format!("{} is not a {} namespace", path.display(), ns.typ()),
                    ));
                }
            }
            None => {
                new_ns.insert(ns.typ());
            }
        }
    }
    let has_user = seen.contains(&LinuxNamespaceType::User);
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_ns.contains(&LinuxNamespaceType::User) && !has_maps {
        return Err(invalid(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if has_maps && !has_user {
        return Err(invalid(
            "linux.uidMappings",
            "id mappings need a user namespace in linux.namespaces",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        && !new_ns.contains(&LinuxNamespaceType::Uts)
        && !seen.contains(&LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "hostname",
            "setting a hostname needs a uts namespace in linux.namespaces",
        ));
    }
    if let Some(offsets) = linux.time_offsets() {
        if !offsets.is_empty() && !new_ns.contains(&LinuxNamespaceType::Time) {
            return Err(invalid(
                "linux.timeOffsets",
                "time offsets need a new time namespace in linux.namespaces",
            ));
        }
    }
    for (key, _) in linux.sysctl().iter().flatten() {
        check_sysctl(key, &seen)?;
    }
    if let Some(prop) = linux.rootfs_propagation() {
        if !prop.is_empty() && mounts::rootfs_propagation(prop).is_none() {
            return Err(invalid(
                "linux.rootfsPropagation",
                format!("{prop:?} is not one of shared, slave, private, unbindable (with optional r prefix)"),
            ));
        }
    }
    for (i, dev) in linux.devices().iter().flatten().enumerate() {
        if !dev.path().starts_with("/dev/") || mounts::escapes_root(dev.path()) {
            return Err(invalid(
                format!("linux.devices[{i}].path"),
                format!("{} must be a path under /dev", dev.path().display()),
            ));
        }
    }
    if let Some(seccomp) = linux.seccomp() {
        skiff_linux::seccomp::compile(seccomp)?;
    }
    if linux.intel_rdt().is_some() {
        return Err(RuntimeError::Unsupported(
            "linux.intelRdt: Intel RDT is not supported by skiff; remove the field".into(),
        ));
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(RuntimeError::Unsupported(
            "linux.netDevices: moving network devices is not supported by skiff; remove the field"
                .into(),
        ));
    }
    Ok(())
}

/// Only sysctls that belong to a namespace the container owns may be written:
/// anything else would change the host.
fn check_sysctl(key: &str, namespaces: &HashSet<LinuxNamespaceType>) -> Result<()> {
    let field = format!("linux.sysctl.{key}");
    let needs = if key.starts_with("net.") {
        LinuxNamespaceType::Network
    } else if matches!(key, "kernel.hostname" | "kernel.domainname") {
        LinuxNamespaceType::Uts
    } else if matches!(
        key,
        "kernel.msgmax"
            | "kernel.msgmnb"
            | "kernel.msgmni"
            | "kernel.sem"
            | "kernel.shmall"
            | "kernel.shmmax"
            | "kernel.shmmni"
            | "kernel.shm_rmid_forced"
    ) || key.starts_with("fs.mqueue.")
    {
        LinuxNamespaceType::Ipc
    } else {
        return Err(invalid(
            field,
            "is not namespaced; setting it would change the host",
        ));
    };
    if !namespaces.contains(&needs) {
        return Err(invalid(
            field,
            format!("needs a {needs} namespace in linux.namespaces"),
        ));
    }
    if key.contains("..") || key.contains('/') {
        return Err(invalid(field, "is not a valid sysctl name"));
    }
    Ok(())
}

/// The default spec `spec` writes: a busybox-friendly shell container, like runc's.
pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version("1.2.0".to_string());
    spec.set_hostname(Some("skiff".to_string()));
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(true));
    }
    if let Some(root) = spec.root_mut() {
        root.set_readonly(Some(true));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_from(json: &str) -> Result<Spec> {
        parse_json(Path::new("config.json"), json.as_bytes())
    }

    const BASE: &str = r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}},
        "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}"#;

    #[test]
    fn bad_value_names_its_json_path() {
        let err = spec_from(
            r#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":["sh"],"user":{"uid":"root","gid":0}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("process.user.uid"), "{err}");
    }

    #[test]
    fn valid_spec_passes() {
        validate(&spec_from(BASE).expect("parse")).expect("valid");
    }

    #[test]
    fn relative_cwd_is_rejected() {
        let spec = spec_from(&BASE.replace(r#""cwd":"/""#, r#""cwd":"tmp""#)).expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.starts_with("process.cwd"), "{err}");
    }

    #[test]
    fn duplicate_namespace_is_rejected() {
        let spec =
            spec_from(&BASE.replace(r#"{"type":"mount"}"#, r#"{"type":"pid"}"#)).expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
    }

    #[test]
    fn escaping_mount_is_rejected() {
        let spec = spec_from(&BASE.replace(
            r#""linux""#,
            r#""mounts":[{"destination":"/../../etc","type":"tmpfs","source":"tmpfs"}],"linux""#,
        ))
        .expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("mounts[0].destination"), "{err}");
    }

    #[test]
    fn host_sysctl_is_refused() {
        let spec = spec_from(&BASE.replace(
            r#""namespaces""#,
            r#""sysctl":{"kernel.panic":"1"},"namespaces""#,
        ))
        .expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("linux.sysctl.kernel.panic"), "{err}");
        let spec = spec_from(&BASE.replace(
            r#""namespaces""#,
            r#""sysctl":{"net.ipv4.ip_forward":"1"},"namespaces""#,
        ))
        .expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("needs a net namespace"), "{err}");
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let spec =
            spec_from(&BASE.replace(r#"{"type":"pid"}"#, r#"{"type":"user"}"#)).expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("linux.uidMappings"), "{err}");
    }

    #[test]
    fn soft_rlimit_above_hard_is_rejected() {
        let spec = spec_from(&BASE.replace(
            r#""cwd":"/""#,
            r#""cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]"#,
        ))
        .expect("parse");
        let err = validate(&spec).unwrap_err().to_string();
        assert!(err.contains("process.rlimits[0]"), "{err}");
    }
}
