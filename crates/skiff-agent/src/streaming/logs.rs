//! `GET /containerLogs/{ns}/{pod}/{container}`: the container's CRI log as
//! the bytes it wrote, stdout and stderr interleaved in file order.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use skiff_engine::logs::{tail, LogFollower, LogRecord, Stream};

use super::{find_target, status_response, Body, Ctx, Query};

/// How often a followed log is polled for new records and the exit.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Default, Clone)]
pub(crate) struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Records older than this RFC 3339 nanosecond timestamp are skipped.
    pub since: Option<String>,
    pub limit_bytes: Option<u64>,
}

impl LogOptions {
    pub(crate) fn parse(q: &Query) -> Result<LogOptions, String> {
        let number = |key: &str| -> Result<Option<i64>, String> {
            q.get(key)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| format!("{key}: {v:?} is not an integer"))
                })
                .transpose()
        };
        let mut o = LogOptions {
            follow: q.flag("follow")?,
            previous: q.flag("previous")?,
            timestamps: q.flag("timestamps")?,
            ..Default::default()
        };
        if let Some(n) = number("tailLines")? {
            // Negative means everything, as kubectl's -1 default.
            o.tail = usize::try_from(n).ok();
        }
        if let Some(n) = number("limitBytes")? {
            if n <= 0 {
                return Err(format!("limitBytes: must be greater than 0, not {n}"));
            }
            o.limit_bytes = Some(n as u64);
        }
        if let Some(n) = number("sinceSeconds")? {
            if n <= 0 {
                return Err(format!("sinceSeconds: must be greater than 0, not {n}"));
            }
            let at = SystemTime::now() - Duration::from_secs(n as u64);
            o.since = Some(humantime::format_rfc3339_nanos(at).to_string());
        }
        if let Some(t) = q.get("sinceTime").filter(|t| !t.is_empty()) {
            let at = humantime::parse_rfc3339_weak(t)
                .map_err(|e| format!("sinceTime: {t:?} is not an RFC 3339 time: {e}"))?;
            o.since = Some(humantime::format_rfc3339_nanos(at).to_string());
        }
        Ok(o)
    }
}

/// Turns records back into the container's bytes, with timestamps at line
/// starts when asked, and stops at the byte limit.
pub(crate) struct Formatter {
    timestamps: bool,
    at_line_start: [bool; 2],
    remaining: Option<u64>,
}

impl Formatter {
    pub(crate) fn new(opts: &LogOptions) -> Formatter {
        Formatter {
            timestamps: opts.timestamps,
            at_line_start: [true, true],
            remaining: opts.limit_bytes,
        }
    }

    pub(crate) fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    pub(crate) fn format(&mut self, records: &[LogRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            let i = match r.stream {
                Stream::Stdout => 0,
                Stream::Stderr => 1,
            };
            if self.timestamps && self.at_line_start[i] {
                out.extend_from_slice(r.timestamp.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(&r.text);
            if r.full {
                out.push(b'\n');
            }
            self.at_line_start[i] = r.full;
        }
        if let Some(rem) = self.remaining.as_mut() {
            let keep = (*rem).min(out.len() as u64);
            out.truncate(keep as usize);
            *rem -= keep;
        }
        out
    }
}

/// The records of `file` as `opts` selects them (tail, since).
pub(crate) fn initial_records(
    follower: &mut LogFollower,
    opts: &LogOptions,
) -> std::io::Result<Vec<LogRecord>> {
    let mut records = follower
        .read_new()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if let Some(since) = &opts.since {
        records.retain(|r| r.timestamp.as_str() >= since.as_str());
    }
    if let Some(n) = opts.tail {
        records = tail(records, n);
    }
    Ok(records)
}

pub(super) async fn handle(
    ctx: &Ctx,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    q: &Query,
) -> Response<Body> {
    let opts = match LogOptions::parse(q) {
        Ok(o) => o,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    let target = match find_target(ctx, ns, pod, container, opts.previous).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let file = match File::open(&target.log_path) {
        Ok(f) => f,
        Err(e) => {
            return status_response(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!(
                    "cannot open the log of container {}: {e}",
                    target.container_id
                ),
            )
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
    let runner = ctx.runner.clone();
    // Only a running container has more to come; `previous` is over.
    let follow = opts.follow && target.running && !opts.previous;
    tokio::task::spawn_blocking(move || {
        let mut follower = LogFollower::new(file);
        let mut fmt = Formatter::new(&opts);
        let send = |bytes: Vec<u8>| -> bool {
            bytes.is_empty()
                || tx
                    .blocking_send(Ok(Frame::data(Bytes::from(bytes))))
                    .is_ok()
        };
        let first = match initial_records(&mut follower, &opts) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        if !send(fmt.format(&first)) || !follow || fmt.done() {
            return;
        }
        loop {
            std::thread::sleep(FOLLOW_POLL);
            if tx.is_closed() {
                return;
            }
            // The exit is checked before the last read, so records written
            // before the exit are all sent.
            let exited = runner.exit_code(&target).is_some();
            let Ok(records) = follower.read_new() else {
                return;
            };
            if !send(fmt.format(&records)) || fmt.done() || exited {
                return;
            }
        }
    });
    let body = StreamBody::new(tokio_stream_from(rx)).boxed();
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    resp
}

/// A receiver as a `Stream` of body frames.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Follow `path` from its current end, calling `each` with new records
/// until it returns false or `stop` says so (attach's output side).
pub(crate) fn follow_from_end(
    path: &std::path::Path,
    mut each: impl FnMut(Vec<LogRecord>) -> bool,
    mut stop: impl FnMut() -> bool,
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::End(0))?;
    let mut follower = LogFollower::new(file);
    loop {
        let finished = stop();
        let records = follower
            .read_new()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if !records.is_empty() && !each(records) {
            return Ok(());
        }
        if finished {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
