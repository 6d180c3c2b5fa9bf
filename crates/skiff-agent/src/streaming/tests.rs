//! The streaming server against a lookup double and a runner that runs
//! commands on the host.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::spdy::{Frame, HeaderDecoder, HeaderEncoder, FLAG_FIN};
use super::*;

const TOKEN: &str = "s3cret";

struct Host {
    dir: PathBuf,
    exited: Arc<AtomicBool>,
    netns: PathBuf,
}

impl ContainerLookup for Host {
    fn find(
        &self,
        _ns: &str,
        pod: &str,
        container: Option<&str>,
        _previous: bool,
    ) -> Result<StreamTarget, LookupError> {
        if pod == "missing" {
            return Err(LookupError::PodNotFound(pod.into()));
        }
        if container == Some("nope") {
            return Err(LookupError::ContainerNotFound {
                pod: pod.into(),
                container: "nope".into(),
            });
        }
        Ok(StreamTarget {
            container_id: "c1".into(),
            log_path: self.dir.join("log"),
            running: true,
            tty: false,
            stdin: true,
        })
    }

    fn pod_netns(&self, _ns: &str, _pod: &str) -> Result<PathBuf, LookupError> {
        Ok(self.netns.clone())
    }
}

impl ProcessRunner for Host {
    fn exec_command(
        &self,
        _t: &StreamTarget,
        cmd: &[String],
        _stdin: bool,
        _tty: bool,
    ) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&cmd[0]);
        c.args(&cmd[1..]);
        c
    }

    fn exit_code(&self, _t: &StreamTarget) -> Option<i32> {
        self.exited.load(Ordering::SeqCst).then_some(0)
    }

    fn stdin_fifo(&self, _t: &StreamTarget) -> PathBuf {
        self.dir.join("stdin")
    }
}

struct Server {
    addr: std::net::SocketAddr,
    host: Arc<Host>,
    _dir: tempfile::TempDir,
}

async fn start(netns: Option<PathBuf>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(Host {
        dir: dir.path().to_path_buf(),
        exited: Arc::new(AtomicBool::new(false)),
        netns: netns.unwrap_or_default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(
        listener,
        TOKEN.into(),
        host.clone(),
        host.clone(),
    ));
    Server {
        addr,
        host,
        _dir: dir,
    }
}

async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
) -> hyper::Response<hyper::body::Incoming> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "agent")
        .header("authorization", format!("Bearer {token}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    send.send_request(req).await.unwrap()
}

async fn body_text(resp: hyper::Response<hyper::body::Incoming>) -> String {
    let b = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(b.to_vec()).unwrap()
}

fn append(path: &Path, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
}

#[tokio::test]
async fn requests_without_the_token_are_refused() {
    let s = start(None).await;
    let resp = get(s.addr, "/containerLogs/default/p/c", "wrong").await;
    assert_eq!(resp.status(), 401);
    let v: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
    assert_eq!(v["kind"], "Status");
    assert_eq!(v["code"], 401);
    let resp = get(s.addr, "/containerLogs/default/missing/c", TOKEN).await;
    assert_eq!(resp.status(), 404);
    let resp = get(s.addr, "/containerLogs/default/p/nope", TOKEN).await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(resp).await.contains("nope"));
    let resp = get(s.addr, "/containerLogs/default/p/c?tailLines=x", TOKEN).await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(resp).await.contains("tailLines"));
}

