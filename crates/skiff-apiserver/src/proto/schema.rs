//! Message schemas of the Kubernetes protobuf encoding, one table per message of the
//! k8s.io/api and apimachinery `generated.proto` files (release 1.32) that the served kinds
//! reach: field number, JSON name, value type, cardinality and how encoding/json treats a
//! zero value (from the Go field's pointer-ness and `omitempty`).
//!
//! Adding a message is adding a table here and, for a top-level kind, a row in [`root`].
//! Tables are named `<group>_<Message>` (every served group is at v1); `name` is the
//! protobuf message name that error messages show.

#![allow(non_upper_case_globals)]

/// What one field holds.
#[derive(Clone, Copy)]
pub(super) enum Ty {
    Str,
    /// `bytes`, base64 in JSON.
    Bytes,
    Bool,
    I32,
    I64,
    Nested(&'static Msg),
    /// A message whose fields JSON lifts into the parent (Go's `json:",inline"`).
    Inline(&'static Msg),
    /// `metav1.Time`: RFC 3339 at second precision; the zero time is `null`.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with microseconds.
    MicroTime,
    /// `resource.Quantity`: its canonical string.
    Quantity,
    /// `intstr.IntOrString`: a JSON number or string.
    IntOrStr,
    /// `runtime.RawExtension` and `metav1.FieldsV1`: embedded JSON bytes.
    Raw,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    One,
    List,
    /// `map<string, Ty>`.
    Map,
}

/// How encoding/json writes the field, which is what a JSON client would have sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Emit {
    /// `omitempty` on a non-pointer: zero values are left out.
    Omit,
    /// No `omitempty`: always written, `null` for an empty list or map.
    Keep,
    /// A pointer: written whenever it was set, zero values included.
    Ptr,
}

pub(super) struct Field {
    pub tag: u64,
    pub json: &'static str,
    pub ty: Ty,
    pub shape: Shape,
    pub emit: Emit,
}

pub(super) struct Msg {
    pub name: &'static str,
    pub fields: &'static [Field],
}

const fn f(tag: u64, json: &'static str, ty: Ty, shape: Shape, emit: Emit) -> Field {
    Field {
        tag,
        json,
        ty,
        shape,
        emit,
    }
}

/// The message a `runtime.Unknown` envelope of this type carries.
pub(super) fn root(api_version: &str, kind: &str) -> Option<&'static Msg> {
    Some(match (api_version, kind) {
        // Clients send DeleteOptions under whichever group version they are deleting from.
        (_, "DeleteOptions") => &meta_DeleteOptions,
        ("v1", "Namespace") => &core_Namespace,
        ("v1", "Pod") => &core_Pod,
        ("v1", "Service") => &core_Service,
        ("v1", "Endpoints") => &core_Endpoints,
        ("v1", "ConfigMap") => &core_ConfigMap,
        ("v1", "Secret") => &core_Secret,
        ("v1", "ServiceAccount") => &core_ServiceAccount,
        ("v1", "Node") => &core_Node,
        ("v1", "Event") => &core_Event,
        ("v1", "PersistentVolume") => &core_PersistentVolume,
        ("v1", "PersistentVolumeClaim") => &core_PersistentVolumeClaim,
        ("v1", "Binding") => &core_Binding,
        ("apps/v1", "Deployment") => &apps_Deployment,
        ("apps/v1", "ReplicaSet") => &apps_ReplicaSet,
        ("apps/v1", "StatefulSet") => &apps_StatefulSet,
        ("apps/v1", "DaemonSet") => &apps_DaemonSet,
        ("apps/v1", "ControllerRevision") => &apps_ControllerRevision,
        ("batch/v1", "Job") => &batch_Job,
        ("batch/v1", "CronJob") => &batch_CronJob,
        ("coordination.k8s.io/v1", "Lease") => &coord_Lease,
        ("discovery.k8s.io/v1", "EndpointSlice") => &disc_EndpointSlice,
        ("storage.k8s.io/v1", "StorageClass") => &storage_StorageClass,
        ("events.k8s.io/v1", "Event") => &events_Event,
        ("policy/v1", "Eviction") => &policy_Eviction,
        ("autoscaling/v1", "Scale") => &autoscaling_Scale,
        ("authentication.k8s.io/v1", "TokenRequest") => &authn_TokenRequest,
        _ => return None,
    })
}

use Emit::*;
use Shape::*;
use Ty::*;

pub(super) static apps_ControllerRevision: Msg = Msg {
    name: "k8s.io.api.apps.v1.ControllerRevision",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "data", Raw, One, Omit),
        f(3, "revision", I64, One, Keep),
    ],
};

pub(super) static apps_DaemonSet: Msg = Msg {
    name: "k8s.io.api.apps.v1.DaemonSet",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&apps_DaemonSetSpec), One, Omit),
        f(3, "status", Nested(&apps_DaemonSetStatus), One, Omit),
    ],
};

pub(super) static apps_DaemonSetCondition: Msg = Msg {
    name: "k8s.io.api.apps.v1.DaemonSetCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastTransitionTime", Time, One, Omit),
        f(4, "reason", Str, One, Omit),
        f(5, "message", Str, One, Omit),
    ],
};

pub(super) static apps_DaemonSetSpec: Msg = Msg {
    name: "k8s.io.api.apps.v1.DaemonSetSpec",
    fields: &[
        f(1, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(2, "template", Nested(&core_PodTemplateSpec), One, Keep),
        f(3, "updateStrategy", Nested(&apps_DaemonSetUpdateStrategy), One, Omit),
        f(4, "minReadySeconds", I32, One, Omit),
        f(6, "revisionHistoryLimit", I32, One, Ptr),
    ],
};

pub(super) static apps_DaemonSetStatus: Msg = Msg {
    name: "k8s.io.api.apps.v1.DaemonSetStatus",
    fields: &[
        f(1, "currentNumberScheduled", I32, One, Keep),
        f(2, "numberMisscheduled", I32, One, Keep),
        f(3, "desiredNumberScheduled", I32, One, Keep),
        f(4, "numberReady", I32, One, Keep),
        f(5, "observedGeneration", I64, One, Omit),
        f(6, "updatedNumberScheduled", I32, One, Omit),
        f(7, "numberAvailable", I32, One, Omit),
        f(8, "numberUnavailable", I32, One, Omit),
        f(9, "collisionCount", I32, One, Ptr),
        f(10, "conditions", Nested(&apps_DaemonSetCondition), List, Omit),
    ],
};

pub(super) static apps_DaemonSetUpdateStrategy: Msg = Msg {
    name: "k8s.io.api.apps.v1.DaemonSetUpdateStrategy",
    fields: &[
        f(1, "type", Str, One, Omit),
        f(2, "rollingUpdate", Nested(&apps_RollingUpdateDaemonSet), One, Ptr),
    ],
};

pub(super) static apps_Deployment: Msg = Msg {
    name: "k8s.io.api.apps.v1.Deployment",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&apps_DeploymentSpec), One, Omit),
        f(3, "status", Nested(&apps_DeploymentStatus), One, Omit),
    ],
};

pub(super) static apps_DeploymentCondition: Msg = Msg {
    name: "k8s.io.api.apps.v1.DeploymentCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(4, "reason", Str, One, Omit),
        f(5, "message", Str, One, Omit),
        f(6, "lastUpdateTime", Time, One, Omit),
        f(7, "lastTransitionTime", Time, One, Omit),
    ],
};

pub(super) static apps_DeploymentSpec: Msg = Msg {
    name: "k8s.io.api.apps.v1.DeploymentSpec",
    fields: &[
        f(1, "replicas", I32, One, Ptr),
        f(2, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(3, "template", Nested(&core_PodTemplateSpec), One, Keep),
        f(4, "strategy", Nested(&apps_DeploymentStrategy), One, Omit),
        f(5, "minReadySeconds", I32, One, Omit),
        f(6, "revisionHistoryLimit", I32, One, Ptr),
        f(7, "paused", Bool, One, Omit),
        f(9, "progressDeadlineSeconds", I32, One, Ptr),
    ],
};

pub(super) static apps_DeploymentStatus: Msg = Msg {
    name: "k8s.io.api.apps.v1.DeploymentStatus",
    fields: &[
        f(1, "observedGeneration", I64, One, Omit),
        f(2, "replicas", I32, One, Omit),
        f(3, "updatedReplicas", I32, One, Omit),
        f(4, "availableReplicas", I32, One, Omit),
        f(5, "unavailableReplicas", I32, One, Omit),
        f(6, "conditions", Nested(&apps_DeploymentCondition), List, Omit),
        f(7, "readyReplicas", I32, One, Omit),
        f(8, "collisionCount", I32, One, Ptr),
    ],
};

pub(super) static apps_DeploymentStrategy: Msg = Msg {
    name: "k8s.io.api.apps.v1.DeploymentStrategy",
    fields: &[
        f(1, "type", Str, One, Omit),
        f(2, "rollingUpdate", Nested(&apps_RollingUpdateDeployment), One, Ptr),
    ],
};

pub(super) static apps_ReplicaSet: Msg = Msg {
    name: "k8s.io.api.apps.v1.ReplicaSet",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&apps_ReplicaSetSpec), One, Omit),
        f(3, "status", Nested(&apps_ReplicaSetStatus), One, Omit),
    ],
};

pub(super) static apps_ReplicaSetCondition: Msg = Msg {
    name: "k8s.io.api.apps.v1.ReplicaSetCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastTransitionTime", Time, One, Omit),
        f(4, "reason", Str, One, Omit),
        f(5, "message", Str, One, Omit),
    ],
};

pub(super) static apps_ReplicaSetSpec: Msg = Msg {
    name: "k8s.io.api.apps.v1.ReplicaSetSpec",
    fields: &[
        f(1, "replicas", I32, One, Ptr),
        f(2, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(3, "template", Nested(&core_PodTemplateSpec), One, Omit),
        f(4, "minReadySeconds", I32, One, Omit),
    ],
};

pub(super) static apps_ReplicaSetStatus: Msg = Msg {
    name: "k8s.io.api.apps.v1.ReplicaSetStatus",
    fields: &[
        f(1, "replicas", I32, One, Keep),
        f(2, "fullyLabeledReplicas", I32, One, Omit),
        f(3, "observedGeneration", I64, One, Omit),
        f(4, "readyReplicas", I32, One, Omit),
        f(5, "availableReplicas", I32, One, Omit),
        f(6, "conditions", Nested(&apps_ReplicaSetCondition), List, Omit),
    ],
};

pub(super) static apps_RollingUpdateDaemonSet: Msg = Msg {
    name: "k8s.io.api.apps.v1.RollingUpdateDaemonSet",
    fields: &[
        f(1, "maxUnavailable", IntOrStr, One, Ptr),
        f(2, "maxSurge", IntOrStr, One, Ptr),
    ],
};

pub(super) static apps_RollingUpdateDeployment: Msg = Msg {
    name: "k8s.io.api.apps.v1.RollingUpdateDeployment",
    fields: &[
        f(1, "maxUnavailable", IntOrStr, One, Ptr),
        f(2, "maxSurge", IntOrStr, One, Ptr),
    ],
};

pub(super) static apps_RollingUpdateStatefulSetStrategy: Msg = Msg {
    name: "k8s.io.api.apps.v1.RollingUpdateStatefulSetStrategy",
    fields: &[
        f(1, "partition", I32, One, Ptr),
        f(2, "maxUnavailable", IntOrStr, One, Ptr),
    ],
};

pub(super) static apps_StatefulSet: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSet",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&apps_StatefulSetSpec), One, Omit),
        f(3, "status", Nested(&apps_StatefulSetStatus), One, Omit),
    ],
};

pub(super) static apps_StatefulSetCondition: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastTransitionTime", Time, One, Omit),
        f(4, "reason", Str, One, Omit),
        f(5, "message", Str, One, Omit),
    ],
};

pub(super) static apps_StatefulSetOrdinals: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetOrdinals",
    fields: &[
        f(1, "start", I32, One, Keep),
    ],
};

pub(super) static apps_StatefulSetPersistentVolumeClaimRetentionPolicy: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
    fields: &[
        f(1, "whenDeleted", Str, One, Omit),
        f(2, "whenScaled", Str, One, Omit),
    ],
};

