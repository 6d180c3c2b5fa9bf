//! The etcd v3 backend, over gRPC with the `etcd-client` crate; tested against etcd 3.4.
//!
//! Requests are balanced over every endpoint given, and retried for a few seconds when they
//! fail for lack of a member, so losing one member of a cluster is invisible to callers (a
//! write that was in flight to a dying leader stalls for etcd's ~6 s proposal timeout, then
//! succeeds). Reads are retried freely. A transaction whose outcome is unknown is run again
//! only in ways that cannot apply it twice: see [`EtcdStore::txn`]'s comments. Watches resume
//! from their next revision on another member when their stream breaks.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client as ec;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{Result, StoreError};
use crate::store::{Store, WatchStream};
use crate::types::*;

/// Connection tuning for [`EtcdStore`].
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    pub connect_timeout: Duration,
    /// Deadline of one request attempt (etcd itself gives up on a proposal after ~7 s).
    pub request_timeout: Duration,
    /// How long failed attempts that are safe to repeat keep being retried.
    pub retry_for: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(10),
        }
    }
}

/// Responses can be far larger than tonic's 4 MiB default (a list of every pod); etcd itself
/// sends up to 2 GiB.
const MAX_RESPONSE_BYTES: usize = 512 << 20;

pub struct EtcdStore {
    client: ec::Client,
    endpoints: String,
    options: EtcdOptions,
}

/// Whether an attempt can be repeated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Retry {
    /// The request never reached a member that could apply it.
    NotSent,
    /// It may or may not have been applied.
    Unknown,
    No,
}

fn retry_class(e: &ec::Error) -> Retry {
    match e {
        ec::Error::TransportError(_) | ec::Error::IoError(_) => Retry::NotSent,
        ec::Error::GRpcStatus(s) => {
            let msg = s.message();
            match s.code() {
                tonic::Code::Unavailable
                    if msg.contains("connect")
                        || msg.contains("no leader")
                        || msg.contains("not capable") =>
                {
                    Retry::NotSent
                }
                // Raft dropped the proposal before logging it (no leader at that moment).
                _ if msg.contains("proposal dropped") => Retry::NotSent,
                tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Cancelled
                | tonic::Code::Unknown => Retry::Unknown,
                _ => Retry::No,
            }
        }
        ec::Error::LeaseKeepAliveError(m) if m.contains("not found") => Retry::No,
        ec::Error::WatchError(_) | ec::Error::LeaseKeepAliveError(_) => Retry::Unknown,
        _ => Retry::No,
    }
}

fn status_message(e: &ec::Error) -> &str {
    match e {
        ec::Error::GRpcStatus(s) => s.message(),
        ec::Error::LeaseKeepAliveError(m) | ec::Error::WatchError(m) => m,
        _ => "",
    }
}

fn kv_from(kv: &ec::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key().to_vec(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: kv.lease(),
    }
}

fn get_options(r: &RangeRequest) -> ec::GetOptions {
    let mut o = ec::GetOptions::new()
        .with_limit(r.limit)
        .with_revision(r.revision);
    if !r.range_end.is_empty() {
        o = o.with_range(r.range_end.clone());
    }
    if r.keys_only {
        o = o.with_keys_only();
    }
    if r.count_only {
        o = o.with_count_only();
    }
    o
}

fn range_from(resp: &ec::GetResponse) -> RangeResponse {
    RangeResponse {
        revision: resp.header().map_or(0, |h| h.revision()),
        kvs: resp.kvs().iter().map(kv_from).collect(),
        count: resp.count(),
        more: resp.more(),
    }
}

fn compare_to(c: &Compare) -> ec::Compare {
    let op = match c.op {
        CompareOp::Equal => ec::CompareOp::Equal,
        CompareOp::NotEqual => ec::CompareOp::NotEqual,
        CompareOp::Greater => ec::CompareOp::Greater,
        CompareOp::Less => ec::CompareOp::Less,
    };
    let key = c.key.clone();
    match &c.target {
        CompareTarget::Version(n) => ec::Compare::version(key, op, *n),
        CompareTarget::CreateRevision(n) => ec::Compare::create_revision(key, op, *n),
        CompareTarget::ModRevision(n) => ec::Compare::mod_revision(key, op, *n),
        CompareTarget::Value(v) => ec::Compare::value(key, op, v.clone()),
        CompareTarget::Lease(n) => ec::Compare::lease(key, op, *n),
    }
}

