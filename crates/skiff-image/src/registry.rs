//! The Distribution v2 registry client: manifests by tag or digest, blobs
//! (with ranges, to resume), HEAD, and pushes of blobs and manifests.
//!
//! Authentication follows the registry's lead: every request first goes out
//! with whatever this client already has for the host (nothing, basic, or a
//! bearer token for the scope). A 401 carries a `WWW-Authenticate` challenge:
//! `Basic` is answered with the configured credentials, `Bearer` by asking
//! the token realm for a token for the scope (with the credentials when
//! there are some, anonymously otherwise), and the request is sent again.
//!
//! The client is blocking (ureq): pulls run one thread per layer, each
//! streaming its response through hashers, a decompressor and the unpacker.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{Method, Response};
use ureq::Body;

use crate::auth::{Challenge, CredentialSource};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{MANIFEST_ACCEPT, MAX_MANIFEST_SIZE};
use crate::reference::Reference;
use crate::registries::{RegistriesConfig, Transport};

const USER_AGENT: &str = concat!("skiff/", env!("CARGO_PKG_VERSION"));

/// A registry client shared by every thread of a pull.
pub struct Client {
    config: RegistriesConfig,
    creds: CredentialSource,
    agent: ureq::Agent,
    insecure_agent: ureq::Agent,
    auth: Mutex<HashMap<String, HostAuth>>,
    /// `insecure` hosts whose HTTPS failed, now reached over HTTP.
    http_fallback: Mutex<HashSet<String>>,
}

#[derive(Default, Clone)]
struct HostAuth {
    challenge: Option<Challenge>,
    /// Bearer tokens by scope.
    tokens: HashMap<String, String>,
}

/// A manifest as the registry served it.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub data: Vec<u8>,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// The sha256 of `data` (verified against the requested digest).
    pub digest: Digest,
}

/// An open blob download.
pub struct BlobStream {
    pub reader: Box<dyn Read + Send>,
    /// Where the body starts: the requested offset when the registry honoured
    /// the range, 0 when it sent the whole blob.
    pub offset: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorsBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What a request is for, to ask the token server for the right scope.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn build_agent(verify: bool) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(!verify)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        // A stalled download fails instead of hanging; it resumes on retry.
        .timeout_per_read(Some(Duration::from_secs(120)))
        .max_redirects(10)
        .max_idle_connections_per_host(16)
        .build()
        .into()
}

impl Client {
    pub fn new(config: RegistriesConfig, creds: CredentialSource) -> Client {
        Client {
            config,
            creds,
            agent: build_agent(true),
            insecure_agent: build_agent(false),
            auth: Mutex::new(HashMap::new()),
            http_fallback: Mutex::new(HashSet::new()),
        }
    }

    fn base_url(&self, r: &Reference) -> (String, bool) {
        let host = r.registry_host();
        match self.config.transport(r.domain()) {
            Transport::Http => (format!("http://{host}"), true),
            Transport::HttpsInsecure => {
                let fell_back = self
                    .http_fallback
                    .lock()
                    .expect("fallback lock")
                    .contains(host);
                if fell_back {
                    (format!("http://{host}"), true)
                } else {
                    (format!("https://{host}"), false)
                }
            }
            Transport::Https => (format!("https://{host}"), true),
        }
    }

    fn scope(r: &Reference, access: Access) -> String {
        match access {
            Access::Pull => format!("repository:{}:pull", r.repository()),
            Access::Push => format!("repository:{}:pull,push", r.repository()),
        }
    }

