//! SPDY/3.1 framing and a small server-side session, enough for the
//! Kubernetes stream protocols (port-forward, and exec for clients without
//! WebSocket): the client opens every stream, the server answers each with
//! a SYN_REPLY and exchanges DATA on it.
//!
//! Name/value header blocks are zlib-compressed with one stream per
//! direction for the whole session, primed with the SPDY/3 dictionary.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

const VERSION: u16 = 3;
pub(crate) const FLAG_FIN: u8 = 0x01;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes used here.
pub(crate) const RST_PROTOCOL_ERROR: u32 = 1;

/// Frames larger than this are refused (the protocol's length is 24 bits;
/// peers send at most a few KiB per DATA frame).
const MAX_FRAME: usize = 1 << 24;

pub(crate) type Headers = Vec<(String, String)>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SpdyError {
    #[error("SPDY: {0}")]
    Protocol(String),
    #[error("SPDY header block: {0}")]
    Compression(String),
    #[error("SPDY connection: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    SynStream {
        id: u32,
        associated: u32,
        priority: u8,
        flags: u8,
        headers: Headers,
    },
    SynReply {
        id: u32,
        flags: u8,
        headers: Headers,
    },
    RstStream {
        id: u32,
        status: u32,
    },
    Settings {
        flags: u8,
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good: u32,
        status: u32,
    },
    Headers {
        id: u32,
        flags: u8,
        headers: Headers,
    },
    WindowUpdate {
        id: u32,
        delta: u32,
    },
    Data {
        id: u32,
        flags: u8,
        data: Bytes,
    },
}

/// The SPDY/3 header compression dictionary: length-prefixed common header
/// names and values, then common status lines, dates and media types.
fn dictionary() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        const WORDS: &[&str] = &[
            "options",
            "head",
            "post",
            "put",
            "delete",
            "trace",
            "accept",
            "accept-charset",
            "accept-encoding",
            "accept-language",
            "accept-ranges",
            "age",
            "allow",
            "authorization",
            "cache-control",
            "connection",
            "content-base",
            "content-encoding",
            "content-language",
            "content-length",
            "content-location",
            "content-md5",
            "content-range",
            "content-type",
            "date",
            "etag",
            "expect",
            "expires",
            "from",
            "host",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "last-modified",
            "location",
            "max-forwards",
            "pragma",
            "proxy-authenticate",
            "proxy-authorization",
            "range",
            "referer",
            "retry-after",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "vary",
            "via",
            "warning",
            "www-authenticate",
            "method",
            "get",
            "status",
            "200 OK",
            "version",
            "HTTP/1.1",
            "url",
            "public",
            "set-cookie",
            "keep-alive",
            "origin",
        ];
        const TAIL: &[&str] = &[
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
        ];
        let mut d = Vec::new();
        for w in WORDS {
            d.extend_from_slice(&(w.len() as u32).to_be_bytes());
            d.extend_from_slice(w.as_bytes());
        }
        for t in TAIL {
            d.extend_from_slice(t.as_bytes());
        }
        d
    })
}

/// The compressing side of one direction of a session.
pub(crate) struct HeaderEncoder {
    z: Compress,
}

impl HeaderEncoder {
    pub(crate) fn new() -> Result<HeaderEncoder, SpdyError> {
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(dictionary())
            .map_err(|e| SpdyError::Compression(e.to_string()))?;
        Ok(HeaderEncoder { z })
    }

    fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, SpdyError> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (k, v) in headers {
            // Names are lower case on the wire.
            let k = k.to_ascii_lowercase();
            raw.extend_from_slice(&(k.len() as u32).to_be_bytes());
            raw.extend_from_slice(k.as_bytes());
            raw.extend_from_slice(&(v.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.as_bytes());
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = &raw[..];
        loop {
            out.reserve(256);
            let before_in = self.z.total_in();
            self.z
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Compression(e.to_string()))?;
            let used = (self.z.total_in() - before_in) as usize;
            input = &input[used..];
            // A sync flush is complete once all input is taken and the
            // output buffer was not filled to the brim.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        Ok(out)
    }
}

/// The decompressing side of one direction of a session.
pub(crate) struct HeaderDecoder {
    z: Decompress,
}

impl HeaderDecoder {
    pub(crate) fn new() -> HeaderDecoder {
        HeaderDecoder {
            z: Decompress::new(true),
        }
    }

