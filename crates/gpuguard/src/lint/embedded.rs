//! Objects carried as text inside another object: an Argo `resource` template creates the
//! object in its `manifest` string (a JobSet, a PyTorchJob, a Job…) when the step runs, so that
//! object is linted as one of its own, with lines that point into the embedding file.

use crate::k8s::Object;
use serde_json::Value;

/// One embedded object's text and where it sits.
#[derive(Debug)]
pub(crate) struct Embedded<'a> {
    /// Field path of the string in the embedding object (`spec.templates[2].resource.manifest`).
    pub path: String,
    /// The manifest text.
    pub text: &'a str,
}

/// The `manifest` strings of an Argo workflow's `resource` templates whose action makes the
/// object (`create`, `apply`, `replace`; a `patch` holds only part of one, `get`/`delete` name
/// an existing one).
pub(crate) fn manifests<'a>(obj: &Object<'a>) -> Vec<Embedded<'a>> {
    let g = obj.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    if !matches!(g, "" | "argoproj.io") {
        return Vec::new();
    }
    let (base, wf) = match obj.kind {
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" => ("spec", &obj.value["spec"]),
        "CronWorkflow" => ("spec.workflowSpec", &obj.value["spec"]["workflowSpec"]),
        _ => return Vec::new(),
    };
    let templates = wf["templates"].as_array().map_or(&[][..], Vec::as_slice);
    templates
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let r = &t["resource"];
            let creates = matches!(r["action"].as_str(), Some("create" | "apply" | "replace"));
            let text = r["manifest"].as_str().filter(|m| creates && !m.trim().is_empty())?;
            Some(Embedded { path: format!("{base}.templates[{i}].resource.manifest"), text })
        })
        .collect()
}

/// The line in the file of the embedded text's first line: a block scalar (`manifest: |`, text
/// of several lines) starts on the line after its key; a one-line string is on the key's line.
pub(crate) fn first_line(key_line: usize, text: &str) -> usize {
    if text.contains('\n') { key_line + 1 } else { key_line }
}

/// Whether a parsed embedded document is an object to lint (a mapping with a kind).
pub(crate) fn is_object(v: &Value) -> bool {
    v["kind"].is_string()
}
