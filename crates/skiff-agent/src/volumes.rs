//! Pod volumes on the node: emptyDir (a directory, or a tmpfs for
//! `medium: Memory`), hostPath with its type checks, configMap, secret,
//! downwardAPI and projected volumes written the way the kubelet's atomic
//! writer lays them out, and persistentVolumeClaims bound to hostPath or
//! local PersistentVolumes. Then the bind mounts of each container
//! (`subPath`, `subPathExpr`), and teardown.
//!
//! Layout under the pod's volume dir (the kubelet's, which users see in
//! `/proc/mounts` and debugging sessions):
//! `<pod_dir>/kubernetes.io~<plugin>/<volume name>`. hostPath and
//! persistent volumes live elsewhere on the host and are used in place.
//!
//! Content volumes (configMap, secret, downwardAPI, projected) hold their
//! files in a timestamped directory `..<time>`; `..data` is a symlink to it
//! and each top-level name is a symlink through `..data`. An update writes a
//! new timestamped directory and renames a new `..data` over the old one, so
//! readers of the volume see either the old or the new set of files, never a
//! mix. A `subPath` mount is resolved to the real file at mount time, so it
//! keeps the content it started with, as in Kubernetes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{
    chown, symlink, DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::Mode;

use crate::env::{self, ContainerView, FieldUse, PodInputs};

/// Why a volume could not be prepared, mounted or removed. The message names
/// the field (`spec.volumes[2].configMap.items[0].key`) or the missing object.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{field}: {kind} {name:?} not found in namespace {namespace:?}; create it or mark the volume optional")]
    MissingObject {
        field: String,
        kind: &'static str,
        name: String,
        namespace: String,
    },
    #[error("{field}: key {key:?} not found in {kind} {name:?} in namespace {namespace:?}; add it or mark the volume optional")]
    MissingKey {
        field: String,
        kind: &'static str,
        name: String,
        key: String,
        namespace: String,
    },
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("{context}: {path}: {source}")]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is still mounted after unmounting everything under it; refusing to delete it")]
    StillMounted { path: PathBuf },
}

fn io_err(context: &str, path: &Path, source: io::Error) -> VolumeError {
    VolumeError::Io {
        context: context.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

fn field_err(field: impl Into<String>, message: impl Into<String>) -> VolumeError {
    VolumeError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// The pod's volumes once prepared, by volume name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodVolumes {
    pub dir: PathBuf,
    pub volumes: BTreeMap<String, PreparedVolume>,
}

/// One prepared volume: what to bind into containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedVolume {
    pub host_path: PathBuf,
    /// Always true for secret, configMap, downwardAPI and projected volumes;
    /// the claim's `readOnly` for persistentVolumeClaim volumes.
    pub read_only: bool,
}

/// One bind mount of a container (the agent turns it into the engine's
/// `PodMount`, which has the same fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}

const EMPTY_DIR: &str = "kubernetes.io~empty-dir";
const CONFIG_MAP: &str = "kubernetes.io~configmap";
const SECRET: &str = "kubernetes.io~secret";
const DOWNWARD_API: &str = "kubernetes.io~downward-api";
const PROJECTED: &str = "kubernetes.io~projected";

const DEFAULT_MODE: u32 = 0o644;
const DATA_LINK: &str = "..data";
const DATA_LINK_TMP: &str = "..data_tmp";

/// Create (or, when already there, update) every volume of the pod under
/// `pod_dir` (e.g. `/var/lib/skiff/pods/<uid>/volumes`).
pub fn setup(pod_dir: &Path, pod: &Pod, inputs: &PodInputs) -> Result<PodVolumes, VolumeError> {
    let mut prepared = BTreeMap::new();
    for (i, volume) in pod_volumes(pod).iter().enumerate() {
        let field = format!("spec.volumes[{i}]");
        check_volume_name(&volume.name, &field)?;
        let (vol, _changed) = prepare(pod_dir, pod, inputs, volume, &field)?;
        if prepared.insert(volume.name.clone(), vol).is_some() {
            return Err(field_err(
                format!("{field}.name"),
                format!("duplicate volume name {:?}", volume.name),
            ));
        }
    }
    Ok(PodVolumes {
        dir: pod_dir.to_path_buf(),
        volumes: prepared,
    })
}

/// Rewrite configMap, secret, downwardAPI and projected volumes whose content
/// changed, atomically; returns whether anything changed. Every volume is
/// tried; the first error is returned after the others were refreshed.
pub fn refresh(pod_dir: &Path, pod: &Pod, inputs: &PodInputs) -> Result<bool, VolumeError> {
    let mut changed = false;
    let mut first_error = None;
    for (i, volume) in pod_volumes(pod).iter().enumerate() {
        if content_plugin(volume).is_none() {
            continue;
        }
        let field = format!("spec.volumes[{i}]");
        let result = check_volume_name(&volume.name, &field)
            .and_then(|()| prepare(pod_dir, pod, inputs, volume, &field));
        match result {
            Ok((_, c)) => changed |= c,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(changed),
    }
}

fn pod_volumes(pod: &Pod) -> &[Volume] {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or(&[])
}

fn check_volume_name(name: &str, field: &str) -> Result<(), VolumeError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(field_err(
            format!("{field}.name"),
            format!("invalid volume name {name:?}: must be a DNS label"),
        ));
    }
    Ok(())
}

