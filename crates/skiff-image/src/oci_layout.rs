//! OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/`), as a
//! directory or a tar of one: `skiff image import` and `skiff image export`.
//!
//! Import reads `index.json`, picks the image (the only one, or the
//! `linux/amd64` one), follows a nested index to the platform manifest, and
//! checks every blob against its descriptor before [`import::commit`]
//! stores anything. Export writes the image's manifest, config and layer
//! blobs as stored (so digests are unchanged), into a staging path that is
//! renamed into place only when complete.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};
use serde_json::json;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::import::{
    self, bad_input, config_diff_ids, DirSource, Members, PreparedImage, PreparedLayer, Source,
};
use crate::manifest::{self, Manifest, Platform, OCI_INDEX, OCI_MANIFEST};
use crate::reference::Reference;
use crate::store::{unique_suffix, ImageRecord, Store};

/// containerd's annotation for the full image name.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation for the name of a manifest in a layout (usually a tag).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Import the image of the OCI layout at `path` (a directory, or a tar of
/// one). `name` names it; without one, the layout's
/// `io.containerd.image.name` annotation or a full-reference
/// `org.opencontainers.image.ref.name` is used.
pub fn import(store: &Store, path: &Path, name: Option<&Reference>) -> Result<Vec<ImageRecord>> {
    let meta = fs::metadata(path).path_ctx("cannot open", path)?;
    if meta.is_dir() {
        let mut source = DirSource::new(store, path)?;
        let image = prepare(&mut source, name)?;
        import::commit(store, vec![image])
    } else {
        let file = File::open(path).path_ctx("cannot open", path)?;
        let mut members = Members::from_tar(store, &path.display().to_string(), file)?;
        let image = prepare(&mut members, name)?;
        import::commit(store, vec![image])
    }
}

/// Is this archive an OCI layout (rather than a docker-save archive)?
pub(crate) fn is_layout(source: &mut dyn Source) -> Result<bool> {
    Ok(source.get("oci-layout")?.is_some() && source.get("index.json")?.is_some())
}

fn parse_index(what: &str, data: &[u8]) -> Result<Box<ImageIndex>> {
    match Manifest::parse(what, None, data)? {
        Manifest::Index(i) => Ok(i),
        Manifest::Image(_) => Err(bad_input(what, "is an image manifest, expected an index")),
    }
}

