//! The REST verbs on top of the store: get, list (with pagination and selectors), watch
//! (with bookmarks), create, update, patch (JSON, merge, strategic and apply), delete (with
//! grace periods, finalizers and propagation) and deletecollection, and the subresources
//! `status`, `scale`, `finalize`, `binding`, `eviction` and `ephemeralcontainers`.
//!
//! Objects are stored as JSON without `metadata.resourceVersion`; it is filled in from the
//! key's `mod_revision` on every read, so the store's revision is the only version. Every
//! write is a compare-and-swap transaction, so concurrent servers on one etcd stay correct.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use skiff_store::{Compare, EventType, KeyValue, Op, RangeRequest, StoreError, Txn, WatchRequest};
use tokio_stream::StreamExt;

use crate::api::{
    json_response, parse_body, parse_json, read_body, Api, ApiResult, Body, Ctx, Target,
};
use crate::objects::{
    check_body, decode, encode, name_of, new_uid, now_secs, random_suffix, rfc3339, rfc3339_now,
};
use crate::query::Selector;
use crate::resources::{Resource, NAMESPACES};
use crate::status::{ApiError, Cause};
use crate::validation;

/// How often an optimistic write is retried when it races another writer and the client
/// gave no resourceVersion (so the race is not the client's concern).
const CAS_RETRIES: usize = 8;

/// Largest page a list reads from the store at a time.
const PAGE: i64 = 500;

/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// How a write was asked for, besides its body.
pub(crate) struct WriteOpts<'a> {
    pub sub: Option<&'a str>,
    pub dry_run: bool,
    pub manager: String,
    /// Server-side apply records its own managed fields.
    pub apply: bool,
}

fn field_validation(ctx: &Ctx) -> ApiResult<FieldValidation> {
    match ctx.query.get("fieldValidation").unwrap_or("") {
        "Strict" => Ok(FieldValidation::Strict),
        "Warn" | "" => Ok(FieldValidation::Warn),
        "Ignore" => Ok(FieldValidation::Ignore),
        other => Err(ApiError::bad_request(format!(
            "fieldValidation {other:?} is not supported; use Strict, Warn or Ignore"
        ))),
    }
}

/// The field manager of a write: `fieldManager`, or the client's name from its user agent
/// as Kubernetes does.
fn manager(ctx: &Ctx) -> ApiResult<String> {
    if let Some(m) = ctx.query.get("fieldManager") {
        if m.len() > 128 || m.chars().any(|c| c.is_control()) {
            return Err(ApiError::bad_request(
                "fieldManager must be at most 128 printable characters",
            ));
        }
        return Ok(m.to_string());
    }
    let agent = ctx.user_agent.split('/').next().unwrap_or("").trim();
    Ok(if agent.is_empty() {
        "unknown".to_string()
    } else {
        agent.chars().take(128).collect()
    })
}

/// Kinds whose `status` is only written through the status subresource.
fn has_status_subresource(res: &Resource) -> bool {
    res.has_subresource("status")
}

/// Kinds that count spec changes in metadata.generation (all with a spec but pods, in the
/// Kubernetes version this server speaks).
fn tracks_generation(res: &Resource) -> bool {
    !matches!(
        res.kind,
        "Pod"
            | "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "Endpoints"
            | "Event"
            | "Node"
            | "Namespace"
    )
}

