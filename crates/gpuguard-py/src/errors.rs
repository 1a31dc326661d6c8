//! The one place Rust errors become Python exceptions.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

pyo3::create_exception!(gpuguard, GpuGuardError, PyException, "Base class of every gpuguard error.");
pyo3::create_exception!(
    gpuguard,
    PreflightError,
    GpuGuardError,
    "Raised by preflight(strict=True) when findings fail the check; `.report` holds them."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GpuGuardError", m.py().get_type::<GpuGuardError>())?;
    m.add("PreflightError", m.py().get_type::<PreflightError>())?;
    Ok(())
}

/// Maps a library error: bad arguments are `ValueError` (naming the argument), the rest
/// `GpuGuardError`.
pub fn to_py(e: gpuguard::Error) -> PyErr {
    match e {
        gpuguard::Error::InvalidArgument { .. } => PyValueError::new_err(e.to_string()),
        other => GpuGuardError::new_err(other.to_string()),
    }
}

/// Runs `f`, turning a panic into `GpuGuardError` so it never reaches Python as a
/// `PanicException` (a `BaseException` that `except Exception` does not catch).
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(GpuGuardError::new_err(format!("internal error in gpuguard (please report it): {what}")))
        }
    }
}

/// Like [`guard`] for functions returning the library's `Result`.
pub fn guard_lib<T>(f: impl FnOnce() -> gpuguard::Result<T>) -> PyResult<T> {
    guard(|| f().map_err(to_py))
}

/// A non-negative integer argument, or `ValueError` naming it.
pub fn non_negative(name: &str, value: i64) -> PyResult<u64> {
    u64::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("invalid argument `{name}`: must not be negative, got {value}")))
}
