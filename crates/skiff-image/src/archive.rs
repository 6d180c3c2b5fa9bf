//! docker-save archives: `skiff load` and `skiff save`.
//!
//! The format (as `docker save` and `podman save --format docker-archive`
//! write it): `manifest.json` lists each image's config file, its
//! `RepoTags` and its layer files (uncompressed tars, in podman's case
//! `<hex>.tar` with a legacy `<id>/layer.tar` symlink beside it);
//! `repositories` maps `repo -> tag -> top layer id` for older loaders.
//! Loading turns each entry into an OCI manifest of our own (config and
//! layers keep their digests, so the image id is unchanged) and commits it
//! through [`import::commit`]. `load` also accepts a tar of an OCI layout.
//!
//! Saving writes `<config hex>.json`, `<chain id>/{layer.tar,VERSION,json}`
//! with each layer uncompressed (pulled layers are decompressed on the way),
//! `manifest.json` and `repositories`.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};

use serde::Deserialize;
use serde_json::json;

use crate::digest::{Digest, HashingReader};
use crate::error::{Error, IoContext, Result};
use crate::import::{
    self, bad_input, config_diff_ids, decompressed, oci_layer_media_type, Members, PreparedImage,
    PreparedLayer, Source,
};
use crate::manifest::{self, Compression, OCI_CONFIG, OCI_MANIFEST};
use crate::oci_layout::{self, tar_header};
use crate::reference::Reference;
use crate::store::{unique_suffix, ImageRecord, Store};

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Load every image of a docker-save archive (or a tar of an OCI layout),
/// optionally compressed, from `reader`. `input` names it in errors.
pub fn load(store: &Store, input: &str, reader: impl Read) -> Result<Vec<ImageRecord>> {
    let mut members = Members::from_tar(store, input, reader)?;
    if members.get("manifest.json")?.is_none() && oci_layout::is_layout(&mut members)? {
        let image = oci_layout::prepare(&mut members, None)?;
        return import::commit(store, vec![image]);
    }
    let manifest_what = format!("{input}: manifest.json");
    let data = members
        .need(
            "manifest.json",
            "a docker-save archive lists its images there; is this an image archive?",
        )?
        .read_small(&manifest_what)?;
    let entries: Vec<Entry> = manifest::decode(&manifest_what, &data)?;
    if entries.is_empty() {
        return Err(bad_input(manifest_what, "lists no images"));
    }
    let mut images = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let what = format!("{manifest_what}[{i}]");
        let names = names_of(&mut members, &what, e, entries.len())?;
        images.push(prepare(&mut members, &what, e, names)?);
    }
    import::commit(store, images)
}

/// `RepoTags`, or for an archive with one image and none, `repositories`.
fn names_of(members: &mut Members, what: &str, e: &Entry, n: usize) -> Result<Vec<Reference>> {
    let mut tags: Vec<String> = e.repo_tags.clone().unwrap_or_default();
    if tags.is_empty() && n == 1 {
        if let Some(b) = members.get("repositories")? {
            let rwhat = format!("{}: repositories", members.name());
            let repos: BTreeMap<String, BTreeMap<String, String>> =
                manifest::decode(&rwhat, &b.read_small(&rwhat)?)?;
            for (repo, t) in repos {
                tags.extend(t.keys().map(|tag| format!("{repo}:{tag}")));
            }
        }
    }
    if tags.is_empty() {
        return Err(bad_input(
            what,
            "RepoTags is empty, so the image would have no name; save it again with a name (e.g. `podman save NAME:TAG`)",
        ));
    }
    tags.iter()
        .enumerate()
        .map(|(j, t)| {
            Reference::parse(t).map_err(|err| bad_input(what, format!("RepoTags[{j}]: {err}")))
        })
        .collect()
}

fn prepare(
    members: &mut Members,
    what: &str,
    e: &Entry,
    names: Vec<Reference>,
) -> Result<PreparedImage> {
    let config_what = format!("{what}.Config ({})", e.config);
    let config_blob = members.need(&e.config, &format!("named by {what}.Config"))?;
    let config_bytes = config_blob.read_small(&config_what)?;
    let config = manifest::parse_config(&config_what, &config_bytes)?;
    let diff_ids = config_diff_ids(&config_what, &config, e.layers.len())?;
    let mut layers = Vec::new();
    for (i, (file, diff_id)) in e.layers.iter().zip(diff_ids).enumerate() {
        let blob = members.need(file, &format!("named by {what}.Layers[{i}]"))?;
        let media_type = oci_layer_media_type(&blob)?;
        layers.push(PreparedLayer {
            blob,
            diff_id,
            media_type,
        });
    }
    // Our own OCI manifest: config and layers keep their digests.
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": config_blob.digest.to_string(),
            "size": config_blob.size,
        },
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type,
            "digest": l.blob.digest.to_string(),
            "size": l.blob.size,
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).expect("json");
    let manifest_digest = Digest::of(&manifest);
    Ok(PreparedImage {
        names,
        top: manifest_digest.clone(),
        documents: vec![(manifest_digest.clone(), manifest)],
        manifest: manifest_digest,
        config_digest: config_blob.digest,
        config_bytes,
        config,
        layers,
    })
}

/// A layer as a docker-save archive wants it: an uncompressed tar. Stored
/// uncompressed blobs are read as they are; compressed ones are expanded
/// into a temporary file first, since a tar header needs the size up front.
struct Uncompressed {
    file: File,
    size: u64,
    _tmp: Option<RemoveOnDrop>,
}

