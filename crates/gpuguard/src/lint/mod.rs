//! `gpuguard lint`: Kubernetes manifests in, findings out. The engine parses each input (YAML or
//! JSON, with the line of every field), walks every object (and `List` item), runs the [manifest rules](footguns::manifest_rules) and applies
//! the config (rule selection, severities) and the `ignore-check.gpuguard.io/<ID>` annotations.
//!
//! ```
//! let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: cuda\n    resources: {requests: {nvidia.com/gpu: 1}}\n";
//! let report = gpuguard::lint::lint_text(yaml, "pod.yaml", &gpuguard::lint::LintOptions::default());
//! let f = report.findings.iter().find(|f| f.rule == "GG007").unwrap();
//! assert_eq!(f.location.line, Some(8)); // the line of `resources:`
//! assert_eq!(f.location.path.as_deref(), Some("spec.containers[0].resources.requests.nvidia.com/gpu"));
//! ```

pub mod audit;
pub mod config;
mod embedded;
pub(crate) mod facts;
pub mod input;

pub use config::LintConfig;

use crate::finding::{Finding, Location};
use crate::footguns::{self, RuleId};
use crate::k8s::{self, Container, Object, PodSpec};
use crate::report::{InputError, Report, Skipped};
use crate::yaml;
use std::path::PathBuf;

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

