//! The HTTP side of the API: authentication, routing of `/api` and `/apis` paths to
//! resources and subresources, discovery and OpenAPI, body reading and content negotiation.
//! The verbs themselves are in `rest`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use skiff_store::Store;

use crate::discovery;
use crate::objects::constant_time_eq;
use crate::query::Query;
use crate::resources::{self, Resource};
use crate::status::ApiError;

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Largest request body accepted (kube-apiserver's limit for JSON bodies is 3 MiB too).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The Kubernetes version this server speaks; `kubectl version` shows it.
pub const GIT_VERSION: &str = "v1.32.0-skiff";

pub(crate) struct Api {
    pub store: Arc<dyn Store>,
    pub token: String,
    /// Nudges the garbage collector and namespace controller after a write that may give
    /// them work (a deletion, a finalizer or owner change). Never blocks: a full channel
    /// already means "work pending".
    pub wake_controllers: tokio::sync::mpsc::Sender<()>,
}

pub(crate) type ApiResult<T = Response<Body>> = Result<T, ApiError>;

/// What a request addresses below `/api/v1` or `/apis/<group>/<version>`.
pub(crate) struct Target<'a> {
    pub res: &'static Resource,
    pub ns: Option<&'a str>,
    pub name: Option<&'a str>,
    pub sub: Option<&'a str>,
}

/// The parts of a request the verbs need besides the body.
pub(crate) struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: Query,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
}

impl Api {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        // Health endpoints reveal nothing and must answer before credentials exist anywhere.
        if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
            return text(StatusCode::OK, "ok");
        }
        if !self.authenticated(&req) {
            return error_response(&ApiError::unauthorized());
        }
        match self.route(req).await {
            Ok(resp) => resp,
            Err(e) => error_response(&e),
        }
    }

    fn authenticated(&self, req: &Request<Incoming>) -> bool {
        // A client certificate signed by our CA was verified during the TLS handshake.
        if req.extensions().get::<crate::tls::ClientCert>().is_some() {
            return true;
        }
        let Some(value) = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(token) = value.strip_prefix("Bearer ") else {
            return false;
        };
        constant_time_eq(token.trim().as_bytes(), self.token.as_bytes())
    }

    async fn route(&self, req: Request<Incoming>) -> ApiResult {
        let header = |name: hyper::header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let ctx = Ctx {
            method: req.method().clone(),
            path: req.uri().path().to_string(),
            query: Query::parse(req.uri().query().unwrap_or("")),
            accept: header(hyper::header::ACCEPT),
            content_type: header(hyper::header::CONTENT_TYPE),
            user_agent: header(hyper::header::USER_AGENT),
        };
        let path = ctx.path.clone();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let get = ctx.method == Method::GET;
        let aggregated = discovery::aggregated_media_type(&ctx.accept);
        match segs.as_slice() {
            ["version"] if get => return Ok(json_response(StatusCode::OK, &version())),
            ["api"] if get => {
                return Ok(match aggregated {
                    Some(mt) => typed_json(mt, &discovery::aggregated(true, mt)),
                    None => json_response(StatusCode::OK, &discovery::api_versions()),
                })
            }
            ["apis"] if get => {
                return Ok(match aggregated {
                    Some(mt) => typed_json(mt, &discovery::aggregated(false, mt)),
                    None => json_response(StatusCode::OK, &discovery::group_list()),
                })
            }
            ["apis", group] if get => {
                return discovery::group(group)
                    .map(|g| json_response(StatusCode::OK, &g))
                    .ok_or_else(|| not_found_path(&path))
            }
            ["api", version] if get => {
                return discovery::resource_list("", version)
                    .map(|l| json_response(StatusCode::OK, &l))
                    .ok_or_else(|| not_found_path(&path))
            }
            ["apis", group, version] if get => {
                return discovery::resource_list(group, version)
                    .map(|l| json_response(StatusCode::OK, &l))
                    .ok_or_else(|| not_found_path(&path))
            }
            ["openapi", ..] if get => {
                return crate::openapi::serve(&path, req.uri().query().unwrap_or(""), &ctx.accept)
                    .ok_or_else(|| not_found_path(&path))
            }
            _ => {}
        }
        let (group, version, rest) = match segs.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ if !get => return Err(ApiError::method_not_allowed(ctx.method.as_str(), &path)),
            _ => return Err(not_found_path(&path)),
        };
        let target = parse_target(group, version, rest, &path)?;
        self.dispatch(target, ctx, req).await
    }
}

