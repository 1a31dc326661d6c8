//! GG008 at run time: can this process see the NVIDIA device nodes?

use super::Host;
use crate::{Check, CheckStatus, Finding, Severity};

/// The GPU device nodes (`/dev/nvidia0`…) and whether `/dev/nvidiactl` exists.
///
/// ```
/// let (ctl, gpus) = gpuguard::probe::gpu_devices::device_nodes(&gpuguard::probe::Host::new("/nonexistent"));
/// assert!(!ctl && gpus.is_empty());
/// ```
pub fn device_nodes(host: &Host) -> (bool, Vec<u32>) {
    let ctl = host.path("/dev/nvidiactl").exists();
    let mut gpus: Vec<u32> = std::fs::read_dir(host.path("/dev"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("nvidia")?.parse().ok())
        .collect();
    gpus.sort_unstable();
    (ctl, gpus)
}

/// Whether `/dev/nvidia-uvm` exists (CUDA needs it for unified memory; it appears when the
/// nvidia-uvm module is loaded).
///
/// ```
/// assert!(!gpuguard::probe::gpu_devices::uvm_present(&gpuguard::probe::Host::new("/nonexistent")));
/// ```
pub fn uvm_present(host: &Host) -> bool {
    host.path("/dev/nvidia-uvm").exists()
}

/// Checks the device nodes against `expect_gpus` (when the caller knows how many it asked for).
///
/// ```
/// use gpuguard::probe::{Host, gpu_devices};
/// let (check, findings) = gpu_devices::check(&Host::new("/nonexistent"), Some(1));
/// assert_eq!(findings[0].rule, "GG008");
/// let (check, findings) = gpu_devices::check(&Host::new("/nonexistent"), None);
/// assert!(findings.is_empty());
/// ```
pub fn check(host: &Host, expect_gpus: Option<u32>) -> (Check, Vec<Finding>) {
    let (ctl, gpus) = device_nodes(host);
    judge(ctl, uvm_present(host), &gpus, expect_gpus)
}

/// The verdict for device nodes already listed by [`device_nodes`].
///
/// ```
/// let (_, findings) = gpuguard::probe::gpu_devices::judge(true, true, &[0, 1], Some(2));
/// assert!(findings.is_empty());
/// ```
pub fn judge(ctl: bool, uvm: bool, gpus: &[u32], expect_gpus: Option<u32>) -> (Check, Vec<Finding>) {
    let seen = format!(
        "/dev/nvidiactl {}, /dev/nvidia-uvm {}, {} /dev/nvidiaN node(s)",
        if ctl { "present" } else { "absent" },
        if uvm { "present" } else { "absent" },
        gpus.len()
    );
    match expect_gpus {
        Some(want) if (gpus.len() as u32) < want || (want > 0 && !ctl) => {
            let f = Finding::new(
                "GG008",
                Severity::Error,
                format!("expected {want} GPU(s) but this process sees {} GPU device node(s) ({seen})", gpus.len()),
                "request nvidia.com/gpu in the container's limits (Kubernetes) or run with --gpus (Docker); check NVIDIA_VISIBLE_DEVICES",
            )
            .with_path("/dev")
            .with_evidence("expected_gpus", want)
            .with_evidence("device_nodes", gpus.len())
            .with_evidence("nvidiactl", ctl);
            (Check::new("gpu-devices", CheckStatus::Finding, seen), vec![f])
        }
        _ if !gpus.is_empty() && !uvm => {
            let f = Finding::new(
                "GG008",
                Severity::Error,
                format!("{} GPU device node(s) but no /dev/nvidia-uvm: CUDA initialisation will fail", gpus.len()),
                "load the nvidia-uvm module on the node (nvidia-modprobe -u -c=0, or modprobe nvidia-uvm) before the container starts",
            )
            .with_path("/dev/nvidia-uvm")
            .with_evidence("device_nodes", gpus.len());
            (Check::new("gpu-devices", CheckStatus::Finding, seen), vec![f])
        }
        _ => (Check::new("gpu-devices", CheckStatus::Ok, seen), vec![]),
    }
}

/// GG008 for an environment that asks for GPUs (`requested`, from
/// [`super::gpu_env::gpus_requested`]) while no `/dev/nvidiaN` node exists: the container was
/// started without the NVIDIA runtime or without a GPU request, so CUDA will find no device.
///
/// ```
/// let f = gpuguard::probe::gpu_devices::requested_without_nodes("NVIDIA_VISIBLE_DEVICES=all", false);
/// assert_eq!((f.rule.as_str(), f.severity), ("GG008", gpuguard::Severity::Error));
/// assert!(f.message.contains("NVIDIA_VISIBLE_DEVICES=all"));
/// ```
pub fn requested_without_nodes(requested: &str, ctl: bool) -> Finding {
    Finding::new(
        "GG008",
        Severity::Error,
        format!(
            "{requested} asks for GPUs but no /dev/nvidia[0-9]* device node exists (/dev/nvidiactl {}): the container runs without the NVIDIA runtime or without a GPU request, so CUDA will find no device",
            if ctl { "present" } else { "absent" }
        ),
        "Docker: docker run --gpus all (or --runtime=nvidia with the NVIDIA Container Toolkit); Kubernetes: set resources.limits nvidia.com/gpu on the container, and runtimeClassName: nvidia where the NVIDIA runtime is not the node's default",
    )
    .with_path("/dev")
    .with_evidence("requested_by", requested)
    .with_evidence("device_nodes", 0)
    .with_evidence("nvidiactl", ctl)
}
