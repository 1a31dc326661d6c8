//! Every pod spec an object carries, with its field path, its role in the workload and the
//! containers in it: the built-in workloads, the ML custom resources GPUs are deployed with
//! (Kubeflow training operators and Trainer v2, KubeRay, JobSet, LeaderWorkerSet, Volcano, Argo,
//! KServe, NVIDIA NIM, Knative), and, for any other kind, every PodSpec-shaped map found by shape.

use super::Object;
use serde_json::Value;
use std::borrow::Cow;

/// `(name, quantity text)` pairs of a resource map.
pub type ResourceList = Vec<(String, String)>;

static NULL: Value = Value::Null;

/// What a pod does in its workload, as its operator or its replica name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs the workload itself: a trainer, a server, a worker, a master.
    Main,
    /// Starts the job on other pods and computes nothing itself: an MPIJob `Launcher`, a
    /// Trainer/JobSet `launcher` job, a Volcano `mpimaster` task, a RayJob submitter.
    Launcher,
    /// A TensorFlow parameter server (`PS` replicas).
    ParameterServer,
    /// A KubeRay head or worker group: the operator mounts a Memory emptyDir at /dev/shm in its
    /// Ray container.
    RayNode,
}

/// One pod spec inside an object.
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    /// Field path of the spec (`spec.template.spec`).
    pub path: String,
    /// Field path of the metadata that goes with it (`spec.template.metadata`), when it has one.
    pub meta_path: Option<String>,
    /// The spec (volumes, tolerations, nodeSelector…); `Value::Null` when the object carries only
    /// a container (a TrainJob's `trainer`, a NIMService).
    pub spec: &'a Value,
    /// The template's metadata (`Value::Null` when none).
    pub meta: &'a Value,
    /// Containers and init containers, plus KServe's framework shorthand (`predictor.model`).
    pub containers: Vec<Container<'a>>,
    /// Its role.
    pub role: Role,
    /// The replica, task, group or job name that set the role (`Launcher`, `worker`), if any.
    pub role_name: Option<String>,
    /// Volumes declared outside the spec that its containers can mount (an Argo workflow's
    /// `spec.volumes`).
    pub extra_volumes: Vec<&'a Value>,
    /// False when the pod's volumes are defined in another object (a TrainJob's runtime), so
    /// rules about volumes cannot judge it.
    pub complete: bool,
    /// True when the spec was found by its shape in a kind gpuguard does not know.
    pub discovered: bool,
    /// An Argo `podSpecPatch` asks for a GPU (the patch is applied at run time).
    pub gpu_by_patch: bool,
    /// `(container, mountPath)` of the volumes an Argo `podSpecPatch` mounts that outlive the pod
    /// (a PVC, NFS, hostPath…): checkpoints and model caches written there survive a restart.
    pub persistent_by_patch: Vec<(String, String)>,
    /// The resources an Argo `podSpecPatch` sets on its containers (the patch replaces the
    /// template's at run time), for the rules that check GPU requests and limits.
    pub resources_by_patch: Vec<PatchResources>,
}

/// The resources one container of an Argo `podSpecPatch` sets.
#[derive(Debug, Clone)]
pub struct PatchResources {
    /// The container's name in the patch (`main` for a `container`/`script` template).
    pub container: String,
    /// Field path of the patch string (`spec.templates[1].podSpecPatch`).
    pub patch_path: String,
    /// `resources.requests` as `(name, value)` text pairs.
    pub requests: ResourceList,
    /// `resources.limits` as `(name, value)` text pairs.
    pub limits: ResourceList,
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
    /// The image reference (a NIMService writes it as `{repository, tag}`).
    pub image: Cow<'a, str>,
    /// The key of its resources (`resources`; a TrainJob trainer's `resourcesPerNode`).
    pub resources_key: &'static str,
    /// Whether its operator mounts a Memory emptyDir at /dev/shm (KubeRay's Ray container, the
    /// NIM operator's server), or an Argo `podSpecPatch` does (or sets `hostIPC`).
    pub shm_by_operator: bool,
    /// The GPUs an Argo `podSpecPatch` gives it (0 when none): the patch's resources replace
    /// the template's at run time.
    pub gpus_by_patch: f64,
    /// The share of a GPU a GPU-sharing scheduler gives it through the pod's annotations
    /// (KAI Scheduler's and Run:ai's `gpu-fraction: "0.5"` or `gpu-memory: "2000"`), as
    /// `annotation=value`: the scheduler binds it to a GPU with no `nvidia.com/gpu` resource.
    pub gpu_share: Option<String>,
    /// Whether it is GPU infrastructure (device plugin, dcgm-exporter, the GPU operator's
    /// components), which runs on GPU nodes without asking for a GPU on purpose. Set by the
    /// linter once per object.
    pub gpu_agent: bool,
    /// [`Container::fingerprint`], made on first use: several rules read it for every container.
    fingerprint: std::cell::OnceCell<String>,
    /// [`Container::words`], made once: every rule that asks what runs reads them. (Not a
    /// `OnceCell`: a cell holding `&'a str` would make `Container` invariant over `'a`.)
    words: Vec<&'a str>,
}