/// Verify the layout's documents and blobs, and stage the image.
pub(crate) fn prepare(source: &mut dyn Source, name: Option<&Reference>) -> Result<PreparedImage> {
    let input = source.name().to_string();
    let layout = source.need("oci-layout", "every OCI image layout has one")?;
    let layout_what = format!("{input}: oci-layout");
    let v: serde_json::Value = manifest::decode(&layout_what, &layout.read_small(&layout_what)?)?;
    if v["imageLayoutVersion"] != "1.0.0" {
        return Err(bad_input(
            layout_what,
            format!(
                "imageLayoutVersion is {}, expected \"1.0.0\"",
                v["imageLayoutVersion"]
            ),
        ));
    }
    let index_what = format!("{input}: index.json");
    let index_blob = source.need("index.json", "every OCI image layout has one")?;
    let index = parse_index(&index_what, &index_blob.read_small(&index_what)?)?;
    let runnable: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| {
            let m = d.media_type().to_string();
            m == OCI_MANIFEST
                || m == OCI_INDEX
                || m == manifest::DOCKER_MANIFEST
                || m == manifest::DOCKER_MANIFEST_LIST
        })
        .collect();
    let desc = match runnable.as_slice() {
        [] => return Err(bad_input(index_what, "manifests lists no image")),
        [one] => *one,
        _ => manifest::select_platform(&index, &Platform::default(), &input)?,
    };
    let annotation =
        |d: &Descriptor, key: &str| d.annotations().as_ref().and_then(|a| a.get(key)).cloned();
    let names = match name {
        Some(n) => vec![n.clone()],
        None => {
            let full = annotation(desc, ANNOTATION_IMAGE_NAME)
                .or_else(|| annotation(desc, ANNOTATION_REF_NAME).filter(|n| n.contains('/')));
            match full {
                Some(n) => vec![Reference::parse(&n)?],
                None => {
                    return Err(bad_input(
                        index_what,
                        format!(
                            "the image has no full name (its {ANNOTATION_REF_NAME} is {:?}); \
                             name it with --name REPOSITORY[:TAG]",
                            annotation(desc, ANNOTATION_REF_NAME).unwrap_or_default()
                        ),
                    ))
                }
            }
        }
    };

    let mut documents = Vec::new();
    let mut desc = desc.clone();
    let top = manifest::descriptor_digest(&index_what, &desc)?;
    let mut what = format!("manifest {top} (from index.json)");
    let (manifest, manifest_digest) = loop {
        let digest = manifest::descriptor_digest(&what, &desc)?;
        let blob = source.blob(&what, &digest, Some(desc.size()))?;
        let data = blob.read_small(&what)?;
        match Manifest::parse(&what, Some(desc.media_type().as_ref()), &data)? {
            Manifest::Image(m) => {
                documents.push((digest.clone(), data));
                break (m, digest);
            }
            Manifest::Index(i) if documents.is_empty() => {
                documents.push((digest.clone(), data));
                desc = manifest::select_platform(&i, &Platform::default(), &input)?.clone();
                what = format!("manifest {} (from index {digest})", desc.digest());
            }
            Manifest::Index(_) => {
                return Err(bad_input(what, "an index inside an index is not supported"))
            }
        }
    };

    let config_desc = manifest.config();
    let config_what = format!("image config (from manifest {manifest_digest})");
    let config_digest = manifest::descriptor_digest(&config_what, config_desc)?;
    let config_bytes = source
        .blob(&config_what, &config_digest, Some(config_desc.size()))?
        .read_small(&config_what)?;
    let config = manifest::parse_config(&config_what, &config_bytes)?;
    let diff_ids = config_diff_ids(&config_what, &config, manifest.layers().len())?;
    let mut layers = Vec::new();
    for (i, (l, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        let what = format!("layers[{i}] of manifest {manifest_digest}");
        let media_type = l.media_type().to_string();
        if manifest::Compression::from_media_type(&media_type).is_none() {
            return Err(bad_input(
                what,
                format!("mediaType {media_type:?} is not a layer skiff can unpack"),
            ));
        }
        let digest = manifest::descriptor_digest(&what, l)?;
        let blob = source.blob(&what, &digest, Some(l.size()))?;
        layers.push(PreparedLayer {
            blob,
            diff_id,
            media_type,
        });
    }
    Ok(PreparedImage {
        names,
        top,
        documents,
        manifest: manifest_digest,
        config_digest,
        config_bytes,
        config,
        layers,
    })
}

/// How to write an OCI layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A directory.
    Dir,
    /// A tar of the directory's contents.
    Tar,
}

/// The files of an image's layout: (name in the layout, source file or bytes).
enum Content {
    File(PathBuf),
    Bytes(Vec<u8>),
}

