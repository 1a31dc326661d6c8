//! Every rule against its fixtures: each document of `flagged/ggNNN.yaml` must be flagged by
//! GGNNN, no document of `traps/ggNNN.yaml` may be; plus parsing, ignores, config and snapshots of
//! what a user sees in each format.
#![allow(clippy::unwrap_used)]

use gpuguard::footguns::{RuleId, manifest_rules};
use gpuguard::lint::{LintConfig, LintOptions, lint_paths, lint_text};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

fn lint_file(p: &Path) -> gpuguard::Report {
    lint_text(&std::fs::read_to_string(p).unwrap(), &p.display().to_string(), &LintOptions::default())
}

/// The fixture of a rule: `flagged/gg001.yaml` or `traps/gg001.yaml`.
fn rule_fixture(dir: &str, id: RuleId) -> PathBuf {
    fixtures().join(dir).join(format!("{}.yaml", id.as_str().to_ascii_lowercase()))
}

/// Driven by the registry: every manifest rule has a flagged fixture, each of whose documents it
/// flags, and a trap fixture, none of whose documents it flags; no fixture is left over.
#[test]
fn every_manifest_rule_has_flagged_and_trap_fixtures() {
    let rules = manifest_rules();
    for dir in ["flagged", "traps"] {
        assert_eq!(std::fs::read_dir(fixtures().join(dir)).unwrap().count(), rules.len(), "{dir}: one file per rule");
    }
    for rule in rules {
        let path = rule_fixture("flagged", rule.id);
        let report = lint_file(&path);
        assert!(report.errors.is_empty() && report.skipped.is_empty(), "{}: {:?}", path.display(), report.errors);
        // Each fixture document starts with `apiVersion:` (the fixtures have no other top-level start).
        let docs = std::fs::read_to_string(&path).unwrap().lines().filter(|l| l.starts_with("apiVersion:")).count();
        for doc in 0..docs {
            assert!(
                report.findings.iter().any(|f| f.rule == rule.id.as_str() && f.location.document == Some(doc)),
                "{} document {doc} not flagged by {}: {:#?}",
                path.display(),
                rule.id,
                report.findings
            );
        }
        let path = rule_fixture("traps", rule.id);
        let report = lint_file(&path);
        assert!(report.errors.is_empty() && report.skipped.is_empty(), "{}: {:?}", path.display(), report.errors);
        let hits: Vec<_> = report.findings.iter().filter(|f| f.rule == rule.id.as_str()).collect();
        assert!(hits.is_empty(), "{}: false positives {hits:#?}", path.display());
    }
}

/// One snapshot per rule: what a user sees for its flagged fixture.
#[test]
fn snapshot_per_rule() {
    for rule in manifest_rules() {
        let path = rule_fixture("flagged", rule.id);
        let name = format!("flagged/{}.yaml", rule.id.as_str().to_ascii_lowercase());
        let mut report = lint_text(&std::fs::read_to_string(&path).unwrap(), &name, &LintOptions::default());
        report.findings.retain(|f| f.rule == rule.id.as_str());
        insta::assert_snapshot!(format!("rule_{}", rule.id), gpuguard::render::to_text(&report, false));
    }
}

/// The README's footgun table is the catalog's: same ids, same slugs, same order.
#[test]
fn readme_table_matches_the_registry() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let rows: Vec<(String, String)> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() >= 4 && cells[1].starts_with("GG0")).then(|| (cells[1].to_owned(), cells[2].to_owned()))
        })
        .collect();
    let want: Vec<(String, String)> =
        gpuguard::catalog().iter().map(|f| (f.id.to_owned(), f.slug.to_owned())).collect();
    assert_eq!(rows, want);
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

const IGNORED: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    ignore-check.gpuguard.io/GG007: \"fixed in the chart\"\nspec:\n  containers:\n  - name: c\n    image: t\n    command: [torchrun, train.py]\n    resources: {requests: {nvidia.com/gpu: 1}}\n";

