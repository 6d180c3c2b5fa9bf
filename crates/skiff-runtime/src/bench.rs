//! `skiff bench runtime`: the container lifecycle (create, start, wait for exit,
//! delete) of `/bin/true`, timed under skiff and under runc in alternation so
//! both see the same machine state. Also the busybox bundle builder the
//! benchmark and the integration tests share.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Result, RuntimeError, SysContext};

/// Where Debian's busybox-static puts its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Make `<dir>/rootfs` a busybox root filesystem and `<dir>/config.json` a spec
/// that runs `args` in it. Returns `dir`.
pub fn busybox_bundle(dir: &Path, args: &[&str]) -> Result<PathBuf> {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
        std::fs::create_dir_all(rootfs.join(sub))
            .sys(|| format!("cannot create {}", rootfs.join(sub).display()))?;
    }
    let busybox = rootfs.join("bin/busybox");
    if !busybox.exists() {
        std::fs::copy(BUSYBOX, &busybox)
            .sys(|| format!("cannot copy {BUSYBOX} (install busybox-static) into the bundle"))?;
    }
    // Ask the host's copy: executing the fresh copy can fail with ETXTBSY while
    // another thread of the caller forks with the copy's write fd still open.
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .sys(|| "cannot run busybox --list".to_string())?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let link = rootfs.join("bin").join(applet);
        if applet != "busybox" && !link.exists() {
            std::os::unix::fs::symlink("busybox", &link)
                .sys(|| format!("cannot link {}", link.display()))?;
        }
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .sys(|| "cannot write etc/passwd".to_string())?;
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")
        .sys(|| "cannot write etc/group".to_string())?;
    let mut spec = crate::spec::default_spec(false);
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(false));
        process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
    }
    if let Some(root) = spec.root_mut() {
        root.set_readonly(Some(false));
    }
    let text =
        serde_json::to_string_pretty(&spec).map_err(|e| RuntimeError::Init(e.to_string()))?;
    std::fs::write(dir.join("config.json"), text).sys(|| "cannot write config.json".to_string())?;
    Ok(dir.to_path_buf())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_once(
    program: &Path,
    prefix: &[&str],
    root: &Path,
    bundle: &Path,
    id: &str,
) -> Result<Duration> {
    let started = Instant::now();
    let status = Command::new(program)
        .args(prefix)
        .arg("--root")
        .arg(root)
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .sys(|| format!("cannot run {}", program.display()))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(RuntimeError::Init(format!(
            "{} run exited with {status}",
            program.display()
        )));
    }
    Ok(elapsed)
}

/// Run the comparison and return a printable report.
pub fn runtime_lifecycle(skiff: &Path, runc: &str, rounds: usize) -> Result<String> {
    let rounds = rounds.max(1);
    let work = std::env::temp_dir().join(format!("skiff-bench-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(work.clone());
    let bundle = busybox_bundle(&work.join("bundle"), &["/bin/true"])?;
    let runc_path = which(runc);
    let mut ours = Vec::with_capacity(rounds);
    let mut theirs = Vec::with_capacity(rounds);
    for i in 0..rounds {
        ours.push(time_once(
            skiff,
            &["runtime"],
            &work.join("skiff-root"),
            &bundle,
            &format!("bench-skiff-{i}"),
        )?);
        if let Some(runc) = &runc_path {
            theirs.push(time_once(
                runc,
                &[],
                &work.join("runc-root"),
                &bundle,
                &format!("bench-runc-{i}"),
            )?);
        }
    }
    let ours_median = median(&mut ours);
    let mut report = format!(
        "container lifecycle of /bin/true (create+start+wait+delete), {rounds} rounds, alternating\n  skiff median: {:.2} ms\n",
        ours_median.as_secs_f64() * 1e3
    );
    if theirs.is_empty() {
        report.push_str(&format!("  runc: not found ({runc}); no comparison\n"));
    } else {
        let theirs_median = median(&mut theirs);
        report.push_str(&format!(
            "  runc median:  {:.2} ms\n  ratio skiff/runc: {:.3}\n",
            theirs_median.as_secs_f64() * 1e3,
            ours_median.as_secs_f64() / theirs_median.as_secs_f64()
        ));
    }
    Ok(report)
}

fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).exists().then(|| PathBuf::from(name));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
