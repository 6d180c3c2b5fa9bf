//! One suite, two backends: every case below runs against the embedded store and against a
//! real etcd (a fresh single member per test, so revisions are exact and comparable).

mod common;

use std::sync::Arc;
use std::time::Duration;

use skiff_store::*;

use common::{assert_quiet, next_event, next_item};

type S = Arc<dyn Store>;

fn kvs(resp: &RangeResponse) -> Vec<(&[u8], &[u8])> {
    resp.kvs
        .iter()
        .map(|kv| (kv.key.as_slice(), kv.value.as_slice()))
        .collect()
}

async fn put(s: &S, key: &str, value: &str) -> i64 {
    s.put(key.as_bytes(), value.as_bytes())
        .await
        .unwrap()
        .revision
}

pub async fn put_get_and_revisions(s: S) {
    assert_eq!(
        s.current_revision().await.unwrap(),
        1,
        "a fresh store is at revision 1"
    );
    assert_eq!(s.get(b"a").await.unwrap(), None);

    let r1 = put(&s, "a", "one").await;
    assert_eq!(r1, 2);
    let kv = s.get(b"a").await.unwrap().unwrap();
    assert_eq!(
        kv,
        KeyValue {
            key: b"a".to_vec(),
            value: b"one".to_vec(),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            lease: 0,
        }
    );

    let resp = s
        .put_req(PutRequest::new("a", "two").with_prev_kv())
        .await
        .unwrap();
    assert_eq!(resp.revision, 3);
    assert_eq!(
        resp.prev_kv.as_ref().map(|kv| kv.value.as_slice()),
        Some(&b"one"[..])
    );
    let kv = s.get(b"a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));
    assert_eq!(s.current_revision().await.unwrap(), 3);

    // Binary keys and values, and an empty value, are stored as given.
    put(&s, "bin", "").await;
    s.put(&[0xff, 0, 1], &[0, 0xfe]).await.unwrap();
    assert_eq!(s.get(b"bin").await.unwrap().unwrap().value, b"");
    assert_eq!(
        s.get(&[0xff, 0, 1]).await.unwrap().unwrap().value,
        vec![0, 0xfe]
    );

    // After a delete the key is recreated from version 1 with a new create_revision.
    let del = s.delete(b"a").await.unwrap();
    assert_eq!((del.deleted, del.revision), (1, 6));
    let r = put(&s, "a", "again").await;
    let kv = s.get(b"a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.version), (r, 1));
}

pub async fn range_prefix_limit_and_count(s: S) {
    for i in 1..=5 {
        put(&s, &format!("/pods/{i}"), &format!("p{i}")).await;
    }
    put(&s, "/pods0", "sibling").await;
    put(&s, "/services/1", "s1").await;

    let all = s.list(b"/pods/").await.unwrap();
    assert_eq!(all.count, 5);
    assert!(!all.more);
    let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.clone()).collect();
    let want: Vec<_> = (1..=5).map(|i| format!("/pods/{i}").into_bytes()).collect();
    assert_eq!(keys, want, "keys come back sorted, prefix only");
    assert_eq!(all.revision, s.current_revision().await.unwrap());

    let page = s
        .range(RangeRequest::prefix("/pods/").with_limit(2))
        .await
        .unwrap();
    assert_eq!(
        kvs(&page),
        vec![(&b"/pods/1"[..], &b"p1"[..]), (b"/pods/2", b"p2")]
    );
    assert_eq!(page.count, 5, "count ignores the limit");
    assert!(page.more);

    let count = s
        .range(RangeRequest::prefix("/pods/").with_count_only())
        .await
        .unwrap();
    assert_eq!((count.count, count.kvs.len()), (5, 0));

    let keys_only = s
        .range(RangeRequest::prefix("/pods/").with_keys_only())
        .await
        .unwrap();
    assert_eq!(keys_only.kvs.len(), 5);
    assert!(keys_only
        .kvs
        .iter()
        .all(|kv| kv.value.is_empty() && kv.version == 1));

    let window = s
        .range(RangeRequest::range("/pods/2", "/pods/4"))
        .await
        .unwrap();
    assert_eq!(
        kvs(&window),
        vec![(&b"/pods/2"[..], &b"p2"[..]), (b"/pods/3", b"p3")]
    );

    let from_key = s
        .range(RangeRequest::range("/pods0", vec![0]))
        .await
        .unwrap();
    assert_eq!(
        from_key.count, 2,
        "range_end [0] means every key from `key` on"
    );

    let everything = s.list(b"").await.unwrap();
    assert_eq!(everything.count, 7);
}

pub async fn range_at_past_revisions(s: S) {
    let r1 = put(&s, "k", "v1").await;
    put(&s, "other", "x").await;
    let r2 = put(&s, "k", "v2").await;
    let r3 = s.delete(b"k").await.unwrap().revision;

    let at = |rev: i64| RangeRequest::key("k").with_revision(rev);
    assert_eq!(s.range(at(r1 - 1)).await.unwrap().kvs, vec![]);
    let v1 = s.range(at(r1)).await.unwrap();
    assert_eq!(kvs(&v1), vec![(&b"k"[..], &b"v1"[..])]);
    assert_eq!(v1.revision, r3, "the header carries the current revision");
    assert_eq!(
        kvs(&s.range(at(r2)).await.unwrap()),
        vec![(&b"k"[..], &b"v2"[..])]
    );
    assert_eq!(s.range(at(r3)).await.unwrap().count, 0);
    assert_eq!(s.get(b"k").await.unwrap(), None);

    let prefix_then = s
        .range(RangeRequest::prefix("").with_revision(r1 + 1))
        .await
        .unwrap();
    assert_eq!(
        kvs(&prefix_then),
        vec![(&b"k"[..], &b"v1"[..]), (b"other", b"x")]
    );
    let limited = s
        .range(RangeRequest::prefix("").with_revision(r2).with_limit(1))
        .await
        .unwrap();
    assert_eq!(
        (limited.kvs.len(), limited.count, limited.more),
        (1, 2, true)
    );

    match s.range(at(r3 + 10)).await {
        Err(StoreError::FutureRevision { requested }) => assert_eq!(requested, r3 + 10),
        other => panic!("expected FutureRevision, got {other:?}"),
    }
}

pub async fn compare_and_swap(s: S) {
    let created = s.create(b"obj", b"v1").await.unwrap();
    let CasOutcome::Written { revision: r1 } = created else {
        panic!("create of a new key failed: {created:?}")
    };

    match s.create(b"obj", b"again").await.unwrap() {
        CasOutcome::Conflict { current: Some(kv) } => {
            assert_eq!((kv.value.as_slice(), kv.mod_revision), (&b"v1"[..], r1))
        }
        other => panic!("create of an existing key must conflict: {other:?}"),
    }

    let stale = s
        .put_if(PutRequest::new("obj", "v2"), r1 - 1)
        .await
        .unwrap();
    assert!(matches!(stale, CasOutcome::Conflict { current: Some(_) }));
    let CasOutcome::Written { revision: r2 } =
        s.put_if(PutRequest::new("obj", "v2"), r1).await.unwrap()
    else {
        panic!("CAS with the current mod_revision must win")
    };
    assert_eq!(s.get(b"obj").await.unwrap().unwrap().value, b"v2");

    assert!(matches!(
        s.delete_if(b"obj", r1).await.unwrap(),
        CasOutcome::Conflict { current: Some(_) }
    ));
    assert!(matches!(
        s.delete_if(b"obj", r2).await.unwrap(),
        CasOutcome::Written { .. }
    ));
    assert!(matches!(
        s.delete_if(b"obj", r2).await.unwrap(),
        CasOutcome::Conflict { current: None }
    ));
    assert!(matches!(
        s.put_if(PutRequest::new("gone", "x"), 5).await.unwrap(),
        CasOutcome::Conflict { current: None }
    ));
}

pub async fn transactions(s: S) {
    put(&s, "a", "1").await;
    put(&s, "a", "2").await;
    let lease = s.lease_grant(60).await.unwrap();
    s.put_req(PutRequest::new("leased", "x").with_lease(lease.id))
        .await
        .unwrap();
    let a = s.get(b"a").await.unwrap().unwrap();

    let cmp = |target, op| Compare::new("a", target, op);
    let holds = [
        cmp(CompareTarget::Version(2), CompareOp::Equal),
        cmp(CompareTarget::Version(1), CompareOp::Greater),
        cmp(
            CompareTarget::CreateRevision(a.create_revision),
            CompareOp::Equal,
        ),
        cmp(
            CompareTarget::ModRevision(a.mod_revision + 1),
            CompareOp::Less,
        ),
        cmp(CompareTarget::Value(b"2".to_vec()), CompareOp::Equal),
        cmp(CompareTarget::Value(b"1".to_vec()), CompareOp::Greater),
        cmp(CompareTarget::Lease(0), CompareOp::Equal),
        Compare::new("leased", CompareTarget::Lease(lease.id), CompareOp::Equal),
        Compare::new("missing", CompareTarget::Version(0), CompareOp::Equal),
        Compare::new("missing", CompareTarget::ModRevision(0), CompareOp::Equal),
    ];
    for c in holds {
        let resp = s.txn(Txn::new().when([c.clone()])).await.unwrap();
        assert!(resp.succeeded, "compare should hold: {c:?}");
    }
    let fails = [
        cmp(CompareTarget::Version(2), CompareOp::NotEqual),
        cmp(CompareTarget::Value(b"3".to_vec()), CompareOp::Equal),
        // A value compare on a missing key is false whatever the operator.
        Compare::new(
            "missing",
            CompareTarget::Value(b"x".to_vec()),
            CompareOp::NotEqual,
        ),
    ];
    for c in fails {
        let resp = s.txn(Txn::new().when([c.clone()])).await.unwrap();
        assert!(!resp.succeeded, "compare should fail: {c:?}");
    }

    // Several writes in one transaction share one new revision; responses come in order.
    let before = s.current_revision().await.unwrap();
    let resp = s
        .txn(
            Txn::new()
                .when([cmp(CompareTarget::Value(b"2".to_vec()), CompareOp::Equal)])
                .and_then([
                    Op::put("b", "x"),
                    Op::put("c", "y"),
                    Op::delete("a"),
                    Op::get("b"),
                ])
                .or_else([Op::get("a")]),
        )
        .await
        .unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.revision, before + 1);
    assert_eq!(resp.responses.len(), 4);
    match &resp.responses[2] {
        OpResponse::Delete(d) => assert_eq!((d.deleted, d.revision), (1, before + 1)),
        other => panic!("expected a delete response, got {other:?}"),
    }
    match &resp.responses[3] {
        OpResponse::Range(r) => {
            assert_eq!(
                kvs(r),
                vec![(&b"b"[..], &b"x"[..])],
                "a txn reads its own writes"
            )
        }
        other => panic!("expected a range response, got {other:?}"),
    }
    for key in [&b"b"[..], b"c"] {
        assert_eq!(s.get(key).await.unwrap().unwrap().mod_revision, before + 1);
    }

    // The failure branch runs when a compare fails, and nothing of the success branch does.
    let resp = s
        .txn(
            Txn::new()
                .when([Compare::exists("a")])
                .and_then([Op::put("never", "x")])
                .or_else([Op::get("b")]),
        )
        .await
        .unwrap();
    assert!(!resp.succeeded);
    assert_eq!(
        resp.revision,
        before + 1,
        "a txn without writes keeps the revision"
    );
    assert_eq!(s.get(b"never").await.unwrap(), None);
}

