//! Driver tests against a fake cgroupfs: plain files in a tempdir. The kernel
//! does not populate new directories here, so each test lays out the files a
//! real kernel would create, then checks exactly what the driver wrote.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxHugepageLimitBuilder,
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use super::*;

const GIB: i64 = 1 << 30;

fn put(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

const V1_CONTROLLERS: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices",
];

/// v1 hierarchies under `root/<controller>`, with the leaf `ctr` pre-populated.
fn fake_v1(root: &Path, unified: Option<PathBuf>) -> Layout {
    for c in V1_CONTROLLERS {
        put(&root.join(c), &[("cgroup.procs", "")]);
        put(&root.join(c).join("ctr"), &[("cgroup.procs", "")]);
    }
    put(
        &root.join("cpuset"),
        &[("cpuset.cpus", "0-1\n"), ("cpuset.mems", "0\n")],
    );
    put(
        &root.join("cpuset/ctr"),
        &[("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
    );
    put(
        &root.join("cpu/ctr"),
        &[
            ("cpu.shares", "1024\n"),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.cfs_quota_us", "-1\n"),
        ],
    );
    put(
        &root.join("memory/ctr"),
        &[
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
            ("memory.soft_limit_in_bytes", "9223372036854771712\n"),
            ("memory.swappiness", "60\n"),
            ("memory.usage_in_bytes", "4096\n"),
        ],
    );
    put(
        &root.join("pids/ctr"),
        &[("pids.max", "max\n"), ("pids.current", "0\n")],
    );
    put(&root.join("freezer/ctr"), &[("freezer.state", "THAWED\n")]);
    put(
        &root.join("devices/ctr"),
        &[("devices.allow", ""), ("devices.deny", "")],
    );
    Layout::new(
        V1_CONTROLLERS.iter().map(|c| (c.to_string(), root.join(c))),
        unified,
    )
}

#[test]
fn v1_writes_exact_values() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let layout = fake_v1(root, None);
    assert_eq!(layout.hierarchy(), Hierarchy::Legacy);
    let m = manager(&layout, Path::new("/ctr"), DriverKind::V1).unwrap();
    assert_eq!(m.driver(), DriverKind::V1);
    m.create().unwrap();
    // A new cpuset cgroup inherits its parent's CPUs and memory nodes.
    assert_eq!(read(root.join("cpuset/ctr/cpuset.cpus")), "0-1");
    assert_eq!(read(root.join("cpuset/ctr/cpuset.mems")), "0");

    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(GIB)
                .swap(2 * GIB)
                .reservation(GIB / 2)
                .swappiness(0_u64)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512_u64)
                .quota(50_000_i64)
                .period(100_000_u64)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(64_i64).build().unwrap())
        .devices(vec![
            LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .access("rwm")
                .build()
                .unwrap(),
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::C)
                .major(1_i64)
                .minor(3_i64)
                .access("rwm")
                .build()
                .unwrap(),
        ])
        .build()
        .unwrap();
    m.apply(&r).unwrap();
    assert_eq!(
        read(root.join("memory/ctr/memory.limit_in_bytes")),
        "1073741824"
    );
    assert_eq!(
        read(root.join("memory/ctr/memory.memsw.limit_in_bytes")),
        "2147483648"
    );
    assert_eq!(
        read(root.join("memory/ctr/memory.soft_limit_in_bytes")),
        "536870912"
    );
    assert_eq!(read(root.join("memory/ctr/memory.swappiness")), "0");
    assert_eq!(read(root.join("cpu/ctr/cpu.shares")), "512");
    assert_eq!(read(root.join("cpu/ctr/cpu.cfs_quota_us")), "50000");
    assert_eq!(read(root.join("cpu/ctr/cpu.cfs_period_us")), "100000");
    assert_eq!(read(root.join("pids/ctr/pids.max")), "64");
    assert_eq!(read(root.join("devices/ctr/devices.deny")), "a *:* rwm");
    assert_eq!(read(root.join("devices/ctr/devices.allow")), "c 1:3 rwm");

    // An update touches only what it names.
    m.apply(&resources(r#"{"pids":{"limit":-1}}"#)).unwrap();
    assert_eq!(read(root.join("pids/ctr/pids.max")), "max");
    assert_eq!(read(root.join("cpu/ctr/cpu.shares")), "512");

    m.add_process(4242).unwrap();
    for c in V1_CONTROLLERS {
        assert_eq!(read(root.join(c).join("ctr/cgroup.procs")), "4242", "{c}");
    }
    assert_eq!(m.pids().unwrap(), vec![4242]);

    // Plain files echo what was written, which is all freeze() waits for.
    m.freeze().unwrap();
    assert_eq!(read(root.join("freezer/ctr/freezer.state")), "FROZEN");
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert!(!m.is_frozen().unwrap());

    let stats = m.stats().unwrap();
    assert_eq!(stats.memory.usage.usage, 4096);
    assert_eq!(stats.pids.limit, 0, "\"max\" reads as 0 = unlimited");
}

#[test]
fn v1_bad_values_leave_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = fake_v1(tmp.path(), None);
    let m = manager(&layout, Path::new("/ctr"), DriverKind::V1).unwrap();
    m.create().unwrap();
    let err = m
        .apply(&resources(
            r#"{"memory":{"limit":1048576},"cpu":{"quota":-5},"pids":{"limit":5}}"#,
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.cpu.quota: value -5 is invalid"),
        "{err}"
    );
    let memory = tmp.path().join("memory/ctr/memory.limit_in_bytes");
    assert_eq!(read(memory), "9223372036854771712\n");
    assert_eq!(read(tmp.path().join("pids/ctr/pids.max")), "max\n");

    // Nothing unified-only may be set through the v1 driver.
    let err = m
        .apply(&resources(r#"{"unified":{"memory.high":"1"}}"#))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("linux.resources.unified: "),
        "{err}"
    );

    // net_cls is not mounted in this fake.
    let err = m
        .apply(&resources(r#"{"network":{"classID":1}}"#))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("controller net_cls is not mounted as a cgroup v1 hierarchy"),
        "{err}"
    );
}

#[test]
fn v1_on_hybrid_sends_hugetlb_to_the_unified_hierarchy() {
    let tmp = tempfile::tempdir().unwrap();
    let unified = tmp.path().join("unified");
    put(
        &unified,
        &[
            ("cgroup.controllers", "hugetlb\n"),
            ("cgroup.subtree_control", ""),
        ],
    );
    put(
        &unified.join("ctr"),
        &[
            ("cgroup.controllers", "hugetlb\n"),
            ("cgroup.procs", ""),
            ("hugetlb.2MB.max", "max\n"),
            ("hugetlb.2MB.rsvd.max", "max\n"),
        ],
    );
    let layout = fake_v1(tmp.path(), Some(unified.clone()));
    assert_eq!(layout.hierarchy(), Hierarchy::Hybrid);
    assert_eq!(layout.default_driver(), DriverKind::V1);
    let m = manager(&layout, Path::new("/ctr"), DriverKind::V1).unwrap();
    m.create().unwrap();
    assert_eq!(read(unified.join("cgroup.subtree_control")), "+hugetlb");
    let r = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4_194_304_i64)
            .build()
            .unwrap()])
        .build()
        .unwrap();
    m.apply(&r).unwrap();
    assert_eq!(read(unified.join("ctr/hugetlb.2MB.max")), "4194304");
    assert_eq!(read(unified.join("ctr/hugetlb.2MB.rsvd.max")), "4194304");
    m.add_process(77).unwrap();
    assert_eq!(read(unified.join("ctr/cgroup.procs")), "77");
}

