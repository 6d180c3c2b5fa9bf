//! The cgroup v1 driver: the same relative path in every mounted hierarchy,
//! plus (on hybrid hosts) a companion cgroup in the unified hierarchy.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

use super::error::{add_process_hint, write_hint};
use super::fsutil::{self, millis};
use super::resources::{self, Probe, Version};
use super::stats::{self, Stats};
use super::v2::V2Manager;
use super::{CgroupError, CgroupManager, DriverKind, Layout, FREEZE_TIMEOUT};

/// Hierarchies to list tasks from, best first: these are the ones a
/// container is least likely to have been moved out of.
const PIDS_PREFERENCE: &[&str] = &["pids", "freezer", "memory", "cpu", "cpuacct", "devices"];

/// How often to re-request FROZEN while the freezer is stuck in FREEZING:
/// tasks that forked or left the kernel meanwhile are only caught on a new write.
const FREEZE_RETRY: Duration = Duration::from_millis(50);

pub(crate) struct V1Manager {
    /// Controller (or "name=..." hierarchy) to this cgroup's directory in it.
    dirs: BTreeMap<String, PathBuf>,
    /// Same cgroup in the unified hierarchy of a hybrid host.
    companion: Option<V2Manager>,
}

impl V1Manager {
    /// `rel` is an absolute, already validated cgroup path.
    pub(crate) fn new(layout: &Layout, rel: &Path) -> V1Manager {
        let rel_inner = rel.strip_prefix("/").unwrap_or(rel);
        let dirs = layout
            .v1_controllers()
            .map(|(c, mount)| (c.to_string(), mount.join(rel_inner)))
            .collect();
        let companion = layout
            .unified_mount()
            .map(|mount| V2Manager::new(mount, rel, true));
        V1Manager { dirs, companion }
    }

    /// Distinct cgroup directories (co-mounted controllers share one).
    fn hierarchy_dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = self.dirs.values().map(PathBuf::as_path).collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// hugetlb lives in the unified hierarchy on hybrid hosts like the CI machine.
    fn hugetlb_via_unified(&self) -> bool {
        !self.dirs.contains_key("hugetlb") && self.companion.is_some()
    }

    fn dir_for(&self, controller: &str) -> Option<&Path> {
        match self.dirs.get(controller) {
            Some(d) => Some(d),
            None if controller == "hugetlb" => self.companion.as_ref().map(V2Manager::dir),
            None => None,
        }
    }

    fn ensure_exists(&self, action: &'static str) -> Result<(), CgroupError> {
        match self.hierarchy_dirs().into_iter().find(|d| !d.is_dir()) {
            None => Ok(()),
            Some(missing) => Err(CgroupError::NotCreated {
                path: missing.to_path_buf(),
                action,
            }),
        }
    }

    fn freezer_state_file(&self) -> Option<PathBuf> {
        self.dirs.get("freezer").map(|d| d.join("freezer.state"))
    }

    fn read_freezer_state(path: &Path) -> Result<String, CgroupError> {
        fsutil::read(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| CgroupError::io("reading", path, e))
    }

    fn write_freezer(path: &Path, state: &str) -> Result<(), CgroupError> {
        fsutil::write(path, state).map_err(|e| CgroupError::Write {
            field: "freezer.state".to_string(),
            path: path.to_path_buf(),
            value: state.to_string(),
            hint: write_hint("freezer.state", &e),
            source: e,
        })
    }

    /// Only the freezer hierarchy matters here, so a cgroup that is partly
    /// gone (e.g. after a failed create) can still be paused or resumed.
    fn freezer_file_or_err(&self, action: &'static str) -> Result<PathBuf, CgroupError> {
        let Some(dir) = self.dirs.get("freezer") else {
            return Err(CgroupError::unsupported(
                "freezer",
                "the v1 freezer controller is not mounted, so the container cannot be \
                 paused; mount it at /sys/fs/cgroup/freezer",
            ));
        };
        if !dir.is_dir() {
            return Err(CgroupError::NotCreated {
                path: dir.clone(),
                action,
            });
        }
        Ok(dir.join("freezer.state"))
    }

