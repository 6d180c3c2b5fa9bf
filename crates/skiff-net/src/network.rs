//! Attaching and detaching a container: the CNI ADD chain and DEL in reverse.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::netns::{ns_id, NsId};
use crate::plugin::{self, Invocation};
use crate::{NetError, NetworkConfig, PortMapping};

/// The interface name inside the container.
pub const CONTAINER_IFNAME: &str = "eth0";

/// A container's attachment to a network: what ADD gave it, and everything
/// DEL needs. Serializable so the engine can store it with the container and
/// tear down later, from another process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub container_id: String,
    pub network: String,
    pub netns: PathBuf,
    /// The namespace `netns` pointed to at ADD; DEL only enters `netns` if it
    /// still points there.
    pub netns_id: Option<NsId>,
    pub ifname: String,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub mac: Option<String>,
    /// The host end of the veth pair.
    pub host_veth: Option<String>,
    pub ports: Vec<PortMapping>,
    /// The final CNI result, given back to the plugins as prevResult on DEL.
    pub result: Value,
    /// The configuration list ADD ran, so DEL runs the same plugins with the
    /// same settings whatever the network's configuration is by then. None
    /// in records made before it was kept: DEL then runs the list all
    /// containers got at that time (bridge with ipMasq, portmap, firewall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflist: Option<Value>,
}

/// What we read out of a CNI result.
#[derive(Debug, PartialEq)]
pub(crate) struct ResultInfo {
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub mac: Option<String>,
    pub host_veth: Option<String>,
}

/// Reads the container's address off a CNI 1.0 result: the first IP whose
/// `interface` index names `ifname` inside a sandbox.
pub(crate) fn parse_result(
    result: &Value,
    ifname: &str,
    bridge: &str,
) -> Result<ResultInfo, String> {
    let ifaces = result["interfaces"].as_array().cloned().unwrap_or_default();
    let in_sandbox = |i: &Value| i["sandbox"].as_str().is_some_and(|s| !s.is_empty());
    let ctr = ifaces
        .iter()
        .position(|i| i["name"] == ifname && in_sandbox(i));
    let ips = result["ips"]
        .as_array()
        .ok_or("it has no \"ips\" list (the IPAM plugin assigned no address)")?;
    let ip = ips
        .iter()
        .find(|ip| match (ctr, ip["interface"].as_u64()) {
            (Some(c), Some(i)) => i as usize == c,
            // Without interface indexes, take the first address.
            _ => true,
        })
        .ok_or_else(|| format!("no address is assigned to {ifname}"))?;
    let addr = ip["address"]
        .as_str()
        .ok_or("an entry in \"ips\" has no \"address\"")?;
    let (a, p) = addr
        .split_once('/')
        .ok_or_else(|| format!("address {addr:?} is not in CIDR form"))?;
    let ip_addr: IpAddr = a.parse().map_err(|_| format!("bad address {addr:?}"))?;
    let prefix_len: u8 = p.parse().map_err(|_| format!("bad prefix in {addr:?}"))?;
    let gateway = ip["gateway"].as_str().and_then(|g| g.parse().ok());
    let mac = ctr
        .and_then(|c| ifaces[c]["mac"].as_str())
        .map(String::from);
    let host_veth = ifaces
        .iter()
        .find(|i| !in_sandbox(i) && i["name"] != bridge && i["name"].is_string())
        .and_then(|i| i["name"].as_str())
        .map(String::from);
    Ok(ResultInfo {
        ip: ip_addr,
        prefix_len,
        gateway,
        mac,
        host_veth,
    })
}

fn check_id(container_id: &str) -> Result<(), NetError> {
    // The spec's rule for container ids; it also keeps the id safe in a
    // file name and in an iptables comment.
    let ok = !container_id.is_empty()
        && container_id.len() <= 128
        && container_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && container_id.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidConfig(format!(
            "container id {container_id:?} must start with a letter or digit and use only letters, digits, '-', '_' and '.'"
        )))
    }
}

