//! GG004, GG005 and GG008 through NVML, loaded at run time with `nvml-wrapper` (no link-time
//! dependency on the NVIDIA driver): devices, MIG mode, ECC counters, retired pages, remapped rows,
//! processes per GPU, driver and CUDA versions; the PCIe link under load, memory held by no
//! process and hardware clock throttling (GG005). No library is a skip, never a failure.

use crate::{Check, CheckStatus, Finding, Severity};
use std::ffi::OsStr;

/// The library name the NVIDIA driver installs (found through the dynamic loader's search path).
pub const DEFAULT_LIBRARY: &str = "libnvidia-ml.so.1";

/// Row remapping state (A100 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemappedRows {
    /// Rows remapped for correctable errors.
    pub correctable: u32,
    /// Rows remapped for uncorrectable errors.
    pub uncorrectable: u32,
    /// A remap waits for a GPU reset.
    pub pending: bool,
    /// A remap failed: the GPU needs replacing.
    pub failure: bool,
}

/// What NVML says about one GPU; `None` where the GPU does not support the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuInfo {
    /// NVML index.
    pub index: u32,
    /// Product name.
    pub name: String,
    /// `GPU-…` UUID.
    pub uuid: String,
    /// PCI bus id (`00000000:3B:00.0`).
    pub pci_bus_id: String,
    /// PCI device id with vendor (`0x233010DE`).
    pub pci_device_id: u32,
    /// MIG mode now.
    pub mig_enabled: Option<bool>,
    /// MIG mode after the next reset.
    pub mig_pending: Option<bool>,
    /// Corrected (single-bit) ECC errors since the driver loaded: a climbing rate warns of a
    /// failure to come.
    pub ecc_volatile_corrected: Option<u64>,
    /// Corrected ECC errors over the GPU's life.
    pub ecc_aggregate_corrected: Option<u64>,
    /// Uncorrectable (double-bit) ECC errors since the driver loaded.
    pub ecc_volatile_uncorrected: Option<u64>,
    /// Uncorrectable ECC errors over the GPU's life.
    pub ecc_aggregate_uncorrected: Option<u64>,
    /// Pages retired for multiple single-bit errors.
    pub retired_pages_sbe: Option<u64>,
    /// Pages retired for a double-bit error.
    pub retired_pages_dbe: Option<u64>,
    /// Pages waiting to be retired at the next reset.
    pub retired_pages_pending: Option<bool>,
    /// Row remapping state.
    pub remapped_rows: Option<RemappedRows>,
    /// PIDs of compute processes on the GPU.
    pub processes: Vec<u32>,
    /// PIDs of graphics processes on the GPU; `None` when NVML did not say.
    pub graphics_processes: Option<Vec<u32>>,
    /// PCIe link generation now (idle GPUs lower it to save power).
    pub pcie_gen_current: Option<u32>,
    /// Highest PCIe generation the GPU and its slot can run together.
    pub pcie_gen_max: Option<u32>,
    /// PCIe link width now (lanes).
    pub pcie_width_current: Option<u32>,
    /// Widest link the GPU and its slot can run together (lanes).
    pub pcie_width_max: Option<u32>,
    /// Percent of the last sample period in which a kernel ran (NVML `utilization.gpu`).
    pub utilization_gpu_percent: Option<u32>,
    /// GPU memory in use, bytes (NVML's v2 count, without the driver's own reservation).
    pub memory_used_bytes: Option<u64>,
    /// GPU memory, bytes.
    pub memory_total_bytes: Option<u64>,
    /// Clock throttle reasons (`nvmlClocksThrottleReason*` bits) present in both samples of the
    /// debounce ([`THROTTLE_DEBOUNCE`]): a reason seen only once is not here.
    pub throttle_reasons: Option<u64>,
}

