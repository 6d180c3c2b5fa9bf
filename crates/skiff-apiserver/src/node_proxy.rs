//! `pods/{name}/log|exec|attach|portforward`: proxied to the streaming
//! endpoint of the node agent that runs the pod, as kube-apiserver proxies to
//! the kubelet. The agent's address comes from the Node (`status.addresses`,
//! `status.daemonEndpoints.kubeletEndpoint.Port`); the connection is plain
//! HTTP/1.1 with the server's bearer token. Upgrades (WebSocket, SPDY) are
//! spliced through unchanged; log bodies are streamed; the agent's errors
//! (Kubernetes Status JSON) pass through as they are.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::api::{Api, ApiResult, Body};
use crate::objects::decode;
use crate::resources;
use crate::status::ApiError;

/// The kubelet's default port, for Nodes that do not say.
const DEFAULT_AGENT_PORT: u64 = 10250;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that belong to one hop and are set again for the next.
const HOP_BY_HOP: &[&str] = &[
    "host",
    "authorization",
    "content-length",
    "transfer-encoding",
];

/// The agent's host and port from a Node object.
pub(crate) fn agent_address(node: &Value) -> Option<(String, u16)> {
    let addresses = node["status"]["addresses"].as_array()?;
    let by_type = |t: &str| {
        addresses
            .iter()
            .find(|a| a["type"] == t)
            .and_then(|a| a["address"].as_str())
            .filter(|a| !a.is_empty())
    };
    let host = by_type("InternalIP")
        .or_else(|| by_type("Hostname"))
        .or_else(|| by_type("ExternalIP"))?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .filter(|p| *p > 0)
        .unwrap_or(DEFAULT_AGENT_PORT);
    Some((host.to_string(), u16::try_from(port).ok()?))
}

/// The agent's path and query for a pod subresource request.
pub(crate) fn agent_path(ns: &str, name: &str, sub: &str, query: &str) -> String {
    // Pairs stay percent-encoded as the client sent them: only the names
    // matter here, and they are plain ASCII.
    let mut container = "";
    let mut rest: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (sub, k) {
            ("log" | "exec" | "attach", "container") => container = v,
            // The API's `ports` is the kubelet's `port`.
            ("portforward", "ports") => rest.push(format!("port={v}")),
            _ => rest.push(pair.to_string()),
        }
    }
    let base = match sub {
        "log" => "containerLogs",
        "exec" => "exec",
        "attach" => "attach",
        _ => "portForward",
    };
    let mut path = format!("/{base}/{ns}/{name}");
    if sub != "portforward" && !container.is_empty() {
        path.push('/');
        path.push_str(container);
    }
    if !rest.is_empty() {
        path.push('?');
        path.push_str(&rest.join("&"));
    }
    path
}

fn unavailable(message: String) -> ApiError {
    ApiError::new(503, "ServiceUnavailable", message)
}

impl Api {
    pub(crate) async fn proxy_to_node(
        &self,
        ns: &str,
        name: &str,
        sub: &str,
        mut req: Request<Incoming>,
    ) -> ApiResult {
        let pods =
            resources::lookup("", "v1", "pods").ok_or_else(|| unavailable("no pods".into()))?;
        let nodes =
            resources::lookup("", "v1", "nodes").ok_or_else(|| unavailable("no nodes".into()))?;
        let pod = decode(&self.get_kv(pods, Some(ns), name).await?)?;
        let Some(node_name) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
            return Err(ApiError::bad_request(format!(
                "pod {name:?} is not scheduled to a node yet"
            )));
        };
        let node = decode(&self.get_kv(nodes, None, node_name).await?)?;
        let (host, port) = agent_address(&node).ok_or_else(|| {
            unavailable(format!(
                "node {node_name:?} has no address in status.addresses for its agent"
            ))
        })?;
        let path = agent_path(ns, name, sub, req.uri().query().unwrap_or(""));
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| {
            unavailable(format!(
                "timed out connecting to the agent of node {node_name:?} at {authority}"
            ))
        })?
        .map_err(|e| {
            unavailable(format!(
                "cannot reach the agent of node {node_name:?} at {authority}: {e}"
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
                .await
                .map_err(|e| unavailable(format!("agent of node {node_name:?}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });

        let upgrading = req.headers().contains_key(hyper::header::UPGRADE);
        let mut out = Request::builder().method(req.method().clone()).uri(&path);
        for (k, v) in req.headers() {
            if !HOP_BY_HOP.contains(&k.as_str()) {
                out = out.header(k, v);
            }
        }
        let out = out
            .header(hyper::header::HOST, &authority)
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| ApiError::bad_request(format!("cannot forward the request: {e}")))?;
        let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut req));
        let mut upstream = sender
            .send_request(out)
            .await
            .map_err(|e| unavailable(format!("agent of node {node_name:?}: {e}")))?;

        let mut resp = Response::builder().status(upstream.status());
        for (k, v) in upstream.headers() {
            if upstream.status() == StatusCode::SWITCHING_PROTOCOLS
                || !matches!(k.as_str(), "transfer-encoding" | "connection")
            {
                resp = resp.header(k, v);
            }
        }
        if upstream.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade else {
                return Err(unavailable(format!(
                    "agent of node {node_name:?} switched protocols unasked"
                )));
            };
            let agent_upgrade = hyper::upgrade::on(&mut upstream);
            tokio::spawn(async move {
                let (Ok(client), Ok(agent)) = (client_upgrade.await, agent_upgrade.await) else {
                    return;
                };
                let mut client = TokioIo::new(client);
                let mut agent = TokioIo::new(agent);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut agent).await;
            });
            return resp
                .body(empty())
                .map_err(|e| unavailable(format!("agent response: {e}")));
        }
        // Streamed through as it comes (logs -f); an upstream error ends it.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
        let mut body = upstream.into_body();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = body.frame().await {
                if tx.send(Ok(frame)).await.is_err() {
                    break;
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        resp.body(StreamBody::new(stream).boxed())
            .map_err(|e| unavailable(format!("agent response: {e}")))
    }
}

fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_follow_the_kubelet() {
        assert_eq!(
            agent_path(
                "default",
                "web",
                "log",
                "container=app&follow=true&tailLines=5"
            ),
            "/containerLogs/default/web/app?follow=true&tailLines=5"
        );
        assert_eq!(
            agent_path("default", "web", "log", ""),
            "/containerLogs/default/web"
        );
        assert_eq!(
            agent_path(
                "ns1",
                "p",
                "exec",
                "command=sh&command=-c&command=echo%20hi&container=c&stdin=true&tty=true"
            ),
            "/exec/ns1/p/c?command=sh&command=-c&command=echo%20hi&stdin=true&tty=true"
        );
        assert_eq!(
            agent_path("ns1", "p", "attach", "stdout=1"),
            "/attach/ns1/p?stdout=1"
        );
        assert_eq!(
            agent_path("ns1", "p", "portforward", "ports=80&ports=443"),
            "/portForward/ns1/p?port=80&port=443"
        );
    }

    #[test]
    fn the_address_comes_from_node_status() {
        let node = json!({"status": {
            "addresses": [
                {"type": "Hostname", "address": "node-a"},
                {"type": "InternalIP", "address": "10.0.0.5"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10555}},
        }});
        assert_eq!(agent_address(&node), Some(("10.0.0.5".into(), 10555)));
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "node-a"}]}});
        assert_eq!(agent_address(&node), Some(("node-a".into(), 10250)));
        assert_eq!(agent_address(&json!({"status": {}})), None);
    }
}
