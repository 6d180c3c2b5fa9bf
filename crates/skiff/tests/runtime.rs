//! End-to-end tests of `skiff runtime` on real namespaces, mounts and cgroups.
//! They run as root (as CI does) and build a busybox bundle per test.

mod common;

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use common::*;
use serde_json::json;

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

#[test]
fn run_isolates_namespaces_and_propagates_exit_code() {
    let b = TestBundle::new("iso", &["true"]);
    b.edit(|c| {
        c["hostname"] = json!("skiff-test-host");
        c["process"]["args"] = json!(sh(
            "echo pid=$$; hostname; ls /sys/class/net | tr '\\n' ' '; echo; cat /marker; exit 7"
        ));
    });
    std::fs::write(b.rootfs().join("marker"), "inside-rootfs\n").expect("marker");
    let out = b.run();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(7), "exit code: {}", stderr(&out));
    assert!(text.contains("pid=1\n"), "{text}");
    assert!(text.contains("skiff-test-host\n"), "{text}");
    assert!(text.contains("\nlo \n"), "only lo expected: {text}");
    assert!(text.contains("inside-rootfs"), "{text}");
    b.assert_clean();
}

#[test]
fn lifecycle_create_start_state_kill_delete() {
    let b = TestBundle::new("life", &["sleep", "100"]);
    assert_ok(&b.create(), "create");
    assert_eq!(b.status(), "created");
    let pid = b.state()["pid"].as_i64().expect("pid");
    assert!(pid > 0);
    // The user's program has not run yet: the init still waits.
    let del = b.runtime(&["delete", &b.id]);
    assert!(
        !del.status.success(),
        "the spec forbids deleting a created container"
    );
    assert!(stderr(&del).contains("created"), "{}", stderr(&del));
    assert_eq!(b.status(), "created", "a refused delete has no effect");
    assert_ok(
        &b.runtime(&["delete", "--force", &b.id]),
        "delete --force of a created container",
    );
    b.assert_clean();

    assert_ok(&b.create(), "create again");
    assert_ok(&b.runtime(&["start", &b.id]), "start");
    assert_eq!(b.status(), "running");
    let again = b.runtime(&["start", &b.id]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("running"), "{}", stderr(&again));
    let del = b.runtime(&["delete", &b.id]);
    assert!(
        !del.status.success(),
        "delete of a running container must fail"
    );
    assert!(stderr(&del).contains("--force"), "{}", stderr(&del));

    let list = b.runtime(&["list"]);
    assert_ok(&list, "list");
    let table = stdout(&list);
    assert!(table.starts_with("ID"), "{table}");
    for col in ["PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
        assert!(table.lines().next().unwrap_or("").contains(col), "{table}");
    }
    assert!(
        table.contains(&b.id) && table.contains("running"),
        "{table}"
    );
    let json_list = b.runtime(&["list", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json_list.stdout).expect("json list");
    assert_eq!(parsed[0]["id"], json!(b.id));

    assert_ok(&b.runtime(&["kill", &b.id, "KILL"]), "kill");
    for _ in 0..200 {
        if b.status() == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(b.status(), "stopped");
    let kill_stopped = b.runtime(&["kill", &b.id, "TERM"]);
    assert!(!kill_stopped.status.success());
    assert!(stderr(&kill_stopped).contains("stopped"));
    assert_ok(&b.runtime(&["delete", &b.id]), "delete stopped");
    b.assert_clean();
    let unknown = b.runtime(&["state", &b.id]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("does not exist"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn exec_ps_pause_resume_events() {
    let b = TestBundle::new("exec", &["sleep", "100"]);
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
    let out = b.runtime(&[
        "exec",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        &b.id,
        "sh",
        "-c",
        "echo $FOO; pwd; echo $$",
    ]);
    assert_ok(&out, "exec");
    let text = stdout(&out);
    assert!(text.starts_with("bar\n/tmp\n"), "{text}");
    let exec_pid: i32 = text
        .lines()
        .nth(2)
        .and_then(|l| l.parse().ok())
        .expect("pid");
    assert!(
        exec_pid > 1,
        "exec runs in the container's pid namespace: {text}"
    );
    let code = b.runtime(&["exec", &b.id, "sh", "-c", "exit 3"]);
    assert_eq!(code.status.code(), Some(3));
    let user = b.runtime(&["exec", "--user", "65534:65534", &b.id, "id"]);
    assert!(stdout(&user).contains("uid=65534"), "{}", stdout(&user));

    let ps = b.runtime(&["ps", "--format", "json", &b.id]);
    assert_ok(&ps, "ps");
    let pids: Vec<i32> = serde_json::from_slice(&ps.stdout).expect("pids");
    let init = b.state()["pid"].as_i64().expect("pid") as i32;
    assert!(pids.contains(&init), "{pids:?}");
    let table = b.runtime(&["ps", &b.id]);
    assert!(stdout(&table).contains("sleep 100"), "{}", stdout(&table));

    assert_ok(&b.runtime(&["pause", &b.id]), "pause");
    assert_eq!(b.status(), "paused");
    let state = std::fs::read_to_string(format!("/proc/{init}/stat")).expect("stat");
    assert!(state.contains(") S ") || state.contains(") D "), "{state}");
    assert!(
        !b.runtime(&["pause", &b.id]).status.success(),
        "pause twice"
    );
    assert_ok(&b.runtime(&["resume", &b.id]), "resume");
    assert_eq!(b.status(), "running");
    assert!(
        !b.runtime(&["resume", &b.id]).status.success(),
        "resume a running one"
    );

    let ev = b.runtime(&["events", "--stats", &b.id]);
    assert_ok(&ev, "events");
    let v: serde_json::Value = serde_json::from_slice(&ev.stdout).expect("events json");
    assert_eq!(v["type"], json!("stats"));
    assert!(
        v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{v}"
    );
    assert!(
        v["data"]["memory"].is_object() && v["data"]["cpu"].is_object(),
        "{v}"
    );

    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete --force");
    b.assert_clean();
}

#[test]
fn bad_inputs_fail_clearly_and_leave_nothing() {
    // An invalid value: the error names the JSON path.
    let b = TestBundle::new("bad", &["true"]);
    b.edit(|c| c["process"]["user"]["uid"] = json!("root"));
    let out = b.run();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("process.user.uid"),
        "{}",
        stderr(&out)
    );
    b.assert_clean();

    // A missing rootfs.
    let b = TestBundle::new("bad", &["true"]);
    std::fs::remove_dir_all(b.rootfs()).expect("rm rootfs");
    let out = b.run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("root.path"), "{}", stderr(&out));
    b.assert_clean();

    // A mount destination that climbs out of the rootfs.
    let b = TestBundle::new("bad", &["true"]);
    b.edit(|c| {
        c["mounts"].as_array_mut().expect("mounts").push(
            json!({"destination": "/../../../tmp/escape", "type": "tmpfs", "source": "tmpfs"}),
        )
    });
    let out = b.run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("destination"), "{}", stderr(&out));
    b.assert_clean();

    // An invalid cgroup value.
    let b = TestBundle::new("bad", &["true"]);
    b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": -5}));
    let out = b.run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("memory"), "{}", stderr(&out));
    b.assert_clean();

    // A program that does not exist: create fails, nothing stays.
    let b = TestBundle::new("bad", &["/no/such/program"]);
    let out = b.create();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("process.args"), "{}", stderr(&out));
    b.assert_clean();

    // An unknown container id.
    let b = TestBundle::new("bad", &["true"]);
    for verb in ["start", "state", "kill", "delete", "pause", "resume", "ps"] {
        let out = b.runtime(&[verb, "no-such-container"]);
        assert!(!out.status.success(), "{verb} of an unknown id");
        assert!(
            stderr(&out).contains("does not exist"),
            "{verb}: {}",
            stderr(&out)
        );
    }
    assert!(!b.root.join("no-such-container").exists());
}

