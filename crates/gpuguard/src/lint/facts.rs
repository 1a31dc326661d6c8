//! The facts about a workload that several manifest checks share: what is a GPU agent, a
//! launcher, training, a model server and its model, a persistent volume. The checks themselves
//! live with their footgun's documentation in [`crate::footguns`].

use super::Ctx;
use crate::k8s::{Container, PodSpec, Role};
use serde_json::Value;

/// Image or name fragments of GPU infrastructure agents: they run on GPU nodes without asking
/// for a GPU, on purpose.
const GPU_AGENTS: &[&str] = &[
    "dcgm",
    "device-plugin",
    "k8s-device-plugin",
    "gpu-feature-discovery",
    "node-feature-discovery",
    "nvidia/driver",
    "nvidia-driver",
    "driver-manager",
    "container-toolkit",
    "nvidia-container-toolkit",
    "gpu-operator",
    "mig-manager",
    "gpu-operator-validator",
    "cuda-validator",
    "nvidia-validator",
    "nvidia-fs",
    "gds",
    "vgpu-manager",
    "sandbox-device-plugin",
    "kubevirt-gpu-device-plugin",
    "gpu-monitoring",
    "nvidia-gpu-device-plugin",
    "nvidia-peermem",
    "nvidia-mps",
    "network-operator",
    "operator-validator",
    "sandbox-validator",
    "device-plugin-validator",
    "fabricmanager",
    "nvidia-dcgm",
    // gpuguard's own node agent (deploy/kubernetes/daemonset.yaml): like dcgm-exporter it reads
    // NVML through NVIDIA_VISIBLE_DEVICES=all and must not take a GPU from the node's jobs.
    "gpuguard-agent",
];

/// Whether the container (or its object) is a GPU infrastructure agent.
pub(crate) fn is_gpu_agent(_ctx: &Ctx<'_>, c: &Container<'_>) -> bool {
    c.gpu_agent
}

/// [`is_gpu_agent`] for an object and its pods.
pub(crate) fn is_gpu_agent_in(obj: &crate::k8s::Object<'_>, pods: &[PodSpec<'_>], c: &Container<'_>) -> bool {
    // One pass per name for all the agents' names at once (a literal set: Aho-Corasick inside
    // regex), not one substring search per agent and name.
    static AGENTS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let names: Vec<String> = GPU_AGENTS.iter().map(|a| regex::escape(a)).collect();
        regex::RegexBuilder::new(&names.join("|")).case_insensitive(true).build().expect("literal names")
    });
    // The GPU operator labels every component it deploys.
    let part_of = |meta: &Value| meta["labels"]["app.kubernetes.io/part-of"].as_str() == Some("gpu-operator");
    [c.image(), c.name.as_str(), obj.name.unwrap_or("")].iter().any(|n| AGENTS.is_match(n))
        || part_of(&obj.value["metadata"])
        || pods.iter().any(|p| part_of(p.meta))
}

/// Whether any container of the pod asks for a GPU: a GPU resource, a dynamic resource claim,
/// or a NIMService's `draResources` that claim GPUs.
pub(crate) fn pod_requests_gpu(pod: &PodSpec<'_>) -> bool {
    pod.gpu_by_patch
        || pod.containers.iter().any(Container::requests_gpu)
        || pod.spec["resourceClaims"].as_array().is_some_and(|c| !c.is_empty())
        || pod.spec["draResources"].as_array().is_some_and(|d| d.iter().any(dra_resource_claims_gpu))
}

/// Whether one NIMService `draResources` entry claims a GPU. One that names a claim or a claim
/// template (defined elsewhere) is taken for a GPU claim, as a pod's `resourceClaims` are; one
/// whose `claimCreationSpec` lists its devices claims a GPU only if a device class or driver
/// says so (`gpu.nvidia.com`), not an IMEX channel (`compute-domain-default-channel.nvidia.com`).
fn dra_resource_claims_gpu(entry: &Value) -> bool {
    let Some(devices) = entry["claimCreationSpec"]["devices"].as_array() else {
        return entry.is_object();
    };
    devices.iter().any(|d| {
        ["deviceClassName", "driverName"].iter().any(|k| d[*k].as_str().is_some_and(|v| v.starts_with("gpu.")))
    })
}

