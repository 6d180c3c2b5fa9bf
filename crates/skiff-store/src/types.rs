//! Requests, responses and the key-value record, shaped like etcd v3's protobuf messages so
//! the etcd backend is a field-by-field mapping and the embedded backend has the same
//! semantics to match.

use crate::error::{Result, StoreError};

/// Largest request accepted, counting the bytes of every key and value in it: etcd's default
/// `--max-request-bytes` (1.5 MiB). The embedded backend enforces the same number so a write
/// that works on one backend works on the other.
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;

/// Most compares, or operations per branch, in one transaction: etcd's default
/// `--max-txn-ops`, enforced by both backends.
pub const MAX_TXN_OPS: usize = 128;

/// One stored version of a key, exactly etcd's `mvccpb.KeyValue`.
///
/// In a delete event only `key` and `mod_revision` (the revision of the delete) are set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Revision of the put that created this key (since its last delete).
    pub create_revision: i64,
    /// Revision of the last write to this key.
    pub mod_revision: i64,
    /// Number of puts since creation; 1 for a new key.
    pub version: i64,
    /// Lease the key is attached to, 0 for none.
    pub lease: i64,
}

/// Read a single key or a key range, optionally at a past revision.
///
/// `range_end` follows etcd: empty means only `key`; `[0]` means every key `>= key`; anything
/// else is the exclusive end of `[key, range_end)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    /// Maximum number of key-values returned, 0 for no limit.
    pub limit: i64,
    /// Revision to read at, 0 (or less) for the current one.
    pub revision: i64,
    /// Return key-values without their values.
    pub keys_only: bool,
    /// Return only the count.
    pub count_only: bool,
}

impl RangeRequest {
    /// Exactly one key.
    pub fn key(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    /// Every key starting with `prefix`; an empty prefix means every key.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let (key, range_end) = prefix_range(prefix.into());
        Self {
            key,
            range_end,
            ..Self::default()
        }
    }

    /// Keys in `[start, end)`.
    pub fn range(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self {
            key: start.into(),
            range_end: end.into(),
            ..Self::default()
        }
    }

    pub fn with_limit(mut self, limit: i64) -> Self {
        self.limit = limit;
        self
    }

    pub fn with_revision(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }

    pub fn with_keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    pub fn with_count_only(mut self) -> Self {
        self.count_only = true;
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// Revision the read was served at.
    pub revision: i64,
    pub kvs: Vec<KeyValue>,
    /// Number of keys in the range, ignoring `limit`.
    pub count: i64,
    /// True when `limit` cut the result short.
    pub more: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutRequest {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Lease to attach the key to, 0 for none (which also detaches it from a previous lease).
    pub lease: i64,
    /// Return the previous version in the response.
    pub prev_kv: bool,
}

impl PutRequest {
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            ..Self::default()
        }
    }

    pub fn with_lease(mut self, lease: i64) -> Self {
        self.lease = lease;
        self
    }

    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutResponse {
    /// Revision of the transaction the put was part of.
    pub revision: i64,
    pub prev_kv: Option<KeyValue>,
}

/// Delete one key or a range (same `range_end` rules as [`RangeRequest`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    pub prev_kv: bool,
}

impl DeleteRequest {
    pub fn key(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let (key, range_end) = prefix_range(prefix.into());
        Self {
            key,
            range_end,
            prev_kv: false,
        }
    }

    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteResponse {
    pub revision: i64,
    pub deleted: i64,
    pub prev_kvs: Vec<KeyValue>,
}

/// What a [`Compare`] looks at. On a key that does not exist, versions and revisions read
/// as 0, and a `Value` comparison is false whatever the operator (etcd's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
    Value(Vec<u8>),
    Lease(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// A guard of a transaction: `<key's target> <op> <operand>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub target: CompareTarget,
    pub op: CompareOp,
}

impl Compare {
    pub fn new(key: impl Into<Vec<u8>>, target: CompareTarget, op: CompareOp) -> Self {
        Self {
            key: key.into(),
            target,
            op,
        }
    }

    /// `mod_revision(key) == revision`; with 0 this means "the key does not exist".
    pub fn mod_revision_is(key: impl Into<Vec<u8>>, revision: i64) -> Self {
        Self::new(key, CompareTarget::ModRevision(revision), CompareOp::Equal)
    }

    /// True for a key that exists (its version is above 0).
    pub fn exists(key: impl Into<Vec<u8>>) -> Self {
        Self::new(key, CompareTarget::Version(0), CompareOp::Greater)
    }

