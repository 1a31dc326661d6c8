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

/// Lints Kubernetes manifest text: one or more YAML or JSON documents (``---``-separated,
/// ``List`` objects and Helm-rendered output included), with the GIL released.
///
/// ``filename`` names the text in findings and errors. ``honour_ignore_annotations`` (default
/// ``None``, meaning ``True``): whether ``ignore-check.gpuguard.io/<rule>`` annotations on an
/// object silence that rule; ``False`` refuses them, as ``gpuguard lint --no-ignore-annotations``
/// does in CI. ``ignore_annotations`` is its deprecated alias (same meaning; it warns).
///
/// Invalid YAML is not an exception: it becomes an entry of ``Report.errors`` (with file and
/// line) and the other documents are still linted.
///
/// Raises ``TypeError`` naming the argument for a wrong type, and when ``ignore_annotations``
/// contradicts ``honour_ignore_annotations``; ``DeprecationWarning`` (a warning) when
/// ``ignore_annotations`` is passed.
///
/// >>> r = gpuguard.lint_manifests("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}")
/// >>> r.ok, len(r.findings)
/// (True, 0)
/// >>> import warnings
/// >>> with warnings.catch_warnings(record=True) as w:
/// ...     warnings.simplefilter("always")
/// ...     _ = gpuguard.lint_manifests("", ignore_annotations=False)
/// >>> w[0].category.__name__
/// 'DeprecationWarning'
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

/// Lints files and directories (walked recursively: regular ``*.yaml``, ``*.yml`` and
/// ``*.json`` files), with the GIL released. ``paths`` is one path or a list of them.
///
/// A missing or unreadable input, a file over the size limit (64 MiB) or invalid YAML becomes an
/// entry of ``Report.errors``; the other inputs are still linted. ``honour_ignore_annotations``
/// and the deprecated ``ignore_annotations`` are as in :func:`lint_manifests`.
///
/// Raises ``TypeError`` naming ``paths`` when it is not a path or a list of paths, and naming
/// both switches when they contradict.
///
/// >>> report = gpuguard.lint_paths(["/nonexistent/deploy.yaml"])
/// >>> len(report.errors), report.findings
/// (1, [])
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
