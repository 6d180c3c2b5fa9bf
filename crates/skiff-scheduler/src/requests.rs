//! What a pod asks of a node, and what a node offers, as exact integers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{cpu_millis, units, QuantityError};

/// What kube-scheduler assumes a container without a CPU request uses, when it spreads
/// pods (never when it checks fit): 0.1 core.
pub const DEFAULT_SCORE_MILLI_CPU: i64 = 100;
/// The same for memory: 200 MiB.
pub const DEFAULT_SCORE_MEMORY: i64 = 200 * 1024 * 1024;

/// An amount of each resource the scheduler accounts for. Extended resources
/// (`example.com/gpu`, `hugepages-2Mi`) are whole units in `scalar`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// A node's `allocatable` (or `capacity`) map. Resources it does not list are zero, so
    /// a pod that asks for them does not fit.
    pub fn from_list(
        list: &BTreeMap<String, Quantity>,
        field: &str,
    ) -> Result<Resources, RequestError> {
        let mut r = Resources::default();
        for (name, q) in list {
            r.set(name, &q.0)
                .map_err(|source| RequestError::at(format!("{field}.{name}"), source))?;
        }
        Ok(r)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), QuantityError> {
        match name {
            "cpu" => self.milli_cpu = cpu_millis(value)?,
            "memory" => self.memory = units(value)?,
            "ephemeral-storage" => self.ephemeral_storage = units(value)?,
            "pods" => self.pods = units(value)?,
            // Volume storage is not a node resource.
            "storage" => {}
            other => {
                self.scalar.insert(other.to_string(), units(value)?);
            }
        }
        Ok(())
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, v) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_default();
            *slot = slot.saturating_add(*v);
        }
    }

    /// Per resource, the larger of the two.
    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.pods = self.pods.max(other.pods);
        for (name, v) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_default();
            *slot = (*slot).max(*v);
        }
    }
}

/// A request or allocatable value that is not a quantity, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {source}")]
pub struct RequestError {
    pub field: String,
    #[source]
    pub source: QuantityError,
}

impl RequestError {
    fn at(field: String, source: QuantityError) -> RequestError {
        RequestError { field, source }
    }
}

/// What one pod takes from a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// Checked against the node's allocatable; `pods` is 1.
    pub fit: Resources,
    /// CPU and memory with kube-scheduler's defaults for containers that request none:
    /// used only to spread pods, so best-effort pods do not all land on one node.
    pub score_milli_cpu: i64,
    pub score_memory: i64,
}

impl PodRequests {
    pub fn add(&mut self, other: &PodRequests) {
        self.fit.add(&other.fit);
        self.score_milli_cpu = self.score_milli_cpu.saturating_add(other.score_milli_cpu);
        self.score_memory = self.score_memory.saturating_add(other.score_memory);
    }

    fn max_with(&mut self, other: &PodRequests) {
        self.fit.max_with(&other.fit);
        self.score_milli_cpu = self.score_milli_cpu.max(other.score_milli_cpu);
        self.score_memory = self.score_memory.max(other.score_memory);
    }
}

/// One container's requests; a resource with only a limit requests its limit (the API's
/// defaulting does the same).
fn container_requests(c: &Container, field: &str) -> Result<(Resources, i64, i64), RequestError> {
    let mut r = Resources::default();
    let res = c.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let mut names: Vec<&String> = requests.into_iter().flat_map(|m| m.keys()).collect();
    names.extend(limits.into_iter().flat_map(|m| m.keys()));
    names.sort();
    names.dedup();
    for name in names {
        let (kind, q) = match requests.and_then(|m| m.get(name)) {
            Some(q) => ("requests", q),
            None => match limits.and_then(|m| m.get(name)) {
                Some(q) => ("limits", q),
                None => continue,
            },
        };
        r.set(name, &q.0).map_err(|source| {
            RequestError::at(format!("{field}.resources.{kind}.{name}"), source)
        })?;
    }
    let has = |name: &str| {
        requests.is_some_and(|m| m.contains_key(name))
            || limits.is_some_and(|m| m.contains_key(name))
    };
    let score_cpu = if has("cpu") {
        r.milli_cpu
    } else {
        DEFAULT_SCORE_MILLI_CPU
    };
    let score_mem = if has("memory") {
        r.memory
    } else {
        DEFAULT_SCORE_MEMORY
    };
    Ok((r, score_cpu, score_mem))
}