pub async fn deletes_and_no_op_writes(s: S) {
    for k in ["/x/1", "/x/2", "/x/3", "/y/1"] {
        put(&s, k, "v").await;
    }
    let rev = s.current_revision().await.unwrap();
    let del = s.delete(b"/nothing").await.unwrap();
    assert_eq!(
        (del.deleted, del.revision),
        (0, rev),
        "deleting nothing is not a write"
    );
    assert_eq!(s.current_revision().await.unwrap(), rev);

    let del = s
        .delete_req(DeleteRequest::prefix("/x/").with_prev_kv())
        .await
        .unwrap();
    assert_eq!(del.deleted, 3);
    assert_eq!(del.revision, rev + 1, "one delete range is one revision");
    let prev: Vec<_> = del.prev_kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(
        prev,
        vec![b"/x/1".to_vec(), b"/x/2".to_vec(), b"/x/3".to_vec()]
    );
    assert_eq!(s.list(b"/x/").await.unwrap().count, 0);
    assert_eq!(s.list(b"/y/").await.unwrap().count, 1);
}

pub async fn watch_replays_history_then_follows(s: S) {
    let r1 = put(&s, "/w/a", "1").await;
    put(&s, "/elsewhere", "no").await;
    put(&s, "/w/a", "2").await;
    s.delete(b"/w/a").await.unwrap();

    let mut w = s
        .watch(WatchRequest::prefix("/w/").from_revision(r1).with_prev_kv())
        .await
        .unwrap();
    let e = next_event(&mut w).await;
    assert_eq!(
        (e.kind, e.kv.value.as_slice(), e.kv.mod_revision),
        (EventType::Put, &b"1"[..], r1)
    );
    assert_eq!(e.kv.version, 1);
    assert_eq!(e.prev_kv, None);
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.kv.version), (EventType::Put, 2));
    assert_eq!(e.prev_kv.map(|kv| kv.value), Some(b"1".to_vec()));
    let e = next_event(&mut w).await;
    assert_eq!(e.kind, EventType::Delete);
    assert_eq!(e.kv.key, b"/w/a");
    assert_eq!(e.kv.mod_revision, r1 + 3);
    assert_eq!(e.prev_kv.map(|kv| kv.value), Some(b"2".to_vec()));

    // Live events, including every write of a multi-key transaction, in order.
    let rt = s
        .txn(Txn::new().and_then([
            Op::put("/w/b", "b"),
            Op::put("/w/c", "c"),
            Op::put("/z", "z"),
        ]))
        .await
        .unwrap()
        .revision;
    let b = next_event(&mut w).await;
    let c = next_event(&mut w).await;
    assert_eq!((b.kv.key.as_slice(), b.kv.mod_revision), (&b"/w/b"[..], rt));
    assert_eq!((c.kv.key.as_slice(), c.kv.mod_revision), (&b"/w/c"[..], rt));
    assert_quiet(&mut w).await;

    // Without prev_kv, events carry none.
    let mut plain = s.watch(WatchRequest::key("/w/b")).await.unwrap();
    put(&s, "/w/b", "b2").await;
    let e = next_event(&mut plain).await;
    assert_eq!((e.kv.value.as_slice(), e.prev_kv), (&b"b2"[..], None));
    assert_eq!(next_event(&mut w).await.kv.value, b"b2");
}

