use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG002",
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
    caught_by: &["manifest lint (Node, DaemonSet, workloads)"],
    default_severity: Severity::Warning,
};
