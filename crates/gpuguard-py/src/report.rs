//! `Finding`, `Check` and `Report` for Python: read-only views over the Rust values with
//! `to_dict()`, `to_json()`, a useful `__repr__` and `_repr_html_` for notebooks.

use crate::convert::{json_to_py, to_py};
use crate::errors::{GpuGuardError, arg, guard, opt_arg};
use gpuguard::render;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn parse_severity(s: &str) -> PyResult<gpuguard::Severity> {
    s.parse().map_err(|_| {
        PyValueError::new_err(format!("invalid argument `severity`: expected info, warning or error, got {s:?}"))
    })
}

fn json_text<T: serde::Serialize>(value: &T, indent: Option<usize>) -> PyResult<String> {
    let v = serde_json::to_value(value).map_err(|e| GpuGuardError::new_err(e.to_string()))?;
    let text = match indent {
        None => serde_json::to_string(&v),
        Some(_) => serde_json::to_string_pretty(&v),
    };
    text.map_err(|e| GpuGuardError::new_err(e.to_string()))
}

/// One footgun seen once: rule, severity, message, fix, where, and the values judged.
#[pyclass(module = "gpuguard", name = "Finding", frozen, from_py_object)]
#[derive(Clone, Debug)]
pub struct PyFinding(pub gpuguard::Finding);

#[pymethods]
impl PyFinding {
    #[new]
    #[pyo3(signature = (rule, severity, message, fix, evidence=None, *, file=None, line=None, document=None, kind=None, name=None, namespace=None, container=None, path=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        rule: &Bound<'_, PyAny>,
        severity: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
        fix: &Bound<'_, PyAny>,
        evidence: Option<&Bound<'_, PyAny>>,
        file: Option<&Bound<'_, PyAny>>,
        line: Option<&Bound<'_, PyAny>>,
        document: Option<&Bound<'_, PyAny>>,
        kind: Option<&Bound<'_, PyAny>>,
        name: Option<&Bound<'_, PyAny>>,
        namespace: Option<&Bound<'_, PyAny>>,
        container: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // Read by hand so a wrong type names its argument in the message (see errors::arg).
        let (rule, severity): (String, String) = (arg("rule", rule)?, arg("severity", severity)?);
        let (message, fix): (String, String) = (arg("message", message)?, arg("fix", fix)?);
        let evidence: Option<Bound<'_, PyDict>> = opt_arg("evidence", evidence)?;
        let location = gpuguard::Location {
            file: opt_arg("file", file)?,
            line: opt_arg("line", line)?,
            document: opt_arg("document", document)?,
            kind: opt_arg("kind", kind)?,
            name: opt_arg("name", name)?,
            namespace: opt_arg("namespace", namespace)?,
            container: opt_arg("container", container)?,
            path: opt_arg("path", path)?,
        };
        let mut f = gpuguard::Finding::new(rule, parse_severity(&severity)?, message, fix).with_location(location);
        if let Some(evidence) = evidence {
            // json.dumps raises TypeError on a value it cannot write; say which argument it was.
            let py = evidence.py();
            let json = py.import("json")?.call_method1("dumps", (evidence,)).map_err(|e| {
                if e.is_instance_of::<PyTypeError>(py) {
                    PyTypeError::new_err(format!("invalid argument `evidence`: values must be JSON types: {e}"))
                } else {
                    PyValueError::new_err(format!("invalid argument `evidence`: {e}"))
                }
            })?;
            let map: gpuguard::Evidence = serde_json::from_str(&json.extract::<String>()?)
                .map_err(|e| PyValueError::new_err(format!("invalid argument `evidence`: {e}")))?;
            f.evidence = map;
        }
        Ok(PyFinding(f))
    }

    #[getter]
    fn rule(&self) -> &str {
        &self.0.rule
    }
    #[getter]
    fn severity(&self) -> &'static str {
        self.0.severity.as_str()
    }
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }
    #[getter]
    fn fix(&self) -> &str {
        &self.0.fix
    }
    #[getter]
    fn slug(&self) -> Option<&'static str> {
        self.0.slug()
    }
    #[getter]
    fn evidence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &serde_json::Value::Object(self.0.evidence.clone()))
    }
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.location.file.as_deref()
    }
    #[getter]
    fn line(&self) -> Option<usize> {
        self.0.location.line
    }
    #[getter]
    fn document(&self) -> Option<usize> {
        self.0.location.document
    }
    #[getter]
    fn kind(&self) -> Option<&str> {
        self.0.location.kind.as_deref()
    }
    #[getter]
    fn name(&self) -> Option<&str> {
        self.0.location.name.as_deref()
    }
    #[getter]
    fn namespace(&self) -> Option<&str> {
        self.0.location.namespace.as_deref()
    }
    #[getter]
    fn container(&self) -> Option<&str> {
        self.0.location.container.as_deref()
    }
    #[getter]
    fn path(&self) -> Option<&str> {
        self.0.location.path.as_deref()
    }

    /// The finding as a plain dict (the JSON schema's finding object).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }

    /// The finding as JSON text.
    #[pyo3(signature = (indent=None))]
    fn to_json(&self, indent: Option<usize>) -> PyResult<String> {
        json_text(&self.0, indent)
    }

    fn _repr_html_(&self) -> String {
        render::finding_to_html(&self.0)
    }

    fn __repr__(&self) -> String {
        let place = [self.0.location.file.as_deref(), self.0.location.name.as_deref(), self.0.location.path.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let place = if place.is_empty() { String::new() } else { format!(" at {place}") };
        format!("<Finding {} {}{}: {}>", self.0.rule, self.0.severity, place, self.0.message)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

/// One check that ran: name, status (`ok`, `finding`, `skipped`) and reason.
#[pyclass(module = "gpuguard", name = "Check", frozen, from_py_object)]
#[derive(Clone, Debug)]
pub struct PyCheck(pub gpuguard::Check);

#[pymethods]
impl PyCheck {
    /// A check made in Python: `status` is `ok`, `finding` or `skipped`; `reason` says what was
    /// seen or why it could not look.
    #[new]
    fn new(name: &Bound<'_, PyAny>, status: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>) -> PyResult<Self> {
        use gpuguard::CheckStatus;
        let (name, reason): (String, String) = (arg("name", name)?, arg("reason", reason)?);
        let status: String = arg("status", status)?;
        let status = match status.as_str() {
            "ok" => CheckStatus::Ok,
            "finding" => CheckStatus::Finding,
            "skipped" => CheckStatus::Skipped,
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid argument `status`: expected ok, finding or skipped, got {other:?}"
                )));
            }
        };
        Ok(PyCheck(gpuguard::Check::new(name, status, reason)))
    }

    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }
    #[getter]
    fn reason(&self) -> &str {
        &self.0.reason
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
    fn __repr__(&self) -> String {
        format!("<Check {} {}: {}>", self.0.name, self.0.status.as_str(), self.0.reason)
    }
}

