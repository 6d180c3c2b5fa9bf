//! Container networking for skiff.
//!
//! This crate owns the host side of container networks: it runs the CNI
//! plugins from the containernetworking-plugins package (bridge with
//! host-local IPAM, portmap, loopback) to attach a container's network
//! namespace to a bridge network and publish ports, and to detach it again
//! without leaving veths, iptables rules or IPAM leases behind. Masquerading
//! and forwarding are one set of rules per network, installed with its first
//! container and removed with the network ([`remove_network`]). It also
//! pins network namespaces on files ([`create_netns`]) so DEL can still reach
//! them after the container's processes are gone. Later it will also hold the
//! service proxy (nftables) and the cluster DNS server.
//!
//! It must not touch anything but networking: no container processes,
//! cgroups, mounts other than namespace pins, or the engine's records (the
//! engine stores the [`Attachment`] we return). It never edits firewall rules
//! it did not create: only rules tagged with the container's id or with a
//! network's own comment (see `iptables.rs`) are removed.
//!
//! The engine's whole integration, per container:
//! ```no_run
//! # use std::path::Path;
//! # fn main() -> Result<(), skiff_net::NetError> {
//! let cfg = skiff_net::NetworkConfig::default_bridge(Path::new("/var/lib/skiff"));
//! let ports = [skiff_net::parse_port_mapping("8080:80")?];
//! let netns = Path::new("/run/skiff/netns/abc123");
//! skiff_net::create_netns(netns)?; // then give the runtime this path
//! let att = skiff_net::attach(&cfg, "abc123", netns, &ports)?; // store `att`
//! // ... container runs, dies ...
//! skiff_net::detach(&cfg, &att)?;
//! skiff_net::remove_netns(netns)?;
//! // ... and once no container uses the network any more:
//! skiff_net::remove_network(&cfg)?;
//! # Ok(()) }
//! ```

mod config;
mod error;
mod iptables;
mod netns;
mod network;
mod plugin;
mod ports;

pub use config::{
    NetworkConfig, NetworkMode, Subnet, CNI_VERSION, DEFAULT_BRIDGE, DEFAULT_NETWORK,
    DEFAULT_SUBNET,
};
pub use error::NetError;
pub use iptables::{ensure_network_rules, sweep_iptables};
pub use netns::{create_netns, in_netns, ns_id, remove_netns, NsId};
pub use network::{
    attach, attach_loopback, detach, detach_by_id, remove_network, Attachment, CONTAINER_IFNAME,
};
pub use plugin::plugin_versions;
pub use ports::{parse_port_mapping, PortMapping, Protocol};
