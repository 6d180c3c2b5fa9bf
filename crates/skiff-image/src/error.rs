//! The one error type of the crate. Every variant says what was wrong and,
//! where there is one, how to fix it; paths, fields and digests are named.

use std::io;
use std::path::{Path, PathBuf};

/// Errors from the registry client, the content store, the unpacker and the
/// snapshotter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An image reference that does not parse (`skiff pull 'Foo//bar'`).
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// A `--platform` value that does not parse.
    #[error("invalid platform {value:?}: {reason} (expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8)")]
    InvalidPlatform { value: String, reason: String },

    /// A configuration file (registries.toml, auth file) that is unreadable
    /// or malformed.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    /// A file-system operation failed; `context` says which and on what path.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// The registry could not be reached, or answered something unexpected.
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },

    /// The registry wants credentials we do not have, or refused ours.
    #[error("registry {registry}: {message}")]
    Auth { registry: String, message: String },

    /// The manifest, tag or blob does not exist in the registry.
    #[error("{what} not found in registry {registry}")]
    NotFound { registry: String, what: String },

    /// A manifest, index or image config that is malformed, too large or of a
    /// kind skiff does not support (schema1).
    #[error("{what}: {message}")]
    Manifest { what: String, message: String },

    /// No manifest in an index matches the requested platform.
    #[error("image {reference} has no manifest for platform {wanted}; it has: {available}. Choose one with --platform")]
    NoPlatform {
        reference: String,
        wanted: String,
        available: String,
    },

    /// Content whose digest or size is not what its descriptor says. Nothing
    /// of it was committed to the content store.
    #[error(
        "{what}: {message}; the registry served corrupted or tampered content, nothing was stored"
    )]
    Verification { what: String, message: String },

    /// A layer entry that would escape the root, or that cannot be applied.
    /// Nothing of the layer was committed.
    #[error("layer {layer}: entry {entry:?}: {reason}")]
    Layer {
        layer: String,
        entry: String,
        reason: String,
    },

    /// A hardlink whose target is in a lower layer: the layer can only be
    /// unpacked once the layers below it are (the pull retries it in order).
    #[error("layer {layer}: hardlink {entry:?} points to {target:?}, which is not in this layer or any layer below it")]
    NeedsLowerLayers {
        layer: String,
        entry: String,
        target: String,
    },

    /// The image (by name or id) is not in the local store.
    #[error("image {0:?} is not in the local store (see `skiff images`)")]
    ImageNotFound(String),

    /// An operation that needs more care from the user (an image id shared by
    /// several tags, ...).
    #[error("{0}")]
    Conflict(String),

    /// Anything else that is clearly described by its message.
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An I/O error about one path: "`what` `path`: error".
    pub fn io_path(what: &str, path: &Path, source: io::Error) -> Error {
        Error::Io {
            context: format!("{what} {}", path.display()),
            source,
        }
    }
}

/// `.path_ctx("cannot read", path)` on io results.
pub(crate) trait IoContext<T> {
    fn path_ctx(self, what: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn path_ctx(self, what: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io_path(what, path, e))
    }
}