pub(super) static apps_StatefulSetSpec: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetSpec",
    fields: &[
        f(1, "replicas", I32, One, Ptr),
        f(2, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(3, "template", Nested(&core_PodTemplateSpec), One, Keep),
        f(4, "volumeClaimTemplates", Nested(&core_PersistentVolumeClaim), List, Omit),
        f(5, "serviceName", Str, One, Keep),
        f(6, "podManagementPolicy", Str, One, Omit),
        f(7, "updateStrategy", Nested(&apps_StatefulSetUpdateStrategy), One, Omit),
        f(8, "revisionHistoryLimit", I32, One, Ptr),
        f(9, "minReadySeconds", I32, One, Omit),
        f(10, "persistentVolumeClaimRetentionPolicy", Nested(&apps_StatefulSetPersistentVolumeClaimRetentionPolicy), One, Ptr),
        f(11, "ordinals", Nested(&apps_StatefulSetOrdinals), One, Ptr),
    ],
};

pub(super) static apps_StatefulSetStatus: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetStatus",
    fields: &[
        f(1, "observedGeneration", I64, One, Omit),
        f(2, "replicas", I32, One, Keep),
        f(3, "readyReplicas", I32, One, Omit),
        f(4, "currentReplicas", I32, One, Omit),
        f(5, "updatedReplicas", I32, One, Omit),
        f(6, "currentRevision", Str, One, Omit),
        f(7, "updateRevision", Str, One, Omit),
        f(9, "collisionCount", I32, One, Ptr),
        f(10, "conditions", Nested(&apps_StatefulSetCondition), List, Omit),
        f(11, "availableReplicas", I32, One, Keep),
    ],
};

pub(super) static apps_StatefulSetUpdateStrategy: Msg = Msg {
    name: "k8s.io.api.apps.v1.StatefulSetUpdateStrategy",
    fields: &[
        f(1, "type", Str, One, Omit),
        f(2, "rollingUpdate", Nested(&apps_RollingUpdateStatefulSetStrategy), One, Ptr),
    ],
};

pub(super) static authn_BoundObjectReference: Msg = Msg {
    name: "k8s.io.api.authentication.v1.BoundObjectReference",
    fields: &[
        f(1, "kind", Str, One, Omit),
        f(2, "apiVersion", Str, One, Omit),
        f(3, "name", Str, One, Omit),
        f(4, "uid", Str, One, Omit),
    ],
};

pub(super) static authn_TokenRequest: Msg = Msg {
    name: "k8s.io.api.authentication.v1.TokenRequest",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&authn_TokenRequestSpec), One, Keep),
        f(3, "status", Nested(&authn_TokenRequestStatus), One, Omit),
    ],
};

pub(super) static authn_TokenRequestSpec: Msg = Msg {
    name: "k8s.io.api.authentication.v1.TokenRequestSpec",
    fields: &[
        f(1, "audiences", Str, List, Keep),
        f(3, "boundObjectRef", Nested(&authn_BoundObjectReference), One, Ptr),
        f(4, "expirationSeconds", I64, One, Ptr),
    ],
};

pub(super) static authn_TokenRequestStatus: Msg = Msg {
    name: "k8s.io.api.authentication.v1.TokenRequestStatus",
    fields: &[
        f(1, "token", Str, One, Keep),
        f(2, "expirationTimestamp", Time, One, Keep),
    ],
};

pub(super) static autoscaling_Scale: Msg = Msg {
    name: "k8s.io.api.autoscaling.v1.Scale",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&autoscaling_ScaleSpec), One, Omit),
        f(3, "status", Nested(&autoscaling_ScaleStatus), One, Omit),
    ],
};

pub(super) static autoscaling_ScaleSpec: Msg = Msg {
    name: "k8s.io.api.autoscaling.v1.ScaleSpec",
    fields: &[
        f(1, "replicas", I32, One, Omit),
    ],
};

pub(super) static autoscaling_ScaleStatus: Msg = Msg {
    name: "k8s.io.api.autoscaling.v1.ScaleStatus",
    fields: &[
        f(1, "replicas", I32, One, Keep),
        f(2, "selector", Str, One, Omit),
    ],
};

pub(super) static batch_CronJob: Msg = Msg {
    name: "k8s.io.api.batch.v1.CronJob",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&batch_CronJobSpec), One, Omit),
        f(3, "status", Nested(&batch_CronJobStatus), One, Omit),
    ],
};

pub(super) static batch_CronJobSpec: Msg = Msg {
    name: "k8s.io.api.batch.v1.CronJobSpec",
    fields: &[
        f(1, "schedule", Str, One, Keep),
        f(2, "startingDeadlineSeconds", I64, One, Ptr),
        f(3, "concurrencyPolicy", Str, One, Omit),
        f(4, "suspend", Bool, One, Ptr),
        f(5, "jobTemplate", Nested(&batch_JobTemplateSpec), One, Keep),
        f(6, "successfulJobsHistoryLimit", I32, One, Ptr),
        f(7, "failedJobsHistoryLimit", I32, One, Ptr),
        f(8, "timeZone", Str, One, Ptr),
    ],
};

pub(super) static batch_CronJobStatus: Msg = Msg {
    name: "k8s.io.api.batch.v1.CronJobStatus",
    fields: &[
        f(1, "active", Nested(&core_ObjectReference), List, Omit),
        f(4, "lastScheduleTime", Time, One, Ptr),
        f(5, "lastSuccessfulTime", Time, One, Ptr),
    ],
};

pub(super) static batch_Job: Msg = Msg {
    name: "k8s.io.api.batch.v1.Job",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&batch_JobSpec), One, Omit),
        f(3, "status", Nested(&batch_JobStatus), One, Omit),
    ],
};

pub(super) static batch_JobCondition: Msg = Msg {
    name: "k8s.io.api.batch.v1.JobCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastProbeTime", Time, One, Omit),
        f(4, "lastTransitionTime", Time, One, Omit),
        f(5, "reason", Str, One, Omit),
        f(6, "message", Str, One, Omit),
    ],
};

pub(super) static batch_JobSpec: Msg = Msg {
    name: "k8s.io.api.batch.v1.JobSpec",
    fields: &[
        f(1, "parallelism", I32, One, Ptr),
        f(2, "completions", I32, One, Ptr),
        f(3, "activeDeadlineSeconds", I64, One, Ptr),
        f(4, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(5, "manualSelector", Bool, One, Ptr),
        f(6, "template", Nested(&core_PodTemplateSpec), One, Keep),
        f(7, "backoffLimit", I32, One, Ptr),
        f(8, "ttlSecondsAfterFinished", I32, One, Ptr),
        f(9, "completionMode", Str, One, Ptr),
        f(10, "suspend", Bool, One, Ptr),
        f(11, "podFailurePolicy", Nested(&batch_PodFailurePolicy), One, Ptr),
        f(12, "backoffLimitPerIndex", I32, One, Ptr),
        f(13, "maxFailedIndexes", I32, One, Ptr),
        f(14, "podReplacementPolicy", Str, One, Ptr),
        f(15, "managedBy", Str, One, Ptr),
        f(16, "successPolicy", Nested(&batch_SuccessPolicy), One, Ptr),
    ],
};

pub(super) static batch_JobStatus: Msg = Msg {
    name: "k8s.io.api.batch.v1.JobStatus",
    fields: &[
        f(1, "conditions", Nested(&batch_JobCondition), List, Omit),
        f(2, "startTime", Time, One, Ptr),
        f(3, "completionTime", Time, One, Ptr),
        f(4, "active", I32, One, Omit),
        f(5, "succeeded", I32, One, Omit),
        f(6, "failed", I32, One, Omit),
        f(7, "completedIndexes", Str, One, Omit),
        f(8, "uncountedTerminatedPods", Nested(&batch_UncountedTerminatedPods), One, Ptr),
        f(9, "ready", I32, One, Ptr),
        f(10, "failedIndexes", Str, One, Ptr),
        f(11, "terminating", I32, One, Ptr),
    ],
};

pub(super) static batch_JobTemplateSpec: Msg = Msg {
    name: "k8s.io.api.batch.v1.JobTemplateSpec",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&batch_JobSpec), One, Omit),
    ],
};

pub(super) static batch_PodFailurePolicy: Msg = Msg {
    name: "k8s.io.api.batch.v1.PodFailurePolicy",
    fields: &[
        f(1, "rules", Nested(&batch_PodFailurePolicyRule), List, Keep),
    ],
};

pub(super) static batch_PodFailurePolicyOnExitCodesRequirement: Msg = Msg {
    name: "k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        f(1, "containerName", Str, One, Ptr),
        f(2, "operator", Str, One, Keep),
        f(3, "values", I32, List, Keep),
    ],
};

pub(super) static batch_PodFailurePolicyOnPodConditionsPattern: Msg = Msg {
    name: "k8s.io.api.batch.v1.PodFailurePolicyOnPodConditionsPattern",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
    ],
};

pub(super) static batch_PodFailurePolicyRule: Msg = Msg {
    name: "k8s.io.api.batch.v1.PodFailurePolicyRule",
    fields: &[
        f(1, "action", Str, One, Keep),
        f(2, "onExitCodes", Nested(&batch_PodFailurePolicyOnExitCodesRequirement), One, Ptr),
        f(3, "onPodConditions", Nested(&batch_PodFailurePolicyOnPodConditionsPattern), List, Omit),
    ],
};

pub(super) static batch_SuccessPolicy: Msg = Msg {
    name: "k8s.io.api.batch.v1.SuccessPolicy",
    fields: &[
        f(1, "rules", Nested(&batch_SuccessPolicyRule), List, Keep),
    ],
};

pub(super) static batch_SuccessPolicyRule: Msg = Msg {
    name: "k8s.io.api.batch.v1.SuccessPolicyRule",
    fields: &[
        f(1, "succeededIndexes", Str, One, Ptr),
        f(2, "succeededCount", I32, One, Ptr),
    ],
};

pub(super) static batch_UncountedTerminatedPods: Msg = Msg {
    name: "k8s.io.api.batch.v1.UncountedTerminatedPods",
    fields: &[
        f(1, "succeeded", Str, List, Omit),
        f(2, "failed", Str, List, Omit),
    ],
};

pub(super) static coord_Lease: Msg = Msg {
    name: "k8s.io.api.coordination.v1.Lease",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&coord_LeaseSpec), One, Omit),
    ],
};

pub(super) static coord_LeaseSpec: Msg = Msg {
    name: "k8s.io.api.coordination.v1.LeaseSpec",
    fields: &[
        f(1, "holderIdentity", Str, One, Ptr),
        f(2, "leaseDurationSeconds", I32, One, Ptr),
        f(3, "acquireTime", MicroTime, One, Ptr),
        f(4, "renewTime", MicroTime, One, Ptr),
        f(5, "leaseTransitions", I32, One, Ptr),
        f(6, "strategy", Str, One, Ptr),
        f(7, "preferredHolder", Str, One, Ptr),
    ],
};

pub(super) static core_AWSElasticBlockStoreVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSource",
    fields: &[
        f(1, "volumeID", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "partition", I32, One, Omit),
        f(4, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_Affinity: Msg = Msg {
    name: "k8s.io.api.core.v1.Affinity",
    fields: &[
        f(1, "nodeAffinity", Nested(&core_NodeAffinity), One, Ptr),
        f(2, "podAffinity", Nested(&core_PodAffinity), One, Ptr),
        f(3, "podAntiAffinity", Nested(&core_PodAntiAffinity), One, Ptr),
    ],
};

pub(super) static core_AppArmorProfile: Msg = Msg {
    name: "k8s.io.api.core.v1.AppArmorProfile",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "localhostProfile", Str, One, Ptr),
    ],
};

pub(super) static core_AttachedVolume: Msg = Msg {
    name: "k8s.io.api.core.v1.AttachedVolume",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "devicePath", Str, One, Keep),
    ],
};

pub(super) static core_AzureDiskVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.AzureDiskVolumeSource",
    fields: &[
        f(1, "diskName", Str, One, Keep),
        f(2, "diskURI", Str, One, Keep),
        f(3, "cachingMode", Str, One, Ptr),
        f(4, "fsType", Str, One, Ptr),
        f(5, "readOnly", Bool, One, Ptr),
        f(6, "kind", Str, One, Ptr),
    ],
};

pub(super) static core_AzureFilePersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.AzureFilePersistentVolumeSource",
    fields: &[
        f(1, "secretName", Str, One, Keep),
        f(2, "shareName", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "secretNamespace", Str, One, Ptr),
    ],
};

pub(super) static core_AzureFileVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.AzureFileVolumeSource",
    fields: &[
        f(1, "secretName", Str, One, Keep),
        f(2, "shareName", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_Binding: Msg = Msg {
    name: "k8s.io.api.core.v1.Binding",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "target", Nested(&core_ObjectReference), One, Keep),
    ],
};