impl<'a> PodSpec<'a> {
    fn new(path: String, meta_path: Option<String>, spec: &'a Value, meta: &'a Value) -> Self {
        PodSpec {
            path,
            meta_path,
            spec,
            meta,
            containers: Vec::new(),
            role: Role::Main,
            role_name: None,
            extra_volumes: Vec::new(),
            complete: true,
            discovered: false,
            gpu_by_patch: false,
            persistent_by_patch: Vec::new(),
            resources_by_patch: Vec::new(),
        }
    }

    /// An annotation of the pod template's metadata.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta["annotations"][key].as_str()
    }

    /// Every volume its containers can mount: the spec's, then those declared outside it.
    pub fn volumes(&self) -> impl Iterator<Item = &'a Value> + '_ {
        self.spec["volumes"].as_array().into_iter().flatten().chain(self.extra_volumes.iter().copied())
    }

    /// The volume named `name`.
    pub fn volume(&self, name: &str) -> Option<&'a Value> {
        self.volumes().find(|v| v["name"].as_str() == Some(name))
    }

    /// The tolerations.
    pub fn tolerations(&self) -> &'a [Value] {
        self.spec["tolerations"].as_array().map_or(&[], Vec::as_slice)
    }
}

/// A container's command and args strings, then a script's `source` (Argo).
fn argv(container: &Value) -> Vec<&str> {
    ["command", "args"]
        .iter()
        .filter_map(|k| container[*k].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .chain(container["source"].as_str())
        .collect()
}

impl<'a> Container<'a> {
    fn new(name: String, path: String, init: bool, value: &'a Value) -> Self {
        let image = Cow::Borrowed(value["image"].as_str().unwrap_or(""));
        let words =
            argv(value).into_iter().flat_map(str::split_whitespace).map(|w| w.trim_matches(['"', '\''])).collect();
        Container {
            name,
            path,
            init,
            value,
            image,
            resources_key: "resources",
            shm_by_operator: false,
            gpus_by_patch: 0.0,
            gpu_share: None,
            gpu_agent: false,
            fingerprint: std::cell::OnceCell::new(),
            words,
        }
    }

    /// `image` (empty when absent).
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The words of command and args (each string split on whitespace, shell quotes trimmed):
    /// `sh -c "torchrun train.py"` gives `sh`, `-c`, `torchrun`, `train.py`.
    pub fn words(&self) -> &[&'a str] {
        &self.words
    }

    /// `command` then `args`, each string item (an Argo script's `source` too).
    pub fn argv(&self) -> Vec<&'a str> {
        argv(self.value)
    }

    /// The literal value of environment variable `name`.
    pub fn env(&self, name: &str) -> Option<&'a str> {
        self.value["env"].as_array()?.iter().find(|e| e["name"].as_str() == Some(name))?["value"].as_str()
    }

    /// The container's resources map.
    pub fn resources_value(&self) -> &'a Value {
        &self.value[self.resources_key]
    }

    /// `(requests, limits)` as `(name, value)` text pairs.
    pub fn resources(&self) -> (ResourceList, ResourceList) {
        let r = self.resources_value();
        (super::resource_pairs(&r["requests"]), super::resource_pairs(&r["limits"]))
    }

    /// The GPUs it asks for: the larger of its `nvidia.com/gpu` (or other GPU resource) limit
    /// and request, 0 when none or unreadable. HAMi's per-GPU memory and cores
    /// (`nvidia.com/gpumem`, `nvidia.com/gpucores`) are shares of those GPUs, not more of them.
    pub fn gpu_count(&self) -> f64 {
        let (req, lim) = self.resources();
        req.iter()
            .chain(&lim)
            .filter(|(k, _)| crate::math::gpu_resources::is_gpu_resource(k) && !is_per_gpu_quantity(k))
            .filter_map(|(_, v)| crate::Quantity::parse(v).ok().map(|q| q.as_f64()))
            .filter(|n| n.is_finite())
            .fold(self.gpus_by_patch, f64::max)
    }

    /// Whether it asks for any GPU extended resource (`nvidia.com/gpu`, MIG slices, `amd.com/gpu`,
    /// Intel) with a non-zero amount, or for a dynamic resource claim.
    pub fn requests_gpu(&self) -> bool {
        let (req, lim) = self.resources();
        let nonzero = |v: &str| crate::Quantity::parse(v).map_or(true, |q| q.as_f64() != 0.0);
        self.gpus_by_patch > 0.0
            || self.gpu_share.is_some()
            || req.iter().chain(&lim).any(|(k, v)| crate::math::gpu_resources::is_gpu_resource(k) && nonzero(v))
            || self.resources_value()["claims"].as_array().is_some_and(|c| !c.is_empty())
    }

    /// The mount at `mount_path` (trailing slashes ignored).
    pub fn mount_at(&self, mount_path: &str) -> Option<&'a Value> {
        let want = mount_path.trim_end_matches('/');
        self.mounts().find(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(want))
    }

    /// The volume mounts.
    pub fn mounts(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.value["volumeMounts"].as_array().into_iter().flatten()
    }

    /// Image, command and args in lower case, for recognising what the container runs.
    /// Made once per container (after its image is final: the linter reads it only once the
    /// pod specs are built).
    pub fn fingerprint(&self) -> &str {
        self.fingerprint.get_or_init(|| {
            // One buffer lowercased once, not a lowercased copy per word.
            let mut s = self.image().to_owned();
            for a in self.argv() {
                s.push(' ');
                s.push_str(a);
            }
            s.make_ascii_lowercase();
            s
        })
    }
}