/// The GPUs of the pod's main (non-init) containers together.
pub(crate) fn pod_gpus(pod: &PodSpec<'_>) -> f64 {
    pod.containers.iter().filter(|c| !c.init).map(Container::gpu_count).sum()
}

/// Whether the container starts work on other pods and computes nothing itself: the launcher
/// role of its operator (MPIJob `Launcher`, Trainer's `launcher` job, Volcano `mpimaster`, a
/// RayJob submitter), a CPU parameter server, or a CPU container whose command is `mpirun`.
pub(crate) fn is_launcher(pod: &PodSpec<'_>, c: &Container<'_>) -> bool {
    if c.requests_gpu() {
        return false;
    }
    matches!(pod.role, Role::Launcher | Role::ParameterServer)
        || words(c).iter().any(|w| {
            let prog = w.rsplit('/').next().unwrap_or(w);
            matches!(prog, "mpirun" | "mpiexec" | "mpirun.openmpi" | "horovodrun" | "orterun" | "prterun")
        })
}

/// Kinds whose main pods train by definition (their operator runs distributed training).
const TRAINING_KINDS: &[&str] = &[
    "PyTorchJob",
    "TFJob",
    "MPIJob",
    "XGBoostJob",
    "PaddleJob",
    "MXJob",
    "JAXJob",
    "TrainJob",
    "TrainingRuntime",
    "ClusterTrainingRuntime",
];

/// Commands and words of training launchers and frameworks' trainers.
const TRAINING_WORDS: &[&str] = &[
    "torchrun",
    "torch.distributed.run",
    "torch.distributed.launch",
    "deepspeed",
    "megatron",
    "nemo_run",
    "horovodrun",
    "llamafactory-cli",
    "axolotl",
    "composer",
];

/// How the pod was recognised as training, if it was: its operator's kind, or the command of one
/// of its containers (`torchrun`, `deepspeed`, `accelerate launch`, `python train.py`,
/// `tune run` …). A RayJob's `entrypoint` counts for its Ray pods. A job that runs a benchmark
/// or a hardware test (NCCL's `all_reduce_perf`, `tf_cnn_benchmarks.py`) is not training, even
/// under a training operator: it has no state worth a checkpoint and loads no dataset.
pub(crate) fn training_evidence(ctx: &Ctx<'_>, pod: &PodSpec<'_>) -> Option<String> {
    if benchmark_in(ctx).is_some() {
        return None;
    }
    if TRAINING_KINDS.contains(&ctx.obj.kind) && pod.role == Role::Main {
        return Some(format!("kind {}", ctx.obj.kind));
    }
    if let (Some(plugin), Role::Main) = (volcano_training_plugin(ctx), pod.role) {
        return Some(format!("Volcano job with the {plugin} plugin"));
    }
    let entrypoint = (ctx.obj.kind == "RayJob" && pod.role == Role::RayNode)
        .then(|| ctx.obj.value["spec"]["entrypoint"].as_str())
        .flatten();
    if let Some(w) = entrypoint.and_then(|e| training_command(&e.split_whitespace().collect::<Vec<_>>())) {
        return Some(format!("RayJob entrypoint runs {w}"));
    }
    pod.containers
        .iter()
        .filter(|c| !c.init && !is_launcher(pod, c))
        .find_map(|c| training_command(words(c)).map(|w| format!("container {} runs {w}", c.name)))
}

/// The benchmark or hardware test the object runs, if any: a program of any of its containers
/// (a launcher's `mpirun … all_reduce_perf` too) or of a RayJob's entrypoint whose name says it
/// measures (`*_perf`, `*benchmark*`), unless another of its commands is a training launcher.
pub(crate) fn benchmark_in<'a>(ctx: &Ctx<'a>) -> Option<&'a str> {
    let entrypoint = ctx.obj.value["spec"]["entrypoint"].as_str().map(|e| e.split_whitespace().collect::<Vec<_>>());
    let commands: Vec<&[&'a str]> =
        ctx.pods.iter().flat_map(|p| p.containers.iter().map(words)).chain(entrypoint.as_deref()).collect();
    if commands.iter().any(|w| training_command(w).is_some()) {
        return None;
    }
    // Only program names count (a script, NCCL's `*_perf`, the command itself), not arguments
    // such as a dataset path `/data/benchmarks`.
    commands.iter().find_map(|cmd| {
        cmd.iter().enumerate().find_map(|(i, w)| {
            let prog = w.rsplit('/').next().unwrap_or(w).to_ascii_lowercase();
            let script = prog.strip_suffix(".py");
            let program = i == 0 || script.is_some();
            let named = prog.ends_with("_perf") || (program && script.unwrap_or(&prog).contains("benchmark"));
            (!w.starts_with('-') && !w.contains('=') && named).then_some(*w)
        })
    })
}