/// Whether the client accepts a `meta.k8s.io/v1` Table (kubectl get).
fn wants_table(ctx: &Ctx) -> bool {
    ctx.accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

fn include_object(ctx: &Ctx) -> crate::table::IncludeObject {
    crate::table::IncludeObject::parse(ctx.query.get("includeObject").unwrap_or(""))
        .unwrap_or_default()
}

fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let value = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

impl Api {
    pub(crate) async fn dispatch(
        &self,
        t: Target<'_>,
        ctx: Ctx,
        req: Request<Incoming>,
    ) -> ApiResult {
        let Target { res, ns, name, sub } = t;
        // Refuse a bad includeObject up front; the responses below then parse it infallibly.
        crate::table::IncludeObject::parse(ctx.query.get("includeObject").unwrap_or(""))?;
        match (name, sub, ctx.method.clone()) {
            (None, _, Method::GET) if ctx.query.flag("watch") => {
                self.watch(res, ns, &ctx, None).await
            }
            (None, _, Method::GET) => self.list(res, ns, &ctx).await,
            (None, _, Method::POST) => {
                if res.namespaced && ns.is_none() {
                    return Err(ApiError::method_not_allowed("POST", &ctx.path));
                }
                let body = parse_body(&ctx.content_type, &read_body(req).await?)?;
                self.create(res, ns, body, &ctx).await
            }
            (None, _, Method::DELETE) => {
                let options = delete_options(&ctx, req).await?;
                self.delete_collection(res, ns, &options, &ctx).await
            }
            (Some(name), None, Method::GET) if ctx.query.flag("watch") => {
                self.watch(res, ns, &ctx, Some(name)).await
            }
            (Some(name), None | Some("status" | "ephemeralcontainers"), Method::GET) => {
                let obj = decode(&self.get_kv(res, ns, name).await?)?;
                Ok(self.object_response(res, &ctx, StatusCode::OK, obj, &[]))
            }
            (Some(name), Some("scale"), Method::GET) => {
                let obj = decode(&self.get_kv(res, ns, name).await?)?;
                Ok(json_response(StatusCode::OK, &to_scale(res, &obj)))
            }
            (Some(name), sub, Method::PUT) if sub != Some("binding") => {
                let body = parse_body(&ctx.content_type, &read_body(req).await?)?;
                self.replace(res, ns, name, body, &ctx, sub).await
            }
            (Some(name), sub, Method::PATCH) if sub != Some("finalize") => {
                let bytes = read_body(req).await?;
                self.patch(res, ns, name, &bytes, &ctx, sub).await
            }
            (Some(name), None, Method::DELETE) => {
                let options = delete_options(&ctx, req).await?;
                let (code, obj) = self.delete(res, ns, name, &options, &ctx).await?;
                Ok(json_response(code, &obj))
            }
            (Some(name), Some("binding"), Method::POST) => {
                let body = parse_body(&ctx.content_type, &read_body(req).await?)?;
                self.bind(ns, name, &body, &ctx).await
            }
            (Some(name), Some("eviction"), Method::POST) => {
                let body = parse_body(&ctx.content_type, &read_body(req).await?)?;
                let options = body.get("deleteOptions").cloned().unwrap_or(Value::Null);
                self.delete(res, ns, name, &options, &ctx).await?;
                Ok(json_response(
                    StatusCode::CREATED,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                ))
            }
            (Some(name), Some(sub @ ("log" | "exec" | "attach" | "portforward")), _) => {
                let ns = ns.ok_or_else(|| ApiError::method_not_allowed("GET", &ctx.path))?;
                self.proxy_to_node(ns, name, sub, req).await
            }
            (_, _, m) => Err(ApiError::method_not_allowed(m.as_str(), &ctx.path)),
        }
    }

    /// A single object in the representation the client asked for.
    fn object_response(
        &self,
        res: &'static Resource,
        ctx: &Ctx,
        code: StatusCode,
        obj: Value,
        warnings: &[String],
    ) -> Response<Body> {
        let body = if wants_table(ctx) {
            crate::table::to_table(res, &[obj], include_object(ctx), json!({}))
        } else {
            obj
        };
        with_warnings(json_response(code, &body), warnings)
    }

    pub(crate) async fn get_kv(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
    ) -> ApiResult<KeyValue> {
        self.store
            .get(&res.key(ns, name))
            .await?
            .ok_or_else(|| ApiError::not_found(&resource_name(res), name))
    }

    fn wake(&self) {
        let _ = self.wake_controllers.try_send(());
    }

    // ----- reads -----

    async fn list(&self, res: &'static Resource, ns: Option<&str>, ctx: &Ctx) -> ApiResult {
        let selector = Selector::from_query(&ctx.query, res)?;
        let limit = match ctx.query.get("limit") {
            None | Some("") | Some("0") => None,
            Some(l) => Some(l.parse::<i64>().ok().filter(|l| *l > 0).ok_or_else(|| {
                ApiError::bad_request(format!("limit {l:?} must be a positive integer"))
            })?),
        };
        let prefix = res.prefix(ns);
        let end = prefix_end(&prefix);
        let (mut start, mut revision) = match ctx.query.get("continue") {
            Some(token) if !token.is_empty() => {
                let (rv, start) = parse_continue(token, &prefix)?;
                (start, rv)
            }
            _ => (prefix.clone(), 0),
        };
        if revision == 0 && ctx.query.get("resourceVersionMatch") == Some("Exact") {
            revision = parse_rv(ctx.query.get("resourceVersion").unwrap_or(""))?;
        }
        let mut items = Vec::new();
        let mut next = None;
        loop {
            let want = limit.map_or(PAGE, |l| (l - items.len() as i64 + 1).clamp(1, PAGE));
            let mut range = RangeRequest::range(start.clone(), end.clone()).with_limit(want);
            if revision > 0 {
                range = range.with_revision(revision);
            }
            let resp = self.store.range(range).await.map_err(|e| match e {
                StoreError::Compacted { .. } if ctx.query.get("continue").is_some() => {
                    ApiError::expired(
                        "the continue token is too old: the state it was listing has been \
                         compacted; start a new list without the continue parameter",
                    )
                }
                other => other.into(),
            })?;
            if revision == 0 {
                revision = resp.revision;
            }
            let more = resp.more;
            let mut last_key = None;
            for kv in &resp.kvs {
                if limit.is_some_and(|l| items.len() as i64 >= l) {
                    next = Some(kv.key.clone());
                    break;
                }
                let obj = decode(kv)?;
                if selector.matches(&obj) {
                    items.push(obj);
                }
                last_key = Some(kv.key.clone());
            }
            if next.is_some() {
                break;
            }
            match last_key {
                Some(k) if more => {
                    start = k;
                    start.push(0);
                }
                _ => break,
            }
            if limit.is_some_and(|l| items.len() as i64 >= l) {
                // Full page and the store has more: continue after the last key read.
                next = Some(start.clone());
                break;
            }
        }
        let mut meta = json!({"resourceVersion": revision.to_string()});
        if let Some(next) = next {
            meta["continue"] = json!(make_continue(revision, &next, &prefix));
            if selector.is_empty() {
                let count = self
                    .store
                    .range(
                        RangeRequest::range(next, end)
                            .with_revision(revision)
                            .with_count_only(),
                    )
                    .await?
                    .count;
                meta["remainingItemCount"] = json!(count);
            }
        }
        let body = if wants_table(ctx) {
            crate::table::to_table(res, &items, include_object(ctx), meta)
        } else {
            json!({
                "kind": res.list_kind(),
                "apiVersion": res.api_version(),
                "metadata": meta,
                "items": items,
            })
        };
        Ok(json_response(StatusCode::OK, &body))
    }

    /// Stream watch events as newline-separated JSON. Without a resourceVersion (or with
    /// "0", or with sendInitialEvents) the current objects come first as ADDED.
    async fn watch(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        ctx: &Ctx,
        only: Option<&str>,
    ) -> ApiResult {
        let selector = Selector::from_query(&ctx.query, res)?;
        let only = only.map(str::to_string);
        let matches = move |obj: &Value| {
            selector.matches(obj) && only.as_deref().is_none_or(|n| name_of(obj) == n)
        };
        let rv = ctx.query.get("resourceVersion").unwrap_or("");
        let send_initial = match ctx.query.get("sendInitialEvents") {
            Some("true") => true,
            Some(_) => false,
            None => rv.is_empty() || rv == "0",
        };
        let bookmarks = ctx.query.flag("allowWatchBookmarks");
        let table = wants_table(ctx).then(|| include_object(ctx));
        let prefix = res.prefix(ns);
        let mut initial = Vec::new();
        let start = if send_initial {
            let resp = self
                .store
                .range(RangeRequest::prefix(prefix.clone()))
                .await?;
            for kv in &resp.kvs {
                let obj = decode(kv)?;
                if matches(&obj) {
                    initial.push(event_line(res, table, "ADDED", obj));
                }
            }
            if ctx.query.get("sendInitialEvents") == Some("true") {
                initial.push(bookmark_line(res, resp.revision, true));
            }
            resp.revision + 1
        } else {
            // resourceVersion N means "changes after N"; the store's start is inclusive.
            parse_rv(rv)? + 1
        };
        let timeout = ctx
            .query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs);
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
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
            let mut last_rev = start - 1;
            let mut bookmark = tokio::time::interval_at(
                tokio::time::Instant::now() + BOOKMARK_EVERY,
                BOOKMARK_EVERY,
            );
            loop {
                let expired = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                let next = tokio::select! {
                    n = stream.next() => n,
                    // The client went away: stop watching the store.
                    _ = tx.closed() => return,
                    // The client's timeoutSeconds elapsed.
                    _ = expired => return,
                    _ = bookmark.tick(), if bookmarks => {
                        if tx.send(bookmark_line(res, last_rev, false)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let line = match next {
                    None => return,
                    Some(Err(e)) => {
                        let _ = tx.send(error_event(&e)).await;
                        return;
                    }
                    Some(Ok(ev)) => {
                        last_rev = ev.kv.mod_revision;
                        match watch_event(&ev, &matches) {
                            Some((kind, obj)) => event_line(res, table, kind, obj),
                            None => continue,
                        }
                    }
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
            .header(hyper::header::CACHE_CONTROL, "no-cache, private")
            .body(BodyExt::boxed(body))
            .expect("static response parts are valid"))
    }

    // ----- create -----

    async fn create(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        body: Value,
        ctx: &Ctx,
    ) -> ApiResult {
        let dry_run = ctx.query.dry_run()?;
        let fv = field_validation(ctx)?;
        let mut warnings = Vec::new();
        let mut obj = check_body(res, body, ns)?;
        check_fields(res, &mut obj, fv, &mut warnings)?;
        let opts = WriteOpts {
            sub: None,
            dry_run,
            manager: manager(ctx)?,
            apply: false,
        };
        let obj = self.create_object(res, ns, obj, &opts).await?;
        Ok(self.object_response(res, ctx, StatusCode::CREATED, obj, &warnings))
    }

    /// Create `obj` (already checked against the resource): server-set metadata, defaults,
    /// validation, allocations, managed fields, then a transaction that fails if the name
    /// is taken or the namespace is gone or terminating.
    async fn create_object(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOpts<'_>,
    ) -> ApiResult<Value> {
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
                vec![validation::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        if generate.is_empty() {
            meta.remove("generateName");
        }
        for server_owned in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(server_owned);
        }
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("creationTimestamp".into(), json!(rfc3339_now()));
        if tracks_generation(res) {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if let Some(ns) = ns {
            meta.insert("namespace".into(), json!(ns));
        }
        reset_status_on_create(res, &mut obj);
        let obj_in = obj;
        // A generated name can collide, and so can a random service address; try again.
        let attempts = 5;
        for _ in 0..attempts {
            let mut obj = obj_in.clone();
            let name = if given.is_empty() {
                format!("{generate}{}", random_suffix())
            } else {
                given.clone()
            };
            obj["metadata"]["name"] = json!(name);
            let claims = if res.kind == "Service" {
                crate::alloc::assign(&mut obj, None)?.claim
            } else {
                Vec::new()
            };
            validate(res, &mut obj, &name, None)?;
            if !opts.apply {
                record_managed(res, None, &mut obj, &opts.manager);
            }
            let key = res.key(ns, &name);
            let mut compare = vec![Compare::mod_revision_is(key.clone(), 0)];
            let ns_rev = match ns {
                Some(ns) => Some(self.namespace_open(ns).await?),
                None => None,
            };
            if let (Some(ns), Some(rev)) = (ns, ns_rev) {
                compare.push(Compare::mod_revision_is(NAMESPACES.key(None, ns), rev));
            }
            for c in &claims {
                compare.push(Compare::mod_revision_is(c.clone(), 0));
            }
            if opts.dry_run {
                return Ok(obj);
            }
            let mut ops = vec![Op::put(key.clone(), encode(&obj))];
            ops.extend(claims.iter().map(|c| Op::put(c.clone(), key.clone())));
            let resp = self
                .store
                .txn(Txn::new().when(compare).and_then(ops))
                .await?;
            if resp.succeeded {
                obj["metadata"]["resourceVersion"] = json!(resp.revision.to_string());
                if obj["metadata"]["ownerReferences"].is_array() {
                    self.wake();
                }
                return Ok(obj);
            }
            if !given.is_empty() && self.store.get(&key).await?.is_some() {
                return Err(ApiError::already_exists(&resource_name(res), &name));
            }
            // Lost a race for an address: one the client chose is an error, a random one
            // is picked again on the next attempt.
            if !claims.is_empty() && !crate::alloc::held_keys(&obj_in).is_empty() {
                return Err(crate::alloc::already_allocated(&obj));
            }
        }
        Err(ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "could not find a free name for generateName {generate:?} after {attempts} \
                 tries; use a longer prefix or set metadata.name"
            ),
        ))
    }

    /// The namespace's revision if it exists and accepts new objects.
    async fn namespace_open(&self, ns: &str) -> ApiResult<i64> {
        let kv = self
            .store
            .get(&NAMESPACES.key(None, ns))
            .await?
            .ok_or_else(|| ApiError::not_found("namespaces", ns))?;
        let obj = decode(&kv)?;
        if !obj["metadata"]["deletionTimestamp"].is_null() {
            return Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "unable to create new content in namespace {ns} because it is being \
                     terminated"
                ),
            ));
        }
        Ok(kv.mod_revision)
    }

    // ----- update and patch -----

    async fn replace(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        body: Value,
        ctx: &Ctx,
        sub: Option<&str>,
    ) -> ApiResult {
        let dry_run = ctx.query.dry_run()?;
        let fv = field_validation(ctx)?;
        let mut warnings = Vec::new();
        let opts = WriteOpts {
            sub,
            dry_run,
            manager: manager(ctx)?,
            apply: false,
        };
        if sub == Some("scale") {
            let replicas = body["spec"]["replicas"].clone();
            let precondition = body["metadata"]["resourceVersion"]
                .as_str()
                .filter(|rv| !rv.is_empty())
                .map(parse_rv)
                .transpose()?;
            return self
                .update_with(res, ns, name, precondition, &opts, |mut obj| {
                    obj["spec"]["replicas"] = replicas.clone();
                    Ok(obj)
                })
                .await
                .map(|obj| json_response(StatusCode::OK, &to_scale(res, &obj)));
        }
        let mut obj = check_body(res, body, ns)?;
        if name_of(&obj) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                name_of(&obj)
            )));
        }
        check_fields(res, &mut obj, fv, &mut warnings)?;
        let precondition = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|rv| !rv.is_empty())
            .map(parse_rv)
            .transpose()?;
        let obj = self
            .update_with(res, ns, name, precondition, &opts, |_| Ok(obj.clone()))
            .await?;
        Ok(self.object_response(res, ctx, StatusCode::OK, obj, &warnings))
    }

    /// Read, compute the new object with `change`, write with compare-and-swap; retried on
    /// races unless the client gave a resourceVersion.
    pub(crate) async fn update_with(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        precondition: Option<i64>,
        opts: &WriteOpts<'_>,
        change: impl Fn(Value) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            let new = change(decode(&current)?)?;
            if let Some(obj) = self
                .write_update(res, ns, name, new, &current, precondition, opts)
                .await?
            {
                return Ok(obj);
            }
        }
        Err(ApiError::conflict(&resource_name(res), name))
    }

    /// Write `new` over `current` with a compare-and-swap. `Ok(None)` means another writer
    /// won and the caller may retry (only possible without a client precondition).
    #[allow(clippy::too_many_arguments)]
    async fn write_update(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        new: Value,
        current: &KeyValue,
        precondition: Option<i64>,
        opts: &WriteOpts<'_>,
    ) -> ApiResult<Option<Value>> {
        if precondition.is_some_and(|rv| rv != current.mod_revision) {
            return Err(ApiError::conflict(&resource_name(res), name));
        }
        let old = decode(current)?;
        if let Some(uid) = new["metadata"]
            .get("uid")
            .filter(|u| !u.is_null() && **u != old["metadata"]["uid"])
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    uid.as_str().unwrap_or(""),
                    old["metadata"]["uid"].as_str().unwrap_or("")
                ),
            )
            .with_details(&resource_name(res), name));
        }
        let mut obj = match opts.sub {
            Some("status") => {
                let mut o = old.clone();
                o["status"] = new["status"].clone();
                o
            }
            Some("finalize") => {
                let mut o = old.clone();
                o["spec"]["finalizers"] = new["spec"]["finalizers"].clone();
                o
            }
            Some("ephemeralcontainers") => {
                let mut o = old.clone();
                o["spec"]["ephemeralContainers"] = new["spec"]["ephemeralContainers"].clone();
                o
            }
            _ => {
                let mut o = new;
                if has_status_subresource(res) {
                    match old.get("status") {
                        Some(s) => o["status"] = s.clone(),
                        None => {
                            if let Some(m) = o.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                if res.kind == "Namespace" {
                    // A namespace's finalizers change only through `finalize`.
                    match old["spec"].get("finalizers") {
                        Some(f) => o["spec"]["finalizers"] = f.clone(),
                        None => {
                            if let Some(spec) = o["spec"].as_object_mut() {
                                spec.remove("finalizers");
                            }
                        }
                    }
                }
                if res.kind == "Pod" {
                    // Ephemeral containers change only through their subresource.
                    o["spec"]["ephemeralContainers"] = old["spec"]["ephemeralContainers"].clone();
                    if o["spec"]["ephemeralContainers"].is_null() {
                        if let Some(spec) = o["spec"].as_object_mut() {
                            spec.remove("ephemeralContainers");
                        }
                    }
                }
                o
            }
        };
        // Server-owned metadata is kept from the stored object whatever the client sent.
        {
            let meta = obj["metadata"]
                .as_object_mut()
                .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
            meta.remove("resourceVersion");
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
            ] {
                match old["metadata"].get(field) {
                    Some(v) => meta.insert(field.into(), v.clone()),
                    None => meta.remove(field),
                };
            }
        }
        let (claims, frees) = if res.kind == "Service" && opts.sub.is_none() {
            let c = crate::alloc::assign(&mut obj, Some(&old))?;
            (c.claim, c.free)
        } else {
            (Vec::new(), Vec::new())
        };
        validate(res, &mut obj, name, Some(&old))?;
        if tracks_generation(res) && obj.get("spec") != old.get("spec") {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            obj["metadata"]["generation"] = json!(generation);
        }
        let mut old_cmp = old.clone();
        old_cmp["metadata"]
            .as_object_mut()
            .map(|m| m.remove("resourceVersion"));
        if obj == old_cmp && !opts.apply {
            // Nothing changed: no write, no new resourceVersion, no watch event.
            return Ok(Some(old));
        }
        if !opts.apply {
            record_managed(res, Some(&old), &mut obj, &opts.manager);
        }
        if obj == old_cmp {
            return Ok(Some(old));
        }
        let key = res.key(ns, name);
        let finished = !obj["metadata"]["deletionTimestamp"].is_null()
            && finalizers(&obj).is_empty()
            && (res.kind != "Namespace" || !namespace_finalizers_pending(&obj))
            && !grace_pending(res, &obj);
        if opts.dry_run {
            obj["metadata"]["resourceVersion"] = json!(current.mod_revision.to_string());
            return Ok(Some(obj));
        }
        let mut compare = vec![Compare::mod_revision_is(key.clone(), current.mod_revision)];
        compare.extend(
            claims
                .iter()
                .map(|c| Compare::mod_revision_is(c.clone(), 0)),
        );
        let mut ops = Vec::new();
        if finished {
            // The last finalizer is gone from an object being deleted: it goes now.
            ops.push(Op::delete(key.clone()));
            ops.extend(crate::alloc::held_keys(&old).into_iter().map(Op::delete));
        } else {
            ops.push(Op::put(key.clone(), encode(&obj)));
            ops.extend(claims.iter().map(|c| Op::put(c.clone(), key.clone())));
            ops.extend(frees.into_iter().map(Op::delete));
        }
        let resp = self
            .store
            .txn(Txn::new().when(compare).and_then(ops))
            .await?;
        if resp.succeeded {
            obj["metadata"]["resourceVersion"] = json!(resp.revision.to_string());
            if finished
                || obj["metadata"]["ownerReferences"] != old["metadata"]["ownerReferences"]
                || obj["metadata"]["finalizers"] != old["metadata"]["finalizers"]
                || obj["spec"]["finalizers"] != old["spec"]["finalizers"]
            {
                self.wake();
            }
            return Ok(Some(obj));
        }
        if self.store.get(&key).await?.is_none() {
            return Err(ApiError::not_found(&resource_name(res), name));
        }
        if precondition.is_some() {
            return Err(ApiError::conflict(&resource_name(res), name));
        }
        if !claims.is_empty() {
            if let Some(c) = claims.first() {
                if self.store.get(c).await?.is_some() {
                    return Err(crate::alloc::already_allocated(&obj));
                }
            }
        }
        Ok(None)
    }

    async fn patch(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        bytes: &[u8],
        ctx: &Ctx,
        sub: Option<&str>,
    ) -> ApiResult {
        let media = ctx
            .content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let dry_run = ctx.query.dry_run()?;
        let fv = field_validation(ctx)?;
        let root =
            crate::openapi::root_definition(&res.api_version(), res.kind).unwrap_or_default();
        let kind = match media.as_str() {
            "application/json-patch+json" => PatchKind::Json,
            "application/merge-patch+json" => PatchKind::Merge,
            "application/strategic-merge-patch+json" => PatchKind::Strategic,
            "application/apply-patch+yaml" => PatchKind::Apply,
            other => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format ({other:?}); \
                         accepted patch types are application/json-patch+json, \
                         application/merge-patch+json, application/strategic-merge-patch+json \
                         and application/apply-patch+yaml"
                    ),
                ))
            }
        };
        let mut body = if kind == PatchKind::Apply {
            parse_body("application/yaml", bytes)?
        } else {
            parse_json(bytes)?
        };
        if kind == PatchKind::Apply && sub.is_none() && has_status_subresource(res) {
            // Status is written through its subresource; an apply of the main resource
            // neither sets it nor takes ownership of it.
            if let Some(m) = body.as_object_mut() {
                m.remove("status");
            }
        }
        if kind == PatchKind::Apply && ctx.query.get("fieldManager").is_none() {
            return Err(ApiError::bad_request(
                "PATCH requests with the apply content type must set the fieldManager \
                 parameter; kubectl apply --server-side sets it",
            ));
        }
        let force = ctx.query.flag("force");
        if force && kind != PatchKind::Apply {
            return Err(ApiError::bad_request(
                "force is only allowed with server-side apply (application/apply-patch+yaml)",
            ));
        }
        let opts = WriteOpts {
            sub,
            dry_run,
            manager: manager(ctx)?,
            apply: kind == PatchKind::Apply,
        };
        let mut warnings = Vec::new();
        if kind == PatchKind::Apply && sub.is_none() {
            let applied = check_body(res, body.clone(), ns)?;
            if name_of(&applied) != name {
                return Err(ApiError::bad_request(format!(
                    "the name in the applied configuration ({}) does not match the name on \
                     the URL ({name})",
                    name_of(&applied)
                )));
            }
            if self.store.get(&res.key(ns, name)).await?.is_none() {
                let mut obj = server_side_apply(&root, None, &applied, &opts.manager, force)?;
                check_fields(res, &mut obj, fv, &mut warnings)?;
                let obj = self.create_object(res, ns, obj, &opts).await?;
                return Ok(self.object_response(res, ctx, StatusCode::CREATED, obj, &warnings));
            }
        }
        let warnings = std::sync::Mutex::new(warnings);
        let patch_one = |obj: Value| -> ApiResult<Value> {
            let live = if sub == Some("scale") {
                to_scale(res, &obj)
            } else {
                obj.clone()
            };
            let patched = match kind {
                PatchKind::Json => {
                    let mut o = live;
                    crate::patch::json_patch(&mut o, &body).map_err(|e| {
                        ApiError::new(
                            422,
                            "Invalid",
                            format!("the patch could not be applied: {e}"),
                        )
                    })?;
                    o
                }
                PatchKind::Merge => {
                    let mut o = live;
                    crate::patch::merge_patch(&mut o, &body);
                    o
                }
                PatchKind::Strategic if sub == Some("scale") => {
                    let mut o = live;
                    crate::patch::merge_patch(&mut o, &body);
                    o
                }
                PatchKind::Strategic => crate::smp::strategic_merge_patch(&root, &live, &body)
                    .map_err(|e| {
                        ApiError::new(
                            422,
                            "Invalid",
                            format!("the patch could not be applied: {e}"),
                        )
                    })?,
                PatchKind::Apply => {
                    let applied = check_body(res, body.clone(), ns)?;
                    server_side_apply(&root, Some(&live), &applied, &opts.manager, force)?
                }
            };
            if sub == Some("scale") {
                let mut o = obj;
                o["spec"]["replicas"] = patched["spec"]["replicas"].clone();
                return Ok(o);
            }
            let mut patched = check_body(res, patched, ns)?;
            if name_of(&patched) != name {
                return Err(ApiError::bad_request(
                    "a patch may not change metadata.name; create a new object instead",
                ));
            }
            let mut w = warnings.lock().unwrap_or_else(|p| p.into_inner());
            check_fields(res, &mut patched, fv, &mut w)?;
            Ok(patched)
        };
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            let patched = patch_one(decode(&current)?)?;
            // A resourceVersion left in the patched object is a precondition, as in update.
            let precondition = match patched["metadata"]["resourceVersion"].as_str() {
                Some(rv) if rv != current.mod_revision.to_string() && !rv.is_empty() => {
                    Some(parse_rv(rv)?)
                }
                _ => None,
            };
            if let Some(obj) = self
                .write_update(res, ns, name, patched, &current, precondition, &opts)
                .await?
            {
                let warnings = warnings.into_inner().unwrap_or_else(|p| p.into_inner());
                if sub == Some("scale") {
                    return Ok(json_response(StatusCode::OK, &to_scale(res, &obj)));
                }
                return Ok(self.object_response(res, ctx, StatusCode::OK, obj, &warnings));
            }
        }
        Err(ApiError::conflict(&resource_name(res), name))
    }

    // ----- binding -----

    async fn bind(&self, ns: Option<&str>, name: &str, body: &Value, ctx: &Ctx) -> ApiResult {
        let pods = crate::resources::lookup("", "v1", "pods").expect("pods are served");
        let node = body["target"]["name"].as_str().unwrap_or("").to_string();
        if node.is_empty() {
            return Err(ApiError::invalid(
                "Binding",
                name,
                vec![validation::required("target.name", "the node to bind to")],
            ));
        }
        let dry_run = ctx.query.dry_run()?;
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(pods, ns, name).await?;
            let mut obj = decode(&current)?;
            if let Some(bound) = obj["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!("pod {name} is already assigned to node \"{bound}\""),
                )
                .with_details("pods", name));
            }
            if !obj["metadata"]["deletionTimestamp"].is_null() {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            obj["spec"]["nodeName"] = json!(node);
            set_condition(&mut obj, "PodScheduled", "True", "");
            if dry_run {
                break;
            }
            let key = pods.key(ns, name);
            let txn = Txn::new()
                .when([Compare::mod_revision_is(key.clone(), current.mod_revision)])
                .and_then([Op::put(key, encode(&obj))]);
            if self.store.txn(txn).await?.succeeded {
                break;
            }
        }
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ))
    }

    // ----- delete -----

    /// Delete one object. Returns the status code and the object (or a Status).
    pub(crate) async fn delete(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        options: &Value,
        ctx: &Ctx,
    ) -> ApiResult<(StatusCode, Value)> {
        let dry_run = ctx.query.dry_run()?
            || options["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|v| v == "All"));
        let propagation = match options["propagationPolicy"]
            .as_str()
            .or(ctx.query.get("propagationPolicy"))
        {
            Some(p @ ("Background" | "Foreground" | "Orphan")) => p.to_string(),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy {other:?} is not supported; use Background, Foreground \
                     or Orphan"
                )))
            }
            None if options["orphanDependents"] == json!(true) => "Orphan".into(),
            None if options["orphanDependents"] == json!(false) => "Background".into(),
            // batch/v1 Jobs orphan their pods unless told otherwise, as in Kubernetes.
            None if res.kind == "Job" => "Orphan".into(),
            None => "Background".into(),
        };
        let grace = match options["gracePeriodSeconds"].as_i64().or_else(|| {
            ctx.query
                .get("gracePeriodSeconds")
                .and_then(|g| g.parse().ok())
        }) {
            Some(g) if g < 0 => {
                return Err(ApiError::bad_request(
                    "gracePeriodSeconds must be 0 or more",
                ))
            }
            g => g,
        };
        let pre_rv = options["preconditions"]["resourceVersion"]
            .as_str()
            .map(parse_rv)
            .transpose()?;
        let pre_uid = options["preconditions"]["uid"].as_str();
        for _ in 0..CAS_RETRIES {
            let current = self.get_kv(res, ns, name).await?;
            let obj = decode(&current)?;
            if pre_rv.is_some_and(|rv| rv != current.mod_revision)
                || pre_uid.is_some_and(|uid| obj["metadata"]["uid"] != json!(uid))
            {
                return Err(ApiError::conflict(&resource_name(res), name));
            }
            if res.kind == "Namespace" && matches!(name, "default" | "kube-system") {
                return Err(ApiError::new(
                    403,
                    "Forbidden",
                    format!(
                        "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
                    ),
                )
                .with_details("namespaces", name));
            }
            let key = res.key(ns, name);
            let plan = plan_delete(res, &obj, &propagation, grace);
            let (ops, result) = match &plan {
                DeletePlan::Now => {
                    let mut ops = vec![Op::delete(key.clone())];
                    ops.extend(crate::alloc::held_keys(&obj).into_iter().map(Op::delete));
                    (ops, obj.clone())
                }
                DeletePlan::Unchanged => return Ok((StatusCode::OK, obj)),
                DeletePlan::Update(new) => (vec![Op::put(key.clone(), encode(new))], new.clone()),
            };
            if dry_run {
                return Ok((StatusCode::OK, result));
            }
            let txn = Txn::new()
                .when([Compare::mod_revision_is(key, current.mod_revision)])
                .and_then(ops);
            let resp = self.store.txn(txn).await?;
            if resp.succeeded {
                self.wake();
                let mut result = result;
                if matches!(plan, DeletePlan::Update(_)) {
                    result["metadata"]["resourceVersion"] = json!(resp.revision.to_string());
                    // Accepted: the object goes once its grace period or finalizers are done.
                    return Ok((StatusCode::ACCEPTED, result));
                }
                return Ok((StatusCode::OK, result));
            }
            if pre_rv.is_some() {
                return Err(ApiError::conflict(&resource_name(res), name));
            }
        }
        Err(ApiError::conflict(&resource_name(res), name))
    }

    async fn delete_collection(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        options: &Value,
        ctx: &Ctx,
    ) -> ApiResult {
        let selector = Selector::from_query(&ctx.query, res)?;
        let resp = self
            .store
            .range(RangeRequest::prefix(res.prefix(ns)))
            .await?;
        let mut deleted = Vec::new();
        for kv in &resp.kvs {
            let obj = decode(kv)?;
            if !selector.matches(&obj) {
                continue;
            }
            let obj_ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
            match self
                .delete(res, obj_ns.as_deref(), name_of(&obj), options, ctx)
                .await
            {
                Ok((_, o)) => deleted.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "kind": res.list_kind(),
                "apiVersion": res.api_version(),
                "metadata": {"resourceVersion": resp.revision.to_string()},
                "items": deleted,
            }),
        ))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

