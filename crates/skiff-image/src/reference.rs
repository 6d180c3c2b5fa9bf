//! Image references, normalised the way docker does: `busybox` is
//! `docker.io/library/busybox:latest`, `localhost:5000/x` keeps its registry.

use std::fmt;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The registry that names without a domain refer to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Where `docker.io` is actually served.
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";
const DEFAULT_TAG: &str = "latest";

/// A fully normalised reference: a registry domain, a repository path, and a
/// tag and/or a digest (a bare name gets `latest`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

fn invalid(reference: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

impl Reference {
    /// Parse and normalise `s` as docker would.
    pub fn parse(s: &str) -> Result<Reference> {
        if s.is_empty() {
            return Err(invalid(s, "empty reference"));
        }
        if s.len() > 4096 {
            return Err(invalid(s, "longer than 4096 characters"));
        }
        let (rest, digest) = match s.rsplit_once('@') {
            Some((name, d)) => (
                name,
                Some(Digest::parse(d).map_err(|e| invalid(s, e.to_string()))?),
            ),
            None => (s, None),
        };
        // A tag is a ':' after the last '/': in `localhost:5000/x` the colon
        // belongs to the domain.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            validate_tag(s, tag)?;
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        validate_domain(s, &domain)?;
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        validate_path(s, &path)?;
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (t, _) => t,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The registry domain as written (`docker.io`, `127.0.0.1:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The host to talk to: `docker.io` is served by `registry-1.docker.io`.
    pub fn registry_host(&self) -> &str {
        if self.domain == DEFAULT_DOMAIN {
            DOCKER_HUB_HOST
        } else {
            &self.domain
        }
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, the repository as a whole.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// What to ask the registry's manifest endpoint for: the digest when
    /// there is one (it pins the content), else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// This reference with a digest instead of a tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The short name docker shows: `busybox` for
    /// `docker.io/library/busybox`, `user/app` for `docker.io/user/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .filter(|p| !p.contains('/'))
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.name()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn validate_tag(s: &str, tag: &str) -> Result<()> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || tag.len() > 128
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(invalid(
            s,
            format!("tag {tag:?} must be 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'"),
        ));
    }
    Ok(())
}

fn validate_domain(s: &str, domain: &str) -> Result<()> {
    let (host, port) = match domain.rsplit_once(':') {
        // An IPv6 literal is bracketed: [::1]:5000.
        Some((h, p)) if !h.ends_with(':') && (h.starts_with('[') == h.ends_with(']')) => {
            (h, Some(p))
        }
        _ => (domain, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                s,
                format!("registry port {port:?} is not a number"),
            ));
        }
    }
    let ok = !host.is_empty()
        && (host.starts_with('[') && host.ends_with(']')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')));
    if !ok {
        return Err(invalid(
            s,
            format!("registry host {host:?} is not a valid host name"),
        ));
    }
    Ok(())
}

fn validate_path(s: &str, path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(invalid(s, "repository name is empty"));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid(
                s,
                "repository name has an empty path component ('//' or a trailing '/')",
            ));
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(invalid(s, "repository name must be lowercase"));
        }
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let bytes: Vec<char> = component.chars().collect();
        let ends_ok = alnum(bytes[0]) && alnum(bytes[bytes.len() - 1]);
        let chars_ok = bytes
            .iter()
            .all(|&c| alnum(c) || matches!(c, '.' | '_' | '-'));
        // Separators: '.', '_', '__' or runs of '-'; never '..' or '._'.
        let seps_ok = !component.contains("..")
            && !component.contains("___")
            && !component.contains("._")
            && !component.contains("_.")
            && !component.contains(".-")
            && !component.contains("-.");
        if !(ends_ok && chars_ok && seps_ok) {
            return Err(invalid(
                s,
                format!(
                    "repository path component {component:?} must be lowercase letters and digits, \
                     separated by '.', '_', '__' or '-'"
                ),
            ));
        }
    }
    if path.len() > 255 {
        return Err(invalid(s, "repository name is longer than 255 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            norm("index.docker.io/library/alpine"),
            "docker.io/library/alpine:latest"
        );
        assert_eq!(norm("docker.io/alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(
            norm("127.0.0.1:5000/test/multi"),
            "127.0.0.1:5000/test/multi:latest"
        );
        assert_eq!(norm("quay.io/org/img:1.0-rc_1"), "quay.io/org/img:1.0-rc_1");
        let d = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        let r = Reference::parse(&format!("busybox:1@{d}")).unwrap();
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.tag(), Some("1"));
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.registry_host(), "registry-1.docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(
            Reference::parse("user/app").unwrap().familiar_name(),
            "user/app"
        );
        assert_eq!(
            Reference::parse("[::1]:5000/x").unwrap().to_string(),
            "[::1]:5000/x:latest"
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Busybox",
            "a//b",
            "a/",
            "busybox:",
            "busybox:-x",
            "a/b@sha256:xyz",
            "host:port/x",
            "a..b",
            "-a",
            "busybox@md5:abc",
        ] {
            let e = Reference::parse(bad).expect_err(bad).to_string();
            assert!(e.contains("invalid image reference"), "{bad}: {e}");
        }
        assert!(Reference::parse("Busybox")
            .unwrap_err()
            .to_string()
            .contains("lowercase"));
    }
}
