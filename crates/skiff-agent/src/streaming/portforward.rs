//! `/portForward/{ns}/{pod}`: the `portforward.k8s.io` protocol over SPDY
//! (plain, or tunnelled in WebSocket binary messages as
//! `SPDY/3.1+portforward.k8s.io`). Each forwarded connection is a pair of
//! client streams with the same `requestid`: `streamtype: error` (our
//! error text, if any) and `streamtype: data` (the bytes), both naming the
//! `port`. The agent connects to that port on 127.0.0.1 inside the pod's
//! network namespace.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::exec::{is_spdy, offered_stream_protocols, spdy_upgrade_response};
use super::spdy::{self, IncomingStream, SpdySender};
use super::{status_response, ws, Body, Ctx, Query};

pub(crate) const PROTOCOL: &str = "portforward.k8s.io";
pub(crate) const WS_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn parse_ports(q: &Query) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for key in ["port", "ports"] {
        for v in q.all(key) {
            for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match p.parse::<u16>() {
                    Ok(n) if n > 0 => ports.push(n),
                    _ => return Err(format!("{key}: {p:?} is not a port number (1-65535)")),
                }
            }
        }
    }
    Ok(ports)
}

pub(super) async fn handle(
    ctx: Arc<Ctx>,
    mut req: Request<Incoming>,
    ns: &str,
    pod: &str,
    q: Query,
) -> Response<Body> {
    let allowed = match parse_ports(&q) {
        Ok(p) => p,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    let lookup = ctx.lookup.clone();
    let (n, p) = (ns.to_string(), pod.to_string());
    let netns = match tokio::task::spawn_blocking(move || lookup.pod_netns(&n, &p)).await {
        Ok(Ok(path)) => path,
        Ok(Err(e)) => return super::lookup_error_response(&e),
        Err(e) => {
            return status_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &format!("pod lookup failed: {e}"),
            )
        }
    };
    if ws::is_websocket(&req) {
        if !ws::offered_protocols(&req).iter().any(|p| p == WS_PROTOCOL) {
            return status_response(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("port-forward over WebSocket needs the subprotocol {WS_PROTOCOL}"),
            );
        }
        let Some((resp, upgraded)) = ws::accept(&mut req, Some(WS_PROTOCOL)) else {
            return ws::missing_key();
        };
        tokio::spawn(async move {
            if let Some(sock) = upgraded.await {
                serve_forwarding(tunnel(sock), netns, allowed).await;
            }
        });
        return resp;
    }
    if is_spdy(&req) {
        let offered = offered_stream_protocols(&req);
        if !offered.is_empty() && !offered.iter().any(|p| p == PROTOCOL) {
            return status_response(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("unsupported stream protocols {offered:?}; this server speaks {PROTOCOL}"),
            );
        }
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(up) = on_upgrade.await {
                serve_forwarding(hyper_util::rt::TokioIo::new(up), netns, allowed).await;
            }
        });
        return spdy_upgrade_response(PROTOCOL);
    }
    status_response(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "port-forward needs a SPDY/3.1 or WebSocket upgrade",
    )
}

/// The byte stream carried in a WebSocket's binary messages, as a pipe.
fn tunnel(sock: ws::Ws) -> tokio::io::DuplexStream {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (mut sink, mut stream) = sock.split();
    let (mut rd, mut wr) = tokio::io::split(ours);
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let more = match msg {
                Message::Binary(b) => wr.write_all(&b).await.is_ok(),
                Message::Close(_) => false,
                _ => true,
            };
            if !more {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = sink.send(ws::normal_close()).await;
        let _ = sink.close().await;
    });
    theirs
}