/// What a rule sees: one object, its pod specs, the run's options, and where findings go.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The object.
    pub obj: Object<'a>,
    /// Its pod specs (shared, so a rule can walk them while it records findings).
    pub pods: std::rc::Rc<[PodSpec<'a>]>,
    /// The run's options (config values such as the hub bandwidth).
    pub opts: &'a LintOptions,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    /// Records a finding at the rule's default severity. `container` names the container, `path`
    /// is the field path inside the object.
    pub fn emit(
        &mut self,
        rule: RuleId,
        message: String,
        fix: String,
        container: Option<&Container<'_>>,
        path: String,
    ) -> &mut Finding {
        let severity = rule.footgun().default_severity;
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

/// Lints one text (a file's content, a string). Parse errors become report errors with the file
/// and line; the other documents are still linted.
pub fn lint_text(text: &str, file: &str, opts: &LintOptions) -> Report {
    lint_bytes(text.as_bytes(), file, opts)
}

/// Lints one input's bytes. A document that is not UTF-8 or not valid YAML/JSON is an error for
/// that document (with the file and line); the other documents are still linted. Nodes, Pods and
/// DaemonSets in the input feed the cluster audit (see [`audit`]).
///
/// ```
/// let r = gpuguard::lint::lint_bytes(b"kind: Pod\nmetadata: {name: \xff}\n---\nkind: Node\nmetadata: {name: n, labels: {nvidia.com/gpu.present: 'true'}}\n", "m.yaml", &Default::default());
/// assert_eq!((r.errors[0].file.as_str(), r.errors[0].line), ("m.yaml", Some(2)));
/// assert_eq!(r.findings[0].rule, "GG002");
/// ```
pub fn lint_bytes(bytes: &[u8], file: &str, opts: &LintOptions) -> Report {
    let mut report = Report::new("lint");
    report.inputs = 1;
    // A binary file (an image, a tarball, `helm` writing garbage) is refused whole: its stray
    // "documents" would otherwise read as zero objects and a green run.
    if bytes.iter().take(1024).any(|&b| b == 0) {
        report.errors.push(binary(file, "a NUL byte in the first KiB"));
        return report;
    }
    let mut cluster = audit::Cluster::default();
    for raw in yaml::split_documents(bytes) {
        let doc = match yaml::parse_document(&raw, file) {
            Ok(d) => d,
            Err(e) => {
                report.errors.push(InputError::from(&e));
                continue;
            }
        };
        let place = Place { file, document: doc.index };
        let Some(obj) = Object::new(&doc.value) else {
            if !doc.value.is_null() {
                report.skipped.push(place.skipped(doc.line, None, "the document is not a mapping"));
            }
            continue;
        };
        let items = doc.lines.key(&doc.value, "items").filter(|(_, v)| v.is_array());
        match items {
            Some((item_lines, items)) if obj.kind.ends_with("List") => {
                for (i, item_value) in items.as_array().into_iter().flatten().enumerate() {
                    let Some((lines, _)) = item_lines.item(items, i) else { continue };
                    match Object::new(item_value) {
                        Some(item) => {
                            report.objects += 1;
                            lint_object(item, lines, &place, opts, &mut report, &mut cluster)
                        }
                        None => report.skipped.push(place.skipped(lines.line, None, "the List item is not a mapping")),
                    }
                }
            }
            _ => {
                report.objects += 1;
                lint_object(obj, &doc.lines, &place, opts, &mut report, &mut cluster)
            }
        }
    }
    if report.objects == 0 && std::str::from_utf8(bytes).is_err() {
        report.errors.push(binary(file, "invalid UTF-8"));
    } else if report.objects == 0 && report.errors.is_empty() {
        let what = if bytes.iter().all(u8::is_ascii_whitespace) { "empty input" } else { "no Kubernetes object in it" };
        report.checks.push(crate::Check::new(
            "input",
            crate::CheckStatus::Skipped,
            format!("read 0 objects from {file}: {what}"),
        ));
    }
    report.findings.extend(cluster.findings(opts.config.gpu_node_hourly_cost));
    report
}

/// The input error for a file that is not text: `what` says how that was seen.
fn binary(file: &str, what: &str) -> InputError {
    InputError {
        file: file.to_owned(),
        line: None,
        message: format!("read 0 objects from {file}: not YAML or JSON (binary: {what})"),
    }
}

/// Makes a run that read no Kubernetes object at all an input error (exit 2), naming each input
/// and why it held none: `helm template . | gpuguard lint -` after a failed `helm` must not pass.
/// A run with objects in some inputs keeps the empty ones as notes in `checks`. `given` names
/// what the run was given (the arguments), for a run that found no input file at all.
///
/// ```
/// let opts = Default::default();
/// let mut r = gpuguard::lint::lint_text("", "<stdin>", &opts);
/// gpuguard::lint::require_objects(&mut r, "<stdin>");
/// assert_eq!(r.errors[0].message, "read 0 objects from <stdin>: empty input");
/// ```
pub fn require_objects(report: &mut Report, given: &str) {
    if report.objects > 0 || !report.errors.is_empty() {
        return;
    }
    let empty: Vec<crate::Check> = report
        .checks
        .iter()
        .filter(|c| c.name == "input" && c.reason.starts_with("read 0 objects from "))
        .cloned()
        .collect();
    report.checks.retain(|c| !(c.name == "input" && c.reason.starts_with("read 0 objects from ")));
    for c in &empty {
        let file = c.reason.trim_start_matches("read 0 objects from ").rsplit_once(": ").map_or("", |(f, _)| f);
        report.errors.push(InputError { file: file.to_owned(), line: None, message: c.reason.clone() });
    }
    if report.errors.is_empty() {
        report.errors.push(InputError {
            file: given.to_owned(),
            line: None,
            message: format!("read 0 objects from {given}: no input file in it (no *.yaml, *.yml or *.json)"),
        });
    }
}

/// Lints everything `reader` yields (stdin, a pipe), read up to the config's size cap; `name`
/// names it in findings (`<stdin>`).
pub fn lint_reader(reader: impl std::io::Read, name: &str, opts: &LintOptions) -> Report {
    match input::read_capped(reader, name, opts.config.max_file_bytes()) {
        Ok(bytes) => lint_bytes(&bytes, name, opts),
        Err(e) => {
            let mut r = Report::new("lint");
            r.errors.push(InputError::from(&e));
            r
        }
    }
}

/// Where an object came from.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    file: &'a str,
    document: usize,
}

impl Place<'_> {
    fn skipped(&self, line: usize, obj: Option<&Object<'_>>, reason: &str) -> Skipped {
        Skipped {
            file: self.file.to_owned(),
            line: Some(line),
            document: Some(self.document),
            kind: obj.map(|o| o.kind.to_owned()).filter(|k| !k.is_empty()),
            name: obj.and_then(|o| o.name.map(str::to_owned)),
            reason: reason.to_owned(),
        }
    }
}

