//! skiff-image: everything about images, below the engine.
//!
//! Owns: the Distribution v2 registry client ([`registry`]), authentication
//! ([`auth`]), registry transport settings ([`registries`]), image
//! references ([`reference`]), manifests and platform selection
//! ([`manifest`]), the content-addressed store and image records
//! ([`store`]), the layer unpacker with whiteouts and escape protection
//! ([`unpack`]), the overlay snapshotter with its copying fallback
//! ([`snapshot`]), pulls ([`pull`]), garbage collection ([`gc`]), the
//! image-config to runtime-spec conversion ([`spec`]), OCI layout writing
//! ([`oci_layout`]: import and export), docker-save archives ([`archive`]:
//! `skiff load` and `skiff save`), a local test registry ([`local_registry`]) and the pull
//! benchmark ([`bench`]).
//!
//! Must not touch: containers, namespaces, cgroups or the runtime's state.
//! It does not depend on `skiff-runtime` (it is a sibling layer: the engine
//! combines the two, passing in the base spec), and it never mounts anything
//! except the overlay (or copy) a caller asks for through [`snapshot`].
//! Persistent state lives under the data dir (`/var/lib/skiff` by default):
//! see [`store`] for the layout.

pub mod archive;
pub mod auth;
pub mod bench;
pub mod digest;
pub mod error;
pub mod gc;
mod import;
pub mod local_registry;
pub mod manifest;
pub mod oci_layout;
pub mod progress;
pub mod pull;
pub mod reference;
pub mod registries;
pub mod registry;
pub mod snapshot;
pub mod spec;
pub mod store;
pub mod synth;
pub mod unpack;

pub use digest::Digest;
pub use error::{Error, Result};
pub use reference::Reference;
pub use store::{ImageRecord, Store};