fn fake_v2(root: &Path) -> Layout {
    put(
        root,
        &[
            ("cgroup.controllers", "cpu hugetlb io memory pids\n"),
            ("cgroup.subtree_control", ""),
        ],
    );
    put(
        &root.join("ctr"),
        &[
            ("cgroup.controllers", "cpu io memory pids\n"),
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
            ("cgroup.freeze", "0\n"),
            ("cgroup.kill", ""),
            ("cgroup.events", "populated 0\nfrozen 0\n"),
            ("cpu.max", "max 100000\n"),
            ("cpu.weight", "100\n"),
            ("memory.max", "max\n"),
            ("memory.swap.max", "max\n"),
            ("memory.low", "0\n"),
            ("memory.high", "max\n"),
            ("memory.current", "8192\n"),
            ("pids.max", "max\n"),
            ("io.weight", "default 100\n"),
        ],
    );
    Layout::new(Vec::<(String, PathBuf)>::new(), Some(root.to_path_buf()))
}

#[test]
fn v2_writes_exact_values() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let layout = fake_v2(root);
    assert_eq!(layout.hierarchy(), Hierarchy::Unified);
    assert_eq!(layout.default_driver(), DriverKind::V2);
    let m = manager(&layout, Path::new("/ctr"), DriverKind::V2).unwrap();
    m.create().unwrap();
    // Each available controller is delegated with its own write; the plain
    // file keeps the last one.
    assert_eq!(read(root.join("cgroup.subtree_control")), "+pids");

    m.apply(&resources(
        r#"{
            "memory": {"limit": 1073741824, "swap": 1610612736, "reservation": 1048576},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
            "pids": {"limit": 100},
            "blockIO": {"weight": 500},
            "unified": {"memory.high": "2000000"}
        }"#,
    ))
    .unwrap();
    let ctr = root.join("ctr");
    assert_eq!(read(ctr.join("memory.max")), "1073741824");
    assert_eq!(read(ctr.join("memory.swap.max")), "536870912");
    assert_eq!(read(ctr.join("memory.low")), "1048576");
    assert_eq!(read(ctr.join("cpu.max")), "50000 100000");
    assert_eq!(read(ctr.join("cpu.weight")), "39");
    assert_eq!(read(ctr.join("pids.max")), "100");
    assert_eq!(read(ctr.join("io.weight")), "default 4950");
    assert_eq!(read(ctr.join("memory.high")), "2000000");

    // Unlimited spellings.
    m.apply(&resources(
        r#"{"memory":{"limit":-1},"cpu":{"quota":-1},"pids":{"limit":-1}}"#,
    ))
    .unwrap();
    assert_eq!(read(ctr.join("memory.max")), "max");
    assert_eq!(read(ctr.join("memory.swap.max")), "max");
    assert_eq!(read(ctr.join("cpu.max")), "max");
    assert_eq!(read(ctr.join("pids.max")), "max");

    m.add_process(4243).unwrap();
    assert_eq!(read(ctr.join("cgroup.procs")), "4243");
    assert_eq!(m.pids().unwrap(), vec![4243]);

    // The fake kernel reports "frozen" already, so freeze() returns at once.
    fs::write(ctr.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    m.freeze().unwrap();
    assert_eq!(read(ctr.join("cgroup.freeze")), "1");
    assert!(m.is_frozen().unwrap());

    m.kill_all(libc::SIGKILL).unwrap();
    assert_eq!(read(ctr.join("cgroup.kill")), "1");

    let stats = m.stats().unwrap();
    assert_eq!(stats.memory.usage.usage, 8192);
}

