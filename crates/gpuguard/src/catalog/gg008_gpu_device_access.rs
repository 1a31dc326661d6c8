use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG008",
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
