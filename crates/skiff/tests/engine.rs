//! End-to-end tests of `skiff run/ps/logs/exec/stop/kill/rm/inspect` with
//! the real binary, as root. The image is busybox-static, built in memory
//! with skiff-image's synth helpers, pushed once to a throwaway loopback
//! `docker-registry` and pulled into a seed data dir that every test copies,
//! so each test has its own data and run dirs. A Drop guard removes every
//! container (monitors, runtime state, mounts) even when a test fails.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_image::local_registry::LocalRegistry;
use skiff_image::manifest::Compression;
use skiff_image::registries::RegistriesConfig;
use skiff_image::registry::Client;
use skiff_image::synth::{self, RawTar, SynthImage};
use skiff_image::Reference;

use common::{cgroup_mounts, processes_mentioning, skiff_bin};

const IMAGE: &str = "127.0.0.1/test/busybox:1";

fn busybox_image() -> SynthImage {
    SynthImage::new(
        vec![busybox_layer()],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["sh"], "Env": ["PATH=/bin"], "StopSignal": "SIGTERM"}),
        false,
    )
}

fn busybox_layer() -> synth::LayerBlob {
    let mut t = RawTar::new()
        .dir("bin/", 0o755)
        .unwrap()
        .file(
            "bin/busybox",
            &fs::read("/bin/busybox").expect("busybox-static is installed"),
            0o755,
        )
        .unwrap();
    for applet in [
        "sh", "echo", "ls", "cat", "sleep", "tty", "id", "pwd", "true", "false", "env", "httpd",
        "wget", "ip", "mkdir", "hostname",
    ] {
        t = t.symlink(&format!("bin/{applet}"), "busybox").unwrap();
    }
    for d in ["etc/", "tmp/", "proc/", "sys/", "dev/"] {
        t = t.dir(d, 0o755).unwrap();
    }
    t = t
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
            0o644,
        )
        .unwrap()
        .file("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)
        .unwrap();
    synth::layer(&t.finish().unwrap(), Compression::Gzip, false).unwrap()
}

