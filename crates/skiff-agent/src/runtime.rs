//! The agent's side of skiff-engine: sandboxes and containers through the
//! library (on blocking threads), and the verbs that fork (`start`, `exec`)
//! through the `skiff` binary, because the agent is multi-threaded and a
//! fork of a threaded process may only exec.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use skiff_engine::{ContainerRecord, Engine, PodContainerOptions, SandboxConfig, SandboxRecord};
use skiff_image::auth::CredentialSource;
use skiff_image::pull::{pull, PullOptions};
use skiff_image::registries::{RegistriesConfig, DEFAULT_REGISTRIES_CONFIG};
use skiff_image::registry::Client;
use skiff_image::Reference;

use crate::error::{AgentError, Result};
use crate::streaming::EngineCli;
use crate::AgentConfig;

pub(crate) struct Runtime {
    engine: Arc<Engine>,
    cli: EngineCli,
    /// One pull at a time per image name, so a burst of pods of one image
    /// pulls it once.
    pulls: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    slots: tokio::sync::Semaphore,
}

/// Engine calls (mounts, CNI plugins, record files) at once. Each runs on
/// a blocking thread; a burst of pods must not grow the thread pool (and
/// the agent's memory) with one thread per call.
const ENGINE_CONCURRENCY: usize = 8;

/// `skiff` with the engine's directories.
fn cli_command(cli: &EngineCli) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(&cli.exe);
    c.env("SKIFF_DATA_DIR", &cli.data_dir)
        .env("SKIFF_RUN_DIR", &cli.run_dir);
    c
}

/// What a command run in a container (probe, hook) gave.
pub(crate) struct ExecOutput {
    pub code: Option<i32>,
    pub output: String,
}

impl Runtime {
    pub(crate) async fn open(cfg: &AgentConfig) -> Result<Runtime> {
        let (data, run) = (cfg.engine_data_dir.clone(), cfg.engine_run_dir.clone());
        let engine = tokio::task::spawn_blocking(move || Engine::open(data, run))
            .await
            .map_err(|e| AgentError::Other(format!("an engine task failed: {e}")))??;
        Ok(Runtime {
            engine: Arc::new(engine),
            cli: EngineCli {
                exe: cfg.exe.clone(),
                data_dir: cfg.engine_data_dir.clone(),
                run_dir: cfg.engine_run_dir.clone(),
            },
            pulls: Default::default(),
            slots: tokio::sync::Semaphore::new(ENGINE_CONCURRENCY),
        })
    }

