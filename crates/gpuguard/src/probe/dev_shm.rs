//! GG001 at run time: is /dev/shm big enough for the DataLoader that will use it?

use super::{Host, statvfs_bytes};
use crate::math::quantity::human_bytes;
use crate::{Check, CheckStatus, Finding, Severity, shm_recommended_size};

/// Docker's and Kubernetes' default /dev/shm: 64 MiB.
pub const DEFAULT_SHM_BYTES: u64 = 64 << 20;

/// What the DataLoader will ask of /dev/shm, when the caller knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderShape {
    /// `num_workers`.
    pub num_workers: u64,
    /// Bytes of one collated batch.
    pub batch_bytes: u64,
    /// `prefetch_factor`.
    pub prefetch_factor: u64,
    /// Loaders iterating at once.
    pub loaders: u64,
    /// Local processes sharing /dev/shm.
    pub local_processes: u64,
}

impl LoaderShape {
    /// The /dev/shm this loader needs ([`crate::shm_required_bytes`]), which also checks the
    /// shape: callers check it before running the doctor, so a `batch_bytes` of 0 is an input
    /// error naming the argument rather than a skipped check.
    ///
    /// ```
    /// use gpuguard::probe::dev_shm::LoaderShape;
    /// let shape = LoaderShape { num_workers: 4, batch_bytes: 0, prefetch_factor: 2, loaders: 1, local_processes: 1 };
    /// assert!(shape.required_bytes().unwrap_err().to_string().contains("batch_bytes"));
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`crate::shm_required_bytes`].
    pub fn required_bytes(&self) -> crate::Result<u64> {
        crate::shm_required_bytes(
            self.num_workers,
            self.batch_bytes,
            self.prefetch_factor,
            self.loaders,
            self.local_processes,
        )
    }
}

/// Checks /dev/shm under `host` against `loader` (or against the 64 MB default when unknown).
///
/// ```
/// use gpuguard::probe::{Host, dev_shm};
/// let (check, findings) = dev_shm::check(&Host::new("/nonexistent"), None);
/// assert_eq!(check.status, gpuguard::CheckStatus::Skipped);
/// assert!(findings.is_empty());
/// ```
pub fn check(host: &Host, loader: Option<LoaderShape>) -> (Check, Vec<Finding>) {
    let path = host.path("/dev/shm");
    let (free, total) = match statvfs_bytes(&path) {
        Ok(v) => v,
        Err(e) => {
            return (Check::new("dev-shm", CheckStatus::Skipped, format!("cannot statvfs /dev/shm: {e}")), vec![]);
        }
    };
    judge(free, total, loader)
}

/// [`check`], then the container's memory limit: /dev/shm pages are charged to the cgroup, so a
/// DataLoader that needs more shared memory than the limit allows is OOM-killed however big
/// /dev/shm is.
///
/// ```
/// use gpuguard::probe::{Host, dev_shm, cgroup::MemoryLimit};
/// let limit = MemoryLimit { bytes: Some(1 << 30), file: "/sys/fs/cgroup/memory.max".into() };
/// let (check, _) = dev_shm::check_with_limit(&Host::new("/nonexistent"), None, Some(&limit));
/// assert_eq!(check.name, "dev-shm");
/// ```
pub fn check_with_limit(
    host: &Host,
    loader: Option<LoaderShape>,
    limit: Option<&super::cgroup::MemoryLimit>,
) -> (Check, Vec<Finding>) {
    let (mut check, mut findings) = check(host, loader);
    let Some(limit) = limit else { return (check, findings) };
    let Some(bytes) = limit.bytes else {
        check.reason.push_str(&format!("; memory limit: none ({})", limit.file));
        return (check, findings);
    };
    check.reason.push_str(&format!("; memory limit {} ({})", human_bytes(bytes), limit.file));
    let need = loader.and_then(|l| {
        crate::shm_required_bytes(l.num_workers, l.batch_bytes, l.prefetch_factor, l.loaders, l.local_processes).ok()
    });
    if let Some(need) = need.filter(|&n| n > bytes) {
        findings.push(
            Finding::new(
                "GG001",
                Severity::Error,
                format!("the DataLoader needs {} of /dev/shm but the container's memory limit is {}: shm pages count against it, so the job will be OOM-killed", human_bytes(need), human_bytes(bytes)),
                "raise the container's memory limit above what /dev/shm plus the process needs, or lower num_workers/prefetch_factor",
            )
            .with_path("/dev/shm")
            .with_evidence("required_bytes", need)
            .with_evidence("memory_limit_bytes", bytes)
            .with_evidence("memory_limit_file", limit.file.clone()),
        );
        check.status = CheckStatus::Finding;
    }
    (check, findings)
}

/// The verdict for measured `free` and `total` bytes, separated from the measuring for tests.
pub fn judge(free: u64, total: u64, loader: Option<LoaderShape>) -> (Check, Vec<Finding>) {
    let seen = format!("/dev/shm: {} free of {}", human_bytes(free), human_bytes(total));
    let mut findings = Vec::new();
    match loader {
        Some(l) => match shm_recommended_size(l.num_workers, l.batch_bytes, l.prefetch_factor, l.loaders, l.local_processes, None) {
            Ok(rec) if rec.required_bytes > free => findings.push(
                Finding::new(
                    "GG001",
                    Severity::Error,
                    format!(
                        "/dev/shm has {} free but the DataLoader ({} workers × prefetch {} of {} batches) needs {}",
                        human_bytes(free),
                        l.num_workers,
                        l.prefetch_factor,
                        human_bytes(l.batch_bytes),
                        human_bytes(rec.required_bytes)
                    ),
                    format!(
                        "mount a Memory emptyDir at /dev/shm with sizeLimit: {} (Docker: --shm-size={}), or lower num_workers/prefetch_factor",
                        rec.quantity, rec.docker_shm_size
                    ),
                )
                .with_path("/dev/shm")
                .with_evidence("shm_free_bytes", free)
                .with_evidence("shm_total_bytes", total)
                .with_evidence("required_bytes", rec.required_bytes)
                .with_evidence("recommended_size", rec.quantity),
            ),
            Ok(_) => {}
            Err(e) => return (Check::new("dev-shm", CheckStatus::Skipped, e.to_string()), vec![]),
        },
        None if total <= DEFAULT_SHM_BYTES => findings.push(
            Finding::new(
                "GG001",
                Severity::Warning,
                format!(
                    "/dev/shm is {} (the Docker/Kubernetes default): DataLoader workers will die with a Bus error once batches × workers outgrow it",
                    human_bytes(total)
                ),
                "mount a Memory emptyDir at /dev/shm (sizeLimit 8Gi-16Gi, or what `gpuguard shm` says for your loader); Docker: --shm-size=8g",
            )
            .with_path("/dev/shm")
            .with_evidence("shm_free_bytes", free)
            .with_evidence("shm_total_bytes", total),
        ),
        None => {}
    }
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new("dev-shm", status, seen), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_size_warns_and_big_loader_errors() {
        let (c, f) = judge(64 << 20, 64 << 20, None);
        assert_eq!((c.status, f[0].severity), (CheckStatus::Finding, Severity::Warning));
        let loader =
            LoaderShape { num_workers: 2, batch_bytes: 8 << 20, prefetch_factor: 2, loaders: 1, local_processes: 1 };
        let (_, f) = judge(40 << 20, 64 << 20, Some(loader));
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].evidence["shm_free_bytes"], 40u64 << 20);
        let (c, f) = judge(16 << 30, 16 << 30, Some(loader));
        assert!(f.is_empty() && c.status == CheckStatus::Ok);
    }
}