/// A data dir holding the pulled busybox image, made once per test run
/// (the registry is gone again before any test uses it).
fn seed() -> &'static Path {
    static SEED: OnceLock<PathBuf> = OnceLock::new();
    SEED.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Seeds of earlier runs whose test process is gone.
        for e in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("engine-seed-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("engine-seed-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let registry = LocalRegistry::start(None).expect("docker-registry");
        let name = format!("{}/test/busybox", registry.host());
        let client = Client::new(RegistriesConfig::default(), Default::default());
        busybox_image()
            .push(&client, &Reference::parse(&name).unwrap(), "1")
            .expect("push");
        fs::write(dir.join("registries.toml"), "").unwrap();
        fs::write(dir.join("auth.json"), r#"{"auths":{}}"#).unwrap();
        let out = Command::new(skiff_bin())
            .args(["pull", "-q", &format!("{name}:1")])
            .env("SKIFF_DATA_DIR", dir.join("data"))
            .env("SKIFF_REGISTRIES_CONFIG", dir.join("registries.toml"))
            .env("SKIFF_AUTH_FILE", dir.join("auth.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pull: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Tests name it without the port, which changes with every run.
        let images = dir.join("data/images");
        for e in fs::read_dir(&images).unwrap().flatten() {
            let text = fs::read_to_string(e.path()).unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap();
            v["name"] = Value::String(IMAGE.to_string());
            fs::write(e.path(), serde_json::to_vec(&v).unwrap()).unwrap();
        }
        dir.join("data")
    })
}

/// One test's data and run dirs, and a bridge and /24 of its own (so tests
/// never share a network with each other or a real skiff0); removes every
/// container and the bridge on drop.
struct Env {
    dir: tempfile::TempDir,
    bridge: String,
    subnet: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("skiff-engine-test-")
            .tempdir()
            .unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(seed())
            .arg(dir.path().join("data"))
            .status()
            .unwrap();
        assert!(status.success(), "copy the seed data dir");
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        Env {
            dir,
            bridge: format!("ske{}x{n}", pid % 100_000),
            // 10.251.0.0/16 is this suite's (skiff-net's tests use 10.250).
            subnet: format!("10.251.{}.0/24", (pid * 16 + n) % 256),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(skiff_bin());
        c.args(args)
            .env("SKIFF_DATA_DIR", self.data())
            .env("SKIFF_RUN_DIR", self.run_dir())
            .env("SKIFF_BRIDGE", &self.bridge)
            .env("SKIFF_SUBNET", &self.subnet)
            .stdin(Stdio::null());
        c
    }

    fn skiff(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(&self.skiff(args), &format!("skiff {args:?}"))
    }

    fn fails(&self, args: &[&str]) -> String {
        common::failed(&self.skiff(args), &format!("skiff {args:?}"))
    }

    fn inspect(&self, name: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["inspect", name])).unwrap();
        v[0].clone()
    }

    fn container_ids(&self) -> Vec<String> {
        fs::read_dir(self.data().join("containers"))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().map(String::from))
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Wait until `f` holds, up to `limit`.
    fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn status(&self, name: &str) -> String {
        self.inspect(name)["state"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Nothing of container `id` is left: directory, runtime state, cgroup,
    /// mount, monitor or container process.
    fn assert_gone(&self, id: &str, monitor_pid: i64) {
        let dir = self.data().join("containers").join(id);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(
            !self.run_dir().join(id).exists(),
            "runtime state left behind"
        );
        for m in cgroup_mounts() {
            assert!(
                !m.join(id).exists(),
                "cgroup {} left behind",
                m.join(id).display()
            );
        }
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!info.contains(id), "a mount of {id} is left behind");
        assert!(
            monitor_pid <= 0
                || !Path::new(&format!("/proc/{monitor_pid}")).exists()
                || fs::read_to_string(format!("/proc/{monitor_pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "monitor {monitor_pid} still running"
        );
        assert!(
            processes_mentioning(&dir).is_empty(),
            "processes left behind"
        );
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.container_ids() {
            let _ = self.cmd(&["rm", "-f", &id]).output();
            // Whatever rm could not do: kill the monitor, unmount the root.
            let rec = self.data().join("containers").join(&id).join("config.json");
            if let Ok(v) = fs::read_to_string(&rec).map(|t| serde_json::from_str::<Value>(&t)) {
                if let Some(pid) = v.ok().and_then(|v| v["state"]["monitor_pid"].as_i64()) {
                    if pid > 0 {
                        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    }
                }
            }
            let _ = Command::new(skiff_bin())
                .args(["runtime", "--root"])
                .arg(self.run_dir())
                .args(["delete", "-f", &id])
                .output();
        }
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        for mp in info.lines().filter_map(|l| l.split(' ').nth(4)) {
            if mp.starts_with(&base) {
                let _ = Command::new("umount").args(["-l", mp]).status();
            }
        }
        // The network's shared rules go with it; if something still holds the bridge,
        // delete the link and try again.
        if skiff_engine::remove_bridge_network(&self.data(), &self.bridge, &self.subnet).is_err() {
            let _ = Command::new("ip")
                .args(["link", "del", &self.bridge])
                .stderr(Stdio::null())
                .status();
            let _ = skiff_engine::remove_bridge_network(&self.data(), &self.bridge, &self.subnet);
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_rm_prints_and_leaves_nothing() {
    let env = Env::new();
    let out = env.skiff(&["run", "--rm", IMAGE, "echo", "hi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
    env.wait_for(
        "--rm to remove the container",
        Duration::from_secs(5),
        || env.container_ids().is_empty(),
    );
    assert_eq!(env.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn foreground_exit_code_streams_and_log_format() {
    let env = Env::new();
    let out = env.skiff(&[
        "run",
        "--name",
        "e",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");
    let ps = env.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (3)") && ps.contains(" e"), "{ps}");
    assert!(
        !env.ok(&["ps"]).contains(" e\n"),
        "ps without -a lists running ones only"
    );
    let rec = env.inspect("e");
    assert_eq!(rec["state"]["exit_code"], 3);
    let log = fs::read_to_string(rec["log_path"].as_str().unwrap()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for l in &lines {
        let parts: Vec<&str> = l.splitn(4, ' ').collect();
        assert_eq!(parts[0].len(), 30, "RFC 3339 nanos: {l}");
        assert!(
            parts[0].ends_with('Z') && parts[0].as_bytes()[10] == b'T',
            "{l}"
        );
        assert_eq!(parts[2], "F", "{l}");
    }
    assert!(lines.iter().any(|l| l.ends_with(" stdout F out")), "{log}");
    assert!(lines.iter().any(|l| l.ends_with(" stderr F err")), "{log}");
    let logs = env.skiff(&["logs", "e"]);
    assert_eq!(text(&logs.stdout), "out\n");
    assert_eq!(text(&logs.stderr), "err\n");
    let ts = env.ok(&["logs", "--timestamps", "e"]);
    assert!(ts.ends_with("Z out\n"), "{ts}");
    let id = rec["id"].as_str().unwrap().to_string();
    let monitor = rec["state"]["monitor_pid"].as_i64().unwrap();
    env.ok(&["rm", &id[..8]]);
    env.assert_gone(&id, monitor);
}

#[test]
fn detached_logs_exec_stop_rm() {
    let env = Env::new();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            IMAGE,
            "sh",
            "-c",
            "while true; do echo tick; sleep 0.2; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    env.wait_for("two ticks", Duration::from_secs(5), || {
        env.ok(&["logs", "web"]).matches("tick\n").count() >= 2
    });
    assert_eq!(env.ok(&["logs", "--tail", "1", "web"]), "tick\n");
    let ls = env.ok(&["exec", "web", "ls", "/"]);
    assert!(ls.contains("bin") && ls.contains("etc"), "{ls}");
    let code = env
        .skiff(&["exec", "web", "sh", "-c", "exit 7"])
        .status
        .code();
    assert_eq!(code, Some(7));
    let ps = env.ok(&["ps"]);
    assert!(ps.contains("Up ") && ps.contains(&id[..12]), "{ps}");
    let err = env.fails(&["rm", "web"]);
    assert!(err.contains("stop it first"), "{err}");

    let monitor = env.inspect("web")["state"]["monitor_pid"].as_i64().unwrap();
    // sh as pid 1 ignores SIGTERM: stop must fall back to SIGKILL after -t.
    let t0 = Instant::now();
    env.ok(&["stop", "-t", "1", "web"]);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert!(env.ok(&["ps", "-a"]).contains("Exited (137)"));
    // logs -f of a stopped container ends.
    env.ok(&["logs", "-f", "web"]);
    env.ok(&["rm", "web"]);
    env.assert_gone(&id, monitor);
    env.fails(&["logs", "web"]);
}

#[test]
fn stop_signal_ends_a_cooperating_container_quickly() {
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "trap",
        IMAGE,
        "sh",
        "-c",
        "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let t0 = Instant::now();
    env.ok(&["stop", "-t", "5", "trap"]);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(env.inspect("trap")["state"]["exit_code"], 0);
    assert!(env.ok(&["logs", "trap"]).contains("bye"));
    env.ok(&["rm", "trap"]);
}

#[test]
fn containers_outlive_killed_clients() {
    let env = Env::new();
    // A foreground client killed while it waits.
    let mut client = env
        .cmd(&[
            "run",
            "--name",
            "fg",
            IMAGE,
            "sh",
            "-c",
            "sleep 1; echo done; exit 4",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    env.wait_for("fg to run", Duration::from_secs(5), || {
        env.skiff(&["inspect", "fg"]).status.success() && env.status("fg") == "running"
    });
    client.kill().unwrap();
    client.wait().unwrap();
    assert!(env.ok(&["ps"]).contains("fg"), "still listed as running");
    env.wait_for("fg to exit", Duration::from_secs(5), || {
        env.status("fg") == "exited"
    });
    assert_eq!(env.inspect("fg")["state"]["exit_code"], 4);
    assert_eq!(env.ok(&["logs", "fg"]), "done\n");
    assert!(env.ok(&["ps", "-a"]).contains("Exited (4)"));

    // A detached client SIGKILLed right after it returns: nothing changes.
    let mut d = env
        .cmd(&["run", "-d", "--name", "bg", IMAGE, "sleep", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(d.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim().len(), 64, "the id: {line:?}");
    let _ = d.kill();
    d.wait().unwrap();
    env.wait_for("bg to run", Duration::from_secs(5), || {
        env.skiff(&["inspect", "bg"]).status.success() && env.status("bg") == "running"
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(env.ok(&["ps"]).contains("bg"));
    env.ok(&["kill", "bg"]);
    env.wait_for("bg to exit", Duration::from_secs(5), || {
        env.status("bg") == "exited"
    });
    assert_eq!(env.inspect("bg")["state"]["exit_code"], 137);
    env.ok(&["rm", "fg", "bg"]);
    assert!(env.container_ids().is_empty());
}

#[test]
fn restart_policies() {
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        IMAGE,
        "sh",
        "-c",
        "echo try; exit 1",
    ]);
    env.wait_for("two restarts", Duration::from_secs(10), || {
        let r = env.inspect("flaky");
        r["state"]["restart_count"] == 2 && r["state"]["status"] == "exited"
    });
    assert_eq!(env.ok(&["logs", "flaky"]), "try\ntry\ntry\n");
    assert_eq!(env.inspect("flaky")["state"]["exit_code"], 1);

    // on-failure does not restart a clean exit.
    env.ok(&[
        "run",
        "--name",
        "clean",
        "--restart",
        "on-failure",
        IMAGE,
        "true",
    ]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(env.inspect("clean")["state"]["restart_count"], 0);

    // always restarts until stopped; stop wins over the policy.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        IMAGE,
        "sh",
        "-c",
        "echo r; sleep 0.1",
    ]);
    env.wait_for("a restart", Duration::from_secs(5), || {
        env.inspect("loop")["state"]["restart_count"].as_u64() >= Some(1)
    });
    env.ok(&["stop", "-t", "1", "loop"]);
    let count = env.inspect("loop")["state"]["restart_count"].clone();
    std::thread::sleep(Duration::from_millis(600));
    let r = env.inspect("loop");
    assert_eq!(r["state"]["restart_count"], count, "no restart after stop");
    assert_eq!(r["state"]["status"], "exited");
    env.ok(&["rm", "flaky", "clean", "loop"]);
}

#[test]
fn options_env_workdir_user_volume_resources_network() {
    let env = Env::new();
    let host = env.dir.path().join("shared");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("in.txt"), "from host\n").unwrap();
    let envfile = env.dir.path().join("env");
    fs::write(&envfile, "# comment\nFROM_FILE=yes\n").unwrap();
    let vol = format!("{}:/data:ro", host.display());
    let out = env.ok(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "--env-file",
        envfile.to_str().unwrap(),
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "-v",
        &vol,
        IMAGE,
        "sh",
        "-c",
        "echo $A $FROM_FILE; pwd; id -u; cat /data/in.txt; echo x > /data/y || echo ro",
    ]);
    assert_eq!(out, "1 yes\n/tmp\n65534\nfrom host\nro\n", "{out}");
    assert!(!host.join("y").exists());

    // Resources land in the container's cgroup.
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "lim",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            IMAGE,
            "sleep",
            "30",
        ])
        .trim()
        .to_string();
    let mut seen = 0;
    for m in cgroup_mounts() {
        let d = m.join(&id);
        let read = |f: &str| {
            fs::read_to_string(d.join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        if let Some(v) = read("memory.limit_in_bytes").or_else(|| read("memory.max")) {
            assert_eq!(v, (64 << 20).to_string());
            seen += 1;
        }
        if let Some(v) = read("pids.max") {
            assert_eq!(v, "50");
            seen += 1;
        }
        if let Some(v) = read("cpu.cfs_quota_us") {
            assert_eq!(v, "50000");
            seen += 1;
        }
    }
    assert!(seen >= 3, "memory, pids and cpu limits found: {seen}");
    env.ok(&["rm", "-f", "lim"]);

    // --network none: only lo; host: the host's interfaces.
    let none = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "cat",
        "/proc/net/dev",
    ]);
    assert_eq!(none.lines().count(), 3, "{none}");
    let host_net = env.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMAGE,
        "cat",
        "/proc/net/dev",
    ]);
    assert!(host_net.lines().count() > 3, "{host_net}");
}

#[test]
fn stdin_and_tty() {
    let env = Env::new();
    let mut c = env.cmd(&["run", "--rm", "-i", IMAGE, "cat"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\nworld\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "hello\nworld\n");

    let out = env.ok(&["run", "--rm", "-t", IMAGE, "sh", "-c", "tty; echo x"]);
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.contains("x\r\n"), "a terminal's line endings: {out:?}");
}

#[test]
fn bad_input_leaves_nothing_behind() {
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "taken", IMAGE, "sleep", "30"]);
    let cases: &[(&[&str], &str)] = &[
        (&["run", "no/such:image", "true"], "skiff pull"),
        (&["run", "--name", "taken", IMAGE, "true"], "already in use"),
        (&["run", "-v", "/does/not/exist:/x", IMAGE, "true"], "-v"),
        (&["run", "-v", "relative:/x", IMAGE, "true"], "-v"),
        (&["run", "--memory", "lots", IMAGE, "true"], "--memory"),
        (&["run", "--cpus", "0", IMAGE, "true"], "--cpus"),
        (
            &["run", "--network", "none", "-p", "80:80", IMAGE, "true"],
            "cannot publish ports with network mode none",
        ),
        (
            &["run", "--network", "host", "-p", "80:80", IMAGE, "true"],
            "cannot publish ports with network mode host",
        ),
        (&["run", "-p", "80", IMAGE, "true"], "invalid port mapping"),
        (&["run", "--network", "overlay", IMAGE, "true"], "bridge"),
        (
            &["run", "--restart", "sometimes", IMAGE, "true"],
            "--restart",
        ),
        (
            &["run", "--rm", "--restart", "always", IMAGE, "true"],
            "--rm",
        ),
        (&["run", IMAGE, "/no/such/program"], "no/such/program"),
        (&["logs", "nosuch"], "no such container"),
        (&["exec", "nosuch", "ls"], "no such container"),
        (&["stop", "nosuch"], "no such container"),
        (&["rm", "nosuch"], "no such container"),
        (&["inspect", "nosuch"], "no such container"),
    ];
    for (args, want) in cases {
        let err = env.fails(args);
        assert!(
            err.contains(want),
            "skiff {args:?}: {err:?} should mention {want:?}"
        );
        assert_eq!(
            env.container_ids().len(),
            1,
            "skiff {args:?} left a container"
        );
    }
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let base = env.data().join("containers").display().to_string();
    let mounted = info
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&base)))
        .count();
    assert_eq!(mounted, 1, "only taken's root is mounted");
    env.ok(&["rm", "-f", "taken"]);
    assert!(env.container_ids().is_empty());
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!info.contains(&base));
}

/// Runs `cmd` on the host; its stdout (empty if it failed).
fn host(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default()
}

/// Whether `text` mentions `ip` as a whole address (not 10.0.0.1 in 10.0.0.12).
fn mentions_ip(text: &str, ip: &str) -> bool {
    text.match_indices(ip).any(|(i, _)| {
        !text[i + ip.len()..].starts_with(|c: char| c.is_ascii_digit())
            && !text[..i].ends_with(|c: char| c.is_ascii_digit() || c == '.')
    })
}

/// A GET of `/` from `addr`; the whole reply.
fn http_get(addr: &str) -> std::io::Result<String> {
    use std::io::Read;
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

impl Env {
    /// Nothing of the network of container `id` (whose record was `rec`)
    /// is left: netns pin, host veth, firewall rule or IPAM lease.
    fn assert_no_network_trace(&self, id: &str, rec: &Value) {
        let netns = self.run_dir().join("netns").join(id);
        assert!(!netns.exists(), "{} left behind", netns.display());
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!info.contains(&format!("netns/{id}")), "netns pin left");
        let att = &rec["net"]["attachment"];
        let rules = host("iptables-save", &[]) + &host("nft", &["list", "ruleset"]);
        assert!(!rules.contains(id), "rules left for {id}:\n{rules}");
        if let Some(ip) = att["ip"].as_str() {
            assert!(!mentions_ip(&rules, ip), "rules left for {ip}:\n{rules}");
            let lease = self
                .data()
                .join("net/ipam")
                .join(rec["net"]["network"].as_str().unwrap())
                .join(ip);
            assert!(!lease.exists(), "IPAM lease {} left", lease.display());
        }
        if let Some(veth) = att["host_veth"].as_str() {
            assert!(
                host("ip", &["-o", "link", "show", veth]).is_empty(),
                "veth {veth} left"
            );
        }
        assert!(
            host("ip", &["-o", "link", "show", "master", &self.bridge]).is_empty(),
            "ports left on {}",
            self.bridge
        );
    }
}

#[test]
fn bridge_network_publish_and_leave_nothing() {
    let env = Env::new();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            "18080:80",
            IMAGE,
            "sh",
            "-c",
            "mkdir -p /www && echo hello from web > /www/index.html && echo started && exec httpd -f -p 80 -h /www",
        ])
        .trim()
        .to_string();
    let rec = env.inspect("web");
    let att = rec["net"]["attachment"].clone();
    let ip = att["ip"].as_str().expect("an address").to_string();
    let subnet_prefix = env.subnet.trim_end_matches("0/24");
    assert!(ip.starts_with(subnet_prefix), "{ip} in {}", env.subnet);
    let gateway = att["gateway"].as_str().expect("a gateway").to_string();
    assert_eq!(rec["net"]["bridge"], env.bridge.as_str());

    // The published port answers on the host's loopback.
    let mut reply = String::new();
    env.wait_for("httpd on 127.0.0.1:18080", Duration::from_secs(5), || {
        reply = http_get("127.0.0.1:18080").unwrap_or_default();
        reply.contains("hello from web")
    });
    assert!(reply.starts_with("HTTP/1."), "{reply}");

    // The container has eth0 with its address, names itself in /etc/hosts,
    // and reaches a server on the host's end of the bridge.
    let addrs = env.ok(&["exec", "web", "ip", "-o", "-4", "addr", "show", "eth0"]);
    assert!(addrs.contains(&format!("inet {ip}/24")), "{addrs}");
    let hosts = env.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t{}", &id[..12])), "{hosts}");
    assert_eq!(env.ok(&["exec", "web", "hostname"]).trim(), &id[..12]);
    let listener = std::net::TcpListener::bind(format!("{gateway}:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::Read;
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = c.read(&mut buf);
        c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nhost-ok")
            .unwrap();
    });
    let got = env.ok(&[
        "exec",
        "web",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{gateway}:{port}/"),
    ]);
    assert_eq!(got, "host-ok");
    server.join().unwrap();

    assert_eq!(env.ok(&["logs", "web"]), "started\n");
    let ls = env.ok(&["exec", "web", "ls", "/"]);
    assert!(ls.contains("www"), "{ls}");
    let t0 = Instant::now();
    env.ok(&["stop", "-t", "1", "web"]);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    // The monitor gives the network back once the container is gone for
    // good, before anyone runs rm.
    env.wait_for("the network to be released", Duration::from_secs(5), || {
        env.inspect("web")["state"]["network_released"] == true
    });
    env.assert_no_network_trace(&id, &rec);
    assert!(http_get("127.0.0.1:18080").is_err(), "port still published");
    let monitor = env.inspect("web")["state"]["monitor_pid"].as_i64().unwrap();
    env.ok(&["rm", "web"]);
    env.assert_gone(&id, monitor);
    env.assert_no_network_trace(&id, &rec);
}

