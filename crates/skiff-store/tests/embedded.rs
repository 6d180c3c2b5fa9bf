//! Behaviour only the embedded backend has: its file, restarts, the group-commit writer and
//! watches that fall behind.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use skiff_store::*;

use common::next_event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_data_revisions_compaction_and_leases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/state.redb");
    let store = EmbeddedStore::open(&path).await.unwrap();
    let r1 = store.put(b"a", b"1").await.unwrap().revision;
    let r2 = store.put(b"a", b"2").await.unwrap().revision;
    let lease = store.lease_grant(60).await.unwrap();
    store
        .put_req(PutRequest::new("leased", "x").with_lease(lease.id))
        .await
        .unwrap();
    store.compact(r2).await.unwrap();
    let rev = store.current_revision().await.unwrap();
    store.close().await.unwrap();

    let store = EmbeddedStore::open(&path).await.unwrap();
    assert_eq!(store.current_revision().await.unwrap(), rev);
    assert_eq!(store.get(b"a").await.unwrap().unwrap().version, 2);
    assert!(matches!(
        store.range(RangeRequest::key("a").with_revision(r1)).await,
        Err(StoreError::Compacted { compact_revision, .. }) if compact_revision == r2
    ));
    assert_eq!(store.lease_keepalive(lease.id).await.unwrap(), 60);
    let next = store.lease_grant(5).await.unwrap();
    assert!(next.id > lease.id, "lease ids are never reused");
    assert_eq!(store.put(b"b", b"1").await.unwrap().revision, rev + 1);
    store.lease_revoke(lease.id).await.unwrap();
    assert_eq!(store.get(b"leased").await.unwrap(), None);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let _first = EmbeddedStore::open(&path).await.unwrap();
    let err = match EmbeddedStore::open(&path).await {
        Err(e) => e,
        Ok(_) => panic!("a second open must fail"),
    };
    assert!(matches!(err, StoreError::AlreadyOpen { .. }), "{err}");
    assert!(err.to_string().contains("state.redb"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.redb");
    std::fs::write(&path, vec![0x5a; 64 << 10]).unwrap();
    let err = match EmbeddedStore::open(&path).await {
        Err(e) => e,
        Ok(_) => panic!("opening garbage must fail"),
    };
    assert!(err.to_string().contains("garbage.redb"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_get_distinct_revisions() {
    let f = common::embedded().await;
    let s = f.store.clone();
    let writers = 64;
    let each = 20;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..each {
                let key = format!("/c/{w}/{i}");
                match s.create(key.as_bytes(), b"v").await.unwrap() {
                    CasOutcome::Written { revision } => revs.push(revision),
                    other => panic!("{other:?}"),
                }
            }
            revs
        }));
    }
    let mut revs = HashSet::new();
    for t in tasks {
        revs.extend(t.await.unwrap());
    }
    assert_eq!(
        revs.len(),
        writers * each,
        "every write has its own revision"
    );
    assert_eq!(
        s.current_revision().await.unwrap(),
        1 + (writers * each) as i64
    );
    assert_eq!(s.list(b"/c/").await.unwrap().count, (writers * each) as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_that_falls_behind_catches_up_from_the_file() {
    let f = common::embedded().await;
    let s = f.store.clone();
    let mut w = s.watch(WatchRequest::prefix("/lag/")).await.unwrap();
    // Far more single-write commits than the hub buffers while nobody reads the watch.
    let n = 1800;
    for i in 0..n {
        s.put(format!("/lag/{i:05}").as_bytes(), b"v")
            .await
            .unwrap();
    }
    for i in 0..n {
        let e = next_event(&mut w).await;
        assert_eq!(e.kv.key, format!("/lag/{i:05}").into_bytes());
    }
}

#[tokio::test]
async fn auto_compaction_keeps_one_interval_of_history() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        auto_compact: Some(Duration::from_millis(200)),
        ..EmbeddedOptions::default()
    };
    let s = EmbeddedStore::open_with(dir.path().join("s.redb"), options)
        .await
        .unwrap();
    let first = s.put(b"k", b"1").await.unwrap().revision;
    s.put(b"k", b"2").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match s.range(RangeRequest::key("k").with_revision(first)).await {
            Err(StoreError::Compacted { .. }) => break,
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("history was not compacted: {other:?}"),
        }
    }
    assert_eq!(s.get(b"k").await.unwrap().unwrap().value, b"2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_a_long_history_keeps_every_read_at_or_after_the_compaction() {
    let f = common::embedded().await;
    let s: Arc<dyn Store> = f.store.clone();
    // More revisions than one pruning chunk, over few keys, with deletes in between.
    for i in 0..900u32 {
        let key = format!("/h/{}", i % 7);
        if i % 11 == 0 {
            s.delete(key.as_bytes()).await.unwrap();
        } else {
            s.put(key.as_bytes(), i.to_string().as_bytes())
                .await
                .unwrap();
        }
    }
    let mid = s.current_revision().await.unwrap() - 200;
    let at_mid = s
        .range(RangeRequest::prefix("/h/").with_revision(mid))
        .await
        .unwrap();
    let now = s.list(b"/h/").await.unwrap();
    s.compact(mid).await.unwrap();
    // Keep writing while the writer prunes in the background.
    for i in 0..50u32 {
        s.put(format!("/other/{i}").as_bytes(), b"x").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = s
        .range(RangeRequest::prefix("/h/").with_revision(mid))
        .await
        .unwrap();
    assert_eq!(again.kvs, at_mid.kvs);
    assert_eq!(s.list(b"/h/").await.unwrap().kvs, now.kvs);
    let mut w = s
        .watch(WatchRequest::prefix("/h/").from_revision(mid))
        .await
        .unwrap();
    let e = next_event(&mut w).await;
    assert_eq!(e.kv.mod_revision, mid);
}
