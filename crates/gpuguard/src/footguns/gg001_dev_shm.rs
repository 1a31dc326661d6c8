//! GG001 dev-shm: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a container that will use /dev/shm heavily with no Memory `emptyDir` there: PyTorch
//! DataLoader workers (a training launcher such as `torchrun`, `deepspeed`, `accelerate launch`,
//! `python train.py`, or a training operator's worker), NCCL between two or more GPUs in one pod
//! (tensor-parallel inference: vLLM, SGLang, TGI shards), or Ray's object store outside KubeRay.
//! A CPU-only launcher (MPI `Launcher`, `mpirun`, a parameter server without GPUs), a single-GPU
//! server, a smoke test or a GPU agent is not a finding, and neither is a container whose
//! operator mounts /dev/shm itself (KubeRay's Ray container, the NIM operator). Also: a
//! `sizeLimit` below what its DataLoader needs (annotations `gpuguard.io/dataloader-workers`,
//! `gpuguard.io/batch-bytes`, optionally `gpuguard.io/prefetch-factor`), or one that does not fit
//! in the memory limit.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::k8s::{Container, PodSpec};
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;
#[cfg(feature = "lint")]
use crate::math::quantity::human_bytes;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG001.as_str(),
    slug: "dev-shm",
    title: "/dev/shm too small for the DataLoader",
    what: "DataLoader workers die with \"Bus error\" or \"unable to write to file </torch_...>: \
           No space left on device\" / \"DataLoader worker (pid N) is killed by signal: Bus error\", \
           often hours into a run, when a bigger batch or one more worker tips the balance.",
    why: "The container runtime gives every container a 64 MiB (67,108,864 bytes) /dev/shm, and a \
          Kubernetes pod gets the same unless it mounts a Memory emptyDir there (KubeRay and the NIM \
          operator mount one themselves). PyTorch DataLoader workers pass every batch to \
          the main process through shared memory: with the default prefetch_factor of 2, up to \
          2 × num_workers batches wait in /dev/shm at once, plus the batch being consumed and the \
          one before it. Eight workers of 32 MiB image batches need about 600 MiB, ten times the \
          default. NCCL keeps its buffers there when two or more GPUs of one pod talk, so \
          tensor-parallel inference (vLLM, SGLang) needs it too, and Ray keeps its object store \
          there. tmpfs pages are charged to the container's memory cgroup, so the size must also \
          fit inside the memory limit.",
    fix: "Kubernetes: mount an emptyDir with `medium: Memory` at /dev/shm and a `sizeLimit` of at \
          least what `gpuguard.shm_recommended_size(...)` says (8Gi-16Gi is a safe start for image \
          training), and raise the memory limit by the same amount. Docker: `--shm-size=8g` or \
          `--ipc=host`. Or lower num_workers / prefetch_factor / batch size.",
    example: "containers:\n- name: train\n  image: pytorch/pytorch\n  command: [python, train.py, --workers=8]\n  # no emptyDir at /dev/shm: 64 MiB",
    caught_by: &["manifest lint", "runtime probe (/dev/shm free space)", "DataLoader check"],
    default_severity: Severity::Error,
};

/// The container runtime's default /dev/shm: 64 MiB.
#[cfg(feature = "lint")]
const DEFAULT_SHM_BYTES: u64 = 64 << 20;

/// Images that only smoke-test a GPU (no DataLoader, no NCCL).
#[cfg(feature = "lint")]
const SMOKE_TESTS: &[&str] =
    &["cuda-sample", "vectoradd", "nvidia-smi", "gpu-burn", "dcgmproftester", "cuda-vector-add"];

#[cfg(feature = "lint")]
const ANN_WORKERS: &str = "gpuguard.io/dataloader-workers";
#[cfg(feature = "lint")]
const ANN_BATCH: &str = "gpuguard.io/batch-bytes";
#[cfg(feature = "lint")]
const ANN_PREFETCH: &str = "gpuguard.io/prefetch-factor";

