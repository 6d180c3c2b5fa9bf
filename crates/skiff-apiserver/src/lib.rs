//! `skiff-apiserver`: the Kubernetes API of `skiff server`.
//!
//! What this crate owns:
//! - the HTTPS listener (rustls), its CA, serving and admin client certificates (generated
//!   on first start under `<data>/tls/` and reused), authentication by client certificate
//!   or bearer token, and the admin kubeconfig;
//! - discovery (legacy and aggregated), the OpenAPI v2 and v3 documents, and the REST verbs
//!   with their Kubernetes semantics for the built-in kinds of `resources`;
//! - defaulting, validation, field validation, patching (JSON, merge, strategic, server-side
//!   apply with managedFields), Table output, protobuf request bodies, and errors as
//!   Kubernetes `Status` objects;
//! - the built-in control loops that are part of the API's semantics: the garbage collector
//!   (ownerReferences) and namespace termination; and service IP / node port allocation;
//! - the key layout (`/registry/[<group>/]<resource>/[<namespace>/]<name>`) and JSON
//!   encoding of objects in the store. It is the only crate that touches the store for
//!   Kubernetes objects: the scheduler and agents are API clients.
//!
//! What it must not touch: container, image, network or node state (those belong to
//! `skiff-engine`, `skiff-image`, `skiff-net` and the agent), and the store's internals: it
//! talks to [`skiff_store::Store`] only through the trait, so the embedded and etcd backends
//! are interchangeable.
//!
//! Not yet: RBAC and admission beyond defaulting, CRDs, HTTP/2, the pod streaming
//! subresources (log, exec, attach, portforward; they come with the node agent).

mod alloc;
mod api;
mod apply;
pub mod bench;
mod cluster;
mod controllers;
mod discovery;
mod error;
mod node_proxy;
mod objects;
mod openapi;
mod patch;
mod patch_meta;
mod proto;
mod query;
mod resources;
mod rest;
mod smp;
mod status;
mod table;
mod tls;
mod validation;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use skiff_store::{EmbeddedOptions, EtcdOptions, Store, StoreConfig};
use tokio::net::TcpListener;

pub use api::{GIT_VERSION, MAX_BODY_BYTES};
pub use error::SetupError;
pub use status::{ApiError, Cause};

/// How `skiff server` was asked to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Holds `store.redb` (unless `etcd_endpoints` is set), `tls/` and `token`.
    pub data_dir: PathBuf,
    /// Client URLs of an etcd cluster (`http://host:port`) to keep the objects in instead of
    /// the embedded store. Several servers given the same cluster serve the same objects.
    pub etcd_endpoints: Vec<String>,
    pub bind_address: IpAddr,
    /// 0 picks a free port (the kubeconfig and the start-up line name the real one).
    pub port: u16,
    pub kubeconfig_out: PathBuf,
    /// Compact the store's history to the revision seen one interval earlier.
    pub compaction_interval: std::time::Duration,
}

/// What a started server reports once it is listening.
#[derive(Clone, Debug)]
pub struct Started {
    pub url: String,
    pub kubeconfig: PathBuf,
    /// The admin bearer token, and the PEM of the CA that signed the
    /// serving certificate: what an in-process client (the local node
    /// agent, the scheduler) needs to connect.
    pub token: String,
    pub ca_pem: String,
}

/// Run the server until SIGINT or SIGTERM, on a runtime of its own. `on_ready` is called
/// once the kubeconfig is written and the socket accepts connections.
pub fn run(config: Config, on_ready: impl FnOnce(&Started)) -> Result<(), SetupError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SetupError::Runtime)?;
    rt.block_on(async move {
        let (listener, started, api, tls) = start(config).await?;
        on_ready(&started);
        tokio::select! {
            () = accept_loop(listener, api, tls) => {}
            () = shutdown_signal() => {}
        }
        Ok(())
    })
}