enum DeletePlan {
    Now,
    Unchanged,
    Update(Value),
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn namespace_finalizers_pending(ns: &Value) -> bool {
    ns["spec"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// A pod whose graceful deletion has not reached its deadline stays until the node agent
/// confirms the containers are gone (with a delete of grace 0).
fn grace_pending(res: &Resource, obj: &Value) -> bool {
    res.kind == "Pod" && obj["metadata"]["deletionGracePeriodSeconds"].as_i64() > Some(0)
}

/// What a DELETE does to `obj`: remove it now, or mark it (deletionTimestamp, finalizers,
/// Terminating) and leave the rest to the grace period, the agent or the controllers.
fn plan_delete(res: &Resource, obj: &Value, propagation: &str, grace: Option<i64>) -> DeletePlan {
    let now = now_secs();
    let already = !obj["metadata"]["deletionTimestamp"].is_null();
    if res.kind == "Namespace" {
        if already {
            return DeletePlan::Unchanged;
        }
        let mut new = obj.clone();
        // Content is only removed by the namespace controller, which acts on the
        // `kubernetes` finalizer: make sure it is there even for namespaces written
        // without it.
        if !namespace_finalizers_pending(obj) {
            new["spec"]["finalizers"] = json!(["kubernetes"]);
        }
        new["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        new["status"]["phase"] = json!("Terminating");
        return DeletePlan::Update(new);
    }
    let mut new = obj.clone();
    let mut changed = false;
    if res.kind == "Pod" {
        let unscheduled = obj["spec"]["nodeName"].as_str().unwrap_or("").is_empty();
        let finished = matches!(
            obj["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        let grace = if unscheduled || finished {
            0
        } else {
            grace
                .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(30)
        };
        let current = obj["metadata"]["deletionGracePeriodSeconds"].as_i64();
        if grace > 0 && current.is_none_or(|c| grace < c) {
            new["metadata"]["deletionTimestamp"] = json!(rfc3339(now + grace));
            new["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            return DeletePlan::Update(new);
        }
        if grace > 0 {
            return DeletePlan::Unchanged;
        }
        if current.is_some_and(|c| c > 0) {
            new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            changed = true;
        }
    }
    let mut fins = finalizers(obj);
    let wanted = match propagation {
        "Foreground" => Some("foregroundDeletion"),
        "Orphan" => Some("orphan"),
        _ => None,
    };
    if !already {
        if let Some(f) = wanted {
            if !fins.iter().any(|x| x == f) {
                fins.push(f.to_string());
            }
        }
    }
    if fins.is_empty() {
        return DeletePlan::Now;
    }
    if !already {
        new["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if let Some(g) = new["metadata"]["generation"].as_i64() {
            new["metadata"]["generation"] = json!(g + 1);
        }
        changed = true;
    }
    if fins != finalizers(obj) {
        new["metadata"]["finalizers"] = json!(fins);
        changed = true;
    }
    if changed {
        DeletePlan::Update(new)
    } else {
        DeletePlan::Unchanged
    }
}

/// Statuses a create does not take from the client, as in Kubernetes.
fn reset_status_on_create(res: &Resource, obj: &mut Value) {
    let status = match (res.group, res.kind) {
        ("apps", _) | ("batch", _) => json!({}),
        ("", "Service") => json!({"loadBalancer": {}}),
        ("", "PersistentVolumeClaim" | "PersistentVolume") => json!({"phase": "Pending"}),
        ("", "Pod") => Value::Null,
        _ => return,
    };
    match obj.as_object_mut() {
        Some(m) if status.is_null() => {
            m.remove("status");
        }
        Some(m) => {
            m.insert("status".into(), status);
        }
        None => {}
    }
}

fn set_condition(obj: &mut Value, kind: &str, status: &str, reason: &str) {
    let now = rfc3339_now();
    let mut cond =
        json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": now});
    if !reason.is_empty() {
        cond["reason"] = json!(reason);
    }
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    let conds = obj["status"]
        .as_object_mut()
        .expect("made an object above")
        .entry("conditions")
        .or_insert_with(|| json!([]));
    if let Some(list) = conds.as_array_mut() {
        list.retain(|c| c["type"] != kind);
        list.push(cond);
    }
}

/// Default, then validate `obj` as `res`'s kind; every problem is reported at once.
fn validate(res: &Resource, obj: &mut Value, name: &str, old: Option<&Value>) -> ApiResult<()> {
    let api_version = res.api_version();
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the object must be a JSON object"))?;
    validation::default_object(&api_version, res.kind, map);
    let mut causes = Vec::new();
    if let Err(msg) = validation::validate_name(&api_version, res.kind, name) {
        causes.push(validation::invalid_value(
            "metadata.name",
            &json!(name),
            &msg,
        ));
    }
    validation::validate_object(
        &api_version,
        res.kind,
        map,
        old.and_then(Value::as_object),
        &mut causes,
    );
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(res.kind, name, causes))
    }
}

/// Schema checks of a request body: wrong types are a 400; unknown fields follow the
/// request's fieldValidation and are dropped, as Kubernetes drops them for built-in kinds.
fn check_fields(
    res: &Resource,
    obj: &mut Value,
    fv: FieldValidation,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    let api_version = res.api_version();
    let unknown = crate::openapi::check_fields(&api_version, res.kind, obj)?;
    if !unknown.is_empty() {
        match fv {
            FieldValidation::Strict => {
                let causes = unknown
                    .iter()
                    .map(|f| Cause {
                        reason: "FieldValueInvalid",
                        field: f.trim_start_matches('.').to_string(),
                        message: format!("unknown field \"{}\"", f.trim_start_matches('.')),
                    })
                    .collect();
                return Err(ApiError::invalid(res.kind, name_of(obj), causes));
            }
            FieldValidation::Warn => warnings.extend(
                unknown
                    .iter()
                    .map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.'))),
            ),
            FieldValidation::Ignore => {}
        }
        crate::openapi::prune_unknown(&api_version, res.kind, obj);
    }
    Ok(())
}

fn record_managed(res: &Resource, old: Option<&Value>, obj: &mut Value, manager: &str) {
    let root = crate::openapi::root_definition(&res.api_version(), res.kind).unwrap_or_default();
    crate::apply::record_update(&root, old, obj, manager, &rfc3339_now());
}

fn server_side_apply(
    root: &str,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
) -> ApiResult<Value> {
    crate::apply::server_side_apply(root, live, applied, manager, force, &rfc3339_now())
        .map_err(apply_error)
}

fn apply_error(e: crate::apply::ApplyError) -> ApiError {
    let message = e.to_string();
    match e {
        crate::apply::ApplyError::Conflicts(conflicts) => {
            let mut err = ApiError::new(409, "Conflict", message);
            err.causes = conflicts
                .iter()
                .map(|c| Cause {
                    reason: "FieldManagerConflict",
                    field: c.field.clone(),
                    message: format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                })
                .collect();
            err
        }
        crate::apply::ApplyError::Invalid { field, message } => {
            let mut err = ApiError::new(422, "Invalid", format!("{field}: {message}"));
            err.causes = vec![Cause {
                reason: "FieldValueInvalid",
                field,
                message,
            }];
            err
        }
    }
}

/// autoscaling/v1 Scale of a workload.
fn to_scale(res: &Resource, obj: &Value) -> Value {
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let meta = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(if res.kind == "Job" { 0 } else { 1 })},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

fn resource_name(res: &Resource) -> String {
    if res.group.is_empty() {
        res.plural.to_string()
    } else {
        format!("{}.{}", res.plural, res.group)
    }
}

fn parse_rv(rv: &str) -> ApiResult<i64> {
    rv.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid resourceVersion {rv:?}: use a value from an object or list this server \
             returned"
        ))
    })
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1; // prefixes end in '/', so this cannot overflow
    }
    end
}