/// (plugin dir, on tmpfs) of a content volume.
fn content_plugin(volume: &Volume) -> Option<(&'static str, bool)> {
    if volume.config_map.is_some() {
        Some((CONFIG_MAP, false))
    } else if volume.secret.is_some() {
        Some((SECRET, true))
    } else if volume.downward_api.is_some() {
        Some((DOWNWARD_API, false))
    } else if volume.projected.is_some() {
        // Projected volumes usually carry secrets and tokens: keep them off disk too.
        Some((PROJECTED, true))
    } else {
        None
    }
}

fn fs_group(pod: &Pod) -> Option<u32> {
    pod.spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.fs_group)
        .and_then(|g| u32::try_from(g).ok())
}

fn prepare(
    pod_dir: &Path,
    pod: &Pod,
    inputs: &PodInputs,
    volume: &Volume,
    field: &str,
) -> Result<(PreparedVolume, bool), VolumeError> {
    if let Some((plugin, tmpfs)) = content_plugin(volume) {
        let payload = content_payload(pod, inputs, volume, field)?;
        let dir = pod_dir.join(plugin).join(&volume.name);
        make_dir(&dir, 0o755, field)?;
        if tmpfs && !is_mount_point(&dir).map_err(|e| io_err(field, &dir, e))? {
            mount_tmpfs(&dir, None, Some(0o755), field)?;
        }
        let changed = atomic_write(&dir, &payload, fs_group(pod), field)?;
        return Ok((
            PreparedVolume {
                host_path: dir,
                read_only: true,
            },
            changed,
        ));
    }
    if let Some(empty) = &volume.empty_dir {
        let field = format!("{field}.emptyDir");
        let dir = pod_dir.join(EMPTY_DIR).join(&volume.name);
        // Ownership for fsGroup is given once, to a new volume, not re-walked on
        // every setup (the kubelet's OnRootMismatch policy, roughly).
        let mut fresh = make_dir(&dir, 0o777, &field)?;
        match empty.medium.as_deref().unwrap_or("") {
            "" => {}
            "Memory" => {
                if !is_mount_point(&dir).map_err(|e| io_err(&field, &dir, e))? {
                    let size = match &empty.size_limit {
                        Some(q) => Some(
                            env::quantity::parse(&q.0)
                                .map_err(|e| {
                                    field_err(format!("{field}.sizeLimit"), e.to_string())
                                })?
                                .value(),
                        ),
                        None if inputs.node_allocatable_memory > 0 => {
                            Some(i128::from(inputs.node_allocatable_memory))
                        }
                        None => None,
                    };
                    if matches!(size, Some(s) if s <= 0) {
                        return Err(field_err(
                            format!("{field}.sizeLimit"),
                            "must be positive for a memory-backed emptyDir",
                        ));
                    }
                    // A tmpfs root is 1777 like /tmp unless told otherwise, which is what
                    // the kubelet's memory emptyDirs look like to pods.
                    mount_tmpfs(&dir, size, None, &field)?;
                    fresh = true;
                }
            }
            other => {
                return Err(field_err(
                    format!("{field}.medium"),
                    format!("unsupported medium {other:?}: use \"\" (node disk) or \"Memory\""),
                ))
            }
        }
        if let (Some(gid), true) = (fs_group(pod), fresh) {
            apply_fs_group(&dir, gid, false, &field)?;
        }
        return Ok((
            PreparedVolume {
                host_path: dir,
                read_only: false,
            },
            false,
        ));
    }
    if let Some(host) = &volume.host_path {
        let field = format!("{field}.hostPath");
        let path = check_host_path(&host.path, host.type_.as_deref(), &field)?;
        return Ok((
            PreparedVolume {
                host_path: path,
                read_only: false,
            },
            false,
        ));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let field = format!("{field}.persistentVolumeClaim");
        let path = claim_path(
            pod,
            inputs,
            &claim.claim_name,
            &format!("{field}.claimName"),
        )?;
        return Ok((
            PreparedVolume {
                host_path: path,
                read_only: claim.read_only.unwrap_or(false),
            },
            false,
        ));
    }
    if volume.ephemeral.is_some() {
        let pod_name = pod.metadata.name.as_deref().unwrap_or("");
        let claim = env::ephemeral_claim_name(pod_name, &volume.name);
        let path = claim_path(pod, inputs, &claim, &format!("{field}.ephemeral"))?;
        return Ok((
            PreparedVolume {
                host_path: path,
                read_only: false,
            },
            false,
        ));
    }
    Err(field_err(
        field,
        format!(
            "volume {:?} has an unsupported source: use emptyDir, hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim or ephemeral",
            volume.name
        ),
    ))
}

