//! The cgroup drivers against the real kernel. These need root and a host
//! with cgroup v1 controllers plus cgroup2 (the CI machine is hybrid); they
//! fail loudly rather than skip when the host lacks what they test.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;
use skiff_linux::cgroups::{
    container_cgroup_path, detect, manager, CgroupManager, DriverKind, Hierarchy, Layout,
};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A cgroup path no other test run or test in this run uses.
fn unique_path(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let id = format!("skiff-test-{}-{tag}-{n}", std::process::id());
    container_cgroup_path(None, &id, false).expect("valid test id")
}

/// Kills the test's processes and removes its cgroups even when an assertion
/// fails halfway.
struct Guard {
    manager: Box<dyn CgroupManager>,
    children: Vec<Child>,
    /// Every directory the test expects to exist, so cleanup can be checked.
    dirs: Vec<PathBuf>,
}

impl Guard {
    fn spawn_sleep(&mut self) -> i32 {
        let child = Command::new("sleep")
            .arg("100")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid fits i32");
        self.children.push(child);
        pid
    }

    fn wait(&mut self, pid: i32) -> ExitStatus {
        let child = self
            .children
            .iter_mut()
            .find(|c| i32::try_from(c.id()).ok() == Some(pid))
            .expect("known child");
        child.wait().expect("wait for child")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Thaw before anything else: a task frozen by the v1 freezer ignores
        // even SIGKILL, so waiting for it first would hang the test run.
        let _ = self.manager.thaw();
        let _ = self.manager.kill_all(libc::SIGKILL);
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.manager.destroy().is_err() {
            std::thread::sleep(Duration::from_millis(200));
            let _ = self.manager.destroy();
        }
        // Last resort for directories the manager no longer knows how to reach.
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("valid LinuxResources JSON")
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn in_mount(mount: &Path, rel: &Path) -> PathBuf {
    mount.join(rel.strip_prefix("/").expect("absolute cgroup path"))
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn host() -> Layout {
    let layout = detect().expect("detect cgroup layout");
    assert!(
        layout.v1_mount("memory").is_some() && layout.unified_mount().is_some(),
        "these tests need v1 controllers and cgroup2 mounted (a hybrid host like CI); got {layout:?}"
    );
    layout
}

fn unified_root_controllers(layout: &Layout) -> Vec<String> {
    let mount = layout.unified_mount().expect("cgroup2 mounted");
    read(mount.join("cgroup.controllers"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn hugepage_sizes() -> Vec<String> {
    // /sys/kernel/mm/hugepages/hugepages-2048kB -> "2MB", as cgroup files name them.
    let mut sizes = Vec::new();
    for entry in fs::read_dir("/sys/kernel/mm/hugepages").expect("hugepages in sysfs") {
        let name = entry.expect("dir entry").file_name();
        let kb: u64 = name
            .to_str()
            .and_then(|n| {
                n.strip_prefix("hugepages-")?
                    .strip_suffix("kB")?
                    .parse()
                    .ok()
            })
            .expect("hugepages-<n>kB");
        sizes.push(match kb {
            kb if kb % (1024 * 1024) == 0 => format!("{}GB", kb / (1024 * 1024)),
            kb if kb % 1024 == 0 => format!("{}MB", kb / 1024),
            kb => format!("{kb}KB"),
        });
    }
    sizes.sort();
    sizes
}

#[test]
fn v1_driver_end_to_end() {
    let layout = host();
    let rel = unique_path("v1");
    let mut g = Guard {
        manager: manager(&layout, &rel, DriverKind::V1).expect("v1 manager"),
        children: Vec::new(),
        dirs: Vec::new(),
    };
    let v1_dirs: Vec<PathBuf> = layout
        .v1_mounts()
        .into_iter()
        .map(|m| in_mount(m, &rel))
        .collect();
    let unified_dir = in_mount(layout.unified_mount().expect("cgroup2"), &rel);
    g.dirs = v1_dirs.clone();
    g.dirs.push(unified_dir.clone());
    let mem_dir = in_mount(layout.v1_mount("memory").expect("memory"), &rel);
    let cpu_dir = in_mount(layout.v1_mount("cpu").expect("cpu"), &rel);
    let pids_dir = in_mount(layout.v1_mount("pids").expect("pids"), &rel);
    let freezer_dir = in_mount(layout.v1_mount("freezer").expect("freezer"), &rel);
    let cpuset_dir = in_mount(layout.v1_mount("cpuset").expect("cpuset"), &rel);
    let devices_dir = in_mount(layout.v1_mount("devices").expect("devices"), &rel);

    assert_eq!(g.manager.driver(), DriverKind::V1);
    assert!(!g.manager.exists());
    g.manager.create().expect("create");
    assert!(g.manager.exists());
    for d in &v1_dirs {
        assert!(d.is_dir(), "{} created", d.display());
    }
    assert!(
        unified_dir.is_dir(),
        "hybrid companion in the unified hierarchy"
    );
    assert!(
        !read(cpuset_dir.join("cpuset.cpus")).is_empty(),
        "cpuset inherited"
    );
    assert!(
        !read(cpuset_dir.join("cpuset.mems")).is_empty(),
        "cpuset inherited"
    );

    g.manager
        .apply(&resources(
            r#"{
                "memory": {"limit": 67108864},
                "pids": {"limit": 32},
                "cpu": {"quota": 50000, "period": 100000, "shares": 512},
                "devices": [
                    {"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
                ]
            }"#,
        ))
        .expect("apply");
    assert_eq!(read(mem_dir.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(pids_dir.join("pids.max")), "32");
    assert_eq!(read(cpu_dir.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(cpu_dir.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(cpu_dir.join("cpu.shares")), "512");
    assert_eq!(read(devices_dir.join("devices.list")), "c 1:3 rwm");

    // blkio weights need CFQ (gone) or BFQ; either the weight lands or the
    // error says what is missing.
    let blkio_dir = in_mount(layout.v1_mount("blkio").expect("blkio"), &rel);
    let weight = g
        .manager
        .apply(&resources(r#"{"blockIO": {"weight": 200}}"#));
    if blkio_dir.join("blkio.bfq.weight").exists() {
        weight.expect("blkio weight");
        assert_eq!(read(blkio_dir.join("blkio.bfq.weight")), "200");
    } else if blkio_dir.join("blkio.weight").exists() {
        weight.expect("blkio weight");
        assert_eq!(read(blkio_dir.join("blkio.weight")), "200");
    } else {
        let err = weight.expect_err("no weight file");
        assert!(err.to_string().contains("BFQ"), "{err}");
    }

    // A partial update changes only what it names.
    g.manager
        .apply(&resources(r#"{"pids": {"limit": -1}}"#))
        .expect("update");
    assert_eq!(read(pids_dir.join("pids.max")), "max");
    assert_eq!(read(mem_dir.join("memory.limit_in_bytes")), "67108864");

    // Values the kernel refuses come back naming the spec field.
    let err = g
        .manager
        .apply(&resources(r#"{"cpu": {"cpus": "0-4095"}}"#))
        .expect_err("CPUs that do not exist");
    let msg = err.to_string();
    assert!(
        msg.starts_with("linux.resources.cpu.cpus: writing \"0-4095\""),
        "{msg}"
    );
    // Values we can check ourselves never reach the kernel.
    let err = g
        .manager
        .apply(&resources(
            r#"{"memory": {"limit": -5}, "pids": {"limit": 7}}"#,
        ))
        .expect_err("negative limit");
    assert_eq!(
        err.to_string(),
        "linux.resources.memory.limit: value -5 is invalid (must be > 0 or -1 for unlimited)"
    );
    assert_eq!(read(pids_dir.join("pids.max")), "max");

    // hugetlb is only in the unified hierarchy here; the v1 driver reaches it there.
    let hugepage = r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#;
    if layout.v1_mount("hugetlb").is_none()
        && unified_root_controllers(&layout).contains(&"hugetlb".to_string())
        && hugepage_sizes().contains(&"2MB".to_string())
    {
        g.manager
            .apply(&resources(hugepage))
            .expect("hugetlb via unified");
        assert_eq!(read(unified_dir.join("hugetlb.2MB.max")), "4194304");
    } else if layout.v1_mount("hugetlb").is_none() {
        let err = g
            .manager
            .apply(&resources(hugepage))
            .expect_err("no hugetlb");
        assert!(err.to_string().contains("hugetlb"), "{err}");
    }

    let pid = g.spawn_sleep();
    g.manager.add_process(pid).expect("add_process");
    let proc_cgroup = read(format!("/proc/{pid}/cgroup"));
    let rel_str = rel.display().to_string();
    assert!(
        proc_cgroup
            .lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&rel_str)),
        "{proc_cgroup}"
    );
    assert!(
        proc_cgroup.lines().any(|l| l == format!("0::{rel_str}")),
        "joined the unified companion: {proc_cgroup}"
    );
    assert_eq!(g.manager.pids().expect("pids"), vec![pid]);

    g.manager.freeze().expect("freeze");
    assert_eq!(read(freezer_dir.join("freezer.state")), "FROZEN");
    assert!(g.manager.is_frozen().expect("is_frozen"));
    g.manager.thaw().expect("thaw");
    assert_eq!(read(freezer_dir.join("freezer.state")), "THAWED");
    assert!(!g.manager.is_frozen().expect("is_frozen"));

    let stats = g.manager.stats().expect("stats");
    assert_eq!(stats.pids.current, 1);
    assert_eq!(stats.memory.usage.limit, 67_108_864);
    let json = serde_json::to_value(&stats).expect("serialise stats");
    assert!(json["cpu"]["usage"]["percpu"].is_array(), "{json}");
    assert!(json["memory"]["usage"]["limit"].is_u64(), "{json}");

    // SIGTERM goes through freeze, signal, thaw.
    let second = g.spawn_sleep();
    g.manager.add_process(second).expect("add second");
    g.manager.kill_all(libc::SIGTERM).expect("kill_all SIGTERM");
    assert_eq!(g.wait(second).signal(), Some(libc::SIGTERM));
    assert_eq!(g.wait(pid).signal(), Some(libc::SIGTERM));

    let third = g.spawn_sleep();
    g.manager.add_process(third).expect("add third");
    g.manager.freeze().expect("pause before kill");
    // A paused container must still die on SIGKILL.
    g.manager.kill_all(libc::SIGKILL).expect("kill_all SIGKILL");
    assert_eq!(g.wait(third).signal(), Some(libc::SIGKILL));
    wait_for("empty cgroup", || {
        g.manager.pids().map(|p| p.is_empty()).unwrap_or(false)
    });

    g.manager.destroy().expect("destroy");
    assert!(!g.manager.exists());
    for d in &g.dirs {
        assert!(!d.exists(), "{} removed", d.display());
    }
    g.manager.destroy().expect("destroy is idempotent");
}

/// Runs a shell inside the cgroup at `dir` (it joins by writing 0 to
/// cgroup.procs) and returns its exit code.
fn sh_in_cgroup(dir: &Path, script: &str) -> i32 {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("echo 0 > \"$1/cgroup.procs\" || exit 90; {script}"))
        .arg("sh")
        .arg(dir)
        .stdin(Stdio::null())
        .status()
        .expect("run sh");
    status
        .code()
        .unwrap_or_else(|| panic!("sh killed: {status:?}"))
}

#[test]
fn v2_driver_end_to_end() {
    let layout = host();
    let mount = layout.unified_mount().expect("cgroup2").to_path_buf();
    let rel = unique_path("v2");
    let dir = in_mount(&mount, &rel);
    let mut g = Guard {
        manager: manager(&layout, &rel, DriverKind::V2).expect("v2 manager"),
        children: Vec::new(),
        dirs: vec![dir.clone(), dir.join("sub")],
    };
    assert_eq!(g.manager.driver(), DriverKind::V2);
    g.manager.create().expect("create");
    assert!(dir.is_dir());
    let root_controllers = unified_root_controllers(&layout);

    // Memory is bound to v1 on a hybrid host: the error must say so clearly.
    let memory = resources(r#"{"memory": {"limit": 67108864}}"#);
    if layout.hierarchy() == Hierarchy::Hybrid && !root_controllers.contains(&"memory".to_string())
    {
        let msg = g
            .manager
            .apply(&memory)
            .expect_err("memory on hybrid v2")
            .to_string();
        let want = format!(
            "linux.resources.memory: controller memory is not available in cgroup v2 at {} (enabled: ",
            mount.display()
        );
        assert!(msg.starts_with(&want), "{msg}");
        assert!(msg.contains("use the v1 driver"), "{msg}");
    } else {
        g.manager.apply(&memory).expect("memory on v2");
        assert_eq!(read(dir.join("memory.max")), "67108864");
    }

    let hugepage = r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#;
    if root_controllers.contains(&"hugetlb".to_string())
        && hugepage_sizes().contains(&"2MB".to_string())
    {
        g.manager.apply(&resources(hugepage)).expect("hugetlb");
        assert_eq!(read(dir.join("hugetlb.2MB.max")), "4194304");
        let err = g
            .manager
            .apply(&resources(
                r#"{"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}"#,
            ))
            .expect_err("bad page size");
        assert!(err.to_string().contains("(available: "), "{err}");
    } else {
        let err = g
            .manager
            .apply(&resources(hugepage))
            .expect_err("no hugetlb");
        assert!(
            err.to_string()
                .contains("controller hugetlb is not available"),
            "{err}"
        );
    }

    let pid = g.spawn_sleep();
    g.manager.add_process(pid).expect("add_process");
    let rel_str = rel.display().to_string();
    let proc_cgroup = read(format!("/proc/{pid}/cgroup"));
    assert!(
        proc_cgroup.lines().any(|l| l == format!("0::{rel_str}")),
        "{proc_cgroup}"
    );

    // pids() descends into child cgroups.
    fs::create_dir(dir.join("sub")).expect("make sub-cgroup");
    let nested = g.spawn_sleep();
    fs::write(dir.join("sub/cgroup.procs"), nested.to_string()).expect("join sub");
    let mut want = vec![pid, nested];
    want.sort_unstable();
    assert_eq!(g.manager.pids().expect("pids"), want);

    g.manager.freeze().expect("freeze");
    assert!(read(dir.join("cgroup.events"))
        .lines()
        .any(|l| l == "frozen 1"));
    assert!(g.manager.is_frozen().expect("is_frozen"));
    g.manager.thaw().expect("thaw");
    assert!(read(dir.join("cgroup.events"))
        .lines()
        .any(|l| l == "frozen 0"));
    assert!(!g.manager.is_frozen().expect("is_frozen"));

    // Device filter: only /dev/null (c 1:3) is allowed, /dev/zero (c 1:5) is not.
    g.manager
        .apply(&resources(
            r#"{"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
            ]}"#,
        ))
        .expect("device filter");
    let probe = "cat /dev/null || exit 3; if head -c1 /dev/zero >/dev/null 2>&1; then exit 4; fi";
    assert_eq!(sh_in_cgroup(&dir, probe), 0, "null allowed, zero denied");
    // Replacing the filter lifts the restriction.
    g.manager
        .apply(&resources(
            r#"{"devices": [{"allow": true, "access": "rwm"}]}"#,
        ))
        .expect("replace device filter");
    assert_eq!(
        sh_in_cgroup(&dir, "head -c1 /dev/zero >/dev/null || exit 5"),
        0,
        "zero allowed after update"
    );

    let stats = g.manager.stats().expect("stats");
    let json = serde_json::to_value(&stats).expect("serialise stats");
    assert!(json["cpu"]["usage"]["total"].is_u64(), "{json}");
    assert!(
        json["blkio"]["ioServiceBytesRecursive"].is_array(),
        "{json}"
    );
    if root_controllers.contains(&"hugetlb".to_string()) {
        assert!(stats.hugetlb.contains_key("2MB"), "{json}");
    }

    // Non-SIGKILL signals go to each task.
    g.manager.kill_all(libc::SIGTERM).expect("kill_all SIGTERM");
    assert_eq!(g.wait(pid).signal(), Some(libc::SIGTERM));
    assert_eq!(g.wait(nested).signal(), Some(libc::SIGTERM));

    let last = g.spawn_sleep();
    g.manager.add_process(last).expect("add last");
    assert!(dir.join("cgroup.kill").exists(), "kernel has cgroup.kill");
    g.manager
        .kill_all(libc::SIGKILL)
        .expect("kill_all via cgroup.kill");
    assert_eq!(g.wait(last).signal(), Some(libc::SIGKILL));
    wait_for("empty cgroup", || {
        read(dir.join("cgroup.events"))
            .lines()
            .any(|l| l == "populated 0")
    });

    g.manager.destroy().expect("destroy");
    assert!(
        !dir.exists(),
        "{} removed with its sub-cgroup",
        dir.display()
    );
    assert!(!g.manager.exists());
    g.manager.destroy().expect("destroy is idempotent");
}

#[test]
fn drivers_match_the_host() {
    let layout = host();
    assert_eq!(layout.hierarchy(), Hierarchy::Hybrid);
    assert_eq!(layout.default_driver(), DriverKind::V1);
    // A systemd-style path maps to a cgroupfs path both drivers accept.
    let rel = container_cgroup_path(Some("system.slice:skiff:x"), "x", true).expect("path");
    assert_eq!(rel, Path::new("/system.slice/skiff-x.scope"));
    for driver in [DriverKind::V1, DriverKind::V2] {
        let m = manager(&layout, &rel, driver).expect("manager");
        assert_eq!(m.driver(), driver);
    }
}