#[test]
fn killed_containers_and_monitors_leave_no_network() {
    let env = Env::new();
    // The container is SIGKILLed: its monitor records the exit and tears down.
    let id = env
        .ok(&[
            "run", "-d", "--name", "k", "-p", "18081:80", IMAGE, "sleep", "30",
        ])
        .trim()
        .to_string();
    let rec = env.inspect("k");
    assert!(rec["net"]["attachment"]["host_veth"].is_string(), "{rec}");
    env.ok(&["kill", "k"]);
    env.wait_for("k to exit", Duration::from_secs(5), || {
        env.status("k") == "exited"
    });
    let monitor = rec["state"]["monitor_pid"].as_i64().unwrap();
    env.ok(&["rm", "k"]);
    env.assert_gone(&id, monitor);
    env.assert_no_network_trace(&id, &rec);

    // The monitor itself is SIGKILLed: nothing released the network; rm -f
    // kills the container and must do it.
    let id = env
        .ok(&[
            "run", "-d", "--name", "m", "-p", "18082:80", IMAGE, "sleep", "30",
        ])
        .trim()
        .to_string();
    let rec = env.inspect("m");
    let monitor = rec["state"]["monitor_pid"].as_i64().unwrap();
    let status = Command::new("kill")
        .args(["-9", &monitor.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    env.wait_for("the monitor to die", Duration::from_secs(5), || {
        env.status("m") == "exited"
    });
    let veth = rec["net"]["attachment"]["host_veth"].as_str().unwrap();
    assert!(
        !host("ip", &["-o", "link", "show", veth]).is_empty(),
        "the veth outlives a dead monitor until rm"
    );
    env.ok(&["rm", "-f", "m"]);
    env.assert_gone(&id, monitor);
    env.assert_no_network_trace(&id, &rec);
}

#[test]
fn network_none_has_a_working_lo_only() {
    let env = Env::new();
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "ip -o link; mkdir /w; echo lo-ok > /w/i; httpd -p 127.0.0.1:81 -h /w; wget -q -O - http://127.0.0.1:81/i",
    ]);
    let links: Vec<&str> = out.lines().filter(|l| l.contains(": <")).collect();
    assert_eq!(links.len(), 1, "only lo: {out}");
    assert!(links[0].contains("lo: <LOOPBACK,UP"), "lo is up: {out}");
    assert!(out.ends_with("lo-ok\n"), "{out}");
    env.wait_for("--rm", Duration::from_secs(5), || {
        env.container_ids().is_empty()
    });
    let netns = env.run_dir().join("netns");
    assert!(
        fs::read_dir(&netns).map(|d| d.count()).unwrap_or(0) == 0,
        "netns pins left in {}",
        netns.display()
    );
}

