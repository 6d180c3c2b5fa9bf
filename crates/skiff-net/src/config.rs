//! Network definitions and the CNI configuration list generated from them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::NetError;

/// The CNI version we speak. Debian 12's plugins (1.1.1) support up to 1.0.0.
pub const CNI_VERSION: &str = "1.0.0";

/// The default network's name, bridge and subnet. Chosen not to collide with
/// podman's `podman`/`cni-podman0`/10.88.0.0/16 or docker's 172.17.0.0/16.
pub const DEFAULT_NETWORK: &str = "skiff";
pub const DEFAULT_BRIDGE: &str = "skiff0";
pub const DEFAULT_SUBNET: &str = "10.89.0.0/16";

/// How a container is networked (`--network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Own network namespace, attached to the default bridge (the default).
    #[default]
    Bridge,
    /// Own network namespace with only `lo`.
    None,
    /// The host's network namespace: nothing to set up or tear down.
    Host,
}

impl NetworkMode {
    /// Whether the container gets its own network namespace.
    pub fn own_netns(self) -> bool {
        self != NetworkMode::Host
    }

    /// Rejects `-p` with modes that cannot publish ports.
    pub fn check_ports(self, ports: &[crate::PortMapping]) -> Result<(), NetError> {
        if self != NetworkMode::Bridge && !ports.is_empty() {
            return Err(NetError::PortsNotSupported {
                mode: self.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        })
    }
}

impl FromStr for NetworkMode {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        match s {
            "bridge" | "default" | DEFAULT_NETWORK => Ok(NetworkMode::Bridge),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            other => Err(NetError::InvalidNetworkMode(other.to_string())),
        }
    }
}

/// An IPv4 subnet in CIDR form (`10.89.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// Whether `ip` lies inside this subnet.
    pub fn contains(self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask(),
            IpAddr::V6(_) => false,
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        let bad = |why: &str| NetError::InvalidConfig(format!("subnet {s:?}: {why}"));
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| bad("expected CIDR form like 10.89.0.0/16"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| bad("prefix length must be between 8 and 30"))?;
        let net = Subnet { addr, prefix };
        if u32::from(addr) & !net.mask() != 0 {
            return Err(bad("host bits are set; use the network address"));
        }
        Ok(net)
    }
}

/// One bridge network, turned into a CNI configuration list by
/// [`NetworkConfig::conflist`].
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// CNI network name; also the key of IPAM and iptables state, so it must
    /// be unique per network on the host.
    pub name: String,
    /// Linux bridge device (at most 15 bytes).
    pub bridge: String,
    pub subnet: Subnet,
    /// The bridge's address and the containers' default route; host-local
    /// picks the subnet's first address when `None`.
    pub gateway: Option<Ipv4Addr>,
    /// Where the CNI plugin binaries are looked up (CNI_PATH).
    pub plugin_dirs: Vec<PathBuf>,
    /// host-local IPAM data directory (one file per leased address).
    pub state_dir: PathBuf,
    /// Our copy of each attachment's ADD result, used by DEL when the caller
    /// has lost its [`crate::Attachment`].
    pub cache_dir: PathBuf,
    /// Where we note that the network's own firewall rules are installed
    /// (see [`crate::ensure_network_rules`]).
    pub rules_dir: PathBuf,
    /// Accept forwarding to and from the bridge in the FORWARD chain (one
    /// pair of rules for the whole network), for hosts whose FORWARD policy
    /// is DROP (as docker leaves it).
    pub firewall: bool,
    /// Kill a plugin that runs longer than this.
    pub plugin_timeout: Duration,
}

impl NetworkConfig {
    /// The default `skiff` network (bridge `skiff0`, 10.89.0.0/16) with its
    /// state under `data_dir` (normally `/var/lib/skiff`).
    pub fn default_bridge(data_dir: &Path) -> Self {
        Self::bridge(
            DEFAULT_NETWORK,
            DEFAULT_BRIDGE,
            DEFAULT_SUBNET.parse().expect("default subnet is valid"),
            data_dir,
        )
    }

    /// A bridge network with state under `data_dir/net`.
    pub fn bridge(name: &str, bridge: &str, subnet: Subnet, data_dir: &Path) -> Self {
        let net = data_dir.join("net");
        NetworkConfig {
            name: name.to_string(),
            bridge: bridge.to_string(),
            subnet,
            gateway: None,
            plugin_dirs: vec![PathBuf::from("/usr/lib/cni"), PathBuf::from("/opt/cni/bin")],
            state_dir: net.join("ipam"),
            cache_dir: net.join("cache"),
            rules_dir: net.join("rules"),
            firewall: true,
            plugin_timeout: Duration::from_secs(30),
        }
    }