/// The distributed-training plugin of a Volcano job (`spec.plugins.pytorch`, `tensorflow`,
/// `mxnet`, `paddle`): Volcano sets up the job's ranks for that framework's trainer.
pub(crate) fn volcano_training_plugin(ctx: &Ctx<'_>) -> Option<&'static str> {
    if ctx.obj.kind != "Job" || !ctx.obj.api_version.starts_with("batch.volcano.sh/") {
        return None;
    }
    let plugins = &ctx.obj.value["spec"]["plugins"];
    ["pytorch", "tensorflow", "mxnet", "paddle"].into_iter().find(|p| !plugins[*p].is_null())
}

/// A deep-learning framework, as far as the manifest tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framework {
    PyTorch,
    TensorFlow,
    Jax,
    Paddle,
    MxNet,
    XGBoost,
}

impl Framework {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Framework::PyTorch => "PyTorch",
            Framework::TensorFlow => "TensorFlow",
            Framework::Jax => "JAX",
            Framework::Paddle => "PaddlePaddle",
            Framework::MxNet => "MXNet",
            Framework::XGBoost => "XGBoost",
        }
    }

    /// Whether its data loader hands batches from worker processes to the trainer through
    /// /dev/shm: PyTorch's DataLoader, Paddle's (`use_shared_memory`), MXNet Gluon's. tf.data,
    /// JAX input pipelines and XGBoost read data in-process.
    pub(crate) fn loader_uses_shm(self) -> bool {
        matches!(self, Framework::PyTorch | Framework::Paddle | Framework::MxNet)
    }
}

/// The framework the object runs: its training operator's kind, else words in the images and
/// commands of all its containers (a launcher names the program its workers run).
pub(crate) fn framework(ctx: &Ctx<'_>) -> Option<Framework> {
    let by_kind = match ctx.obj.kind {
        "PyTorchJob" => Some(Framework::PyTorch),
        "TFJob" => Some(Framework::TensorFlow),
        "JAXJob" => Some(Framework::Jax),
        "PaddleJob" => Some(Framework::Paddle),
        "MXJob" => Some(Framework::MxNet),
        "XGBoostJob" => Some(Framework::XGBoost),
        _ => None,
    };
    if by_kind.is_some() {
        return by_kind;
    }
    if ctx.obj.value["spec"]["mlPolicy"]["torch"].is_object() {
        return Some(Framework::PyTorch);
    }
    match volcano_training_plugin(ctx) {
        Some("pytorch") => return Some(Framework::PyTorch),
        Some("tensorflow") => return Some(Framework::TensorFlow),
        Some("mxnet") => return Some(Framework::MxNet),
        Some("paddle") => return Some(Framework::Paddle),
        _ => {}
    }
    let mut text = String::new();
    for c in ctx.pods.iter().flat_map(|p| p.containers.iter()) {
        text.push_str(c.fingerprint());
        text.push(' ');
    }
    text.push_str(&ctx.obj.value["spec"]["entrypoint"].as_str().unwrap_or("").to_ascii_lowercase());
    // PyTorch first: its launchers and images are the most common, and a PyTorch image may
    // mention TensorFlow's tensorboard.
    const WORDS: &[(&[&str], Framework)] = &[
        (
            &["torch", "deepspeed", "accelerate", "lightning", "megatron", "nemo", "tune run", "axolotl"],
            Framework::PyTorch,
        ),
        (&["paddle"], Framework::Paddle),
        (&["mxnet", "gluon"], Framework::MxNet),
        (&["tensorflow", "tf_cnn", "keras", "tf-gpu", "tf-benchmarks"], Framework::TensorFlow),
        (&["jax", "flax", "maxtext"], Framework::Jax),
        (&["xgboost"], Framework::XGBoost),
    ];
    WORDS.iter().find(|(ws, _)| ws.iter().any(|w| text.contains(w))).map(|(_, f)| *f)
}

