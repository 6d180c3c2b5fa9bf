//! Small file helpers shared by both drivers.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::CgroupError;

/// How long rmdir keeps retrying EBUSY: tasks that just exited can linger a
/// few milliseconds before the kernel lets go of the cgroup.
const RMDIR_PATIENCE: Duration = Duration::from_secs(2);

/// Writes `value` in a single write(2), as control files require, without
/// creating the file: a missing file means a missing kernel feature.
pub(crate) fn write(path: &Path, value: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(path)?;
    file.write_all(value.as_bytes())
}

pub(crate) fn read(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

/// Reads a file, `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, CgroupError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::io("reading", path, e)),
    }
}

/// Parses a single-number file; `max` (v2) reads as `u64::MAX`. Missing files give 0.
pub(crate) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    match read_optional(path)? {
        None => Ok(0),
        Some(s) => parse_u64(path, s.trim()),
    }
}

pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64, CgroupError> {
    if s == "max" {
        return Ok(u64::MAX);
    }
    s.parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        content: s.to_string(),
        reason: "expected an unsigned number or \"max\"".to_string(),
    })
}

/// Parses "key value" lines (`memory.stat`, `cpu.stat`, `cgroup.events`).
/// Missing files give an empty map.
pub(crate) fn read_flat_keyed(path: &Path) -> Result<BTreeMap<String, u64>, CgroupError> {
    let mut map = BTreeMap::new();
    let Some(text) = read_optional(path)? else {
        return Ok(map);
    };
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        map.insert(key.to_string(), parse_u64(path, value)?);
    }
    Ok(map)
}

/// Creates `dir` and any missing parents (like `mkdir -p`, but tolerant of
/// concurrent creators); returns the directories it created, top-down.
pub(crate) fn mkdir_p(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        if d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cursor = d.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        match fs::create_dir(&d) {
            Ok(()) => created.push(d),
            // Another runtime instance may race us to a shared parent.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("creating cgroup", d, e)),
        }
    }
    Ok(created)
}

/// `dir` and all cgroups below it, parents before children.
pub(crate) fn walk(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            // Children can vanish while we walk; the root vanishing means nothing to list.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CgroupError::io("listing", d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CgroupError::io("listing", &d, e))?;
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                stack.push(entry.path());
            }
        }
        out.push(d);
    }
    Ok(out)
}

/// Every pid in `cgroup.procs` of `dir` and its descendants, sorted.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    for d in walk(dir)? {
        let procs = d.join("cgroup.procs");
        let Some(text) = read_optional(&procs)? else {
            continue;
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            pids.push(line.parse::<i32>().map_err(|_| CgroupError::Parse {
                path: procs.clone(),
                content: line.to_string(),
                reason: "expected a process id".to_string(),
            })?);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Removes `dir` and every cgroup below it, deepest first. A cgroupfs rmdir
/// succeeds despite the control files; only tasks or children keep it busy.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let mut dirs = walk(dir)?;
    // walk() lists parents first, so reversing gives children first.
    dirs.reverse();
    for d in dirs {
        rmdir_retry(&d)?;
    }
    Ok(())
}

fn rmdir_retry(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if start.elapsed() >= RMDIR_PATIENCE {
                    return Err(CgroupError::Busy {
                        path: dir.to_path_buf(),
                        pids: pids_recursive(dir).unwrap_or_default(),
                        waited_ms: millis(start.elapsed()),
                    });
                }
                thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(CgroupError::io("removing cgroup", dir, e)),
        }
    }
}

/// Polls `done` with growing sleeps until it holds or `timeout` passes.
pub(crate) fn wait_until(
    timeout: Duration,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let start = Instant::now();
    let mut delay = Duration::from_micros(200);
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub(crate) fn signal(pid: i32, signal: i32) -> Result<(), CgroupError> {
    // kill(2) reads 0 and negative pids as process groups or "everyone";
    // a corrupt pid list must never turn into that.
    if pid <= 0 {
        return Err(CgroupError::Signal {
            pid,
            signal,
            source: io::Error::from_raw_os_error(libc::EINVAL),
        });
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(CgroupError::Signal {
        pid,
        signal,
        source: err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_never_creates_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("memory.max");
        assert_eq!(
            write(&missing, "1").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        fs::write(&missing, "old content that is longer").unwrap();
        write(&missing, "42").unwrap();
        assert_eq!(fs::read_to_string(&missing).unwrap(), "42");
    }

    #[test]
    fn flat_keyed_and_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cpu.stat");
        fs::write(&p, "usage_usec 10\nnr_periods 3\nbad line here\n").unwrap();
        let m = read_flat_keyed(&p).unwrap();
        assert_eq!(m.get("usage_usec"), Some(&10));
        assert_eq!(m.len(), 2);
        assert!(read_flat_keyed(&dir.path().join("nope"))
            .unwrap()
            .is_empty());
        assert_eq!(parse_u64(&p, "max").unwrap(), u64::MAX);
        assert!(parse_u64(&p, "-3").unwrap_err().to_string().contains("-3"));
    }

    #[test]
    fn mkdir_p_reports_created_dirs_and_remove_tree_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir.path().join("a/b/c");
        let created = mkdir_p(&leaf).unwrap();
        assert_eq!(
            created,
            vec![dir.path().join("a"), dir.path().join("a/b"), leaf.clone()]
        );
        assert!(mkdir_p(&leaf).unwrap().is_empty());
        fs::create_dir(leaf.join("child")).unwrap();
        remove_tree(&dir.path().join("a/b")).unwrap();
        assert!(!dir.path().join("a/b").exists());
        remove_tree(&dir.path().join("a/b")).unwrap();
    }
}