/// GPU resources that measure a share of each GPU rather than count GPUs: HAMi's vGPU memory
/// (MiB or percent) and cores (percent), `nvidia.com/gpumem: 8000` beside `nvidia.com/gpu: 1`.
fn is_per_gpu_quantity(resource: &str) -> bool {
    resource
        .strip_prefix("nvidia.com/")
        .is_some_and(|r| matches!(r, "gpumem" | "gpumem-percentage" | "gpucores" | "priority"))
}

/// The API group of an `apiVersion` (`batch` for `batch/v1`, `` for `v1`).
fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Every pod spec in `obj`, with field paths and roles. Kinds gpuguard does not know are searched
/// by shape (maps with a `containers` list of objects that have an `image`).
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
    let g = group(obj.api_version);
    match obj.kind {
        "Pod" if g.is_empty() => {
            push_spec(&mut out, "spec", spec, &v["metadata"], Some("metadata".into()));
        }
        "Job" if g == "batch.volcano.sh" => {
            for (i, task) in spec["tasks"].as_array().into_iter().flatten().enumerate() {
                let n = push_template(&mut out, &format!("spec.tasks[{i}].template"), &task["template"]);
                set_role(&mut out, n, task["name"].as_str());
            }
        }
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job"
            if matches!(g, "" | "apps" | "batch" | "extensions") =>
        {
            push_template(&mut out, "spec.template", &spec["template"]);
        }
        "PodTemplate" if g.is_empty() => {
            push_template(&mut out, "template", &v["template"]);
        }
        "CronJob" if matches!(g, "" | "batch") => {
            push_template(&mut out, "spec.jobTemplate.spec.template", &spec["jobTemplate"]["spec"]["template"]);
        }
        // Kubeflow training operators: pytorchReplicaSpecs, tfReplicaSpecs, mpiReplicaSpecs,
        // xgbReplicaSpecs, paddleReplicaSpecs… all share the shape {Role: {template}}.
        "PyTorchJob" | "TFJob" | "MPIJob" | "XGBoostJob" | "PaddleJob" | "MXJob" | "JAXJob"
            if matches!(g, "" | "kubeflow.org") =>
        {
            if let Some(map) = spec.as_object() {
                for (key, roles) in map.iter().filter(|(k, _)| k.ends_with("ReplicaSpecs")) {
                    for (role, rs) in roles.as_object().into_iter().flatten() {
                        let n = push_template(&mut out, &format!("spec.{key}.{role}.template"), &rs["template"]);
                        set_role(&mut out, n, Some(role));
                    }
                }
            }
        }
        "RayCluster" if matches!(g, "" | "ray.io") => {
            push_ray(&mut out, "spec", spec);
        }
        "RayService" if matches!(g, "" | "ray.io") => {
            push_ray(&mut out, "spec.rayClusterConfig", &spec["rayClusterConfig"])
        }
        "RayJob" if matches!(g, "" | "ray.io") => {
            push_ray(&mut out, "spec.rayClusterSpec", &spec["rayClusterSpec"]);
            let n = push_template(&mut out, "spec.submitterPodTemplate", &spec["submitterPodTemplate"]);
            set_role(&mut out, n, Some("submitter"));
        }
        "LeaderWorkerSet" if matches!(g, "" | "leaderworkerset.x-k8s.io") => {
            let lwt = &spec["leaderWorkerTemplate"];
            let n = push_template(&mut out, "spec.leaderWorkerTemplate.leaderTemplate", &lwt["leaderTemplate"]);
            set_role(&mut out, n, Some("leader"));
            let n = push_template(&mut out, "spec.leaderWorkerTemplate.workerTemplate", &lwt["workerTemplate"]);
            set_role(&mut out, n, Some("worker"));
        }
        "JobSet" if matches!(g, "" | "jobset.x-k8s.io") => push_jobset(&mut out, "spec", spec),
        // Kubeflow Trainer v2: runtimes hold a JobSet template; a TrainJob holds only the trainer
        // container (image, command, resourcesPerNode), its pod comes from the runtime.
        "TrainingRuntime" | "ClusterTrainingRuntime" if matches!(g, "" | "trainer.kubeflow.org") => {
            push_jobset(&mut out, "spec.template.spec", &spec["template"]["spec"])
        }
        "TrainJob" if matches!(g, "" | "trainer.kubeflow.org") => {
            let trainer = &spec["trainer"];
            if trainer.is_object() {
                let mut pod = PodSpec::new("spec.trainer".into(), None, &NULL, &NULL);
                let mut c = Container::new("trainer".into(), "spec.trainer".into(), false, trainer);
                c.resources_key = "resourcesPerNode";
                pod.containers.push(c);
                pod.complete = false;
                out.push(pod);
            }
        }
        // KServe: each component is a pod spec inline, plus a framework shorthand container; a
        // multi-node predictor or runtime has the worker pods' spec in `workerSpec`.
        "InferenceService" if matches!(g, "" | "serving.kserve.io") => {
            for comp in ["predictor", "transformer", "explainer"] {
                push_spec(&mut out, &format!("spec.{comp}"), &spec[comp], &Value::Null, None);
            }
            let n = push_spec(&mut out, "spec.predictor.workerSpec", &spec["predictor"]["workerSpec"], &NULL, None);
            set_role(&mut out, n, Some("worker"));
        }
        "ServingRuntime" | "ClusterServingRuntime" if matches!(g, "" | "serving.kserve.io") => {
            push_spec(&mut out, "spec", spec, &Value::Null, None);
            let n = push_spec(&mut out, "spec.workerSpec", &spec["workerSpec"], &NULL, None);
            set_role(&mut out, n, Some("worker"));
        }
        // NVIDIA NIM operator: one server container described by the spec itself; a NIMPipeline
        // holds several NIMService specs.
        "NIMService" if matches!(g, "" | "apps.nvidia.com") => push_nim(&mut out, "spec", spec, "nim"),
        "NIMPipeline" if matches!(g, "" | "apps.nvidia.com") => {
            for (i, svc) in spec["services"].as_array().into_iter().flatten().enumerate() {
                let name = svc["name"].as_str().unwrap_or("nim");
                push_nim(&mut out, &format!("spec.services[{i}].spec"), &svc["spec"], name);
            }
        }
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" if matches!(g, "" | "argoproj.io") => {
            push_argo(&mut out, "spec", spec)
        }
        "CronWorkflow" if matches!(g, "" | "argoproj.io") => {
            push_argo(&mut out, "spec.workflowSpec", &spec["workflowSpec"])
        }
        // Knative Service
        "Service" if g == "serving.knative.dev" => {
            push_template(&mut out, "spec.template", &spec["template"]);
        }
        _ => {
            if !is_known_kind(obj) {
                discover(&mut out, obj.value, &mut String::new(), 0);
            }
        }
    }
    for pod in &mut out {
        apply_gpu_share(pod);
    }
    out
}