#[test]
fn symlinked_mount_destination_stays_inside_rootfs() {
    let b = TestBundle::new("symlink", &["true"]);
    let outside = b.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    // An absolute symlink in the image pointing at a host directory. Inside the
    // rootfs the same absolute path exists too, and that is where it must lead.
    std::os::unix::fs::symlink(&outside, b.rootfs().join("evil")).expect("symlink");
    let inside = b
        .rootfs()
        .join(outside.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("inside");
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(json!({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}));
        c["process"]["args"] = json!(sh("touch /evil/x/file && echo ok"));
    });
    let out = b.run();
    assert_ok(&out, "run");
    assert!(
        !outside.join("x").exists(),
        "the mount escaped to the host path"
    );
    assert!(
        inside.join("x").is_dir(),
        "the destination was created inside the rootfs"
    );
    b.assert_clean();

    // A symlink whose target does not exist inside the rootfs is an error, not
    // a path on the host.
    let b = TestBundle::new("symlink", &["true"]);
    std::os::unix::fs::symlink(&outside, b.rootfs().join("evil")).expect("symlink");
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(json!({"destination": "/evil/y", "type": "tmpfs", "source": "tmpfs"}));
    });
    let out = b.run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("/evil/y"), "{}", stderr(&out));
    assert!(!outside.join("y").exists());
    b.assert_clean();
}

