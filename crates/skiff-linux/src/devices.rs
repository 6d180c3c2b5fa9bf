//! Device nodes inside a container's `/dev`.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};

/// The devices every container gets, as the runtime spec requires.
pub fn default_devices() -> Vec<LinuxDevice> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .filter_map(|(path, major, minor)| {
        LinuxDeviceBuilder::default()
            .path(path)
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()
            .ok()
    })
    .collect()
}

/// `makedev(3)` for a device number.
pub fn makedev(major: i64, minor: i64) -> u64 {
    nix::sys::stat::makedev(major as u64, minor as u64)
}

/// The `S_IF*` file type for a device type.
pub fn file_type(kind: LinuxDeviceType) -> nix::sys::stat::SFlag {
    use nix::sys::stat::SFlag;
    match kind {
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    }
}

/// Symlinks every container's `/dev` has: (link, target).
pub const DEV_SYMLINKS: [(&str, &str); 4] = [
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
];
