//! GG008 at run time: the environment variables that decide which GPUs a process sees.
//! `NVIDIA_VISIBLE_DEVICES` and `NVIDIA_DRIVER_CAPABILITIES` are read by the NVIDIA container
//! runtime when the container starts; `CUDA_VISIBLE_DEVICES` by the CUDA runtime in the process.

use super::Host;
use crate::{Check, CheckStatus, Finding, Severity};

/// What `NVIDIA_VISIBLE_DEVICES` asks the container runtime for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvidiaVisible {
    /// Not set: a non-GPU image, or a runtime that does not use it.
    Unset,
    /// `void` or empty: the runtime injects nothing (no devices, no driver).
    Void,
    /// `none`: the driver libraries but no device.
    NoDevices,
    /// `all`.
    All,
    /// Indices, UUIDs or MIG ids.
    List(Vec<String>),
}

/// Parses `NVIDIA_VISIBLE_DEVICES`.
///
/// ```
/// use gpuguard::probe::gpu_env::{parse_nvidia_visible, NvidiaVisible};
/// assert_eq!(parse_nvidia_visible(Some("void")), NvidiaVisible::Void);
/// assert_eq!(parse_nvidia_visible(Some("0,GPU-abc")), NvidiaVisible::List(vec!["0".into(), "GPU-abc".into()]));
/// ```
pub fn parse_nvidia_visible(v: Option<&str>) -> NvidiaVisible {
    match v.map(str::trim) {
        None => NvidiaVisible::Unset,
        Some("" | "void") => NvidiaVisible::Void,
        Some("none") => NvidiaVisible::NoDevices,
        Some("all") => NvidiaVisible::All,
        Some(list) => {
            NvidiaVisible::List(list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        }
    }
}

/// What the CUDA runtime will make of `CUDA_VISIBLE_DEVICES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaVisible {
    /// The entries as written.
    pub entries: Vec<String>,
    /// How many of them CUDA will use: those before the first invalid entry.
    pub visible: usize,
    /// The first invalid entry and its 0-based position, if any.
    pub invalid: Option<(usize, String)>,
}

/// Applies CUDA's rule: entries are used in order up to the first invalid one (an index out of
/// range or repeated, a negative number, or something that is neither an index nor a `GPU-`/`MIG-`
/// id); that entry and all after it are hidden. `device_count` is the GPUs the process can reach,
/// when known.
///
/// ```
/// use gpuguard::probe::gpu_env::cuda_visible;
/// let v = cuda_visible("0,7,1", Some(2));
/// assert_eq!((v.visible, v.invalid), (1, Some((1, "7".to_owned()))));
/// assert_eq!(cuda_visible("", Some(8)).visible, 0);
/// ```
pub fn cuda_visible(value: &str, device_count: Option<usize>) -> CudaVisible {
    let entries: Vec<String> =
        if value.trim().is_empty() { vec![] } else { value.split(',').map(|s| s.trim().to_owned()).collect() };
    let mut seen = Vec::new();
    let mut invalid = None;
    for (i, e) in entries.iter().enumerate() {
        let ok = match e.parse::<i64>() {
            Ok(n) => n >= 0 && device_count.is_none_or(|c| (n as u64) < c as u64) && !seen.contains(&n),
            Err(_) => (e.starts_with("GPU-") || e.starts_with("MIG-")) && e.len() > 4,
        };
        if !ok {
            invalid = Some((i, e.clone()));
            break;
        }
        if let Ok(n) = e.parse::<i64>() {
            seen.push(n);
        }
    }
    let visible = invalid.as_ref().map_or(entries.len(), |(i, _)| *i);
    CudaVisible { entries, visible, invalid }
}

