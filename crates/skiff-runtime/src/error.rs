//! Errors of the runtime layer. Every message says what was wrong and, where
//! there is one, how to fix it.

use std::path::PathBuf;

use nix::errno::Errno;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{path}: {message}")]
    InvalidConfig { path: String, message: String },

    #[error("cannot read {file}: {source}")]
    ReadFile {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("{file}: {message}")]
    ParseFile { file: PathBuf, message: String },

    #[error("container {0:?} does not exist; `list` shows the containers under this --root")]
    NotFound(String),

    #[error("container {0:?} already exists; delete it first or pick another id")]
    AlreadyExists(String),

    #[error("invalid container id {0:?}: use letters, digits, '_', '-', '.' and '+', not starting with '.'")]
    InvalidId(String),

    #[error("cannot {action} container {id:?}: it is {status}, but must be {expected}")]
    WrongState {
        id: String,
        action: &'static str,
        status: String,
        expected: &'static str,
    },

    #[error("{0}")]
    Cgroup(#[from] skiff_linux::cgroups::CgroupError),

    #[error("{0}")]
    Seccomp(#[from] skiff_linux::seccomp::SeccompError),

    #[error("{0}")]
    Mount(#[from] skiff_linux::mounts::MountError),

    #[error("container init failed: {0}")]
    Init(String),

    #[error("{hook} hook {path:?} failed: {message}")]
    Hook {
        hook: &'static str,
        path: PathBuf,
        message: String,
    },

    #[error("{what}: {source}")]
    Sys { what: String, source: Errno },

    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    #[error("{0}")]
    Unsupported(String),

    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Attach a description to a failed system call.
pub trait SysContext<T> {
    fn sys(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SysContext<T> for std::result::Result<T, Errno> {
    fn sys(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| RuntimeError::Sys {
            what: what(),
            source,
        })
    }
}

impl<T> SysContext<T> for std::io::Result<T> {
    fn sys(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| RuntimeError::Io {
            what: what(),
            source,
        })
    }
}

pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidConfig {
        path: path.into(),
        message: message.into(),
    }
}