pub async fn watch_from_now_sees_only_new_events(s: S) {
    put(&s, "k", "old").await;
    let mut w = s.watch(WatchRequest::key("k")).await.unwrap();
    assert_quiet(&mut w).await;
    let r = put(&s, "k", "new").await;
    let e = next_event(&mut w).await;
    assert_eq!((e.kv.value.as_slice(), e.kv.mod_revision), (&b"new"[..], r));
    drop(w);
    // Dropping a watch cancels it; the store keeps working.
    put(&s, "k", "newer").await;
}

pub async fn compaction(s: S) {
    let r1 = put(&s, "k", "v1").await;
    put(&s, "j", "j1").await;
    let r2 = put(&s, "k", "v2").await;
    put(&s, "gone", "x").await;
    s.delete(b"gone").await.unwrap();
    let r3 = put(&s, "k", "v3").await;
    let snapshot = s
        .range(RangeRequest::prefix("").with_revision(r2))
        .await
        .unwrap();

    s.compact(r2).await.unwrap();

    match s.range(RangeRequest::key("k").with_revision(r1)).await {
        Err(StoreError::Compacted {
            requested,
            compact_revision,
        }) => assert_eq!((requested, compact_revision), (r1, r2)),
        other => panic!("expected Compacted, got {other:?}"),
    }
    // The compaction revision itself and everything after stay readable.
    for _ in 0..3 {
        let again = s
            .range(RangeRequest::prefix("").with_revision(r2))
            .await
            .unwrap();
        assert_eq!(again.kvs, snapshot.kvs);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.get(b"k").await.unwrap().unwrap().value, b"v3");
    assert_eq!(s.get(b"j").await.unwrap().unwrap().version, 1);

    assert!(matches!(
        s.compact(r1).await,
        Err(StoreError::Compacted { .. })
    ));
    assert!(matches!(
        s.compact(r3 + 100).await,
        Err(StoreError::FutureRevision { .. })
    ));

    // A watch from before the compaction fails with the compaction revision; from it, works.
    let mut w = s
        .watch(WatchRequest::key("k").from_revision(r1))
        .await
        .unwrap();
    match next_item(&mut w).await {
        Err(StoreError::Compacted {
            compact_revision, ..
        }) => assert_eq!(compact_revision, r2),
        other => panic!("expected Compacted from the watch, got {other:?}"),
    }
    let mut w = s
        .watch(WatchRequest::key("k").from_revision(r2))
        .await
        .unwrap();
    assert_eq!(next_event(&mut w).await.kv.value, b"v2");
    assert_eq!(next_event(&mut w).await.kv.value, b"v3");

    // Compacting to the current revision leaves the current state intact.
    s.compact(s.current_revision().await.unwrap())
        .await
        .unwrap();
    let now = s.list(b"").await.unwrap();
    assert_eq!(kvs(&now), vec![(&b"j"[..], &b"j1"[..]), (b"k", b"v3")]);
}

