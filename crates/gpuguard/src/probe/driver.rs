//! GG010 at run time: does the running kernel have an NVIDIA module, did its DKMS build work, and
//! does the user-space driver library match the module that is loaded?

use super::Host;
use crate::{Check, CheckStatus, Finding, Severity};
use std::path::Path;

/// What the driver files say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverFacts {
    /// The running kernel (`/proc/sys/kernel/osrelease`).
    pub kernel: Option<String>,
    /// Version of the loaded module (`/sys/module/nvidia/version` or `/proc/driver/nvidia/version`).
    pub module_version: Option<String>,
    /// Whether `/lib/modules/<kernel>/` exists (containers often lack it: then nothing can be said).
    pub modules_dir_present: bool,
    /// `nvidia*.ko*` files under `/lib/modules/<kernel>/`.
    pub module_files: Vec<String>,
    /// The NVIDIA driver in DKMS, `<module>/<version>` (see [`dkms_nvidia`]).
    pub dkms_versions: Vec<String>,
    /// Those with a tree for the running kernel.
    pub dkms_built_for_kernel: Vec<String>,
    /// First error line of each DKMS make.log: (file, line, text).
    pub dkms_errors: Vec<(String, usize, String)>,
}

/// The driver version in `/proc/driver/nvidia/version` ("NVRM version: NVIDIA UNIX x86_64 Kernel
/// Module  535.129.03  Thu Oct 19 …").
///
/// ```
/// let v = gpuguard::probe::driver::parse_nvrm_version(
///     "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  (dvs-builder@U16)  Thu Feb 22 01:25:25 UTC 2024\n");
/// assert_eq!(v.as_deref(), Some("550.54.14"));
/// ```
pub fn parse_nvrm_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    let after = &line[line.find("Module")?..];
    after
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_owned)
}

pub(crate) fn list_dir(p: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(p).into_iter().flatten().flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
    v.sort();
    v
}

/// `nvidia*.ko[.xz|.zst|.gz]` files under `dir`, searched `depth` levels down.
pub(crate) fn find_modules(dir: &Path, rel: &str, depth: u32, out: &mut Vec<String>) {
    for name in list_dir(dir) {
        let p = dir.join(&name);
        let rel = format!("{rel}/{name}");
        if name.starts_with("nvidia") && name.contains(".ko") {
            out.push(rel);
        } else if depth > 0 && p.is_dir() && !p.is_symlink() {
            find_modules(&p, &rel, depth - 1, out);
        }
    }
}

/// The NVIDIA driver in DKMS's tree, as `<module>/<version>`: `nvidia` (NVIDIA's packages and
/// Ubuntu's), `nvidia-srv` (Ubuntu's -server branches), `nvidia-current` and `nvidia-tesla-*`
/// (Debian). GPUDirect Storage's `nvidia-fs` is not the driver.
///
/// ```
/// assert!(gpuguard::probe::driver::dkms_nvidia(&gpuguard::probe::Host::new("/nonexistent")).is_empty());
/// ```
pub fn dkms_nvidia(host: &Host) -> Vec<String> {
    let mut out = Vec::new();
    for m in list_dir(&host.path("/var/lib/dkms")) {
        if !m.starts_with("nvidia") || m == "nvidia-fs" {
            continue;
        }
        for v in list_dir(&host.path(&format!("/var/lib/dkms/{m}"))) {
            if v.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(format!("{m}/{v}"));
            }
        }
    }
    out
}

