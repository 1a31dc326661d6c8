//! Reads [`NvmlFacts`] through `nvml-wrapper` (the `nvml` feature): the library is loaded at run
//! time, so a machine without the NVIDIA driver gets [`NvmlFailure::NoLibrary`], never a crash.
//! Judging the facts is [`super::nvml`]'s job.

use super::nvml::{GpuInfo, NvmlFacts, NvmlFailure, RemappedRows, THROTTLE_ALARMS, THROTTLE_DEBOUNCE};
use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{EccCounter, MemoryError, RetirementCause};
use nvml_wrapper::error::NvmlError;
use std::ffi::OsStr;

/// NVML's error as gpuguard judges it: the three failures the doctor words itself, the rest as text.
fn failure(e: NvmlError) -> NvmlFailure {
    match e {
        NvmlError::LibloadingError(e) => NvmlFailure::NoLibrary(e.to_string()),
        NvmlError::LibRmVersionMismatch => NvmlFailure::VersionMismatch,
        NvmlError::DriverNotLoaded => NvmlFailure::DriverNotLoaded,
        NvmlError::NoPermission => NvmlFailure::NoPermission,
        e => NvmlFailure::Call(e.to_string()),
    }
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
    let nvml = Nvml::builder().lib_path(library).init().map_err(failure)?;
    let call = failure;
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
            // The health fields below are extras: a GPU that refuses one (no permission in a
            // container, an older driver) keeps the facts above, so any error is "unknown".
            graphics_processes: d.running_graphics_processes().ok().map(|v| v.into_iter().map(|p| p.pid).collect()),
            pcie_gen_current: d.current_pcie_link_gen().ok(),
            pcie_gen_max: d.max_pcie_link_gen().ok(),
            pcie_width_current: d.current_pcie_link_width().ok(),
            pcie_width_max: d.max_pcie_link_width().ok(),
            utilization_gpu_percent: d.utilization_rates().ok().map(|u| u.gpu),
            memory_used_bytes: None,
            memory_total_bytes: None,
            throttle_reasons: d.current_throttle_reasons().ok().map(|r| r.bits()),
        });
        let g = facts.gpus.last_mut().expect("just pushed");
        if let Ok(m) = d.memory_info() {
            (g.memory_used_bytes, g.memory_total_bytes) = (Some(m.used), Some(m.total));
        }
    }
    // Debounce: a GPU with a throttle alarm is sampled again THROTTLE_DEBOUNCE after the first
    // sample, and only reasons present both times are kept. Healthy GPUs cost no wait.
    if facts.gpus.iter().any(|g| g.throttle_reasons.is_some_and(|r| r & THROTTLE_ALARMS != 0)) {
        std::thread::sleep(THROTTLE_DEBOUNCE);
        for g in &mut facts.gpus {
            if let Some(first) = g.throttle_reasons.filter(|r| r & THROTTLE_ALARMS != 0) {
                let second =
                    nvml.device_by_index(g.index).and_then(|d| d.current_throttle_reasons()).map_or(0, |r| r.bits());
                g.throttle_reasons = Some(first & second);
            }
        }
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
