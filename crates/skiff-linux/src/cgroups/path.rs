use std::path::{Component, Path, PathBuf};

use super::CgroupError;

/// Parent slice for systemd-style paths that leave it empty, as runc does.
const DEFAULT_SLICE: &str = "system.slice";
/// Scope prefix used when `linux.cgroupsPath` is unset under the systemd convention.
const DEFAULT_SCOPE_PREFIX: &str = "skiff";
/// systemd refuses unit names of 256 bytes or more.
const UNIT_NAME_MAX: usize = 255;

/// Turns the spec's `linux.cgroupsPath` into an absolute path inside a hierarchy.
///
/// * cgroupfs form (`systemd == false`): `None` or `""` gives `/<container id>`;
///   absolute and relative paths both hang off the hierarchy root.
/// * systemd form (`systemd == true`): `"slice:prefix:name"` becomes
///   `/<expanded slice>/<prefix>-<name>.scope` (or `<name>.scope` with an empty
///   prefix, or the slice itself when `name` ends in `.slice`). Nested slices
///   expand as systemd does: `a-b.slice` lives in `/a.slice/a-b.slice`. `None`
///   gives `system.slice:skiff:<container id>`.
///
/// `..`, `.`, empty components and the root cgroup itself are rejected.
pub fn container_cgroup_path(
    spec_path: Option<&str>,
    container_id: &str,
    systemd: bool,
) -> Result<PathBuf, CgroupError> {
    let spec_path = spec_path.filter(|p| !p.is_empty());
    if systemd {
        systemd_path(spec_path, container_id)
    } else {
        match spec_path {
            Some(p) => cgroupfs_path(p),
            None => {
                check_container_id(container_id)?;
                Ok(Path::new("/").join(container_id))
            }
        }
    }
}

fn invalid(value: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::InvalidPath {
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn check_container_id(id: &str) -> Result<(), CgroupError> {
    if id.is_empty() || id == "." || id == ".." || id.contains(['/', '\0']) {
        return Err(invalid(
            id,
            "unset, and the container id cannot serve as a cgroup name (it must be non-empty, \
             not . or .., and contain no '/'); set linux.cgroupsPath explicitly",
        ));
    }
    Ok(())
}

fn cgroupfs_path(raw: &str) -> Result<PathBuf, CgroupError> {
    if raw.contains('\0') {
        return Err(invalid(raw, "contains a NUL byte"));
    }
    let trimmed = raw.strip_prefix('/').unwrap_or(raw);
    let mut out = PathBuf::from("/");
    for component in trimmed.split('/') {
        match component {
            "" => {
                return Err(invalid(
                    raw,
                    "contains an empty path component ('//' or a trailing '/'); remove it",
                ))
            }
            "." | ".." => {
                return Err(invalid(
                    raw,
                    format!(
                        "contains {component:?}; cgroup paths must not navigate, write the \
                         path without it"
                    ),
                ))
            }
            c => out.push(c),
        }
    }
    // Belt and braces: nothing above may have produced a non-normal component.
    if out
        .components()
        .skip(1)
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(invalid(raw, "is not a plain path"));
    }
    if out == Path::new("/") {
        return Err(invalid(
            raw,
            "names the root cgroup; a container needs a cgroup of its own",
        ));
    }
    Ok(out)
}

fn systemd_path(raw: Option<&str>, container_id: &str) -> Result<PathBuf, CgroupError> {
    let (slice, prefix, name) = match raw {
        None => {
            check_container_id(container_id)?;
            (DEFAULT_SLICE, DEFAULT_SCOPE_PREFIX, container_id)
        }
        Some(raw) => {
            let parts: Vec<&str> = raw.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(invalid(
                    raw,
                    "with the systemd cgroup manager it must have the form \"slice:prefix:name\", \
                     e.g. \"system.slice:skiff:mycontainer\"",
                ));
            };
            (slice, prefix, name)
        }
    };
    let shown = raw.unwrap_or(container_id);
    if name.is_empty() {
        return Err(invalid(
            shown,
            "the name part of \"slice:prefix:name\" is empty",
        ));
    }
    check_unit_chars(shown, "prefix", prefix)?;
    check_unit_chars(shown, "name", name)?;
    let slice_given = !slice.is_empty();
    let slice = if slice_given { slice } else { DEFAULT_SLICE };
    let parent = expand_slice(shown, slice)?;

    if name.ends_with(".slice") {
        // A slice's place in the tree is fixed by its name, so the parent part
        // can only agree with it.
        let own = expand_slice(shown, name)?;
        if slice_given && own.parent() != Some(parent.as_path()) {
            return Err(invalid(
                shown,
                format!(
                    "slice {name:?} lives in {:?} by its name, not in {slice:?}; \
                     leave the slice part empty or make them agree",
                    own.parent().unwrap_or(Path::new("/"))
                ),
            ));
        }
        if own == Path::new("/") {
            return Err(invalid(
                shown,
                "names the root slice; a container needs its own",
            ));
        }
        return Ok(own);
    }

    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    if unit.len() > UNIT_NAME_MAX {
        return Err(invalid(
            shown,
            format!("unit name {unit:?} is longer than systemd's limit of {UNIT_NAME_MAX} bytes"),
        ));
    }
    Ok(parent.join(unit))
}

