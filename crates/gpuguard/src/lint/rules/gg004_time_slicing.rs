//! GG004 time-slicing.
//!
//! **What**: a ConfigMap carrying an NVIDIA device-plugin config (an embedded YAML string, as the
//! GPU operator and the device plugin's Helm chart read it) with `sharing.timeSlicing` replicas
//! above 1. `replicas: 0` or `1` means no sharing and is not a finding.
//!
//! **Why**: time-slicing advertises one GPU as N; the N pods share its memory with no isolation
//! and take turns on its compute, so one pod's allocation OOMs the others and each runs at 1/N
//! speed while the scheduler counts N GPUs.
//!
//! **Example**: `data: {any: "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - {name: nvidia.com/gpu, replicas: 4}\n"}`
//!
//! **Fix**: use MIG profiles for isolated slices, MPS for cooperative sharing, or whole GPUs for
//! training; keep time-slicing for bursty notebooks and dev work, on a labelled node pool.

use super::super::Ctx;
use serde_json::Value;

pub(super) fn check(ctx: &mut Ctx<'_>) {
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
pub(crate) fn is_device_plugin_config(v: &Value) -> bool {
    v["sharing"].is_object() && v.get("kind").is_none()
}

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
            "GG004",
            format!("device-plugin config {name}{what} time-slices {resource} {replicas} ways: pods share memory with no isolation and each gets 1/{replicas} of the GPU"),
            "set replicas to 1 (off), or use MIG (isolated slices) or MPS; keep time-slicing to a labelled pool for notebooks and dev".into(),
            None,
            format!("{path_prefix}sharing.timeSlicing.resources[{i}].replicas"),
        );
        f.evidence.insert("resource".into(), resource.into());
        f.evidence.insert("replicas".into(), r["replicas"].clone());
    }
}
