//! `skiff server`: the Kubernetes API server (first slice: namespaces and configmaps).

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
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let config = skiff_apiserver::Config {
        data_dir: args.data_dir.clone(),
        bind_address: args.bind_address,
        port: args.port,
        kubeconfig_out: args.kubeconfig_out,
    };
    skiff_apiserver::run(config, |started| {
        use std::io::Write;
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
