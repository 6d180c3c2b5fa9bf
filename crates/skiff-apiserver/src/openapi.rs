//! The OpenAPI documents (v2, as JSON and protobuf, and v3 per group-version) generated from
//! the Kubernetes types in `k8s-openapi`, and schema-driven checks of request bodies (unknown
//! fields for `fieldValidation`, and wrong JSON types) that name the field path.
//!
//! kubectl reads these documents for `kubectl explain` (v3 since 1.27, v2 before and with
//! `--output=plaintext-openapiv2`), for the patch metadata of client-side apply, for
//! client-side validation (v2) and to learn whether the server validates fields itself (the
//! `fieldValidation` parameter of the PATCH operations in v3). All documents are built once,
//! on first use, and kept encoded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};

use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::resources::{Resource, RESOURCES};
use crate::status::ApiError;

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
    let name = definition_name(api_version, kind);
    definitions().contains_key(&name).then_some(name)
}

fn definition_name(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("core", api_version),
    };
    let group = group.strip_suffix(".k8s.io").unwrap_or(group);
    format!("io.k8s.api.{group}.{version}.{kind}")
}

const V3_PREFIX: &str = "#/components/schemas/";
const V2_PREFIX: &str = "#/definitions/";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
const STATUS_DEF: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS_DEF: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const WATCH_EVENT_DEF: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
const PATCH_DEF: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const SCALE_DEF: &str = "io.k8s.api.autoscaling.v1.Scale";
const INT_OR_STRING_DEF: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY_DEF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
/// Kept as raw JSON by the Go types, so any value decodes.
const RAW_DEFS: &[&str] = &[
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
];

const PV2_MIME_ASKED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PV2_MIME: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

// ---------------------------------------------------------------------------------------
// The API surface both documents describe.

/// `x-kubernetes-group-version-kind` value.
fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn resource_gvk(r: &Resource) -> Value {
    gvk(r.group, r.version, r.kind)
}

/// The definitions the documents carry: the generated ones plus the list kinds and `Patch`,
/// which `k8s-openapi` has no schemas for, with `x-kubernetes-group-version-kind` on every
/// root kind (kubectl finds a kind's schema by it).
fn all_definitions() -> BTreeMap<String, Value> {
    let mut defs: BTreeMap<String, Value> = definitions()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut gvks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in RESOURCES {
        let name = definition_name(&r.api_version(), r.kind);
        gvks.entry(name.clone()).or_default().push(resource_gvk(r));
        let list = format!("{name}List");
        defs.insert(
            list.clone(),
            json!({
                "description": format!("{}List is a list of {} objects.", r.kind, r.kind),
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": {"description": "APIVersion defines the versioned schema of this representation of an object.", "type": "string"},
                    "kind": {"description": "Kind is a string value representing the REST resource this object represents.", "type": "string"},
                    "items": {"description": format!("List of {}.", r.plural), "type": "array",
                              "items": {"$ref": format!("{V3_PREFIX}{name}")}},
                    "metadata": {"description": "Standard list metadata.", "$ref": format!("{V3_PREFIX}{META}.ListMeta")},
                },
            }),
        );
        gvks.entry(list)
            .or_default()
            .push(gvk(r.group, r.version, &r.list_kind()));
    }
    gvks.entry(SCALE_DEF.into())
        .or_default()
        .push(gvk("autoscaling", "v1", "Scale"));
    gvks.entry(STATUS_DEF.into())
        .or_default()
        .push(gvk("", "v1", "Status"));
    gvks.entry("io.k8s.api.core.v1.Binding".into())
        .or_default()
        .push(gvk("", "v1", "Binding"));
    let mut versions: BTreeSet<(&str, &str)> =
        RESOURCES.iter().map(|r| (r.group, r.version)).collect();
    versions.insert(("autoscaling", "v1"));
    for (g, v) in versions {
        gvks.entry(DELETE_OPTIONS_DEF.into())
            .or_default()
            .push(gvk(g, v, "DeleteOptions"));
        gvks.entry(WATCH_EVENT_DEF.into())
            .or_default()
            .push(gvk(g, v, "WatchEvent"));
    }
    defs.insert(
        PATCH_DEF.into(),
        json!({"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object"}),
    );
    for (name, list) in gvks {
        if let Some(Value::Object(def)) = defs.get_mut(&name) {
            def.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
        }
    }
    // Patch strategies, merge keys, list and map types: kubectl's client-side apply reads
    // them from these documents.
    for (name, def) in defs.iter_mut() {
        let Value::Object(def) = def else { continue };
        for (k, v) in crate::patch_meta::definition_extensions(name) {
            def.insert(k.into(), v);
        }
        let Some(Value::Object(props)) = def.get_mut("properties") else {
            continue;
        };
        for (prop, schema) in props.iter_mut() {
            if let Value::Object(schema) = schema {
                for (k, v) in crate::patch_meta::property_extensions(name, prop) {
                    schema.insert(k.into(), v);
                }
            }
        }
    }
    defs
}

/// One operation of a path, independent of the document version.
struct Operation {
    method: &'static str,
    action: &'static str,
    id: String,
    description: String,
    query: &'static [&'static str],
    /// The request body's definition when it is not the resource's own (DeleteOptions,
    /// Patch); see `body_definition`.
    body: Option<&'static str>,
    /// Definition name of the 200 response.
    response: String,
    gvk: Value,
    consumes: &'static [&'static str],
}

struct PathSpec {
    path: String,
    path_params: &'static [&'static str],
    ops: Vec<Operation>,
}