    /// Send one request, answering authentication challenges. `path` is
    /// after `/v2/`; an absolute URL (an upload location) is used as is.
    fn send(
        &self,
        r: &Reference,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
        access: Access,
    ) -> Result<Response<Body>> {
        let host = r.registry_host().to_string();
        let scope = Client::scope(r, access);
        let mut answered_challenge = false;
        loop {
            let auth_header = self.auth_header(r, &scope)?;
            let resp = self.send_once(r, &method, path, headers, body, auth_header.as_deref())?;
            if resp.status() != 401 {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(Challenge::parse)
                .find(|c| c.scheme == "bearer" || c.scheme == "basic");
            let Some(challenge) = challenge else {
                return Err(Error::Auth {
                    registry: host,
                    message:
                        "401 Unauthorized without a Basic or Bearer WWW-Authenticate challenge"
                            .into(),
                });
            };
            if answered_challenge {
                let creds = self.creds.for_domain(r.domain());
                return Err(Error::Auth {
                    registry: host,
                    message: match creds {
                        Some(c) => format!(
                            "the credentials for user {:?} were rejected (401 Unauthorized); check --creds or the auth file",
                            c.username
                        ),
                        None => "authentication required: pass --creds USER:PASSWORD, or add the registry to /etc/skiff/auth.json".into(),
                    },
                });
            }
            answered_challenge = true;
            let mut auth = self.auth.lock().expect("auth lock");
            let entry = auth.entry(host.clone()).or_default();
            entry.challenge = Some(challenge);
            // The token we sent (if any) was not good enough for this scope.
            entry.tokens.remove(&scope);
        }
    }

    /// The Authorization header for a request, fetching a bearer token if
    /// the host asked for one.
    fn auth_header(&self, r: &Reference, scope: &str) -> Result<Option<String>> {
        let host = r.registry_host().to_string();
        let state = self.auth.lock().expect("auth lock").get(&host).cloned();
        let Some(state) = state else { return Ok(None) };
        let Some(challenge) = state.challenge else {
            return Ok(None);
        };
        let creds = self.creds.for_domain(r.domain());
        if challenge.scheme == "basic" {
            return match creds {
                Some(c) => Ok(Some(c.basic_header())),
                None => Err(Error::Auth {
                    registry: host,
                    message: "authentication required: pass --creds USER:PASSWORD, or add the registry to /etc/skiff/auth.json".into(),
                }),
            };
        }
        if let Some(token) = state.tokens.get(scope) {
            return Ok(Some(format!("Bearer {token}")));
        }
        let token = self.fetch_token(r, &challenge, scope)?;
        self.auth
            .lock()
            .expect("auth lock")
            .entry(host)
            .or_default()
            .tokens
            .insert(scope.to_string(), token.clone());
        Ok(Some(format!("Bearer {token}")))
    }

    fn fetch_token(&self, r: &Reference, challenge: &Challenge, scope: &str) -> Result<String> {
        let host = r.registry_host().to_string();
        let Some(realm) = challenge.params.get("realm") else {
            return Err(Error::Auth {
                registry: host,
                message: "the Bearer challenge has no realm to ask for a token".into(),
            });
        };
        if !realm.starts_with("https://") && !realm.starts_with("http://") {
            return Err(Error::Auth {
                registry: host,
                message: format!("the token realm {realm:?} is not an http(s) URL"),
            });
        }
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = challenge.params.get("service") {
            url.push_str(&format!("{sep}service={}", percent_encode(service)));
            sep = '&';
        }
        url.push_str(&format!("{sep}scope={}", percent_encode(scope)));
        let creds = self.creds.for_domain(r.domain());
        let mut req = self.agent_for_url(&url).get(&url);
        if let Some(c) = creds {
            req = req.header("Authorization", c.basic_header());
        }
        let mut resp = req.call().map_err(|e| Error::Auth {
            registry: host.clone(),
            message: format!("cannot reach the token server {realm}: {e}"),
        })?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Err(Error::Auth {
                    registry: host,
                    message: match creds {
                        Some(c) => format!(
                            "the token server {realm} rejected the credentials for user {:?}; check --creds or the auth file",
                            c.username
                        ),
                        None => format!(
                            "the token server {realm} refused anonymous access to {scope}: pass --creds USER:PASSWORD"
                        ),
                    },
                })
            }
            s => {
                return Err(Error::Auth {
                    registry: host,
                    message: format!("the token server {realm} answered HTTP {s}"),
                })
            }
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| Error::Auth {
                registry: host.clone(),
                message: format!("reading the token from {realm}: {e}"),
            })?;
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Auth {
            registry: host.clone(),
            message: format!("the token server {realm} sent malformed JSON: {e}"),
        })?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Auth {
                registry: host,
                message: format!(
                    "the token server {realm} sent neither \"token\" nor \"access_token\""
                ),
            })
    }

    fn agent_for_url(&self, url: &str) -> &ureq::Agent {
        // Only hosts configured `insecure` skip certificate checks.
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        if self.config.transport(host) == Transport::HttpsInsecure {
            &self.insecure_agent
        } else {
            &self.agent
        }
    }

    fn send_once(
        &self,
        r: &Reference,
        method: &Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
        auth: Option<&str>,
    ) -> Result<Response<Body>> {
        let host = r.registry_host().to_string();
        let (base, final_scheme) = self.base_url(r);
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            format!("{base}/v2/{path}")
        };
        let result = self.run(&url, method, headers, body, auth);
        match result {
            Ok(resp) => Ok(resp),
            Err(e)
                if !final_scheme
                    && matches!(
                        e,
                        ureq::Error::Io(_)
                            | ureq::Error::Tls(_)
                            | ureq::Error::Rustls(_)
                            | ureq::Error::ConnectionFailed
                    ) =>
            {
                // An `insecure` registry that does not speak TLS: plain HTTP,
                // as docker does for its insecure registries.
                tracing::debug!("{url}: {e}; retrying over plain HTTP");
                self.http_fallback
                    .lock()
                    .expect("fallback lock")
                    .insert(host.clone());
                let url = url.replacen("https://", "http://", 1);
                self.run(&url, method, headers, body, auth)
                    .map_err(|e| connect_error(&host, &url, e))
            }
            Err(e) => Err(connect_error(&host, &url, e)),
        }
    }

    fn run(
        &self,
        url: &str,
        method: &Method,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
        auth: Option<&str>,
    ) -> std::result::Result<Response<Body>, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method.clone())
            .uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        if let Some(a) = auth {
            builder = builder.header("Authorization", a);
        }
        let agent = self.agent_for_url(url);
        match body {
            Some(b) => agent.run(builder.body(b).map_err(ureq::Error::from)?),
            None => agent.run(builder.body(()).map_err(ureq::Error::from)?),
        }
    }

    /// GET a manifest by tag or digest. By digest, the body must hash to it.
    pub fn fetch_manifest(&self, r: &Reference, reference: &str) -> Result<FetchedManifest> {
        let what = format!("manifest {}:{reference}", r.name());
        let path = format!("{}/manifests/{reference}", r.repository());
        let mut resp = self.send(
            r,
            Method::GET,
            &path,
            &[("Accept", MANIFEST_ACCEPT.to_string())],
            None,
            Access::Pull,
        )?;
        self.check_status(r, &mut resp, &what)?;
        let content_type = header(&resp, "content-type");
        let header_digest = header(&resp, "docker-content-digest");
        let data = read_limited(&mut resp, MAX_MANIFEST_SIZE, &what, r)?;
        let digest = Digest::of(&data);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            header_digest.filter(|d| d.starts_with("sha256:"))
        };
        if let Some(expected) = expected {
            if expected != digest.to_string() {
                return Err(Error::Verification {
                    what,
                    message: format!("expected digest {expected}, the content hashes to {digest}"),
                });
            }
        }
        Ok(FetchedManifest {
            data,
            content_type,
            digest,
        })
    }

    /// HEAD a manifest: its digest and media type, or None when absent.
    pub fn head_manifest(
        &self,
        r: &Reference,
        reference: &str,
    ) -> Result<Option<(Digest, Option<String>)>> {
        let what = format!("manifest {}:{reference}", r.name());
        let path = format!("{}/manifests/{reference}", r.repository());
        let mut resp = self.send(
            r,
            Method::HEAD,
            &path,
            &[("Accept", MANIFEST_ACCEPT.to_string())],
            None,
            Access::Pull,
        )?;
        if resp.status() == 404 {
            return Ok(None);
        }
        self.check_status(r, &mut resp, &what)?;
        let Some(d) = header(&resp, "docker-content-digest") else {
            return Err(Error::Registry {
                registry: r.registry_host().into(),
                message: format!("HEAD {what} answered without a Docker-Content-Digest header"),
            });
        };
        Ok(Some((Digest::parse(&d)?, header(&resp, "content-type"))))
    }

    /// GET a small blob (a config) into memory and verify it.
    pub fn fetch_blob_bytes(
        &self,
        r: &Reference,
        digest: &Digest,
        size: u64,
        what: &str,
    ) -> Result<Vec<u8>> {
        if size > MAX_MANIFEST_SIZE {
            return Err(Error::Manifest {
                what: what.to_string(),
                message: format!(
                    "{size} bytes is larger than the {} MiB limit",
                    MAX_MANIFEST_SIZE >> 20
                ),
            });
        }
        let stream = self.open_blob(r, digest, 0)?;
        let mut data = Vec::with_capacity(size as usize);
        stream
            .reader
            .take(MAX_MANIFEST_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::Registry {
                registry: r.registry_host().into(),
                message: format!("reading {what}: {e}"),
            })?;
        let actual = Digest::of(&data);
        if data.len() as u64 != size {
            return Err(Error::Verification {
                what: what.to_string(),
                message: format!("expected {size} bytes, got {}", data.len()),
            });
        }
        if &actual != digest {
            return Err(Error::Verification {
                what: what.to_string(),
                message: format!("expected digest {digest}, the content hashes to {actual}"),
            });
        }
        Ok(data)
    }

    /// Open a blob for streaming, from `offset` when the registry supports
    /// ranges (check `BlobStream::offset`).
    pub fn open_blob(&self, r: &Reference, digest: &Digest, offset: u64) -> Result<BlobStream> {
        let what = format!("blob {digest} of {}", r.name());
        let path = format!("{}/blobs/{digest}", r.repository());
        let headers = if offset > 0 {
            vec![("Range", format!("bytes={offset}-"))]
        } else {
            vec![]
        };
        let mut resp = self.send(r, Method::GET, &path, &headers, None, Access::Pull)?;
        if resp.status() == 416 && offset > 0 {
            // The partial download is not a prefix the server agrees with.
            return self.open_blob(r, digest, 0);
        }
        self.check_status(r, &mut resp, &what)?;
        let start = if resp.status() == 206 {
            let range = header(&resp, "content-range").unwrap_or_default();
            if !range.starts_with(&format!("bytes {offset}-")) {
                return Err(Error::Registry {
                    registry: r.registry_host().into(),
                    message: format!("asked for {what} from byte {offset}, got range {range:?}"),
                });
            }
            offset
        } else {
            0
        };
        let reader = resp.into_body().into_reader();
        Ok(BlobStream {
            reader: Box::new(reader),
            offset: start,
        })
    }

    /// Is this blob in the repository?
    pub fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<bool> {
        let path = format!("{}/blobs/{digest}", r.repository());
        let mut resp = self.send(r, Method::HEAD, &path, &[], None, Access::Pull)?;
        if resp.status() == 404 {
            return Ok(false);
        }
        self.check_status(r, &mut resp, &format!("blob {digest}"))?;
        Ok(true)
    }

    /// Upload a blob (monolithically: start an upload, then PUT it whole).
    pub fn push_blob(&self, r: &Reference, data: &[u8]) -> Result<Digest> {
        let digest = Digest::of(data);
        if self.blob_exists(r, &digest)? {
            return Ok(digest);
        }
        let what = format!("upload of blob {digest} to {}", r.name());
        let path = format!("{}/blobs/uploads/", r.repository());
        let mut resp = self.send(
            r,
            Method::POST,
            &path,
            &[("Content-Length", "0".into())],
            None,
            Access::Push,
        )?;
        self.check_status(r, &mut resp, &what)?;
        let Some(location) = header(&resp, "location") else {
            return Err(Error::Registry {
                registry: r.registry_host().into(),
                message: format!("{what}: no Location header"),
            });
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!(
            "{location}{sep}digest={}",
            percent_encode(&digest.to_string())
        );
        let mut resp = self.send(
            r,
            Method::PUT,
            &url,
            &[("Content-Type", "application/octet-stream".into())],
            Some(data),
            Access::Push,
        )?;
        self.check_status(r, &mut resp, &what)?;
        Ok(digest)
    }

    /// PUT a manifest under a tag (or its digest).
    pub fn put_manifest(
        &self,
        r: &Reference,
        reference: &str,
        media_type: &str,
        data: &[u8],
    ) -> Result<Digest> {
        let what = format!("push of manifest {}:{reference}", r.name());
        let path = format!("{}/manifests/{reference}", r.repository());
        let mut resp = self.send(
            r,
            Method::PUT,
            &path,
            &[("Content-Type", media_type.to_string())],
            Some(data),
            Access::Push,
        )?;
        self.check_status(r, &mut resp, &what)?;
        Ok(Digest::of(data))
    }

    /// Turn a non-success status into an error naming what was asked for.
    fn check_status(&self, r: &Reference, resp: &mut Response<Body>, what: &str) -> Result<()> {
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let registry = r.registry_host().to_string();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_vec()
            .unwrap_or_default();
        let detail = serde_json::from_slice::<ErrorsBody>(&body)
            .ok()
            .and_then(|b| b.errors.into_iter().next())
            .map(|e| format!("{}: {}", e.code, e.message))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&body)
                    .trim()
                    .chars()
                    .take(200)
                    .collect()
            });
        match status {
            404 => Err(Error::NotFound {
                registry,
                what: if detail.is_empty() {
                    what.to_string()
                } else {
                    format!("{what} ({detail})")
                },
            }),
            401 | 403 => Err(Error::Auth {
                registry,
                message: format!("{what}: access denied (HTTP {status}) {detail}"),
            }),
            _ => Err(Error::Registry {
                registry,
                message: format!("{what}: HTTP {status} {detail}"),
            }),
        }
    }
}

fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn read_limited(
    resp: &mut Response<Body>,
    limit: u64,
    what: &str,
    r: &Reference,
) -> Result<Vec<u8>> {
    let data = resp
        .body_mut()
        .with_config()
        .limit(limit + 1)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::Manifest {
                what: what.to_string(),
                message: format!("larger than the {} MiB limit for manifests", limit >> 20),
            },
            e => Error::Registry {
                registry: r.registry_host().into(),
                message: format!("reading {what}: {e}"),
            },
        })?;
    if data.len() as u64 > limit {
        return Err(Error::Manifest {
            what: what.to_string(),
            message: format!("larger than the {} MiB limit for manifests", limit >> 20),
        });
    }
    Ok(data)
}

fn connect_error(host: &str, url: &str, e: ureq::Error) -> Error {
    let transport = matches!(
        e,
        ureq::Error::Tls(_)
            | ureq::Error::Rustls(_)
            | ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
    );
    let hint = if !transport {
        ""
    } else if url.starts_with("https://") {
        // rustls reports a plain-HTTP answer as an I/O error ("corrupt
        // message"), so every transport failure over HTTPS gets this hint.
        "; is the registry running and reachable? If it speaks plain HTTP or has a self-signed \
         certificate, add it to /etc/skiff/registries.toml (or --registries-config) with \
         http = true or insecure = true"
    } else {
        "; is the registry running and reachable?"
    };
    Error::Registry {
        registry: host.to_string(),
        message: format!("cannot reach {url}: {e}{hint}"),
    }
}
