//! The namespace controller: empties a terminating namespace, reports progress in its
//! status conditions, and takes `kubernetes` out of its `spec.finalizers` once nothing is
//! left, after which the API deletes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{
    finalizers, in_parallel, is_deleting, meta_str, stored_resources, Cluster, Outcome,
    NAMESPACE_FINALIZER,
};
use crate::resources::{Resource, NAMESPACES};

/// How many failures a `NamespaceDeletionContentFailure` message spells out.
const FAILURES_SHOWN: usize = 5;

/// One pass over every terminating namespace that still carries our finalizer.
pub(crate) async fn namespace_pass<C: Cluster>(cluster: &Arc<C>) -> Outcome {
    let mut out = Outcome::default();
    let namespaces = match cluster.list(&NAMESPACES, None).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!("namespace controller: listing namespaces: {e}");
            out.errors += 1;
            return out;
        }
    };
    for ns in namespaces {
        if is_deleting(&ns) && spec_finalizers(&ns).any(|f| f == NAMESPACE_FINALIZER) {
            out.add(terminate(cluster, ns).await);
        }
    }
    out
}

/// What is left in a namespace after a round of deletions.
#[derive(Default)]
struct Content {
    /// Failed lists and deletes, worded for the condition message.
    failures: Vec<String>,
    /// `<plural>[.<group>]` → objects still there.
    remaining: BTreeMap<String, usize>,
    /// Finalizer → objects still there that carry it.
    finalizers: BTreeMap<String, usize>,
}

async fn terminate<C: Cluster>(cluster: &Arc<C>, ns: Value) -> Outcome {
    let mut out = Outcome::default();
    let Some(name) = meta_str(&ns, "name").map(str::to_string) else {
        return out;
    };
    let content = delete_content(cluster, &name, &mut out).await;
    let mut ns = ns;
    if let Some(updated) = status_with_conditions(&ns, &content) {
        match cluster.update_status(&NAMESPACES, updated).await {
            Ok(v) => {
                out.changes += 1;
                ns = v;
            }
            Err(e) => {
                // Stale copy (409) or worse: the finalize below would fail the same way.
                tracing::warn!("namespace controller: status of namespace {name}: {e}");
                out.errors += 1;
                return out;
            }
        }
    }
    if !content.failures.is_empty() || !content.remaining.is_empty() {
        tracing::debug!(
            "namespace controller: namespace {name} waits for {} kinds of objects",
            content.remaining.len()
        );
        return out;
    }
    let mut finalized = ns;
    if let Some(list) = finalized
        .get_mut("spec")
        .and_then(|s| s.get_mut("finalizers"))
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(NAMESPACE_FINALIZER));
    }
    match cluster.finalize_namespace(finalized).await {
        Ok(_) => {
            tracing::debug!("namespace controller: namespace {name} finalized");
            out.changes += 1;
        }
        Err(e) => {
            tracing::warn!("namespace controller: finalizing namespace {name}: {e}");
            out.errors += 1;
        }
    }
    out
}

/// Delete (in the background) every object of the namespace not already being deleted,
/// then count what is left.
async fn delete_content<C: Cluster>(cluster: &Arc<C>, ns: &str, out: &mut Outcome) -> Content {
    let mut content = Content::default();
    for res in stored_resources().filter(|r| r.namespaced) {
        let listed = match cluster.list(res, Some(ns)).await {
            Ok(list) => list,
            Err(e) => {
                content
                    .failures
                    .push(format!("listing {}: {e}", qualified(res)));
                out.errors += 1;
                continue;
            }
        };
        let jobs: Vec<(String, String)> = listed
            .iter()
            .filter(|o| !is_deleting(o))
            .filter_map(|o| Some((meta_str(o, "name")?.into(), meta_str(o, "uid")?.into())))
            .collect();
        let (c, namespace) = (cluster.clone(), ns.to_string());
        let results = in_parallel(jobs, move |(name, uid)| {
            let (c, namespace) = (c.clone(), namespace.clone());
            async move {
                let done = c
                    .delete(res, Some(&namespace), &name, &uid, "Background")
                    .await;
                (name, done)
            }
        })
        .await;
        let mut deleted = 0usize;
        for (name, done) in results {
            match done {
                Ok(()) => {
                    deleted += 1;
                    out.changes += 1;
                }
                Err(e) => {
                    tracing::warn!(
                        "namespace controller: deleting {} {ns}/{name}: {e}",
                        res.plural
                    );
                    content
                        .failures
                        .push(format!("deleting {} {name}: {e}", qualified(res)));
                    out.errors += 1;
                }
            }
        }
        let left = if deleted == 0 {
            listed
        } else {
            match cluster.list(res, Some(ns)).await {
                Ok(list) => list,
                Err(e) => {
                    // Count the earlier list: never report a namespace emptier than it is.
                    content
                        .failures
                        .push(format!("listing {}: {e}", qualified(res)));
                    out.errors += 1;
                    listed
                }
            }
        };
        if !left.is_empty() {
            *content.remaining.entry(qualified(res)).or_default() += left.len();
        }
        for obj in &left {
            for f in finalizers(obj) {
                *content.finalizers.entry(f.to_string()).or_default() += 1;
            }
        }
    }
    // Completion order varies; a stable message keeps a stuck namespace's status unwritten.
    content.failures.sort();
    content
}

