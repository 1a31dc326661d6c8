//! A small read-only model of Kubernetes objects over [`serde_json::Value`]: the object's
//! identity, and every pod spec it carries with its field path and role (the workload model),
//! across the built-in workloads and the ML custom resources GPUs are deployed with (Kubeflow
//! training operators and Trainer v2, KubeRay, LeaderWorkerSet, JobSet, Volcano, Argo, KServe,
//! NIM), plus PodSpec-shaped maps found by shape in any other kind.

mod pods;

pub(crate) use pods::is_known_kind;
pub use pods::{Container, PatchResources, PodSpec, Role, pod_specs};

use serde_json::Value;

/// One Kubernetes object (a document, or an item of a `kind: List`).
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    /// `kind` (empty when absent).
    pub kind: &'a str,
    /// `apiVersion` (empty when absent).
    pub api_version: &'a str,
    /// `metadata.name` (or `generateName`).
    pub name: Option<&'a str>,
    /// `metadata.namespace`.
    pub namespace: Option<&'a str>,
    /// The whole object.
    pub value: &'a Value,
}

impl<'a> Object<'a> {
    /// Reads an object's identity; `None` when the value is not a mapping.
    ///
    /// ```
    /// let v = serde_json::json!({"kind": "Pod", "metadata": {"name": "p", "annotations": {"a": "b"}}});
    /// let o = gpuguard::k8s::Object::new(&v).unwrap();
    /// assert_eq!((o.kind, o.name), ("Pod", Some("p")));
    /// assert_eq!(o.annotation("a"), Some("b"));
    /// ```
    pub fn new(value: &'a Value) -> Option<Self> {
        value.as_object()?;
        let meta = &value["metadata"];
        Some(Object {
            kind: value["kind"].as_str().unwrap_or(""),
            api_version: value["apiVersion"].as_str().unwrap_or(""),
            name: meta["name"].as_str().or_else(|| meta["generateName"].as_str()),
            namespace: meta["namespace"].as_str(),
            value,
        })
    }

    /// An annotation of the object's metadata.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.value["metadata"]["annotations"][key].as_str()
    }

    /// The items of a `kind: List` (or `*List`, as `kubectl get -o yaml` prints); empty otherwise.
    ///
    /// ```
    /// let v = serde_json::json!({"kind": "List", "items": [{"kind": "Pod"}, {"kind": "Node"}]});
    /// assert_eq!(gpuguard::k8s::Object::new(&v).unwrap().list_items().len(), 2);
    /// ```
    pub fn list_items(&self) -> Vec<Object<'a>> {
        if !self.kind.ends_with("List") {
            return Vec::new();
        }
        self.value["items"].as_array().map(|a| a.iter().filter_map(Object::new).collect()).unwrap_or_default()
    }
}

/// A string field, or a number/bool written where a string is expected, as text (`2` and `"2"`
/// mean the same quantity to Kubernetes).
///
/// ```
/// use serde_json::json;
/// assert_eq!(gpuguard::k8s::scalar_text(&json!(2)).as_deref(), Some("2"));
/// assert_eq!(gpuguard::k8s::scalar_text(&json!("2")).as_deref(), Some("2"));
/// assert_eq!(gpuguard::k8s::scalar_text(&json!(null)), None);
/// ```
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `(name, value)` pairs of a resource map (`resources.limits`), values as text.
pub fn resource_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?))).collect())
        .unwrap_or_default()
}

/// The `nvidia.com/gpu` a Node advertises: the larger of its `status.capacity` and
/// `status.allocatable` (0 when it has none).
///
/// ```
/// let n = serde_json::json!({"kind": "Node", "status": {"capacity": {"nvidia.com/gpu": "8"}}});
/// assert_eq!(gpuguard::k8s::node_gpus(&n), 8.0);
/// ```
pub fn node_gpus(node: &Value) -> f64 {
    ["capacity", "allocatable"]
        .iter()
        .filter_map(|k| scalar_text(&node["status"][*k]["nvidia.com/gpu"]))
        .filter_map(|q| crate::Quantity::parse(&q).ok())
        .map(|q| q.as_f64())
        .filter(|n| n.is_finite())
        .fold(0.0, f64::max)
}

/// Whether a node label or selector key names GPU nodes (NVIDIA GPU feature discovery, node
/// feature discovery's PCI vendor 10de, the clouds' accelerator labels).
///
/// ```
/// assert!(gpuguard::k8s::is_gpu_node_label("nvidia.com/gpu.present"));
/// assert!(gpuguard::k8s::is_gpu_node_label("cloud.google.com/gke-accelerator"));
/// assert!(!gpuguard::k8s::is_gpu_node_label("kubernetes.io/os"));
/// ```
pub fn is_gpu_node_label(key: &str) -> bool {
    key.starts_with("nvidia.com/gpu")
        || key.starts_with("nvidia.com/mig")
        || key == "cloud.google.com/gke-accelerator"
        || key == "cloud.google.com/gke-gpu"
        || key == "k8s.amazonaws.com/accelerator"
        || key == "accelerator"
        || key.starts_with("feature.node.kubernetes.io/pci-10de")
        || key == "node.kubernetes.io/gpu"
        || key == "gpu"
}
