//! ECC counters from `nvidia-smi -q` text and the corrected-error rate, for Python.

use crate::convert::to_py;
use crate::errors::{guard, guard_lib};
use gpuguard::ecc::EccSample;
use pyo3::prelude::*;

/// Parses `nvidia-smi -q` (or `-q -d ECC`) text: one dict per GPU with volatile/aggregate
/// corrected and uncorrected counts, retired pages and remapped rows (None where N/A).
#[pyfunction]
fn parse_nvidia_smi_q<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(|| to_py(py, &gpuguard::ecc::parse_nvidia_smi_q(text)))
}

/// Rate of corrected ECC errors over `samples` of `(time_seconds, corrected)`; `alert` is true
/// when the rate between two consecutive samples exceeds `threshold_per_hour`.
#[pyfunction]
#[pyo3(signature = (samples, threshold_per_hour=100.0))]
fn corrected_error_rate<'py>(
    py: Python<'py>,
    samples: Vec<(f64, u64)>,
    threshold_per_hour: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let samples: Vec<EccSample> =
        samples.into_iter().map(|(time_seconds, corrected)| EccSample { time_seconds, corrected }).collect();
    let rate = guard_lib(|| gpuguard::ecc::corrected_error_rate(&samples, threshold_per_hour))?;
    to_py(py, &rate)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_nvidia_smi_q, m)?)?;
    m.add_function(wrap_pyfunction!(corrected_error_rate, m)?)?;
    Ok(())
}
