//! The doctor: every runtime probe, run once, collected into one [`Report`].

use crate::probe::kernel_log::{LogSink, XidLineCounter};
use crate::probe::{
    Host, auto_updates, cgroup, container, dev_shm, driver, gpu_devices, gpu_env, hf_cache, kernel_log, mounts,
    next_boot, nvml, packages,
};
use crate::{Check, CheckStatus, Report};
use std::path::PathBuf;

/// What the caller knows about the job, so checks can judge instead of only describe.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// GPUs the job expects to see.
    pub expect_gpus: Option<u32>,
    /// The DataLoader's shape, to size /dev/shm against.
    pub loader: Option<dev_shm::LoaderShape>,
    /// Where the job writes checkpoints (as seen on the inspected machine).
    pub checkpoint_dir: Option<String>,
    /// The NVML library to load. `None`: `$GPUGUARD_NVML_LIBRARY` or `libnvidia-ml.so.1` on the real
    /// root; not loaded at all for a fixture root.
    pub nvml_library: Option<PathBuf>,
}

/// `path` as an absolute path on the inspected machine: a relative path is taken from the current
/// directory when inspecting the real root `/` (the job's own view), from `/` for a fixture root.
///
/// ```
/// use std::path::Path;
/// assert_eq!(gpuguard::doctor::absolute_path(Path::new("ckpt"), Path::new("/fixture")), "/ckpt");
/// assert!(gpuguard::doctor::absolute_path(Path::new("ckpt"), Path::new("/")).ends_with("/ckpt"));
/// ```
pub fn absolute_path(path: &std::path::Path, root: &std::path::Path) -> String {
    let p = if path.is_absolute() || root != std::path::Path::new("/") {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let s = p.to_string_lossy().into_owned();
    if s.starts_with('/') { s } else { format!("/{s}") }
}

/// Runs every probe against `host`, with the kernel log lines judged by [`XidLineCounter`].
///
/// ```
/// use gpuguard::doctor::{doctor, DoctorOptions};
/// let report = doctor(&gpuguard::probe::Host::default(), &DoctorOptions::default());
/// assert_eq!(report.command, "doctor");
/// assert!(report.checks.iter().any(|c| c.name == "dev-shm"));
/// ```
pub fn doctor(host: &Host, options: &DoctorOptions) -> Report {
    doctor_with_sink(host, options, &mut XidLineCounter::default())
}

/// [`doctor`] with the kernel log lines handed to `sink` (the XID classifier).
///
/// ```
/// use gpuguard::doctor::{doctor_with_sink, DoctorOptions};
/// use gpuguard::probe::{Host, kernel_log::XidLineCounter};
/// let r = doctor_with_sink(&Host::new("/nonexistent"), &DoctorOptions::default(), &mut XidLineCounter::default());
/// assert!(r.checks.iter().any(|c| c.name == "kernel-log"));
/// ```
pub fn doctor_with_sink(host: &Host, options: &DoctorOptions, sink: &mut dyn LogSink) -> Report {
    doctor_with_facts(host, options, sink).0
}

/// [`doctor_with_sink`], also returning what NVML answered (for metrics).
///
/// ```
/// use gpuguard::doctor::{doctor_with_facts, DoctorOptions};
/// use gpuguard::probe::{Host, kernel_log::XidLineCounter};
/// let (_, facts) = doctor_with_facts(&Host::new("/nonexistent"), &DoctorOptions::default(), &mut XidLineCounter::default());
/// assert!(facts.is_none()); // a fixture root loads no NVML
/// ```
pub fn doctor_with_facts(
    host: &Host,
    options: &DoctorOptions,
    sink: &mut dyn LogSink,
) -> (Report, Option<nvml::NvmlFacts>) {
    let mut report = Report::new("doctor");
    let mut add = |(check, findings): (Check, Vec<crate::Finding>)| {
        report.checks.push(check);
        report.findings.extend(findings);
    };
    add((container::check(host), vec![]));
    let limit = cgroup::memory_limit(host);
    add(dev_shm::check_with_limit(host, options.loader, limit.as_ref()));
    if let Some(dir) = &options.checkpoint_dir {
        add(mounts::check_storage(host, dir, mounts::CHECKPOINT));
    }
    add(hf_cache::check(host));
    let (ctl, nodes) = gpu_devices::device_nodes(host);
    let (mut devices, mut device_findings) =
        gpu_devices::judge(ctl, gpu_devices::uvm_present(host), &nodes, options.expect_gpus);
    // The environment asks for GPUs but the runtime gave none (`--gpus` forgotten): one GG008
    // here, unless --expect-gpus already reported the missing nodes.
    let requested = gpu_env::gpus_requested(host).filter(|_| nodes.is_empty());
    if let Some(req) = &requested {
        if device_findings.is_empty() {
            device_findings.push(gpu_devices::requested_without_nodes(req, ctl));
            devices.status = CheckStatus::Finding;
        }
    }
    add((devices, device_findings));
    let library = match (&options.nvml_library, host.root() == std::path::Path::new("/")) {
        (Some(p), _) => Some(p.clone().into_os_string()),
        (None, true) => Some(host.var("GPUGUARD_NVML_LIBRARY").unwrap_or(nvml::DEFAULT_LIBRARY).into()),
        (None, false) => None,
    };
    // Read before NVML so a version mismatch can name the loaded module.
    let driver_facts = driver::facts(host);
    let ctx = nvml::NvmlContext {
        in_container: container::detect(host).0 != container::Runtime::BareMetal,
        module_version: driver_facts.module_version.clone(),
    };
    let facts = match library {
        Some(lib) => {
            let (c, f, facts) = nvml::check_in(&lib, options.expect_gpus, &ctx);
            add((c, f));
            facts
        }
        None => {
            add((
                Check::new(
                    "nvml",
                    CheckStatus::Skipped,
                    "fixture root: NVML is not loaded unless a library path is given",
                ),
                vec![],
            ));
            None
        }
    };
    // No node while the environment asks for GPUs: none is reachable (Some(0)), not "unknown".
    let count = facts
        .as_ref()
        .map(|f| f.gpus.len())
        .or((!nodes.is_empty()).then_some(nodes.len()))
        .or(requested.as_ref().map(|_| 0));
    add(gpu_env::check(host, count, options.expect_gpus));
    add(driver::judge(&driver_facts, facts.as_ref().and_then(|f| f.driver_version.as_deref())));
    // The package database is read once, and only if one of the looks ahead needs it.
    let dpkg = packages::LazyDpkg::new(host);
    let boot = next_boot::facts(host, &dpkg);
    let driver_installed =
        boot.driver_anywhere || !driver_facts.module_files.is_empty() || driver_facts.module_version.is_some();
    add(next_boot::judge(&boot));
    add(auto_updates::judge(&auto_updates::facts(host, &dpkg), driver_installed));
    if let Some(e) = dpkg.error() {
        add((Check::new("dpkg-status", CheckStatus::Skipped, format!("/var/lib/dpkg/status: {e}")), vec![]));
    }
    add(kernel_log::check(host, sink));
    (report, facts)
}
