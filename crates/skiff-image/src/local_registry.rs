//! A throwaway Distribution registry (Debian's `docker-registry`) on a free
//! loopback port with its storage in a temporary directory, optionally with
//! htpasswd basic authentication. The tests and `skiff bench pull` use it:
//! nothing can be pulled from the internet there. Dropping it kills the
//! registry and removes its directory.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// The registry binary Debian's `docker-registry` package installs.
pub const REGISTRY_BIN: &str = "docker-registry";

/// A running registry; killed and removed on drop.
pub struct LocalRegistry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl LocalRegistry {
    /// Start a registry. `htpasswd` is the content of a bcrypt htpasswd
    /// file (`user:$2y$...`); with it, every request needs basic auth.
    pub fn start(htpasswd: Option<&str>) -> Result<LocalRegistry> {
        let dir = tempfile::Builder::new()
            .prefix("skiff-registry-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a temporary directory", e))?;
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage).path_ctx("cannot create", &storage)?;
        // Ask the kernel for a free port; the tiny window before the
        // registry binds it is retried below.
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| Error::io("cannot find a free port", e))?
                .port();
            let auth = match htpasswd {
                Some(content) => {
                    let path = dir.path().join("htpasswd");
                    fs::write(&path, content).path_ctx("cannot write", &path)?;
                    format!(
                        "auth:\n  htpasswd:\n    realm: skiff-test\n    path: {}\n",
                        path.display()
                    )
                }
                None => String::new(),
            };
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
                 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: skiff-local-registry\n\
                 {auth}",
                storage.display()
            );
            let config_path = dir.path().join("config.yml");
            fs::write(&config_path, config).path_ctx("cannot write", &config_path)?;
            let log_path = dir.path().join("registry.log");
            let log = fs::File::create(&log_path).path_ctx("cannot create", &log_path)?;
            let log2 = log.try_clone().path_ctx("cannot open", &log_path)?;
            let mut cmd = Command::new(REGISTRY_BIN);
            cmd.arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            // SAFETY: the closure runs between fork and exec and only calls
            // prctl(2), which is async-signal-safe and allocates nothing.
            // With it the registry dies with the thread that started it, even
            // if the test process is killed before Drop runs.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let child = cmd.spawn().map_err(|e| {
                Error::io(
                    format!(
                        "cannot start {REGISTRY_BIN} (install Debian's docker-registry package)"
                    ),
                    e,
                )
            })?;
            let mut child = child;
            match wait_ready(&mut child, port, &log_path, Duration::from_secs(15)) {
                Ok(()) => return Ok(LocalRegistry { child, dir, port }),
                Err(e) => {
                    last_err = e;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        Err(Error::Other(format!(
            "the local registry did not start: {last_err}"
        )))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, the registry part of image names.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's storage root (for tests that tamper with blobs).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Where the registry keeps a blob's bytes.
    pub fn blob_data_path(&self, digest: &crate::Digest) -> PathBuf {
        self.storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&digest.hex()[..2])
            .join(digest.hex())
            .join("data")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's log (warnings and errors).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

fn wait_ready(
    child: &mut Child,
    port: u16,
    log: &Path,
    timeout: Duration,
) -> std::result::Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(log).unwrap_or_default();
            return Err(format!(
                "{REGISTRY_BIN} exited with {status}: {}",
                log.trim()
            ));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "{REGISTRY_BIN} did not listen on 127.0.0.1:{port} within {timeout:?}"
    ))
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
