//! cgroup limits enforced on real containers, through the v1 driver (this
//! host's default) and the v2 driver (the unified hierarchy).

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::json;

fn sh(script: &str) -> serde_json::Value {
    json!(["sh", "-c", script])
}

#[test]
fn memory_limit_makes_the_kernel_oom_kill() {
    let b = TestBundle::new("oom", &["true"]);
    b.edit(|c| {
        c["linux"]["resources"]["memory"] =
            json!({"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024});
        // tail keeps the last 60 MiB in memory: far over the limit.
        c["process"]["args"] =
            sh("head -c 64m /dev/zero | tail -c 60m > /dev/null; echo status=$?");
    });
    let out = b.run();
    assert_ok(&out, "run");
    assert!(
        stdout(&out).contains("status=137"),
        "tail was not OOM-killed: {}",
        stdout(&out)
    );
    b.assert_clean();
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let b = TestBundle::new("pids", &["true"]);
    b.edit(|c| {
        c["linux"]["resources"]["pids"] = json!({"limit": 10});
        c["process"]["args"] = sh("bomb() { bomb | bomb & }; bomb 2>/dev/null; sleep 1; \
             echo procs=$(ls -d /proc/[0-9]* | wc -l); \
             echo max=$(cat /sys/fs/cgroup/pids/pids.max); kill -9 -1");
    });
    let out = b.run();
    let text = stdout(&out);
    let procs: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {text:?} {}", stderr(&out)));
    // `ls` and the subshell running it count too; the limit holds them all.
    assert!(procs <= 10, "{procs} processes despite pids.max=10: {text}");
    assert!(text.contains("max=10"), "{text}");
    b.assert_clean();
}

#[test]
fn cpu_quota_and_shares_appear_in_cgroup_files() {
    let b = TestBundle::new("cpu", &["sleep", "100"]);
    b.edit(|c| {
        c["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000, "shares": 512});
    });
    let bundle = b.bundle();
    assert_ok(
        &b.runtime(&[
            "run",
            "-d",
            "--bundle",
            bundle.to_str().expect("utf8"),
            &b.id,
        ]),
        "run -d",
    );
    let cpu = PathBuf::from("/sys/fs/cgroup/cpu").join(&b.id);
    let read =
        |f: &str| std::fs::read_to_string(cpu.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert_eq!(read("cpu.cfs_quota_us").trim(), "50000");
    assert_eq!(read("cpu.cfs_period_us").trim(), "100000");
    assert_eq!(read("cpu.shares").trim(), "512");
    let pid = b.state()["pid"].as_i64().expect("pid").to_string();
    assert!(
        read("tasks").lines().any(|l| l == pid),
        "init not in the cpu cgroup"
    );
    // The container sees its own cgroup at /sys/fs/cgroup.
    let inside = b.runtime(&["exec", &b.id, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]);
    assert_eq!(stdout(&inside).trim(), "50000", "{}", stderr(&inside));
    // update changes it live.
    assert_ok(
        &b.runtime(&["update", "--cpu-quota", "25000", "--memory", "32m", &b.id]),
        "update",
    );
    assert_eq!(read("cpu.cfs_quota_us").trim(), "25000");
    let mem = std::fs::read_to_string(
        PathBuf::from("/sys/fs/cgroup/memory")
            .join(&b.id)
            .join("memory.limit_in_bytes"),
    )
    .expect("memory limit");
    assert_eq!(mem.trim(), (32u64 << 20).to_string());
    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete");
    b.assert_clean();
}

fn unified_root() -> PathBuf {
    let mounts = cgroup_mounts();
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    info.lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split(' ').nth(4).map(PathBuf::from))
        .unwrap_or_else(|| panic!("no cgroup2 mount among {mounts:?}"))
}

#[test]
fn v2_driver_on_the_unified_hierarchy() {
    let unified = unified_root();
    let b = TestBundle::new("v2", &["sleep", "100"]);
    let bundle = b.bundle();
    let mut cmd = b.runtime_cmd(&[
        "run",
        "-d",
        "--bundle",
        bundle.to_str().expect("utf8"),
        &b.id,
    ]);
    cmd.env("SKIFF_CGROUP_DRIVER", "v2");
    assert_ok(&output_via_files(cmd), "run -d with the v2 driver");
    let dir = unified.join(&b.id);
    let pid = b.state()["pid"].as_i64().expect("pid").to_string();
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).expect("cgroup.procs");
    assert!(procs.lines().any(|l| l == pid), "{procs}");
    // pause/resume go through cgroup.freeze.
    let pause = |verb: &str| {
        let mut cmd = b.runtime_cmd(&[verb, &b.id]);
        cmd.env("SKIFF_CGROUP_DRIVER", "v2");
        assert_ok(&output_via_files(cmd), verb);
    };
    pause("pause");
    let events = std::fs::read_to_string(dir.join("cgroup.events")).expect("events");
    assert!(events.contains("frozen 1"), "{events}");
    assert_eq!(b.status(), "paused");
    pause("resume");
    let events = std::fs::read_to_string(dir.join("cgroup.events")).expect("events");
    assert!(events.contains("frozen 0"), "{events}");
    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete");
    b.assert_clean();

    // A memory limit: enforced where the controller is in v2, a clear error
    // (and nothing left behind) where the host keeps it in v1.
    let available = std::fs::read_to_string(unified.join("cgroup.controllers")).unwrap_or_default();
    let b = TestBundle::new("v2", &["cat", "/sys/fs/cgroup/memory.max"]);
    b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": 33554432}));
    let bundle = b.bundle();
    let mut cmd = b.runtime_cmd(&["run", "--bundle", bundle.to_str().expect("utf8"), &b.id]);
    cmd.env("SKIFF_CGROUP_DRIVER", "v2");
    let out = output_via_files(cmd);
    if available.split_whitespace().any(|c| c == "memory") {
        assert_ok(&out, "run with a v2 memory limit");
        assert_eq!(stdout(&out).trim(), "33554432");
    } else {
        assert!(
            !out.status.success(),
            "memory limit without a v2 memory controller"
        );
        let err = stderr(&out);
        assert!(
            err.contains("memory") && err.contains("not available"),
            "{err}"
        );
    }
    b.assert_clean();
}

#[test]
fn systemd_style_cgroups_path_maps_to_a_scope_and_is_removed() {
    let b = TestBundle::new("sd", &["sleep", "100"]);
    // No dash in the slice name: systemd nests "a-b.slice" inside "a.slice".
    let scope_parent = format!("skifftest{}.slice", std::process::id());
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{scope_parent}:skiff:{}", b.id)));
    let bundle = b.bundle();
    assert_ok(
        &b.runtime(&[
            "--systemd-cgroup",
            "run",
            "-d",
            "--bundle",
            bundle.to_str().expect("utf8"),
            &b.id,
        ]),
        "run -d --systemd-cgroup",
    );
    let scope = PathBuf::from("/sys/fs/cgroup/pids")
        .join(&scope_parent)
        .join(format!("skiff-{}.scope", b.id));
    let pid = b.state()["pid"].as_i64().expect("pid").to_string();
    let procs = std::fs::read_to_string(scope.join("cgroup.procs")).expect("scope cgroup.procs");
    assert!(procs.lines().any(|l| l == pid), "{procs}");
    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete");
    assert!(!scope.exists(), "scope cgroup left behind");
    // The slice is a shared parent, as with systemd: the runtime keeps it and
    // removes only the container's scope. It is empty now; the test made it.
    for hierarchy in cgroup_mounts() {
        let parent = hierarchy.join(&scope_parent);
        if parent.exists() {
            std::fs::remove_dir(&parent)
                .unwrap_or_else(|e| panic!("slice {} not empty: {e}", parent.display()));
        }
    }
    b.assert_clean();
}
