//! The controllers' view of the cluster ([`crate::controllers::Cluster`]) implemented over
//! this server's own write paths, so garbage collection and namespace termination go through
//! the same validation, finalizer and compare-and-swap rules as any client.

use std::sync::Arc;

use hyper::Method;
use serde_json::Value;
use skiff_store::RangeRequest;

use crate::api::{Api, Ctx};
use crate::controllers::Cluster;
use crate::objects::{decode, name_of};
use crate::query::Query;
use crate::resources::Resource;
use crate::rest::WriteOpts;
use crate::status::ApiError;

/// The field manager the controllers write as.
const MANAGER: &str = "skiff-controller-manager";

/// Start the garbage collector and the namespace controller on the current runtime.
pub(crate) fn start_controllers(api: Arc<Api>, wake: tokio::sync::mpsc::Receiver<()>) {
    tokio::spawn(crate::controllers::run(api, wake));
}

fn internal_ctx(method: Method) -> Ctx {
    Ctx {
        method,
        path: String::new(),
        query: Query::parse(""),
        accept: "application/json".into(),
        content_type: "application/json".into(),
        user_agent: MANAGER.into(),
    }
}

fn namespace_of(obj: &Value) -> Option<String> {
    obj["metadata"]["namespace"].as_str().map(str::to_string)
}

fn resource_version(obj: &Value) -> Result<Option<i64>, ApiError> {
    match obj["metadata"]["resourceVersion"].as_str() {
        None | Some("") => Ok(None),
        Some(rv) => rv
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}"))),
    }
}

impl Api {
    async fn controller_update(
        &self,
        res: &'static Resource,
        obj: Value,
        sub: Option<&str>,
    ) -> Result<Value, ApiError> {
        let ns = namespace_of(&obj);
        let name = name_of(&obj).to_string();
        let precondition = resource_version(&obj)?;
        let opts = WriteOpts {
            sub,
            dry_run: false,
            manager: MANAGER.into(),
            apply: false,
        };
        self.update_with(res, ns.as_deref(), &name, precondition, &opts, |_| {
            Ok(obj.clone())
        })
        .await
    }
}

impl Cluster for Api {
    async fn list(&self, res: &'static Resource, ns: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let resp = self
            .store
            .range(RangeRequest::prefix(res.prefix(ns)))
            .await?;
        resp.kvs.iter().map(decode).collect()
    }

    async fn get(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        match self.store.get(&res.key(ns, name)).await? {
            Some(kv) => decode(&kv).map(Some),
            None => Ok(None),
        }
    }

    async fn delete(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        uid: &str,
        propagation: &str,
    ) -> Result<(), ApiError> {
        let options = serde_json::json!({
            "propagationPolicy": propagation,
            "preconditions": {"uid": uid},
        });
        match Api::delete(self, res, ns, name, &options, &internal_ctx(Method::DELETE)).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn update(&self, res: &'static Resource, obj: Value) -> Result<Value, ApiError> {
        self.controller_update(res, obj, None).await
    }

    async fn update_status(&self, res: &'static Resource, obj: Value) -> Result<Value, ApiError> {
        self.controller_update(res, obj, Some("status")).await
    }

    async fn finalize_namespace(&self, ns: Value) -> Result<Value, ApiError> {
        self.controller_update(&crate::resources::NAMESPACES, ns, Some("finalize"))
            .await
    }
}