async fn start(
    config: Config,
) -> Result<
    (
        TcpListener,
        Started,
        Arc<api::Api>,
        tokio_rustls::TlsAcceptor,
    ),
    SetupError,
> {
    std::fs::create_dir_all(&config.data_dir).map_err(error::io_err("create", &config.data_dir))?;
    let creds = tls::load_or_create(&config.data_dir, config.bind_address)?;
    let store_config = if config.etcd_endpoints.is_empty() {
        StoreConfig::Embedded {
            path: config.data_dir.join("store.redb"),
            options: EmbeddedOptions::default(),
        }
    } else {
        StoreConfig::Etcd {
            endpoints: config.etcd_endpoints.clone(),
            options: EtcdOptions::default(),
        }
    };
    let store = skiff_store::open(store_config).await?;
    ensure_system_namespaces(store.as_ref()).await?;
    start_compaction(store.clone(), config.compaction_interval);

    let addr = SocketAddr::new(config.bind_address, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SetupError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SetupError::Bind { addr, source })?;
    // A wildcard bind is reachable on loopback; the serving cert covers 127.0.0.1.
    let host = match local.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = format!("https://{host}:{}", local.port());
    tls::write_kubeconfig(&config.kubeconfig_out, &url, &creds)?;
    // One pending wake-up is enough: the controllers look at the whole state each pass.
    let (wake_controllers, wake_rx) = tokio::sync::mpsc::channel(1);
    let api = Arc::new(api::Api {
        store,
        token: creds.token.clone(),
        wake_controllers,
    });
    cluster::start_controllers(api.clone(), wake_rx);
    let acceptor = tokio_rustls::TlsAcceptor::from(creds.server_config);
    Ok((
        listener,
        Started {
            url,
            kubeconfig: config.kubeconfig_out,
            token: creds.token.clone(),
            ca_pem: creds.ca_pem.clone(),
        },
        api,
        acceptor,
    ))
}

/// Create the namespaces every cluster has unless they exist (create-if-absent, so restarts
/// and concurrent servers on one etcd never overwrite them).
async fn ensure_system_namespaces(store: &dyn Store) -> Result<(), SetupError> {
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let key = resources::NAMESPACES.key(None, name);
        let obj = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": objects::new_uid(),
                "creationTimestamp": objects::rfc3339_now(),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        store.create(&key, &objects::encode(&obj)).await?;
    }
    Ok(())
}

/// Compact the history periodically, as kube-apiserver does with etcd: each tick compacts
/// to the revision the previous tick saw, so one interval of history stays watchable. With
/// several servers on one etcd each does this; compacting a revision twice is harmless.
fn start_compaction(store: Arc<dyn Store>, every: std::time::Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut previous: Option<i64> = None;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let current = match store
                .range(skiff_store::RangeRequest::key(
                    b"/registry/compact-probe".to_vec(),
                ))
                .await
            {
                Ok(resp) => resp.revision,
                Err(e) => {
                    tracing::warn!("reading the store revision for compaction: {e}");
                    continue;
                }
            };
            if let Some(rev) = previous.filter(|rev| *rev > 0) {
                if let Err(e) = store.compact(rev).await {
                    tracing::debug!("compacting to revision {rev}: {e}");
                }
            }
            previous = Some(current);
        }
    });
}

async fn accept_loop(
    listener: TcpListener,
    api: Arc<api::Api>,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (api, acceptor) = (api.clone(), acceptor.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
            };
            // rustls verified any certificate the client sent against our CA.
            let client_cert = tls.get_ref().1.peer_certificates().is_some();
            let service = service_fn(move |mut req| {
                let api = api.clone();
                if client_cert {
                    req.extensions_mut().insert(tls::ClientCert);
                }
                async move { Ok::<_, std::convert::Infallible>(api.handle(req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades()
                .await
            {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            // Without a SIGTERM handler the default action (exit) still applies.
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