#[test]
fn bench_run_runs() {
    let child = Command::new(skiff_bin())
        .args(["bench", "run", "--rounds", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    for want in [
        "skiff run --rm (bridge)",
        "skiff run --rm --network none",
        "podman run --rm --network none",
        "x podman",
    ] {
        assert!(report.contains(want), "{want:?} in {report}");
    }
    assert!(
        host("ip", &["-o", "link", "show", &format!("skb{pid}")]).is_empty(),
        "the benchmark's bridge is left"
    );
}

/// Busybox plus a layer with /data, which the config declares a volume.
const VOLUME_IMAGE: &str = "127.0.0.1/test/volume:1";

fn import_volume_image(env: &Env) {
    let data = RawTar::new()
        .dir("data/", 0o750)
        .unwrap()
        .file("data/seed.txt", b"from the image\n", 0o640)
        .unwrap()
        .symlink("data/link", "seed.txt")
        .unwrap()
        .finish()
        .unwrap();
    let image = SynthImage::new(
        vec![
            busybox_layer(),
            synth::layer(&data, Compression::Gzip, false).unwrap(),
        ],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["sh"], "Env": ["PATH=/bin"], "Volumes": {"/data": {}}}),
        false,
    );
    let layout = env.dir.path().join("volume-layout");
    image.write_oci_layout(&layout, "1").unwrap();
    env.ok(&[
        "image",
        "import",
        "--name",
        VOLUME_IMAGE,
        layout.to_str().unwrap(),
    ]);
}