pub(super) static core_CSIPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CSIPersistentVolumeSource",
    fields: &[
        f(1, "driver", Str, One, Keep),
        f(2, "volumeHandle", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "fsType", Str, One, Omit),
        f(5, "volumeAttributes", Str, Map, Omit),
        f(6, "controllerPublishSecretRef", Nested(&core_SecretReference), One, Ptr),
        f(7, "nodeStageSecretRef", Nested(&core_SecretReference), One, Ptr),
        f(8, "nodePublishSecretRef", Nested(&core_SecretReference), One, Ptr),
        f(9, "controllerExpandSecretRef", Nested(&core_SecretReference), One, Ptr),
        f(10, "nodeExpandSecretRef", Nested(&core_SecretReference), One, Ptr),
    ],
};

pub(super) static core_CSIVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CSIVolumeSource",
    fields: &[
        f(1, "driver", Str, One, Keep),
        f(2, "readOnly", Bool, One, Ptr),
        f(3, "fsType", Str, One, Ptr),
        f(4, "volumeAttributes", Str, Map, Omit),
        f(5, "nodePublishSecretRef", Nested(&core_LocalObjectReference), One, Ptr),
    ],
};

pub(super) static core_Capabilities: Msg = Msg {
    name: "k8s.io.api.core.v1.Capabilities",
    fields: &[
        f(1, "add", Str, List, Omit),
        f(2, "drop", Str, List, Omit),
    ],
};

pub(super) static core_CephFSPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CephFSPersistentVolumeSource",
    fields: &[
        f(1, "monitors", Str, List, Keep),
        f(2, "path", Str, One, Omit),
        f(3, "user", Str, One, Omit),
        f(4, "secretFile", Str, One, Omit),
        f(5, "secretRef", Nested(&core_SecretReference), One, Ptr),
        f(6, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_CephFSVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CephFSVolumeSource",
    fields: &[
        f(1, "monitors", Str, List, Keep),
        f(2, "path", Str, One, Omit),
        f(3, "user", Str, One, Omit),
        f(4, "secretFile", Str, One, Omit),
        f(5, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
        f(6, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_CinderPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CinderPersistentVolumeSource",
    fields: &[
        f(1, "volumeID", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "secretRef", Nested(&core_SecretReference), One, Ptr),
    ],
};

pub(super) static core_CinderVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.CinderVolumeSource",
    fields: &[
        f(1, "volumeID", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
    ],
};

pub(super) static core_ClientIPConfig: Msg = Msg {
    name: "k8s.io.api.core.v1.ClientIPConfig",
    fields: &[
        f(1, "timeoutSeconds", I32, One, Ptr),
    ],
};

pub(super) static core_ClusterTrustBundleProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.ClusterTrustBundleProjection",
    fields: &[
        f(1, "name", Str, One, Ptr),
        f(2, "signerName", Str, One, Ptr),
        f(3, "labelSelector", Nested(&meta_LabelSelector), One, Ptr),
        f(4, "path", Str, One, Keep),
        f(5, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_ConfigMap: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMap",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "data", Str, Map, Omit),
        f(3, "binaryData", Bytes, Map, Omit),
        f(4, "immutable", Bool, One, Ptr),
    ],
};

pub(super) static core_ConfigMapEnvSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMapEnvSource",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_ConfigMapKeySelector: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMapKeySelector",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "key", Str, One, Keep),
        f(3, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_ConfigMapNodeConfigSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMapNodeConfigSource",
    fields: &[
        f(1, "namespace", Str, One, Keep),
        f(2, "name", Str, One, Keep),
        f(3, "uid", Str, One, Omit),
        f(4, "resourceVersion", Str, One, Omit),
        f(5, "kubeletConfigKey", Str, One, Keep),
    ],
};

pub(super) static core_ConfigMapProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMapProjection",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "items", Nested(&core_KeyToPath), List, Omit),
        f(4, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_ConfigMapVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ConfigMapVolumeSource",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "items", Nested(&core_KeyToPath), List, Omit),
        f(3, "defaultMode", I32, One, Ptr),
        f(4, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_Container: Msg = Msg {
    name: "k8s.io.api.core.v1.Container",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "image", Str, One, Omit),
        f(3, "command", Str, List, Omit),
        f(4, "args", Str, List, Omit),
        f(5, "workingDir", Str, One, Omit),
        f(6, "ports", Nested(&core_ContainerPort), List, Omit),
        f(7, "env", Nested(&core_EnvVar), List, Omit),
        f(8, "resources", Nested(&core_ResourceRequirements), One, Omit),
        f(9, "volumeMounts", Nested(&core_VolumeMount), List, Omit),
        f(10, "livenessProbe", Nested(&core_Probe), One, Ptr),
        f(11, "readinessProbe", Nested(&core_Probe), One, Ptr),
        f(12, "lifecycle", Nested(&core_Lifecycle), One, Ptr),
        f(13, "terminationMessagePath", Str, One, Omit),
        f(14, "imagePullPolicy", Str, One, Omit),
        f(15, "securityContext", Nested(&core_SecurityContext), One, Ptr),
        f(16, "stdin", Bool, One, Omit),
        f(17, "stdinOnce", Bool, One, Omit),
        f(18, "tty", Bool, One, Omit),
        f(19, "envFrom", Nested(&core_EnvFromSource), List, Omit),
        f(20, "terminationMessagePolicy", Str, One, Omit),
        f(21, "volumeDevices", Nested(&core_VolumeDevice), List, Omit),
        f(22, "startupProbe", Nested(&core_Probe), One, Ptr),
        f(23, "resizePolicy", Nested(&core_ContainerResizePolicy), List, Omit),
        f(24, "restartPolicy", Str, One, Ptr),
    ],
};

pub(super) static core_ContainerImage: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerImage",
    fields: &[
        f(1, "names", Str, List, Keep),
        f(2, "sizeBytes", I64, One, Omit),
    ],
};

pub(super) static core_ContainerPort: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerPort",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "hostPort", I32, One, Omit),
        f(3, "containerPort", I32, One, Keep),
        f(4, "protocol", Str, One, Omit),
        f(5, "hostIP", Str, One, Omit),
    ],
};

pub(super) static core_ContainerResizePolicy: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerResizePolicy",
    fields: &[
        f(1, "resourceName", Str, One, Keep),
        f(2, "restartPolicy", Str, One, Keep),
    ],
};

pub(super) static core_ContainerState: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerState",
    fields: &[
        f(1, "waiting", Nested(&core_ContainerStateWaiting), One, Ptr),
        f(2, "running", Nested(&core_ContainerStateRunning), One, Ptr),
        f(3, "terminated", Nested(&core_ContainerStateTerminated), One, Ptr),
    ],
};

pub(super) static core_ContainerStateRunning: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerStateRunning",
    fields: &[
        f(1, "startedAt", Time, One, Omit),
    ],
};

pub(super) static core_ContainerStateTerminated: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerStateTerminated",
    fields: &[
        f(1, "exitCode", I32, One, Keep),
        f(2, "signal", I32, One, Omit),
        f(3, "reason", Str, One, Omit),
        f(4, "message", Str, One, Omit),
        f(5, "startedAt", Time, One, Omit),
        f(6, "finishedAt", Time, One, Omit),
        f(7, "containerID", Str, One, Omit),
    ],
};

pub(super) static core_ContainerStateWaiting: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerStateWaiting",
    fields: &[
        f(1, "reason", Str, One, Omit),
        f(2, "message", Str, One, Omit),
    ],
};

pub(super) static core_ContainerStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerStatus",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "state", Nested(&core_ContainerState), One, Omit),
        f(3, "lastState", Nested(&core_ContainerState), One, Omit),
        f(4, "ready", Bool, One, Keep),
        f(5, "restartCount", I32, One, Keep),
        f(6, "image", Str, One, Keep),
        f(7, "imageID", Str, One, Keep),
        f(8, "containerID", Str, One, Omit),
        f(9, "started", Bool, One, Ptr),
        f(10, "allocatedResources", Quantity, Map, Omit),
        f(11, "resources", Nested(&core_ResourceRequirements), One, Ptr),
        f(12, "volumeMounts", Nested(&core_VolumeMountStatus), List, Omit),
        f(13, "user", Nested(&core_ContainerUser), One, Ptr),
        f(14, "allocatedResourcesStatus", Nested(&core_ResourceStatus), List, Omit),
    ],
};

pub(super) static core_ContainerUser: Msg = Msg {
    name: "k8s.io.api.core.v1.ContainerUser",
    fields: &[
        f(1, "linux", Nested(&core_LinuxContainerUser), One, Ptr),
    ],
};

pub(super) static core_DaemonEndpoint: Msg = Msg {
    name: "k8s.io.api.core.v1.DaemonEndpoint",
    fields: &[
        f(1, "Port", I32, One, Keep),
    ],
};

pub(super) static core_DownwardAPIProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.DownwardAPIProjection",
    fields: &[
        f(1, "items", Nested(&core_DownwardAPIVolumeFile), List, Omit),
    ],
};

pub(super) static core_DownwardAPIVolumeFile: Msg = Msg {
    name: "k8s.io.api.core.v1.DownwardAPIVolumeFile",
    fields: &[
        f(1, "path", Str, One, Keep),
        f(2, "fieldRef", Nested(&core_ObjectFieldSelector), One, Ptr),
        f(3, "resourceFieldRef", Nested(&core_ResourceFieldSelector), One, Ptr),
        f(4, "mode", I32, One, Ptr),
    ],
};

pub(super) static core_DownwardAPIVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.DownwardAPIVolumeSource",
    fields: &[
        f(1, "items", Nested(&core_DownwardAPIVolumeFile), List, Omit),
        f(2, "defaultMode", I32, One, Ptr),
    ],
};

pub(super) static core_EmptyDirVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.EmptyDirVolumeSource",
    fields: &[
        f(1, "medium", Str, One, Omit),
        f(2, "sizeLimit", Quantity, One, Ptr),
    ],
};

pub(super) static core_EndpointAddress: Msg = Msg {
    name: "k8s.io.api.core.v1.EndpointAddress",
    fields: &[
        f(1, "ip", Str, One, Keep),
        f(2, "targetRef", Nested(&core_ObjectReference), One, Ptr),
        f(3, "hostname", Str, One, Omit),
        f(4, "nodeName", Str, One, Ptr),
    ],
};

pub(super) static core_EndpointPort: Msg = Msg {
    name: "k8s.io.api.core.v1.EndpointPort",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "port", I32, One, Keep),
        f(3, "protocol", Str, One, Omit),
        f(4, "appProtocol", Str, One, Ptr),
    ],
};

pub(super) static core_EndpointSubset: Msg = Msg {
    name: "k8s.io.api.core.v1.EndpointSubset",
    fields: &[
        f(1, "addresses", Nested(&core_EndpointAddress), List, Omit),
        f(2, "notReadyAddresses", Nested(&core_EndpointAddress), List, Omit),
        f(3, "ports", Nested(&core_EndpointPort), List, Omit),
    ],
};

pub(super) static core_Endpoints: Msg = Msg {
    name: "k8s.io.api.core.v1.Endpoints",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "subsets", Nested(&core_EndpointSubset), List, Omit),
    ],
};

pub(super) static core_EnvFromSource: Msg = Msg {
    name: "k8s.io.api.core.v1.EnvFromSource",
    fields: &[
        f(1, "prefix", Str, One, Omit),
        f(2, "configMapRef", Nested(&core_ConfigMapEnvSource), One, Ptr),
        f(3, "secretRef", Nested(&core_SecretEnvSource), One, Ptr),
    ],
};

pub(super) static core_EnvVar: Msg = Msg {
    name: "k8s.io.api.core.v1.EnvVar",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "value", Str, One, Omit),
        f(3, "valueFrom", Nested(&core_EnvVarSource), One, Ptr),
    ],
};

pub(super) static core_EnvVarSource: Msg = Msg {
    name: "k8s.io.api.core.v1.EnvVarSource",
    fields: &[
        f(1, "fieldRef", Nested(&core_ObjectFieldSelector), One, Ptr),
        f(2, "resourceFieldRef", Nested(&core_ResourceFieldSelector), One, Ptr),
        f(3, "configMapKeyRef", Nested(&core_ConfigMapKeySelector), One, Ptr),
        f(4, "secretKeyRef", Nested(&core_SecretKeySelector), One, Ptr),
    ],
};

pub(super) static core_EphemeralContainer: Msg = Msg {
    name: "k8s.io.api.core.v1.EphemeralContainer",
    fields: &[
        f(1, "", Inline(&core_EphemeralContainerCommon), One, Keep),
        f(2, "targetContainerName", Str, One, Omit),
    ],
};

