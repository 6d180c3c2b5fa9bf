//! End-to-end tests of `skiff load/save` (docker-save archives) and `skiff
//! image import/export` (OCI layouts) against the real peers, as root:
//! podman writes the docker archive, skopeo the OCI layout, umoci, skopeo
//! and podman read what skiff writes. Also: hostile archives leave the
//! store as it was, and images used by containers survive `rmi` and
//! `image prune`. Every test has its own data and run dirs and a Drop guard
//! that removes containers, mounts and podman stores even when it fails.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use skiff_image::manifest::Compression;
use skiff_image::synth::{self, RawTar, SynthImage};

use common::{assert_ok, output_via_files, skiff_bin, stdout, PrivatePodman};

/// `bb.tar` (podman's docker-archive of localhost/bb:1, a busybox rootfs)
/// and `layout/` (skopeo's OCI layout of it), made once per test run.
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Fixtures of earlier runs whose test process is gone.
        for e in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("archives-fixture-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("archives-fixture-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let bundle = skiff_runtime::bench::busybox_bundle(&dir.join("image"), &["true"])
            .expect("busybox rootfs");
        let rootfs_tar = dir.join("rootfs.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(bundle.join("rootfs"))
            .arg("-cf")
            .arg(&rootfs_tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success(), "tar the rootfs");
        fs::remove_dir_all(dir.join("image")).unwrap();
        let podman = PrivatePodman::new("skiff-archives-podman-");
        let out = podman.run(&[
            "import",
            "-q",
            rootfs_tar.to_str().unwrap(),
            "localhost/bb:1",
        ]);
        assert_ok(&out, "podman import");
        let bb = dir.join("bb.tar");
        let out = podman.run(&[
            "save",
            "--format",
            "docker-archive",
            "-o",
            bb.to_str().unwrap(),
            "localhost/bb:1",
        ]);
        assert_ok(&out, "podman save");
        let out = Command::new("skopeo")
            .arg("copy")
            .arg(format!("docker-archive:{}", bb.display()))
            .arg(format!("oci:{}:bb", dir.join("layout").display()))
            .output()
            .unwrap();
        assert_ok(&out, "skopeo copy to an OCI layout");
        dir
    })
}

