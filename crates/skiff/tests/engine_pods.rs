//! End-to-end tests of pod sandboxes and pod containers, as root: sandboxes
//! and containers are made through skiff-engine's library API (the agent's
//! way in), and started, listed, inspected and logged through the real
//! `skiff` binary, as the agent does. The image is busybox-static, built in
//! memory and imported once into a seed data dir every test copies. A Drop
//! guard removes every sandbox, container and the test's bridge network
//! even when a test fails.

mod common;

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_engine::{
    ContainerRecord, Engine, PidNamespace, PodContainerOptions, PodMount, PodResources,
    SandboxConfig, SandboxRecord, Status,
};
use skiff_image::manifest::Compression;
use skiff_image::synth::{self, RawTar, SynthImage};

use common::{cgroup_mounts, processes_mentioning, skiff_bin};

const IMAGE: &str = "127.0.0.1/test/podbox:1";

fn busybox_image() -> SynthImage {
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
        "sh", "echo", "cat", "sleep", "hostname", "httpd", "wget", "ip", "dd", "true", "nc",
        "head", "id", "touch", "readlink",
    ] {
        t = t.symlink(&format!("bin/{applet}"), "busybox").unwrap();
    }
    for d in ["etc/", "tmp/", "proc/", "sys/", "dev/"] {
        t = t.dir(d, 0o755).unwrap();
    }
    t = t
        .file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
        .unwrap()
        .file("etc/group", b"root:x:0:\n", 0o644)
        .unwrap();
    SynthImage::new(
        vec![synth::layer(&t.finish().unwrap(), Compression::Gzip, false).unwrap()],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["sh"], "Env": ["PATH=/bin"]}),
        false,
    )
}

/// A data dir holding the busybox image, made once per test run.
fn seed() -> &'static Path {
    static SEED: OnceLock<PathBuf> = OnceLock::new();
    SEED.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        for e in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("pods-seed-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("pods-seed-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let layout = dir.join("layout");
        busybox_image().write_oci_layout(&layout, "1").unwrap();
        let out = Command::new(skiff_bin())
            .args(["image", "import", "--name", IMAGE])
            .arg(&layout)
            .env("SKIFF_DATA_DIR", dir.join("data"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("data")
    })
}

/// One test's data and run dirs, its own bridge and /24 (10.252.x.0), and a
/// pod cgroup parent of its own; removes everything on drop.
struct Env {
    dir: tempfile::TempDir,
    bridge: String,
    subnet: String,
    cgroup_root: String,
    engine: Engine,
}

impl Env {
    fn new() -> Env {
        Env::with_subnet(None)
    }

