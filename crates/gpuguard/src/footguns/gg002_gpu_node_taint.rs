//! GG002 gpu-node-taint: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a GPU Node (`nvidia.com/gpu` capacity or NVIDIA/cloud GPU labels) with no
//! `NoSchedule`/`NoExecute` taint; a DaemonSet that targets GPU nodes (a node selector or affinity
//! on GPU labels, or a GPU agent such as dcgm-exporter) with no toleration for the GPU taint; a
//! CPU-only workload that tolerates the GPU taint.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::k8s::{is_gpu_node_label, node_gpus};
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;
#[cfg(feature = "lint")]
use serde_json::Value;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG002.as_str(),
    slug: "gpu-node-taint",
    title: "CPU pods scheduled onto GPU nodes",
    what: "Web servers, batch jobs and sidecars land on the GPU nodes, take their CPU and memory, \
           and the GPU pods that the nodes were bought for stay Pending or get evicted.",
    why: "Without a NoSchedule taint (nvidia.com/gpu=present:NoSchedule is the convention) the \
          scheduler treats a GPU node as any other node. An 8×A100 node costs about $32/h on \
          demand; a node held by CPU pods bills the same while its GPUs idle. Conversely GPU \
          agents (device plugin, dcgm-exporter) must tolerate the taint or the GPUs are never \
          advertised or watched, and a CPU workload that tolerates the taint defeats it.",
    fix: "Taint GPU nodes `nvidia.com/gpu=present:NoSchedule` (in the node pool or the kubelet \
          flags); give GPU DaemonSets and GPU workloads a matching toleration; remove the \
          toleration from workloads that do not request `nvidia.com/gpu`.",
    example: "kind: Node\nmetadata:\n  labels: {nvidia.com/gpu.present: \"true\"}\nspec: {}  # no taints",
    caught_by: &["manifest lint", "cluster audit (kubectl get nodes,pods,daemonsets -A -o json)"],
    default_severity: Severity::Warning,
};

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    match ctx.obj.kind {
        "Node" => check_node(ctx),
        "DaemonSet" => check_daemonset(ctx),
        _ => check_cpu_tolerating(ctx),
    }
}

#[cfg(feature = "lint")]
fn check_node(ctx: &mut Ctx<'_>) {
    let v = ctx.obj.value;
    let gpus = node_gpus(v);
    let labels = v["metadata"]["labels"].as_object();
    let label = labels.and_then(|l| {
        l.iter().find(|(k, val)| is_gpu_node_label(k) && val.as_str() != Some("false")).map(|(k, _)| k.clone())
    });
    if gpus <= 0.0 && label.is_none() {
        return;
    }
    let taints = v["spec"]["taints"].as_array().map_or(&[][..], Vec::as_slice);
    let repels = taints.iter().any(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")));
    if repels {
        return;
    }
    let name = ctx.obj.name.unwrap_or("");
    let why = if gpus > 0.0 {
        format!("{gpus} nvidia.com/gpu")
    } else {
        format!("label {}", label.clone().unwrap_or_default())
    };
    let f = ctx.emit(
        RuleId::GG002,
        format!("GPU node {name} ({why}) has no NoSchedule taint: CPU pods can fill it"),
        format!("kubectl taint nodes {name} nvidia.com/gpu=present:NoSchedule (and give GPU pods the toleration)"),
        None,
        "spec.taints".into(),
    );
    f.evidence.insert("gpus".into(), gpus.into());
    f.evidence.insert("gpu_label".into(), label.into());
    f.evidence.insert("taints".into(), taints.len().into());
}

/// Whether a toleration lets a pod onto tainted GPU nodes.
#[cfg(feature = "lint")]
fn tolerates_gpu(t: &Value) -> bool {
    let key = t["key"].as_str().unwrap_or("");
    let value = t["value"].as_str().unwrap_or("").to_ascii_lowercase();
    let effect_ok = matches!(t["effect"].as_str(), None | Some("" | "NoSchedule" | "NoExecute"));
    let all = key.is_empty() && t["operator"].as_str() == Some("Exists");
    effect_ok && (all || mentions_gpu(key) || value.contains("gpu"))
}

#[cfg(feature = "lint")]
fn mentions_gpu(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("gpu") || k.contains("nvidia") || k.contains("accelerator")
}

/// The GPU label a pod spec selects nodes by, if any.
#[cfg(feature = "lint")]
fn gpu_selector(spec: &Value) -> Option<String> {
    if let Some(sel) = spec["nodeSelector"].as_object() {
        if let Some(k) = sel.keys().find(|k| is_gpu_node_label(k)) {
            return Some(k.clone());
        }
    }
    let terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        .as_array()?;
    terms
        .iter()
        .flat_map(|t| t["matchExpressions"].as_array().into_iter().flatten())
        .filter(|e| e["operator"].as_str() != Some("DoesNotExist") && e["operator"].as_str() != Some("NotIn"))
        .find_map(|e| e["key"].as_str().filter(|k| is_gpu_node_label(k)).map(str::to_owned))
}

#[cfg(feature = "lint")]
fn check_daemonset(ctx: &mut Ctx<'_>) {
    let Some(pod) = ctx.pods.first().cloned() else { return };
    if pod.tolerations().iter().any(tolerates_gpu) {
        return;
    }
    let selector = gpu_selector(pod.spec);
    let agent = pod.containers.iter().find(|c| facts::is_gpu_agent(ctx, c));
    let reason = match (&selector, agent) {
        (Some(k), _) => format!("selects GPU nodes by {k}"),
        (None, Some(c)) => format!("runs GPU agent {} ({})", c.name, c.image()),
        (None, None) => return,
    };
    let name = ctx.obj.name.unwrap_or("");
    let f = ctx.emit(
        RuleId::GG002,
        format!(
            "DaemonSet {name} {reason} but has no toleration for the GPU taint: it never runs on tainted GPU nodes"
        ),
        "add tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}] to the pod template".into(),
        None,
        format!("{}.tolerations", pod.path),
    );
    f.evidence.insert("gpu_selector".into(), selector.into());
    f.evidence.insert("tolerations".into(), pod.tolerations().len().into());
}

#[cfg(feature = "lint")]
fn check_cpu_tolerating(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        if facts::pod_requests_gpu(pod) || pod.containers.iter().any(|c| facts::is_gpu_agent(ctx, c)) {
            continue;
        }
        // Only an explicit GPU toleration: "tolerate everything" is a system-pod idiom.
        let Some((i, t)) = pod
            .tolerations()
            .iter()
            .enumerate()
            .find(|(_, t)| t["key"].as_str().is_some_and(mentions_gpu) && tolerates_gpu(t))
        else {
            continue;
        };
        let key = t["key"].as_str().unwrap_or("").to_owned();
        let f = ctx.emit(
            RuleId::GG002,
            format!(
                "pod spec with no GPU request tolerates the GPU taint {key}: its CPU-only pods can land on GPU nodes"
            ),
            "remove the toleration, or request a GPU if the pod needs one".into(),
            None,
            format!("{}.tolerations[{i}]", pod.path),
        );
        f.evidence.insert("toleration_key".into(), key.into());
    }
}
