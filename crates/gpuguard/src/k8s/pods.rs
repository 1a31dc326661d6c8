//! Every pod spec an object carries, with its field path, and the containers in it.

use super::Object;
use serde_json::Value;

/// `(name, quantity text)` pairs of a resource map.
pub type ResourceList = Vec<(String, String)>;

/// One pod spec inside an object.
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    /// Field path of the spec (`spec.template.spec`).
    pub path: String,
    /// Field path of the metadata that goes with it (`spec.template.metadata`), when it has one.
    pub meta_path: Option<String>,
    /// The spec (volumes, tolerations, nodeSelector…).
    pub spec: &'a Value,
    /// The template's metadata (`Value::Null` when none).
    pub meta: &'a Value,
    /// Containers and init containers, plus KServe's framework shorthand (`predictor.model`).
    pub containers: Vec<Container<'a>>,
}

/// One container of a pod spec.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    /// `name` (or the shorthand's key, such as `model`).
    pub name: String,
    /// Field path (`spec.template.spec.containers[0]`).
    pub path: String,
    /// Whether it is an init container.
    pub init: bool,
    /// The container.
    pub value: &'a Value,
}

impl<'a> PodSpec<'a> {
    /// An annotation of the pod template's metadata.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta["annotations"][key].as_str()
    }

    /// The volume named `name`.
    pub fn volume(&self, name: &str) -> Option<&'a Value> {
        self.spec["volumes"].as_array()?.iter().find(|v| v["name"].as_str() == Some(name))
    }

    /// The tolerations.
    pub fn tolerations(&self) -> &'a [Value] {
        self.spec["tolerations"].as_array().map_or(&[], Vec::as_slice)
    }
}

impl<'a> Container<'a> {
    /// `image` (empty when absent).
    pub fn image(&self) -> &'a str {
        self.value["image"].as_str().unwrap_or("")
    }

    /// `command` then `args`, each string item.
    pub fn argv(&self) -> Vec<&'a str> {
        ["command", "args"]
            .iter()
            .filter_map(|k| self.value[*k].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    }

    /// The literal value of environment variable `name`.
    pub fn env(&self, name: &str) -> Option<&'a str> {
        self.value["env"].as_array()?.iter().find(|e| e["name"].as_str() == Some(name))?["value"].as_str()
    }

    /// `(requests, limits)` as `(name, value)` text pairs.
    pub fn resources(&self) -> (ResourceList, ResourceList) {
        let r = &self.value["resources"];
        (super::resource_pairs(&r["requests"]), super::resource_pairs(&r["limits"]))
    }

    /// Whether it asks for any GPU extended resource (`nvidia.com/gpu`, MIG slices, `amd.com/gpu`,
    /// Intel) with a non-zero amount, or for a dynamic resource claim.
    pub fn requests_gpu(&self) -> bool {
        let (req, lim) = self.resources();
        let nonzero = |v: &str| crate::Quantity::parse(v).map_or(true, |q| q.as_f64() != 0.0);
        req.iter().chain(&lim).any(|(k, v)| crate::math::gpu_resources::is_gpu_resource(k) && nonzero(v))
            || self.value["resources"]["claims"].as_array().is_some_and(|c| !c.is_empty())
    }

    /// The mount at `mount_path` (trailing slashes ignored).
    pub fn mount_at(&self, mount_path: &str) -> Option<&'a Value> {
        let want = mount_path.trim_end_matches('/');
        self.mounts().find(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(want))
    }

    /// The volume mounts.
    pub fn mounts(&self) -> impl Iterator<Item = &'a Value> {
        self.value["volumeMounts"].as_array().into_iter().flatten()
    }

    /// Image, command and args in lower case, for recognising what the container runs.
    pub fn fingerprint(&self) -> String {
        let mut s = self.image().to_ascii_lowercase();
        for a in self.argv() {
            s.push(' ');
            s.push_str(&a.to_ascii_lowercase());
        }
        s
    }
}