    fn decode(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            out.reserve(1024);
            let before_in = self.z.total_in();
            let before_out = out.len();
            let r = self
                .z
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = (self.z.total_in() - before_in) as usize;
            input = &input[used..];
            match r {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {
                    if input.is_empty() && out.len() < out.capacity() {
                        break;
                    }
                    if used == 0 && out.len() == before_out {
                        return Err(SpdyError::Compression("no progress".into()));
                    }
                }
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(dictionary())
                        .map_err(|e| SpdyError::Compression(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Compression(e.to_string())),
            }
        }
        parse_header_block(&out)
    }
}

fn parse_header_block(b: &[u8]) -> Result<Headers, SpdyError> {
    let bad = || SpdyError::Protocol("truncated name/value header block".into());
    let mut pos = 0;
    let take_u32 = |pos: &mut usize| -> Result<u32, SpdyError> {
        let s = b.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let n = take_u32(&mut pos)? as usize;
    let mut headers = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let mut strings = [String::new(), String::new()];
        for s in &mut strings {
            let len = take_u32(&mut pos)? as usize;
            let bytes = b.get(pos..pos + len).ok_or_else(bad)?;
            pos += len;
            *s = String::from_utf8_lossy(bytes).into_owned();
        }
        let [k, v] = strings;
        headers.push((k, v));
    }
    Ok(headers)
}

pub(crate) fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + body.len());
    f.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    f.extend_from_slice(&kind.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(body);
    f
}

impl Frame {
    pub(crate) fn encode(&self, enc: &mut HeaderEncoder) -> Result<Vec<u8>, SpdyError> {
        let id31 = |id: u32| (id & 0x7fff_ffff).to_be_bytes();
        Ok(match self {
            Frame::SynStream {
                id,
                associated,
                priority,
                flags,
                headers,
            } => {
                let mut b = Vec::new();
                b.extend_from_slice(&id31(*id));
                b.extend_from_slice(&id31(*associated));
                b.push((priority & 0x7) << 5);
                b.push(0);
                b.extend_from_slice(&enc.encode(headers)?);
                control(TYPE_SYN_STREAM, *flags, &b)
            }
            Frame::SynReply { id, flags, headers } | Frame::Headers { id, flags, headers } => {
                let kind = if matches!(self, Frame::SynReply { .. }) {
                    TYPE_SYN_REPLY
                } else {
                    TYPE_HEADERS
                };
                let mut b = id31(*id).to_vec();
                b.extend_from_slice(&enc.encode(headers)?);
                control(kind, *flags, &b)
            }
            Frame::RstStream { id, status } => {
                let mut b = id31(*id).to_vec();
                b.extend_from_slice(&status.to_be_bytes());
                control(TYPE_RST_STREAM, 0, &b)
            }
            Frame::Settings { flags, entries } => {
                let mut b = (entries.len() as u32).to_be_bytes().to_vec();
                for (f, id, v) in entries {
                    b.push(*f);
                    b.extend_from_slice(&id.to_be_bytes()[1..]);
                    b.extend_from_slice(&v.to_be_bytes());
                }
                control(TYPE_SETTINGS, *flags, &b)
            }
            Frame::Ping { id } => control(TYPE_PING, 0, &id.to_be_bytes()),
            Frame::GoAway { last_good, status } => {
                let mut b = id31(*last_good).to_vec();
                b.extend_from_slice(&status.to_be_bytes());
                control(TYPE_GOAWAY, 0, &b)
            }
            Frame::WindowUpdate { id, delta } => {
                let mut b = id31(*id).to_vec();
                b.extend_from_slice(&(delta & 0x7fff_ffff).to_be_bytes());
                control(TYPE_WINDOW_UPDATE, 0, &b)
            }
            Frame::Data { id, flags, data } => {
                let mut f = Vec::with_capacity(8 + data.len());
                f.extend_from_slice(&id31(*id));
                f.push(*flags);
                f.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
                f.extend_from_slice(data);
                f
            }
        })
    }

