//! A revisioned key-value store with the etcd v3 data model: skiff's only persistence layer
//! for control-plane state.
//!
//! What this crate owns:
//! - the [`Store`] trait: range (prefix, limit, revision), transactions with compare-and-swap
//!   on `mod_revision`, put/delete helpers, watch from a revision, compaction and leases;
//! - two backends behind it: [`EmbeddedStore`] (the default: one crash-safe redb file in the
//!   data dir, acknowledged writes survive `kill -9`) and [`EtcdStore`] (etcd v3 over gRPC);
//! - [`testing`]: throwaway etcd clusters on loopback for tests and benchmarks.
//!
//! What it must not touch: it knows bytes, not objects. No Kubernetes types, no
//! serialization of API objects, no key layout policy: the API server (`skiff-apiserver`) is
//! its only user and owns all of that. Nothing else in skiff reads or writes the store;
//! controllers, the scheduler and agents go through the API.
//!
//! Both backends pass one conformance suite (`tests/conformance.rs`), so code written against
//! [`Store`] behaves the same on either: same revisions, same errors.

mod embedded;
mod error;
mod etcd;
mod store;
pub mod testing;
mod types;

use std::path::PathBuf;
use std::sync::Arc;

pub use embedded::{EmbeddedOptions, EmbeddedStore};
pub use error::{Result, StoreError};
pub use etcd::{EtcdOptions, EtcdStore};
pub use store::{Store, WatchStream};
pub use types::*;

/// Which backend to open, as chosen by the server's flags.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// The single-file store, e.g. `/var/lib/skiff/server/state.redb`.
    Embedded {
        path: PathBuf,
        options: EmbeddedOptions,
    },
    /// An etcd cluster, by its members' client URLs.
    Etcd {
        endpoints: Vec<String>,
        options: EtcdOptions,
    },
}

/// Open the configured backend.
pub async fn open(config: StoreConfig) -> Result<Arc<dyn Store>> {
    Ok(match config {
        StoreConfig::Embedded { path, options } => {
            Arc::new(EmbeddedStore::open_with(path, options).await?)
        }
        StoreConfig::Etcd { endpoints, options } => {
            Arc::new(EtcdStore::connect(&endpoints, options).await?)
        }
    })
}
