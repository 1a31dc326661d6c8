//! The footgun catalog for Python.

use crate::convert::to_py;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;

/// One of the ten footguns, with its docs.
#[pyclass(module = "gpuguard", name = "Footgun", frozen)]
#[derive(Debug)]
pub struct PyFootgun(&'static gpuguard::Footgun);

#[pymethods]
impl PyFootgun {
    #[getter]
    fn id(&self) -> &'static str {
        self.0.id
    }
    #[getter]
    fn slug(&self) -> &'static str {
        self.0.slug
    }
    #[getter]
    fn title(&self) -> &'static str {
        self.0.title
    }
    #[getter]
    fn what(&self) -> &'static str {
        self.0.what
    }
    #[getter]
    fn why(&self) -> &'static str {
        self.0.why
    }
    #[getter]
    fn fix(&self) -> &'static str {
        self.0.fix
    }
    #[getter]
    fn example(&self) -> &'static str {
        self.0.example
    }
    #[getter]
    fn caught_by(&self) -> Vec<&'static str> {
        self.0.caught_by.to_vec()
    }
    #[getter]
    fn default_severity(&self) -> &'static str {
        self.0.default_severity.as_str()
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.0)
    }
    fn __repr__(&self) -> String {
        format!("<Footgun {} {}: {}>", self.0.id, self.0.slug, self.0.title)
    }
}

/// The ten footguns, GG001 to GG010.
#[pyfunction]
fn footguns() -> Vec<PyFootgun> {
    gpuguard::catalog().iter().map(PyFootgun).collect()
}

/// One footgun by id (`"GG001"`) or slug (`"dev-shm"`); `KeyError` if unknown.
#[pyfunction]
fn footgun(key: &str) -> PyResult<PyFootgun> {
    gpuguard::footgun(key)
        .map(PyFootgun)
        .ok_or_else(|| PyKeyError::new_err(format!("unknown footgun {key:?}; expected GG001-GG010 or a slug")))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFootgun>()?;
    m.add_function(wrap_pyfunction!(footguns, m)?)?;
    m.add_function(wrap_pyfunction!(footgun, m)?)?;
    Ok(())
}
