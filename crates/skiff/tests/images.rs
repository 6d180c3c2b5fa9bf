//! End-to-end tests of `skiff pull`, `skiff images`, `skiff rmi` and
//! `skiff image ...` against real registries: Debian's `docker-registry` on
//! 127.0.0.1 (one without authentication, one with htpasswd basic auth),
//! filled with images built by umoci and pushed by skopeo, or built in memory
//! (hostile layers, every compression, manifest lists) and pushed through the
//! registry API. Every registry, temporary directory and mount is released by
//! a Drop guard, also when a test fails.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use skiff_image::local_registry::LocalRegistry;
use skiff_image::manifest::Compression;
use skiff_image::registries::RegistriesConfig;
use skiff_image::registry::Client;
use skiff_image::snapshot::{MountMode, Snapshotter};
use skiff_image::synth::{self, RawTar, SynthImage};
use skiff_image::{Digest, Reference, Store};

fn skiff_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skiff"))
}

/// A private data dir plus hermetic registry settings and auth file, so the
/// host's /etc/skiff and ~/.docker never leak into a test.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("skiff-images-test-")
            .tempdir()
            .expect("tempdir");
        fs::write(dir.path().join("registries.toml"), "").unwrap();
        fs::write(dir.path().join("auth.json"), r#"{"auths":{}}"#).unwrap();
        Env { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn store(&self) -> Store {
        Store::open(self.data()).unwrap()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(skiff_bin());
        c.args(args)
            .env("SKIFF_DATA_DIR", self.data())
            .env(
                "SKIFF_REGISTRIES_CONFIG",
                self.path().join("registries.toml"),
            )
            .env("SKIFF_AUTH_FILE", self.path().join("auth.json"))
            .stdin(Stdio::null());
        c
    }

    fn skiff(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run skiff")
    }

    /// Run skiff and require success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(&self.skiff(args), &format!("skiff {args:?}"))
    }

    /// Run skiff and require failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        common::failed(&self.skiff(args), &format!("skiff {args:?}"))
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sh(prog: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let mut c = Command::new(prog);
    for a in args {
        c.arg(a);
    }
    run(&mut c)
}

fn client() -> Client {
    Client::new(RegistriesConfig::default(), Default::default())
}

/// Unmounts on drop.
struct MountGuard(Option<skiff_image::snapshot::RootfsMount>);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            let _ = m.unmount();
        }
    }
}

fn htpasswd(user: &str, password: &str) -> String {
    let hash = bcrypt::hash_with_result(password, 4)
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoY);
    format!("{user}:{hash}\n")
}

