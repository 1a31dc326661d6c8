//! GG007 gpu-requests-limits.
//!
//! **What**: `nvidia.com/gpu` (and other GPU extended resources) requested without a limit,
//! a request different from the limit, or a fractional/negative/non-numeric amount. Quantities are
//! compared numerically (`1`, `"1"` and `1000m` are equal). Limits only is correct Kubernetes.
//!
//! **Why**: the API server rejects these pods (extended resources cannot be overcommitted and
//! must be whole), so the rollout fails, or a Helm chart renders a workload that never starts.
//!
//! **Example**: `resources: {requests: {nvidia.com/gpu: 1}}`.
//!
//! **Fix**: `resources: {limits: {nvidia.com/gpu: 1}}`; use MIG profiles or time-slicing to share.

use super::super::Ctx;

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for pod in ctx.pods.clone() {
        for c in &pod.containers {
            let (req, lim) = c.resources();
            for problem in crate::validate_gpu_resources(&as_refs(&req), &as_refs(&lim)) {
                let mut f = problem.to_finding();
                f.location.container = Some(c.name.clone());
                // The problem's path starts with `resources`; a TrainJob trainer's is `resourcesPerNode`.
                f.location.path = f.location.path.map(|p| {
                    let p = p.strip_prefix("resources").map_or(p.clone(), |rest| format!("{}{rest}", c.resources_key));
                    format!("{}.{p}", c.path)
                });
                f.message = format!("container {}: {}", c.name, f.message);
                ctx.push(f);
            }
        }
    }
}
