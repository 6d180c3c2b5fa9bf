//! A container's network, through skiff-net: a network namespace pinned on
//! `<run>/netns/<id>` (so it outlives the container's processes, survives
//! restarts, and CNI DEL can still enter it), attached to the bridge network
//! or with only `lo` up; and the `/etc/hosts`, `/etc/hostname` and
//! `/etc/resolv.conf` files bind-mounted into the container.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use skiff_net::{NetworkConfig, PortMapping};

use crate::error::{EngineError, IoContext, Result};
use crate::record::{Network, NetworkState};

/// Set up the network of container `id` before it is created: nothing
/// for `host`; otherwise a namespace pinned at `netns` with `lo` up,
/// attached to the bridge network `cfg` (with `ports` published) in bridge
/// mode. Undone on error. A free function over plain data so it can run on
/// a thread while the client mounts the root.
pub(crate) fn setup_network(
    cfg: &NetworkConfig,
    netns: &Path,
    id: &str,
    mode: Network,
    ports: &[PortMapping],
) -> Result<Option<NetworkState>> {
    if !mode.own_netns() {
        return Ok(None);
    }
    if let Some(dir) = netns.parent() {
        fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    skiff_net::create_netns(netns)?;
    let attached = match mode {
        Network::Bridge => skiff_net::attach(cfg, id, netns, ports).map(Some),
        _ => skiff_net::attach_loopback(cfg, id, netns).map(|()| None),
    };
    let attachment = match attached {
        Ok(a) => a,
        Err(e) => {
            // attach rolled its own work back; only the pin is ours.
            let _ = skiff_net::remove_netns(netns);
            return Err(e.into());
        }
    };
    Ok(Some(NetworkState {
        netns: netns.to_path_buf(),
        network: cfg.name.clone(),
        bridge: cfg.bridge.clone(),
        subnet: cfg.subnet.to_string(),
        attachment,
    }))
}

/// Remove the bridge network of `bridge` and `subnet` with state under
/// `data_dir` (as `--bridge-name`/`--subnet` name it): its masquerade and
/// forward rules, bridge and IPAM state. Fails while containers are attached
/// to it. Tests and benchmarks call this for the networks they made; the
/// default `skiff0` stays, like docker0.
pub fn remove_bridge_network(data_dir: &Path, bridge: &str, subnet: &str) -> Result<()> {
    let cfg = crate::network_config(data_dir, bridge, subnet)?;
    skiff_net::remove_network(&cfg)?;
    Ok(())
}

/// Detach the container from its network (CNI DEL: veth, lease, port
/// rules) and unpin its namespace. Uses the network recorded at create, not
/// the current flags. Every step runs even when one fails.
pub(crate) fn teardown_network(data_dir: &Path, net: &NetworkState) -> Result<()> {
    let mut result = Ok(());
    if let Some(att) = &net.attachment {
        let detached = net
            .subnet
            .parse::<skiff_net::Subnet>()
            .map_err(EngineError::from)
            .and_then(|subnet| {
                let cfg = NetworkConfig::bridge(&net.network, &net.bridge, subnet, data_dir);
                skiff_net::detach(&cfg, att).map_err(EngineError::from)
            });
        if let Err(e) = detached {
            result = Err(e);
        }
    }
    if let Err(e) = skiff_net::remove_netns(&net.netns) {
        if result.is_ok() {
            result = Err(e.into());
        }
    }
    result
}

/// The files bind-mounted over the image's `/etc/hosts`, `/etc/hostname`
/// and `/etc/resolv.conf`, written into the container dir `dir`. Returns
/// (host path, container path) pairs.
pub(crate) fn write_etc_files(
    dir: &Path,
    hostname: &str,
    mode: Network,
    ip: Option<IpAddr>,
) -> Result<Vec<(PathBuf, &'static str)>> {
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (hosts, resolv) = if mode == Network::Host {
        // The host's network: its names and resolvers work as they are.
        let hosts = fs::read_to_string("/etc/hosts")
            .unwrap_or_else(|_| "127.0.0.1\tlocalhost\n::1\tlocalhost\n".into());
        (hosts, host_resolv)
    } else {
        let mut hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
        match ip {
            Some(ip) => hosts.push_str(&format!("{ip}\t{hostname}\n")),
            None => hosts.push_str(&format!("127.0.1.1\t{hostname}\n")),
        }
        (hosts, container_resolv_conf(&host_resolv))
    };
    let files = [
        ("hosts", hosts, "/etc/hosts"),
        ("hostname", format!("{hostname}\n"), "/etc/hostname"),
        ("resolv.conf", resolv, "/etc/resolv.conf"),
    ];
    let mut out = Vec::new();
    for (name, text, dest) in files {
        let path = dir.join(name);
        fs::write(&path, text).ctx(|| format!("cannot write {}", path.display()))?;
        out.push((path, dest));
    }
    Ok(out)
}

/// The host's resolv.conf without nameservers on 127.0.0.0/8 (or ::1): in
/// the container's own namespace those addresses are the container itself,
/// where no resolver listens (systemd-resolved's 127.0.0.53, dnsmasq).
pub(crate) fn container_resolv_conf(host: &str) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            if let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) {
                if ip.is_loopback() {
                    continue;
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_dropped() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example\nnameserver ::1\n";
        assert_eq!(
            container_resolv_conf(host),
            "# generated\nnameserver 192.0.2.1\nsearch example\n"
        );
    }

    #[test]
    fn etc_files() {
        let dir = std::env::temp_dir().join(format!("skiff-etc-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let files = write_etc_files(
            &dir,
            "web",
            Network::Bridge,
            Some("10.89.0.5".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(files.len(), 3);
        let hosts = fs::read_to_string(dir.join("hosts")).unwrap();
        assert!(hosts.contains("10.89.0.5\tweb\n"), "{hosts}");
        assert_eq!(fs::read_to_string(dir.join("hostname")).unwrap(), "web\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
