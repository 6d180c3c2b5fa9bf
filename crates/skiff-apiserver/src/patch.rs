//! Patch documents: JSON merge patch (RFC 7386) and JSON patch (RFC 6902). Strategic merge
//! patch is in `smp`.

use serde_json::{Map, Value};

/// Apply a JSON merge patch: objects merge key by key, `null` deletes, anything else
/// (arrays included) replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        unreachable!("made an object above")
    };
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            merge_patch(target.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Apply a JSON patch; the error says which operation failed and why.
pub(crate) fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for (i, op) in ops.iter().enumerate() {
        apply_op(target, op).map_err(|e| format!("JSON patch operation {i}: {e}"))?;
    }
    Ok(())
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let field = |name: &str| -> Result<&str, String> {
        op.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("missing string field {name:?}"))
    };
    let value = || -> Result<Value, String> {
        op.get("value")
            .cloned()
            .ok_or_else(|| "missing field \"value\"".to_string())
    };
    let path = field("path")?;
    match field("op")? {
        "add" => add(doc, path, value()?),
        "remove" => remove(doc, path).map(drop),
        "replace" => {
            let v = value()?;
            let slot = doc
                .pointer_mut(path)
                .ok_or_else(|| format!("path {path:?} does not exist"))?;
            *slot = v;
            Ok(())
        }
        "move" => {
            let from = field("from")?;
            if path.starts_with(&format!("{from}/")) {
                return Err(format!("cannot move {from:?} into its own child {path:?}"));
            }
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let from = field("from")?;
            let v = doc
                .pointer(from)
                .cloned()
                .ok_or_else(|| format!("path {from:?} does not exist"))?;
            add(doc, path, v)
        }
        "test" => {
            let want = value()?;
            match doc.pointer(path) {
                Some(v) if *v == want => Ok(()),
                _ => Err(format!("test failed: {path:?} is not {want}")),
            }
        }
        other => Err(format!(
            "unknown op {other:?} (want add, remove, replace, move, copy or test)"
        )),
    }
}

/// Split `/a/b` into the parent pointer and the unescaped last token.
fn split(path: &str) -> Result<(&str, String), String> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("path {path:?} must start with '/'"))?;
    let last = path[idx + 1..].replace("~1", "/").replace("~0", "~");
    Ok((&path[..idx], last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(last, v);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= a.len())
                    .ok_or_else(|| format!("array index {last:?} out of range in {path:?}"))?
            };
            a.insert(idx, v);
            Ok(())
        }
        _ => Err(format!("parent of {path:?} does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split(path)?;
    let missing = || format!("path {path:?} does not exist");
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => m.remove(&last).ok_or_else(missing),
        Some(Value::Array(a)) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1]});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "l": [2]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "l": [2]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut doc = json!({"data": {"a": "1"}, "l": [1, 3]});
        json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/data/b", "value": "2"},
                {"op": "replace", "path": "/data/a", "value": "x"},
                {"op": "add", "path": "/l/1", "value": 2},
                {"op": "test", "path": "/l/2", "value": 3},
                {"op": "remove", "path": "/l/0"},
                {"op": "copy", "from": "/data/b", "path": "/data/c"},
                {"op": "move", "from": "/data/c", "path": "/data/d~1e"},
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"data": {"a": "x", "b": "2", "d/e": "2"}, "l": [2, 3]})
        );
        let err = json_patch(&mut doc, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert!(err.contains("operation 0"), "{err}");
    }
}