/// Pod annotations through which a GPU-sharing scheduler (NVIDIA KAI Scheduler, Run:ai) gives a
/// container part of a GPU: a fraction of one GPU's memory, or an amount in MiB.
const GPU_SHARE_ANNOTATIONS: &[&str] = &["gpu-fraction", "gpu-memory"];

/// Marks the container a `gpu-fraction`/`gpu-memory` annotation gives a GPU share to: the one
/// named by `gpu-fraction-container-name`, else the first container (KAI Scheduler's rule). Its
/// binder injects the GPU (NVIDIA_VISIBLE_DEVICES) with no `nvidia.com/gpu` in the resources.
fn apply_gpu_share(pod: &mut PodSpec<'_>) {
    let Some((key, value)) = GPU_SHARE_ANNOTATIONS.iter().find_map(|k| Some((*k, pod.annotation(k)?))) else {
        return;
    };
    let target = pod.annotation("gpu-fraction-container-name");
    let c = match target {
        Some(name) => pod.containers.iter_mut().find(|c| c.name == name),
        None => pod.containers.iter_mut().find(|c| !c.init),
    };
    if let Some(c) = c {
        c.gpu_share = Some(format!("{key}={value}"));
    }
}

/// Whether gpuguard knows the kind's pod specs, or knows it has none (a Service, a Node, a
/// ConfigMap…), so shape discovery is not needed.
pub(crate) fn is_known_kind(obj: &Object<'_>) -> bool {
    let g = group(obj.api_version);
    match obj.kind {
        "Pod" | "PodTemplate" | "ReplicationController" => g.is_empty(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => matches!(g, "" | "apps" | "extensions"),
        "Job" => matches!(g, "" | "batch" | "batch.volcano.sh"),
        "CronJob" => matches!(g, "" | "batch"),
        "PyTorchJob" | "TFJob" | "MPIJob" | "XGBoostJob" | "PaddleJob" | "MXJob" | "JAXJob" => {
            matches!(g, "" | "kubeflow.org")
        }
        "RayCluster" | "RayService" | "RayJob" => matches!(g, "" | "ray.io"),
        "LeaderWorkerSet" => matches!(g, "" | "leaderworkerset.x-k8s.io"),
        "JobSet" => matches!(g, "" | "jobset.x-k8s.io"),
        "TrainingRuntime" | "ClusterTrainingRuntime" | "TrainJob" => matches!(g, "" | "trainer.kubeflow.org"),
        "InferenceService" | "ServingRuntime" | "ClusterServingRuntime" => matches!(g, "" | "serving.kserve.io"),
        // A NIMCache runs a CPU job that downloads the model into a PVC: nothing for the rules.
        "NIMService" | "NIMPipeline" | "NIMCache" => matches!(g, "" | "apps.nvidia.com"),
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow" => {
            matches!(g, "" | "argoproj.io")
        }
        "Service" => g == "serving.knative.dev" || g.is_empty(),
        // Karpenter: the nodes it provisions (GG002 judges their taints).
        "NodePool" => g == "karpenter.sh",
        // Kueue's quota and admission objects: no pods of their own.
        "ResourceFlavor"
        | "ClusterQueue"
        | "LocalQueue"
        | "AdmissionCheck"
        | "Topology"
        | "WorkloadPriorityClass"
        | "ProvisioningRequestConfig"
        | "Cohort" => g == "kueue.x-k8s.io",
        kind => INERT_KINDS.contains(&kind),
    }
}

