//! `/exec` and `/attach`: a process's stdio over a WebSocket channel
//! protocol or SPDY streams. Exec runs `skiff exec` (through the
//! `ProcessRunner`) with pipes, or with a pty for `tty=1`; attach follows the
//! container's log and writes to its stdin fifo.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use skiff_engine::logs::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::spdy::{self, SpdySender};
use super::ws::{self, ChannelProto, WsSender};
use super::{
    find_target, status_response, Body, Ctx, LookupError, ProcessRunner, Query, StreamTarget,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Exec,
    Attach,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ExecOptions {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecOptions {
    fn parse(q: &Query, kind: Kind) -> Result<ExecOptions, String> {
        let mut o = ExecOptions {
            command: q.all("command"),
            stdin: q.flag("stdin")?,
            stdout: q.flag("stdout")?,
            stderr: q.flag("stderr")?,
            tty: q.flag("tty")?,
        };
        if kind == Kind::Exec && o.command.is_empty() {
            return Err("command: you must specify a command to run".into());
        }
        if !(o.stdin || o.stdout || o.stderr) {
            return Err("you must specify at least 1 of stdin, stdout, stderr".into());
        }
        // A terminal has one output stream.
        if o.tty {
            o.stderr = false;
        }
        Ok(o)
    }
}

/// Where output goes: channels of a WebSocket or SPDY streams.
#[derive(Clone)]
enum Output {
    Ws(WsSender),
    Spdy {
        sender: SpdySender,
        stdout: Option<u32>,
        stderr: Option<u32>,
    },
}

impl Output {
    fn spdy_id(&self, channel: u8) -> Option<u32> {
        match self {
            Output::Spdy { stdout, stderr, .. } => match channel {
                ws::STDOUT => *stdout,
                ws::STDERR => *stderr,
                _ => None,
            },
            Output::Ws(_) => None,
        }
    }

    async fn send(&self, channel: u8, data: &[u8]) -> bool {
        match self {
            Output::Ws(w) => w.send(channel, data).await,
            Output::Spdy { sender, .. } => match self.spdy_id(channel) {
                Some(id) => sender.data(id, Bytes::copy_from_slice(data), false).await,
                None => true,
            },
        }
    }

    fn blocking_send(&self, channel: u8, data: &[u8]) -> bool {
        match self {
            Output::Ws(w) => w.blocking_send(channel, data),
            Output::Spdy { sender, .. } => match self.spdy_id(channel) {
                Some(id) => sender.blocking_data(id, Bytes::copy_from_slice(data)),
                None => true,
            },
        }
    }
}

/// What the client sends: stdin (the sender is dropped at its end),
/// terminal sizes, and whether it went away.
struct Input {
    stdin: mpsc::Receiver<Vec<u8>>,
    resize: mpsc::UnboundedReceiver<(u16, u16)>,
    gone: Arc<AtomicBool>,
    gone_notify: Arc<tokio::sync::Notify>,
}

pub(super) async fn handle(
    ctx: Arc<Ctx>,
    mut req: Request<Incoming>,
    kind: Kind,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    q: Query,
) -> Response<Body> {
    let opts = match ExecOptions::parse(&q, kind) {
        Ok(o) => o,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    let target = match find_target(&ctx, ns, pod, container, false).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    if !target.running {
        let name = container.unwrap_or(&target.container_id).to_string();
        return super::lookup_error_response(&LookupError::NotRunning(name));
    }
    if ws::is_websocket(&req) {
        let offered = ws::offered_protocols(&req);
        let chosen = offered
            .iter()
            .find_map(|p| ChannelProto::from_name(p).map(|c| (p.clone(), c)));
        let (name, proto) = match (chosen, offered.is_empty()) {
            (Some((n, p)), _) => (Some(n), p),
            // No subprotocol at all: the original channel protocol.
            (None, true) => (None, ChannelProto::V1),
            (None, false) => {
                return status_response(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("none of the offered subprotocols {offered:?} is supported"),
                )
            }
        };
        let Some((resp, upgraded)) = ws::accept(&mut req, name.as_deref()) else {
            return ws::missing_key();
        };
        tokio::spawn(async move {
            if let Some(sock) = upgraded.await {
                run_ws(ctx.runner.clone(), sock, proto, kind, target, opts).await;
            }
        });
        return resp;
    }
    if let Some(version) = spdy_exec_protocol(&req) {
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(up) = on_upgrade.await {
                run_spdy(
                    ctx.runner.clone(),
                    hyper_util::rt::TokioIo::new(up),
                    version,
                    kind,
                    target,
                    opts,
                )
                .await;
            }
        });
        return spdy_upgrade_response(version.name());
    }
    status_response(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "exec and attach need a WebSocket or SPDY/3.1 upgrade",
    )
}

/// Read the socket: stdin, resizes and half-closes into `Input`.
fn ws_input(mut rx: futures::stream::SplitStream<ws::Ws>, proto: ChannelProto) -> Input {
    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>(16);
    let (resize_tx, resize_rx) = mpsc::unbounded_channel();
    let gone = Arc::new(AtomicBool::new(false));
    let gone_notify = Arc::new(tokio::sync::Notify::new());
    let (g, n) = (gone.clone(), gone_notify.clone());
    tokio::spawn(async move {
        let mut stdin_tx = Some(stdin_tx);
        while let Some(msg) = rx.next().await {
            let msg = match msg {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(m) => m,
            };
            let Some((ch, data)) = ws::decode(proto, &msg) else {
                continue;
            };
            match ch {
                ws::STDIN => {
                    if let Some(tx) = &stdin_tx {
                        if !data.is_empty() && tx.send(data).await.is_err() {
                            stdin_tx = None;
                        }
                    }
                }
                ws::RESIZE => {
                    if let Some(size) = parse_resize(&data) {
                        let _ = resize_tx.send(size);
                    }
                }
                ws::CLOSE if data.first() == Some(&ws::STDIN) => stdin_tx = None,
                _ => {}
            }
        }
        g.store(true, Ordering::SeqCst);
        n.notify_waiters();
    });
    Input {
        stdin: stdin_rx,
        resize: resize_rx,
        gone,
        gone_notify,
    }
}

/// `{"Width": w, "Height": h}` as columns and rows.
fn parse_resize(data: &[u8]) -> Option<(u16, u16)> {
    #[derive(serde::Deserialize)]
    struct Size {
        #[serde(rename = "Width")]
        width: u16,
        #[serde(rename = "Height")]
        height: u16,
    }
    let s: Size = serde_json::from_slice(data).ok()?;
    Some((s.width, s.height))
}

async fn run_ws(
    runner: Arc<dyn ProcessRunner>,
    sock: ws::Ws,
    proto: ChannelProto,
    kind: Kind,
    target: StreamTarget,
    opts: ExecOptions,
) {
    let (tx, rx) = ws::split(sock, proto);
    let input = ws_input(rx, proto);
    let out = Output::Ws(tx.clone());
    let result = match kind {
        Kind::Exec => run_process(runner, &target, &opts, out, input).await,
        Kind::Attach => attach(runner, &target, &opts, out, input).await,
    };
    if let Some(msg) = status_message(proto.structured_status(), &opts.command, result) {
        tx.send(ws::ERROR, msg.as_bytes()).await;
    }
    tx.close().await;
}

/// How a stream ended: an exit code, or an error before the process ran.
type Outcome = Result<i32, String>;

/// The error channel's message: a Status for v4 and later, text (only on
/// failure) before.
fn status_message(structured: bool, command: &[String], result: Outcome) -> Option<String> {
    let v = match result {
        Ok(0) if structured => serde_json::json!({"metadata": {}, "status": "Success"}),
        Ok(0) => return None,
        Ok(code) => {
            let message = format!(
                "command terminated with non-zero exit code: error executing command {command:?}, exit code {code}"
            );
            if !structured {
                return Some(message);
            }
            serde_json::json!({
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            })
        }
        Err(e) => {
            if !structured {
                return Some(e);
            }
            serde_json::json!({
                "metadata": {},
                "status": "Failure",
                "message": e,
                "reason": "InternalError",
                "code": 500,
            })
        }
    };
    Some(v.to_string())
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Run the command with the client's stdio; returns its exit code.
async fn run_process(
    runner: Arc<dyn ProcessRunner>,
    target: &StreamTarget,
    opts: &ExecOptions,
    out: Output,
    input: Input,
) -> Outcome {
    let mut cmd = runner.exec_command(target, &opts.command, opts.stdin, opts.tty);
    cmd.kill_on_drop(true);
    if opts.tty {
        return run_with_pty(cmd, out, input).await;
    }
    let piped = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
    cmd.stdin(piped(opts.stdin))
        .stdout(piped(opts.stdout))
        .stderr(piped(opts.stderr));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the command: {e}"))?;
    drop(cmd);
    let Input {
        mut stdin,
        gone,
        gone_notify,
        ..
    } = input;
    if let Some(mut w) = child.stdin.take() {
        tokio::spawn(async move {
            while let Some(data) = stdin.recv().await {
                if w.write_all(&data).await.is_err() {
                    break;
                }
            }
            // Dropping `w` is the process's end of input.
        });
    }
    let mut pumps = Vec::new();
    let readers: [(u8, Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>); 2] = [
        (
            ws::STDOUT,
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
        (
            ws::STDERR,
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
    ];
    for (ch, r) in readers {
        if let Some(mut r) = r {
            let out = out.clone();
            pumps.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if !out.send(ch, &buf[..n]).await {
                                break;
                            }
                        }
                    }
                }
            }));
        }
    }
    let status = wait_or_hangup(&mut child, &gone, &gone_notify).await;
    for p in pumps {
        let _ = p.await;
    }
    status
}

