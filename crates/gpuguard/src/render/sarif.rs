//! SARIF 2.1.0, for GitHub code scanning and other static-analysis dashboards: one run, the
//! catalog as the rule list, one result per finding with its file, line and object.

use crate::finding::Finding;
use crate::report::Report;
use crate::severity::Severity;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
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
    // Occurrences of each identity so far: a second finding with the same identity gets `:2`.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // Findings silenced by an ignore annotation follow, as results with an in-source suppression
    // (SARIF 2.1.0 §3.35), so code scanning shows them as dismissed with the reason.
    let all = report.findings.iter().map(|f| (f, false)).chain(report.suppressed.iter().map(|f| (f, true)));
    let results: Vec<Value> = all
        .map(|(f, suppressed)| {
            let identity = identity(f);
            let n = seen.entry(identity.clone()).or_insert(0);
            *n += 1;
            let fingerprint = if *n == 1 { identity } else { format!("{identity}:{n}") };
            let rule_index = catalog.iter().position(|c| c.id == f.rule);
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [location(f)],
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
                "properties": {"evidence": f.evidence, "document": f.location.document, "path": f.location.path, "container": f.location.container},
            });
            // SARIF wants a non-negative index or none: a rule outside the catalog gets none.
            if let (None, Some(map)) = (rule_index, result.as_object_mut()) {
                map.shift_remove("ruleIndex");
            }
            if let (true, Some(map)) = (suppressed, result.as_object_mut()) {
                let justification = f.evidence.get("justification").cloned().unwrap_or_default();
                map.insert("suppressions".into(), json!([{"kind": "inSource", "justification": justification}]));
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&e.file)}, "region": {"startLine": e.line.unwrap_or(1)}}}],
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

/// The key of gpuguard's own entry in `partialFingerprints` (SARIF §3.27.17: versioned, so a
/// later change of what it covers can use `/v2` without merging old and new alerts).
pub const FINGERPRINT_KEY: &str = "gpuguard/v1";

/// What a finding is, independent of where in the file it sits: rule id, file, object
/// (`Kind/namespace/name container c`) and field or filesystem path, joined by `|`. No line
/// number, so code scanning keeps tracking an alert when lines above it are added or removed.
/// Readable rather than hashed: it is stable across versions and machines by construction.
fn identity(f: &Finding) -> String {
    let loc = &f.location;
    let file = loc.file.as_deref().map(|p| p.trim_start_matches("./"));
    let object = super::object_label(loc);
    let subject = subject(f);
    [Some(f.rule.as_str()), file, object.as_deref(), subject.as_deref()].map(|p| p.unwrap_or("")).join("|")
}

/// What a finding is about inside its file or object: the location's path (a field path,
/// `/dev/shm`) or, for NVML's per-GPU findings that carry none, the GPU by PCI bus id (stable
/// across reboots, unlike the index order).
fn subject(f: &Finding) -> Option<String> {
    if let Some(p) = &f.location.path {
        return Some(p.clone());
    }
    f.evidence.get("pci_bus_id").and_then(Value::as_str).map(|bus| format!("GPU {bus}"))
}

/// The SARIF location of a finding: a physical location where it has a file (manifests, a DKMS
/// log) or an absolute filesystem path (`/dev/shm`), a logical location naming the object or,
/// for a host finding with no object, the check and its subject (`dev-shm /dev/shm`,
/// `xid-errors GPU 00000000:3B:00.0`). Every
/// finding has at least the logical one, so no location is ever an empty object.
fn location(f: &Finding) -> Value {
    let loc = &f.location;
    let mut location = serde_json::Map::new();
    if let Some(file) = &loc.file {
        location.insert(
            "physicalLocation".into(),
            json!({"artifactLocation": {"uri": uri(file)}, "region": {"startLine": loc.line.unwrap_or(1).max(1)}}),
        );
    } else if let Some(path) = loc.path.as_deref().filter(|p| p.starts_with('/')) {
        location.insert("physicalLocation".into(), json!({"artifactLocation": {"uri": uri(path)}}));
    }
    let logical = match super::object_label(loc) {
        Some(label) => {
            let fqn = match &loc.path {
                Some(p) => format!("{label} {p}"),
                None => label,
            };
            json!({"fullyQualifiedName": fqn, "kind": "object"})
        }
        None if loc.file.is_none() => {
            // A host finding: name the check (the rule's slug) and what it looked at.
            let check = f.slug().unwrap_or(f.rule.as_str());
            let fqn = match subject(f) {
                Some(s) => format!("{check} {s}"),
                None => check.to_owned(),
            };
            json!({"name": check, "fullyQualifiedName": fqn, "kind": "module"})
        }
        None => Value::Null,
    };
    if !logical.is_null() {
        location.insert("logicalLocations".into(), json!([logical]));
    }
    Value::Object(location)
}

