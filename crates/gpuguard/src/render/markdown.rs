use super::{file_line, object_label};
use crate::report::Report;
use std::fmt::Write;

/// Escapes the characters that would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('\n', "<br>")
}

/// The report as Markdown (a findings table, a checks table, a summary), for PR comments and
/// job summaries.
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("lint");
/// r.findings.push(Finding::new("GG007", Severity::Error, "a | b", "fix"));
/// let md = gpuguard::render::to_markdown(&r);
/// assert!(md.contains("| error | GG007 |"));
/// assert!(md.contains("a \\| b"));
/// ```
pub fn to_markdown(report: &Report) -> String {
    let mut out = format!("## gpuguard {}\n\n", report.command);
    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        out.push_str("| severity | rule | where | message | fix |\n|---|---|---|---|---|\n");
        for f in &report.findings {
            let place = [file_line(&f.location), object_label(&f.location), f.location.path.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity,
                f.rule,
                cell(&place),
                cell(&f.message),
                cell(&f.fix)
            );
        }
        out.push('\n');
    }
    if !report.errors.is_empty() {
        out.push_str("### Input errors\n\n");
        for e in &report.errors {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(out, "- `{}{line}`: {}", e.file, e.message);
        }
        out.push('\n');
    }
    if !report.checks.is_empty() {
        out.push_str("| check | status | reason |\n|---|---|---|\n");
        for c in &report.checks {
            let _ = writeln!(out, "| {} | {} | {} |", cell(&c.name), c.status.as_str(), cell(&c.reason));
        }
        out.push('\n');
    }
    let s = report.summary();
    let _ = writeln!(
        out,
        "**{} error(s), {} warning(s), {} info, {} input error(s)**",
        s.errors, s.warnings, s.infos, s.input_errors
    );
    out
}
