//! Request bodies in the Kubernetes protobuf encoding, decoded into the JSON objects they
//! stand for. kubectl's typed clients (`kubectl create deployment|secret|service|job|...`,
//! `create token`, `debug --copy-to`, the deletes of `drain`) always send protobuf, with no
//! JSON fallback. Responses are always JSON, which every client accepts.
//!
//! Wire format: the 4-byte magic `k8s\0`, then a `runtime.Unknown` message (typeMeta, raw,
//! contentEncoding, contentType) whose `raw` field is the object's own message. Decoding is
//! driven by the message tables in `schema`: each field number maps to a JSON name, a value
//! type and the rule encoding/json uses for zero values, so the result equals what the same
//! client would have sent as JSON. A field number missing from a table is refused with its
//! message and number named, never dropped.

// One table row per line reads better than rustfmt's wrapping of the longer rows.
#[rustfmt::skip]
mod schema;

use base64::Engine;
use serde_json::{Map, Value};

use schema::{Emit, Field, Msg, Shape, Ty};

use crate::status::ApiError;

pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\0";
/// Far deeper than any served kind nests; a guard against crafted input, not a real limit.
const MAX_DEPTH: usize = 64;

/// Decode a protobuf body into the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("missing the k8s\\0 prefix".into()))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let (mut content_encoding, mut content_type) = (String::new(), String::new());
    let mut r = Reader(rest);
    while let Some((f, w)) = r.next()? {
        match (f, w) {
            (1, Wire::Bytes(type_meta)) => {
                let mut t = Reader(type_meta);
                while let Some((f, w)) = t.next()? {
                    match (f, w) {
                        (1, Wire::Bytes(b)) => {
                            api_version = string(b, &Path::named("typeMeta.apiVersion"))?
                        }
                        (2, Wire::Bytes(b)) => kind = string(b, &Path::named("typeMeta.kind"))?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            (3, Wire::Bytes(b)) => content_encoding = string(b, &Path::named("contentEncoding"))?,
            (4, Wire::Bytes(b)) => content_type = string(b, &Path::named("contentType"))?,
            (f @ 1..=4, w) => {
                return Err(malformed(format!(
                    "envelope field {f} is {}, which does not fit its type",
                    w.name()
                )))
            }
            (f, _) => {
                return Err(unknown_field(
                    "k8s.io.apimachinery.pkg.runtime.Unknown",
                    f,
                    &Path::ROOT,
                ))
            }
        }
    }
    if !content_encoding.is_empty() {
        return Err(unsupported(format!(
            "protobuf bodies with contentEncoding {content_encoding:?} are not supported"
        )));
    }
    // Empty means protobuf, the envelope's own encoding.
    if !content_type.is_empty() && content_type != CONTENT_TYPE {
        return Err(unsupported(format!(
            "protobuf envelopes around {content_type:?} content are not supported"
        )));
    }
    if kind.is_empty() {
        return Err(malformed("the envelope names no kind".into()));
    }
    let msg = schema::root(&api_version, &kind).ok_or_else(|| {
        unsupported(format!(
            "kind {kind:?} of apiVersion {api_version:?} cannot be sent as protobuf to this server"
        ))
    })?;
    let mut obj = message(msg, raw, &Path::ROOT, 0)?;
    obj.insert("apiVersion".into(), Value::String(api_version));
    obj.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(obj))
}

/// One message's fields as a JSON object. `path` is the JSON path of the message, for errors.
fn message(
    msg: &Msg,
    b: &[u8],
    path: &Path<'_>,
    depth: usize,
) -> Result<Map<String, Value>, ApiError> {
    if depth > MAX_DEPTH {
        return Err(malformed(format!("{path}: messages nested too deeply")));
    }
    let mut out = Map::new();
    let mut r = Reader(b);
    while let Some((tag, wire)) = r.next()? {
        let field = msg
            .fields
            .iter()
            .find(|f| f.tag == tag)
            .ok_or_else(|| unknown_field(msg.name, tag, path))?;
        let fpath = path.field(field.json);
        match field.shape {
            Shape::One => {
                match (field.ty, value(field.ty, wire, &fpath, msg, field, depth)?) {
                    (Ty::Inline(_), Value::Object(inner)) => out.extend(inner),
                    (_, v) if field.emit != Emit::Omit || !is_zero(&v) => {
                        out.insert(field.json.into(), v);
                    }
                    // A later zero overrides an earlier value, as protobuf's last-wins does.
                    _ => drop(out.remove(field.json)),
                }
            }
            Shape::List => {
                let list = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(list) = list else {
                    return Err(malformed(format!("{fpath}: field given twice")));
                };
                match wire {
                    // Packed repeated numbers: a run of varints in one length-delimited field.
                    Wire::Bytes(b) if matches!(field.ty, Ty::Bool | Ty::I32 | Ty::I64) => {
                        let mut p = Reader(b);
                        while !p.0.is_empty() {
                            let v = p.varint()?;
                            list.push(scalar(field.ty, v));
                        }
                    }
                    w => {
                        let at = fpath.index(list.len());
                        list.push(value(field.ty, w, &at, msg, field, depth)?);
                    }
                }
            }
            Shape::Map => {
                let Wire::Bytes(entry) = wire else {
                    return Err(wrong_wire(msg, field, &fpath, wire.name()));
                };
                let (k, v) = map_entry(field, entry, &fpath, msg, depth)?;
                let map = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(k, v);
                }
            }
        }
    }
    // encoding/json writes nil slices and maps without omitempty as null.
    for field in msg.fields {
        if field.emit == Emit::Keep && field.shape != Shape::One && !out.contains_key(field.json) {
            out.insert(field.json.into(), Value::Null);
        }
    }
    Ok(out)
}