fn cache_path(cfg: &NetworkConfig, container_id: &str) -> PathBuf {
    cfg.cache_dir
        .join(&cfg.name)
        .join(format!("{container_id}.json"))
}

/// One plugin's stdin: its entry of the list plus name, cniVersion,
/// prevResult and the runtimeConfig for the capabilities it declares.
fn plugin_config(
    list: &Value,
    plugin: &Value,
    prev: Option<&Value>,
    ports: &[PortMapping],
) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if let Some(prev) = prev {
        conf["prevResult"] = prev.clone();
    }
    if conf["capabilities"]["portMappings"] == true {
        conf["runtimeConfig"] = json!({
            "portMappings": ports.iter().map(PortMapping::to_cni).collect::<Vec<_>>()
        });
    }
    conf
}

fn plugins(list: &Value) -> Vec<Value> {
    list["plugins"].as_array().cloned().unwrap_or_default()
}

fn plugin_type(p: &Value) -> String {
    p["type"].as_str().unwrap_or_default().to_string()
}

/// Brings `lo` up in the namespace (the `loopback` plugin). This is all that
/// `--network none` needs.
pub fn attach_loopback(
    cfg: &NetworkConfig,
    container_id: &str,
    netns: &Path,
) -> Result<(), NetError> {
    check_id(container_id)?;
    let conf = json!({ "cniVersion": crate::CNI_VERSION, "name": cfg.name, "type": "loopback" });
    let inv = Invocation {
        command: "ADD",
        container_id,
        netns: &netns.to_string_lossy(),
        ifname: "lo",
    };
    plugin::exec(
        &cfg.plugin_dirs,
        cfg.plugin_timeout,
        "loopback",
        &inv,
        &conf,
    )?;
    Ok(())
}