/// Kinds without pod specs that gpuguard still knows (so they are not reported as unknown).
pub(crate) const INERT_KINDS: &[&str] = &[
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "PriorityClass",
    "RuntimeClass",
    "Node",
    "LimitRange",
    "ResourceQuota",
    "ServiceMonitor",
    "PodMonitor",
    "Endpoints",
    "EndpointSlice",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "HTTPRoute",
    "Gateway",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "DeviceClass",
];

/// Names of replicas, tasks and jobs that start work elsewhere and compute nothing themselves.
fn role_of(name: &str) -> Role {
    match name.to_ascii_lowercase().as_str() {
        "launcher" | "mpimaster" | "mpi-launcher" | "submitter" => Role::Launcher,
        "ps" | "parameterserver" | "parameter-server" => Role::ParameterServer,
        _ => Role::Main,
    }
}

/// Sets the role of the pod pushed last, if `pushed` says one was.
fn set_role(out: &mut [PodSpec<'_>], pushed: bool, name: Option<&str>) {
    if let (true, Some(pod), Some(name)) = (pushed, out.last_mut(), name) {
        pod.role = role_of(name);
        pod.role_name = Some(name.to_owned());
    }
}

fn push_jobset<'a>(out: &mut Vec<PodSpec<'a>>, base: &str, spec: &'a Value) {
    for (i, rj) in spec["replicatedJobs"].as_array().into_iter().flatten().enumerate() {
        let n = push_template(
            out,
            &format!("{base}.replicatedJobs[{i}].template.spec.template"),
            &rj["template"]["spec"]["template"],
        );
        set_role(out, n, rj["name"].as_str());
    }
}