/// Pair up the client's streams and forward each pair.
pub(crate) async fn serve_forwarding<T>(io: T, netns: PathBuf, allowed: Vec<u16>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut streams, sender) = spdy::serve_session(io);
    let mut pending: HashMap<String, (Option<IncomingStream>, Option<IncomingStream>)> =
        HashMap::new();
    while let Some(s) = streams.recv().await {
        let kind = spdy::header(&s.headers, "streamtype")
            .unwrap_or("")
            .to_string();
        // Clients before request ids paired an error stream with the data
        // stream opened right after it.
        let request = match spdy::header(&s.headers, "requestid") {
            Some(r) => r.to_string(),
            None if kind == "data" => s.id.saturating_sub(2).to_string(),
            None => s.id.to_string(),
        };
        let entry = pending.entry(request.clone()).or_default();
        match kind.as_str() {
            "error" => entry.0 = Some(s),
            "data" => entry.1 = Some(s),
            _ => {
                sender.reset(s.id, spdy::RST_PROTOCOL_ERROR).await;
                continue;
            }
        }
        if entry.0.is_some() && entry.1.is_some() {
            if let Some((Some(err), Some(data))) = pending.remove(&request) {
                tokio::spawn(forward(
                    sender.clone(),
                    err,
                    data,
                    netns.clone(),
                    allowed.clone(),
                ));
            }
        }
    }
}

/// Connect to `port` on the pod's loopback from inside its network namespace.
fn connect_in_netns(netns: &std::path::Path, port: u16) -> Result<TcpStream, String> {
    let connected = skiff_net::in_netns(netns, move || {
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        TcpStream::connect_timeout(&v4, CONNECT_TIMEOUT).or_else(|e4| {
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
            TcpStream::connect_timeout(&v6, CONNECT_TIMEOUT).map_err(|_| e4)
        })
    })
    .map_err(|e| e.to_string())?;
    connected.map_err(|e| format!("connecting to localhost:{port}: {e}"))
}

async fn forward(
    sender: SpdySender,
    error: IncomingStream,
    mut data: IncomingStream,
    netns: PathBuf,
    allowed: Vec<u16>,
) {
    let fail = |msg: String| {
        let sender = sender.clone();
        let (eid, did) = (error.id, data.id);
        async move {
            sender.data(eid, Bytes::from(msg), true).await;
            sender.data(did, Bytes::new(), true).await;
        }
    };
    let port = match spdy::header(&data.headers, "port").map(str::parse::<u16>) {
        Some(Ok(p)) if p > 0 => p,
        Some(_) => return fail("invalid port header: not a port number".into()).await,
        None => return fail("the data stream has no port header".into()).await,
    };
    if !allowed.is_empty() && !allowed.contains(&port) {
        return fail(format!(
            "port {port} is not among the requested ports {allowed:?}"
        ))
        .await;
    }
    let ns = netns.clone();
    let connected = tokio::task::spawn_blocking(move || connect_in_netns(&ns, port))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .and_then(|s| {
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            tokio::net::TcpStream::from_std(s).map_err(|e| e.to_string())
        });
    let tcp = match connected {
        Ok(t) => t,
        Err(e) => {
            return fail(format!(
                "error forwarding port {port} to pod network namespace {}: {e}",
                netns.display()
            ))
            .await
        }
    };
    let did = data.id;
    let (mut rd, mut wr) = tcp.into_split();
    let up = tokio::spawn(async move {
        while let Some(chunk) = data.data.recv().await {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
        // The client's end of the stream is the end of what the pod reads.
        let _ = wr.shutdown().await;
    });
    let mut buf = vec![0u8; 32 * 1024];
    let mut failure = None;
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if !sender
                    .data(did, Bytes::copy_from_slice(&buf[..n]), false)
                    .await
                {
                    break;
                }
            }
            Err(e) => {
                failure = Some(format!("reading from port {port}: {e}"));
                break;
            }
        }
    }
    sender.data(did, Bytes::new(), true).await;
    match failure {
        Some(msg) => sender.data(error.id, Bytes::from(msg), true).await,
        None => sender.data(error.id, Bytes::new(), true).await,
    };
    up.abort();
}
