//! Linux capabilities of the container process: validating
//! `process.capabilities`, shrinking the bounding set, and setting the
//! effective, permitted, inheritable and ambient sets.
//!
//! The order matters and is the caller's to keep: [`restrict_bounding`] needs
//! `CAP_SETPCAP`, so it runs while the init is still fully privileged; then the
//! caller switches uid/gid with `PR_SET_KEEPCAPS`; then [`apply`] sets the final
//! sets just before `execve`.
//!
//! Everything here is done with raw `prctl(2)`/`capset(2)` on capability numbers,
//! not through names, so that capabilities newer than this build (which the
//! kernel knows and `caps` does not) are still dropped from the bounding set.

use nix::errno::Errno;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set, covering
/// capability numbers 0 to 63.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Capability numbers fit in a u64 mask for the foreseeable future; the kernel
/// ABI (version 3) cannot express more either.
const MAX_CAP_INDEX: u8 = 63;

/// Errors from validating or applying capabilities.
#[derive(Debug, thiserror::Error)]
pub enum CapError {
    /// An effective capability that is not permitted.
    #[error(
        "process.capabilities.effective: {cap} is not in process.capabilities.permitted; \
         effective capabilities must be permitted, so add it to permitted or remove it from \
         effective"
    )]
    EffectiveNotPermitted { cap: String },

    /// `PR_CAPBSET_DROP` failed.
    /// A capability the calling process itself cannot have.
    #[error(
        "process.capabilities.{field}: {cap} is not in the runtime's own bounding set, so no \
         process it starts can hold it; remove it from the spec or run the runtime with it"
    )]
    NotInBounding { cap: String, field: &'static str },

    #[error("dropping {cap} from the bounding set failed ({errno}): {hint}")]
    BoundingDrop {
        cap: String,
        errno: Errno,
        hint: &'static str,
    },

    /// `capset(2)` failed.
    #[error(
        "setting the effective, permitted and inheritable capability sets failed ({errno}): \
         {hint}"
    )]
    Capset { errno: Errno, hint: &'static str },

    /// Raising or clearing the ambient set failed.
    #[error("setting ambient capability {cap} failed ({errno}): {hint}")]
    Ambient {
        cap: String,
        errno: Errno,
        hint: &'static str,
    },
}

/// Whether the running kernel knows `cap`. Capabilities it does not know are
/// skipped with a warning by [`restrict_bounding`] and [`apply`].
///
/// This asks the kernel with `PR_CAPBSET_READ`, which fails for numbers beyond
/// its last capability: the same answer as `/proc/sys/kernel/cap_last_cap`, but
/// it also works in a container init whose new root has no `/proc` yet.
pub fn kernel_supports(cap: Capability) -> bool {
    cap_index(cap).is_some_and(kernel_knows_index)
}

/// Check, before anything changes, that every capability the process is to
/// hold (permitted, effective, ambient) is in the caller's own bounding set:
/// `capset` would refuse it later, when the error can no longer reach the
/// caller of `create`. Capabilities the kernel does not know are skipped, as
/// in [`apply`].
pub fn check_within_bounding(caps: &LinuxCapabilities) -> Result<(), CapError> {
    for (field, set) in [
        ("permitted", caps.permitted()),
        ("effective", caps.effective()),
        ("ambient", caps.ambient()),
    ] {
        let mut names: Vec<_> = set.iter().flatten().collect();
        names.sort_by_key(|cap| cap_name(**cap));
        for cap in names {
            let Some(index) = cap_index(*cap) else {
                continue;
            };
            // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory.
            let held = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(index)) };
            if held == 0 {
                return Err(CapError::NotInBounding {
                    cap: cap_name(*cap),
                    field,
                });
            }
        }
    }
    Ok(())
}

