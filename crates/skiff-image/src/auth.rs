//! Credentials and the `WWW-Authenticate` challenge.
//!
//! Credentials come from `--creds USER:PASSWORD`, else from an auth file in
//! docker's `config.json` format (`{"auths": {"host": {"auth": base64}}}`):
//! `--authfile`, else `/etc/skiff/auth.json`, else `~/.docker/config.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

pub const DEFAULT_AUTH_FILE: &str = "/etc/skiff/auth.json";

/// A user name and password for basic auth or a token request.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password, even in debug logs.
        write!(f, "Credentials({:?}, <redacted>)", self.username)
    }
}

impl Credentials {
    /// `USER:PASSWORD` as given to `--creds`.
    pub fn parse(s: &str) -> Result<Credentials> {
        match s.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }),
            _ => Err(Error::Other(
                "--creds must be USER:PASSWORD (the user name cannot be empty)".into(),
            )),
        }
    }

    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Where to find credentials for a registry host.
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    /// Used for every registry (from `--creds`).
    pub explicit: Option<Credentials>,
    /// Per-host credentials loaded from an auth file.
    pub by_host: HashMap<String, Credentials>,
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl CredentialSource {
    /// `--creds` and `--authfile` as given; without an auth file the default
    /// locations are read if they exist.
    pub fn load(creds: Option<&str>, authfile: Option<&Path>) -> Result<CredentialSource> {
        let explicit = creds.map(Credentials::parse).transpose()?;
        let by_host = match authfile {
            Some(p) => read_auth_file(p)?,
            None => {
                let mut candidates = vec![PathBuf::from(DEFAULT_AUTH_FILE)];
                if let Some(home) = std::env::var_os("HOME") {
                    candidates.push(PathBuf::from(home).join(".docker/config.json"));
                }
                match candidates.into_iter().find(|p| p.is_file()) {
                    Some(p) => read_auth_file(&p)?,
                    None => HashMap::new(),
                }
            }
        };
        Ok(CredentialSource { explicit, by_host })
    }

    /// Credentials for `domain` (as written in the reference). Docker Hub's
    /// entries are keyed by several historical names.
    pub fn for_domain(&self, domain: &str) -> Option<&Credentials> {
        if let Some(c) = &self.explicit {
            return Some(c);
        }
        let keys: Vec<String> = if domain == crate::reference::DEFAULT_DOMAIN {
            vec![
                "docker.io".into(),
                "index.docker.io".into(),
                "https://index.docker.io/v1/".into(),
                "registry-1.docker.io".into(),
            ]
        } else {
            vec![
                domain.to_string(),
                format!("https://{domain}"),
                format!("http://{domain}"),
            ]
        };
        keys.iter().find_map(|k| self.by_host.get(k))
    }
}

impl CredentialSource {
    /// Credentials from the docker config JSON (`{"auths": {...}}`) of a
    /// `kubernetes.io/dockerconfigjson` Secret; `what` names it in errors.
    pub fn from_docker_config(what: &Path, json: &[u8]) -> Result<CredentialSource> {
        let text = std::str::from_utf8(json).map_err(|_| Error::Config {
            path: what.to_path_buf(),
            message: "is not UTF-8 JSON".into(),
        })?;
        Ok(CredentialSource {
            explicit: None,
            by_host: parse_auth_file(what, text)?,
        })
    }
}

fn read_auth_file(path: &Path) -> Result<HashMap<String, Credentials>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io_path("cannot read auth file", path, e))?;
    parse_auth_file(path, &text)
}

fn parse_auth_file(path: &Path, text: &str) -> Result<HashMap<String, Credentials>> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let file: AuthFile = serde_path_to_error::deserialize(de).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: format!("{}: {}", e.path(), e.inner()),
    })?;
    let mut out = HashMap::new();
    for (host, entry) in file.auths {
        let creds = match (entry.auth, entry.username, entry.password) {
            (Some(auth), _, _) if !auth.is_empty() => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| Error::Config {
                        path: path.to_path_buf(),
                        message: format!("auths.{host}.auth is not base64 of USER:PASSWORD"),
                    })?;
                Credentials::parse(&decoded).map_err(|_| Error::Config {
                    path: path.to_path_buf(),
                    message: format!("auths.{host}.auth does not decode to USER:PASSWORD"),
                })?
            }
            (_, Some(username), Some(password)) => Credentials { username, password },
            _ => continue,
        };
        let key = host.trim_end_matches('/').to_string();
        out.insert(key.clone(), creds.clone());
        out.insert(host, creds);
    }
    Ok(out)
}

/// One parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `bearer` or `basic`, lowercased.
    pub scheme: String,
    pub params: HashMap<String, String>,
}

impl Challenge {
    /// Parse `Bearer realm="...",service="...",scope="a:b:pull,push"`.
    /// Quoted values may contain commas and backslash escapes.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = match header.find(char::is_whitespace) {
            Some(i) => (&header[..i], header[i..].trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let mut params = HashMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let mut key = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' || c == ',' {
                    break;
                }
                key.push(c);
                chars.next();
            }
            if key.is_empty() {
                break;
            }
            if chars.next() != Some('=') {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n)
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/busybox:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["service"], "registry.example");
        assert_eq!(c.params["scope"], "repository:library/busybox:pull,push");
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "Registry Realm");
        let c =
            Challenge::parse(r#"Bearer realm=https://a/t, error="insufficient_scope""#).unwrap();
        assert_eq!(c.params["realm"], "https://a/t");
        assert_eq!(c.params["error"], "insufficient_scope");
    }

    #[test]
    fn auth_file_and_creds() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.json");
        std::fs::write(
            &p,
            r#"{"auths":{"reg.lan:5000":{"auth":"dXNlcjpwYXNz"},"https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="}}}"#,
        )
        .unwrap();
        let src = CredentialSource::load(None, Some(&p)).unwrap();
        assert_eq!(src.for_domain("reg.lan:5000").unwrap().username, "user");
        assert_eq!(src.for_domain("docker.io").unwrap().password, "secret");
        assert!(src.for_domain("other").is_none());
        let src = CredentialSource::load(Some("a:b:c"), Some(&p)).unwrap();
        assert_eq!(src.for_domain("other").unwrap().password, "b:c");
        assert!(Credentials::parse("nopass").is_err());
        std::fs::write(&p, r#"{"auths":{"x":{"auth":"!!"}}}"#).unwrap();
        let e = CredentialSource::load(None, Some(&p))
            .unwrap_err()
            .to_string();
        assert!(e.contains("auths.x.auth"), "{e}");
        assert_eq!(
            format!("{:?}", Credentials::parse("u:p").unwrap()),
            "Credentials(\"u\", <redacted>)"
        );
    }
}
