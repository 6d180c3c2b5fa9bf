//! End-to-end tests of `skiff ns ls` and `skiff ns enter` through the real
//! binary, against namespaces made with `ip netns`, `unshare` and bind mounts,
//! and compared with util-linux `lsns` and `nsenter`. They run as root (as CI
//! does); everything they create is removed by guards, also on failure.

mod common;

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the namespace tests create namespaces and mounts: run them as root"
    );
}

/// `skiff <args>` with stdin closed.
fn skiff(args: &[&str]) -> Output {
    let mut cmd = Command::new(skiff_bin());
    cmd.args(args).stdin(Stdio::null());
    output_via_files(cmd)
}

fn skiff_json(args: &[&str]) -> Value {
    let out = skiff(args);
    assert_ok(&out, &format!("skiff {}", args.join(" ")));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(&out)))
}

fn ls() -> Vec<Value> {
    skiff_json(&["ns", "ls", "--json"])["namespaces"]
        .as_array()
        .expect("namespaces array")
        .clone()
}

fn find(list: &[Value], ino: u64) -> Option<&Value> {
    list.iter().find(|n| n["ns"].as_u64() == Some(ino))
}

fn ns_ino(pid: i32, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{kind}: {e}"))
        .ino()
}

fn own_ino(kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .expect("own ns")
        .ino()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A process started by a test; it and its descendants are killed and reaped
/// on drop. Descendants go first so none is left to be adopted elsewhere.
struct Proc(Child, bool);

impl Proc {
    fn spawn(program: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new(program);
        cmd.args(args);
        Proc::start(cmd)
    }

    fn start(mut cmd: Command) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc(child, false)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// Wait until this process has left our namespace of `kind`.
    fn wait_unshared(&self, kind: &str) -> &Proc {
        let pid = self.pid();
        wait_for(&format!("pid {pid} to unshare {kind}"), || {
            std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
                .map(|m| m.ino() != own_ino(kind))
                .unwrap_or(false)
        });
        self
    }

    fn kill(&mut self) {
        // Once reaped, the PID may belong to someone else: never signal it again.
        if self.1 {
            return;
        }
        kill_tree(self.pid());
        let _ = self.0.kill();
        let _ = self.0.wait();
        self.1 = true;
    }
}

fn kill_tree(pid: i32) {
    for c in children_of(pid) {
        kill_tree(c);
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c), nix::sys::signal::SIGKILL);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `ip netns add NAME`, deleted on drop.
struct Netns(String);

impl Netns {
    fn add(name: String) -> Netns {
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip");
        assert!(st.success(), "ip netns add {name} failed");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Something mounted by the test; detached on drop.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// A bind mount of a namespace file onto a fresh file; unmounted on drop.
struct Bind(PathBuf);

impl Bind {
    fn new(source: &str, target: PathBuf) -> Bind {
        std::fs::write(&target, b"").expect("mount point");
        nix::mount::mount(
            Some(source),
            &target,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("bind {source} on {}: {e}", target.display()));
        Bind(target)
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&self.0);
    }
}

fn holders(n: &Value) -> Vec<Value> {
    n["holders"].as_array().cloned().unwrap_or_default()
}

/// Every (inode, type) that `lsns --json` lists must be in skiff's output.
/// A namespace of a process that exited in between is not held against us:
/// it is re-checked against a fresh listing and against /proc.
fn assert_covers_lsns(ours: &[Value]) -> HashSet<u64> {
    let out = Command::new("lsns")
        .arg("--json")
        .output()
        .expect("run lsns (util-linux)");
    assert!(
        out.status.success(),
        "lsns failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("lsns JSON");
    let theirs = theirs["namespaces"]
        .as_array()
        .expect("lsns namespaces")
        .clone();
    assert!(!theirs.is_empty());
    let mut again: Option<Vec<Value>> = None;
    let mut seen = HashSet::new();
    for t in &theirs {
        let ino = t["ns"].as_u64().expect("lsns ns");
        let kind = t["type"].as_str().expect("lsns type");
        seen.insert(ino);
        if let Some(n) = find(ours, ino) {
            assert_eq!(n["type"], kind, "type of {ino}");
            continue;
        }
        let fresh = again.get_or_insert_with(ls);
        if find(fresh, ino).is_some() {
            continue;
        }
        let pid = t["pid"].as_i64().unwrap_or(0) as i32;
        let still_there = std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
            .map(|m| m.ino() == ino)
            .unwrap_or(false);
        assert!(
            !still_there,
            "lsns lists {kind}:[{ino}] (pid {pid}) and it still exists, but skiff ns ls does not"
        );
    }
    seen
}

#[test]
fn ls_finds_every_kind_of_holder_and_more_than_lsns() {
    require_root();
    let tmp = tempfile::Builder::new()
        .prefix("skiff-ns-")
        .tempdir()
        .expect("tempdir");

    // 1. A netns made with `ip netns add`.
    let netns = Netns::add(unique_id("skiff-ns"));
    let netns_ino = std::fs::metadata(format!("/run/netns/{}", netns.0))
        .expect("netns file")
        .ino();

    // 2. A process in new pid, uts and mnt namespaces.
    let boxed = Proc::spawn(
        "unshare",
        &[
            "--pid",
            "--uts",
            "--mount",
            "--fork",
            "--kill-child",
            "sleep",
            "600",
        ],
    );
    boxed.wait_unshared("uts");
    let mut inner = 0;
    wait_for("the forked child of unshare", || {
        inner = children_of(boxed.pid()).first().copied().unwrap_or(0);
        inner > 0 && ns_ino(inner, "pid") != own_ino("pid")
    });
    let (pid_ino, uts_ino, mnt_ino) = (
        ns_ino(inner, "pid"),
        ns_ino(inner, "uts"),
        ns_ino(inner, "mnt"),
    );

    // 3. A netns held only by fd 3 of a sleeping process.
    let mut owner = Proc::spawn("unshare", &["--net", "sleep", "600"]);
    owner.wait_unshared("net");
    let fd_ino = ns_ino(owner.pid(), "net");
    let holder = Proc::spawn(
        "sh",
        &[
            "-c",
            &format!("exec sleep 600 3</proc/{}/ns/net", owner.pid()),
        ],
    );
    let holder_pid = holder.pid();
    wait_for("the fd holder to exec sleep", || {
        std::fs::read_link(format!("/proc/{holder_pid}/fd/3"))
            .map(|l| l == Path::new(&format!("net:[{fd_ino}]")))
            .unwrap_or(false)
            && std::fs::read_to_string(format!("/proc/{holder_pid}/comm")).unwrap_or_default()
                == "sleep\n"
    });
    owner.kill();

    // 4. A netns held only by a bind mount outside /run/netns.
    let mut bound = Proc::spawn("unshare", &["--net", "sleep", "600"]);
    bound.wait_unshared("net");
    let bind_ino = ns_ino(bound.pid(), "net");
    let bind = Bind::new(
        &format!("/proc/{}/ns/net", bound.pid()),
        tmp.path().join("net"),
    );
    bound.kill();

    // 5. A user namespace that only owns another namespace: its net namespace
    // is bind-mounted, its process is gone.
    let mut userp = Proc::spawn("unshare", &["--user", "--net", "sleep", "600"]);
    userp.wait_unshared("user");
    let (user_ino, owned_ino) = (ns_ino(userp.pid(), "user"), ns_ino(userp.pid(), "net"));
    let owned = Bind::new(
        &format!("/proc/{}/ns/net", userp.pid()),
        tmp.path().join("owned"),
    );
    userp.kill();

    // 6. A netns bind-mounted inside a mount namespace that no process is in
    // (itself held by a bind mount on a private tmpfs, as the kernel requires).
    let private = tmp.path().join("private");
    std::fs::create_dir(&private).expect("mkdir");
    nix::mount::mount(
        Some("none"),
        &private,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("tmpfs");
    let private_guard = Mounted(private.clone());
    nix::mount::mount(
        None::<&str>,
        &private,
        None::<&str>,
        nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make private");
    let mut nested = Proc::spawn("unshare", &["--net", "sleep", "600"]);
    nested.wait_unshared("net");
    let nested_ino = ns_ino(nested.pid(), "net");
    let mnt_file = private.join("mnt");
    let inner_file = tmp.path().join("inner");
    std::fs::write(&mnt_file, b"").expect("mnt file");
    std::fs::write(&inner_file, b"").expect("inner file");
    let st = Command::new("unshare")
        .arg(format!("--mount={}", mnt_file.display()))
        .args(["mount", "--bind"])
        .arg(format!("/proc/{}/ns/net", nested.pid()))
        .arg(&inner_file)
        .status()
        .expect("unshare --mount=FILE");
    let mnt_guard = Mounted(mnt_file.clone());
    assert!(
        st.success(),
        "bind inside a persistent mount namespace failed"
    );
    let hidden_mnt = std::fs::metadata(&mnt_file).expect("mnt ns file").ino();
    nested.kill();

    let ours = ls();
    let get = |ino: u64, what: &str| -> Value {
        find(&ours, ino)
            .unwrap_or_else(|| panic!("{what} ({ino}) is missing from skiff ns ls"))
            .clone()
    };

    let n = get(netns_ino, "ip netns");
    assert_eq!(n["type"], "net");
    assert_eq!(n["held_by"], format!("/run/netns/{}", netns.0), "{n}");

    let p = get(pid_ino, "unshare'd pid ns");
    assert_eq!(p["type"], "pid");
    assert_eq!(p["pid"], inner);
    assert_eq!(p["nprocs"], 1);
    assert_eq!(holders(&p)[0], json!({"kind": "process", "pid": inner}));
    assert_eq!(p["parent"], own_ino("pid"), "pid ns nests in the host's");
    for (ino, kind) in [(uts_ino, "uts"), (mnt_ino, "mnt")] {
        let x = get(ino, kind);
        assert_eq!(x["type"], kind);
        // `unshare` itself moved into them before forking the sleeper.
        assert_eq!(x["pid"], boxed.pid(), "{x}");
        assert_eq!(x["nprocs"], 2, "{x}");
    }

    let f = get(fd_ino, "fd-held netns");
    assert_eq!(f["type"], "net");
    assert_eq!(f["nprocs"], 0);
    assert_eq!(f["held_by"], format!("fd 3 of {holder_pid}"));
    assert_eq!(
        holders(&f),
        vec![json!({"kind": "fd", "pid": holder_pid, "fd": 3})]
    );

    let b = get(bind_ino, "bind-mounted netns");
    assert_eq!(b["type"], "net");
    assert_eq!(b["nprocs"], 0);
    assert_eq!(b["held_by"], bind.0.display().to_string());
    assert_eq!(holders(&b)[0]["kind"], "bind-mount");
    assert_eq!(holders(&b)[0]["mntns"], own_ino("mnt"));

    let o = get(owned_ino, "netns owned by a processless user ns");
    assert_eq!(o["owner"], user_ino);
    assert_eq!(o["held_by"], owned.0.display().to_string());
    let u = get(user_ino, "user ns found only as an owner");
    assert_eq!(u["type"], "user");
    assert_eq!(u["nprocs"], 0);
    assert_eq!(u["parent"], own_ino("user"));
    assert_eq!(
        holders(&u),
        vec![json!({"kind": "owner", "of": owned_ino, "of_type": "net"})]
    );
    assert_eq!(u["held_by"], format!("owner of net:[{owned_ino}]"));
    assert_eq!(u["user"], "root");

    let m = get(hidden_mnt, "processless mnt ns");
    assert_eq!(m["type"], "mnt");
    assert_eq!(m["held_by"], mnt_file.display().to_string());
    let x = get(nested_ino, "netns bound inside it");
    assert_eq!(x["nprocs"], 0);
    assert_eq!(
        holders(&x),
        vec![
            json!({"kind": "bind-mount", "path": inner_file.display().to_string(), "mntns": hidden_mnt})
        ]
    );
    assert_eq!(
        x["held_by"],
        format!("{} in mnt:[{hidden_mnt}]", inner_file.display())
    );

    // lsns: everything it lists, skiff lists; the hidden ones it misses.
    let lsns_saw = assert_covers_lsns(&ours);
    let created = [
        ("ip netns", netns_ino),
        ("pid", pid_ino),
        ("uts", uts_ino),
        ("mnt", mnt_ino),
        ("fd-held net", fd_ino),
        ("bind-mounted net", bind_ino),
        ("owned net", owned_ino),
        ("owner-only user", user_ino),
        ("processless mnt", hidden_mnt),
        ("net bound in it", nested_ino),
    ];
    let missed: Vec<&str> = created
        .iter()
        .filter(|(_, ino)| !lsns_saw.contains(ino))
        .map(|(what, _)| *what)
        .collect();
    eprintln!("lsns missed: {missed:?}");
    for hidden in ["fd-held net", "owner-only user", "net bound in it"] {
        assert!(
            missed.contains(&hidden),
            "the classic /proc/PID/ns scan cannot see the {hidden} namespace, yet lsns listed it"
        );
    }

    // --tree: the processless user ns owns the net ns; pid ns nest.
    let tree = skiff_json(&["ns", "ls", "--json", "--tree"]);
    let host_user = tree["ownership"]
        .as_array()
        .expect("ownership")
        .iter()
        .find(|n| n["ns"] == own_ino("user"))
        .expect("host user ns is a root of the ownership tree");
    let sub = host_user["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|n| n["ns"] == user_ino)
        .expect("user ns under the host's");
    assert_eq!(sub["children"][0]["ns"], owned_ino);
    let host_pid = tree["pid_nesting"]
        .as_array()
        .expect("pid_nesting")
        .iter()
        .find(|n| n["ns"] == own_ino("pid"))
        .expect("host pid ns");
    let nested: Vec<&Value> = host_pid["children"]
        .as_array()
        .expect("children")
        .iter()
        .collect();
    assert!(nested.iter().any(|n| n["ns"] == pid_ino), "{host_pid}");

    let table = skiff(&["ns", "ls", "--tree"]);
    assert_ok(&table, "ls --tree");
    let text = stdout(&table);
    assert!(text.contains(&format!("└─{owned_ino} net")), "{text}");

    // --type filters.
    let only = skiff_json(&["ns", "ls", "--json", "--type", "net,uts"]);
    let kinds: HashSet<&str> = only["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert_eq!(kinds, HashSet::from(["net", "uts"]));

    drop((holder, boxed, bind, owned, netns, mnt_guard, private_guard));
}

#[test]
fn ls_finds_namespaces_only_a_thread_holds() {
    require_root();
    let (tx, rx) = mpsc::channel::<(u64, u64)>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        // Only this thread moves: the rest of the test process stays put. A new
        // time namespace applies to children only, so it is held solely as
        // this thread's time_for_children.
        let flags = nix::sched::CloneFlags::CLONE_NEWNET
            | nix::sched::CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        nix::sched::unshare(flags).expect("unshare net and time in a thread");
        let ino = |p: &str| std::fs::metadata(p).expect(p).ino();
        tx.send((
            ino("/proc/thread-self/ns/net"),
            ino("/proc/thread-self/ns/time_for_children"),
        ))
        .expect("send");
        let _ = done_rx.recv();
    });
    let (net, time) = rx.recv().expect("thread namespaces");
    let guard = ThreadDone(Some(done_tx), Some(t));
    assert_ne!(time, own_ino("time"));
    let ours = ls();
    let me = std::process::id() as i64;
    let n = find(&ours, net).unwrap_or_else(|| panic!("thread-only netns {net} missing"));
    assert_eq!(n["type"], "net");
    assert_eq!(n["nprocs"], 1);
    assert_eq!(n["pid"], me);
    assert_eq!(holders(n)[0]["kind"], "thread", "{n}");
    assert_eq!(holders(n)[0]["pid"], me);
    let c = find(&ours, time).unwrap_or_else(|| panic!("unentered time ns {time} missing"));
    assert_eq!(c["type"], "time");
    assert_eq!(c["nprocs"], 0);
    assert_eq!(holders(c), vec![json!({"kind": "children", "pid": me})]);
    assert_eq!(c["held_by"], format!("children of {me}"));
    drop(guard);
}

/// Lets the namespace thread end (and its namespace go) even if a check fails.
struct ThreadDone(
    Option<mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for ThreadDone {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn enter_net_prints_what_nsenter_prints() {
    require_root();
    let target = Proc::spawn("unshare", &["--net", "sleep", "600"]);
    target.wait_unshared("net");
    let pid = target.pid().to_string();
    let setup = Command::new("nsenter")
        .args(["-t", &pid, "-n", "sh", "-c"])
        .arg("ip link set lo up && ip addr add 10.201.7.1/24 dev lo && ip -6 addr add fd00:5:1::1/64 dev lo")
        .status()
        .expect("nsenter");
    assert!(setup.success(), "setting up the netns failed");
    let ours = skiff(&["ns", "enter", "-t", &pid, "-n", "ip", "-o", "addr"]);
    assert_ok(&ours, "skiff ns enter");
    let theirs = Command::new("nsenter")
        .args(["-t", &pid, "-n", "ip", "-o", "addr"])
        .output()
        .expect("nsenter");
    assert!(theirs.status.success());
    assert_eq!(stdout(&ours), String::from_utf8_lossy(&theirs.stdout));
    assert!(stdout(&ours).contains("10.201.7.1/24"), "{}", stdout(&ours));

    // The same namespace through a file, with `--` and a matching flag.
    let by_path = skiff(&[
        "ns",
        "enter",
        "--path",
        &format!("/proc/{pid}/ns/net"),
        "-n",
        "--",
        "ip",
        "-o",
        "addr",
    ]);
    assert_ok(&by_path, "enter --path");
    assert_eq!(stdout(&by_path), stdout(&ours));
}

#[test]
fn enter_pid_namespace_forks_and_mount_takes_root_and_cwd() {
    require_root();
    let tmp = tempfile::Builder::new()
        .prefix("skiff-ns-cwd-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--pid",
        "--mount",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "sleep",
        "600",
    ])
    .current_dir(tmp.path());
    let boxed = Proc::start(cmd);
    let mut inner = 0;
    wait_for("the forked sleeper", || {
        inner = children_of(boxed.pid()).first().copied().unwrap_or(0);
        inner > 0
            && std::fs::read_to_string(format!("/proc/{inner}/comm")).unwrap_or_default()
                == "sleep\n"
    });
    let ipid = inner.to_string();

    // -p alone: the command is a child inside the pid namespace.
    let out = skiff(&[
        "ns",
        "enter",
        "-t",
        &ipid,
        "-p",
        "readlink",
        "/proc/self/ns/pid",
    ]);
    assert_ok(&out, "enter -p");
    assert_eq!(
        stdout(&out).trim(),
        format!("pid:[{}]", ns_ino(inner, "pid"))
    );

    // -p -m: its /proc is the namespace's own, and we stand where it stands.
    let out = skiff(&[
        "ns",
        "enter",
        "-t",
        &ipid,
        "-p",
        "-m",
        "sh",
        "-c",
        "echo $$; cat /proc/1/comm; pwd; exit 7",
    ]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "exit status is passed on: {}",
        stderr(&out)
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    let inside_pid: i32 = lines[0].parse().expect("pid");
    assert!(
        inside_pid > 1 && inside_pid < 100,
        "pid inside the new namespace: {lines:?}"
    );
    assert_eq!(lines[1], "sleep");
    assert_eq!(Path::new(&lines[2]), tmp.path());
    drop(boxed);
}

#[test]
fn enter_and_label_a_running_container() {
    require_root();
    let b = TestBundle::new("nsenter", &["sleep", "600"]);
    b.edit(|c| {
        c["hostname"] = json!("skiff-ns-box");
        c["process"]["cwd"] = json!("/tmp");
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
    let root = b.root.to_str().expect("utf8").to_string();
    let init = b.state()["pid"].as_i64().expect("pid") as i32;

    let out = skiff(&[
        "ns",
        "enter",
        "--root",
        &root,
        "--container",
        &b.id,
        "--",
        "sh",
        "-c",
        "pwd; hostname; cat /proc/1/comm; ls /",
    ]);
    assert_ok(&out, "enter --container");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..3], ["/tmp", "skiff-ns-box", "sleep"], "{text}");
    assert!(lines.contains(&"bin"), "the container's rootfs: {text}");
    assert!(
        !lines.contains(&"work"),
        "the host's root leaked in: {text}"
    );

    // Picking types still works by container id.
    let out = skiff(&[
        "ns",
        "enter",
        "--root",
        &root,
        "--container",
        &b.id,
        "-u",
        "hostname",
    ]);
    assert_ok(&out, "enter --container -u");
    assert_eq!(stdout(&out).trim(), "skiff-ns-box");

    // The container's namespaces carry its id; the host's do not.
    let list = skiff_json(&["ns", "ls", "--json", "--root", &root])["namespaces"]
        .as_array()
        .expect("namespaces")
        .clone();
    for kind in ["pid", "uts", "mnt", "net", "ipc"] {
        let ino = ns_ino(init, kind);
        let n = find(&list, ino).unwrap_or_else(|| panic!("container {kind} ns missing"));
        assert_eq!(n["containers"], json!([b.id]), "{n}");
    }
    let host = find(&list, own_ino("net")).expect("host net");
    assert_eq!(host["containers"], json!([]));
    let table = skiff(&["ns", "ls", "--root", &root]);
    assert!(stdout(&table).contains("CONTAINER"), "{}", stdout(&table));
    assert!(stdout(&table).contains(&b.id), "{}", stdout(&table));

    let missing = skiff(&[
        "ns",
        "enter",
        "--root",
        &root,
        "--container",
        "no-such-box",
        "true",
    ]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("cannot find container no-such-box"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn enter_rejects_bad_targets_clearly() {
    require_root();
    let cases: [(&[&str], &str); 6] = [
        (
            &["-t", "4194305", "-n", "true"],
            "no process with PID 4194305",
        ),
        (
            &["--path", "/nonexistent/skiff-ns", "true"],
            "/nonexistent/skiff-ns does not exist",
        ),
        (
            &["--path", "/proc/self/ns/uts", "-n", "true"],
            "is a uts namespace, not net (-n)",
        ),
        (
            &["--path", "/etc/hostname", "true"],
            "/etc/hostname is not a namespace file",
        ),
        (&["-t", "1", "true"], "nothing to enter"),
        (
            &[
                "-t",
                &std::process::id().to_string(),
                "-n",
                "skiff-no-such-command",
            ],
            "cannot run `skiff-no-such-command`",
        ),
    ];
    for (args, message) in cases {
        let mut full = vec!["ns", "enter"];
        full.extend_from_slice(args);
        let out = skiff(&full);
        assert!(!out.status.success(), "{full:?} succeeded");
        assert!(stderr(&out).contains(message), "{full:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let out = skiff(&[
        "ns",
        "enter",
        "-t",
        &std::process::id().to_string(),
        "-n",
        "skiff-no-such-command",
    ]);
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn unprivileged_ls_shows_what_it_can_and_says_what_it_cannot() {
    require_root();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ])
    .arg(skiff_bin())
    .args(["ns", "ls", "--json"])
    .stdin(Stdio::null());
    let out = output_via_files(cmd);
    assert_ok(&out, "unprivileged ls");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let list = v["namespaces"].as_array().expect("namespaces");
    // It always sees its own namespaces (the host's here).
    for kind in ["net", "mnt", "user"] {
        let ino = own_ino(kind);
        assert!(find(list, ino).is_some(), "own {kind} ns missing");
    }
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap_or("")
            .contains("could not read the namespaces of")),
        "{warnings:?}"
    );
    let err = stderr(&out);
    assert!(err.contains("skiff: warning: could not read"), "{err}");
    assert!(err.contains("Run as root"), "{err}");
}

#[test]
fn unprivileged_owner_enters_its_user_and_net_namespaces() {
    require_root();
    let nobody = [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ];
    let mut cmd = Command::new("setpriv");
    cmd.args(nobody).args([
        "unshare",
        "--user",
        "--map-root-user",
        "--net",
        "sleep",
        "600",
    ]);
    let target = Proc::start(cmd);
    let pid = target.pid();
    // setpriv and unshare exec in place, so the PID is the sleeper's.
    wait_for("the unprivileged user namespace", || {
        std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .map(|m| m.ino() != own_ino("net"))
            .unwrap_or(false)
    });
    let mut cmd = Command::new("setpriv");
    cmd.args(nobody)
        .arg(skiff_bin())
        .args([
            "ns",
            "enter",
            "-t",
            &pid.to_string(),
            "-U",
            "-n",
            "sh",
            "-c",
        ])
        .arg("id -u; readlink /proc/self/ns/net")
        .stdin(Stdio::null());
    let out = output_via_files(cmd);
    assert_ok(&out, "unprivileged enter");
    // The net namespace is refused until the user namespace is entered, then
    // joined on the retry; inside, the caller is root.
    assert_eq!(stdout(&out), format!("0\nnet:[{}]\n", ns_ino(pid, "net")));
    drop(target);
}
