//! The cgroup v2 driver: one directory in the unified hierarchy.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use oci_spec::runtime::LinuxResources;

use super::error::{add_process_hint, write_hint};
use super::fsutil::{self, millis, read_flat_keyed, wait_until};
use super::resources::{self, Probe, Version};
use super::stats::{self, Stats};
use super::{devices_bpf, CgroupError, CgroupManager, DriverKind, FREEZE_TIMEOUT};

pub(crate) struct V2Manager {
    mount: PathBuf,
    dir: PathBuf,
    /// On a hybrid host most controllers are bound to v1, which changes the advice we give.
    hybrid: bool,
}

fn controllers_in(path: &Path) -> Result<BTreeSet<String>, CgroupError> {
    Ok(fsutil::read_optional(path)?
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

fn join_or_none(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".to_string()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

impl V2Manager {
    /// `rel` is an absolute, already validated cgroup path.
    pub(crate) fn new(mount: &Path, rel: &Path, hybrid: bool) -> V2Manager {
        V2Manager {
            mount: mount.to_path_buf(),
            dir: mount.join(rel.strip_prefix("/").unwrap_or(rel)),
            hybrid,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_exists(&self, action: &'static str) -> Result<(), CgroupError> {
        if self.dir.is_dir() {
            Ok(())
        } else {
            Err(CgroupError::NotCreated {
                path: self.dir.clone(),
                action,
            })
        }
    }

    /// Delegates every available controller from `parent` to its children.
    /// Failures are logged, not fatal: apply() reports a missing controller
    /// precisely if the spec actually needs it.
    fn delegate_controllers(parent: &Path) -> Result<(), CgroupError> {
        let available = controllers_in(&parent.join("cgroup.controllers"))?;
        let subtree = parent.join("cgroup.subtree_control");
        let enabled = controllers_in(&subtree)?;
        for c in available.difference(&enabled) {
            // One write per controller: a multi-controller write fails as a
            // whole when any one of them cannot be enabled.
            if let Err(e) = fsutil::write(&subtree, &format!("+{c}")) {
                tracing::debug!(
                    controller = %c,
                    path = %subtree.display(),
                    error = %e,
                    "cannot delegate cgroup v2 controller"
                );
            }
        }
        Ok(())
    }

    fn freeze_state(&self) -> Result<bool, CgroupError> {
        let events = read_flat_keyed(&self.dir.join("cgroup.events"))?;
        Ok(events.get("frozen").copied() == Some(1))
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let file = self.dir.join("cgroup.freeze");
        if !file.exists() {
            self.ensure_exists(if frozen { "freeze" } else { "thaw" })?;
            return Err(CgroupError::unsupported(
                file.display().to_string(),
                "this kernel has no cgroup v2 freezer (needs Linux 5.2)",
            ));
        }
        let value = if frozen { "1" } else { "0" };
        fsutil::write(&file, value).map_err(|e| CgroupError::Write {
            field: "cgroup.freeze".to_string(),
            path: file.clone(),
            value: value.to_string(),
            hint: write_hint("cgroup.freeze", &e),
            source: e,
        })?;
        let start = Instant::now();
        if wait_until(FREEZE_TIMEOUT, || Ok(self.freeze_state()? == frozen))? {
            return Ok(());
        }
        if frozen {
            // Do not leave the container half frozen behind an error.
            let _ = fsutil::write(&file, "0");
        }
        Err(CgroupError::FreezeTimeout {
            path: self.dir.clone(),
            state: if frozen { "freezing" } else { "frozen" }.to_string(),
            waited_ms: millis(start.elapsed()),
        })
    }
}

impl Probe for V2Manager {
    fn require(&self, controller: &str, field: &str) -> Result<(), CgroupError> {
        let here = controllers_in(&self.dir.join("cgroup.controllers"))?;
        if here.contains(controller) {
            return Ok(());
        }
        let root = controllers_in(&self.mount.join("cgroup.controllers"))?;
        let (enabled, hint) = if root.contains(controller) {
            (
                join_or_none(&here),
                format!(
                    "; the hierarchy has it but it is not delegated to {}: every parent's \
                     cgroup.subtree_control must list it, and a parent with processes of its own \
                     cannot delegate",
                    self.dir.display()
                ),
            )
        } else if self.hybrid {
            (
                join_or_none(&root),
                "; on this hybrid host it is bound to a cgroup v1 hierarchy, so use the v1 \
                 driver or leave the field unset"
                    .to_string(),
            )
        } else {
            (
                join_or_none(&root),
                "; the kernel lacks it or it is disabled on the kernel command line".to_string(),
            )
        };
        Err(CgroupError::ControllerUnavailableV2 {
            field: field.to_string(),
            controller: controller.to_string(),
            mount: self.mount.clone(),
            enabled,
            hint,
        })
    }

    fn read_file(&self, _controller: &str, file: &str) -> Option<String> {
        fs::read_to_string(self.dir.join(file)).ok()
    }

    fn has_file(&self, _controller: &str, file: &str) -> bool {
        self.dir.join(file).exists()
    }

    fn list_files(&self, _controller: &str) -> Vec<String> {
        fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl CgroupManager for V2Manager {
    fn driver(&self) -> DriverKind {
        DriverKind::V2
    }

    fn create(&self) -> Result<(), CgroupError> {
        let rel = self.dir.strip_prefix(&self.mount).unwrap_or(&self.dir);
        let mut current = self.mount.clone();
        for component in rel.components() {
            Self::delegate_controllers(&current)?;
            current.push(component);
            match fs::create_dir(&current) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(CgroupError::io("creating cgroup", &current, e)),
            }
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        self.ensure_exists("apply")?;
        let plan = resources::plan(r, Version::V2, self)?;
        let filter = plan
            .devices
            .as_deref()
            .map(devices_bpf::program)
            .transpose()?;
        for w in &plan.writes {
            let path = self.dir.join(&w.file);
            fsutil::write(&path, &w.value).map_err(|e| CgroupError::Write {
                field: w.field.clone(),
                path: path.clone(),
                value: w.value.clone(),
                hint: write_hint(&w.file, &e),
                source: e,
            })?;
        }
        // Last, so a failed resource write never leaves devices locked down
        // for a container that will not start anyway.
        if let Some(filter) = filter {
            devices_bpf::install(&self.dir, &filter)?;
        }
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        let path = self.dir.join("cgroup.procs");
        fsutil::write(&path, &pid.to_string()).map_err(|e| CgroupError::AddProcess {
            pid,
            path,
            hint: add_process_hint(&e),
            source: e,
        })
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.ensure_exists("is_frozen")?;
        self.freeze_state()
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        self.ensure_exists("pids")?;
        fsutil::pids_recursive(&self.dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        self.ensure_exists("stats")?;
        Ok(Stats {
            cpu: stats::cpu_v2(&self.dir)?,
            memory: stats::memory_v2(&self.dir)?,
            pids: stats::pids(&self.dir)?,
            blkio: stats::blkio_v2(&self.dir)?,
            hugetlb: stats::hugetlb(&self.dir, true)?,
        })
    }

    fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        if !self.exists() {
            return Ok(());
        }
        let kill_file = self.dir.join("cgroup.kill");
        if signal == libc::SIGKILL && kill_file.exists() {
            // The kernel kills every task, including ones forking right now.
            return fsutil::write(&kill_file, "1").map_err(|e| CgroupError::Write {
                field: "cgroup.kill".to_string(),
                path: kill_file.clone(),
                value: "1".to_string(),
                hint: write_hint("cgroup.kill", &e),
                source: e,
            });
        }
        // Freezing first stops tasks from forking between listing and signalling.
        let freezable = self.dir.join("cgroup.freeze").exists();
        let was_frozen = freezable && self.freeze_state()?;
        let froze = freezable && !was_frozen && self.freeze().is_ok();
        let result = self
            .pids()
            .and_then(|pids| pids.into_iter().try_for_each(|p| fsutil::signal(p, signal)));
        if froze {
            self.thaw()?;
        }
        result
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        fsutil::remove_tree(&self.dir)
    }

    fn exists(&self) -> bool {
        self.dir.is_dir()
    }
}