/// The variables that ask for GPUs, as `NAME=value` joined by `, `: `NVIDIA_VISIBLE_DEVICES`
/// naming devices (`all`, indices, UUIDs) and `CUDA_VISIBLE_DEVICES` listing at least one usable
/// entry. `None` when nothing asks, when `NVIDIA_VISIBLE_DEVICES` says `void`/`none` (that has
/// its own finding), or when the environment is not the inspected machine's
/// ([`Host::env_is_foreign`]).
///
/// ```
/// use gpuguard::probe::{Host, gpu_env::gpus_requested};
/// let host = Host::new("/").with_env([("NVIDIA_VISIBLE_DEVICES", "all"), ("CUDA_VISIBLE_DEVICES", "0,1")]);
/// assert_eq!(gpus_requested(&host).as_deref(), Some("NVIDIA_VISIBLE_DEVICES=all, CUDA_VISIBLE_DEVICES=0,1"));
/// assert_eq!(gpus_requested(&Host::new("/").with_env([("NVIDIA_VISIBLE_DEVICES", "void")])), None);
/// assert_eq!(gpus_requested(&Host::new("/").with_env([("CUDA_VISIBLE_DEVICES", "-1")])), None);
/// ```
pub fn gpus_requested(host: &Host) -> Option<String> {
    if host.env_is_foreign() {
        return None;
    }
    let nvd = host.var("NVIDIA_VISIBLE_DEVICES");
    let mut asks = Vec::new();
    match parse_nvidia_visible(nvd) {
        NvidiaVisible::Void | NvidiaVisible::NoDevices => return None,
        NvidiaVisible::All | NvidiaVisible::List(_) => asks.push(format!("NVIDIA_VISIBLE_DEVICES={}", nvd?.trim())),
        NvidiaVisible::Unset => {}
    }
    if let Some(cvd) = host.var("CUDA_VISIBLE_DEVICES").filter(|v| cuda_visible(v, None).visible > 0) {
        asks.push(format!("CUDA_VISIBLE_DEVICES={cvd}"));
    }
    (!asks.is_empty()).then(|| asks.join(", "))
}

const FIX_REQUEST: &str = "request the GPUs in the pod's resources.limits (nvidia.com/gpu) or run the container with --gpus; do not override NVIDIA_VISIBLE_DEVICES by hand";