impl GpuInfo {
    /// The GPU's memory health in the shape `nvidia-smi -q` parsing gives
    /// ([`crate::ecc::GpuEcc`]), so both sources share one set of checks and metrics.
    ///
    /// ```
    /// let g = gpuguard::probe::nvml::GpuInfo { pci_bus_id: "00000000:3B:00.0".into(), ecc_volatile_corrected: Some(3), ..Default::default() };
    /// assert_eq!(g.ecc().volatile_corrected, Some(3));
    /// ```
    pub fn ecc(&self) -> crate::ecc::GpuEcc {
        let rows = self.remapped_rows;
        crate::ecc::GpuEcc {
            gpu: self.pci_bus_id.clone(),
            product: Some(self.name.clone()).filter(|n| !n.is_empty()),
            ecc_mode: None,
            volatile_corrected: self.ecc_volatile_corrected,
            volatile_uncorrected: self.ecc_volatile_uncorrected,
            aggregate_corrected: self.ecc_aggregate_corrected,
            aggregate_uncorrected: self.ecc_aggregate_uncorrected,
            retired_pages_sbe: self.retired_pages_sbe,
            retired_pages_dbe: self.retired_pages_dbe,
            retired_pages_pending: self.retired_pages_pending,
            remapped_rows_correctable: rows.map(|r| u64::from(r.correctable)),
            remapped_rows_uncorrectable: rows.map(|r| u64::from(r.uncorrectable)),
            remapped_rows_pending: rows.map(|r| r.pending),
            remapped_rows_failure: rows.map(|r| r.failure),
        }
    }
}

/// Everything NVML answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmlFacts {
    /// Driver version the library reports.
    pub driver_version: Option<String>,
    /// CUDA driver API version (`12040` = 12.4).
    pub cuda_version: Option<i32>,
    /// The GPUs.
    pub gpus: Vec<GpuInfo>,
}

/// Why NVML gave no facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvmlFailure {
    /// The library could not be loaded (or gpuguard was built without its `nvml` feature).
    NoLibrary(String),
    /// `NVML_ERROR_LIB_RM_VERSION_MISMATCH`: the library and the loaded kernel module differ.
    VersionMismatch,
    /// `NVML_ERROR_DRIVER_NOT_LOADED`: the library is there, the kernel driver is not.
    DriverNotLoaded,
    /// `NVML_ERROR_NO_PERMISSION`: no access to /dev/nvidiactl or /dev/nvidiaN.
    NoPermission,
    /// Any other failed call, with NVML's message.
    Call(String),
}

#[cfg(feature = "nvml")]
pub use super::nvml_query::query;

/// Without the `nvml` feature there is no NVML to load: every query is a skip.
///
/// ```
/// use gpuguard::probe::nvml::{query, NvmlFailure};
/// assert!(matches!(query("/nonexistent/libnvidia-ml.so.1".as_ref()), Err(NvmlFailure::NoLibrary(_))));
/// ```
#[cfg(not(feature = "nvml"))]
pub fn query(_library: &OsStr) -> Result<NvmlFacts, NvmlFailure> {
    Err(NvmlFailure::NoLibrary("gpuguard was built without its `nvml` feature".into()))
}

/// How long a throttle reason must last to be reported: it must be present in two samples this
/// far apart (a power-brake or slowdown pulse of a few milliseconds is not an alarm).
pub const THROTTLE_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(500);

/// `nvmlClocksThrottleReasonHwSlowdown`: the hardware halved the clocks (power supply or
/// thermal alert, or the power brake).
pub const THROTTLE_HW_SLOWDOWN: u64 = 0x8;
/// `nvmlClocksThrottleReasonSwThermalSlowdown`: the driver slowed the clocks to cool the GPU.
pub const THROTTLE_SW_THERMAL: u64 = 0x20;
/// `nvmlClocksThrottleReasonHwThermalSlowdown`: the GPU or its memory is over its temperature limit.
pub const THROTTLE_HW_THERMAL: u64 = 0x40;
/// `nvmlClocksThrottleReasonHwPowerBrakeSlowdown`: the system asserted the power brake (the
/// chassis' power supply is over its budget).
pub const THROTTLE_HW_POWER_BRAKE: u64 = 0x80;
/// The reasons that mean lost throughput (a power cap under load or idle clocks are normal).
pub const THROTTLE_ALARMS: u64 =
    THROTTLE_HW_SLOWDOWN | THROTTLE_SW_THERMAL | THROTTLE_HW_THERMAL | THROTTLE_HW_POWER_BRAKE;

/// GPU utilization at or above which a PCIe link below its maximum is judged: an idle GPU
/// lowers the link's generation to save power, so a slow link at rest means nothing.
pub const PCIE_LOAD_PERCENT: u32 = 50;