    /// A new cpuset cgroup starts with empty cpus and mems, and the kernel
    /// refuses tasks until both are set; copy them down from the parent at
    /// every level, as clone_children would without touching the parent.
    fn init_cpuset(&self) -> Result<(), CgroupError> {
        let Some(leaf) = self.dirs.get("cpuset") else {
            return Ok(());
        };
        let mut chain: Vec<&Path> = leaf.ancestors().collect();
        chain.reverse();
        for pair in chain.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if !parent.join("cpuset.cpus").exists() {
                // Above the mount point.
                continue;
            }
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let child_file = child.join(file);
                let current = fsutil::read(&child_file)
                    .map_err(|e| CgroupError::io("reading", &child_file, e))?;
                if !current.trim().is_empty() {
                    continue;
                }
                let parent_file = parent.join(file);
                let inherited = fsutil::read(&parent_file)
                    .map_err(|e| CgroupError::io("reading", &parent_file, e))?;
                let inherited = inherited.trim();
                fsutil::write(&child_file, inherited).map_err(|e| CgroupError::Write {
                    field: format!("{file} (inherited from the parent cgroup)"),
                    path: child_file.clone(),
                    value: inherited.to_string(),
                    hint: write_hint(file, &e),
                    source: e,
                })?;
            }
        }
        Ok(())
    }
}

impl Probe for V1Manager {
    fn require(&self, controller: &str, field: &str) -> Result<(), CgroupError> {
        if self.dirs.contains_key(controller) {
            return Ok(());
        }
        if controller == "hugetlb" {
            if let Some(companion) = &self.companion {
                return companion.require(controller, field);
            }
        }
        let mounted: Vec<&str> = self.dirs.keys().map(String::as_str).collect();
        Err(CgroupError::ControllerUnavailableV1 {
            field: field.to_string(),
            controller: controller.to_string(),
            mounted: mounted.join(" "),
        })
    }

    fn read_file(&self, controller: &str, file: &str) -> Option<String> {
        fs::read_to_string(self.dir_for(controller)?.join(file)).ok()
    }

    fn has_file(&self, controller: &str, file: &str) -> bool {
        self.dir_for(controller)
            .is_some_and(|d| d.join(file).exists())
    }

    fn list_files(&self, controller: &str) -> Vec<String> {
        let Some(dir) = self.dir_for(controller) else {
            return Vec::new();
        };
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn via_unified(&self, controller: &str) -> bool {
        controller == "hugetlb" && self.hugetlb_via_unified()
    }
}

impl CgroupManager for V1Manager {
    fn driver(&self) -> DriverKind {
        DriverKind::V1
    }

