//! The single writer thread. redb allows one write transaction at a time and each durable
//! commit costs an fsync, so the writer drains every request queued while the previous commit
//! was running and commits them together (group commit): N concurrent writers share one fsync.
//! Each request still gets its own revision and its own all-or-nothing outcome, because every
//! check a request can fail is made before it changes anything.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use redb::{Database, ReadableTable, Table, WriteTransaction};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::*;

/// Largest TTL etcd grants (its `MaxLeaseTTL`).
const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// Revisions pruned per physical-compaction commit: small enough that writers queued behind
/// it wait milliseconds, not seconds.
const COMPACT_CHUNK: usize = 512;

type Reply<T> = oneshot::Sender<Result<T>>;

pub(super) enum Request {
    Txn(Txn, Reply<TxnResponse>),
    Compact(i64, Reply<()>),
    LeaseGrant(i64, Reply<Lease>),
    LeaseRevoke(i64, Reply<()>),
    LeaseKeepAlive(i64, Reply<i64>),
    /// From the reaper: revoke these if they are still expired when the writer gets to them
    /// (a keepalive may have been queued first).
    ExpireLeases(Vec<i64>),
    AutoCompact(i64),
}

/// Counters the writer owns; readers see copies in [`Shared`] after each commit.
pub(super) struct WriterState {
    revision: i64,
    compact: i64,
    compacted: i64,
    next_lease: i64,
    leases: HashMap<i64, LeaseState>,
}

/// Open or create the file, create missing tables, and load the writer's state.
pub(super) fn open_file(path: PathBuf, opts: &EmbeddedOptions) -> Result<(Shared, WriterState)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Storage {
            path: path.clone(),
            op: "create the data directory",
            source: Box::new(e),
        })?;
    }
    let run = || -> Result<(Database, WriterState), DbFail> {
        let db = redb::Builder::new()
            .set_cache_size(opts.cache_bytes)
            .create(&path)
            .ctx("open")?;
        let mut wtx = db.begin_write().ctx("begin write")?;
        wtx.set_quick_repair(opts.quick_repair);
        let state = {
            let mut t = Tables::open(&wtx)?;
            let format = meta_get(&t.meta, META_FORMAT)?;
            if format == 0 {
                t.meta
                    .insert(META_FORMAT, FORMAT_VERSION)
                    .ctx("init meta")?;
                t.meta.insert(META_REVISION, 1).ctx("init meta")?;
                t.meta.insert(META_NEXT_LEASE, 1).ctx("init meta")?;
            } else if format != FORMAT_VERSION {
                return Err(DbFail::corrupt(
                    "check format",
                    format!(
                        "the file has store format {format}, this skiff knows format \
                         {FORMAT_VERSION}; open it with the skiff version that wrote it"
                    ),
                ));
            }
            let now = now_ms();
            let mut leases = HashMap::new();
            for entry in t.leases.iter().ctx("read leases")? {
                let (id, v) = entry.ctx("read leases")?;
                let (ttl, deadline_ms) = v.value();
                let grace = LEASE_RESTART_GRACE.as_millis().min(ttl as u128 * 1000) as u64;
                let deadline_ms = deadline_ms.max(now + grace);
                leases.insert(id.value(), LeaseState { ttl, deadline_ms });
            }
            WriterState {
                revision: meta_get(&t.meta, META_REVISION)? as i64,
                compact: meta_get(&t.meta, META_COMPACT)? as i64,
                compacted: meta_get(&t.meta, META_COMPACTED)? as i64,
                next_lease: meta_get(&t.meta, META_NEXT_LEASE)? as i64,
                leases,
            }
        };
        wtx.commit().ctx("commit")?;
        Ok((db, state))
    };
    let (db, state) = run().map_err(|e| e.into_store(&path))?;
    // redb syncs the file, not its directory entry: sync that too, so a store file created
    // just before a power cut is still there afterwards.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::Storage {
                path: path.clone(),
                op: "sync the data directory",
                source: Box::new(e),
            })?;
    }
    let shared = Shared {
        db,
        path,
        revision: AtomicI64::new(state.revision),
        compact_revision: AtomicI64::new(state.compact),
        leases: Mutex::new(state.leases.clone()),
        quick_repair: opts.quick_repair,
    };
    Ok((shared, state))
}

struct Tables<'t> {
    meta: Table<'t, &'static str, u64>,
    kv: Table<'t, &'static [u8], u64>,
    hist: Table<'t, (&'static [u8], u64), &'static [u8]>,
    log: Table<'t, u64, &'static [u8]>,
    leases: Table<'t, i64, (i64, u64)>,
    lease_keys: Table<'t, (i64, &'static [u8]), ()>,
}

