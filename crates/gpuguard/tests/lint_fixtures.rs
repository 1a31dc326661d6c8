//! Every rule against its fixtures: each document of `flagged/ggNNN.yaml` must be flagged by
//! GGNNN, no document of `traps/ggNNN.yaml` may be; plus parsing, ignores, config and snapshots of
//! what a user sees in each format.
#![allow(clippy::unwrap_used)]

use gpuguard::lint::{LintConfig, LintOptions, lint_paths, lint_text};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

fn rule_files(dir: &str) -> Vec<(String, PathBuf)> {
    let mut v: Vec<_> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_stem().unwrap().to_str().unwrap().to_uppercase(), p))
        .collect();
    v.sort();
    v
}

fn lint_file(p: &Path) -> gpuguard::Report {
    lint_text(&std::fs::read_to_string(p).unwrap(), &p.display().to_string(), &LintOptions::default())
}

#[test]
fn every_flagged_document_is_flagged() {
    let files = rule_files("flagged");
    assert_eq!(files.len(), 8, "one flagged fixture per manifest rule");
    for (rule, path) in files {
        let report = lint_file(&path);
        assert!(report.errors.is_empty(), "{}: {:?}", path.display(), report.errors);
        let docs = gpuguard::yaml::split_documents(&std::fs::read_to_string(&path).unwrap()).len();
        for doc in 0..docs {
            assert!(
                report.findings.iter().any(|f| f.rule == rule && f.location.document == Some(doc)),
                "{} document {doc} not flagged by {rule}: {:#?}",
                path.display(),
                report.findings
            );
        }
    }
}

#[test]
fn no_trap_is_flagged() {
    let files = rule_files("traps");
    assert_eq!(files.len(), 8);
    for (rule, path) in files {
        let report = lint_file(&path);
        assert!(report.errors.is_empty(), "{}: {:?}", path.display(), report.errors);
        let hits: Vec<_> = report.findings.iter().filter(|f| f.rule == rule).collect();
        assert!(hits.is_empty(), "{}: false positives {hits:#?}", path.display());
    }
}

#[test]
fn findings_carry_location_and_evidence() {
    let report = lint_file(&fixtures().join("flagged/gg009.yaml"));
    let f = report.findings.iter().find(|f| f.rule == "GG009").unwrap();
    let loc = &f.location;
    assert_eq!((loc.line, loc.document), (Some(12), Some(0)), "the livenessProbe line");
    assert_eq!(loc.kind.as_deref(), Some("Deployment"));
    assert_eq!(loc.name.as_deref(), Some("vllm-70b"));
    assert_eq!(loc.container.as_deref(), Some("vllm"));
    assert_eq!(loc.path.as_deref(), Some("spec.template.spec.containers[0].livenessProbe"));
    assert_eq!(f.evidence["window_seconds"], 90);
    assert_eq!(f.evidence["load_seconds"], 170);
    assert_eq!(f.severity, gpuguard::Severity::Error);
}

#[test]
fn malformed_document_is_an_input_error_and_the_rest_is_linted() {
    let report = lint_file(&fixtures().join("snapshot.yaml"));
    assert_eq!(report.errors.len(), 1);
    let e = &report.errors[0];
    assert!(e.file.ends_with("snapshot.yaml"));
    assert!(matches!(e.line, Some(24..=26)), "{e:?}");
    // the documents before and after it were linted
    assert!(report.findings.iter().any(|f| f.rule == "GG007"));
    let node = report.findings.iter().find(|f| f.rule == "GG002").unwrap();
    assert_eq!((node.location.document, node.location.line), (Some(3), Some(29)), "the List item line");
}

const IGNORED: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    ignore-check.gpuguard.io/GG007: \"fixed in the chart\"\nspec:\n  containers:\n  - name: c\n    image: t\n    resources: {requests: {nvidia.com/gpu: 1}}\n";