fn make_continue(revision: i64, next: &[u8], prefix: &[u8]) -> String {
    use base64::Engine;
    let start = String::from_utf8_lossy(&next[prefix.len().min(next.len())..]).into_owned();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start}).to_string())
}

fn parse_continue(token: &str, prefix: &[u8]) -> ApiResult<(i64, Vec<u8>)> {
    use base64::Engine;
    let bad = || {
        ApiError::bad_request(
            "the continue token is not valid; pass the token of the previous page unchanged",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v["rv"].as_i64().filter(|r| *r > 0).ok_or_else(bad)?;
    let start = v["start"].as_str().ok_or_else(bad)?;
    if start.contains("..") {
        return Err(bad());
    }
    let mut key = prefix.to_vec();
    key.extend_from_slice(start.as_bytes());
    Ok((rv, key))
}

async fn delete_options(ctx: &Ctx, req: Request<Incoming>) -> ApiResult<Value> {
    let bytes = read_body(req).await?;
    if bytes.is_empty() {
        Ok(Value::Null)
    } else {
        parse_body(&ctx.content_type, &bytes)
    }
}

/// The watch event for a store event, judged by `matches` before and after: an object
/// that stops matching is DELETED for this watcher, one that starts matching is ADDED.
fn watch_event(
    ev: &skiff_store::WatchEvent,
    matches: &impl Fn(&Value) -> bool,
) -> Option<(&'static str, Value)> {
    let prev = ev
        .prev_kv
        .as_ref()
        .and_then(|kv| decode(kv).ok())
        .filter(|o| matches(o));
    match ev.kind {
        EventType::Put => {
            let obj = decode(&ev.kv).ok()?;
            match (matches(&obj), prev.is_some()) {
                (true, true) => Some(("MODIFIED", obj)),
                (true, false) => Some(("ADDED", obj)),
                (false, true) => Some(("DELETED", obj)),
                (false, false) => None,
            }
        }
        EventType::Delete => {
            // The last state of the object, stamped with the delete's revision.
            let mut obj = prev?;
            obj["metadata"]["resourceVersion"] = json!(ev.kv.mod_revision.to_string());
            Some(("DELETED", obj))
        }
    }
}

fn event_line(
    res: &'static Resource,
    table: Option<crate::table::IncludeObject>,
    kind: &str,
    obj: Value,
) -> Bytes {
    let object = match table {
        Some(include) => {
            let rv = obj["metadata"]["resourceVersion"].clone();
            crate::table::to_table(res, &[obj], include, json!({"resourceVersion": rv}))
        }
        None => obj,
    };
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object}))
        .expect("serializing a JSON value cannot fail");
    line.push(b'\n');
    Bytes::from(line)
}