fn map_entry(
    field: &Field,
    b: &[u8],
    path: &Path<'_>,
    msg: &Msg,
    depth: usize,
) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut val = None;
    let mut r = Reader(b);
    while let Some((tag, wire)) = r.next()? {
        match (tag, wire) {
            (1, Wire::Bytes(k)) => key = string(k, path)?,
            (2, w) => val = Some(value(field.ty, w, &path.key(&key), msg, field, depth)?),
            _ => return Err(malformed(format!("{path}: bad map entry"))),
        }
    }
    // An entry without a value holds the value type's zero.
    let val = match (val, field.ty) {
        (Some(v), _) => v,
        (None, Ty::Bool | Ty::I32 | Ty::I64) => scalar(field.ty, 0),
        (None, ty) => value(ty, Wire::Bytes(&[]), path, msg, field, depth)?,
    };
    Ok((key, val))
}

fn value(
    ty: Ty,
    wire: Wire<'_>,
    path: &Path<'_>,
    msg: &Msg,
    field: &Field,
    depth: usize,
) -> Result<Value, ApiError> {
    let got = wire.name();
    Ok(match (ty, wire) {
        (Ty::Bool | Ty::I32 | Ty::I64, Wire::Varint(v)) => scalar(ty, v),
        (Ty::Str, Wire::Bytes(b)) => Value::String(string(b, path)?),
        (Ty::Bytes, Wire::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Nested(m) | Ty::Inline(m), Wire::Bytes(b)) => {
            Value::Object(message(m, b, path, depth + 1)?)
        }
        (Ty::Time, Wire::Bytes(b)) => match timestamp(b, path)? {
            None => Value::Null,
            // Kubernetes drops the nanoseconds of a Time, in protobuf as in JSON.
            Some((secs, _)) => Value::String(crate::objects::rfc3339(secs)),
        },
        (Ty::MicroTime, Wire::Bytes(b)) => match timestamp(b, path)? {
            None => Value::Null,
            Some((secs, nanos)) => Value::String(crate::objects::rfc3339_with_micros(
                secs,
                Some(nanos / 1000),
            )),
        },
        (Ty::Quantity, Wire::Bytes(b)) => {
            let mut s = String::new();
            let mut r = Reader(b);
            while let Some((tag, w)) = r.next()? {
                match (tag, w) {
                    (1, Wire::Bytes(b)) => s = string(b, path)?,
                    (t, _) => {
                        return Err(unknown_field(
                            "k8s.io.apimachinery.pkg.api.resource.Quantity",
                            t,
                            path,
                        ))
                    }
                }
            }
            // The zero Quantity prints as "0" in JSON.
            Value::String(if s.is_empty() { "0".into() } else { s })
        }
        (Ty::IntOrStr, Wire::Bytes(b)) => {
            let (mut is_str, mut int_val, mut str_val) = (false, 0i64, String::new());
            let mut r = Reader(b);
            while let Some((tag, w)) = r.next()? {
                match (tag, w) {
                    (1, Wire::Varint(t)) => is_str = t == 1,
                    (2, Wire::Varint(v)) => int_val = i64::from(v as i32),
                    (3, Wire::Bytes(b)) => str_val = string(b, path)?,
                    (t, _) => {
                        return Err(unknown_field(
                            "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
                            t,
                            path,
                        ))
                    }
                }
            }
            if is_str {
                Value::String(str_val)
            } else {
                Value::from(int_val)
            }
        }
        (Ty::Raw, Wire::Bytes(b)) => {
            let mut raw: &[u8] = &[];
            let mut r = Reader(b);
            while let Some((tag, w)) = r.next()? {
                match (tag, w) {
                    (1, Wire::Bytes(b)) => raw = b,
                    (t, _) => {
                        return Err(unknown_field(
                            "k8s.io.apimachinery.pkg.runtime.RawExtension",
                            t,
                            path,
                        ))
                    }
                }
            }
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(raw).map_err(|e| {
                    unsupported(format!(
                        "{path}: the embedded object is not JSON ({e}); only JSON embedded \
                         objects are accepted"
                    ))
                })?
            }
        }
        _ => return Err(wrong_wire(msg, field, path, got)),
    })
}

