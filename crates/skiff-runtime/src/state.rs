//! The container state directory: `<root>/<id>/` holds `state.json` (what the
//! runtime needs to find the container again) and `exec.fifo` (present while
//! the container is created but not started).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use skiff_linux::cgroups::DriverKind;
use skiff_linux::process;

use crate::error::{Result, RuntimeError, SysContext};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

/// The runtime-spec status values, plus `paused` which runc also reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What is persisted about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    pub pid: i32,
    /// Start time of `pid`, so a reused PID is not mistaken for the container.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    pub cgroup_path: PathBuf,
    pub cgroup_driver: DriverKind,
    pub config: Spec,
}

/// The `state` output: the runtime-spec state object, with runc's extra fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOutput {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The directory that holds every container's state.
#[derive(Debug, Clone)]
pub struct StateRoot {
    pub dir: PathBuf,
}

pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::InvalidId(id.to_string()))
    }
}

impl StateRoot {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateRoot { dir: dir.into() }
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Claim the directory for a new container. Fails if the id is taken, so two
    /// concurrent `create`s of one id cannot both succeed.
    pub fn claim(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.dir)
            .sys(|| format!("cannot create state root {}", self.dir.display()))?;
        let dir = self.container_dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(RuntimeError::AlreadyExists(id.to_string()))
            }
            Err(e) => Err(e).sys(|| format!("cannot create {}", dir.display())),
        }
    }

    pub fn load(&self, id: &str) -> Result<Record> {
        validate_id(id)?;
        let file = self.container_dir(id).join(STATE_FILE);
        match fs::read(&file) {
            Ok(bytes) => crate::spec::parse_json(&file, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RuntimeError::NotFound(id.to_string()))
            }
            Err(source) => Err(RuntimeError::ReadFile { file, source }),
        }
    }

    /// Write `state.json` atomically: a reader sees the old or the new record, never half.
    pub fn save(&self, record: &Record) -> Result<()> {
        let dir = self.container_dir(&record.id);
        write_atomic(
            &dir.join(STATE_FILE),
            &serde_json::to_vec(record).map_err(|e| RuntimeError::Init(e.to_string()))?,
        )
    }

    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(e).sys(|| format!("cannot list {}", self.dir.display())),
        };
        for entry in entries.flatten() {
            if entry.path().join(STATE_FILE).exists() {
                if let Some(name) = entry.file_name().to_str() {
                    ids.push(name.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.container_dir(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).sys(|| format!("cannot remove {}", dir.display())),
        }
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::File::create(&tmp).sys(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .sys(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    fs::rename(&tmp, path).sys(|| format!("cannot rename {} into place", tmp.display()))
}

impl Record {
    pub fn fifo_path(&self, root: &StateRoot) -> PathBuf {
        root.container_dir(&self.id).join(EXEC_FIFO)
    }

    pub fn is_alive(&self) -> bool {
        process::is_alive(self.pid, self.pid_start)
    }

    /// The status as the kernel sees it right now.
    pub fn status(&self, root: &StateRoot) -> Status {
        if !self.is_alive() {
            return Status::Stopped;
        }
        if self.fifo_path(root).exists() {
            return Status::Created;
        }
        match self
            .cgroup()
            .and_then(|cg| cg.is_frozen().map_err(Into::into))
        {
            Ok(true) => Status::Paused,
            _ => Status::Running,
        }
    }

    pub fn cgroup(&self) -> Result<Box<dyn skiff_linux::cgroups::CgroupManager>> {
        let layout = skiff_linux::cgroups::detect()?;
        Ok(skiff_linux::cgroups::manager(
            &layout,
            &self.cgroup_path,
            self.cgroup_driver,
        )?)
    }

    /// The `state` output: a stopped container reports pid 0, as runc does.
    pub fn state_output(&self, root: &StateRoot) -> StateOutput {
        let status = self.status(root);
        let pid = if status == Status::Stopped {
            0
        } else {
            self.pid
        };
        self.snapshot(status, pid)
    }

    /// The state JSON that hooks read on stdin (always with the init's pid).
    pub fn hook_state(&self, status: Status) -> Vec<u8> {
        serde_json::to_vec(&self.snapshot(status, self.pid)).unwrap_or_default()
    }

    fn snapshot(&self, status: Status, pid: i32) -> StateOutput {
        StateOutput {
            oci_version: self.config.version().clone(),
            id: self.id.clone(),
            pid,
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            annotations: self.config.annotations().clone().unwrap_or_default(),
        }
    }

    /// The current status, if it is one of `allowed`; else the error the runtime
    /// spec asks for when `action` is invalid in this state.
    pub fn require(
        &self,
        root: &StateRoot,
        action: &'static str,
        allowed: &[Status],
        expected: &'static str,
    ) -> Result<Status> {
        let status = self.status(root);
        if allowed.contains(&status) {
            Ok(status)
        } else {
            Err(RuntimeError::WrongState {
                id: self.id.clone(),
                action,
                status: status.to_string(),
                expected,
            })
        }
    }
}

/// Name of the user owning `path`, for the OWNER column.
pub fn owner_of(path: &Path) -> String {
    let uid = fs::metadata(path).map(|m| m.uid()).unwrap_or(0);
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("#{uid}"))
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        for good in ["abc", "a-b_c.d+1", "0"] {
            validate_id(good).expect(good);
        }
        for bad in ["", ".hidden", "a/b", "..", "a b"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn claim_is_exclusive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = StateRoot::new(dir.path().join("root"));
        root.claim("c1").expect("first claim");
        let err = root.claim("c1").unwrap_err();
        assert!(matches!(err, RuntimeError::AlreadyExists(_)));
        assert!(matches!(
            root.load("c1").unwrap_err(),
            RuntimeError::NotFound(_)
        ));
        root.remove("c1").expect("remove");
        assert!(!root.container_dir("c1").exists());
    }
}