impl<'t> Tables<'t> {
    fn open(wtx: &'t WriteTransaction) -> Result<Self, DbFail> {
        Ok(Self {
            meta: wtx.open_table(META).ctx("open meta")?,
            kv: wtx.open_table(KV).ctx("open kv")?,
            hist: wtx.open_table(HIST).ctx("open hist")?,
            log: wtx.open_table(LOG).ctx("open log")?,
            leases: wtx.open_table(LEASES).ctx("open leases")?,
            lease_keys: wtx.open_table(LEASE_KEYS).ctx("open lease_keys")?,
        })
    }
}

/// Sends a request's outcome once the batch's commit is known: its own result if the commit
/// succeeded, the commit's failure otherwise.
type Finish = Box<dyn FnOnce(Option<&str>, &std::path::Path) + Send>;

fn finish<T: Send + 'static>(reply: Reply<T>, result: Result<T>) -> Finish {
    Box::new(move |commit_failure, path| {
        let outcome = match commit_failure {
            None => result,
            Some(msg) => Err(StoreError::Storage {
                path: path.to_path_buf(),
                op: "commit",
                source: msg.to_string().into(),
            }),
        };
        // The caller may have given up (dropped its future); nothing to do then.
        let _ = reply.send(outcome);
    })
}

/// What one batch changes, applied to the writer's state only once the commit succeeds.
struct Batch<'w> {
    committed: &'w WriterState,
    revision: i64,
    compact: i64,
    next_lease: i64,
    /// Lease changes in this batch: `None` for a revoked lease.
    leases: HashMap<i64, Option<LeaseState>>,
    events: Vec<WatchEvent>,
}

impl Batch<'_> {
    fn lease(&self, id: i64) -> Option<LeaseState> {
        match self.leases.get(&id) {
            Some(change) => *change,
            None => self.committed.leases.get(&id).copied(),
        }
    }
}

pub(super) struct Writer {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    hub: broadcast::Sender<Arc<Committed>>,
    state: WriterState,
    max_batch: usize,
}

impl Writer {
    pub(super) fn new(
        shared: Arc<Shared>,
        rx: mpsc::Receiver<Request>,
        hub: broadcast::Sender<Arc<Committed>>,
        state: WriterState,
        max_batch: usize,
    ) -> Self {
        Self {
            shared,
            rx,
            hub,
            state,
            max_batch: max_batch.max(1),
        }
    }