/// The host directory of the PersistentVolume a claim is bound to.
fn claim_path(
    pod: &Pod,
    inputs: &PodInputs,
    claim_name: &str,
    field: &str,
) -> Result<PathBuf, VolumeError> {
    let namespace = env::pod_namespace(pod);
    let claim = inputs
        .claims
        .get(claim_name)
        .ok_or_else(|| VolumeError::Field {
            field: field.to_string(),
            message: format!(
                "persistentvolumeclaim {claim_name:?} not found in namespace {namespace:?}"
            ),
        })?;
    let pv_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            field_err(
                field,
                format!(
                    "persistentvolumeclaim {claim_name:?} is not bound to a persistent volume yet"
                ),
            )
        })?;
    let pv = inputs.persistent_volumes.get(pv_name).ok_or_else(|| {
        field_err(
            field,
            format!("persistentvolumeclaim {claim_name:?} is bound to persistentvolume {pv_name:?}, which does not exist"),
        )
    })?;
    let spec = pv.spec.as_ref();
    if let Some(host) = spec.and_then(|s| s.host_path.as_ref()) {
        return check_host_path(
            &host.path,
            host.type_.as_deref(),
            &format!("{field} (persistentvolume {pv_name:?} spec.hostPath)"),
        );
    }
    if let Some(local) = spec.and_then(|s| s.local.as_ref()) {
        let pv_field = format!("{field} (persistentvolume {pv_name:?} spec.local.path)");
        let path = PathBuf::from(&local.path);
        if !path.is_absolute() {
            return Err(field_err(
                pv_field,
                format!("{:?} is not an absolute path", local.path),
            ));
        }
        return match fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(io_err(&pv_field, &path, e)),
        };
    }
    Err(field_err(
        field,
        format!("persistentvolumeclaim {claim_name:?} is bound to persistentvolume {pv_name:?}, which is neither hostPath nor local: this node cannot attach it"),
    ))
}

/// Check (and for the `...OrCreate` types, create) a hostPath.
fn check_host_path(path: &str, kind: Option<&str>, field: &str) -> Result<PathBuf, VolumeError> {
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        return Err(field_err(
            format!("{field}.path"),
            format!("{path:?} is not an absolute path"),
        ));
    }
    let kind = kind.unwrap_or("");
    let type_field = format!("{field}.type");
    let meta = fs::metadata(&p);
    let fail = |what: &str| {
        field_err(
            &type_field,
            format!("hostPath type check failed: {path} is not {what}"),
        )
    };
    match kind {
        "" => {}
        "DirectoryOrCreate" => match &meta {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(fail("a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(&p)
                    .map_err(|e| io_err(&format!("{type_field}: create directory"), &p, e))?;
            }
            Err(_) => return Err(fail("a directory")),
        },
        "Directory" => {
            if !matches!(&meta, Ok(m) if m.is_dir()) {
                return Err(fail("a directory"));
            }
        }
        "FileOrCreate" => match &meta {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(fail("a file")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Like Kubernetes, the parent is not created: a missing one is an error.
                fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o644)
                    .open(&p)
                    .map_err(|e| io_err(&format!("{type_field}: create file"), &p, e))?;
            }
            Err(_) => return Err(fail("a file")),
        },
        "File" => {
            if !matches!(&meta, Ok(m) if m.is_file()) {
                return Err(fail("a file"));
            }
        }
        "Socket" => {
            if !matches!(&meta, Ok(m) if m.file_type().is_socket()) {
                return Err(fail("a socket"));
            }
        }
        "CharDevice" => {
            if !matches!(&meta, Ok(m) if m.file_type().is_char_device()) {
                return Err(fail("a character device"));
            }
        }
        "BlockDevice" => {
            if !matches!(&meta, Ok(m) if m.file_type().is_block_device()) {
                return Err(fail("a block device"));
            }
        }
        other => {
            return Err(field_err(
                type_field,
                format!("unsupported type {other:?}: use \"\", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice"),
            ))
        }
    }
    Ok(p)
}

/// One file of a content volume.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileSpec {
    data: Vec<u8>,
    mode: u32,
}

/// Relative path → file.
type Payload = BTreeMap<String, FileSpec>;

