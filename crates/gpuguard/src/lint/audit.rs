//! The cluster audit: a live cluster is a manifest too. Given the objects of
//! `kubectl get nodes,pods,daemonsets -A -o json` (a `List`), GG002 reports, per GPU node (a Node
//! with `nvidia.com/gpu` capacity), whether it is tainted, the pods scheduled on it
//! (`spec.nodeName`) that request no GPU and do not belong to a GPU infrastructure DaemonSet, the
//! share of the node's allocatable CPU and memory they request, and, with an hourly price for the
//! node, what that share costs a day.
//!
//! Pods of any other DaemonSet (kube-proxy, the CNI and CSI node plugins, log and metrics agents)
//! and static pods (owned by their Node) are the node's own overhead, not CPU work that could run
//! elsewhere: they run on every node by design, a taint would not move them to a CPU node (either
//! they tolerate it and stay, or the GPU node loses its networking, storage or logs). They are
//! listed in the evidence (`node_agent_pods`) but neither make a finding nor count in the share.
//!
//! Facts are gathered object by object while the file is linted (a few numbers per Node and Pod,
//! not the objects), then judged once at the end: linear in the number of objects.

use crate::finding::{Finding, Location};
use crate::k8s::{Object, PodSpec, scalar_text};
use crate::severity::Severity;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Where an object was seen.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub file: String,
    pub document: usize,
    pub line: usize,
}

#[derive(Debug)]
struct Node {
    name: String,
    gpus: f64,
    cpu_millis: f64,
    memory_bytes: f64,
    taints: Vec<String>,
    seen: Seen,
}

#[derive(Debug)]
struct Pod {
    name: String,
    namespace: String,
    node: String,
    cpu_millis: f64,
    memory_bytes: f64,
    owner_daemonset: Option<(String, String)>,
    /// Owned by a DaemonSet or, as a static pod's mirror, by its Node: a per-node agent.
    node_agent: bool,
    /// An image or name of a GPU agent (dcgm-exporter, device plugin…).
    gpu_agent: bool,
}

/// Facts about the nodes, pods and DaemonSets of one input.
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    /// `(namespace, name)` of DaemonSets that are GPU infrastructure.
    gpu_daemonsets: HashSet<(String, String)>,
}

/// Millicores of a CPU quantity, bytes of a memory quantity.
fn quantity(v: &Value, cpu: bool) -> f64 {
    let Some(q) = scalar_text(v).and_then(|t| crate::Quantity::parse(&t).ok()) else { return 0.0 };
    let x = q.as_f64();
    let x = if cpu { x * 1000.0 } else { x };
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

/// What a pod asks the scheduler for: the sum over its containers, or its largest init
/// container if that is more (init containers run one at a time, before the others), plus the
/// pod overhead.
fn pod_requests(spec: &Value, key: &str, cpu: bool) -> f64 {
    let sum = |k: &str| -> f64 {
        spec[k].as_array().into_iter().flatten().map(|c| quantity(&c["resources"]["requests"][key], cpu)).sum()
    };
    let init_max = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| quantity(&c["resources"]["requests"][key], cpu))
        .fold(0.0, f64::max);
    sum("containers").max(init_max) + quantity(&spec["overhead"][key], cpu)
}

