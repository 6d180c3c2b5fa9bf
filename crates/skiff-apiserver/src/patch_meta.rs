//! Patch metadata of the built-in types: which lists merge by key (`patchStrategy: merge`,
//! `patchMergeKey`) and which replace. Strategic merge patch, server-side apply and the
//! OpenAPI extensions (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) all read
//! this one table.

/// How a field of a definition merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PatchMeta {
    /// `merge`, `retainKeys`, or `merge,retainKeys`.
    pub strategy: &'static str,
    /// The key that identifies list items, for lists of objects that merge.
    pub merge_key: Option<&'static str>,
}

/// Patch metadata of `property` of the definition `definition`
/// (e.g. `io.k8s.api.core.v1.PodSpec`, `containers`).
pub(crate) fn lookup(definition: &str, property: &str) -> Option<PatchMeta> {
    let _ = (definition, property);
    None
}