/// GPU memory in use with no process that is reported as orphaned: a CUDA context holds a few
/// hundred MiB, and NVML's v2 count leaves the driver's own reservation out.
pub const ORPHAN_MIN_BYTES: u64 = 1 << 30;

fn gpu_finding(rule: &str, severity: Severity, g: &GpuInfo, what: String, fix: &str) -> Finding {
    Finding::new(rule, severity, format!("GPU {} ({}, {}): {what}", g.index, g.name, g.pci_bus_id), fix)
        .with_evidence("gpu_index", g.index)
        .with_evidence("uuid", g.uuid.as_str())
        .with_evidence("pci_bus_id", g.pci_bus_id.as_str())
}

/// Link bandwidth per lane of a PCIe generation, GT/s (for the share a trained-down link keeps).
fn pcie_gts(generation: u32) -> f64 {
    match generation {
        1 => 2.5,
        2 => 5.0,
        3 => 8.0,
        4 => 16.0,
        5 => 32.0,
        g => 64.0 * f64::from(1u32 << g.saturating_sub(6).min(4)),
    }
}

/// The health NVML shows and nobody judges (GG005): a PCIe link trained down under load, memory
/// held by no process, clocks throttled by hardware. What cannot be judged goes to `notes`.
fn health(g: &GpuInfo, ctx: &NvmlContext, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    use crate::math::quantity::human_bytes;
    if let (Some(gc), Some(gm), Some(wc), Some(wm)) =
        (g.pcie_gen_current, g.pcie_gen_max, g.pcie_width_current, g.pcie_width_max)
    {
        if gc < gm || wc < wm {
            match g.utilization_gpu_percent {
                Some(u) if u >= PCIE_LOAD_PERCENT => {
                    let share = pcie_gts(gc) * f64::from(wc) / (pcie_gts(gm) * f64::from(wm).max(1.0));
                    findings.push(
                        gpu_finding(
                            "GG005",
                            Severity::Warning,
                            g,
                            format!(
                                "PCIe link at Gen{gc} x{wc}, below the Gen{gm} x{wm} it supports, while {u}% busy: host-GPU copies get {:.0}% of the bandwidth",
                                share * 100.0
                            ),
                            "reseat the GPU (or its riser) and check the slot's PCIe settings in the firmware; compare `nvidia-smi -q -d PCIE` under load with `lspci -vv` (LnkSta vs LnkCap); if it stays trained down, have the node serviced",
                        )
                        .with_evidence("pcie_gen_current", gc)
                        .with_evidence("pcie_gen_max", gm)
                        .with_evidence("pcie_width_current", wc)
                        .with_evidence("pcie_width_max", wm)
                        .with_evidence("utilization_gpu_percent", u),
                    );
                }
                u => notes.push(format!(
                    "GPU {}: PCIe Gen{gc} x{wc} of Gen{gm} x{wm} at {} load, not judged (links are judged only at {PCIE_LOAD_PERCENT}% load or more: idle GPUs lower the link to save power)",
                    g.index,
                    u.map_or("unknown".to_owned(), |u| format!("{u}%"))
                )),
            }
        }
    }
    if let Some(used) = g.memory_used_bytes.filter(|&u| u >= ORPHAN_MIN_BYTES) {
        // Judged only when NVML answered both lists (an unanswered one could hold the memory).
        if g.processes.is_empty() && g.graphics_processes.as_ref().is_some_and(Vec::is_empty) {
            if ctx.in_container {
                notes.push(format!(
                    "GPU {}: {} in use and no process visible from this container, not judged (NVML lists no process of another PID namespace)",
                    g.index,
                    human_bytes(used)
                ));
            } else {
                findings.push(
                    gpu_finding(
                        "GG005",
                        Severity::Warning,
                        g,
                        format!(
                            "{} of GPU memory in use with no process holding it{}: orphaned by a killed or crashed job, the next job has that much less",
                            human_bytes(used),
                            g.memory_total_bytes.map_or(String::new(), |t| format!(" (of {})", human_bytes(t)))
                        ),
                        &format!("find what still holds the GPU (`sudo fuser -v /dev/nvidia{}`: a zombie, or a process stuck in D state) and end it; if nothing does, reset the GPU (`sudo nvidia-smi --gpu-reset -i {}`) or reboot", g.index, g.index),
                    )
                    .with_evidence("memory_used_bytes", used)
                    .with_evidence("memory_total_bytes", g.memory_total_bytes),
                );
            }
        }
    }
    if let Some(r) = g.throttle_reasons.filter(|r| r & THROTTLE_ALARMS != 0) {
        let names: Vec<&str> = [
            (THROTTLE_HW_SLOWDOWN, "hardware slowdown"),
            (THROTTLE_HW_THERMAL, "hardware thermal slowdown"),
            (THROTTLE_SW_THERMAL, "software thermal slowdown"),
            (THROTTLE_HW_POWER_BRAKE, "power brake"),
        ]
        .into_iter()
        .filter(|(bit, _)| r & bit != 0)
        .map(|(_, n)| n)
        .collect();
        findings.push(
            gpu_finding(
                "GG005",
                Severity::Warning,
                g,
                format!(
                    "clocks throttled by {} (in two samples {} ms apart): the GPU runs at a fraction of its speed until the cause is gone",
                    names.join(", "),
                    THROTTLE_DEBOUNCE.as_millis()
                ),
                "check cooling (fans, airflow, inlet temperature) and the chassis power supplies (`nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER`); the power brake is asserted by the system's power controller; a GPU that keeps slowing down in hardware needs service",
            )
            .with_evidence("throttle_reasons", r)
            .with_evidence("reasons", names.clone())
            .with_evidence("debounce_ms", THROTTLE_DEBOUNCE.as_millis() as u64),
        );
    }
}