#[test]
fn mounts_devices_and_readonly_paths() {
    let b = TestBundle::new("mounts", &["true"]);
    let shared = b.dir.path().join("shared");
    std::fs::create_dir_all(&shared).expect("shared");
    std::fs::write(shared.join("hello"), "from-host\n").expect("hello");
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        mounts.push(json!({"destination": "/data", "type": "bind", "source": shared, "options": ["rbind", "ro"]}));
        mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]}));
        c["root"]["readonly"] = json!(true);
        c["linux"]["devices"] = json!([{"path": "/dev/skiffnull", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]);
        c["process"]["args"] = json!(sh(concat!(
            "cat /data/hello; ",
            "touch /data/x 2>/dev/null && echo data-writable || echo data-ro; ",
            "touch /rootfile 2>/dev/null && echo root-writable || echo root-ro; ",
            "grep ' /scratch ' /proc/mounts | grep -q noexec && echo scratch-noexec; ",
            "stat -c %a /scratch; ",
            "echo x > /dev/skiffnull && echo dev-ok; ",
            "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | wc -l; ",
            "readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx; ",
            "cat /proc/kcore 2>&1 | head -c 0; test -s /proc/kcore && echo kcore-visible || echo kcore-masked; ",
            "echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo sys-writable || echo sys-ro"
        )));
    });
    let out = b.run();
    assert_ok(&out, "run");
    let text = stdout(&out);
    for want in [
        "from-host",
        "data-ro",
        "root-ro",
        "scratch-noexec",
        "700",
        "dev-ok",
        "6\n",
        "/proc/self/fd\n/proc/self/fd/0\npts/ptmx",
        "kcore-masked",
        "sys-ro",
    ] {
        assert!(
            text.contains(want),
            "missing {want:?} in:\n{text}\n{}",
            stderr(&out)
        );
    }
    assert!(!shared.join("x").exists());
    b.assert_clean();
}

#[test]
fn process_settings_rlimits_caps_env_user_oom() {
    let b = TestBundle::new("proc", &["true"]);
    b.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
        c["process"]["env"] = json!(["PATH=/bin", "GREETING=hi"]);
        c["process"]["user"] = json!({"uid": 65534, "gid": 65534, "additionalGids": [5, 6], "umask": 63});
        c["process"]["oomScoreAdj"] = json!(500);
        c["process"]["noNewPrivileges"] = json!(true);
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
            "effective": ["CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"]
        });
        c["process"]["args"] = json!(sh(concat!(
            "ulimit -n; ulimit -Hn; echo $GREETING; id -u; id -G; umask; cat /proc/self/oom_score_adj; ",
            "grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status"
        )));
    });
    let out = b.run();
    assert_ok(&out, "run");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..4], &["123", "456", "hi", "65534"], "{text}");
    assert!(lines[4].contains('5') && lines[4].contains('6'), "{text}");
    assert_eq!(lines[5], "0077");
    assert_eq!(lines[6], "500");
    // CAP_NET_BIND_SERVICE is bit 10, CAP_CHOWN bit 0.
    assert!(text.contains("CapEff:\t0000000000000400"), "{text}");
    assert!(text.contains("CapBnd:\t0000000000000401"), "{text}");
    assert!(text.contains("CapAmb:\t0000000000000400"), "{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    b.assert_clean();
}

