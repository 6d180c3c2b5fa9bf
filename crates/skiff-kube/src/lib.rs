//! skiff-kube: values of the Kubernetes API that the scheduler and the
//! node agent both compute with: resource quantities, parsed exactly.
//!
//! Must not touch: anything but strings and numbers (no I/O, no API
//! objects); the API server's validation keeps its own syntax checks and
//! messages.

pub mod quantity;