    pub(super) fn run(mut self) {
        let mut batches_since_prune = 0u32;
        loop {
            let pruning = self.state.compacted < self.state.compact;
            let first = if pruning {
                match self.rx.try_recv() {
                    Ok(req) => req,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.prune();
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            } else {
                match self.rx.blocking_recv() {
                    Some(req) => req,
                    None => return,
                }
            };
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(_) => break,
                }
            }
            self.run_batch(batch);
            // Under constant load the queue is never empty: still make pruning progress.
            batches_since_prune += 1;
            if pruning && batches_since_prune >= 8 {
                batches_since_prune = 0;
                self.prune();
            }
        }
    }

    fn run_batch(&mut self, requests: Vec<Request>) {
        let mut finishers: Vec<Finish> = Vec::with_capacity(requests.len());
        let mut batch = Batch {
            committed: &self.state,
            revision: self.state.revision,
            compact: self.state.compact,
            next_lease: self.state.next_lease,
            leases: HashMap::new(),
            events: Vec::new(),
        };
        let outcome = (|| -> Result<(), DbFail> {
            let mut wtx = self.shared.db.begin_write().ctx("begin write")?;
            wtx.set_quick_repair(self.shared.quick_repair);
            {
                let mut t = Tables::open(&wtx)?;
                for req in requests {
                    let finisher = match req {
                        Request::Txn(txn, reply) => {
                            finish(reply, apply_txn(&mut t, &mut batch, txn)?)
                        }
                        Request::Compact(rev, reply) => {
                            finish(reply, set_compact(&mut t, &mut batch, rev)?)
                        }
                        Request::AutoCompact(rev) => {
                            // Losing a race with an explicit compaction is fine.
                            let _ = set_compact(&mut t, &mut batch, rev)?;
                            continue;
                        }
                        Request::LeaseGrant(ttl, reply) => {
                            finish(reply, lease_grant(&mut t, &mut batch, ttl)?)
                        }
                        Request::LeaseRevoke(id, reply) => {
                            let result = if revoke(&mut t, &mut batch, id)? {
                                Ok(())
                            } else {
                                Err(StoreError::LeaseNotFound { id })
                            };
                            finish(reply, result)
                        }
                        Request::LeaseKeepAlive(id, reply) => {
                            finish(reply, keepalive(&mut t, &mut batch, id)?)
                        }
                        Request::ExpireLeases(ids) => {
                            let now = now_ms();
                            for id in ids {
                                if batch.lease(id).is_some_and(|l| l.deadline_ms <= now) {
                                    revoke(&mut t, &mut batch, id)?;
                                }
                            }
                            continue;
                        }
                    };
                    finishers.push(finisher);
                }
            }
            wtx.commit().ctx("commit")
        })();

        let path = self.shared.path.clone();
        if let Err(fail) = outcome {
            // Nothing of the batch is stored: redb dropped the uncommitted transaction.
            let msg = fail.into_store(&path).to_string();
            for f in finishers {
                f(Some(&msg), &path);
            }
            return;
        }
        let Batch {
            revision,
            compact,
            next_lease,
            leases,
            events,
            ..
        } = batch;
        self.state.revision = revision;
        self.state.compact = compact;
        self.state.next_lease = next_lease;
        {
            let mut shared_leases = self.shared.leases.lock().unwrap_or_else(|p| p.into_inner());
            for (id, change) in leases {
                match change {
                    Some(l) => {
                        self.state.leases.insert(id, l);
                        shared_leases.insert(id, l);
                    }
                    None => {
                        self.state.leases.remove(&id);
                        shared_leases.remove(&id);
                    }
                }
            }
        }
        self.shared.revision.store(revision, Ordering::Release);
        self.shared
            .compact_revision
            .store(compact, Ordering::Release);
        // Watches first, then acknowledgements: a client that sees its write acknowledged
        // can rely on watchers having been handed the event.
        if !events.is_empty() {
            let _ = self.hub.send(Arc::new(Committed {
                last_revision: revision,
                events,
            }));
        }
        for f in finishers {
            f(None, &path);
        }
    }

    /// Prune one chunk of history below the compaction revision, in its own commit.
    fn prune(&mut self) {
        let target = self.state.compact;
        let from = self.state.compacted;
        let outcome = (|| -> Result<i64, DbFail> {
            let mut wtx = self.shared.db.begin_write().ctx("begin write")?;
            wtx.set_quick_repair(self.shared.quick_repair);
            let through;
            {
                let mut t = Tables::open(&wtx)?;
                let mut revs = Vec::new();
                let mut keys = BTreeSet::new();
                for entry in t
                    .log
                    .range(from as u64..target as u64)
                    .ctx("read log")?
                    .take(COMPACT_CHUNK)
                {
                    let (rev, list) = entry.ctx("read log")?;
                    let list = codec::decode_keys(list.value())
                        .ok_or_else(|| {
                            DbFail::corrupt(
                                "read log",
                                format!("log entry {} is malformed", rev.value()),
                            )
                        })?
                        .into_iter()
                        .map(<[u8]>::to_vec);
                    keys.extend(list);
                    revs.push(rev.value());
                }
                through = if revs.len() < COMPACT_CHUNK {
                    target
                } else {
                    *revs.last().unwrap_or(&(from as u64)) as i64 + 1
                };
                for rev in revs {
                    t.log.remove(rev).ctx("prune log")?;
                }
                for key in keys {
                    prune_key(&mut t, &key, target as u64)?;
                }
                t.meta
                    .insert(META_COMPACTED, through as u64)
                    .ctx("write meta")?;
            }
            wtx.commit().ctx("commit")?;
            Ok(through)
        })();
        match outcome {
            Ok(through) => self.state.compacted = through,
            Err(fail) => {
                // Pruning only reclaims space; stop for now and retry after the next
                // compaction request rather than spin on a failing disk.
                tracing::warn!(
                    error = %fail.into_store(&self.shared.path),
                    "skiff-store: pruning compacted history failed; will retry on next compaction"
                );
                self.state.compacted = self.state.compact;
            }
        }
    }
}