fn content_payload(
    pod: &Pod,
    inputs: &PodInputs,
    volume: &Volume,
    field: &str,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    if let Some(cm) = &volume.config_map {
        let field = format!("{field}.configMap");
        let default = file_mode(
            cm.default_mode,
            DEFAULT_MODE,
            &format!("{field}.defaultMode"),
        )?;
        KeyedSource::config_map(&cm.name, cm.items.as_deref(), cm.optional, &field).add_files(
            pod,
            inputs,
            default,
            &mut payload,
        )?;
    } else if let Some(secret) = &volume.secret {
        let field = format!("{field}.secret");
        let default = file_mode(
            secret.default_mode,
            DEFAULT_MODE,
            &format!("{field}.defaultMode"),
        )?;
        let mut source = KeyedSource::secret(
            secret.secret_name.as_deref().unwrap_or(""),
            secret.items.as_deref(),
            secret.optional,
            &field,
        );
        source.name_field = format!("{field}.secretName");
        source.add_files(pod, inputs, default, &mut payload)?;
    } else if let Some(downward) = &volume.downward_api {
        let field = format!("{field}.downwardAPI");
        let default = file_mode(
            downward.default_mode,
            DEFAULT_MODE,
            &format!("{field}.defaultMode"),
        )?;
        let items = downward.items.as_deref().unwrap_or(&[]);
        downward_files(pod, inputs, items, default, &field, &mut payload)?;
    } else if let Some(projected) = &volume.projected {
        let field = format!("{field}.projected");
        let default = file_mode(
            projected.default_mode,
            DEFAULT_MODE,
            &format!("{field}.defaultMode"),
        )?;
        for (k, source) in projected.sources.iter().flatten().enumerate() {
            let field = format!("{field}.sources[{k}]");
            if let Some(cm) = &source.config_map {
                let f = format!("{field}.configMap");
                KeyedSource::config_map(&cm.name, cm.items.as_deref(), cm.optional, &f).add_files(
                    pod,
                    inputs,
                    default,
                    &mut payload,
                )?;
            }
            if let Some(secret) = &source.secret {
                let f = format!("{field}.secret");
                KeyedSource::secret(&secret.name, secret.items.as_deref(), secret.optional, &f)
                    .add_files(pod, inputs, default, &mut payload)?;
            }
            if let Some(downward) = &source.downward_api {
                let items = downward.items.as_deref().unwrap_or(&[]);
                let f = format!("{field}.downwardAPI");
                downward_files(pod, inputs, items, default, &f, &mut payload)?;
            }
            if source.service_account_token.is_some() || source.cluster_trust_bundle.is_some() {
                // No token issuer or trust bundles on this platform yet: the source is
                // left out rather than failing every pod that carries the default
                // service account projection.
                tracing::debug!(%field, "skipping serviceAccountToken/clusterTrustBundle projection");
            }
        }
    }
    Ok(payload)
}

fn file_mode(mode: Option<i32>, default: u32, field: &str) -> Result<u32, VolumeError> {
    match mode {
        None => Ok(default),
        Some(m) if (0..=0o777).contains(&m) => Ok(m as u32),
        Some(m) => Err(field_err(
            field,
            format!("invalid mode {m} (0{m:o}): must be between 0 and 0777 (decimal 511)"),
        )),
    }
}

fn add_file(
    payload: &mut Payload,
    path: &str,
    field: &str,
    data: Vec<u8>,
    mode: u32,
) -> Result<(), VolumeError> {
    check_payload_path(path).map_err(|m| field_err(field, m))?;
    payload.insert(path.to_string(), FileSpec { data, mode });
    Ok(())
}

/// A file path inside a content volume: relative, no `..` component, not
/// starting with `..` (those names are the writer's own).
fn check_payload_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("path must not be empty".to_string());
    }
    if path.len() > 4096 {
        return Err("path is longer than 4096 characters".to_string());
    }
    if path.starts_with('/') {
        return Err(format!("{path:?} must be a relative path"));
    }
    if path.starts_with("..") {
        return Err(format!("{path:?} must not start with \"..\""));
    }
    if path.contains('\0') {
        return Err(format!("{path:?} contains a NUL byte"));
    }
    for part in path.split('/') {
        if part == ".." {
            return Err(format!("{path:?} must not contain \"..\""));
        }
        if part.is_empty() || part == "." {
            return Err(format!("{path:?} has an empty or \".\" component"));
        }
        if part.len() > 255 {
            return Err(format!(
                "{path:?} has a component longer than 255 characters"
            ));
        }
    }
    Ok(())
}

/// A ConfigMap or Secret as a volume source (whole, or projected).
struct KeyedSource<'a> {
    kind: &'static str,
    name: &'a str,
    items: Option<&'a [KeyToPath]>,
    optional: bool,
    /// The source's field, e.g. `spec.volumes[0].configMap`.
    field: String,
    /// Where the object's name is set, for the not-found message.
    name_field: String,
}

impl<'a> KeyedSource<'a> {
    fn config_map(
        name: &'a str,
        items: Option<&'a [KeyToPath]>,
        optional: Option<bool>,
        field: &str,
    ) -> Self {
        KeyedSource {
            kind: "configmap",
            name,
            items,
            optional: optional.unwrap_or(false),
            field: field.to_string(),
            name_field: format!("{field}.name"),
        }
    }

    fn secret(
        name: &'a str,
        items: Option<&'a [KeyToPath]>,
        optional: Option<bool>,
        field: &str,
    ) -> Self {
        KeyedSource {
            kind: "secret",
            ..Self::config_map(name, items, optional, field)
        }
    }

    fn add_files(
        &self,
        pod: &Pod,
        inputs: &PodInputs,
        default_mode: u32,
        payload: &mut Payload,
    ) -> Result<(), VolumeError> {
        let namespace = env::pod_namespace(pod);
        let data = if self.kind == "secret" {
            inputs.secrets.get(self.name).map(env::secret_data)
        } else {
            inputs.config_maps.get(self.name).map(env::config_map_data)
        };
        let Some(data) = data else {
            if self.optional {
                return Ok(());
            }
            return Err(VolumeError::MissingObject {
                field: self.name_field.clone(),
                kind: self.kind,
                name: self.name.to_string(),
                namespace: namespace.to_string(),
            });
        };
        keyed_files(
            &data,
            self.items,
            self.optional,
            default_mode,
            &self.field,
            payload,
            |(field, key)| VolumeError::MissingKey {
                field,
                kind: self.kind,
                name: self.name.to_string(),
                key,
                namespace: namespace.to_string(),
            },
        )
    }
}

