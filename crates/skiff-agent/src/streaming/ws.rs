//! WebSocket upgrades on the hyper server, and the Kubernetes channel
//! protocols: each message starts with its channel number (binary
//! protocols), or with the channel as an ASCII digit followed by base64
//! (`base64.channel.k8s.io`).

use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::{full, Body};

pub(crate) type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

pub(crate) fn is_websocket(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The subprotocols the client offered, in its order of preference.
pub(crate) fn offered_protocols(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all(hyper::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

pub(crate) fn missing_key() -> Response<Body> {
    super::status_response(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "WebSocket upgrade without Sec-WebSocket-Key",
    )
}

/// Answer a WebSocket upgrade with `protocol` (None: none offered). The
/// returned future yields the socket once hyper hands the connection over;
/// None when the request has no key.
pub(crate) fn accept(
    req: &mut Request<Incoming>,
    protocol: Option<&str>,
) -> Option<(
    Response<Body>,
    impl std::future::Future<Output = Option<Ws>>,
)> {
    let key = req
        .headers()
        .get(hyper::header::SEC_WEBSOCKET_KEY)
        .cloned()?;
    let on_upgrade = hyper::upgrade::on(req);
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(hyper::header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = protocol.and_then(|p| hyper::header::HeaderValue::from_str(p).ok()) {
        h.insert(hyper::header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    let fut = async move {
        let up = on_upgrade.await.ok()?;
        Some(WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await)
    };
    Some((resp, fut))
}

/// A channel protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ChannelProto {
    V1,
    V2,
    V3,
    V4,
    V5,
    Base64,
}

impl ChannelProto {
    pub(crate) fn from_name(name: &str) -> Option<ChannelProto> {
        Some(match name {
            "v5.channel.k8s.io" => ChannelProto::V5,
            "v4.channel.k8s.io" => ChannelProto::V4,
            "v3.channel.k8s.io" => ChannelProto::V3,
            "v2.channel.k8s.io" => ChannelProto::V2,
            "channel.k8s.io" => ChannelProto::V1,
            "base64.channel.k8s.io" => ChannelProto::Base64,
            _ => return None,
        })
    }

    /// The error channel carries a metav1 Status (v4 and later) rather
    /// than plain text.
    pub(crate) fn structured_status(self) -> bool {
        matches!(self, ChannelProto::V4 | ChannelProto::V5)
    }
}

pub(crate) const STDIN: u8 = 0;
pub(crate) const STDOUT: u8 = 1;
pub(crate) const STDERR: u8 = 2;
pub(crate) const ERROR: u8 = 3;
pub(crate) const RESIZE: u8 = 4;
/// v5: `[255, channel]` half-closes that channel.
pub(crate) const CLOSE: u8 = 255;

pub(crate) fn encode(proto: ChannelProto, channel: u8, data: &[u8]) -> Message {
    use base64::Engine as _;
    if proto == ChannelProto::Base64 {
        let mut s = String::with_capacity(1 + data.len() * 4 / 3 + 4);
        s.push((b'0' + channel) as char);
        s.push_str(&base64::engine::general_purpose::STANDARD.encode(data));
        Message::text(s)
    } else {
        let mut v = Vec::with_capacity(1 + data.len());
        v.push(channel);
        v.extend_from_slice(data);
        Message::binary(v)
    }
}

/// The channel and payload of a data message; None for control messages
/// and malformed ones.
pub(crate) fn decode(proto: ChannelProto, msg: &Message) -> Option<(u8, Vec<u8>)> {
    use base64::Engine as _;
    match msg {
        Message::Binary(b) if proto != ChannelProto::Base64 => {
            let (ch, rest) = b.split_first()?;
            Some((*ch, rest.to_vec()))
        }
        Message::Text(t) if proto == ChannelProto::Base64 => {
            let s = t.as_str();
            let ch = s.as_bytes().first()?.checked_sub(b'0')?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(&s[1..])
                .ok()?;
            Some((ch, data))
        }
        _ => None,
    }
}

/// The writing half, behind a task so every pump can send.
#[derive(Clone)]
pub(crate) struct WsSender {
    proto: ChannelProto,
    tx: mpsc::Sender<Message>,
}

impl WsSender {
    pub(crate) async fn send(&self, channel: u8, data: &[u8]) -> bool {
        self.tx
            .send(encode(self.proto, channel, data))
            .await
            .is_ok()
    }

    pub(crate) fn blocking_send(&self, channel: u8, data: &[u8]) -> bool {
        self.tx
            .blocking_send(encode(self.proto, channel, data))
            .is_ok()
    }

    /// A normal close; the writer task ends after sending it.
    pub(crate) async fn close(&self) {
        let _ = self.tx.send(normal_close()).await;
    }
}

/// A close with status 1000: clients read anything else (even no status)
/// as an abnormal end.
pub(crate) fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// Split a socket into a sender (a task writes, so pongs and data share
/// one writer) and the reading half.
pub(crate) fn split(ws: Ws, proto: ChannelProto) -> (WsSender, SplitStream<Ws>) {
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel::<Message>(64);
    tokio::spawn(write_loop(sink, rx));
    (WsSender { proto, tx }, stream)
}

async fn write_loop(mut sink: SplitSink<Ws, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(m) = rx.recv().await {
        let closing = matches!(m, Message::Close(_));
        if sink.send(m).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}
