//! Probes (liveness, readiness, startup) and lifecycle hooks (postStart,
//! preStop): the exec, HTTP GET and TCP socket actions they share, and the
//! probe loop of one container instance with Kubernetes' timing and
//! thresholds.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ExecAction, HTTPGetAction, LifecycleHandler, Probe, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::runtime::Runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// A probe's verdict changed (or, for liveness, failed for good).
#[derive(Debug)]
pub(crate) struct ProbeEvent {
    pub container: String,
    pub container_id: String,
    pub kind: ProbeKind,
    pub success: bool,
    pub message: String,
}

/// Where an action runs: the container and the pod's address.
#[derive(Clone)]
pub(crate) struct Target {
    pub runtime: Arc<Runtime>,
    pub container_id: String,
    pub pod_ip: Option<IpAddr>,
    pub container: Container,
}

/// One action's result: success, and what went wrong otherwise.
pub(crate) type Outcome = Result<(), String>;

/// Run a probe's action once.
async fn probe_once(probe: &Probe, target: &Target, timeout: Duration) -> Outcome {
    if let Some(exec) = &probe.exec {
        return run_exec(exec, target, timeout).await;
    }
    if let Some(http) = &probe.http_get {
        return run_http(http, target, timeout).await;
    }
    if let Some(tcp) = &probe.tcp_socket {
        return run_tcp(tcp, target, timeout).await;
    }
    if probe.grpc.is_some() {
        return Err("gRPC probes are not supported by this node yet".into());
    }
    Err("the probe has no action (exec, httpGet or tcpSocket)".into())
}

/// Run a lifecycle hook to its end (the caller bounds the time).
pub(crate) async fn run_hook(handler: &LifecycleHandler, target: &Target) -> Outcome {
    // A hook is not bounded by a probe timeout, only by the grace period
    // the caller applies.
    let long = Duration::from_secs(3600);
    if let Some(exec) = &handler.exec {
        return run_exec(exec, target, long).await;
    }
    if let Some(http) = &handler.http_get {
        return run_http(http, target, long).await;
    }
    if let Some(tcp) = &handler.tcp_socket {
        return run_tcp(tcp, target, long).await;
    }
    if let Some(sleep) = &handler.sleep {
        tokio::time::sleep(Duration::from_secs(sleep.seconds.max(0) as u64)).await;
        return Ok(());
    }
    Err("the hook has no action (exec, httpGet, tcpSocket or sleep)".into())
}

async fn run_exec(exec: &ExecAction, target: &Target, timeout: Duration) -> Outcome {
    let cmd = exec.command.clone().unwrap_or_default();
    if cmd.is_empty() {
        return Err("exec: command is empty".into());
    }
    match target
        .runtime
        .exec(&target.container_id, &cmd, timeout)
        .await
    {
        Ok(out) if out.code == Some(0) => Ok(()),
        Ok(out) => Err(match out.code {
            Some(code) => format!("command {cmd:?} exited with {code}: {}", out.output.trim()),
            None => out.output,
        }),
        Err(e) => Err(e.to_string()),
    }
}

/// A named or numbered port of the container.
fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("port {n} is out of range")),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("the container has no port named {name:?}")),
    }
}

fn host_of(host: Option<&String>, target: &Target) -> Result<String, String> {
    match host.filter(|h| !h.is_empty()) {
        Some(h) => Ok(h.clone()),
        None => target
            .pod_ip
            .map(|ip| ip.to_string())
            .ok_or_else(|| "the pod has no IP yet".to_string()),
    }
}

async fn run_tcp(tcp: &TCPSocketAction, target: &Target, timeout: Duration) -> Outcome {
    let port = resolve_port(&tcp.port, &target.container)?;
    let host = host_of(tcp.host.as_ref(), target)?;
    match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
        Err(_) => Err(format!("dial tcp {host}:{port}: timed out")),
    }
}

async fn run_http(http: &HTTPGetAction, target: &Target, timeout: Duration) -> Outcome {
    if http
        .scheme
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("HTTPS"))
    {
        return Err("HTTPS probes are not supported by this node yet".into());
    }
    let port = resolve_port(&http.port, &target.container)?;
    let host = host_of(http.host.as_ref(), target)?;
    let path = http.path.clone().unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for h in http.http_headers.iter().flatten() {
        request.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    request.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("Get \"http://{host}:{port}{path}\": dial tcp: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("Get \"http://{host}:{port}{path}\": {e}"))?;
        // The status line is all a probe needs.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("Get \"http://{host}:{port}{path}\": {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        let code = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("Get \"http://{host}:{port}{path}\": malformed HTTP response")
            })?;
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {code}"))
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "Get \"http://{host}:{port}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(v.unwrap_or(default).max(0) as u64)
}

/// Probe one container instance for ever (the caller aborts the task when
/// the instance ends). Reports changes of the verdict; liveness and startup
/// report failure once the failure threshold is reached.
pub(crate) async fn probe_loop(
    kind: ProbeKind,
    probe: Probe,
    target: Target,
    events: mpsc::UnboundedSender<ProbeEvent>,
) {
    let period = secs(probe.period_seconds, 10).max(Duration::from_secs(1));
    let timeout = secs(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    let success_threshold = probe.success_threshold.unwrap_or(1).max(1);
    let failure_threshold = probe.failure_threshold.unwrap_or(3).max(1);
    tokio::time::sleep(secs(probe.initial_delay_seconds, 0)).await;
    let (mut successes, mut failures) = (0, 0);
    let mut verdict: Option<bool> = None;
    loop {
        let started = tokio::time::Instant::now();
        let outcome = probe_once(&probe, &target, timeout).await;
        let message = match &outcome {
            Ok(()) => {
                successes += 1;
                failures = 0;
                String::new()
            }
            Err(m) => {
                failures += 1;
                successes = 0;
                m.clone()
            }
        };
        let new = if successes >= success_threshold {
            Some(true)
        } else if failures >= failure_threshold {
            Some(false)
        } else {
            verdict
        };
        // Readiness reports every change; liveness only its failure and
        // startup its first verdict, after which the instance is either
        // started for good or killed by the worker.
        let report = match kind {
            ProbeKind::Readiness => new != verdict,
            ProbeKind::Liveness => new == Some(false),
            ProbeKind::Startup => new.is_some(),
        };
        verdict = new;
        if report {
            let success = new == Some(true);
            let event = ProbeEvent {
                container: target.container.name.clone(),
                container_id: target.container_id.clone(),
                kind,
                success,
                message: if success {
                    String::new()
                } else {
                    format!("{} probe failed: {message}", kind.name())
                },
            };
            if events.send(event).is_err() || kind != ProbeKind::Readiness {
                return;
            }
        }
        tokio::time::sleep_until(started + period).await;
    }
}