#[test]
fn ignore_annotations_and_the_switch_that_refuses_them() {
    let r = lint_text(IGNORED, "p.yaml", &LintOptions::default());
    assert!(!r.findings.iter().any(|f| f.rule == "GG007"));
    assert!(r.findings.iter().any(|f| f.rule == "GG001"), "other rules still run");
    let strict = LintOptions { ignore_annotations: false, ..LintOptions::default() };
    assert!(lint_text(IGNORED, "p.yaml", &strict).findings.iter().any(|f| f.rule == "GG007"));
    // On the pod template of a Deployment.
    let dep = "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations: {ignore-check.gpuguard.io/GG001: ok}\n    spec:\n      containers: [{name: c, image: t, command: [torchrun, train.py], resources: {limits: {nvidia.com/gpu: 1}}}]\n";
    assert!(!lint_text(dep, "d.yaml", &LintOptions::default()).findings.iter().any(|f| f.rule == "GG001"));
}

/// The slug is an alias of its rule id; an empty reason silences nothing and the finding says why.
#[test]
fn ignore_by_slug_and_empty_reasons_are_refused() {
    let slug = IGNORED.replace("ignore-check.gpuguard.io/GG007", "ignore-check.gpuguard.io/gpu-requests-limits");
    let r = lint_text(&slug, "p.yaml", &LintOptions::default());
    assert!(!r.findings.iter().any(|f| f.rule == "GG007"));
    // Silenced findings are kept, with the annotation and its reason.
    let kept = r.suppressed.iter().find(|f| f.rule == "GG007").expect("GG007 listed as suppressed");
    assert_eq!(kept.evidence["justification"], "fixed in the chart");
    assert_eq!(kept.evidence["suppressed_by"], "ignore-check.gpuguard.io/gpu-requests-limits");
    assert_eq!(kept.location.line, Some(12));
    // A typo silences nothing and is named, with the known ids.
    let typo = IGNORED.replace("ignore-check.gpuguard.io/GG007", "ignore-check.gpuguard.io/GG099");
    let r2 = lint_text(&typo, "p.yaml", &LintOptions::default());
    assert!(r2.findings.iter().any(|f| f.rule == "GG007"));
    assert_eq!(r2.findings.iter().filter(|f| f.rule == "ignore-check").count(), 1, "{:?}", r2.findings);
    let note = r2.findings.iter().find(|f| f.rule == "ignore-check").expect("the unknown id is reported");
    assert!(
        note.message.contains("ignore-check.gpuguard.io/GG099") && note.fix.contains("GG001 (dev-shm)"),
        "{note:?}"
    );
    assert_eq!((note.severity, note.location.line), (gpuguard::Severity::Info, Some(5)));
    // In SARIF a suppressed finding is a result with an in-source suppression and its reason.
    let sarif = gpuguard::render::to_sarif_value(&r);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let res = results.iter().find(|x| x["ruleId"] == "GG007").expect("GG007 in SARIF");
    assert_eq!(res["suppressions"], serde_json::json!([{"kind": "inSource", "justification": "fixed in the chart"}]));
    assert!(results.iter().filter(|x| x["ruleId"] != "GG007").all(|x| x.get("suppressions").is_none()));
    let shm = IGNORED.replace("ignore-check.gpuguard.io/GG007", "ignore-check.gpuguard.io/dev-shm");
    assert!(!lint_text(&shm, "p.yaml", &LintOptions::default()).findings.iter().any(|f| f.rule == "GG001"));
    let empty = IGNORED.replace("\"fixed in the chart\"", "\"\"");
    let r = lint_text(&empty, "p.yaml", &LintOptions::default());
    let f = r.findings.iter().find(|f| f.rule == "GG007").expect("an empty reason does not silence GG007");
    let why = f.evidence["ignore_refused"].as_str().unwrap();
    assert!(why.contains("ignore-check.gpuguard.io/GG007") && why.contains("empty reason"), "{why}");
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
    assert_eq!(r.skipped.len(), 1);
    let s = &r.skipped[0];
    assert_eq!((s.kind.as_deref(), s.name.as_deref(), s.line), (Some("Widget"), Some("w"), Some(1)));
    assert!(s.reason.contains("Widget"), "{s:?}");
    let all = lint_paths(&[fixtures().join("flagged"), fixtures().join("traps")], &LintOptions::default());
    assert!(all.errors.is_empty(), "{:?}", all.errors);
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

// ---- The field cases (../shared/field-cases/k8s/, copied to fixtures/lint/field-cases/) ----

fn field_case(name: &str) -> gpuguard::Report {
    let r = lint_file(&fixtures().join("field-cases").join(name));
    assert!(r.errors.is_empty(), "{name}: {:?}", r.errors);
    assert!(r.skipped.is_empty(), "{name}: {:?}", r.skipped);
    r
}

fn rules_of(r: &gpuguard::Report) -> Vec<&str> {
    let mut v: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    v.sort_unstable();
    v
}

#[test]
fn field_case_mpijob_cpu_launcher_has_no_findings() {
    let r = field_case("mpijob_cpu_launcher.yaml");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn field_case_trainer_v2_runtime_is_linted_at_field_lines() {
    let r = field_case("trainer_v2_cluster_training_runtime.yaml");
    assert_eq!(rules_of(&r), ["GG001", "GG003", "GG007"], "{:#?}", r.findings);
    for f in &r.findings {
        assert_eq!(f.location.container.as_deref(), Some("node"), "{f:#?}");
        assert_eq!(f.location.kind.as_deref(), Some("ClusterTrainingRuntime"));
    }
    let line = |rule: &str| r.findings.iter().find(|f| f.rule == rule).unwrap().location.line;
    assert_eq!(line("GG007"), Some(18), "resources");
    assert_eq!(line("GG001"), Some(15), "the container (it has no volumeMounts)");
    assert_eq!(line("GG003"), Some(13), "the pod spec (it has no volumes)");
    let gg003 = r.findings.iter().find(|f| f.rule == "GG003").unwrap();
    assert_eq!(gg003.evidence["training_recognised_by"], "kind ClusterTrainingRuntime");
}

#[test]
fn field_case_json_pod_points_at_field_lines() {
    let r = field_case("pod_requests_only.json");
    assert_eq!(rules_of(&r), ["GG001", "GG003", "GG007"], "{:#?}", r.findings);
    let line = |rule: &str| r.findings.iter().find(|f| f.rule == rule).unwrap().location.line;
    assert_eq!(line("GG007"), Some(11));
    assert_eq!(line("GG001"), Some(7));
    assert_eq!(line("GG003"), Some(5));
}

#[test]
fn field_case_vllm_startup_probe_window_below_load() {
    let r = field_case("vllm_startup_probe_3s.yaml");
    assert_eq!(rules_of(&r), ["GG001", "GG009"], "{:#?}", r.findings);
    let gg009 = r.findings.iter().find(|f| f.rule == "GG009").unwrap();
    assert_eq!(gg009.location.line, Some(15), "the startupProbe line");
    assert_eq!(gg009.evidence["probe"], "startupProbe");
    assert_eq!(gg009.evidence["window_seconds"], 3);
    assert!(gg009.evidence["load_seconds"].as_u64().unwrap() > 100);
    assert!(gg009.message.contains("3 s"), "{}", gg009.message);
    let gg001 = r.findings.iter().find(|f| f.rule == "GG001").unwrap();
    assert_eq!(gg001.evidence["shm_use"], "nccl");
    assert_eq!(gg001.evidence["shm_bytes"], 67_108_864);
    assert!(gg001.fix.contains("inference") && !gg001.fix.contains("image training"), "{}", gg001.fix);
    assert!(gg001.message.contains("64 MiB"), "{}", gg001.message);
}

// ---- Every workload kind: a flagged and a trap fixture (fixtures/lint/workloads/) ----

/// The rules each flagged workload fixture must raise, exactly.
const WORKLOADS: &[(&str, &[&str])] = &[
    ("argo_cronworkflow", &["GG001", "GG007"]),
    ("argo_resource", &["GG007"]),
    ("argo_workflow", &["GG001", "GG003", "GG007", "GG008"]),
    ("argo_workflowtemplate", &["GG007"]),
    ("clusterservingruntime", &["GG007"]),
    ("discovered", &["GG008"]),
    ("inferenceservice", &["GG006"]),
    ("jobset", &["GG008"]),
    ("leaderworkerset", &["GG006", "GG007"]),
    ("nimservice", &["GG007"]),
    ("trainingruntime", &["GG001", "GG003"]),
    ("trainjob", &["GG007"]),
    ("volcano_job", &["GG007"]),
];

#[test]
fn every_workload_kind_is_linted_inside_its_templates() {
    let dir = fixtures().join("workloads");
    let mut names: Vec<String> = std::fs::read_dir(dir.join("flagged"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, WORKLOADS.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>(), "a table row per fixture");
    for (name, want) in WORKLOADS {
        let r = lint_file(&dir.join(format!("flagged/{name}.yaml")));
        assert!(r.errors.is_empty() && r.skipped.is_empty(), "{name}: {:?} {:?}", r.errors, r.skipped);
        let mut got: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
        got.sort_unstable();
        got.dedup();
        assert_eq!(&got, want, "{name}: {:#?}", r.findings);
        for f in &r.findings {
            let line = f.location.line.unwrap();
            assert!(line > 1, "{name}: {} points at line {line}, not at its field", f.rule);
        }
        let trap = lint_file(&dir.join(format!("traps/{name}.yaml")));
        assert!(trap.errors.is_empty() && trap.skipped.is_empty(), "{name}: {:?} {:?}", trap.errors, trap.skipped);
        assert!(trap.findings.is_empty(), "trap {name}: {:#?}", trap.findings);
    }
}

#[test]
fn workload_paths_roles_and_discovery_evidence() {
    let dir = fixtures().join("workloads/flagged");
    let r = lint_file(&dir.join("trainjob.yaml"));
    assert_eq!(r.findings[0].location.path.as_deref(), Some("spec.trainer.resourcesPerNode.requests.nvidia.com/gpu"));
    assert_eq!(r.findings[0].location.line, Some(12));
    let r = lint_file(&dir.join("volcano_job.yaml"));
    assert_eq!(
        r.findings[0].location.path.as_deref(),
        Some("spec.tasks[1].template.spec.containers[0].resources.requests.nvidia.com/gpu")
    );
    let r = lint_file(&dir.join("discovered.yaml"));
    assert_eq!(r.findings[0].evidence["pod_spec_found_at"], "spec.runner.template.spec");
    assert_eq!(r.findings[0].location.path.as_deref(), Some("spec.runner.template.spec.containers[0].resources"));
    // An object an Argo resource template creates: linted at its own lines, and says where it sits.
    let r = lint_file(&dir.join("argo_resource.yaml"));
    assert_eq!(r.findings[0].location.kind.as_deref(), Some("JobSet"));
    assert_eq!(r.findings[0].location.line, Some(33));
    assert_eq!(r.findings[0].evidence["embedded_in"], "Workflow pytorch-train-: spec.templates[0].resource.manifest");
    let r = lint_file(&dir.join("argo_workflow.yaml"));
    let gg008 = r.findings.iter().find(|f| f.rule == "GG008").unwrap();
    assert_eq!(gg008.location.path.as_deref(), Some("spec.templates[1].script.resources"));
    let gg003 = r.findings.iter().find(|f| f.rule == "GG003").unwrap();
    assert_eq!(gg003.evidence["training_recognised_by"], "container main runs train.py");
}

// ---- The cluster audit on `kubectl get nodes,pods,daemonsets -A -o json` ----

#[test]
fn cluster_audit_on_a_live_list() {
    let path = fixtures().join("cluster/kubectl_get_nodes_pods_daemonsets.json");
    let mut opts = LintOptions::default();
    opts.config.gpu_node_hourly_cost = Some(98.32);
    let r = lint_text(&std::fs::read_to_string(&path).unwrap(), "cluster.json", &opts);
    assert!(r.errors.is_empty() && r.skipped.is_empty(), "{:?} {:?}", r.errors, r.skipped);
    let audits: Vec<_> =
        r.findings.iter().filter(|f| f.rule == "GG002" && f.evidence.contains_key("cpu_pods")).collect();
    // The tainted node runs only GPU pods and the GPU operator's dcgm-exporter: no audit finding.
    assert_eq!(audits.len(), 1, "{audits:#?}");
    let f = audits[0];
    assert_eq!(f.location.name.as_deref(), Some("ip-10-0-12-34.ec2.internal"));
    assert_eq!(f.location.line, Some(4), "the Node's item in the List");
    let pods: Vec<&str> =
        f.evidence["cpu_pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    // Not the dcgm-exporter (GPU infrastructure DaemonSet), not the GPU trainer, not the finished
    // Job pod, and not kube-proxy: a DaemonSet's pod is the node's own overhead, listed apart.
    assert_eq!(pods, ["etl-worker-7d9f8c6b5-2xkqp"]);
    let agents: Vec<&str> =
        f.evidence["node_agent_pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(agents, ["kube-proxy-5n8xv"]);
    assert_eq!(f.evidence["cpu_requested_millicores"], 48000.0);
    assert_eq!(f.evidence["cpu_allocatable_millicores"], 191450.0);
    assert_eq!(f.evidence["cpu_share"], 0.251);
    assert_eq!(f.evidence["memory_share"], 0.095);
    assert_eq!(f.evidence["taints"], serde_json::json!([]));
    // 98.32 USD/h × 24 h × 48 of 191.45 CPUs (CPU, the more used resource).
    assert_eq!(f.evidence["cost_per_day_usd"], 591.61);
    assert!(f.message.contains("not tainted") && f.message.contains("$591.61 a day"), "{}", f.message);
    // Without a price: the shares, no cost.
    let r = lint_text(&std::fs::read_to_string(&path).unwrap(), "cluster.json", &LintOptions::default());
    let f = r.findings.iter().find(|f| f.evidence.contains_key("cpu_pods")).unwrap();
    assert!(f.evidence["cost_per_day_usd"].is_null());
    // The trainer pod in the List is linted like any pod (it is configured right).
    assert!(!r.findings.iter().any(|f| f.location.kind.as_deref() == Some("Pod")), "{:#?}", r.findings);
}

#[test]
fn cluster_audit_counts_pods_that_tolerate_the_taint() {
    let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "g1"},
       "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
       "status": {"capacity": {"nvidia.com/gpu": "4"}, "allocatable": {"cpu": "64", "memory": "512Gi", "nvidia.com/gpu": "4"}}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "batch", "namespace": "d"},
       "spec": {"nodeName": "g1", "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "32", "memory": "64Gi"}}}]},
       "status": {"phase": "Running"}}]}"#;
    let r = lint_text(list, "l.json", &LintOptions::default());
    let f = r.findings.iter().find(|f| f.evidence.contains_key("cpu_pods")).unwrap();
    assert_eq!(f.evidence["cpu_share"], 0.5);
    assert_eq!(f.evidence["taints"], serde_json::json!(["nvidia.com/gpu:NoSchedule"]));
    assert!(f.fix.contains("toleration"), "{}", f.fix);
}

/// A GPU node that runs only per-node agents (kube-proxy, a CNI, a log shipper, a static pod)
/// besides its GPU pods is not "CPU pods eating a GPU node": no audit finding.
#[test]
fn cluster_audit_leaves_node_agents_out() {
    let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "g1"},
       "status": {"capacity": {"nvidia.com/gpu": "8"}, "allocatable": {"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"}}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "calico-node-x1", "namespace": "kube-system",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "calico-node", "controller": true}]},
       "spec": {"nodeName": "g1", "containers": [{"name": "calico-node", "image": "calico/node:v3.27", "resources": {"requests": {"cpu": "250m"}}}]},
       "status": {"phase": "Running"}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fluent-bit-7q", "namespace": "logging",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluent-bit", "controller": true}]},
       "spec": {"nodeName": "g1", "containers": [{"name": "fluent-bit", "image": "fluent/fluent-bit:3.0", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
       "status": {"phase": "Running"}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-proxy-g1", "namespace": "kube-system",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "g1", "controller": true}]},
       "spec": {"nodeName": "g1", "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.30.0", "resources": {"requests": {"cpu": "100m"}}}]},
       "status": {"phase": "Running"}}]}"#;
    let r = lint_text(list, "l.json", &LintOptions::default());
    assert!(!r.findings.iter().any(|f| f.evidence.contains_key("cpu_pods")), "{:#?}", r.findings);
}

