use crate::Finding;
use crate::report::{Check, InputError, Report, SCHEMA_VERSION, Skipped, Summary};
use serde::Serialize;
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
    serde_json::to_value(JsonReport::of(report)).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// The report's JSON shape, borrowed: serialized straight to text, with no [`Value`] tree in
/// between (a 4,000-pod `List` has tens of thousands of findings).
#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    command: &'a str,
    findings: &'a [Finding],
    checks: &'a [Check],
    errors: &'a [InputError],
    summary: Summary,
    /// `gpuguard lint` lists the objects it read but did not check.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a [Skipped]>,
    /// `gpuguard lint`: findings silenced by `ignore-check.gpuguard.io/*` annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<&'a [Finding]>,
}

impl<'a> JsonReport<'a> {
    fn of(report: &'a Report) -> Self {
        JsonReport {
            schema: SCHEMA_VERSION,
            command: &report.command,
            findings: &report.findings,
            checks: &report.checks,
            errors: &report.errors,
            summary: report.summary(),
            skipped: (report.command == "lint").then_some(report.skipped.as_slice()),
            suppressed: (report.command == "lint").then_some(report.suppressed.as_slice()),
        }
    }
}

/// The report as pretty-printed JSON text (see [`to_json_value`]).
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(&JsonReport::of(report)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