fn layout_files(store: &Store, record: &ImageRecord) -> Result<Vec<(String, Content)>> {
    let manifest_what = format!("stored manifest {} of {}", record.manifest, record.name);
    let manifest = store.read_blob(&record.manifest, manifest::MAX_MANIFEST_SIZE)?;
    let probe: serde_json::Value = manifest::decode(&manifest_what, &manifest)?;
    let media_type = probe["mediaType"]
        .as_str()
        .unwrap_or(OCI_MANIFEST)
        .to_string();
    let reference = record.reference()?;
    let tag = reference.tag().unwrap_or("latest").to_string();
    let (os, arch) = record
        .platform
        .split_once('/')
        .unwrap_or(("linux", "amd64"));
    let (arch, variant) = match arch.split_once('/') {
        Some((a, v)) => (a, Some(v)),
        None => (arch, None),
    };
    let mut platform = json!({"os": os, "architecture": arch});
    if let Some(v) = variant {
        platform["variant"] = json!(v);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": media_type,
            "digest": record.manifest.to_string(),
            "size": manifest.len(),
            "platform": platform,
            "annotations": {
                ANNOTATION_REF_NAME: tag,
                ANNOTATION_IMAGE_NAME: record.name,
            },
        }],
    });
    let mut files = vec![
        (
            "oci-layout".to_string(),
            Content::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ),
        (
            "index.json".to_string(),
            Content::Bytes(serde_json::to_vec(&index).expect("json")),
        ),
    ];
    let blob = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    files.push((blob(&record.manifest), Content::Bytes(manifest)));
    let mut seen = std::collections::HashSet::new();
    for d in std::iter::once(&record.config).chain(record.layers.iter().map(|l| &l.digest)) {
        if !seen.insert(d.clone()) {
            continue;
        }
        let path = store.blob_path(d);
        if !path.is_file() {
            return Err(Error::Other(format!(
                "blob {d} of {} is missing from the store; pull or load the image again",
                record.name
            )));
        }
        files.push((blob(d), Content::File(path)));
    }
    Ok(files)
}

/// A sibling of `dest` to write into, then rename over it.
fn staging_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    dest.with_file_name(format!(".{name}.tmp-{}", unique_suffix()))
}

/// Removes a staging path on drop unless it was renamed into place.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
    }
}

/// Write `record` as an OCI layout at `dest`, which must not exist.
pub fn export(
    store: &Store,
    record: &ImageRecord,
    dest: &Path,
    format: ExportFormat,
) -> Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        return Err(Error::Other(format!(
            "{} already exists; give a new path (export never overwrites)",
            dest.display()
        )));
    }
    let files = layout_files(store, record)?;
    let tmp = staging_path(dest);
    let mut cleanup = Cleanup(Some(tmp.clone()));
    match format {
        ExportFormat::Dir => {
            fs::create_dir(&tmp).path_ctx("cannot create", &tmp)?;
            fs::create_dir_all(tmp.join("blobs/sha256")).path_ctx("cannot create", &tmp)?;
            for (name, content) in &files {
                let to = tmp.join(name);
                match content {
                    Content::Bytes(b) => fs::write(&to, b).path_ctx("cannot write", &to)?,
                    Content::File(p) => {
                        fs::copy(p, &to).path_ctx("cannot write", &to)?;
                    }
                }
            }
        }
        ExportFormat::Tar => {
            let file = File::create(&tmp).path_ctx("cannot create", &tmp)?;
            let mut builder = tar::Builder::new(io::BufWriter::new(file));
            for dir in ["blobs/", "blobs/sha256/"] {
                let mut h = tar_header(tar::EntryType::Directory, 0, 0o755);
                builder
                    .append_data(&mut h, dir, io::empty())
                    .path_ctx("cannot write", &tmp)?;
            }
            for (name, content) in &files {
                append(&mut builder, name, content).path_ctx("cannot write", &tmp)?;
            }
            let w = builder.into_inner().path_ctx("cannot write", &tmp)?;
            let file = w
                .into_inner()
                .map_err(|e| Error::io_path("cannot write", &tmp, e.into_error()))?;
            file.sync_all().path_ctx("cannot sync", &tmp)?;
        }
    }
    fs::rename(&tmp, dest).path_ctx("cannot create", dest)?;
    cleanup.0 = None;
    Ok(())
}

/// A header for a member with fixed owner and time, so exports of the
/// same image are byte-identical.
pub(crate) fn tar_header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn append<W: Write>(b: &mut tar::Builder<W>, name: &str, content: &Content) -> io::Result<()> {
    match content {
        Content::Bytes(data) => {
            let mut h = tar_header(tar::EntryType::Regular, data.len() as u64, 0o644);
            b.append_data(&mut h, name, data.as_slice())
        }
        Content::File(p) => {
            let f = File::open(p)?;
            let mut h = tar_header(tar::EntryType::Regular, f.metadata()?.len(), 0o644);
            b.append_data(&mut h, name, f)
        }
    }
}