    /// Parse one frame from the front of `buf`; None when more bytes are needed.
    pub(crate) fn decode(
        buf: &mut bytes::BytesMut,
        dec: &mut HeaderDecoder,
    ) -> Result<Option<Frame>, SpdyError> {
        if buf.len() < 8 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]) as usize;
        if len >= MAX_FRAME {
            return Err(SpdyError::Protocol(format!("frame of {len} bytes")));
        }
        if buf.len() < 8 + len {
            return Ok(None);
        }
        let head = buf.split_to(8);
        let body = buf.split_to(len).freeze();
        let flags = head[4];
        let u32_at = |b: &[u8], at: usize| -> Result<u32, SpdyError> {
            b.get(at..at + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
                .ok_or_else(|| SpdyError::Protocol("control frame too short".into()))
        };
        if head[0] & 0x80 == 0 {
            let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            return Ok(Some(Frame::Data {
                id,
                flags,
                data: body,
            }));
        }
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        if version != VERSION {
            return Err(SpdyError::Protocol(format!("version {version}")));
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        let id = |b: &[u8]| u32_at(b, 0).map(|v| v & 0x7fff_ffff);
        Ok(Some(match kind {
            TYPE_SYN_STREAM => {
                if body.len() < 10 {
                    return Err(SpdyError::Protocol("SYN_STREAM too short".into()));
                }
                Frame::SynStream {
                    id: id(&body)?,
                    associated: u32_at(&body, 4)? & 0x7fff_ffff,
                    priority: body[8] >> 5,
                    flags,
                    headers: dec.decode(&body[10..])?,
                }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                let stream = id(&body)?;
                let headers = dec.decode(&body[4..])?;
                if kind == TYPE_SYN_REPLY {
                    Frame::SynReply {
                        id: stream,
                        flags,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        id: stream,
                        flags,
                        headers,
                    }
                }
            }
            TYPE_RST_STREAM => Frame::RstStream {
                id: id(&body)?,
                status: u32_at(&body, 4)?,
            },
            TYPE_SETTINGS => {
                let n = u32_at(&body, 0)? as usize;
                let mut entries = Vec::new();
                for i in 0..n {
                    let at = 4 + i * 8;
                    let e = u32_at(&body, at)?;
                    entries.push(((e >> 24) as u8, e & 0xff_ffff, u32_at(&body, at + 4)?));
                }
                Frame::Settings { flags, entries }
            }
            TYPE_PING => Frame::Ping {
                id: u32_at(&body, 0)?,
            },
            TYPE_GOAWAY => Frame::GoAway {
                last_good: id(&body)?,
                status: u32_at(&body, 4).unwrap_or(0),
            },
            TYPE_WINDOW_UPDATE => Frame::WindowUpdate {
                id: id(&body)?,
                delta: u32_at(&body, 4)? & 0x7fff_ffff,
            },
            // Unknown control frames are ignored, as the protocol asks.
            _ => Frame::Settings {
                flags: 0,
                entries: Vec::new(),
            },
        }))
    }
}

/// A stream the client opened.
pub(crate) struct IncomingStream {
    pub id: u32,
    pub headers: Headers,
    /// The client's DATA; closed at its FIN or RST_STREAM.
    pub data: mpsc::Receiver<Bytes>,
}

/// Sends frames on the session (cloneable; frames go out in send order).
#[derive(Clone)]
pub(crate) struct SpdySender {
    tx: mpsc::Sender<Frame>,
}

impl SpdySender {
    pub(crate) async fn data(&self, id: u32, data: Bytes, fin: bool) -> bool {
        self.tx
            .send(Frame::Data {
                id,
                flags: if fin { FLAG_FIN } else { 0 },
                data,
            })
            .await
            .is_ok()
    }

    /// `data` from a blocking thread.
    pub(crate) fn blocking_data(&self, id: u32, data: Bytes) -> bool {
        self.tx
            .blocking_send(Frame::Data { id, flags: 0, data })
            .is_ok()
    }

    pub(crate) async fn reset(&self, id: u32, status: u32) {
        let _ = self.tx.send(Frame::RstStream { id, status }).await;
    }
}

