//! Just enough of the Kubernetes protobuf encoding for the request bodies kubectl sends as
//! protobuf (its typed clients, e.g. `kubectl create configmap` and `create namespace`,
//! always do, with no JSON fallback), plus the empty OpenAPI v2 document kubectl insists on
//! downloading as protobuf. Responses are always JSON, which every client accepts.
//!
//! Wire format: the 4-byte magic `k8s\0`, then a `runtime.Unknown` message whose `raw` field
//! is the object's own message. Fields not listed here are server-owned (creationTimestamp,
//! managedFields, ...) or not supported yet; the latter are refused with a message rather
//! than silently dropped.

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::status::ApiError;

pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\0";

/// An OpenAPI v2 `Document` with only `swagger: "2.0"` and `info`: kubectl's client-side
/// validation finds no schema for any kind in it and skips validation, as it does for CRDs
/// without a schema.
pub(crate) fn empty_openapi_v2() -> Vec<u8> {
    let mut info = Vec::new();
    put_str(&mut info, 1, "skiff");
    put_str(&mut info, 2, crate::api::GIT_VERSION);
    let mut doc = Vec::new();
    put_str(&mut doc, 1, "2.0");
    put_bytes(&mut doc, 2, &info);
    doc
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, field: u64, s: &str) {
    put_bytes(out, field, s.as_bytes());
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a>(&'a [u8]);

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("malformed protobuf body: {what}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or_else(|| malformed("truncated varint"))?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed("varint too long"))
    }

    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, ApiError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let wire = match tag & 7 {
            0 => Wire::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                if len > self.0.len() {
                    return Err(malformed("truncated field"));
                }
                let (b, rest) = self.0.split_at(len);
                self.0 = rest;
                Wire::Bytes(b)
            }
            1 | 5 => {
                let n = if tag & 7 == 1 { 8 } else { 4 };
                if n > self.0.len() {
                    return Err(malformed("truncated fixed field"));
                }
                self.0 = &self.0[n..];
                Wire::Fixed
            }
            _ => return Err(malformed("unsupported wire type")),
        };
        Ok(Some((tag >> 3, wire)))
    }
}

fn string(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| malformed("string field is not UTF-8"))
}

/// A `map<string, string>` (or bytes, base64-encoded as JSON does) entry.
fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ApiError> {
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    let mut r = Reader(b);
    while let Some((f, w)) = r.next()? {
        match (f, w) {
            (1, Wire::Bytes(b)) => k = string(b)?,
            (2, Wire::Bytes(b)) if bytes_value => {
                v = json!(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (2, Wire::Bytes(b)) => v = json!(string(b)?),
            _ => {}
        }
    }
    Ok((k, v))
}

fn unsupported(field: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "{field} in a protobuf body is not supported by this server yet; send the object \
             as JSON (e.g. `kubectl create -f` or `kubectl apply -f` with a manifest)"
        ),
    )
}

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    let mut r = Reader(b);
    while let Some((f, w)) = r.next()? {
        // Go's encoder writes empty strings explicitly; JSON omits them, and so do we.
        if matches!(w, Wire::Bytes(b) if b.is_empty()) && f <= 6 {
            continue;
        }
        match (f, w) {
            (1, Wire::Bytes(b)) => drop(m.insert("name".into(), json!(string(b)?))),
            (2, Wire::Bytes(b)) => drop(m.insert("generateName".into(), json!(string(b)?))),
            (3, Wire::Bytes(b)) => drop(m.insert("namespace".into(), json!(string(b)?))),
            (5, Wire::Bytes(b)) => drop(m.insert("uid".into(), json!(string(b)?))),
            (6, Wire::Bytes(b)) => drop(m.insert("resourceVersion".into(), json!(string(b)?))),
            (11, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b, false)?;
                labels.insert(k, v);
            }
            (12, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b, false)?;
                annotations.insert(k, v);
            }
            (13, _) => return Err(unsupported("metadata.ownerReferences")),
            (14, Wire::Bytes(b)) => finalizers.push(json!(string(b)?)),
            // selfLink, generation, timestamps, managedFields: owned by the server.
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

fn configmap(b: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut obj = Map::new();
    let (mut data, mut binary) = (Map::new(), Map::new());
    let mut r = Reader(b);
    while let Some((f, w)) = r.next()? {
        match (f, w) {
            (1, Wire::Bytes(b)) => drop(obj.insert("metadata".into(), object_meta(b)?)),
            (2, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b, false)?;
                data.insert(k, v);
            }
            (3, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b, true)?;
                binary.insert(k, v);
            }
            (4, Wire::Varint(v)) => drop(obj.insert("immutable".into(), json!(v != 0))),
            _ => {}
        }
    }
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    Ok(obj)
}

fn namespace(b: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut obj = Map::new();
    let mut r = Reader(b);
    while let Some((f, w)) = r.next()? {
        match (f, w) {
            (1, Wire::Bytes(b)) => drop(obj.insert("metadata".into(), object_meta(b)?)),
            (2, Wire::Bytes(b)) => {
                let mut finalizers = Vec::new();
                let mut spec = Reader(b);
                while let Some((f, w)) = spec.next()? {
                    if let (1, Wire::Bytes(b)) = (f, w) {
                        finalizers.push(json!(string(b)?));
                    }
                }
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            // status is server-owned.
            _ => {}
        }
    }
    Ok(obj)
}

/// Decode a protobuf body into the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("missing the k8s\\0 prefix"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let mut r = Reader(rest);
    while let Some((f, w)) = r.next()? {
        match (f, w) {
            (1, Wire::Bytes(type_meta)) => {
                let mut t = Reader(type_meta);
                while let Some((f, w)) = t.next()? {
                    match (f, w) {
                        (1, Wire::Bytes(b)) => api_version = string(b)?,
                        (2, Wire::Bytes(b)) => kind = string(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut obj = match kind.as_str() {
        "ConfigMap" => configmap(raw)?,
        "Namespace" => namespace(raw)?,
        // DeleteOptions carries nothing this server uses in protobuf form; preconditions
        // need JSON (kubectl sends none).
        "DeleteOptions" => Map::new(),
        other => return Err(unsupported(&format!("kind {other:?}"))),
    };
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_configmap_envelope() {
        let mut meta = Vec::new();
        put_str(&mut meta, 1, "c1");
        let mut entry = Vec::new();
        put_str(&mut entry, 1, "a");
        put_str(&mut entry, 2, "b");
        let mut cm = Vec::new();
        put_bytes(&mut cm, 1, &meta);
        put_bytes(&mut cm, 2, &entry);
        let mut tm = Vec::new();
        put_str(&mut tm, 1, "v1");
        put_str(&mut tm, 2, "ConfigMap");
        let mut unknown = MAGIC.to_vec();
        put_bytes(&mut unknown, 1, &tm);
        put_bytes(&mut unknown, 2, &cm);
        let v = decode(&unknown).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "b"}})
        );
        assert_eq!(decode(b"k8s\0\x0a\xff").unwrap_err().code, 400);
    }
}
