//! Query parameters and selectors: label selectors with the full Kubernetes grammar
//! (equality and set-based), and field selectors on the fields each kind supports.

use serde_json::Value;

use crate::resources::Resource;
use crate::status::ApiError;

/// Query parameters, percent-decoded.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(q: &str) -> Self {
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

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter, read as Go's `strconv.ParseBool` reads it (clients generated
    /// from the OpenAPI document send `True`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    /// `dryRun=All` (the only value Kubernetes defines); anything else is refused rather
    /// than silently performing a real write.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k == "dryRun")
            .map(|(_, v)| v.as_str())
            .collect();
        match values.as_slice() {
            [] => Ok(false),
            vs if vs.iter().all(|v| *v == "All") => Ok(true),
            vs => Err(ApiError::bad_request(format!(
                "unsupported dryRun value {:?}: the only supported value is \"All\"",
                vs.iter().find(|v| **v != "All").unwrap_or(&"")
            ))),
        }
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

/// A label selector and a field selector, as given on list, watch and deletecollection.
pub(crate) struct Selector {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

struct Requirement {
    key: String,
    op: Op,
}

enum Op {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

impl Selector {
    pub fn from_query(q: &Query, res: &Resource) -> Result<Self, ApiError> {
        let labels = parse_labels(q.get("labelSelector").unwrap_or(""))?;
        let fields = parse_fields(q.get("fieldSelector").unwrap_or(""))?;
        for r in &fields {
            if !field_supported(res, &r.key) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {} (for {}: metadata.name, metadata.namespace{})",
                    r.key,
                    res.plural,
                    kind_fields(res)
                        .iter()
                        .map(|f| format!(", {f}"))
                        .collect::<String>()
                )));
            }
        }
        Ok(Self { labels, fields })
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.labels
            .iter()
            .all(|r| r.matches(labels.get(&r.key).and_then(Value::as_str)))
            && self
                .fields
                .iter()
                .all(|r| r.matches(Some(&field_value(obj, &r.key))))
    }
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        match &self.op {
            Op::In(vs) => value.is_some_and(|v| vs.iter().any(|w| w == v)),
            Op::NotIn(vs) => !value.is_some_and(|v| vs.iter().any(|w| w == v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
        }
    }
}

/// Split on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_labels(s: &str) -> Result<Vec<Requirement>, ApiError> {
    let bad = |part: &str, why: &str| {
        ApiError::bad_request(format!(
            "unable to parse requirement {part:?} in labelSelector: {why}; use key=value, \
             key!=value, key, !key, 'key in (a,b)' or 'key notin (a,b)'"
        ))
    };
    let mut out = Vec::new();
    for part in split_top_level(s) {
        let req = if let Some(key) = part.strip_prefix('!') {
            Requirement {
                key: key.trim().to_string(),
                op: Op::DoesNotExist,
            }
        } else if let Some((key, rest)) = set_op(part) {
            let (negate, list) = rest;
            let list = list
                .trim()
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| bad(part, "the values must be in parentheses"))?;
            let values = list
                .split(',')
                .map(|v| v.trim().to_string())
                .collect::<Vec<_>>();
            Requirement {
                key: key.to_string(),
                op: if negate {
                    Op::NotIn(values)
                } else {
                    Op::In(values)
                },
            }
        } else if let Some((key, value)) = part.split_once("!=") {
            Requirement {
                key: key.trim().to_string(),
                op: Op::NotIn(vec![value.trim().to_string()]),
            }
        } else if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement {
                key: key.trim().to_string(),
                op: Op::In(vec![value.trim().to_string()]),
            }
        } else {
            Requirement {
                key: part.to_string(),
                op: Op::Exists,
            }
        };
        if req.key.is_empty() || req.key.contains(char::is_whitespace) {
            return Err(bad(part, "the key is empty or contains spaces"));
        }
        out.push(req);
    }
    Ok(out)
}