#[test]
fn seccomp_filter_is_enforced() {
    let b = TestBundle::new("seccomp", &["true"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["sethostname"], "action": "SCMP_ACT_KILL_PROCESS"}
            ]
        });
        c["process"]["args"] = json!(sh(
            "mkdir /tmp/d 2>&1; echo mkdir=$?; hostname x; echo hostname=$?; hostname"
        ));
    });
    let out = b.run();
    assert_ok(&out, "run");
    let text = stdout(&out);
    assert!(text.contains("Operation not permitted"), "{text}");
    assert!(text.contains("mkdir=1"), "{text}");
    // The hostname applet (a child of the shell) dies of SIGSYS: 128 + 31,
    // and the hostname is unchanged.
    assert!(
        text.contains("hostname=159\nskiff\n"),
        "{text} {}",
        stderr(&out)
    );
    b.assert_clean();
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    let b = TestBundle::new("hooks", &["true"]);
    let log = b.dir.path().join("hooks.log");
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} $(cat | grep -o '\"status\":\"[a-z]*\"') >> {}", log.display())]});
    b.edit(|c| {
        c["hooks"] = json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")],
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /hooklog"]}],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")]
        });
        c["process"]["args"] = json!(sh("cat /hooklog"));
    });
    let out = b.run();
    assert_ok(&out, "run");
    assert_eq!(stdout(&out), "startContainer\n");
    let text = std::fs::read_to_string(&log).expect("hook log");
    let order: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    assert!(text.contains("prestart \"status\":\"creating\""), "{text}");
    assert!(text.contains("poststop \"status\":\"stopped\""), "{text}");

    // A failing createRuntime hook fails create and leaves nothing.
    let b = TestBundle::new("hooks", &["true"]);
    b.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]}));
    let out = b.create();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("createRuntime"), "{}", stderr(&out));
    b.assert_clean();
}

#[test]
fn terminal_is_sent_over_console_socket() {
    let b = TestBundle::new("tty", &["true"]);
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["args"] = json!(sh("tty; echo tty-ok"));
    });
    let sock_path = b.dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock_path).expect("bind");
    let bundle = b.bundle();
    let mut child = b
        .runtime_cmd(&[
            "run",
            "--console-socket",
            sock_path.to_str().expect("utf8"),
            "--bundle",
            bundle.to_str().expect("utf8"),
            &b.id,
        ])
        .spawn()
        .expect("spawn");
    let (conn, _) = listener.accept().expect("accept");
    let channel = skiff_linux::process::Channel::from_fd(conn.into());
    let (_, mut fds) = channel.recv_with_fds().expect("recv master");
    assert_eq!(fds.len(), 1, "one pty master");
    let mut master = std::fs::File::from(fds.remove(0));
    let status = child.wait().expect("wait");
    assert!(status.success());
    let mut text = String::new();
    let _ = master.read_to_string(&mut text);
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("tty-ok"), "{text}");
    drop(master);
    b.assert_clean();

    // A foreground `run` without a console socket proxies the pty itself.
    let b = TestBundle::new("tty", &["true"]);
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["args"] = json!(sh("tty; echo proxied"));
    });
    let out = b.run();
    assert_ok(&out, "run with a proxied terminal");
    assert_eq!(stdout(&out), "/dev/pts/0\r\nproxied\r\n");
    b.assert_clean();

    // Without a console socket, create refuses a terminal spec.
    let b = TestBundle::new("tty", &["true"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let out = b.create();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--console-socket"),
        "{}",
        stderr(&out)
    );
    b.assert_clean();
}

