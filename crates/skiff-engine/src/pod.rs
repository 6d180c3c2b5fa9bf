//! Containers of a pod: made in a sandbox, whose net, ipc and uts
//! namespaces they join by path (their mount and pid namespaces are their
//! own, or the pid namespace of a target container for a debug container),
//! with their cgroup under the pod's. They never restart and never attach a
//! network of their own: the agent makes a new container for each restart,
//! as the kubelet does, and the network is the sandbox's until it goes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxCapabilities, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResourcesBuilder, MountBuilder, Spec,
};
use serde::{Deserialize, Serialize};
use skiff_image::snapshot::{MountMode, Snapshotter};
use skiff_image::spec::Overrides;

use crate::error::{bad_flag, EngineError, IoContext, Result};
use crate::record::{ContainerRecord, Network, RestartPolicy, State, Status};
use crate::run::{random_id, valid_name, CreateGuard};
use crate::sandbox::SandboxRecord;
use crate::volumes::{anonymous_volumes, clean_destination, VolumeMount};
use crate::Engine;

/// A bind mount into a pod's container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodMount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}

/// Limits of one container (unset: none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodResources {
    pub memory_limit: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids_limit: Option<i64>,
}

/// Whose pid namespace a container of a pod is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PidNamespace {
    /// A new one.
    #[default]
    Own,
    /// That of this engine container (`kubectl debug --target`).
    JoinContainer(String),
}

/// Everything a container of a pod is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodContainerOptions {
    /// The unique engine container name.
    pub name: String,
    /// An image in the store.
    pub image: String,
    /// Replaces the image's Entrypoint when not empty (its Cmd is then
    /// dropped too, unless `args` replace it).
    pub command: Vec<String>,
    /// Replaces the image's Cmd when not empty.
    pub args: Vec<String>,
    /// Over the image's Env; the same name wins.
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub mounts: Vec<PodMount>,
    pub resources: PodResources,
    /// runAsUser and runAsGroup; None: the image's user.
    pub user: Option<(u32, Option<u32>)>,
    pub supplemental_groups: Vec<u32>,
    pub privileged: bool,
    pub capabilities_add: Vec<String>,
    pub capabilities_drop: Vec<String>,
    pub read_only_rootfs: bool,
    pub tty: bool,
    pub stdin: bool,
    pub pid_namespace: PidNamespace,
    pub stop_signal: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// The capabilities a container of a pod has unless it adds or drops some
/// (the set docker and containerd give).
const DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Every capability Linux knows, for `ALL` and privileged containers.
const ALL_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// `NET_ADMIN` or `CAP_NET_ADMIN` (any case) to the spec's capability.
fn parse_cap(field: &str, name: &str) -> Result<Capability> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(full))
        .map_err(|_| bad_flag(field, format!("{name:?} is not a Linux capability")))
}

fn all_caps() -> Vec<Capability> {
    ALL_CAPS
        .iter()
        .filter_map(|n| parse_cap("capabilities", n).ok())
        .filter(|c| skiff_linux::capabilities::kernel_supports(*c))
        .collect()
}

/// The container's capability set: everything when privileged; otherwise
/// the default set, minus `drop`, plus `add` (`ALL` in either means every
/// capability).
fn capability_set(opts: &PodContainerOptions) -> Result<Vec<Capability>> {
    if opts.privileged {
        return Ok(all_caps());
    }
    let is_all = |n: &String| n.eq_ignore_ascii_case("ALL") || n.eq_ignore_ascii_case("CAP_ALL");
    let mut caps: Vec<Capability> = if opts.capabilities_drop.iter().any(is_all) {
        Vec::new()
    } else {
        DEFAULT_CAPS
            .iter()
            .filter_map(|n| parse_cap("capabilities", n).ok())
            .collect()
    };
    for (i, n) in opts.capabilities_drop.iter().enumerate() {
        if !is_all(n) {
            let c = parse_cap(&format!("capabilities_drop[{i}]"), n)?;
            caps.retain(|x| *x != c);
        }
    }
    for (i, n) in opts.capabilities_add.iter().enumerate() {
        if is_all(n) {
            caps = all_caps();
            continue;
        }
        let c = parse_cap(&format!("capabilities_add[{i}]"), n)?;
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    Ok(caps)
}

/// Does the host's v1 memory controller account swap? Then a memory limit
/// also caps memory + swap, so the container cannot swap past it.
fn v1_swap_accounting() -> bool {
    skiff_linux::cgroups::detect().is_ok_and(|l| {
        l.default_driver() == skiff_linux::cgroups::DriverKind::V1
            && l.v1_mount("memory")
                .is_some_and(|m| m.join("memory.memsw.limit_in_bytes").exists())
    })
}

fn build_resources(
    r: &PodResources,
    privileged: bool,
) -> Result<oci_spec::runtime::LinuxResources> {
    let other = |e: oci_spec::OciSpecError| EngineError::Other(format!("resources: {e}"));
    let mut b = LinuxResourcesBuilder::default();
    if let Some(m) = r.memory_limit {
        if m <= 0 {
            return Err(bad_flag(
                "resources.memory_limit",
                format!("{m} must be positive"),
            ));
        }
        let mut mem = LinuxMemoryBuilder::default().limit(m);
        if v1_swap_accounting() {
            mem = mem.swap(m);
        }
        b = b.memory(mem.build().map_err(other)?);
    }
    if r.cpu_shares.is_some() || r.cpu_quota.is_some() || r.cpu_period.is_some() {
        let mut cpu = LinuxCpuBuilder::default();
        if let Some(s) = r.cpu_shares {
            cpu = cpu.shares(s);
        }
        if let Some(q) = r.cpu_quota {
            cpu = cpu.quota(q);
        }
        if let Some(p) = r.cpu_period {
            cpu = cpu.period(p);
        }
        b = b.cpu(cpu.build().map_err(other)?);
    }
    if let Some(n) = r.pids_limit {
        if n < 1 {
            return Err(bad_flag(
                "resources.pids_limit",
                format!("{n} must be at least 1"),
            ));
        }
        b = b.pids(
            LinuxPidsBuilder::default()
                .limit(n)
                .build()
                .map_err(other)?,
        );
    }
    if privileged {
        b = b.devices(vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm")
            .build()
            .map_err(other)?]);
    }
    b.build().map_err(other)
}

