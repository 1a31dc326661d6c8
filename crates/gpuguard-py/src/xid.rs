//! XID classification, parsing and scanning for Python. Scanning runs with the GIL released.

use crate::convert::to_py;
use crate::errors::{GpuGuardError, guard};
use crate::report::{PyFinding, PyReport};
use gpuguard::xid::{XidEvent, XidInfo, XidScanner, XidSummary};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// What one XID code means: name, meaning, category, severity and action.
#[pyclass(module = "gpuguard", name = "XidInfo", frozen)]
#[derive(Debug)]
pub struct PyXidInfo(XidInfo);

#[pymethods]
impl PyXidInfo {
    #[getter]
    fn code(&self) -> u32 {
        self.0.code
    }
    #[getter]
    fn mnemonic(&self) -> &'static str {
        self.0.mnemonic
    }
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name
    }
    #[getter]
    fn meaning(&self) -> &'static str {
        self.0.meaning
    }
    #[getter]
    fn category(&self) -> &'static str {
        self.0.category.as_str()
    }
    #[getter]
    fn severity(&self) -> &'static str {
        self.0.severity.as_str()
    }
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action.as_str()
    }
    #[getter]
    fn advice(&self) -> &'static str {
        self.0.action.advice()
    }
    #[getter]
    fn nvidia_action(&self) -> Option<&'static str> {
        self.0.nvidia_action
    }
    #[getter]
    fn legacy(&self) -> bool {
        self.0.legacy
    }
    #[getter]
    fn known(&self) -> bool {
        self.0.known
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
    /// The code as a small HTML table for notebooks (colours readable in dark themes).
    fn _repr_html_(&self) -> String {
        crate::xid_html::info_to_html(&self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "<XidInfo {} {:?}: {} / {} / {}>",
            self.0.code,
            self.0.name,
            self.0.category.as_str(),
            self.0.severity,
            self.0.action.as_str()
        )
    }
}

/// One XID event: the fields as the log wrote them plus what the code means.
#[pyclass(module = "gpuguard", name = "XidEvent", frozen)]
#[derive(Debug)]
pub struct PyXidEvent(XidEvent);

#[pymethods]
impl PyXidEvent {
    #[getter]
    fn xid(&self) -> u32 {
        self.0.xid
    }
    #[getter]
    fn pci(&self) -> Option<&str> {
        self.0.pci.as_deref()
    }
    #[getter]
    fn gpu_instance(&self) -> Option<u32> {
        self.0.gpu_instance
    }
    /// The machine that logged the line, when its header names one (syslog, journald, Talos).
    #[getter]
    fn host(&self) -> Option<&str> {
        self.0.host.as_deref()
    }
    #[getter]
    fn pid(&self) -> Option<u32> {
        self.0.pid
    }
    #[getter]
    fn process(&self) -> Option<&str> {
        self.0.process.as_deref()
    }
    #[getter]
    fn timestamp(&self) -> Option<&str> {
        self.0.timestamp.as_deref()
    }
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }
    #[getter]
    fn caused_by(&self) -> Option<u32> {
        self.0.caused_by
    }
    #[getter]
    fn file(&self) -> &str {
        &self.0.file
    }
    #[getter]
    fn line(&self) -> u64 {
        self.0.line
    }
    #[getter]
    fn severity(&self) -> &'static str {
        self.0.severity.as_str()
    }
    #[getter]
    fn category(&self) -> &'static str {
        self.0.category
    }
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action
    }
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name
    }
    #[getter]
    fn follow_on(&self) -> bool {
        self.0.follow_on
    }
    #[getter]
    fn verdict_words(&self) -> Option<&'static str> {
        self.0.verdict_words
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
    fn __repr__(&self) -> String {
        let e = &self.0;
        format!(
            "<XidEvent {} on {} at {}:{}: {}>",
            e.xid,
            e.pci.as_deref().unwrap_or("unknown GPU"),
            self.0.file,
            self.0.line,
            self.0.name
        )
    }
}

/// The result of a scan: every event, the per-GPU summary and verdicts, GG005 findings.
#[pyclass(module = "gpuguard", name = "XidScan", frozen)]
#[derive(Debug)]
pub struct PyXidScan {
    events: Vec<XidEvent>,
    summary: XidSummary,
    errors: Vec<gpuguard::InputError>,
}

#[pymethods]
impl PyXidScan {
    #[getter]
    fn events(&self) -> Vec<PyXidEvent> {
        self.events.iter().cloned().map(PyXidEvent).collect()
    }
    /// `{"events", "lines", "inputs", "by_gpu": [...], "verdicts": [...]}`.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.summary)
    }
    #[getter]
    fn findings(&self) -> Vec<PyFinding> {
        gpuguard::xid::xid_findings(&self.summary).into_iter().map(PyFinding).collect()
    }
    /// The GG005 findings (and unreadable inputs) as a Report.
    fn report(&self) -> PyReport {
        let mut r = gpuguard::Report::new("xid");
        r.findings = gpuguard::xid::xid_findings(&self.summary);
        r.errors = self.errors.clone();
        PyReport(r)
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(
            py,
            &serde_json::json!({"schema": 1, "events": self.events, "summary": self.summary, "errors": self.errors}),
        )
    }
    /// Verdicts and per-GPU rows as HTML tables for notebooks (colours readable in dark themes).
    fn _repr_html_(&self) -> String {
        crate::xid_html::scan_to_html(&self.summary, &self.errors)
    }
    fn __len__(&self) -> usize {
        self.events.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "<XidScan {} event(s) on {} GPU(s) in {} line(s)>",
            self.summary.events,
            self.summary.verdicts.len(),
            self.summary.lines
        )
    }
}