#[test]
fn no_host_fds_or_cwd_leak_into_the_container() {
    let b = TestBundle::new("fds", &["true"]);
    b.edit(|c| c["process"]["args"] = json!(sh("ls /proc/self/fd | tr '\\n' ' '; echo; pwd")));
    let bundle = b.bundle();
    let leaked = std::fs::File::open("/etc/hostname").expect("open");
    // Clear close-on-exec so the runtime itself inherits it, as a careless caller would.
    nix::fcntl::fcntl(
        &leaked,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .expect("fcntl");
    let mut cmd = b.runtime_cmd(&["run", "--bundle", bundle.to_str().expect("utf8"), &b.id]);
    cmd.current_dir(b.dir.path());
    let out = output_via_files(cmd);
    assert_ok(&out, "run");
    let text = stdout(&out);
    // stdio plus the fd ls itself opens for /proc/self/fd.
    assert_eq!(text.lines().next().unwrap_or(""), "0 1 2 3 ", "{text}");
    assert_eq!(text.lines().nth(1), Some("/"), "{text}");
    drop(leaked);

    // --preserve-fds passes exactly the requested extra fds.
    let b = TestBundle::new("fds", &["true"]);
    b.edit(|c| c["process"]["args"] = json!(sh("ls /proc/self/fd | tr '\\n' ' '")));
    let bundle = b.bundle();
    let mut cmd = b.runtime_cmd(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        bundle.to_str().expect("utf8"),
        &b.id,
    ]);
    let file = std::fs::File::open("/etc/hostname").expect("open");
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    unsafe_pre_exec_dup(&mut cmd, raw);
    let out = output_via_files(cmd);
    assert_ok(&out, "run");
    assert_eq!(stdout(&out), "0 1 2 3 4 ");
}

/// Put `fd` at 3 in the child, as a caller passing --preserve-fds 1 would.
fn unsafe_pre_exec_dup(cmd: &mut std::process::Command, fd: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 is async-signal-safe, which is all pre_exec may call.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec; clear it explicitly.
            let rc = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if rc < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn runtime_binary_is_not_reachable_from_the_container() {
    let b = TestBundle::new("exe", &["sleep", "100"]);
    let bundle = b.bundle();
    assert_ok(
        &b.runtime(&["create", "--bundle", bundle.to_str().expect("utf8"), &b.id]),
        "create",
    );
    let pid = b.state()["pid"].as_i64().expect("pid");
    // While created, the init is still the runtime's own code...
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the host may look");
    assert!(exe.ends_with("skiff"), "{exe:?}");
    // ...and it is non-dumpable, so a process inside the container, even as
    // root, cannot open /proc/1/exe to overwrite the runtime binary.
    let out = b.runtime(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "cat /proc/1/exe > /dev/null 2>&1 && echo readable || echo denied",
    ]);
    assert_ok(&out, "exec");
    assert_eq!(stdout(&out).trim(), "denied");
    assert_ok(&b.runtime(&["delete", "--force", &b.id]), "delete");
    b.assert_clean();
}

#[test]
fn capability_outside_the_runtime_bounding_set_fails_at_create() {
    use std::os::unix::process::CommandExt;
    let b = TestBundle::new("capbnd", &["true"]);
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(["CAP_SYS_MODULE"]);
        }
    });
    let bundle = b.bundle();
    let mut cmd = b.runtime_cmd(&["create", "--bundle", bundle.to_str().expect("utf8"), &b.id]);
    // SAFETY: prctl is async-signal-safe; it only changes the child's bounding set.
    unsafe {
        cmd.pre_exec(|| {
            // 16 is CAP_SYS_MODULE.
            if libc::prctl(libc::PR_CAPBSET_DROP, 16 as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = output_via_files(cmd);
    assert!(
        !out.status.success(),
        "create must fail, not the container after start"
    );
    assert!(
        stderr(&out).contains("CAP_SYS_MODULE is not in the runtime's own bounding set"),
        "{}",
        stderr(&out)
    );
    b.assert_clean();
}