/// Wait for the child; a client that goes away first hangs it up (`skiff
/// exec` passes SIGHUP on to the process in the container).
async fn wait_or_hangup(
    child: &mut tokio::process::Child,
    gone: &AtomicBool,
    gone_notify: &tokio::sync::Notify,
) -> Outcome {
    let mut hung_up = false;
    loop {
        let notified = gone_notify.notified();
        if !hung_up && gone.load(Ordering::SeqCst) {
            hung_up = true;
            if let Some(pid) = child.id() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGHUP,
                );
            }
        }
        tokio::select! {
            s = child.wait() => {
                return s.map(exit_code).map_err(|e| format!("waiting for the command: {e}"));
            }
            _ = notified, if !hung_up => {}
        }
    }
}

fn set_winsize(master: &OwnedFd, cols: u16, rows: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize struct that lives for the call,
    // on a descriptor we own.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Give the process a new pty as stdin, stdout and stderr (its controlling
/// terminal, so it gets SIGWINCH on resizes; `skiff exec -t` copies the size
/// on to the container's terminal then), and pump the master.
async fn run_with_pty(mut cmd: tokio::process::Command, out: Output, input: Input) -> Outcome {
    let pty = nix::pty::openpty(None, None).map_err(|e| format!("cannot open a pty: {e}"))?;
    // Raw: the terminal inside the container echoes and translates; this
    // outer one only carries bytes.
    if let Ok(mut t) = nix::sys::termios::tcgetattr(pty.slave.as_fd()) {
        nix::sys::termios::cfmakeraw(&mut t);
        let _ =
            nix::sys::termios::tcsetattr(pty.slave.as_fd(), nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let dup = |fd: &OwnedFd| {
        fd.try_clone()
            .map_err(|e| format!("cannot dup the pty: {e}"))
    };
    cmd.stdin(Stdio::from(dup(&pty.slave)?))
        .stdout(Stdio::from(dup(&pty.slave)?))
        .stderr(Stdio::from(dup(&pty.slave)?));
    // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawned = cmd.spawn();
    // Our copies of the slave must go, or the master never sees the end.
    drop(cmd);
    drop(pty.slave);
    let mut child = spawned.map_err(|e| format!("cannot start the command: {e}"))?;
    let master = Arc::new(pty.master);
    let Input {
        mut stdin,
        mut resize,
        gone,
        gone_notify,
    } = input;

    let mut writer = File::from(dup(&master)?);
    std::thread::spawn(move || {
        while let Some(data) = stdin.blocking_recv() {
            if writer.write_all(&data).is_err() {
                break;
            }
        }
    });
    let m = master.clone();
    tokio::spawn(async move {
        while let Some((cols, rows)) = resize.recv().await {
            set_winsize(&m, cols, rows);
        }
    });
    let mut reader = File::from(dup(&master)?);
    let pump = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 32 * 1024];
        // EIO once every slave descriptor is closed: the end of output.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || !out.blocking_send(ws::STDOUT, &buf[..n]) {
                break;
            }
        }
    });
    let status = wait_or_hangup(&mut child, &gone, &gone_notify).await;
    let _ = pump.await;
    status
}

