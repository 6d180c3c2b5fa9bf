//! `/etc/skiff/registries.toml`: which registries are reached over plain
//! HTTP, or over HTTPS without certificate verification.
//!
//! ```toml
//! [[registry]]
//! location = "registry.lan:5000"   # host[:port], as written in image names
//! http = true                      # plain HTTP only
//!
//! [[registry]]
//! location = "selfsigned.lan"
//! insecure = true                  # HTTPS without verifying the certificate,
//!                                  # falling back to plain HTTP
//! ```
//!
//! Registries on loopback addresses (`localhost`, `127.0.0.0/8`, `::1`) are
//! reached over plain HTTP unless an entry says `http = false`, as docker
//! treats them as insecure by default.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file read when no `--registries-config` is given.
pub const DEFAULT_REGISTRIES_CONFIG: &str = "/etc/skiff/registries.toml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistriesConfig {
    #[serde(default)]
    pub registry: Vec<RegistryEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryEntry {
    /// `host[:port]`, exactly as it appears in image references.
    pub location: String,
    /// Talk plain HTTP.
    #[serde(default)]
    pub http: Option<bool>,
    /// HTTPS without certificate verification, then plain HTTP.
    #[serde(default)]
    pub insecure: Option<bool>,
}

/// How to reach one registry host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS with certificate verification (the default).
    Https,
    /// HTTPS without verification; plain HTTP if the TLS connection fails.
    HttpsInsecure,
    /// Plain HTTP.
    Http,
}

impl RegistriesConfig {
    /// Load `path`. A missing file is an empty configuration only when it is
    /// the default path; a path the user named must exist.
    pub fn load(path: &Path, explicit: bool) -> Result<RegistriesConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(RegistriesConfig::default())
            }
            Err(e) => return Err(Error::io_path("cannot read registries config", path, e)),
        };
        RegistriesConfig::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConfig> {
        let config: RegistriesConfig = toml::from_str(text).map_err(|e| Error::Config {
            path: PathBuf::from(path),
            message: format!(
                "{} (expected [[registry]] tables with location, http, insecure)",
                e.to_string().trim_end()
            ),
        })?;
        for (i, r) in config.registry.iter().enumerate() {
            if r.location.is_empty() || r.location.contains('/') {
                return Err(Error::Config {
                    path: PathBuf::from(path),
                    message: format!(
                        "registry[{i}].location {:?} must be host[:port], without a scheme or path",
                        r.location
                    ),
                });
            }
        }
        Ok(config)
    }

    /// How to reach `host` (`host[:port]`).
    pub fn transport(&self, host: &str) -> Transport {
        if let Some(entry) = self.registry.iter().find(|r| r.location == host) {
            if entry.http == Some(true) {
                return Transport::Http;
            }
            if entry.insecure == Some(true) {
                return Transport::HttpsInsecure;
            }
            if entry.http == Some(false) || entry.insecure == Some(false) {
                return Transport::Https;
            }
        }
        if is_loopback(host) {
            Transport::Http
        } else {
            Transport::Https
        }
    }
}

/// `localhost`, `127.x.y.z`, `[::1]`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    bare == "localhost"
        || bare.ends_with(".localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_http_by_default() {
        let c = RegistriesConfig::default();
        assert_eq!(c.transport("127.0.0.1:5000"), Transport::Http);
        assert_eq!(c.transport("127.9.9.9"), Transport::Http);
        assert_eq!(c.transport("localhost:5000"), Transport::Http);
        assert_eq!(c.transport("[::1]:5000"), Transport::Http);
        assert_eq!(c.transport("registry-1.docker.io"), Transport::Https);
        assert_eq!(c.transport("10.0.0.1:5000"), Transport::Https);
    }

    #[test]
    fn config_file_overrides() {
        let p = Path::new("/etc/skiff/registries.toml");
        let c = RegistriesConfig::parse(
            r#"
            [[registry]]
            location = "reg.lan:5000"
            http = true
            [[registry]]
            location = "self.lan"
            insecure = true
            [[registry]]
            location = "127.0.0.1:443"
            http = false
            "#,
            p,
        )
        .unwrap();
        assert_eq!(c.transport("reg.lan:5000"), Transport::Http);
        assert_eq!(c.transport("self.lan"), Transport::HttpsInsecure);
        assert_eq!(c.transport("127.0.0.1:443"), Transport::Https);
        assert_eq!(c.transport("other.lan"), Transport::Https);
    }

    #[test]
    fn bad_config_names_file_and_field() {
        let p = Path::new("/x/registries.toml");
        let e = RegistriesConfig::parse("[[registry]]\nlocaton = \"a\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/x/registries.toml") && e.contains("locaton"),
            "{e}"
        );
        let e = RegistriesConfig::parse("[[registry]]\nlocation = \"http://a/b\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("registry[0].location"), "{e}");
        assert!(RegistriesConfig::load(Path::new("/nonexistent/r.toml"), false).is_ok());
        assert!(RegistriesConfig::load(Path::new("/nonexistent/r.toml"), true).is_err());
    }
}
