//! These tests mount tmpfs and bind mounts, so they run as root (as the
//! agent does). Every test tears its pod dir down, also when it fails.

use super::*;
use crate::env::{container_env, PodInputs};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

/// A temporary pod volume dir, torn down (unmounting tmpfs) on drop.
struct PodDir {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl PodDir {
    fn new() -> PodDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("volumes");
        PodDir { _tmp: tmp, dir }
    }
}

impl Drop for PodDir {
    fn drop(&mut self) {
        if let Err(e) = teardown(&self.dir) {
            eprintln!("teardown of {}: {e}", self.dir.display());
        }
    }
}

fn pod(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).expect("test pod parses")
}

fn pod_with_volumes(volumes: serde_json::Value, mounts: serde_json::Value) -> Pod {
    pod(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "u-1",
                      "labels": {"app": "web", "tier": "front"},
                      "annotations": {"note": "a \"quoted\" value"}},
        "spec": {
            "volumes": volumes,
            "containers": [{
                "name": "app", "image": "busybox",
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumeMounts": mounts,
                "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}
            }]
        }
    }))
}

fn inputs() -> PodInputs {
    let mut inputs = PodInputs {
        node_name: "node-1".into(),
        node_allocatable_cpu_millis: 4000,
        node_allocatable_memory: 1 << 30,
        ..Default::default()
    };
    inputs.config_maps.insert(
        "app-config".into(),
        config_map(json!({"app.conf": "level=debug\n", "other": "x"})),
    );
    let s = Secret {
        data: Some(
            [
                ("password", b"hunter2".to_vec()),
                ("token", b"t0k".to_vec()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v)))
            .collect(),
        ),
        ..Default::default()
    };
    inputs.secrets.insert("db".into(), s);
    inputs
}