fn push_ray<'a>(out: &mut Vec<PodSpec<'a>>, base: &str, cluster: &'a Value) {
    let groups = std::iter::once((format!("{base}.headGroupSpec.template"), &cluster["headGroupSpec"]["template"]))
        .chain(
            cluster["workerGroupSpecs"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, g)| (format!("{base}.workerGroupSpecs[{i}].template"), &g["template"])),
        );
    for (path, template) in groups {
        if push_template(out, &path, template) {
            if let Some(pod) = out.last_mut() {
                pod.role = Role::RayNode;
                // KubeRay mounts /dev/shm in the Ray container, the first one.
                if let Some(c) = pod.containers.iter_mut().find(|c| !c.init) {
                    c.shm_by_operator = true;
                }
            }
        }
    }
}

/// A NIMService spec: the operator makes a Deployment whose one container is described by the spec
/// itself (image `{repository, tag}`), and mounts a Memory emptyDir at /dev/shm and the model
/// store (a NIMCache's PVC) at /model-store itself (`GetVolumes` in k8s-nim-operator).
fn push_nim<'a>(out: &mut Vec<PodSpec<'a>>, path: &str, spec: &'a Value, name: &str) {
    if !spec.is_object() {
        return;
    }
    let mut pod = PodSpec::new(path.to_owned(), None, spec, &NULL);
    let mut c = Container::new(name.to_owned(), path.to_owned(), false, spec);
    let img = &spec["image"];
    c.image = match (img["repository"].as_str(), img["tag"].as_str()) {
        (Some(r), Some(t)) => Cow::Owned(format!("{r}:{t}")),
        (Some(r), None) => Cow::Borrowed(r),
        _ => Cow::Borrowed(img.as_str().unwrap_or("")),
    };
    c.shm_by_operator = true;
    pod.containers.push(c);
    pod.complete = false;
    out.push(pod);
}

/// Argo: each template's `container`, `script` and `containerSet` runs in a pod of its own; the
/// workflow's `volumes` can be mounted by all of them.
fn push_argo<'a>(out: &mut Vec<PodSpec<'a>>, base: &str, wf: &'a Value) {
    let shared: Vec<&'a Value> = wf["volumes"].as_array().into_iter().flatten().collect();
    let wf_patch = wf["podSpecPatch"].as_str().unwrap_or("");
    for (i, t) in wf["templates"].as_array().into_iter().flatten().enumerate() {
        let path = format!("{base}.templates[{i}]");
        let mut pod = PodSpec::new(path.clone(), Some(format!("{path}.metadata")), t, &t["metadata"]);
        for (key, init) in [("initContainers", true), ("sidecars", false)] {
            for (j, c) in t[key].as_array().into_iter().flatten().enumerate() {
                let name = c["name"].as_str().map_or_else(|| format!("{key}[{j}]"), str::to_owned);
                pod.containers.push(Container::new(name, format!("{path}.{key}[{j}]"), init, c));
            }
        }
        for key in ["container", "script"] {
            if t[key].is_object() {
                let name = t[key]["name"].as_str().unwrap_or("main").to_owned();
                pod.containers.push(Container::new(name, format!("{path}.{key}"), false, &t[key]));
            }
        }
        for (j, c) in t["containerSet"]["containers"].as_array().into_iter().flatten().enumerate() {
            let name = c["name"].as_str().map_or_else(|| format!("containers[{j}]"), str::to_owned);
            pod.containers.push(Container::new(name, format!("{path}.containerSet.containers[{j}]"), false, c));
        }
        if pod.containers.iter().all(|c| c.init) {
            continue;
        }
        pod.extra_volumes.clone_from(&shared);
        let patches = [
            (format!("{base}.podSpecPatch"), wf_patch),
            (format!("{path}.podSpecPatch"), t["podSpecPatch"].as_str().unwrap_or("")),
        ];
        for (patch_path, patch) in patches.iter().filter(|(_, p)| !p.trim().is_empty()) {
            apply_argo_patch(&mut pod, patch, patch_path);
        }
        pod.role_name = t["name"].as_str().map(str::to_owned);
        out.push(pod);
    }
}

