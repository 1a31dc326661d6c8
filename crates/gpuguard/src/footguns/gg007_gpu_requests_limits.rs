//! GG007 gpu-requests-limits: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: `nvidia.com/gpu` (and other GPU extended resources) requested without a limit,
//! a request different from the limit, or a fractional/negative/non-numeric amount. Quantities are
//! compared numerically (`1`, `"1"` and `1000m` are equal). Limits only is correct Kubernetes.
//! Resources an Argo `podSpecPatch` sets are checked too (they replace the template's).

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::lint::Ctx;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG007.as_str(),
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

/// `(name, quantity)` pairs borrowed from a resource list.
#[cfg(feature = "lint")]
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// The requests and limits to judge: a resource whose request or limit is a template parameter
/// (`{{inputs.parameters.gpus}}`, which Argo substitutes before it creates the pod) is left out,
/// not called invalid or unmatched.
#[cfg(feature = "lint")]
fn judged<'a>(req: &'a [(String, String)], lim: &'a [(String, String)]) -> (Pairs<'a>, Pairs<'a>) {
    let templated = |name: &str| req.iter().chain(lim).any(|(k, v)| k == name && v.contains("{{"));
    let keep = |v: &'a [(String, String)]| {
        v.iter().filter(|(k, _)| !templated(k)).map(|(a, b)| (a.as_str(), b.as_str())).collect::<Vec<_>>()
    };
    (keep(req), keep(lim))
}

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        for c in &pod.containers {
            let (req, lim) = c.resources();
            let (req, lim) = judged(&req, &lim);
            for problem in crate::validate_gpu_resources(&req, &lim) {
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
        // An Argo podSpecPatch's resources replace the template's when the pod is made.
        for patch in &pod.resources_by_patch {
            let (req, lim) = judged(&patch.requests, &patch.limits);
            for problem in crate::validate_gpu_resources(&req, &lim) {
                let mut f = problem.to_finding();
                f.evidence.insert("patch_field".into(), f.location.path.take().into());
                f.location.container = Some(patch.container.clone());
                f.location.path = Some(patch.patch_path.clone());
                f.message = format!("container {} (set by podSpecPatch): {}", patch.container, f.message);
                ctx.push(f);
            }
        }
    }
}
