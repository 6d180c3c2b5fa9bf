//! Manifests, indexes and image configs: media types, parsing with errors
//! that name the field, schema1 rejection and platform selection.

use std::fmt;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::{Error, Result};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The `Accept` header for manifest requests. Schema1 is listed (last) only
/// so that a registry that has nothing else says so, and we can reject it
/// with a clear message instead of a confusing 404.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json;q=0.9, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1, \
application/vnd.docker.distribution.manifest.v1+json;q=0.1";

/// Manifests and configs larger than this are refused: real ones are a few
/// KiB, and the whole document is held in memory.
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// How a layer blob is compressed. The media type says which, and the first
/// bytes confirm it (some registries mislabel layers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
                Some(Compression::Gzip)
            }
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// What the first bytes of a blob say.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A platform: `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    /// Parse `os/arch[/variant]`; common aliases (`x86_64`, `aarch64`) are
    /// mapped to the names registries use.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = |reason: &str| Error::InvalidPlatform {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("wrong number of parts"));
        }
        if parts.iter().any(|p| {
            !p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        }) {
            return Err(bad("parts may only contain letters, digits, '_' and '.'"));
        }
        let architecture = match parts[1].to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" => "amd64".to_string(),
            "aarch64" => "arm64".to_string(),
            other => other.to_string(),
        };
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture,
            variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
        })
    }

    /// Variants that are implied when absent: arm64 is v8, arm is v7.
    fn normalised_variant(arch: &str, variant: Option<&str>) -> Option<String> {
        match (arch, variant) {
            ("arm64", None) => Some("v8".into()),
            ("arm", None) => Some("v7".into()),
            (_, v) => v.map(str::to_string),
        }
    }

    /// Does a descriptor's (or config's) platform satisfy this request?
    pub fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != arch {
            return false;
        }
        match &self.variant {
            None => true,
            Some(_) => {
                Platform::normalised_variant(arch, self.variant.as_deref())
                    == Platform::normalised_variant(arch, variant)
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A manifest document as fetched: either an index (OCI index or Docker
/// manifest list) or an image manifest (OCI or Docker schema2).
#[derive(Debug, Clone)]
pub enum Manifest {
    Index(Box<ImageIndex>),
    Image(Box<ImageManifest>),
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
    #[serde(rename = "fsLayers")]
    fs_layers: Option<serde_json::Value>,
}

fn schema1_error(what: &str) -> Error {
    Error::Manifest {
        what: what.to_string(),
        message: "this is a Docker schema1 manifest, which skiff does not support (it is \
                  deprecated and unsigned content can't be verified); re-push the image with a \
                  current client (docker, podman, skopeo) to get a schema2 or OCI manifest"
            .into(),
    }
}

/// Decode JSON with errors that name the JSON path of the bad field.
pub fn decode<T: DeserializeOwned>(what: &str, data: &[u8]) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(data);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Manifest {
            what: what.to_string(),
            message: if path == "." || e.inner().is_syntax() || e.inner().is_eof() {
                format!("malformed JSON: {}", e.inner())
            } else {
                format!("malformed field {path}: {}", e.inner())
            },
        }
    })
}

impl Manifest {
    /// Parse a manifest body. `content_type` is the registry's Content-Type
    /// header; the document's own `mediaType` and shape are used when it is
    /// missing or generic.
    pub fn parse(what: &str, content_type: Option<&str>, data: &[u8]) -> Result<Manifest> {
        if data.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(Error::Manifest {
                what: what.to_string(),
                message: format!(
                    "{} bytes is larger than the {} MiB limit for manifests",
                    data.len(),
                    MAX_MANIFEST_SIZE >> 20
                ),
            });
        }
        let probe: Probe = decode(what, data)?;
        let content_type = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim())
            .filter(|c| c.starts_with("application/vnd."));
        let media_type = probe
            .media_type
            .as_deref()
            .or(content_type)
            .map(str::to_string);
        match media_type.as_deref() {
            Some(DOCKER_SCHEMA1) | Some(DOCKER_SCHEMA1_SIGNED) => return Err(schema1_error(what)),
            _ if probe.schema_version == Some(1) || probe.fs_layers.is_some() => {
                return Err(schema1_error(what))
            }
            _ => {}
        }
        if probe.schema_version != Some(2) {
            return Err(Error::Manifest {
                what: what.to_string(),
                message: format!(
                    "schemaVersion is {}, expected 2",
                    probe
                        .schema_version
                        .map_or("missing".to_string(), |v| v.to_string())
                ),
            });
        }
        match media_type.as_deref() {
            Some(OCI_INDEX) | Some(DOCKER_MANIFEST_LIST) => Ok(Manifest::Index(decode(what, data)?)),
            Some(OCI_MANIFEST) | Some(DOCKER_MANIFEST) => {
                Ok(Manifest::Image(Box::new(decode(what, data)?)))
            }
            // An OCI document may omit mediaType: tell them apart by shape.
            None if probe.manifests.is_some() => Ok(Manifest::Index(decode(what, data)?)),
            None if probe.layers.is_some() => Ok(Manifest::Image(decode(what, data)?)),
            None => Err(Error::Manifest {
                what: what.to_string(),
                message: "no mediaType, and neither \"manifests\" nor \"layers\": not an image manifest or index".into(),
            }),
            Some(other) => Err(Error::Manifest {
                what: what.to_string(),
                message: format!(
                    "unsupported manifest media type {other:?} (skiff pulls OCI indexes and manifests, \
                     and Docker manifest lists and schema2 manifests)"
                ),
            }),
        }
    }
}

