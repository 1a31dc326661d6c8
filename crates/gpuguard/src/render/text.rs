use super::{file_line, object_label};
use crate::report::{CheckStatus, Report};
use crate::severity::Severity;
use std::fmt::Write;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Info => "\x1b[1;36m",
    }
}

/// The report for people: each finding with its rule, place, message and fix, then the checks
/// and a summary line. `colour` adds ANSI colours (the CLI turns it on for a TTY only).
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("doctor");
/// r.findings.push(Finding::new("GG001", Severity::Error, "/dev/shm is 64.0 MiB", "mount a Memory emptyDir"));
/// let text = gpuguard::render::to_text(&r, false);
/// assert!(text.starts_with("error[GG001] /dev/shm is 64.0 MiB"));
/// assert!(text.contains("fix: mount a Memory emptyDir"));
/// ```
pub fn to_text(report: &Report, colour: bool) -> String {
    let paint = |code: &str, s: &str| if colour { format!("{code}{s}{RESET}") } else { s.to_owned() };
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{}{} {}",
            paint(severity_colour(f.severity), f.severity.as_str()),
            paint(BOLD, &format!("[{}]", f.rule)),
            f.message
        );
        let place = [file_line(&f.location), object_label(&f.location), f.location.path.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("  ");
        if !place.is_empty() {
            let _ = writeln!(out, "  {} {place}", paint(DIM, "-->"));
        }
        let _ = writeln!(out, "  {} {}", paint(DIM, "fix:"), f.fix);
    }
    for e in &report.errors {
        let place = match e.line {
            Some(l) => format!("{}:{l}", e.file),
            None => e.file.clone(),
        };
        let _ = writeln!(out, "{} {place}: {}", paint(severity_colour(Severity::Error), "input error"), e.message);
    }
    if !report.checks.is_empty() {
        let _ = writeln!(out, "{}", paint(BOLD, "checks:"));
        for c in &report.checks {
            let status = match c.status {
                CheckStatus::Ok => paint("\x1b[32m", "ok"),
                CheckStatus::Finding => paint(severity_colour(Severity::Warning), "finding"),
                CheckStatus::Skipped => paint(DIM, "skipped"),
            };
            let _ = writeln!(out, "  {:<22} {status:<8} {}", c.name, c.reason);
        }
    }
    let s = report.summary();
    let _ = writeln!(
        out,
        "{}: {} error(s), {} warning(s), {} info, {} input error(s){}",
        report.command,
        s.errors,
        s.warnings,
        s.infos,
        s.input_errors,
        if report.checks.is_empty() {
            String::new()
        } else {
            format!(
                "; checks: {} ok, {} with findings, {} skipped",
                s.checks_ok, s.checks_with_findings, s.checks_skipped
            )
        }
    );
    out
}