/// The namespace with its deletion conditions brought up to date, or `None` when they
/// already say this (so a pass that finds nothing new writes nothing).
fn status_with_conditions(ns: &Value, content: &Content) -> Option<Value> {
    let failure = if content.failures.is_empty() {
        (
            false,
            "ContentDeleted",
            "All objects of the namespace were deleted; some may still await finalizers"
                .to_string(),
        )
    } else {
        let mut shown: Vec<&str> = content
            .failures
            .iter()
            .take(FAILURES_SHOWN)
            .map(String::as_str)
            .collect();
        let more = content.failures.len().saturating_sub(FAILURES_SHOWN);
        let more_note = format!("and {more} more");
        if more > 0 {
            shown.push(&more_note);
        }
        (
            true,
            "ContentDeletionFailed",
            format!(
                "Could not delete all objects of the namespace: {}",
                shown.join("; ")
            ),
        )
    };
    let remaining = if content.remaining.is_empty() {
        (false, "ContentRemoved", "No objects remain".to_string())
    } else {
        (
            true,
            "SomeResourcesRemain",
            format!("Objects remain: {}", counts(&content.remaining)),
        )
    };
    let finalizers = if content.finalizers.is_empty() {
        (
            false,
            "ContentHasNoFinalizers",
            "No remaining object carries a finalizer".to_string(),
        )
    } else {
        (
            true,
            "SomeFinalizersRemain",
            format!(
                "Remaining objects carry finalizers: {}",
                counts(&content.finalizers)
            ),
        )
    };
    let wanted = [
        ("NamespaceDeletionContentFailure", failure),
        ("NamespaceContentRemaining", remaining),
        ("NamespaceFinalizersRemaining", finalizers),
    ];

    let current: Vec<Value> = ns
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut conditions = current.clone();
    let now = crate::objects::rfc3339_now();
    for (kind, (status, reason, message)) in wanted {
        let status = if status { "True" } else { "False" };
        let existing = conditions
            .iter()
            .position(|c| c.get("type").and_then(Value::as_str) == Some(kind));
        // The transition time moves only when the status flips, as in Kubernetes.
        let since = existing
            .map(|i| &conditions[i])
            .filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now));
        let cond = json!({
            "type": kind,
            "status": status,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        });
        match existing {
            Some(i) => conditions[i] = cond,
            None => conditions.push(cond),
        }
    }
    let phase = ns
        .get("status")
        .and_then(|s| s.get("phase"))
        .and_then(Value::as_str);
    if conditions == current && phase == Some("Terminating") {
        return None;
    }
    let mut updated = ns.clone();
    if !updated.get("status").is_some_and(Value::is_object) {
        updated["status"] = json!({});
    }
    updated["status"]["phase"] = json!("Terminating");
    updated["status"]["conditions"] = Value::Array(conditions);
    Some(updated)
}

fn spec_finalizers(ns: &Value) -> impl Iterator<Item = &str> {
    ns.get("spec")
        .and_then(|s| s.get("finalizers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `pods`, `replicasets.apps`: how kubectl names a resource unambiguously.
fn qualified(res: &Resource) -> String {
    if res.group.is_empty() {
        res.plural.to_string()
    } else {
        format!("{}.{}", res.plural, res.group)
    }
}

/// `pods (2), secrets (1)`: counts of objects, by resource or by finalizer.
fn counts(map: &BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}
