//! GG008 at run time: can this process see the NVIDIA device nodes?

use super::Host;
use crate::{Check, CheckStatus, Finding, Severity};

/// The GPU device nodes (`/dev/nvidia0`…) and whether `/dev/nvidiactl` exists.
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
    let seen = format!("/dev/nvidiactl {}, {} /dev/nvidiaN node(s)", if ctl { "present" } else { "absent" }, gpus.len());
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
        _ => (Check::new("gpu-devices", CheckStatus::Ok, seen), vec![]),
    }
}
