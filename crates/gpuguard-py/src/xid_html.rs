//! Notebook HTML of `XidInfo` and `XidScan` (`_repr_html_`): small tables in the style of
//! `Report._repr_html_`. Every text is escaped; every coloured row sets its text colour too, so it
//! stays readable in a dark notebook theme.

use gpuguard::InputError;
use gpuguard::render::{escape_html as esc, severity_background};
use gpuguard::xid::{XidInfo, XidSummary};
use std::fmt::Write;

/// Dark text on the pastel severity colour: what every coloured row uses.
fn row_style(s: gpuguard::Severity) -> String {
    format!("background:{};color:#1a1a1a", severity_background(s))
}

/// One XID code as a two-column table: code and name on a row coloured by severity, then
/// meaning, category, severity, action (with its advice), NVIDIA's own action and flags.
pub fn info_to_html(x: &XidInfo) -> String {
    let mut out = String::from("<div class=\"gpuguard-xid\"><table><tbody>");
    let _ = write!(
        out,
        "<tr style=\"{}\"><th>XID {}</th><td><b>{}</b> <code>{}</code></td></tr>",
        row_style(x.severity),
        x.code,
        esc(x.name),
        esc(x.mnemonic)
    );
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("meaning", esc(x.meaning));
    row("category", esc(x.category.as_str()));
    row("severity", esc(x.severity.as_str()));
    row("action", format!("<b>{}</b>: {}", esc(x.action.as_str()), esc(x.action.advice())));
    if let Some(n) = x.nvidia_action {
        row("NVIDIA action", esc(n));
    }
    if !x.known {
        row("known", "no: not in NVIDIA's XID catalog; treated as unknown".to_owned());
    } else if x.legacy {
        row("legacy", "yes: documented for older drivers or GPUs only".to_owned());
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A scan as a header line, the per-GPU verdicts (what to do with each GPU), the per-GPU,
/// per-code rows and the unreadable inputs. Events are not listed one by one: the summary is
/// bounded, a log may hold millions of lines.
pub fn scan_to_html(summary: &XidSummary, errors: &[InputError]) -> String {
    let mut out = format!(
        "<div class=\"gpuguard-xid-scan\"><p><b>XID scan</b>: {} event(s) on {} GPU(s), {} line(s) in {} input(s)</p>",
        summary.events,
        summary.verdicts.len(),
        summary.lines,
        summary.inputs
    );
    if !summary.verdicts.is_empty() {
        out.push_str(
            "<table><thead><tr><th>GPU</th><th>root XID</th><th>severity</th><th>action</th><th>events</th>\
             <th>verdict</th></tr></thead><tbody>",
        );
        for v in &summary.verdicts {
            let _ = write!(
                out,
                "<tr style=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
                row_style(v.severity),
                esc(&v.gpu),
                v.root_xid,
                v.severity.as_str(),
                esc(v.action),
                v.events,
                esc(&v.message)
            );
        }
        out.push_str("</tbody></table>");
    }
    if !summary.by_gpu.is_empty() {
        out.push_str(
            "<table><thead><tr><th>GPU</th><th>XID</th><th>name</th><th>severity</th><th>count</th>\
             <th>root causes</th><th>first seen</th><th>last seen</th><th>first at</th></tr></thead><tbody>",
        );
        for r in &summary.by_gpu {
            let _ = write!(
                out,
                "<tr style=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                row_style(r.severity),
                esc(&r.gpu),
                r.xid,
                esc(r.name),
                r.severity.as_str(),
                r.count,
                r.root_cause_count,
                esc(r.first_seen.as_deref().unwrap_or("")),
                esc(r.last_seen.as_deref().unwrap_or("")),
                esc(&r.first_location)
            );
        }
        out.push_str("</tbody></table>");
    }
    if summary.overflow_events > 0 {
        let _ = write!(out, "<p>{} more event(s) past the summary's row limit.</p>", summary.overflow_events);
    }
    if summary.ignored.lines > 0 {
        let _ = write!(out, "<p>{} XID line(s) written by user space ignored.</p>", summary.ignored.lines);
    }
    // GPUs the driver found gone from the bus without an XID: no event row, but never silent.
    for o in &summary.off_bus {
        let _ = write!(
            out,
            "<p style=\"{}\">GPU <code>{}</code>{} has fallen off the bus (no XID logged, <code>{}:{}</code>); action: {}</p>",
            row_style(gpuguard::Severity::Error),
            esc(&o.gpu),
            o.host.as_deref().map_or(String::new(), |h| format!(" on {}", esc(h))),
            esc(&o.file),
            o.line,
            o.action
        );
    }
    if !errors.is_empty() || summary.notes_total > 0 {
        out.push_str("<ul>");
        for e in errors {
            let _ = write!(out, "<li><code>{}</code>: {}</li>", esc(&e.file), esc(&e.message));
        }
        for n in &summary.notes {
            let _ = write!(out, "<li><code>{}</code>: {}</li>", esc(&n.file), esc(&n.message));
        }
        let hidden = summary.notes_total.saturating_sub(summary.notes.len() as u64);
        if hidden > 0 {
            let _ = write!(out, "<li>{hidden} more note(s)</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    out
}