const LIST_PARAMS: &[&str] = &[
    "pretty",
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: &[&str] = &["pretty", "dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: &[&str] = &[
    "pretty",
    "dryRun",
    "fieldManager",
    "fieldValidation",
    "force",
];
const DELETE_PARAMS: &[&str] = &[
    "pretty",
    "dryRun",
    "gracePeriodSeconds",
    "orphanDependents",
    "propagationPolicy",
];
const DELETE_COLLECTION_PARAMS: &[&str] = &[
    "pretty",
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
const JSON_CONSUMES: &[&str] = &["*/*"];
const PATCH_CONSUMES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// Type and description of each query parameter.
fn query_param(name: &str) -> (&'static str, &'static str) {
    match name {
        "pretty" => ("string", "If 'true', then the output is pretty printed."),
        "dryRun" => ("string", "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed"),
        "fieldManager" => ("string", "fieldManager is a name associated with the actor or entity that is making these changes."),
        "fieldValidation" => ("string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: ignores unknown fields and drops them from the object; - Warn: sends a warning for each unknown field in a Warning response header; - Strict: fails the request with a BadRequest error if any unknown field is found."),
        "force" => ("boolean", "Force is going to \"force\" Apply requests: it means the user will re-acquire conflicting fields owned by other people. Force must be unset for non-apply patch requests."),
        "allowWatchBookmarks" => ("boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
        "continue" => ("string", "The continue option should be set when retrieving more results from the server."),
        "fieldSelector" => ("string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
        "labelSelector" => ("string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        "limit" => ("integer", "limit is a maximum number of responses to return for a list call."),
        "resourceVersion" => ("string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
        "resourceVersionMatch" => ("string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
        "sendInitialEvents" => ("boolean", "`sendInitialEvents=true` may be set together with `watch=true`: the stream begins with synthetic events for the current state."),
        "timeoutSeconds" => ("integer", "Timeout for the list/watch call."),
        "watch" => ("boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
        "gracePeriodSeconds" => ("integer", "The duration in seconds before the object should be deleted."),
        "orphanDependents" => ("boolean", "Deprecated: please use the PropagationPolicy."),
        "propagationPolicy" => ("string", "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
        _ => ("string", ""),
    }
}

fn path_param(name: &str) -> &'static str {
    match name {
        "namespace" => "object name and auth scope, such as for teams and projects",
        _ => "name of the object",
    }
}

/// `/api/v1` or `/apis/<group>/<version>`.
fn group_version_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// `CoreV1`, `AppsV1`, `CoordinationV1`: the middle of upstream's operation ids.
fn id_infix(group: &str, version: &str) -> String {
    let g = if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    };
    format!("{}{}", capitalize(g), capitalize(version))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn paths_of(r: &'static Resource) -> Vec<PathSpec> {
    let prefix = group_version_prefix(r.group, r.version);
    let infix = id_infix(r.group, r.version);
    let def = definition_name(&r.api_version(), r.kind);
    let list = format!("{def}List");
    let (scope, ns_params, item_params): (&str, &[&str], &[&str]) = if r.namespaced {
        ("Namespaced", &["namespace"], &["name", "namespace"])
    } else {
        ("", &[], &["name"])
    };
    let collection = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let watch_collection = if r.namespaced {
        format!("{prefix}/watch/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/watch/{}", r.plural)
    };
    let kind = r.kind;
    let op = |method, action, verb: &str, what: String, query, body, response: &str| Operation {
        method,
        action,
        id: format!("{verb}{infix}{scope}{kind}"),
        description: what,
        query,
        body,
        response: response.to_string(),
        gvk: resource_gvk(r),
        consumes: if method == "patch" {
            PATCH_CONSUMES
        } else {
            JSON_CONSUMES
        },
    };
    let mut out = vec![
        PathSpec {
            path: collection.clone(),
            path_params: ns_params,
            ops: vec![
                op("get", "list", "list", format!("list or watch objects of kind {kind}"), LIST_PARAMS, None, &list),
                op("post", "post", "create", format!("create a {kind}"), WRITE_PARAMS, None, &def),
                Operation {
                    id: format!("delete{infix}Collection{scope}{kind}"),
                    ..op("delete", "deletecollection", "delete", format!("delete collection of {kind}"), DELETE_COLLECTION_PARAMS, Some(DELETE_OPTIONS_DEF), STATUS_DEF)
                },
            ],
        },
        PathSpec {
            path: format!("{collection}/{{name}}"),
            path_params: item_params,
            ops: vec![
                op("get", "get", "read", format!("read the specified {kind}"), &["pretty"], None, &def),
                op("put", "put", "replace", format!("replace the specified {kind}"), WRITE_PARAMS, None, &def),
                op("patch", "patch", "patch", format!("partially update the specified {kind}"), PATCH_PARAMS, Some(PATCH_DEF), &def),
                op("delete", "delete", "delete", format!("delete a {kind}"), DELETE_PARAMS, Some(DELETE_OPTIONS_DEF), STATUS_DEF),
            ],
        },
        PathSpec {
            path: watch_collection.clone(),
            path_params: ns_params,
            ops: vec![Operation {
                id: format!("watch{infix}{scope}{kind}List"),
                ..op("get", "watchlist", "watch", format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."), LIST_PARAMS, None, WATCH_EVENT_DEF)
            }],
        },
        PathSpec {
            path: format!("{watch_collection}/{{name}}"),
            path_params: item_params,
            ops: vec![op("get", "watch", "watch", format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."), LIST_PARAMS, None, WATCH_EVENT_DEF)],
        },
    ];
    if r.namespaced {
        out.push(PathSpec {
            path: format!("{prefix}/{}", r.plural),
            path_params: &[],
            ops: vec![Operation {
                id: format!("list{infix}{kind}ForAllNamespaces"),
                ..op(
                    "get",
                    "list",
                    "list",
                    format!("list or watch objects of kind {kind}"),
                    LIST_PARAMS,
                    None,
                    &list,
                )
            }],
        });
        out.push(PathSpec {
            path: format!("{prefix}/watch/{}", r.plural),
            path_params: &[],
            ops: vec![Operation {
                id: format!("watch{infix}{kind}ListForAllNamespaces"),
                ..op("get", "watchlist", "watch", format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."), LIST_PARAMS, None, WATCH_EVENT_DEF)
            }],
        });
    }
    for sub in ["status", "scale"] {
        if !r.has_subresource(sub) {
            continue;
        }
        let (target, target_gvk) = if sub == "scale" {
            (SCALE_DEF.to_string(), gvk("autoscaling", "v1", "Scale"))
        } else {
            (def.clone(), resource_gvk(r))
        };
        let suffix = capitalize(sub);
        let sub_op = |method, action, verb: &str, query| Operation {
            gvk: target_gvk.clone(),
            id: format!("{verb}{infix}{scope}{kind}{suffix}"),
            ..op(
                method,
                action,
                verb,
                format!("{verb} {sub} of the specified {kind}"),
                query,
                None,
                &target,
            )
        };
        out.push(PathSpec {
            path: format!("{collection}/{{name}}/{sub}"),
            path_params: item_params,
            ops: vec![
                sub_op("get", "get", "read", &["pretty"][..]),
                sub_op("put", "put", "replace", WRITE_PARAMS),
                Operation {
                    body: Some(PATCH_DEF),
                    ..sub_op("patch", "patch", "patch", PATCH_PARAMS)
                },
            ],
        });
    }
    out
}

/// The request body definition of an operation: its own `body`, or for create and replace
/// the definition the operation returns.
fn body_definition(o: &Operation) -> Option<String> {
    match (o.body, o.method) {
        (Some(b), _) => Some(b.to_string()),
        (None, "post" | "put") => Some(o.response.clone()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Swagger 2.0.

/// A definition in v2 form: `#/definitions/` refs, and the int-or-string types spelled
/// the way v2 clients (kubectl's validation and explain) expect.
fn to_v2(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let name = r.strip_prefix(V3_PREFIX).unwrap_or(r);
                        out.insert(k.clone(), json!(format!("{V2_PREFIX}{name}")));
                    }
                    ("x-kubernetes-int-or-string", _) => {}
                    ("properties", Value::Object(props)) => {
                        let props = props.iter().map(|(p, s)| (p.clone(), to_v2(s))).collect();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.clone(), to_v2(v));
                    }
                }
            }
            out
        }
        .into(),
        Value::Array(a) => Value::Array(a.iter().map(to_v2).collect()),
        other => other.clone(),
    }
}

fn v2_definition(name: &str, def: &Value) -> Value {
    let mut v = to_v2(def);
    if let Value::Object(m) = &mut v {
        match name {
            INT_OR_STRING_DEF => {
                m.insert("type".into(), json!("string"));
                m.insert("format".into(), json!("int-or-string"));
            }
            QUANTITY_DEF => {
                m.insert("type".into(), json!("string"));
            }
            _ => {}
        }
    }
    v
}

fn v2_operation(o: &Operation) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = body_definition(o) {
        params.push(json!({"name": "body", "in": "body", "required": true,
            "schema": {"$ref": format!("{V2_PREFIX}{body}")}}));
    }
    for q in o.query {
        let (ty, description) = query_param(q);
        params.push(
            json!({"uniqueItems": true, "type": ty, "description": description,
            "name": q, "in": "query"}),
        );
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "OK", "schema": {"$ref": format!("{V2_PREFIX}{}", o.response)}}),
    );
    if o.method == "post" {
        responses.insert(
            "201".into(),
            json!({"description": "Created", "schema": {"$ref": format!("{V2_PREFIX}{}", o.response)}}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    json!({
        "description": o.description,
        "consumes": o.consumes,
        "produces": ["application/json", "application/yaml"],
        "schemes": ["https"],
        "operationId": o.id,
        "parameters": Value::Array(params),
        "responses": Value::Object(responses),
        "x-kubernetes-action": o.action,
        "x-kubernetes-group-version-kind": o.gvk,
    })
}

fn v2_document(defs: &BTreeMap<String, Value>) -> Value {
    let mut paths = Map::new();
    for r in RESOURCES {
        for p in paths_of(r) {
            let mut item = Map::new();
            for o in &p.ops {
                item.insert(o.method.into(), v2_operation(o));
            }
            let params: Vec<Value> = p
                .path_params
                .iter()
                .map(|n| json!({"uniqueItems": true, "type": "string", "description": path_param(n), "name": n, "in": "path", "required": true}))
                .collect();
            if !params.is_empty() {
                item.insert("parameters".into(), Value::Array(params));
            }
            paths.insert(p.path, Value::Object(item));
        }
    }
    let definitions: Map<String, Value> = defs
        .iter()
        .map(|(k, v)| (k.clone(), v2_definition(k, v)))
        .collect();
    // Large parts are moved in rather than passed to `json!`, which would copy them.
    let mut doc = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::api::GIT_VERSION},
        "securityDefinitions": {"BearerToken": {"description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    });
    doc["paths"] = Value::Object(paths);
    doc["definitions"] = Value::Object(definitions);
    doc
}

// ---------------------------------------------------------------------------------------
// OpenAPI 3.0, one document per group-version.

/// A definition in the form kube-apiserver serves in v3: a `$ref` with a description of its
/// own is wrapped in `allOf`, since OpenAPI 3.0 ignores the siblings of `$ref`.
fn to_v3(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out: Map<String, Value> = m
                .iter()
                .map(|(k, v)| {
                    let v = if k == "properties" {
                        match v {
                            Value::Object(props) => Value::Object(
                                props.iter().map(|(p, s)| (p.clone(), to_v3(s))).collect(),
                            ),
                            other => other.clone(),
                        }
                    } else {
                        to_v3(v)
                    };
                    (k.clone(), v)
                })
                .collect();
            if out.len() > 1 {
                if let Some(r) = out.remove("$ref") {
                    out.insert("allOf".into(), json!([{"$ref": r}]));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_v3).collect()),
        other => other.clone(),
    }
}

fn v3_operation(o: &Operation) -> Value {
    let params: Vec<Value> = o
        .query
        .iter()
        .map(|q| {
            let (ty, description) = query_param(q);
            json!({"name": q, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
        })
        .collect();
    let content = |def: &str| {
        let schema = json!({"$ref": format!("{V3_PREFIX}{def}")});
        json!({"application/json": {"schema": schema}, "application/yaml": {"schema": schema}})
    };
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "OK", "content": content(&o.response)}),
    );
    if o.method == "post" {
        responses.insert(
            "201".into(),
            json!({"description": "Created", "content": content(&o.response)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut op = json!({
        "description": o.description,
        "operationId": o.id,
        "parameters": Value::Array(params),
        "responses": Value::Object(responses),
        "x-kubernetes-action": o.action,
        "x-kubernetes-group-version-kind": o.gvk,
    });
    if let Some(body) = body_definition(o) {
        let schema = json!({"$ref": format!("{V3_PREFIX}{body}")});
        let content: Map<String, Value> = o
            .consumes
            .iter()
            .map(|c| (c.to_string(), json!({"schema": schema})))
            .collect();
        op["requestBody"] = json!({"content": content, "required": true});
    }
    op
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(V3_PREFIX) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// `api/v1` or `apis/<group>/<version>`: the key of a group-version in the v3 index.
fn v3_key(group: &str, version: &str) -> String {
    group_version_prefix(group, version)
        .trim_start_matches('/')
        .to_string()
}

/// The v3 documents, encoded, by their key in the index (`api/v1`, `apis/apps/v1`).
fn v3_documents(defs: &BTreeMap<String, Value>) -> BTreeMap<String, Vec<u8>> {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in RESOURCES {
        let doc_paths = paths.entry(v3_key(r.group, r.version)).or_default();
        for p in paths_of(r) {
            let mut item = Map::new();
            for o in &p.ops {
                item.insert(o.method.into(), v3_operation(o));
            }
            let mut params: Vec<Value> = p
                .path_params
                .iter()
                .map(|n| json!({"name": n, "in": "path", "description": path_param(n), "required": true, "schema": {"type": "string", "uniqueItems": true}}))
                .collect();
            params.push(json!({"name": "pretty", "in": "query", "description": query_param("pretty").1, "schema": {"type": "string", "uniqueItems": true}}));
            item.insert("parameters".into(), Value::Array(params));
            doc_paths.insert(p.path, Value::Object(item));
        }
    }
    // Each definition is converted and encoded once and spliced into every document that
    // needs it: most of the group-versions share the pod template's large closure.
    let encoded: BTreeMap<&str, (Vec<u8>, Vec<String>)> = defs
        .iter()
        .map(|(name, def)| {
            let mut refs = Vec::new();
            collect_refs(def, &mut refs);
            let bytes =
                serde_json::to_vec(&to_v3(def)).expect("serializing a JSON value cannot fail");
            (name.as_str(), (bytes, refs))
        })
        .collect();
    let mut docs = BTreeMap::new();
    for (key, paths) in paths {
        let paths = Value::Object(paths);
        let mut pending = Vec::new();
        collect_refs(&paths, &mut pending);
        let mut schemas: BTreeMap<&str, &[u8]> = BTreeMap::new();
        while let Some(name) = pending.pop() {
            if schemas.contains_key(name.as_str()) {
                continue;
            }
            let Some((name, (bytes, refs))) = encoded.get_key_value(name.as_str()) else {
                continue;
            };
            schemas.insert(name, bytes);
            pending.extend(refs.iter().cloned());
        }
        let mut doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": crate::api::GIT_VERSION},
            "security": [{"BearerToken": []}],
        });
        doc["paths"] = paths;
        let rest = serde_json::to_vec(&doc).expect("serializing a JSON value cannot fail");
        // The document is `{"components":{...},` followed by the members after `rest`'s `{`.
        let mut body = b"{\"components\":{\"schemas\":{".to_vec();
        for (i, (name, bytes)) in schemas.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&serde_json::to_vec(name).expect("a string serializes"));
            body.push(b':');
            body.extend_from_slice(bytes);
        }
        body.extend_from_slice(b"},\"securitySchemes\":{\"BearerToken\":{\"type\":\"apiKey\",\"description\":\"Bearer Token authentication\",\"name\":\"authorization\",\"in\":\"header\"}}},");
        body.extend_from_slice(rest.get(1..).unwrap_or_default());
        docs.insert(key, body);
    }
    docs
}

// ---------------------------------------------------------------------------------------
// Encoded documents and serving.

struct V3Doc {
    hash: String,
    body: Bytes,
}

/// The v2 document, built on its first request (kubectl before 1.27 and client-side
/// validation read it; newer `kubectl explain` reads only v3).
struct V2Docs {
    json: Bytes,
    proto: Bytes,
    etag: String,
}

struct V3Docs {
    index: Bytes,
    docs: BTreeMap<String, V3Doc>,
}

fn sha512_hex(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA512, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02X}"))
        .collect()
}

fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).expect("serializing a JSON value cannot fail"))
}

fn build_v2() -> V2Docs {
    let v2 = v2_document(&all_definitions());
    let proto = Bytes::from(pb::document(&v2));
    let json = to_bytes(&v2);
    let etag = sha512_hex(&json);
    V2Docs { json, proto, etag }
}

fn build_v3() -> V3Docs {
    let mut docs = BTreeMap::new();
    let mut index = Map::new();
    for (key, body) in v3_documents(&all_definitions()) {
        let body = Bytes::from(body);
        let hash = sha512_hex(&body);
        index.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
        docs.insert(key, V3Doc { hash, body });
    }
    let mut index_doc = Map::new();
    index_doc.insert("paths".into(), Value::Object(index));
    V3Docs {
        index: to_bytes(&Value::Object(index_doc)),
        docs,
    }
}

/// Build once and log how long it took (start-up and first-request latency matter).
fn timed<T>(what: &str, build: fn() -> T, size: fn(&T) -> usize) -> T {
    let start = std::time::Instant::now();
    let built = build();
    tracing::info!(
        "built the OpenAPI {what} in {} ms ({} bytes)",
        start.elapsed().as_millis(),
        size(&built)
    );
    built
}

fn v2_docs() -> &'static V2Docs {
    static DOCS: OnceLock<V2Docs> = OnceLock::new();
    DOCS.get_or_init(|| timed("v2 document", build_v2, |d| d.json.len() + d.proto.len()))
}

fn v3_docs() -> &'static V3Docs {
    static DOCS: OnceLock<V3Docs> = OnceLock::new();
    DOCS.get_or_init(|| {
        timed("v3 documents", build_v3, |d| {
            d.docs.values().map(|d| d.body.len()).sum()
        })
    })
}

/// Whether `accept` prefers the protobuf v2 document over JSON: the first media range that
/// names either one decides; JSON when neither is named. Clients ask for the type with `@`
/// in it, which is not a valid media type token, so the answer always carries the dotted one
/// (Go's `mime.ParseMediaType` refuses the other).
fn wants_protobuf(accept: &str) -> bool {
    for range in accept.split(',') {
        let media = range.split(';').next().unwrap_or("").trim();
        if media == PV2_MIME_ASKED || media == PV2_MIME {
            return true;
        }
        if media == "application/json" || media == "*/*" || media == "application/*" {
            return false;
        }
    }
    false
}

fn respond(
    content_type: &str,
    etag: Option<&str>,
    immutable: bool,
    body: Bytes,
) -> Response<crate::api::Body> {
    // A hashed URL names one document forever: cache it for a year, as kube-apiserver does.
    let cache = if immutable {
        "public, immutable, max-age=31536000"
    } else {
        "no-cache, private"
    };
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::CACHE_CONTROL, cache)
        .header(hyper::header::VARY, "Accept");
    if let Some(etag) = etag {
        builder = builder.header(hyper::header::ETAG, format!("\"{etag}\""));
    }
    builder
        .body(Full::new(body).boxed())
        .expect("static response parts are valid")
}

/// Answer a GET under `/openapi/`: `/openapi/v2` (protobuf or JSON by `accept`),
/// `/openapi/v3` (the index) and `/openapi/v3/<api|apis/group>/<version>`. `None` is 404.
pub(crate) fn serve(path: &str, query: &str, accept: &str) -> Option<Response<crate::api::Body>> {
    match path.trim_end_matches('/') {
        "/openapi/v2" => {
            let docs = v2_docs();
            let (mime, body) = if wants_protobuf(accept) {
                (PV2_MIME, &docs.proto)
            } else {
                ("application/json", &docs.json)
            };
            Some(respond(mime, Some(&docs.etag), false, body.clone()))
        }
        "/openapi/v3" => Some(respond(
            "application/json",
            None,
            false,
            v3_docs().index.clone(),
        )),
        path => {
            let key = path.strip_prefix("/openapi/v3/")?;
            let doc = v3_docs().docs.get(key)?;
            Some(match crate::query::Query::parse(query).get("hash") {
                Some(h) if h == doc.hash => {
                    respond("application/json", Some(&doc.hash), true, doc.body.clone())
                }
                // An outdated hash: send the client to the current document.
                Some(_) => Response::builder()
                    .status(StatusCode::MOVED_PERMANENTLY)
                    .header(
                        hyper::header::LOCATION,
                        format!("/openapi/v3/{key}?hash={}", doc.hash),
                    )
                    .body(Full::new(Bytes::new()).boxed())
                    .expect("static response parts are valid"),
                None => respond("application/json", Some(&doc.hash), false, doc.body.clone()),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------
// The gnostic protobuf encoding of the v2 document (openapi_v2.proto of gnostic-models).

mod pb {
    use serde_json::{Map, Value};

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn tag(out: &mut Vec<u8>, field: u64, wire: u64) {
        varint(out, (field << 3) | wire);
    }

    fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        tag(out, field, 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    fn string(out: &mut Vec<u8>, field: u64, v: Option<&Value>) {
        if let Some(Value::String(s)) = v {
            bytes(out, field, s.as_bytes());
        }
    }

    fn strings(out: &mut Vec<u8>, field: u64, v: Option<&Value>) {
        if let Some(Value::Array(a)) = v {
            for s in a.iter().filter_map(Value::as_str) {
                bytes(out, field, s.as_bytes());
            }
        }
    }

    fn boolean(out: &mut Vec<u8>, field: u64, v: Option<&Value>) {
        if let Some(Value::Bool(true)) = v {
            tag(out, field, 0);
            varint(out, 1);
        }
    }

    fn int(out: &mut Vec<u8>, field: u64, v: Option<&Value>) {
        if let Some(n) = v.and_then(Value::as_i64) {
            tag(out, field, 0);
            varint(out, n as u64);
        }
    }

    fn double(out: &mut Vec<u8>, field: u64, v: Option<&Value>) {
        if let Some(n) = v.and_then(Value::as_f64) {
            tag(out, field, 1);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }

    fn message(out: &mut Vec<u8>, field: u64, m: Vec<u8>) {
        bytes(out, field, &m);
    }

    /// `Any`: the value as YAML text (JSON is YAML), which is what clients parse.
    fn any(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let text = serde_json::to_string(v).expect("serializing a JSON value cannot fail");
        bytes(&mut out, 2, text.as_bytes());
        out
    }

    fn named(name: &str, value: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        bytes(&mut out, 1, name.as_bytes());
        bytes(&mut out, 2, &value);
        out
    }

    /// Every `x-` key of `m` as `repeated NamedAny` in `field`.
    fn extensions(out: &mut Vec<u8>, field: u64, m: &Map<String, Value>) {
        for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
            message(out, field, named(k, any(v)));
        }
    }

    pub(super) fn schema(m: &Map<String, Value>) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, 1, m.get("$ref"));
        string(&mut out, 2, m.get("format"));
        string(&mut out, 3, m.get("title"));
        string(&mut out, 4, m.get("description"));
        if let Some(d) = m.get("default") {
            message(&mut out, 5, any(d));
        }
        double(&mut out, 6, m.get("multipleOf"));
        double(&mut out, 7, m.get("maximum"));
        boolean(&mut out, 8, m.get("exclusiveMaximum"));
        double(&mut out, 9, m.get("minimum"));
        boolean(&mut out, 10, m.get("exclusiveMinimum"));
        int(&mut out, 11, m.get("maxLength"));
        int(&mut out, 12, m.get("minLength"));
        string(&mut out, 13, m.get("pattern"));
        int(&mut out, 14, m.get("maxItems"));
        int(&mut out, 15, m.get("minItems"));
        boolean(&mut out, 16, m.get("uniqueItems"));
        int(&mut out, 17, m.get("maxProperties"));
        int(&mut out, 18, m.get("minProperties"));
        strings(&mut out, 19, m.get("required"));
        if let Some(Value::Array(e)) = m.get("enum") {
            for v in e {
                message(&mut out, 20, any(v));
            }
        }
        match m.get("additionalProperties") {
            Some(Value::Object(s)) => {
                let mut item = Vec::new();
                message(&mut item, 1, schema(s));
                message(&mut out, 21, item);
            }
            Some(Value::Bool(b)) => {
                let mut item = Vec::new();
                tag(&mut item, 2, 0);
                varint(&mut item, u64::from(*b));
                message(&mut out, 21, item);
            }
            _ => {}
        }
        match m.get("type") {
            Some(t @ Value::String(_)) => {
                let mut item = Vec::new();
                string(&mut item, 1, Some(t));
                message(&mut out, 22, item);
            }
            Some(t @ Value::Array(_)) => {
                let mut item = Vec::new();
                strings(&mut item, 1, Some(t));
                message(&mut out, 22, item);
            }
            _ => {}
        }
        match m.get("items") {
            Some(Value::Object(s)) => {
                let mut item = Vec::new();
                message(&mut item, 1, schema(s));
                message(&mut out, 23, item);
            }
            Some(Value::Array(a)) => {
                let mut item = Vec::new();
                for s in a.iter().filter_map(Value::as_object) {
                    message(&mut item, 1, schema(s));
                }
                message(&mut out, 23, item);
            }
            _ => {}
        }
        if let Some(Value::Array(a)) = m.get("allOf") {
            for s in a.iter().filter_map(Value::as_object) {
                message(&mut out, 24, schema(s));
            }
        }
        if let Some(Value::Object(props)) = m.get("properties") {
            let mut p = Vec::new();
            for (name, s) in props {
                if let Value::Object(s) = s {
                    message(&mut p, 1, named(name, schema(s)));
                }
            }
            message(&mut out, 25, p);
        }
        string(&mut out, 26, m.get("discriminator"));
        boolean(&mut out, 27, m.get("readOnly"));
        if let Some(e) = m.get("example") {
            message(&mut out, 30, any(e));
        }
        extensions(&mut out, 31, m);
        out
    }

    fn parameter(p: &Map<String, Value>) -> Vec<u8> {
        let mut param = Vec::new();
        match p.get("in").and_then(Value::as_str) {
            Some("body") => {
                let mut b = Vec::new();
                string(&mut b, 1, p.get("description"));
                string(&mut b, 2, p.get("name"));
                string(&mut b, 3, p.get("in"));
                boolean(&mut b, 4, p.get("required"));
                if let Some(Value::Object(s)) = p.get("schema") {
                    message(&mut b, 5, schema(s));
                }
                extensions(&mut b, 6, p);
                message(&mut param, 1, b);
            }
            Some(place) => {
                // Query (3) and path (4) sub-schemas share the first fields; from `type` on,
                // path parameters have no allowEmptyValue, so their numbers are one lower.
                let (which, shift) = match place {
                    "path" => (4, 1),
                    "header" => (1, 1),
                    "formData" => (2, 0),
                    _ => (3, 0),
                };
                let mut s = Vec::new();
                boolean(&mut s, 1, p.get("required"));
                string(&mut s, 2, p.get("in"));
                string(&mut s, 3, p.get("description"));
                string(&mut s, 4, p.get("name"));
                string(&mut s, 6 - shift, p.get("type"));
                string(&mut s, 7 - shift, p.get("format"));
                boolean(&mut s, 20 - shift, p.get("uniqueItems"));
                extensions(&mut s, 23 - shift, p);
                let mut non_body = Vec::new();
                message(&mut non_body, which, s);
                message(&mut param, 2, non_body);
            }
            None => {}
        }
        let mut item = Vec::new();
        message(&mut item, 1, param);
        item
    }

    fn operation(o: &Map<String, Value>) -> Vec<u8> {
        let mut out = Vec::new();
        strings(&mut out, 1, o.get("tags"));
        string(&mut out, 2, o.get("summary"));
        string(&mut out, 3, o.get("description"));
        string(&mut out, 5, o.get("operationId"));
        strings(&mut out, 6, o.get("produces"));
        strings(&mut out, 7, o.get("consumes"));
        if let Some(Value::Array(ps)) = o.get("parameters") {
            for p in ps.iter().filter_map(Value::as_object) {
                message(&mut out, 8, parameter(p));
            }
        }
        if let Some(Value::Object(rs)) = o.get("responses") {
            let mut responses = Vec::new();
            for (code, r) in rs {
                let Value::Object(r) = r else { continue };
                let mut resp = Vec::new();
                string(&mut resp, 1, r.get("description"));
                if let Some(Value::Object(s)) = r.get("schema") {
                    let mut item = Vec::new();
                    message(&mut item, 1, schema(s));
                    message(&mut resp, 2, item);
                }
                let mut value = Vec::new();
                message(&mut value, 1, resp);
                message(&mut responses, 1, named(code, value));
            }
            message(&mut out, 9, responses);
        }
        strings(&mut out, 10, o.get("schemes"));
        extensions(&mut out, 13, o);
        out
    }

    /// The whole `Document`.
    pub(super) fn document(doc: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, 1, doc.get("swagger"));
        if let Some(info) = doc.get("info") {
            let mut i = Vec::new();
            string(&mut i, 1, info.get("title"));
            string(&mut i, 2, info.get("version"));
            message(&mut out, 2, i);
        }
        if let Some(Value::Object(paths)) = doc.get("paths") {
            let mut p = Vec::new();
            for (path, item) in paths {
                let Value::Object(item) = item else { continue };
                let mut pi = Vec::new();
                for (method, field) in [
                    ("get", 2),
                    ("put", 3),
                    ("post", 4),
                    ("delete", 5),
                    ("patch", 8),
                ] {
                    if let Some(Value::Object(o)) = item.get(method) {
                        message(&mut pi, field, operation(o));
                    }
                }
                if let Some(Value::Array(ps)) = item.get("parameters") {
                    for param in ps.iter().filter_map(Value::as_object) {
                        message(&mut pi, 9, parameter(param));
                    }
                }
                message(&mut p, 2, named(path, pi));
            }
            message(&mut out, 8, p);
        }
        if let Some(Value::Object(defs)) = doc.get("definitions") {
            let mut d = Vec::new();
            for (name, s) in defs {
                if let Value::Object(s) = s {
                    message(&mut d, 1, named(name, schema(s)));
                }
            }
            message(&mut out, 9, d);
        }
        if let Some(Value::Array(reqs)) = doc.get("security") {
            for req in reqs.iter().filter_map(Value::as_object) {
                let mut r = Vec::new();
                for (name, scopes) in req {
                    let mut arr = Vec::new();
                    strings(&mut arr, 1, Some(scopes));
                    message(&mut r, 1, named(name, arr));
                }
                message(&mut out, 12, r);
            }
        }
        if let Some(Value::Object(sd)) = doc.get("securityDefinitions") {
            let mut defs = Vec::new();
            for (name, s) in sd {
                let mut key = Vec::new();
                string(&mut key, 1, s.get("type"));
                string(&mut key, 2, s.get("name"));
                string(&mut key, 3, s.get("in"));
                string(&mut key, 4, s.get("description"));
                let mut item = Vec::new();
                message(&mut item, 2, key);
                message(&mut defs, 1, named(name, item));
            }
            message(&mut out, 13, defs);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Field checks of request bodies.

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The Kubernetes spelling of an unknown field's path: `.spec.containers[0].imagee`.
fn display_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

struct Walker<'a> {
    defs: &'a Map<String, Value>,
    kind: &'a str,
    version: &'a str,
    unknown: Vec<Vec<Seg>>,
}

/// Where a wrong type was found, for the message: the Go struct that holds the field and
/// the dotted JSON field path from the root (list indices left out, as Go's decoder does).
#[derive(Clone)]
struct Field<'a> {
    owner: &'a str,
    dotted: String,
}

fn short_name(def: &str) -> &str {
    def.rsplit('.').next().unwrap_or(def)
}

/// The Go type name of a schema, as the Go JSON decoder prints it in type errors.
fn go_type(schema: &Value) -> String {
    if let Some(r) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(V3_PREFIX))
    {
        let mut parts = r.rsplit('.');
        let name = parts.next().unwrap_or(r);
        let pkg = parts.next().unwrap_or("");
        return format!("{pkg}.{name}");
    }
    match (
        schema.get("type").and_then(Value::as_str),
        schema.get("format").and_then(Value::as_str),
    ) {
        (Some("integer"), Some("int32")) => "int32".into(),
        (Some("integer"), _) => "int64".into(),
        (Some("number"), _) => "float64".into(),
        (Some("boolean"), _) => "bool".into(),
        (Some("string"), Some("byte")) => "[]uint8".into(),
        (Some("string"), _) => "string".into(),
        (Some("array"), _) => format!("[]{}", go_type(schema.get("items").unwrap_or(&Value::Null))),
        (Some("object"), _) => match schema.get("additionalProperties") {
            Some(v @ Value::Object(_)) => format!("map[string]{}", go_type(v)),
            _ => "map[string]interface {}".into(),
        },
        _ => "interface {}".into(),
    }
}

fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

impl<'a> Walker<'a> {
    fn type_error(&self, value: &Value, schema: &Value, at: &Field) -> ApiError {
        let field = if at.dotted.is_empty() {
            format!("Go value of type {}", go_type(schema))
        } else {
            format!(
                "Go struct field {}.{} of type {}",
                at.owner,
                at.dotted,
                go_type(schema)
            )
        };
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: json: cannot \
             unmarshal {value} into {field}",
            kind = self.kind,
            version = self.version,
            value = json_kind(value),
        ))
    }

    fn walk(
        &mut self,
        schema: &'a Value,
        value: &Value,
        path: &mut Vec<Seg>,
        at: &Field<'a>,
    ) -> Result<(), ApiError> {
        // Go's decoder takes null for any field and leaves it unset.
        if value.is_null() {
            return Ok(());
        }
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(V3_PREFIX))
        {
            if RAW_DEFS.contains(&name) {
                return Ok(());
            }
            if name == QUANTITY_DEF {
                return match value {
                    Value::String(_) | Value::Number(_) => Ok(()),
                    _ => Err(self.type_error(value, schema, at)),
                };
            }
            if name == INT_OR_STRING_DEF {
                return match value {
                    Value::String(_) => Ok(()),
                    Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
                    _ => Err(self.type_error(value, schema, at)),
                };
            }
            let Some(def) = self.defs.get(name) else {
                return Ok(());
            };
            let owner = short_name(name);
            return self.walk_resolved(def, schema, value, path, at, owner);
        }
        self.walk_resolved(schema, schema, value, path, at, at.owner)
    }

    /// `shown` names the type in errors: the reference, when `schema` is what it points to.
    fn walk_resolved(
        &mut self,
        schema: &'a Value,
        shown: &Value,
        value: &Value,
        path: &mut Vec<Seg>,
        at: &Field<'a>,
        owner: &'a str,
    ) -> Result<(), ApiError> {
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
            || schema.get("format").and_then(Value::as_str) == Some("int-or-string")
        {
            return match value {
                Value::String(_) | Value::Number(_) => Ok(()),
                _ => Err(self.type_error(value, shown, at)),
            };
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let ok = match (ty, value) {
            (Some("string"), Value::String(_)) => true,
            (Some("boolean"), Value::Bool(_)) => true,
            (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Some("number"), Value::Number(_)) => true,
            (Some("array"), Value::Array(items)) => {
                let item_schema = schema.get("items").unwrap_or(&Value::Null);
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    let r = self.walk(item_schema, item, path, at);
                    path.pop();
                    r?;
                }
                true
            }
            (Some("object"), Value::Object(fields)) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                for (k, v) in fields {
                    path.push(Seg::Key(k.clone()));
                    let r = match (props.and_then(|p| p.get(k)), additional) {
                        (Some(s), _) => {
                            let dotted = if at.dotted.is_empty() {
                                k.clone()
                            } else {
                                format!("{}.{k}", at.dotted)
                            };
                            self.walk(s, v, path, &Field { owner, dotted })
                        }
                        (None, Some(s @ Value::Object(_))) => self.walk(s, v, path, at),
                        (None, Some(Value::Bool(true))) => Ok(()),
                        // An object with neither properties nor a value schema holds
                        // anything (like RawExtension).
                        (None, None) if props.is_none() => Ok(()),
                        (None, _) => {
                            self.unknown.push(path.clone());
                            Ok(())
                        }
                    };
                    path.pop();
                    r?;
                }
                true
            }
            (None, _) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.type_error(value, shown, at))
        }
    }
}

