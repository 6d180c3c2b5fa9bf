//! Linux security module labels for the container process: the AppArmor
//! profile (`process.apparmorProfile`), the SELinux process label
//! (`process.selinuxLabel`) and the SELinux mount label (`linux.mountLabel`).
//!
//! Both process labels take effect at the next `execve`, so the init sets them
//! as its last step. That usually happens after `pivot_root`, when `/proc` is
//! the container's own procfs: `/proc/self` still names this process there, so
//! every path is built at call time and none is cached.
//!
//! A label that is set on a host where its LSM is not enabled is an error
//! rather than a silent no-op: the user asked for confinement they would not
//! get.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// AppArmor reports whether it is active here ("Y" or "N").
const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
/// Present only when selinuxfs is mounted, i.e. SELinux is active.
const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";

/// Errors from setting LSM labels.
#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    /// `process.apparmorProfile` is set but AppArmor is not active.
    #[error(
        "process.apparmorProfile is set to {profile} but AppArmor is not enabled on this host; \
         remove the field or enable AppArmor"
    )]
    AppArmorDisabled { profile: String },

    /// An SELinux label is set but SELinux is not active.
    #[error(
        "{field} is set to {label} but SELinux is not enabled on this host; remove the field \
         or enable SELinux"
    )]
    SelinuxDisabled { field: &'static str, label: String },

    /// The value cannot be a label at all.
    #[error("{field}: {reason}")]
    InvalidLabel { field: &'static str, reason: String },

    /// The kernel refused the label.
    #[error("{field}: writing {value:?} to {path:?} failed; {hint}")]
    Write {
        field: &'static str,
        value: String,
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Whether AppArmor is active on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string(APPARMOR_ENABLED).is_ok_and(|value| value.trim() == "Y")
}

/// Arrange for the next `execve` to switch to the AppArmor `profile`.
///
/// AppArmor's state is read from `/sys`, so a caller that runs this inside a
/// new root without sysfs should check [`apparmor_enabled`] before pivoting.
pub fn apply_apparmor(profile: &str) -> Result<(), LsmError> {
    const FIELD: &str = "process.apparmorProfile";
    check_label(FIELD, profile)?;
    if !apparmor_enabled() {
        return Err(LsmError::AppArmorDisabled {
            profile: profile.to_string(),
        });
    }
    // Kernels since 5.1 give each LSM its own attr directory; the shared file
    // is what older kernels have.
    write_attr(
        FIELD,
        &format!("exec {profile}"),
        &["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"],
        "check that the profile is loaded (aa-status) and that the process may change to it",
    )
}

/// Whether SELinux is active on this host (selinuxfs is mounted).
pub fn selinux_enabled() -> bool {
    Path::new(SELINUX_ENFORCE).exists()
}

/// Arrange for the next `execve` to run with the SELinux `label`
/// (`process.selinuxLabel`).
pub fn apply_selinux_exec_label(label: &str) -> Result<(), LsmError> {
    const FIELD: &str = "process.selinuxLabel";
    check_label(FIELD, label)?;
    if !selinux_enabled() {
        return Err(LsmError::SelinuxDisabled {
            field: FIELD,
            label: label.to_string(),
        });
    }
    write_attr(
        FIELD,
        label,
        &["/proc/self/attr/selinux/exec", "/proc/self/attr/exec"],
        "check that the label is valid in the loaded policy (user:role:type:level) and that \
         the policy allows this transition",
    )
}

/// The mount option that applies `linux.mountLabel` to a mount:
/// `context="LABEL"`. Quoted because MLS labels contain commas
/// (`s0:c1,c2`), which would otherwise split the option string.
pub fn selinux_mount_option(label: &str) -> Result<String, LsmError> {
    const FIELD: &str = "linux.mountLabel";
    check_label(FIELD, label)?;
    if label.contains('"') {
        return Err(LsmError::InvalidLabel {
            field: FIELD,
            reason: format!(
                "{label:?} contains a double quote, which cannot be passed in a mount option; \
                 SELinux labels never contain one"
            ),
        });
    }
    if !selinux_enabled() {
        return Err(LsmError::SelinuxDisabled {
            field: FIELD,
            label: label.to_string(),
        });
    }
    Ok(format!("context=\"{label}\""))
}

/// Reject values the kernel would misparse rather than refuse: an empty value
/// would reset the label, and NUL or newline would end it early.
fn check_label(field: &'static str, value: &str) -> Result<(), LsmError> {
    if value.is_empty() {
        return Err(LsmError::InvalidLabel {
            field,
            reason: "is empty; remove the field to keep the default label".into(),
        });
    }
    if value.contains(['\0', '\n']) {
        return Err(LsmError::InvalidLabel {
            field,
            reason: format!("{value:?} contains a NUL or newline, which no label may contain"),
        });
    }
    Ok(())
}

/// Write `value` to the first of `paths` that exists, in one `write(2)`: LSM
/// attribute files take the whole value from a single write.
fn write_attr(
    field: &'static str,
    value: &str,
    paths: &[&str],
    refused_hint: &'static str,
) -> Result<(), LsmError> {
    let mut last_missing = None;
    for path in paths {
        let mut file = match OpenOptions::new().write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                last_missing = Some((*path, e));
                continue;
            }
            Err(source) => {
                return Err(LsmError::Write {
                    field,
                    value: value.to_string(),
                    path: PathBuf::from(path),
                    hint: "is /proc mounted read-only or masked in this mount namespace?",
                    source,
                })
            }
        };
        return match file.write(value.as_bytes()) {
            Ok(n) if n == value.len() => Ok(()),
            Ok(n) => Err(LsmError::Write {
                field,
                value: value.to_string(),
                path: PathBuf::from(path),
                hint: "the kernel accepted only part of the value",
                source: io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("short write: {n} of {} bytes", value.len()),
                ),
            }),
            Err(source) => Err(LsmError::Write {
                field,
                value: value.to_string(),
                path: PathBuf::from(path),
                hint: refused_hint,
                source,
            }),
        };
    }
    let (path, source) = last_missing.unwrap_or_else(|| {
        (
            "/proc/self/attr",
            io::Error::new(io::ErrorKind::NotFound, "no attribute path to try"),
        )
    });
    Err(LsmError::Write {
        field,
        value: value.to_string(),
        path: PathBuf::from(path),
        hint: "this kernel has no LSM attribute file for it; is /proc mounted?",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};

    /// Run `f` in a forked child so a label written for the next exec never
    /// touches the test process; returns the child's exit code.
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child only runs `f` (file writes, no locks shared with
        // other test threads) and leaves with _exit, never returning into the
        // test harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
                // SAFETY: _exit ends the child without running the parent's
                // atexit handlers or destructors.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => match waitpid(child, None).expect("waitpid") {
                WaitStatus::Exited(_, code) => code,
                other => panic!("child did not exit normally: {other:?}"),
            },
        }
    }

    #[test]
    fn apparmor_state_matches_sysfs() {
        let sysfs = std::fs::read_to_string(APPARMOR_ENABLED).unwrap_or_default();
        assert_eq!(apparmor_enabled(), sysfs.trim() == "Y");
    }

    #[test]
    fn apparmor_profile_gives_a_clear_error_or_is_applied() {
        if apparmor_enabled() {
            // "unconfined" always exists, so switching to it must work.
            let code = in_child(|| i32::from(apply_apparmor("unconfined").is_err()));
            assert_eq!(code, 0, "apply_apparmor(\"unconfined\") failed in a child");
        } else {
            let err = apply_apparmor("skiff-default").expect_err("AppArmor is off here");
            assert_eq!(
                err.to_string(),
                "process.apparmorProfile is set to skiff-default but AppArmor is not enabled \
                 on this host; remove the field or enable AppArmor"
            );
        }
    }

    #[test]
    fn selinux_labels_give_a_clear_error_or_are_applied() {
        assert_eq!(
            selinux_enabled(),
            Path::new("/sys/fs/selinux/enforce").exists()
        );
        let label = "system_u:system_r:container_t:s0:c1,c2";
        if selinux_enabled() {
            assert_eq!(
                selinux_mount_option("system_u:object_r:container_file_t:s0:c1,c2")
                    .expect("mount option"),
                "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
            );
            // Whether the policy knows container_t is host-specific; the write
            // must either succeed or name the field.
            let code = in_child(|| match apply_selinux_exec_label(label) {
                Ok(()) => 0,
                Err(e) if e.to_string().starts_with("process.selinuxLabel: ") => 0,
                Err(_) => 1,
            });
            assert_eq!(code, 0);
        } else {
            let err = apply_selinux_exec_label(label).expect_err("SELinux is off here");
            assert_eq!(
                err.to_string(),
                format!(
                    "process.selinuxLabel is set to {label} but SELinux is not enabled on this \
                     host; remove the field or enable SELinux"
                )
            );
            let err = selinux_mount_option(label).expect_err("SELinux is off here");
            assert!(
                err.to_string().starts_with("linux.mountLabel is set to "),
                "{err}"
            );
        }
    }

    #[test]
    fn malformed_labels_are_rejected_before_touching_the_kernel() {
        let err = apply_apparmor("").expect_err("empty profile");
        assert!(
            err.to_string()
                .starts_with("process.apparmorProfile: is empty"),
            "{err}"
        );
        let err = apply_selinux_exec_label("a\nb").expect_err("newline");
        assert!(
            err.to_string().starts_with("process.selinuxLabel: "),
            "{err}"
        );
        let err = selinux_mount_option("x\"y").expect_err("quote");
        assert!(err.to_string().starts_with("linux.mountLabel: "), "{err}");
    }
}