#[test]
fn ignore_annotations_and_the_switch_that_refuses_them() {
    let r = lint_text(IGNORED, "p.yaml", &LintOptions::default());
    assert!(!r.findings.iter().any(|f| f.rule == "GG007"));
    assert!(r.findings.iter().any(|f| f.rule == "GG001"), "other rules still run");
    let strict = LintOptions { ignore_annotations: false, ..LintOptions::default() };
    assert!(lint_text(IGNORED, "p.yaml", &strict).findings.iter().any(|f| f.rule == "GG007"));
    // On the pod template of a Deployment.
    let dep = "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations: {ignore-check.gpuguard.io/GG001: ok}\n    spec:\n      containers: [{name: c, image: t, resources: {limits: {nvidia.com/gpu: 1}}}]\n";
    assert!(!lint_text(dep, "d.yaml", &LintOptions::default()).findings.iter().any(|f| f.rule == "GG001"));
}

#[test]
fn config_selects_rules_and_severities() {
    let config = LintConfig::parse("disable: [GG001]\nseverity: {GG007: warning}\n", ".gpuguard.yaml").unwrap();
    let r = lint_text(IGNORED, "p.yaml", &LintOptions { config, ignore_annotations: false });
    assert!(r.findings.iter().all(|f| f.rule != "GG001"));
    let f = r.findings.iter().find(|f| f.rule == "GG007").unwrap();
    assert_eq!(f.severity, gpuguard::Severity::Warning);
}

#[test]
fn unknown_kinds_are_notes_not_errors_and_dirs_are_walked() {
    let r =
        lint_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "w.yaml", &LintOptions::default());
    assert!(r.errors.is_empty() && r.findings.is_empty());
    assert_eq!(r.checks.len(), 1);
    assert!(r.checks[0].reason.contains("Widget"), "{:?}", r.checks);
    let all = lint_paths(&[fixtures().join("flagged"), fixtures().join("traps")], &LintOptions::default());
    assert!(all.errors.is_empty());
    assert!(all.findings.len() > 20);
}

#[test]
fn json_stream_and_list() {
    let r = lint_text(
        r#"{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]}}]}"#,
        "l.json",
        &LintOptions::default(),
    );
    assert!(r.findings.iter().any(|f| f.rule == "GG007" && f.location.name.as_deref() == Some("a")));
}

fn snapshot_report() -> gpuguard::Report {
    let text = std::fs::read_to_string(fixtures().join("snapshot.yaml")).unwrap();
    lint_text(&text, "snapshot.yaml", &LintOptions::default())
}

#[test]
fn snapshot_text() {
    insta::assert_snapshot!(gpuguard::render::to_text(&snapshot_report(), false));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!(gpuguard::render::to_json(&snapshot_report()));
}

#[test]
fn snapshot_sarif() {
    let mut v = gpuguard::render::to_sarif_value(&snapshot_report());
    // The rule catalogue is long and tested elsewhere; keep the snapshot on the results.
    v["runs"][0]["tool"]["driver"]["rules"] = serde_json::json!("<catalog>");
    v["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("<version>");
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn locate_handles_compact_and_indented_sequences() {
    let text = "spec:\n  containers:\n    - name: a\n      image: x\n    - \"name\": b\n      resources:\n        limits: {}\n";
    assert_eq!(gpuguard::yaml::locate(text, 1, "spec.containers[1].resources.limits"), Some(7));
    assert_eq!(gpuguard::yaml::locate(text, 1, "spec.containers[5]"), Some(2));
    assert_eq!(gpuguard::yaml::locate("{\"spec\": {}}", 1, "spec"), None);
}

proptest::proptest! {
    // Whatever the input, lint returns a report (findings or input errors), never a panic.
    #[test]
    fn lint_never_panics(text in "(kind: (Pod|Node|List|ConfigMap)|spec:|  containers:|  - name: c|    resources: \\{limits: \\{nvidia.com/gpu: [0-9.a-z-]{0,3}\\}\\}|items:|- kind: Pod|---|data: \\{a: \"timeSlicing: \\[\"\\}|[ -~]{0,12}|\n){0,30}") {
        let r = lint_text(&text, "fuzz.yaml", &LintOptions::default());
        for f in &r.findings {
            proptest::prop_assert!(f.location.line.is_some_and(|l| l >= 1 && l <= text.lines().count().max(1)));
        }
    }
}
