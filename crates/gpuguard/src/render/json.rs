use crate::report::{Report, SCHEMA_VERSION};
use serde_json::{Value, json};

/// The report as the versioned JSON object every command prints:
/// `{"schema": 1, "command", "findings", "checks", "errors", "summary"}`.
///
/// ```
/// let v = gpuguard::render::to_json_value(&gpuguard::Report::new("lint"));
/// assert_eq!(v["schema"], 1);
/// assert_eq!(v["summary"]["errors"], 0);
/// ```
pub fn to_json_value(report: &Report) -> Value {
    let mut v = json!({
        "schema": SCHEMA_VERSION,
        "command": report.command,
        "findings": report.findings,
        "checks": report.checks,
        "errors": report.errors,
        "summary": report.summary(),
    });
    // `gpuguard lint` lists the objects it read but did not check.
    if report.command == "lint" {
        v["skipped"] = json!(report.skipped);
    }
    v
}

/// The report as pretty-printed JSON text (see [`to_json_value`]).
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(&to_json_value(report)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