/// An OCI layout built with umoci from busybox-static, tagged `t`:
/// 1. busybox, symlinks, a hardlink pair, a FIFO, a device node, an xattr,
///    odd ownership and modes (setuid), fixed mtimes;
/// 2. deletions (whiteouts for a file and a directory), a change, an addition;
/// 3. an opaque directory (`.wh..wh..opq`), added verbatim.
fn umoci_image(work: &Path) -> PathBuf {
    let layout = work.join("layout");
    let image = format!("{}:t", layout.display());
    let bundle = work.join("bundle");
    sh("umoci", &[&"init", &"--layout", &layout]);
    sh("umoci", &[&"new", &"--image", &image]);
    sh("umoci", &[&"unpack", &"--image", &image, &bundle]);
    let r = bundle.join("rootfs");
    for d in [
        "bin",
        "etc",
        "data/keep",
        "data/dir-to-delete/sub",
        "opq",
        "dev",
        "usr/bin",
    ] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat", "echo"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).unwrap();
    }
    std::os::unix::fs::symlink("/bin/busybox", r.join("usr/bin/env")).unwrap();
    fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    fs::write(r.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
    fs::write(r.join("data/keep/a.txt"), "keep me\n").unwrap();
    xattr::set(r.join("data/keep/a.txt"), "user.skiff", b"yes").unwrap();
    fs::write(r.join("data/gone.txt"), "delete me\n").unwrap();
    fs::write(r.join("data/dir-to-delete/sub/x"), "x\n").unwrap();
    fs::write(r.join("data/changed.txt"), "v1\n").unwrap();
    fs::write(r.join("data/hard1"), "linked\n").unwrap();
    fs::hard_link(r.join("data/hard1"), r.join("data/hard2")).unwrap();
    fs::write(r.join("data/owned"), "secret\n").unwrap();
    nix::unistd::chown(&r.join("data/owned"), Some(1000.into()), Some(1000.into())).unwrap();
    fs::set_permissions(r.join("data/owned"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::write(r.join("bin/suid"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(r.join("bin/suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(r.join("opq/old1"), "1").unwrap();
    fs::write(r.join("opq/old2"), "2").unwrap();
    nix::unistd::mkfifo(
        &r.join("dev/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    nix::sys::stat::mknod(
        &r.join("dev/null2"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let old = filetime(1_600_000_000);
    for f in ["data/keep/a.txt", "data/changed.txt", "bin/busybox"] {
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &r.join(f),
            &old,
            &old,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }
    sh(
        "umoci",
        &[&"repack", &"--refresh-bundle", &"--image", &image, &bundle],
    );

    fs::remove_file(r.join("data/gone.txt")).unwrap();
    fs::remove_dir_all(r.join("data/dir-to-delete")).unwrap();
    fs::write(r.join("data/changed.txt"), "v2\n").unwrap();
    fs::write(r.join("data/new.txt"), "new\n").unwrap();
    sh(
        "umoci",
        &[&"repack", &"--refresh-bundle", &"--image", &image, &bundle],
    );

    let opaque = RawTar::new()
        .dir("opq/", 0o755)
        .unwrap()
        .file("opq/.wh..wh..opq", b"", 0o644)
        .unwrap()
        .file("opq/new1", b"fresh\n", 0o644)
        .unwrap()
        .finish()
        .unwrap();
    let tar_path = work.join("opaque.tar");
    fs::write(&tar_path, opaque).unwrap();
    sh(
        "umoci",
        &[&"raw", &"add-layer", &"--image", &image, &tar_path],
    );
    sh(
        "umoci",
        &[
            &"config",
            &"--image",
            &image,
            &"--config.cmd",
            &"/bin/sh",
            &"--config.env",
            &"FOO=bar",
            &"--config.user",
            &"app",
        ],
    );
    layout
}

fn filetime(secs: i64) -> nix::sys::time::TimeSpec {
    nix::sys::time::TimeSpec::new(secs, 0)
}

/// What the comparison looks at for each path of a tree.
#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    content: Option<Digest>,
    link: Option<PathBuf>,
    rdev: u64,
    mtime: i64,
    xattrs: BTreeMap<String, Vec<u8>>,
    /// The other paths of the same inode (hardlinks).
    links: Vec<PathBuf>,
}

fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<PathBuf>> = BTreeMap::new();
    walk(root, Path::new(""), &mut out, &mut inodes);
    for paths in inodes.values() {
        if paths.len() > 1 {
            for p in paths {
                out.get_mut(p).unwrap().links = paths.iter().filter(|x| *x != p).cloned().collect();
            }
        }
    }
    out
}

fn walk(
    root: &Path,
    rel: &Path,
    out: &mut BTreeMap<PathBuf, Node>,
    inodes: &mut BTreeMap<(u64, u64), Vec<PathBuf>>,
) {
    let mut entries: Vec<_> = fs::read_dir(root.join(rel))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    entries.sort();
    for name in entries {
        let rel = rel.join(&name);
        let path = root.join(&rel);
        let m = fs::symlink_metadata(&path).unwrap();
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_fifo() {
            "fifo"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else {
            "other"
        };
        let xattrs = if ft.is_symlink() {
            BTreeMap::new()
        } else {
            xattr::list(&path)
                .unwrap()
                .filter(|n| n.to_string_lossy().starts_with("user."))
                .map(|n| {
                    (
                        n.to_string_lossy().into_owned(),
                        xattr::get(&path, &n).unwrap().unwrap_or_default(),
                    )
                })
                .collect()
        };
        if ft.is_file() {
            inodes
                .entry((m.dev(), m.ino()))
                .or_default()
                .push(rel.clone());
        }
        out.insert(
            rel.clone(),
            Node {
                kind,
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                size: if ft.is_file() { m.len() } else { 0 },
                content: ft.is_file().then(|| Digest::of(&fs::read(&path).unwrap())),
                link: ft.is_symlink().then(|| fs::read_link(&path).unwrap()),
                rdev: if ft.is_char_device() || ft.is_block_device() {
                    m.rdev()
                } else {
                    0
                },
                mtime: m.mtime(),
                xattrs,
                links: vec![],
            },
        );
        if ft.is_dir() {
            walk(root, &rel, out, inodes);
        }
    }
}

fn assert_same_tree(what: &str, got: &Path, want: &Path) {
    let got = tree(got);
    let want = tree(want);
    let got_paths: Vec<_> = got.keys().collect();
    let want_paths: Vec<_> = want.keys().collect();
    assert_eq!(got_paths, want_paths, "{what}: the set of paths differs");
    for (p, w) in &want {
        assert_eq!(&got[p], w, "{what}: {} differs", p.display());
    }
}

/// Layout of the umoci image checked by hand, independently of umoci.
fn assert_expected_content(root: &Path) {
    assert!(!root.join("data/gone.txt").exists(), "whiteout of a file");
    assert!(
        !root.join("data/dir-to-delete").exists(),
        "whiteout of a directory"
    );
    assert_eq!(
        fs::read_to_string(root.join("data/changed.txt")).unwrap(),
        "v2\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("data/new.txt")).unwrap(),
        "new\n"
    );
    assert!(
        !root.join("opq/old1").exists() && !root.join("opq/old2").exists(),
        "opaque directory"
    );
    assert_eq!(
        fs::read_to_string(root.join("opq/new1")).unwrap(),
        "fresh\n"
    );
    let h1 = fs::metadata(root.join("data/hard1")).unwrap();
    let h2 = fs::metadata(root.join("data/hard2")).unwrap();
    assert_eq!(h1.ino(), h2.ino(), "hardlinks preserved");
    assert_eq!(
        fs::read_link(root.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(
        fs::read_link(root.join("usr/bin/env")).unwrap(),
        Path::new("/bin/busybox")
    );
    let owned = fs::metadata(root.join("data/owned")).unwrap();
    assert_eq!(
        (owned.uid(), owned.gid(), owned.mode() & 0o7777),
        (1000, 1000, 0o640)
    );
    assert_eq!(
        fs::metadata(root.join("bin/suid")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert!(fs::symlink_metadata(root.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let dev = fs::symlink_metadata(root.join("dev/null2")).unwrap();
    assert!(dev.file_type().is_char_device() && dev.rdev() == nix::sys::stat::makedev(1, 3));
    assert_eq!(
        xattr::get(root.join("data/keep/a.txt"), "user.skiff")
            .unwrap()
            .unwrap(),
        b"yes"
    );
    assert_eq!(
        fs::metadata(root.join("data/keep/a.txt")).unwrap().mtime(),
        1_600_000_000
    );
    assert_eq!(
        fs::read(root.join("bin/busybox")).unwrap(),
        fs::read("/bin/busybox").unwrap(),
        "busybox content"
    );
}

#[test]
fn pull_from_plain_registry_matches_umoci() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let layout = umoci_image(env.path());
    let name = format!("{}/test/multi:v1", registry.host());
    sh(
        "skopeo",
        &[
            &"copy",
            &"--quiet",
            &"--dest-tls-verify=false",
            &format!("oci:{}:t", layout.display()),
            &format!("docker://{name}"),
        ],
    );

    let out = env.ok(&["pull", &name]);
    assert!(
        out.contains("Status: Downloaded newer image") && out.contains("3 layers"),
        "{out}"
    );
    let out = env.ok(&["pull", &name]);
    assert!(out.contains("Status: Image is up to date"), "{out}");

    let store = env.store();
    let record = store
        .image(&Reference::parse(&name).unwrap().to_string())
        .unwrap()
        .expect("record");
    assert_eq!(record.layers.len(), 3);
    assert_eq!(record.platform, "linux/amd64");
    let listing = env.ok(&["images"]);
    assert!(
        listing.contains(&format!("{}/test/multi", registry.host())) && listing.contains("v1"),
        "{listing}"
    );
    assert!(listing.contains(record.id().short()), "{listing}");
    let digests = env.ok(&["images", "--digests"]);
    assert!(digests.contains(&record.digest.to_string()), "{digests}");
    assert_eq!(env.ok(&["images", "-q"]).trim(), record.id().short());

    // One shared directory per diffID, in overlay form.
    let snaps = Snapshotter::new(&store);
    let fs2 = snaps.fs_dir(&record.layers[1].diff_id);
    let wh = fs::symlink_metadata(fs2.join("data/gone.txt")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "layer 2 keeps an overlay whiteout"
    );
    assert!(skiff_image::unpack::is_opaque(
        &snaps.fs_dir(&record.layers[2].diff_id).join("opq")
    ));

    // The reference: umoci's own unpack of the same layout.
    let reference = env.path().join("reference");
    sh(
        "umoci",
        &[
            &"unpack",
            &"--image",
            &format!("{}:t", layout.display()),
            &reference,
        ],
    );
    let want = reference.join("rootfs");
    assert_expected_content(&want);

    // overlayfs, as a container would see it.
    let layers: Vec<Digest> = record.layers.iter().map(|l| l.diff_id.clone()).collect();
    let target = env.path().join("merged");
    let mount = MountGuard(Some(
        snaps
            .mount(&layers, &env.path().join("rw"), &target, MountMode::Overlay)
            .expect("overlay mount"),
    ));
    assert_expected_content(&target);
    assert_same_tree("overlay", &target, &want);
    drop(mount);

    // The copying fallback, through the command line.
    let copy = env.path().join("copy");
    env.ok(&["image", "unpack", &name, copy.to_str().unwrap()]);
    assert_expected_content(&copy);
    assert_same_tree("copy", &copy, &want);

    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", &name])).unwrap();
    assert_eq!(inspect[0]["Config"]["config"]["User"], "app");
    assert_eq!(inspect[0]["Id"], record.id().to_string());
}

#[test]
fn pull_with_basic_auth() {
    let env = Env::new();
    let registry = LocalRegistry::start(Some(&htpasswd("alice", "s3cret"))).expect("registry");
    let layout = umoci_image(env.path());
    let name = format!("{}/private/app:1.0", registry.host());
    // Docker schema2 this time, to cover Docker media types.
    sh(
        "skopeo",
        &[
            &"copy",
            &"--quiet",
            &"--format",
            &"v2s2",
            &"--dest-tls-verify=false",
            &"--dest-creds",
            &"alice:s3cret",
            &format!("oci:{}:t", layout.display()),
            &format!("docker://{name}"),
        ],
    );
    let e = env.fails(&["pull", &name]);
    assert!(
        e.contains("authentication required") && e.contains("--creds"),
        "{e}"
    );
    let e = env.fails(&["pull", "--creds", "alice:wrong", &name]);
    assert!(e.contains("rejected") && e.contains("alice"), "{e}");
    let e = env.fails(&["pull", "--creds", "nocolon", &name]);
    assert!(e.contains("USER:PASSWORD"), "{e}");
    assert!(env.store().images().unwrap().is_empty());

    env.ok(&["pull", "--creds", "alice:s3cret", &name]);
    let record = env.store().images().unwrap().pop().expect("record");
    assert!(
        record.layers[0].media_type.contains("docker"),
        "{:?}",
        record.layers[0]
    );
    let copy = env.path().join("copy");
    env.ok(&["image", "unpack", &name, copy.to_str().unwrap()]);
    assert_expected_content(&copy);

    // Credentials from a docker-style auth file.
    let other = Env::new();
    let auth = format!(
        r#"{{"auths":{{"{}":{{"auth":"YWxpY2U6czNjcmV0"}}}}}}"#,
        registry.host()
    );
    fs::write(other.path().join("auth.json"), auth).unwrap();
    other.ok(&["pull", &name]);
}

fn gzip_image(files: &[(&str, &[u8])]) -> SynthImage {
    let mut t = RawTar::new();
    for (p, d) in files {
        t = t.file(p, d, 0o644).unwrap();
    }
    let l = synth::layer(&t.finish().unwrap(), Compression::Gzip, false).unwrap();
    SynthImage::new(
        vec![l],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
        false,
    )
}

/// Nothing of a failed pull may be in the store.
fn assert_nothing_committed(env: &Env, layers: &[Digest]) {
    let store = env.store();
    assert!(store.images().unwrap().is_empty(), "no image record");
    for d in layers {
        assert!(!store.has_blob(d), "blob {d} must not be committed");
        assert!(
            !store.ingest_path(d).exists(),
            "no partial download of {d} kept"
        );
    }
    let snaps: Vec<_> = fs::read_dir(store.snapshots_dir()).unwrap().collect();
    assert!(
        snaps.is_empty(),
        "no snapshot, committed or staged: {snaps:?}"
    );
}

#[test]
fn tampered_blob_is_detected_and_nothing_is_committed() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let name = format!("{}/test/tampered:v1", registry.host());
    let reference = Reference::parse(&name).unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let image = gzip_image(&[("payload", &payload), ("etc/hostname", b"x\n")]);
    image.push(&client(), &reference, "v1").unwrap();
    let layer = image.layers[0].digest();
    let data = registry.blob_data_path(&layer);
    let mut bytes = fs::read(&data).expect("the registry's blob file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&data, &bytes).unwrap();

    let e = env.fails(&["pull", &name]);
    assert!(
        e.contains(&layer.to_string()) && e.contains("digest") && e.contains("nothing was stored"),
        "{e}"
    );
    assert_nothing_committed(&env, &[layer]);
}

#[test]
fn hostile_layers_are_rejected() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let outside = env.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let escape_name = format!("skiff-escape-{}", std::process::id());
    let dotdot = format!("../../../../../../../../../../../../tmp/{escape_name}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            RawTar::new()
                .file(&dotdot, b"pwned", 0o644)
                .unwrap()
                .finish()
                .unwrap(),
            "'..'",
        ),
        (
            "symlink",
            RawTar::new()
                .symlink("evil", outside.to_str().unwrap())
                .unwrap()
                .file("evil/pwned", b"pwned", 0o644)
                .unwrap()
                .finish()
                .unwrap(),
            "symlink",
        ),
        (
            "hardlink",
            RawTar::new()
                .hardlink("stolen", "../../../../../../../../../../etc/hostname")
                .unwrap()
                .finish()
                .unwrap(),
            "hardlink target",
        ),
    ];
    for (case, tar, why) in cases {
        let layer = synth::layer(&tar, Compression::Gzip, false).unwrap();
        let digest = layer.digest();
        let image = SynthImage::new(
            vec![layer],
            "linux",
            "amd64",
            serde_json::json!({"Cmd": ["/x"]}),
            false,
        );
        // Through skopeo, from an OCI layout written by hand.
        let layout = env.path().join(format!("layout-{case}"));
        image.write_oci_layout(&layout, "t").unwrap();
        let name = format!("{}/hostile/{case}:v1", registry.host());
        sh(
            "skopeo",
            &[
                &"copy",
                &"--quiet",
                &"--dest-tls-verify=false",
                &format!("oci:{}:t", layout.display()),
                &format!("docker://{name}"),
            ],
        );
        let e = env.fails(&["pull", &name]);
        assert!(
            e.contains(why) && e.contains(&digest.to_string()),
            "{case}: {e}"
        );
        assert_nothing_committed(&env, &[digest]);
    }
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through the symlink"
    );
    assert!(
        !Path::new("/tmp").join(&escape_name).exists(),
        "nothing written by the '..' entry"
    );
    assert!(!env.path().join(&escape_name).exists());
}

#[test]
fn manifest_lists_platforms_and_compressions() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let reference = Reference::parse(&format!("{}/multi/arch:v1", registry.host())).unwrap();
    let c = client();
    // amd64: three layers, uncompressed, gzip and zstd.
    let tars = [
        RawTar::new()
            .dir("etc/", 0o755)
            .unwrap()
            .file("etc/arch", b"amd64\n", 0o644)
            .unwrap(),
        RawTar::new().file("etc/gzip", b"gz\n", 0o644).unwrap(),
        RawTar::new()
            .file("etc/zstd", b"zst\n", 0o600)
            .unwrap()
            .file("etc/.wh.gzip", b"", 0)
            .unwrap(),
    ];
    let layers: Vec<_> = tars
        .into_iter()
        .zip([Compression::None, Compression::Gzip, Compression::Zstd])
        .map(|(t, comp)| synth::layer(&t.finish().unwrap(), comp, true).unwrap())
        .collect();
    let amd = SynthImage::new(
        layers,
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
        true,
    );
    let arm_layer = synth::layer(
        &RawTar::new()
            .file("etc/arch", b"arm64\n", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        true,
    )
    .unwrap();
    let arm = SynthImage::new(
        vec![arm_layer],
        "linux",
        "arm64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
        true,
    );
    let amd_digest = amd
        .push(&c, &reference, &amd.manifest_digest().to_string())
        .unwrap();
    arm.push(&c, &reference, &arm.manifest_digest().to_string())
        .unwrap();
    let (list, mt) = synth::index(
        &[
            (&arm, "linux", "arm64", Some("v8")),
            (&amd, "linux", "amd64", None),
        ],
        true,
    );
    c.put_manifest(&reference, "v1", &mt, &list).unwrap();
    let (oci_index, oci_mt) = synth::index(
        &[
            (&arm, "linux", "arm64", None),
            (&amd, "linux", "amd64", None),
        ],
        false,
    );
    c.put_manifest(&reference, "oci", &oci_mt, &oci_index)
        .unwrap();

    let name = reference.to_string();
    env.ok(&["pull", &name]);
    let rec = env.store().image(&name).unwrap().unwrap();
    assert_eq!(rec.manifest, amd_digest);
    assert_eq!(
        rec.digest,
        Digest::of(&list),
        "the record keeps the list's digest"
    );
    let root = env.path().join("amd");
    env.ok(&["image", "unpack", &name, root.to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(root.join("etc/arch")).unwrap(),
        "amd64\n"
    );
    assert_eq!(fs::read_to_string(root.join("etc/zstd")).unwrap(), "zst\n");
    assert!(
        !root.join("etc/gzip").exists(),
        "whited out by the zstd layer"
    );

    let arm_name = format!("{}/multi/arch:oci", registry.host());
    env.ok(&["pull", "--platform", "linux/arm64", &arm_name]);
    let root = env.path().join("arm");
    env.ok(&["image", "unpack", &arm_name, root.to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(root.join("etc/arch")).unwrap(),
        "arm64\n"
    );

    let e = env.fails(&["pull", "--platform", "linux/s390x", &name]);
    assert!(
        e.contains("linux/arm64/v8, linux/amd64") && e.contains("--platform"),
        "{e}"
    );
    let e = env.fails(&["pull", "--platform", "linux", &name]);
    assert!(e.contains("OS/ARCH"), "{e}");
    // A single-platform manifest of another architecture.
    let arm_only = format!("{}/multi/arch@{}", registry.host(), arm.manifest_digest());
    let e = env.fails(&["pull", &arm_only]);
    assert!(e.contains("linux/arm64") && e.contains("--platform"), "{e}");
    // By digest, pinned: verified against the digest.
    env.ok(&["pull", "--platform", "linux/arm64", &arm_only]);

    let e = env.fails(&["pull", &format!("{}/multi/absent:v1", registry.host())]);
    assert!(e.contains("not found"), "{e}");
    let e = env.fails(&["pull", "Not/Valid"]);
    assert!(e.contains("invalid image reference"), "{e}");
}

#[test]
fn registries_config_is_honoured() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let reference = Reference::parse(&format!("{}/cfg/img:v1", registry.host())).unwrap();
    gzip_image(&[("f", b"1")])
        .push(&client(), &reference, "v1")
        .unwrap();
    // Forcing HTTPS on a plain-HTTP loopback registry fails, and says how to fix it.
    fs::write(
        env.path().join("registries.toml"),
        format!(
            "[[registry]]\nlocation = \"{}\"\nhttp = false\n",
            registry.host()
        ),
    )
    .unwrap();
    let e = env.fails(&["pull", &reference.to_string()]);
    assert!(e.contains("registries.toml"), "{e}");
    fs::write(
        env.path().join("registries.toml"),
        "[[registry]]\nplace = 1\n",
    )
    .unwrap();
    let e = env.fails(&["pull", &reference.to_string()]);
    assert!(e.contains("registries.toml") && e.contains("place"), "{e}");
    // `insecure` talks TLS without verification, then falls back to HTTP.
    fs::write(
        env.path().join("registries.toml"),
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            registry.host()
        ),
    )
    .unwrap();
    env.ok(&["pull", &reference.to_string()]);
}

#[test]
fn interrupted_pull_resumes() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let reference = Reference::parse(&format!("{}/test/resume:v1", registry.host())).unwrap();
    let mut big = vec![0u8; 4 << 20];
    let mut x = 0x1234_5678_9abc_def0u64;
    for chunk in big.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    let image = gzip_image(&[("big", &big)]);
    image.push(&client(), &reference, "v1").unwrap();
    let blob = &image.layers[0].data;
    let digest = image.layers[0].digest();

    // What an interrupted pull leaves: the first part of the blob in ingest/.
    let store = env.store();
    fs::write(store.ingest_path(&digest), &blob[..blob.len() / 2]).unwrap();
    let out = env.ok(&["pull", &reference.to_string()]);
    assert!(out.contains("resumed"), "{out}");
    assert!(store.has_blob(&digest) && !store.ingest_path(&digest).exists());
    let root = env.path().join("root");
    env.ok(&[
        "image",
        "unpack",
        &reference.to_string(),
        root.to_str().unwrap(),
    ]);
    assert_eq!(fs::read(root.join("big")).unwrap(), big);

    // A partial download that is not a prefix of the blob: detected, and
    // the pull starts over.
    let env2 = Env::new();
    let store2 = env2.store();
    fs::write(store2.ingest_path(&digest), vec![0u8; blob.len() / 3]).unwrap();
    env2.ok(&["pull", &reference.to_string()]);
    assert!(store2.has_blob(&digest));

    // A pull killed mid-way, then run again.
    let env3 = Env::new();
    let mut child = env3
        .cmd(&["pull", &reference.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let _ = child.kill();
    let _ = child.wait();
    env3.ok(&["pull", &reference.to_string()]);
    env3.ok(&["image", "prune"]);
    let store3 = env3.store();
    assert!(store3.has_blob(&digest));
    assert_eq!(
        fs::read_dir(store3.root().join("content/ingest"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn concurrent_pulls_are_safe() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let reference = Reference::parse(&format!("{}/test/concurrent:v1", registry.host())).unwrap();
    let payload: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    let l1 = synth::layer(
        &RawTar::new()
            .file("a", &payload, 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        false,
    )
    .unwrap();
    let l2 = synth::layer(
        &RawTar::new()
            .file("b", b"b", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Zstd,
        false,
    )
    .unwrap();
    let image = SynthImage::new(
        vec![l1, l2],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
        false,
    );
    image.push(&client(), &reference, "v1").unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.cmd(&["pull", &reference.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = env.store();
    assert_eq!(store.images().unwrap().len(), 1);
    assert_eq!(Snapshotter::new(&store).list().unwrap().len(), 2);
    let pruned = env.ok(&["image", "prune"]);
    assert!(
        !pruned.contains("Deleted blob") && !pruned.contains("Deleted snapshot"),
        "{pruned}"
    );
    let root = env.path().join("root");
    env.ok(&[
        "image",
        "unpack",
        &reference.to_string(),
        root.to_str().unwrap(),
    ]);
    assert_eq!(fs::read(root.join("a")).unwrap(), payload);
}

#[test]
fn rmi_and_prune() {
    let env = Env::new();
    let registry = LocalRegistry::start(None).expect("registry");
    let c = client();
    let base = synth::layer(
        &RawTar::new()
            .file("base", b"base", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        false,
    )
    .unwrap();
    let only_a = synth::layer(
        &RawTar::new()
            .file("a", b"a", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        false,
    )
    .unwrap();
    let only_b = synth::layer(
        &RawTar::new()
            .file("b", b"b", 0o644)
            .unwrap()
            .finish()
            .unwrap(),
        Compression::Gzip,
        false,
    )
    .unwrap();
    let a = SynthImage::new(
        vec![base.clone(), only_a.clone()],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["a"]}),
        false,
    );
    let b = SynthImage::new(
        vec![base.clone(), only_b],
        "linux",
        "amd64",
        serde_json::json!({"Cmd": ["b"]}),
        false,
    );
    let ra = Reference::parse(&format!("{}/test/a:v1", registry.host())).unwrap();
    let rb = Reference::parse(&format!("{}/test/b:v1", registry.host())).unwrap();
    a.push(&c, &ra, "v1").unwrap();
    a.push(&c, &ra, "v2").unwrap();
    b.push(&c, &rb, "v1").unwrap();
    let ra2 = format!("{}/test/a:v2", registry.host());
    env.ok(&["pull", &ra.to_string()]);
    env.ok(&["image", "pull", &ra2]);
    env.ok(&["pull", &rb.to_string()]);
    let store = env.store();
    let snaps = Snapshotter::new(&store);
    assert_eq!(snaps.list().unwrap().len(), 3);
    let ids = env.ok(&["images", "-q"]);
    assert_eq!(ids.lines().count(), 2, "{ids}");

    // An id with two names needs --force.
    let id_a = Digest::of(&a.config);
    let e = env.fails(&["rmi", id_a.short()]);
    assert!(e.contains("--force") && e.contains("2 names"), "{e}");
    let e = env.fails(&["rmi", "absent:v1"]);
    assert!(e.contains("no such image"), "{e}");

    let out = env.ok(&["rmi", &ra2]);
    assert!(
        out.contains("Untagged: ") && !out.contains("Deleted"),
        "shared content stays: {out}"
    );
    let out = env.ok(&["rmi", &ra.to_string()]);
    assert!(
        out.contains(&format!("Deleted: {}", only_a.digest())),
        "{out}"
    );
    assert!(!snaps.exists(&only_a.diff_id) && snaps.exists(&base.diff_id));
    assert!(store.has_blob(&base.digest()) && !store.has_blob(&only_a.digest()));
    let root = env.path().join("b");
    env.ok(&["image", "unpack", &rb.to_string(), root.to_str().unwrap()]);
    assert!(root.join("base").exists() && root.join("b").exists());

    // Leftovers of interrupted pulls go with `image prune`.
    fs::write(store.ingest_path(&Digest::of(b"partial")), b"part").unwrap();
    fs::create_dir_all(store.snapshots_dir().join(".tmp-0123456789ab-1-1/fs")).unwrap();
    let out = env.ok(&["image", "prune"]);
    assert!(out.contains("2 partial"), "{out}");
    assert!(snaps.stale_staging().unwrap().is_empty());

    env.ok(&["rmi", "--force", &Digest::of(&b.config).to_string()]);
    assert!(env.ok(&["images", "-q"]).trim().is_empty());
    assert!(snaps.list().unwrap().is_empty());
    let blobs = fs::read_dir(store.root().join("content/blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 0, "everything unreferenced is gone");
}

#[test]
fn bench_pull_runs() {
    let out = Command::new(skiff_bin())
        .args([
            "bench",
            "pull",
            "--size-mb",
            "4",
            "--layers",
            "2",
            "--rounds",
            "1",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("ratio skiff / (skopeo + umoci)"), "{s}");
}