/// Characters percent-encoded in a path: everything but RFC 3986's unreserved characters and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// A file name as a SARIF `artifactLocation.uri` (an RFC 3986 URI reference): a relative path
/// stays relative (code scanning resolves it against the repository root), an absolute one
/// becomes a `file://` URI; spaces and other reserved characters are percent-encoded.
///
/// ```
/// assert_eq!(gpuguard::render::sarif_uri("./k8s/my pod.yaml"), "k8s/my%20pod.yaml");
/// assert_eq!(gpuguard::render::sarif_uri("/dev/shm"), "file:///dev/shm");
/// ```
pub fn uri(file: &str) -> String {
    let file = file.trim_start_matches("./");
    let encoded = utf8_percent_encode(file, PATH).to_string();
    if file.starts_with('/') { format!("file://{encoded}") } else { encoded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, Location, Report, Severity};

    fn results(findings: Vec<Finding>) -> Vec<Value> {
        let mut r = Report::new("doctor");
        r.findings = findings;
        to_sarif_value(&r)["runs"][0]["results"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn a_host_finding_has_a_real_location_never_an_empty_object() {
        let shm = Finding::new("GG001", Severity::Error, "m", "f").with_path("/dev/shm");
        let gpu = Finding::new("GG005", Severity::Error, "m", "f").with_path("GPU 0");
        let bare = Finding::new("GG010", Severity::Warning, "m", "f");
        let nvml = Finding::new("GG005", Severity::Error, "m", "f").with_evidence("pci_bus_id", "00000000:3B:00.0");
        let r = results(vec![shm, gpu, bare, nvml]);
        assert_eq!(r[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "file:///dev/shm");
        assert_eq!(r[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "dev-shm /dev/shm");
        assert!(r[1]["locations"][0].get("physicalLocation").is_none(), "GPU 0 is not a file");
        assert_eq!(r[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "xid-errors GPU 0");
        assert_eq!(r[2]["locations"][0]["logicalLocations"][0]["name"], "kernel-driver");
        assert_eq!(
            r[3]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "xid-errors GPU 00000000:3B:00.0"
        );
        assert_eq!(r[3]["partialFingerprints"][FINGERPRINT_KEY], "GG005|||GPU 00000000:3B:00.0");
        for res in &r {
            assert!(
                res["locations"]
                    .as_array()
                    .is_some_and(|l| l.iter().all(|l| l.as_object().is_some_and(|o| !o.is_empty()))),
                "{res}"
            );
        }
    }

    #[test]
    fn the_fingerprint_ignores_the_line_and_tells_repeats_apart() {
        let at = |line| {
            let loc = Location {
                file: Some("./k8s/pod.yaml".into()),
                line: Some(line),
                kind: Some("Pod".into()),
                namespace: Some("ml".into()),
                name: Some("train".into()),
                container: Some("c".into()),
                path: Some("spec.containers[0].resources".into()),
                ..Default::default()
            };
            Finding::new("GG007", Severity::Error, "m", "f").with_location(loc)
        };
        let r = results(vec![at(8), at(30)]);
        let fp = |i: usize| r[i]["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap_or_default().to_owned();
        assert_eq!(fp(0), "GG007|k8s/pod.yaml|Pod/ml/train container c|spec.containers[0].resources");
        assert_eq!(fp(1), format!("{}:2", fp(0)));
        // The same object 22 lines lower in the next commit keeps its fingerprint.
        assert_eq!(results(vec![at(30)])[0]["partialFingerprints"][FINGERPRINT_KEY], fp(0).as_str());
    }

    #[test]
    fn file_names_become_uri_references_and_unknown_rules_get_no_index() {
        assert_eq!(uri("k8s/a b#1.yaml"), "k8s/a%20b%231.yaml");
        assert_eq!(uri("/var/lib/dkms/x/make.log"), "file:///var/lib/dkms/x/make.log");
        let r = results(vec![Finding::new("GG999", Severity::Info, "m", "f")]);
        assert!(r[0].get("ruleIndex").is_none());
    }
}
