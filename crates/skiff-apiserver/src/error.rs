//! Errors of server start-up (the only errors this crate returns to its caller; request
//! failures become Kubernetes `Status` responses instead, see `status.rs`).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "{op} {path}: {source}; check that the data dir is writable (or pass another --data-dir)"
    )]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("TLS material {path}: {reason}; delete the file to have a new one generated")]
    Cert { path: PathBuf, reason: String },

    #[error(
        "cannot listen on {addr}: {source}; pick a free port with --port or another --bind-address"
    )]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("opening the store: {0}")]
    Store(#[from] skiff_store::StoreError),

    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SetupError {
    let path = path.to_path_buf();
    move |source| SetupError::Io { op, path, source }
}