fn scalar(ty: Ty, v: u64) -> Value {
    match ty {
        Ty::Bool => Value::Bool(v != 0),
        // Negative int32s travel sign-extended to 64 bits; the low half is the value.
        Ty::I32 => Value::from(i64::from(v as i32)),
        _ => Value::from(v as i64),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Array(a) => a.is_empty(),
        // Structs are never empty to encoding/json; their zero is written in full.
        Value::Object(_) | Value::Null => false,
    }
}

/// `(seconds, nanos)` of a `Timestamp`, or `None` for the zero time (an empty message).
fn timestamp(b: &[u8], path: &Path<'_>) -> Result<Option<(i64, u32)>, ApiError> {
    let (mut secs, mut nanos) = (0i64, 0u32);
    let mut r = Reader(b);
    while let Some((tag, w)) = r.next()? {
        match (tag, w) {
            (1, Wire::Varint(v)) => secs = v as i64,
            (2, Wire::Varint(v)) => nanos = (v as i32).clamp(0, 999_999_999) as u32,
            (t, _) => {
                return Err(unknown_field(
                    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
                    t,
                    path,
                ))
            }
        }
    }
    if secs == 0 && nanos == 0 {
        return Ok(None);
    }
    // Years 1 to 9999, the range RFC 3339 can write.
    if !(-62_135_596_800..=253_402_300_799).contains(&secs) {
        return Err(malformed(format!("{path}: time out of range")));
    }
    Ok(Some((secs, nanos)))
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// A fixed 32- or 64-bit value; no served field uses one.
    Fixed,
}

impl Wire<'_> {
    fn name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Bytes(_) => "length-delimited",
            Wire::Fixed => "fixed-width",
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or_else(|| malformed("truncated varint".into()))?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed("varint longer than 10 bytes".into()))
    }

    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, ApiError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| malformed("length out of range".into()))?;
                if len > self.0.len() {
                    return Err(malformed("truncated field".into()));
                }
                let (b, rest) = self.0.split_at(len);
                self.0 = rest;
                Wire::Bytes(b)
            }
            w @ (1 | 5) => {
                let n = if w == 1 { 8 } else { 4 };
                if n > self.0.len() {
                    return Err(malformed("truncated fixed-width field".into()));
                }
                self.0 = &self.0[n..];
                Wire::Fixed
            }
            w => return Err(malformed(format!("unsupported wire type {w}"))),
        };
        let tag = key >> 3;
        if tag == 0 {
            return Err(malformed("field number 0".into()));
        }
        Ok(Some((tag, wire)))
    }
}

fn string(b: &[u8], path: &Path<'_>) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| malformed(format!("{path}: string is not UTF-8")))
}

fn malformed(what: String) -> ApiError {
    ApiError::bad_request(format!("malformed protobuf body: {what}"))
}

fn unsupported(what: String) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "{what}; send the object as JSON (Content-Type: application/json, or `kubectl \
             create -f`/`kubectl apply -f` with a manifest)"
        ),
    )
}

fn unknown_field(msg: &str, tag: u64, path: &Path<'_>) -> ApiError {
    let at = if path.is_root() {
        String::new()
    } else {
        format!(" (at {path})")
    };
    unsupported(format!(
        "field number {tag} of protobuf message {msg}{at} is not known to this server"
    ))
}

/// `path` is the field's own path.
fn wrong_wire(msg: &Msg, field: &Field, path: &Path<'_>, got: &str) -> ApiError {
    malformed(format!(
        "{path}: field {} ({}) of {} is {got}, which does not fit its type",
        field.tag,
        if field.json.is_empty() {
            "inline"
        } else {
            field.json
        },
        msg.name,
    ))
}

/// Where in the object a value sits, rendered only for error messages (so decoding builds
/// no strings on the way down).
#[derive(Clone, Copy)]
struct Path<'a> {
    up: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Field(&'static str),
    Index(usize),
    Key(&'a str),
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        up: None,
        seg: Seg::Root,
    };

    fn named(name: &'static str) -> Path<'static> {
        Path {
            up: None,
            seg: Seg::Field(name),
        }
    }

    /// A field's path; inline fields (no JSON name) share their parent's.
    fn field(&'a self, name: &'static str) -> Path<'a> {
        if name.is_empty() {
            return *self;
        }
        Path {
            up: Some(self),
            seg: Seg::Field(name),
        }
    }

    fn index(&'a self, i: usize) -> Path<'a> {
        Path {
            up: Some(self),
            seg: Seg::Index(i),
        }
    }

    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            up: Some(self),
            seg: Seg::Key(key),
        }
    }

    fn is_root(&self) -> bool {
        matches!(self.seg, Seg::Root)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut after_field = false;
        if let Some(up) = self.up {
            up.fmt(f)?;
            after_field = !up.is_root();
        }
        match self.seg {
            Seg::Root => Ok(()),
            Seg::Field(name) if after_field => write!(f, ".{name}"),
            Seg::Field(name) => f.write_str(name),
            Seg::Index(i) => write!(f, "[{i}]"),
            Seg::Key(k) => write!(f, "[{k}]"),
        }
    }
}

#[cfg(test)]
mod tests;
