//! The math behind the checks, as pure functions: plain values in, plain values out, a typed
//! [`crate::Error::InvalidArgument`] naming the argument for anything outside the domain.

pub mod checkpoint;
pub mod gpu_resources;
pub mod probe_window;
pub mod quantity;
pub mod shm;
