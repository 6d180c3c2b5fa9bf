use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CgroupError, DriverKind, Hierarchy};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Mount options of a v1 cgroup mount that are not controller names.
const NON_CONTROLLER_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
];

/// Where the cgroup hierarchies of this host (or of a fake root in tests) are mounted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// v1 controller (`"memory"`, `"cpu"`, or `"name=systemd"` for named
    /// hierarchies) to its mount point. Co-mounted controllers share a path.
    v1: BTreeMap<String, PathBuf>,
    /// Mount point of cgroup2, if mounted.
    unified: Option<PathBuf>,
}

impl Layout {
    /// Builds a layout from explicit mount points, e.g. a fake cgroupfs in a tempdir.
    pub fn new<I, S, P>(v1: I, unified: Option<PathBuf>) -> Layout
    where
        I: IntoIterator<Item = (S, P)>,
        S: Into<String>,
        P: Into<PathBuf>,
    {
        Layout {
            v1: v1.into_iter().map(|(c, p)| (c.into(), p.into())).collect(),
            unified,
        }
    }

    /// Parses the text of `/proc/<pid>/mountinfo`.
    ///
    /// The first mount of each hierarchy wins: later ones are usually bind
    /// mounts of the same hierarchy (e.g. into a container).
    pub fn from_mountinfo(text: &str) -> Layout {
        let mut layout = Layout::default();
        for line in text.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            let (Some(mount_point), Some(fstype)) = (pre.get(4), post.first()) else {
                continue;
            };
            let mount_point = PathBuf::from(unescape_octal(mount_point));
            match *fstype {
                "cgroup2" => {
                    layout.unified.get_or_insert(mount_point);
                }
                "cgroup" => {
                    let super_options = post.get(2).copied().unwrap_or("");
                    for opt in super_options.split(',') {
                        if opt.is_empty()
                            || NON_CONTROLLER_OPTIONS.contains(&opt)
                            || opt.starts_with("release_agent=")
                        {
                            continue;
                        }
                        layout
                            .v1
                            .entry(opt.to_string())
                            .or_insert_with(|| mount_point.clone());
                    }
                }
                _ => {}
            }
        }
        layout
    }

    /// What kind of host this is: pure v1, hybrid or pure v2.
    pub fn hierarchy(&self) -> Hierarchy {
        // A v1 "name=systemd" hierarchy alone carries no resource controllers,
        // so a host with only that and cgroup2 still behaves as unified.
        let has_v1_controllers = self.v1.keys().any(|c| !c.starts_with("name="));
        match (self.unified.is_some(), has_v1_controllers) {
            (true, true) => Hierarchy::Hybrid,
            (true, false) => Hierarchy::Unified,
            (false, _) => Hierarchy::Legacy,
        }
    }

    /// The driver runc would pick: v1 wherever v1 controllers exist.
    pub fn default_driver(&self) -> DriverKind {
        match self.hierarchy() {
            Hierarchy::Unified => DriverKind::V2,
            Hierarchy::Legacy | Hierarchy::Hybrid => DriverKind::V1,
        }
    }

    /// Mount point of cgroup2.
    pub fn unified_mount(&self) -> Option<&Path> {
        self.unified.as_deref()
    }

    /// Mount point of the v1 hierarchy carrying `controller`.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        self.v1.get(controller).map(PathBuf::as_path)
    }

    /// Every mounted v1 controller with its mount point, sorted by name.
    pub fn v1_controllers(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.v1.iter().map(|(c, p)| (c.as_str(), p.as_path()))
    }

    /// Distinct v1 mount points (co-mounted controllers appear once).
    pub fn v1_mounts(&self) -> Vec<&Path> {
        let mut mounts: Vec<&Path> = self.v1.values().map(PathBuf::as_path).collect();
        mounts.sort();
        mounts.dedup();
        mounts
    }

    fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.unified.is_none()
    }
}

/// Reads the layout of the running host from `/proc/self/mountinfo`.
pub fn detect() -> Result<Layout, CgroupError> {
    let text =
        std::fs::read_to_string(MOUNTINFO).map_err(|e| CgroupError::io("reading", MOUNTINFO, e))?;
    let layout = Layout::from_mountinfo(&text);
    if layout.is_empty() {
        return Err(CgroupError::NotMounted {
            mountinfo: PathBuf::from(MOUNTINFO),
        });
    }
    Ok(layout)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup rw,relatime shared:9 - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime shared:13 - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
35 30 0:31 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw
36 30 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
";

    #[test]
    fn parses_hybrid_host() {
        let l = Layout::from_mountinfo(HYBRID);
        assert_eq!(l.hierarchy(), Hierarchy::Hybrid);
        assert_eq!(l.default_driver(), DriverKind::V1);
        assert_eq!(l.unified_mount(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert_eq!(l.v1_mount("cpu"), Some(Path::new("/sys/fs/cgroup/cpu")));
        assert_eq!(
            l.v1_mount("name=systemd"),
            Some(Path::new("/sys/fs/cgroup/systemd"))
        );
        assert_eq!(
            l.v1_mount("net_prio"),
            Some(Path::new("/sys/fs/cgroup/net_cls,net_prio"))
        );
        assert!(l.v1_mount("xattr").is_none());
        assert!(l.v1_mount("release_agent=/x").is_none());
        // net_cls and net_prio share one mount.
        assert_eq!(l.v1_mounts().len(), 5);
    }

    #[test]
    fn parses_unified_and_legacy_hosts() {
        let unified = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        let l = Layout::from_mountinfo(unified);
        assert_eq!(l.hierarchy(), Hierarchy::Unified);
        assert_eq!(l.default_driver(), DriverKind::V2);

        let legacy =
            "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n";
        let l = Layout::from_mountinfo(legacy);
        assert_eq!(l.hierarchy(), Hierarchy::Legacy);
        assert_eq!(l.v1_mount("cpuacct"), l.v1_mount("cpu"));
        assert_eq!(l.default_driver(), DriverKind::V1);
    }

    #[test]
    fn unescapes_mount_points_and_keeps_first_mount() {
        let text = "\
1 0 0:1 / /my\\040cgroup rw - cgroup2 cgroup2 rw
2 0 0:1 / /second rw - cgroup2 cgroup2 rw
";
        let l = Layout::from_mountinfo(text);
        assert_eq!(l.unified_mount(), Some(Path::new("/my cgroup")));
    }

    #[test]
    fn detect_finds_something_on_this_host() {
        let l = detect().expect("cgroups mounted on the test host");
        assert!(l.unified_mount().is_some() || !l.v1_mounts().is_empty());
    }
}