/// The training launcher or script in a command line, if any.
pub(crate) fn training_command(words: &[&str]) -> Option<String> {
    for (i, w) in words.iter().enumerate() {
        let prog = w.rsplit('/').next().unwrap_or(w).to_ascii_lowercase();
        if TRAINING_WORDS.iter().any(|t| prog.strip_prefix(t).is_some_and(|r| r.is_empty() || r.starts_with('=')))
            || (prog == "-m" && words.get(i + 1).is_some_and(|m| m.starts_with("torch.distributed")))
        {
            return Some(if prog == "-m" { words[i + 1].to_owned() } else { prog });
        }
        if prog == "accelerate" && words.get(i + 1) == Some(&"launch") {
            return Some("accelerate launch".into());
        }
        if prog == "tune" && words.get(i + 1) == Some(&"run") {
            return Some("tune run (torchtune)".into());
        }
        // A training script: train.py, finetune_lora.py, pretrain_gpt.py, run_clm_train.py …
        if let Some(stem) = prog.strip_suffix(".py") {
            // `fine-tune-x.py` and `fine_tune_x.py` are the same name.
            let stem = stem.replace('-', "_");
            if ["train", "finetune", "fine_tune", "pretrain", "sft"].iter().any(|t| stem.contains(t)) {
                return Some(prog);
            }
        }
    }
    None
}

/// Volume sources that outlive the pod: claims, network filesystems, CSI drivers (gcsfuse,
/// s3 mountpoint, EFS, Lustre…), cloud disks, and the node's own disk.
const PERSISTENT_SOURCES: &[&str] = &[
    "persistentVolumeClaim",
    "nfs",
    "csi",
    "hostPath",
    "cephfs",
    "glusterfs",
    "iscsi",
    "rbd",
    "fc",
    "flexVolume",
    "awsElasticBlockStore",
    "gcePersistentDisk",
    "azureDisk",
    "azureFile",
    "cinder",
    "vsphereVolume",
    "portworxVolume",
    "quobyte",
    "storageos",
    "photonPersistentDisk",
    "scaleIO",
    "flocker",
];

/// The volume source key of a volume (`emptyDir`, `persistentVolumeClaim`…).
pub(crate) fn volume_source(v: &Value) -> &str {
    v.as_object().and_then(|m| m.keys().find(|k| *k != "name")).map_or("", String::as_str)
}

/// Whether a volume outlives the pod. A generic ephemeral volume is deleted with the pod.
pub(crate) fn is_persistent(v: &Value) -> bool {
    PERSISTENT_SOURCES.contains(&volume_source(v))
}

/// The names of the volumes the object's controller makes from claim templates, one
/// PersistentVolumeClaim per pod or per job: a StatefulSet's or LeaderWorkerSet's
/// `volumeClaimTemplates`, an Argo workflow's, a JobSet's (and a Trainer v2 runtime's)
/// `volumeClaimPolicies[].templates`. Containers mount them by name, with no entry in `volumes`.
pub(crate) fn claim_template_names<'a>(ctx: &Ctx<'a>) -> Vec<&'a str> {
    let spec = &ctx.obj.value["spec"];
    let templates = [
        &spec["volumeClaimTemplates"],
        &spec["workflowSpec"]["volumeClaimTemplates"],
        &spec["leaderWorkerTemplate"]["volumeClaimTemplates"],
    ]
    .into_iter()
    .flat_map(|t| t.as_array().into_iter().flatten());
    let policies = [&spec["volumeClaimPolicies"], &spec["template"]["spec"]["volumeClaimPolicies"]]
        .into_iter()
        .flat_map(|p| p.as_array().into_iter().flatten())
        .flat_map(|p| p["templates"].as_array().into_iter().flatten());
    templates.chain(policies).filter_map(|t| t["metadata"]["name"].as_str()).collect()
}

/// Whether the object keeps state through claim templates ([`claim_template_names`]).
pub(crate) fn has_claim_templates(ctx: &Ctx<'_>) -> bool {
    !claim_template_names(ctx).is_empty()
}