fn check_unit_chars(shown: &str, part: &str, s: &str) -> Result<(), CgroupError> {
    // systemd's unit-name alphabet; '/' in particular would escape the slice.
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '\\' | '@')))
    {
        return Err(invalid(
            shown,
            format!(
                "the {part} part {s:?} contains {bad:?}; systemd unit names allow only \
                 ASCII letters, digits and -_.\\@"
            ),
        ));
    }
    if s == "." || s == ".." {
        return Err(invalid(shown, format!("the {part} part must not be {s:?}")));
    }
    Ok(())
}

/// `a-b-c.slice` -> `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root.
fn expand_slice(shown: &str, slice: &str) -> Result<PathBuf, CgroupError> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(invalid(
            shown,
            format!("{slice:?} is not a slice unit name (it must end in \".slice\")"),
        ));
    };
    if stem == "-" {
        return Ok(PathBuf::from("/"));
    }
    check_unit_chars(shown, "slice", slice)?;
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(invalid(
            shown,
            format!(
                "{slice:?} is not a valid slice name ('-' separates nesting levels, so it \
                 must not lead, trail or repeat)"
            ),
        ));
    }
    let mut path = PathBuf::from("/");
    for (i, _) in stem.match_indices('-') {
        path.push(format!("{}.slice", &stem[..i]));
    }
    path.push(slice);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(spec: Option<&str>, id: &str, systemd: bool) -> String {
        container_cgroup_path(spec, id, systemd)
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"))
            .display()
            .to_string()
    }

    fn err(spec: Option<&str>, id: &str, systemd: bool) -> String {
        container_cgroup_path(spec, id, systemd)
            .expect_err("should be rejected")
            .to_string()
    }

    #[test]
    fn cgroupfs_paths() {
        assert_eq!(ok(None, "abc", false), "/abc");
        assert_eq!(ok(Some(""), "abc", false), "/abc");
        assert_eq!(ok(Some("/a/b"), "abc", false), "/a/b");
        assert_eq!(ok(Some("a/b"), "abc", false), "/a/b");
        assert_eq!(
            ok(Some("/machine.slice/x"), "abc", false),
            "/machine.slice/x"
        );
    }

    #[test]
    fn cgroupfs_rejections_name_the_field() {
        for bad in ["/a/../b", "..", "/a/./b", "/a//b", "/a/", "/", "a\0b"] {
            let msg = err(Some(bad), "abc", false);
            assert!(msg.starts_with("linux.cgroupsPath: "), "{bad:?}: {msg}");
        }
        assert!(err(Some("/a/../b"), "x", false).contains("\"..\""));
        assert!(err(Some("/a//b"), "x", false).contains("empty path component"));
        assert!(err(None, "../x", false).contains("container id"));
        assert!(err(None, "", false).contains("container id"));
    }

    #[test]
    fn systemd_paths() {
        assert_eq!(
            ok(Some("system.slice:libpod:abc"), "x", true),
            "/system.slice/libpod-abc.scope"
        );
        assert_eq!(
            ok(Some("a-b.slice:p:n"), "x", true),
            "/a.slice/a-b.slice/p-n.scope"
        );
        assert_eq!(
            ok(Some("machine-x-y.slice:docker:id1"), "x", true),
            "/machine.slice/machine-x.slice/machine-x-y.slice/docker-id1.scope"
        );
        assert_eq!(ok(Some(":p:n"), "x", true), "/system.slice/p-n.scope");
        assert_eq!(ok(Some("user.slice::n"), "x", true), "/user.slice/n.scope");
        assert_eq!(ok(Some("-.slice:p:n"), "x", true), "/p-n.scope");
        assert_eq!(ok(None, "abc", true), "/system.slice/skiff-abc.scope");
        assert_eq!(ok(Some("::a-b.slice"), "x", true), "/a.slice/a-b.slice");
        assert_eq!(
            ok(Some("a.slice::a-b.slice"), "x", true),
            "/a.slice/a-b.slice"
        );
    }

    #[test]
    fn systemd_rejections() {
        assert!(err(Some("/a/b"), "x", true).contains("slice:prefix:name"));
        assert!(err(Some("a:b:c:d"), "x", true).contains("slice:prefix:name"));
        assert!(err(Some("system:p:n"), "x", true).contains("must end in \".slice\""));
        assert!(err(Some("a--b.slice:p:n"), "x", true).contains("not a valid slice name"));
        assert!(err(Some("-a.slice:p:n"), "x", true).contains("not a valid slice name"));
        assert!(err(Some("system.slice:p:../x"), "x", true).contains("contains '/'"));
        assert!(err(Some("system.slice:p:.."), "x", true).contains("must not be"));
        assert!(err(Some("system.slice:p:"), "x", true).contains("name part"));
        assert!(err(Some("b.slice::a-b.slice"), "x", true).contains("lives in"));
        let long = format!("system.slice:p:{}", "x".repeat(300));
        assert!(err(Some(&long), "x", true).contains("longer than"));
        assert!(err(Some("x:p:n"), "x", true).starts_with("linux.cgroupsPath: "));
    }
}