#[test]
fn v2_errors_name_the_field_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = fake_v2(tmp.path());
    let m = manager(&layout, Path::new("/ctr"), DriverKind::V2).unwrap();
    let ctr = tmp.path().join("ctr");

    // hugetlb exists at the root but is not delegated to the container.
    let err = m
        .apply(&resources(
            r#"{"memory":{"limit":1000000},"hugepageLimits":[{"pageSize":"2MB","limit":0}]}"#,
        ))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "linux.resources.hugepageLimits: controller hugetlb is not available in cgroup v2 at {} (enabled: cpu io memory pids)",
            tmp.path().display()
        )),
        "{msg}"
    );
    assert!(msg.contains("not delegated"), "{msg}");
    assert_eq!(
        read(ctr.join("memory.max")),
        "max\n",
        "validated before writing"
    );

    let err = m
        .apply(&resources(r#"{"network":{"classID":1}}"#))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.network.classID: cgroup v2 has no"),
        "{err}"
    );
    let err = m
        .apply(&resources(r#"{"cpu":{"realtimeRuntime":950000}}"#))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.cpu.realtimeRuntime"),
        "{err}"
    );
    let err = m
        .apply(&resources(r#"{"unified":{"rdma.max":"x"}}"#))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.unified[\"rdma.max\"]: controller rdma is not available"),
        "{err}"
    );
}

#[test]
fn manager_checks_driver_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    let v2 = fake_v2(tmp.path());
    let err = manager(&v2, Path::new("/x"), DriverKind::V1)
        .err()
        .expect("v1 on a v2 host");
    assert!(
        err.to_string()
            .starts_with("the v1 cgroup driver cannot be used"),
        "{err}"
    );

    let v1 = Layout::new([("memory", tmp.path().join("memory"))], None);
    let err = manager(&v1, Path::new("/x"), DriverKind::V2)
        .err()
        .expect("v2 without cgroup2");
    assert!(err.to_string().contains("cgroup2 is not mounted"), "{err}");

    for bad in ["x", "/", "/a/../b"] {
        let err = manager(&v2, Path::new(bad), DriverKind::V2)
            .err()
            .expect("bad path");
        assert!(
            err.to_string().starts_with("linux.cgroupsPath: "),
            "{bad}: {err}"
        );
    }
}

#[test]
fn operations_on_missing_cgroups() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = fake_v2(tmp.path());
    let m = manager(&layout, Path::new("/never/made"), DriverKind::V2).unwrap();
    assert!(!m.exists());
    m.destroy().unwrap();
    m.kill_all(libc::SIGTERM).unwrap();
    let err = m.apply(&resources(r#"{"pids":{"limit":1}}"#)).unwrap_err();
    assert!(
        err.to_string().contains("create() must run before apply"),
        "{err}"
    );
    assert!(m.pids().is_err());
}

#[test]
fn driver_kind_serde_is_lowercase() {
    assert_eq!(serde_json::to_string(&DriverKind::V1).unwrap(), "\"v1\"");
    assert_eq!(
        serde_json::from_str::<DriverKind>("\"v2\"").unwrap(),
        DriverKind::V2
    );
    assert_eq!(DriverKind::V2.to_string(), "v2");
}