    /// Checks what the plugins would otherwise reject with a vaguer message.
    pub fn validate(&self) -> Result<(), NetError> {
        let bad = |s: String| Err(NetError::InvalidConfig(s));
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad(format!(
                "network name {:?} must be non-empty and use only letters, digits, '-', '_' and '.'",
                self.name
            ));
        }
        // The name also goes into firewall rule comments, so it keeps to
        // the characters a network name may use.
        if self.bridge.is_empty()
            || self.bridge.len() > 15
            || !self
                .bridge
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad(format!(
                "bridge name {:?} must be 1 to 15 characters of letters, digits, '-', '_' and '.'",
                self.bridge
            ));
        }
        if let Some(gw) = self.gateway {
            if !self.subnet.contains(gw.into()) {
                return bad(format!("gateway {gw} is outside subnet {}", self.subnet));
            }
        }
        Ok(())
    }

    /// The CNI network configuration list (SPEC.md, "Configuration format")
    /// for one container: bridge with host-local IPAM, plus portmap only
    /// when the container publishes ports. Masquerading and forwarding are
    /// not per container: one set of rules per network does that
    /// ([`crate::ensure_network_rules`]), so the bridge's `ipMasq` is off and
    /// the firewall plugin is not used.
    pub fn conflist(&self, publish_ports: bool) -> Value {
        let mut plugins = vec![self.bridge_plugin(false)];
        if publish_ports {
            plugins.push(portmap_plugin());
        }
        self.list(plugins)
    }

    /// The list every container got before masquerading moved to
    /// per-network rules: bridge with `ipMasq`, portmap and firewall. DEL
    /// uses it for attachments that do not say which list they were made
    /// with.
    pub(crate) fn legacy_conflist(&self) -> Value {
        let mut plugins = vec![self.bridge_plugin(true), portmap_plugin()];
        if self.firewall {
            plugins.push(json!({ "type": "firewall", "backend": "iptables" }));
        }
        self.list(plugins)
    }

    fn list(&self, plugins: Vec<Value>) -> Value {
        json!({
            "cniVersion": CNI_VERSION,
            "name": self.name,
            "plugins": plugins,
        })
    }

    fn bridge_plugin(&self, ip_masq: bool) -> Value {
        let mut range = json!({ "subnet": self.subnet.to_string() });
        if let Some(gw) = self.gateway {
            range["gateway"] = gw.to_string().into();
        }
        json!({
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": true,
            "ipMasq": ip_masq,
            // Lets a container reach its own published ports.
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[range]],
                "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": self.state_dir,
            },
        })
    }
}

fn portmap_plugin() -> Value {
    json!({
        "type": "portmap",
        "capabilities": { "portMappings": true },
        // SNAT hairpin and localhost traffic, so 127.0.0.1:HOSTPORT works.
        "snat": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_parse() {
        let s: Subnet = "10.250.3.0/24".parse().unwrap();
        assert!(s.contains("10.250.3.77".parse().unwrap()));
        assert!(!s.contains("10.250.4.1".parse().unwrap()));
        assert_eq!(s.to_string(), "10.250.3.0/24");
        for bad in ["10.0.0.1/24", "10.0.0.0", "10.0.0.0/33", "x/24", "::1/64"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!("none".parse::<NetworkMode>().unwrap(), NetworkMode::None);
        assert_eq!(
            "bridge".parse::<NetworkMode>().unwrap(),
            NetworkMode::Bridge
        );
        assert!(!NetworkMode::Host.own_netns());
        let e = "overlay".parse::<NetworkMode>().unwrap_err().to_string();
        assert!(e.contains("\"overlay\"") && e.contains("none"), "{e}");
        let p = [crate::parse_port_mapping("1:2").unwrap()];
        assert!(NetworkMode::Host.check_ports(&p).is_err());
        assert!(NetworkMode::Bridge.check_ports(&p).is_ok());
    }

    #[test]
    fn conflist_shape() {
        let cfg = NetworkConfig::default_bridge(Path::new("/var/lib/skiff"));
        cfg.validate().unwrap();
        let types = |c: &Value| -> Vec<String> {
            c["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["type"].as_str().unwrap().to_string())
                .collect()
        };
        let c = cfg.conflist(true);
        assert_eq!(c["cniVersion"], "1.0.0");
        assert_eq!(c["name"], "skiff");
        assert_eq!(types(&c), ["bridge", "portmap"]);
        let br = &c["plugins"][0];
        assert_eq!(br["bridge"], "skiff0");
        assert_eq!(br["isGateway"], true);
        assert_eq!(br["ipMasq"], false);
        assert_eq!(br["ipam"]["type"], "host-local");
        assert_eq!(br["ipam"]["ranges"][0][0]["subnet"], "10.89.0.0/16");
        assert_eq!(br["ipam"]["dataDir"], "/var/lib/skiff/net/ipam");
        assert_eq!(c["plugins"][1]["capabilities"]["portMappings"], true);
        // Nothing published: no portmap to run on ADD or DEL.
        assert_eq!(types(&cfg.conflist(false)), ["bridge"]);
        let legacy = cfg.legacy_conflist();
        assert_eq!(types(&legacy), ["bridge", "portmap", "firewall"]);
        assert_eq!(legacy["plugins"][0]["ipMasq"], true);
        assert_eq!(cfg.rules_dir, Path::new("/var/lib/skiff/net/rules"));

        let mut cfg = cfg;
        cfg.gateway = Some("10.89.0.254".parse().unwrap());
        cfg.firewall = false;
        let c = cfg.conflist(false);
        assert_eq!(
            c["plugins"][0]["ipam"]["ranges"][0][0]["gateway"],
            "10.89.0.254"
        );
        assert_eq!(types(&cfg.legacy_conflist()), ["bridge", "portmap"]);
        cfg.gateway = Some("10.90.0.1".parse().unwrap());
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("outside subnet"));
        cfg.gateway = None;
        cfg.bridge = "a-very-long-bridge-name".into();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("15 characters"));
    }
}
