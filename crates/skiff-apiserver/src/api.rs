//! Request handling: authentication, routing, discovery and the REST verbs on top of the
//! store. Objects are stored as JSON without `metadata.resourceVersion`; it is filled in from
//! the key's `mod_revision` on every read, so the store's revision is the only version.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use skiff_store::{
    CasOutcome, Compare, DeleteRequest, EventType, KeyValue, Op, PutRequest, RangeRequest, Store,
    StoreError, Txn, WatchRequest,
};
use tokio_stream::StreamExt;

use crate::patch;
use crate::resources::{self, Resource, NAMESPACES};
use crate::status::ApiError;
use crate::validation::{self, required};

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Largest request body accepted (kube-apiserver's limit for JSON bodies is 3 MiB too).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The Kubernetes version this server speaks; `kubectl version` shows it.
pub const GIT_VERSION: &str = "v1.32.0-skiff";

/// How often an optimistic write is retried when it races another writer and the client
/// gave no resourceVersion (so the race is not the client's concern).
const CAS_RETRIES: usize = 8;

pub(crate) struct Api {
    pub store: Arc<dyn Store>,
    pub token: String,
}

type ApiResult<T = Response<Body>> = Result<T, ApiError>;

impl Api {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        // Health endpoints reveal nothing and must answer before credentials exist anywhere.
        if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
            return text(StatusCode::OK, "ok");
        }
        if !self.authenticated(&req) {
            return error_response(&ApiError::unauthorized());
        }
        match self.route(req).await {
            Ok(resp) => resp,
            Err(e) => error_response(&e),
        }
    }

    fn authenticated(&self, req: &Request<Incoming>) -> bool {
        let Some(value) = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(token) = value.strip_prefix("Bearer ") else {
            return false;
        };
        constant_time_eq(token.trim().as_bytes(), self.token.as_bytes())
    }

    async fn route(&self, req: Request<Incoming>) -> ApiResult {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = Query::parse(req.uri().query().unwrap_or(""));
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let get = method == Method::GET;
        match segs.as_slice() {
            ["version"] if get => Ok(json_response(StatusCode::OK, &version())),
            ["api"] if get => Ok(json_response(
                StatusCode::OK,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}),
            )),
            ["openapi", ..] if get => {
                let accept = req
                    .headers()
                    .get(hyper::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                crate::openapi::serve(&path, req.uri().query().unwrap_or(""), accept)
                    .ok_or_else(|| not_found_path(&path))
            }
            ["api", "v1"] if get => Ok(json_response(StatusCode::OK, &resource_list())),
            ["apis"] if get => Ok(json_response(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
            )),
            ["api", "v1", plural] => {
                let res = resource(plural)?;
                self.collection(req, res, None, &query).await
            }
            ["api", "v1", plural, name] => {
                let res = resource(plural)?;
                if res.namespaced {
                    return Err(not_found_path(&path));
                }
                self.item(req, res, None, name, &query).await
            }
            ["api", "v1", "namespaces", ns, plural] => {
                let res = namespaced(plural, &path)?;
                self.collection(req, res, Some(ns), &query).await
            }
            ["api", "v1", "namespaces", ns, plural, name] => {
                let res = namespaced(plural, &path)?;
                self.item(req, res, Some(ns), name, &query).await
            }
            _ if !get && segs.len() <= 2 => {
                Err(ApiError::method_not_allowed(method.as_str(), &path))
            }
            _ => Err(not_found_path(&path)),
        }
    }

    async fn collection(
        &self,
        req: Request<Incoming>,
        res: &'static Resource,
        ns: Option<&str>,
        query: &Query,
    ) -> ApiResult {
        match *req.method() {
            Method::GET if query.flag("watch") => self.watch(res, ns, query).await,
            Method::GET => self.list(res, ns, query).await,
            Method::POST => {
                if res.namespaced && ns.is_none() {
                    return Err(ApiError::method_not_allowed("POST", req.uri().path()));
                }
                query.reject_dry_run()?;
                let body = read_json(req).await?;
                self.create(res, ns, body).await
            }
            ref m => Err(ApiError::method_not_allowed(m.as_str(), req.uri().path())),
        }
    }

    async fn item(
        &self,
        req: Request<Incoming>,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        query: &Query,
    ) -> ApiResult {
        match req.method().clone() {
            Method::GET => {
                let kv = self.get_kv(res, ns, name).await?;
                Ok(json_response(StatusCode::OK, &decode(&kv)?))
            }
            Method::PUT => {
                query.reject_dry_run()?;
                let body = read_json(req).await?;
                self.update(res, ns, name, body).await
            }
            Method::PATCH => {
                query.reject_dry_run()?;
                let content_type = req
                    .headers()
                    .get(hyper::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let body = read_json(req).await?;
                self.patch(res, ns, name, &content_type, body).await
            }
            Method::DELETE => {
                query.reject_dry_run()?;
                let bytes = read_body(req).await?;
                let options = if bytes.is_empty() {
                    Value::Null
                } else if bytes.starts_with(b"k8s\0") {
                    crate::proto::decode(&bytes)?
                } else {
                    parse_json(&bytes)?
                };
                self.delete(res, ns, name, &options).await
            }
            m => Err(ApiError::method_not_allowed(m.as_str(), req.uri().path())),
        }
    }

    async fn get_kv(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<KeyValue> {
        self.store
            .get(&res.key(ns, name))
            .await?
            .ok_or_else(|| ApiError::not_found(res.plural, name))
    }

    async fn list(&self, res: &Resource, ns: Option<&str>, query: &Query) -> ApiResult {
        let selector = Selector::from_query(query)?;
        let mut range = RangeRequest::prefix(res.prefix(ns));
        // Only an exact match needs a past revision; every other resourceVersion semantics is
        // satisfied by the newest state.
        if query.get("resourceVersionMatch") == Some("Exact") {
            range = range.with_revision(parse_rv(query.get("resourceVersion").unwrap_or(""))?);
        }
        let resp = self.store.range(range).await?;
        let mut items = Vec::with_capacity(resp.kvs.len());
        for kv in &resp.kvs {
            let obj = decode(kv)?;
            if selector.matches(&obj) {
                items.push(obj);
            }
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "kind": res.list_kind(),
                "apiVersion": "v1",
                "metadata": {"resourceVersion": resp.revision.to_string()},
                "items": items,
            }),
        ))
    }

    async fn create(&self, res: &Resource, ns: Option<&str>, body: Value) -> ApiResult {
        let mut obj = check_body(res, body, ns)?;
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("check_body made metadata an object");
        let given = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if given.is_empty() && generate.is_empty() {
            return Err(ApiError::invalid(
                res.kind,
                "",
                vec![required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        if generate.is_empty() {
            meta.remove("generateName");
        }
        meta.remove("resourceVersion");
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("creationTimestamp".into(), json!(rfc3339_now()));
        if let Some(ns) = ns {
            meta.insert("namespace".into(), json!(ns));
        }
        // A generated name can collide; try a few suffixes before giving up.
        let attempts = if given.is_empty() { 5 } else { 1 };
        for _ in 0..attempts {
            let name = if given.is_empty() {
                format!("{generate}{}", random_suffix())
            } else {
                given.clone()
            };
            obj["metadata"]["name"] = json!(name);
            let map = obj.as_object_mut().expect("checked object");
            validate(res, map, &name, None)?;
            let key = res.key(ns, &name);
            let value = serde_json::to_vec(&obj).map_err(internal)?;
            let mut compare = vec![Compare::mod_revision_is(key.clone(), 0)];
            if let Some(ns) = ns {
                compare.push(Compare::exists(NAMESPACES.key(None, ns)));
            }
            let txn = Txn::new()
                .when(compare)
                .and_then([Op::put(key.clone(), value)]);
            let resp = self.store.txn(txn).await?;
            if resp.succeeded {
                obj["metadata"]["resourceVersion"] = json!(resp.revision.to_string());
                return Ok(json_response(StatusCode::CREATED, &obj));
            }
            if let Some(ns) = ns {
                if self.store.get(&NAMESPACES.key(None, ns)).await?.is_none() {
                    return Err(ApiError::not_found("namespaces", ns));
                }
            }
            if !given.is_empty() {
                return Err(ApiError::already_exists(res.plural, &name));
            }
        }
        Err(ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "could not find a free name for generateName {generate:?} after 5 tries; use a \
                 longer prefix or set metadata.name"
            ),
        ))
    }

    async fn update(&self, res: &Resource, ns: Option<&str>, name: &str, body: Value) -> ApiResult {
        let obj = check_body(res, body, ns)?;
        let body_name = obj["metadata"]
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let precondition = match obj["metadata"]
            .get("resourceVersion")
            .and_then(Value::as_str)
        {
            Some(rv) if !rv.is_empty() => Some(parse_rv(rv)?),
            _ => None,
        };
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            match self
                .write_update(res, ns, name, obj.clone(), &current, precondition)
                .await?
            {
                Some(resp) => return Ok(resp),
                None => continue,
            }
        }
        Err(ApiError::conflict(res.plural, name))
    }

    /// Write `obj` over `current` with a compare-and-swap. `Ok(None)` means another writer
    /// won and the caller may retry (only possible without a client precondition).
    async fn write_update(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        mut obj: Value,
        current: &KeyValue,
        precondition: Option<i64>,
    ) -> ApiResult<Option<Response<Body>>> {
        if precondition.is_some_and(|rv| rv != current.mod_revision) {
            return Err(ApiError::conflict(res.plural, name));
        }
        let old: Value = serde_json::from_slice(&current.value).map_err(internal)?;
        let old_uid = old["metadata"].get("uid").cloned().unwrap_or(Value::Null);
        let meta = obj["metadata"].as_object_mut().expect("checked metadata");
        if let Some(uid) = meta.get("uid").filter(|u| !u.is_null() && **u != old_uid) {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    uid.as_str().unwrap_or(""),
                    old_uid.as_str().unwrap_or("")
                ),
            )
            .with_details(res.plural, name));
        }
        // Server-owned metadata is kept from the stored object whatever the client sent.
        meta.remove("resourceVersion");
        for field in ["uid", "creationTimestamp", "generateName"] {
            match old["metadata"].get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        if let Some(ns) = ns {
            meta.insert("namespace".into(), json!(ns));
        }
        let map = obj.as_object_mut().expect("checked object");
        validate(res, map, name, old.as_object())?;
        if obj == old {
            // Nothing changed: no write, no new resourceVersion, no watch event.
            return Ok(Some(json_response(StatusCode::OK, &decode(current)?)));
        }
        let value = serde_json::to_vec(&obj).map_err(internal)?;
        let put = PutRequest::new(res.key(ns, name), value);
        match self.store.put_if(put, current.mod_revision).await? {
            CasOutcome::Written { revision } => {
                obj["metadata"]["resourceVersion"] = json!(revision.to_string());
                Ok(Some(json_response(StatusCode::OK, &obj)))
            }
            CasOutcome::Conflict { current: None } => Err(ApiError::not_found(res.plural, name)),
            CasOutcome::Conflict { .. } if precondition.is_some() => {
                Err(ApiError::conflict(res.plural, name))
            }
            CasOutcome::Conflict { .. } => Ok(None),
        }
    }

    async fn patch(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        content_type: &str,
        body: Value,
    ) -> ApiResult {
        match content_type {
            "application/merge-patch+json" | "application/json-patch+json" => {}
            "application/strategic-merge-patch+json" if patch::strategic_is_plain_merge(&body) => {}
            "application/strategic-merge-patch+json" => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    "this strategic merge patch uses lists or $ directives, which this server \
                     does not support yet; use `kubectl patch --type merge` or `--type json`",
                ))
            }
            other => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format ({other:?}); accepted \
                         patch types are application/merge-patch+json, \
                         application/json-patch+json and application/strategic-merge-patch+json \
                         (server-side apply is not supported yet)"
                    ),
                ))
            }
        }
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            let mut obj = decode(&current)?;
            if content_type == "application/json-patch+json" {
                patch::json_patch(&mut obj, &body).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!("the patch could not be applied: {e}"),
                    )
                })?;
            } else {
                patch::merge_patch(&mut obj, &body);
            }
            // A resourceVersion left in the patched object is a precondition, as in update.
            let precondition = match obj["metadata"]
                .get("resourceVersion")
                .and_then(Value::as_str)
            {
                Some(rv) if rv != current.mod_revision.to_string() => Some(parse_rv(rv)?),
                _ => None,
            };
            let obj = check_body(res, obj, ns)?;
            if obj["metadata"].get("name").and_then(Value::as_str) != Some(name) {
                return Err(ApiError::bad_request(
                    "a patch may not change metadata.name; create a new object instead",
                ));
            }
            if let Some(resp) = self
                .write_update(res, ns, name, obj, &current, precondition)
                .await?
            {
                return Ok(resp);
            }
        }
        Err(ApiError::conflict(res.plural, name))
    }

    async fn delete(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        options: &Value,
    ) -> ApiResult {
        if !res.namespaced && name == "default" {
            return Err(ApiError::new(
                403,
                "Forbidden",
                "namespaces \"default\" is forbidden: this namespace may not be deleted",
            )
            .with_details(res.plural, name));
        }
        let pre_rv = match options
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
        {
            Some(rv) => Some(parse_rv(rv)?),
            None => None,
        };
        let pre_uid = options
            .pointer("/preconditions/uid")
            .and_then(Value::as_str);
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            let obj = decode(&current)?;
            if pre_rv.is_some_and(|rv| rv != current.mod_revision)
                || pre_uid.is_some_and(|uid| obj["metadata"]["uid"] != json!(uid))
            {
                return Err(ApiError::conflict(res.plural, name));
            }
            let key = res.key(ns, name);
            let mut ops = vec![Op::delete(key.clone())];
            if !res.namespaced {
                // No namespace controller yet: a namespace's objects go with it, atomically.
                for r in resources::RESOURCES.iter().filter(|r| r.namespaced) {
                    ops.push(Op::Delete(DeleteRequest::prefix(r.prefix(Some(name)))));
                }
            }
            let txn = Txn::new()
                .when([Compare::mod_revision_is(key, current.mod_revision)])
                .and_then(ops);
            if self.store.txn(txn).await?.succeeded {
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Success",
                        "details": {"name": name, "kind": res.plural, "uid": obj["metadata"]["uid"]},
                    }),
                ));
            }
            if pre_rv.is_some() {
                return Err(ApiError::conflict(res.plural, name));
            }
        }
        Err(ApiError::conflict(res.plural, name))
    }

    /// Stream watch events as newline-separated JSON. Without a resourceVersion (or with
    /// "0") the current objects come first as ADDED, as Kubernetes does.
    async fn watch(&self, res: &'static Resource, ns: Option<&str>, query: &Query) -> ApiResult {
        let selector = Selector::from_query(query)?;
        let rv = query.get("resourceVersion").unwrap_or("");
        let prefix = res.prefix(ns);
        let mut initial = Vec::new();
        let start = if rv.is_empty() || rv == "0" {
            let resp = self
                .store
                .range(RangeRequest::prefix(prefix.clone()))
                .await?;
            for kv in &resp.kvs {
                let obj = decode(kv)?;
                if selector.matches(&obj) {
                    initial.push(event_line("ADDED", &obj));
                }
            }
            resp.revision + 1
        } else {
            // resourceVersion N means "changes after N"; the store's start is inclusive.
            parse_rv(rv)? + 1
        };
        let timeout = query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs);
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
        let stream = self
            .store
            .watch(
                WatchRequest::prefix(prefix)
                    .from_revision(start)
                    .with_prev_kv(),
            )
            .await;
        tokio::spawn(async move {
            for line in initial {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            let mut stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(error_event(&e)).await;
                    return;
                }
            };
            let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
            loop {
                let next = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, stream.next()).await {
                        Ok(n) => n,
                        Err(_) => return, // the client's timeoutSeconds elapsed
                    },
                    None => tokio::select! {
                        n = stream.next() => n,
                        // The client went away: stop watching the store.
                        _ = tx.closed() => return,
                    },
                };
                let line = match next {
                    None => return,
                    Some(Err(e)) => {
                        let _ = tx.send(error_event(&e)).await;
                        return;
                    }
                    Some(Ok(ev)) => match watch_event(&ev) {
                        Some((kind, obj)) if selector.matches(&obj) => event_line(kind, &obj),
                        _ => continue,
                    },
                };
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        });
        let body = StreamBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx)
                .map(|b| Ok::<_, Infallible>(Frame::data(b))),
        );
        Ok(Response::builder()
            .status(StatusCode::OK)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(BodyExt::boxed(body))
            .expect("static response parts are valid"))
    }
}

