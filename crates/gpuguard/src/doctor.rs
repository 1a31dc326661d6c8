//! The doctor: every runtime probe, run once, collected into one [`Report`].

use crate::probe::{Host, dev_shm, gpu_devices};
use crate::{Check, CheckStatus, Report};

/// What the caller knows about the job, so checks can judge instead of only describe.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// GPUs the job expects to see.
    pub expect_gpus: Option<u32>,
    /// The DataLoader's shape, to size /dev/shm against.
    pub loader: Option<dev_shm::LoaderShape>,
}

/// Runs every probe against `host`.
///
/// ```
/// use gpuguard::doctor::{doctor, DoctorOptions};
/// let report = doctor(&gpuguard::probe::Host::default(), &DoctorOptions::default());
/// assert_eq!(report.command, "doctor");
/// assert!(report.checks.iter().any(|c| c.name == "dev-shm"));
/// ```
pub fn doctor(host: &Host, options: &DoctorOptions) -> Report {
    let mut report = Report::new("doctor");
    for (check, findings) in [dev_shm::check(host, options.loader), gpu_devices::check(host, options.expect_gpus)] {
        report.checks.push(check);
        report.findings.extend(findings);
    }
    report.checks.push(Check::new(
        "nvml",
        CheckStatus::Skipped,
        "this version does not query NVML yet (ECC, MIG, driver version are not checked)",
    ));
    report
}