/// Attach to the container's main process: its output from the log as it
/// is written, input into its stdin fifo; ends when the container exits.
async fn attach(
    runner: Arc<dyn ProcessRunner>,
    target: &StreamTarget,
    opts: &ExecOptions,
    out: Output,
    input: Input,
) -> Outcome {
    let Input {
        mut stdin, gone, ..
    } = input;
    if opts.stdin && target.stdin {
        let fifo = runner.stdin_fifo(target);
        std::thread::spawn(move || {
            // Non-blocking open: a fifo without a reader must not hang us.
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo);
            let Ok(mut f) = opened else {
                return;
            };
            // Then blocking writes, so a full pipe waits instead of failing.
            let _ = nix::fcntl::fcntl(
                &f,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
            );
            while let Some(data) = stdin.blocking_recv() {
                if f.write_all(&data).is_err() {
                    break;
                }
            }
        });
    }
    let log_path = target.log_path.clone();
    let (tty, want_out, want_err) = (target.tty, opts.stdout, opts.stderr || opts.tty);
    let t = target.clone();
    let r = runner.clone();
    let followed = tokio::task::spawn_blocking(move || {
        let mut exited = false;
        let res = super::logs::follow_from_end(
            &log_path,
            |records| {
                for rec in records {
                    let ch = match rec.stream {
                        Stream::Stderr if !tty => ws::STDERR,
                        _ => ws::STDOUT,
                    };
                    if (ch == ws::STDOUT && !want_out) || (ch == ws::STDERR && !want_err) {
                        continue;
                    }
                    let mut data = rec.text;
                    if rec.full {
                        data.push(if tty { b'\r' } else { b'\n' });
                        if tty {
                            data.push(b'\n');
                        }
                    }
                    if !out.blocking_send(ch, &data) {
                        return false;
                    }
                }
                true
            },
            || {
                exited = gone.load(Ordering::SeqCst) || r.exit_code(&t).is_some();
                exited
            },
        );
        res.map_err(|e| format!("cannot follow the container's output: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?;
    followed?;
    let r = runner.clone();
    let t = target.clone();
    Ok(tokio::task::spawn_blocking(move || r.exit_code(&t))
        .await
        .ok()
        .flatten()
        .unwrap_or(0))
}

/// SPDY stream protocol versions for remote commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpdyVersion {
    V4,
    V3,
    V2,
    V1,
}

impl SpdyVersion {
    fn name(self) -> &'static str {
        match self {
            SpdyVersion::V4 => "v4.channel.k8s.io",
            SpdyVersion::V3 => "v3.channel.k8s.io",
            SpdyVersion::V2 => "v2.channel.k8s.io",
            SpdyVersion::V1 => "channel.k8s.io",
        }
    }
}

pub(crate) fn is_spdy(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("SPDY/3.1"))
}