/// `key in (...)` / `key notin (...)`: the key, whether it is `notin`, and the rest.
fn set_op(part: &str) -> Option<(&str, (bool, &str))> {
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next()?.trim();
    let rest = words.next()?.trim_start();
    if let Some(r) = rest.strip_prefix("notin") {
        Some((key, (true, r)))
    } else {
        rest.strip_prefix("in").map(|r| (key, (false, r)))
    }
}

fn parse_fields(s: &str) -> Result<Vec<Requirement>, ApiError> {
    let mut out = Vec::new();
    for part in split_top_level(s) {
        let (key, op) = if let Some((k, v)) = part.split_once("!=") {
            (k, Op::NotIn(vec![v.trim().to_string()]))
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            (k, Op::In(vec![v.trim().to_string()]))
        } else {
            return Err(ApiError::bad_request(format!(
                "invalid fieldSelector {part:?}: use field=value, field==value or field!=value"
            )));
        };
        out.push(Requirement {
            key: key.trim().to_string(),
            op,
        });
    }
    Ok(out)
}

/// The fields besides metadata.name/namespace that each kind can be selected by, as in
/// Kubernetes.
fn kind_fields(res: &Resource) -> &'static [&'static str] {
    match (res.group, res.kind) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "Event") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "Secret") => &["type"],
        ("", "Namespace") => &["status.phase"],
        ("", "Node") => &["spec.unschedulable"],
        ("", "Service") => &["spec.clusterIP", "spec.type"],
        ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        _ => &[],
    }
}

fn field_supported(res: &Resource, key: &str) -> bool {
    matches!(key, "metadata.name" | "metadata.namespace") || kind_fields(res).contains(&key)
}

/// The string a field selector compares against; absent fields compare as "".
fn field_value(obj: &Value, key: &str) -> String {
    let path = if key == "source" {
        "source.component"
    } else {
        key
    };
    let mut v = obj;
    for seg in path.split('.') {
        v = &v[seg];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Unset booleans select as false, as in Kubernetes (spec.unschedulable=false).
        Value::Null if matches!(key, "spec.unschedulable" | "spec.hostNetwork") => "false".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods() -> &'static Resource {
        crate::resources::lookup("", "v1", "pods").unwrap()
    }

    fn sel(labels: &str, fields: &str) -> Result<Selector, ApiError> {
        let q = Query::parse(&format!(
            "labelSelector={}&fieldSelector={}",
            labels.replace(' ', "+").replace(',', "%2C"),
            fields
        ));
        Selector::from_query(&q, pods())
    }

    #[test]
    fn label_selector_grammar() {
        let obj = json!({"metadata": {"name": "a", "labels": {"app": "web", "tier": "fe"}},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        for (s, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app in (web,db)", true),
            ("app notin (web,db)", false),
            ("missing notin (x)", true),
            ("app in (db), tier=fe", false),
            ("app in (web,db),tier=fe", true),
        ] {
            assert_eq!(sel(s, "").unwrap().matches(&obj), want, "{s}");
        }
        assert!(sel("app in web", "").is_err());
        assert!(sel("", "spec.nodeName=n1,status.phase!=Failed")
            .unwrap()
            .matches(&obj));
        assert!(!sel("", "spec.nodeName=").unwrap().matches(&obj));
        let err = sel("", "spec.bogus=1").err().unwrap();
        assert!(err.message.contains("spec.bogus"), "{}", err.message);
    }

    #[test]
    fn query_decoding_and_dry_run() {
        let q = Query::parse("a=b%20c&labelSelector=x%3Dy&watch=1&dryRun=All");
        assert_eq!(q.get("a"), Some("b c"));
        assert_eq!(q.get("labelSelector"), Some("x=y"));
        assert!(q.flag("watch"));
        assert!(q.dry_run().unwrap());
        assert!(Query::parse("dryRun=Some").dry_run().is_err());
        assert!(!Query::parse("").dry_run().unwrap());
    }
}
