//! Runtime-spec areas beyond the basics: user, cgroup and time namespaces,
//! joining namespaces by path, --no-pivot, sysctls, propagation, LSM errors,
//! exec variants and the small verbs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::json;

fn sh(script: &str) -> serde_json::Value {
    json!(["sh", "-c", script])
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

#[test]
fn user_namespace_maps_ids() {
    let b = TestBundle::new("userns", &["true"]);
    // The mapped root is an unprivileged uid on the host: it must be able to
    // reach the bundle.
    std::fs::set_permissions(b.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["process"]["args"] = sh("id -u; cat /proc/self/uid_map; cat /proc/self/gid_map");
    });
    let out = b.run();
    assert_ok(&out, "run in a user namespace");
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{text}");
    assert_eq!(lines[1], ["0", "100000", "65536"], "{text}");
    assert_eq!(lines[2], ["0", "100000", "65536"], "{text}");
    b.assert_clean();
}

#[test]
fn cgroup_and_time_namespaces_and_sysctl_domainname() {
    let b = TestBundle::new("ns", &["true"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("ns")
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400 * 365, "nanosecs": 0}});
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"});
        c["domainname"] = json!("skiff.example");
        c["process"]["args"] = sh(
            "cat /proc/self/cgroup | grep -c ':/$'; cut -d. -f1 /proc/uptime; \
             cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/shmmax; \
             cat /proc/sys/kernel/domainname",
        );
    });
    let host_shmmax = std::fs::read_to_string("/proc/sys/kernel/shmmax").expect("shmmax");
    let out = b.run();
    assert_ok(&out, "run");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // Every hierarchy line shows the container's cgroup as its root.
    assert!(lines[0].parse::<u32>().unwrap_or(0) >= 1, "{text}");
    let uptime: u64 = lines[1].parse().expect("uptime");
    assert!(
        uptime >= 86400 * 365,
        "boottime offset not applied: {uptime}"
    );
    assert_eq!(lines[2], "1");
    assert_eq!(lines[3], "123456789");
    assert_eq!(lines[4], "skiff.example");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax").expect("shmmax"),
        host_shmmax,
        "the host's sysctl changed"
    );
    b.assert_clean();
}

#[test]
fn namespaces_joined_by_path() {
    // A first container provides the network and uts namespaces...
    let owner = TestBundle::new("owner", &["sleep", "100"]);
    owner.edit(|c| c["hostname"] = json!("shared-uts"));
    let bundle = owner.bundle();
    assert_ok(
        &owner.runtime(&["run", "-d", "--bundle", utf8(&bundle), &owner.id]),
        "run owner",
    );
    let pid = owner.state()["pid"].as_i64().expect("pid");
    let net_inode = std::fs::read_link(format!("/proc/{pid}/ns/net")).expect("ns link");
    // ...and a second one joins them by path.
    let joiner = TestBundle::new("joiner", &["true"]);
    joiner.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("ns");
        for entry in ns.iter_mut() {
            let kind = entry["type"].as_str().unwrap_or("").to_string();
            if kind == "network" || kind == "uts" {
                let file = if kind == "network" { "net" } else { "uts" };
                entry["path"] = json!(format!("/proc/{pid}/ns/{file}"));
            }
        }
        c.as_object_mut().expect("obj").remove("hostname");
        c["process"]["args"] = sh("readlink /proc/self/ns/net; hostname");
    });
    let out = joiner.run();
    assert_ok(&out, "run joiner");
    assert_eq!(
        stdout(&out),
        format!("{}\nshared-uts\n", net_inode.display()),
        "{}",
        stderr(&out)
    );
    joiner.assert_clean();

    // A path that is not a namespace of the named type is refused clearly.
    let wrong = TestBundle::new("wrong", &["true"]);
    wrong.edit(|c| {
        for entry in c["linux"]["namespaces"].as_array_mut().expect("ns") {
            if entry["type"] == "network" {
                entry["path"] = json!(format!("/proc/{pid}/ns/uts"));
            }
        }
    });
    let out = wrong.run();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a net namespace"),
        "{}",
        stderr(&out)
    );
    wrong.assert_clean();
    assert_ok(
        &owner.runtime(&["delete", "--force", &owner.id]),
        "delete owner",
    );
    owner.assert_clean();
}