pub(super) static core_EphemeralContainerCommon: Msg = Msg {
    name: "k8s.io.api.core.v1.EphemeralContainerCommon",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "image", Str, One, Omit),
        f(3, "command", Str, List, Omit),
        f(4, "args", Str, List, Omit),
        f(5, "workingDir", Str, One, Omit),
        f(6, "ports", Nested(&core_ContainerPort), List, Omit),
        f(7, "env", Nested(&core_EnvVar), List, Omit),
        f(8, "resources", Nested(&core_ResourceRequirements), One, Omit),
        f(9, "volumeMounts", Nested(&core_VolumeMount), List, Omit),
        f(10, "livenessProbe", Nested(&core_Probe), One, Ptr),
        f(11, "readinessProbe", Nested(&core_Probe), One, Ptr),
        f(12, "lifecycle", Nested(&core_Lifecycle), One, Ptr),
        f(13, "terminationMessagePath", Str, One, Omit),
        f(14, "imagePullPolicy", Str, One, Omit),
        f(15, "securityContext", Nested(&core_SecurityContext), One, Ptr),
        f(16, "stdin", Bool, One, Omit),
        f(17, "stdinOnce", Bool, One, Omit),
        f(18, "tty", Bool, One, Omit),
        f(19, "envFrom", Nested(&core_EnvFromSource), List, Omit),
        f(20, "terminationMessagePolicy", Str, One, Omit),
        f(21, "volumeDevices", Nested(&core_VolumeDevice), List, Omit),
        f(22, "startupProbe", Nested(&core_Probe), One, Ptr),
        f(23, "resizePolicy", Nested(&core_ContainerResizePolicy), List, Omit),
        f(24, "restartPolicy", Str, One, Ptr),
    ],
};

pub(super) static core_EphemeralVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.EphemeralVolumeSource",
    fields: &[
        f(1, "volumeClaimTemplate", Nested(&core_PersistentVolumeClaimTemplate), One, Ptr),
    ],
};

pub(super) static core_Event: Msg = Msg {
    name: "k8s.io.api.core.v1.Event",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Keep),
        f(2, "involvedObject", Nested(&core_ObjectReference), One, Keep),
        f(3, "reason", Str, One, Omit),
        f(4, "message", Str, One, Omit),
        f(5, "source", Nested(&core_EventSource), One, Omit),
        f(6, "firstTimestamp", Time, One, Omit),
        f(7, "lastTimestamp", Time, One, Omit),
        f(8, "count", I32, One, Omit),
        f(9, "type", Str, One, Omit),
        f(10, "eventTime", MicroTime, One, Omit),
        f(11, "series", Nested(&core_EventSeries), One, Ptr),
        f(12, "action", Str, One, Omit),
        f(13, "related", Nested(&core_ObjectReference), One, Ptr),
        f(14, "reportingComponent", Str, One, Keep),
        f(15, "reportingInstance", Str, One, Keep),
    ],
};

pub(super) static core_EventSeries: Msg = Msg {
    name: "k8s.io.api.core.v1.EventSeries",
    fields: &[
        f(1, "count", I32, One, Omit),
        f(2, "lastObservedTime", MicroTime, One, Omit),
    ],
};

pub(super) static core_EventSource: Msg = Msg {
    name: "k8s.io.api.core.v1.EventSource",
    fields: &[
        f(1, "component", Str, One, Omit),
        f(2, "host", Str, One, Omit),
    ],
};

pub(super) static core_ExecAction: Msg = Msg {
    name: "k8s.io.api.core.v1.ExecAction",
    fields: &[
        f(1, "command", Str, List, Omit),
    ],
};

pub(super) static core_FCVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.FCVolumeSource",
    fields: &[
        f(1, "targetWWNs", Str, List, Omit),
        f(2, "lun", I32, One, Ptr),
        f(3, "fsType", Str, One, Omit),
        f(4, "readOnly", Bool, One, Omit),
        f(5, "wwids", Str, List, Omit),
    ],
};

pub(super) static core_FlexPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.FlexPersistentVolumeSource",
    fields: &[
        f(1, "driver", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "secretRef", Nested(&core_SecretReference), One, Ptr),
        f(4, "readOnly", Bool, One, Omit),
        f(5, "options", Str, Map, Omit),
    ],
};

pub(super) static core_FlexVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.FlexVolumeSource",
    fields: &[
        f(1, "driver", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
        f(4, "readOnly", Bool, One, Omit),
        f(5, "options", Str, Map, Omit),
    ],
};

pub(super) static core_FlockerVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.FlockerVolumeSource",
    fields: &[
        f(1, "datasetName", Str, One, Omit),
        f(2, "datasetUUID", Str, One, Omit),
    ],
};

pub(super) static core_GCEPersistentDiskVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.GCEPersistentDiskVolumeSource",
    fields: &[
        f(1, "pdName", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "partition", I32, One, Omit),
        f(4, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_GRPCAction: Msg = Msg {
    name: "k8s.io.api.core.v1.GRPCAction",
    fields: &[
        f(1, "port", I32, One, Keep),
        f(2, "service", Str, One, Ptr),
    ],
};

pub(super) static core_GitRepoVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.GitRepoVolumeSource",
    fields: &[
        f(1, "repository", Str, One, Keep),
        f(2, "revision", Str, One, Omit),
        f(3, "directory", Str, One, Omit),
    ],
};

pub(super) static core_GlusterfsPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.GlusterfsPersistentVolumeSource",
    fields: &[
        f(1, "endpoints", Str, One, Keep),
        f(2, "path", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "endpointsNamespace", Str, One, Ptr),
    ],
};

pub(super) static core_GlusterfsVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.GlusterfsVolumeSource",
    fields: &[
        f(1, "endpoints", Str, One, Keep),
        f(2, "path", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_HTTPGetAction: Msg = Msg {
    name: "k8s.io.api.core.v1.HTTPGetAction",
    fields: &[
        f(1, "path", Str, One, Omit),
        f(2, "port", IntOrStr, One, Keep),
        f(3, "host", Str, One, Omit),
        f(4, "scheme", Str, One, Omit),
        f(5, "httpHeaders", Nested(&core_HTTPHeader), List, Omit),
    ],
};

pub(super) static core_HTTPHeader: Msg = Msg {
    name: "k8s.io.api.core.v1.HTTPHeader",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "value", Str, One, Keep),
    ],
};

pub(super) static core_HostAlias: Msg = Msg {
    name: "k8s.io.api.core.v1.HostAlias",
    fields: &[
        f(1, "ip", Str, One, Keep),
        f(2, "hostnames", Str, List, Omit),
    ],
};

pub(super) static core_HostIP: Msg = Msg {
    name: "k8s.io.api.core.v1.HostIP",
    fields: &[
        f(1, "ip", Str, One, Keep),
    ],
};

pub(super) static core_HostPathVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.HostPathVolumeSource",
    fields: &[
        f(1, "path", Str, One, Keep),
        f(2, "type", Str, One, Ptr),
    ],
};

pub(super) static core_ISCSIPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ISCSIPersistentVolumeSource",
    fields: &[
        f(1, "targetPortal", Str, One, Keep),
        f(2, "iqn", Str, One, Keep),
        f(3, "lun", I32, One, Keep),
        f(4, "iscsiInterface", Str, One, Omit),
        f(5, "fsType", Str, One, Omit),
        f(6, "readOnly", Bool, One, Omit),
        f(7, "portals", Str, List, Omit),
        f(8, "chapAuthDiscovery", Bool, One, Omit),
        f(10, "secretRef", Nested(&core_SecretReference), One, Ptr),
        f(11, "chapAuthSession", Bool, One, Omit),
        f(12, "initiatorName", Str, One, Ptr),
    ],
};

pub(super) static core_ISCSIVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ISCSIVolumeSource",
    fields: &[
        f(1, "targetPortal", Str, One, Keep),
        f(2, "iqn", Str, One, Keep),
        f(3, "lun", I32, One, Keep),
        f(4, "iscsiInterface", Str, One, Omit),
        f(5, "fsType", Str, One, Omit),
        f(6, "readOnly", Bool, One, Omit),
        f(7, "portals", Str, List, Omit),
        f(8, "chapAuthDiscovery", Bool, One, Omit),
        f(10, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
        f(11, "chapAuthSession", Bool, One, Omit),
        f(12, "initiatorName", Str, One, Ptr),
    ],
};

pub(super) static core_ImageVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ImageVolumeSource",
    fields: &[
        f(1, "reference", Str, One, Omit),
        f(2, "pullPolicy", Str, One, Omit),
    ],
};

pub(super) static core_KeyToPath: Msg = Msg {
    name: "k8s.io.api.core.v1.KeyToPath",
    fields: &[
        f(1, "key", Str, One, Keep),
        f(2, "path", Str, One, Keep),
        f(3, "mode", I32, One, Ptr),
    ],
};

pub(super) static core_Lifecycle: Msg = Msg {
    name: "k8s.io.api.core.v1.Lifecycle",
    fields: &[
        f(1, "postStart", Nested(&core_LifecycleHandler), One, Ptr),
        f(2, "preStop", Nested(&core_LifecycleHandler), One, Ptr),
    ],
};

pub(super) static core_LifecycleHandler: Msg = Msg {
    name: "k8s.io.api.core.v1.LifecycleHandler",
    fields: &[
        f(1, "exec", Nested(&core_ExecAction), One, Ptr),
        f(2, "httpGet", Nested(&core_HTTPGetAction), One, Ptr),
        f(3, "tcpSocket", Nested(&core_TCPSocketAction), One, Ptr),
        f(4, "sleep", Nested(&core_SleepAction), One, Ptr),
    ],
};

pub(super) static core_LinuxContainerUser: Msg = Msg {
    name: "k8s.io.api.core.v1.LinuxContainerUser",
    fields: &[
        f(1, "uid", I64, One, Keep),
        f(2, "gid", I64, One, Keep),
        f(3, "supplementalGroups", I64, List, Omit),
    ],
};

pub(super) static core_LoadBalancerIngress: Msg = Msg {
    name: "k8s.io.api.core.v1.LoadBalancerIngress",
    fields: &[
        f(1, "ip", Str, One, Omit),
        f(2, "hostname", Str, One, Omit),
        f(3, "ipMode", Str, One, Ptr),
        f(4, "ports", Nested(&core_PortStatus), List, Omit),
    ],
};

pub(super) static core_LoadBalancerStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.LoadBalancerStatus",
    fields: &[
        f(1, "ingress", Nested(&core_LoadBalancerIngress), List, Omit),
    ],
};

pub(super) static core_LocalObjectReference: Msg = Msg {
    name: "k8s.io.api.core.v1.LocalObjectReference",
    fields: &[
        f(1, "name", Str, One, Omit),
    ],
};

pub(super) static core_LocalVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.LocalVolumeSource",
    fields: &[
        f(1, "path", Str, One, Keep),
        f(2, "fsType", Str, One, Ptr),
    ],
};

pub(super) static core_ModifyVolumeStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.ModifyVolumeStatus",
    fields: &[
        f(1, "targetVolumeAttributesClassName", Str, One, Omit),
        f(2, "status", Str, One, Keep),
    ],
};

pub(super) static core_NFSVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.NFSVolumeSource",
    fields: &[
        f(1, "server", Str, One, Keep),
        f(2, "path", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_Namespace: Msg = Msg {
    name: "k8s.io.api.core.v1.Namespace",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_NamespaceSpec), One, Omit),
        f(3, "status", Nested(&core_NamespaceStatus), One, Omit),
    ],
};

pub(super) static core_NamespaceCondition: Msg = Msg {
    name: "k8s.io.api.core.v1.NamespaceCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(4, "lastTransitionTime", Time, One, Omit),
        f(5, "reason", Str, One, Omit),
        f(6, "message", Str, One, Omit),
    ],
};

pub(super) static core_NamespaceSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.NamespaceSpec",
    fields: &[
        f(1, "finalizers", Str, List, Omit),
    ],
};

pub(super) static core_NamespaceStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.NamespaceStatus",
    fields: &[
        f(1, "phase", Str, One, Omit),
        f(2, "conditions", Nested(&core_NamespaceCondition), List, Omit),
    ],
};

pub(super) static core_Node: Msg = Msg {
    name: "k8s.io.api.core.v1.Node",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_NodeSpec), One, Omit),
        f(3, "status", Nested(&core_NodeStatus), One, Omit),
    ],
};

