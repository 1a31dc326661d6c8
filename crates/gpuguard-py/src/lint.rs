//! `lint_manifests` and `lint_paths`: the manifest linter, returning a `Report`. Parsing and rules
//! run with the GIL released.

use crate::errors::guard;
use crate::report::PyReport;
use gpuguard::lint::LintOptions;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::path::PathBuf;

fn options(ignore_annotations: bool) -> LintOptions {
    LintOptions { ignore_annotations, ..LintOptions::default() }
}

/// Lints manifest text (one or more YAML/JSON documents); `filename` names it in findings.
#[pyfunction]
#[pyo3(signature = (text, filename="<string>", ignore_annotations=true))]
fn lint_manifests(py: Python<'_>, text: &str, filename: &str, ignore_annotations: bool) -> PyResult<PyReport> {
    guard(|| Ok(PyReport(py.detach(|| gpuguard::lint::lint_text(text, filename, &options(ignore_annotations))))))
}

/// Lints files and directories (recursively: regular *.yaml, *.yml, *.json files). `paths` is one
/// path or a list of them; unreadable inputs become report errors, like invalid YAML.
#[pyfunction]
#[pyo3(signature = (paths, ignore_annotations=true))]
fn lint_paths(py: Python<'_>, paths: &Bound<'_, PyAny>, ignore_annotations: bool) -> PyResult<PyReport> {
    let paths: Vec<PathBuf> = match paths.extract::<PathBuf>() {
        Ok(one) => vec![one],
        Err(_) => paths.extract().map_err(|_| {
            PyTypeError::new_err("invalid argument `paths`: expected a path or a list of paths (str or os.PathLike)")
        })?,
    };
    guard(|| Ok(PyReport(py.detach(|| gpuguard::lint::lint_paths(&paths, &options(ignore_annotations))))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lint_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(lint_paths, m)?)
}
