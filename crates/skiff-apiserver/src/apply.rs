//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Every write records which manager set which fields, as field sets in the FieldsV1
//! encoding: `f:<name>` for struct fields and map keys, `k:{"name":"x"}` for items of map
//! lists (by their key fields), `v:<json>` for items of sets, and `.` for a node that is
//! itself owned besides some of its children. Server-side apply merges a partial object
//! into the live one by structure (map lists by key, sets by value, atomic lists and
//! structs whole), refuses to change a value another manager owns unless forced, and drops
//! the fields its manager applied last time but no longer applies, unless someone else
//! owns them too. Other writes (create, update, JSON/merge/strategic patch) give their
//! manager the fields they changed, taken away from everyone else.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::patch_meta::{self, Field, ListType, SchemaNode};

/// A field whose applied value differs from the one another manager set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub manager: String,
    /// `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`.
    pub field: String,
    /// The `apiVersion` the other manager wrote with (for the message).
    pub api_version: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    /// 409: the apply would change fields other managers own.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// 422/400: the apply configuration itself is unusable.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// The message Kubernetes gives: `Apply failed with 1 conflict: conflict with "m" using
/// apps/v1: .spec.replicas`, listing several fields of one manager on lines of their own.
fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let mut out = format!(
        "Apply failed with {n} conflict{}: ",
        if n == 1 { "" } else { "s" }
    );
    let mut groups: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for c in conflicts {
        match groups
            .iter_mut()
            .find(|g| g.0 == c.manager && g.1 == c.api_version)
        {
            Some(g) => g.2.push(&c.field),
            None => groups.push((&c.manager, &c.api_version, vec![&c.field])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(m, v, fields)| match fields.as_slice() {
            [one] => format!("conflict with {m:?} using {v}: {one}"),
            many => format!(
                "conflicts with {m:?} using {v}:\n{}",
                many.iter()
                    .map(|f| format!("- {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        })
        .collect();
    out.push_str(&parts.join("\n"));
    out
}

fn invalid(path: &[String], message: impl Into<String>) -> ApplyError {
    ApplyError::Invalid {
        field: path_string(path),
        message: message.into(),
    }
}

/// A set of field paths, as a trie of FieldsV1 path elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Set {
    member: bool,
    children: BTreeMap<String, Set>,
}

impl Set {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    fn insert(&mut self, path: &[String]) {
        let mut node = self;
        for el in path {
            node = node.children.entry(el.clone()).or_default();
        }
        node.member = true;
    }

    fn get(&self, path: &[String]) -> Option<&Set> {
        let mut node = self;
        for el in path {
            node = node.children.get(el)?;
        }
        Some(node)
    }

    fn has_member(&self, path: &[String]) -> bool {
        self.get(path).is_some_and(|s| s.member)
    }

    /// Whether the path or anything under it is in the set.
    fn touches(&self, path: &[String]) -> bool {
        self.get(path).is_some_and(|s| !s.is_empty())
    }

    fn members(&self) -> Vec<Vec<String>> {
        fn walk(s: &Set, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            if s.member {
                out.push(path.clone());
            }
            for (el, c) in &s.children {
                path.push(el.clone());
                walk(c, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    fn union(&mut self, other: &Set) {
        self.member |= other.member;
        for (el, c) in &other.children {
            self.children.entry(el.clone()).or_default().union(c);
        }
    }

    /// Remove the members of `other` (not what lies under them).
    fn subtract(&mut self, other: &Set) {
        if other.member {
            self.member = false;
        }
        for (el, c) in &other.children {
            if let Some(mine) = self.children.get_mut(el) {
                mine.subtract(c);
                if mine.is_empty() {
                    self.children.remove(el);
                }
            }
        }
    }

    /// Remove the members of `other` and everything under them.
    fn subtract_subtrees(&mut self, other: &Set) {
        for (el, c) in &other.children {
            if c.member {
                self.children.remove(el);
            } else if let Some(mine) = self.children.get_mut(el) {
                mine.subtract_subtrees(c);
                if mine.is_empty() {
                    self.children.remove(el);
                }
            }
        }
    }

    fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (el, c) in &self.children {
            m.insert(el.clone(), c.to_fields_v1());
        }
        Value::Object(m)
    }

    fn from_fields_v1(v: &Value) -> Option<Set> {
        let m = v.as_object()?;
        let mut set = Set {
            member: m.is_empty() || m.contains_key("."),
            children: BTreeMap::new(),
        };
        for (el, c) in m {
            if el != "." {
                set.children.insert(el.clone(), Set::from_fields_v1(c)?);
            }
        }
        Some(set)
    }
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Option<String>,
    subresource: Option<String>,
    set: Set,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.is_none()
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("apiVersion".into(), json!(self.api_version));
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        Value::Object(m)
    }
}

/// The entries of an object's `metadata.managedFields`; `None` if it has none or they are
/// malformed (Kubernetes then starts over rather than failing the write).
fn parse_entries(managed: Option<&Value>) -> Option<Vec<Entry>> {
    let list = managed?.as_array()?;
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        if e.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1") {
            return None;
        }
        out.push(Entry {
            manager: s("manager").unwrap_or_default(),
            operation: s("operation")?,
            api_version: s("apiVersion").unwrap_or_default(),
            time: s("time"),
            subresource: s("subresource"),
            set: Set::from_fields_v1(e.get("fieldsV1")?).map(|mut s| {
                s.member = false;
                s
            })?,
        });
    }
    Some(out)
}

fn managed_fields(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?.get("managedFields")
}

/// Store `entries` in `obj`, sorted as Kubernetes does (Apply before Update, then oldest
/// first, then by manager), without empty ones.
fn write_entries(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (a.operation.as_str(), a.time.as_deref(), a.manager.as_str()).cmp(&(
            b.operation.as_str(),
            b.time.as_deref(),
            b.manager.as_str(),
        ))
    });
    if !obj.is_object() {
        *obj = json!({});
    }
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Some(meta) = meta.as_object_mut() {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert(
                "managedFields".into(),
                Value::Array(entries.iter().map(Entry::to_json).collect()),
            );
        }
    }
}

/// Server-owned fields nobody manages.
fn ignored(path: &[String]) -> bool {
    match path {
        [one] => one == "f:apiVersion" || one == "f:kind",
        [meta, field] if meta == "f:metadata" => matches!(
            field.as_str(),
            "f:name"
                | "f:namespace"
                | "f:uid"
                | "f:resourceVersion"
                | "f:generation"
                | "f:creationTimestamp"
                | "f:deletionTimestamp"
                | "f:deletionGracePeriodSeconds"
                | "f:managedFields"
                | "f:selfLink"
        ),
        _ => false,
    }
}

/// `.spec.containers[name="web"].image`, the way Kubernetes prints field paths.
fn path_string(path: &[String]) -> String {
    let mut out = String::new();
    for el in path {
        if let Some(name) = el.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(keys) = el.strip_prefix("k:") {
            let parsed: Option<Map<String, Value>> = serde_json::from_str(keys).ok();
            let inner = match parsed {
                Some(m) => m
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                None => keys.to_string(),
            };
            out.push_str(&format!("[{inner}]"));
        } else if let Some(v) = el.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = el.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

/// How a value is merged and owned, from its schema.
enum Shape<'a> {
    /// Owned and replaced whole: scalars, atomic lists, maps and structs.
    Leaf,
    Object(&'a Map<String, Value>),
    MapList(&'a [Value], &'static [&'static str]),
    SetList(&'a [Value]),
}

fn shape<'a>(v: &'a Value, f: &Field) -> Shape<'a> {
    match v {
        Value::Object(m) if !f.atomic_map && !f.node.is_atomic_struct() => Shape::Object(m),
        Value::Array(items) => match f.list_type {
            Some(ListType::Map(keys)) => Shape::MapList(items, keys),
            Some(ListType::Set) => Shape::SetList(items),
            _ => Shape::Leaf,
        },
        _ => Shape::Leaf,
    }
}

fn item_field(f: &Field) -> Field {
    Field {
        node: f.node.items(),
        meta: None,
        list_type: None,
        atomic_map: false,
    }
}

fn root_field(root_definition: &str) -> Field {
    Field {
        node: SchemaNode::root(root_definition),
        meta: None,
        list_type: None,
        atomic_map: false,
    }
}

/// The `k:{...}` element of a map-list item, with defaults for absent key fields.
fn key_element(item: &Value, keys: &[&str]) -> Result<String, String> {
    let mut m = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) if !v.is_null() => {
                m.insert((*k).to_string(), v.clone());
            }
            _ => match patch_meta::key_default(k) {
                Some(d) => {
                    m.insert((*k).to_string(), json!(d));
                }
                None => return Err(format!("list item has no key field {k:?}")),
            },
        }
    }
    Ok(format!("k:{}", Value::Object(m)))
}

fn value_element(item: &Value) -> String {
    format!("v:{item}")
}

/// The items of a granular list with their path elements; `Err` if an item lacks its key
/// or two items share one (such a list can only be handled whole).
fn elements<'a>(
    items: &'a [Value],
    keys: Option<&[&str]>,
) -> Result<Vec<(String, &'a Value)>, String> {
    let mut out: Vec<(String, &Value)> = Vec::with_capacity(items.len());
    for item in items {
        let el = match keys {
            Some(keys) => key_element(item, keys)?,
            None => value_element(item),
        };
        if out.iter().any(|(e, _)| *e == el) {
            return Err(format!("duplicate entries for key {el}"));
        }
        out.push((el, item));
    }
    Ok(out)
}

fn find<'a>(els: &'a [(String, &'a Value)], el: &str) -> Option<&'a Value> {
    els.iter().find(|(e, _)| e == el).map(|(_, v)| *v)
}

/// The elements of a live list, or none if the list cannot be keyed (then every applied
/// item counts as new).
fn live_elements<'a>(live: Option<&'a Value>, keys: Option<&[&str]>) -> Vec<(String, &'a Value)> {
    match live {
        Some(Value::Array(items)) => elements(items, keys).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Walk an apply configuration: put every field it sets in `set`, and those whose value
/// differs from `live` in `changed`.
fn walk_applied(
    applied: &Value,
    live: Option<&Value>,
    f: &Field,
    path: &mut Vec<String>,
    set: &mut Set,
    changed: &mut Set,
) -> Result<(), ApplyError> {
    if ignored(path) {
        return Ok(());
    }
    match shape(applied, f) {
        Shape::Leaf => {
            set.insert(path);
            if live != Some(applied) {
                changed.insert(path);
            }
        }
        Shape::Object(m) => {
            if m.is_empty() && !path.is_empty() {
                set.insert(path);
                if !live.is_some_and(Value::is_object) {
                    changed.insert(path);
                }
            }
            for (k, v) in m {
                let child = f.node.field(k);
                path.push(format!("f:{k}"));
                walk_applied(v, live.and_then(|l| l.get(k)), &child, path, set, changed)?;
                path.pop();
            }
        }
        Shape::MapList(items, keys) => {
            let els = elements(items, Some(keys)).map_err(|e| invalid(path, e))?;
            let live_els = live_elements(live, Some(keys));
            let inner = item_field(f);
            for (el, item) in els {
                let live_item = find(&live_els, &el);
                path.push(el);
                set.insert(path);
                if live_item.is_none() {
                    changed.insert(path);
                }
                if let Value::Object(m) = item {
                    for (k, v) in m {
                        let child = inner.node.field(k);
                        path.push(format!("f:{k}"));
                        walk_applied(
                            v,
                            live_item.and_then(|l| l.get(k)),
                            &child,
                            path,
                            set,
                            changed,
                        )?;
                        path.pop();
                    }
                }
                path.pop();
            }
        }
        Shape::SetList(items) => {
            let els = elements(items, None).map_err(|e| invalid(path, e))?;
            let live_els = live_elements(live, None);
            for (el, _) in els {
                let present = find(&live_els, &el).is_some();
                path.push(el);
                set.insert(path);
                if !present {
                    changed.insert(path);
                }
                path.pop();
            }
        }
    }
    Ok(())
}

/// The fields `value` sets, as an apply would own them (for objects that predate field
/// tracking); lists that cannot be keyed are owned whole.
fn owned_fields(value: &Value, f: &Field, path: &mut Vec<String>, set: &mut Set) {
    if ignored(path) {
        return;
    }
    match shape(value, f) {
        Shape::Object(m) => {
            if m.is_empty() && !path.is_empty() {
                set.insert(path);
            }
            for (k, v) in m {
                path.push(format!("f:{k}"));
                owned_fields(v, &f.node.field(k), path, set);
                path.pop();
            }
        }
        Shape::MapList(items, keys) => match elements(items, Some(keys)) {
            Ok(els) => {
                let inner = item_field(f);
                for (el, item) in els {
                    path.push(el);
                    set.insert(path);
                    if let Value::Object(m) = item {
                        for (k, v) in m {
                            path.push(format!("f:{k}"));
                            owned_fields(v, &inner.node.field(k), path, set);
                            path.pop();
                        }
                    }
                    path.pop();
                }
            }
            Err(_) => set.insert(path),
        },
        Shape::SetList(items) => match elements(items, None) {
            Ok(els) => {
                for (el, _) in els {
                    path.push(el);
                    set.insert(path);
                    path.pop();
                }
            }
            Err(_) => set.insert(path),
        },
        Shape::Leaf => set.insert(path),
    }
}

/// Fields that Kubernetes' own (Go) objects always carry, even when empty or null, so
/// creating them is not a change of their own, only of what they hold.
const ALWAYS_PRESENT: &[&str] = &[
    "f:metadata",
    "f:spec",
    "f:status",
    "f:template",
    "f:strategy",
    "f:updateStrategy",
    "f:jobTemplate",
    "f:containers",
];

/// Record what a write changed from `old` to `new`: `changed` gets every field added or
/// modified (and `.` for maps, lists and items it created), `removed` every field dropped.
fn diff(
    old: Option<&Value>,
    new: Option<&Value>,
    f: &Field,
    path: &mut Vec<String>,
    changed: &mut Set,
    removed: &mut Set,
) {
    if ignored(path) {
        return;
    }
    match (old, new) {
        (None, None) => {}
        (Some(_), None) => removed.insert(path),
        (None, Some(n)) => added(n, f, path, changed),
        (Some(o), Some(n)) => match (shape(o, f), shape(n, f)) {
            (Shape::Object(om), Shape::Object(nm)) => {
                for k in om.keys().chain(nm.keys().filter(|k| !om.contains_key(*k))) {
                    path.push(format!("f:{k}"));
                    diff(
                        om.get(k),
                        nm.get(k),
                        &f.node.field(k),
                        path,
                        changed,
                        removed,
                    );
                    path.pop();
                }
            }
            (Shape::MapList(oi, keys), Shape::MapList(ni, _)) => {
                match (elements(oi, Some(keys)), elements(ni, Some(keys))) {
                    (Ok(oe), Ok(ne)) => {
                        diff_items(&oe, &ne, &item_field(f), path, changed, removed)
                    }
                    _ if o != n => changed.insert(path),
                    _ => {}
                }
            }
            (Shape::SetList(oi), Shape::SetList(ni)) => {
                match (elements(oi, None), elements(ni, None)) {
                    (Ok(oe), Ok(ne)) => {
                        diff_items(&oe, &ne, &item_field(f), path, changed, removed)
                    }
                    _ if o != n => changed.insert(path),
                    _ => {}
                }
            }
            _ if o != n => changed.insert(path),
            _ => {}
        },
    }
}

fn diff_items(
    old: &[(String, &Value)],
    new: &[(String, &Value)],
    inner: &Field,
    path: &mut Vec<String>,
    changed: &mut Set,
    removed: &mut Set,
) {
    for (el, _) in old {
        if find(new, el).is_none() {
            path.push(el.clone());
            removed.insert(path);
            path.pop();
        }
    }
    for (el, n) in new {
        path.push(el.clone());
        match find(old, el) {
            None => added(n, inner, path, changed),
            Some(o) => {
                if let (Value::Object(om), Value::Object(nm)) = (o, n) {
                    for k in om.keys().chain(nm.keys().filter(|k| !om.contains_key(*k))) {
                        path.push(format!("f:{k}"));
                        diff(
                            om.get(k),
                            nm.get(k),
                            &inner.node.field(k),
                            path,
                            changed,
                            removed,
                        );
                        path.pop();
                    }
                }
            }
        }
        path.pop();
    }
}

fn added(n: &Value, f: &Field, path: &mut Vec<String>, changed: &mut Set) {
    if ignored(path) {
        return;
    }
    let always_present = path
        .last()
        .is_some_and(|el| ALWAYS_PRESENT.contains(&el.as_str()));
    match shape(n, f) {
        Shape::Leaf => changed.insert(path),
        Shape::Object(m) => {
            if !path.is_empty() && !always_present {
                changed.insert(path);
            }
            for (k, v) in m {
                path.push(format!("f:{k}"));
                added(v, &f.node.field(k), path, changed);
                path.pop();
            }
        }
        Shape::MapList(items, keys) => match elements(items, Some(keys)) {
            Ok(els) => {
                if !always_present {
                    changed.insert(path);
                }
                let inner = item_field(f);
                for (el, item) in els {
                    path.push(el);
                    added(item, &inner, path, changed);
                    path.pop();
                }
            }
            Err(_) => changed.insert(path),
        },
        Shape::SetList(items) => match elements(items, None) {
            Ok(els) => {
                changed.insert(path);
                for (el, _) in els {
                    path.push(el);
                    changed.insert(path);
                    path.pop();
                }
            }
            Err(_) => changed.insert(path),
        },
    }
}

/// Merge an apply configuration into the live value by structure.
fn merge(live: Option<Value>, applied: &Value, f: &Field) -> Value {
    match shape(applied, f) {
        Shape::Leaf => applied.clone(),
        Shape::Object(m) => {
            let mut out = match live {
                Some(Value::Object(l)) => l,
                _ => Map::new(),
            };
            for (k, v) in m {
                let merged = merge(out.remove(k), v, &f.node.field(k));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        Shape::MapList(items, keys) => {
            let mut out = match live {
                Some(Value::Array(l)) => l,
                _ => Vec::new(),
            };
            let inner = item_field(f);
            for item in items {
                let el = key_element(item, keys).ok();
                let at = out
                    .iter()
                    .position(|o| el.is_some() && key_element(o, keys).ok() == el);
                match at {
                    Some(i) => {
                        let o = std::mem::take(&mut out[i]);
                        out[i] = merge(Some(o), item, &inner);
                    }
                    None => out.push(item.clone()),
                }
            }
            Value::Array(out)
        }
        Shape::SetList(items) => {
            let mut out = match live {
                Some(Value::Array(l)) => l,
                _ => Vec::new(),
            };
            for item in items {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Value::Array(out)
        }
    }
}

/// Whether a list item matches a path element.
fn item_matches(item: &Value, el: &str) -> bool {
    if let Some(keys) = el.strip_prefix("k:") {
        let Ok(Value::Object(want)) = serde_json::from_str::<Value>(keys) else {
            return false;
        };
        want.iter().all(|(k, v)| match item.get(k) {
            Some(have) if !have.is_null() => have == v,
            _ => patch_meta::key_default(k).is_some_and(|d| v == d),
        })
    } else if let Some(v) = el.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|v| *item == v)
    } else {
        false
    }
}

/// Whether `path` is a key field of a map-list item (`k:{"name":"x"}` then `f:name`): it
/// identifies the item, so it goes only with the item.
fn is_key_field(path: &[String]) -> bool {
    let [.., item, field] = path else {
        return false;
    };
    let (Some(keys), Some(name)) = (item.strip_prefix("k:"), field.strip_prefix("f:")) else {
        return false;
    };
    serde_json::from_str::<Map<String, Value>>(keys).is_ok_and(|m| m.contains_key(name))
}

/// Remove the field or item at `path` from `obj`, if it is there, and then the maps and
/// lists that this leaves empty, as Kubernetes does.
fn remove_at(obj: &mut Value, path: &[String]) {
    if path.is_empty() || !remove_one(obj, path) {
        return;
    }
    for depth in (1..path.len()).rev() {
        let now_empty = lookup(obj, &path[..depth]).is_some_and(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        });
        if !now_empty || !remove_one(obj, &path[..depth]) {
            return;
        }
    }
}

fn step<'a>(node: &'a Value, el: &str) -> Option<&'a Value> {
    match el.strip_prefix("f:") {
        Some(name) => node.get(name),
        None => node.as_array()?.iter().find(|i| item_matches(i, el)),
    }
}

fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |node, el| step(node, el))
}

