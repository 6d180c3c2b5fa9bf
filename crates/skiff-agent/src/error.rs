//! The agent's errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("the API server refused {what}: {source}")]
    Api {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(transparent)]
    Engine(#[from] skiff_engine::EngineError),
    #[error(transparent)]
    Image(#[from] skiff_image::Error),
    #[error(transparent)]
    Volume(#[from] crate::volumes::VolumeError),
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = AgentError> = std::result::Result<T, E>;

/// Names what a failed API call was doing.
pub(crate) trait ApiContext<T> {
    fn api(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> ApiContext<T> for std::result::Result<T, kube::Error> {
    fn api(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| AgentError::Api {
            what: what(),
            source: Box::new(source),
        })
    }
}

/// Is this the API's 404?
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(r) if r.code == 404)
}

/// Is this the API's 409 (exists, or a stale resourceVersion)?
pub(crate) fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(r) if r.code == 409)
}