pub(super) static core_NodeAddress: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeAddress",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "address", Str, One, Keep),
    ],
};

pub(super) static core_NodeAffinity: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeAffinity",
    fields: &[
        f(1, "requiredDuringSchedulingIgnoredDuringExecution", Nested(&core_NodeSelector), One, Ptr),
        f(2, "preferredDuringSchedulingIgnoredDuringExecution", Nested(&core_PreferredSchedulingTerm), List, Omit),
    ],
};

pub(super) static core_NodeCondition: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastHeartbeatTime", Time, One, Omit),
        f(4, "lastTransitionTime", Time, One, Omit),
        f(5, "reason", Str, One, Omit),
        f(6, "message", Str, One, Omit),
    ],
};

pub(super) static core_NodeConfigSource: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeConfigSource",
    fields: &[
        f(2, "configMap", Nested(&core_ConfigMapNodeConfigSource), One, Ptr),
    ],
};

pub(super) static core_NodeConfigStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeConfigStatus",
    fields: &[
        f(1, "assigned", Nested(&core_NodeConfigSource), One, Ptr),
        f(2, "active", Nested(&core_NodeConfigSource), One, Ptr),
        f(3, "lastKnownGood", Nested(&core_NodeConfigSource), One, Ptr),
        f(4, "error", Str, One, Omit),
    ],
};

pub(super) static core_NodeDaemonEndpoints: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeDaemonEndpoints",
    fields: &[
        f(1, "kubeletEndpoint", Nested(&core_DaemonEndpoint), One, Omit),
    ],
};

pub(super) static core_NodeFeatures: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeFeatures",
    fields: &[
        f(1, "supplementalGroupsPolicy", Bool, One, Ptr),
    ],
};

pub(super) static core_NodeRuntimeHandler: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeRuntimeHandler",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "features", Nested(&core_NodeRuntimeHandlerFeatures), One, Ptr),
    ],
};

pub(super) static core_NodeRuntimeHandlerFeatures: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeRuntimeHandlerFeatures",
    fields: &[
        f(1, "recursiveReadOnlyMounts", Bool, One, Ptr),
        f(2, "userNamespaces", Bool, One, Ptr),
    ],
};

pub(super) static core_NodeSelector: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeSelector",
    fields: &[
        f(1, "nodeSelectorTerms", Nested(&core_NodeSelectorTerm), List, Keep),
    ],
};

pub(super) static core_NodeSelectorRequirement: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeSelectorRequirement",
    fields: &[
        f(1, "key", Str, One, Keep),
        f(2, "operator", Str, One, Keep),
        f(3, "values", Str, List, Omit),
    ],
};

pub(super) static core_NodeSelectorTerm: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeSelectorTerm",
    fields: &[
        f(1, "matchExpressions", Nested(&core_NodeSelectorRequirement), List, Omit),
        f(2, "matchFields", Nested(&core_NodeSelectorRequirement), List, Omit),
    ],
};

pub(super) static core_NodeSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeSpec",
    fields: &[
        f(1, "podCIDR", Str, One, Omit),
        f(2, "externalID", Str, One, Omit),
        f(3, "providerID", Str, One, Omit),
        f(4, "unschedulable", Bool, One, Omit),
        f(5, "taints", Nested(&core_Taint), List, Omit),
        f(6, "configSource", Nested(&core_NodeConfigSource), One, Ptr),
        f(7, "podCIDRs", Str, List, Omit),
    ],
};

pub(super) static core_NodeStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeStatus",
    fields: &[
        f(1, "capacity", Quantity, Map, Omit),
        f(2, "allocatable", Quantity, Map, Omit),
        f(3, "phase", Str, One, Omit),
        f(4, "conditions", Nested(&core_NodeCondition), List, Omit),
        f(5, "addresses", Nested(&core_NodeAddress), List, Omit),
        f(6, "daemonEndpoints", Nested(&core_NodeDaemonEndpoints), One, Omit),
        f(7, "nodeInfo", Nested(&core_NodeSystemInfo), One, Omit),
        f(8, "images", Nested(&core_ContainerImage), List, Omit),
        f(9, "volumesInUse", Str, List, Omit),
        f(10, "volumesAttached", Nested(&core_AttachedVolume), List, Omit),
        f(11, "config", Nested(&core_NodeConfigStatus), One, Ptr),
        f(12, "runtimeHandlers", Nested(&core_NodeRuntimeHandler), List, Omit),
        f(13, "features", Nested(&core_NodeFeatures), One, Ptr),
    ],
};

pub(super) static core_NodeSystemInfo: Msg = Msg {
    name: "k8s.io.api.core.v1.NodeSystemInfo",
    fields: &[
        f(1, "machineID", Str, One, Keep),
        f(2, "systemUUID", Str, One, Keep),
        f(3, "bootID", Str, One, Keep),
        f(4, "kernelVersion", Str, One, Keep),
        f(5, "osImage", Str, One, Keep),
        f(6, "containerRuntimeVersion", Str, One, Keep),
        f(7, "kubeletVersion", Str, One, Keep),
        f(8, "kubeProxyVersion", Str, One, Keep),
        f(9, "operatingSystem", Str, One, Keep),
        f(10, "architecture", Str, One, Keep),
    ],
};

pub(super) static core_ObjectFieldSelector: Msg = Msg {
    name: "k8s.io.api.core.v1.ObjectFieldSelector",
    fields: &[
        f(1, "apiVersion", Str, One, Omit),
        f(2, "fieldPath", Str, One, Keep),
    ],
};

pub(super) static core_ObjectReference: Msg = Msg {
    name: "k8s.io.api.core.v1.ObjectReference",
    fields: &[
        f(1, "kind", Str, One, Omit),
        f(2, "namespace", Str, One, Omit),
        f(3, "name", Str, One, Omit),
        f(4, "uid", Str, One, Omit),
        f(5, "apiVersion", Str, One, Omit),
        f(6, "resourceVersion", Str, One, Omit),
        f(7, "fieldPath", Str, One, Omit),
    ],
};

pub(super) static core_PersistentVolume: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolume",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_PersistentVolumeSpec), One, Omit),
        f(3, "status", Nested(&core_PersistentVolumeStatus), One, Omit),
    ],
};

pub(super) static core_PersistentVolumeClaim: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaim",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_PersistentVolumeClaimSpec), One, Omit),
        f(3, "status", Nested(&core_PersistentVolumeClaimStatus), One, Omit),
    ],
};

pub(super) static core_PersistentVolumeClaimCondition: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastProbeTime", Time, One, Omit),
        f(4, "lastTransitionTime", Time, One, Omit),
        f(5, "reason", Str, One, Omit),
        f(6, "message", Str, One, Omit),
    ],
};

pub(super) static core_PersistentVolumeClaimSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimSpec",
    fields: &[
        f(1, "accessModes", Str, List, Omit),
        f(2, "resources", Nested(&core_VolumeResourceRequirements), One, Omit),
        f(3, "volumeName", Str, One, Omit),
        f(4, "selector", Nested(&meta_LabelSelector), One, Ptr),
        f(5, "storageClassName", Str, One, Ptr),
        f(6, "volumeMode", Str, One, Ptr),
        f(7, "dataSource", Nested(&core_TypedLocalObjectReference), One, Ptr),
        f(8, "dataSourceRef", Nested(&core_TypedObjectReference), One, Ptr),
        f(9, "volumeAttributesClassName", Str, One, Ptr),
    ],
};

pub(super) static core_PersistentVolumeClaimStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimStatus",
    fields: &[
        f(1, "phase", Str, One, Omit),
        f(2, "accessModes", Str, List, Omit),
        f(3, "capacity", Quantity, Map, Omit),
        f(4, "conditions", Nested(&core_PersistentVolumeClaimCondition), List, Omit),
        f(5, "allocatedResources", Quantity, Map, Omit),
        f(7, "allocatedResourceStatuses", Str, Map, Omit),
        f(8, "currentVolumeAttributesClassName", Str, One, Ptr),
        f(9, "modifyVolumeStatus", Nested(&core_ModifyVolumeStatus), One, Ptr),
    ],
};

pub(super) static core_PersistentVolumeClaimTemplate: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimTemplate",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_PersistentVolumeClaimSpec), One, Keep),
    ],
};

pub(super) static core_PersistentVolumeClaimVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimVolumeSource",
    fields: &[
        f(1, "claimName", Str, One, Keep),
        f(2, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_PersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeSource",
    fields: &[
        f(1, "gcePersistentDisk", Nested(&core_GCEPersistentDiskVolumeSource), One, Ptr),
        f(2, "awsElasticBlockStore", Nested(&core_AWSElasticBlockStoreVolumeSource), One, Ptr),
        f(3, "hostPath", Nested(&core_HostPathVolumeSource), One, Ptr),
        f(4, "glusterfs", Nested(&core_GlusterfsPersistentVolumeSource), One, Ptr),
        f(5, "nfs", Nested(&core_NFSVolumeSource), One, Ptr),
        f(6, "rbd", Nested(&core_RBDPersistentVolumeSource), One, Ptr),
        f(7, "iscsi", Nested(&core_ISCSIPersistentVolumeSource), One, Ptr),
        f(8, "cinder", Nested(&core_CinderPersistentVolumeSource), One, Ptr),
        f(9, "cephfs", Nested(&core_CephFSPersistentVolumeSource), One, Ptr),
        f(10, "fc", Nested(&core_FCVolumeSource), One, Ptr),
        f(11, "flocker", Nested(&core_FlockerVolumeSource), One, Ptr),
        f(12, "flexVolume", Nested(&core_FlexPersistentVolumeSource), One, Ptr),
        f(13, "azureFile", Nested(&core_AzureFilePersistentVolumeSource), One, Ptr),
        f(14, "vsphereVolume", Nested(&core_VsphereVirtualDiskVolumeSource), One, Ptr),
        f(15, "quobyte", Nested(&core_QuobyteVolumeSource), One, Ptr),
        f(16, "azureDisk", Nested(&core_AzureDiskVolumeSource), One, Ptr),
        f(17, "photonPersistentDisk", Nested(&core_PhotonPersistentDiskVolumeSource), One, Ptr),
        f(18, "portworxVolume", Nested(&core_PortworxVolumeSource), One, Ptr),
        f(19, "scaleIO", Nested(&core_ScaleIOPersistentVolumeSource), One, Ptr),
        f(20, "local", Nested(&core_LocalVolumeSource), One, Ptr),
        f(21, "storageos", Nested(&core_StorageOSPersistentVolumeSource), One, Ptr),
        f(22, "csi", Nested(&core_CSIPersistentVolumeSource), One, Ptr),
    ],
};

pub(super) static core_PersistentVolumeSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeSpec",
    fields: &[
        f(1, "capacity", Quantity, Map, Omit),
        f(2, "", Inline(&core_PersistentVolumeSource), One, Keep),
        f(3, "accessModes", Str, List, Omit),
        f(4, "claimRef", Nested(&core_ObjectReference), One, Ptr),
        f(5, "persistentVolumeReclaimPolicy", Str, One, Omit),
        f(6, "storageClassName", Str, One, Omit),
        f(7, "mountOptions", Str, List, Omit),
        f(8, "volumeMode", Str, One, Ptr),
        f(9, "nodeAffinity", Nested(&core_VolumeNodeAffinity), One, Ptr),
        f(10, "volumeAttributesClassName", Str, One, Ptr),
    ],
};

pub(super) static core_PersistentVolumeStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.PersistentVolumeStatus",
    fields: &[
        f(1, "phase", Str, One, Omit),
        f(2, "message", Str, One, Omit),
        f(3, "reason", Str, One, Omit),
        f(4, "lastPhaseTransitionTime", Time, One, Ptr),
    ],
};

pub(super) static core_PhotonPersistentDiskVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.PhotonPersistentDiskVolumeSource",
    fields: &[
        f(1, "pdID", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
    ],
};

pub(super) static core_Pod: Msg = Msg {
    name: "k8s.io.api.core.v1.Pod",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_PodSpec), One, Omit),
        f(3, "status", Nested(&core_PodStatus), One, Omit),
    ],
};

pub(super) static core_PodAffinity: Msg = Msg {
    name: "k8s.io.api.core.v1.PodAffinity",
    fields: &[
        f(1, "requiredDuringSchedulingIgnoredDuringExecution", Nested(&core_PodAffinityTerm), List, Omit),
        f(2, "preferredDuringSchedulingIgnoredDuringExecution", Nested(&core_WeightedPodAffinityTerm), List, Omit),
    ],
};