/// Default then validate `obj` as `res`'s kind; every problem is reported at once.
fn validate(
    res: &Resource,
    obj: &mut Map<String, Value>,
    name: &str,
    old: Option<&Map<String, Value>>,
) -> ApiResult<()> {
    let api_version = res.api_version();
    validation::default_object(&api_version, res.kind, obj);
    let mut causes = Vec::new();
    if let Err(msg) = validation::validate_name(&api_version, res.kind, name) {
        causes.push(validation::invalid_value(
            "metadata.name",
            &json!(name),
            &msg,
        ));
    }
    validation::validate_object(&api_version, res.kind, obj, old, &mut causes);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(res.kind, name, causes))
    }
}

/// The watch event for a store event, or `None` for a value that is not an object.
fn watch_event(ev: &skiff_store::WatchEvent) -> Option<(&'static str, Value)> {
    match ev.kind {
        EventType::Put => {
            let kind = if ev.kv.version == 1 {
                "ADDED"
            } else {
                "MODIFIED"
            };
            decode(&ev.kv).ok().map(|o| (kind, o))
        }
        EventType::Delete => {
            // The last state of the object, stamped with the delete's revision.
            let mut obj = ev
                .prev_kv
                .as_ref()
                .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok())?;
            obj["metadata"]["resourceVersion"] = json!(ev.kv.mod_revision.to_string());
            Some(("DELETED", obj))
        }
    }
}

