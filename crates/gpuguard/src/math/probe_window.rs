//! Probe windows: how long Kubernetes waits before a probe acts, and whether a model can load
//! inside it.

use crate::error::check_non_negative;
use crate::{Error, Result};
use serde::Serialize;

/// The timing fields of a Kubernetes probe, with Kubernetes' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProbeTiming {
    /// `initialDelaySeconds` (default 0).
    pub initial_delay_seconds: u32,
    /// `periodSeconds` (default 10, minimum 1).
    pub period_seconds: u32,
    /// `failureThreshold` (default 3, minimum 1).
    pub failure_threshold: u32,
}

impl Default for ProbeTiming {
    fn default() -> Self {
        ProbeTiming { initial_delay_seconds: 0, period_seconds: 10, failure_threshold: 3 }
    }
}

impl ProbeTiming {
    /// Seconds from container start until the probe can act (restart or mark unready) if the
    /// server never answers: `initialDelaySeconds + failureThreshold × periodSeconds`.
    ///
    /// ```
    /// assert_eq!(gpuguard::ProbeTiming::default().window_seconds(), 30);
    /// ```
    pub fn window_seconds(&self) -> u64 {
        u64::from(self.initial_delay_seconds)
            + u64::from(self.failure_threshold.max(1)) * u64::from(self.period_seconds.max(1))
    }
}

/// The window of a probe, validating the fields as the API server does.
///
/// ```
/// assert_eq!(gpuguard::probe_window_seconds(0, 10, 3).unwrap(), 30);
/// assert_eq!(gpuguard::probe_window_seconds(60, 10, 30).unwrap(), 360);
/// assert!(gpuguard::probe_window_seconds(0, 0, 3).is_err());
/// ```
pub fn probe_window_seconds(initial_delay_seconds: u32, period_seconds: u32, failure_threshold: u32) -> Result<u64> {
    if period_seconds == 0 {
        return Err(Error::invalid("period_seconds", "must be at least 1 (Kubernetes' minimum)"));
    }
    if failure_threshold == 0 {
        return Err(Error::invalid("failure_threshold", "must be at least 1 (Kubernetes' minimum)"));
    }
    Ok(ProbeTiming { initial_delay_seconds, period_seconds, failure_threshold }.window_seconds())
}

/// Estimated seconds to load a model: `model_bytes / read_bytes_per_second` plus a fixed
/// `overhead_seconds` (process start, CUDA context, allocator warm-up: 20-60 s is typical for
/// vLLM-class servers).
///
/// ```
/// // 140 GB at 1 GB/s plus 30 s of start-up.
/// assert_eq!(gpuguard::estimate_load_seconds(140e9, 1e9, 30.0).unwrap(), 170.0);
/// assert!(gpuguard::estimate_load_seconds(1.0, 0.0, 0.0).is_err());
/// ```
pub fn estimate_load_seconds(model_bytes: f64, read_bytes_per_second: f64, overhead_seconds: f64) -> Result<f64> {
    let bytes = check_non_negative("model_bytes", model_bytes, false)?;
    let rate = check_non_negative("read_bytes_per_second", read_bytes_per_second, true)?;
    let overhead = check_non_negative("overhead_seconds", overhead_seconds, false)?;
    Ok(bytes / rate + overhead)
}

/// Whether a startup window covers `safety_factor` × the expected load time (2 is gpuguard's
/// rule: loads are slower on a cold node or a busy volume).
///
/// ```
/// assert!(gpuguard::startup_window_covers(600.0, 170.0, 2.0).unwrap());
/// assert!(!gpuguard::startup_window_covers(30.0, 170.0, 2.0).unwrap());
/// ```
pub fn startup_window_covers(window_seconds: f64, load_seconds: f64, safety_factor: f64) -> Result<bool> {
    let window = check_non_negative("window_seconds", window_seconds, false)?;
    let load = check_non_negative("load_seconds", load_seconds, false)?;
    let factor = check_non_negative("safety_factor", safety_factor, true)?;
    Ok(window >= factor * load)
}