/// Drop every capability from the bounding set that is not in `keep`.
///
/// Needs `CAP_SETPCAP`, so call it before changing uid or dropping capabilities.
/// Capabilities the kernel knows but `keep` cannot name (newer than this build)
/// are dropped too.
pub fn restrict_bounding(keep: &Capabilities) -> Result<(), CapError> {
    let keep = mask_of(keep, "process.capabilities.bounding");
    for index in 0..=MAX_CAP_INDEX {
        // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(index)) };
        if present < 0 {
            // EINVAL: past the kernel's last capability, nothing more to drop.
            break;
        }
        if present == 0 || keep & bit(index) != 0 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes a capability number and touches no memory.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(index)) };
        if ret < 0 {
            let errno = Errno::last();
            return Err(CapError::BoundingDrop {
                cap: index_name(index),
                errno,
                hint: match errno {
                    Errno::EPERM => {
                        "the process lacks CAP_SETPCAP; restrict the bounding set before \
                         changing uid or dropping capabilities"
                    }
                    _ => "unexpected error from prctl(PR_CAPBSET_DROP)",
                },
            });
        }
    }
    Ok(())
}

/// Check the rules the kernel enforces on `process.capabilities`, so the
/// runtime can reject a bad spec before it forks. [`apply`] checks again.
///
/// A missing set counts as empty, as in runc.
pub fn validate(caps: &LinuxCapabilities) -> Result<(), CapError> {
    let empty = Capabilities::new();
    let permitted = caps.permitted().as_ref().unwrap_or(&empty);

    // Sorted so the error names the same capability on every run.
    let mut effective: Vec<_> = caps.effective().iter().flatten().collect();
    effective.sort_by_key(|cap| cap_name(**cap));
    if let Some(cap) = effective.into_iter().find(|cap| !permitted.contains(cap)) {
        return Err(CapError::EffectiveNotPermitted {
            cap: cap_name(*cap),
        });
    }

    Ok(())
}

/// Set the effective, permitted and inheritable sets in one `capset(2)`, then
/// make the ambient set exactly `caps.ambient`.
///
/// Call it after the uid/gid switch (made with `PR_SET_KEEPCAPS`, so the
/// permitted set survived). The bounding set is left alone: that is
/// [`restrict_bounding`]'s job, and needs to happen earlier.
pub fn apply(caps: &LinuxCapabilities) -> Result<(), CapError> {
    validate(caps)?;
    let effective = mask_of_opt(caps.effective(), "process.capabilities.effective");
    let permitted = mask_of_opt(caps.permitted(), "process.capabilities.permitted");
    let inheritable = mask_of_opt(caps.inheritable(), "process.capabilities.inheritable");
    let requested_ambient = mask_of_opt(caps.ambient(), "process.capabilities.ambient");
    // As with runc, an ambient capability that is not both permitted and
    // inheritable cannot be raised; it is skipped with a warning, not an error,
    // because common specs (runc's default among them) list ambient without
    // inheritable.
    let ambient = requested_ambient & permitted & inheritable;
    if ambient != requested_ambient {
        tracing::warn!(
            "process.capabilities.ambient: skipping capabilities that are not both permitted and inheritable"
        );
    }

    // Clearing first makes the result exact whatever the process held before.
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
    let cleared = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    // EINVAL means a kernel older than 4.3 without ambient capabilities; that
    // only matters if some were asked for.
    let ambient_unsupported = cleared < 0 && Errno::last() == Errno::EINVAL;
    if cleared < 0 && !ambient_unsupported {
        return Err(CapError::Ambient {
            cap: "(clearing all)".into(),
            errno: Errno::last(),
            hint: "unexpected error from prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
        });
    }

    capset(effective, permitted, inheritable)?;

    for index in 0..=MAX_CAP_INDEX {
        if ambient & bit(index) == 0 {
            continue;
        }
        if ambient_unsupported {
            return Err(CapError::Ambient {
                cap: index_name(index),
                errno: Errno::EINVAL,
                hint: "this kernel has no ambient capabilities (they need Linux 4.3); remove \
                       process.capabilities.ambient",
            });
        }
        // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number and no pointers.
        let ret = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                libc::c_ulong::from(index),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if ret < 0 {
            let errno = Errno::last();
            return Err(CapError::Ambient {
                cap: index_name(index),
                errno,
                hint: match errno {
                    Errno::EPERM => {
                        "the capability is not both permitted and inheritable after capset, or \
                         SECBIT_NO_CAP_AMBIENT_RAISE is set"
                    }
                    _ => "unexpected error from prctl(PR_CAP_AMBIENT_RAISE)",
                },
            });
        }
    }
    Ok(())
}

