//! GG004 time-slicing: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a ConfigMap carrying an NVIDIA device-plugin config (an embedded YAML string, as the
//! GPU operator and the device plugin's Helm chart read it) with `sharing.timeSlicing` replicas
//! above 1. `replicas: 0` or `1` means no sharing and is not a finding, nor is a config that
//! renames the shared resource (`renameByDefault: true`, or `rename:` on the resource): the node
//! then advertises `nvidia.com/gpu.shared`, and only pods that ask for it by that name share.
//! Those pods are judged instead: a model server that asks for a shared replica of a GPU (a
//! `*.shared` resource), selects GKE's time-sharing nodes
//! (`cloud.google.com/gke-gpu-sharing-strategy: time-sharing`), or takes a fraction of a GPU
//! from KAI Scheduler or Run:ai (`gpu-fraction`/`gpu-memory`, which enforce no memory limit).

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
    caught_by: &[
        "manifest lint (device-plugin config; model servers on shared GPUs)",
        "runtime probe (processes per GPU, MIG mode)",
    ],
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
        check_shared_servers(ctx);
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
    let ts = &cfg["sharing"]["timeSlicing"];
    let resources = ts["resources"].as_array().map_or(&[][..], Vec::as_slice);
    let rename_all = ts["renameByDefault"].as_bool() == Some(true);
    for (i, r) in resources.iter().enumerate() {
        // Renamed (`nvidia.com/gpu.shared`): sharing is opt-in, judged on the pods that opt in.
        if rename_all || r["rename"].as_str().is_some_and(|n| !n.is_empty()) {
            continue;
        }
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

/// GKE's node label for a GPU sharing strategy, and the value that means time-sharing.
#[cfg(feature = "lint")]
const GKE_SHARING_LABEL: &str = "cloud.google.com/gke-gpu-sharing-strategy";

/// A model server (production inference) placed on a shared GPU: how it shares, and the field.
#[cfg(feature = "lint")]
fn check_shared_servers(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        let gke = pod.spec["nodeSelector"][GKE_SHARING_LABEL].as_str().filter(|v| *v == "time-sharing");
        for c in pod.containers.iter().filter(|c| !c.init) {
            let Some(server) = crate::lint::facts::model_server(c) else { continue };
            let (req, lim) = c.resources();
            let shared = req
                .iter()
                .chain(&lim)
                .find(|(k, v)| k.ends_with(".shared") && crate::Quantity::parse(v).map_or(true, |q| q.as_f64() != 0.0));
            let (how, path) = if let Some((k, _)) = shared {
                let field = if lim.iter().any(|(l, _)| l == k) { "limits" } else { "requests" };
                (
                    format!(
                        "asks for {k}, a time-sliced (or MPS) replica of a GPU the device plugin hands to any pod that asks"
                    ),
                    format!("{}.{}.{field}.{k}", c.path, c.resources_key),
                )
            } else if let Some(share) = &c.gpu_share {
                (
                    format!(
                        "takes part of a GPU through {share} (KAI Scheduler/Run:ai enforce no memory limit between the pods on it)"
                    ),
                    pod.meta_path.as_deref().map_or_else(|| pod.path.clone(), |m| format!("{m}.annotations")),
                )
            } else if gke.is_some() && c.requests_gpu() {
                (
                    format!("selects GKE time-sharing GPU nodes ({GKE_SHARING_LABEL}: time-sharing)"),
                    format!("{}.nodeSelector.{GKE_SHARING_LABEL}", pod.path),
                )
            } else {
                continue;
            };
            let f = ctx.emit(
                RuleId::GG004,
                format!(
                    "{} in container {} {how}: it shares memory and faults with the other pods on that GPU",
                    server.name(),
                    c.name
                ),
                "give the server whole GPUs (nvidia.com/gpu) or a MIG slice (nvidia.com/mig-…); keep shared GPUs for notebooks and dev".into(),
                Some(c),
                path,
            );
            f.evidence.insert("server".into(), server.name().into());
            f.evidence.insert("sharing".into(), how.into());
        }
    }
}
