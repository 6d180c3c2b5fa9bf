//! The persistent container record (`<data>/containers/<id>/config.json`)
//! and the small policies it carries (restart, network).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{bad_flag, EngineError, IoContext, Result};

/// What the monitor last recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Restarting,
    Exited,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
        })
    }
}

/// `--restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RestartPolicy {
    #[default]
    No,
    /// Restart after a non-zero exit, at most `max` times (0: no limit).
    OnFailure {
        max: u32,
    },
    Always,
}

impl FromStr for RestartPolicy {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            bad_flag(
                "--restart",
                format!("{s:?} is not a restart policy; use no, on-failure[:MAX] or always"),
            )
        };
        match s.split_once(':') {
            None if s == "no" => Ok(RestartPolicy::No),
            None if s == "always" => Ok(RestartPolicy::Always),
            None if s == "on-failure" => Ok(RestartPolicy::OnFailure { max: 0 }),
            Some(("on-failure", n)) => Ok(RestartPolicy::OnFailure {
                max: n.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::OnFailure { max: 0 } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max } => write!(f, "on-failure:{max}"),
        }
    }
}

impl TryFrom<String> for RestartPolicy {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<RestartPolicy> for String {
    fn from(p: RestartPolicy) -> String {
        p.to_string()
    }
}

/// `--network`: `bridge` (the default), `none` or `host`; skiff-net's mode.
pub use skiff_net::NetworkMode as Network;

/// The network a container was attached to, kept in its record so teardown
/// (by the monitor or by `rm`, possibly from another process with other
/// flags) deletes exactly what attach created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkState {
    /// The pinned network namespace (`<run>/netns/<id>`) the runtime joins;
    /// kept across restarts so the address and published ports stay.
    pub netns: PathBuf,
    /// CNI network name, bridge and subnet (bridge mode only).
    pub network: String,
    pub bridge: String,
    pub subnet: String,
    /// What CNI ADD returned (bridge mode only); DEL needs it.
    pub attachment: Option<skiff_net::Attachment>,
}

/// The monitor's view of the container's life; only the monitor writes it
/// once it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Option<Status>,
    /// The container init on the host (0 when not running).
    pub pid: i32,
    pub monitor_pid: i32,
    /// The monitor's start time (clock ticks since boot), so a reused pid is
    /// not mistaken for it.
    pub monitor_start: u64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i32>,
    pub restart_count: u32,
    /// Why the last (re)start failed.
    pub error: Option<String>,
    /// The monitor detached the network and removed the netns after the
    /// last exit; `rm` only does it when this is false (a monitor that died).
    #[serde(default)]
    pub network_released: bool,
    /// The kernel's OOM killer killed a process of the container during its
    /// last run (read from its memory cgroup before the cgroup is removed).
    #[serde(default)]
    pub oom_killed: bool,
}

/// One container. Everything but `state` is fixed when it is created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and its id (config digest).
    pub image: String,
    pub image_id: String,
    /// The layers' diffIDs, bottom first, mounted as the root.
    pub layers: Vec<String>,
    pub created: String,
    /// The program and its arguments.
    pub args: Vec<String>,
    pub restart: RestartPolicy,
    pub auto_remove: bool,
    pub tty: bool,
    pub interactive: bool,
    /// Sent by `skiff stop` before SIGKILL.
    pub stop_signal: String,
    pub network: Network,
    /// `-p` mappings (bridge mode only).
    #[serde(default)]
    pub ports: Vec<skiff_net::PortMapping>,
    /// The netns and CNI attachment; None with `--network host`.
    #[serde(default)]
    pub net: Option<NetworkState>,
    /// Rows and columns of the client's terminal for `-t`.
    pub tty_size: Option<(u16, u16)>,
    /// `-v` binds and the anonymous volumes of the image's `VOLUME`s.
    #[serde(default)]
    pub volumes: Vec<crate::VolumeMount>,
    /// The pod sandbox whose namespaces the container joined (None: a plain
    /// container with a network of its own).
    #[serde(default)]
    pub sandbox: Option<String>,
    /// Set at create; the agent finds its containers by them.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    pub state: State,
}

impl ContainerRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// Is a failed start recorded (exited, with the error) rather than the
    /// container removed? For a pod's container (its agent reports and
    /// removes it) and for one that ran before (`skiff start` again).
    pub(crate) fn kept_after_failed_start(&self) -> bool {
        self.sandbox.is_some() || self.state.started_at.is_some()
    }

    /// Is the monitor (same pid, same start time) still alive? A zombie is
    /// not: it holds nothing any more, and its reaper (init, for a monitor)
    /// may take its time.
    pub fn monitor_alive(&self) -> bool {
        self.state.monitor_pid > 0
            && skiff_linux::process::is_alive(self.state.monitor_pid, self.state.monitor_start)
    }

    /// The status, corrected for a monitor that died without recording an exit.
    pub fn live_status(&self) -> Status {
        match self.state.status.unwrap_or(Status::Created) {
            Status::Exited => Status::Exited,
            _ if !self.monitor_alive() => Status::Exited,
            s => s,
        }
    }

    pub(crate) fn load(path: &Path) -> Result<ContainerRecord> {
        let bytes = std::fs::read(path).ctx(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Other(format!("{}: {e}", path.display())))
    }

    /// Write to a temporary file and rename it over the record, so a reader
    /// never sees half a record.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| EngineError::Other(format!("cannot encode the container record: {e}")))?;
        write_atomic(path, &bytes)
    }
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).ctx(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).ctx(|| format!("cannot rename {}", tmp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse() {
        assert_eq!("no".parse::<RestartPolicy>().unwrap(), RestartPolicy::No);
        assert_eq!(
            "on-failure:3".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::OnFailure { max: 3 }
        );
        assert_eq!(
            "always".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::Always
        );
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
    }

    #[test]
    fn network_modes() {
        assert_eq!("bridge".parse::<Network>().unwrap(), Network::Bridge);
        assert_eq!(Network::default(), Network::Bridge);
        assert_eq!("host".parse::<Network>().unwrap(), Network::Host);
        assert!("overlay".parse::<Network>().is_err());
    }
}