/// Resolve `[ns/<ns>/]<plural>[/<name>[/<sub>]]` against the resource table.
fn parse_target<'a>(
    group: &str,
    version: &str,
    rest: &[&'a str],
    path: &str,
) -> ApiResult<Target<'a>> {
    let find = |plural: &str| {
        resources::lookup(group, version, plural).ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                format!(
                    "the server could not find the requested resource ({plural} in {}); run \
                     `kubectl api-resources` to see what this server serves",
                    if group.is_empty() {
                        version.to_string()
                    } else {
                        format!("{group}/{version}")
                    }
                ),
            )
        })
    };
    let sub_of = |res: &'static Resource, sub: &'a str| -> ApiResult<&'a str> {
        if res.has_subresource(sub) {
            Ok(sub)
        } else {
            Err(not_found_path(path))
        }
    };
    let target = match rest {
        [plural] => Target {
            res: find(plural)?,
            ns: None,
            name: None,
            sub: None,
        },
        // `namespaces/<name>/<sub>` is a namespace's subresource, not a collection.
        ["namespaces", name, sub] if resources::lookup(group, version, sub).is_none() => {
            let res = find("namespaces")?;
            Target {
                res,
                ns: None,
                name: Some(name),
                sub: Some(sub_of(res, sub)?),
            }
        }
        ["namespaces", ns, plural] => Target {
            res: find(plural)?,
            ns: Some(ns),
            name: None,
            sub: None,
        },
        ["namespaces", ns, plural, name] => Target {
            res: find(plural)?,
            ns: Some(ns),
            name: Some(name),
            sub: None,
        },
        ["namespaces", ns, plural, name, sub] => {
            let res = find(plural)?;
            Target {
                res,
                ns: Some(ns),
                name: Some(name),
                sub: Some(sub_of(res, sub)?),
            }
        }
        [plural, name] => Target {
            res: find(plural)?,
            ns: None,
            name: Some(name),
            sub: None,
        },
        [plural, name, sub] => {
            let res = find(plural)?;
            Target {
                res,
                ns: None,
                name: Some(name),
                sub: Some(sub_of(res, sub)?),
            }
        }
        _ => return Err(not_found_path(path)),
    };
    // A namespaced object is addressed through its namespace; a cluster-scoped one never is.
    match (target.res.namespaced, target.ns, target.name) {
        (true, None, Some(_)) | (false, Some(_), _) => Err(not_found_path(path)),
        _ => Ok(target),
    }
}

pub(crate) fn not_found_path(path: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!("the server could not find the requested resource ({path})"),
    )
}

pub(crate) async fn read_body(req: Request<Incoming>) -> ApiResult<Bytes> {
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!(
                "the request body is over the {MAX_BODY_BYTES}-byte limit; store large data \
                 elsewhere and reference it"
            ),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// Decode a request body by its content type: JSON, YAML, or Kubernetes protobuf.
pub(crate) fn parse_body(content_type: &str, bytes: &[u8]) -> ApiResult<Value> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media == crate::proto::CONTENT_TYPE || bytes.starts_with(b"k8s\0") {
        return crate::proto::decode(bytes);
    }
    if media.ends_with("yaml") {
        return parse_yaml(bytes);
    }
    if media.contains("protobuf") || media.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({media}); send JSON, YAML \
                 or application/vnd.kubernetes.protobuf"
            ),
        ));
    }
    parse_json(bytes)
}

pub(crate) fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn parse_yaml(bytes: &[u8]) -> ApiResult<Value> {
    // JSON is YAML, and the JSON parser reports better errors for it.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    serde_yaml_ng::from_slice::<Value>(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}")))
}

pub(crate) fn json_response(code: StatusCode, v: &Value) -> Response<Body> {
    typed_response(code, "application/json", v)
}

fn typed_json(media_type: &str, v: &Value) -> Response<Body> {
    typed_response(StatusCode::OK, media_type, v)
}

fn typed_response(code: StatusCode, media_type: &str, v: &Value) -> Response<Body> {
    let body = serde_json::to_vec(v).expect("serializing a JSON value cannot fail");
    Response::builder()
        .status(code)
        .header(hyper::header::CONTENT_TYPE, media_type)
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static response parts are valid")
}

fn text(code: StatusCode, s: &'static str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from_static(s.as_bytes())).boxed())
        .expect("static response parts are valid")
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status())
}

fn version() -> Value {
    serde_json::json!({
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target(
            "",
            "v1",
            &["namespaces", "default", "pods", "p", "status"],
            "/",
        )
        .unwrap();
        assert_eq!(
            (t.res.plural, t.ns, t.name, t.sub),
            ("pods", Some("default"), Some("p"), Some("status"))
        );
        let t = parse_target("", "v1", &["namespaces", "n1", "finalize"], "/").unwrap();
        assert_eq!(
            (t.res.plural, t.name, t.sub),
            ("namespaces", Some("n1"), Some("finalize"))
        );
        let t = parse_target("", "v1", &["namespaces", "n1", "configmaps"], "/").unwrap();
        assert_eq!(
            (t.res.plural, t.ns, t.name),
            ("configmaps", Some("n1"), None)
        );
        let t = parse_target("apps", "v1", &["deployments"], "/").unwrap();
        assert_eq!((t.res.kind, t.ns), ("Deployment", None));
        assert!(parse_target("", "v1", &["pods", "p"], "/").is_err());
        assert!(parse_target("", "v1", &["namespaces", "x", "nodes", "n"], "/").is_err());
        assert!(parse_target("", "v1", &["namespaces", "x", "pods", "p", "bogus"], "/").is_err());
        assert!(parse_target("", "v1", &["widgets"], "/").is_err());
    }

    #[test]
    fn bodies_by_content_type() {
        assert_eq!(
            parse_body("application/json", b"{\"a\":1}").unwrap()["a"],
            1
        );
        assert_eq!(
            parse_body("application/apply-patch+yaml", b"a: 1\nb: [x]\n").unwrap()["b"][0],
            "x"
        );
        assert_eq!(parse_body("application/json", b"{").unwrap_err().code, 400);
        assert_eq!(
            parse_body("application/yaml", b"a: [").unwrap_err().code,
            400
        );
        assert_eq!(parse_body("application/cbor", b"").unwrap_err().code, 415);
    }
}
