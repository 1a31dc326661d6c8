//! `gpuguard lint`: Kubernetes manifests in, findings out. The engine parses each input (see
//! [`crate::yaml`]), walks every object (and `List` item), runs the rules in [`rules`] and applies
//! the config (rule selection, severities) and the `ignore-check.gpuguard.io/<ID>` annotations.
//!
//! ```
//! let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: cuda\n    resources: {requests: {nvidia.com/gpu: 1}}\n";
//! let report = gpuguard::lint::lint_text(yaml, "pod.yaml", &gpuguard::lint::LintOptions::default());
//! let f = report.findings.iter().find(|f| f.rule == "GG007").unwrap();
//! assert_eq!(f.location.line, Some(8)); // the line of `resources:`
//! assert_eq!(f.location.path.as_deref(), Some("spec.containers[0].resources.requests.nvidia.com/gpu"));
//! ```

pub mod config;
pub mod rules;

pub use config::LintConfig;

use crate::finding::{Finding, Location};
use crate::k8s::{self, Container, Object, PodSpec};
use crate::report::{Check, CheckStatus, InputError, Report};
use crate::severity::Severity;
use crate::{Error, yaml};
use std::path::{Path, PathBuf};

/// The annotation prefix that silences one rule on one object: `ignore-check.gpuguard.io/GG001`.
pub const IGNORE_PREFIX: &str = "ignore-check.gpuguard.io/";

/// How a run lints.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Rule selection and severities.
    pub config: LintConfig,
    /// Whether `ignore-check.gpuguard.io/*` annotations are honoured (CI may refuse them).
    pub ignore_annotations: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions { config: LintConfig::default(), ignore_annotations: true }
    }
}

/// What a rule sees: one object, its pod specs, and where findings go.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The object.
    pub obj: Object<'a>,
    /// Its pod specs.
    pub pods: Vec<PodSpec<'a>>,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    /// Records a finding at the rule's default severity. `container` names the container, `path`
    /// is the field path inside the object.
    pub fn emit(
        &mut self,
        rule: &str,
        message: String,
        fix: String,
        container: Option<&Container<'_>>,
        path: String,
    ) -> &mut Finding {
        let severity = crate::catalog::footgun(rule).map_or(Severity::Warning, |f| f.default_severity);
        let mut f = Finding::new(rule, severity, message, fix);
        f.location.container = container.map(|c| c.name.clone());
        f.location.path = Some(path);
        self.push(f)
    }

    /// Records a finding built elsewhere (its container and path already set).
    pub fn push(&mut self, f: Finding) -> &mut Finding {
        self.findings.push(f);
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }
}

/// Lints one text (a file's content, stdin, a string). Parse errors become report errors with the
/// file and line; the other documents are still linted.
pub fn lint_text(text: &str, file: &str, opts: &LintOptions) -> Report {
    let mut report = Report::new("lint");
    for raw in yaml::split_documents(text) {
        let value = match yaml::parse_value(raw.text, file, raw.first_line) {
            Ok(v) => v,
            Err(e) => {
                report.errors.push(InputError::from(&e));
                continue;
            }
        };
        let doc = Doc { raw, file };
        let Some(obj) = Object::new(&value) else {
            if !value.is_null() {
                report.checks.push(note(file, raw.content_line, "document is not a mapping; skipped"));
            }
            continue;
        };
        if obj.kind.ends_with("List") && obj.value["items"].is_array() {
            for (i, item) in obj.list_items().into_iter().enumerate() {
                lint_object(item, &doc, &format!("items[{i}]."), opts, &mut report);
            }
        } else {
            lint_object(obj, &doc, "", opts, &mut report);
        }
    }
    report
}

/// Where an object came from: its document's text and place, for locating field lines.
#[derive(Debug, Clone, Copy)]
struct Doc<'a> {
    raw: yaml::RawDocument<'a>,
    file: &'a str,
}

impl Doc<'_> {
    /// The line of `path` (prefixed by the List item's path), or the document's first line.
    fn line(&self, prefix: &str, path: &str) -> usize {
        let full = format!("{prefix}{path}");
        let full = full.trim_end_matches('.');
        if full.is_empty() {
            return self.raw.content_line;
        }
        yaml::locate(self.raw.text, self.raw.first_line, full).unwrap_or(self.raw.content_line)
    }
}

fn note(file: &str, line: usize, what: &str) -> Check {
    Check::new("skipped", CheckStatus::Skipped, format!("{file}:{line}: {what}"))
}