/// Unknown fields of `obj` against the schema of `api_version`/`kind`, as paths like
/// `.spec.template.spec.containers[0].imagee`, in document order. A value of the wrong JSON
/// type is a 400 BadRequest naming the field the way kube-apiserver's decoder does. Kinds
/// without a schema have no unknown fields.
pub(crate) fn check_fields(
    api_version: &str,
    kind: &str,
    obj: &Value,
) -> Result<Vec<String>, ApiError> {
    Ok(unknown_fields(api_version, kind, obj)?
        .iter()
        .map(|p| display_path(p))
        .collect())
}

fn unknown_fields(api_version: &str, kind: &str, obj: &Value) -> Result<Vec<Vec<Seg>>, ApiError> {
    let defs = definitions();
    let Some(name) = root_definition(api_version, kind) else {
        return Ok(Vec::new());
    };
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let mut walker = Walker {
        defs,
        kind,
        version,
        unknown: Vec::new(),
    };
    let at = Field {
        owner: kind,
        dotted: String::new(),
    };
    let Some(def) = defs.get(&name) else {
        return Ok(Vec::new());
    };
    // The root's own type, named in the error for a body that is not an object.
    let shown = json!({ "$ref": format!("{V3_PREFIX}{name}") });
    walker.walk_resolved(def, &shown, obj, &mut Vec::new(), &at, short_name(&name))?;
    Ok(walker.unknown)
}