impl Cluster {
    /// Records what the audit needs from one object.
    pub(crate) fn observe(&mut self, obj: &Object<'_>, pods: &[PodSpec<'_>], gpu_agent: bool, seen: Seen) {
        let v = obj.value;
        match obj.kind {
            "Node" => {
                let gpus = crate::k8s::node_gpus(v);
                if gpus <= 0.0 {
                    return;
                }
                let alloc = &v["status"]["allocatable"];
                let taints = v["spec"]["taints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
                    .map(|t| {
                        format!(
                            "{}{}:{}",
                            t["key"].as_str().unwrap_or(""),
                            t["value"].as_str().map(|x| format!("={x}")).unwrap_or_default(),
                            t["effect"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                self.nodes.push(Node {
                    name: obj.name.unwrap_or("").to_owned(),
                    gpus,
                    cpu_millis: quantity(&alloc["cpu"], true),
                    memory_bytes: quantity(&alloc["memory"], false),
                    taints,
                    seen,
                });
            }
            "Pod" => {
                let spec = &v["spec"];
                let Some(node) = spec["nodeName"].as_str().filter(|n| !n.is_empty()) else { return };
                // Finished pods hold no resources.
                if matches!(v["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
                    return;
                }
                if pods.iter().any(super::facts::pod_requests_gpu) {
                    return;
                }
                let owners = v["metadata"]["ownerReferences"].as_array().map_or(&[][..], Vec::as_slice);
                let owner_daemonset = owners
                    .iter()
                    .find(|o| o["kind"].as_str() == Some("DaemonSet"))
                    .and_then(|o| o["name"].as_str())
                    .map(|n| (obj.namespace.unwrap_or("").to_owned(), n.to_owned()));
                let node_agent = owners.iter().any(|o| matches!(o["kind"].as_str(), Some("DaemonSet" | "Node")));
                self.pods.push(Pod {
                    name: obj.name.unwrap_or("").to_owned(),
                    namespace: obj.namespace.unwrap_or("").to_owned(),
                    node: node.to_owned(),
                    cpu_millis: pod_requests(spec, "cpu", true),
                    memory_bytes: pod_requests(spec, "memory", false),
                    owner_daemonset,
                    node_agent,
                    gpu_agent,
                });
            }
            "DaemonSet" if gpu_agent || pods.iter().any(super::facts::pod_requests_gpu) => {
                self.gpu_daemonsets.insert((obj.namespace.unwrap_or("").to_owned(), obj.name.unwrap_or("").to_owned()));
            }
            _ => {}
        }
    }

    /// One GG002 finding per GPU node that CPU pods sit on; `hourly_cost` prices their share.
    pub(crate) fn findings(self, hourly_cost: Option<f64>) -> Vec<Finding> {
        let mut by_node: HashMap<&str, Vec<&Pod>> = HashMap::new();
        let mut agents_by_node: HashMap<&str, Vec<&Pod>> = HashMap::new();
        for p in &self.pods {
            let infra = p.gpu_agent || p.owner_daemonset.as_ref().is_some_and(|d| self.gpu_daemonsets.contains(d));
            if infra {
                continue;
            }
            let map = if p.node_agent { &mut agents_by_node } else { &mut by_node };
            map.entry(p.node.as_str()).or_default().push(p);
        }
        let mut out = Vec::new();
        for node in &self.nodes {
            let Some(pods) = by_node.get(node.name.as_str()) else { continue };
            let agents = agents_by_node.get(node.name.as_str()).map_or(&[][..], Vec::as_slice);
            let cpu: f64 = pods.iter().map(|p| p.cpu_millis).sum();
            let mem: f64 = pods.iter().map(|p| p.memory_bytes).sum();
            let share = |used: f64, total: f64| if total > 0.0 { (used / total).min(1.0) } else { 0.0 };
            let (cpu_share, mem_share) = (share(cpu, node.cpu_millis), share(mem, node.memory_bytes));
            // The node is as full as its most used resource.
            let binding = cpu_share.max(mem_share);
            let cost = hourly_cost.map(|c| c * 24.0 * binding);
            let tainted = !node.taints.is_empty();
            let mut names: Vec<String> = pods.iter().take(3).map(|p| format!("{}/{}", p.namespace, p.name)).collect();
            if pods.len() > 3 {
                names.push(format!("{} more", pods.len() - 3));
            }
            let mut message = format!(
                "GPU node {} ({} nvidia.com/gpu, {}) runs {} pod(s) that request no GPU ({}): {:.0}% of its allocatable CPU and {:.0}% of its memory",
                node.name,
                node.gpus,
                if tainted { format!("tainted {}", node.taints.join(", ")) } else { "not tainted".to_owned() },
                pods.len(),
                names.join(", "),
                cpu_share * 100.0,
                mem_share * 100.0
            );
            if let Some(c) = cost {
                message.push_str(&format!(", about ${c:.2} a day of the node's price"));
            }
            let fix = if tainted {
                "these pods tolerate the GPU taint: remove the toleration from CPU workloads, or give them a CPU node pool".to_owned()
            } else {
                format!(
                    "kubectl taint nodes {} nvidia.com/gpu=present:NoSchedule, tolerate the taint in GPU pods only, and let the CPU pods reschedule to CPU nodes",
                    node.name
                )
            };
            let severity = if binding >= 0.1 { Severity::Warning } else { Severity::Info };
            let mut f = Finding::new(crate::footguns::RuleId::GG002, severity, message, fix);
            f.location = Location {
                file: Some(node.seen.file.clone()),
                line: Some(node.seen.line),
                document: Some(node.seen.document),
                kind: Some("Node".into()),
                name: Some(node.name.clone()),
                namespace: None,
                container: None,
                path: None,
            };
            let listed: Vec<Value> = pods
                .iter()
                .map(|p| {
                    json!({"namespace": p.namespace, "name": p.name, "cpu_millicores": p.cpu_millis.round(), "memory_bytes": p.memory_bytes.round()})
                })
                .collect();
            f.evidence.insert("gpus".into(), node.gpus.into());
            f.evidence.insert("taints".into(), json!(node.taints));
            f.evidence.insert("cpu_pods".into(), Value::Array(listed));
            let agent_list: Vec<Value> = agents
                .iter()
                .map(|p| {
                    json!({"namespace": p.namespace, "name": p.name, "cpu_millicores": p.cpu_millis.round(), "memory_bytes": p.memory_bytes.round()})
                })
                .collect();
            f.evidence.insert("node_agent_pods".into(), Value::Array(agent_list));
            f.evidence.insert("cpu_requested_millicores".into(), cpu.round().into());
            f.evidence.insert("cpu_allocatable_millicores".into(), node.cpu_millis.round().into());
            f.evidence.insert("memory_requested_bytes".into(), mem.round().into());
            f.evidence.insert("memory_allocatable_bytes".into(), node.memory_bytes.round().into());
            f.evidence.insert("cpu_share".into(), json!((cpu_share * 1000.0).round() / 1000.0));
            f.evidence.insert("memory_share".into(), json!((mem_share * 1000.0).round() / 1000.0));
            f.evidence.insert("gpu_node_hourly_cost_usd".into(), json!(hourly_cost));
            f.evidence.insert("cost_per_day_usd".into(), json!(cost.map(|c| (c * 100.0).round() / 100.0)));
            out.push(f);
        }
        out
    }
}
