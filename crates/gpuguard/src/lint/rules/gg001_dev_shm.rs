//! GG001 dev-shm.
//!
//! **What**: a PyTorch or GPU training/serving container with no Memory `emptyDir` at `/dev/shm`;
//! a `sizeLimit` below what its DataLoader needs (when the pod says so with the annotations
//! `gpuguard.io/dataloader-workers` and `gpuguard.io/batch-bytes`, optionally
//! `gpuguard.io/prefetch-factor`); a `sizeLimit` that does not fit in the memory limit.
//!
//! **Why**: Docker and Kubernetes give a container 64 MB of /dev/shm. DataLoader workers pass every
//! batch through it, NCCL puts its buffers there, and vLLM's tensor parallel workers use it; the
//! job dies with "Bus error" hours in. tmpfs pages count against the memory limit.
//!
//! **Example**: `containers: [{name: train, image: pytorch/pytorch, resources: {limits: {nvidia.com/gpu: 1}}}]`
//!
//! **Fix**: `volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}]` and
//! `volumeMounts: [{name: dshm, mountPath: /dev/shm}]`; raise the memory limit by as much.
//! `hostIPC: true` (the node's /dev/shm) is not a finding.

use super::super::Ctx;
use crate::math::quantity::human_bytes;

/// Image/command fragments of PyTorch-based work that uses /dev/shm even without a GPU request.
const TORCH_HINTS: &[&str] =
    &["pytorch", "torch", "vllm", "sglang", "deepspeed", "megatron", "nemo", "accelerate launch", "lightning"];

/// Images that only smoke-test a GPU (no DataLoader, no NCCL).
const SMOKE_TESTS: &[&str] =
    &["cuda-sample", "vectoradd", "nvidia-smi", "gpu-burn", "dcgmproftester", "cuda-vector-add"];

const ANN_WORKERS: &str = "gpuguard.io/dataloader-workers";
const ANN_BATCH: &str = "gpuguard.io/batch-bytes";
const ANN_PREFETCH: &str = "gpuguard.io/prefetch-factor";

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for pi in 0..ctx.pods.len() {
        let pod = ctx.pods[pi].clone();
        if pod.spec["hostIPC"].as_bool() == Some(true) {
            continue;
        }
        for c in pod.containers.iter().filter(|c| !c.init) {
            let fp = c.fingerprint();
            let gpu = c.requests_gpu();
            let torch = TORCH_HINTS.iter().any(|h| fp.contains(h));
            if !(gpu || torch) || SMOKE_TESTS.iter().any(|s| fp.contains(s)) || super::is_gpu_agent(ctx, c) {
                continue;
            }
            let Some(mount) = c.mount_at("/dev/shm") else {
                let what = if gpu { "GPU" } else { "PyTorch" };
                ctx.emit(
                    "GG001",
                    format!("{what} container {} has no Memory emptyDir at /dev/shm: it gets the 64 MB default", c.name),
                    "mount an emptyDir with medium: Memory and a sizeLimit (8Gi-16Gi for image training) at /dev/shm, and raise the memory limit by as much".into(),
                    Some(c),
                    format!("{}.volumeMounts", c.path),
                )
                .evidence
                .insert("shm_bytes".into(), 64_000_000u64.into());
                continue;
            };
            let Some(vol) = mount["name"].as_str().and_then(|n| pod.volume(n)) else { continue };
            let vol_index = pod.spec["volumes"].as_array().and_then(|a| a.iter().position(|v| v == vol)).unwrap_or(0);
            let size_path = format!("{}.volumes[{vol_index}].emptyDir.sizeLimit", pod.path);
            let size_limit = crate::k8s::scalar_text(&vol["emptyDir"]["sizeLimit"]);
            let size_bytes = size_limit.as_deref().and_then(bytes_of);
            let memory_limit = crate::k8s::scalar_text(&c.value["resources"]["limits"]["memory"]);
            let memory_bytes = memory_limit.as_deref().and_then(bytes_of);
            // What the DataLoader needs, when the pod says how it loads data.
            let ann =
                |k| pod.annotation(k).or_else(|| ctx.obj.annotation(k)).and_then(|v| v.trim().parse::<u64>().ok());
            let batch = pod.annotation(ANN_BATCH).or_else(|| ctx.obj.annotation(ANN_BATCH)).and_then(bytes_of);
            if let (Some(workers), Some(batch), Some(size)) = (ann(ANN_WORKERS), batch, size_bytes) {
                let prefetch = ann(ANN_PREFETCH).unwrap_or(2);
                if let Ok(rec) = crate::shm_recommended_size(workers, batch, prefetch, 1, 1, memory_bytes) {
                    if size < rec.required_bytes {
                        let sl = size_limit.clone().unwrap_or_default();
                        ctx.emit(
                            "GG001",
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
            if let (Some(size), Some(mem)) = (size_bytes, memory_bytes) {
                if size >= mem {
                    ctx.emit(
                        "GG001",
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
pub(super) fn bytes_of(q: &str) -> Option<u64> {
    crate::Quantity::parse(q.trim()).ok()?.to_bytes().and_then(|b| u64::try_from(b).ok())
}
