//! Running one CNI plugin binary as the spec says (SPEC.md, "Execution
//! Protocol"): parameters in `CNI_*` environment variables, the network
//! configuration on stdin, the result or an error object on stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::NetError;

/// `PATH` for plugins: they run `iptables`, `ip6tables` and friends from
/// /usr/sbin and /sbin, which a caller's `PATH` may lack.
const PLUGIN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The per-call parameters of one plugin invocation.
pub(crate) struct Invocation<'a> {
    pub command: &'a str,
    pub container_id: &'a str,
    /// Empty on DEL when the namespace is gone (allowed by the spec).
    pub netns: &'a str,
    pub ifname: &'a str,
}

/// Finds `plugin` (a config's `type`) in the first directory that has it.
pub(crate) fn find(plugin: &str, dirs: &[PathBuf]) -> Result<PathBuf, NetError> {
    // `type` comes from our own conflist, but never let it name a path.
    if !plugin.contains('/') {
        for dir in dirs {
            let p = dir.join(plugin);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(NetError::PluginNotFound {
        plugin: plugin.to_string(),
        dirs: dirs.to_vec(),
    })
}

fn join_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.to_string_lossy())
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs the plugin and returns its parsed stdout (`None` when it printed
/// nothing, as DEL and CHECK do).
pub(crate) fn exec(
    dirs: &[PathBuf],
    timeout: Duration,
    plugin: &str,
    inv: &Invocation<'_>,
    config: &Value,
) -> Result<Option<Value>, NetError> {
    let path = find(plugin, dirs)?;
    let input = serde_json::to_vec(config).expect("a Value always serializes");
    tracing::debug!(
        plugin,
        command = inv.command,
        container = inv.container_id,
        "cni exec"
    );
    let exec_err = |source| NetError::PluginExec {
        plugin: plugin.to_string(),
        path: path.clone(),
        source,
    };
    // A clean environment: stray CNI_* variables of ours must not reach it.
    let mut child = Command::new(&path)
        .env_clear()
        .env("PATH", PLUGIN_PATH)
        .env("CNI_COMMAND", inv.command)
        .env("CNI_CONTAINERID", inv.container_id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_ARGS", "")
        .env("CNI_PATH", join_dirs(dirs))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(exec_err)?;
    let pid = child.id();

    // Pipes are drained on their own threads so a plugin that writes more than
    // a pipe buffer cannot deadlock against our stdin write.
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        // A plugin may exit without reading stdin (EPIPE); its exit status
        // tells what happened.
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(status) => status.map_err(exec_err)?,
        Err(_) => {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet
            // (the waiter thread is still blocked in wait), so the pid cannot
            // have been reused by another process.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let _ = rx.recv();
            let _ = waiter.join();
            return Err(NetError::PluginTimeout {
                plugin: plugin.to_string(),
                command: inv.command.to_string(),
                timeout,
            });
        }
    };
    let _ = waiter.join();
    let _ = writer.join();
    let out = out_reader.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default())
        .trim()
        .to_string();
    parse_output(plugin, inv.command, status.success(), &out, err)
}

/// Interprets a plugin's stdout given whether it exited 0.
pub(crate) fn parse_output(
    plugin: &str,
    command: &str,
    success: bool,
    stdout: &[u8],
    stderr: String,
) -> Result<Option<Value>, NetError> {
    let protocol = |what: String| NetError::PluginProtocol {
        plugin: plugin.to_string(),
        command: command.to_string(),
        what,
        stderr: stderr.clone(),
    };
    let text = String::from_utf8_lossy(stdout);
    let text = text.trim();
    let parsed: Option<Value> = if text.is_empty() {
        None
    } else {
        match serde_json::from_str(text) {
            Ok(v) => Some(v),
            Err(e) if success => {
                return Err(protocol(format!(
                    "printed a result that is not JSON ({e}): {text:?}"
                )))
            }
            Err(_) => None,
        }
    };
    if success {
        return Ok(parsed);
    }
    match parsed {
        Some(v) if v.get("code").and_then(Value::as_u64).is_some() => Err(NetError::Plugin {
            plugin: plugin.to_string(),
            command: command.to_string(),
            code: v["code"].as_u64().unwrap_or(0) as u32,
            msg: v
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            details: v
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        }),
        _ => Err(protocol(format!(
            "failed without a CNI error object; stdout: {text:?}"
        ))),
    }
}

/// The plugin's `CNI_COMMAND=VERSION` answer (its supported versions).
pub fn plugin_versions(dirs: &[PathBuf], plugin: &str) -> Result<Vec<String>, NetError> {
    let inv = Invocation {
        command: "VERSION",
        container_id: "",
        netns: "",
        ifname: "",
    };
    let cfg = serde_json::json!({ "cniVersion": crate::config::CNI_VERSION });
    let v = exec(dirs, Duration::from_secs(10), plugin, &inv, &cfg)?.unwrap_or_default();
    Ok(v["supportedVersions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json() {
        let out =
            br#"{"cniVersion":"1.0.0","code":7,"msg":"invalid bridge name","details":"too long"}"#;
        let e = parse_output("bridge", "ADD", false, out, String::new()).unwrap_err();
        match &e {
            NetError::Plugin {
                code, msg, details, ..
            } => {
                assert_eq!(
                    (*code, msg.as_str(), details.as_str()),
                    (7, "invalid bridge name", "too long")
                );
            }
            other => panic!("{other:?}"),
        }
        let s = e.to_string();
        assert!(
            s.contains(
                "bridge ADD failed (code 7, invalid network config): invalid bridge name: too long"
            ),
            "{s}"
        );
        assert!(s.contains("check the subnet"), "{s}");
        // Not JSON, non-zero exit: stderr is reported.
        let e = parse_output("portmap", "DEL", false, b"panic", "boom".into()).unwrap_err();
        assert!(
            e.to_string().contains("boom") && e.to_string().contains("without a CNI error"),
            "{e}"
        );
        // Success with garbage is a protocol error; success with nothing is fine.
        assert!(parse_output("x", "ADD", true, b"{", String::new()).is_err());
        assert_eq!(
            parse_output("x", "DEL", true, b"\n", String::new()).unwrap(),
            None
        );
    }

    #[test]
    fn missing_plugin() {
        let e = find("nope", &[PathBuf::from("/nonexistent")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("containernetworking-plugins"), "{e}");
        assert!(find("../bin/sh", &[PathBuf::from("/usr/lib/cni")]).is_err());
    }
}