/// Why a container uses /dev/shm heavily.
#[cfg(feature = "lint")]
enum ShmUse {
    /// Data loader workers of a training job: how training was recognised, and the framework
    /// when the manifest tells (`None`: not told, PyTorch's DataLoader being the common case).
    DataLoader(String, Option<facts::Framework>),
    /// NCCL and the server's worker processes between GPUs of one pod.
    Nccl { gpus: f64, server: Option<&'static str> },
    /// Ray's object store.
    Ray,
}

#[cfg(feature = "lint")]
impl ShmUse {
    /// The finding's message: who, why it needs /dev/shm, and what it gets.
    /// Who uses /dev/shm and why, for the messages.
    fn who_and_why(&self, c: &Container<'_>) -> (String, String) {
        match self {
            ShmUse::DataLoader(how, Some(fw)) => (
                format!("training container {}", c.name),
                format!("its {} DataLoader workers pass every batch through /dev/shm (training: {how})", fw.name()),
            ),
            ShmUse::DataLoader(how, None) => (
                format!("training container {}", c.name),
                format!(
                    "its data loader worker processes (PyTorch's DataLoader and the like) pass every batch through /dev/shm (training: {how})"
                ),
            ),
            ShmUse::Nccl { gpus, server: Some(s) } => (
                format!("{s} container {} on {gpus} GPUs", c.name),
                format!("tensor parallelism puts NCCL's buffers and {s}'s worker traffic in /dev/shm"),
            ),
            ShmUse::Nccl { gpus, server: None } => {
                (format!("container {} on {gpus} GPUs", c.name), "NCCL keeps its buffers in /dev/shm".to_owned())
            }
            ShmUse::Ray => (format!("Ray container {}", c.name), "Ray keeps its object store in /dev/shm".to_owned()),
        }
    }

    fn message(&self, c: &Container<'_>) -> String {
        let (who, why) = self.who_and_why(c);
        format!("{who} has no Memory emptyDir at /dev/shm and gets the container runtime's 64 MiB default, but {why}")
    }

    fn fix(&self) -> &'static str {
        match self {
            ShmUse::DataLoader(..) => {
                "mount an emptyDir with medium: Memory and a sizeLimit at /dev/shm (`gpuguard shm` sizes it from the DataLoader's workers and batch size; 8Gi-16Gi is a common start for image training), and raise the memory limit by as much"
            }
            ShmUse::Nccl { server: Some(_), .. } => {
                "mount an emptyDir with medium: Memory at /dev/shm for NCCL and the inference server's worker processes (a sizeLimit of a few GiB, e.g. 4Gi-16Gi for tensor parallelism), and raise the memory limit by as much"
            }
            ShmUse::Nccl { server: None, .. } => {
                "mount an emptyDir with medium: Memory at /dev/shm for NCCL's buffers (a sizeLimit of a few GiB), and raise the memory limit by as much"
            }
            ShmUse::Ray => {
                "mount an emptyDir with medium: Memory at /dev/shm sized for Ray's object store (Ray takes 30% of the memory by default), or run Ray under KubeRay, which mounts it"
            }
        }
    }

    fn evidence(&self) -> &'static str {
        match self {
            ShmUse::DataLoader(..) => "dataloader",
            ShmUse::Nccl { .. } => "nccl",
            ShmUse::Ray => "ray-object-store",
        }
    }
}

/// Whether the command runs the data loader with 0 workers (`--num-workers 0`,
/// `--num_workers=0`, `--workers 0`, `--dataloader-num-workers 0`, a Hydra override
/// `dataloader.num_workers=0`, `num_workers: 0`): the main process then loads every batch itself
/// and none crosses /dev/shm.
#[cfg(feature = "lint")]
fn zero_workers_in(words: &[&str]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        let flag = w.starts_with("--");
        let (key, value) = match w.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (*w, words.get(i + 1).copied()),
        };
        let key = key.trim_start_matches('-').trim_end_matches(':').replace('-', "_");
        let last = key.rsplit('.').next().unwrap_or("");
        let named = matches!(last, "num_workers" | "dataloader_num_workers") || (flag && last == "workers");
        named && value.is_some_and(|v| v.trim_matches(|c| c == '"' || c == '\'') == "0")
    })
}

/// Whether the pod says its DataLoader has 0 workers: the `gpuguard.io/dataloader-workers: "0"`
/// annotation (on the pod template or the object) or the container's command.
#[cfg(feature = "lint")]
fn zero_workers(ctx: &Ctx<'_>, pod: &PodSpec<'_>, c: &Container<'_>) -> bool {
    let told = pod.annotation(ANN_WORKERS).or_else(|| ctx.obj.annotation(ANN_WORKERS));
    match told.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(n) => n == 0,
        None => zero_workers_in(facts::words(c)),
    }
}

