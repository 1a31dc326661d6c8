use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG004",
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
