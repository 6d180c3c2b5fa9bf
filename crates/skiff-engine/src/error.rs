//! Errors of the engine. Every message says what was wrong and, where there
//! is one, how to fix it.

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Image(#[from] skiff_image::Error),

    #[error("{0}")]
    Net(#[from] skiff_net::NetError),

    #[error("{0}")]
    Runtime(#[from] skiff_runtime::RuntimeError),

    #[error("no such container {0:?}; `skiff ps -a` lists the containers")]
    NotFound(String),

    #[error("no such pod sandbox {0:?}")]
    NoSandbox(String),

    #[error("{arg:?} matches several containers ({matches}); give more of the id, or the name")]
    Ambiguous { arg: String, matches: String },

    #[error("the name {name:?} is already in use by container {id}; remove it (`skiff rm {name}`) or pick another --name")]
    NameInUse { name: String, id: String },

    #[error("image {0:?} is not in the store; pull it first (`skiff pull {0}`)")]
    NoImage(String),

    #[error("{flag}: {message}")]
    BadFlag { flag: String, message: String },

    #[error("{0} is not supported yet")]
    Unsupported(String),

    #[error("container {name:?} is {status}; {hint}")]
    WrongState {
        name: String,
        status: String,
        hint: String,
    },

    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

pub(crate) fn bad_flag(flag: &str, message: impl Into<String>) -> EngineError {
    EngineError::BadFlag {
        flag: flag.to_string(),
        message: message.into(),
    }
}

/// Attach "what was being done" to I/O errors.
pub(crate) trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| EngineError::Io {
            what: what(),
            source,
        })
    }
}

impl<T> IoContext<T> for nix::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| EngineError::Io {
            what: what(),
            source: e.into(),
        })
    }
}