fn config_map(data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": "app-config"}, "data": data}))
        .expect("configmap")
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

fn fstype_of(path: &Path) -> Option<String> {
    let real = fs::canonicalize(path).ok()?;
    mount_table()
        .ok()?
        .into_iter()
        .rfind(|m| m.mount_point == real)
        .map(|m| m.fstype)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn empty_dir_on_disk_and_in_memory() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([
            {"name": "cache", "emptyDir": {}},
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let cache = &vols.volumes["cache"];
    assert_eq!(cache.host_path, d.dir.join("kubernetes.io~empty-dir/cache"));
    assert!(!cache.read_only);
    assert_eq!(mode_of(&cache.host_path), 0o777);
    assert_ne!(fstype_of(&cache.host_path).as_deref(), Some("tmpfs"));

    let shm = &vols.volumes["shm"].host_path;
    assert_eq!(fstype_of(shm).as_deref(), Some("tmpfs"));
    let st = nix::sys::statvfs::statvfs(shm).unwrap();
    assert_eq!(st.blocks() as u64 * st.fragment_size() as u64, 16 << 20);

    // Setting up again neither fails nor stacks a second tmpfs.
    fs::write(shm.join("keep"), "me").unwrap();
    setup(&d.dir, &p, &inputs()).unwrap();
    assert_eq!(read(&shm.join("keep")), "me");
    let real = fs::canonicalize(shm).unwrap();
    assert_eq!(
        mount_table()
            .unwrap()
            .iter()
            .filter(|m| m.mount_point == real)
            .count(),
        1
    );

    let bad = pod_with_volumes(
        json!([{"name": "h", "emptyDir": {"medium": "HugePages"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &bad, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].emptyDir.medium: unsupported medium"),
        "{e}"
    );
}

#[test]
fn config_map_volume_layout_modes_and_items() {
    let d = PodDir::new();
    let mut inputs = inputs();
    let mut cm = config_map(json!({"app.conf": "level=debug\n", "other": "x"}));
    cm.binary_data = Some(
        [(
            "logo.png".to_string(),
            k8s_openapi::ByteString(vec![0x89, b'P', 0, 0xff]),
        )]
        .into(),
    );
    inputs.config_maps.insert("app-config".into(), cm);
    let p = pod_with_volumes(
        json!([
            {"name": "all", "configMap": {"name": "app-config"}},
            {"name": "picked", "configMap": {"name": "app-config", "defaultMode": 0o440, "items": [
                {"key": "app.conf", "path": "conf/app.ini", "mode": 0o600},
                {"key": "logo.png", "path": "logo"}
            ]}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs).unwrap();
    let all = &vols.volumes["all"];
    assert!(all.read_only);
    assert_eq!(all.host_path, d.dir.join("kubernetes.io~configmap/all"));
    assert_eq!(read(&all.host_path.join("app.conf")), "level=debug\n");
    assert_eq!(
        fs::read(all.host_path.join("logo.png")).unwrap(),
        vec![0x89, b'P', 0, 0xff]
    );
    assert_eq!(mode_of(&all.host_path.join("other")), 0o644);
    // The kubelet's layout: key -> ..data/key, ..data -> ..<timestamp>.
    assert_eq!(
        fs::read_link(all.host_path.join("app.conf")).unwrap(),
        Path::new("..data/app.conf")
    );
    let ts = fs::read_link(all.host_path.join("..data")).unwrap();
    assert!(ts.to_string_lossy().starts_with("..20"), "{ts:?}");
    assert!(all.host_path.join(&ts).join("app.conf").is_file());

    let picked = &vols.volumes["picked"].host_path;
    assert_eq!(read(&picked.join("conf/app.ini")), "level=debug\n");
    assert_eq!(mode_of(&picked.join("conf/app.ini")), 0o600);
    assert_eq!(mode_of(&picked.join("logo")), 0o440);
    assert_eq!(
        fs::read_link(picked.join("conf")).unwrap(),
        Path::new("..data/conf")
    );
    assert!(!picked.join("other").exists());
    let mut names: Vec<String> = fs::read_dir(picked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".."))
        .collect();
    names.sort();
    assert_eq!(names, ["conf", "logo"]);
}

#[test]
fn secret_volume_is_a_tmpfs_with_modes() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400,
                 "items": [{"key": "password", "path": "pw"}, {"key": "token", "path": "tok", "mode": 0o640}]}}]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let v = &vols.volumes["creds"];
    assert!(v.read_only);
    assert_eq!(fstype_of(&v.host_path).as_deref(), Some("tmpfs"));
    assert_eq!(read(&v.host_path.join("pw")), "hunter2");
    assert_eq!(mode_of(&v.host_path.join("pw")), 0o400);
    assert_eq!(mode_of(&v.host_path.join("tok")), 0o640);
    // The real files (not just the mount point) are on the tmpfs.
    let real = fs::canonicalize(v.host_path.join("pw")).unwrap();
    assert!(real.to_string_lossy().contains("/..20"), "{real:?}");
    let st = nix::sys::statfs::statfs(&real).unwrap();
    assert_eq!(st.filesystem_type(), nix::sys::statfs::TMPFS_MAGIC);

    let bad = pod_with_volumes(
        json!([{"name": "s", "secret": {"secretName": "db", "defaultMode": 0o1777}}]),
        json!([]),
    );
    let e = setup(&d.dir, &bad, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].secret.defaultMode: invalid mode"),
        "{e}"
    );
}

#[test]
fn update_swaps_data_and_sub_path_keeps_old_content() {
    let d = PodDir::new();
    let mut inputs = inputs();
    let p = pod_with_volumes(
        json!([{"name": "cfg", "configMap": {"name": "app-config"}}]),
        json!([
            {"name": "cfg", "mountPath": "/etc/app"},
            {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"}
        ]),
    );
    let vols = setup(&d.dir, &p, &inputs).unwrap();
    let root = vols.volumes["cfg"].host_path.clone();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let mounts = container_mounts(&vols, &ContainerView::from(c), &[]).unwrap();
    assert_eq!(
        mounts[0],
        Mount {
            source: root.clone(),
            destination: "/etc/app".into(),
            readonly: true
        }
    );
    let old_ts = fs::read_link(root.join("..data")).unwrap();
    // The subPath source is the real file inside the timestamped dir.
    let real_root = fs::canonicalize(&root).unwrap();
    assert_eq!(mounts[1].source, real_root.join(&old_ts).join("app.conf"));
    assert!(mounts[1].readonly);

    // Bind it like the runtime would, to see what a subPath mount sees after an update.
    let target = d._tmp.path().join("subpath-view");
    fs::write(&target, "").unwrap();
    nix::mount::mount(
        Some(&mounts[1].source),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&target);

    assert!(
        !refresh(&d.dir, &p, &inputs).unwrap(),
        "nothing changed yet"
    );
    assert_eq!(fs::read_link(root.join("..data")).unwrap(), old_ts);

    inputs.config_maps.insert(
        "app-config".into(),
        config_map(json!({"app.conf": "level=info\n", "new": "1"})),
    );
    assert!(refresh(&d.dir, &p, &inputs).unwrap());
    let new_ts = fs::read_link(root.join("..data")).unwrap();
    assert_ne!(new_ts, old_ts);
    assert!(!root.join(&old_ts).exists(), "old timestamped dir removed");
    assert_eq!(read(&root.join("app.conf")), "level=info\n");
    assert_eq!(read(&root.join("new")), "1");
    assert!(
        fs::symlink_metadata(root.join("other")).is_err(),
        "removed key's symlink is gone"
    );
    assert_eq!(
        read(&target),
        "level=debug\n",
        "subPath mount keeps the old file"
    );
    assert!(!root.join(DATA_LINK_TMP).exists());
    assert!(!refresh(&d.dir, &p, &inputs).unwrap());
}

#[test]
fn missing_config_map_errors_unless_optional() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "c", "configMap": {"name": "nope"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert_eq!(
        e,
        "spec.volumes[0].configMap.name: configmap \"nope\" not found in namespace \"shop\"; create it or mark the volume optional"
    );

    let p = pod_with_volumes(
        json!([
            {"name": "c", "configMap": {"name": "nope", "optional": true}},
            {"name": "s", "secret": {"secretName": "nope", "optional": true}},
            {"name": "k", "configMap": {"name": "app-config", "optional": true, "items": [{"key": "missing", "path": "m"}, {"key": "other", "path": "o"}]}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let visible = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(".."))
            .collect();
        v.sort();
        v
    };
    assert!(visible(&vols.volumes["c"].host_path).is_empty());
    assert!(visible(&vols.volumes["s"].host_path).is_empty());
    assert_eq!(visible(&vols.volumes["k"].host_path), ["o"]);

    let p = pod_with_volumes(
        json!([{"name": "k", "configMap": {"name": "app-config", "items": [{"key": "missing", "path": "m"}]}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.volumes[0].configMap.items[0].key: key \"missing\" not found in configmap \"app-config\""), "{e}");

    let p = pod_with_volumes(
        json!([{"name": "k", "configMap": {"name": "app-config", "items": [{"key": "other", "path": "../escape"}]}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].configMap.items[0].path:"),
        "{e}"
    );

    let p = pod_with_volumes(
        json!([{"name": "s", "secret": {"secretName": "gone"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].secret.secretName: secret \"gone\" not found"),
        "{e}"
    );
}

#[test]
fn host_path_types() {
    let d = PodDir::new();
    let host = tempfile::tempdir().unwrap();
    let h = host.path();
    fs::write(h.join("file"), "data").unwrap();
    let sock_path = h.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let ok = pod_with_volumes(
        json!([
            {"name": "a", "hostPath": {"path": s(&h.join("new/dir")), "type": "DirectoryOrCreate"}},
            {"name": "b", "hostPath": {"path": s(&h.join("new-file")), "type": "FileOrCreate"}},
            {"name": "c", "hostPath": {"path": s(h), "type": "Directory"}},
            {"name": "d", "hostPath": {"path": s(&h.join("file")), "type": "File"}},
            {"name": "e", "hostPath": {"path": s(&sock_path), "type": "Socket"}},
            {"name": "f", "hostPath": {"path": "/dev/null", "type": "CharDevice"}},
            {"name": "g", "hostPath": {"path": s(&h.join("whatever"))}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &ok, &inputs()).unwrap();
    assert!(h.join("new/dir").is_dir());
    assert_eq!(mode_of(&h.join("new/dir")), 0o755);
    assert!(h.join("new-file").is_file());
    assert_eq!(mode_of(&h.join("new-file")), 0o644);
    assert_eq!(vols.volumes["d"].host_path, h.join("file"));
    assert!(!vols.volumes["d"].read_only);

    let fails = [
        (
            json!({"path": s(&h.join("file")), "type": "Directory"}),
            "is not a directory",
        ),
        (
            json!({"path": s(&h.join("absent")), "type": "Directory"}),
            "is not a directory",
        ),
        (json!({"path": s(h), "type": "File"}), "is not a file"),
        (
            json!({"path": s(&h.join("file")), "type": "DirectoryOrCreate"}),
            "is not a directory",
        ),
        (
            json!({"path": s(h), "type": "FileOrCreate"}),
            "is not a file",
        ),
        (
            json!({"path": s(&h.join("file")), "type": "Socket"}),
            "is not a socket",
        ),
        (
            json!({"path": "/dev/null", "type": "BlockDevice"}),
            "is not a block device",
        ),
        (
            json!({"path": s(h), "type": "CharDevice"}),
            "is not a character device",
        ),
        (
            json!({"path": s(h), "type": "Sideways"}),
            "unsupported type",
        ),
    ];
    for (source, want) in fails {
        let p = pod_with_volumes(
            json!([{"name": "ok", "emptyDir": {}}, {"name": "x", "hostPath": source}]),
            json!([]),
        );
        let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
        assert!(
            e.starts_with("spec.volumes[1].hostPath.type: ") && e.contains(want),
            "{e}"
        );
    }
    let p = pod_with_volumes(
        json!([{"name": "x", "hostPath": {"path": "relative/dir"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(e.starts_with("spec.volumes[0].hostPath.path: "), "{e}");
    // FileOrCreate does not create parents, like Kubernetes.
    let p = pod_with_volumes(
        json!([{"name": "x", "hostPath": {"path": s(&h.join("no/such/file")), "type": "FileOrCreate"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].hostPath.type: create file"),
        "{e}"
    );
}

#[test]
fn sub_paths() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "work", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "app-config"}}]),
        json!([
            {"name": "work", "mountPath": "/logs", "subPathExpr": "logs/$(POD_NAME)"},
            {"name": "work", "mountPath": "/data", "subPath": "data/deep", "readOnly": true},
            {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"}
        ]),
    );
    let inputs = inputs();
    let vols = setup(&d.dir, &p, &inputs).unwrap();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let view = ContainerView::from(c);
    let env = container_env(&p, &view, &inputs).unwrap();
    let mounts = container_mounts(&vols, &view, &env).unwrap();
    let work = fs::canonicalize(&vols.volumes["work"].host_path).unwrap();
    assert_eq!(mounts[0].source, work.join("logs/web-0"));
    assert!(
        mounts[0].source.is_dir(),
        "missing subPathExpr dir is created"
    );
    assert_eq!(
        mode_of(&mounts[0].source),
        0o777,
        "created with the volume root's mode"
    );
    assert!(!mounts[0].readonly);
    assert_eq!(mounts[1].source, work.join("data/deep"));
    assert!(mounts[1].readonly);
    assert_eq!(read(&mounts[2].source), "level=debug\n");

    let errors = [
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "../etc"}),
            "volumeMounts[0].subPath: \"../etc\" must not contain \"..\"",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "a/../../b"}),
            "must not contain \"..\"",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "/etc"}),
            "volumeMounts[0].subPath: \"/etc\" must be a relative path",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPathExpr": "$(NOPE)/x"}),
            "volumeMounts[0].subPathExpr: missing value for NOPE",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPathExpr": "$(POD_NAME)/../.."}),
            "must not contain \"..\"",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "a", "subPathExpr": "b"}),
            "mutually exclusive",
        ),
        (
            json!({"name": "ghost", "mountPath": "/x"}),
            "volumeMounts[0].name: no volume named \"ghost\"",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "escape/passwd"}),
            "leads outside the volume",
        ),
        (
            json!({"name": "work", "mountPath": "/x", "subPath": "abs/passwd"}),
            "leads outside the volume",
        ),
    ];
    // Symlinks a container could have planted in its volume.
    symlink("../../../../../../etc", work.join("escape")).unwrap();
    symlink("/etc", work.join("abs")).unwrap();
    for (mount, want) in errors {
        let pm = pod_with_volumes(json!([]), json!([mount]));
        let c = &pm.spec.as_ref().unwrap().containers[0];
        let e = container_mounts(&vols, &ContainerView::from(c), &env)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("container \"app\" volumeMounts[0]") && e.contains(want),
            "{e} (wanted {want})"
        );
    }
    // A symlink that stays inside the volume is fine.
    symlink("data", work.join("inside")).unwrap();
    let pm = pod_with_volumes(
        json!([]),
        json!([{"name": "work", "mountPath": "/x", "subPath": "inside/deep"}]),
    );
    let c = &pm.spec.as_ref().unwrap().containers[0];
    let m = container_mounts(&vols, &ContainerView::from(c), &env).unwrap();
    assert_eq!(m[0].source, work.join("data/deep"));
}

#[test]
fn downward_api_volume() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "info", "downwardAPI": {"defaultMode": 0o444, "items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
            {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
            {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}, "mode": 0o400},
            {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "requests.cpu", "divisor": "1m"}}
        ]}}]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let v = &vols.volumes["info"].host_path;
    assert_eq!(read(&v.join("labels")), "app=\"web\"\ntier=\"front\"");
    assert_eq!(
        read(&v.join("annotations")),
        "note=\"a \\\"quoted\\\" value\""
    );
    assert_eq!(read(&v.join("name")), "web-0");
    assert_eq!(read(&v.join("ns")), "shop");
    assert_eq!(read(&v.join("uid")), "u-1");
    assert_eq!(read(&v.join("tier")), "front");
    assert_eq!(mode_of(&v.join("tier")), 0o400);
    assert_eq!(mode_of(&v.join("name")), 0o444);
    assert_eq!(read(&v.join("mem")), "64");
    assert_eq!(read(&v.join("cpu")), "250", "request defaults to the limit");

    // Labels change: refresh rewrites.
    let mut p2 = p.clone();
    p2.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("tier".into(), "back".into());
    assert!(refresh(&d.dir, &p2, &inputs()).unwrap());
    assert_eq!(read(&v.join("tier")), "back");

    let bad = pod_with_volumes(
        json!([{"name": "info", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "spec.nodeName"}}]}}]),
        json!([]),
    );
    let e = setup(&d.dir, &bad, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: unsupported field path"
        ),
        "{e}"
    );
    let bad = pod_with_volumes(
        json!([{"name": "info", "downwardAPI": {"items": [{"path": "m", "resourceFieldRef": {"resource": "limits.memory"}}]}}]),
        json!([]),
    );
    let e = setup(&d.dir, &bad, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: required"
        ),
        "{e}"
    );
}

