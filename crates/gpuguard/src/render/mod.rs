//! Renderers: one [`Report`](crate::Report) in, one string out, one file per format.

mod html;
mod json;
mod markdown;
pub mod prometheus;
mod sarif;
mod text;

pub use html::{escape_html, finding_to_html, severity_background, to_html};
pub use json::{to_json, to_json_value};
pub use markdown::to_markdown;
pub use sarif::{FINGERPRINT_KEY as SARIF_FINGERPRINT_KEY, to_sarif, to_sarif_value, uri as sarif_uri};
pub use text::to_text;

use crate::finding::Location;

/// `Kind/namespace/name` (or the parts that are known) of a location, for one-line headers.
pub(crate) fn object_label(loc: &Location) -> Option<String> {
    let name = loc.name.as_deref()?;
    let mut label = String::new();
    if let Some(kind) = &loc.kind {
        label.push_str(kind);
        label.push('/');
    }
    if let Some(ns) = &loc.namespace {
        label.push_str(ns);
        label.push('/');
    }
    label.push_str(name);
    if let Some(c) = &loc.container {
        label.push_str(&format!(" container {c}"));
    }
    Some(label)
}

/// `file:line` of a location, when it has a file.
pub(crate) fn file_line(loc: &Location) -> Option<String> {
    let file = loc.file.as_deref()?;
    Some(match loc.line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_owned(),
    })
}