/// Whether a container of the pod mounts a volume made from a claim template.
pub(crate) fn mounts_claim_template(ctx: &Ctx<'_>, pod: &PodSpec<'_>) -> bool {
    let names = claim_template_names(ctx);
    !names.is_empty()
        && pod
            .containers
            .iter()
            .flat_map(Container::mounts)
            .any(|m| m["name"].as_str().is_some_and(|n| names.contains(&n) && pod.volume(n).is_none()))
}

/// The volume a path inside the container lives on: the mount with the longest mountPath that is
/// a prefix of `path`, and its volume (`None` for a volumeClaimTemplate or a missing volume).
pub(crate) fn volume_for_path<'a>(
    pod: &PodSpec<'a>,
    c: &Container<'a>,
    path: &str,
) -> Option<(&'a Value, Option<&'a Value>)> {
    let path = path.trim_end_matches('/');
    let mount = c
        .mounts()
        .filter(|m| {
            let mp = m["mountPath"].as_str().unwrap_or("").trim_end_matches('/');
            !mp.is_empty() && (path == mp || path.starts_with(&format!("{mp}/")))
        })
        .max_by_key(|m| m["mountPath"].as_str().map_or(0, str::len))?;
    let vol = mount["name"].as_str().and_then(|n| pod.volume(n));
    Some((mount, vol))
}

/// A model server the container runs, recognised by image or command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Vllm,
    Tgi,
    Sglang,
    /// NVIDIA NIM (`nvcr.io/nim/…` images, the NIM operator's NIMService): downloads its model
    /// (from NGC, or the hub for `hf://` models) into NIM_CACHE_PATH at start.
    Nim,
    /// Others that load a model at start (Triton, TorchServe, KServe's Hugging Face server,
    /// LMDeploy, TensorRT-LLM, Ollama…).
    Other,
}

impl Server {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Vllm => "vLLM",
            Server::Tgi => "TGI",
            Server::Sglang => "SGLang",
            Server::Nim => "NIM",
            Server::Other => "model server",
        }
    }

    /// Where it keeps the Hugging Face cache when nothing says otherwise.
    pub(crate) fn default_cache(self) -> &'static str {
        match self {
            Server::Tgi => "/data",
            Server::Nim => NIM_DEFAULT_CACHE,
            _ => "/root/.cache/huggingface",
        }
    }
}

/// The model server a container runs, if any: by image or command, or by the model format a
/// KServe predictor declares (`modelFormat: {name: huggingface}` runs KServe's Hugging Face
/// server, which needs no image in the manifest).
pub(crate) fn model_server(c: &Container<'_>) -> Option<Server> {
    match c.value["modelFormat"]["name"].as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("huggingface" | "triton" | "tensorrt" | "onnx" | "pytorch") => return Some(Server::Other),
        Some("vllm") => return Some(Server::Vllm),
        _ => {}
    }
    let fp = c.fingerprint();
    // NIM first: its multi-LLM images run vLLM or SGLang inside, but NIM decides the cache.
    if c.image().starts_with("nvcr.io/nim/") {
        return Some(Server::Nim);
    }
    if fp.contains("vllm") {
        Some(Server::Vllm)
    } else if fp.contains("text-generation-inference") || fp.contains("text-generation-launcher") || fp.contains("/tgi")
    {
        Some(Server::Tgi)
    } else if fp.contains("sglang") {
        Some(Server::Sglang)
    } else if [
        "tritonserver",
        "torchserve",
        "huggingfaceserver",
        "lmdeploy",
        "tensorrt-llm",
        "trtllm",
        "ollama",
        "llama.cpp",
        "llama-server",
        "text-embeddings-inference",
        "aphrodite",
        "lorax",
        "kserve/",
    ]
    .iter()
    .any(|s| fp.contains(s))
    {
        Some(Server::Other)
    } else {
        None
    }
}