/// Files from a key → bytes map: every key with the default mode, or the
/// listed items.
fn keyed_files(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    optional: bool,
    default_mode: u32,
    field: &str,
    payload: &mut Payload,
    missing_key: impl Fn((String, String)) -> VolumeError,
) -> Result<(), VolumeError> {
    match items {
        None | Some([]) => {
            for (key, value) in data {
                add_file(
                    payload,
                    key,
                    &format!("{field} key {key:?}"),
                    value.clone(),
                    default_mode,
                )?;
            }
        }
        Some(items) => {
            for (j, item) in items.iter().enumerate() {
                let item_field = format!("{field}.items[{j}]");
                let Some(value) = data.get(&item.key) else {
                    if optional {
                        continue;
                    }
                    return Err(missing_key((format!("{item_field}.key"), item.key.clone())));
                };
                let mode = file_mode(item.mode, default_mode, &format!("{item_field}.mode"))?;
                add_file(
                    payload,
                    &item.path,
                    &format!("{item_field}.path"),
                    value.clone(),
                    mode,
                )?;
            }
        }
    }
    Ok(())
}

fn downward_files(
    pod: &Pod,
    inputs: &PodInputs,
    items: &[DownwardAPIVolumeFile],
    default_mode: u32,
    field: &str,
    payload: &mut Payload,
) -> Result<(), VolumeError> {
    for (j, item) in items.iter().enumerate() {
        let item_field = format!("{field}.items[{j}]");
        let value = if let Some(field_ref) = &item.field_ref {
            let f = format!("{item_field}.fieldRef");
            if let Some(v) = field_ref
                .api_version
                .as_deref()
                .filter(|v| !v.is_empty() && *v != "v1")
            {
                return Err(field_err(
                    format!("{f}.apiVersion"),
                    format!("unsupported API version {v:?}: only \"v1\""),
                ));
            }
            env::pod_field_value(pod, &field_ref.field_path, inputs, FieldUse::Volume)
                .map_err(|m| field_err(format!("{f}.fieldPath"), m))?
        } else if let Some(resource_ref) = &item.resource_field_ref {
            let f = format!("{item_field}.resourceFieldRef");
            let container = resource_ref
                .container_name
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    field_err(
                        format!("{f}.containerName"),
                        "required in a downward API volume",
                    )
                })?;
            let resources = env::find_container_resources(pod, container).ok_or_else(|| {
                field_err(
                    format!("{f}.containerName"),
                    format!("no container named {container:?} in the pod"),
                )
            })?;
            env::resource_field_value(resource_ref, resources, inputs)
                .map_err(|m| field_err(&f, m))?
        } else {
            return Err(field_err(
                &item_field,
                "one of fieldRef or resourceFieldRef is required",
            ));
        };
        let mode = file_mode(item.mode, default_mode, &format!("{item_field}.mode"))?;
        add_file(
            payload,
            &item.path,
            &format!("{item_field}.path"),
            value.into_bytes(),
            mode,
        )?;
    }
    Ok(())
}

/// Create `dir` with exactly `mode`; returns whether it was created.
fn make_dir(dir: &Path, mode: u32, field: &str) -> Result<bool, VolumeError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(false),
        Ok(_) => {
            return Err(field_err(
                field,
                format!("{} exists and is not a directory", dir.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(field, dir, e)),
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| io_err(&format!("{field}: create directory"), dir, e))?;
    // The umask must not narrow the mode (emptyDirs are 0777 so any user can write).
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| io_err(&format!("{field}: chmod"), dir, e))?;
    Ok(true)
}

/// True when `dir` is the root of a mount: its device differs from its parent's.
fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let own = fs::metadata(dir)?;
    let parent = fs::metadata(dir.join(".."))?;
    Ok(own.dev() != parent.dev() || own.ino() == parent.ino())
}

fn mount_tmpfs(
    dir: &Path,
    size: Option<i128>,
    mode: Option<u32>,
    field: &str,
) -> Result<(), VolumeError> {
    let mut options = Vec::new();
    if let Some(size) = size {
        options.push(format!("size={size}"));
    }
    if let Some(mode) = mode {
        options.push(format!("mode={mode:o}"));
    }
    let data = options.join(",");
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        if data.is_empty() {
            None
        } else {
            Some(data.as_str())
        },
    )
    .map_err(|e| io_err(&format!("{field}: mount tmpfs"), dir, io::Error::from(e)))
}

/// Give the pod's `fsGroup` the volume: group ownership, group read (and
/// write unless `read_only`), setgid directories so new files inherit it.
fn apply_fs_group(path: &Path, gid: u32, read_only: bool, field: &str) -> Result<(), VolumeError> {
    let meta = fs::symlink_metadata(path).map_err(|e| io_err(field, path, e))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    chown(path, None, Some(gid))
        .map_err(|e| io_err(&format!("{field}: chown to fsGroup"), path, e))?;
    let mut mask = if read_only { 0o440 } else { 0o660 };
    if meta.is_dir() {
        mask |= 0o2110;
    }
    let mode = (meta.mode() & 0o7777) | mask;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_err(&format!("{field}: chmod for fsGroup"), path, e))?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| io_err(field, path, e))? {
            let entry = entry.map_err(|e| io_err(field, path, e))?;
            apply_fs_group(&entry.path(), gid, read_only, field)?;
        }
    }
    Ok(())
}

