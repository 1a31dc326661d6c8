//! The exposition writer the agent serves `/metrics` with: the core crate's
//! [`gpuguard::render::prometheus`] writer (through `prometheus-client`), so the agent, `gpuguard
//! xid --format prometheus` and `gpuguard doctor --format prometheus` share one writer.

pub use gpuguard::render::prometheus::{Format, OPENMETRICS_CONTENT_TYPE, encode};
