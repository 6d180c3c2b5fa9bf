//! Synthetic images: layers, configs and manifests built in memory, pushed
//! to a registry or written as an OCI layout. Tests use them for layers no
//! image tool would produce (hostile entries, every compression), and the
//! benchmark for its 100 MB image.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::manifest::{Compression, DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST};
use crate::reference::Reference;
use crate::registry::Client;

/// One layer ready to push.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub data: Vec<u8>,
    pub media_type: String,
    pub diff_id: Digest,
}

impl LayerBlob {
    pub fn digest(&self) -> Digest {
        Digest::of(&self.data)
    }
}

/// Compress a layer tar.
pub fn layer(tar: &[u8], compression: Compression, docker_media_types: bool) -> Result<LayerBlob> {
    let diff_id = Digest::of(tar);
    let (data, oci, docker) = match compression {
        Compression::None => (
            tar.to_vec(),
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.docker.image.rootfs.diff.tar",
        ),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            enc.write_all(tar).ctx_io("gzip")?;
            (
                enc.finish().ctx_io("gzip")?,
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        }
        Compression::Zstd => (
            zstd::encode_all(tar, 3).ctx_io("zstd")?,
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar.zstd",
        ),
    };
    Ok(LayerBlob {
        data,
        media_type: if docker_media_types { docker } else { oci }.to_string(),
        diff_id,
    })
}

trait CtxIo<T> {
    fn ctx_io(self, what: &str) -> Result<T>;
}

impl<T> CtxIo<T> for std::io::Result<T> {
    fn ctx_io(self, what: &str) -> Result<T> {
        self.map_err(|e| Error::io(format!("{what} compression"), e))
    }
}

/// An image: its config and manifest documents, and its layers.
#[derive(Debug, Clone)]
pub struct SynthImage {
    pub layers: Vec<LayerBlob>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_media_type: String,
}

impl SynthImage {
    /// `container_config` is the config's `config` object (Cmd, Env, ...).
    pub fn new(
        layers: Vec<LayerBlob>,
        os: &str,
        arch: &str,
        container_config: serde_json::Value,
        docker: bool,
    ) -> SynthImage {
        let config = json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": os,
            "config": container_config,
            "rootfs": {
                "type": "layers",
                "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
            },
        });
        let config = serde_json::to_vec(&config).expect("json");
        let (mt, cfg_mt) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {"mediaType": cfg_mt, "size": config.len(), "digest": Digest::of(&config).to_string()},
            "layers": layers.iter().map(|l| json!({
                "mediaType": l.media_type, "size": l.data.len(), "digest": l.digest().to_string(),
            })).collect::<Vec<_>>(),
        });
        SynthImage {
            layers,
            manifest: serde_json::to_vec(&manifest).expect("json"),
            config,
            manifest_media_type: mt.to_string(),
        }
    }

    pub fn manifest_digest(&self) -> Digest {
        Digest::of(&self.manifest)
    }

    /// Push blobs and the manifest; `tag` may be a tag or the digest.
    pub fn push(&self, client: &Client, reference: &Reference, tag: &str) -> Result<Digest> {
        for l in &self.layers {
            client.push_blob(reference, &l.data)?;
        }
        client.push_blob(reference, &self.config)?;
        client.put_manifest(reference, tag, &self.manifest_media_type, &self.manifest)
    }

    /// Write as an OCI image layout with one tagged manifest.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> Result<()> {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).path_ctx("cannot create", &blobs)?;
        let write = |data: &[u8]| -> Result<()> {
            let p = blobs.join(Digest::of(data).hex());
            std::fs::write(&p, data).path_ctx("cannot write", &p)
        };
        for l in &self.layers {
            write(&l.data)?;
        }
        write(&self.config)?;
        write(&self.manifest)?;
        let layout = dir.join("oci-layout");
        std::fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .path_ctx("cannot write", &layout)?;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": crate::manifest::OCI_INDEX,
            "manifests": [{
                "mediaType": self.manifest_media_type,
                "size": self.manifest.len(),
                "digest": self.manifest_digest().to_string(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        });
        let p = dir.join("index.json");
        std::fs::write(&p, serde_json::to_vec(&index).expect("json")).path_ctx("cannot write", &p)
    }
}

