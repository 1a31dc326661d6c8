//! GPU memory ECC health (GG005): counters parsed from `nvidia-smi -q` text, and the rate of
//! corrected errors over time, the leading sign of an uncorrectable failure.

mod check;
mod rate;
mod smi;

pub use check::{ecc_findings, ecc_metrics, ecc_rate_finding};
pub use rate::{EccRate, EccSample, corrected_error_rate};
pub use smi::{GpuEcc, parse_nvidia_smi_q, smi_timestamp_seconds};