/// Judges the three variables, given the GPUs the process can reach (`device_count`, from
/// /dev/nvidiaN or NVML) and how many it expects. `Some(0)`: no GPU reachable at all; the
/// CUDA_VISIBLE_DEVICES entries are then not judged one by one (the missing devices are the
/// gpu-devices check's finding, see [`gpus_requested`]). Skipped when the environment is the
/// calling process's while the files are a `--root` tree.
///
/// ```
/// use gpuguard::probe::{Host, gpu_env};
/// let host = Host::new("/").with_env([("CUDA_VISIBLE_DEVICES", "0,9,1")]);
/// let (check, findings) = gpu_env::check(&host, Some(2), Some(2));
/// assert_eq!(findings[0].rule, "GG008");
/// ```
pub fn check(host: &Host, device_count: Option<usize>, expect_gpus: Option<u32>) -> (Check, Vec<Finding>) {
    if host.env_is_foreign() {
        let why = "--root: this process's environment is not the inspected tree's; NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES not judged";
        return (Check::new("gpu-env", CheckStatus::Skipped, why), vec![]);
    }
    let mut findings = Vec::new();
    let mut seen = Vec::new();
    let want = expect_gpus.unwrap_or(0) as usize;
    let nvd = host.var("NVIDIA_VISIBLE_DEVICES");
    seen.push(format!("NVIDIA_VISIBLE_DEVICES={}", nvd.unwrap_or("(unset)")));
    if matches!(parse_nvidia_visible(nvd), NvidiaVisible::Void | NvidiaVisible::NoDevices) {
        let sev = if want > 0 { Severity::Error } else { Severity::Warning };
        findings.push(
            Finding::new(
                "GG008",
                sev,
                format!(
                    "NVIDIA_VISIBLE_DEVICES={:?}: the container runtime gave this container no GPU",
                    nvd.unwrap_or("")
                ),
                FIX_REQUEST,
            )
            .with_evidence("NVIDIA_VISIBLE_DEVICES", nvd.unwrap_or(""))
            .with_evidence("expected_gpus", want),
        );
    }
    if let Some(caps) = host.var("NVIDIA_DRIVER_CAPABILITIES").filter(|c| !c.trim().is_empty()) {
        seen.push(format!("NVIDIA_DRIVER_CAPABILITIES={caps}"));
        let has = |c: &str| caps.split(',').map(str::trim).any(|x| x == c || x == "all");
        for (cap, sev, what) in [
            ("compute", Severity::Error, "CUDA and OpenCL libraries are not mounted: CUDA will find no device"),
            (
                "utility",
                Severity::Warning,
                "nvidia-smi and NVML are not mounted: monitoring and health checks cannot see the GPU",
            ),
        ] {
            if !has(cap) {
                findings.push(
                    Finding::new(
                        "GG008",
                        sev,
                        format!("NVIDIA_DRIVER_CAPABILITIES={caps} lacks `{cap}`: {what}"),
                        "set NVIDIA_DRIVER_CAPABILITIES=compute,utility (or unset it for that default)",
                    )
                    .with_evidence("NVIDIA_DRIVER_CAPABILITIES", caps)
                    .with_evidence("missing", cap),
                );
            }
        }
    }
    if let Some(cvd) = host.var("CUDA_VISIBLE_DEVICES") {
        let v = cuda_visible(cvd, device_count);
        if device_count == Some(0) {
            seen.push(format!("CUDA_VISIBLE_DEVICES={cvd} (0 usable: no GPU device reachable, see gpu-devices)"));
        } else {
            seen.push(format!("CUDA_VISIBLE_DEVICES={cvd} ({} usable)", v.visible));
        }
        if device_count == Some(0) {
            // Every entry is out of range because there is no device at all: one cause, reported
            // once by the gpu-devices check.
        } else if let Some((pos, entry)) = &v.invalid {
            let hidden = &v.entries[*pos..];
            let sev = if hidden.len() > 1 || v.visible < want.max(1) { Severity::Error } else { Severity::Warning };
            findings.push(
                Finding::new(
                    "GG008",
                    sev,
                    format!(
                        "CUDA_VISIBLE_DEVICES={cvd}: entry {entry:?} is invalid{}, so CUDA ignores it and every entry after it ({}); {} GPU(s) remain",
                        device_count.map(|c| format!(" for {c} reachable GPU(s)")).unwrap_or_default(),
                        hidden.join(","),
                        v.visible
                    ),
                    "list only indices below the GPU count (or GPU-/MIG- UUIDs), each once; usually leave CUDA_VISIBLE_DEVICES unset inside a container",
                )
                .with_evidence("CUDA_VISIBLE_DEVICES", cvd)
                .with_evidence("invalid_entry", entry.as_str())
                .with_evidence("hidden_entries", hidden.to_vec())
                .with_evidence("visible", v.visible),
            );
        } else if v.visible < want {
            findings.push(
                Finding::new(
                    "GG008",
                    Severity::Error,
                    format!("CUDA_VISIBLE_DEVICES={cvd:?} leaves {} GPU(s) visible but {want} are expected", v.visible),
                    "unset CUDA_VISIBLE_DEVICES or list every GPU the job needs",
                )
                .with_evidence("CUDA_VISIBLE_DEVICES", cvd)
                .with_evidence("visible", v.visible)
                .with_evidence("expected_gpus", want),
            );
        }
    }
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new("gpu-env", status, seen.join(", ")), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)], count: Option<usize>, want: Option<u32>) -> Vec<Finding> {
        check(&Host::new("/").with_env(vars.iter().copied()), count, want).1
    }

    #[test]
    fn cuda_rule_invalid_hides_the_rest() {
        assert_eq!(cuda_visible("0,1", Some(2)).visible, 2);
        assert_eq!(cuda_visible("1,1", Some(2)).invalid, Some((1, "1".into())));
        assert_eq!(cuda_visible("-1", None).visible, 0);
        assert_eq!(cuda_visible("GPU-8a3c,0", Some(1)).visible, 2);
        assert_eq!(cuda_visible("gpu0,0", Some(1)).visible, 0);
        assert_eq!(cuda_visible("3", None).visible, 1, "unknown count: indices are not range-checked");
    }

    #[test]
    fn findings() {
        assert!(
            run(
                &[("NVIDIA_VISIBLE_DEVICES", "all"), ("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")],
                Some(8),
                Some(8)
            )
            .is_empty()
        );
        let f = run(&[("NVIDIA_VISIBLE_DEVICES", "void")], None, Some(1));
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(run(&[("NVIDIA_VISIBLE_DEVICES", "none")], None, None)[0].severity, Severity::Warning);
        let f = run(&[("NVIDIA_DRIVER_CAPABILITIES", "utility")], Some(1), None);
        assert_eq!((f.len(), f[0].evidence["missing"].as_str()), (1, Some("compute")));
        assert!(run(&[("NVIDIA_DRIVER_CAPABILITIES", "all")], Some(1), None).is_empty());
        let f = run(&[("CUDA_VISIBLE_DEVICES", "0,4,1,2")], Some(4), Some(4));
        assert_eq!(f[0].evidence["hidden_entries"], serde_json::json!(["4", "1", "2"]));
        assert_eq!(f[0].severity, Severity::Error);
        let f = run(&[("CUDA_VISIBLE_DEVICES", "")], Some(4), Some(1));
        assert_eq!(f[0].evidence["visible"], 0);
    }
}