#[tokio::test]
async fn logs_tail_timestamps_and_follow() {
    let s = start(None).await;
    let log = s.host.dir.join("log");
    append(
        &log,
        &[
            "2026-01-01T00:00:01.000000000Z stdout F one",
            "2026-01-01T00:00:02.000000000Z stderr F two",
            "2026-01-01T00:00:03.000000000Z stdout P thr",
            "2026-01-01T00:00:03.500000000Z stdout F ee",
        ],
    );
    let all = body_text(get(s.addr, "/containerLogs/default/p/c", TOKEN).await).await;
    assert_eq!(all, "one\ntwo\nthree\n");
    let tail = body_text(get(s.addr, "/containerLogs/default/p/c?tailLines=2", TOKEN).await).await;
    assert_eq!(tail, "two\nthree\n");
    let ts = body_text(
        get(
            s.addr,
            "/containerLogs/default/p/c?tailLines=1&timestamps=true",
            TOKEN,
        )
        .await,
    )
    .await;
    assert_eq!(ts, "2026-01-01T00:00:03.000000000Z three\n");
    let since = body_text(
        get(
            s.addr,
            "/containerLogs/default/p/c?sinceTime=2026-01-01T00:00:02Z",
            TOKEN,
        )
        .await,
    )
    .await;
    assert_eq!(since, "two\nthree\n");
    let limited =
        body_text(get(s.addr, "/containerLogs/default/p/c?limitBytes=6", TOKEN).await).await;
    assert_eq!(limited, "one\ntw");

    // Follow: lines appended later arrive; the body ends once the container exits.
    let resp = get(
        s.addr,
        "/containerLogs/default/p/c?follow=true&tailLines=0",
        TOKEN,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    append(&log, &["2026-01-01T00:00:04.000000000Z stdout F four"]);
    let mut got = Vec::new();
    while !got.ends_with(b"four\n") {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(d) = frame.data_ref() {
            got.extend_from_slice(d);
        }
    }
    assert_eq!(got, b"four\n");
    append(&log, &["2026-01-01T00:00:05.000000000Z stdout F five"]);
    s.host.exited.store(true, Ordering::SeqCst);
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    assert_eq!(&rest[..], b"five\n");
}

type ClientWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(addr: std::net::SocketAddr, path: &str, protocols: &str) -> (ClientWs, String) {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let proto = resp
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (ws, proto)
}

/// Everything the server sends, per channel, until it closes.
async fn ws_drain(ws: &mut ClientWs) -> [Vec<u8>; 4] {
    let mut out: [Vec<u8>; 4] = Default::default();
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
    {
        match msg.unwrap() {
            Message::Binary(b) if !b.is_empty() && b[0] < 4 => {
                out[b[0] as usize].extend_from_slice(&b[1..])
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    out
}

fn exec_path(cmd: &[&str], extra: &str) -> String {
    let mut p = "/exec/default/p/c?".to_string();
    for c in cmd {
        p.push_str("command=");
        p.push_str(&form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
        p.push('&');
    }
    p + extra
}

#[tokio::test]
async fn exec_over_websocket_v5_and_v4() {
    let s = start(None).await;
    for (offer, want) in [
        ("v5.channel.k8s.io, v4.channel.k8s.io", "v5.channel.k8s.io"),
        ("v4.channel.k8s.io", "v4.channel.k8s.io"),
    ] {
        let path = exec_path(
            &["sh", "-c", "echo out; echo err >&2; exit 3"],
            "stdout=1&stderr=1",
        );
        let (mut ws, proto) = ws_connect(s.addr, &path, offer).await;
        assert_eq!(proto, want);
        let [_, out, err, status] = ws_drain(&mut ws).await;
        assert_eq!(out, b"out\n");
        assert_eq!(err, b"err\n");
        let st: serde_json::Value = serde_json::from_slice(&status).unwrap();
        assert_eq!(st["status"], "Failure");
        assert_eq!(st["reason"], "NonZeroExitCode");
        assert_eq!(st["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(st["details"]["causes"][0]["message"], "3");
    }

    // stdin, binary-safe, ended by v5's close message.
    let path = exec_path(&["cat"], "stdin=1&stdout=1");
    let (mut ws, _) = ws_connect(s.addr, &path, "v5.channel.k8s.io").await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    for chunk in payload.chunks(8192) {
        let mut m = vec![0u8];
        m.extend_from_slice(chunk);
        ws.send(Message::binary(m)).await.unwrap();
    }
    ws.send(Message::binary(vec![255u8, 0])).await.unwrap();
    let [_, out, _, status] = ws_drain(&mut ws).await;
    assert!(out == payload, "stdout differs: {} bytes", out.len());
    let st: serde_json::Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(st["status"], "Success");

    // The older text protocol: no message on success.
    let path = exec_path(&["true"], "stdout=1");
    let (mut ws, proto) = ws_connect(s.addr, &path, "channel.k8s.io").await;
    assert_eq!(proto, "channel.k8s.io");
    let [_, _, _, status] = ws_drain(&mut ws).await;
    assert!(status.is_empty());
}

#[tokio::test]
async fn exec_with_a_terminal_echoes_and_resizes() {
    let s = start(None).await;
    let path = exec_path(
        &["sh", "-c", "read line; echo \"got $line\"; stty size"],
        "stdin=1&stdout=1&tty=1",
    );
    let (mut ws, _) = ws_connect(s.addr, &path, "v5.channel.k8s.io").await;
    let mut resize = vec![4u8];
    resize.extend_from_slice(br#"{"Width":123,"Height":45}"#);
    ws.send(Message::binary(resize)).await.unwrap();
    // Let the resize land before the shell reads its line.
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.send(Message::binary(b"\0hello\n".to_vec()))
        .await
        .unwrap();
    let [_, out, _, status] = ws_drain(&mut ws).await;
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("got hello"), "{out:?}");
    assert!(out.contains("45 123"), "{out:?}");
    let st: serde_json::Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(st["status"], "Success");
}

/// A TCP echo server on 127.0.0.1 inside a new network namespace.
struct EchoNetns {
    path: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl EchoNetns {
    fn new(connections: usize) -> EchoNetns {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netns");
        skiff_net::create_netns(&path).unwrap();
        let st = std::process::Command::new("nsenter")
            .arg(format!("--net={}", path.display()))
            .args(["ip", "link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(st.success());
        let listener = skiff_net::in_netns(&path, || std::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap()
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((mut c, _)) = listener.accept() else {
                    return;
                };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = c.read(&mut buf) {
                        if n == 0 || c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        EchoNetns {
            path,
            port,
            _dir: dir,
        }
    }
}

impl Drop for EchoNetns {
    fn drop(&mut self) {
        let _ = skiff_net::remove_netns(&self.path);
    }
}

/// Forward one connection to `port` over a SPDY session on `io`: send
/// `payload`, half-close, and return what came back.
async fn forward_once<T>(io: T, port: u16, payload: &[u8]) -> (Vec<u8>, Vec<u8>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut enc = HeaderEncoder::new().unwrap();
    let mut dec = HeaderDecoder::new();
    let syn = |id: u32, kind: &str| Frame::SynStream {
        id,
        associated: 0,
        priority: 0,
        flags: 0,
        headers: vec![
            ("streamtype".into(), kind.into()),
            ("port".into(), port.to_string()),
            ("requestid".into(), "0".into()),
        ],
    };
    for f in [
        syn(1, "error"),
        syn(3, "data"),
        Frame::Data {
            id: 3,
            flags: 0,
            data: Bytes::copy_from_slice(payload),
        },
        Frame::Data {
            id: 3,
            flags: FLAG_FIN,
            data: Bytes::new(),
        },
    ] {
        wr.write_all(&f.encode(&mut enc).unwrap()).await.unwrap();
    }
    wr.flush().await.unwrap();
    let mut buf = BytesMut::new();
    let (mut data, mut error) = (Vec::new(), Vec::new());
    let mut replies = 0;
    let (mut data_done, mut error_done) = (false, false);
    while !(data_done && error_done) {
        while let Some(f) = Frame::decode(&mut buf, &mut dec).unwrap() {
            match f {
                Frame::SynReply { .. } => replies += 1,
                Frame::Data {
                    id: 3,
                    flags,
                    data: d,
                } => {
                    data.extend_from_slice(&d);
                    data_done |= flags & FLAG_FIN != 0;
                }
                Frame::Data {
                    id: 1,
                    flags,
                    data: d,
                } => {
                    error.extend_from_slice(&d);
                    error_done |= flags & FLAG_FIN != 0;
                }
                _ => {}
            }
        }
        if data_done && error_done {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed early");
    }
    assert_eq!(replies, 2);
    (data, error)
}

#[tokio::test]
async fn port_forward_over_plain_spdy_and_websocket() {
    let echo = EchoNetns::new(3);
    let s = start(Some(echo.path.clone())).await;

    // Plain SPDY upgrade.
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "POST /portForward/default/p HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer {TOKEN}\r\n\
         Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("x-stream-protocol-version: portforward.k8s.io"));
    let (data, error) = forward_once(tcp, echo.port, b"ping over spdy").await;
    assert_eq!(data, b"ping over spdy");
    assert!(error.is_empty(), "{}", String::from_utf8_lossy(&error));

    // SPDY in WebSocket binary messages.
    let (ws, proto) = ws_connect(
        s.addr,
        "/portForward/default/p",
        "SPDY/3.1+portforward.k8s.io",
    )
    .await;
    assert_eq!(proto, "SPDY/3.1+portforward.k8s.io");
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut sink, mut stream) = ws.split();
    let (mut ord, mut owr) = tokio::io::split(ours);
    tokio::spawn(async move {
        while let Some(Ok(Message::Binary(b))) = stream.next().await {
            if owr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = ord.read(&mut buf).await {
            if n == 0 || sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
    });
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (data, error) = forward_once(theirs, echo.port, &big).await;
    assert!(data == big, "echoed {} of {} bytes", data.len(), big.len());
    assert!(error.is_empty());

    // A closed port: the error stream says so.
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn.with_upgrades());
    let req = hyper::Request::post("/portForward/default/p")
        .header("host", "agent")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("connection", "Upgrade")
        .header("upgrade", "SPDY/3.1")
        .header("x-stream-protocol-version", "portforward.k8s.io")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 101);
    let up = hyper::upgrade::on(resp).await.unwrap();
    let (data, error) = forward_once(TokioIo::new(up), 1, b"x").await;
    assert!(data.is_empty());
    let error = String::from_utf8(error).unwrap();
    assert!(error.contains("port 1"), "{error}");
}

/// A raw connection upgraded to SPDY/3.1 with `protocol`.
async fn spdy_upgrade(
    addr: std::net::SocketAddr,
    path: &str,
    protocol: &str,
) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer {TOKEN}\r\n\
         Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {protocol}\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains(&format!("x-stream-protocol-version: {protocol}")),
        "{head}"
    );
    tcp
}

#[tokio::test]
async fn exec_over_spdy_as_older_clients_do() {
    let s = start(None).await;
    let path = exec_path(
        &["sh", "-c", "cat; echo err >&2; exit 2"],
        "stdin=1&stdout=1&stderr=1",
    );
    let tcp = spdy_upgrade(s.addr, &path, "v4.channel.k8s.io").await;
    let (mut rd, mut wr) = tcp.into_split();
    let mut enc = HeaderEncoder::new().unwrap();
    let mut dec = HeaderDecoder::new();
    let syn = |id: u32, kind: &str| Frame::SynStream {
        id,
        associated: 0,
        priority: 0,
        flags: 0,
        headers: vec![("streamtype".into(), kind.into())],
    };
    for f in [
        syn(1, "error"),
        syn(3, "stdin"),
        syn(5, "stdout"),
        syn(7, "stderr"),
        Frame::Data {
            id: 3,
            flags: 0,
            data: Bytes::from_static(b"from stdin\n"),
        },
        Frame::Data {
            id: 3,
            flags: FLAG_FIN,
            data: Bytes::new(),
        },
    ] {
        wr.write_all(&f.encode(&mut enc).unwrap()).await.unwrap();
    }
    let mut buf = BytesMut::new();
    let mut got: std::collections::HashMap<u32, Vec<u8>> = Default::default();
    let mut finished = std::collections::HashSet::new();
    while !(finished.contains(&1) && finished.contains(&5) && finished.contains(&7)) {
        while let Some(f) = Frame::decode(&mut buf, &mut dec).unwrap() {
            if let Frame::Data { id, flags, data } = f {
                got.entry(id).or_default().extend_from_slice(&data);
                if flags & FLAG_FIN != 0 {
                    finished.insert(id);
                }
            }
        }
        if [1, 5, 7].iter().all(|id| finished.contains(id)) {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed early");
    }
    assert_eq!(got[&5], b"from stdin\n");
    assert_eq!(got[&7], b"err\n");
    let st: serde_json::Value = serde_json::from_slice(&got[&1]).unwrap();
    assert_eq!(st["reason"], "NonZeroExitCode");
    assert_eq!(st["details"]["causes"][0]["message"], "2");
}

#[tokio::test]
async fn attach_follows_the_log_and_feeds_the_stdin_fifo() {
    let s = start(None).await;
    let log = s.host.dir.join("log");
    append(
        &log,
        &["2026-01-01T00:00:01.000000000Z stdout F before attach"],
    );
    let fifo = s.host.dir.join("stdin");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // The container's side: it holds the fifo open for reading.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&fifo)
                .unwrap();
            let mut buf = [0u8; 64];
            let n = f.read(&mut buf).unwrap();
            buf[..n].to_vec()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let (mut ws, _) = ws_connect(
        s.addr,
        "/attach/default/p/c?stdin=1&stdout=1&stderr=1",
        "v5.channel.k8s.io",
    )
    .await;
    ws.send(Message::binary(b"\0typed\n".to_vec()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(
        &log,
        &[
            "2026-01-01T00:00:02.000000000Z stdout F after",
            "2026-01-01T00:00:03.000000000Z stderr F oops",
        ],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.host.exited.store(true, Ordering::SeqCst);
    let [_, out, err, status] = ws_drain(&mut ws).await;
    assert_eq!(out, b"after\n");
    assert_eq!(err, b"oops\n");
    let st: serde_json::Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(st["status"], "Success");
    assert_eq!(reader.join().unwrap(), b"typed\n");
}