fn bookmark_line(res: &Resource, revision: i64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": revision.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let mut line = serde_json::to_vec(&json!({
        "type": "BOOKMARK",
        "object": {"kind": res.kind, "apiVersion": res.api_version(), "metadata": meta},
    }))
    .expect("serializing a JSON value cannot fail");
    line.push(b'\n');
    Bytes::from(line)
}

fn error_event(e: &StoreError) -> Bytes {
    let err = match e {
        StoreError::Compacted {
            requested,
            compact_revision,
        } => ApiError::expired(format!(
            "too old resource version: {requested} ({compact_revision}); list again and watch \
             from the list's resourceVersion"
        )),
        other => ApiError::internal(other.to_string()),
    };
    let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": err.to_status()}))
        .expect("serializing a JSON value cannot fail");
    line.push(b'\n');
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(plural: &str) -> &'static Resource {
        crate::resources::RESOURCES
            .iter()
            .find(|r| r.plural == plural)
            .unwrap()
    }

    #[test]
    fn delete_plans() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        match plan_delete(res("pods"), &pod, "Background", None) {
            DeletePlan::Update(p) => assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30),
            _ => panic!("a running pod is deleted gracefully"),
        }
        let unscheduled = json!({"metadata": {"name": "p"}, "spec": {}});
        assert!(matches!(
            plan_delete(res("pods"), &unscheduled, "Background", None),
            DeletePlan::Now
        ));
        assert!(matches!(
            plan_delete(res("pods"), &pod, "Background", Some(0)),
            DeletePlan::Now
        ));
        let dep = json!({"metadata": {"name": "d", "generation": 1}});
        match plan_delete(res("deployments"), &dep, "Foreground", None) {
            DeletePlan::Update(d) => {
                assert_eq!(d["metadata"]["finalizers"], json!(["foregroundDeletion"]));
                assert_eq!(d["metadata"]["generation"], 2);
            }
            _ => panic!("foreground deletion keeps the owner"),
        }
        assert!(matches!(
            plan_delete(res("deployments"), &dep, "Background", None),
            DeletePlan::Now
        ));
        let ns = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}});
        match plan_delete(res("namespaces"), &ns, "Background", None) {
            DeletePlan::Update(n) => assert_eq!(n["status"]["phase"], "Terminating"),
            _ => panic!("namespaces terminate"),
        }
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let prefix = b"/registry/pods/default/";
        let mut next = prefix.to_vec();
        next.extend_from_slice(b"web-1\0");
        let token = make_continue(42, &next, prefix);
        assert_eq!(parse_continue(&token, prefix).unwrap(), (42, next));
        assert!(parse_continue("!!", prefix).is_err());
        assert!(parse_continue("e30", prefix).is_err());
    }

    #[test]
    fn watch_events_follow_the_selector() {
        let kv = |rev: i64, labels: Value| skiff_store::KeyValue {
            key: b"/registry/pods/d/p".to_vec(),
            value: serde_json::to_vec(&json!({"metadata": {"name": "p", "labels": labels}}))
                .unwrap(),
            create_revision: 1,
            mod_revision: rev,
            version: rev,
            lease: 0,
        };
        let matches = |o: &Value| o["metadata"]["labels"]["app"] == "web";
        let ev = skiff_store::WatchEvent {
            kind: EventType::Put,
            kv: kv(2, json!({"app": "db"})),
            prev_kv: Some(kv(1, json!({"app": "web"}))),
        };
        assert_eq!(watch_event(&ev, &matches).unwrap().0, "DELETED");
        let ev = skiff_store::WatchEvent {
            kind: EventType::Put,
            kv: kv(3, json!({"app": "web"})),
            prev_kv: Some(kv(2, json!({"app": "db"}))),
        };
        assert_eq!(watch_event(&ev, &matches).unwrap().0, "ADDED");
    }
}
