//! GG004 time-slicing: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a ConfigMap carrying an NVIDIA device-plugin config (an embedded YAML string, as the
//! GPU operator and the device plugin's Helm chart read it) with `sharing.timeSlicing` replicas
//! above 1. `replicas: 0` or `1` means no sharing and is not a finding.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use serde_json::Value;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG004.as_str(),
    slug: "time-slicing",
    title: "Time-sliced GPUs shared by production models",
    what: "Several models share one GPU through the device plugin's time-slicing; one of them \
           allocates more memory or hits an error and every model on that GPU goes down or slows \
           to a crawl together.",
    why: "NVIDIA time-slicing (`sharing.timeSlicing.resources[].replicas` > 1) advertises one GPU as \
          N and interleaves contexts, with no memory isolation and no fault isolation: one \
          process's out-of-memory or XID affects all of them, and latency varies with the \
          neighbours' load. MIG partitions the GPU in hardware (memory, caches, SMs) and isolates \
          faults.",
    fix: "For production inference use MIG (A100/H100/H200) or whole GPUs; keep time-slicing for \
          development and notebooks, and label those nodes so production workloads avoid them.",
    example: "sharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 4",
    caught_by: &["manifest lint (device-plugin config)", "runtime probe (processes per GPU, MIG mode)"],
    default_severity: Severity::Warning,
};

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    // A device-plugin config file linted on its own (`version: v1`, `sharing: ...`, no kind).
    if ctx.obj.kind.is_empty() {
        let cfg = ctx.obj.value;
        check_config(ctx, cfg, "config", "");
        return;
    }
    if ctx.obj.kind != "ConfigMap" {
        return;
    }
    let Some(data) = ctx.obj.value["data"].as_object() else { return };
    for (key, text) in data {
        let Some(text) = text.as_str().filter(|t| t.contains("timeSlicing")) else { continue };
        // An embedded config that is not YAML is not ours to report.
        let Ok((cfg, _)) = crate::yaml::parse_value(text, key, 1) else { continue };
        check_config(ctx, &cfg, &format!("key {key}"), &format!("data.{key}:"));
    }
}

/// Whether a document is a bare device-plugin config (so the engine does not call it unknown).
#[cfg(feature = "lint")]
pub(crate) fn is_device_plugin_config(v: &Value) -> bool {
    v["sharing"].is_object() && v.get("kind").is_none()
}

#[cfg(feature = "lint")]
fn check_config(ctx: &mut Ctx<'_>, cfg: &Value, what: &str, path_prefix: &str) {
    let resources = cfg["sharing"]["timeSlicing"]["resources"].as_array().map_or(&[][..], Vec::as_slice);
    for (i, r) in resources.iter().enumerate() {
        let replicas = match &r["replicas"] {
            Value::Number(n) => n.as_f64().unwrap_or(0.0),
            Value::String(s) => s.trim().parse().unwrap_or(0.0),
            _ => 0.0,
        };
        if replicas <= 1.0 {
            continue;
        }
        let resource = r["name"].as_str().unwrap_or("nvidia.com/gpu").to_owned();
        let name = ctx.obj.name.map(|n| format!("{n} ")).unwrap_or_default();
        let f = ctx.emit(
            RuleId::GG004,
            format!("device-plugin config {name}{what} time-slices {resource} {replicas} ways: pods share memory with no isolation and each gets 1/{replicas} of the GPU"),
            "set replicas to 1 (off), or use MIG (isolated slices) or MPS; keep time-slicing to a labelled pool for notebooks and dev".into(),
            None,
            format!("{path_prefix}sharing.timeSlicing.resources[{i}].replicas"),
        );
        f.evidence.insert("resource".into(), resource.into());
        f.evidence.insert("replicas".into(), r["replicas"].clone());
    }
}
