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

/// `error` with `invalid argument `{name}`: ` in front of its message, same exception type.
///
/// PyO3 names an argument it could not convert only in a PEP 678 note (`while processing
/// 'rule'`), which `str(e)` and most log lines leave out; python/gpuguard/_named.py moves that
/// note into the message for functions and methods, and constructors use [`arg`].
pub fn named(py: Python<'_>, name: &str, error: PyErr) -> PyErr {
    let message = error.value(py).to_string();
    PyErr::from_type(error.get_type(py), format!("invalid argument `{name}`: {message}"))
}

/// Argument `name` converted by PyO3's own rules (`str`, `int`, lists of pyclasses…), with the
/// argument named in the message of the `TypeError` (or `OverflowError`) when it does not fit.
pub fn arg<'a, 'py, T>(name: &str, value: &'a Bound<'py, PyAny>) -> PyResult<T>
where
    T: FromPyObject<'a, 'py>,
    T::Error: Into<PyErr>,
{
    value.extract::<T>().map_err(|e| named(value.py(), name, e.into()))
}

/// [`arg`] for an optional argument whose default is `None`.
pub fn opt_arg<'a, 'py, T>(name: &str, value: Option<&'a Bound<'py, PyAny>>) -> PyResult<Option<T>>
where
    T: FromPyObject<'a, 'py>,
    T::Error: Into<PyErr>,
{
    value.filter(|v| !v.is_none()).map(|v| arg(name, v)).transpose()
}