const FIX_DRAIN: &str =
    "drain the node and reset the GPU (nvidia-smi -r or reboot); if uncorrectable errors return, have the GPU replaced";

/// Judges NVML facts: memory health (GG005), sharing and MIG (GG004), GPUs expected (GG008).
///
/// ```
/// use gpuguard::probe::nvml::{judge, GpuInfo, NvmlFacts};
/// let facts = NvmlFacts { gpus: vec![GpuInfo { processes: vec![10, 11], mig_enabled: Some(false), ..Default::default() }], ..Default::default() };
/// let (_, findings) = judge(&facts, None);
/// assert_eq!(findings[0].rule, "GG004");
/// ```
pub fn judge(facts: &NvmlFacts, expect_gpus: Option<u32>) -> (Check, Vec<Finding>) {
    judge_in(facts, expect_gpus, &NvmlContext::default())
}

/// What the caller knows that NVML does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmlContext {
    /// Running in a container: NVML lists no process of another PID namespace there, so GPU
    /// memory with no listed process is not judged orphaned.
    pub in_container: bool,
    /// The loaded kernel module's version (`/sys/module/nvidia/version`), named when NVML refuses
    /// with a version mismatch.
    pub module_version: Option<String>,
}

/// [`judge`] with what the caller knows: also the link, memory and clock health (GG005) of
/// each GPU.
///
/// ```
/// use gpuguard::probe::nvml::{judge_in, GpuInfo, NvmlContext, NvmlFacts};
/// let g = GpuInfo { memory_used_bytes: Some(20 << 30), graphics_processes: Some(vec![]), ..Default::default() };
/// let facts = NvmlFacts { gpus: vec![g], ..Default::default() };
/// let (_, f) = judge_in(&facts, None, &NvmlContext::default());
/// assert!(f[0].message.contains("20.0 GiB of GPU memory in use with no process"));
/// let (c, f) = judge_in(&facts, None, &NvmlContext { in_container: true, ..Default::default() });
/// assert!(f.is_empty() && c.reason.contains("not judged"));
/// ```
pub fn judge_in(facts: &NvmlFacts, expect_gpus: Option<u32>, ctx: &NvmlContext) -> (Check, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for g in &facts.gpus {
        health(g, ctx, &mut findings, &mut notes);
        if let Some(n @ 1..) = g.ecc_volatile_uncorrected {
            findings.push(
                gpu_finding(
                    "GG005",
                    Severity::Error,
                    g,
                    format!("{n} uncorrectable (double-bit) ECC error(s) since the driver loaded"),
                    FIX_DRAIN,
                )
                .with_evidence("ecc_volatile_uncorrected", n),
            );
        } else if let Some(n @ 1..) = g.ecc_aggregate_uncorrected {
            findings.push(
                gpu_finding(
                    "GG005",
                    Severity::Warning,
                    g,
                    format!("{n} uncorrectable ECC error(s) over the GPU's life"),
                    "watch this GPU: check retired pages / remapped rows and XIDs 48, 63, 64, 94, 95",
                )
                .with_evidence("ecc_aggregate_uncorrected", n),
            );
        }
        if g.retired_pages_pending == Some(true) {
            findings.push(
                gpu_finding(
                    "GG005",
                    Severity::Error,
                    g,
                    "memory pages are waiting to be retired at the next GPU reset".into(),
                    FIX_DRAIN,
                )
                .with_evidence("retired_pages_pending", true),
            );
        }
        if let Some(r) = g.remapped_rows {
            if r.failure {
                findings.push(
                    gpu_finding(
                        "GG005",
                        Severity::Error,
                        g,
                        "row remapping failed: the GPU's memory cannot be repaired".into(),
                        "take the GPU out of service and have it replaced (RMA)",
                    )
                    .with_evidence("remapped_rows_failure", true),
                );
            } else if r.pending {
                findings.push(
                    gpu_finding(
                        "GG005",
                        Severity::Error,
                        g,
                        format!(
                            "a row remap is pending ({} uncorrectable rows remapped): the GPU needs a reset",
                            r.uncorrectable
                        ),
                        FIX_DRAIN,
                    )
                    .with_evidence("remapped_rows_pending", true)
                    .with_evidence("remapped_rows_uncorrectable", r.uncorrectable),
                );
            }
        }
        if g.processes.len() > 1 && g.mig_enabled != Some(true) {
            findings.push(
                gpu_finding("GG004", Severity::Warning, g, format!("{} processes share this GPU without MIG (time-slicing: no memory or fault isolation, latency spikes)", g.processes.len()), "give each inference server its own GPU or MIG slice; use time-slicing only for dev/batch work")
                    .with_evidence("pids", g.processes.clone())
                    .with_evidence("mig_enabled", g.mig_enabled.unwrap_or(false)),
            );
        }
        if let (Some(now), Some(next)) = (g.mig_enabled, g.mig_pending) {
            if now != next {
                findings.push(
                    gpu_finding(
                        "GG004",
                        Severity::Warning,
                        g,
                        format!(
                            "MIG mode change pending ({} → {}): it takes effect only after a GPU reset",
                            on(now),
                            on(next)
                        ),
                        "reset the GPU (nvidia-smi -r) or reboot before scheduling work on it",
                    )
                    .with_evidence("mig_enabled", now)
                    .with_evidence("mig_pending", next),
                );
            }
        }
    }
    if let Some(want) = expect_gpus.filter(|&w| (facts.gpus.len() as u32) < w) {
        findings.push(
            Finding::new(
                "GG008",
                Severity::Error,
                format!("expected {want} GPU(s) but NVML sees {}", facts.gpus.len()),
                "request nvidia.com/gpu in the container's limits or run with --gpus; check NVIDIA_VISIBLE_DEVICES",
            )
            .with_evidence("expected_gpus", want)
            .with_evidence("nvml_gpus", facts.gpus.len()),
        );
    }
    let gpus: Vec<String> = facts
        .gpus
        .iter()
        .map(|g| format!("{}: {} {} MIG {}", g.index, g.name, g.pci_bus_id, g.mig_enabled.map_or("n/a", on)))
        .collect();
    let seen = format!(
        "{} GPU(s) [{}], driver {}, CUDA {}{}",
        facts.gpus.len(),
        gpus.join("; "),
        facts.driver_version.as_deref().unwrap_or("?"),
        facts.cuda_version.map_or("?".to_owned(), |v| format!("{}.{}", v / 1000, v % 1000 / 10)),
        if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) }
    );
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new("nvml", status, seen), findings)
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Loads NVML from `library` and judges it; returns the facts too (the driver check compares
/// versions with them).
///
/// ```
/// let (check, findings, facts) = gpuguard::probe::nvml::check("/nonexistent/libnvidia-ml.so.1".as_ref(), None);
/// assert_eq!(check.status, gpuguard::CheckStatus::Skipped);
/// assert!(check.reason.starts_with("no NVIDIA driver library found"));
/// assert!(findings.is_empty() && facts.is_none());
/// ```
pub fn check(library: &OsStr, expect_gpus: Option<u32>) -> (Check, Vec<Finding>, Option<NvmlFacts>) {
    check_in(library, expect_gpus, &NvmlContext::default())
}

/// The driver version of the NVML library that `library` names: from its file name after
/// following links (`libnvidia-ml.so.1` → `libnvidia-ml.so.550.54.14`), or for a bare name, the
/// versioned file in the usual library directories.
///
/// ```
/// assert_eq!(gpuguard::probe::nvml::library_file_version("/nonexistent/libnvidia-ml.so.1".as_ref()), None);
/// ```
pub fn library_file_version(library: &OsStr) -> Option<(String, String)> {
    let path = std::path::Path::new(library);
    let from = |p: &std::path::Path| {
        let real = std::fs::canonicalize(p).ok()?;
        let v = super::driver::library_version(&real.file_name()?.to_string_lossy())?;
        Some((v, real.display().to_string()))
    };
    if path.components().count() > 1 {
        return from(path);
    }
    ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"].iter().find_map(|dir| {
        super::driver::list_dir(std::path::Path::new(dir))
            .iter()
            .filter(|n| n.starts_with("libnvidia-ml.so."))
            .find_map(|n| from(&std::path::Path::new(dir).join(n)))
    })
}

