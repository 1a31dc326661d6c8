use super::{file_line, object_label};
use crate::finding::Finding;
use crate::report::{CheckStatus, Report};
use crate::severity::Severity;
use std::fmt::Write;

/// Text made safe inside HTML elements and quoted attributes (`& < > " '` become entities).
///
/// ```
/// assert_eq!(gpuguard::render::escape_html("<b>&'\""), "&lt;b&gt;&amp;&#39;&quot;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Pastel row backgrounds by severity (error red, warning amber, info blue); every coloured row
/// also sets dark text (`color:#1a1a1a`), so it stays readable in a dark notebook theme (whose
/// inherited text colour is light).
pub fn severity_background(s: Severity) -> &'static str {
    match s {
        Severity::Error => "#fde2e1",
        Severity::Warning => "#fff4d6",
        Severity::Info => "#e3f1fb",
    }
}

fn finding_row(out: &mut String, f: &Finding) {
    let place = [file_line(&f.location), object_label(&f.location), f.location.path.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("<br>");
    let _ = write!(
        out,
        "<tr style=\"background:{};color:#1a1a1a\"><td><b>{}</b></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        severity_background(f.severity),
        f.severity,
        escape_html(&f.rule),
        escape_html(&place).replace("&lt;br&gt;", "<br>"),
        escape_html(&f.message),
        escape_html(&f.fix)
    );
}

/// The report as an HTML table coloured by severity, with the fix beside each finding; what a
/// notebook shows through `_repr_html_`.
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("preflight");
/// r.findings.push(Finding::new("GG001", Severity::Error, "<64 MiB>", "fix it"));
/// let html = gpuguard::render::to_html(&r);
/// assert!(html.contains("&lt;64 MiB&gt;") && html.contains("#fde2e1"));
/// ```
pub fn to_html(report: &Report) -> String {
    let s = report.summary();
    let mut out = format!(
        "<div class=\"gpuguard-report\"><p><b>gpuguard {}</b>: {} error(s), {} warning(s), {} info, {} input error(s)</p>",
        escape_html(&report.command),
        s.errors,
        s.warnings,
        s.infos,
        s.input_errors
    );
    if !report.findings.is_empty() {
        out.push_str("<table><thead><tr><th>severity</th><th>rule</th><th>where</th><th>message</th><th>fix</th></tr></thead><tbody>");
        for f in &report.findings {
            finding_row(&mut out, f);
        }
        out.push_str("</tbody></table>");
    }
    if !report.errors.is_empty() {
        out.push_str("<ul>");
        for e in &report.errors {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = write!(out, "<li><code>{}{line}</code>: {}</li>", escape_html(&e.file), escape_html(&e.message));
        }
        out.push_str("</ul>");
    }
    if !report.checks.is_empty() {
        out.push_str("<table><thead><tr><th>check</th><th>status</th><th>reason</th></tr></thead><tbody>");
        for c in &report.checks {
            let colour = match c.status {
                CheckStatus::Ok => "#e6f4ea",
                CheckStatus::Finding => severity_background(Severity::Warning),
                CheckStatus::Skipped => "#f1f1f1",
            };
            let _ = write!(
                out,
                "<tr style=\"background:{colour};color:#1a1a1a\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&c.name),
                c.status.as_str(),
                escape_html(&c.reason)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div>");
    out
}

/// One finding as a one-row HTML table (for `Finding._repr_html_`).
pub fn finding_to_html(f: &Finding) -> String {
    let mut out = String::from(
        "<table><thead><tr><th>severity</th><th>rule</th><th>where</th><th>message</th><th>fix</th></tr></thead><tbody>",
    );
    finding_row(&mut out, f);
    out.push_str("</tbody></table>");
    out
}