/// The pod's effective request, as Kubernetes computes it: the larger of the app
/// containers' sum and the largest init container (an init container runs beside the
/// restartable "sidecar" init containers started before it, which also run beside the
/// app containers), plus the pod overhead; and one pod slot.
pub fn pod_requests(spec: &PodSpec) -> Result<PodRequests, RequestError> {
    let mut sidecars = PodRequests::default();
    let mut init_peak = PodRequests::default();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let (fit, cpu, mem) = container_requests(c, &format!("spec.initContainers[{i}]"))?;
        let this = PodRequests {
            fit,
            score_milli_cpu: cpu,
            score_memory: mem,
        };
        // A sidecar keeps running; a plain init container runs beside the sidecars before it.
        let running = if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&this);
            sidecars.clone()
        } else {
            let mut r = sidecars.clone();
            r.add(&this);
            r
        };
        init_peak.max_with(&running);
    }
    let mut total = sidecars;
    for (i, c) in spec.containers.iter().enumerate() {
        let (fit, cpu, mem) = container_requests(c, &format!("spec.containers[{i}]"))?;
        total.add(&PodRequests {
            fit,
            score_milli_cpu: cpu,
            score_memory: mem,
        });
    }
    total.max_with(&init_peak);
    if let Some(overhead) = &spec.overhead {
        let o = Resources::from_list(overhead, "spec.overhead")?;
        total.score_milli_cpu = total.score_milli_cpu.saturating_add(o.milli_cpu);
        total.score_memory = total.score_memory.saturating_add(o.memory);
        total.fit.add(&o);
    }
    total.fit.pods = 1;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let map = |kv: &[(&str, &str)]| {
            (!kv.is_empty()).then(|| {
                kv.iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                    .collect()
            })
        };
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: map(requests),
                limits: map(limits),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn app_containers_add_up() {
        let spec = PodSpec {
            containers: vec![
                container(&[("cpu", "100m"), ("memory", "128Mi")], &[]),
                container(&[("cpu", "1.5"), ("memory", "1G")], &[]),
            ],
            ..Default::default()
        };
        let r = pod_requests(&spec).expect("valid");
        assert_eq!(r.fit.milli_cpu, 1600);
        assert_eq!(r.fit.memory, 128 * 1024 * 1024 + 1_000_000_000);
        assert_eq!(r.fit.pods, 1);
        assert_eq!(r.score_milli_cpu, 1600);
    }

    #[test]
    fn init_containers_take_the_max_and_overhead_adds() {
        let spec = PodSpec {
            init_containers: Some(vec![
                container(&[("cpu", "2"), ("memory", "10Mi")], &[]),
                container(&[("cpu", "500m"), ("memory", "1Gi")], &[]),
            ]),
            containers: vec![
                container(&[("cpu", "1"), ("memory", "100Mi")], &[]),
                container(&[("cpu", "250m"), ("memory", "100Mi")], &[]),
            ],
            overhead: Some(
                [("cpu".to_string(), Quantity("10m".into()))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let r = pod_requests(&spec).expect("valid");
        // max(init max 2000, app sum 1250) + 10; max(1Gi, 200Mi).
        assert_eq!(r.fit.milli_cpu, 2010);
        assert_eq!(r.fit.memory, 1 << 30);
    }

    #[test]
    fn sidecars_run_beside_later_init_and_app_containers() {
        let mut sidecar = container(&[("cpu", "300m")], &[]);
        sidecar.restart_policy = Some("Always".into());
        let spec = PodSpec {
            init_containers: Some(vec![sidecar, container(&[("cpu", "1")], &[])]),
            containers: vec![container(&[("cpu", "200m")], &[])],
            ..Default::default()
        };
        let r = pod_requests(&spec).expect("valid");
        // The plain init container runs with the sidecar: 1300 > 300 + 200.
        assert_eq!(r.fit.milli_cpu, 1300);
    }

    #[test]
    fn limits_stand_in_for_missing_requests_and_defaults_only_score() {
        let spec = PodSpec {
            containers: vec![
                container(&[], &[("memory", "64Mi"), ("example.com/gpu", "2")]),
                container(&[], &[]),
            ],
            ..Default::default()
        };
        let r = pod_requests(&spec).expect("valid");
        assert_eq!(r.fit.milli_cpu, 0);
        assert_eq!(r.fit.memory, 64 << 20);
        assert_eq!(r.fit.scalar.get("example.com/gpu"), Some(&2));
        assert_eq!(r.score_milli_cpu, 2 * DEFAULT_SCORE_MILLI_CPU);
        assert_eq!(r.score_memory, (64 << 20) + DEFAULT_SCORE_MEMORY);
    }

    #[test]
    fn bad_quantities_name_the_field() {
        let spec = PodSpec {
            containers: vec![
                container(&[("cpu", "1")], &[]),
                container(&[("memory", "lots")], &[]),
            ],
            ..Default::default()
        };
        let e = pod_requests(&spec).expect_err("garbage");
        assert_eq!(e.field, "spec.containers[1].resources.requests.memory");
        assert!(e.to_string().contains("\"lots\""), "{e}");

        let node = [("cpu".to_string(), Quantity("four".into()))]
            .into_iter()
            .collect();
        let e = Resources::from_list(&node, "status.allocatable").expect_err("garbage");
        assert_eq!(e.field, "status.allocatable.cpu");
    }
}