/// Drop the versions of `key` older than `target` that no read at or after `target` needs:
/// all of them, except the newest when it is a put and nothing was written at `target`.
fn prune_key(t: &mut Tables, key: &[u8], target: u64) -> Result<(), DbFail> {
    let mut older = Vec::new();
    for entry in t.hist.range((key, 0u64)..(key, target)).ctx("read hist")? {
        let (k, v) = entry.ctx("read hist")?;
        older.push((
            k.value().1,
            decode_record(v.value(), key, k.value().1)?.is_put(),
        ));
    }
    let at_target = t.hist.get((key, target)).ctx("read hist")?.is_some();
    let keep = match older.last() {
        Some(&(rev, true)) if !at_target => Some(rev),
        _ => None,
    };
    for (rev, _) in older {
        if Some(rev) != keep {
            t.hist.remove((key, rev)).ctx("prune hist")?;
        }
    }
    Ok(())
}

/// Record that revision `rev` changed `keys`.
fn end_revision(t: &mut Tables, b: &mut Batch, rev: i64, keys: &[Vec<u8>]) -> Result<(), DbFail> {
    let list = codec::encode_keys(keys.iter().map(Vec::as_slice));
    t.log.insert(rev as u64, list.as_slice()).ctx("write log")?;
    t.meta.insert(META_REVISION, rev as u64).ctx("write meta")?;
    b.revision = rev;
    Ok(())
}

fn delete_key(
    t: &mut Tables,
    b: &mut Batch,
    prev: KeyValue,
    rev: i64,
    changed: &mut Vec<Vec<u8>>,
) -> Result<KeyValue, DbFail> {
    let key = prev.key.as_slice();
    t.hist
        .insert((key, rev as u64), codec::encode_tombstone())
        .ctx("write hist")?;
    t.kv.remove(key).ctx("write kv")?;
    if prev.lease != 0 {
        t.lease_keys
            .remove((prev.lease, key))
            .ctx("write lease_keys")?;
    }
    changed.push(prev.key.clone());
    b.events.push(WatchEvent {
        kind: EventType::Delete,
        kv: KeyValue {
            key: prev.key.clone(),
            mod_revision: rev,
            ..KeyValue::default()
        },
        prev_kv: Some(prev.clone()),
    });
    Ok(prev)
}

fn apply_txn(t: &mut Tables, b: &mut Batch, txn: Txn) -> Result<Result<TxnResponse>, DbFail> {
    let mut succeeded = true;
    for c in &txn.compare {
        let current = current_kv(&t.kv, &t.hist, &c.key)?;
        if !c.holds(current.as_ref()) {
            succeeded = false;
            break;
        }
    }
    let ops = if succeeded { txn.success } else { txn.failure };
    // Everything that can refuse the request is checked before the first write.
    for op in &ops {
        match op {
            Op::Put(p) if p.lease != 0 && b.lease(p.lease).is_none() => {
                return Ok(Err(StoreError::LeaseNotFound { id: p.lease }));
            }
            Op::Range(r) => {
                if let Err(e) = read_revision(r.revision, b.revision, b.compact) {
                    return Ok(Err(e));
                }
            }
            _ => {}
        }
    }
    let rev = b.revision + 1;
    let mut changed: Vec<Vec<u8>> = Vec::new();
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            Op::Range(r) => {
                // Reads inside a transaction see its earlier writes, as in etcd.
                let current = if changed.is_empty() { b.revision } else { rev };
                let at = if r.revision > 0 { r.revision } else { current };
                responses.push(OpResponse::Range(scan_range(
                    &t.kv, &t.hist, &r, at, current,
                )?));
            }
            Op::Put(p) => {
                let prev = current_kv(&t.kv, &t.hist, &p.key)?;
                let kv = KeyValue {
                    create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
                    version: prev.as_ref().map_or(1, |p| p.version + 1),
                    mod_revision: rev,
                    lease: p.lease,
                    key: p.key,
                    value: p.value,
                };
                let key = kv.key.as_slice();
                t.hist
                    .insert((key, rev as u64), codec::encode_put(&kv).as_slice())
                    .ctx("write hist")?;
                t.kv.insert(key, rev as u64).ctx("write kv")?;
                if let Some(old) = prev
                    .as_ref()
                    .map(|p| p.lease)
                    .filter(|&l| l != 0 && l != kv.lease)
                {
                    t.lease_keys.remove((old, key)).ctx("write lease_keys")?;
                }
                if kv.lease != 0 {
                    t.lease_keys
                        .insert((kv.lease, key), ())
                        .ctx("write lease_keys")?;
                }
                changed.push(kv.key.clone());
                responses.push(OpResponse::Put(PutResponse {
                    revision: 0,
                    prev_kv: if p.prev_kv { prev.clone() } else { None },
                }));
                b.events.push(WatchEvent {
                    kind: EventType::Put,
                    kv,
                    prev_kv: prev,
                });
            }
            Op::Delete(d) => {
                let mut victims = Vec::new();
                for entry in
                    t.kv.range::<&[u8]>(key_bounds(&d.key, &d.range_end))
                        .ctx("read kv")?
                {
                    let (k, _) = entry.ctx("read kv")?;
                    victims.push(k.value().to_vec());
                }
                let mut prev_kvs = Vec::new();
                for key in &victims {
                    if let Some(prev) = current_kv(&t.kv, &t.hist, key)? {
                        let prev = delete_key(t, b, prev, rev, &mut changed)?;
                        if d.prev_kv {
                            prev_kvs.push(prev);
                        }
                    }
                }
                responses.push(OpResponse::Delete(DeleteResponse {
                    revision: 0,
                    deleted: victims.len() as i64,
                    prev_kvs,
                }));
            }
        }
    }
    if !changed.is_empty() {
        end_revision(t, b, rev, &changed)?;
    }
    for resp in &mut responses {
        match resp {
            OpResponse::Put(p) => p.revision = b.revision,
            OpResponse::Delete(d) => d.revision = b.revision,
            OpResponse::Range(r) => r.revision = b.revision,
        }
    }
    Ok(Ok(TxnResponse {
        succeeded,
        responses,
        revision: b.revision,
    }))
}

