//! A report: what one run found, which checks passed or were skipped and why, and input errors.

use crate::finding::Finding;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// Version of the JSON schema every command prints (`{"schema": 1, ...}`).
pub const SCHEMA_VERSION: u32 = 1;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Looked, nothing wrong.
    Ok,
    /// Looked, produced one or more findings.
    Finding,
    /// Could not look; `reason` says why (no driver library, permission denied…).
    Skipped,
}

impl CheckStatus {
    /// The lowercase name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Finding => "finding",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// One check that ran (or could not), so a report says what was looked at, not only what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short stable name, such as `dev-shm` or `nvml`.
    pub name: String,
    /// What happened.
    pub status: CheckStatus,
    /// Why it was skipped, or what was seen when it passed.
    pub reason: String,
}

impl Check {
    /// A check with a status and a reason.
    ///
    /// ```
    /// use gpuguard::{Check, CheckStatus};
    /// let c = Check::new("nvml", CheckStatus::Skipped, "no NVIDIA driver library found");
    /// assert_eq!(c.status.as_str(), "skipped");
    /// ```
    pub fn new(name: impl Into<String>, status: CheckStatus, reason: impl Into<String>) -> Self {
        Check { name: name.into(), status, reason: reason.into() }
    }
}

/// An input that could not be read or parsed; the rest of the run goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// The input's name.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl From<&crate::Error> for InputError {
    fn from(e: &crate::Error) -> Self {
        match e {
            crate::Error::Parse { file, line, message } => {
                InputError { file: file.clone(), line: *line, message: message.clone() }
            }
            crate::Error::Io { path, source } => {
                InputError { file: path.display().to_string(), line: None, message: source.to_string() }
            }
            other => InputError { file: String::new(), line: None, message: other.to_string() },
        }
    }
}

/// An object a run read but did not check, and why (a kind with no pod spec that gpuguard does
/// not know, a document that is not a mapping), so nothing is skipped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The input's name.
    pub file: String,
    /// 1-based line of the object.
    pub line: Option<usize>,
    /// 0-based index of the document in the file.
    pub document: Option<usize>,
    /// The object's kind, when it has one.
    pub kind: Option<String>,
    /// The object's name, when it has one.
    pub name: Option<String>,
    /// Why it was not checked.
    pub reason: String,
}

/// Counts a report's consumers want without walking it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Findings at `error`.
    pub errors: usize,
    /// Findings at `warning`.
    pub warnings: usize,
    /// Findings at `info`.
    pub infos: usize,
    /// Checks that passed.
    pub checks_ok: usize,
    /// Checks that produced findings.
    pub checks_with_findings: usize,
    /// Checks that could not run.
    pub checks_skipped: usize,
    /// Inputs that could not be read or parsed.
    pub input_errors: usize,
    /// `gpuguard lint` only: Kubernetes objects read (checked or listed as skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
    /// `gpuguard lint` only: inputs (files, stdin) read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<usize>,
}

/// Everything one run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// What produced it (`lint`, `doctor`, `preflight`…).
    pub command: String,
    /// Footguns found, in the order they were found.
    pub findings: Vec<Finding>,
    /// Checks that ran, passed or were skipped.
    pub checks: Vec<Check>,
    /// Inputs that could not be used.
    pub errors: Vec<InputError>,
    /// Objects read but not checked (`gpuguard lint`).
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Findings silenced by an `ignore-check.gpuguard.io/*` annotation (`gpuguard lint`), each
    /// with `evidence.suppressed_by` (the annotation) and `evidence.justification` (its reason).
    #[serde(default)]
    pub suppressed: Vec<Finding>,
    /// Kubernetes objects read (`gpuguard lint`; `List` items each count).
    #[serde(default)]
    pub objects: usize,
    /// Inputs read (`gpuguard lint`: files and stdin).
    #[serde(default)]
    pub inputs: usize,
}

impl Report {
    /// An empty report for `command`.
    ///
    /// ```
    /// use gpuguard::{Finding, Report, Severity};
    /// let mut r = Report::new("doctor");
    /// r.findings.push(Finding::new("GG001", Severity::Warning, "m", "f"));
    /// assert_eq!(r.summary().warnings, 1);
    /// assert!(r.fails_at(Severity::Warning));
    /// assert!(!r.fails_at(Severity::Error));
    /// ```
    pub fn new(command: impl Into<String>) -> Self {
        Report { command: command.into(), ..Report::default() }
    }

    /// Counts by severity and status.
    pub fn summary(&self) -> Summary {
        let lint = self.command == "lint";
        let mut s = Summary {
            input_errors: self.errors.len(),
            objects: lint.then_some(self.objects),
            inputs: lint.then_some(self.inputs),
            ..Summary::default()
        };
        for f in &self.findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        for c in &self.checks {
            match c.status {
                crate::CheckStatus::Ok => s.checks_ok += 1,
                crate::CheckStatus::Finding => s.checks_with_findings += 1,
                crate::CheckStatus::Skipped => s.checks_skipped += 1,
            }
        }
        s
    }

    /// Whether any finding is at or above `level` (the CLI's exit code 1).
    pub fn fails_at(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= level)
    }

    /// The highest severity found, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Appends another report's findings, checks and errors.
    pub fn merge(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.checks.extend(other.checks);
        self.errors.extend(other.errors);
        self.skipped.extend(other.skipped);
        self.suppressed.extend(other.suppressed);
        self.objects += other.objects;
        self.inputs += other.inputs;
    }
}
