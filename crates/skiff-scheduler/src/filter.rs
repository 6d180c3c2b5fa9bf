//! Which nodes can take a pod, which of those is best, and, when none can, the
//! kube-scheduler style explanation (`0/3 nodes are available: ...`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration,
};

use crate::requests::{PodRequests, Resources};

/// A node as one scheduling pass sees it: what it offers and what is already placed on it
/// (bound pods that are not finished, plus pods this scheduler bound that the watch has not
/// shown bound yet).
#[derive(Debug, Clone)]
pub struct NodeView<'a> {
    pub node: &'a Node,
    /// `None` when the node's allocatable cannot be read: nothing fits there.
    pub allocatable: Option<Resources>,
    pub used: PodRequests,
}

impl<'a> NodeView<'a> {
    pub fn new(node: &'a Node) -> NodeView<'a> {
        let status = node.status.as_ref();
        let list = status
            .and_then(|s| s.allocatable.as_ref())
            .map(|l| (l, "status.allocatable"))
            .or_else(|| {
                status
                    .and_then(|s| s.capacity.as_ref())
                    .map(|l| (l, "status.capacity"))
            });
        let allocatable = match list {
            Some((list, field)) => match Resources::from_list(list, field) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!("node {}: {e}", name(node));
                    None
                }
            },
            None => Some(Resources::default()),
        };
        NodeView {
            node,
            allocatable,
            used: PodRequests::default(),
        }
    }

    pub fn name(&self) -> &str {
        name(self.node)
    }
}

fn name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or("")
}

/// Why a node cannot take the pod: the reasons as kube-scheduler words them, so the pod's
/// condition and event read the same. A node can fail several resources at once.
pub fn unfit_reasons(view: &NodeView<'_>, spec: &PodSpec, req: &PodRequests) -> Vec<String> {
    let node = view.node;
    let node_spec = node.spec.as_ref();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if !ready {
        return vec!["node(s) were not ready".into()];
    }
    let tolerations = spec.tolerations.as_deref().unwrap_or(&[]);
    if node_spec.and_then(|s| s.unschedulable) == Some(true) {
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        if !tolerated(&taint, tolerations) {
            return vec!["node(s) were unschedulable".into()];
        }
    }
    for taint in node_spec.and_then(|s| s.taints.as_deref()).unwrap_or(&[]) {
        if matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !tolerated(taint, tolerations)
        {
            return vec![format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            )];
        }
    }
    if !selector_matches(node, spec) {
        return vec!["node(s) didn't match Pod's node affinity/selector".into()];
    }
    let Some(alloc) = &view.allocatable else {
        return vec!["node(s) had an unreadable allocatable".into()];
    };
    let used = &view.used.fit;
    let want = &req.fit;
    let mut reasons = Vec::new();
    if used.pods.saturating_add(want.pods) > alloc.pods {
        reasons.push("Too many pods".to_string());
    }
    let short = |want: i64, used: i64, alloc: i64| want > 0 && want > alloc.saturating_sub(used);
    if short(want.milli_cpu, used.milli_cpu, alloc.milli_cpu) {
        reasons.push("Insufficient cpu".into());
    }
    if short(want.memory, used.memory, alloc.memory) {
        reasons.push("Insufficient memory".into());
    }
    if short(
        want.ephemeral_storage,
        used.ephemeral_storage,
        alloc.ephemeral_storage,
    ) {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, &w) in &want.scalar {
        let u = used.scalar.get(name).copied().unwrap_or(0);
        let a = alloc.scalar.get(name).copied().unwrap_or(0);
        if short(w, u, a) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

fn tolerated(taint: &Taint, tolerations: &[Toleration]) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key = t.key.as_deref().unwrap_or("");
        let exists = t.operator.as_deref() == Some("Exists");
        let key_ok = (key.is_empty() && exists) || key == taint.key;
        let value_ok =
            exists || t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
        effect_ok && key_ok && value_ok
    })
}