fn event_line(kind: &str, obj: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": obj}))
        .expect("serializing a JSON value cannot fail");
    line.push(b'\n');
    Bytes::from(line)
}

fn error_event(e: &StoreError) -> Bytes {
    let err = ApiError::from(clone_store_error(e));
    event_line("ERROR", &err.to_status())
}

/// `StoreError` is not `Clone`; rebuild the variants that map to distinct statuses.
fn clone_store_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Compacted {
            requested,
            compact_revision,
        } => StoreError::Compacted {
            requested: *requested,
            compact_revision: *compact_revision,
        },
        other => StoreError::Internal(other.to_string()),
    }
}

/// Parse a stored value and set its resourceVersion.
fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::internal(format!(
            "stored object {} is not valid JSON ({e}); the store was written by something \
             other than skiff-apiserver",
            String::from_utf8_lossy(&kv.key)
        ))
    })?;
    obj["metadata"]["resourceVersion"] = json!(kv.mod_revision.to_string());
    Ok(obj)
}

/// Common body checks: an object of the right apiVersion and kind (filled in when absent),
/// metadata an object, and a namespace (if any) matching the URL.
fn check_body(res: &Resource, mut body: Value, ns: Option<&str>) -> ApiResult<Value> {
    let Some(obj) = body.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "the request body must be a JSON object (a {}), not {}",
            res.kind,
            type_name(&body)
        )));
    };
    match obj.get("apiVersion").and_then(Value::as_str) {
        None | Some("") | Some("v1") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "apiVersion {other:?} is not served for {}; use \"v1\"",
                res.plural
            )))
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        None | Some("") => {}
        Some(k) if k == res.kind => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind {other:?} cannot be stored as {}; use kind {:?} or the right URL",
                res.plural, res.kind
            )))
        }
    }
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(res.kind));
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::invalid(
            res.kind,
            "",
            vec![validation::invalid_value(
                "metadata",
                meta,
                "must be an object",
            )],
        ));
    };
    if let Some(url_ns) = ns {
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => {}
            Some(body_ns) if body_ns == url_ns => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on \
                     the request",
                ))
            }
        }
    } else {
        meta.remove("namespace");
    }
    Ok(body)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn resource(plural: &str) -> ApiResult<&'static Resource> {
    resources::lookup("", "v1", plural).ok_or_else(|| {
        ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({plural}); this server serves namespaces and configmaps so far"),
        )
    })
}