/// The X-Stream-Protocol-Version values the client offered, in order.
pub(crate) fn offered_stream_protocols(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .collect()
}

fn spdy_exec_protocol(req: &Request<Incoming>) -> Option<SpdyVersion> {
    if !is_spdy(req) {
        return None;
    }
    let offered = offered_stream_protocols(req);
    [
        SpdyVersion::V4,
        SpdyVersion::V3,
        SpdyVersion::V2,
        SpdyVersion::V1,
    ]
    .into_iter()
    .find(|v| offered.iter().any(|o| o == v.name()))
    .or_else(|| offered.is_empty().then_some(SpdyVersion::V1))
}

pub(crate) fn spdy_upgrade_response(protocol: &str) -> Response<Body> {
    let mut resp = Response::new(super::full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("SPDY/3.1"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(protocol) {
        h.insert("x-stream-protocol-version", v);
    }
    resp
}

/// Exec over SPDY: the client opens one stream per stdio channel (header
/// `streamtype`: error, stdin, stdout, stderr, resize); once the expected
/// ones are there the process runs, and the error stream gets the outcome.
async fn run_spdy<T>(
    runner: Arc<dyn ProcessRunner>,
    io: T,
    version: SpdyVersion,
    kind: Kind,
    target: StreamTarget,
    opts: ExecOptions,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut streams, sender) = spdy::serve_session(io);
    let expected = 1
        + usize::from(opts.stdin)
        + usize::from(opts.stdout)
        + usize::from(opts.stderr)
        + usize::from(opts.tty && version != SpdyVersion::V1 && version != SpdyVersion::V2);
    let mut error = None;
    let mut stdin = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut resize = None;
    let mut got = 0;
    let deadline = tokio::time::sleep(std::time::Duration::from_secs(30));
    tokio::pin!(deadline);
    while got < expected {
        let s = tokio::select! {
            s = streams.recv() => match s { Some(s) => s, None => return },
            _ = &mut deadline => return,
        };
        let slot = match spdy::header(&s.headers, "streamtype") {
            Some("error") => &mut error,
            Some("stdin") => &mut stdin,
            Some("stdout") => &mut stdout,
            Some("stderr") => &mut stderr,
            Some("resize") => &mut resize,
            _ => {
                sender.reset(s.id, spdy::RST_PROTOCOL_ERROR).await;
                continue;
            }
        };
        if slot.is_none() {
            got += 1;
        }
        *slot = Some(s);
    }
    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>(16);
    let (resize_tx, resize_rx) = mpsc::unbounded_channel();
    let gone = Arc::new(AtomicBool::new(false));
    let gone_notify = Arc::new(tokio::sync::Notify::new());
    if let Some(mut s) = stdin {
        tokio::spawn(async move {
            while let Some(d) = s.data.recv().await {
                if stdin_tx.send(d.to_vec()).await.is_err() {
                    break;
                }
            }
        });
    }
    if let Some(mut s) = resize {
        tokio::spawn(async move {
            // A stream of JSON sizes, one after another.
            let mut buf = Vec::new();
            while let Some(d) = s.data.recv().await {
                buf.extend_from_slice(&d);
                let mut de =
                    serde_json::Deserializer::from_slice(&buf).into_iter::<serde_json::Value>();
                let mut used = 0;
                while let Some(Ok(v)) = de.next() {
                    used = de.byte_offset();
                    if let Some(size) = parse_resize(v.to_string().as_bytes()) {
                        let _ = resize_tx.send(size);
                    }
                }
                buf.drain(..used);
            }
        });
    }
    // The session ending (the client went away) shows as the stream list closing.
    {
        let (g, n) = (gone.clone(), gone_notify.clone());
        tokio::spawn(async move {
            while streams.recv().await.is_some() {}
            g.store(true, Ordering::SeqCst);
            n.notify_waiters();
        });
    }
    let out = Output::Spdy {
        sender: sender.clone(),
        stdout: stdout.as_ref().map(|s| s.id),
        stderr: stderr.as_ref().map(|s| s.id),
    };
    let input = Input {
        stdin: stdin_rx,
        resize: resize_rx,
        gone,
        gone_notify,
    };
    let result = match kind {
        Kind::Exec => run_process(runner, &target, &opts, out, input).await,
        Kind::Attach => attach(runner, &target, &opts, out, input).await,
    };
    for s in [&stdout, &stderr].into_iter().flatten() {
        sender.data(s.id, Bytes::new(), true).await;
    }
    if let Some(e) = &error {
        let structured = version == SpdyVersion::V4;
        if let Some(msg) = status_message(structured, &opts.command, result) {
            sender.data(e.id, Bytes::from(msg), false).await;
        }
        sender.data(e.id, Bytes::new(), true).await;
    }
}
