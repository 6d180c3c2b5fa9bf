//! podman drives skiff as its OCI runtime (`--runtime skiff-runc`), with a
//! busybox image imported into a private podman store.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;

/// A private podman store plus a `skiff-runc` link to the binary under test.
struct Podman {
    store: PrivatePodman,
    runtime: PathBuf,
}

impl Podman {
    fn new() -> Podman {
        let store = PrivatePodman::new("skiff-podman-");
        let bin = store.dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let runtime = bin.join("skiff-runc");
        std::os::unix::fs::symlink(skiff_bin(), &runtime).expect("link skiff-runc");
        Podman { store, runtime }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.store.run(args)
    }

    fn runtime_flag(&self) -> String {
        format!("--runtime={}", self.runtime.display())
    }

    /// Import a busybox image built from busybox-static as localhost/skiff-bb.
    fn import_busybox(&self) -> &'static str {
        let rootfs = self.store.dir.path().join("image");
        let bundle = skiff_runtime::bench::busybox_bundle(&rootfs, &["true"]).expect("rootfs");
        let tar = self.store.dir.path().join("bb.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(bundle.join("rootfs"))
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("tar");
        assert!(status.success());
        let out = self.run(&[
            "import",
            "-q",
            tar.to_str().expect("utf8"),
            "localhost/skiff-bb:latest",
        ]);
        assert_ok(&out, "podman import");
        "localhost/skiff-bb:latest"
    }
}

const ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

#[test]
fn podman_runs_containers_through_skiff() {
    let p = Podman::new();
    let image = p.import_busybox();
    let rt = p.runtime_flag();

    let mut args = vec!["run", "--rm", rt.as_str(), "--network", "none"];
    args.extend(ULIMITS);
    args.extend([image, "echo", "hi"]);
    let out = p.run(&args);
    assert_ok(&out, "podman run --rm");
    assert_eq!(stdout(&out), "hi\n");

    let name = unique_id("pod");
    let mut args = vec![
        "run",
        "-d",
        "--name",
        name.as_str(),
        rt.as_str(),
        "--network",
        "none",
    ];
    args.extend(ULIMITS);
    args.extend([image, "sleep", "1000"]);
    assert_ok(&p.run(&args), "podman run -d");
    let ps = p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        stdout(&ps).contains(&format!("{name} Up")),
        "{}",
        stdout(&ps)
    );

    let exec = p.run(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo exec-ok; cat /proc/1/cmdline",
    ]);
    assert_ok(&exec, "podman exec");
    assert!(
        stdout(&exec).starts_with("exec-ok\nsleep"),
        "{}",
        stdout(&exec)
    );
    // -t: the pty comes back to conmon over the console socket.
    let tty = p.run(&["exec", "-t", &name, "tty"]);
    assert_ok(&tty, "podman exec -t");
    assert!(stdout(&tty).starts_with("/dev/pts/"), "{}", stdout(&tty));
    // The container's processes really run under skiff: its state dir names it.
    let inspect = p.run(&["inspect", "--format", "{{.OCIRuntime}}", &name]);
    assert!(
        stdout(&inspect).contains("skiff-runc"),
        "{}",
        stdout(&inspect)
    );

    assert_ok(&p.run(&["stop", "-t", "1", &name]), "podman stop");
    let ps = p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        stdout(&ps).contains(&format!("{name} Exited")),
        "{}",
        stdout(&ps)
    );
    assert_ok(&p.run(&["rm", &name]), "podman rm");
    let ps = p.run(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!stdout(&ps).contains(&name), "{}", stdout(&ps));

    // A failing command's exit code comes back through podman.
    let mut args = vec!["run", "--rm", rt.as_str(), "--network", "none"];
    args.extend(ULIMITS);
    args.extend([image, "sh", "-c", "exit 42"]);
    assert_eq!(p.run(&args).status.code(), Some(42));
}