/// Remove the fields `check_fields` reports as unknown, as kube-apiserver drops them from
/// built-in objects when `fieldValidation` is Ignore or Warn. An object with a value of the
/// wrong type is left as it is: `check_fields` refuses it.
pub(crate) fn prune_unknown(api_version: &str, kind: &str, obj: &mut Value) {
    let Ok(paths) = unknown_fields(api_version, kind, obj) else {
        return;
    };
    for path in paths {
        let Some((Seg::Key(last), parent)) = path.split_last() else {
            continue;
        };
        let parent = parent
            .iter()
            .try_fold(&mut *obj, |cur, seg| match (seg, cur) {
                (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
                (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
                _ => None,
            });
        if let Some(Value::Object(m)) = parent {
            m.remove(last);
        }
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
    root::<k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent<k::core::v1::Pod>>,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A protobuf message decoded without its schema: field number to values, in order.
    #[derive(Debug)]
    enum Field {
        Varint(u64),
        Bytes(Vec<u8>),
        Fixed64,
    }

    struct Msg(Vec<(u64, Field)>);

    fn read_varint(b: &[u8], pos: &mut usize) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = b[*pos];
            *pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }

    fn decode(b: &[u8]) -> Msg {
        let mut fields = Vec::new();
        let mut pos = 0;
        while pos < b.len() {
            let tag = read_varint(b, &mut pos);
            let field = match tag & 7 {
                0 => Field::Varint(read_varint(b, &mut pos)),
                1 => {
                    pos += 8;
                    Field::Fixed64
                }
                2 => {
                    let len = read_varint(b, &mut pos) as usize;
                    let v = b[pos..pos + len].to_vec();
                    pos += len;
                    Field::Bytes(v)
                }
                w => panic!("unexpected wire type {w}"),
            };
            fields.push((tag >> 3, field));
        }
        Msg(fields)
    }

    impl Msg {
        fn all(&self, n: u64) -> Vec<&[u8]> {
            self.0
                .iter()
                .filter_map(|(f, v)| match v {
                    Field::Bytes(b) if *f == n => Some(b.as_slice()),
                    _ => None,
                })
                .collect()
        }
        fn msg(&self, n: u64) -> Msg {
            decode(
                self.all(n)
                    .first()
                    .unwrap_or_else(|| panic!("no field {n}")),
            )
        }
        fn string(&self, n: u64) -> String {
            self.all(n)
                .first()
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .unwrap_or_default()
        }
        fn strings(&self, n: u64) -> Vec<String> {
            self.all(n)
                .iter()
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .collect()
        }
        fn varint(&self, n: u64) -> Option<u64> {
            self.0.iter().find_map(|(f, v)| match v {
                Field::Varint(x) if *f == n => Some(*x),
                _ => None,
            })
        }
        /// The value of a `Named*` entry (name = 1, value = 2) among the `n` fields.
        fn named(&self, n: u64, name: &str) -> Option<Msg> {
            self.all(n)
                .into_iter()
                .map(decode)
                .find_map(|entry| (entry.string(1) == name).then(|| entry.msg(2)))
        }
        /// A vendor extension's value, parsed (the YAML text is JSON here).
        fn extension(&self, n: u64, name: &str) -> Option<Value> {
            self.named(n, name)
                .map(|any| serde_json::from_str(&any.string(2)).unwrap())
        }
    }

    // Field numbers of openapi_v2.proto (gnostic-models).
    const DOC_PATHS: u64 = 8;
    const DOC_DEFINITIONS: u64 = 9;
    const S_REF: u64 = 1;
    const S_FORMAT: u64 = 2;
    const S_DESCRIPTION: u64 = 4;
    const S_REQUIRED: u64 = 19;
    const S_ADDITIONAL: u64 = 21;
    const S_TYPE: u64 = 22;
    const S_ITEMS: u64 = 23;
    const S_PROPERTIES: u64 = 25;
    const S_EXTENSION: u64 = 31;

    fn v2_definition_pb(doc: &Msg, name: &str) -> Msg {
        doc.msg(DOC_DEFINITIONS)
            .named(1, name)
            .unwrap_or_else(|| panic!("definition {name}"))
    }

    fn property(schema: &Msg, name: &str) -> Msg {
        schema
            .msg(S_PROPERTIES)
            .named(1, name)
            .unwrap_or_else(|| panic!("property {name}"))
    }

    #[test]
    fn protobuf_v2_carries_schemas_refs_and_extensions() {
        let docs = build_v2();
        let doc = decode(&docs.proto);
        assert_eq!(doc.string(1), "2.0");

        let deployment = v2_definition_pb(&doc, "io.k8s.api.apps.v1.Deployment");
        assert!(deployment
            .string(S_DESCRIPTION)
            .starts_with("Deployment enables"));
        assert_eq!(deployment.msg(S_TYPE).strings(1), ["object"]);
        let spec = property(&deployment, "spec");
        assert_eq!(
            spec.string(S_REF),
            "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
        );
        assert!(spec
            .string(S_DESCRIPTION)
            .starts_with("Specification of the desired"));
        assert_eq!(
            deployment.extension(S_EXTENSION, "x-kubernetes-group-version-kind"),
            Some(json!([{"group": "apps", "kind": "Deployment", "version": "v1"}]))
        );

        let dspec = v2_definition_pb(&doc, "io.k8s.api.apps.v1.DeploymentSpec");
        let mut required = dspec.strings(S_REQUIRED);
        required.sort();
        assert_eq!(required, ["selector", "template"]);
        let replicas = property(&dspec, "replicas");
        assert_eq!(replicas.msg(S_TYPE).strings(1), ["integer"]);
        assert_eq!(replicas.string(S_FORMAT), "int32");

        let pod_spec = v2_definition_pb(&doc, "io.k8s.api.core.v1.PodSpec");
        let containers = property(&pod_spec, "containers");
        assert_eq!(containers.msg(S_TYPE).strings(1), ["array"]);
        let item = containers.msg(S_ITEMS).msg(1);
        assert_eq!(
            item.string(S_REF),
            "#/definitions/io.k8s.api.core.v1.Container"
        );
        // The extensions follow the patch metadata table, whatever it holds.
        let meta = crate::patch_meta::lookup("io.k8s.api.core.v1.PodSpec", "containers");
        assert_eq!(
            containers.extension(S_EXTENSION, "x-kubernetes-patch-strategy"),
            meta.map(|m| json!(m.strategy))
        );
        assert_eq!(
            containers.extension(S_EXTENSION, "x-kubernetes-patch-merge-key"),
            meta.and_then(|m| m.merge_key).map(|k| json!(k))
        );
        for (k, v) in
            crate::patch_meta::property_extensions("io.k8s.api.core.v1.PodSpec", "containers")
        {
            assert_eq!(containers.extension(S_EXTENSION, k), Some(v), "{k}");
        }

        let cm = v2_definition_pb(&doc, "io.k8s.api.core.v1.ConfigMap");
        let data = property(&cm, "data");
        let value = data.msg(S_ADDITIONAL).msg(1);
        assert_eq!(value.msg(S_TYPE).strings(1), ["string"]);

        let ios = v2_definition_pb(&doc, INT_OR_STRING_DEF);
        assert_eq!(ios.msg(S_TYPE).strings(1), ["string"]);
        assert_eq!(ios.string(S_FORMAT), "int-or-string");

        // PATCH of a deployment: operation (8) with its gvk, action and the fieldValidation
        // query parameter (ParametersItem 1 > Parameter 2 > NonBodyParameter 3 > name 4).
        let item = doc
            .msg(DOC_PATHS)
            .named(2, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
            .expect("deployment item path");
        let patch = item.msg(8);
        assert_eq!(patch.string(5), "patchAppsV1NamespacedDeployment");
        assert_eq!(
            patch.extension(13, "x-kubernetes-group-version-kind"),
            Some(json!({"group": "apps", "kind": "Deployment", "version": "v1"}))
        );
        assert_eq!(
            patch.extension(13, "x-kubernetes-action"),
            Some(json!("patch"))
        );
        let names: Vec<String> = patch
            .all(8)
            .into_iter()
            .filter_map(|p| {
                let non_body = decode(p).msg(1).all(2).first().map(|b| decode(b))?;
                Some(non_body.msg(3).string(4))
            })
            .collect();
        for want in ["fieldValidation", "dryRun", "fieldManager", "force"] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        // Path parameters use the path sub-schema (4), whose `type` is field 5.
        let ns = decode(item.all(9)[0]).msg(1).msg(2).msg(4);
        assert_eq!(ns.string(4), "name");
        assert_eq!(ns.string(5), "string");
        assert_eq!(ns.varint(1), Some(1));
    }

    fn refs_resolve(doc: &Value, prefix: &str, defs: &Value) {
        let mut refs = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("$ref", Value::String(r)) => out.push(r.clone()),
                            _ => walk(v, out),
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{r} does not start with {prefix}"));
            assert!(defs.get(name).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn json_v2_refs_resolve_and_every_kind_has_paths() {
        let docs = build_v2();
        let doc: Value = serde_json::from_slice(&docs.json).unwrap();
        refs_resolve(&doc, V2_PREFIX, &doc["definitions"]);
        for r in RESOURCES {
            let def = definition_name(&r.api_version(), r.kind);
            let gvks = &doc["definitions"][&def]["x-kubernetes-group-version-kind"];
            assert!(
                gvks.as_array().unwrap().contains(&resource_gvk(r)),
                "{def}: {gvks}"
            );
            let prefix = group_version_prefix(r.group, r.version);
            let item = if r.namespaced {
                format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
            } else {
                format!("{prefix}/{}/{{name}}", r.plural)
            };
            let ops = &doc["paths"][&item];
            for (method, action) in [
                ("get", "get"),
                ("put", "put"),
                ("patch", "patch"),
                ("delete", "delete"),
            ] {
                assert_eq!(
                    ops[method]["x-kubernetes-action"], action,
                    "{item} {method}"
                );
                assert_eq!(
                    ops[method]["x-kubernetes-group-version-kind"],
                    resource_gvk(r)
                );
            }
            let collection = item.trim_end_matches("/{name}");
            let ops = &doc["paths"][collection];
            for (method, action) in [
                ("get", "list"),
                ("post", "post"),
                ("delete", "deletecollection"),
            ] {
                assert_eq!(
                    ops[method]["x-kubernetes-action"], action,
                    "{collection} {method}"
                );
            }
        }
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        assert_eq!(
            doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["get"]
                ["x-kubernetes-group-version-kind"],
            json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
        );
    }

    #[test]
    fn v3_documents_are_self_contained_per_group_version() {
        let docs = build_v3();
        let index: Value = serde_json::from_slice(&docs.index).unwrap();
        let mut keys: Vec<&String> = index["paths"].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "api/v1",
                "apis/apps/v1",
                "apis/batch/v1",
                "apis/coordination.k8s.io/v1",
                "apis/discovery.k8s.io/v1",
                "apis/events.k8s.io/v1",
                "apis/storage.k8s.io/v1",
            ]
        );
        for (key, doc) in &docs.docs {
            let url = index["paths"][key]["serverRelativeURL"].as_str().unwrap();
            assert_eq!(url, format!("/openapi/v3/{key}?hash={}", doc.hash));
            let v: Value = serde_json::from_slice(&doc.body)
                .unwrap_or_else(|e| panic!("{key} is not JSON: {e}"));
            assert_eq!(v["openapi"], "3.0.0");
            refs_resolve(&v, V3_PREFIX, &v["components"]["schemas"]);
        }
        let apps: Value = serde_json::from_slice(&docs.docs["apis/apps/v1"].body).unwrap();
        let schemas = &apps["components"]["schemas"];
        assert_eq!(
            schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        // A described reference is an allOf, as OpenAPI 3.0 ignores siblings of $ref.
        assert_eq!(
            schemas["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}])
        );
        assert!(schemas.get("io.k8s.api.core.v1.Container").is_some());
        assert!(schemas.get("io.k8s.api.batch.v1.Job").is_none());
        let patch =
            &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        assert!(patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
        assert!(patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_some());
        let core: Value = serde_json::from_slice(&docs.docs["api/v1"].body).unwrap();
        assert!(core["paths"]
            .get("/api/v1/namespaces/{namespace}/pods")
            .is_some());
        assert!(core["paths"].get("/apis/apps/v1/deployments").is_none());
    }

    fn header(r: &Response<crate::api::Body>, name: &str) -> String {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn serve_negotiates_v2_and_caches_hashed_v3() {
        let pb = serve(
            "/openapi/v2",
            "",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )
        .unwrap();
        assert_eq!(header(&pb, "content-type"), PV2_MIME);
        for accept in [
            "application/json",
            "",
            "*/*",
            "application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        ] {
            let r = serve("/openapi/v2", "", accept).unwrap();
            assert_eq!(header(&r, "content-type"), "application/json", "{accept}");
        }
        let index = serve("/openapi/v3", "", "application/json").unwrap();
        assert_eq!(header(&index, "cache-control"), "no-cache, private");
        let hash = &v3_docs().docs["apis/apps/v1"].hash;
        let r = serve("/openapi/v3/apis/apps/v1", &format!("hash={hash}"), "").unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(header(&r, "cache-control").contains("immutable"));
        assert_eq!(header(&r, "etag"), format!("\"{hash}\""));
        let r = serve("/openapi/v3/apis/apps/v1", "hash=0123", "").unwrap();
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            header(&r, "location"),
            format!("/openapi/v3/apis/apps/v1?hash={hash}")
        );
        let r = serve("/openapi/v3/api/v1", "", "").unwrap();
        assert_eq!(header(&r, "cache-control"), "no-cache, private");
        assert!(serve("/openapi/v3/apis/nope/v1", "", "").is_none());
        assert!(serve("/openapi/v4", "", "").is_none());
    }

    /// Thread CPU time in ns: wall time is meaningless on a busy machine.
    fn cpu_ns() -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split(' ').next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }

    #[test]
    fn documents_build_in_tens_of_milliseconds() {
        let (wall, cpu) = (std::time::Instant::now(), cpu_ns());
        let _ = definitions();
        let schemars_ms = (cpu_ns() - cpu) / 1_000_000;
        let (mut v2_ms, mut v3_ms) = (u64::MAX, u64::MAX);
        for _ in 0..3 {
            let cpu = cpu_ns();
            let v2 = build_v2();
            let mid = cpu_ns();
            let v3 = build_v3();
            assert!(!v2.proto.is_empty() && !v3.docs.is_empty());
            v2_ms = v2_ms.min((mid - cpu) / 1_000_000);
            v3_ms = v3_ms.min((cpu_ns() - mid) / 1_000_000);
        }
        let best = v2_ms + v3_ms;
        eprintln!(
            "schemars: {schemars_ms} ms CPU; v2 document (JSON + protobuf): {v2_ms} ms, v3 \
             documents: {v3_ms} ms CPU (best of 3); {} ms wall in all",
            wall.elapsed().as_millis()
        );
        // A regression guard, generous for slow machines.
        assert!(best < 500, "building the documents took {best} ms of CPU");
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "b"}, "managedFields": [{"fieldsV1": {"f:spec": {}}}]},
            "spec": {
                "replicas": 2,
                "paused": false,
                "selector": {"matchLabels": {"app": "x"}},
                "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {
                        "containers": [{
                            "name": "c",
                            "image": "nginx",
                            "args": ["a", "b"],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": 0.5, "memory": "1Gi"}, "requests": {"cpu": 1}},
                            "livenessProbe": {"httpGet": {"port": "http", "path": "/"}},
                            "env": null,
                        }],
                    },
                },
            },
            "status": {"replicas": 1},
        })
    }

    #[test]
    fn valid_objects_have_no_unknown_fields() {
        assert_eq!(
            check_fields("apps/v1", "Deployment", &deployment()),
            Ok(vec![])
        );
        let msg = type_error("v1", "ConfigMap", &json!([]));
        assert!(
            msg.ends_with("cannot unmarshal array into Go value of type v1.ConfigMap"),
            "{msg}"
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "v"}, "binaryData": {"b": "aGk="}, "immutable": true});
        assert_eq!(check_fields("v1", "ConfigMap", &cm), Ok(vec![]));
        // A kind without a schema is not checked.
        assert_eq!(
            check_fields("example.com/v1", "Widget", &json!({"x": 1})),
            Ok(vec![])
        );
    }

    #[test]
    fn unknown_fields_are_reported_with_their_paths_and_pruned() {
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("foo");
        d["spec"]["foo"] = json!({"bar": 1});
        d["metadata"]["labelz"] = json!({});
        d["status"]["bogus"] = json!(1);
        let mut unknown = check_fields("apps/v1", "Deployment", &d).unwrap();
        unknown.sort();
        assert_eq!(
            unknown,
            [
                ".metadata.labelz",
                ".spec.foo",
                ".spec.template.spec.containers[0].imagee",
                ".status.bogus",
            ]
        );
        prune_unknown("apps/v1", "Deployment", &mut d);
        assert_eq!(d, deployment());
    }

    fn type_error(api_version: &str, kind: &str, obj: &Value) -> String {
        let e = check_fields(api_version, kind, obj).unwrap_err();
        assert_eq!((e.code, e.reason), (400, "BadRequest"));
        e.message
    }

    #[test]
    fn wrong_types_name_the_field_like_the_go_decoder() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!("three");
        assert_eq!(
            type_error("apps/v1", "Deployment", &d),
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot \
             unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let cases = [
            ("/spec/template/spec/containers", json!({"name": "c"}),
             "object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
            ("/spec/template/spec/containers/0/args", json!(["a", 1]),
             "number into Go struct field Container.spec.template.spec.containers.args of type string"),
            ("/spec/template/spec/containers/0/ports/0/containerPort", json!(80.5),
             "number 80.5 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
            ("/spec/strategy/rollingUpdate/maxSurge", json!(1.5),
             "number 1.5 into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type intstr.IntOrString"),
            ("/spec/strategy/rollingUpdate/maxSurge", json!({}),
             "object into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type intstr.IntOrString"),
            ("/spec/template/spec/containers/0/resources/limits/cpu", json!(true),
             "bool into Go struct field ResourceRequirements.spec.template.spec.containers.resources.limits of type resource.Quantity"),
            ("/metadata/labels/a", json!(1),
             "number into Go struct field ObjectMeta.metadata.labels of type string"),
            ("/spec/paused", json!("yes"),
             "string into Go struct field DeploymentSpec.spec.paused of type bool"),
            ("/spec/selector", json!([]),
             "array into Go struct field DeploymentSpec.spec.selector of type v1.LabelSelector"),
            ("/metadata", json!("m"),
             "string into Go struct field Deployment.metadata of type v1.ObjectMeta"),
        ];
        for (pointer, value, want) in cases {
            let mut d = deployment();
            *d.pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{pointer}")) = value;
            let msg = type_error("apps/v1", "Deployment", &d);
            assert!(
                msg.ends_with(&format!("json: cannot unmarshal {want}")),
                "{pointer}: {msg}"
            );
        }
    }

    #[test]
    fn raw_fields_and_nulls_take_anything() {
        let mut d = deployment();
        d["metadata"]["managedFields"][0]["fieldsV1"] =
            json!({"f:metadata": {"f:x": {}}, "any": [1, "two"]});
        d["spec"]["template"]["spec"]["containers"][0]["image"] = Value::Null;
        assert_eq!(check_fields("apps/v1", "Deployment", &d), Ok(vec![]));
        let cr = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
            "revision": 1, "data": {"spec": {"anything": ["goes", 1, null]}}});
        assert_eq!(
            check_fields("apps/v1", "ControllerRevision", &cr),
            Ok(vec![])
        );
        let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "x", "note": "n", "bogus": 1});
        assert_eq!(
            check_fields("events.k8s.io/v1", "Event", &ev),
            Ok(vec![".bogus".to_string()])
        );
    }

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
