//! GG008 gpu-device-access: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a container that clearly uses the GPU (runs `nvidia-smi`, sets
//! `NVIDIA_VISIBLE_DEVICES` to GPUs, or runs a CUDA/ML image under the `nvidia` runtime class)
//! but asks for no `nvidia.com/gpu`. GPU infrastructure agents (device plugin, dcgm-exporter,
//! feature discovery, the GPU operator's validators) and other vendors' resources (`amd.com/gpu`)
//! are not findings, nor is a share of a GPU given by a GPU-sharing scheduler's annotation (KAI
//! Scheduler's and Run:ai's `gpu-fraction`/`gpu-memory`). Where the NVIDIA runtime would inject
//! GPUs itself (NVIDIA_VISIBLE_DEVICES set, or a CUDA image under the `nvidia` runtime class), the
//! message says the container sees GPUs outside the scheduler's count, not none.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG008.as_str(),
    slug: "gpu-device-access",
    title: "Containers that need a GPU but cannot see one",
    what: "torch.cuda.is_available() is False, nvidia-smi is not found or says \"No devices were \
           found\", and training silently runs on CPU at 1/50th of the speed, or crashes.",
    why: "A container sees GPUs only when the device plugin allocates them (`nvidia.com/gpu` in \
          limits) or the NVIDIA container runtime injects them (NVIDIA_VISIBLE_DEVICES). Without \
          the resource, /dev/nvidia* and the driver libraries are not mounted; \
          NVIDIA_VISIBLE_DEVICES=void or none hides them, and an invalid entry in \
          CUDA_VISIBLE_DEVICES hides every device after it.",
    fix: "Request `nvidia.com/gpu` in limits (Kubernetes) or run with `--gpus` (Docker); check \
          NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES; fail fast at startup with \
          `gpuguard.preflight(expect_gpus=N)`.",
    example: "containers:\n- name: train\n  image: nvcr.io/nvidia/pytorch:24.05-py3\n  # no nvidia.com/gpu limit",
    caught_by: &["manifest lint", "runtime probe (/dev/nvidia*, env, NVML)"],
    default_severity: Severity::Error,
};

/// Images that only make sense on a GPU, under the NVIDIA runtime.
#[cfg(feature = "lint")]
const CUDA_IMAGES: &[&str] =
    &["cuda", "pytorch", "vllm", "tritonserver", "tensorrt", "nvcr.io/nvidia", "text-generation-inference", "sglang"];

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        if facts::pod_requests_gpu(pod) {
            continue;
        }
        let runtime = pod.spec["runtimeClassName"].as_str().unwrap_or("");
        for c in &pod.containers {
            // A launcher's `mpirun … nvidia-smi` runs nvidia-smi on the workers, not in itself.
            if facts::is_gpu_agent(ctx, c) || facts::is_launcher(pod, c) {
                continue;
            }
            let fp = c.fingerprint();
            let visible =
                c.env("NVIDIA_VISIBLE_DEVICES").filter(|v| !matches!(*v, "" | "void" | "none" | "VOID" | "NONE"));
            let cuda_under_runtime = runtime.contains("nvidia") && CUDA_IMAGES.iter().any(|i| fp.contains(i));
            let evidence = if facts::words(c).iter().any(|w| w.ends_with("nvidia-smi")) {
                "runs nvidia-smi".to_owned()
            } else if let Some(v) = visible {
                format!("sets NVIDIA_VISIBLE_DEVICES={v}")
            } else if cuda_under_runtime {
                format!("runs {} under runtimeClassName {runtime}", c.image())
            } else {
                continue;
            };
            // NVIDIA_VISIBLE_DEVICES set by hand, or the `=all` CUDA images carry, under the NVIDIA
            // runtime: the runtime injects those GPUs itself, outside the device plugin's count.
            let injected = visible.is_some() || cuda_under_runtime;
            let (effect, fix) = if injected {
                (
                    "where the NVIDIA runtime honours NVIDIA_VISIBLE_DEVICES it sees GPUs the scheduler gave to other pods and competes with them unseen; elsewhere it sees none",
                    "add resources.limits.nvidia.com/gpu (the device plugin then picks the GPUs and sets NVIDIA_VISIBLE_DEVICES for it) rather than setting the variable by hand",
                )
            } else {
                (
                    "the scheduler gives it no GPU",
                    "add resources.limits.nvidia.com/gpu: 1 (or the MIG profile it needs)",
                )
            };
            let f = ctx.emit(
                RuleId::GG008,
                format!("container {} {evidence} but requests no nvidia.com/gpu: {effect}", c.name),
                fix.into(),
                Some(c),
                format!("{}.resources", c.path),
            );
            f.evidence.insert("gpu_use".into(), evidence.into());
            f.evidence.insert("runtime_class".into(), Some(runtime).filter(|r| !r.is_empty()).into());
            f.evidence.insert("runtime_injects_gpus".into(), injected.into());
        }
    }
}