#[test]
fn projected_volume() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "all", "projected": {"defaultMode": 0o440, "sources": [
            {"configMap": {"name": "app-config", "items": [{"key": "app.conf", "path": "config/app.conf"}]}},
            {"secret": {"name": "db", "items": [{"key": "password", "path": "secrets/pw", "mode": 0o400}]}},
            {"downwardAPI": {"items": [{"path": "podname", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "absent", "optional": true}}
        ]}}]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let v = &vols.volumes["all"];
    assert!(v.read_only);
    assert_eq!(v.host_path, d.dir.join("kubernetes.io~projected/all"));
    assert_eq!(fstype_of(&v.host_path).as_deref(), Some("tmpfs"));
    assert_eq!(read(&v.host_path.join("config/app.conf")), "level=debug\n");
    assert_eq!(mode_of(&v.host_path.join("config/app.conf")), 0o440);
    assert_eq!(read(&v.host_path.join("secrets/pw")), "hunter2");
    assert_eq!(mode_of(&v.host_path.join("secrets/pw")), 0o400);
    assert_eq!(read(&v.host_path.join("podname")), "web-0");
    assert!(
        !v.host_path.join("token").exists(),
        "token sources are skipped"
    );

    let bad = pod_with_volumes(
        json!([{"name": "all", "projected": {"sources": [{"secret": {"name": "nope"}}]}}]),
        json!([]),
    );
    let e = setup(&d.dir, &bad, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "spec.volumes[0].projected.sources[0].secret.name: secret \"nope\" not found"
        ),
        "{e}"
    );
}

