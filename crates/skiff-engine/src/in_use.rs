//! Which images the engine's containers use, so that `skiff rmi` and
//! `skiff image prune` (in skiff-image, which knows nothing of containers)
//! keep them.

use std::fs;
use std::path::Path;

use skiff_image::gc::ImageUser;
use skiff_image::Digest;

use crate::error::IoContext;
use crate::record::ContainerRecord;
use crate::Result;

/// Every container under `<data_dir>/containers/` (running or stopped,
/// until `skiff rm`) with the image id and layers it was created from. A
/// directory without a readable record is a container being created or
/// removed right now, and is skipped.
pub fn in_use_images(data_dir: &Path) -> Result<Vec<ImageUser>> {
    let dir = data_dir.join("containers");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx(|| format!("cannot list {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.ctx(|| format!("cannot list {}", dir.display()))?;
        let name = e.file_name();
        let Some(id) = name.to_str() else { continue };
        if id.starts_with('.') {
            continue;
        }
        let Ok(r) = ContainerRecord::load(&e.path().join("config.json")) else {
            continue;
        };
        // Records hold digests as strings; one that does not parse protects
        // nothing, and never blocks a removal.
        let Ok(image_id) = Digest::parse(&r.image_id) else {
            continue;
        };
        out.push(ImageUser {
            container: r.name.clone(),
            image_id,
            diff_ids: r
                .layers
                .iter()
                .filter_map(|l| Digest::parse(l).ok())
                .collect(),
        });
    }
    out.sort_by(|a, b| a.container.cmp(&b.container));
    Ok(out)
}
