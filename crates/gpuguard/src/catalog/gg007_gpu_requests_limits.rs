use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG007",
    slug: "gpu-requests-limits",
    title: "GPU requests and limits that Kubernetes rejects or misreads",
    what: "The pod is rejected at admission, or never schedules, because nvidia.com/gpu has a \
           request without a limit, a request different from the limit, or a fractional value.",
    why: "nvidia.com/gpu is an extended resource: Kubernetes cannot overcommit it, so it must be \
          set in limits, a request must equal the limit, and the value must be a whole number \
          (GPUs cannot be split this way; use MIG or time-slicing for that). Limits alone are \
          correct: the request defaults to the limit.",
    fix: "Set `resources.limits.nvidia.com/gpu` to a whole number, and either omit the request or \
          make it equal to the limit.",
    example: "resources:\n  requests: {nvidia.com/gpu: 1}\n  # no limits: rejected",
    caught_by: &["manifest lint", "validate_gpu_resources()"],
    default_severity: Severity::Error,
};