/// [`check`] with what the caller knows (see [`NvmlContext`]).
pub fn check_in(
    library: &OsStr,
    expect_gpus: Option<u32>,
    ctx: &NvmlContext,
) -> (Check, Vec<Finding>, Option<NvmlFacts>) {
    let lib = library.to_string_lossy();
    match query(library) {
        Ok(facts) => {
            let (c, f) = judge_in(&facts, expect_gpus, ctx);
            (c, f, Some(facts))
        }
        Err(NvmlFailure::NoLibrary(e)) => (
            Check::new("nvml", CheckStatus::Skipped, format!("no NVIDIA driver library found ({lib}: {e})")),
            vec![],
            None,
        ),
        Err(NvmlFailure::VersionMismatch) => {
            let file = library_file_version(library);
            let library_version = file.as_ref().map(|(v, _)| v.clone());
            let f = Finding::new(
                "GG010",
                Severity::Error,
                format!(
                    "Driver/library version mismatch: NVML library {} ({}) but kernel module {} is loaded",
                    library_version.as_deref().unwrap_or("of unknown version"),
                    file.as_ref().map_or(lib.as_ref(), |(_, p)| p.as_str()),
                    ctx.module_version.as_deref().unwrap_or("of unknown version")
                ),
                "reboot the node so the module of the installed driver is loaded; in a container, use the host's driver libraries (NVIDIA container toolkit)",
            )
            .with_evidence("library", lib.as_ref())
            .with_evidence("library_version", library_version)
            .with_evidence("module_version", ctx.module_version.clone());
            (Check::new("nvml", CheckStatus::Finding, "NVML init: driver/library version mismatch"), vec![f], None)
        }
        Err(NvmlFailure::DriverNotLoaded) if expect_gpus.unwrap_or(0) > 0 => {
            let f = Finding::new("GG008", Severity::Error, format!("NVML ({lib}) is installed but the NVIDIA kernel driver is not loaded"), "load the driver (modprobe nvidia) or fix it (see the driver check); in a container, run with the NVIDIA runtime")
                .with_evidence("library", lib.as_ref());
            (Check::new("nvml", CheckStatus::Finding, "NVML init: driver not loaded"), vec![f], None)
        }
        Err(NvmlFailure::NoPermission) => (
            Check::new(
                "nvml",
                CheckStatus::Skipped,
                "NVML: no permission to talk to the driver (needs read/write access to /dev/nvidiactl and /dev/nvidiaN)",
            ),
            vec![],
            None,
        ),
        Err(NvmlFailure::DriverNotLoaded) => (
            Check::new("nvml", CheckStatus::Skipped, format!("NVML ({lib}): the NVIDIA kernel driver is not loaded")),
            vec![],
            None,
        ),
        Err(NvmlFailure::Call(e)) => {
            (Check::new("nvml", CheckStatus::Skipped, format!("NVML ({lib}): {e}")), vec![], None)
        }
    }
}