/// Checks that need nothing but the options.
fn check_options(opts: &PodContainerOptions) -> Result<()> {
    if !valid_name(&opts.name) {
        return Err(bad_flag(
            "name",
            format!("{:?} is not a valid container name; use letters, digits, '_', '.' and '-', starting with a letter or digit", opts.name),
        ));
    }
    for (i, (k, _)) in opts.env.iter().enumerate() {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(bad_flag(
                &format!("env[{i}]"),
                format!("{k:?} is not a variable name"),
            ));
        }
    }
    if let Some(w) = &opts.working_dir {
        if !w.starts_with('/') {
            return Err(bad_flag(
                "working_dir",
                format!("{w:?} must be an absolute path"),
            ));
        }
    }
    for (i, m) in opts.mounts.iter().enumerate() {
        if !m.destination.starts_with('/') || clean_destination(&m.destination) == "/" {
            return Err(bad_flag(
                &format!("mounts[{i}].destination"),
                format!(
                    "{:?} must be an absolute path below the root",
                    m.destination
                ),
            ));
        }
        if !m.source.is_absolute() {
            return Err(bad_flag(
                &format!("mounts[{i}].source"),
                format!("{} must be an absolute path", m.source.display()),
            ));
        }
        if let Err(e) = fs::symlink_metadata(&m.source) {
            return Err(bad_flag(
                &format!("mounts[{i}].source"),
                format!("{} cannot be used: {e}", m.source.display()),
            ));
        }
    }
    if let Some(s) = &opts.stop_signal {
        skiff_runtime::container::parse_signal(s)
            .map_err(|e| bad_flag("stop_signal", e.to_string()))?;
    }
    capability_set(opts)?;
    Ok(())
}

fn bind(source: &Path, destination: &str, readonly: bool) -> Result<oci_spec::runtime::Mount> {
    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
    if readonly {
        options.push("ro".to_string());
    }
    MountBuilder::default()
        .destination(PathBuf::from(destination))
        .typ("bind")
        .source(source.to_path_buf())
        .options(options)
        .build()
        .map_err(|e| EngineError::Other(format!("cannot build the mount at {destination}: {e}")))
}

/// What the spec builder needs besides the options.
struct PodSpecInputs<'a> {
    id: &'a str,
    sandbox: &'a SandboxRecord,
    config: &'a oci_spec::image::ImageConfiguration,
    rootfs: &'a Path,
    dir: &'a Path,
    /// The target's pid namespace (`/proc/<pid>/ns/pid`) to join.
    pid_ns: Option<PathBuf>,
}

