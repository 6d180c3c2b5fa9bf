//! skiff-agent: the node agent (the kubelet's job). It registers the Node,
//! heartbeats through a Lease in `kube-node-lease`, watches the pods bound
//! to its node and runs them through skiff-engine's pod sandboxes: volumes
//! and environment from the pod spec, image pulls by pull policy, probes,
//! the restart policy with back-off, graceful termination with hooks, and
//! the pod status. It serves the streaming endpoints (logs, exec, attach,
//! port-forward) the API server proxies to, and adopts what runs after its
//! own restart.
//!
//! Must not touch: the store (it is a client of the API), the runtime's or
//! the engine's files (it calls skiff-engine, and the `skiff` binary for the
//! verbs that fork), and other nodes' pods.

pub mod bench;
pub mod env;
mod error;
mod node;
mod pods;
mod probes;
mod runtime;
mod status;
pub mod streaming;
pub mod volumes;
mod worker;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::{AgentError, Result};

/// Everything `skiff agent` (and `skiff server` for its local node) passes in.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The Node object's name (the host name by default).
    pub node_name: String,
    /// The API server's URL, e.g. `https://127.0.0.1:6443`.
    pub server: String,
    /// The bearer token for the API; the API server presents it to the
    /// agent's streaming endpoint too.
    pub token: String,
    /// PEM of the CA that signed the API server's certificate.
    pub ca_pem: Vec<u8>,
    /// The engine's data and run directories (images and containers).
    pub engine_data_dir: PathBuf,
    pub engine_run_dir: PathBuf,
    /// The `skiff` binary, run for the engine verbs that fork.
    pub exe: PathBuf,
    /// Pod volumes and state: `<pods_dir>/<uid>/`.
    pub pods_dir: PathBuf,
    /// The pod network of this node: bridge and CIDR.
    pub pod_bridge: String,
    pub pod_cidr: String,
    /// The address the node reports (InternalIP) and the API server dials
    /// for streaming.
    pub node_ip: IpAddr,
    /// The streaming port (the kubelet's 10250); 0 picks a free one.
    pub streaming_port: u16,
    /// Cluster DNS servers and domain for `dnsPolicy: ClusterFirst`; with no
    /// servers, pods get the host's resolv.conf.
    pub cluster_dns: Vec<String>,
    pub cluster_domain: String,
    /// `status.capacity.pods`.
    pub max_pods: u32,
}

impl AgentConfig {
    /// The defaults for a node named `node_name` talking to `server`.
    pub fn new(node_name: String, server: String, token: String, ca_pem: Vec<u8>) -> AgentConfig {
        AgentConfig {
            node_name,
            server,
            token,
            ca_pem,
            engine_data_dir: PathBuf::from("/var/lib/skiff"),
            engine_run_dir: PathBuf::from("/run/skiff/engine"),
            exe: PathBuf::from("/proc/self/exe"),
            pods_dir: PathBuf::from("/var/lib/skiff/pods"),
            pod_bridge: "skiffpod0".into(),
            pod_cidr: "10.42.0.0/24".into(),
            node_ip: IpAddr::from([127, 0, 0, 1]),
            streaming_port: 10250,
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".into(),
            max_pods: 110,
        }
    }
}

/// A kube client for the API server at `server` (`https://HOST:PORT`),
/// authenticated by `token`, trusting the CA certificates in `ca_pem`.
pub fn api_client(server: &str, token: &str, ca_pem: &[u8]) -> Result<kube::Client> {
    let url: http::Uri = server.parse().map_err(|e| {
        AgentError::Config(format!(
            "--server {server:?} is not a URL ({e}); use https://HOST:PORT"
        ))
    })?;
    let mut kc = kube::Config::new(url);
    kc.root_cert = Some(pem_certificates(ca_pem)?);
    kc.auth_info.token = Some(token.to_string().into());
    kc.read_timeout = None;
    kube::Client::try_from(kc)
        .map_err(|e| AgentError::Config(format!("cannot build the API client: {e}")))
}

/// The DER certificates in a PEM bundle.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem)
        .map_err(|_| AgentError::Config("the CA file is not PEM text".into()))?;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().unwrap_or_default();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| {
                    AgentError::Config(format!("the CA file has a bad certificate: {e}"))
                })?;
            out.push(der);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if out.is_empty() {
        return Err(AgentError::Config(
            "the CA file holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)".into(),
        ));
    }
    Ok(out)
}

/// Run the agent until the future is dropped or a fatal error: register the
/// node, heartbeat, serve streaming, and run the node's pods.
pub async fn run(config: AgentConfig) -> Result<()> {
    let client = api_client(&config.server, &config.token, &config.ca_pem)?;
    let runtime = Arc::new(runtime::Runtime::open(&config).await?);
    let listener = tokio::net::TcpListener::bind((config.node_ip, config.streaming_port))
        .await
        .map_err(|e| {
            AgentError::Config(format!(
                "cannot listen on {}:{} for streaming ({e}); pass another port",
                config.node_ip, config.streaming_port
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| AgentError::Io("streaming listener address".into(), e))?
        .port();
    let config = Arc::new(config);
    let manager = pods::PodManager::new(client.clone(), config.clone(), runtime.clone());
    let streaming = tokio::spawn(streaming::serve(
        listener,
        config.token.clone(),
        manager.lookup(),
        runtime.cli(),
    ));
    node::register(&client, &config, port).await?;
    let heartbeat = tokio::spawn(node::heartbeat(client.clone(), config.clone(), port));
    let result = manager.run().await;
    heartbeat.abort();
    streaming.abort();
    result
}