    /// The comparison against one key's current state (`None` when it does not exist).
    pub fn holds(&self, current: Option<&KeyValue>) -> bool {
        use std::cmp::Ordering;
        let ordering = match (&self.target, current) {
            (CompareTarget::Value(_), None) => return false,
            (CompareTarget::Value(want), Some(kv)) => kv.value.as_slice().cmp(want.as_slice()),
            (CompareTarget::Version(n), kv) => kv.map_or(0, |kv| kv.version).cmp(n),
            (CompareTarget::CreateRevision(n), kv) => kv.map_or(0, |kv| kv.create_revision).cmp(n),
            (CompareTarget::ModRevision(n), kv) => kv.map_or(0, |kv| kv.mod_revision).cmp(n),
            (CompareTarget::Lease(n), kv) => kv.map_or(0, |kv| kv.lease).cmp(n),
        };
        match self.op {
            CompareOp::Equal => ordering == Ordering::Equal,
            CompareOp::NotEqual => ordering != Ordering::Equal,
            CompareOp::Greater => ordering == Ordering::Greater,
            CompareOp::Less => ordering == Ordering::Less,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Range(RangeRequest),
    Put(PutRequest),
    Delete(DeleteRequest),
}

impl Op {
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put(PutRequest {
            key: key.into(),
            value: value.into(),
            ..PutRequest::default()
        })
    }

    pub fn put_with_lease(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, lease: i64) -> Self {
        Op::Put(PutRequest {
            key: key.into(),
            value: value.into(),
            lease,
            prev_kv: false,
        })
    }

    pub fn get(key: impl Into<Vec<u8>>) -> Self {
        Op::Range(RangeRequest::key(key))
    }

    pub fn delete(key: impl Into<Vec<u8>>) -> Self {
        Op::Delete(DeleteRequest::key(key))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResponse {
    Range(RangeResponse),
    Put(PutResponse),
    Delete(DeleteResponse),
}

/// If every compare holds, run `success`, else `failure`; atomically, at one revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    pub compare: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

impl Txn {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn when(mut self, compare: impl IntoIterator<Item = Compare>) -> Self {
        self.compare.extend(compare);
        self
    }

    pub fn and_then(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.success.extend(ops);
        self
    }

    pub fn or_else(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.failure.extend(ops);
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnResponse {
    pub succeeded: bool,
    /// One response per operation of the branch that ran, in order.
    pub responses: Vec<OpResponse>,
    /// The store's revision after the transaction: new if it wrote, unchanged otherwise.
    pub revision: i64,
}

/// Watch one key or a range from a revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    /// First revision to deliver; 0 means "changes after now".
    pub start_revision: i64,
    /// Attach the previous version of the key to each event.
    pub prev_kv: bool,
}

impl WatchRequest {
    pub fn key(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let (key, range_end) = prefix_range(prefix.into());
        Self {
            key,
            range_end,
            ..Self::default()
        }
    }

    pub fn from_revision(mut self, revision: i64) -> Self {
        self.start_revision = revision;
        self
    }

    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventType,
    /// For a put, the new version; for a delete, the key with `mod_revision` = the delete.
    pub kv: KeyValue,
    /// The version before this event, when asked for and still kept.
    pub prev_kv: Option<KeyValue>,
}

impl WatchEvent {
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

/// A granted lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub id: i64,
    /// Seconds the lease lives without a keepalive.
    pub ttl: i64,
}

/// Outcome of a compare-and-swap helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CasOutcome {
    /// The write happened at this revision.
    Written { revision: i64 },
    /// The key's `mod_revision` was not the expected one; `current` is what is stored now
    /// (`None` if the key does not exist), so the caller can retry without another read.
    Conflict { current: Option<KeyValue> },
}

/// The exclusive end of the range of keys starting with `prefix`: the prefix with its last
/// byte below 0xff incremented and what follows dropped. `[0]` (every key) for a prefix that is
/// empty or all 0xff.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn prefix_range(prefix: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    let end = prefix_end(&prefix);
    if prefix.is_empty() {
        // etcd rejects an empty key; `[0]..` with end `[0]` is its spelling of "all keys".
        (vec![0], end)
    } else {
        (prefix, end)
    }
}

/// Whether `key` falls in the etcd-style range `(start, end)`.
pub(crate) fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    if end.is_empty() {
        key == start
    } else if end == [0] {
        key >= start
    } else {
        key >= start && key < end
    }
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    Ok(())
}

fn check_size(size: usize) -> Result<()> {
    if size > MAX_REQUEST_BYTES {
        return Err(StoreError::RequestTooLarge {
            size,
            limit: MAX_REQUEST_BYTES,
        });
    }
    Ok(())
}

pub(crate) fn validate_range(req: &RangeRequest) -> Result<()> {
    check_key(&req.key)?;
    if req.limit < 0 {
        return Err(StoreError::InvalidArgument(format!(
            "limit {} is negative; use 0 for no limit",
            req.limit
        )));
    }
    Ok(())
}

pub(crate) fn validate_watch(req: &WatchRequest) -> Result<()> {
    check_key(&req.key)?;
    if req.start_revision < 0 {
        return Err(StoreError::InvalidArgument(format!(
            "watch start revision {} is negative; use 0 to watch from now",
            req.start_revision
        )));
    }
    Ok(())
}

/// Checks both backends apply before a transaction is run, so bad input fails the same way
/// (and before anything is written) on either.
pub(crate) fn validate_txn(txn: &Txn) -> Result<()> {
    let most = txn
        .compare
        .len()
        .max(txn.success.len())
        .max(txn.failure.len());
    if most > MAX_TXN_OPS {
        return Err(StoreError::InvalidArgument(format!(
            "{most} compares or operations in one transaction branch, over the limit of \
             {MAX_TXN_OPS}; split the transaction"
        )));
    }
    let mut size = 0usize;
    for c in &txn.compare {
        check_key(&c.key)?;
        size += c.key.len();
        if let CompareTarget::Value(v) = &c.target {
            size += v.len();
        }
    }
    for branch in [&txn.success, &txn.failure] {
        for op in branch {
            match op {
                Op::Range(r) => {
                    validate_range(r)?;
                    size += r.key.len() + r.range_end.len();
                }
                Op::Put(p) => {
                    check_key(&p.key)?;
                    size += p.key.len() + p.value.len();
                }
                Op::Delete(d) => {
                    check_key(&d.key)?;
                    size += d.key.len() + d.range_end.len();
                }
            }
        }
        check_duplicates(branch)?;
    }
    check_size(size)
}

/// etcd refuses a branch that writes one key twice (two puts, or a put inside a deleted
/// range): the outcome would depend on op order in a way watchers cannot see.
fn check_duplicates(ops: &[Op]) -> Result<()> {
    let mut puts: Vec<&[u8]> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Put(p) => Some(p.key.as_slice()),
            _ => None,
        })
        .collect();
    puts.sort_unstable();
    let dup = |key: &[u8]| StoreError::DuplicateKey {
        key: String::from_utf8_lossy(key).into_owned(),
    };
    if let Some(w) = puts.windows(2).find(|w| w[0] == w[1]) {
        return Err(dup(w[0]));
    }
    for op in ops {
        if let Op::Delete(d) = op {
            if let Some(k) = puts.iter().find(|k| in_range(k, &d.key, &d.range_end)) {
                return Err(dup(k));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte_below_ff() {
        assert_eq!(prefix_end(b"abc"), b"abd");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
        assert_eq!(prefix_end(b""), vec![0]);
    }

    #[test]
    fn ranges_follow_etcd_rules() {
        assert!(in_range(b"a", b"a", b""));
        assert!(!in_range(b"ab", b"a", b""));
        assert!(in_range(b"zz", b"a", &[0]));
        assert!(in_range(b"ab", b"a", b"b"));
        assert!(!in_range(b"b", b"a", b"b"));
    }

    #[test]
    fn compare_on_missing_key_reads_zero_and_value_is_false() {
        assert!(Compare::mod_revision_is("k", 0).holds(None));
        assert!(!Compare::exists("k").holds(None));
        let value_ne = Compare::new(
            "k",
            CompareTarget::Value(b"x".to_vec()),
            CompareOp::NotEqual,
        );
        assert!(!value_ne.holds(None));
    }

    #[test]
    fn duplicate_writes_in_a_branch_are_refused() {
        let txn = Txn::new().and_then([Op::put("a", "1"), Op::put("a", "2")]);
        assert!(matches!(
            validate_txn(&txn),
            Err(StoreError::DuplicateKey { .. })
        ));
        let txn = Txn::new().and_then([Op::Delete(DeleteRequest::prefix("a")), Op::put("ab", "")]);
        assert!(matches!(
            validate_txn(&txn),
            Err(StoreError::DuplicateKey { .. })
        ));
        let txn = Txn::new()
            .and_then([Op::put("a", "1")])
            .or_else([Op::put("a", "2")]);
        assert!(validate_txn(&txn).is_ok());
    }
}
