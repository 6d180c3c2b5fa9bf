//! `skiff agent`, and the node flags `skiff server` shares with it for the
//! agent of its own node.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use skiff_agent::AgentConfig;

/// How this node runs pods.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The Node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The address the node reports as its InternalIP; the API server dials it for logs,
    /// exec and port-forward (default: 127.0.0.1 for `skiff server`, required for `skiff
    /// agent` on another machine).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// The port of the node's streaming endpoint (the kubelet's); 0 picks a free one.
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// This node's pod CIDR: pods get their IPs from it.
    #[arg(long, default_value = "10.42.0.0/24")]
    pub pod_cidr: String,
    /// The bridge the node's pods are attached to.
    #[arg(long, default_value = "skiffpod0")]
    pub pod_bridge: String,
    /// Cluster DNS server addresses for pods with `dnsPolicy: ClusterFirst` (none: pods use
    /// the host's resolv.conf).
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<String>,
    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Where images and containers are kept (shared with `skiff pull` and `skiff run`).
    #[arg(long, env = "SKIFF_DATA_DIR", default_value = skiff_image::store::DEFAULT_DATA_DIR, value_name = "DIR")]
    pub engine_data_dir: PathBuf,
    /// Where the runtime state of running containers is kept.
    #[arg(long, env = "SKIFF_RUN_DIR", default_value = skiff_engine::DEFAULT_RUN_DIR, value_name = "DIR")]
    pub engine_run_dir: PathBuf,
}

impl NodeArgs {
    /// The agent's configuration for this node against `server`.
    pub fn config(
        &self,
        server: String,
        token: String,
        ca_pem: Vec<u8>,
    ) -> anyhow::Result<AgentConfig> {
        let node_name = match &self.node_name {
            Some(n) => n.clone(),
            None => nix::unistd::gethostname()
                .context("cannot read the host name; pass --node-name")?
                .to_string_lossy()
                .to_lowercase(),
        };
        let mut cfg = AgentConfig::new(node_name, server, token, ca_pem);
        cfg.exe = std::env::current_exe().context("cannot find the skiff binary")?;
        cfg.engine_data_dir = self.engine_data_dir.clone();
        cfg.engine_run_dir = self.engine_run_dir.clone();
        cfg.pods_dir = self.engine_data_dir.join("pods");
        cfg.pod_cidr = self.pod_cidr.clone();
        cfg.pod_bridge = self.pod_bridge.clone();
        cfg.node_ip = self.node_ip.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        cfg.streaming_port = self.kubelet_port;
        cfg.cluster_dns = self.cluster_dns.clone();
        cfg.cluster_domain = self.cluster_domain.clone();
        Ok(cfg)
    }
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The API server's URL, as `skiff server` prints it.
    #[arg(long)]
    pub server: String,
    /// The bearer token (the server's `<data-dir>/token`).
    #[arg(long, env = "SKIFF_TOKEN")]
    pub token: String,
    /// The CA certificate of the API server (the server's `<data-dir>/tls/ca.crt`).
    #[arg(long, default_value = "/var/lib/skiff/server/tls/ca.crt")]
    pub ca_file: PathBuf,
    #[command(flatten)]
    pub node: NodeArgs,
}

pub fn run(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let ca = std::fs::read(&args.ca_file)
        .with_context(|| format!("cannot read --ca-file {}", args.ca_file.display()))?;
    let config = args.node.config(args.server, args.token, ca)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        tokio::select! {
            r = skiff_agent::run(config) => r.context("skiff agent"),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