fn op_to(op: &Op) -> ec::TxnOp {
    match op {
        Op::Range(r) => ec::TxnOp::get(r.key.clone(), Some(get_options(r))),
        Op::Put(p) => {
            let mut o = ec::PutOptions::new().with_lease(p.lease);
            if p.prev_kv {
                o = o.with_prev_key();
            }
            ec::TxnOp::put(p.key.clone(), p.value.clone(), Some(o))
        }
        Op::Delete(d) => {
            let mut o = ec::DeleteOptions::new();
            if !d.range_end.is_empty() {
                o = o.with_range(d.range_end.clone());
            }
            if d.prev_kv {
                o = o.with_prev_key();
            }
            ec::TxnOp::delete(d.key.clone(), Some(o))
        }
    }
}

fn txn_size(txn: &Txn) -> usize {
    let ops = txn.success.iter().chain(&txn.failure);
    ops.map(|op| match op {
        Op::Put(p) => p.key.len() + p.value.len(),
        Op::Range(r) => r.key.len(),
        Op::Delete(d) => d.key.len(),
    })
    .sum()
}

impl EtcdStore {
    /// Connect to the members at `endpoints` (`http://host:port`), and check that one answers.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<Self> {
        let joined = endpoints.join(",");
        let connect = ec::ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_timeout(options.request_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            // A member cut off from the others must not serve watches that silently stall.
            .with_require_leader(true);
        let client = ec::Client::connect(endpoints, Some(connect))
            .await
            .map_err(|e| StoreError::Etcd {
                endpoints: joined.clone(),
                op: "connect",
                source: Box::new(e),
            })?;
        let store = Self {
            client,
            endpoints: joined,
            options,
        };
        store.current_revision().await?;
        Ok(store)
    }

    fn other(&self, op: &'static str, e: ec::Error) -> StoreError {
        let msg = status_message(&e);
        if msg.contains("key is not provided") {
            return StoreError::EmptyKey;
        }
        if msg.contains("duplicate key given in txn request") {
            return StoreError::DuplicateKey { key: String::new() };
        }
        if msg.contains("too many operations in txn request") {
            return StoreError::InvalidArgument(format!(
                "more than {MAX_TXN_OPS} operations in one transaction branch; split the transaction"
            ));
        }
        StoreError::Etcd {
            endpoints: self.endpoints.clone(),
            op,
            source: Box::new(e),
        }
    }

