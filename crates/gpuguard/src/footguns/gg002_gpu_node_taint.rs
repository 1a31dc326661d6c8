//! GG002 gpu-node-taint: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a GPU Node (`nvidia.com/gpu` capacity or NVIDIA/cloud GPU labels) with no
//! `NoSchedule`/`NoExecute` taint; a DaemonSet that targets GPU nodes (a node selector or affinity
//! on GPU labels, or a GPU agent such as dcgm-exporter) with no toleration for the GPU taint; a
//! CPU-only workload that tolerates the GPU taint; a Karpenter NodePool that provisions GPU nodes
//! (its requirements pick GPU instances, or its node labels say GPU) with no `NoSchedule` taint
//! (`startupTaints` are removed once the node is up, so they do not count).

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
        "NodePool" if ctx.obj.api_version.starts_with("karpenter.sh/") => check_nodepool(ctx),
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

/// Instance families whose every size has GPUs (AWS): `g4dn`, `g5`, `g6e`, `p4d`, `p5`…; `g4ad`
/// is AMD but still a GPU node.
#[cfg(feature = "lint")]
fn is_gpu_instance_family(family: &str) -> bool {
    let f = family.split('.').next().unwrap_or(family).to_ascii_lowercase();
    let mut chars = f.chars();
    let g_or_p = matches!(chars.next(), Some('g' | 'p')) && chars.next().is_some_and(|c| c.is_ascii_digit());
    g_or_p || f.starts_with("gr6")
}

/// Why a Karpenter NodePool's nodes are GPU nodes, if they are: a requirement on the instance's
/// GPUs (`karpenter.k8s.aws/instance-gpu-count`, `-gpu-manufacturer`, `-gpu-name`; Azure's
/// `karpenter.azure.com/sku-gpu-*`) that asks for them, instance families or types that all have
/// GPUs, or a GPU label the NodePool puts on its nodes.
#[cfg(feature = "lint")]
fn nodepool_gpu_reason(template: &Value) -> Option<String> {
    let labels = template["metadata"]["labels"].as_object();
    if let Some(k) = labels.and_then(|l| l.keys().find(|k| is_gpu_node_label(k))) {
        return Some(format!("its nodes are labelled {k}"));
    }
    for r in template["spec"]["requirements"].as_array().into_iter().flatten() {
        let key = r["key"].as_str().unwrap_or("");
        let op = r["operator"].as_str().unwrap_or("");
        let values: Vec<&str> = r["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let gpu_key = key.contains("gpu-count") || key.contains("gpu-manufacturer") || key.contains("gpu-name");
        let asks = match op {
            // `gpu-count In [0]` asks for no GPU.
            "In" => values.iter().any(|v| !(key.contains("gpu-count") && v.trim() == "0")),
            "Gt" => values.iter().all(|v| v.trim().parse::<f64>().is_ok_and(|n| n >= 0.0)),
            "Exists" => true,
            _ => false,
        };
        if gpu_key && asks {
            return Some(format!("requirement {key} {op} {values:?}"));
        }
        let family_key = key.ends_with("/instance-family") || key.ends_with("/instance-type");
        if family_key && op == "In" && !values.is_empty() && values.iter().all(|v| is_gpu_instance_family(v)) {
            return Some(format!("requirement {key} In {values:?} (GPU instances)"));
        }
    }
    None
}

#[cfg(feature = "lint")]
fn check_nodepool(ctx: &mut Ctx<'_>) {
    let template = &ctx.obj.value["spec"]["template"];
    let Some(reason) = nodepool_gpu_reason(template) else { return };
    let taints = template["spec"]["taints"].as_array().map_or(&[][..], Vec::as_slice);
    if taints.iter().any(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute"))) {
        return;
    }
    let name = ctx.obj.name.unwrap_or("");
    let f = ctx.emit(
        RuleId::GG002,
        format!("Karpenter NodePool {name} provisions GPU nodes ({reason}) with no NoSchedule taint: CPU pods can be placed on them, and can make Karpenter launch them"),
        "add taints: [{key: nvidia.com/gpu, value: \"true\", effect: NoSchedule}] to spec.template.spec (and the toleration to GPU pods)".into(),
        None,
        "spec.template.spec.taints".into(),
    );
    f.evidence.insert("gpu_nodes".into(), reason.into());
    f.evidence.insert("taints".into(), taints.len().into());
}