fn namespaced(plural: &str, path: &str) -> ApiResult<&'static Resource> {
    let res = resource(plural)?;
    if res.namespaced {
        Ok(res)
    } else {
        Err(not_found_path(path))
    }
}

fn not_found_path(path: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!("the server could not find the requested resource ({path})"),
    )
}

fn parse_rv(rv: &str) -> ApiResult<i64> {
    rv.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid resourceVersion {rv:?}: use a value from an object or list this server returned"
        ))
    })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

async fn read_body(req: Request<Incoming>) -> ApiResult<Bytes> {
    match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is over the {MAX_BODY_BYTES}-byte limit; store large data elsewhere and reference it"),
        )),
        Err(e) => Err(ApiError::bad_request(format!("reading the request body: {e}"))),
    }
}

async fn read_json(req: Request<Incoming>) -> ApiResult<Value> {
    let ct = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ct.starts_with(crate::proto::CONTENT_TYPE) {
        let bytes = read_body(req).await?;
        return crate::proto::decode(&bytes);
    }
    if ct.contains("yaml") || ct.contains("protobuf") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format ({ct}); send JSON (kubectl always does)"),
        ));
    }
    let bytes = read_body(req).await?;
    parse_json(&bytes)
}

fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn json_response(code: StatusCode, v: &Value) -> Response<Body> {
    let body = serde_json::to_vec(v).expect("serializing a JSON value cannot fail");
    Response::builder()
        .status(code)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static response parts are valid")
}