fn set_compact(t: &mut Tables, b: &mut Batch, rev: i64) -> Result<Result<()>, DbFail> {
    if rev > b.revision {
        return Ok(Err(StoreError::FutureRevision { requested: rev }));
    }
    if rev <= b.compact {
        return Ok(Err(StoreError::Compacted {
            requested: rev,
            compact_revision: b.compact,
        }));
    }
    t.meta.insert(META_COMPACT, rev as u64).ctx("write meta")?;
    b.compact = rev;
    Ok(Ok(()))
}

fn lease_grant(t: &mut Tables, b: &mut Batch, ttl: i64) -> Result<Result<Lease>, DbFail> {
    if ttl > MAX_LEASE_TTL {
        return Ok(Err(StoreError::InvalidArgument(format!(
            "lease TTL {ttl} s is over the maximum of {MAX_LEASE_TTL} s"
        ))));
    }
    let ttl = ttl.max(1);
    let id = b.next_lease;
    b.next_lease += 1;
    t.meta
        .insert(META_NEXT_LEASE, b.next_lease as u64)
        .ctx("write meta")?;
    let state = LeaseState {
        ttl,
        deadline_ms: now_ms() + ttl as u64 * 1000,
    };
    t.leases
        .insert(id, (ttl, state.deadline_ms))
        .ctx("write leases")?;
    b.leases.insert(id, Some(state));
    Ok(Ok(Lease { id, ttl }))
}

fn keepalive(t: &mut Tables, b: &mut Batch, id: i64) -> Result<Result<i64>, DbFail> {
    let now = now_ms();
    // An expired lease the reaper has not revoked yet is gone all the same (etcd agrees).
    let Some(lease) = b.lease(id).filter(|l| l.deadline_ms > now) else {
        return Ok(Err(StoreError::LeaseNotFound { id }));
    };
    let state = LeaseState {
        ttl: lease.ttl,
        deadline_ms: now + lease.ttl as u64 * 1000,
    };
    t.leases
        .insert(id, (state.ttl, state.deadline_ms))
        .ctx("write leases")?;
    b.leases.insert(id, Some(state));
    Ok(Ok(lease.ttl))
}

/// Revoke a lease and delete its keys at one new revision. False if there is no such lease.
fn revoke(t: &mut Tables, b: &mut Batch, id: i64) -> Result<bool, DbFail> {
    if b.lease(id).is_none() {
        return Ok(false);
    }
    let empty: &[u8] = &[];
    let mut keys = Vec::new();
    for entry in t
        .lease_keys
        .range((id, empty)..(id.saturating_add(1), empty))
        .ctx("read lease_keys")?
    {
        let (k, _) = entry.ctx("read lease_keys")?;
        keys.push(k.value().1.to_vec());
    }
    let rev = b.revision + 1;
    let mut changed = Vec::new();
    for key in keys {
        t.lease_keys
            .remove((id, key.as_slice()))
            .ctx("write lease_keys")?;
        if let Some(prev) = current_kv(&t.kv, &t.hist, &key)?.filter(|kv| kv.lease == id) {
            delete_key(t, b, prev, rev, &mut changed)?;
        }
    }
    t.leases.remove(id).ctx("write leases")?;
    b.leases.insert(id, None);
    if !changed.is_empty() {
        end_revision(t, b, rev, &changed)?;
    }
    Ok(true)
}