/// Whether and why the container uses /dev/shm heavily. `no_workers`: its DataLoader has 0
/// workers, so only NCCL or Ray can still make it a heavy user.
#[cfg(feature = "lint")]
fn shm_use(
    pod: &PodSpec<'_>,
    c: &Container<'_>,
    training: Option<&String>,
    framework: Option<facts::Framework>,
    no_workers: bool,
) -> Option<ShmUse> {
    if c.init || facts::is_launcher(pod, c) {
        return None;
    }
    let gpu = c.requests_gpu();
    let server = facts::model_server(c);
    // tf.data, JAX and XGBoost load data in-process: no DataLoader traffic through /dev/shm.
    if let (Some(how), true, false) = (training, framework.is_none_or(facts::Framework::loader_uses_shm), no_workers) {
        // DataLoader workers: a GPU trainer, or a torch launcher even without a GPU request.
        let torch_launcher = facts::training_command(facts::words(c)).is_some();
        if server.is_none() && (gpu || torch_launcher) {
            return Some(ShmUse::DataLoader(how.clone(), framework));
        }
    }
    let gpus = facts::pod_gpus(pod);
    if gpu && gpus >= 2.0 {
        return Some(ShmUse::Nccl { gpus, server: server.map(facts::Server::name) });
    }
    let w = facts::words(c);
    if w.windows(2).any(|p| p[0].ends_with("ray") && p[1] == "start") {
        return Some(ShmUse::Ray);
    }
    None
}

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        if pod.spec["hostIPC"].as_bool() == Some(true) || !pod.complete {
            continue;
        }
        let training = facts::training_evidence(ctx, pod);
        let framework = facts::framework(ctx);
        for c in pod.containers.iter().filter(|c| !c.init) {
            if c.shm_by_operator
                || {
                    let fp = c.fingerprint();
                    SMOKE_TESTS.iter().any(|s| fp.contains(s))
                }
                || facts::is_gpu_agent(ctx, c)
            {
                continue;
            }
            let Some(mount) = c.mount_at("/dev/shm") else {
                let Some(usage) = shm_use(pod, c, training.as_ref(), framework, zero_workers(ctx, pod, c)) else {
                    continue;
                };
                let f = ctx.emit(
                    RuleId::GG001,
                    usage.message(c),
                    usage.fix().into(),
                    Some(c),
                    format!("{}.volumeMounts", c.path),
                );
                f.evidence.insert("shm_bytes".into(), DEFAULT_SHM_BYTES.into());
                f.evidence.insert("shm_use".into(), usage.evidence().into());
                if let ShmUse::DataLoader(how, fw) = &usage {
                    f.evidence.insert("training_recognised_by".into(), how.clone().into());
                    f.evidence.insert("framework".into(), fw.map(facts::Framework::name).into());
                }
                if let ShmUse::Nccl { gpus, .. } = &usage {
                    f.evidence.insert("pod_gpus".into(), (*gpus).into());
                }
                continue;
            };
            let Some(vol) = mount["name"].as_str().and_then(|n| pod.volume(n)) else { continue };
            let size_path = match pod.spec["volumes"].as_array().and_then(|a| a.iter().position(|v| v == vol)) {
                Some(i) => format!("{}.volumes[{i}].emptyDir.sizeLimit", pod.path),
                None => format!("{}.volumeMounts", c.path),
            };
            let size_limit = crate::k8s::scalar_text(&vol["emptyDir"]["sizeLimit"]);
            let size_bytes = size_limit.as_deref().and_then(bytes_of);
            let memory_limit = crate::k8s::scalar_text(&c.value["resources"]["limits"]["memory"]);
            let memory_bytes = memory_limit.as_deref().and_then(bytes_of);
            // What the DataLoader needs, when the pod says how it loads data.
            let ann =
                |k| pod.annotation(k).or_else(|| ctx.obj.annotation(k)).and_then(|v| v.trim().parse::<u64>().ok());
            let batch = pod.annotation(ANN_BATCH).or_else(|| ctx.obj.annotation(ANN_BATCH)).and_then(bytes_of);
            let mut judged_by_loader = false;
            if let (Some(workers), Some(batch), Some(size)) = (ann(ANN_WORKERS), batch, size_bytes) {
                let prefetch = ann(ANN_PREFETCH).unwrap_or(2);
                if let Ok(rec) = crate::shm_recommended_size(workers, batch, prefetch, 1, 1, memory_bytes) {
                    judged_by_loader = true;
                    if size < rec.required_bytes {
                        let sl = size_limit.clone().unwrap_or_default();
                        ctx.emit(
                            RuleId::GG001,
                            format!(
                                "/dev/shm sizeLimit {sl} of container {} is below the {} its DataLoader needs ({workers} workers, {} batches)",
                                c.name, human_bytes(rec.required_bytes), human_bytes(batch)
                            ),
                            format!("set sizeLimit to at least {}: {}", rec.quantity, rec.reasoning),
                            Some(c),
                            size_path.clone(),
                        )
                        .evidence
                        .extend([
                            ("size_limit_bytes".to_owned(), size.into()),
                            ("required_bytes".to_owned(), rec.required_bytes.into()),
                            ("recommended".to_owned(), rec.quantity.clone().into()),
                            ("num_workers".to_owned(), workers.into()),
                            ("batch_bytes".to_owned(), batch.into()),
                            ("prefetch_factor".to_owned(), prefetch.into()),
                        ]);
                    }
                }
            }
            // Without the loader's numbers, a mount no bigger than the runtime's 64 MiB default
            // fixes nothing for a workload that uses /dev/shm heavily (a 32Mi "dshm" is worse).
            if let (false, Some(size)) = (judged_by_loader, size_bytes)
                && size <= DEFAULT_SHM_BYTES
                && let Some(usage) = shm_use(pod, c, training.as_ref(), framework, zero_workers(ctx, pod, c))
            {
                let sl = size_limit.clone().unwrap_or_default();
                let (who, why) = usage.who_and_why(c);
                let f = ctx.emit(
                    RuleId::GG001,
                    format!("{who} mounts a /dev/shm of {sl}, no larger than the container runtime's 64 MiB default, but {why}"),
                    "raise this emptyDir's sizeLimit well above 64Mi (`gpuguard shm --workers N --batch-bytes B` sizes it for a DataLoader; a few GiB is a common start) and the memory limit by as much".into(),
                    Some(c),
                    size_path.clone(),
                );
                f.evidence.insert("size_limit_bytes".into(), size.into());
                f.evidence.insert("shm_bytes".into(), DEFAULT_SHM_BYTES.into());
                f.evidence.insert("shm_use".into(), usage.evidence().into());
            }
            if let (Some(size), Some(mem)) = (size_bytes, memory_bytes) {
                if size >= mem {
                    ctx.emit(
                        RuleId::GG001,
                        format!(
                            "/dev/shm sizeLimit {} of container {} does not fit in its memory limit {}: tmpfs pages count against it",
                            size_limit.unwrap_or_default(), c.name, memory_limit.unwrap_or_default()
                        ),
                        "raise resources.limits.memory above the sizeLimit plus what the process itself uses".into(),
                        Some(c),
                        size_path,
                    )
                    .evidence
                    .extend([("size_limit_bytes".to_owned(), size.into()), ("memory_limit_bytes".to_owned(), mem.into())]);
                }
            }
        }
    }
}

