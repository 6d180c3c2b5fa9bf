use std::path::PathBuf;

/// Boxed cause carried by backend errors, so the public type names no engine crate.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a store call. Both backends map their failures onto the
/// same variants, so callers (the API server) match on these and never on a backend's own
/// error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The revision asked for (a range at a revision, or a watch start) is older than the
    /// last compaction. Kubernetes turns this into `410 Gone`.
    #[error(
        "revision {requested} has been compacted (the oldest revision still kept is \
         {compact_revision}); read the current state again and watch from its revision"
    )]
    Compacted {
        requested: i64,
        compact_revision: i64,
    },

    /// A range or compaction named a revision the store has not reached yet.
    #[error(
        "revision {requested} is in the future; read without a revision (or with one no newer \
         than the current revision) instead"
    )]
    FutureRevision { requested: i64 },

    #[error("empty key: every key must be at least one byte long")]
    EmptyKey,

    /// Keys plus values of one request over [`crate::MAX_REQUEST_BYTES`] (or over etcd's
    /// `--max-request-bytes` when that server is configured lower).
    #[error(
        "request of {size} bytes is over the {limit}-byte limit; store smaller values or split \
         the write"
    )]
    RequestTooLarge { size: usize, limit: usize },

    #[error(
        "one transaction writes key {key:?} more than once (puts and deletes may not overlap \
         within a branch); merge those operations"
    )]
    DuplicateKey { key: String },

    #[error("lease {id} not found: it expired or was revoked; grant a new one")]
    LeaseNotFound { id: i64 },

    #[error("invalid request: {0}")]
    InvalidArgument(String),

    /// The embedded store's file is held by another process (or another handle in this one).
    #[error(
        "store file {path} is already open by another process; stop that process or use a \
         different data dir"
    )]
    AlreadyOpen { path: PathBuf },

    /// The embedded engine failed to read or write its file.
    #[error("embedded store {path}: {op} failed: {source}")]
    Storage {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: Cause,
    },

    /// etcd could not be reached or answered with an error the store does not map.
    #[error("etcd ({endpoints}): {op} failed: {source}; check that the etcd members are running and reachable")]
    Etcd {
        endpoints: String,
        op: &'static str,
        #[source]
        source: Cause,
    },

    /// A bug in skiff-store (a backend answered out of shape, a worker task panicked).
    #[error("internal error in skiff-store: {0}; please report it with the log")]
    Internal(String),

    /// The store was closed (or its writer stopped) while the call was in flight.
    #[error("the store is closed")]
    Closed,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
