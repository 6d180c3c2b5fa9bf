//! Kernel primitives for skiff: namespaces, cgroups (v1, v2 and hybrid hosts),
//! capabilities, seccomp, LSM labels, mounts and pivot_root, devices and rlimits.
//!
//! Owns: every direct system call the layers above need to build a container.
//! Must not touch: OCI bundles, container state directories or any CLI surface;
//! those belong to `skiff-runtime`. Types from `oci-spec` are accepted as input so
//! callers do not translate them twice.

pub mod capabilities;
pub mod cgroups;
pub mod devices;
pub mod lsm;
pub mod mounts;
pub mod namespaces;
pub mod nsdiscovery;
pub mod nsenter;
pub mod process;
pub mod rlimits;
pub mod seccomp;
pub mod syscall;