pub(super) static core_PodAffinityTerm: Msg = Msg {
    name: "k8s.io.api.core.v1.PodAffinityTerm",
    fields: &[
        f(1, "labelSelector", Nested(&meta_LabelSelector), One, Ptr),
        f(2, "namespaces", Str, List, Omit),
        f(3, "topologyKey", Str, One, Keep),
        f(4, "namespaceSelector", Nested(&meta_LabelSelector), One, Ptr),
        f(5, "matchLabelKeys", Str, List, Omit),
        f(6, "mismatchLabelKeys", Str, List, Omit),
    ],
};

pub(super) static core_PodAntiAffinity: Msg = Msg {
    name: "k8s.io.api.core.v1.PodAntiAffinity",
    fields: &[
        f(1, "requiredDuringSchedulingIgnoredDuringExecution", Nested(&core_PodAffinityTerm), List, Omit),
        f(2, "preferredDuringSchedulingIgnoredDuringExecution", Nested(&core_WeightedPodAffinityTerm), List, Omit),
    ],
};

pub(super) static core_PodCondition: Msg = Msg {
    name: "k8s.io.api.core.v1.PodCondition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "lastProbeTime", Time, One, Omit),
        f(4, "lastTransitionTime", Time, One, Omit),
        f(5, "reason", Str, One, Omit),
        f(6, "message", Str, One, Omit),
    ],
};

pub(super) static core_PodDNSConfig: Msg = Msg {
    name: "k8s.io.api.core.v1.PodDNSConfig",
    fields: &[
        f(1, "nameservers", Str, List, Omit),
        f(2, "searches", Str, List, Omit),
        f(3, "options", Nested(&core_PodDNSConfigOption), List, Omit),
    ],
};

pub(super) static core_PodDNSConfigOption: Msg = Msg {
    name: "k8s.io.api.core.v1.PodDNSConfigOption",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "value", Str, One, Ptr),
    ],
};

pub(super) static core_PodIP: Msg = Msg {
    name: "k8s.io.api.core.v1.PodIP",
    fields: &[
        f(1, "ip", Str, One, Keep),
    ],
};

pub(super) static core_PodOS: Msg = Msg {
    name: "k8s.io.api.core.v1.PodOS",
    fields: &[
        f(1, "name", Str, One, Keep),
    ],
};

pub(super) static core_PodReadinessGate: Msg = Msg {
    name: "k8s.io.api.core.v1.PodReadinessGate",
    fields: &[
        f(1, "conditionType", Str, One, Keep),
    ],
};

pub(super) static core_PodResourceClaim: Msg = Msg {
    name: "k8s.io.api.core.v1.PodResourceClaim",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(3, "resourceClaimName", Str, One, Ptr),
        f(4, "resourceClaimTemplateName", Str, One, Ptr),
    ],
};

pub(super) static core_PodResourceClaimStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.PodResourceClaimStatus",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "resourceClaimName", Str, One, Ptr),
    ],
};

pub(super) static core_PodSchedulingGate: Msg = Msg {
    name: "k8s.io.api.core.v1.PodSchedulingGate",
    fields: &[
        f(1, "name", Str, One, Keep),
    ],
};

pub(super) static core_PodSecurityContext: Msg = Msg {
    name: "k8s.io.api.core.v1.PodSecurityContext",
    fields: &[
        f(1, "seLinuxOptions", Nested(&core_SELinuxOptions), One, Ptr),
        f(2, "runAsUser", I64, One, Ptr),
        f(3, "runAsNonRoot", Bool, One, Ptr),
        f(4, "supplementalGroups", I64, List, Omit),
        f(5, "fsGroup", I64, One, Ptr),
        f(6, "runAsGroup", I64, One, Ptr),
        f(7, "sysctls", Nested(&core_Sysctl), List, Omit),
        f(8, "windowsOptions", Nested(&core_WindowsSecurityContextOptions), One, Ptr),
        f(9, "fsGroupChangePolicy", Str, One, Ptr),
        f(10, "seccompProfile", Nested(&core_SeccompProfile), One, Ptr),
        f(11, "appArmorProfile", Nested(&core_AppArmorProfile), One, Ptr),
        f(12, "supplementalGroupsPolicy", Str, One, Ptr),
        f(13, "seLinuxChangePolicy", Str, One, Ptr),
    ],
};

pub(super) static core_PodSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.PodSpec",
    fields: &[
        f(1, "volumes", Nested(&core_Volume), List, Omit),
        f(2, "containers", Nested(&core_Container), List, Keep),
        f(3, "restartPolicy", Str, One, Omit),
        f(4, "terminationGracePeriodSeconds", I64, One, Ptr),
        f(5, "activeDeadlineSeconds", I64, One, Ptr),
        f(6, "dnsPolicy", Str, One, Omit),
        f(7, "nodeSelector", Str, Map, Omit),
        f(8, "serviceAccountName", Str, One, Omit),
        f(9, "serviceAccount", Str, One, Omit),
        f(10, "nodeName", Str, One, Omit),
        f(11, "hostNetwork", Bool, One, Omit),
        f(12, "hostPID", Bool, One, Omit),
        f(13, "hostIPC", Bool, One, Omit),
        f(14, "securityContext", Nested(&core_PodSecurityContext), One, Ptr),
        f(15, "imagePullSecrets", Nested(&core_LocalObjectReference), List, Omit),
        f(16, "hostname", Str, One, Omit),
        f(17, "subdomain", Str, One, Omit),
        f(18, "affinity", Nested(&core_Affinity), One, Ptr),
        f(19, "schedulerName", Str, One, Omit),
        f(20, "initContainers", Nested(&core_Container), List, Omit),
        f(21, "automountServiceAccountToken", Bool, One, Ptr),
        f(22, "tolerations", Nested(&core_Toleration), List, Omit),
        f(23, "hostAliases", Nested(&core_HostAlias), List, Omit),
        f(24, "priorityClassName", Str, One, Omit),
        f(25, "priority", I32, One, Ptr),
        f(26, "dnsConfig", Nested(&core_PodDNSConfig), One, Ptr),
        f(27, "shareProcessNamespace", Bool, One, Ptr),
        f(28, "readinessGates", Nested(&core_PodReadinessGate), List, Omit),
        f(29, "runtimeClassName", Str, One, Ptr),
        f(30, "enableServiceLinks", Bool, One, Ptr),
        f(31, "preemptionPolicy", Str, One, Ptr),
        f(32, "overhead", Quantity, Map, Omit),
        f(33, "topologySpreadConstraints", Nested(&core_TopologySpreadConstraint), List, Omit),
        f(34, "ephemeralContainers", Nested(&core_EphemeralContainer), List, Omit),
        f(35, "setHostnameAsFQDN", Bool, One, Ptr),
        f(36, "os", Nested(&core_PodOS), One, Ptr),
        f(37, "hostUsers", Bool, One, Ptr),
        f(38, "schedulingGates", Nested(&core_PodSchedulingGate), List, Omit),
        f(39, "resourceClaims", Nested(&core_PodResourceClaim), List, Omit),
        f(40, "resources", Nested(&core_ResourceRequirements), One, Ptr),
    ],
};

pub(super) static core_PodStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.PodStatus",
    fields: &[
        f(1, "phase", Str, One, Omit),
        f(2, "conditions", Nested(&core_PodCondition), List, Omit),
        f(3, "message", Str, One, Omit),
        f(4, "reason", Str, One, Omit),
        f(5, "hostIP", Str, One, Omit),
        f(6, "podIP", Str, One, Omit),
        f(7, "startTime", Time, One, Ptr),
        f(8, "containerStatuses", Nested(&core_ContainerStatus), List, Omit),
        f(9, "qosClass", Str, One, Omit),
        f(10, "initContainerStatuses", Nested(&core_ContainerStatus), List, Omit),
        f(11, "nominatedNodeName", Str, One, Omit),
        f(12, "podIPs", Nested(&core_PodIP), List, Omit),
        f(13, "ephemeralContainerStatuses", Nested(&core_ContainerStatus), List, Omit),
        f(14, "resize", Str, One, Omit),
        f(15, "resourceClaimStatuses", Nested(&core_PodResourceClaimStatus), List, Omit),
        f(16, "hostIPs", Nested(&core_HostIP), List, Omit),
    ],
};

pub(super) static core_PodTemplateSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.PodTemplateSpec",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_PodSpec), One, Omit),
    ],
};

pub(super) static core_PortStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.PortStatus",
    fields: &[
        f(1, "port", I32, One, Keep),
        f(2, "protocol", Str, One, Keep),
        f(3, "error", Str, One, Ptr),
    ],
};

pub(super) static core_PortworxVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.PortworxVolumeSource",
    fields: &[
        f(1, "volumeID", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_PreferredSchedulingTerm: Msg = Msg {
    name: "k8s.io.api.core.v1.PreferredSchedulingTerm",
    fields: &[
        f(1, "weight", I32, One, Keep),
        f(2, "preference", Nested(&core_NodeSelectorTerm), One, Keep),
    ],
};

pub(super) static core_Probe: Msg = Msg {
    name: "k8s.io.api.core.v1.Probe",
    fields: &[
        f(1, "", Inline(&core_ProbeHandler), One, Keep),
        f(2, "initialDelaySeconds", I32, One, Omit),
        f(3, "timeoutSeconds", I32, One, Omit),
        f(4, "periodSeconds", I32, One, Omit),
        f(5, "successThreshold", I32, One, Omit),
        f(6, "failureThreshold", I32, One, Omit),
        f(7, "terminationGracePeriodSeconds", I64, One, Ptr),
    ],
};

pub(super) static core_ProbeHandler: Msg = Msg {
    name: "k8s.io.api.core.v1.ProbeHandler",
    fields: &[
        f(1, "exec", Nested(&core_ExecAction), One, Ptr),
        f(2, "httpGet", Nested(&core_HTTPGetAction), One, Ptr),
        f(3, "tcpSocket", Nested(&core_TCPSocketAction), One, Ptr),
        f(4, "grpc", Nested(&core_GRPCAction), One, Ptr),
    ],
};

pub(super) static core_ProjectedVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ProjectedVolumeSource",
    fields: &[
        f(1, "sources", Nested(&core_VolumeProjection), List, Keep),
        f(2, "defaultMode", I32, One, Ptr),
    ],
};

pub(super) static core_QuobyteVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.QuobyteVolumeSource",
    fields: &[
        f(1, "registry", Str, One, Keep),
        f(2, "volume", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "user", Str, One, Omit),
        f(5, "group", Str, One, Omit),
        f(6, "tenant", Str, One, Omit),
    ],
};

pub(super) static core_RBDPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.RBDPersistentVolumeSource",
    fields: &[
        f(1, "monitors", Str, List, Keep),
        f(2, "image", Str, One, Keep),
        f(3, "fsType", Str, One, Omit),
        f(4, "pool", Str, One, Omit),
        f(5, "user", Str, One, Omit),
        f(6, "keyring", Str, One, Omit),
        f(7, "secretRef", Nested(&core_SecretReference), One, Ptr),
        f(8, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_RBDVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.RBDVolumeSource",
    fields: &[
        f(1, "monitors", Str, List, Keep),
        f(2, "image", Str, One, Keep),
        f(3, "fsType", Str, One, Omit),
        f(4, "pool", Str, One, Omit),
        f(5, "user", Str, One, Omit),
        f(6, "keyring", Str, One, Omit),
        f(7, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
        f(8, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_ResourceClaim: Msg = Msg {
    name: "k8s.io.api.core.v1.ResourceClaim",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "request", Str, One, Omit),
    ],
};

pub(super) static core_ResourceFieldSelector: Msg = Msg {
    name: "k8s.io.api.core.v1.ResourceFieldSelector",
    fields: &[
        f(1, "containerName", Str, One, Omit),
        f(2, "resource", Str, One, Keep),
        f(3, "divisor", Quantity, One, Omit),
    ],
};

pub(super) static core_ResourceHealth: Msg = Msg {
    name: "k8s.io.api.core.v1.ResourceHealth",
    fields: &[
        f(1, "resourceID", Str, One, Keep),
        f(2, "health", Str, One, Omit),
    ],
};

pub(super) static core_ResourceRequirements: Msg = Msg {
    name: "k8s.io.api.core.v1.ResourceRequirements",
    fields: &[
        f(1, "limits", Quantity, Map, Omit),
        f(2, "requests", Quantity, Map, Omit),
        f(3, "claims", Nested(&core_ResourceClaim), List, Omit),
    ],
};

pub(super) static core_ResourceStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.ResourceStatus",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "resources", Nested(&core_ResourceHealth), List, Omit),
    ],
};

pub(super) static core_SELinuxOptions: Msg = Msg {
    name: "k8s.io.api.core.v1.SELinuxOptions",
    fields: &[
        f(1, "user", Str, One, Omit),
        f(2, "role", Str, One, Omit),
        f(3, "type", Str, One, Omit),
        f(4, "level", Str, One, Omit),
    ],
};

pub(super) static core_ScaleIOPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ScaleIOPersistentVolumeSource",
    fields: &[
        f(1, "gateway", Str, One, Keep),
        f(2, "system", Str, One, Keep),
        f(3, "secretRef", Nested(&core_SecretReference), One, Ptr),
        f(4, "sslEnabled", Bool, One, Omit),
        f(5, "protectionDomain", Str, One, Omit),
        f(6, "storagePool", Str, One, Omit),
        f(7, "storageMode", Str, One, Omit),
        f(8, "volumeName", Str, One, Omit),
        f(9, "fsType", Str, One, Omit),
        f(10, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_ScaleIOVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.ScaleIOVolumeSource",
    fields: &[
        f(1, "gateway", Str, One, Keep),
        f(2, "system", Str, One, Keep),
        f(3, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
        f(4, "sslEnabled", Bool, One, Omit),
        f(5, "protectionDomain", Str, One, Omit),
        f(6, "storagePool", Str, One, Omit),
        f(7, "storageMode", Str, One, Omit),
        f(8, "volumeName", Str, One, Omit),
        f(9, "fsType", Str, One, Omit),
        f(10, "readOnly", Bool, One, Omit),
    ],
};

pub(super) static core_SeccompProfile: Msg = Msg {
    name: "k8s.io.api.core.v1.SeccompProfile",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "localhostProfile", Str, One, Ptr),
    ],
};

pub(super) static core_Secret: Msg = Msg {
    name: "k8s.io.api.core.v1.Secret",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "data", Bytes, Map, Omit),
        f(3, "type", Str, One, Omit),
        f(4, "stringData", Str, Map, Omit),
        f(5, "immutable", Bool, One, Ptr),
    ],
};