/// Pick the manifest for `platform` from an index.
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
    reference: &str,
) -> Result<&'a Descriptor> {
    let mut available = Vec::new();
    for d in index.manifests() {
        let media = d.media_type().to_string();
        if media != OCI_MANIFEST && media != DOCKER_MANIFEST {
            // Attestations and nested indexes are not runnable images.
            continue;
        }
        let Some(p) = d.platform() else { continue };
        let (os, arch) = (p.os().to_string(), p.architecture().to_string());
        if os == "unknown" {
            continue;
        }
        if platform.matches(&os, &arch, p.variant().as_deref()) {
            return Ok(d);
        }
        available.push(match p.variant() {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        });
    }
    Err(Error::NoPlatform {
        reference: reference.to_string(),
        wanted: platform.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

/// Parse an image config blob.
pub fn parse_config(what: &str, data: &[u8]) -> Result<ImageConfiguration> {
    decode(what, data)
}

/// Parse a descriptor's digest with an error naming where it came from.
pub fn descriptor_digest(what: &str, d: &Descriptor) -> Result<Digest> {
    Digest::parse(d.digest().as_ref()).map_err(|e| Error::Manifest {
        what: what.to_string(),
        message: format!("digest: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{
      "schemaVersion": 2,
      "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests": [
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 100,
         "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 100,
         "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 100,
         "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
         "platform": {"architecture": "unknown", "os": "unknown"}}
      ]}"#;

    #[test]
    fn selects_platform() {
        let Manifest::Index(index) = Manifest::parse("index", None, INDEX.as_bytes()).unwrap()
        else {
            panic!("not an index")
        };
        let amd = select_platform(&index, &Platform::default(), "x").unwrap();
        assert!(amd.digest().to_string().contains("2222"));
        let arm = select_platform(&index, &Platform::parse("linux/arm64").unwrap(), "x").unwrap();
        assert!(arm.digest().to_string().contains("1111"));
        let arm =
            select_platform(&index, &Platform::parse("linux/aarch64/v8").unwrap(), "x").unwrap();
        assert!(arm.digest().to_string().contains("1111"));
        let e = select_platform(&index, &Platform::parse("linux/s390x").unwrap(), "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux/arm64/v8, linux/amd64") && e.contains("--platform"),
            "{e}"
        );
    }

    #[test]
    fn rejects_schema1_and_malformed() {
        let s1 = r#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        let e = Manifest::parse("manifest x", None, s1.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema1"), "{e}");
        let e = Manifest::parse("m", Some(DOCKER_SCHEMA1_SIGNED), b"{\"schemaVersion\":1}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema1"), "{e}");
        let e = Manifest::parse("manifest x", None, b"{not json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("manifest x") && e.contains("malformed JSON"),
            "{e}"
        );
        let bad = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"x","size":"big","digest":"sha256:11"},"layers":[]}"#;
        let e = Manifest::parse("manifest x", None, bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.size"), "{e}");
        let big = vec![b' '; (MAX_MANIFEST_SIZE + 1) as usize];
        let e = Manifest::parse("manifest x", None, &big)
            .unwrap_err()
            .to_string();
        assert!(e.contains("4 MiB"), "{e}");
        let e = Manifest::parse("m", None, br#"{"schemaVersion":2,"mediaType":"text/x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported manifest media type"), "{e}");
    }

    #[test]
    fn compression() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"etc/"), Compression::None);
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert!(Platform::parse("linux").is_err());
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
    }
}