#[test]
fn no_pivot_and_propagation() {
    let b = TestBundle::new("nopivot", &["true"]);
    let shared = b.dir.path().join("shared");
    std::fs::create_dir_all(&shared).expect("dir");
    b.edit(|c| {
        c["linux"]["rootfsPropagation"] = json!("rshared");
        c["mounts"].as_array_mut().expect("mounts").push(
            json!({"destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "rprivate"]}),
        );
        c["process"]["args"] = sh("grep -c . /proc/self/mountinfo > /dev/null; ls / | grep -c shared; awk '$5 == \"/\"' /proc/self/mountinfo | grep -o 'shared:[0-9]*' | head -1");
    });
    let bundle = b.bundle();
    let out = b.runtime(&["run", "--no-pivot", "--bundle", utf8(&bundle), &b.id]);
    assert_ok(&out, "run --no-pivot");
    let text = stdout(&out);
    assert!(text.starts_with("1\n"), "{text}");
    assert!(
        text.contains("shared:"),
        "rootfsPropagation rshared: {text}"
    );
    b.assert_clean();
}

#[test]
fn lsm_labels_without_the_lsm_are_a_clear_error() {
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .map(|s| s.trim() == "Y")
        .unwrap_or(false);
    let b = TestBundle::new("lsm", &["true"]);
    b.edit(|c| c["process"]["apparmorProfile"] = json!("skiff-test-profile"));
    let out = b.run();
    if apparmor {
        // The profile does not exist, so the exec transition fails.
        assert!(!out.status.success());
    } else {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("AppArmor is not enabled"),
            "{}",
            stderr(&out)
        );
    }
    b.assert_clean();
}

#[test]
fn exec_variants_and_kill_all() {
    let b = TestBundle::new("execv", &["sleep", "100"]);
    let bundle = b.bundle();
    assert_ok(
        &b.runtime(&["run", "-d", "--bundle", utf8(&bundle), &b.id]),
        "run -d",
    );

    // --process with a whole process object.
    let process = b.dir.path().join("process.json");
    std::fs::write(
        &process,
        json!({"args": ["sh", "-c", "echo $MODE; id -u"], "env": ["MODE=process-file", "PATH=/bin"],
               "cwd": "/tmp", "user": {"uid": 1000, "gid": 1000}})
        .to_string(),
    )
    .expect("process.json");
    let out = b.runtime(&["exec", "--process", utf8(&process), &b.id]);
    assert_ok(&out, "exec --process");
    assert_eq!(stdout(&out), "process-file\n1000\n");

    // -d with --pid-file leaves a process running in the container.
    let pid_file = b.dir.path().join("exec.pid");
    let out = b.runtime(&[
        "exec",
        "-d",
        "--pid-file",
        utf8(&pid_file),
        &b.id,
        "sleep",
        "100",
    ]);
    assert_ok(&out, "exec -d");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert!(cmdline.starts_with("sleep"), "{cmdline:?}");

    // A missing program is a clear error.
    let out = b.runtime(&["exec", &b.id, "no-such-program"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // kill --all reaches the exec'd process too.
    assert_ok(&b.runtime(&["kill", "--all", &b.id, "KILL"]), "kill --all");
    for _ in 0..200 {
        if !Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "exec'd process survived kill --all: {stat}"
    );
    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete");
    b.assert_clean();
}

#[test]
fn small_verbs_spec_features_completion_and_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = output_via_files({
        let mut c = std::process::Command::new(skiff_bin());
        c.args(["runtime", "spec", "--bundle", utf8(dir.path())]);
        c
    });
    assert_ok(&out, "spec");
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("config.json")).expect("config"),
    )
    .expect("json");
    assert_eq!(spec["ociVersion"], json!("1.2.0"));
    assert_eq!(spec["process"]["terminal"], json!(true));
    // A second `spec` refuses to overwrite.
    let again = output_via_files({
        let mut c = std::process::Command::new(skiff_bin());
        c.args(["runtime", "spec", "--bundle", utf8(dir.path())]);
        c
    });
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"));

    let b = TestBundle::new("verbs", &["true"]);
    let features = b.runtime(&["features"]);
    assert_ok(&features, "features");
    let f: serde_json::Value = serde_json::from_slice(&features.stdout).expect("features json");
    assert_eq!(f["ociVersionMax"], json!("1.2.0"));
    assert!(f["linux"]["namespaces"]
        .as_array()
        .is_some_and(|a| a.len() == 8));

    let out = b.runtime(&["checkpoint", &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not supported"), "{}", stderr(&out));
    let out = b.runtime(&["update", "--l3-cache-schema", "L3:0=ff", &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Intel RDT"), "{}", stderr(&out));
    let out = b.runtime(&["create", "--no-such-flag", &b.id]);
    assert!(!out.status.success(), "unknown flags are refused");
    let out = b.runtime(&["--rootless", "maybe", "list"]);
    assert!(!out.status.success(), "a bad --rootless value is refused");
    assert!(
        stderr(&out).contains("true, false or auto"),
        "{}",
        stderr(&out)
    );
    // --debug takes effect: text log lines go to the --log file.
    let debug_log = b.dir.path().join("debug.log");
    let out = b.runtime(&["--debug", "--log", utf8(&debug_log), "state", "missing"]);
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&debug_log).expect("debug log");
    assert!(
        text.contains("level=error") && text.contains("does not exist"),
        "{text}"
    );

    // runc-style JSON log lines for errors, as podman and containerd read them.
    let log = b.dir.path().join("runtime.log");
    let out = b.runtime(&[
        "--log",
        utf8(&log),
        "--log-format",
        "json",
        "state",
        "missing",
    ]);
    assert!(!out.status.success());
    let line = std::fs::read_to_string(&log).expect("log");
    let entry: serde_json::Value =
        serde_json::from_str(line.lines().next().expect("a line")).expect("json line");
    assert_eq!(entry["level"], json!("error"));
    assert!(entry["msg"]
        .as_str()
        .unwrap_or("")
        .contains("does not exist"));

    for shell in ["bash", "zsh", "fish"] {
        let out = output_via_files({
            let mut c = std::process::Command::new(skiff_bin());
            c.args(["completion", shell]);
            c
        });
        assert_ok(&out, shell);
        assert!(
            stdout(&out).contains("runtime"),
            "{shell} completion mentions subcommands"
        );
    }
}

#[test]
fn rootless_runs_in_a_user_namespace_of_the_caller() {
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65534;
    let b = TestBundle::new("rootless", &["true"]);
    // Everything the unprivileged caller touches must be its own.
    for entry in [b.dir.path().to_path_buf(), b.bundle()] {
        std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    std::fs::set_permissions(b.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::remove_file(b.bundle().join("config.json")).expect("rm config");
    let as_nobody = |args: &[&str]| {
        let mut cmd = std::process::Command::new(skiff_bin());
        cmd.args(args).current_dir(b.bundle());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(NOBODY) != 0
                    || libc::setuid(NOBODY) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        output_via_files(cmd)
    };
    assert_ok(
        &as_nobody(&["runtime", "spec", "--rootless"]),
        "spec --rootless",
    );
    let mut config = b.config();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = sh("id -u; cat /proc/self/uid_map");
    b.set_config(&config);
    std::os::unix::fs::chown(b.bundle().join("config.json"), Some(NOBODY), Some(NOBODY))
        .expect("chown");
    let root = b.root.clone();
    let out = as_nobody(&["runtime", "--root", utf8(&root), "run", &b.id]);
    assert_ok(&out, "rootless run");
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{text}");
    assert_eq!(lines[1], ["0", "65534", "1"], "{text}");
    b.assert_clean();
}