/// Write `payload` into the content volume `dir` unless it already holds
/// exactly that; returns whether it wrote.
fn atomic_write(
    dir: &Path,
    payload: &Payload,
    fs_group: Option<u32>,
    field: &str,
) -> Result<bool, VolumeError> {
    let ctx = |what: &str| format!("{field}: {what}");
    let data_link = dir.join(DATA_LINK);
    let old = match fs::read_link(&data_link) {
        Ok(target) => Some(target),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return Err(field_err(
                field,
                format!("{} is not a symlink", data_link.display()),
            ));
        }
        Err(e) => return Err(io_err(&ctx("read ..data"), &data_link, e)),
    };
    let wanted_top: BTreeSet<&str> = payload.keys().filter_map(|p| p.split('/').next()).collect();

    if let Some(old) = &old {
        let current = read_tree(&dir.join(old))
            .map_err(|e| io_err(&ctx("read current files"), &dir.join(old), e))?;
        let expected: Payload = payload
            .iter()
            .map(|(k, f)| {
                let mode = if fs_group.is_some() {
                    f.mode | 0o440
                } else {
                    f.mode
                };
                (
                    k.clone(),
                    FileSpec {
                        data: f.data.clone(),
                        mode,
                    },
                )
            })
            .collect();
        if current == expected {
            link_top_level(dir, &wanted_top, field)?;
            return Ok(false);
        }
    }

    let (ts_name, ts_dir) = new_timestamped_dir(dir, field)?;
    let written = (|| -> Result<(), VolumeError> {
        for (rel, spec) in payload {
            let path = ts_dir.join(rel);
            if let Some(parent) = path.parent() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(|e| io_err(&ctx("create directory"), parent, e))?;
            }
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(spec.mode)
                .open(&path)
                .map_err(|e| io_err(&ctx("create file"), &path, e))?;
            file.write_all(&spec.data)
                .map_err(|e| io_err(&ctx("write file"), &path, e))?;
            // The umask applied at create time; the mode asked for is exact.
            fs::set_permissions(&path, fs::Permissions::from_mode(spec.mode))
                .map_err(|e| io_err(&ctx("chmod"), &path, e))?;
        }
        if let Some(gid) = fs_group {
            apply_fs_group(&ts_dir, gid, true, field)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&ts_dir);
        return Err(e);
    }

    let tmp_link = dir.join(DATA_LINK_TMP);
    match fs::remove_file(&tmp_link) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&ctx("remove stale ..data_tmp"), &tmp_link, e)),
    }
    symlink(&ts_name, &tmp_link).map_err(|e| io_err(&ctx("create ..data_tmp"), &tmp_link, e))?;
    // The switch itself: rename(2) replaces ..data in one step.
    fs::rename(&tmp_link, &data_link).map_err(|e| io_err(&ctx("replace ..data"), &data_link, e))?;

    link_top_level(dir, &wanted_top, field)?;
    remove_stale_links(dir, &wanted_top, field)?;
    if let Some(old) = old {
        if old.as_os_str() != ts_name.as_str() && is_timestamp_name(&old) {
            let old_dir = dir.join(&old);
            match fs::remove_dir_all(&old_dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&ctx("remove old files"), &old_dir, e)),
            }
        }
    }
    Ok(true)
}

fn is_timestamp_name(name: &Path) -> bool {
    let s = name.as_os_str().to_string_lossy();
    s.starts_with("..") && s != DATA_LINK && s != DATA_LINK_TMP && !s.contains('/')
}

/// Every regular file under `root` (relative path → content and mode).
fn read_tree(root: &Path) -> io::Result<Payload> {
    fn walk(root: &Path, rel: &str, out: &mut Payload) -> io::Result<()> {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = entry.metadata()?;
            if meta.is_dir() {
                walk(root, &child, out)?;
            } else {
                out.insert(
                    child.clone(),
                    FileSpec {
                        data: fs::read(root.join(&child))?,
                        mode: meta.mode() & 0o777,
                    },
                );
            }
        }
        Ok(())
    }
    let mut out = Payload::new();
    walk(root, "", &mut out)?;
    Ok(out)
}

fn link_top_level(dir: &Path, names: &BTreeSet<&str>, field: &str) -> Result<(), VolumeError> {
    for name in names {
        let link = dir.join(name);
        match fs::symlink_metadata(&link) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                symlink(Path::new(DATA_LINK).join(name), &link)
                    .map_err(|e| io_err(&format!("{field}: create symlink"), &link, e))?;
            }
            Err(e) => return Err(io_err(field, &link, e)),
        }
    }
    Ok(())
}

