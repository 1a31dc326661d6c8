//! `nvidia.com/gpu` (and the other GPU extended resources) with Kubernetes' real semantics.
//!
//! Extended resources cannot be overcommitted: the API server requires them in `limits`, a
//! request equal to the limit (or none: it defaults to the limit), and a whole number.

use crate::finding::Finding;
use crate::math::quantity::Quantity;
use crate::severity::Severity;
use serde::Serialize;

/// Whether a resource name is a GPU extended resource (`nvidia.com/gpu`, `nvidia.com/mig-1g.10gb`,
/// `amd.com/gpu`, `gpu.intel.com/i915`).
///
/// ```
/// use gpuguard::math::gpu_resources::is_gpu_resource;
/// assert!(is_gpu_resource("nvidia.com/gpu"));
/// assert!(is_gpu_resource("nvidia.com/mig-3g.40gb"));
/// assert!(!is_gpu_resource("memory"));
/// ```
pub fn is_gpu_resource(name: &str) -> bool {
    name.starts_with("nvidia.com/") || name == "amd.com/gpu" || name.starts_with("gpu.intel.com/")
}

/// What is wrong with one GPU resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpuResourceProblem {
    /// Requested, but no limit: the API server rejects the pod.
    RequestWithoutLimit { resource: String, request: String },
    /// Request and limit differ: rejected.
    Unequal { resource: String, request: String, limit: String },
    /// Not a whole number (`0.5`, `500m`): rejected.
    NotWhole { resource: String, field: &'static str, value: String },
    /// Negative: rejected.
    Negative { resource: String, field: &'static str, value: String },
    /// Not a quantity at all.
    Invalid { resource: String, field: &'static str, value: String },
}

impl GpuResourceProblem {
    /// A one-line message naming the resource and the values.
    pub fn message(&self) -> String {
        match self {
            Self::RequestWithoutLimit { resource, request } => format!(
                "{resource} is requested ({request}) but has no limit; Kubernetes requires extended resources in limits"
            ),
            Self::Unequal { resource, request, limit } => format!(
                "{resource} request {request} differs from limit {limit}; extended resources cannot be overcommitted"
            ),
            Self::NotWhole { resource, field, value } => {
                format!("{resource} {field} is {value}, not a whole number of GPUs")
            }
            Self::Negative { resource, field, value } => format!("{resource} {field} is negative ({value})"),
            Self::Invalid { resource, field, value } => {
                format!("{resource} {field} {value:?} is not a Kubernetes quantity")
            }
        }
    }

    /// The fix.
    pub fn fix(&self) -> String {
        match self {
            Self::RequestWithoutLimit { resource, request } => {
                format!("set limits.{resource}: {request} (the request may then be omitted)")
            }
            Self::Unequal { resource, limit, .. } => {
                format!("set requests.{resource} equal to the limit ({limit}), or remove the request")
            }
            Self::NotWhole { .. } => {
                "use a whole number; to share a GPU use MIG profiles (nvidia.com/mig-*) or time-slicing".into()
            }
            Self::Negative { .. } | Self::Invalid { .. } => "use a whole, positive number such as 1".into(),
        }
    }

    /// The problem as a GG007 finding (no location; the caller adds it).
    pub fn to_finding(&self) -> Finding {
        let (resource, field) = match self {
            Self::RequestWithoutLimit { resource, .. } => (resource, "requests"),
            Self::Unequal { resource, .. } => (resource, "requests"),
            Self::NotWhole { resource, field, .. }
            | Self::Negative { resource, field, .. }
            | Self::Invalid { resource, field, .. } => (resource, *field),
        };
        let mut f = Finding::new("GG007", Severity::Error, self.message(), self.fix())
            .with_path(format!("resources.{field}.{resource}"));
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            for (_, inner) in map {
                if let serde_json::Value::Object(fields) = inner {
                    f.evidence.extend(fields);
                }
            }
        }
        f
    }
}

/// Checks the GPU extended resources of one container's `requests` and `limits`, given as
/// `(name, quantity)` pairs, quantities as written (`"2"`, `2` and `'2'` all arrive as `"2"`).
/// Returns every problem; an empty list means Kubernetes accepts them. Limits alone are fine.
///
/// ```
/// use gpuguard::validate_gpu_resources;
/// assert!(validate_gpu_resources(&[], &[("nvidia.com/gpu", "2")]).is_empty());
/// assert!(validate_gpu_resources(&[("nvidia.com/gpu", "2")], &[("nvidia.com/gpu", "2.0")]).is_empty());
/// assert_eq!(validate_gpu_resources(&[("nvidia.com/gpu", "1")], &[]).len(), 1);
/// assert_eq!(validate_gpu_resources(&[("nvidia.com/gpu", "1")], &[("nvidia.com/gpu", "2")]).len(), 1);
/// assert_eq!(validate_gpu_resources(&[], &[("nvidia.com/gpu", "500m")]).len(), 1);
/// ```
pub fn validate_gpu_resources(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Vec<GpuResourceProblem> {
    let mut problems = Vec::new();
    let limits: Vec<(&str, &str, Option<Quantity>)> = limits
        .iter()
        .filter(|(n, _)| is_gpu_resource(n))
        .map(|&(n, v)| (n, v, whole_quantity(n, "limits", v, &mut problems)))
        .collect();
    for &(name, request) in requests.iter().filter(|(n, _)| is_gpu_resource(n)) {
        let parsed = whole_quantity(name, "requests", request, &mut problems);
        match limits.iter().find(|(n, _, _)| *n == name) {
            None => problems.push(GpuResourceProblem::RequestWithoutLimit {
                resource: name.to_owned(),
                request: request.to_owned(),
            }),
            Some((_, limit, Some(lq))) if parsed.is_some_and(|rq| rq.as_f64() != lq.as_f64()) => {
                problems.push(GpuResourceProblem::Unequal {
                    resource: name.to_owned(),
                    request: request.to_owned(),
                    limit: (*limit).to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    problems
}

/// Parses one value, recording why it is not a valid GPU count; `None` when it is not.
fn whole_quantity(
    resource: &str,
    field: &'static str,
    value: &str,
    problems: &mut Vec<GpuResourceProblem>,
) -> Option<Quantity> {
    let (resource_owned, value_owned) = (resource.to_owned(), value.to_owned());
    let problem = match Quantity::parse(value) {
        Ok(q) if !q.is_negative() && q.is_whole() => return Some(q),
        Ok(q) if q.is_negative() => {
            GpuResourceProblem::Negative { resource: resource_owned, field, value: value_owned }
        }
        Ok(_) => GpuResourceProblem::NotWhole { resource: resource_owned, field, value: value_owned },
        Err(_) => GpuResourceProblem::Invalid { resource: resource_owned, field, value: value_owned },
    };
    problems.push(problem);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics() {
        let v = validate_gpu_resources;
        assert!(v(&[], &[]).is_empty());
        assert!(v(&[("cpu", "500m")], &[("memory", "1Gi")]).is_empty());
        assert!(v(&[("nvidia.com/gpu", "1000m")], &[("nvidia.com/gpu", "1")]).is_empty());
        assert!(matches!(
            v(&[("nvidia.com/gpu", "1")], &[]).as_slice(),
            [GpuResourceProblem::RequestWithoutLimit { .. }]
        ));
        assert!(matches!(
            v(&[], &[("nvidia.com/gpu", "0.5")]).as_slice(),
            [GpuResourceProblem::NotWhole { field: "limits", .. }]
        ));
        assert!(matches!(v(&[], &[("nvidia.com/gpu", "-1")]).as_slice(), [GpuResourceProblem::Negative { .. }]));
        assert!(matches!(v(&[], &[("nvidia.com/gpu", "one")]).as_slice(), [GpuResourceProblem::Invalid { .. }]));
        assert!(matches!(
            v(&[("amd.com/gpu", "2")], &[("amd.com/gpu", "1")]).as_slice(),
            [GpuResourceProblem::Unequal { .. }]
        ));
        // A fractional request and limit: one problem each, no spurious "unequal".
        assert_eq!(v(&[("nvidia.com/gpu", "0.5")], &[("nvidia.com/gpu", "0.5")]).len(), 2);
    }

    #[test]
    fn finding_carries_values() {
        let f = validate_gpu_resources(&[("nvidia.com/gpu", "1")], &[("nvidia.com/gpu", "2")])[0].to_finding();
        assert_eq!(f.rule, "GG007");
        assert_eq!(f.evidence["request"], "1");
        assert_eq!(f.evidence["limit"], "2");
        assert_eq!(f.location.path.as_deref(), Some("resources.requests.nvidia.com/gpu"));
    }
}
