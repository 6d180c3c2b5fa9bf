//! POSIX resource limits from `process.rlimits`.

use nix::errno::Errno;
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

fn resource(kind: PosixRlimitType) -> libc::__rlimit_resource_t {
    match kind {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Check one limit without applying it: soft must not exceed hard.
pub fn validate(limit: &PosixRlimit) -> Result<(), String> {
    if limit.soft() > limit.hard() {
        return Err(format!(
            "soft limit {} is above hard limit {}; lower soft or raise hard",
            limit.soft(),
            limit.hard()
        ));
    }
    Ok(())
}

/// Apply one limit to the calling process.
pub fn apply(limit: &PosixRlimit) -> Result<(), Errno> {
    let value = libc::rlimit {
        rlim_cur: limit.soft(),
        rlim_max: limit.hard(),
    };
    // SAFETY: `value` is a valid rlimit struct that the kernel only reads.
    let rc = unsafe { libc::setrlimit(resource(limit.typ()), &value) };
    Errno::result(rc).map(drop)
}