fn build_pod_spec(
    opts: &PodContainerOptions,
    inputs: PodSpecInputs<'_>,
) -> Result<(Spec, Option<String>, Vec<VolumeMount>)> {
    let PodSpecInputs {
        id,
        sandbox,
        config,
        rootfs,
        dir,
        pid_ns,
    } = inputs;
    let mut base = skiff_runtime::spec::default_spec(false);
    if let Some(p) = base.process_mut() {
        p.set_terminal(Some(opts.tty));
    }
    if let Some(root) = base.root_mut() {
        root.set_readonly(Some(opts.read_only_rootfs));
        root.set_path(PathBuf::from("rootfs"));
    }
    // The uts namespace is the sandbox's, where this name is already set.
    base.set_hostname(Some(sandbox.config.hostname.clone()));
    // HOSTNAME first, so that the pod's own env can still set it.
    let mut env = vec![format!("HOSTNAME={}", sandbox.config.hostname)];
    env.extend(opts.env.iter().map(|(k, v)| format!("{k}={v}")));
    let overrides = Overrides {
        entrypoint: (!opts.command.is_empty()).then(|| opts.command.clone()),
        cmd: (!opts.args.is_empty()).then(|| opts.args.clone()),
        env,
        workdir: opts.working_dir.clone(),
        user: opts.user.map(|(u, g)| match g {
            Some(g) => format!("{u}:{g}"),
            None => u.to_string(),
        }),
    };
    let image_spec = skiff_image::spec::image_spec(config, rootfs, base, &overrides)?;
    let mut spec = image_spec.spec;

    if let Some(p) = spec.process_mut() {
        let mut user = p.user().clone();
        // The primary group is a supplementary one too (as containerd sets
        // it since CVE-2023-25173), then the image's memberships and the
        // pod's supplemental groups.
        let mut gids = vec![user.gid()];
        for g in user
            .additional_gids()
            .clone()
            .unwrap_or_default()
            .iter()
            .chain(&opts.supplemental_groups)
        {
            if !gids.contains(g) {
                gids.push(*g);
            }
        }
        user.set_additional_gids(Some(gids));
        p.set_user(user);
        let set: oci_spec::runtime::Capabilities = capability_set(opts)?.into_iter().collect();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some(set.clone()));
        caps.set_effective(Some(set.clone()));
        caps.set_permitted(Some(set));
        caps.set_inheritable(None);
        caps.set_ambient(None);
        p.set_capabilities(Some(caps));
    }

    let mut mounts = spec.mounts().clone().unwrap_or_default();
    if opts.privileged {
        // A privileged container may write /sys and its cgroups.
        for m in mounts.iter_mut() {
            if matches!(m.destination().to_str(), Some("/sys" | "/sys/fs/cgroup")) {
                if let Some(o) = m.options().clone() {
                    m.set_options(Some(o.into_iter().filter(|o| o != "ro").collect()));
                }
            }
        }
    }
    if let Some(shm) = &sandbox.shm {
        mounts.retain(|m| m.destination() != Path::new("/dev/shm"));
        mounts.push(bind(shm, "/dev/shm", false)?);
    }
    // Before the pod's own mounts, so one onto /etc/hosts (say) still wins.
    for (source, dest) in [
        (&sandbox.etc_hosts, "/etc/hosts"),
        (&sandbox.etc_hostname, "/etc/hostname"),
        (&sandbox.resolv_conf, "/etc/resolv.conf"),
    ] {
        mounts.push(bind(source, dest, opts.read_only_rootfs)?);
    }
    let taken: Vec<String> = opts
        .mounts
        .iter()
        .map(|m| clean_destination(&m.destination))
        .collect();
    let mut all: Vec<VolumeMount> = opts
        .mounts
        .iter()
        .map(|m| VolumeMount {
            destination: m.destination.clone(),
            source: m.source.clone(),
            anonymous: false,
            readonly: m.readonly,
        })
        .collect();
    all.extend(anonymous_volumes(rootfs, dir, &image_spec.volumes, &taken)?);
    // Parents before children; otherwise as given (the sort is stable).
    all.sort_by_key(|v| clean_destination(&v.destination).matches('/').count());
    for v in &all {
        mounts.push(bind(&v.source, &v.destination, v.readonly)?);
    }
    spec.set_mounts(Some(mounts));

    if let Some(linux) = spec.linux_mut() {
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        if sandbox.netns.is_none() {
            namespaces.retain(|n| n.typ() != LinuxNamespaceType::Network);
        }
        for n in namespaces.iter_mut() {
            let path = match n.typ() {
                LinuxNamespaceType::Network => sandbox.netns.clone(),
                LinuxNamespaceType::Ipc => Some(sandbox.ipcns.clone()),
                LinuxNamespaceType::Uts => Some(sandbox.utsns.clone()),
                LinuxNamespaceType::Pid => pid_ns.clone(),
                _ => None,
            };
            if path.is_some() {
                n.set_path(path);
            }
        }
        linux.set_namespaces(Some(namespaces));
        linux.set_resources(Some(build_resources(&opts.resources, opts.privileged)?));
        linux.set_cgroups_path(Some(Path::new(&sandbox.config.cgroup_parent).join(id)));
        if opts.privileged {
            linux.set_masked_paths(None);
            linux.set_readonly_paths(None);
        }
    }
    let stop_signal = opts.stop_signal.clone().or(image_spec.stop_signal);
    Ok((spec, stop_signal, all))
}

