//! Fixtures shared by the integration tests: a store of either backend that cleans up after
//! itself (temp dir removed, etcd members killed) when dropped, even when the test panics.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use skiff_store::testing::EtcdCluster;
use skiff_store::{
    EmbeddedStore, EtcdOptions, EtcdStore, Store, StoreError, WatchEvent, WatchStream,
};
use tokio_stream::StreamExt;

pub struct Fixture {
    pub store: Arc<dyn Store>,
    // Dropped after `store` (fields drop in declaration order).
    _guard: Guard,
}

enum Guard {
    Dir(tempfile::TempDir),
    Etcd(EtcdCluster),
}

pub async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("state.redb"))
        .await
        .expect("open embedded store");
    Fixture {
        store: Arc::new(store),
        _guard: Guard::Dir(dir),
    }
}

/// A fresh single-member etcd. Fails (never skips) when etcd is not installed.
pub async fn etcd() -> Fixture {
    let cluster = EtcdCluster::start(1).unwrap_or_else(|e| panic!("{e}"));
    let store = EtcdStore::connect(&cluster.endpoints(), EtcdOptions::default())
        .await
        .expect("connect to etcd");
    Fixture {
        store: Arc::new(store),
        _guard: Guard::Etcd(cluster),
    }
}

/// The next watch item, failing the test if none comes within 10 s.
pub async fn next_item(stream: &mut WatchStream) -> Result<WatchEvent, StoreError> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("no watch event within 10 s")
        .expect("watch stream ended")
}

pub async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    next_item(stream).await.expect("watch error")
}

/// Assert nothing arrives for a short while.
pub async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        panic!("unexpected watch item: {item:?}");
    }
}