    fn create(&self) -> Result<(), CgroupError> {
        for dir in self.hierarchy_dirs() {
            let created = fsutil::mkdir_p(dir)?;
            tracing::debug!(?created, "cgroup v1 directories created");
        }
        self.init_cpuset()?;
        if let Some(companion) = &self.companion {
            // Only tools that look at the unified hierarchy need this, and
            // hugetlb limits on hosts where it lives there; apply() reports
            // the latter precisely if the spec asks for them.
            if let Err(e) = companion.create() {
                tracing::warn!(error = %e, "cannot create the unified-hierarchy cgroup");
            }
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        self.ensure_exists("apply")?;
        let plan = resources::plan(r, Version::V1, self)?;
        for w in &plan.writes {
            let dir = self.dir_for(&w.controller).ok_or_else(|| {
                // plan() calls require() first, so this only fires on a bug.
                CgroupError::ControllerUnavailableV1 {
                    field: w.field.clone(),
                    controller: w.controller.clone(),
                    mounted: self.dirs.keys().cloned().collect::<Vec<_>>().join(" "),
                }
            })?;
            let path = dir.join(&w.file);
            fsutil::write(&path, &w.value).map_err(|e| CgroupError::Write {
                field: w.field.clone(),
                path: path.clone(),
                value: w.value.clone(),
                hint: write_hint(&w.file, &e),
                source: e,
            })?;
        }
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.hierarchy_dirs() {
            let path = dir.join("cgroup.procs");
            fsutil::write(&path, &pid.to_string()).map_err(|e| CgroupError::AddProcess {
                pid,
                path,
                hint: add_process_hint(&e),
                source: e,
            })?;
        }
        if let Some(companion) = &self.companion {
            // If the companion exists it may carry hugetlb limits, so joining
            // it is not optional; if create() could not make it, there is
            // nothing to join.
            if companion.exists() {
                companion.add_process(pid)?;
            } else {
                tracing::debug!("no unified-hierarchy cgroup to join");
            }
        }
        Ok(())
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        let file = self.freezer_file_or_err("freeze")?;
        Self::write_freezer(&file, "FROZEN")?;
        let start = Instant::now();
        let mut last_write = start;
        loop {
            let state = Self::read_freezer_state(&file)?;
            if state == "FROZEN" {
                return Ok(());
            }
            if start.elapsed() >= FREEZE_TIMEOUT {
                // Do not leave the container half frozen behind an error.
                let _ = Self::write_freezer(&file, "THAWED");
                return Err(CgroupError::FreezeTimeout {
                    path: file,
                    state,
                    waited_ms: millis(start.elapsed()),
                });
            }
            if last_write.elapsed() >= FREEZE_RETRY {
                Self::write_freezer(&file, "FROZEN")?;
                last_write = Instant::now();
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        let file = self.freezer_file_or_err("thaw")?;
        Self::write_freezer(&file, "THAWED")?;
        let start = Instant::now();
        let thawed = fsutil::wait_until(FREEZE_TIMEOUT, || {
            Ok(Self::read_freezer_state(&file)? == "THAWED")
        })?;
        if thawed {
            Ok(())
        } else {
            Err(CgroupError::FreezeTimeout {
                state: Self::read_freezer_state(&file)?,
                path: file,
                waited_ms: millis(start.elapsed()),
            })
        }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        if self.freezer_state_file().is_none() {
            // Without a freezer nothing can be paused.
            self.ensure_exists("is_frozen")?;
            return Ok(false);
        }
        let file = self.freezer_file_or_err("is_frozen")?;
        Ok(Self::read_freezer_state(&file)? == "FROZEN")
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = PIDS_PREFERENCE
            .iter()
            .find_map(|c| self.dirs.get(*c))
            .or_else(|| self.dirs.values().next());
        let Some(dir) = dir else {
            return Ok(Vec::new());
        };
        if !dir.is_dir() {
            return Err(CgroupError::NotCreated {
                path: dir.clone(),
                action: "pids",
            });
        }
        fsutil::pids_recursive(dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        self.ensure_exists("stats")?;
        let get = |c: &str| self.dirs.get(c).map(PathBuf::as_path);
        let hugetlb = match (get("hugetlb"), &self.companion) {
            (Some(dir), _) => stats::hugetlb(dir, false)?,
            (None, Some(companion)) if companion.exists() => stats::hugetlb(companion.dir(), true)?,
            _ => BTreeMap::new(),
        };
        Ok(Stats {
            cpu: stats::cpu_v1(get("cpu"), get("cpuacct"))?,
            memory: get("memory")
                .map(stats::memory_v1)
                .transpose()?
                .unwrap_or_default(),
            pids: get("pids")
                .map(stats::pids)
                .transpose()?
                .unwrap_or_default(),
            blkio: get("blkio")
                .map(stats::blkio_v1)
                .transpose()?
                .unwrap_or_default(),
            hugetlb,
        })
    }

    fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        if !self.exists() {
            return Ok(());
        }
        // An empty cgroup (the usual case once a container has exited) needs no
        // freeze: freezing and thawing cost more than the rest of a delete.
        let mut any = false;
        for dir in self.hierarchy_dirs() {
            any |= !fsutil::pids_recursive(dir)?.is_empty();
        }
        if !any {
            return Ok(());
        }
        // Freeze so nothing forks between listing the tasks and signalling
        // them. Frozen v1 tasks only act on SIGKILL once thawed, so thaw after
        // SIGKILL even if the container was paused before.
        let has_freezer = self.freezer_state_file().is_some_and(|f| f.exists());
        let was_frozen = has_freezer && self.is_frozen()?;
        let froze = if has_freezer && !was_frozen {
            match self.freeze() {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "signalling without freezing first");
                    false
                }
            }
        } else {
            false
        };
        // Every hierarchy, not just the one pids() reads: after a partial
        // create or a stray move a task may sit in only some of them.
        let mut pids = Vec::new();
        for dir in self.hierarchy_dirs() {
            pids.extend(fsutil::pids_recursive(dir)?);
        }
        pids.sort_unstable();
        pids.dedup();
        let result = pids.into_iter().try_for_each(|p| fsutil::signal(p, signal));
        if froze || (was_frozen && signal == libc::SIGKILL) {
            self.thaw()?;
        }
        result
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        // Try every hierarchy even after a failure, so one busy hierarchy
        // does not leak the others; report the first error.
        let mut first_err = None;
        for dir in self.hierarchy_dirs() {
            if let Err(e) = fsutil::remove_tree(dir) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(companion) = &self.companion {
            if let Err(e) = companion.destroy() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn exists(&self) -> bool {
        self.hierarchy_dirs().iter().any(|d| d.is_dir())
    }
}
