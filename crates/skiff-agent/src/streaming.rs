//! The kubelet-style streaming API the API server proxies to: container
//! logs (`/containerLogs`), exec and attach (`/exec`, `/attach`: WebSocket
//! channel protocols v1-v5, or SPDY/3.1) and port-forward (`/portForward`:
//! SPDY/3.1, plain or tunnelled in WebSocket). Plain HTTP/1.1; every request
//! carries the node's bearer token.

mod exec;
mod logs;
mod portforward;
mod spdy;
mod ws;

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// What the agent core knows about a container that a stream is for.
#[derive(Debug, Clone)]
pub struct StreamTarget {
    /// The skiff-engine container id.
    pub container_id: String,
    /// The engine's CRI-format log.
    pub log_path: PathBuf,
    pub running: bool,
    pub tty: bool,
    pub stdin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("pods \"{0}\" not found")]
    PodNotFound(String),
    #[error("container \"{container}\" in pod \"{pod}\" is not valid")]
    ContainerNotFound { pod: String, container: String },
    #[error("container \"{0}\" is not running")]
    NotRunning(String),
    #[error("previous terminated container \"{0}\" not found")]
    NoPrevious(String),
}

impl LookupError {
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            LookupError::PodNotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            _ => (StatusCode::BAD_REQUEST, "BadRequest"),
        }
    }
}

pub trait ContainerLookup: Send + Sync + 'static {
    /// The container `container` (None: the pod's only/first app container,
    /// as kubectl defaults) of pod namespace/name; `previous`: the previous
    /// (exited) instance, for `logs --previous`.
    fn find(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<StreamTarget, LookupError>;
    /// The pod's network namespace (pinned file), for port-forward.
    fn pod_netns(&self, namespace: &str, pod: &str) -> Result<PathBuf, LookupError>;
}

/// How to run the `skiff` binary's engine verbs.
#[derive(Debug, Clone)]
pub struct EngineCli {
    /// The skiff binary.
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    pub run_dir: PathBuf,
}

/// Runs processes in containers and reads their state; `EngineCli` is the
/// real one, tests pass doubles.
pub trait ProcessRunner: Send + Sync + 'static {
    /// The command that runs `cmd` in the target container (`stdin`: give
    /// it input; `tty`: its stdio is a terminal the caller provides).
    fn exec_command(
        &self,
        target: &StreamTarget,
        cmd: &[String],
        stdin: bool,
        tty: bool,
    ) -> tokio::process::Command;
    /// The exit code once the container has exited; None while it runs.
    /// Blocking: called on a blocking thread.
    fn exit_code(&self, target: &StreamTarget) -> Option<i32>;
    /// The fifo the container's main process reads its stdin from.
    fn stdin_fifo(&self, target: &StreamTarget) -> PathBuf;
}

/// `EngineCli` with the engine opened once for state queries.
struct EngineRunner {
    cli: EngineCli,
    engine: Mutex<Option<skiff_engine::Engine>>,
}

impl ProcessRunner for EngineRunner {
    fn exec_command(
        &self,
        target: &StreamTarget,
        cmd: &[String],
        stdin: bool,
        tty: bool,
    ) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.cli.exe);
        c.env("SKIFF_DATA_DIR", &self.cli.data_dir)
            .env("SKIFF_RUN_DIR", &self.cli.run_dir)
            .arg("exec");
        if stdin {
            c.arg("-i");
        }
        if tty {
            c.arg("-t");
        }
        c.arg(&target.container_id).arg("--").args(cmd);
        c
    }

    fn exit_code(&self, target: &StreamTarget) -> Option<i32> {
        let mut guard = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            match skiff_engine::Engine::open(&self.cli.data_dir, &self.cli.run_dir) {
                Ok(e) => *guard = Some(e),
                // Without the store nothing can be followed: report an end.
                Err(_) => return Some(1),
            }
        }
        let engine = guard.as_ref()?;
        match engine.load(&target.container_id) {
            Ok(rec) => match rec.live_status() {
                skiff_engine::Status::Exited => Some(rec.state.exit_code.unwrap_or(1)),
                _ => None,
            },
            // Removed: it is gone for good, its exit unknown.
            Err(_) => Some(GONE_EXIT_CODE),
        }
    }

    fn stdin_fifo(&self, target: &StreamTarget) -> PathBuf {
        self.cli
            .data_dir
            .join("containers")
            .join(&target.container_id)
            .join("stdin")
    }
}

