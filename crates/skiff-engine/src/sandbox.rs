//! Pod sandboxes: the namespaces a pod's containers share, held by no
//! process. The net (unless the pod uses the host's network), ipc and uts
//! namespaces are made by a short-lived thread and pinned by bind mounts
//! under `<run>/sandboxes/<id>/`, beside a tmpfs for the pod's `/dev/shm`;
//! the net namespace is attached to the node's pod bridge through CNI, and
//! `<data>/sandboxes/<id>/` holds the record (`sandbox.json`) and the
//! `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` every container of
//! the pod bind-mounts.
//!
//! While a sandbox is made its record sits in `creating.json`, so a removal
//! after a crash half-way still knows the network and cgroup to clean.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use crate::error::{bad_flag, EngineError, IoContext, Result};
use crate::net::{container_resolv_conf, teardown_network};
use crate::record::{write_atomic, ContainerRecord, NetworkState};
use crate::run::random_id;
use crate::{is_mountpoint, network_config, Engine};

/// What a pod sandbox is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub pod_uid: String,
    pub name: String,
    pub namespace: String,
    /// `/etc/hostname` and the UTS hostname.
    pub hostname: String,
    /// When set, `/etc/hosts` also maps `<hostname>.<domain>` to the pod IP.
    pub domain: Option<String>,
    /// No network namespace of its own: the host's, with the host's
    /// `/etc/hosts` (plus the aliases).
    pub host_network: bool,
    /// The node's pod network: bridge device and IPv4 subnet.
    pub bridge: String,
    pub subnet: String,
    pub dns: DnsSettings,
    /// Extra `/etc/hosts` lines.
    pub host_aliases: Vec<HostAlias>,
    /// The pod's cgroup (cgroupfs form, like `/skiff-pods/pod<uid>`); each
    /// container's is `<cgroup_parent>/<container id>`.
    pub cgroup_parent: String,
    pub labels: BTreeMap<String, String>,
}

/// The pod's resolv.conf; all empty: a copy of the host's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsSettings {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// One extra `/etc/hosts` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostAlias {
    pub ip: String,
    pub hostnames: Vec<String>,
}

/// A pod sandbox, saved as `<data>/sandboxes/<id>/sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub id: String,
    pub config: SandboxConfig,
    /// RFC 3339.
    pub created: String,
    pub ip: Option<IpAddr>,
    /// The pinned namespaces; no net one with `host_network`.
    pub netns: Option<PathBuf>,
    pub ipcns: PathBuf,
    pub utsns: PathBuf,
    /// The CNI attachment (None with `host_network`).
    pub net: Option<NetworkState>,
    /// Files the pod's containers bind-mount.
    pub etc_hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub etc_hostname: PathBuf,
    /// The tmpfs every container of the pod mounts on `/dev/shm` (it shares
    /// the ipc namespace, so POSIX shared memory is shared too).
    #[serde(default)]
    pub shm: Option<PathBuf>,
}

/// Size of the pod's `/dev/shm`, as docker and containerd default it.
const SHM_SIZE: &str = "size=65536k";

const RECORD: &str = "sandbox.json";
const CREATING: &str = "creating.json";

fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    bad_flag(field, message)
}

fn no_space(field: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            field,
            format!("{v:?} must be non-empty and contain no spaces or control characters"),
        ));
    }
    Ok(())
}

/// A hostname the kernel takes (at most 64 bytes) and `/etc/hosts` can hold.
fn check_hostname(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !ok {
        return Err(invalid(
            field,
            format!("{name:?} is not a hostname: 1 to 64 letters, digits, '-' and '.', starting with a letter or digit"),
        ));
    }
    Ok(())
}