/// `nodeSelector` and the required node affinity, both of which must hold.
fn selector_matches(node: &Node, spec: &PodSpec) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(sel) = &spec.node_selector {
        if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        None => true,
        Some(sel) => sel
            .node_selector_terms
            .iter()
            .any(|term| term_matches(term, labels, name(node))),
    }
}

fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, node: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        // An empty term selects nothing, as in Kubernetes.
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            // metadata.name is the only field Kubernetes supports here.
            r.key == "metadata.name" && requirement_matches(r, Some(node))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| values.iter().all(|x| x != v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(have), [want]) = (value.and_then(number), values) else {
                return false;
            };
            let Some(want) = number(want) else {
                return false;
            };
            if op == "Gt" {
                have > want
            } else {
                have < want
            }
        }
        _ => false,
    }
}

/// How full the node would be with the pod, in millionths, averaged over CPU and memory
/// (kube-scheduler's LeastAllocated, inverted): lower is better.
pub fn requested_fraction(view: &NodeView<'_>, req: &PodRequests) -> i64 {
    let Some(alloc) = &view.allocatable else {
        return i64::MAX;
    };
    let part = |used: i64, want: i64, alloc: i64| -> i128 {
        let after = i128::from(used) + i128::from(want);
        if alloc <= 0 || after >= i128::from(alloc) {
            1_000_000
        } else {
            after * 1_000_000 / i128::from(alloc)
        }
    };
    let cpu = part(
        view.used.score_milli_cpu,
        req.score_milli_cpu,
        alloc.milli_cpu,
    );
    let mem = part(view.used.score_memory, req.score_memory, alloc.memory);
    // Both parts are at most a million, so the mean fits.
    ((cpu + mem) / 2) as i64
}

/// The index of the best node for the pod, or the message saying why none fits.
pub fn choose(views: &[NodeView<'_>], spec: &PodSpec, req: &PodRequests) -> Result<usize, String> {
    let mut best: Option<(i64, &str, usize)> = None;
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for (i, view) in views.iter().enumerate() {
        let reasons = unfit_reasons(view, spec, req);
        if !reasons.is_empty() {
            for r in reasons.into_iter().collect::<BTreeSet<_>>() {
                *failures.entry(r).or_default() += 1;
            }
            continue;
        }
        let key = (requested_fraction(view, req), view.name(), i);
        if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
            best = Some(key);
        }
    }
    match best {
        Some((_, _, i)) => Ok(i),
        None => Err(failure_message(views.len(), &failures)),
    }
}

