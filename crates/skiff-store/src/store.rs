use std::pin::Pin;

use async_trait::async_trait;
use futures_core::Stream;

use crate::error::{Result, StoreError};
use crate::types::*;

/// Events of one watch, in revision order. A watch whose start revision was compacted (or that
/// fell so far behind that its next revision was compacted) yields one
/// `Err(StoreError::Compacted { .. })` and ends; other errors also end it. Dropping the stream
/// cancels the watch.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send + 'static>>;

/// A revisioned key-value store with etcd v3 semantics. Object safe, so the API server can
/// hold an `Arc<dyn Store>` picked at start-up.
///
/// Every write gets the next revision of one store-wide counter (a fresh store is at revision
/// 1); a transaction that writes nothing leaves the revision as it is. History is kept until
/// [`Store::compact`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"embedded"` or `"etcd"`, for logs and metrics.
    fn backend(&self) -> &'static str;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;

    async fn txn(&self, txn: Txn) -> Result<TxnResponse>;

    /// Events from `req.start_revision` (or from now when it is 0) onwards.
    async fn watch(&self, req: WatchRequest) -> Result<WatchStream>;

    /// Drop history older than `revision`: reads and watches at earlier revisions fail with
    /// [`StoreError::Compacted`] afterwards. `revision` itself stays readable.
    async fn compact(&self, revision: i64) -> Result<()>;

    async fn current_revision(&self) -> Result<i64>;

    /// A new lease living `ttl` seconds unless kept alive. Keys put with it are deleted (with
    /// delete events) when it expires or is revoked.
    async fn lease_grant(&self, ttl: i64) -> Result<Lease>;

    async fn lease_revoke(&self, id: i64) -> Result<()>;

    /// Restart the lease's full TTL; returns that TTL.
    async fn lease_keepalive(&self, id: i64) -> Result<i64>;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>> {
        Ok(self.range(RangeRequest::key(key)).await?.kvs.pop())
    }

    async fn list(&self, prefix: &[u8]) -> Result<RangeResponse> {
        self.range(RangeRequest::prefix(prefix)).await
    }

    async fn put(&self, key: &[u8], value: &[u8]) -> Result<PutResponse> {
        self.put_req(PutRequest::new(key, value)).await
    }

    async fn put_req(&self, req: PutRequest) -> Result<PutResponse> {
        let resp = self.txn(Txn::new().and_then([Op::Put(req)])).await?;
        match resp.responses.into_iter().next() {
            Some(OpResponse::Put(put)) => Ok(put),
            other => Err(unexpected("put", other)),
        }
    }

    /// Put only if the key's `mod_revision` is `expected_mod_revision` (0: only if the key
    /// does not exist). The conflict outcome carries the current version.
    async fn put_if(&self, req: PutRequest, expected_mod_revision: i64) -> Result<CasOutcome> {
        let key = req.key.clone();
        let txn = Txn::new()
            .when([Compare::mod_revision_is(key.clone(), expected_mod_revision)])
            .and_then([Op::Put(req)])
            .or_else([Op::get(key)]);
        cas_outcome(self.txn(txn).await?)
    }

    /// Put only if the key does not exist.
    async fn create(&self, key: &[u8], value: &[u8]) -> Result<CasOutcome> {
        self.put_if(PutRequest::new(key, value), 0).await
    }

    async fn delete(&self, key: &[u8]) -> Result<DeleteResponse> {
        self.delete_req(DeleteRequest::key(key)).await
    }

    async fn delete_prefix(&self, prefix: &[u8]) -> Result<DeleteResponse> {
        self.delete_req(DeleteRequest::prefix(prefix)).await
    }

    async fn delete_req(&self, req: DeleteRequest) -> Result<DeleteResponse> {
        let resp = self.txn(Txn::new().and_then([Op::Delete(req)])).await?;
        match resp.responses.into_iter().next() {
            Some(OpResponse::Delete(del)) => Ok(del),
            other => Err(unexpected("delete", other)),
        }
    }

    /// Delete only if the key's `mod_revision` is `expected_mod_revision`.
    async fn delete_if(&self, key: &[u8], expected_mod_revision: i64) -> Result<CasOutcome> {
        let txn = Txn::new()
            .when([Compare::mod_revision_is(key, expected_mod_revision)])
            .and_then([Op::delete(key)])
            .or_else([Op::get(key)]);
        cas_outcome(self.txn(txn).await?)
    }
}

fn cas_outcome(resp: TxnResponse) -> Result<CasOutcome> {
    if resp.succeeded {
        return Ok(CasOutcome::Written {
            revision: resp.revision,
        });
    }
    match resp.responses.into_iter().next() {
        Some(OpResponse::Range(mut range)) => Ok(CasOutcome::Conflict {
            current: range.kvs.pop(),
        }),
        other => Err(unexpected("range", other)),
    }
}

fn unexpected(wanted: &str, got: Option<OpResponse>) -> StoreError {
    StoreError::Internal(format!(
        "backend answered a {wanted} operation with {got:?}"
    ))
}