/// Attaches the namespace at `netns` to the network: `lo` up (at the same
/// time, it is independent), the ADD chain of [`NetworkConfig::conflist`]
/// (bridge + IPAM, portmap when `ports` are published), then the network's
/// own masquerade and forward rules if this is its first container. On
/// failure everything done so far is deleted again.
pub fn attach(
    cfg: &NetworkConfig,
    container_id: &str,
    netns: &Path,
    ports: &[PortMapping],
) -> Result<Attachment, NetError> {
    cfg.validate()?;
    check_id(container_id)?;
    let netns_id = ns_id(netns).ok_or_else(|| {
        NetError::io(
            format!(
                "network namespace {} of container {container_id}",
                netns.display()
            ),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?;
    for dir in [&cfg.state_dir, &cfg.cache_dir.join(&cfg.name)] {
        std::fs::create_dir_all(dir)
            .map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    }
    let list = cfg.conflist(!ports.is_empty());
    let ns = netns.to_string_lossy();
    let (lo, chain) = std::thread::scope(|s| {
        let lo = s.spawn(|| attach_loopback(cfg, container_id, netns));
        let chain = add_chain(cfg, &list, container_id, &ns, ports);
        (lo.join(), chain)
    });
    let result = chain?;
    let rollback = |e: NetError| {
        tracing::warn!(container = container_id, error = %e, "CNI ADD failed, rolling back");
        if let Err(del) = del_chain(cfg, &list, container_id, &ns, Some(&result), ports) {
            tracing::warn!(container = container_id, error = %del, "rollback after failed ADD");
        }
        e
    };
    lo.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        .map_err(rollback)?;
    crate::iptables::ensure_network_rules(cfg).map_err(rollback)?;
    let info = parse_result(&result, CONTAINER_IFNAME, &cfg.bridge).map_err(|reason| {
        rollback(NetError::BadResult {
            network: cfg.name.clone(),
            reason,
        })
    })?;
    let att = Attachment {
        container_id: container_id.to_string(),
        network: cfg.name.clone(),
        netns: netns.to_path_buf(),
        netns_id: Some(netns_id),
        ifname: CONTAINER_IFNAME.to_string(),
        ip: info.ip,
        prefix_len: info.prefix_len,
        gateway: info.gateway,
        mac: info.mac,
        host_veth: info.host_veth,
        ports: ports.to_vec(),
        result,
        conflist: Some(list),
    };
    // Best effort: the engine's stored Attachment is the primary record; this
    // copy lets `detach_by_id` clean up when that record was lost.
    let cache = cache_path(cfg, container_id);
    if let Err(e) = std::fs::write(&cache, serde_json::to_vec(&att).expect("serializes")) {
        tracing::warn!(path = %cache.display(), error = %e, "writing CNI cache");
    }
    tracing::info!(container = container_id, ip = %att.ip, "attached to network {}", cfg.name);
    Ok(att)
}

/// ADD through `list` in order, each plugin getting the previous result;
/// returns the last result. A failure deletes what was added.
fn add_chain(
    cfg: &NetworkConfig,
    list: &Value,
    container_id: &str,
    netns: &str,
    ports: &[PortMapping],
) -> Result<Value, NetError> {
    let inv = Invocation {
        command: "ADD",
        container_id,
        netns,
        ifname: CONTAINER_IFNAME,
    };
    let mut prev: Option<Value> = None;
    for p in plugins(list) {
        let conf = plugin_config(list, &p, prev.as_ref(), ports);
        match plugin::exec(
            &cfg.plugin_dirs,
            cfg.plugin_timeout,
            &plugin_type(&p),
            &inv,
            &conf,
        ) {
            Ok(Some(result)) => prev = Some(result),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(container = container_id, error = %e, "CNI ADD failed, rolling back");
                if let Err(del) = del_chain(cfg, list, container_id, netns, prev.as_ref(), ports) {
                    tracing::warn!(container = container_id, error = %del, "rollback after failed ADD");
                }
                return Err(e);
            }
        }
    }
    Ok(prev.unwrap_or(Value::Null))
}

/// Whether `list` has plugins that write iptables rules tagged with the
/// container id (portmap, or a bridge with ipMasq), which the sweep after
/// DEL is a safety net for.
fn tags_rules(list: &Value) -> bool {
    plugins(list)
        .iter()
        .any(|p| p["type"] == "portmap" || (p["type"] == "bridge" && p["ipMasq"] == true))
}

/// DEL through the list in reverse order; runs every plugin even when one
/// fails, then sweeps rules tagged with the container id.
fn del_chain(
    cfg: &NetworkConfig,
    list: &Value,
    container_id: &str,
    netns: &str,
    prev: Option<&Value>,
    ports: &[PortMapping],
) -> Result<(), NetError> {
    let inv = Invocation {
        command: "DEL",
        container_id,
        netns,
        ifname: CONTAINER_IFNAME,
    };
    let mut errors = Vec::new();
    for p in plugins(list).iter().rev() {
        let conf = plugin_config(list, p, prev, ports);
        if let Err(e) = plugin::exec(
            &cfg.plugin_dirs,
            cfg.plugin_timeout,
            &plugin_type(p),
            &inv,
            &conf,
        ) {
            errors.push(e.to_string());
        }
    }
    if tags_rules(list) {
        match crate::iptables::sweep_iptables(container_id) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                container = container_id,
                rules = n,
                "removed leftover iptables rules"
            ),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(NetError::Detach {
            container_id: container_id.to_string(),
            network: cfg.name.clone(),
            errors,
        })
    }
}

/// Detaches the container: DEL in reverse order through the list ADD ran,
/// then (when those plugins tag rules) removes any rule still tagged with
/// its id. Idempotent, and works when the namespace is already gone (the
/// kernel then has removed the veth with it; IPAM leases and iptables rules
/// are removed here).
pub fn detach(cfg: &NetworkConfig, att: &Attachment) -> Result<(), NetError> {
    check_id(&att.container_id)?;
    // Enter the namespace only if the path still names the one we attached:
    // a reused /proc/PID/ns/net would make the bridge plugin delete `eth0` in
    // some other namespace. An empty CNI_NETNS is valid for DEL.
    let same_ns = att.netns_id.is_some() && ns_id(&att.netns) == att.netns_id;
    let ns = if same_ns {
        att.netns.to_string_lossy().into_owned()
    } else {
        String::new()
    };
    let list = match &att.conflist {
        Some(list) => list.clone(),
        None => cfg.legacy_conflist(),
    };
    del_chain(
        cfg,
        &list,
        &att.container_id,
        &ns,
        Some(&att.result),
        &att.ports,
    )?;
    match std::fs::remove_file(cache_path(cfg, &att.container_id)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(container = att.container_id, error = %e, "removing CNI cache")
        }
        _ => {}
    }
    tracing::info!(
        container = att.container_id,
        "detached from network {}",
        cfg.name
    );
    Ok(())
}