/// Bytes of a quantity (`8Gi`, `"1073741824"`).
#[cfg(feature = "lint")]
pub(crate) fn bytes_of(q: &str) -> Option<u64> {
    crate::Quantity::parse(q.trim()).ok()?.to_bytes().and_then(|b| u64::try_from(b).ok())
}

#[cfg(all(test, feature = "lint"))]
mod tests {
    use super::zero_workers_in;

    #[test]
    fn zero_workers_is_read_from_the_command() {
        for cmd in [
            "python train.py --num-workers 0",
            "python train.py --num_workers=0",
            "torchrun train.py --workers 0",
            "python run.py --dataloader_num_workers 0",
            "python run.py --dataloader-num-workers=0",
            "python train.py dataloader.num_workers=0",
            "python train.py num_workers: 0",
        ] {
            assert!(zero_workers_in(&cmd.split_whitespace().collect::<Vec<_>>()), "{cmd}");
        }
        for cmd in [
            "python train.py --num-workers 8",
            "python train.py --num-workers 0.5",
            "python train.py workers 0",
            "python train.py --gpus 0 --num-workers 4",
            "gunicorn --workers 10",
        ] {
            assert!(!zero_workers_in(&cmd.split_whitespace().collect::<Vec<_>>()), "{cmd}");
        }
    }
}
