//! The crate's error type. Every message says what failed and, where there is
//! one, how to fix it.

use std::path::PathBuf;
use std::time::Duration;

/// Errors from parsing network options and from running CNI plugins.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A `-p`/`--publish` value could not be parsed.
    #[error("invalid port mapping {value:?}: {reason} (expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], e.g. 8080:80/tcp)")]
    InvalidPortMapping { value: String, reason: String },

    /// A `--network` value is not one we know.
    #[error("unknown network mode {0:?}: use \"bridge\" (the default), \"none\" or \"host\"")]
    InvalidNetworkMode(String),

    /// A subnet or gateway in the network configuration is malformed.
    #[error("invalid network configuration: {0}")]
    InvalidConfig(String),

    /// Ports were requested on a network that cannot publish them.
    #[error("cannot publish ports with network mode {mode}: ports are only published on the bridge network (with host networking the container binds host ports directly)")]
    PortsNotSupported { mode: String },

    /// A plugin binary was not found in any plugin directory.
    #[error("CNI plugin {plugin:?} not found in {dirs:?}: install the containernetworking-plugins package or point plugin_dirs at the directory that holds it")]
    PluginNotFound { plugin: String, dirs: Vec<PathBuf> },

    /// The plugin could not be started or talked to.
    #[error("running CNI plugin {plugin} ({path}): {source}")]
    PluginExec {
        plugin: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The plugin did not finish in time and was killed.
    #[error("CNI plugin {plugin} {command} did not finish within {timeout:?} and was killed; check for a stuck iptables lock (`iptables -w` holders) or a hung plugin")]
    PluginTimeout {
        plugin: String,
        command: String,
        timeout: Duration,
    },

    /// The plugin reported an error (CNI error JSON on stdout).
    #[error("CNI plugin {plugin} {command} failed (code {code}{kind}): {msg}{details}{hint}",
        kind = code_name(*code).map(|n| format!(", {n}")).unwrap_or_default(),
        details = if details.is_empty() { String::new() } else { format!(": {details}") },
        hint = hint(*code))]
    Plugin {
        plugin: String,
        command: String,
        code: u32,
        msg: String,
        details: String,
    },

    /// The plugin exited non-zero without a parseable error, or its output was
    /// not what the CNI spec says.
    #[error("CNI plugin {plugin} {command} {what}; stderr: {stderr:?}")]
    PluginProtocol {
        plugin: String,
        command: String,
        what: String,
        stderr: String,
    },

    /// The result of ADD does not contain what we need (an IP on our interface).
    #[error("CNI result from network {network:?} is unusable: {0}", .reason)]
    BadResult { network: String, reason: String },

    /// Filesystem or system-call failure outside a plugin.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A network cannot be removed while interfaces are attached to it.
    #[error("network {network:?} is in use: bridge {bridge} still has {interfaces:?} attached; remove its containers first")]
    NetworkInUse {
        network: String,
        bridge: String,
        interfaces: Vec<String>,
    },

    /// DEL failed for one or more plugins; the others were still run.
    #[error("detaching container {container_id} from network {network:?} left work undone: {}; run detach again once the cause is fixed (DEL is idempotent)", .errors.join("; "))]
    Detach {
        container_id: String,
        network: String,
        errors: Vec<String>,
    },
}

impl NetError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Names of the well-known CNI error codes (SPEC.md, "Error").
fn code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        1 => "incompatible CNI version",
        2 => "unsupported field in network configuration",
        3 => "container unknown or does not exist",
        4 => "invalid necessary environment variables",
        5 => "I/O failure",
        6 => "failed to decode content",
        7 => "invalid network config",
        11 => "try again later",
        _ => return None,
    })
}

fn hint(code: u32) -> &'static str {
    match code {
        1 => "; the installed plugins do not speak our cniVersion, upgrade containernetworking-plugins",
        7 => "; the generated network configuration was rejected, check the subnet, gateway and bridge name",
        11 => "; retry the operation",
        _ => "",
    }
}
