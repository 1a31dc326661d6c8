//! GG008 gpu-device-access.
//!
//! **What**: a container that clearly uses the GPU (runs `nvidia-smi`, sets
//! `NVIDIA_VISIBLE_DEVICES` to GPUs, or runs a CUDA/ML image under the `nvidia` runtime class)
//! but asks for no `nvidia.com/gpu`. GPU infrastructure agents (device plugin, dcgm-exporter,
//! feature discovery, the GPU operator's validators) and other vendors' resources (`amd.com/gpu`)
//! are not findings.
//!
//! **Why**: without the resource the scheduler does not give the pod a GPU: it fails with "no CUDA
//! device", or, with `NVIDIA_VISIBLE_DEVICES=all` under the NVIDIA runtime, silently uses GPUs
//! the scheduler gave to other pods.
//!
//! **Example**: `command: [nvidia-smi]` with no `resources.limits`.
//!
//! **Fix**: `resources: {limits: {nvidia.com/gpu: 1}}`.

use super::super::Ctx;

/// Images that only make sense on a GPU, under the NVIDIA runtime.
const CUDA_IMAGES: &[&str] =
    &["cuda", "pytorch", "vllm", "tritonserver", "tensorrt", "nvcr.io/nvidia", "text-generation-inference", "sglang"];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for pod in ctx.pods.clone() {
        if super::pod_requests_gpu(&pod) {
            continue;
        }
        let runtime = pod.spec["runtimeClassName"].as_str().unwrap_or("");
        for c in &pod.containers {
            if super::is_gpu_agent(ctx, c) {
                continue;
            }
            let fp = c.fingerprint();
            let visible =
                c.env("NVIDIA_VISIBLE_DEVICES").filter(|v| !matches!(*v, "" | "void" | "none" | "VOID" | "NONE"));
            let evidence = if super::words(c).iter().any(|w| w.ends_with("nvidia-smi")) {
                "runs nvidia-smi".to_owned()
            } else if let Some(v) = visible {
                format!("sets NVIDIA_VISIBLE_DEVICES={v}")
            } else if runtime.contains("nvidia") && CUDA_IMAGES.iter().any(|i| fp.contains(i)) {
                format!("runs {} under runtimeClassName {runtime}", c.image())
            } else {
                continue;
            };
            let f = ctx.emit(
                "GG008",
                format!(
                    "container {} {evidence} but requests no nvidia.com/gpu: the scheduler gives it no GPU",
                    c.name
                ),
                "add resources.limits.nvidia.com/gpu: 1 (or the MIG profile it needs)".into(),
                Some(c),
                format!("{}.resources", c.path),
            );
            f.evidence.insert("gpu_use".into(), evidence.into());
            f.evidence.insert("runtime_class".into(), Some(runtime).filter(|r| !r.is_empty()).into());
        }
    }
}