fn text(code: StatusCode, s: &'static str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from_static(s.as_bytes())).boxed())
        .expect("static response parts are valid")
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status())
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}

fn resource_list() -> Value {
    let resources: Vec<Value> = resources::RESOURCES
        .iter()
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": resources::VERBS,
                "shortNames": r.short_names,
            })
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": resources})
}

/// Query parameters, percent-decoded.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: &str) -> Self {
        Self(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    /// Dry runs would need every write path to stop short of the store; refuse them rather
    /// than perform a real write the client did not ask for.
    fn reject_dry_run(&self) -> ApiResult<()> {
        if self.0.iter().any(|(k, v)| k == "dryRun" && !v.is_empty()) {
            return Err(ApiError::bad_request(
                "dryRun is not supported by this server yet; run without --dry-run=server",
            ));
        }
        Ok(())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Label and field selectors: equality-based only (`k=v`, `k==v`, `k!=v`, `k`, `!k`); field
/// selectors on `metadata.name` and `metadata.namespace`, which is what kubectl sends.
pub(crate) struct Selector {
    labels: Vec<(String, Requirement)>,
    fields: Vec<(String, Requirement)>,
}

enum Requirement {
    Eq(String),
    Ne(String),
    Exists,
    NotExists,
}

impl Selector {
    fn from_query(q: &Query) -> ApiResult<Self> {
        let labels = parse_selector(q.get("labelSelector").unwrap_or(""), "labelSelector")?;
        let fields = parse_selector(q.get("fieldSelector").unwrap_or(""), "fieldSelector")?;
        for (k, req) in &fields {
            if !matches!(k.as_str(), "metadata.name" | "metadata.namespace")
                || !matches!(req, Requirement::Eq(_) | Requirement::Ne(_))
            {
                return Err(ApiError::bad_request(format!(
                    "field selector {k:?} is not supported; use metadata.name or metadata.namespace with = or !="
                )));
            }
        }
        Ok(Self { labels, fields })
    }

    fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.labels
            .iter()
            .all(|(k, req)| req.matches(labels.get(k).and_then(Value::as_str)))
            && self.fields.iter().all(|(k, req)| {
                let field = k.trim_start_matches("metadata.");
                req.matches(Some(obj["metadata"][field].as_str().unwrap_or("")))
            })
    }
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        match self {
            Requirement::Eq(want) => value == Some(want.as_str()),
            Requirement::Ne(want) => value != Some(want.as_str()),
            Requirement::Exists => value.is_some(),
            Requirement::NotExists => value.is_none(),
        }
    }
}

