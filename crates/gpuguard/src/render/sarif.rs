//! SARIF 2.1.0, for GitHub code scanning and other static-analysis dashboards: one run, the
//! catalog as the rule list, one result per finding with its file, line and object.

use crate::report::Report;
use crate::severity::Severity;
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Renders a report as a SARIF 2.1.0 log (pretty JSON).
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("lint");
/// let mut f = Finding::new("GG007", Severity::Error, "m", "f");
/// f.location.file = Some("k8s/pod.yaml".into());
/// f.location.line = Some(3);
/// r.findings.push(f);
/// let v: serde_json::Value = serde_json::from_str(&gpuguard::render::to_sarif(&r)).unwrap();
/// assert_eq!(v["version"], "2.1.0");
/// let res = &v["runs"][0]["results"][0];
/// assert_eq!(res["ruleId"], "GG007");
/// assert_eq!(res["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
/// ```
pub fn to_sarif(report: &Report) -> String {
    serde_json::to_string_pretty(&to_sarif_value(report)).unwrap_or_default()
}

/// The SARIF log as a JSON value.
pub fn to_sarif_value(report: &Report) -> Value {
    let catalog = crate::footguns::catalog();
    let rules: Vec<Value> = catalog
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "name": f.slug,
                "shortDescription": {"text": f.title},
                "fullDescription": {"text": f.why},
                "help": {"text": format!("{}\n\nFix: {}", f.what, f.fix), "markdown": format!("{}\n\n**Fix:** {}\n\n```yaml\n{}\n```", f.what, f.fix, f.example)},
                "helpUri": format!("https://github.com/gpuguard/gpuguard#{}", f.id.to_ascii_lowercase()),
                "defaultConfiguration": {"level": level(f.default_severity)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let loc = &f.location;
            let mut location = json!({});
            if let Some(file) = &loc.file {
                location["physicalLocation"] = json!({
                    "artifactLocation": {"uri": file.trim_start_matches("./")},
                    "region": {"startLine": loc.line.unwrap_or(1)},
                });
            }
            if let Some(label) = super::object_label(loc) {
                let fqn = match &loc.path {
                    Some(p) => format!("{label} {p}"),
                    None => label,
                };
                location["logicalLocations"] = json!([{"fullyQualifiedName": fqn, "kind": "object"}]);
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": catalog.iter().position(|c| c.id == f.rule),
                "level": level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [location],
                "properties": {"evidence": f.evidence, "document": loc.document, "path": loc.path, "container": loc.container},
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.file}, "region": {"startLine": e.line.unwrap_or(1)}}}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gpuguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/gpuguard/gpuguard",
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": report.errors.is_empty(), "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    })
}