/// Every pod spec in `obj`, with field paths. Unknown kinds yield none.
///
/// ```
/// let v = serde_json::json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {
///     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}});
/// let o = gpuguard::k8s::Object::new(&v).unwrap();
/// let pods = gpuguard::k8s::pod_specs(&o);
/// assert_eq!(pods[0].path, "spec.jobTemplate.spec.template.spec");
/// assert_eq!(pods[0].containers[0].path, "spec.jobTemplate.spec.template.spec.containers[0]");
/// ```
pub fn pod_specs<'a>(obj: &Object<'a>) -> Vec<PodSpec<'a>> {
    let mut out = Vec::new();
    let v = obj.value;
    let spec = &v["spec"];
    match obj.kind {
        "Pod" => push_spec(&mut out, "spec", spec, &v["metadata"], Some("metadata".into())),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            push_template(&mut out, "spec.template", &spec["template"])
        }
        "PodTemplate" => push_template(&mut out, "template", &v["template"]),
        "CronJob" => {
            push_template(&mut out, "spec.jobTemplate.spec.template", &spec["jobTemplate"]["spec"]["template"])
        }
        // Kubeflow training operators: pytorchReplicaSpecs, tfReplicaSpecs, mpiReplicaSpecs,
        // xgbReplicaSpecs, paddleReplicaSpecs… all share the shape {Role: {template}}.
        "PyTorchJob" | "TFJob" | "MPIJob" | "XGBoostJob" | "PaddleJob" | "MXJob" | "JAXJob" => {
            if let Some(map) = spec.as_object() {
                for (key, roles) in map.iter().filter(|(k, _)| k.ends_with("ReplicaSpecs")) {
                    for (role, rs) in roles.as_object().into_iter().flatten() {
                        push_template(&mut out, &format!("spec.{key}.{role}.template"), &rs["template"]);
                    }
                }
            }
        }
        "RayCluster" => push_ray(&mut out, "spec", spec),
        "RayService" => push_ray(&mut out, "spec.rayClusterConfig", &spec["rayClusterConfig"]),
        "RayJob" => {
            push_ray(&mut out, "spec.rayClusterSpec", &spec["rayClusterSpec"]);
            push_template(&mut out, "spec.submitterPodTemplate", &spec["submitterPodTemplate"]);
        }
        "LeaderWorkerSet" => {
            let lwt = &spec["leaderWorkerTemplate"];
            push_template(&mut out, "spec.leaderWorkerTemplate.leaderTemplate", &lwt["leaderTemplate"]);
            push_template(&mut out, "spec.leaderWorkerTemplate.workerTemplate", &lwt["workerTemplate"]);
        }
        "JobSet" => {
            for (i, rj) in spec["replicatedJobs"].as_array().into_iter().flatten().enumerate() {
                push_template(
                    &mut out,
                    &format!("spec.replicatedJobs[{i}].template.spec.template"),
                    &rj["template"]["spec"]["template"],
                );
            }
        }
        // KServe: each component is a pod spec inline, plus a framework shorthand container.
        "InferenceService" => {
            for comp in ["predictor", "transformer", "explainer"] {
                push_spec(&mut out, &format!("spec.{comp}"), &spec[comp], &Value::Null, None);
            }
        }
        "ServingRuntime" | "ClusterServingRuntime" => push_spec(&mut out, "spec", spec, &Value::Null, None),
        // Knative Service
        "Service" if obj.api_version.starts_with("serving.knative.dev") => {
            push_template(&mut out, "spec.template", &spec["template"])
        }
        _ => {}
    }
    out
}

/// Kinds that carry pod specs, for telling "nothing to check" from "unknown kind".
pub(crate) const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
    "PyTorchJob",
    "TFJob",
    "MPIJob",
    "XGBoostJob",
    "PaddleJob",
    "MXJob",
    "JAXJob",
    "RayCluster",
    "RayService",
    "RayJob",
    "LeaderWorkerSet",
    "JobSet",
    "InferenceService",
    "ServingRuntime",
    "ClusterServingRuntime",
];