// ---- Input that cannot hurt it ----

#[test]
fn one_bad_document_does_not_lose_the_others() {
    let mut bytes = b"kind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: x, resources: {requests: {nvidia.com/gpu: 1}}}]\n---\nkind: ConfigMap\nmetadata: {name: \"".to_vec();
    bytes.extend_from_slice(b"\xc3\x28\"}\n---\nkind: [\n---\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: c, image: x, resources: {requests: {nvidia.com/gpu: 1}}}]\n");
    let r = gpuguard::lint::lint_bytes(&bytes, "m.yaml", &LintOptions::default());
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert_eq!(r.errors[0].line, Some(7));
    assert!(r.errors[0].message.contains("UTF-8"), "{:?}", r.errors[0]);
    assert_eq!(r.errors[1].line, Some(9));
    let names: Vec<_> = r.findings.iter().filter(|f| f.rule == "GG007").map(|f| f.location.name.as_deref()).collect();
    assert_eq!(names, [Some("a"), Some("b")]);
}

#[test]
fn oversized_inputs_are_errors_and_dirs_skip_fifos() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.yaml"), "# padding\n".repeat(200)).unwrap();
    std::fs::write(dir.path().join("pod.yaml"), IGNORED).unwrap();
    let fifo = std::ffi::CString::new(dir.path().join("fifo.yaml").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let mut opts = LintOptions::default();
    opts.config.max_file_bytes = Some(1000);
    let r = lint_paths(&[dir.path().to_path_buf()], &opts);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].file.ends_with("big.yaml") && r.errors[0].message.contains("cap"), "{:?}", r.errors);
    assert!(r.findings.iter().any(|f| f.location.file.as_deref().is_some_and(|p| p.ends_with("pod.yaml"))));
    assert!(r.checks.iter().any(|c| c.reason.contains("fifo.yaml") && c.reason.contains("FIFO")), "{:?}", r.checks);
}

/// GG001 speaks of what it recognised: a TensorFlow job's /dev/shm need is NCCL between its GPUs,
/// not a PyTorch DataLoader; a PyTorch trainer's is its DataLoader, and the evidence names the
/// framework.
#[test]
fn gg001_message_fits_the_framework() {
    let r = lint_file(&rule_fixture("flagged", RuleId::GG001));
    let gg001 =
        |name: &str| r.findings.iter().find(|f| f.rule == "GG001" && f.location.name.as_deref() == Some(name)).unwrap();
    let tf = gg001("resnet-mirrored");
    assert_eq!(tf.evidence["shm_use"], "nccl");
    assert!(!tf.message.contains("PyTorch") && !tf.message.contains("DataLoader"), "{}", tf.message);
    let torch = gg001("trainer");
    assert_eq!(torch.evidence["shm_use"], "dataloader");
    assert!(torch.message.contains("PyTorch DataLoader"), "{}", torch.message);
}