/// Reads what matters to the rules in an Argo `podSpecPatch` (a strategic merge patch, YAML or
/// JSON, applied to the pod when it is created; containers are matched by name, and a
/// `container`/`script` template's container is `main`): GPU requests, a Memory emptyDir or
/// `hostIPC` for /dev/shm, and volumes that outlive the pod. A patch that does not parse (it may
/// hold `{{…}}` parameters) asks for a GPU if it names one.
fn apply_argo_patch(pod: &mut PodSpec<'_>, patch: &str, patch_path: &str) {
    let Ok((p, _)) = crate::yaml::parse_value(patch, "podSpecPatch", 1) else {
        pod.gpu_by_patch |= patch.contains("gpu");
        return;
    };
    let host_ipc = p["hostIPC"].as_bool() == Some(true);
    let patch_volumes: Vec<&Value> = p["volumes"].as_array().into_iter().flatten().collect();
    let volume = |name: &str| {
        patch_volumes.iter().copied().find(|v| v["name"].as_str() == Some(name)).or_else(|| pod.volume(name)).cloned()
    };
    let mut persistent = Vec::new();
    let mut shm = Vec::new();
    let mut gpus = Vec::new();
    let mut patched = Vec::new();
    for pc in p["containers"].as_array().into_iter().flatten() {
        let name = pc["name"].as_str().unwrap_or("main");
        let probe = Container::new(name.to_owned(), String::new(), false, pc);
        let (requests, limits) = probe.resources();
        if !requests.is_empty() || !limits.is_empty() {
            patched.push(PatchResources {
                container: name.to_owned(),
                patch_path: patch_path.to_owned(),
                requests,
                limits,
            });
        }
        if probe.requests_gpu() {
            // A GPU resource whose amount is a `{{…}}` parameter still asks for one.
            gpus.push((name.to_owned(), probe.gpu_count().max(1.0)));
        }
        for m in probe.mounts() {
            let (Some(path), Some(vol)) = (m["mountPath"].as_str(), m["name"].as_str().and_then(&volume)) else {
                continue;
            };
            if path.trim_end_matches('/') == "/dev/shm" && vol["emptyDir"]["medium"].as_str() == Some("Memory") {
                shm.push(name.to_owned());
            } else if crate::lint::facts::is_persistent(&vol) {
                persistent.push((name.to_owned(), path.to_owned()));
            }
        }
    }
    pod.gpu_by_patch |= !gpus.is_empty();
    for c in pod.containers.iter_mut() {
        c.shm_by_operator |= host_ipc || shm.contains(&c.name);
        if let Some((_, n)) = gpus.iter().find(|(name, _)| *name == c.name) {
            c.gpus_by_patch = *n;
        }
    }
    pod.persistent_by_patch.extend(persistent);
    pod.resources_by_patch.extend(patched);
}

/// Pushes `template.spec` with `template.metadata`; whether a pod spec was pushed.
fn push_template<'a>(out: &mut Vec<PodSpec<'a>>, path: &str, template: &'a Value) -> bool {
    push_spec(out, &format!("{path}.spec"), &template["spec"], &template["metadata"], Some(format!("{path}.metadata")))
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

/// Pushes a pod spec with its containers; whether it had any.
fn push_spec<'a>(
    out: &mut Vec<PodSpec<'a>>,
    path: &str,
    spec: &'a Value,
    meta: &'a Value,
    meta_path: Option<String>,
) -> bool {
    if !spec.is_object() {
        return false;
    }
    let mut pod = PodSpec::new(path.to_owned(), meta_path, spec, meta);
    for (key, init) in [("initContainers", true), ("containers", false)] {
        for (i, c) in spec[key].as_array().into_iter().flatten().enumerate() {
            let name = c["name"].as_str().map_or_else(|| format!("{key}[{i}]"), str::to_owned);
            pod.containers.push(Container::new(name, format!("{path}.{key}[{i}]"), init, c));
        }
    }
    for key in KSERVE_SHORTHANDS {
        if spec[*key].is_object() {
            let c = &spec[*key];
            let name = c["name"].as_str().unwrap_or("kserve-container").to_owned();
            pod.containers.push(Container::new(name, format!("{path}.{key}"), false, c));
        }
    }
    if pod.containers.is_empty() {
        return false;
    }
    out.push(pod);
    true
}

/// How deep shape discovery looks into an unknown object.
const DISCOVER_DEPTH: usize = 24;