    /// Run blocking engine work off the async threads, a few at a time.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| AgentError::Other(format!("the engine is closed: {e}")))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AgentError::Other(format!("an engine task failed: {e}")))?
    }

    pub(crate) fn cli(&self) -> EngineCli {
        EngineCli {
            exe: self.cli.exe.clone(),
            data_dir: self.cli.data_dir.clone(),
            run_dir: self.cli.run_dir.clone(),
        }
    }

    pub(crate) async fn create_sandbox(&self, cfg: SandboxConfig) -> Result<SandboxRecord> {
        let engine = self.engine.clone();
        self.blocking(move || Ok(engine.create_sandbox(cfg)?)).await
    }

    pub(crate) async fn remove_sandbox(&self, id: String) -> Result<()> {
        let engine = self.engine.clone();
        self.blocking(move || Ok(engine.remove_sandbox(&id)?)).await
    }

    pub(crate) async fn list(&self) -> Result<(Vec<SandboxRecord>, Vec<ContainerRecord>)> {
        let engine = self.engine.clone();
        self.blocking(move || Ok((engine.list_sandboxes()?, engine.list()?)))
            .await
    }

    pub(crate) async fn load(&self, ids: Vec<String>) -> Result<Vec<Option<ContainerRecord>>> {
        let engine = self.engine.clone();
        self.blocking(move || Ok(ids.iter().map(|id| engine.load(id).ok()).collect()))
            .await
    }

    pub(crate) async fn create_container(
        &self,
        sandbox: SandboxRecord,
        opts: PodContainerOptions,
    ) -> Result<ContainerRecord> {
        let engine = self.engine.clone();
        self.blocking(move || Ok(engine.create_pod_container(&sandbox, &opts)?))
            .await
    }

    /// Start a created container under its monitor: `skiff start ID`.
    pub(crate) async fn start(&self, id: &str) -> Result<()> {
        let out = cli_command(&self.cli)
            .arg("start")
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| AgentError::Io(format!("cannot run {}", self.cli.exe.display()), e))?;
        if out.status.success() {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(AgentError::Other(
            msg.strip_prefix("skiff: ").unwrap_or(&msg).to_string(),
        ))
    }

    /// The stop signal, then SIGKILL after `grace`. The waiting is async:
    /// a pod with a long grace period must not hold a blocking thread.
    pub(crate) async fn stop(&self, id: String, grace: Duration) -> Result<()> {
        let Some(record) = self.load(vec![id.clone()]).await?.pop().flatten() else {
            return Ok(());
        };
        if !self.signal(&id, &record.stop_signal).await {
            return Ok(());
        }
        if self.wait_exited(&id, grace).await {
            return Ok(());
        }
        self.signal(&id, "SIGKILL").await;
        if self.wait_exited(&id, Duration::from_secs(10)).await {
            return Ok(());
        }
        Err(AgentError::Other(format!(
            "container {id} did not exit after SIGKILL"
        )))
    }

    /// Signal a running container; false when it is not running (any more).
    async fn signal(&self, id: &str, signal: &str) -> bool {
        let engine = self.engine.clone();
        let (id, signal) = (id.to_string(), signal.to_string());
        self.blocking(move || Ok(engine.kill(&id, &signal).is_ok()))
            .await
            .unwrap_or(false)
    }

    /// Poll the record until the monitor recorded the exit, at most `limit`.
    async fn wait_exited(&self, id: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let exited = match self.load(vec![id.to_string()]).await {
                Ok(mut v) => v
                    .pop()
                    .flatten()
                    .is_none_or(|r| r.live_status() == skiff_engine::Status::Exited),
                Err(_) => false,
            };
            if exited {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn remove(&self, id: String) -> Result<()> {
        let engine = self.engine.clone();
        self.blocking(move || match engine.remove(&id, true) {
            Ok(_) | Err(skiff_engine::EngineError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    /// Run `cmd` in the container (probes, hooks), at most `timeout`.
    pub(crate) async fn exec(
        &self,
        id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput> {
        let mut command = cli_command(&self.cli);
        command
            .arg("exec")
            .arg(id)
            .arg("--")
            .args(cmd)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let run = command.output();
        match tokio::time::timeout(timeout, run).await {
            Err(_) => Ok(ExecOutput {
                code: None,
                output: format!("command timed out after {}s", timeout.as_secs_f64()),
            }),
            Ok(Err(e)) => Err(AgentError::Io(
                format!("cannot run {}", self.cli.exe.display()),
                e,
            )),
            Ok(Ok(out)) => {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                Ok(ExecOutput {
                    code: out.status.code(),
                    output: text,
                })
            }
        }
    }

    /// Make `image` present by `policy` (Always, IfNotPresent, Never).
    pub(crate) async fn ensure_image(
        &self,
        image: &str,
        policy: &str,
        creds: CredentialSource,
    ) -> Result<(), PullError> {
        let lock = {
            let mut pulls = self.pulls.lock().unwrap_or_else(|p| p.into_inner());
            pulls.entry(image.to_string()).or_default().clone()
        };
        let _one = lock.lock().await;
        let engine = self.engine.clone();
        let image = image.to_string();
        let policy = policy.to_string();
        tokio::task::spawn_blocking(move || {
            let present = engine
                .store()
                .find_images(&image)
                .map(|found| !found.is_empty())
                .unwrap_or(false);
            match policy.as_str() {
                "Never" if !present => Err(PullError::NeverPull(format!(
                    "Container image \"{image}\" is not present with pull policy of Never"
                ))),
                "Never" => Ok(()),
                "IfNotPresent" if present => Ok(()),
                _ => {
                    let reference = Reference::parse(&image)
                        .map_err(|e| PullError::InvalidName(e.to_string()))?;
                    let config =
                        RegistriesConfig::load(Path::new(DEFAULT_REGISTRIES_CONFIG), false)
                            .map_err(|e| PullError::Pull(e.to_string()))?;
                    let client = Client::new(config, creds);
                    pull(engine.store(), &client, &reference, &PullOptions::default())
                        .map(|_| ())
                        .map_err(|e| {
                            PullError::Pull(format!("failed to pull image \"{image}\": {e}"))
                        })
                }
            }
        })
        .await
        .map_err(|e| PullError::Pull(format!("the pull task failed: {e}")))?
    }
}

/// Why an image is not there, as the container's waiting reason shows it.
#[derive(Debug)]
pub(crate) enum PullError {
    NeverPull(String),
    InvalidName(String),
    Pull(String),
}

impl PullError {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            PullError::NeverPull(_) => "ErrImageNeverPull",
            PullError::InvalidName(_) => "InvalidImageName",
            PullError::Pull(_) => "ErrImagePull",
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            PullError::NeverPull(m) | PullError::InvalidName(m) | PullError::Pull(m) => m,
        }
    }
}