/// Detaches a container whose [`Attachment`] record was lost (for example
/// after a crash), from our cache of its ADD result; without a cache entry it
/// still releases the IPAM lease and sweeps its rules, running every plugin
/// any version of ours may have used.
pub fn detach_by_id(cfg: &NetworkConfig, container_id: &str) -> Result<(), NetError> {
    check_id(container_id)?;
    let cached = std::fs::read(cache_path(cfg, container_id))
        .ok()
        .and_then(|b| serde_json::from_slice::<Attachment>(&b).ok());
    match cached {
        Some(att) => detach(cfg, &att),
        None => del_chain(cfg, &cfg.legacy_conflist(), container_id, "", None, &[]),
    }
}

/// Runs iproute2's `ip` and returns its stdout.
fn ip(args: &[&str]) -> Result<String, NetError> {
    let out = std::process::Command::new("ip")
        .args(args)
        .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
        .output()
        .map_err(|e| NetError::io("running ip (is iproute2 installed?)", e))?;
    if !out.status.success() {
        return Err(NetError::io(
            format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            std::io::Error::other("ip failed"),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes network `cfg` from the host: its masquerade and forward rules,
/// its bridge, its IPAM state and rules marker. Refuses while interfaces are
/// still attached to the bridge (detach the containers first). Idempotent.
pub fn remove_network(cfg: &NetworkConfig) -> Result<(), NetError> {
    cfg.validate()?;
    // Asked over netlink (`ip`), not sysfs: /sys/class/net shows the
    // namespace sysfs was mounted in, which need not be ours.
    let exists = crate::iptables::ifindex(&cfg.bridge).is_some();
    if exists {
        let attached: Vec<String> = ip(&["-o", "link", "show", "master", &cfg.bridge])?
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|name| name.split('@').next().unwrap_or(name).to_string())
            .collect();
        if !attached.is_empty() {
            return Err(NetError::NetworkInUse {
                network: cfg.name.clone(),
                bridge: cfg.bridge.clone(),
                interfaces: attached,
            });
        }
    }
    let rules = crate::iptables::remove_network_rules(cfg)?;
    if exists {
        let deleted = ip(&["link", "del", "dev", &cfg.bridge]);
        // Someone else deleting it meanwhile is fine.
        if crate::iptables::ifindex(&cfg.bridge).is_some() {
            deleted?;
        }
    }
    let ipam = cfg.state_dir.join(&cfg.name);
    match std::fs::remove_dir_all(&ipam) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(NetError::io(format!("removing {}", ipam.display()), e))
        }
        _ => {}
    }
    // Attachments cached for containers of this network are stale now; a
    // directory that still holds some is left for detach_by_id.
    let _ = std::fs::remove_dir(cfg.cache_dir.join(&cfg.name));
    tracing::info!(network = cfg.name, rules, "network removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "cniVersion": "1.0.0",
            "interfaces": [
                {"name": "skiff0", "mac": "aa:aa:aa:aa:aa:aa"},
                {"name": "veth1234", "mac": "bb:bb:bb:bb:bb:bb"},
                {"name": "eth0", "mac": "cc:cc:cc:cc:cc:cc", "sandbox": "/run/netns/x"}
            ],
            "ips": [{"interface": 2, "address": "10.89.0.7/16", "gateway": "10.89.0.1"}],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dns": {}
        })
    }

    #[test]
    fn result_parsing() {
        let r = parse_result(&sample(), "eth0", "skiff0").unwrap();
        assert_eq!(
            r,
            ResultInfo {
                ip: "10.89.0.7".parse().unwrap(),
                prefix_len: 16,
                gateway: Some("10.89.0.1".parse().unwrap()),
                mac: Some("cc:cc:cc:cc:cc:cc".into()),
                host_veth: Some("veth1234".into()),
            }
        );
        let mut no_ips = sample();
        no_ips.as_object_mut().unwrap().remove("ips");
        assert!(parse_result(&no_ips, "eth0", "skiff0")
            .unwrap_err()
            .contains("no \"ips\""));
        let mut bad = sample();
        bad["ips"][0]["address"] = "10.89.0.7".into();
        assert!(parse_result(&bad, "eth0", "skiff0")
            .unwrap_err()
            .contains("CIDR"));
        let mut other_if = sample();
        other_if["ips"][0]["interface"] = 1.into();
        assert!(parse_result(&other_if, "eth0", "skiff0")
            .unwrap_err()
            .contains("eth0"));
    }

    #[test]
    fn plugin_configs() {
        let cfg = NetworkConfig::default_bridge(Path::new("/tmp/x"));
        let list = cfg.conflist(true);
        let ps = plugins(&list);
        assert!(tags_rules(&list));
        assert!(!tags_rules(&cfg.conflist(false)));
        assert!(tags_rules(&cfg.legacy_conflist()));
        let ports = [crate::parse_port_mapping("8080:80").unwrap()];
        let c = plugin_config(&list, &ps[1], Some(&sample()), &ports);
        assert_eq!(c["name"], "skiff");
        assert_eq!(c["cniVersion"], "1.0.0");
        assert_eq!(c["type"], "portmap");
        assert_eq!(c["prevResult"]["ips"][0]["address"], "10.89.0.7/16");
        assert_eq!(
            c["runtimeConfig"]["portMappings"],
            json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}])
        );
        let c = plugin_config(&list, &ps[0], None, &ports);
        assert!(c.get("prevResult").is_none() && c.get("runtimeConfig").is_none());
    }

    #[test]
    fn container_ids() {
        assert!(check_id("abc-123_x.y").is_ok());
        for bad in ["", "-a", "a/b", "a b", "a\"b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attachment_roundtrip() {
        let att = Attachment {
            container_id: "c".into(),
            network: "skiff".into(),
            netns: "/run/skiff/netns/c".into(),
            netns_id: Some(NsId {
                dev: 4,
                ino: 4026532000,
            }),
            ifname: "eth0".into(),
            ip: "10.89.0.7".parse().unwrap(),
            prefix_len: 16,
            gateway: None,
            mac: None,
            host_veth: None,
            ports: vec![crate::parse_port_mapping("1:2/udp").unwrap()],
            result: sample(),
            conflist: Some(NetworkConfig::default_bridge(Path::new("/d")).conflist(false)),
        };
        let back: Attachment = serde_json::from_str(&serde_json::to_string(&att).unwrap()).unwrap();
        assert_eq!(back, att);
        // A record from before the list was kept still reads.
        let mut old = serde_json::to_value(&att).unwrap();
        old.as_object_mut().unwrap().remove("conflist");
        let back: Attachment = serde_json::from_value(old).unwrap();
        assert_eq!(back.conflist, None);
    }
}
