//! Running OCI hooks: the container state on stdin, the hook's own args and env,
//! and its timeout.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Result, RuntimeError};

/// Run `hooks` in order; the first failure stops the sequence.
pub fn run_all(kind: &'static str, hooks: &[Hook], state: &[u8]) -> Result<()> {
    for hook in hooks {
        run(kind, hook, state)?;
    }
    Ok(())
}

/// Run `hooks` in order, logging failures instead of stopping (poststart, poststop).
pub fn run_all_warn(kind: &'static str, hooks: &[Hook], state: &[u8]) {
    for hook in hooks {
        if let Err(e) = run(kind, hook, state) {
            tracing::warn!("{e}");
        }
    }
}

pub fn run(kind: &'static str, hook: &Hook, state: &[u8]) -> Result<()> {
    let fail = |message: String| RuntimeError::Hook {
        hook: kind,
        path: hook.path().clone(),
        message,
    };
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for pair in hook.env().iter().flatten() {
        if let Some((k, v)) = pair.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine; ignore EPIPE.
        let _ = stdin.write_all(state);
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("exited with {status}"))),
            Ok(None) => {}
            Err(e) => return Err(fail(format!("cannot wait: {e}"))),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "timed out after {} s",
                hook.timeout().unwrap_or_default()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::HookBuilder;

    #[test]
    fn hook_gets_state_on_stdin_and_its_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let hook = HookBuilder::default()
            .path("/bin/sh")
            .args(vec![
                "sh".to_string(),
                "-c".to_string(),
                format!(
                    "cat > {}; echo \"$GREETING\" >> {}",
                    out.display(),
                    out.display()
                ),
            ])
            .env(vec!["GREETING=hello".to_string()])
            .build()
            .expect("hook");
        run("prestart", &hook, br#"{"id":"x"}"#).expect("hook runs");
        let text = std::fs::read_to_string(&out).expect("output");
        assert_eq!(text, "{\"id\":\"x\"}hello\n");
    }

    #[test]
    fn failing_and_slow_hooks_are_errors() {
        let fail = HookBuilder::default()
            .path("/bin/false")
            .build()
            .expect("hook");
        assert!(run("createRuntime", &fail, b"{}").is_err());
        let slow = HookBuilder::default()
            .path("/bin/sleep")
            .args(vec!["sleep".to_string(), "5".to_string()])
            .timeout(1i64)
            .build()
            .expect("hook");
        let started = Instant::now();
        let err = run("poststart", &slow, b"{}").unwrap_err().to_string();
        assert!(err.contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
