//! GG004, GG005 and GG008 through NVML, loaded at run time with `nvml-wrapper` (no link-time
//! dependency on the NVIDIA driver): devices, MIG mode, ECC counters, retired pages, remapped rows,
//! processes per GPU, driver and CUDA versions. No library is a skip, never a failure.

use crate::{Check, CheckStatus, Finding, Severity};
use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{EccCounter, MemoryError, RetirementCause};
use nvml_wrapper::error::NvmlError;
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
#[derive(Debug)]
pub enum NvmlFailure {
    /// The library could not be loaded.
    NoLibrary(String),
    /// The library loaded; the call failed.
    Call(NvmlError),
}

fn opt<T>(r: Result<T, NvmlError>) -> Result<Option<T>, NvmlError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(NvmlError::NotSupported | NvmlError::FunctionNotFound | NvmlError::FailedToLoadSymbol(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Loads the NVML library at `library` and reads every GPU.
///
/// ```
/// use gpuguard::probe::nvml::{query, NvmlFailure};
/// assert!(matches!(query("/nonexistent/libnvidia-ml.so.1".as_ref()), Err(NvmlFailure::NoLibrary(_))));
/// ```
pub fn query(library: &OsStr) -> Result<NvmlFacts, NvmlFailure> {
    let nvml = Nvml::builder().lib_path(library).init().map_err(|e| match e {
        NvmlError::LibloadingError(e) => NvmlFailure::NoLibrary(e.to_string()),
        e => NvmlFailure::Call(e),
    })?;
    let call = NvmlFailure::Call;
    let mut facts = NvmlFacts {
        driver_version: opt(nvml.sys_driver_version()).map_err(call)?,
        cuda_version: opt(nvml.sys_cuda_driver_version()).map_err(call)?,
        gpus: Vec::new(),
    };
    for index in 0..nvml.device_count().map_err(call)? {
        let d = nvml.device_by_index(index).map_err(call)?;
        let pci = opt(d.pci_info()).map_err(call)?;
        let mig = opt(d.mig_mode()).map_err(call)?;
        let remapped = match nvml.lib().nvmlDeviceGetRemappedRows.as_ref() {
            Ok(sym) => {
                let (mut c, mut u, mut p, mut f) = (0, 0, 0, 0);
                // SAFETY: the handle comes from this NVML instance, which is alive, and the four
                // out-pointers are valid for writes of c_uint.
                let rc = unsafe { sym(d.handle(), &mut c, &mut u, &mut p, &mut f) };
                (rc == 0).then_some(RemappedRows { correctable: c, uncorrectable: u, pending: p != 0, failure: f != 0 })
            }
            Err(_) => None,
        };
        let ecc = |kind, counter| opt(d.total_ecc_errors(kind, counter)).map_err(call);
        facts.gpus.push(GpuInfo {
            index,
            name: opt(d.name()).map_err(call)?.unwrap_or_default(),
            uuid: opt(d.uuid()).map_err(call)?.unwrap_or_default(),
            pci_bus_id: pci.as_ref().map(|p| p.bus_id.clone()).unwrap_or_default(),
            pci_device_id: pci.map_or(0, |p| p.pci_device_id),
            mig_enabled: mig.as_ref().map(|m| m.current == 1),
            mig_pending: mig.map(|m| m.pending == 1),
            ecc_volatile_corrected: ecc(MemoryError::Corrected, EccCounter::Volatile)?,
            ecc_aggregate_corrected: ecc(MemoryError::Corrected, EccCounter::Aggregate)?,
            ecc_volatile_uncorrected: ecc(MemoryError::Uncorrected, EccCounter::Volatile)?,
            ecc_aggregate_uncorrected: ecc(MemoryError::Uncorrected, EccCounter::Aggregate)?,
            retired_pages_sbe: retired_page_count(&nvml, &d, RetirementCause::MultipleSingleBitEccErrors),
            retired_pages_dbe: retired_page_count(&nvml, &d, RetirementCause::DoubleBitEccError),
            retired_pages_pending: opt(d.are_pages_pending_retired()).map_err(call)?,
            remapped_rows: remapped,
            processes: opt(d.running_compute_processes())
                .map_err(call)?
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.pid)
                .collect(),
        });
    }
    Ok(facts)
}

/// How many pages NVML retired for `cause` (nvml-wrapper only lists the pages themselves).
fn retired_page_count(nvml: &Nvml, d: &nvml_wrapper::Device<'_>, cause: RetirementCause) -> Option<u64> {
    let sym = nvml.lib().nvmlDeviceGetRetiredPages.as_ref().ok()?;
    let mut count: std::os::raw::c_uint = 0;
    let mut address: std::os::raw::c_ulonglong = 0;
    // SAFETY: the handle comes from this live NVML instance; with count 0 NVML writes only the
    // count (the address pointer must merely be non-null).
    let rc = unsafe { sym(d.handle(), cause.as_c(), &mut count, &mut address) };
    // NVML_ERROR_INSUFFICIENT_SIZE (7) is the normal answer when pages exist.
    matches!(rc, 0 | 7).then_some(u64::from(count))
}

fn gpu_finding(rule: &str, severity: Severity, g: &GpuInfo, what: String, fix: &str) -> Finding {
    Finding::new(rule, severity, format!("GPU {} ({}, {}): {what}", g.index, g.name, g.pci_bus_id), fix)
        .with_evidence("gpu_index", g.index)
        .with_evidence("uuid", g.uuid.as_str())
        .with_evidence("pci_bus_id", g.pci_bus_id.as_str())
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
    let mut findings = Vec::new();
    for g in &facts.gpus {
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
        "{} GPU(s) [{}], driver {}, CUDA {}",
        facts.gpus.len(),
        gpus.join("; "),
        facts.driver_version.as_deref().unwrap_or("?"),
        facts.cuda_version.map_or("?".to_owned(), |v| format!("{}.{}", v / 1000, v % 1000 / 10))
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
    let lib = library.to_string_lossy();
    match query(library) {
        Ok(facts) => {
            let (c, f) = judge(&facts, expect_gpus);
            (c, f, Some(facts))
        }
        Err(NvmlFailure::NoLibrary(e)) => (
            Check::new("nvml", CheckStatus::Skipped, format!("no NVIDIA driver library found ({lib}: {e})")),
            vec![],
            None,
        ),
        Err(NvmlFailure::Call(NvmlError::LibRmVersionMismatch)) => {
            let f = Finding::new(
                "GG010",
                Severity::Error,
                format!("Driver/library version mismatch: NVML ({lib}) does not match the loaded kernel module"),
                "reboot the node so the module of the installed driver is loaded; in a container, use the host's driver libraries (NVIDIA container toolkit)",
            )
            .with_evidence("library", lib.as_ref());
            (Check::new("nvml", CheckStatus::Finding, "NVML init: driver/library version mismatch"), vec![f], None)
        }
        Err(NvmlFailure::Call(NvmlError::DriverNotLoaded)) if expect_gpus.unwrap_or(0) > 0 => {
            let f = Finding::new("GG008", Severity::Error, format!("NVML ({lib}) is installed but the NVIDIA kernel driver is not loaded"), "load the driver (modprobe nvidia) or fix it (see the driver check); in a container, run with the NVIDIA runtime")
                .with_evidence("library", lib.as_ref());
            (Check::new("nvml", CheckStatus::Finding, "NVML init: driver not loaded"), vec![f], None)
        }
        Err(NvmlFailure::Call(NvmlError::NoPermission)) => (
            Check::new(
                "nvml",
                CheckStatus::Skipped,
                "NVML: no permission to talk to the driver (needs read/write access to /dev/nvidiactl and /dev/nvidiaN)",
            ),
            vec![],
            None,
        ),
        Err(NvmlFailure::Call(e)) => {
            (Check::new("nvml", CheckStatus::Skipped, format!("NVML ({lib}): {e}")), vec![], None)
        }
    }
}