#[test]
fn image_volumes_get_anonymous_volumes() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    import_volume_image(&env);
    let out = env.ok(&[
        "run",
        "--name",
        "v",
        VOLUME_IMAGE,
        "sh",
        "-c",
        "cat /data/seed.txt /data/link; echo written > /data/new.txt",
    ]);
    assert_eq!(out, "from the image\nfrom the image\n");
    let rec = env.inspect("v");
    let vols = rec["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1, "{rec}");
    assert_eq!(vols[0]["destination"], "/data");
    assert_eq!(vols[0]["anonymous"], true);
    let id = rec["id"].as_str().unwrap().to_string();
    let dir = env.data().join("containers").join(&id);
    let source = PathBuf::from(vols[0]["source"].as_str().unwrap());
    assert!(source.starts_with(&dir), "{}", source.display());
    // The write went to the volume, not the overlay's upper dir.
    assert_eq!(
        fs::read_to_string(source.join("new.txt")).unwrap(),
        "written\n"
    );
    assert!(!dir.join("rw/upper/data/new.txt").exists());
    // A copy of the image's /data, modes and symlinks included.
    assert_eq!(fs::metadata(&source).unwrap().mode() & 0o7777, 0o750);
    assert_eq!(
        fs::metadata(source.join("seed.txt")).unwrap().mode() & 0o7777,
        0o640
    );
    assert_eq!(
        fs::read_link(source.join("link")).unwrap(),
        Path::new("seed.txt")
    );
    let monitor = rec["state"]["monitor_pid"].as_i64().unwrap();
    env.ok(&["rm", "v"]);
    env.assert_gone(&id, monitor);
    assert!(!source.exists());

    // -v over the image's volume: no anonymous volume.
    let host = env.dir.path().join("host-data");
    fs::create_dir(&host).unwrap();
    let bind = format!("{}:/data", host.display());
    let out = env.ok(&[
        "run",
        "--name",
        "b",
        "-v",
        &bind,
        VOLUME_IMAGE,
        "sh",
        "-c",
        "ls /data; echo hi > /data/h",
    ]);
    assert_eq!(out, "");
    assert_eq!(fs::read_to_string(host.join("h")).unwrap(), "hi\n");
    let rec = env.inspect("b");
    let vols = rec["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1, "{rec}");
    assert_eq!(vols[0]["anonymous"], false);
    let id = rec["id"].as_str().unwrap().to_string();
    assert!(!env
        .data()
        .join("containers")
        .join(&id)
        .join("volumes")
        .exists());
    env.ok(&["rm", "b"]);

    // --rm takes the anonymous volume with the container.
    env.ok(&["run", "--rm", VOLUME_IMAGE, "sh", "-c", "echo > /data/x"]);
    env.wait_for("--rm to remove", Duration::from_secs(5), || {
        env.container_ids().is_empty()
    });
}

#[test]
fn foreground_client_forwards_signals() {
    let env = Env::new();
    let mut client = env
        .cmd(&[
            "run",
            "--name",
            "sig",
            IMAGE,
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = nix::unistd::Pid::from_raw(client.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = client.wait().unwrap();
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.code(), Some(7), "{status:?}");
    assert_eq!(env.inspect("sig")["state"]["exit_code"], 7);
    env.ok(&["rm", "sig"]);
}
