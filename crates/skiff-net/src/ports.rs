//! Port publishing: `-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::NetError;

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One published port: traffic to `host_ip:host_port` on the host is DNATed to
/// the container's `container_port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
    /// Only this host address; `None` means every host address (including
    /// 127.0.0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(IpAddr::V4(ip)) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port, self.container_port, self.protocol
        )
    }
}

impl FromStr for PortMapping {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        parse_port_mapping(s)
    }
}

impl PortMapping {
    /// The object CNI's portmap plugin expects in `runtimeConfig.portMappings`.
    pub(crate) fn to_cni(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "hostPort": self.host_port,
            "containerPort": self.container_port,
            "protocol": self.protocol.to_string(),
        });
        if let Some(ip) = self.host_ip {
            v["hostIP"] = ip.to_string().into();
        }
        v
    }
}

/// Parses a `-p` value: `HOST:CTR`, `HOST:CTR/udp`, `127.0.0.1:HOST:CTR`,
/// `[::1]:HOST:CTR/tcp`.
pub fn parse_port_mapping(value: &str) -> Result<PortMapping, NetError> {
    let err = |reason: &str| NetError::InvalidPortMapping {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let (spec, protocol) = match value.rsplit_once('/') {
        Some((spec, "tcp")) => (spec, Protocol::Tcp),
        Some((spec, "udp")) => (spec, Protocol::Udp),
        Some((_, other)) => {
            return Err(err(&format!("unknown protocol {other:?}, use tcp or udp")))
        }
        None => (value, Protocol::Tcp),
    };
    // A bracketed IPv6 host address may itself contain colons.
    let (host_ip, rest) =
        if let Some(after) = spec.strip_prefix('[') {
            let (ip, rest) = after
                .split_once("]:")
                .ok_or_else(|| err("unterminated [IPv6] host address"))?;
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| err(&format!("{ip:?} is not an IP address")))?;
            (Some(ip), rest)
        } else {
            match spec.matches(':').count() {
                1 => (None, spec),
                2 => {
                    let (ip, rest) = spec.split_once(':').expect("two colons");
                    let ip: IpAddr = ip.parse().map_err(|_| {
                        err(&format!(
                            "{ip:?} is not an IP address (IPv6 host addresses go in brackets)"
                        ))
                    })?;
                    (Some(ip), rest)
                }
                0 => return Err(err(
                    "a host port is required (publishing on a random host port is not supported)",
                )),
                _ => return Err(err("too many ':' (IPv6 host addresses go in brackets)")),
            }
        };
    let (host, ctr) = rest
        .split_once(':')
        .ok_or_else(|| err("expected HOST_PORT:CONTAINER_PORT"))?;
    let port = |p: &str, which: &str| -> Result<u16, NetError> {
        if p.contains('-') {
            return Err(err("port ranges are not supported"));
        }
        match p.parse::<u16>() {
            Ok(0) => Err(err(&format!("{which} port must be between 1 and 65535"))),
            Ok(n) => Ok(n),
            Err(_) => Err(err(&format!(
                "{which} port {p:?} is not a number between 1 and 65535"
            ))),
        }
    };
    Ok(PortMapping {
        host_port: port(host, "host")?,
        container_port: port(ctr, "container")?,
        protocol,
        host_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good() {
        let p = parse_port_mapping("8080:80").unwrap();
        assert_eq!(
            p,
            PortMapping {
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
                host_ip: None
            }
        );
        assert_eq!(
            parse_port_mapping("53:5353/udp").unwrap().protocol,
            Protocol::Udp
        );
        let p = parse_port_mapping("127.0.0.1:8080:80/tcp").unwrap();
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(p.to_string(), "127.0.0.1:8080:80/tcp");
        let p = parse_port_mapping("[::1]:8443:443").unwrap();
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        assert_eq!(p.to_string(), "[::1]:8443:443/tcp");
        assert_eq!(parse_port_mapping(&p.to_string()).unwrap(), p);
        assert_eq!(
            p.to_cni(),
            serde_json::json!({"hostPort": 8443, "containerPort": 443, "protocol": "tcp", "hostIP": "::1"})
        );
    }

    #[test]
    fn bad() {
        for (value, needle) in [
            ("80", "host port is required"),
            ("8080:80/sctp", "unknown protocol \"sctp\""),
            ("0:80", "host port must be between"),
            ("8080:70000", "container port \"70000\""),
            ("8080:http", "container port \"http\""),
            ("1000-1010:80", "ranges"),
            ("foo:8080:80", "\"foo\" is not an IP address"),
            ("::1:8080:80", "too many ':'"),
            ("[::1:8080:80", "unterminated"),
            ("", "host port is required"),
        ] {
            let e = parse_port_mapping(value).unwrap_err().to_string();
            assert!(e.contains(needle), "{value:?}: {e}");
            assert!(e.contains(&format!("{value:?}")), "names the value: {e}");
        }
    }
}