fn push_ray<'a>(out: &mut Vec<PodSpec<'a>>, base: &str, cluster: &'a Value) {
    push_template(out, &format!("{base}.headGroupSpec.template"), &cluster["headGroupSpec"]["template"]);
    for (i, g) in cluster["workerGroupSpecs"].as_array().into_iter().flatten().enumerate() {
        push_template(out, &format!("{base}.workerGroupSpecs[{i}].template"), &g["template"]);
    }
}

fn push_template<'a>(out: &mut Vec<PodSpec<'a>>, path: &str, template: &'a Value) {
    push_spec(out, &format!("{path}.spec"), &template["spec"], &template["metadata"], Some(format!("{path}.metadata")));
}

/// KServe's framework keys: each is one container spec (`predictor.model`, `predictor.pytorch`).
const KSERVE_SHORTHANDS: &[&str] = &[
    "model",
    "pytorch",
    "tensorflow",
    "sklearn",
    "xgboost",
    "onnx",
    "triton",
    "huggingface",
    "lightgbm",
    "paddle",
    "pmml",
    "tritonserver",
    "alibi",
    "art",
];

fn push_spec<'a>(out: &mut Vec<PodSpec<'a>>, path: &str, spec: &'a Value, meta: &'a Value, meta_path: Option<String>) {
    if !spec.is_object() {
        return;
    }
    let mut containers = Vec::new();
    for (key, init) in [("initContainers", true), ("containers", false)] {
        for (i, c) in spec[key].as_array().into_iter().flatten().enumerate() {
            let name = c["name"].as_str().map_or_else(|| format!("{key}[{i}]"), str::to_owned);
            containers.push(Container { name, path: format!("{path}.{key}[{i}]"), init, value: c });
        }
    }
    for key in KSERVE_SHORTHANDS {
        if spec[*key].is_object() {
            let c = &spec[*key];
            let name = c["name"].as_str().unwrap_or("kserve-container").to_owned();
            containers.push(Container { name, path: format!("{path}.{key}"), init: false, value: c });
        }
    }
    if containers.is_empty() {
        return;
    }
    out.push(PodSpec { path: path.to_owned(), meta_path, spec, meta, containers });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        let o = Object::new(&v).unwrap();
        pod_specs(&o).iter().flat_map(|p| p.containers.iter().map(|c| c.path.clone())).collect()
    }

    #[test]
    fn ml_custom_resources() {
        let t = json!({"spec": {"containers": [{"name": "c"}]}});
        assert_eq!(
            paths(
                json!({"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": {"Master": {"template": t}, "Worker": {"template": t}}}})
            ),
            [
                "spec.pytorchReplicaSpecs.Master.template.spec.containers[0]",
                "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0]"
            ]
        );
        assert_eq!(
            paths(
                json!({"kind": "RayService", "spec": {"rayClusterConfig": {"headGroupSpec": {"template": t}, "workerGroupSpecs": [{"template": t}]}}})
            ),
            [
                "spec.rayClusterConfig.headGroupSpec.template.spec.containers[0]",
                "spec.rayClusterConfig.workerGroupSpecs[0].template.spec.containers[0]"
            ]
        );
        assert_eq!(
            paths(json!({"kind": "JobSet", "spec": {"replicatedJobs": [{"template": {"spec": {"template": t}}}]}})),
            ["spec.replicatedJobs[0].template.spec.template.spec.containers[0]"]
        );
        assert_eq!(
            paths(json!({"kind": "LeaderWorkerSet", "spec": {"leaderWorkerTemplate": {"workerTemplate": t}}})),
            ["spec.leaderWorkerTemplate.workerTemplate.spec.containers[0]"]
        );
        assert_eq!(
            paths(json!({"kind": "InferenceService", "spec": {"predictor": {"model": {"args": ["x"]}}}})),
            ["spec.predictor.model"]
        );
        assert!(paths(json!({"kind": "Service", "apiVersion": "v1", "spec": {}})).is_empty());
    }
}
