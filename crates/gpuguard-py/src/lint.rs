//! `lint_manifests` and `lint_paths`: the manifest linter, returning a `Report`. Parsing and rules
//! run with the GIL released.

use crate::errors::guard;
use crate::report::PyReport;
use gpuguard::lint::LintOptions;
use pyo3::exceptions::{PyDeprecationWarning, PyTypeError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Whether `ignore-check.gpuguard.io/*` annotations are honoured, from the argument
/// `honour_ignore_annotations` (default true; false is the CLI's `--no-ignore-annotations`) and
/// its deprecated alias `ignore_annotations` (same meaning, a name that read as "ignore the
/// annotations"). The alias warns; the two contradicting is a `TypeError` naming both.
fn honour(py: Python<'_>, honour: Option<bool>, alias: Option<bool>) -> PyResult<bool> {
    let Some(alias) = alias else { return Ok(honour.unwrap_or(true)) };
    if honour.is_some_and(|h| h != alias) {
        return Err(PyTypeError::new_err(format!(
            "conflicting arguments `honour_ignore_annotations={}` and `ignore_annotations={}` (the deprecated \
             alias of the same switch): pass only `honour_ignore_annotations`",
            py_bool(honour.unwrap_or(true)),
            py_bool(alias)
        )));
    }
    PyErr::warn(
        py,
        &py.get_type::<PyDeprecationWarning>(),
        c"`ignore_annotations` is deprecated: use `honour_ignore_annotations` (same meaning: True honours \
          ignore-check.gpuguard.io/* annotations, False refuses them like --no-ignore-annotations)",
        // 2: past the one Python frame gpuguard/_named.py wraps every function in, to the caller.
        2,
    )?;
    Ok(alias)
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn options(honour_ignore_annotations: bool) -> LintOptions {
    LintOptions { ignore_annotations: honour_ignore_annotations, ..LintOptions::default() }
}

/// Lints manifest text (one or more YAML/JSON documents); `filename` names it in findings.
#[pyfunction]
#[pyo3(signature = (text, filename="<string>", honour_ignore_annotations=None, *, ignore_annotations=None))]
fn lint_manifests(
    py: Python<'_>,
    text: &str,
    filename: &str,
    honour_ignore_annotations: Option<bool>,
    ignore_annotations: Option<bool>,
) -> PyResult<PyReport> {
    let opts = options(honour(py, honour_ignore_annotations, ignore_annotations)?);
    guard(|| Ok(PyReport(py.detach(|| gpuguard::lint::lint_text(text, filename, &opts)))))
}

/// Lints files and directories (recursively: regular *.yaml, *.yml, *.json files). `paths` is one
/// path or a list of them; unreadable inputs become report errors, like invalid YAML.
#[pyfunction]
#[pyo3(signature = (paths, honour_ignore_annotations=None, *, ignore_annotations=None))]
fn lint_paths(
    py: Python<'_>,
    paths: &Bound<'_, PyAny>,
    honour_ignore_annotations: Option<bool>,
    ignore_annotations: Option<bool>,
) -> PyResult<PyReport> {
    let paths: Vec<PathBuf> = match paths.extract::<PathBuf>() {
        Ok(one) => vec![one],
        Err(_) => paths.extract().map_err(|_| {
            PyTypeError::new_err("invalid argument `paths`: expected a path or a list of paths (str or os.PathLike)")
        })?,
    };
    let opts = options(honour(py, honour_ignore_annotations, ignore_annotations)?);
    guard(|| Ok(PyReport(py.detach(|| gpuguard::lint::lint_paths(&paths, &opts)))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lint_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(lint_paths, m)?)
}