fn remove_one(obj: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = obj;
    for el in parents {
        let next = match el.strip_prefix("f:") {
            Some(name) => node.get_mut(name),
            None => match node {
                Value::Array(items) => items.iter_mut().find(|i| item_matches(i, el)),
                _ => None,
            },
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match (last.strip_prefix("f:"), node) {
        (Some(name), Value::Object(m)) => m.remove(name).is_some(),
        (None, Value::Array(items)) => {
            let len = items.len();
            items.retain(|i| !item_matches(i, last));
            items.len() != len
        }
        _ => false,
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn api_version_of(obj: &Value) -> String {
    obj.get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Server-side apply: merge the apply configuration `applied` (a partial object) into
/// `live` (`None` when the apply creates the object), record `manager`'s ownership, and
/// return the new object. Without `force`, changing a value another manager owns is an
/// error listing every such field; with `force` their ownership moves to `manager`.
/// `now` is the RFC 3339 time recorded in the entry.
pub(crate) fn server_side_apply(
    root_definition: &str,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    if !applied.is_object() {
        return Err(invalid(&[], "an apply configuration must be an object"));
    }
    if managed_fields(applied).is_some_and(|m| !m.is_null()) {
        return Err(ApplyError::Invalid {
            field: "metadata.managedFields".into(),
            message: "must be empty in an apply configuration".into(),
        });
    }
    let applied = strip_nulls(applied);
    let root = root_field(root_definition);
    let api_version = match api_version_of(&applied) {
        v if !v.is_empty() => v,
        _ => live.map(api_version_of).unwrap_or_default(),
    };

    let mut entries = live
        .and_then(|l| parse_entries(managed_fields(l)))
        .unwrap_or_default();
    if let (Some(live), true) = (live, entries.is_empty()) {
        // The object was written before fields were tracked: what it holds belongs to a
        // placeholder manager, so the first apply does not silently own all of it.
        let mut set = Set::default();
        owned_fields(live, &root, &mut Vec::new(), &mut set);
        entries.push(Entry {
            manager: "before-first-apply".into(),
            operation: "Update".into(),
            api_version: api_version_of(live),
            time: Some(now.to_string()),
            subresource: None,
            set,
        });
    }

    let mut applied_set = Set::default();
    let mut changed = Set::default();
    walk_applied(
        &applied,
        live,
        &root,
        &mut Vec::new(),
        &mut applied_set,
        &mut changed,
    )?;

    let mine = entries.iter().position(|e| e.is(manager, "Apply"));
    let changed_members = changed.members();
    let mut conflicts = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        for p in &changed_members {
            if e.set.has_member(p) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    field: path_string(p),
                    api_version: e.api_version.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(ApplyError::Conflicts(conflicts));
        }
        for (i, e) in entries.iter_mut().enumerate() {
            if Some(i) != mine {
                e.set.subtract(&changed);
            }
        }
    }

    let before = live.cloned();
    let mut out = merge(before.clone(), &applied, &root);

    let previous = mine.map(|i| entries[i].set.clone()).unwrap_or_default();
    let mut dropped = previous.clone();
    dropped.subtract(&applied_set);
    let mut dropped = dropped.members();
    // Shallowest first: an item nobody else touches goes whole; one that stays loses only
    // the fields nobody else owns.
    dropped.sort_by_key(Vec::len);
    for p in dropped {
        let kept = is_key_field(&p)
            || entries
                .iter()
                .enumerate()
                .any(|(i, e)| Some(i) != mine && e.set.touches(&p));
        if !kept {
            remove_at(&mut out, &p);
        }
    }

    let unchanged = before.as_ref() == Some(&out) && previous == applied_set;
    match mine {
        Some(i) if unchanged => entries[i].api_version = api_version,
        Some(i) => {
            entries[i].set = applied_set;
            entries[i].time = Some(now.to_string());
            entries[i].api_version = api_version;
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version,
            time: Some(now.to_string()),
            subresource: None,
            set: applied_set,
        }),
    }
    write_entries(&mut out, entries);
    Ok(out)
}

/// Record a create, update or non-apply patch by `manager`: the fields it changed from
/// `old` (`None` for a create) to `new` become the manager's (operation `Update`) and no
/// one else's; removed fields leave every set. `new.metadata.managedFields` is rewritten;
/// when the write itself set it, that is the starting point, as in Kubernetes.
pub(crate) fn record_update(
    root_definition: &str,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
) {
    let root = root_field(root_definition);
    let old_managed = old.and_then(managed_fields);
    let incoming = managed_fields(new).filter(|m| !m.is_null());
    let mut entries = match incoming {
        Some(m) => parse_entries(Some(m))
            .or_else(|| parse_entries(old_managed))
            .unwrap_or_default(),
        None => parse_entries(old_managed).unwrap_or_default(),
    };

    let mut changed = Set::default();
    let mut removed = Set::default();
    let empty = json!({});
    diff(
        Some(old.unwrap_or(&empty)),
        Some(new),
        &root,
        &mut Vec::new(),
        &mut changed,
        &mut removed,
    );

    if !changed.is_empty() || !removed.is_empty() {
        let api_version = api_version_of(new);
        for e in entries.iter_mut() {
            e.set.subtract_subtrees(&removed);
            if !e.is(manager, "Update") {
                e.set.subtract(&changed);
            }
        }
        match entries.iter_mut().find(|e| e.is(manager, "Update")) {
            Some(e) => {
                e.set.union(&changed);
                e.time = Some(now.to_string());
                e.api_version = api_version;
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version,
                time: Some(now.to_string()),
                subresource: None,
                set: changed,
            }),
        }
    }
    write_entries(new, entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";
    const CM: &str = "io.k8s.api.core.v1.ConfigMap";
    const T1: &str = "2026-11-23T10:00:00Z";
    const T2: &str = "2026-11-23T11:00:00Z";
    const T3: &str = "2026-11-23T12:00:00Z";

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": image,
                        "ports": [{"containerPort": 80}]}]}}}})
    }

    fn entries(obj: &Value) -> Vec<Value> {
        obj["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn entry<'a>(obj: &'a Value, manager: &str, op: &str) -> Option<&'a Value> {
        obj["metadata"]["managedFields"]
            .as_array()?
            .iter()
            .find(|e| e["manager"] == manager && e["operation"] == op)
    }

    fn apply(
        live: Option<&Value>,
        applied: &Value,
        manager: &str,
        force: bool,
        now: &str,
    ) -> Value {
        server_side_apply(DEPLOY, live, applied, manager, force, now).unwrap()
    }

    #[test]
    fn apply_creates_and_records_fields_v1_like_kubernetes() {
        let out = apply(None, &deployment(2, "nginx:1"), "kubectl", false, T1);
        assert_eq!(out["spec"]["replicas"], 2);
        let e = entries(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0],
            json!({"apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kubectl",
                "operation": "Apply", "time": T1,
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:replicas": {}, "f:selector": {},
                        "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                                ".": {}, "f:image": {}, "f:name": {},
                                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                    ".": {}, "f:containerPort": {}}}}}}}}}})
        );
    }

    #[test]
    fn reapplying_the_same_configuration_changes_nothing() {
        let first = apply(None, &deployment(2, "nginx:1"), "kubectl", false, T1);
        let again = apply(
            Some(&first),
            &deployment(2, "nginx:1"),
            "kubectl",
            false,
            T2,
        );
        assert_eq!(first, again);
    }

    #[test]
    fn apply_merges_lists_by_key_and_replaces_atomic_ones() {
        let mut live = deployment(2, "nginx:1");
        live["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["a", "b"]);
        live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "side", "image": "busybox"}));
        let live = apply(None, &live, "other", false, T1);
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "args": ["c"], "ports": [{"containerPort": 80, "name": "http"}]},
                {"name": "new", "image": "x"}]}}}});
        let out = apply(Some(&live), &applied, "mine", true, T2);
        let c = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["args"], json!(["c"]));
        assert_eq!(c[0]["image"], "nginx:1");
        assert_eq!(
            c[0]["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])
        );
        assert_eq!(c[1]["name"], "side");
        assert_eq!(c[2]["name"], "new");
        // The forced args moved to "mine"; the port name was new, so nothing conflicted there.
        let other = &entry(&out, "other", "Apply").unwrap()["fieldsV1"];
        let nginx =
            &other["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"];
        assert!(nginx.get("f:args").is_none());
        assert!(nginx.get("f:image").is_some());
    }

    #[test]
    fn conflicts_with_another_manager_name_the_fields() {
        let mut created = deployment(1, "nginx:1");
        record_update(DEPLOY, None, &mut created, "kubectl-create", T1);
        let e = server_side_apply(
            DEPLOY,
            Some(&created),
            &deployment(3, "nginx:2"),
            "kubectl",
            false,
            T2,
        )
        .unwrap_err();
        let ApplyError::Conflicts(c) = &e else {
            panic!("{e}")
        };
        let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"nginx\"].image"
            ]
        );
        assert!(c.iter().all(|c| c.manager == "kubectl-create"));
        assert_eq!(
            e.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"kubectl-create\" using apps/v1:\n\
             - .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"
        );

        // Same values: no conflict, and both managers own them.
        let out = apply(
            Some(&created),
            &deployment(1, "nginx:1"),
            "kubectl",
            false,
            T2,
        );
        for m in [("kubectl-create", "Update"), ("kubectl", "Apply")] {
            let f = &entry(&out, m.0, m.1).unwrap()["fieldsV1"];
            assert!(f["f:spec"].get("f:replicas").is_some(), "{m:?}");
        }

        // Forced: the fields move to the applier.
        let out = apply(
            Some(&created),
            &deployment(3, "nginx:1"),
            "kubectl",
            true,
            T2,
        );
        assert_eq!(out["spec"]["replicas"], 3);
        let f = &entry(&out, "kubectl-create", "Update").unwrap()["fieldsV1"];
        assert!(f["f:spec"].get("f:replicas").is_none());
        assert!(f["f:spec"].get("f:selector").is_some());
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_someone_else_owns_them() {
        let mut first = deployment(2, "nginx:1");
        first["metadata"]["labels"]["tier"] = json!("front");
        first["metadata"]["finalizers"] = json!(["x/a", "x/b"]);
        let live = apply(None, &first, "kubectl", false, T1);
        // Someone else sets a label and changes nothing the applier owns.
        let mut edited = live.clone();
        edited["metadata"]["labels"]["owner"] = json!("ops");
        record_update(DEPLOY, Some(&live), &mut edited, "kubectl-label", T2);
        // The next apply drops the tier label, finalizer x/b and the container ports.
        let mut second = deployment(2, "nginx:1");
        second["metadata"]["finalizers"] = json!(["x/a"]);
        second["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("ports");
        let out = apply(Some(&edited), &second, "kubectl", false, T3);
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "owner": "ops"})
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["x/a"]));
        assert!(out["spec"]["template"]["spec"]["containers"][0]
            .get("ports")
            .is_none());
        let mine = &entry(&out, "kubectl", "Apply").unwrap()["fieldsV1"];
        assert_eq!(mine["f:metadata"]["f:finalizers"], json!({"v:\"x/a\"": {}}));
        assert_eq!(
            entry(&out, "kubectl-label", "Update").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:owner": {}}}})
        );
    }

    #[test]
    fn a_removed_item_stays_while_another_manager_owns_part_of_it() {
        let live = apply(None, &deployment(1, "nginx:1"), "a", false, T1);
        let live = apply(Some(&live), &deployment(1, "nginx:1"), "b", false, T2);
        let mut without = deployment(1, "nginx:1");
        without["spec"]["template"]["spec"]["containers"] = json!([]);
        let out = apply(Some(&live), &without, "a", false, T3);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["name"],
            "nginx"
        );
        let out = apply(Some(&out), &without, "b", false, T3);
        let left = out["spec"]["template"]["spec"].get("containers");
        assert!(left.is_none_or(|c| c == &json!([])), "{left:?}");
    }

    #[test]
    fn the_first_apply_to_an_untracked_object_meets_a_placeholder_owner() {
        let live = deployment(1, "nginx:1");
        let e = server_side_apply(
            DEPLOY,
            Some(&live),
            &deployment(2, "nginx:1"),
            "kubectl",
            false,
            T1,
        )
        .unwrap_err();
        let ApplyError::Conflicts(c) = e else {
            panic!("not a conflict")
        };
        assert_eq!(c[0].manager, "before-first-apply");
        assert_eq!(c[0].field, ".spec.replicas");
    }

    #[test]
    fn bad_apply_configurations_name_the_field() {
        let mut bad = deployment(1, "x");
        bad["spec"]["template"]["spec"]["containers"] = json!([{"image": "x"}]);
        match server_side_apply(DEPLOY, None, &bad, "m", false, T1) {
            Err(ApplyError::Invalid { field, .. }) => {
                assert_eq!(field, ".spec.template.spec.containers")
            }
            other => panic!("{other:?}"),
        }
        let mut dup = deployment(1, "x");
        dup["spec"]["template"]["spec"]["containers"] = json!([{"name": "a"}, {"name": "a"}]);
        let e = server_side_apply(DEPLOY, None, &dup, "m", false, T1).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let mut mf = deployment(1, "x");
        mf["metadata"]["managedFields"] = json!([]);
        assert!(server_side_apply(DEPLOY, None, &mf, "m", false, T1).is_err());
        assert!(server_side_apply(DEPLOY, None, &json!([]), "m", false, T1).is_err());
    }

    #[test]
    fn record_update_on_create_looks_like_kubectl_create() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "uid": "u"},
            "data": {"a": "1", "b": "2"}});
        record_update(CM, None, &mut cm, "kubectl-create", T1);
        assert_eq!(
            entries(&cm),
            vec![json!({"apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:a": {}, "f:b": {}}},
                "manager": "kubectl-create", "operation": "Update", "time": T1})]
        );
        let mut dep = deployment(1, "nginx:1");
        dep["spec"]["strategy"] = json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
        record_update(DEPLOY, None, &mut dep, "kubectl-create", T1);
        let f = &entries(&dep)[0]["fieldsV1"];
        assert_eq!(f["f:metadata"], json!({"f:labels": {".": {}, "f:app": {}}}));
        assert_eq!(
            f["f:spec"]["f:strategy"],
            json!({"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                   "f:type": {}})
        );
        assert_eq!(
            f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]
                ["f:ports"],
            json!({".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}})
        );
    }

    #[test]
    fn record_update_moves_changed_fields_and_forgets_removed_ones() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        record_update(CM, None, &mut cm, "kubectl-create", T1);
        let mut edited = cm.clone();
        edited["data"]["a"] = json!("9");
        edited["data"].as_object_mut().unwrap().remove("b");
        edited["metadata"]["labels"] = json!({"x": "y"});
        record_update(CM, Some(&cm), &mut edited, "kubectl-edit", T2);
        assert_eq!(
            entry(&edited, "kubectl-create", "Update").unwrap()["fieldsV1"],
            json!({"f:data": {}})
        );
        assert_eq!(
            entry(&edited, "kubectl-edit", "Update").unwrap()["fieldsV1"],
            json!({"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
        );
        // A later apply of data.a now conflicts with kubectl-edit.
        let e = server_side_apply(
            CM,
            Some(&edited),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                    "data": {"a": "1"}}),
            "kubectl",
            false,
            T3,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("conflict with \"kubectl-edit\" using v1: .data.a"),
            "{e}"
        );

        // A no-op write leaves the entries (and their times) alone.
        let mut same = edited.clone();
        record_update(CM, Some(&edited), &mut same, "other", T3);
        assert_eq!(same, edited);

        // Entries sort Apply first, then by time.
        let applied = server_side_apply(
            CM,
            Some(&edited),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                    "data": {"z": "1"}}),
            "kubectl",
            false,
            T3,
        )
        .unwrap();
        let order: Vec<_> = entries(&applied)
            .iter()
            .map(|e| e["manager"].clone())
            .collect();
        assert_eq!(
            order,
            [
                json!("kubectl"),
                json!("kubectl-create"),
                json!("kubectl-edit")
            ]
        );
    }

    #[test]
    fn service_ports_are_keyed_by_port_and_protocol_and_selectors_are_atomic() {
        const SVC: &str = "io.k8s.api.core.v1.Service";
        let svc = |selector: Value, ports: Value| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                   "spec": {"selector": selector, "ports": ports}})
        };
        let live = server_side_apply(
            SVC,
            None,
            &svc(
                json!({"app": "a"}),
                json!([{"port": 53, "protocol": "UDP"}, {"port": 53}]),
            ),
            "a",
            false,
            T1,
        )
        .unwrap();
        let f = &entry(&live, "a", "Apply").unwrap()["fieldsV1"]["f:spec"];
        assert_eq!(f["f:selector"], json!({}));
        assert!(f["f:ports"]
            .get("k:{\"port\":53,\"protocol\":\"TCP\"}")
            .is_some());
        assert!(f["f:ports"]
            .get("k:{\"port\":53,\"protocol\":\"UDP\"}")
            .is_some());
        // Another manager changing the selector conflicts on the whole selector.
        let e = server_side_apply(
            SVC,
            Some(&live),
            &svc(json!({"app": "a", "tier": "x"}), json!([{"port": 53}])),
            "b",
            false,
            T2,
        )
        .unwrap_err();
        let ApplyError::Conflicts(c) = e else {
            panic!("not a conflict")
        };
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, ".spec.selector");
        // Applying a targetPort to the TCP port only touches that item.
        let out = server_side_apply(
            SVC,
            Some(&live),
            &svc(
                json!({"app": "a"}),
                json!([{"port": 53, "targetPort": 5353}]),
            ),
            "b",
            false,
            T2,
        )
        .unwrap();
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 53, "protocol": "UDP"}, {"port": 53, "targetPort": 5353}])
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let v = json!({"f:a": {".": {}, "f:b": {}}, "f:l": {"v:\"x\"": {}, "k:{\"k\":1}": {".": {}, "f:k": {}}}});
        let s = Set::from_fields_v1(&v).unwrap();
        assert_eq!(s.to_fields_v1(), v);
        assert_eq!(
            path_string(&[
                "f:spec".into(),
                "k:{\"containerPort\":80,\"protocol\":\"TCP\"}".into(),
                "v:\"a\"".into(),
                "i:2".into()
            ]),
            ".spec[containerPort=80,protocol=\"TCP\"][=\"a\"][2]"
        );
    }
}
