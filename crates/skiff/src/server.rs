//! `skiff server`: the Kubernetes API server.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Where the store (`store.redb`), TLS material (`tls/`) and admin token live.
    #[arg(long, default_value = "/var/lib/skiff/server")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// HTTPS port; 0 picks a free one (the kubeconfig names the real port).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Where to write the admin kubeconfig (mode 0600: it holds the token).
    #[arg(long, default_value = "/etc/skiff/admin.kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// Keep objects in this etcd cluster instead of the embedded store: its members' client
    /// URLs, comma-separated (`http://10.0.0.1:2379,http://10.0.0.2:2379`). Servers given the
    /// same cluster serve the same objects.
    #[arg(long, value_delimiter = ',', value_parser = parse_etcd_endpoint)]
    pub etcd_endpoints: Vec<String>,
    /// How often the store's history is compacted: each time, to the revision seen one
    /// interval earlier, so watches can resume from anything newer (kube-apiserver's
    /// `--etcd-compaction-interval`). A watch or list from an older resourceVersion gets
    /// 410 Gone.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub compaction_interval: std::time::Duration,
    /// Do not run an agent for this machine (a control plane without a node).
    #[arg(long)]
    pub disable_agent: bool,
    /// Do not run the scheduler.
    #[arg(long)]
    pub disable_scheduler: bool,
    #[command(flatten)]
    pub node: crate::agent::NodeArgs,
}

/// One `--etcd-endpoints` URL: `http://host:port` (the etcd backend speaks plain gRPC).
pub fn parse_etcd_endpoint(url: &str) -> Result<String, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?} is not an etcd client URL: expected http://host:port"))?;
    let host_port = rest.trim_end_matches('/');
    let port = host_port
        .rsplit_once(':')
        .and_then(|(host, port)| (!host.is_empty()).then_some(port))
        .ok_or_else(|| format!("{url:?} has no port: expected http://host:port"))?;
    port.parse::<u16>()
        .map_err(|_| format!("{url:?}: the port {port:?} is not a number up to 65535"))?;
    Ok(format!("http://{host_port}"))
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let config = skiff_apiserver::Config {
        data_dir: args.data_dir.clone(),
        bind_address: args.bind_address,
        port: args.port,
        kubeconfig_out: args.kubeconfig_out,
        etcd_endpoints: args.etcd_endpoints,
        compaction_interval: args.compaction_interval,
    };
    let (node, disable_agent, disable_scheduler) =
        (args.node, args.disable_agent, args.disable_scheduler);
    skiff_apiserver::run(config, |started| {
        use std::io::Write;
        // Both are clients of the API, on the server's runtime: they stop
        // with it, and the pods' containers keep running.
        if !disable_scheduler || !disable_agent {
            start_clients(started, &node, !disable_scheduler, !disable_agent);
        }
        let mut out = std::io::stdout().lock();
        // Tests and scripts wait for the "serving" line, so flush both at once.
        let _ = writeln!(
            out,
            "skiff server: wrote the admin kubeconfig to {}\nskiff server: serving the Kubernetes API on {}",
            started.kubeconfig.display(),
            started.url
        );
        let _ = out.flush();
    })
    .with_context(|| format!("skiff server (data dir {})", args.data_dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// The scheduler and the local node's agent, as tasks on the server's runtime.
fn start_clients(
    started: &skiff_apiserver::Started,
    node: &crate::agent::NodeArgs,
    scheduler: bool,
    agent: bool,
) {
    if scheduler {
        match skiff_agent::api_client(&started.url, &started.token, started.ca_pem.as_bytes()) {
            Ok(client) => {
                tokio::spawn(async move {
                    if let Err(e) =
                        skiff_scheduler::run(client, skiff_scheduler::Options::default()).await
                    {
                        eprintln!("skiff server: the scheduler stopped: {e}");
                    }
                });
            }
            Err(e) => eprintln!("skiff server: cannot start the scheduler: {e}"),
        }
    }
    if agent {
        match node.config(
            started.url.clone(),
            started.token.clone(),
            started.ca_pem.clone().into_bytes(),
        ) {
            Ok(config) => {
                tokio::spawn(async move {
                    if let Err(e) = skiff_agent::run(config).await {
                        eprintln!("skiff server: the node agent stopped: {e}");
                    }
                });
            }
            Err(e) => eprintln!("skiff server: cannot start the node agent: {e:#}"),
        }
    }
}