/// The exit code reported for a container whose record is gone (as if
/// killed: 128 + SIGKILL).
const GONE_EXIT_CODE: i32 = 137;

type Body = BoxBody<Bytes, std::io::Error>;

pub(crate) struct Ctx {
    token: String,
    lookup: Arc<dyn ContainerLookup>,
    runner: Arc<dyn ProcessRunner>,
}

/// Serve the kubelet-style streaming API on `listener` until dropped. Every
/// request must carry `Authorization: Bearer <token>` (else 401).
pub async fn serve(
    listener: tokio::net::TcpListener,
    token: String,
    lookup: Arc<dyn ContainerLookup>,
    engine: EngineCli,
) -> std::io::Result<()> {
    let runner = Arc::new(EngineRunner {
        cli: engine,
        engine: Mutex::new(None),
    });
    serve_with(listener, token, lookup, runner).await
}

/// `serve` with another process runner (tests run commands on the host).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    token: String,
    lookup: Arc<dyn ContainerLookup>,
    runner: Arc<dyn ProcessRunner>,
) -> std::io::Result<()> {
    let ctx = Arc::new(Ctx {
        token,
        lookup,
        runner,
    });
    loop {
        let sock = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors and the like: back off, keep serving.
                tracing::warn!("streaming server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(handle(ctx, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(sock), svc)
                .with_upgrades()
                .await;
        });
    }
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let authorised = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|t| same_token(t, ctx.token.as_bytes()));
    if !authorised {
        return status_response(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["containerLogs", ns, pod, container] => {
            logs::handle(&ctx, ns, pod, non_empty(container), &query).await
        }
        ["containerLogs", ns, pod] => logs::handle(&ctx, ns, pod, None, &query).await,
        ["exec", ns, pod, container] => {
            exec::handle(
                ctx.clone(),
                req,
                exec::Kind::Exec,
                ns,
                pod,
                non_empty(container),
                query,
            )
            .await
        }
        ["exec", ns, pod] => {
            exec::handle(ctx.clone(), req, exec::Kind::Exec, ns, pod, None, query).await
        }
        ["attach", ns, pod, container] => {
            exec::handle(
                ctx.clone(),
                req,
                exec::Kind::Attach,
                ns,
                pod,
                non_empty(container),
                query,
            )
            .await
        }
        ["attach", ns, pod] => {
            exec::handle(ctx.clone(), req, exec::Kind::Attach, ns, pod, None, query).await
        }
        ["portForward", ns, pod] => portforward::handle(ctx.clone(), req, ns, pod, query).await,
        _ => status_response(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no streaming endpoint at {path}"),
        ),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Decoded query parameters, in order, repeats kept.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(q: &str) -> Query {
        Query(
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean flag as Kubernetes writes them (`1`, `true`).
    pub(crate) fn flag(&self, key: &str) -> Result<bool, String> {
        match self.get(key) {
            None | Some("") => Ok(false),
            Some("1" | "true" | "True" | "TRUE") => Ok(true),
            Some("0" | "false" | "False" | "FALSE") => Ok(false),
            Some(v) => Err(format!("{key}: {v:?} is not a boolean")),
        }
    }
}

/// A metav1 Status as JSON.
pub(crate) fn status_json(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

pub(crate) fn status_response(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = status_json(code.as_u16(), reason, message).to_string();
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn lookup_error_response(e: &LookupError) -> Response<Body> {
    let (code, reason) = e.status();
    status_response(code, reason, &e.to_string())
}

pub(crate) fn full(b: Bytes) -> Body {
    Full::new(b).map_err(|never| match never {}).boxed()
}

/// Look a container up on a blocking thread (the lookup may read files).
pub(crate) async fn find_target(
    ctx: &Ctx,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
) -> Result<StreamTarget, Response<Body>> {
    let lookup = ctx.lookup.clone();
    let (ns, pod, container) = (ns.to_string(), pod.to_string(), container.map(String::from));
    tokio::task::spawn_blocking(move || lookup.find(&ns, &pod, container.as_deref(), previous))
        .await
        .map_err(|e| {
            status_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &format!("container lookup failed: {e}"),
            )
        })?
        .map_err(|e| lookup_error_response(&e))
}

#[cfg(test)]
mod tests;