/// Remove top-level symlinks through `..data` whose names the new payload
/// no longer has.
fn remove_stale_links(dir: &Path, keep: &BTreeSet<&str>, field: &str) -> Result<(), VolumeError> {
    for entry in fs::read_dir(dir).map_err(|e| io_err(field, dir, e))? {
        let entry = entry.map_err(|e| io_err(field, dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || keep.contains(name.as_str()) {
            continue;
        }
        let path = entry.path();
        if let Ok(target) = fs::read_link(&path) {
            if target.starts_with(DATA_LINK) {
                fs::remove_file(&path)
                    .map_err(|e| io_err(&format!("{field}: remove stale symlink"), &path, e))?;
            }
        }
    }
    Ok(())
}

static TS_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `..2026_11_23_21_35_01.<unique>` (the kubelet's naming: UTC time, then a
/// suffix that makes it unique).
fn new_timestamped_dir(dir: &Path, field: &str) -> Result<(String, PathBuf), VolumeError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let stamp = format!(
        "..{y:04}_{mo:02}_{d:02}_{:02}_{:02}_{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    loop {
        let n = TS_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{stamp}.{}{:09}{n}", std::process::id(), now.subsec_nanos());
        let path = dir.join(&name);
        match fs::DirBuilder::new().mode(0o755).create(&path) {
            Ok(()) => {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                    .map_err(|e| io_err(&format!("{field}: chmod"), &path, e))?;
                return Ok((name, path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&format!("{field}: create directory"), &path, e)),
        }
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The bind mounts of one container: `volumeMounts` with `readOnly`,
/// `subPath` (relative, no `..`; resolved inside the volume without
/// following symlinks out of it; created as a directory when missing, like
/// the kubelet) and `subPathExpr` (expanded with `$(VAR)` from the
/// container's environment).
pub fn container_mounts(
    volumes: &PodVolumes,
    container: &ContainerView,
    env: &[(String, String)],
) -> Result<Vec<Mount>, VolumeError> {
    let mut mounts = Vec::with_capacity(container.volume_mounts.len());
    for (i, vm) in container.volume_mounts.iter().enumerate() {
        let field = format!("container {:?} volumeMounts[{i}]", container.name);
        let volume = volumes.volumes.get(&vm.name).ok_or_else(|| {
            field_err(
                format!("{field}.name"),
                format!("no volume named {:?} in the pod", vm.name),
            )
        })?;
        if vm.mount_path.is_empty() {
            return Err(field_err(format!("{field}.mountPath"), "must not be empty"));
        }
        let sub_path = vm.sub_path.as_deref().filter(|s| !s.is_empty());
        let sub_expr = vm.sub_path_expr.as_deref().filter(|s| !s.is_empty());
        let sub = match (sub_path, sub_expr) {
            (Some(_), Some(_)) => {
                return Err(field_err(
                    format!("{field}.subPathExpr"),
                    "subPath and subPathExpr are mutually exclusive",
                ))
            }
            (Some(p), None) => Some((p.to_string(), format!("{field}.subPath"))),
            (None, Some(expr)) => {
                let f = format!("{field}.subPathExpr");
                Some((expand_sub_path(expr, env).map_err(|m| field_err(&f, m))?, f))
            }
            (None, None) => None,
        };
        let source = match sub {
            None => volume.host_path.clone(),
            Some((sub, f)) => {
                check_sub_path(&sub).map_err(|m| field_err(&f, m))?;
                resolve_sub_path(&volume.host_path, &sub, &f)?
            }
        };
        mounts.push(Mount {
            source,
            destination: vm.mount_path.clone(),
            readonly: vm.read_only.unwrap_or(false) || volume.read_only,
        });
    }
    Ok(mounts)
}

/// `subPathExpr` expansion: every `$(VAR)` must name a variable with a
/// non-empty value (the kubelet refuses to guess a directory otherwise).
fn expand_sub_path(expr: &str, env: &[(String, String)]) -> Result<String, String> {
    let map: BTreeMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let missing = std::cell::RefCell::new(BTreeSet::new());
    let expanded = env::expand(expr, |name| match map.get(name) {
        Some(v) if !v.is_empty() => Some(v.to_string()),
        _ => {
            missing.borrow_mut().insert(name.to_string());
            Some(String::new())
        }
    });
    let missing = missing.into_inner();
    if !missing.is_empty() {
        let names: Vec<String> = missing.into_iter().collect();
        return Err(format!("missing value for {}", names.join(", ")));
    }
    Ok(expanded)
}

fn check_sub_path(sub: &str) -> Result<(), String> {
    let path = Path::new(sub);
    if path.is_absolute() {
        return Err(format!("{sub:?} must be a relative path"));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(format!("{sub:?} must not contain \"..\""));
    }
    if sub.contains('\0') {
        return Err(format!("{sub:?} contains a NUL byte"));
    }
    Ok(())
}

fn open_beneath(root: &std::os::fd::OwnedFd, rel: &Path) -> nix::Result<std::os::fd::OwnedFd> {
    nix::fcntl::openat2(
        root,
        rel,
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS),
    )
}

/// The real path of `sub` inside `root`, following symlinks only while they
/// stay inside (so `key` in a configMap volume resolves through `..data` to
/// the file in the current timestamped directory). Missing components are
/// created as directories with the mode of the volume root.
fn resolve_sub_path(root: &Path, sub: &str, field: &str) -> Result<PathBuf, VolumeError> {
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        io_err(
            &format!("{field}: open the volume"),
            root,
            io::Error::from(e),
        )
    })?;
    let rel: PathBuf = Path::new(sub)
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        return real_path(&root_fd, root, field);
    }
    let escape = |e: Errno, path: &Path| -> VolumeError {
        match e {
            Errno::EXDEV | Errno::ELOOP => field_err(
                field,
                format!(
                    "{sub:?} leads outside the volume (through a symlink) and cannot be mounted"
                ),
            ),
            other => io_err(
                &format!("{field}: resolve"),
                &root.join(path),
                io::Error::from(other),
            ),
        }
    };
    match open_beneath(&root_fd, &rel) {
        Ok(fd) => return real_path(&fd, &root.join(&rel), field),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(escape(e, &rel)),
    }
    let root_mode = fs::metadata(root)
        .map_err(|e| io_err(field, root, e))?
        .mode()
        & 0o7777;
    let mut prefix = PathBuf::new();
    for component in rel.components() {
        let parent = prefix.clone();
        prefix.push(component);
        match open_beneath(&root_fd, &prefix) {
            Ok(_) => continue,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(escape(e, &prefix)),
        }
        let parent_fd = if parent.as_os_str().is_empty() {
            open_beneath(&root_fd, Path::new("."))
        } else {
            open_beneath(&root_fd, &parent)
        }
        .map_err(|e| escape(e, &parent))?;
        // An O_PATH fd cannot be used with mkdirat; reopen it as a directory through /proc.
        let dir_fd = nix::fcntl::open(
            &PathBuf::from(format!("/proc/self/fd/{}", parent_fd.as_raw_fd())),
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            io_err(
                &format!("{field}: open"),
                &root.join(&parent),
                io::Error::from(e),
            )
        })?;
        let name = prefix.file_name().unwrap_or_default();
        match nix::sys::stat::mkdirat(&dir_fd, name, Mode::from_bits_truncate(root_mode)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(io_err(
                    &format!("{field}: create directory"),
                    &root.join(&prefix),
                    io::Error::from(e),
                ))
            }
        }
        // mkdir honours the umask; the kubelet's directories carry the root's mode.
        let _ = nix::sys::stat::fchmodat(
            &dir_fd,
            name,
            Mode::from_bits_truncate(root_mode),
            nix::sys::stat::FchmodatFlags::NoFollowSymlink,
        );
    }
    let fd = open_beneath(&root_fd, &rel).map_err(|e| escape(e, &rel))?;
    real_path(&fd, &root.join(&rel), field)
}