fn parse_selector(s: &str, what: &str) -> ApiResult<Vec<(String, Requirement)>> {
    let mut out = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if term.contains(" in ") || term.contains(" notin ") || term.contains('(') {
            return Err(ApiError::bad_request(format!(
                "{what} {term:?}: set-based requirements (in, notin) are not supported yet; use k=v, k!=v, k or !k"
            )));
        }
        let (k, req) = if let Some((k, v)) = term.split_once("!=") {
            (k, Requirement::Ne(v.trim().to_string()))
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            (k, Requirement::Eq(v.trim().to_string()))
        } else if let Some(k) = term.strip_prefix('!') {
            (k, Requirement::NotExists)
        } else {
            (term, Requirement::Exists)
        };
        out.push((k.trim().to_string(), req));
    }
    Ok(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret (tokens have a fixed length); the bytes are.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn new_uid() -> String {
    let mut b = crate::tls::random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Five characters from the alphabet Kubernetes uses for generated names (no vowels, so no
/// accidental words; no look-alike characters).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    crate::tls::random_bytes(5)
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub(crate) fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (days-to-civil from Howard Hinnant's
/// public-domain date algorithms).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn query_and_selectors() {
        let q = Query::parse(
            "watch=true&labelSelector=app%3Dweb%2C%21gone&fieldSelector=metadata.name%3Dc1",
        );
        assert!(q.flag("watch"));
        let sel = Selector::from_query(&q).unwrap();
        let obj = json!({"metadata": {"name": "c1", "labels": {"app": "web"}}});
        assert!(sel.matches(&obj));
        let other = json!({"metadata": {"name": "c2", "labels": {"app": "web"}}});
        assert!(!sel.matches(&other));
        assert!(Selector::from_query(&Query::parse("labelSelector=a+in+(b)")).is_err());
    }

    #[test]
    fn uids_are_v4() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