/// Kinds without pod specs that gpuguard still knows (so they are not reported as unknown).
const INERT_KINDS: &[&str] = &[
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "PriorityClass",
    "RuntimeClass",
    "Node",
    "LimitRange",
    "ResourceQuota",
    "ServiceMonitor",
    "PodMonitor",
    "Endpoints",
    "EndpointSlice",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "HTTPRoute",
    "Gateway",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "DeviceClass",
];

fn lint_object(obj: Object<'_>, doc: &Doc<'_>, prefix: &str, opts: &LintOptions, report: &mut Report) {
    let (file, document) = (doc.file, doc.raw.index);
    let line = doc.line(prefix, "");
    let pods = k8s::pod_specs(&obj);
    let known = INERT_KINDS.contains(&obj.kind)
        || k8s::WORKLOAD_KINDS.contains(&obj.kind)
        || rules::is_device_plugin_config(obj.value);
    if pods.is_empty() && !known {
        let what = if obj.kind.is_empty() {
            "no kind".to_owned()
        } else {
            format!("kind {} is not one gpuguard checks", obj.kind)
        };
        report.checks.push(note(file, line, &format!("{}: {what}; skipped", obj.name.unwrap_or("(unnamed)"))));
        return;
    }
    let mut ctx = Ctx { obj, pods, findings: Vec::new() };
    for rule in rules::RULES {
        if opts.config.enabled(rule.id) {
            (rule.check)(&mut ctx);
        }
    }
    let Ctx { obj, pods, findings } = ctx;
    for mut f in findings {
        if opts.ignore_annotations && ignored(&obj, &pods, &f) {
            continue;
        }
        if let Some(sev) = opts.config.severity_of(&f.rule) {
            f.severity = sev;
        }
        let loc = &mut f.location;
        let at = loc.path.as_deref().map_or(line, |p| doc.line(prefix, p));
        *loc = Location {
            file: Some(file.to_owned()),
            line: Some(at),
            document: Some(document),
            kind: Some(obj.kind.to_owned()).filter(|k| !k.is_empty()),
            name: obj.name.map(str::to_owned),
            namespace: obj.namespace.map(str::to_owned),
            container: loc.container.take(),
            path: loc.path.take(),
        };
        report.findings.push(f);
    }
}

/// Whether an ignore annotation for the finding's rule sits on the object or on the pod template
/// the finding is in.
fn ignored(obj: &Object<'_>, pods: &[PodSpec<'_>], f: &Finding) -> bool {
    let key = format!("{IGNORE_PREFIX}{}", f.rule);
    if obj.annotation(&key).is_some() {
        return true;
    }
    let path = f.location.path.as_deref().unwrap_or("");
    pods.iter().any(|p| path.starts_with(&p.path) && p.annotation(&key).is_some())
}

/// Expands inputs: files as given, directories recursively (`*.yaml`, `*.yml`, `*.json`, sorted,
/// hidden entries skipped), `-` as stdin. Unreadable inputs are errors in the list.
pub fn collect_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    for p in paths {
        if p.as_os_str() == "-" || p.is_file() {
            files.push(p.clone());
        } else if p.is_dir() {
            walk(p, &mut files, &mut errors);
        } else {
            errors.push(Error::io(p, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")));
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(Error::io(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        // A symlinked directory is not followed: links can loop.
        let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if p.is_dir() {
            if !is_link {
                walk(&p, files, errors);
            }
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
            files.push(p);
        }
    }
}

/// Lints files, directories and `-` (stdin). Every readable input is linted even when others fail.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.yaml"), "kind: Node\nmetadata: {name: n, labels: {nvidia.com/gpu.present: 'true'}}\n").unwrap();
/// let r = gpuguard::lint::lint_paths(&[dir.path().to_path_buf(), "missing.yaml".into()], &Default::default());
/// assert_eq!(r.findings[0].rule, "GG002");
/// assert_eq!(r.errors.len(), 1);
/// ```
pub fn lint_paths(paths: &[PathBuf], opts: &LintOptions) -> Report {
    let (files, errors) = collect_inputs(paths);
    let mut report = Report::new("lint");
    report.errors.extend(errors.iter().map(InputError::from));
    for f in files {
        let (name, text) = if f.as_os_str() == "-" {
            let mut s = String::new();
            let r = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s);
            ("<stdin>".to_owned(), r.map(|_| s).map_err(|e| Error::io("<stdin>", e)))
        } else {
            (f.display().to_string(), std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e)))
        };
        match text {
            Ok(text) => report.merge(lint_text(&text, &name, opts)),
            Err(e) => report.errors.push(InputError::from(&e)),
        }
    }
    report
}