/// Everything that can be checked before anything is made.
fn check_config(cfg: &SandboxConfig) -> Result<()> {
    check_hostname("hostname", &cfg.hostname)?;
    if let Some(d) = &cfg.domain {
        check_hostname("domain", d)?;
    }
    for (i, ns) in cfg.dns.nameservers.iter().enumerate() {
        ns.parse::<IpAddr>().map_err(|_| {
            invalid(
                &format!("dns.nameservers[{i}]"),
                format!("{ns:?} is not an IP address"),
            )
        })?;
    }
    for (i, s) in cfg.dns.searches.iter().enumerate() {
        no_space(&format!("dns.searches[{i}]"), s)?;
    }
    for (i, o) in cfg.dns.options.iter().enumerate() {
        no_space(&format!("dns.options[{i}]"), o)?;
    }
    for (i, a) in cfg.host_aliases.iter().enumerate() {
        a.ip.parse::<IpAddr>().map_err(|_| {
            invalid(
                &format!("host_aliases[{i}].ip"),
                format!("{:?} is not an IP address", a.ip),
            )
        })?;
        for (j, h) in a.hostnames.iter().enumerate() {
            no_space(&format!("host_aliases[{i}].hostnames[{j}]"), h)?;
        }
    }
    cgroup_parent_path(&cfg.cgroup_parent)?;
    Ok(())
}

/// The pod cgroup as a path below the hierarchy roots.
fn cgroup_parent_path(parent: &str) -> Result<PathBuf> {
    if parent.is_empty() || parent == "/" {
        return Err(invalid(
            "cgroup_parent",
            "must name a cgroup below the root, like /skiff-pods/pod<uid>",
        ));
    }
    skiff_linux::cgroups::container_cgroup_path(Some(parent), "pod", false)
        .map_err(|e| invalid("cgroup_parent", e.to_string()))
}

/// A sandbox id: our own random hex, so it is also a safe path component.
fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(EngineError::NoSandbox(id.to_string()));
    }
    Ok(())
}

/// Make new net (when `net` is given), ipc and uts namespaces on a thread
/// of their own, set the hostname in the uts one, and pin each on its file
/// (created here). The thread ends afterwards: none of ours stays inside.
fn pin_namespaces(net: Option<&Path>, ipc: &Path, uts: &Path, hostname: &str) -> Result<()> {
    let mut pins: Vec<(&'static str, PathBuf)> =
        vec![("ipc", ipc.to_path_buf()), ("uts", uts.to_path_buf())];
    if let Some(n) = net {
        pins.push(("net", n.to_path_buf()));
    }
    for (_, p) in &pins {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .ctx(|| format!("cannot create the namespace pin {}", p.display()))?;
    }
    let mut flags = CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    if net.is_some() {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    let hostname = hostname.to_string();
    // These namespaces belong to a thread, not the process, so a thread that
    // unshares them leaves the caller's own as they were.
    std::thread::spawn(move || -> Result<()> {
        unshare(flags).ctx(|| "cannot create the pod's namespaces (are we root?)".into())?;
        nix::unistd::sethostname(&hostname)
            .ctx(|| format!("cannot set the pod's hostname {hostname:?}"))?;
        for (kind, path) in &pins {
            mount(
                Some(format!("/proc/thread-self/ns/{kind}").as_str()),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .ctx(|| format!("cannot pin the {kind} namespace on {}", path.display()))?;
        }
        Ok(())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Unpin and remove a namespace file (or the shm mount point); missing is fine.
fn unpin(path: &Path) -> Result<()> {
    skiff_net::remove_netns(path)?;
    Ok(())
}

/// The pod's `/etc/hosts`, as the kubelet writes it.
fn hosts_file(cfg: &SandboxConfig, ip: Option<IpAddr>) -> String {
    let mut out = if cfg.host_network {
        let mut s = String::from("# Kubernetes-managed hosts file (host network).\n");
        s.push_str(
            &fs::read_to_string("/etc/hosts")
                .unwrap_or_else(|_| "127.0.0.1\tlocalhost\n::1\tlocalhost\n".into()),
        );
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    } else {
        let mut s = String::from(
            "# Kubernetes-managed hosts file.\n\
             127.0.0.1\tlocalhost\n\
             ::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\n\
             fe00::0\tip6-mcastprefix\n\
             fe00::1\tip6-allnodes\n\
             fe00::2\tip6-allrouters\n",
        );
        if let Some(ip) = ip {
            match &cfg.domain {
                // The full name first: it is the canonical one (`hostname -f`).
                Some(d) => s.push_str(&format!("{ip}\t{h}.{d}\t{h}\n", h = cfg.hostname)),
                None => s.push_str(&format!("{ip}\t{}\n", cfg.hostname)),
            }
        }
        s
    };
    if !cfg.host_aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for a in &cfg.host_aliases {
            out.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.join("\t")));
        }
    }
    out
}

/// The pod's resolv.conf: the given settings, or the host's (without
/// loopback resolvers when the pod has a network of its own, where they are
/// the pod itself).
fn resolv_file(cfg: &SandboxConfig) -> String {
    let dns = &cfg.dns;
    if dns.nameservers.is_empty() && dns.searches.is_empty() && dns.options.is_empty() {
        let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        return if cfg.host_network {
            host
        } else {
            container_resolv_conf(&host)
        };
    }
    let mut out = String::new();
    for ns in &dns.nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !dns.searches.is_empty() {
        out.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    out
}

/// Removes a half-made sandbox unless disarmed.
struct SandboxGuard<'a> {
    engine: &'a Engine,
    id: String,
    armed: bool,
}

impl Drop for SandboxGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // A failed attach rolled itself back: no DEL to run.
            let _ = self.engine.remove_sandbox_as(&self.id, false);
        }
    }
}