fn lint_object(
    obj: Object<'_>,
    lines: &yaml::Lines,
    place: &Place<'_>,
    opts: &LintOptions,
    report: &mut Report,
    cluster: &mut audit::Cluster,
) {
    let mut pods = k8s::pod_specs(&obj);
    // Whether each container is GPU infrastructure: judged once, read by several rules.
    let agents: Vec<Vec<bool>> =
        pods.iter().map(|p| p.containers.iter().map(|c| facts::is_gpu_agent_in(&obj, &pods, c)).collect()).collect();
    for (p, flags) in pods.iter_mut().zip(agents) {
        for (c, flag) in p.containers.iter_mut().zip(flags) {
            c.gpu_agent = flag;
        }
    }
    let agent = pods.iter().any(|p| p.containers.iter().any(|c| c.gpu_agent));
    let seen = audit::Seen { file: place.file.to_owned(), document: place.document, line: lines.line };
    cluster.observe(&obj, &pods, agent, seen);
    let known = k8s::is_known_kind(&obj) || footguns::gg004_time_slicing::is_device_plugin_config(obj.value);
    if pods.is_empty() && !known {
        let reason = if obj.kind.is_empty() {
            "no kind".to_owned()
        } else {
            format!("kind {} is not one gpuguard checks, and no pod spec was found in it", obj.kind)
        };
        report.skipped.push(place.skipped(lines.line, Some(&obj), &reason));
        return;
    }
    lint_embedded(&obj, lines, place, opts, report, cluster);
    let mut ctx = Ctx { obj, pods: pods.into(), opts, findings: Vec::new() };
    for rule in footguns::manifest_rules() {
        if opts.config.enabled(rule.id) {
            (rule.check)(&mut ctx);
        }
    }
    let Ctx { obj, pods, findings, .. } = ctx;
    unknown_ignores(&obj, &pods, lines, place, report);
    for mut f in findings {
        let mut suppressed = false;
        if opts.ignore_annotations {
            match ignore_annotation(&obj, &pods, &f) {
                // Silenced, but kept: counted in the text summary, listed in JSON `suppressed`.
                Some((key, reason)) if !reason.trim().is_empty() => {
                    f.evidence.insert("suppressed_by".into(), key.into());
                    f.evidence.insert("justification".into(), reason.trim().to_owned().into());
                    suppressed = true;
                }
                // An empty reason does not silence: the finding says why it still stands.
                Some((key, _)) => {
                    f.evidence.insert(
                        "ignore_refused".into(),
                        format!("annotation {key} has an empty reason; write why the rule does not apply here").into(),
                    );
                }
                None => {}
            }
        }
        if let Some(sev) = opts.config.severity_of(&f.rule) {
            f.severity = sev;
        }
        let path = f.location.path.as_deref().unwrap_or("");
        // A pod spec found by its shape in an unknown kind: say where it was found.
        if let Some(p) = pods.iter().find(|p| p.discovered && path.starts_with(&p.path)) {
            f.evidence.insert("pod_spec_found_at".into(), p.path.clone().into());
        }
        let loc = &mut f.location;
        let at = lines.line_of(obj.value, loc.path.as_deref().unwrap_or(""));
        *loc = Location {
            file: Some(place.file.to_owned()),
            line: Some(at),
            document: Some(place.document),
            kind: Some(obj.kind.to_owned()).filter(|k| !k.is_empty()),
            name: obj.name.map(str::to_owned),
            namespace: obj.namespace.map(str::to_owned),
            container: loc.container.take(),
            path: loc.path.take(),
        };
        if suppressed {
            report.suppressed.push(f);
        } else {
            report.findings.push(f);
        }
    }
}

/// Lints the objects an Argo `resource` template creates from its `manifest` text, each as an
/// object of its own: lines point into the file, and each finding says where it was embedded
/// (`embedded_in`). A manifest that does not parse (it may hold `{{…}}` parameters) is listed as
/// skipped with the reason.
fn lint_embedded(
    obj: &Object<'_>,
    lines: &yaml::Lines,
    place: &Place<'_>,
    opts: &LintOptions,
    report: &mut Report,
    cluster: &mut audit::Cluster,
) {
    for e in embedded::manifests(obj) {
        let key_line = lines.line_of(obj.value, &e.path);
        let first = embedded::first_line(key_line, e.text);
        let outer = format!("{} {}", obj.kind, obj.name.unwrap_or(""));
        let (value, inner_lines) = match yaml::parse_value(e.text, place.file, first) {
            Ok(parsed) => parsed,
            Err(err) => {
                let reason = format!("the manifest at {} does not parse as YAML ({err})", e.path);
                report.skipped.push(place.skipped(key_line, Some(obj), &reason));
                continue;
            }
        };
        let Some(inner) = Object::new(&value).filter(|_| embedded::is_object(&value)) else { continue };
        let before = report.findings.len();
        lint_object(inner, &inner_lines, place, opts, report, cluster);
        for f in &mut report.findings[before..] {
            f.evidence.insert("embedded_in".into(), format!("{outer}: {}", e.path).into());
        }
    }
}