/// The model a RayService's Ray Serve applications load, and the server, from `serveConfigV2`
/// (a YAML string): Ray Serve LLM's `llm_configs[].model_loading_config.model_source` (or
/// `model_id`), or a model variable (`MODEL_ID`, `HF_MODEL_ID`, `MODEL_NAME`) in an application's
/// `runtime_env.env_vars`. The server is vLLM (Ray Serve LLM runs it) unless the config names
/// another.
pub(crate) fn ray_serve_model(ctx: &Ctx<'_>) -> Option<(Server, String)> {
    if ctx.obj.kind != "RayService" {
        return None;
    }
    let text = ctx.obj.value["spec"]["serveConfigV2"].as_str()?;
    let (config, _) = crate::yaml::parse_value(text, "serveConfigV2", 1).ok()?;
    for app in config["applications"].as_array().into_iter().flatten() {
        let llm = app["args"]["llm_configs"].as_array().into_iter().flatten().find_map(|l| {
            let m = &l["model_loading_config"];
            m["model_source"].as_str().or_else(|| m["model_id"].as_str())
        });
        let env = &app["runtime_env"]["env_vars"];
        let model = llm.or_else(|| MODEL_ENVS.iter().find_map(|e| env[*e].as_str()));
        if let Some(model) = model.filter(|m| is_hub_model(m)) {
            let text = app.to_string().to_ascii_lowercase();
            let server = if text.contains("sglang") { Server::Sglang } else { Server::Vllm };
            return Some((server, model.to_owned()));
        }
    }
    None
}

/// Flags that name the model to serve, across servers.
const MODEL_FLAGS: &[&str] = &[
    "--model",
    "--model-id",
    "--model_id",
    "--model-path",
    "--model_path",
    "--model-name-or-path",
    "--model_name_or_path",
];
/// Environment variables that name the model (NIM's `NIM_MODEL_NAME`, `NIM_MODEL_PATH` take
/// `hf://org/name`, `ngc://…` or a local path).
const MODEL_ENVS: &[&str] =
    &["MODEL_ID", "HF_MODEL_ID", "MODEL_NAME", "MODEL_PATH", "NIM_MODEL_NAME", "NIM_MODEL_PATH"];

/// Where NIM keeps downloaded models when NIM_CACHE_PATH is not set.
pub(crate) const NIM_DEFAULT_CACHE: &str = "/opt/nim/.cache";

/// Whether the container is the server a NIM operator NIMService (or a NIMPipeline service)
/// describes: the operator sets its probes, model store and /dev/shm.
pub(crate) fn is_nim_service(ctx: &Ctx<'_>, pod: &PodSpec<'_>, c: &Container<'_>) -> bool {
    matches!(ctx.obj.kind, "NIMService" | "NIMPipeline") && c.path == pod.path
}

/// The NGC model a model-specific NIM image serves (`nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3`
/// serves `meta/llama-3.1-8b-instruct`, downloaded from NGC at start); `None` for other images
/// and for the model-free images (`llm-nim`, `nim-llm`) that take the model from NIM_MODEL_NAME.
pub(crate) fn nim_image_model(c: &Container<'_>) -> Option<String> {
    let rest = c.image().strip_prefix("nvcr.io/nim/")?;
    let repo = rest.split(['@', ':']).next().unwrap_or(rest);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    (!matches!(name, "llm-nim" | "nim-llm" | "llm")).then(|| repo.to_owned())
}

/// The value of `--flag X` or `--flag=X` in argv. Entries may also hold several words (shell
/// command strings such as `vllm serve x --port 8000`), so argv is split on whitespace first.
pub(crate) fn flag_value<'a>(words: &[&'a str], flags: &[&str]) -> Option<&'a str> {
    for (i, w) in words.iter().enumerate() {
        for f in flags {
            if w == f {
                return words.get(i + 1).copied();
            }
            if let Some(v) = w.strip_prefix(f).and_then(|r| r.strip_prefix('=')) {
                return Some(v);
            }
        }
    }
    None
}

/// Every whitespace-separated word of command and args (quotes stripped).
pub(crate) fn words<'c, 'a>(c: &'c Container<'a>) -> &'c [&'a str] {
    c.words()
}