/// Run a server session on `io`: returns the streams the client opens (the
/// channel ends when the connection does) and a sender for replies. Each
/// stream is answered with an empty SYN_REPLY as it arrives.
pub(crate) fn serve_session<T>(io: T) -> (mpsc::Receiver<IncomingStream>, SpdySender)
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let (out_tx, mut out_rx) = mpsc::channel::<Frame>(64);
    let (new_tx, new_rx) = mpsc::channel::<IncomingStream>(16);
    let sender = SpdySender { tx: out_tx.clone() };

    tokio::spawn(async move {
        let Ok(mut enc) = HeaderEncoder::new() else {
            return;
        };
        while let Some(frame) = out_rx.recv().await {
            let Ok(bytes) = frame.encode(&mut enc) else {
                break;
            };
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
            if out_rx.is_empty() && wr.flush().await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });

    tokio::spawn(async move {
        let mut dec = HeaderDecoder::new();
        let mut buf = bytes::BytesMut::with_capacity(16 * 1024);
        let mut streams: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
        let mut last_id = 0;
        'conn: loop {
            loop {
                let frame = match Frame::decode(&mut buf, &mut dec) {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!("closing a SPDY session: {e}");
                        let _ = out_tx
                            .send(Frame::GoAway {
                                last_good: last_id,
                                status: RST_PROTOCOL_ERROR,
                            })
                            .await;
                        break 'conn;
                    }
                };
                match frame {
                    Frame::SynStream {
                        id, flags, headers, ..
                    } => {
                        last_id = id;
                        let (tx, rx) = mpsc::channel(32);
                        if flags & FLAG_FIN == 0 {
                            streams.insert(id, tx);
                        }
                        let reply = Frame::SynReply {
                            id,
                            flags: 0,
                            headers: Vec::new(),
                        };
                        if out_tx.send(reply).await.is_err() {
                            break 'conn;
                        }
                        let s = IncomingStream {
                            id,
                            headers,
                            data: rx,
                        };
                        if new_tx.send(s).await.is_err() {
                            break 'conn;
                        }
                    }
                    Frame::Data { id, flags, data } => {
                        let n = data.len() as u32;
                        if let Some(tx) = streams.get(&id) {
                            if !data.is_empty() && tx.send(data).await.is_err() {
                                // The consumer is gone: stop reading it.
                                streams.remove(&id);
                            }
                        }
                        if flags & FLAG_FIN != 0 {
                            streams.remove(&id);
                        } else if n > 0 {
                            // Give back the window the data used, for peers
                            // that enforce SPDY/3.1 flow control.
                            let _ = out_tx.send(Frame::WindowUpdate { id, delta: n }).await;
                        }
                    }
                    Frame::RstStream { id, .. } => {
                        streams.remove(&id);
                    }
                    Frame::Ping { id } => {
                        let _ = out_tx.send(Frame::Ping { id }).await;
                    }
                    Frame::GoAway { .. } => break 'conn,
                    Frame::Headers { id, flags, .. } if flags & FLAG_FIN != 0 => {
                        streams.remove(&id);
                    }
                    _ => {}
                }
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        // Dropping the senders ends every stream's data and the stream list.
    });
    (new_rx, sender)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn dictionary_has_the_spec_length() {
        // The SPDY/3 dictionary (without the C string's terminator).
        assert_eq!(dictionary().len(), 1423);
        assert_eq!(&dictionary()[..11], b"\0\0\0\x07options");
        assert!(dictionary().ends_with(b",enq=0."));
    }

    #[test]
    fn frames_round_trip_with_shared_compression_state() {
        let mut enc = HeaderEncoder::new().unwrap();
        let mut dec = HeaderDecoder::new();
        let frames = vec![
            Frame::SynStream {
                id: 1,
                associated: 0,
                priority: 2,
                flags: 0,
                headers: vec![
                    ("streamtype".into(), "error".into()),
                    ("port".into(), "8080".into()),
                    ("requestid".into(), "0".into()),
                ],
            },
            Frame::SynStream {
                id: 3,
                associated: 0,
                priority: 0,
                flags: FLAG_FIN,
                headers: vec![
                    ("streamtype".into(), "data".into()),
                    ("port".into(), "8080".into()),
                    ("requestid".into(), "0".into()),
                ],
            },
            Frame::SynReply {
                id: 3,
                flags: 0,
                headers: vec![],
            },
            Frame::Headers {
                id: 3,
                flags: FLAG_FIN,
                headers: vec![("x".into(), "y\0z".into())],
            },
            Frame::Data {
                id: 3,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"\0\x01binary\xff"),
            },
            Frame::RstStream { id: 5, status: 5 },
            Frame::Settings {
                flags: 0,
                entries: vec![(0, 7, 65536), (1, 4, 100)],
            },
            Frame::Ping { id: 7 },
            Frame::GoAway {
                last_good: 9,
                status: 0,
            },
            Frame::WindowUpdate { id: 3, delta: 4096 },
        ];
        let mut wire = bytes::BytesMut::new();
        for f in &frames {
            wire.extend_from_slice(&f.encode(&mut enc).unwrap());
        }
        // Byte by byte: a decoder must wait for whole frames.
        let mut buf = bytes::BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = Frame::decode(&mut buf, &mut dec).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn header_blocks_are_compressed_against_the_dictionary() {
        let mut enc = HeaderEncoder::new().unwrap();
        let headers: Headers = vec![("content-type".into(), "text/plain".into())];
        let first = enc.encode(&headers).unwrap();
        let raw_len = 4 + 4 + 12 + 4 + 10;
        assert!(first.len() < raw_len, "{} >= {raw_len}", first.len());
        // zlib header with FDICT set.
        assert_eq!(first[1] & 0x20, 0x20);
        // The same block again is shorter still: the stream remembers it.
        let second = enc.encode(&headers).unwrap();
        assert!(second.len() < first.len());
        let mut dec = HeaderDecoder::new();
        assert_eq!(dec.decode(&first).unwrap(), headers);
        assert_eq!(dec.decode(&second).unwrap(), headers);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut dec = HeaderDecoder::new();
        let mut buf =
            bytes::BytesMut::from(&b"\x80\x03\x00\x01\x00\x00\x00\x0c\0\0\0\x01\0\0\0\0\0\0zz"[..]);
        assert!(Frame::decode(&mut buf, &mut dec).is_err());
        let mut buf = bytes::BytesMut::from(&b"\x80\x02\x00\x06\x00\x00\x00\x04\0\0\0\x01"[..]);
        assert!(Frame::decode(&mut buf, &mut dec).is_err());
    }
}