impl SandboxRecord {
    fn load(path: &Path) -> Result<SandboxRecord> {
        let bytes = fs::read(path).ctx(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Other(format!("{}: {e}", path.display())))
    }

    fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| EngineError::Other(format!("cannot encode the sandbox record: {e}")))?;
        write_atomic(path, &bytes)
    }
}

impl Engine {
    pub(crate) fn sandboxes_dir(&self) -> PathBuf {
        self.data_dir.join("sandboxes")
    }

    /// `<data>/sandboxes/<id>`: the record and the /etc files.
    pub fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.sandboxes_dir().join(id)
    }

    /// `<run>/sandboxes/<id>`: the namespace pins and the shm mount.
    fn sandbox_run_dir(&self, id: &str) -> PathBuf {
        self.run_dir.join("sandboxes").join(id)
    }

    /// Make a pod sandbox: namespaces pinned with no process in them, the
    /// CNI attachment on `cfg.bridge`/`cfg.subnet`, the pod's /dev/shm and
    /// /etc files. Nothing is left behind on error.
    pub fn create_sandbox(&self, cfg: SandboxConfig) -> Result<SandboxRecord> {
        check_config(&cfg)?;
        let net_cfg = if cfg.host_network {
            None
        } else {
            Some(
                network_config(&self.data_dir, &cfg.bridge, &cfg.subnet)
                    .map_err(|e| invalid("bridge/subnet", e.to_string()))?,
            )
        };
        let id = random_id()?;
        let dir = self.sandbox_dir(&id);
        let run = self.sandbox_run_dir(&id);
        fs::create_dir_all(self.sandboxes_dir())
            .ctx(|| format!("cannot create {}", self.sandboxes_dir().display()))?;
        fs::create_dir(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        let mut guard = SandboxGuard {
            engine: self,
            id: id.clone(),
            armed: true,
        };
        fs::create_dir_all(&run).ctx(|| format!("cannot create {}", run.display()))?;
        let mut rec = SandboxRecord {
            id: id.clone(),
            created: skiff_runtime::state::now_rfc3339(),
            ip: None,
            netns: net_cfg.as_ref().map(|_| run.join("net")),
            ipcns: run.join("ipc"),
            utsns: run.join("uts"),
            net: None,
            etc_hosts: dir.join("hosts"),
            resolv_conf: dir.join("resolv.conf"),
            etc_hostname: dir.join("hostname"),
            shm: Some(run.join("shm")),
            config: cfg,
        };
        // First, so that a removal after a crash from here on knows what to undo.
        rec.save(&dir.join(CREATING))?;
        pin_namespaces(
            rec.netns.as_deref(),
            &rec.ipcns,
            &rec.utsns,
            &rec.config.hostname,
        )?;
        if let Some(shm) = &rec.shm {
            fs::create_dir(shm).ctx(|| format!("cannot create {}", shm.display()))?;
            mount(
                Some("shm"),
                shm,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some(format!("mode=1777,{SHM_SIZE}").as_str()),
            )
            .ctx(|| format!("cannot mount the pod's shm on {}", shm.display()))?;
        }
        if let (Some(net_cfg), Some(netns)) = (&net_cfg, &rec.netns) {
            let att = skiff_net::attach(net_cfg, &id, netns, &[])?;
            rec.ip = Some(att.ip);
            rec.net = Some(NetworkState {
                netns: netns.clone(),
                network: net_cfg.name.clone(),
                bridge: net_cfg.bridge.clone(),
                subnet: net_cfg.subnet.to_string(),
                attachment: Some(att),
            });
        }
        for (path, text) in [
            (&rec.etc_hosts, hosts_file(&rec.config, rec.ip)),
            (&rec.resolv_conf, resolv_file(&rec.config)),
            (&rec.etc_hostname, format!("{}\n", rec.config.hostname)),
        ] {
            fs::write(path, text).ctx(|| format!("cannot write {}", path.display()))?;
        }
        rec.save(&dir.join(RECORD))?;
        let creating = dir.join(CREATING);
        fs::remove_file(&creating).ctx(|| format!("cannot remove {}", creating.display()))?;
        guard.armed = false;
        Ok(rec)
    }

    /// A sandbox by its id.
    pub fn sandbox(&self, id: &str) -> Result<SandboxRecord> {
        check_id(id)?;
        let path = self.sandbox_dir(id).join(RECORD);
        if !path.exists() {
            return Err(EngineError::NoSandbox(id.to_string()));
        }
        SandboxRecord::load(&path)
    }

    /// Every complete sandbox, oldest first.
    pub fn list_sandboxes(&self) -> Result<Vec<SandboxRecord>> {
        let dir = self.sandboxes_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx(|| format!("cannot list {}", dir.display())),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.ctx(|| format!("cannot list {}", dir.display()))?;
            // Being made or removed right now when there is no record.
            if let Ok(r) = SandboxRecord::load(&e.path().join(RECORD)) {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The containers made in sandbox `id`, oldest first.
    pub fn sandbox_containers(&self, id: &str) -> Result<Vec<ContainerRecord>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|c| c.sandbox.as_deref() == Some(id))
            .collect())
    }

    /// Remove a sandbox: SIGKILL and remove its containers, detach it from
    /// the network (CNI DEL), unpin its namespaces, unmount its shm, remove
    /// the pod cgroup in every hierarchy and its directories. Every step
    /// runs; the record goes last, so a call after a partial failure picks
    /// up what is left. A sandbox that is already gone is not an error.
    pub fn remove_sandbox(&self, id: &str) -> Result<()> {
        self.remove_sandbox_as(id, true)
    }

    /// `remove_sandbox`; `unfinished_attach`: a sandbox whose creation
    /// stopped half-way without rolling back (a crash) may hold a CNI
    /// attachment it never recorded, so DEL runs from the plugins' cache.
    fn remove_sandbox_as(&self, id: &str, unfinished_attach: bool) -> Result<()> {
        check_id(id)?;
        let dir = self.sandbox_dir(id);
        let run = self.sandbox_run_dir(id);
        let rec = [RECORD, CREATING]
            .iter()
            .find_map(|f| SandboxRecord::load(&dir.join(f)).ok());
        let mut first: Option<EngineError> = None;
        let mut keep = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        for c in self.sandbox_containers(id)? {
            keep(self.remove(&c.id, true).map(|_| ()));
        }
        if let Some(rec) = &rec {
            match &rec.net {
                Some(net) => keep(teardown_network(&self.data_dir, net)),
                // Made up to the attach at most: DEL from the plugins' cache.
                None if unfinished_attach && !rec.config.host_network => {
                    keep(
                        network_config(&self.data_dir, &rec.config.bridge, &rec.config.subnet)
                            .and_then(|cfg| {
                                skiff_net::detach_by_id(&cfg, id).map_err(EngineError::from)
                            }),
                    );
                }
                None => {}
            }
            keep(destroy_pod_cgroup(&rec.config.cgroup_parent));
        }
        for pin in ["net", "ipc", "uts"] {
            keep(unpin(&run.join(pin)));
        }
        let shm = run.join("shm");
        if is_mountpoint(&shm) {
            keep(
                nix::mount::umount2(&shm, nix::mount::MntFlags::MNT_DETACH)
                    .ctx(|| format!("cannot unmount {}", shm.display())),
            );
        }
        if let Some(e) = first {
            return Err(e);
        }
        // Nothing is mounted under either any more: plain removals, which
        // fail rather than reach into a mount that is somehow still there.
        match fs::remove_dir(&shm) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx(|| format!("cannot remove {}", shm.display()))
            }
            _ => {}
        }
        match fs::remove_dir(&run) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx(|| format!("cannot remove {}", run.display()))
            }
            _ => {}
        }
        // The record first, so that a sandbox never looks complete without
        // its files.
        let _ = fs::remove_file(dir.join(RECORD));
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).ctx(|| format!("cannot remove {}", dir.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Kill whatever is left in the pod cgroup and remove it (and anything
/// below) in every hierarchy: on a hybrid host the v1 driver covers every
/// v1 controller and the unified companion.
fn destroy_pod_cgroup(parent: &str) -> Result<()> {
    let path = cgroup_parent_path(parent)?;
    let cg_err = |e: skiff_linux::cgroups::CgroupError| {
        EngineError::Other(format!("pod cgroup {parent}: {e}"))
    };
    let layout = skiff_linux::cgroups::detect().map_err(cg_err)?;
    let cg =
        skiff_linux::cgroups::manager(&layout, &path, layout.default_driver()).map_err(cg_err)?;
    if cg.exists() {
        let _ = cg.kill_all(libc::SIGKILL);
    }
    // A killed task leaves its cgroup a moment after the signal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match cg.destroy() {
            Ok(()) => return Ok(()),
            Err(e) if std::time::Instant::now() >= deadline => return Err(cg_err(e)),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SandboxConfig {
        SandboxConfig {
            hostname: "web-0".into(),
            bridge: "skiffpod0".into(),
            subnet: "10.42.0.0/24".into(),
            cgroup_parent: "/skiff-pods/podabc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn config_checks_name_the_field() {
        assert!(check_config(&cfg()).is_ok());
        let mut c = cfg();
        c.hostname = "a b".into();
        assert!(check_config(&c)
            .unwrap_err()
            .to_string()
            .starts_with("hostname"));
        let mut c = cfg();
        c.dns.nameservers = vec!["10.0.0.10".into(), "dns".into()];
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.starts_with("dns.nameservers[1]"), "{e}");
        let mut c = cfg();
        c.host_aliases = vec![HostAlias {
            ip: "1.2.3.4".into(),
            hostnames: vec!["x y".into()],
        }];
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.starts_with("host_aliases[0].hostnames[0]"), "{e}");
        let mut c = cfg();
        c.cgroup_parent = "/a/../b".into();
        assert!(check_config(&c)
            .unwrap_err()
            .to_string()
            .starts_with("cgroup_parent"));
        assert!(check_id("../x").is_err());
    }

    #[test]
    fn hosts_and_resolv() {
        let mut c = cfg();
        c.domain = Some("svc.example".into());
        c.host_aliases = vec![HostAlias {
            ip: "192.0.2.9".into(),
            hostnames: vec!["foo".into(), "bar".into()],
        }];
        let hosts = hosts_file(&c, Some("10.42.0.7".parse().unwrap()));
        assert!(hosts.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
        assert!(
            hosts.contains("\n10.42.0.7\tweb-0.svc.example\tweb-0\n"),
            "{hosts}"
        );
        assert!(hosts.ends_with("# Entries added by HostAliases.\n192.0.2.9\tfoo\tbar\n"));
        c.dns = DnsSettings {
            nameservers: vec!["10.96.0.10".into()],
            searches: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
            ],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            resolv_file(&c),
            "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n"
        );
    }
}