/// The model a server loads: a flag, `vllm serve <model>`, or an environment variable.
/// A reference to an environment variable (`$(MODEL_ID)`, which the kubelet expands in command
/// and args, or `$MODEL_ID`/`${MODEL_ID}`, which the shell of `sh -c` does) is replaced by that
/// variable's literal value in the container's `env`; one whose value is not in the manifest
/// (a Secret, a ConfigMap) names no model.
pub(crate) fn model_id<'a>(c: &Container<'a>) -> Option<&'a str> {
    let w = words(c);
    flag_value(w, MODEL_FLAGS)
        .or_else(|| {
            w.iter().position(|x| *x == "serve").and_then(|i| w.get(i + 1).copied()).filter(|m| !m.starts_with('-'))
        })
        .or_else(|| MODEL_ENVS.iter().find_map(|e| c.env(e)))
        .and_then(|m| match env_reference(m) {
            Some(name) => c.env(name),
            None => Some(m),
        })
        .filter(|m| !m.is_empty() && !m.starts_with('$'))
}

/// The variable a whole word refers to: `$(NAME)`, `${NAME}` or `$NAME`.
fn env_reference(word: &str) -> Option<&str> {
    let rest = word.strip_prefix('$')?;
    let name = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')))
        .unwrap_or(rest);
    (!name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')).then_some(name)
}

/// Whether a model reference points at the Hugging Face hub (`org/name`, `hf://org/name`) rather
/// than a local path or object storage (`/models/x`, `s3://…`, `gs://…`, `pvc://…`). A bare name
/// (`my-model`) is more often a served name than a hub id, so it does not count.
pub(crate) fn is_hub_model(model: &str) -> bool {
    let id = model.strip_prefix("hf://").unwrap_or(model);
    !(id.starts_with(['/', '.', '~']) || id.contains("://") || id.contains(char::is_whitespace))
        && id.split('/').count() == 2
        && id.split('/').all(|p| !p.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hub_models() {
        assert!(is_hub_model("meta-llama/Llama-3.1-8B-Instruct"));
        assert!(is_hub_model("hf://Qwen/Qwen2.5-7B"));
        for local in ["/models/llama", "./m", "s3://b/m", "gs://b/m", "pvc://c/m", "my-model", "a/b/c", "$(MODEL)"] {
            assert!(!is_hub_model(local), "{local}");
        }
    }

    #[test]
    fn model_from_an_env_reference() {
        let v: Value = serde_json::from_str(
            r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
                {"name": "vllm", "image": "vllm/vllm-openai", "args": ["--model", "$(MODEL_ID)"],
                 "env": [{"name": "MODEL_ID", "value": "Qwen/Qwen2.5-7B-Instruct"}]},
                {"name": "sh", "image": "vllm/vllm-openai", "command": ["sh", "-c", "vllm serve ${MODEL} --port 8000"],
                 "env": [{"name": "MODEL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}"#,
        )
        .unwrap();
        let pods = crate::k8s::pod_specs(&crate::k8s::Object::new(&v).unwrap());
        assert_eq!(model_id(&pods[0].containers[0]), Some("Qwen/Qwen2.5-7B-Instruct"));
        // The value is in a Secret: no model is named in the manifest.
        assert_eq!(model_id(&pods[0].containers[1]), None);
        assert_eq!(env_reference("${MODEL}"), Some("MODEL"));
        assert_eq!(env_reference("$MODEL"), Some("MODEL"));
        assert_eq!(env_reference("$(A) b"), None);
        assert_eq!(env_reference("/models/x"), None);
    }

    #[test]
    fn flags() {
        let w = ["vllm", "serve", "x/y", "--download-dir=/cache", "--model", "m/n"];
        assert_eq!(flag_value(&w, &["--download-dir"]), Some("/cache"));
        assert_eq!(flag_value(&w, MODEL_FLAGS), Some("m/n"));
        assert_eq!(flag_value(&["--model-repository=/models"], MODEL_FLAGS), None);
    }

    #[test]
    fn persistent_volumes() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert!(is_persistent(&v(r#"{"name": "a", "persistentVolumeClaim": {"claimName": "c"}}"#)));
        assert!(is_persistent(&v(r#"{"csi": {"driver": "gcsfuse.csi.storage.gke.io"}, "name": "g"}"#)));
        assert!(!is_persistent(&v(r#"{"name": "e", "emptyDir": {}}"#)));
        assert!(!is_persistent(&v(r#"{"name": "e", "ephemeral": {"volumeClaimTemplate": {}}}"#)));
    }
}