fn real_path(fd: &std::os::fd::OwnedFd, shown: &Path, field: &str) -> Result<PathBuf, VolumeError> {
    fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| io_err(&format!("{field}: resolve"), shown, e))
}

/// A mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub mount_point: PathBuf,
    pub fstype: String,
}

/// The mounts of this process's mount namespace.
pub fn mount_table() -> io::Result<Vec<MountInfo>> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(text.lines().filter_map(parse_mountinfo_line).collect())
}

fn parse_mountinfo_line(line: &str) -> Option<MountInfo> {
    let mut fields = line.split(' ');
    let mount_point = fields.nth(4)?;
    let fstype = fields.skip_while(|f| *f != "-").nth(1)?;
    Some(MountInfo {
        mount_point: PathBuf::from(unescape_mountinfo(mount_point)),
        fstype: fstype.to_string(),
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 4 <= bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts_under(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = mount_table()?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(root))
        .collect();
    // Deepest first, so nested mounts go before the ones they sit on.
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    Ok(found)
}

/// Unmount and delete everything under `pod_dir` (tmpfs included).
/// hostPath and persistent volume data live outside it and are never
/// touched; should anything stay mounted under it, nothing is deleted.
/// Idempotent.
pub fn teardown(pod_dir: &Path) -> Result<(), VolumeError> {
    let root = match fs::canonicalize(pod_dir) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("teardown: resolve", pod_dir, e)),
    };
    // Stacked mounts need one round each; a bound keeps a stuck one from looping forever.
    for _ in 0..16 {
        let mounts =
            mounts_under(&root).map_err(|e| io_err("teardown: read mountinfo", &root, e))?;
        if mounts.is_empty() {
            break;
        }
        for mount in mounts {
            // A lazy unmount: it returns at once where a plain one waits for the
            // kernel to quiesce the mount (tens of milliseconds per tmpfs), and a
            // file still held open elsewhere cannot block the pod's deletion. The
            // mount is gone from this namespace either way, which is what the
            // deletion below relies on.
            match nix::mount::umount2(&mount, MntFlags::MNT_DETACH) {
                Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(io_err("teardown: unmount", &mount, io::Error::from(e))),
            }
        }
    }
    let left = mounts_under(&root).map_err(|e| io_err("teardown: read mountinfo", &root, e))?;
    if let Some(path) = left.into_iter().next() {
        return Err(VolumeError::StillMounted { path });
    }
    match fs::remove_dir_all(&root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("teardown: remove", &root, e)),
    }
}

#[cfg(test)]
mod tests;