#[test]
fn persistent_volume_claims() {
    let d = PodDir::new();
    let host = tempfile::tempdir().unwrap();
    let data_dir = host.path().join("pv-data");
    fs::create_dir(&data_dir).unwrap();
    let local_dir = host.path().join("local-data");
    fs::create_dir(&local_dir).unwrap();
    let mut inputs = inputs();
    let claim = |volume: Option<&str>| -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"volumeName": volume}}))
            .unwrap()
    };
    let pv = |spec: serde_json::Value| -> PersistentVolume {
        serde_json::from_value(json!({"metadata": {"name": "pv"}, "spec": spec})).unwrap()
    };
    inputs.claims.insert("data".into(), claim(Some("pv-host")));
    inputs
        .claims
        .insert("local".into(), claim(Some("pv-local")));
    inputs.claims.insert("pending".into(), claim(None));
    inputs.claims.insert("nfs".into(), claim(Some("pv-nfs")));
    inputs
        .claims
        .insert("dangling".into(), claim(Some("pv-gone")));
    inputs
        .claims
        .insert("web-0-scratch".into(), claim(Some("pv-local")));
    inputs.persistent_volumes.insert(
        "pv-host".into(),
        pv(json!({"hostPath": {"path": data_dir.to_string_lossy()}})),
    );
    inputs.persistent_volumes.insert(
        "pv-local".into(),
        pv(json!({"local": {"path": local_dir.to_string_lossy()}})),
    );
    inputs.persistent_volumes.insert(
        "pv-nfs".into(),
        pv(json!({"nfs": {"server": "x", "path": "/"}})),
    );

    let p = pod_with_volumes(
        json!([
            {"name": "a", "persistentVolumeClaim": {"claimName": "data", "readOnly": true}},
            {"name": "b", "persistentVolumeClaim": {"claimName": "local"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs).unwrap();
    assert_eq!(
        vols.volumes["a"],
        PreparedVolume {
            host_path: data_dir.clone(),
            read_only: true
        }
    );
    assert_eq!(
        vols.volumes["b"],
        PreparedVolume {
            host_path: local_dir.clone(),
            read_only: false
        }
    );
    assert_eq!(vols.volumes["scratch"].host_path, local_dir);

    for (claim, want) in [
        ("pending", "persistentvolumeclaim \"pending\" is not bound"),
        ("nfs", "neither hostPath nor local"),
        ("dangling", "\"pv-gone\", which does not exist"),
        (
            "missing",
            "persistentvolumeclaim \"missing\" not found in namespace \"shop\"",
        ),
    ] {
        let p = pod_with_volumes(
            json!([{"name": "a", "persistentVolumeClaim": {"claimName": claim}}]),
            json!([]),
        );
        let e = setup(&d.dir, &p, &inputs).unwrap_err().to_string();
        assert!(
            e.starts_with("spec.volumes[0].persistentVolumeClaim.claimName: ") && e.contains(want),
            "{e}"
        );
    }
}

#[test]
fn teardown_unmounts_and_removes_everything_but_host_data() {
    let d = PodDir::new();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("precious"), "keep").unwrap();
    let p = pod_with_volumes(
        json!([
            {"name": "s", "secret": {"secretName": "db"}},
            {"name": "m", "emptyDir": {"medium": "Memory"}},
            {"name": "e", "emptyDir": {}},
            {"name": "h", "hostPath": {"path": host.path().to_string_lossy()}}
        ]),
        json!([]),
    );
    setup(&d.dir, &p, &inputs()).unwrap();
    let real = fs::canonicalize(&d.dir).unwrap();
    assert_eq!(mounts_under(&real).unwrap().len(), 2);
    teardown(&d.dir).unwrap();
    assert!(!d.dir.exists());
    assert!(mounts_under(&real).unwrap().is_empty());
    assert_eq!(read(&host.path().join("precious")), "keep");
    teardown(&d.dir).unwrap();
}

#[test]
fn fs_group_owns_content_and_empty_dirs() {
    let d = PodDir::new();
    let mut p = pod_with_volumes(
        json!([
            {"name": "s", "secret": {"secretName": "db", "defaultMode": 0o400}},
            {"name": "e", "emptyDir": {}}
        ]),
        json!([]),
    );
    p.spec.as_mut().unwrap().security_context =
        Some(serde_json::from_value(json!({"fsGroup": 2345})).unwrap());
    let vols = setup(&d.dir, &p, &inputs()).unwrap();
    let pw = vols.volumes["s"].host_path.join("password");
    let meta = fs::metadata(&pw).unwrap();
    assert_eq!(meta.gid(), 2345);
    assert_eq!(meta.mode() & 0o777, 0o440);
    let e = fs::metadata(&vols.volumes["e"].host_path).unwrap();
    assert_eq!(e.gid(), 2345);
    assert_eq!(e.mode() & 0o7777, 0o2777);
    assert!(
        !refresh(&d.dir, &p, &inputs()).unwrap(),
        "group bits do not count as a change"
    );
}

#[test]
fn unsupported_and_bad_volumes_name_the_field() {
    let d = PodDir::new();
    let p = pod_with_volumes(
        json!([{"name": "ok", "emptyDir": {}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[1]: volume \"n\" has an unsupported source"),
        "{e}"
    );
    let p = pod_with_volumes(json!([{"name": "../x", "emptyDir": {}}]), json!([]));
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].name: invalid volume name"),
        "{e}"
    );
    let p = pod_with_volumes(
        json!([{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]),
        json!([]),
    );
    let e = setup(&d.dir, &p, &inputs()).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[1].name: duplicate volume name"),
        "{e}"
    );
}

#[test]
fn mountinfo_escapes() {
    let line = "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - tmpfs tmpfs rw";
    let m = parse_mountinfo_line(line).unwrap();
    assert_eq!(m.mount_point, Path::new("/mnt/with space"));
    assert_eq!(m.fstype, "tmpfs");
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(20_415), (2025, 11, 23));
}

#[test]
fn refresh_keeps_old_content_when_the_object_goes_missing() {
    let d = PodDir::new();
    let mut inputs = inputs();
    let p = pod_with_volumes(
        json!([
            {"name": "cfg", "configMap": {"name": "app-config"}},
            {"name": "opt", "configMap": {"name": "app-config", "optional": true}},
            {"name": "creds", "secret": {"secretName": "db"}}
        ]),
        json!([]),
    );
    let vols = setup(&d.dir, &p, &inputs).unwrap();
    inputs.config_maps.clear();
    let mut s = inputs.secrets["db"].clone();
    s.data.as_mut().unwrap().insert(
        "password".into(),
        k8s_openapi::ByteString(b"rotated".to_vec()),
    );
    inputs.secrets.insert("db".into(), s);
    let e = refresh(&d.dir, &p, &inputs).unwrap_err().to_string();
    assert!(
        e.starts_with("spec.volumes[0].configMap.name: configmap \"app-config\" not found"),
        "{e}"
    );
    // The failing volume keeps what it had; the others were still refreshed.
    assert_eq!(
        read(&vols.volumes["cfg"].host_path.join("app.conf")),
        "level=debug\n"
    );
    assert!(!vols.volumes["opt"].host_path.join("app.conf").exists());
    assert_eq!(
        read(&vols.volumes["creds"].host_path.join("password")),
        "rotated"
    );
}
