//! Shared helpers for the end-to-end tests: busybox bundles built in a temp
//! dir, the real `skiff` binary, and checks that nothing was left behind.
#![allow(dead_code)]

pub mod busybox;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub fn skiff_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skiff"))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique container id for this test process.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A bundle plus a private state root, removed (with any container) on drop.
pub struct TestBundle {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub id: String,
}

impl TestBundle {
    pub fn new(prefix: &str, args: &[&str]) -> TestBundle {
        let dir = tempfile::Builder::new()
            .prefix("skiff-test-")
            .tempdir()
            .expect("tempdir");
        skiff_runtime::bench::busybox_bundle(&dir.path().join("bundle"), args).expect("bundle");
        let root = dir.path().join("state");
        TestBundle {
            dir,
            root,
            id: unique_id(prefix),
        }
    }

    pub fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }

    pub fn config(&self) -> Value {
        let text = std::fs::read_to_string(self.bundle().join("config.json")).expect("config");
        serde_json::from_str(&text).expect("json")
    }

    pub fn set_config(&self, value: &Value) {
        std::fs::write(
            self.bundle().join("config.json"),
            serde_json::to_string_pretty(value).expect("json"),
        )
        .expect("write config");
    }

    /// Edit config.json in place.
    pub fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut v = self.config();
        f(&mut v);
        self.set_config(&v);
    }

    /// `skiff runtime --root <root> <args>`.
    pub fn runtime(&self, args: &[&str]) -> Output {
        output_via_files(self.runtime_cmd(args))
    }

    pub fn runtime_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(skiff_bin());
        cmd.arg("runtime").arg("--root").arg(&self.root).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `run` the bundle in the foreground; returns the output.
    pub fn run(&self) -> Output {
        let bundle = self.bundle();
        self.runtime(&["run", "--bundle", bundle.to_str().expect("utf8"), &self.id])
    }

    pub fn create(&self) -> Output {
        let bundle = self.bundle();
        self.runtime(&[
            "create",
            "--bundle",
            bundle.to_str().expect("utf8"),
            &self.id,
        ])
    }

    pub fn state(&self) -> Value {
        let out = self.runtime(&["state", &self.id]);
        assert!(out.status.success(), "state failed: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("state json")
    }

    pub fn status(&self) -> String {
        self.state()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The cgroup dirs a container of this id would use on this host.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        cgroup_mounts()
            .into_iter()
            .map(|m| m.join(&self.id))
            .collect()
    }

    /// Assert that nothing of the container is left: state dir, cgroups, mounts.
    pub fn assert_clean(&self) {
        assert_no_leftovers(&self.root, &self.id, &self.bundle());
    }
}

impl Drop for TestBundle {
    fn drop(&mut self) {
        let _ = Command::new(skiff_bin())
            .arg("runtime")
            .arg("--root")
            .arg(&self.root)
            .args(["delete", "--force", &self.id])
            .stderr(Stdio::null())
            .status();
    }
}

/// Like `Command::output`, but through files: a detached container inherits
/// the runtime's stdout and stderr, and pipes would stay open until it exits.
pub fn output_via_files(mut cmd: Command) -> Output {
    let out = tempfile::tempfile().expect("stdout file");
    let err = tempfile::tempfile().expect("stderr file");
    cmd.stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"));
    let status = cmd.status().expect("run skiff");
    Output {
        status,
        stdout: read_from_start(out),
        stderr: read_from_start(err),
    }
}

/// Everything written to a temporary file a child used as its stdout or stderr.
pub fn read_from_start(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut buf = Vec::new();
    f.rewind().expect("rewind");
    f.read_to_end(&mut buf).expect("read");
    buf
}

pub fn cgroup_mounts() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    info.lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
}

pub fn assert_no_leftovers(root: &Path, id: &str, bundle: &Path) {
    assert!(
        !root.join(id).exists(),
        "state directory {} left behind",
        root.join(id).display()
    );
    for m in cgroup_mounts() {
        let dir = m.join(id);
        assert!(!dir.exists(), "cgroup {} left behind", dir.display());
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let b = bundle.display().to_string();
    assert!(
        !info.lines().any(|l| l.contains(&b)),
        "a mount under {b} is left behind"
    );
    let procs = processes_mentioning(bundle);
    assert!(procs.is_empty(), "processes left behind: {procs:?}");
}

/// PIDs whose cwd or root is inside `path`.
pub fn processes_mentioning(path: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        for link in ["root", "cwd"] {
            if let Ok(target) = std::fs::read_link(format!("/proc/{pid}/{link}")) {
                if target.starts_with(path) {
                    out.push(pid);
                }
            }
        }
    }
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Require success; returns stdout.
pub fn succeeded(out: &Output, what: &str) -> String {
    assert_ok(out, what);
    stdout(out)
}

/// Require failure; returns stderr.
pub fn failed(out: &Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have failed: stdout={} stderr={}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): stdout={} stderr={}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// A private podman store in a temp dir: vfs storage (nothing mounted),
/// cgroupfs and a file event log (no systemd or journald), reset and
/// unmounted on drop.
pub struct PrivatePodman {
    pub dir: tempfile::TempDir,
}

impl PrivatePodman {
    pub fn new(prefix: &str) -> PrivatePodman {
        PrivatePodman {
            dir: tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("runroot"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd(args))
    }
}

impl Drop for PrivatePodman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af", "-t", "0"]);
        let _ = self.run(&["rmi", "-af"]);
        let _ = self.run(&["system", "reset", "-f"]);
        // podman may leave its runroot mounted (shm, netns); detach before removal.
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        let mut mounts: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&base))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(Path::new(m), nix::mount::MntFlags::MNT_DETACH);
        }
        // podman's own parent cgroup for conmon; gone once empty.
        for hierarchy in cgroup_mounts() {
            let parent = hierarchy.join("libpod_parent");
            let _ = std::fs::remove_dir(parent.join("conmon"));
            let _ = std::fs::remove_dir(parent);
        }
    }
}