impl Engine {
    /// Create a container in `sandbox` (started later with
    /// [`Engine::start`], from a single-threaded process such as
    /// `skiff start`). Nothing is left behind on error.
    pub fn create_pod_container(
        &self,
        sandbox: &SandboxRecord,
        opts: &PodContainerOptions,
    ) -> Result<ContainerRecord> {
        check_options(opts)?;
        // The caller's copy may be stale: the sandbox must still be there.
        let sandbox = self.sandbox(&sandbox.id)?;
        let pid_ns = match &opts.pid_namespace {
            PidNamespace::Own => None,
            PidNamespace::JoinContainer(target) => {
                let t = self.find(target)?;
                if t.live_status() != Status::Running || t.state.pid <= 0 {
                    return Err(EngineError::WrongState {
                        name: t.name.clone(),
                        status: t.live_status().to_string(),
                        hint: "a container can only join the pid namespace of a running one".into(),
                    });
                }
                Some(PathBuf::from(format!("/proc/{}/ns/pid", t.state.pid)))
            }
        };
        let (image, config) = self.find_image(&opts.image)?;

        let _lock = self.name_lock()?;
        if let Some(other) = self.list()?.into_iter().find(|r| r.name == opts.name) {
            return Err(EngineError::NameInUse {
                name: opts.name.clone(),
                id: other.id,
            });
        }
        let id = random_id()?;
        let dir = self.container_dir(&id);
        fs::create_dir(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        let rootfs = self.rootfs(&id);
        let mut guard = CreateGuard {
            data_dir: self.data_dir.clone(),
            dir: dir.clone(),
            rootfs: rootfs.clone(),
            net: None,
            armed: true,
        };
        let layers: Vec<_> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        Snapshotter::new(self.store()).mount(&layers, &dir.join("rw"), &rootfs, MountMode::Auto)?;
        let (spec, stop_signal, volumes) = build_pod_spec(
            opts,
            PodSpecInputs {
                id: &id,
                sandbox: &sandbox,
                config: &config,
                rootfs: &rootfs,
                dir: &dir,
                pid_ns,
            },
        )?;
        self.write_container_files(&id, &spec, opts.stdin)?;
        let record = ContainerRecord {
            id: id.clone(),
            name: opts.name.clone(),
            image: opts.image.clone(),
            image_id: image.config.to_string(),
            layers: layers.iter().map(|d| d.to_string()).collect(),
            created: skiff_runtime::state::now_rfc3339(),
            args: spec
                .process()
                .as_ref()
                .and_then(|p| p.args().clone())
                .unwrap_or_default(),
            restart: RestartPolicy::No,
            auto_remove: false,
            tty: opts.tty,
            interactive: opts.stdin,
            stop_signal: stop_signal.unwrap_or_else(|| "SIGTERM".to_string()),
            network: if sandbox.config.host_network {
                Network::Host
            } else {
                Network::Bridge
            },
            ports: Vec::new(),
            net: None,
            tty_size: None,
            volumes,
            sandbox: Some(sandbox.id.clone()),
            labels: opts.labels.clone(),
            state: State {
                status: Some(Status::Created),
                ..State::default()
            },
        };
        record.save(&self.record_path(&id))?;
        guard.armed = false;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities() {
        let mut o = PodContainerOptions::default();
        let caps = capability_set(&o).unwrap();
        assert_eq!(caps.len(), DEFAULT_CAPS.len());
        o.capabilities_drop = vec!["all".into()];
        o.capabilities_add = vec!["NET_ADMIN".into(), "CAP_SYS_TIME".into()];
        assert_eq!(
            capability_set(&o).unwrap(),
            vec![Capability::NetAdmin, Capability::SysTime]
        );
        o.capabilities_add = vec!["FLY".into()];
        let e = capability_set(&o).unwrap_err().to_string();
        assert!(e.starts_with("capabilities_add[0]"), "{e}");
    }

    #[test]
    fn options_name_the_field() {
        let mut o = PodContainerOptions {
            name: "k8s_app_p_default_1_0".into(),
            ..Default::default()
        };
        assert!(check_options(&o).is_ok());
        o.mounts = vec![PodMount {
            source: "/does/not/exist".into(),
            destination: "/data".into(),
            readonly: false,
        }];
        let e = check_options(&o).unwrap_err().to_string();
        assert!(e.starts_with("mounts[0].source"), "{e}");
        o.mounts.clear();
        o.env = vec![("A=B".into(), "x".into())];
        assert!(check_options(&o)
            .unwrap_err()
            .to_string()
            .starts_with("env[0]"));
        o.env.clear();
        o.working_dir = Some("rel".into());
        assert!(check_options(&o)
            .unwrap_err()
            .to_string()
            .starts_with("working_dir"));
    }
}