/// `0/N nodes are available: <count> <reason>, ...`, the counts sorted as kube-scheduler
/// sorts them (as strings).
pub fn failure_message(nodes: usize, failures: &BTreeMap<String, usize>) -> String {
    if nodes == 0 {
        return "no nodes available to schedule pods".into();
    }
    let mut parts: Vec<String> = failures.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    format!("0/{nodes} nodes are available: {}.", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use crate::requests::pod_requests;

    fn node(name: &str, cpu: &str, mem: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                allocatable: Some(
                    [("cpu", cpu), ("memory", mem), ("pods", "110")]
                        .iter()
                        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                        .collect(),
                ),
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn pod(cpu: &str, mem: &str) -> PodSpec {
        serde_json::from_value(serde_json::json!({"containers": [{"name": "c", "resources":
            {"requests": {"cpu": cpu, "memory": mem}}}]}))
        .expect("pod spec")
    }

    #[test]
    fn picks_the_least_requested_node_then_by_name() {
        let nodes = [
            node("b", "4", "4Gi", &[]),
            node("a", "4", "4Gi", &[]),
            node("c", "8", "8Gi", &[]),
        ];
        let mut views: Vec<_> = nodes.iter().map(NodeView::new).collect();
        let spec = pod("1", "1Gi");
        let req = pod_requests(&spec).expect("valid");
        assert_eq!(
            views[choose(&views, &spec, &req).expect("fits")].name(),
            "c"
        );
        views[2]
            .used
            .add(&pod_requests(&pod("5", "5Gi")).expect("valid"));
        // a and b tie; a wins by name.
        assert_eq!(
            views[choose(&views, &spec, &req).expect("fits")].name(),
            "a"
        );
    }

    #[test]
    fn explains_why_nothing_fits() {
        let nodes = [
            node("small", "1", "1Gi", &[("disk", "ssd")]),
            node("other", "8", "8Gi", &[("disk", "hdd")]),
        ];
        let views: Vec<_> = nodes.iter().map(NodeView::new).collect();
        let mut spec = pod("2", "2Gi");
        spec.node_selector = Some([("disk".to_string(), "ssd".to_string())].into());
        let req = pod_requests(&spec).expect("valid");
        assert_eq!(
            choose(&views, &spec, &req),
            Err(
                "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 \
                 node(s) didn't match Pod's node affinity/selector."
                    .into()
            )
        );
        assert_eq!(
            choose(&[], &spec, &req),
            Err("no nodes available to schedule pods".into())
        );
    }

    #[test]
    fn readiness_unschedulable_and_taints() {
        let mut not_ready = node("n", "4", "4Gi", &[]);
        if let Some(s) = not_ready.status.as_mut() {
            s.conditions = Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "False".into(),
                ..Default::default()
            }]);
        }
        let spec = pod("1", "1Gi");
        let req = pod_requests(&spec).expect("valid");
        assert_eq!(
            unfit_reasons(&NodeView::new(&not_ready), &spec, &req),
            ["node(s) were not ready"]
        );

        let mut cordoned = node("n", "4", "4Gi", &[]);
        cordoned.spec = Some(NodeSpec {
            unschedulable: Some(true),
            ..Default::default()
        });
        assert_eq!(
            unfit_reasons(&NodeView::new(&cordoned), &spec, &req),
            ["node(s) were unschedulable"]
        );

        let mut tainted = node("n", "4", "4Gi", &[]);
        tainted.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "dedicated".into(),
                value: Some("db".into()),
                effect: "NoSchedule".into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert_eq!(
            unfit_reasons(&NodeView::new(&tainted), &spec, &req),
            ["node(s) had untolerated taint {dedicated: db}"]
        );
        let mut tolerant = spec.clone();
        tolerant.tolerations = Some(vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Equal".into()),
            value: Some("db".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }]);
        assert!(unfit_reasons(&NodeView::new(&tainted), &tolerant, &req).is_empty());
    }

    #[test]
    fn required_node_affinity() {
        let n = node("n1", "4", "4Gi", &[("zone", "a"), ("gen", "5")]);
        let view = NodeView::new(&n);
        let with = |affinity: serde_json::Value| {
            let mut spec = pod("1", "1Gi");
            spec.affinity = Some(
                serde_json::from_value(serde_json::json!({"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution":
                        {"nodeSelectorTerms": affinity}}}))
                .expect("affinity"),
            );
            let req = pod_requests(&spec).expect("valid");
            unfit_reasons(&view, &spec, &req).is_empty()
        };
        use serde_json::json;
        assert!(with(
            json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}])
        ));
        assert!(!with(
            json!([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}])
        ));
        assert!(with(
            json!([{"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}])
        ));
        assert!(!with(
            json!([{"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]}])
        ));
        assert!(with(
            json!([{"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}])
        ));
        assert!(with(
            json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}])
        ));
        // Terms are ORed; an empty term matches nothing.
        assert!(with(
            json!([{}, {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}])
        ));
        assert!(!with(json!([{}])));
    }

    #[test]
    fn resource_fit_counts_used_and_pods() {
        let mut n = node("n", "1", "1Gi", &[]);
        if let Some(a) = n.status.as_mut().and_then(|s| s.allocatable.as_mut()) {
            a.insert("pods".into(), Quantity("2".into()));
        }
        let mut view = NodeView::new(&n);
        let spec = pod("500m", "512Mi");
        let req = pod_requests(&spec).expect("valid");
        assert!(unfit_reasons(&view, &spec, &req).is_empty());
        view.used.add(&req);
        assert!(unfit_reasons(&view, &spec, &req).is_empty());
        view.used.add(&req);
        assert_eq!(
            unfit_reasons(&view, &spec, &req),
            ["Too many pods", "Insufficient cpu", "Insufficient memory"]
        );
    }
}