fn uncompressed(store: &Store, digest: &Digest, diff_id: &Digest) -> Result<Uncompressed> {
    let path = store.blob_path(digest);
    let mut f = File::open(&path).path_ctx("cannot open blob", &path)?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).path_ctx("cannot read", &path)?;
    if Compression::sniff(&head[..n]) == Compression::None {
        let size = f.metadata().path_ctx("cannot stat", &path)?.len();
        let file = File::open(&path).path_ctx("cannot open blob", &path)?;
        return Ok(Uncompressed {
            file,
            size,
            _tmp: None,
        });
    }
    let tmp_path = store
        .root()
        .join("tmp")
        .join(format!("save-{}", unique_suffix()));
    let mut out = File::create(&tmp_path).path_ctx("cannot create", &tmp_path)?;
    let tmp = RemoveOnDrop(tmp_path.clone());
    let mut r = HashingReader::new(decompressed(&path)?);
    let size = io::copy(&mut r, &mut out).path_ctx("cannot decompress", &path)?;
    if &r.finish().0 != diff_id {
        return Err(Error::Other(format!(
            "stored layer {digest} does not decompress to its diffID {diff_id}; \
             the store is damaged: remove the image and pull it again"
        )));
    }
    let file = File::open(&tmp_path).path_ctx("cannot open", &tmp_path)?;
    Ok(Uncompressed {
        file,
        size,
        _tmp: Some(tmp),
    })
}

/// A temporary file, removed when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The repository and tag a docker-save archive records for a name.
fn repo_tag(name: &str) -> Result<(String, String)> {
    let r = Reference::parse(name)?;
    Ok((r.familiar_name(), r.tag().unwrap_or("latest").to_string()))
}

/// Write `records` (one or more names, possibly of the same image) as a
/// docker-save archive to `out`.
pub fn save(store: &Store, records: &[ImageRecord], out: impl Write) -> Result<()> {
    let mut builder = tar::Builder::new(out);
    let werr = |e: io::Error| Error::io("cannot write the archive", e);
    let mut manifest: Vec<serde_json::Value> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written: HashSet<String> = HashSet::new();
    // One manifest.json entry per image id, with all its names.
    let mut by_id: Vec<(Digest, Vec<&ImageRecord>)> = Vec::new();
    for r in records {
        match by_id.iter_mut().find(|(id, _)| id == r.id()) {
            Some((_, v)) => v.push(r),
            None => by_id.push((r.id().clone(), vec![r])),
        }
    }
    for (id, recs) in &by_id {
        let r = recs[0];
        let config_name = format!("{}.json", id.hex());
        if written.insert(config_name.clone()) {
            let config = store.read_blob(id, manifest::MAX_MANIFEST_SIZE)?;
            let mut h = tar_header(tar::EntryType::Regular, config.len() as u64, 0o644);
            builder
                .append_data(&mut h, &config_name, config.as_slice())
                .map_err(werr)?;
        }
        let mut layer_files = Vec::new();
        let mut parent: Option<Digest> = None;
        for l in &r.layers {
            // The chain id names the legacy layer directory, as docker does.
            let chain = match &parent {
                None => l.diff_id.clone(),
                Some(p) => Digest::of(format!("{p} {}", l.diff_id).as_bytes()),
            };
            let dir = chain.hex().to_string();
            let file = format!("{dir}/layer.tar");
            if written.insert(file.clone()) {
                let mut h = tar_header(tar::EntryType::Directory, 0, 0o755);
                builder
                    .append_data(&mut h, format!("{dir}/"), io::empty())
                    .map_err(werr)?;
                let u = uncompressed(store, &l.digest, &l.diff_id)?;
                let mut h = tar_header(tar::EntryType::Regular, u.size, 0o644);
                builder.append_data(&mut h, &file, &u.file).map_err(werr)?;
                let mut legacy = json!({"id": dir});
                if let Some(p) = &parent {
                    legacy["parent"] = json!(p.hex());
                }
                for (name, data) in [
                    ("VERSION", b"1.0".to_vec()),
                    ("json", serde_json::to_vec(&legacy).expect("json")),
                ] {
                    let mut h = tar_header(tar::EntryType::Regular, data.len() as u64, 0o644);
                    builder
                        .append_data(&mut h, format!("{dir}/{name}"), data.as_slice())
                        .map_err(werr)?;
                }
            }
            layer_files.push(file);
            parent = Some(chain);
        }
        let mut tags = Vec::new();
        for r in recs {
            let (repo, tag) = repo_tag(&r.name)?;
            tags.push(format!("{repo}:{tag}"));
            if let Some(top) = &parent {
                repositories
                    .entry(repo)
                    .or_default()
                    .insert(tag, top.hex().to_string());
            }
        }
        manifest.push(json!({"Config": config_name, "RepoTags": tags, "Layers": layer_files}));
    }
    for (name, data) in [
        (
            "manifest.json",
            serde_json::to_vec(&manifest).expect("json"),
        ),
        (
            "repositories",
            serde_json::to_vec(&repositories).expect("json"),
        ),
    ] {
        let mut h = tar_header(tar::EntryType::Regular, data.len() as u64, 0o644);
        builder
            .append_data(&mut h, name, data.as_slice())
            .map_err(werr)?;
    }
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(werr)
}

/// Write a docker-save archive to `path` atomically (a sibling temporary
/// file renamed into place once complete).
pub fn save_to_file(store: &Store, records: &[ImageRecord], path: &std::path::Path) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", unique_suffix()));
    let result = (|| -> Result<()> {
        let file = File::create(&tmp).path_ctx("cannot create", &tmp)?;
        let mut w = io::BufWriter::new(file);
        save(store, records, &mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io_path("cannot write", &tmp, e.into_error()))?;
        file.sync_all().path_ctx("cannot sync", &tmp)?;
        fs::rename(&tmp, path).path_ctx("cannot create", path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