/// One test's data and run dirs; removes containers and mounts on drop.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("skiff-archives-test-")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// Image tests run containers with `--network none`: networking is not
    /// what they test, and the default bridge would outlive them.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(skiff_bin());
        c.args(args)
            .env("SKIFF_DATA_DIR", self.data())
            .env("SKIFF_RUN_DIR", self.path("run"))
            .stdin(Stdio::null());
        c
    }

    fn skiff(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd(args))
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(&self.skiff(args), &format!("skiff {args:?}"))
    }

    fn fails(&self, args: &[&str]) -> String {
        common::failed(&self.skiff(args), &format!("skiff {args:?}"))
    }

    fn names(&self, dir: &str) -> BTreeSet<String> {
        fs::read_dir(self.data().join(dir))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every path under the data dir except lock files (which may be
    /// created by any command), for before/after comparisons.
    fn listing(&self) -> BTreeSet<String> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if rel.starts_with("locks/") {
                    continue;
                }
                out.insert(rel);
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(root, &p, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.data(), &self.data(), &mut out);
        out
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.names("containers") {
            if !id.starts_with('.') {
                let _ = self.cmd(&["rm", "-f", &id]).output();
            }
        }
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        for mp in info.lines().filter_map(|l| l.split(' ').nth(4)) {
            if mp.starts_with(&base) {
                let _ = Command::new("umount").args(["-l", mp]).status();
            }
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn podman_docker_archive_loads_and_runs() {
    let env = Env::new();
    let bb = fixture().join("bb.tar");
    let out = env.ok(&["load", "-i", path_str(&bb)]);
    assert!(out.contains("Loaded image: localhost/bb:1"), "{out}");
    let images = env.ok(&["images"]);
    assert!(
        images
            .lines()
            .any(|l| l.starts_with("localhost/bb") && l.contains(" 1 ")),
        "{images}"
    );
    assert_eq!(
        env.ok(&[
            "run",
            "--network",
            "none",
            "--rm",
            "localhost/bb:1",
            "echo",
            "hi"
        ]),
        "hi\n"
    );
    // The image id is the config digest podman gave it.
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&bb)
        .arg("manifest.json")
        .output()
        .unwrap();
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let config = m[0]["Config"].as_str().unwrap().trim_end_matches(".json");
    let ids = env.ok(&["images", "-q", "--no-trunc"]);
    assert_eq!(ids.trim(), format!("sha256:{config}"));

    // Loading again from standard input changes nothing.
    let before = env.listing();
    let mut c = env.cmd(&["load", "-q"]);
    c.stdin(fs::File::open(&bb).unwrap());
    let out = c.output().unwrap();
    assert_ok(&out, "skiff load from stdin");
    assert_eq!(stdout(&out), "localhost/bb:1\n");
    let mut after = env.listing();
    after.retain(|p| !p.starts_with("images/"));
    let mut before_no_images = before.clone();
    before_no_images.retain(|p| !p.starts_with("images/"));
    assert_eq!(before_no_images, after);
}

#[test]
fn oci_layout_import_export_and_save_round_trip() {
    let env = Env::new();
    let layout = fixture().join("layout");
    // skopeo names the manifest "bb": not a full name, so --name is needed.
    let e = env.fails(&["image", "import", path_str(&layout)]);
    assert!(e.contains("--name") && e.contains("index.json"), "{e}");
    let out = env.ok(&[
        "image",
        "import",
        path_str(&layout),
        "--name",
        "localhost/bb:oci",
    ]);
    assert!(out.contains("localhost/bb:oci"), "{out}");
    assert_eq!(
        env.ok(&[
            "run",
            "--network",
            "none",
            "--rm",
            "localhost/bb:oci",
            "echo",
            "hi"
        ]),
        "hi\n"
    );

    // Export as a directory and a tar; umoci and skopeo read them.
    let dir = env.path("out-dir");
    let tar = env.path("out.tar");
    env.ok(&["image", "export", "localhost/bb:oci", path_str(&dir)]);
    env.ok(&[
        "image",
        "export",
        "localhost/bb:oci",
        path_str(&tar),
        "--format",
        "oci-tar",
    ]);
    let e = env.fails(&["image", "export", "localhost/bb:oci", path_str(&dir)]);
    assert!(e.contains("already exists"), "{e}");
    let bundle = env.path("umoci-bundle");
    let out = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:oci", dir.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert_ok(&out, "umoci unpack of the exported layout");
    assert!(bundle.join("rootfs/bin/busybox").is_file());
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:oci", tar.display()))
        .output()
        .unwrap();
    assert_ok(&out, "skopeo inspect of the exported tar");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Layers"].as_array().map(|l| l.len()), Some(1), "{v}");

    // The exported tar imports into a fresh store under its own name.
    let other = Env::new();
    let out = other.ok(&["image", "import", path_str(&tar)]);
    assert!(out.contains("localhost/bb:oci"), "{out}");

    // skiff save, then podman load reads it.
    let saved = env.path("saved.tar");
    env.ok(&["save", "-o", path_str(&saved), "localhost/bb:oci"]);
    let podman = PrivatePodman::new("skiff-archives-podman-");
    let out = podman.run(&["load", "-i", path_str(&saved)]);
    assert_ok(&out, "podman load of skiff's archive");
    let out = podman.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        stdout(&out).contains("localhost/bb:oci"),
        "{}",
        stdout(&out)
    );
    // And skiff loads its own archive back.
    other.ok(&["load", "-i", path_str(&saved)]);
    assert_eq!(
        other.ok(&[
            "run",
            "--network",
            "none",
            "--rm",
            "localhost/bb:oci",
            "echo",
            "again"
        ]),
        "again\n"
    );
}

/// A docker-save archive: manifest.json naming `config.json` and `layer`.
fn docker_archive(extra: impl FnOnce(RawTar) -> RawTar, layer_name: &str) -> Vec<u8> {
    let layer = RawTar::new()
        .file("hello", b"hi\n", 0o644)
        .unwrap()
        .finish()
        .unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [skiff_image::Digest::of(&layer).to_string()]},
    });
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": ["localhost/evil:1"], "Layers": [layer_name],
    }]);
    let t = RawTar::new()
        .file("config.json", &serde_json::to_vec(&config).unwrap(), 0o644)
        .unwrap()
        .file("layer.tar", &layer, 0o644)
        .unwrap();
    extra(t)
        .file(
            "manifest.json",
            &serde_json::to_vec(&manifest).unwrap(),
            0o644,
        )
        .unwrap()
        .finish()
        .unwrap()
}