/// An index (OCI) or manifest list (Docker) over `(manifest, os, arch, variant)`.
pub fn index(
    entries: &[(&SynthImage, &str, &str, Option<&str>)],
    docker: bool,
) -> (Vec<u8>, String) {
    let mt = if docker {
        crate::manifest::DOCKER_MANIFEST_LIST
    } else {
        crate::manifest::OCI_INDEX
    };
    let manifests: Vec<_> = entries
        .iter()
        .map(|(img, os, arch, variant)| {
            let mut platform = json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                platform["variant"] = json!(v);
            }
            json!({
                "mediaType": img.manifest_media_type,
                "size": img.manifest.len(),
                "digest": img.manifest_digest().to_string(),
                "platform": platform,
            })
        })
        .collect();
    let doc = json!({"schemaVersion": 2, "mediaType": mt, "manifests": manifests});
    (serde_json::to_vec(&doc).expect("json"), mt.to_string())
}

/// A tar builder that writes raw names, so tests can make entries that the
/// `tar` crate's careful setters refuse (`../x`).
pub struct RawTar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for RawTar {
    fn default() -> Self {
        RawTar::new()
    }
}

impl RawTar {
    pub fn new() -> RawTar {
        RawTar {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(
        kind: tar::EntryType,
        path: &str,
        link: Option<&str>,
        size: u64,
        mode: u32,
    ) -> Result<tar::Header> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        let gnu = h.as_gnu_mut().expect("gnu header");
        if path.len() > 100 || link.is_some_and(|l| l.len() > 100) {
            return Err(Error::Other(format!(
                "RawTar: names are limited to 100 bytes: {path:?}"
            )));
        }
        gnu.name = [0; 100];
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            gnu.linkname = [0; 100];
            gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_cksum();
        Ok(h)
    }

    pub fn file(mut self, path: &str, data: &[u8], mode: u32) -> Result<Self> {
        let h = RawTar::header(tar::EntryType::Regular, path, None, data.len() as u64, mode)?;
        self.builder.append(&h, data).ctx_io("tar")?;
        Ok(self)
    }

    pub fn dir(mut self, path: &str, mode: u32) -> Result<Self> {
        let h = RawTar::header(tar::EntryType::Directory, path, None, 0, mode)?;
        self.builder.append(&h, &[][..]).ctx_io("tar")?;
        Ok(self)
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Result<Self> {
        let h = RawTar::header(tar::EntryType::Symlink, path, Some(target), 0, 0o777)?;
        self.builder.append(&h, &[][..]).ctx_io("tar")?;
        Ok(self)
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Result<Self> {
        let h = RawTar::header(tar::EntryType::Link, path, Some(target), 0, 0o644)?;
        self.builder.append(&h, &[][..]).ctx_io("tar")?;
        Ok(self)
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        self.builder.into_inner().ctx_io("tar")
    }
}

/// Where Debian's busybox-static installs its binary.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// A one-layer busybox image from the host's static busybox (nothing can be
/// pulled from the internet in tests and benchmarks): `/bin/busybox` with a
/// link per applet, `/etc/passwd` and `/etc/group` for root and nobody, and
/// `sh` as the command.
pub fn busybox(applets: &[&str]) -> Result<SynthImage> {
    let binary = std::fs::read(HOST_BUSYBOX).map_err(|e| {
        Error::io(
            "cannot read /bin/busybox (install the busybox-static package)",
            e,
        )
    })?;
    let mut t = RawTar::new()
        .dir("bin/", 0o755)?
        .file("bin/busybox", &binary, 0o755)?;
    for applet in applets {
        t = t.symlink(&format!("bin/{applet}"), "busybox")?;
    }
    for d in ["etc/", "tmp/", "proc/", "sys/", "dev/", "root/"] {
        t = t.dir(d, 0o755)?;
    }
    t = t
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
            0o644,
        )?
        .file("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)?;
    let layer = layer(&t.finish()?, Compression::Gzip, false)?;
    Ok(SynthImage::new(
        vec![layer],
        "linux",
        "amd64",
        json!({"Cmd": ["sh"], "Env": ["PATH=/bin"]}),
        false,
    ))
}