#[repr(C)]
struct CapUserHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapUserData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), CapError> {
    let mut header = CapUserHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // Version 3 splits each 64-bit set into a low and a high 32-bit word.
    let data = [
        CapUserData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapUserData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: capset reads one header and, for version 3, two data structs; both
    // are live, correctly laid out (#[repr(C)]) locals. The kernel may write the
    // header's version field, which is why it is passed as mutable.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapUserHeader,
            data.as_ptr(),
        )
    };
    if ret < 0 {
        let errno = Errno::last();
        return Err(CapError::Capset {
            errno,
            hint: match errno {
                Errno::EPERM => {
                    "permitted may only shrink, and inheritable may only gain capabilities that \
                     are in the bounding set; check process.capabilities.permitted against what \
                     the process still holds (was PR_SET_KEEPCAPS set before the uid change?) \
                     and inheritable against process.capabilities.bounding"
                }
                _ => "unexpected error from capset(2)",
            },
        });
    }
    Ok(())
}

fn bit(index: u8) -> u64 {
    1u64 << index
}

/// The kernel's number for `cap`, via its `CAP_*` name. `None` only if this
/// build's `caps` crate does not know a capability that `oci-spec` does.
fn cap_index(cap: Capability) -> Option<u8> {
    cap_name(cap)
        .parse::<caps::Capability>()
        .ok()
        .map(|c| c.index())
        .filter(|index| *index <= MAX_CAP_INDEX)
}

fn cap_name(cap: Capability) -> String {
    // oci-spec displays names without the prefix (e.g. "SYS_ADMIN").
    format!("CAP_{cap}")
}

fn index_name(index: u8) -> String {
    caps::all()
        .into_iter()
        .find(|cap| cap.index() == index)
        .map(|cap| cap.to_string())
        .unwrap_or_else(|| format!("capability {index}"))
}

fn kernel_knows_index(index: u8) -> bool {
    // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(index)) >= 0 }
}

/// Bit mask of the capabilities in `set` that the kernel knows; the others are
/// skipped with a warning naming `field`.
fn mask_of(set: &Capabilities, field: &str) -> u64 {
    let mut mask = 0;
    for cap in set {
        match cap_index(*cap) {
            Some(index) if kernel_knows_index(index) => mask |= bit(index),
            _ => tracing::warn!(
                field,
                capability = %cap_name(*cap),
                "the running kernel does not know this capability; skipping it"
            ),
        }
    }
    mask
}

fn mask_of_opt(set: &Option<Capabilities>, field: &str) -> u64 {
    set.as_ref().map_or(0, |set| mask_of(set, field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn caps(value: serde_json::Value) -> LinuxCapabilities {
        serde_json::from_value(value).expect("test capabilities must deserialize")
    }

    #[test]
    fn ambient_outside_permitted_or_inheritable_is_not_an_error() {
        let not_inheritable = caps(json!({
            "permitted": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"]
        }));
        validate(&not_inheritable).expect("runc's default spec has this shape");
        let fine = caps(json!({
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "ambient": ["CAP_CHOWN"]
        }));
        validate(&fine).expect("consistent sets validate");
    }

    #[test]
    fn effective_must_be_permitted() {
        let bad = caps(json!({"effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_KILL"]}));
        let msg = validate(&bad)
            .expect_err("effective not permitted")
            .to_string();
        assert!(
            msg.starts_with("process.capabilities.effective: CAP_SYS_ADMIN"),
            "{msg}"
        );
    }

    #[test]
    fn oci_capabilities_map_to_kernel_numbers() {
        assert_eq!(cap_index(Capability::Chown), Some(0));
        assert_eq!(cap_index(Capability::SysAdmin), Some(21));
        assert_eq!(cap_index(Capability::CheckpointRestore), Some(40));
        assert_eq!(index_name(21), "CAP_SYS_ADMIN");
        assert_eq!(index_name(63), "capability 63");
    }

    #[test]
    fn kernel_supports_matches_cap_last_cap() {
        let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .expect("read cap_last_cap")
            .trim()
            .parse()
            .expect("cap_last_cap is a number");
        // CAP_CHOWN (0) exists on every kernel with capabilities at all.
        assert!(kernel_supports(Capability::Chown));
        for cap in [
            Capability::Bpf,
            Capability::Perfmon,
            Capability::CheckpointRestore,
        ] {
            let index = cap_index(cap).expect("known to caps");
            assert_eq!(kernel_supports(cap), index <= last, "{cap}");
        }
    }
}