/// Whether a map is shaped like a PodSpec: a `containers` list whose items are maps with an
/// `image` string.
fn is_pod_spec_shaped(v: &Value) -> bool {
    v["containers"].as_array().is_some_and(|cs| {
        !cs.is_empty() && cs.iter().all(|c| c.is_object()) && cs.iter().any(|c| c["image"].is_string())
    })
}

/// Finds PodSpec-shaped maps anywhere in an unknown object (not under `metadata` or `status`),
/// pairing `…template.spec` with its `…template.metadata`.
fn discover<'a>(out: &mut Vec<PodSpec<'a>>, v: &'a Value, path: &mut String, depth: usize) {
    if depth > DISCOVER_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if depth == 0 && matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind") {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if is_pod_spec_shaped(child) {
                    let meta = if k == "spec" { &v["metadata"] } else { &NULL };
                    let meta_path = (k == "spec" && v["metadata"].is_object())
                        .then(|| format!("{}metadata", &path[..path.len() - "spec".len()]));
                    if push_spec(out, path, child, meta, meta_path) {
                        if let Some(p) = out.last_mut() {
                            p.discovered = true;
                        }
                    }
                } else {
                    discover(out, child, path, depth + 1);
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if is_pod_spec_shaped(child) {
                    if push_spec(out, path, child, &NULL, None) {
                        if let Some(p) = out.last_mut() {
                            p.discovered = true;
                        }
                    }
                } else {
                    discover(out, child, path, depth + 1);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods(v: &Value) -> Vec<PodSpec<'_>> {
        pod_specs(&Object::new(v).unwrap())
    }

    fn paths(v: Value) -> Vec<String> {
        pods(&v).iter().flat_map(|p| p.containers.iter().map(|c| c.path.clone())).collect()
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

    #[test]
    fn groups_tell_kinds_apart() {
        let t = json!({"spec": {"containers": [{"name": "c", "image": "x"}]}});
        let volcano = json!({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
            "spec": {"tasks": [{"name": "mpimaster", "template": t}, {"name": "mpiworker", "template": t}]}});
        let p = pods(&volcano);
        assert_eq!(p[0].path, "spec.tasks[0].template.spec");
        assert_eq!((p[0].role, p[1].role), (Role::Launcher, Role::Main));
        let batch =
            json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": t, "tasks": [{"template": t}]}});
        assert_eq!(paths(batch), ["spec.template.spec.containers[0]"]);
    }

    #[test]
    fn trainer_argo_nim_and_discovery() {
        let rt = json!({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
            "spec": {"template": {"spec": {"replicatedJobs": [{"name": "launcher", "template": {"spec": {"template": {"spec": {"containers": [{"name": "l", "image": "x"}]}}}}}]}}}});
        let p = pods(&rt);
        assert_eq!(
            p[0].containers[0].path,
            "spec.template.spec.replicatedJobs[0].template.spec.template.spec.containers[0]"
        );
        assert_eq!(p[0].role, Role::Launcher);
        let tj = json!({"kind": "TrainJob", "apiVersion": "trainer.kubeflow.org/v1alpha1",
            "spec": {"trainer": {"image": "x", "resourcesPerNode": {"limits": {"nvidia.com/gpu": 4}}}}});
        let p = pods(&tj);
        assert_eq!(p[0].containers[0].gpu_count(), 4.0);
        assert!(!p[0].complete);
        let wf = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "spec": {"workflowSpec": {
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}],
            "templates": [{"name": "steps", "steps": []}, {"name": "t", "script": {"image": "python", "source": "print(1)"}}]}}});
        let p = pods(&wf);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].containers[0].path, "spec.workflowSpec.templates[1].script");
        assert!(p[0].volume("v").is_some());
        let nim = json!({"apiVersion": "apps.nvidia.com/v1alpha1", "kind": "NIMService",
            "spec": {"image": {"repository": "nvcr.io/nim/meta/llama3-8b-instruct", "tag": "1.0.0"}}});
        assert_eq!(pods(&nim)[0].containers[0].image(), "nvcr.io/nim/meta/llama3-8b-instruct:1.0.0");
        let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"runner": {"template": {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}});
        let p = pods(&unknown);
        assert_eq!(p[0].path, "spec.runner.template.spec");
        assert_eq!(p[0].meta_path.as_deref(), Some("spec.runner.template.metadata"));
        assert!(p[0].discovered);
        let raycluster = json!({"kind": "RayCluster", "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray"}, {"name": "sidecar", "image": "x"}]}}}}});
        let p = pods(&raycluster);
        assert!(p[0].containers[0].shm_by_operator && !p[0].containers[1].shm_by_operator);
    }
}
