//! The JSON report of `gpuguard xid --format json`, built here so that its shape lives with the
//! types: `{"schema": 1, "command": "xid", "events": [...], "summary": {...}, "findings": [...],
//! "ecc": [...], "errors": [...]}`. Events are written as the scan finds them, so memory stays
//! flat for any log; the rest ([`XidReportTail`]) when it is done.

use super::event::XidEvent;
use super::summary::XidSummary;
use crate::Finding;
use crate::ecc::GpuEcc;
use crate::report::{InputError, Report, Summary};
use serde::Serialize;
use std::io::Write;

/// The report's `summary`: the scan's summary and the report's counts, in one object.
#[derive(Debug, Serialize)]
pub struct XidReportSummary<'a> {
    /// Events, lines, per-GPU rows, verdicts, ignored lines, notes.
    #[serde(flatten)]
    pub scan: &'a XidSummary,
    /// Findings by severity, input errors.
    #[serde(flatten)]
    pub counts: Summary,
}

/// Everything after `events`.
#[derive(Debug, Serialize)]
pub struct XidReportTail<'a> {
    /// The summary.
    pub summary: XidReportSummary<'a>,
    /// GG005 findings (and ECC findings).
    pub findings: &'a [Finding],
    /// ECC state per GPU from `nvidia-smi -q` snapshots.
    pub ecc: &'a [GpuEcc],
    /// Inputs that could not be read.
    pub errors: &'a [InputError],
}

impl<'a> XidReportTail<'a> {
    /// The tail for a scan's summary and the report holding its findings and errors.
    pub fn new(summary: &'a XidSummary, report: &'a Report, ecc: &'a [GpuEcc]) -> Self {
        XidReportTail {
            summary: XidReportSummary { scan: summary, counts: report.summary() },
            findings: &report.findings,
            ecc,
            errors: &report.errors,
        }
    }
}

/// Writes the report: the head on creation, each event as it comes, the tail at the end.
///
/// ```
/// use gpuguard::xid::{XidReportTail, XidReportWriter, XidScanner};
/// let mut w = XidReportWriter::new(Vec::new()).unwrap();
/// let mut s = XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 48, DBE\n", "x", &mut |e| w.event(&e));
/// let summary = s.summary();
/// let report = gpuguard::Report::new("xid");
/// let out = w.finish(&XidReportTail::new(&summary, &report, &[])).unwrap();
/// let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!((doc["schema"].as_u64(), doc["events"][0]["xid"].as_u64()), (Some(1), Some(48)));
/// assert_eq!(doc["summary"]["events"], 1);
/// ```
#[derive(Debug)]
pub struct XidReportWriter<W: Write> {
    out: W,
    events: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> XidReportWriter<W> {
    /// Writes the head.
    ///
    /// # Errors
    /// The writer's.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\n  \"schema\": 1,\n  \"command\": \"xid\",\n  \"events\": [")?;
        Ok(XidReportWriter { out, events: 0, error: None })
    }

    /// Writes one event. The first write error (a closed pipe) is kept for [`Self::finish`],
    /// and nothing more is written.
    pub fn event(&mut self, e: &XidEvent) {
        if self.error.is_some() {
            return;
        }
        let sep: &[u8] = if self.events == 0 { b"\n    " } else { b",\n    " };
        self.events += 1;
        let res = self.out.write_all(sep).and_then(|()| serde_json::to_writer(&mut self.out, e).map_err(Into::into));
        if let Err(e) = res {
            self.error = Some(e);
        }
    }

    /// Writes the tail and returns the writer, flushed.
    ///
    /// # Errors
    /// The first write error, from an event or the tail.
    pub fn finish(mut self, tail: &XidReportTail<'_>) -> std::io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.write_all(if self.events == 0 { b"]" } else { b"\n  ]" })?;
        let serde_json::Value::Object(fields) = serde_json::to_value(tail)? else {
            return Err(std::io::Error::other("report tail is not an object"));
        };
        for (k, v) in fields {
            write!(self.out, ",\n  {}: {}", serde_json::Value::String(k), serde_json::to_string(&v)?)?;
        }
        self.out.write_all(b"\n}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