#[test]
fn hostile_inputs_are_refused_and_leave_the_store_unchanged() {
    let env = Env::new();
    env.ok(&["load", "-i", path_str(&fixture().join("bb.tar"))]);
    let before = env.listing();
    let mut cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "traversal",
            docker_archive(|t| t.file("../evil", b"x", 0o644).unwrap(), "layer.tar"),
            vec!["\"../evil\"", "path traversal"],
        ),
        (
            "absolute",
            docker_archive(
                |t| t.file("/tmp/skiff-evil", b"x", 0o644).unwrap(),
                "layer.tar",
            ),
            vec!["\"/tmp/skiff-evil\"", "absolute"],
        ),
        (
            "symlink-escape",
            docker_archive(
                |t| t.symlink("x/layer.tar", "../../etc/passwd").unwrap(),
                "x/layer.tar",
            ),
            vec!["x/layer.tar", "escapes the archive"],
        ),
        (
            "layer-traversal",
            {
                // A layer whose own entries climb out: the unpacker refuses it.
                let layer = RawTar::new()
                    .file("../../pwned", b"x", 0o644)
                    .unwrap()
                    .finish()
                    .unwrap();
                let config = serde_json::json!({
                    "architecture": "amd64", "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": [skiff_image::Digest::of(&layer).to_string()]},
                });
                RawTar::new()
                    .file("c.json", &serde_json::to_vec(&config).unwrap(), 0o644).unwrap()
                    .file("l.tar", &layer, 0o644).unwrap()
                    .file("manifest.json", br#"[{"Config":"c.json","RepoTags":["localhost/evil:2"],"Layers":["l.tar"]}]"#, 0o644).unwrap()
                    .finish().unwrap()
            },
            vec!["../../pwned"],
        ),
        (
            "diffid-mismatch",
            {
                let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}}"#;
                let layer = RawTar::new()
                    .file("a", b"a", 0o644)
                    .unwrap()
                    .finish()
                    .unwrap();
                RawTar::new()
                    .file("c.json", config, 0o644).unwrap()
                    .file("l.tar", &layer, 0o644).unwrap()
                    .file("manifest.json", br#"[{"Config":"c.json","RepoTags":["localhost/evil:3"],"Layers":["l.tar"]}]"#, 0o644).unwrap()
                    .finish().unwrap()
            },
            vec!["rootfs.diff_ids[0]", "nothing was stored"],
        ),
    ];
    // manifest.json over the 4 MiB limit.
    let mut big = RawTar::new();
    big = big
        .file("manifest.json", &vec![b' '; (4 << 20) + 1], 0o644)
        .unwrap();
    cases.push((
        "oversized",
        big.finish().unwrap(),
        vec!["manifest.json", "limit"],
    ));

    for (what, data, expect) in cases {
        let file = env.path(&format!("{what}.tar"));
        fs::write(&file, data).unwrap();
        let e = env.fails(&["load", "-i", path_str(&file)]);
        for x in expect {
            assert!(e.contains(x), "{what}: {x:?} not in: {e}");
        }
        assert_eq!(env.listing(), before, "{what}: the store changed");
    }
    assert!(!env.path("evil").exists() && !Path::new("/tmp/skiff-evil").exists());
    assert!(!Path::new("/pwned").exists());

    // An OCI layout whose layer blob does not match its digest in the
    // manifest, as a directory and as a tar.
    let layer = synth::layer(
        &RawTar::new()
            .file("a", b"a", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        false,
    )
    .unwrap();
    let digest = layer.digest();
    let image = SynthImage::new(vec![layer], "linux", "amd64", serde_json::json!({}), false);
    let layout = env.path("tampered");
    image.write_oci_layout(&layout, "localhost/evil:4").unwrap();
    let blob = layout.join("blobs/sha256").join(digest.hex());
    let mut f = fs::OpenOptions::new().append(true).open(&blob).unwrap();
    f.write_all(b"tampered").unwrap();
    drop(f);
    let e = env.fails(&["image", "import", path_str(&layout)]);
    assert!(
        e.contains(&format!("blobs/sha256/{}", digest.hex())) && e.contains("tampered"),
        "{e}"
    );
    assert_eq!(env.listing(), before, "tampered layout: the store changed");
    let tar = env.path("tampered.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let e = env.fails(&["image", "import", path_str(&tar)]);
    assert!(e.contains(&format!("blobs/sha256/{}", digest.hex())), "{e}");
    let e = env.fails(&["load", "-i", path_str(&tar)]);
    assert!(e.contains("tampered"), "{e}");
    assert_eq!(
        env.listing(),
        before,
        "tampered layout tar: the store changed"
    );
}

#[test]
fn images_used_by_containers_survive_rmi_and_prune() {
    let env = Env::new();
    env.ok(&["load", "-i", path_str(&fixture().join("bb.tar"))]);
    let snapshots = env.names("snapshots");
    let blobs = env.names("content/blobs/sha256");
    assert!(!snapshots.is_empty() && !blobs.is_empty());
    // A stopped container (no --rm) keeps using the image.
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "user1",
        "localhost/bb:1",
        "true",
    ]);

    let e = env.fails(&["rmi", "localhost/bb:1"]);
    assert!(
        e.contains("in use") && e.contains("user1") && e.contains("skiff rm"),
        "{e}"
    );
    env.ok(&["image", "prune"]);
    assert_eq!(env.names("snapshots"), snapshots);
    assert_eq!(env.names("content/blobs/sha256"), blobs);

    // --force removes the name; the layers stay while the container does.
    env.ok(&["rmi", "--force", "localhost/bb:1"]);
    assert!(!env.ok(&["images"]).contains("localhost/bb"));
    env.ok(&["image", "prune"]);
    assert_eq!(env.names("snapshots"), snapshots);
    env.ok(&["inspect", "user1"]);

    // Once the container is gone, the layers go too.
    env.ok(&["rm", "-f", "user1"]);
    env.ok(&["image", "prune"]);
    let left: Vec<_> = env
        .names("snapshots")
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // And without --force: rmi works after `skiff rm`.
    env.ok(&["load", "-i", path_str(&fixture().join("bb.tar"))]);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "user2",
        "localhost/bb:1",
        "true",
    ]);
    env.fails(&["rmi", "localhost/bb:1"]);
    env.ok(&["rm", "user2"]);
    env.ok(&["rmi", "localhost/bb:1"]);
    assert!(env.names("images").is_empty());
    assert!(env.names("content/blobs/sha256").is_empty());
}