/// What one run found: findings, checks (ok, finding, skipped with reasons), input errors and a
/// summary. Renders as a table in Jupyter.
#[pyclass(module = "gpuguard", name = "Report", frozen)]
#[derive(Clone, Debug)]
pub struct PyReport(pub gpuguard::Report);

#[pymethods]
impl PyReport {
    /// A report from findings made in Python (`gpuguard.torch` builds its own).
    #[new]
    #[pyo3(signature = (command, findings=None, checks=None))]
    fn new(
        command: &Bound<'_, PyAny>,
        findings: Option<&Bound<'_, PyAny>>,
        checks: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let command: String = arg("command", command)?;
        let findings: Vec<PyFinding> = opt_arg("findings", findings)?.unwrap_or_default();
        let checks: Vec<PyCheck> = opt_arg("checks", checks)?.unwrap_or_default();
        let mut r = gpuguard::Report::new(command);
        r.findings = findings.into_iter().map(|f| f.0).collect();
        r.checks = checks.into_iter().map(|c| c.0).collect();
        Ok(PyReport(r))
    }

    #[getter]
    fn command(&self) -> &str {
        &self.0.command
    }
    #[getter]
    fn findings(&self) -> Vec<PyFinding> {
        self.0.findings.iter().cloned().map(PyFinding).collect()
    }
    #[getter]
    fn checks(&self) -> Vec<PyCheck> {
        self.0.checks.iter().cloned().map(PyCheck).collect()
    }
    /// Inputs that could not be used: dicts with `file`, `line`, `message`.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.errors)
    }
    /// Counts by severity and check status.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.summary())
    }
    /// True when there is no finding at `warning` or `error` and no input error.
    #[getter]
    fn ok(&self) -> bool {
        self.0.errors.is_empty() && !self.0.fails_at(gpuguard::Severity::Warning)
    }

    /// Whether a finding is at or above `level` (`info`, `warning`, `error`).
    fn fails_at(&self, level: &str) -> PyResult<bool> {
        Ok(self.0.fails_at(parse_severity(level)?))
    }

    /// Findings at or above `level`.
    #[pyo3(signature = (level="info"))]
    fn at_least(&self, level: &str) -> PyResult<Vec<PyFinding>> {
        let level = parse_severity(level)?;
        Ok(self.0.findings.iter().filter(|f| f.severity >= level).cloned().map(PyFinding).collect())
    }

    /// A new report with `other`'s findings, checks and errors appended.
    fn merged(&self, other: &PyReport) -> PyReport {
        let mut r = self.0.clone();
        r.merge(other.0.clone());
        PyReport(r)
    }

    /// The report as a plain dict: the same object `--format json` prints.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| json_to_py(py, &render::to_json_value(&self.0)))
    }

    /// The report as JSON text (the CLI's `--format json`).
    #[pyo3(signature = (indent=None))]
    fn to_json(&self, indent: Option<usize>) -> PyResult<String> {
        json_text(&render::to_json_value(&self.0), indent)
    }

    /// The report as text for a terminal or a log.
    #[pyo3(signature = (colour=false))]
    fn to_text(&self, colour: bool) -> String {
        render::to_text(&self.0, colour)
    }

    /// The report as Markdown tables.
    fn to_markdown(&self) -> String {
        render::to_markdown(&self.0)
    }

    fn _repr_html_(&self) -> String {
        render::to_html(&self.0)
    }

    fn __len__(&self) -> usize {
        self.0.findings.len()
    }

    fn __bool__(&self) -> bool {
        true
    }

    fn __repr__(&self) -> String {
        let s = self.0.summary();
        format!(
            "<Report {}: {} error(s), {} warning(s), {} info, {} check(s), {} input error(s)>",
            self.0.command,
            s.errors,
            s.warnings,
            s.infos,
            self.0.checks.len(),
            s.input_errors
        )
    }

    fn __str__(&self) -> String {
        render::to_text(&self.0, false)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFinding>()?;
    m.add_class::<PyCheck>()?;
    m.add_class::<PyReport>()?;
    Ok(())
}
