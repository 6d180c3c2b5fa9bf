//! The OCI runtime: turns a bundle (`config.json` + rootfs) into a running
//! container and manages it through the runtime-spec lifecycle, behind a
//! runc-compatible command line.
//!
//! Owns: the container state directory, the lifecycle verbs and their state
//! transitions, hooks, the console socket, and the container init process up to
//! `execve`.
//! Must not touch: images, registries, networks or pods (those are the engine's
//! and the agent's); raw kernel interfaces beyond what `skiff-linux` exposes.

pub mod bench;
pub mod cli;
pub mod container;
pub mod error;
pub mod exec;
pub mod hooks;
pub mod init;
pub mod rootfs;
pub mod spec;
pub mod state;
pub mod wait;

pub use error::{Result, RuntimeError};