    /// `prefix`: a subnet size other than /24 (the first of the test's
    /// /24 is used).
    fn with_subnet(prefix: Option<u8>) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("skiff-engine-pods-")
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
        let engine = Engine::open(dir.path().join("data"), dir.path().join("run")).unwrap();
        Env {
            dir,
            bridge: format!("skp{}x{n}", pid % 100_000),
            // 10.252.0.0/16 is this suite's (engine tests use 10.251).
            subnet: format!("10.252.{}.0/{}", (pid * 16 + n) % 256, prefix.unwrap_or(24)),
            cgroup_root: format!("skiff-engine-pods-{pid}-{n}"),
            engine,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn config(&self, hostname: &str) -> SandboxConfig {
        SandboxConfig {
            pod_uid: format!("uid-{hostname}"),
            name: hostname.to_string(),
            namespace: "default".into(),
            hostname: hostname.to_string(),
            bridge: self.bridge.clone(),
            subnet: self.subnet.clone(),
            cgroup_parent: format!("/{}/pod-{hostname}", self.cgroup_root),
            ..Default::default()
        }
    }

    fn skiff(&self, args: &[&str]) -> Output {
        let mut c = Command::new(skiff_bin());
        c.args(args)
            .env("SKIFF_DATA_DIR", self.data())
            .env("SKIFF_RUN_DIR", self.run_dir())
            .env("SKIFF_BRIDGE", &self.bridge)
            .env("SKIFF_SUBNET", &self.subnet)
            .stdin(Stdio::null());
        common::output_via_files(c)
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(&self.skiff(args), &format!("skiff {args:?}"))
    }

    /// Create a container in `sb` and start it with `skiff start`, as the
    /// agent does.
    fn run(&self, sb: &SandboxRecord, opts: PodContainerOptions) -> ContainerRecord {
        let rec = self.engine.create_pod_container(sb, &opts).unwrap();
        assert_eq!(rec.sandbox.as_deref(), Some(sb.id.as_str()));
        assert_eq!(self.ok(&["start", &rec.id]).trim(), rec.id);
        self.engine.load(&rec.id).unwrap()
    }

    fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exited(&self, id: &str) -> ContainerRecord {
        let mut last = None;
        self.wait_for("the container to exit", Duration::from_secs(20), || {
            let r = self.engine.load(id).unwrap();
            let done = r.state.status == Some(Status::Exited) && !r.monitor_alive();
            last = Some(r);
            done
        });
        last.unwrap()
    }

    fn logs(&self, id: &str) -> String {
        self.ok(&["logs", id])
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for sb in self.engine.list_sandboxes().unwrap_or_default() {
            let _ = self.engine.remove_sandbox(&sb.id);
        }
        // Half-made ones have no sandbox.json; remove_sandbox takes them too.
        for e in fs::read_dir(self.data().join("sandboxes"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = self.engine.remove_sandbox(&e.file_name().to_string_lossy());
        }
        for r in self.engine.list().unwrap_or_default() {
            let _ = self.engine.remove(&r.id, true);
        }
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        for mp in info.lines().filter_map(|l| l.split(' ').nth(4)) {
            if mp.starts_with(&base) {
                let _ = Command::new("umount").args(["-l", mp]).status();
            }
        }
        for m in cgroup_mounts() {
            let root = m.join(&self.cgroup_root);
            if let Ok(rd) = fs::read_dir(&root) {
                for e in rd.flatten().filter(|e| e.path().is_dir()) {
                    let _ = fs::remove_dir(e.path());
                }
            }
            let _ = fs::remove_dir(&root);
        }
        if skiff_engine::remove_bridge_network(&self.data(), &self.bridge, &self.subnet).is_err() {
            let _ = Command::new("ip")
                .args(["link", "del", &self.bridge])
                .stderr(Stdio::null())
                .status();
            let _ = skiff_engine::remove_bridge_network(&self.data(), &self.bridge, &self.subnet);
        }
    }
}

fn opts(name: &str, command: &[&str]) -> PodContainerOptions {
    PodContainerOptions {
        name: name.to_string(),
        image: IMAGE.to_string(),
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// (dev, inode) of a namespace file.
fn ns_identity(path: &Path) -> (u64, u64) {
    let m = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.dev(), m.ino())
}

fn in_subnet(ip: IpAddr, subnet: &str) -> bool {
    let (net, prefix) = subnet.split_once('/').unwrap();
    let (IpAddr::V4(ip), Ok(net), Ok(prefix)) =
        (ip, net.parse::<std::net::Ipv4Addr>(), prefix.parse::<u32>())
    else {
        return false;
    };
    let mask = u32::MAX << (32 - prefix);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn interface_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pid_alive(pid: i32) -> bool {
    pid > 0
        && fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
}

/// Nothing of the sandbox (and its containers) is left on the host.
fn assert_sandbox_gone(env: &Env, sb: &SandboxRecord, containers: &[ContainerRecord]) {
    assert!(!env.engine.sandbox_dir(&sb.id).exists(), "sandbox dir left");
    let run = env.run_dir().join("sandboxes").join(&sb.id);
    assert!(!run.exists(), "{} left", run.display());
    for pin in [sb.netns.as_ref(), Some(&sb.ipcns), Some(&sb.utsns)]
        .into_iter()
        .flatten()
    {
        assert!(!pin.exists(), "namespace pin {} left", pin.display());
    }
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !info.contains(&sb.id),
        "a mount of sandbox {} is left",
        sb.id
    );
    for c in containers {
        assert!(
            !info.contains(&c.id),
            "a mount of container {} is left",
            c.name
        );
        let dir = env.data().join("containers").join(&c.id);
        assert!(!dir.exists(), "{} left", dir.display());
        assert!(!env.run_dir().join(&c.id).exists(), "runtime state left");
        assert!(processes_mentioning(&dir).is_empty(), "processes left");
        assert!(
            !pid_alive(c.state.pid),
            "container process {} left",
            c.state.pid
        );
        assert!(
            !pid_alive(c.state.monitor_pid),
            "monitor {} left",
            c.state.monitor_pid
        );
    }
    let parent = sb.config.cgroup_parent.trim_start_matches('/');
    for m in cgroup_mounts() {
        assert!(
            !m.join(parent).exists(),
            "cgroup {} left",
            m.join(parent).display()
        );
    }
    if let Some(att) = sb.net.as_ref().and_then(|n| n.attachment.as_ref()) {
        if let Some(veth) = &att.host_veth {
            assert!(!interface_exists(veth), "veth {veth} left");
        }
        let lease = env
            .data()
            .join("net/ipam")
            .join(&att.network)
            .join(att.ip.to_string());
        assert!(!lease.exists(), "IPAM lease {} left", lease.display());
    }
}

#[test]
fn containers_of_a_pod_share_its_network_hostname_and_files() {
    let env = Env::new();
    let mut cfg = env.config("web-0");
    cfg.domain = Some("web.default.svc.cluster.local".into());
    cfg.host_aliases = vec![skiff_engine::HostAlias {
        ip: "192.0.2.7".into(),
        hostnames: vec!["alias-one".into(), "alias-two".into()],
    }];
    cfg.dns = skiff_engine::DnsSettings {
        nameservers: vec!["192.0.2.53".into()],
        searches: vec!["default.svc.cluster.local".into()],
        options: vec!["ndots:5".into()],
    };
    let sb = env.engine.create_sandbox(cfg).unwrap();
    let ip = sb.ip.expect("the sandbox has an address");
    assert!(in_subnet(ip, &env.subnet), "{ip} is not in {}", env.subnet);
    assert_eq!(env.engine.sandbox(&sb.id).unwrap().ip, Some(ip));
    assert_eq!(env.engine.list_sandboxes().unwrap().len(), 1);

    // A web server over a volume, and a client that reaches it on loopback.
    let www = env.dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "served over loopback\n").unwrap();
    let mut server = opts("k8s_web_web-0_default_1_0", &["httpd", "-f", "-p", "8080"]);
    server
        .command
        .extend(["-h".to_string(), "/www".to_string()]);
    server.mounts = vec![PodMount {
        source: www.clone(),
        destination: "/www".into(),
        readonly: true,
    }];
    server.labels = [("io.kubernetes.pod.uid".to_string(), "uid-web-0".to_string())].into();
    let server = env.run(&sb, server);
    assert_eq!(server.state.status, Some(Status::Running));
    assert_eq!(server.labels["io.kubernetes.pod.uid"], "uid-web-0");
    assert!(
        server.net.is_none(),
        "a pod container has no network of its own"
    );
    assert_eq!(env.ok(&["exec", &server.id, "hostname"]), "web-0\n");

    // Both containers are in the sandbox's pinned net, ipc and uts namespaces.
    for (kind, pin) in [
        ("net", sb.netns.clone().unwrap()),
        ("ipc", sb.ipcns.clone()),
        ("uts", sb.utsns.clone()),
    ] {
        assert_eq!(
            ns_identity(Path::new(&format!("/proc/{}/ns/{kind}", server.state.pid))),
            ns_identity(&pin),
            "{kind} namespace of the server"
        );
    }

    let client = env.run(
        &sb,
        PodContainerOptions {
            env: vec![("GREETING".into(), "hi".into())],
            ..opts(
                "k8s_client_web-0_default_1_0",
                &[
                    "sh",
                    "-c",
                    "echo host=$(hostname) env=$HOSTNAME greeting=$GREETING; ip -4 -o addr show dev eth0; \
                     cat /etc/hosts /etc/resolv.conf /etc/hostname; \
                     for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.2; done; exit 7",
                ],
            )
        },
    );
    let done = env.wait_exited(&client.id);
    let log = env.logs(&client.id);
    assert_eq!(done.state.exit_code, Some(0), "{log}");
    assert!(!done.state.oom_killed);
    assert!(log.contains("host=web-0 env=web-0 greeting=hi\n"), "{log}");
    assert!(log.contains(&format!("inet {ip}/")), "{log}");
    assert!(log.contains("# Kubernetes-managed hosts file."), "{log}");
    assert!(
        log.contains(&format!(
            "{ip}\tweb-0.web.default.svc.cluster.local\tweb-0\n"
        )),
        "{log}"
    );
    assert!(log.contains("192.0.2.7\talias-one\talias-two\n"), "{log}");
    assert!(
        log.contains("nameserver 192.0.2.53\nsearch default.svc.cluster.local\noptions ndots:5\n"),
        "{log}"
    );
    assert!(log.contains("served over loopback\n"), "{log}");

    // The container's own pid namespace, or the server's for a debug container.
    let debug = env.run(
        &sb,
        PodContainerOptions {
            pid_namespace: PidNamespace::JoinContainer(server.id.clone()),
            ..opts("k8s_debug_web-0_default_1_0", &["cat", "/proc/1/cmdline"])
        },
    );
    env.wait_exited(&debug.id);
    assert!(
        env.logs(&debug.id).starts_with("httpd"),
        "pid 1 is the server"
    );

    // `ps` lists them as containers; `inspect` shows the sandbox and labels.
    let ps = env.ok(&["ps", "-a"]);
    for name in [&server.name, &client.name, &debug.name] {
        assert!(ps.contains(name.as_str()), "{ps}");
    }
    let inspect: Value = serde_json::from_str(&env.ok(&["inspect", &server.name])).unwrap();
    assert_eq!(inspect[0]["sandbox"], sb.id.as_str());
    assert_eq!(env.engine.sandbox_containers(&sb.id).unwrap().len(), 3);

    // A pod's container that ran does not start again (the agent makes a
    // new one); a running one is left running.
    let out = env.skiff(&["start", &client.id]);
    let err = common::failed(&out, "start of an exited pod container");
    assert!(err.contains("create a new one"), "{err}");
    env.ok(&["start", &server.id]);
    assert_eq!(
        env.engine.load(&server.id).unwrap().state.pid,
        server.state.pid
    );

    let containers = env.engine.sandbox_containers(&sb.id).unwrap();
    env.engine.remove_sandbox(&sb.id).unwrap();
    assert_sandbox_gone(&env, &sb, &containers);
    // Again, after it is gone: nothing to do.
    env.engine.remove_sandbox(&sb.id).unwrap();
    assert!(env.engine.list().unwrap().is_empty());
}

#[test]
fn memory_limit_oom_kill_is_recorded() {
    let env = Env::new();
    let sb = env.engine.create_sandbox(env.config("oom-0")).unwrap();
    let hog = env.run(
        &sb,
        PodContainerOptions {
            resources: PodResources {
                memory_limit: Some(16 << 20),
                ..Default::default()
            },
            ..opts(
                "k8s_hog_oom-0_default_1_0",
                &["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
            )
        },
    );
    // The limit is on the container's cgroup, under the pod's.
    let rel = format!(
        "{}/{}",
        sb.config.cgroup_parent.trim_start_matches('/'),
        hog.id
    );
    let done = env.wait_exited(&hog.id);
    assert_eq!(done.state.exit_code, Some(137), "{}", env.logs(&hog.id));
    assert!(done.state.oom_killed, "oom_killed recorded");
    let inspect: Value = serde_json::from_str(&env.ok(&["inspect", &hog.id])).unwrap();
    assert_eq!(inspect[0]["state"]["oom_killed"], true);
    // The monitor removed the container's cgroup after reading it.
    for m in cgroup_mounts() {
        assert!(!m.join(&rel).exists(), "{} left", m.join(&rel).display());
    }
    let containers = env.engine.sandbox_containers(&sb.id).unwrap();
    env.engine.remove_sandbox(&sb.id).unwrap();
    assert_sandbox_gone(&env, &sb, &containers);
}

#[test]
fn failed_sandbox_creation_leaves_nothing() {
    // A /30 has one address for a pod: the second sandbox fails at IPAM,
    // after its namespaces were made.
    let env = Env::with_subnet(Some(30));
    let mut bad = env.config("bad");
    bad.subnet = "10.252.0.1/24".into();
    let e = env.engine.create_sandbox(bad).unwrap_err().to_string();
    assert!(e.contains("subnet"), "{e}");
    let mut bad = env.config("bad");
    bad.hostname = "no spaces".into();
    let e = env.engine.create_sandbox(bad).unwrap_err().to_string();
    assert!(e.starts_with("hostname"), "{e}");
    assert!(env.engine.list_sandboxes().unwrap().is_empty());

    let first = env.engine.create_sandbox(env.config("first")).unwrap();
    let mounts_before = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let base = env.dir.path().display().to_string();
    let count = |info: &str| info.lines().filter(|l| l.contains(&base)).count();
    let err = env
        .engine
        .create_sandbox(env.config("second"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no IP addresses available"), "{err}");
    let sandboxes: Vec<_> = fs::read_dir(env.data().join("sandboxes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sandboxes, vec![first.id.clone()], "only the first is left");
    let pins: Vec<_> = fs::read_dir(env.run_dir().join("sandboxes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pins, vec![first.id.clone()]);
    let mounts_after = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(count(&mounts_after), count(&mounts_before), "no new mount");
    let attached = Command::new("ip")
        .args(["-o", "link", "show", "master", &env.bridge])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&attached.stdout).lines().count(),
        1,
        "only the first sandbox's veth"
    );
    for m in cgroup_mounts() {
        assert!(!m.join(&env.cgroup_root).join("pod-second").exists());
    }
    env.engine.remove_sandbox(&first.id).unwrap();
    assert_sandbox_gone(&env, &first, &[]);
}

#[test]
fn start_restarts_plain_containers() {
    let env = Env::new();
    let id = env.ok(&[
        "run", "-d", "--name", "again", IMAGE, "sh", "-c", "echo ran",
    ]);
    let id = id.trim();
    let first = env.wait_exited(id);
    assert_eq!(first.state.exit_code, Some(0));
    assert!(first.state.network_released);
    assert_eq!(env.ok(&["start", "again"]).trim(), "again");
    let second = env.wait_exited(id);
    assert_eq!(second.state.exit_code, Some(0));
    assert_eq!(env.logs("again"), "ran\nran\n");
    assert!(second.state.network_released);
    env.ok(&["rm", "again"]);
    assert!(env.engine.list().unwrap().is_empty());
}

#[test]
fn host_network_sandbox_and_security_options() {
    let env = Env::new();
    let mut cfg = env.config("hostnet-0");
    cfg.host_network = true;
    cfg.host_aliases = vec![skiff_engine::HostAlias {
        ip: "192.0.2.8".into(),
        hostnames: vec!["extra".into()],
    }];
    let sb = env.engine.create_sandbox(cfg).unwrap();
    assert!(sb.netns.is_none() && sb.net.is_none() && sb.ip.is_none());
    let c = env.run(
        &sb,
        PodContainerOptions {
            user: Some((1000, Some(1001))),
            supplemental_groups: vec![2000],
            read_only_rootfs: true,
            ..opts(
                "k8s_sec_hostnet-0_default_1_0",
                &[
                    "sh",
                    "-c",
                    "id; touch /x 2>/dev/null || echo read-only; hostname; cat /etc/hosts; \
                     readlink /proc/self/ns/net",
                ],
            )
        },
    );
    let done = env.wait_exited(&c.id);
    let log = env.logs(&c.id);
    assert_eq!(done.state.exit_code, Some(0), "{log}");
    assert!(
        log.starts_with("uid=1000 gid=1001 groups=1001,2000\n"),
        "{log}"
    );
    assert!(log.contains("read-only\nhostnet-0\n"), "{log}");
    assert!(
        log.contains("# Kubernetes-managed hosts file (host network).\n"),
        "{log}"
    );
    assert!(log.contains("192.0.2.8\textra\n"), "{log}");
    let host_net = fs::read_link("/proc/self/ns/net").unwrap();
    assert!(
        log.contains(&format!("{}\n", host_net.display())),
        "the host's network namespace: {log}"
    );

    // Root with the default capability set, minus one dropped.
    let caps = env.run(
        &sb,
        PodContainerOptions {
            capabilities_drop: vec!["NET_RAW".into()],
            ..opts(
                "k8s_caps_hostnet-0_default_1_0",
                &["cat", "/proc/self/status"],
            )
        },
    );
    env.wait_exited(&caps.id);
    let status = env.logs(&caps.id);
    assert!(status.contains("CapBnd:\t00000000a80405fb\n"), "{status}");

    let containers = env.engine.sandbox_containers(&sb.id).unwrap();
    env.engine.remove_sandbox(&sb.id).unwrap();
    assert_sandbox_gone(&env, &sb, &containers);
}