/// The ignore annotation (key, reason) for the finding's rule on the object or on the pod
/// template the finding is in: `ignore-check.gpuguard.io/GG001` or its slug alias
/// `ignore-check.gpuguard.io/dev-shm` (any spelling the registry's [`crate::footgun`] accepts).
fn ignore_annotation<'a>(obj: &Object<'a>, pods: &[PodSpec<'a>], f: &Finding) -> Option<(String, &'a str)> {
    let path = f.location.path.as_deref().unwrap_or("");
    let metas = std::iter::once(&obj.value["metadata"])
        .chain(pods.iter().filter(|p| path.starts_with(&p.path)).map(|p| p.meta));
    for meta in metas {
        for (key, value) in meta["annotations"].as_object().into_iter().flatten() {
            let Some(rule) = key.strip_prefix(IGNORE_PREFIX) else { continue };
            if crate::footgun(rule).is_some_and(|g| g.id == f.rule) {
                return Some((key.clone(), value.as_str().unwrap_or("")));
            }
        }
    }
    None
}

/// An `ignore-check.gpuguard.io/<X>` annotation whose X is no rule id or slug (a typo such as
/// `GG099`) silences nothing: an info finding (rule `ignore-check`) names it and the known ids.
fn unknown_ignores(
    obj: &Object<'_>,
    pods: &[PodSpec<'_>],
    lines: &yaml::Lines,
    place: &Place<'_>,
    report: &mut Report,
) {
    let metas = std::iter::once((&obj.value["metadata"], "metadata".to_owned()))
        .chain(pods.iter().filter_map(|p| p.meta_path.clone().filter(|m| m != "metadata").map(|m| (p.meta, m))));
    for (meta, meta_path) in metas {
        for key in meta["annotations"].as_object().into_iter().flatten().map(|(k, _)| k) {
            let Some(rule) = key.strip_prefix(IGNORE_PREFIX) else { continue };
            if crate::footgun(rule).is_some() {
                continue;
            }
            let known: Vec<String> = footguns::catalog().iter().map(|g| format!("{} ({})", g.id, g.slug)).collect();
            let mut f = Finding::new(
                "ignore-check",
                crate::Severity::Info,
                format!("annotation {key} names no gpuguard rule, so it silences nothing"),
                format!("use one of the rule ids or slugs: {}", known.join(", ")),
            );
            let path = format!("{meta_path}.annotations");
            f.location = Location {
                file: Some(place.file.to_owned()),
                line: Some(lines.line_of(obj.value, &path)),
                document: Some(place.document),
                kind: Some(obj.kind.to_owned()).filter(|k| !k.is_empty()),
                name: obj.name.map(str::to_owned),
                namespace: obj.namespace.map(str::to_owned),
                container: None,
                path: Some(path),
            };
            report.findings.push(f);
        }
    }
}

/// Lints files and directories (directories recursively: regular `*.yaml`, `*.yml`, `*.json`
/// files, hidden entries skipped; see [`input`]). Every readable input is linted even when others
/// fail; skipped directory entries (FIFOs, devices, symlink loops) are noted in `checks`. Standard
/// input is the caller's: see [`lint_reader`].
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.yaml"), "kind: Node\nmetadata: {name: n, labels: {nvidia.com/gpu.present: 'true'}}\n").unwrap();
/// let r = gpuguard::lint::lint_paths(&[dir.path().to_path_buf(), "missing.yaml".into()], &Default::default());
/// assert_eq!(r.findings[0].rule, "GG002");
/// assert_eq!(r.errors.len(), 1);
/// ```
pub fn lint_paths(paths: &[PathBuf], opts: &LintOptions) -> Report {
    let inputs = input::collect(paths);
    let mut report = Report::new("lint");
    report.errors.extend(inputs.errors.iter().map(InputError::from));
    report.checks.extend(inputs.notes);
    for f in inputs.files {
        match input::read_file(&f, opts.config.max_file_bytes()) {
            Ok(bytes) => report.merge(lint_bytes(&bytes, &f.display().to_string(), opts)),
            Err(e) => report.errors.push(InputError::from(&e)),
        }
    }
    report
}