pub(super) static core_SecretEnvSource: Msg = Msg {
    name: "k8s.io.api.core.v1.SecretEnvSource",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_SecretKeySelector: Msg = Msg {
    name: "k8s.io.api.core.v1.SecretKeySelector",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "key", Str, One, Keep),
        f(3, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_SecretProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.SecretProjection",
    fields: &[
        f(1, "", Inline(&core_LocalObjectReference), One, Keep),
        f(2, "items", Nested(&core_KeyToPath), List, Omit),
        f(4, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_SecretReference: Msg = Msg {
    name: "k8s.io.api.core.v1.SecretReference",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "namespace", Str, One, Omit),
    ],
};

pub(super) static core_SecretVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.SecretVolumeSource",
    fields: &[
        f(1, "secretName", Str, One, Omit),
        f(2, "items", Nested(&core_KeyToPath), List, Omit),
        f(3, "defaultMode", I32, One, Ptr),
        f(4, "optional", Bool, One, Ptr),
    ],
};

pub(super) static core_SecurityContext: Msg = Msg {
    name: "k8s.io.api.core.v1.SecurityContext",
    fields: &[
        f(1, "capabilities", Nested(&core_Capabilities), One, Ptr),
        f(2, "privileged", Bool, One, Ptr),
        f(3, "seLinuxOptions", Nested(&core_SELinuxOptions), One, Ptr),
        f(4, "runAsUser", I64, One, Ptr),
        f(5, "runAsNonRoot", Bool, One, Ptr),
        f(6, "readOnlyRootFilesystem", Bool, One, Ptr),
        f(7, "allowPrivilegeEscalation", Bool, One, Ptr),
        f(8, "runAsGroup", I64, One, Ptr),
        f(9, "procMount", Str, One, Ptr),
        f(10, "windowsOptions", Nested(&core_WindowsSecurityContextOptions), One, Ptr),
        f(11, "seccompProfile", Nested(&core_SeccompProfile), One, Ptr),
        f(12, "appArmorProfile", Nested(&core_AppArmorProfile), One, Ptr),
    ],
};

pub(super) static core_Service: Msg = Msg {
    name: "k8s.io.api.core.v1.Service",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "spec", Nested(&core_ServiceSpec), One, Omit),
        f(3, "status", Nested(&core_ServiceStatus), One, Omit),
    ],
};

pub(super) static core_ServiceAccount: Msg = Msg {
    name: "k8s.io.api.core.v1.ServiceAccount",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "secrets", Nested(&core_ObjectReference), List, Omit),
        f(3, "imagePullSecrets", Nested(&core_LocalObjectReference), List, Omit),
        f(4, "automountServiceAccountToken", Bool, One, Ptr),
    ],
};

pub(super) static core_ServiceAccountTokenProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.ServiceAccountTokenProjection",
    fields: &[
        f(1, "audience", Str, One, Omit),
        f(2, "expirationSeconds", I64, One, Ptr),
        f(3, "path", Str, One, Keep),
    ],
};

pub(super) static core_ServicePort: Msg = Msg {
    name: "k8s.io.api.core.v1.ServicePort",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "protocol", Str, One, Omit),
        f(3, "port", I32, One, Keep),
        f(4, "targetPort", IntOrStr, One, Omit),
        f(5, "nodePort", I32, One, Omit),
        f(6, "appProtocol", Str, One, Ptr),
    ],
};

pub(super) static core_ServiceSpec: Msg = Msg {
    name: "k8s.io.api.core.v1.ServiceSpec",
    fields: &[
        f(1, "ports", Nested(&core_ServicePort), List, Omit),
        f(2, "selector", Str, Map, Omit),
        f(3, "clusterIP", Str, One, Omit),
        f(4, "type", Str, One, Omit),
        f(5, "externalIPs", Str, List, Omit),
        f(7, "sessionAffinity", Str, One, Omit),
        f(8, "loadBalancerIP", Str, One, Omit),
        f(9, "loadBalancerSourceRanges", Str, List, Omit),
        f(10, "externalName", Str, One, Omit),
        f(11, "externalTrafficPolicy", Str, One, Omit),
        f(12, "healthCheckNodePort", I32, One, Omit),
        f(13, "publishNotReadyAddresses", Bool, One, Omit),
        f(14, "sessionAffinityConfig", Nested(&core_SessionAffinityConfig), One, Ptr),
        f(17, "ipFamilyPolicy", Str, One, Ptr),
        f(18, "clusterIPs", Str, List, Omit),
        f(19, "ipFamilies", Str, List, Omit),
        f(20, "allocateLoadBalancerNodePorts", Bool, One, Ptr),
        f(21, "loadBalancerClass", Str, One, Ptr),
        f(22, "internalTrafficPolicy", Str, One, Ptr),
        f(23, "trafficDistribution", Str, One, Ptr),
    ],
};

pub(super) static core_ServiceStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.ServiceStatus",
    fields: &[
        f(1, "loadBalancer", Nested(&core_LoadBalancerStatus), One, Omit),
        f(2, "conditions", Nested(&meta_Condition), List, Omit),
    ],
};

pub(super) static core_SessionAffinityConfig: Msg = Msg {
    name: "k8s.io.api.core.v1.SessionAffinityConfig",
    fields: &[
        f(1, "clientIP", Nested(&core_ClientIPConfig), One, Ptr),
    ],
};

pub(super) static core_SleepAction: Msg = Msg {
    name: "k8s.io.api.core.v1.SleepAction",
    fields: &[
        f(1, "seconds", I64, One, Keep),
    ],
};

pub(super) static core_StorageOSPersistentVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.StorageOSPersistentVolumeSource",
    fields: &[
        f(1, "volumeName", Str, One, Omit),
        f(2, "volumeNamespace", Str, One, Omit),
        f(3, "fsType", Str, One, Omit),
        f(4, "readOnly", Bool, One, Omit),
        f(5, "secretRef", Nested(&core_ObjectReference), One, Ptr),
    ],
};

pub(super) static core_StorageOSVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.StorageOSVolumeSource",
    fields: &[
        f(1, "volumeName", Str, One, Omit),
        f(2, "volumeNamespace", Str, One, Omit),
        f(3, "fsType", Str, One, Omit),
        f(4, "readOnly", Bool, One, Omit),
        f(5, "secretRef", Nested(&core_LocalObjectReference), One, Ptr),
    ],
};

pub(super) static core_Sysctl: Msg = Msg {
    name: "k8s.io.api.core.v1.Sysctl",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "value", Str, One, Keep),
    ],
};

pub(super) static core_TCPSocketAction: Msg = Msg {
    name: "k8s.io.api.core.v1.TCPSocketAction",
    fields: &[
        f(1, "port", IntOrStr, One, Keep),
        f(2, "host", Str, One, Omit),
    ],
};

pub(super) static core_Taint: Msg = Msg {
    name: "k8s.io.api.core.v1.Taint",
    fields: &[
        f(1, "key", Str, One, Keep),
        f(2, "value", Str, One, Omit),
        f(3, "effect", Str, One, Keep),
        f(4, "timeAdded", Time, One, Ptr),
    ],
};

pub(super) static core_Toleration: Msg = Msg {
    name: "k8s.io.api.core.v1.Toleration",
    fields: &[
        f(1, "key", Str, One, Omit),
        f(2, "operator", Str, One, Omit),
        f(3, "value", Str, One, Omit),
        f(4, "effect", Str, One, Omit),
        f(5, "tolerationSeconds", I64, One, Ptr),
    ],
};

pub(super) static core_TopologySelectorLabelRequirement: Msg = Msg {
    name: "k8s.io.api.core.v1.TopologySelectorLabelRequirement",
    fields: &[
        f(1, "key", Str, One, Keep),
        f(2, "values", Str, List, Keep),
    ],
};

pub(super) static core_TopologySelectorTerm: Msg = Msg {
    name: "k8s.io.api.core.v1.TopologySelectorTerm",
    fields: &[
        f(1, "matchLabelExpressions", Nested(&core_TopologySelectorLabelRequirement), List, Omit),
    ],
};

pub(super) static core_TopologySpreadConstraint: Msg = Msg {
    name: "k8s.io.api.core.v1.TopologySpreadConstraint",
    fields: &[
        f(1, "maxSkew", I32, One, Keep),
        f(2, "topologyKey", Str, One, Keep),
        f(3, "whenUnsatisfiable", Str, One, Keep),
        f(4, "labelSelector", Nested(&meta_LabelSelector), One, Ptr),
        f(5, "minDomains", I32, One, Ptr),
        f(6, "nodeAffinityPolicy", Str, One, Ptr),
        f(7, "nodeTaintsPolicy", Str, One, Ptr),
        f(8, "matchLabelKeys", Str, List, Omit),
    ],
};

pub(super) static core_TypedLocalObjectReference: Msg = Msg {
    name: "k8s.io.api.core.v1.TypedLocalObjectReference",
    fields: &[
        f(1, "apiGroup", Str, One, Ptr),
        f(2, "kind", Str, One, Keep),
        f(3, "name", Str, One, Keep),
    ],
};

pub(super) static core_TypedObjectReference: Msg = Msg {
    name: "k8s.io.api.core.v1.TypedObjectReference",
    fields: &[
        f(1, "apiGroup", Str, One, Ptr),
        f(2, "kind", Str, One, Keep),
        f(3, "name", Str, One, Keep),
        f(4, "namespace", Str, One, Ptr),
    ],
};

pub(super) static core_Volume: Msg = Msg {
    name: "k8s.io.api.core.v1.Volume",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "", Inline(&core_VolumeSource), One, Keep),
    ],
};

pub(super) static core_VolumeDevice: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeDevice",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "devicePath", Str, One, Keep),
    ],
};

pub(super) static core_VolumeMount: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeMount",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "readOnly", Bool, One, Omit),
        f(3, "mountPath", Str, One, Keep),
        f(4, "subPath", Str, One, Omit),
        f(5, "mountPropagation", Str, One, Ptr),
        f(6, "subPathExpr", Str, One, Omit),
        f(7, "recursiveReadOnly", Str, One, Ptr),
    ],
};

pub(super) static core_VolumeMountStatus: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeMountStatus",
    fields: &[
        f(1, "name", Str, One, Keep),
        f(2, "mountPath", Str, One, Keep),
        f(3, "readOnly", Bool, One, Omit),
        f(4, "recursiveReadOnly", Str, One, Ptr),
    ],
};

pub(super) static core_VolumeNodeAffinity: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeNodeAffinity",
    fields: &[
        f(1, "required", Nested(&core_NodeSelector), One, Ptr),
    ],
};

