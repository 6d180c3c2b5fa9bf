//! The etcd backend on a 3-member cluster: losing a member (the leader, the worst case)
//! interrupts neither writes, reads nor watches, and clients on different members see each
//! other's writes.

mod common;

use std::time::{Duration, Instant};

use skiff_store::testing::EtcdCluster;
use skiff_store::{CasOutcome, EtcdOptions, EtcdStore, Store, WatchRequest};

use common::next_event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_leader_interrupts_nothing() {
    let mut cluster = EtcdCluster::start(3).unwrap_or_else(|e| panic!("{e}"));
    let endpoints = cluster.endpoints();
    let a = EtcdStore::connect(&endpoints, EtcdOptions::default())
        .await
        .unwrap();
    let mut reversed = endpoints.clone();
    reversed.reverse();
    let b = EtcdStore::connect(&reversed, EtcdOptions::default())
        .await
        .unwrap();

    a.put(b"/shared/from-a", b"1").await.unwrap();
    assert_eq!(b.get(b"/shared/from-a").await.unwrap().unwrap().value, b"1");
    b.put(b"/shared/from-b", b"2").await.unwrap();
    assert_eq!(a.get(b"/shared/from-b").await.unwrap().unwrap().value, b"2");

    let mut watch = b.watch(WatchRequest::prefix("/x/")).await.unwrap();
    for i in 0..20 {
        a.put(format!("/x/{i:03}").as_bytes(), b"v").await.unwrap();
    }

    let leader = cluster.leader().await.expect("the cluster has a leader");
    cluster.kill(leader);
    let killed = Instant::now();

    for i in 20..80 {
        let key = format!("/x/{i:03}");
        let writer = if i % 2 == 0 { &a } else { &b };
        // Created the way the API server creates objects: compare-and-swap on absence.
        let outcome = writer
            .create(key.as_bytes(), b"v")
            .await
            .unwrap_or_else(|e| panic!("write {i} after losing the leader: {e}"));
        let CasOutcome::Written { revision: rev } = outcome else {
            panic!("create {i} after losing the leader: {outcome:?}")
        };
        let reader = if i % 2 == 0 { &b } else { &a };
        let kv = reader
            .get(key.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("read {i} after losing the leader: {e}"))
            .expect("the other client sees the write");
        assert_eq!(kv.mod_revision, rev);
    }
    assert!(
        killed.elapsed() < Duration::from_secs(15),
        "writes stalled for {:?} after the leader died",
        killed.elapsed()
    );
    for i in 0..80 {
        let e = next_event(&mut watch).await;
        assert_eq!(
            e.kv.key,
            format!("/x/{i:03}").into_bytes(),
            "watch event {i}"
        );
    }
    assert!(
        cluster.leader().await.is_some(),
        "the two survivors elected a leader"
    );
}