    /// Run `attempt` until it succeeds, fails for good, or retrying stops being safe.
    async fn retry<T, F, Fut>(&self, idempotent: bool, mut attempt: F) -> Result<T, ec::Error>
    where
        F: FnMut(ec::Client) -> Fut,
        Fut: Future<Output = Result<T, ec::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.options.retry_for;
        let mut pause = Duration::from_millis(25);
        loop {
            let e = match attempt(self.client.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let again = match retry_class(&e) {
                Retry::NotSent => true,
                Retry::Unknown => idempotent,
                Retry::No => false,
            };
            if !again || tokio::time::Instant::now() + pause > deadline {
                return Err(e);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// etcd's "compacted" errors on ranges carry no revision; a watch from revision 1 is
    /// answered with the compaction revision, so ask that way (only on this error path).
    async fn compact_revision(&self) -> i64 {
        let ask = async {
            let opts = ec::WatchOptions::new().with_start_revision(1);
            let mut stream = self
                .client
                .watch_client()
                .watch(vec![0u8], Some(opts))
                .await
                .ok()?;
            while let Ok(Some(resp)) = stream.message().await {
                if resp.compact_revision() > 0 {
                    return Some(resp.compact_revision());
                }
            }
            None
        };
        tokio::time::timeout(Duration::from_secs(2), ask)
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    async fn revision_error(&self, requested: i64, op: &'static str, e: ec::Error) -> StoreError {
        let msg = status_message(&e);
        if msg.contains("required revision has been compacted") {
            return StoreError::Compacted {
                requested,
                compact_revision: self.compact_revision().await,
            };
        }
        if msg.contains("required revision is a future revision") {
            return StoreError::FutureRevision { requested };
        }
        self.other(op, e)
    }

    /// Whether a branch made only of puts (how the API server creates and updates objects)
    /// is what the store holds now, all at one revision: then an ambiguous first attempt of it
    /// was applied, and that revision is returned.
    async fn applied_at(&self, ops: &[Op]) -> Option<i64> {
        let mut at = None;
        for op in ops {
            let Op::Put(p) = op else { return None };
            if p.prev_kv {
                return None;
            }
            let kv = self.get(&p.key).await.ok()??;
            if kv.value != p.value
                || kv.lease != p.lease
                || at.is_some_and(|a| a != kv.mod_revision)
            {
                return None;
            }
            at = Some(kv.mod_revision);
        }
        at
    }

    /// Lowest revision any range op of `txn` reads at, for error reports.
    fn txn_read_revision(txn: &Txn) -> i64 {
        txn.success
            .iter()
            .chain(&txn.failure)
            .filter_map(|op| match op {
                Op::Range(r) if r.revision > 0 => Some(r.revision),
                _ => None,
            })
            .min()
            .unwrap_or(0)
    }
}

#[async_trait]
impl Store for EtcdStore {
    fn backend(&self) -> &'static str {
        "etcd"
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        validate_range(&req)?;
        let resp = self
            .retry(true, |c| {
                let req = &req;
                async move {
                    c.kv_client()
                        .max_decoding_message_size(MAX_RESPONSE_BYTES)
                        .get(req.key.clone(), Some(get_options(req)))
                        .await
                }
            })
            .await;
        match resp {
            Ok(resp) => Ok(range_from(&resp)),
            Err(e) => Err(self.revision_error(req.revision, "range", e).await),
        }
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        validate_txn(&txn)?;
        let etcd_txn = ec::Txn::new()
            .when(txn.compare.iter().map(compare_to).collect::<Vec<_>>())
            .and_then(txn.success.iter().map(op_to).collect::<Vec<_>>())
            .or_else(txn.failure.iter().map(op_to).collect::<Vec<_>>());
        let attempt = |c: ec::Client| {
            let t = etcd_txn.clone();
            async move {
                c.kv_client()
                    .max_decoding_message_size(MAX_RESPONSE_BYTES)
                    .txn(t)
                    .await
            }
        };
        let mut resp = self.retry(false, attempt).await;
        let mut ambiguous = false;
        if matches!(&resp, Err(e) if retry_class(e) == Retry::Unknown) {
            // The first attempt may or may not have been applied (typically: it went through
            // a member whose leader had just died, and timed out). Running it again is safe:
            // without compares it is a last-writer-wins write of the same values; with
            // compares, a second run after an applied first one fails its compares and
            // changes nothing, which `applied_at` then recognises.
            ambiguous = true;
            resp = self.retry(true, attempt).await;
        }
        let resp = match resp {
            Ok(resp) => resp,
            Err(e) if status_message(&e).contains("request is too large") => {
                return Err(StoreError::RequestTooLarge {
                    size: txn_size(&txn),
                    limit: MAX_REQUEST_BYTES,
                });
            }
            Err(e) if status_message(&e).contains("requested lease not found") => {
                let id = txn
                    .success
                    .iter()
                    .chain(&txn.failure)
                    .find_map(|op| match op {
                        Op::Put(p) if p.lease != 0 => Some(p.lease),
                        _ => None,
                    })
                    .unwrap_or(0);
                return Err(StoreError::LeaseNotFound { id });
            }
            Err(e) => {
                return Err(self
                    .revision_error(Self::txn_read_revision(&txn), "txn", e)
                    .await)
            }
        };
        let revision = resp.header().map_or(0, |h| h.revision());
        let responses = resp
            .op_responses()
            .into_iter()
            .map(|r| match r {
                ec::TxnOpResponse::Get(g) => OpResponse::Range(RangeResponse {
                    revision,
                    ..range_from(&g)
                }),
                ec::TxnOpResponse::Put(p) => OpResponse::Put(PutResponse {
                    revision,
                    prev_kv: p.prev_key().map(kv_from),
                }),
                ec::TxnOpResponse::Delete(d) => OpResponse::Delete(DeleteResponse {
                    revision,
                    deleted: d.deleted(),
                    prev_kvs: d.prev_kvs().iter().map(kv_from).collect(),
                }),
                // Nested transactions are never sent.
                ec::TxnOpResponse::Txn(_) => OpResponse::Delete(DeleteResponse::default()),
            })
            .collect();
        if ambiguous && !resp.succeeded() {
            if let Some(at) = self.applied_at(&txn.success).await {
                return Ok(TxnResponse {
                    succeeded: true,
                    responses: txn
                        .success
                        .iter()
                        .map(|_| {
                            OpResponse::Put(PutResponse {
                                revision: at,
                                prev_kv: None,
                            })
                        })
                        .collect(),
                    revision: at,
                });
            }
        }
        Ok(TxnResponse {
            succeeded: resp.succeeded(),
            responses,
            revision,
        })
    }

    async fn watch(&self, req: WatchRequest) -> Result<WatchStream> {
        validate_watch(&req)?;
        let start = if req.start_revision > 0 {
            req.start_revision
        } else {
            self.current_revision().await? + 1
        };
        let (tx, rx) = mpsc::channel(256);
        let watcher = EtcdWatch {
            client: self.client.clone(),
            endpoints: self.endpoints.clone(),
            retry_for: self.options.retry_for,
            req,
            next: start,
            tx,
        };
        // Create the first server-side watch before returning, so events written after
        // `watch` returns are never missed and a bad request fails here.
        let stream = watcher.open().await?;
        tokio::spawn(watcher.run(stream));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let resp = self
            .retry(true, |mut c| async move {
                c.compact(revision, Some(ec::CompactionOptions::new().with_physical()))
                    .await
            })
            .await;
        match resp {
            Ok(_) => Ok(()),
            Err(e) => Err(self.revision_error(revision, "compact", e).await),
        }
    }

    async fn current_revision(&self) -> Result<i64> {
        // A count-only read of one key is the cheapest request that returns the revision.
        let resp = self
            .retry(true, |mut c| async move {
                c.get(vec![0u8], Some(ec::GetOptions::new().with_count_only()))
                    .await
            })
            .await
            .map_err(|e| self.other("read revision", e))?;
        Ok(resp.header().map_or(0, |h| h.revision()))
    }

    async fn lease_grant(&self, ttl: i64) -> Result<Lease> {
        let resp = self
            // A lease granted by an attempt whose answer was lost just expires unused.
            .retry(true, |mut c| async move { c.lease_grant(ttl, None).await })
            .await
            .map_err(|e| self.other("lease grant", e))?;
        Ok(Lease {
            id: resp.id(),
            ttl: resp.ttl(),
        })
    }

    async fn lease_revoke(&self, id: i64) -> Result<()> {
        match self
            .retry(true, |mut c| async move { c.lease_revoke(id).await })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status_message(&e).contains("lease not found") => {
                Err(StoreError::LeaseNotFound { id })
            }
            Err(e) => Err(self.other("lease revoke", e)),
        }
    }

    async fn lease_keepalive(&self, id: i64) -> Result<i64> {
        let resp = self
            .retry(true, |mut c| async move {
                // etcd-client checks the first answer and reports "lease not found" for an
                // unknown or expired lease; the TTL comes from a second call.
                c.lease_keep_alive(id).await?;
                c.lease_time_to_live(id, None).await
            })
            .await;
        match resp {
            Ok(resp) if resp.ttl() > 0 => Ok(resp.granted_ttl()),
            Ok(_) => Err(StoreError::LeaseNotFound { id }),
            Err(e) if status_message(&e).contains("lease not found") => {
                Err(StoreError::LeaseNotFound { id })
            }
            Err(e) => Err(self.other("lease keepalive", e)),
        }
    }
}

/// One watch, re-created from its next revision when the stream to a member breaks.
struct EtcdWatch {
    client: ec::Client,
    endpoints: String,
    retry_for: Duration,
    req: WatchRequest,
    next: i64,
    tx: mpsc::Sender<Result<WatchEvent>>,
}

impl EtcdWatch {
    async fn open(&self) -> Result<ec::WatchStream> {
        let deadline = tokio::time::Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(25);
        loop {
            let mut opts = ec::WatchOptions::new().with_start_revision(self.next);
            if !self.req.range_end.is_empty() {
                opts = opts.with_range(self.req.range_end.clone());
            }
            if self.req.prev_kv {
                opts = opts.with_prev_key();
            }
            let e = match self
                .client
                .watch_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES)
                .watch(self.req.key.clone(), Some(opts))
                .await
            {
                Ok(stream) => return Ok(stream),
                Err(e) => e,
            };
            if retry_class(&e) == Retry::No || tokio::time::Instant::now() + pause > deadline {
                return Err(StoreError::Etcd {
                    endpoints: self.endpoints.clone(),
                    op: "watch",
                    source: Box::new(e),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    async fn run(mut self, mut stream: ec::WatchStream) {
        loop {
            let message = tokio::select! {
                _ = self.tx.closed() => return,
                m = stream.message() => m,
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                // The member went away or ended the stream: resume elsewhere.
                Ok(None) | Err(_) => match self.open().await {
                    Ok(s) => {
                        stream = s;
                        continue;
                    }
                    Err(e) => {
                        let _ = self.tx.send(Err(e)).await;
                        return;
                    }
                },
            };
            if resp.compact_revision() > 0 {
                let _ = self
                    .tx
                    .send(Err(StoreError::Compacted {
                        requested: self.next,
                        compact_revision: resp.compact_revision(),
                    }))
                    .await;
                return;
            }
            if resp.canceled() {
                let reason = resp.cancel_reason().to_string();
                let source: crate::error::Cause = if reason.is_empty() {
                    "the server canceled the watch".into()
                } else {
                    reason.into()
                };
                let _ = self
                    .tx
                    .send(Err(StoreError::Etcd {
                        endpoints: self.endpoints.clone(),
                        op: "watch",
                        source,
                    }))
                    .await;
                return;
            }
            for ev in resp.events() {
                let Some(kv) = ev.kv() else { continue };
                let kind = match ev.event_type() {
                    ec::EventType::Put => EventType::Put,
                    ec::EventType::Delete => EventType::Delete,
                };
                let event = WatchEvent {
                    kind,
                    kv: kv_from(kv),
                    prev_kv: ev.prev_kv().map(kv_from),
                };
                self.next = self.next.max(event.kv.mod_revision + 1);
                if self.tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        }
    }
}