pub(super) static core_VolumeProjection: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeProjection",
    fields: &[
        f(1, "secret", Nested(&core_SecretProjection), One, Ptr),
        f(2, "downwardAPI", Nested(&core_DownwardAPIProjection), One, Ptr),
        f(3, "configMap", Nested(&core_ConfigMapProjection), One, Ptr),
        f(4, "serviceAccountToken", Nested(&core_ServiceAccountTokenProjection), One, Ptr),
        f(5, "clusterTrustBundle", Nested(&core_ClusterTrustBundleProjection), One, Ptr),
    ],
};

pub(super) static core_VolumeResourceRequirements: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeResourceRequirements",
    fields: &[
        f(1, "limits", Quantity, Map, Omit),
        f(2, "requests", Quantity, Map, Omit),
    ],
};

pub(super) static core_VolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.VolumeSource",
    fields: &[
        f(1, "hostPath", Nested(&core_HostPathVolumeSource), One, Ptr),
        f(2, "emptyDir", Nested(&core_EmptyDirVolumeSource), One, Ptr),
        f(3, "gcePersistentDisk", Nested(&core_GCEPersistentDiskVolumeSource), One, Ptr),
        f(4, "awsElasticBlockStore", Nested(&core_AWSElasticBlockStoreVolumeSource), One, Ptr),
        f(5, "gitRepo", Nested(&core_GitRepoVolumeSource), One, Ptr),
        f(6, "secret", Nested(&core_SecretVolumeSource), One, Ptr),
        f(7, "nfs", Nested(&core_NFSVolumeSource), One, Ptr),
        f(8, "iscsi", Nested(&core_ISCSIVolumeSource), One, Ptr),
        f(9, "glusterfs", Nested(&core_GlusterfsVolumeSource), One, Ptr),
        f(10, "persistentVolumeClaim", Nested(&core_PersistentVolumeClaimVolumeSource), One, Ptr),
        f(11, "rbd", Nested(&core_RBDVolumeSource), One, Ptr),
        f(12, "flexVolume", Nested(&core_FlexVolumeSource), One, Ptr),
        f(13, "cinder", Nested(&core_CinderVolumeSource), One, Ptr),
        f(14, "cephfs", Nested(&core_CephFSVolumeSource), One, Ptr),
        f(15, "flocker", Nested(&core_FlockerVolumeSource), One, Ptr),
        f(16, "downwardAPI", Nested(&core_DownwardAPIVolumeSource), One, Ptr),
        f(17, "fc", Nested(&core_FCVolumeSource), One, Ptr),
        f(18, "azureFile", Nested(&core_AzureFileVolumeSource), One, Ptr),
        f(19, "configMap", Nested(&core_ConfigMapVolumeSource), One, Ptr),
        f(20, "vsphereVolume", Nested(&core_VsphereVirtualDiskVolumeSource), One, Ptr),
        f(21, "quobyte", Nested(&core_QuobyteVolumeSource), One, Ptr),
        f(22, "azureDisk", Nested(&core_AzureDiskVolumeSource), One, Ptr),
        f(23, "photonPersistentDisk", Nested(&core_PhotonPersistentDiskVolumeSource), One, Ptr),
        f(24, "portworxVolume", Nested(&core_PortworxVolumeSource), One, Ptr),
        f(25, "scaleIO", Nested(&core_ScaleIOVolumeSource), One, Ptr),
        f(26, "projected", Nested(&core_ProjectedVolumeSource), One, Ptr),
        f(27, "storageos", Nested(&core_StorageOSVolumeSource), One, Ptr),
        f(28, "csi", Nested(&core_CSIVolumeSource), One, Ptr),
        f(29, "ephemeral", Nested(&core_EphemeralVolumeSource), One, Ptr),
        f(30, "image", Nested(&core_ImageVolumeSource), One, Ptr),
    ],
};

pub(super) static core_VsphereVirtualDiskVolumeSource: Msg = Msg {
    name: "k8s.io.api.core.v1.VsphereVirtualDiskVolumeSource",
    fields: &[
        f(1, "volumePath", Str, One, Keep),
        f(2, "fsType", Str, One, Omit),
        f(3, "storagePolicyName", Str, One, Omit),
        f(4, "storagePolicyID", Str, One, Omit),
    ],
};

pub(super) static core_WeightedPodAffinityTerm: Msg = Msg {
    name: "k8s.io.api.core.v1.WeightedPodAffinityTerm",
    fields: &[
        f(1, "weight", I32, One, Keep),
        f(2, "podAffinityTerm", Nested(&core_PodAffinityTerm), One, Keep),
    ],
};

pub(super) static core_WindowsSecurityContextOptions: Msg = Msg {
    name: "k8s.io.api.core.v1.WindowsSecurityContextOptions",
    fields: &[
        f(1, "gmsaCredentialSpecName", Str, One, Ptr),
        f(2, "gmsaCredentialSpec", Str, One, Ptr),
        f(3, "runAsUserName", Str, One, Ptr),
        f(4, "hostProcess", Bool, One, Ptr),
    ],
};

pub(super) static disc_Endpoint: Msg = Msg {
    name: "k8s.io.api.discovery.v1.Endpoint",
    fields: &[
        f(1, "addresses", Str, List, Keep),
        f(2, "conditions", Nested(&disc_EndpointConditions), One, Omit),
        f(3, "hostname", Str, One, Ptr),
        f(4, "targetRef", Nested(&core_ObjectReference), One, Ptr),
        f(5, "deprecatedTopology", Str, Map, Omit),
        f(6, "nodeName", Str, One, Ptr),
        f(7, "zone", Str, One, Ptr),
        f(8, "hints", Nested(&disc_EndpointHints), One, Ptr),
    ],
};

pub(super) static disc_EndpointConditions: Msg = Msg {
    name: "k8s.io.api.discovery.v1.EndpointConditions",
    fields: &[
        f(1, "ready", Bool, One, Ptr),
        f(2, "serving", Bool, One, Ptr),
        f(3, "terminating", Bool, One, Ptr),
    ],
};

pub(super) static disc_EndpointHints: Msg = Msg {
    name: "k8s.io.api.discovery.v1.EndpointHints",
    fields: &[
        f(1, "forZones", Nested(&disc_ForZone), List, Omit),
    ],
};

pub(super) static disc_EndpointPort: Msg = Msg {
    name: "k8s.io.api.discovery.v1.EndpointPort",
    fields: &[
        f(1, "name", Str, One, Ptr),
        f(2, "protocol", Str, One, Ptr),
        f(3, "port", I32, One, Ptr),
        f(4, "appProtocol", Str, One, Ptr),
    ],
};

pub(super) static disc_EndpointSlice: Msg = Msg {
    name: "k8s.io.api.discovery.v1.EndpointSlice",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "endpoints", Nested(&disc_Endpoint), List, Keep),
        f(3, "ports", Nested(&disc_EndpointPort), List, Keep),
        f(4, "addressType", Str, One, Keep),
    ],
};

pub(super) static disc_ForZone: Msg = Msg {
    name: "k8s.io.api.discovery.v1.ForZone",
    fields: &[
        f(1, "name", Str, One, Keep),
    ],
};

pub(super) static events_Event: Msg = Msg {
    name: "k8s.io.api.events.v1.Event",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Keep),
        f(2, "eventTime", MicroTime, One, Keep),
        f(3, "series", Nested(&events_EventSeries), One, Ptr),
        f(4, "reportingController", Str, One, Omit),
        f(5, "reportingInstance", Str, One, Omit),
        f(6, "action", Str, One, Omit),
        f(7, "reason", Str, One, Omit),
        f(8, "regarding", Nested(&core_ObjectReference), One, Omit),
        f(9, "related", Nested(&core_ObjectReference), One, Ptr),
        f(10, "note", Str, One, Omit),
        f(11, "type", Str, One, Omit),
        f(12, "deprecatedSource", Nested(&core_EventSource), One, Omit),
        f(13, "deprecatedFirstTimestamp", Time, One, Omit),
        f(14, "deprecatedLastTimestamp", Time, One, Omit),
        f(15, "deprecatedCount", I32, One, Omit),
    ],
};

pub(super) static events_EventSeries: Msg = Msg {
    name: "k8s.io.api.events.v1.EventSeries",
    fields: &[
        f(1, "count", I32, One, Keep),
        f(2, "lastObservedTime", MicroTime, One, Keep),
    ],
};

pub(super) static meta_Condition: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.Condition",
    fields: &[
        f(1, "type", Str, One, Keep),
        f(2, "status", Str, One, Keep),
        f(3, "observedGeneration", I64, One, Omit),
        f(4, "lastTransitionTime", Time, One, Keep),
        f(5, "reason", Str, One, Keep),
        f(6, "message", Str, One, Keep),
    ],
};

pub(super) static meta_DeleteOptions: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    fields: &[
        f(1, "gracePeriodSeconds", I64, One, Ptr),
        f(2, "preconditions", Nested(&meta_Preconditions), One, Ptr),
        f(3, "orphanDependents", Bool, One, Ptr),
        f(4, "propagationPolicy", Str, One, Ptr),
        f(5, "dryRun", Str, List, Omit),
        f(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool, One, Ptr),
    ],
};

pub(super) static meta_LabelSelector: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector",
    fields: &[
        f(1, "matchLabels", Str, Map, Omit),
        f(2, "matchExpressions", Nested(&meta_LabelSelectorRequirement), List, Omit),
    ],
};

pub(super) static meta_LabelSelectorRequirement: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    fields: &[
        f(1, "key", Str, One, Keep),
        f(2, "operator", Str, One, Keep),
        f(3, "values", Str, List, Omit),
    ],
};

pub(super) static meta_ManagedFieldsEntry: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    fields: &[
        f(1, "manager", Str, One, Omit),
        f(2, "operation", Str, One, Omit),
        f(3, "apiVersion", Str, One, Omit),
        f(4, "time", Time, One, Ptr),
        f(6, "fieldsType", Str, One, Omit),
        f(7, "fieldsV1", Raw, One, Ptr),
        f(8, "subresource", Str, One, Omit),
    ],
};

pub(super) static meta_ObjectMeta: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    fields: &[
        f(1, "name", Str, One, Omit),
        f(2, "generateName", Str, One, Omit),
        f(3, "namespace", Str, One, Omit),
        f(4, "selfLink", Str, One, Omit),
        f(5, "uid", Str, One, Omit),
        f(6, "resourceVersion", Str, One, Omit),
        f(7, "generation", I64, One, Omit),
        f(8, "creationTimestamp", Time, One, Omit),
        f(9, "deletionTimestamp", Time, One, Ptr),
        f(10, "deletionGracePeriodSeconds", I64, One, Ptr),
        f(11, "labels", Str, Map, Omit),
        f(12, "annotations", Str, Map, Omit),
        f(13, "ownerReferences", Nested(&meta_OwnerReference), List, Omit),
        f(14, "finalizers", Str, List, Omit),
        f(17, "managedFields", Nested(&meta_ManagedFieldsEntry), List, Omit),
    ],
};

pub(super) static meta_OwnerReference: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference",
    fields: &[
        f(1, "kind", Str, One, Keep),
        f(3, "name", Str, One, Keep),
        f(4, "uid", Str, One, Keep),
        f(5, "apiVersion", Str, One, Keep),
        f(6, "controller", Bool, One, Ptr),
        f(7, "blockOwnerDeletion", Bool, One, Ptr),
    ],
};

pub(super) static meta_Preconditions: Msg = Msg {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions",
    fields: &[
        f(1, "uid", Str, One, Ptr),
        f(2, "resourceVersion", Str, One, Ptr),
    ],
};

pub(super) static policy_Eviction: Msg = Msg {
    name: "k8s.io.api.policy.v1.Eviction",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "deleteOptions", Nested(&meta_DeleteOptions), One, Ptr),
    ],
};

pub(super) static storage_StorageClass: Msg = Msg {
    name: "k8s.io.api.storage.v1.StorageClass",
    fields: &[
        f(1, "metadata", Nested(&meta_ObjectMeta), One, Omit),
        f(2, "provisioner", Str, One, Keep),
        f(3, "parameters", Str, Map, Omit),
        f(4, "reclaimPolicy", Str, One, Ptr),
        f(5, "mountOptions", Str, List, Omit),
        f(6, "allowVolumeExpansion", Bool, One, Ptr),
        f(7, "volumeBindingMode", Str, One, Ptr),
        f(8, "allowedTopologies", Nested(&core_TopologySelectorTerm), List, Omit),
    ],
};