/// Reads the driver facts under `host`.
///
/// ```
/// let f = gpuguard::probe::driver::facts(&gpuguard::probe::Host::new("/nonexistent"));
/// assert!(f.kernel.is_none() && f.module_files.is_empty());
/// ```
pub fn facts(host: &Host) -> DriverFacts {
    let mut f = DriverFacts {
        kernel: host.read("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        module_version: host
            .read("/sys/module/nvidia/version")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .or_else(|| parse_nvrm_version(&host.read("/proc/driver/nvidia/version").ok()?)),
        ..Default::default()
    };
    f.dkms_versions = dkms_nvidia(host);
    if let Some(k) = &f.kernel {
        // Only where modules live (updates/, extra/, kernel/…): a full walk of the tree costs milliseconds.
        let base = host.path(&format!("/lib/modules/{k}"));
        f.modules_dir_present = base.is_dir();
        find_modules(&base, &format!("/lib/modules/{k}"), 4, &mut f.module_files);
        f.dkms_built_for_kernel =
            f.dkms_versions.iter().filter(|v| host.path(&format!("/var/lib/dkms/{v}/{k}")).is_dir()).cloned().collect();
    }
    for v in &f.dkms_versions {
        let log = format!("/var/lib/dkms/{v}/build/make.log");
        if let Ok(text) = host.read(&log) {
            // A failed build for another kernel does not matter to this one.
            if make_log_kernel(&text).is_some_and(|k| Some(k) != f.kernel.as_deref()) {
                continue;
            }
            if let Some((line, l)) = first_build_error(&text) {
                f.dkms_errors.push((log, line, l));
            }
        }
    }
    f
}

/// The kernel a DKMS make.log was written for, from its first line ("DKMS make.log for
/// nvidia-550.54.14 for kernel 6.11.0-9-generic (x86_64)").
///
/// ```
/// let log = "DKMS make.log for nvidia-550.54.14 for kernel 6.11.0-9-generic (x86_64)\n";
/// assert_eq!(gpuguard::probe::driver::make_log_kernel(log), Some("6.11.0-9-generic"));
/// ```
pub fn make_log_kernel(text: &str) -> Option<&str> {
    text.lines().next()?.split(" for kernel ").nth(1)?.split_whitespace().next()
}

/// The first line of a make.log that reports a failure: (1-based line, text).
///
/// ```
/// let log = "make -C /lib/modules/6.8.0-51-generic/build\nnv.c:2013:5: error: implicit declaration\n";
/// assert_eq!(gpuguard::probe::driver::first_build_error(log).map(|e| e.0), Some(2));
/// ```
pub fn first_build_error(text: &str) -> Option<(usize, String)> {
    text.lines()
        .enumerate()
        .find(|(_, l)| l.contains("error:") || l.contains("Error ") || l.contains("*** "))
        .map(|(i, l)| (i + 1, l.trim().to_owned()))
}

/// The driver version in a library file name (`libnvidia-ml.so.535.129.03` → `535.129.03`).
///
/// ```
/// assert_eq!(gpuguard::probe::driver::library_version("libnvidia-ml.so.535.129.03").as_deref(), Some("535.129.03"));
/// assert_eq!(gpuguard::probe::driver::library_version("libnvidia-ml.so.1"), None);
/// ```
pub fn library_version(file_name: &str) -> Option<String> {
    let v = file_name.rsplit_once(".so.")?.1;
    (v.contains('.') && v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| v.to_owned())
}

/// Judges the facts; `nvml_version` is the user-space library's driver version when NVML loaded.
///
/// ```
/// use gpuguard::probe::driver::{judge, DriverFacts};
/// let f = DriverFacts { kernel: Some("6.8.0-49".into()), module_version: Some("535.129.03".into()), ..Default::default() };
/// let (_, findings) = judge(&f, Some("550.54.14"));
/// assert_eq!(findings[0].rule, "GG010");
/// ```
pub fn judge(f: &DriverFacts, nvml_version: Option<&str>) -> (Check, Vec<Finding>) {
    let kernel = f.kernel.as_deref().unwrap_or("(unknown)");
    let installed = f.module_version.is_some()
        || !f.dkms_versions.is_empty()
        || !f.module_files.is_empty()
        || nvml_version.is_some();
    if !installed {
        return (
            Check::new(
                "driver",
                CheckStatus::Skipped,
                format!("no NVIDIA kernel module loaded or installed for kernel {kernel}"),
            ),
            vec![],
        );
    }
    let mut findings = Vec::new();
    // A working NVML proves a loaded module; without /lib/modules/<kernel> (most containers) the
    // question cannot be answered.
    let no_module = f.module_version.is_none() && nvml_version.is_none() && f.modules_dir_present;
    if no_module && f.module_files.is_empty() && f.dkms_built_for_kernel.is_empty() {
        findings.push(
            Finding::new(
                "GG010",
                Severity::Error,
                format!(
                    "kernel {kernel} has no NVIDIA module (DKMS has {} for other kernels): the node was upgraded without rebuilding the driver",
                    if f.dkms_versions.is_empty() { "none".to_owned() } else { f.dkms_versions.join(", ") }
                ),
                "install the driver for this kernel (`dkms autoinstall`, or the linux-modules-nvidia package for it) and reboot, or boot the previous kernel; pin kernel upgrades on GPU nodes",
            )
            .with_evidence("kernel", kernel)
            .with_evidence("dkms_versions", f.dkms_versions.clone()),
        );
    }
    for (file, line, text) in &f.dkms_errors {
        findings.push(
            Finding::new("GG010", Severity::Error, format!("DKMS build of the NVIDIA module failed: {file}:{line}: {text}"), "fix the build (kernel headers for this kernel, a compiler matching the kernel's) and run `dkms autoinstall`; or use a driver release that supports this kernel")
                .with_location(crate::Location { file: Some(file.clone()), line: Some(*line), ..Default::default() })
                .with_evidence("kernel", kernel),
        );
    }
    if let (Some(module), Some(lib)) = (&f.module_version, nvml_version) {
        if module != lib {
            findings.push(
                Finding::new(
                    "GG010",
                    Severity::Error,
                    format!("Driver/library version mismatch: kernel module {module} but user-space NVML library {lib}"),
                    "reboot the node to load the module that matches the installed driver (or reinstall the driver the module came with); in a container, the driver libraries must come from the host",
                )
                .with_evidence("module_version", module.as_str())
                .with_evidence("library_version", lib),
            );
        }
    }
    let seen = format!(
        "kernel {kernel}, module {}, {} module file(s), DKMS {}",
        f.module_version.as_deref().unwrap_or("not loaded"),
        f.module_files.len(),
        if f.dkms_versions.is_empty() { "none".to_owned() } else { f.dkms_versions.join(",") }
    );
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new("driver", status, seen), findings)
}