pub async fn lease_expiry_deletes_keys(s: S) {
    let lease = s.lease_grant(2).await.unwrap();
    assert_eq!(lease.ttl, 2);
    assert!(lease.id != 0);
    s.put_req(PutRequest::new("/eph/a", "x").with_lease(lease.id))
        .await
        .unwrap();
    s.put_req(PutRequest::new("/eph/b", "y").with_lease(lease.id))
        .await
        .unwrap();
    put(&s, "/eph/kept", "z").await;
    assert_eq!(s.get(b"/eph/a").await.unwrap().unwrap().lease, lease.id);

    let mut w = s.watch(WatchRequest::prefix("/eph/")).await.unwrap();
    let first = next_event(&mut w).await;
    let second = next_event(&mut w).await;
    assert_eq!(
        (first.kind, second.kind),
        (EventType::Delete, EventType::Delete)
    );
    assert_eq!(
        first.kv.mod_revision, second.kv.mod_revision,
        "one expiry, one revision"
    );
    assert_eq!(s.list(b"/eph/").await.unwrap().count, 1);
    assert!(matches!(
        s.lease_keepalive(lease.id).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
}

pub async fn lease_keepalive_and_revoke(s: S) {
    let lease = s.lease_grant(60).await.unwrap();
    s.put_req(PutRequest::new("held", "x").with_lease(lease.id))
        .await
        .unwrap();
    // A later put without the lease detaches the key from it.
    s.put_req(PutRequest::new("detached", "x").with_lease(lease.id))
        .await
        .unwrap();
    put(&s, "detached", "y").await;
    assert_eq!(s.lease_keepalive(lease.id).await.unwrap(), 60);

    let before = s.current_revision().await.unwrap();
    s.lease_revoke(lease.id).await.unwrap();
    assert_eq!(s.current_revision().await.unwrap(), before + 1);
    assert_eq!(s.get(b"held").await.unwrap(), None);
    assert_eq!(s.get(b"detached").await.unwrap().unwrap().value, b"y");

    for result in [
        s.lease_keepalive(lease.id).await.map(|_| ()),
        s.lease_revoke(lease.id).await,
    ] {
        assert!(
            matches!(result, Err(StoreError::LeaseNotFound { .. })),
            "{result:?}"
        );
    }
    let rev = s.current_revision().await.unwrap();
    let err = s
        .put_req(PutRequest::new("orphan", "x").with_lease(lease.id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::LeaseNotFound { id } if id == lease.id),
        "{err}"
    );
    assert_eq!(s.get(b"orphan").await.unwrap(), None);
    assert_eq!(s.current_revision().await.unwrap(), rev);
}

pub async fn bad_input_is_refused_and_stores_nothing(s: S) {
    let rev = s.current_revision().await.unwrap();
    let err = s.put(b"", b"v").await.unwrap_err();
    assert!(matches!(err, StoreError::EmptyKey), "{err}");
    assert!(err.to_string().contains("empty key"));
    assert!(matches!(s.get(b"").await, Err(StoreError::EmptyKey)));
    assert!(matches!(
        s.watch(WatchRequest::key("")).await,
        Err(StoreError::EmptyKey)
    ));

    let big = vec![b'x'; 2 << 20];
    let err = s.put(b"big", &big).await.unwrap_err();
    match &err {
        StoreError::RequestTooLarge { size, limit } => {
            assert!(size > limit);
            assert_eq!(*limit, MAX_REQUEST_BYTES);
        }
        other => panic!("expected RequestTooLarge, got {other}"),
    }
    assert_eq!(s.get(b"big").await.unwrap(), None);

    let err = s
        .txn(Txn::new().and_then([Op::put("d", "1"), Op::put("d", "2")]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateKey { .. }), "{err}");
    assert_eq!(
        s.current_revision().await.unwrap(),
        rev,
        "nothing was written"
    );

    // Just under the limit is fine.
    let large = vec![b'y'; 1 << 20];
    s.put(b"large", &large).await.unwrap();
    assert_eq!(s.get(b"large").await.unwrap().unwrap().value.len(), 1 << 20);
}

pub async fn concurrent_compare_and_swap(s: S) {
    const WRITERS: usize = 6;
    const INCREMENTS: usize = 15;
    s.put(b"counter", b"0").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..INCREMENTS {
                let mut current = s.get(b"counter").await.unwrap().unwrap();
                loop {
                    let n: u64 = String::from_utf8_lossy(&current.value).parse().unwrap();
                    let next = PutRequest::new("counter", (n + 1).to_string());
                    match s.put_if(next, current.mod_revision).await.unwrap() {
                        CasOutcome::Written { .. } => break,
                        CasOutcome::Conflict { current: Some(kv) } => {
                            conflicts += 1;
                            current = kv;
                        }
                        CasOutcome::Conflict { current: None } => panic!("counter vanished"),
                    }
                }
            }
            conflicts
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let kv = s.get(b"counter").await.unwrap().unwrap();
    assert_eq!(kv.value, (WRITERS * INCREMENTS).to_string().into_bytes());
    assert_eq!(kv.version, (WRITERS * INCREMENTS) as i64 + 1);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let f = crate::common::embedded().await;
                    crate::$case(f.store.clone()).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let f = crate::common::etcd().await;
                    crate::$case(f.store.clone()).await;
                }
            )*
        }
    };
}

conformance!(
    put_get_and_revisions,
    range_prefix_limit_and_count,
    range_at_past_revisions,
    compare_and_swap,
    transactions,
    deletes_and_no_op_writes,
    watch_replays_history_then_follows,
    watch_from_now_sees_only_new_events,
    compaction,
    lease_expiry_deletes_keys,
    lease_keepalive_and_revoke,
    bad_input_is_refused_and_stores_nothing,
    concurrent_compare_and_swap,
);