/// What an XID code (the number after ``NVRM: Xid (PCI:...):`` in the kernel log) means:
/// name, meaning, category, severity and the action to take. Unknown codes come back with
/// ``known == False``, never an error.
///
/// Raises ``TypeError`` (the note names ``code``) when ``code`` is not an int, ``ValueError``
/// naming ``code`` when it is outside 0..4294967295.
///
/// >>> x = gpuguard.classify_xid(79)
/// >>> x.name, x.action
/// ('GPU has fallen off the bus', 'reboot-node')
#[pyfunction]
fn classify_xid(code: i64) -> PyResult<PyXidInfo> {
    guard(|| {
        let code = u32::try_from(code).map_err(|_| {
            PyValueError::new_err(format!("invalid argument `code`: must be between 0 and {}, got {code}", u32::MAX))
        })?;
        Ok(PyXidInfo(gpuguard::xid::classify_xid(code)))
    })
}

fn bytes_of(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u8>> {
    if let Ok(s) = value.cast::<PyString>() {
        Ok(s.to_str()?.as_bytes().to_vec())
    } else if let Ok(b) = value.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else {
        Err(PyTypeError::new_err(format!(
            "invalid argument `{name}`: expected str or bytes, got {}",
            value.get_type().name()?
        )))
    }
}

/// Parses one kernel-log line (dmesg, journalctl or syslog prefixes allowed; bytes may hold
/// invalid UTF-8); ``None`` when it is not an XID event. Only the first line of the text counts.
///
/// Raises ``TypeError`` naming ``line`` when it is not str or bytes.
///
/// >>> gpuguard.parse_xid_line("NVRM: Xid (PCI:0000:3b:00): 48, pid=7, An uncorrectable double bit error").pci
/// '0000:3b:00'
#[pyfunction]
fn parse_xid_line(line: &Bound<'_, PyAny>) -> PyResult<Option<PyXidEvent>> {
    guard(|| {
        let bytes = bytes_of(line, "line")?;
        let mut scanner = XidScanner::new();
        let mut found = None;
        // Only the first line counts: a pasted line with a trailing newline is still one line.
        let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        scanner.scan_bytes(first, "<string>", &mut |r| found = Some(r));
        Ok(found.map(PyXidEvent))
    })
}

/// Scans a kernel log for XID events, with the GIL released: a path (a file, a gzip-rotated
/// log or a directory of logs; a walk visits each file once, so symlink loops end, and skips
/// FIFOs, devices and sockets inside a directory with a note) or the log text itself (a str
/// holding a newline or ``NVRM: Xid``, or bytes). The per-GPU summary has a row limit; events
/// past it are counted in ``summary["overflow_events"]``.
///
/// Raises ``TypeError`` naming ``path_or_text`` for any other type (or an ``__fspath__`` that
/// returns neither str nor bytes); ``GpuGuardError`` when nothing could be read (a missing file);
/// unreadable files inside a directory are listed in ``report().errors`` instead.
///
/// >>> scan = gpuguard.scan_xid("NVRM: Xid (PCI:0000:01:00): 79, pid=1, GPU has fallen off the bus.\n")
/// >>> len(scan), scan.summary["verdicts"][0]["action"]
/// (1, 'reboot-node')
#[pyfunction]
fn scan_xid(py: Python<'_>, path_or_text: &Bound<'_, PyAny>) -> PyResult<PyXidScan> {
    guard(|| {
        enum Input {
            Text(Vec<u8>),
            Path(std::path::PathBuf),
        }
        let input = if let Ok(b) = path_or_text.cast::<PyBytes>() {
            Input::Text(b.as_bytes().to_vec())
        } else if let Ok(s) = path_or_text.cast::<PyString>() {
            let s = s.to_str()?;
            if s.contains('\n') || s.contains("NVRM: Xid") {
                Input::Text(s.as_bytes().to_vec())
            } else {
                Input::Path(s.into())
            }
        } else if path_or_text.hasattr("__fspath__")? {
            // `__fspath__` may return bytes or something else: the error names the argument.
            Input::Path(
                path_or_text
                    .extract::<std::path::PathBuf>()
                    .map_err(|e| PyTypeError::new_err(format!("invalid argument `path_or_text`: {e}")))?,
            )
        } else {
            return Err(PyTypeError::new_err(format!(
                "invalid argument `path_or_text`: expected a path, str or bytes, got {}",
                path_or_text.get_type().name()?
            )));
        };
        let (events, summary, errors) = py.detach(move || {
            let mut scanner = XidScanner::new();
            let mut events = Vec::new();
            let mut errors = Vec::new();
            match input {
                Input::Text(t) => scanner.scan_bytes(&t, "<string>", &mut |r| events.push(r)),
                Input::Path(p) => scanner.scan_path(&p, &mut errors, &mut |r| events.push(r)),
            }
            (events, scanner.summary(), errors)
        });
        // Nothing readable at all is an error; some unreadable files in a directory are reported.
        if summary.inputs == 0 {
            if let Some(e) = errors.first() {
                return Err(GpuGuardError::new_err(format!("{}: {}", e.file, e.message)));
            }
        }
        Ok(PyXidScan { events, summary, errors })
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyXidInfo>()?;
    m.add_class::<PyXidEvent>()?;
    m.add_class::<PyXidScan>()?;
    m.add_function(wrap_pyfunction!(classify_xid, m)?)?;
    m.add_function(wrap_pyfunction!(parse_xid_line, m)?)?;
    m.add_function(wrap_pyfunction!(scan_xid, m)?)?;
    Ok(())
}
