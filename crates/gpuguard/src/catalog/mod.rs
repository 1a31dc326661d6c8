//! The ten footguns, as data with their docs. One file per footgun, like ruff's one file per rule,
//! so `gpuguard explain GG001`, the docs and the checks read the same text.

mod gg001_dev_shm;
mod gg002_gpu_node_taint;
mod gg003_checkpointing;
mod gg004_time_slicing;
mod gg005_xid_errors;
mod gg006_model_cache;
mod gg007_gpu_requests_limits;
mod gg008_gpu_device_access;
mod gg009_probe_model_load;
mod gg010_kernel_driver;

use crate::severity::Severity;
use serde::Serialize;

/// One footgun: a well-known ops mistake that wastes GPU time, with its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Footgun {
    /// Stable rule id, `GG001`…`GG010`. Never changes meaning.
    pub id: &'static str,
    /// Stable short name (`dev-shm`).
    pub slug: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// What goes wrong, as the user sees it.
    pub what: &'static str,
    /// Why: the mechanism, with the numbers.
    pub why: &'static str,
    /// How to fix it.
    pub fix: &'static str,
    /// A minimal example of the mistake.
    pub example: &'static str,
    /// Where gpuguard catches it (manifest lint, runtime probe, kernel log, math).
    pub caught_by: &'static [&'static str],
    /// Severity its findings get unless a check says otherwise.
    pub default_severity: Severity,
}

static CATALOG: [Footgun; 10] = [
    gg001_dev_shm::FOOTGUN,
    gg002_gpu_node_taint::FOOTGUN,
    gg003_checkpointing::FOOTGUN,
    gg004_time_slicing::FOOTGUN,
    gg005_xid_errors::FOOTGUN,
    gg006_model_cache::FOOTGUN,
    gg007_gpu_requests_limits::FOOTGUN,
    gg008_gpu_device_access::FOOTGUN,
    gg009_probe_model_load::FOOTGUN,
    gg010_kernel_driver::FOOTGUN,
];

/// All footguns, in id order.
///
/// ```
/// let ids: Vec<_> = gpuguard::catalog().iter().map(|f| f.id).collect();
/// assert_eq!(ids.first(), Some(&"GG001"));
/// assert_eq!(ids.last(), Some(&"GG010"));
/// ```
pub fn catalog() -> &'static [Footgun] {
    &CATALOG
}

/// Looks a footgun up by id (`GG001`, `gg1`, `1`) or slug (`dev-shm`), ignoring case.
///
/// ```
/// assert_eq!(gpuguard::footgun("gg5").unwrap().slug, "xid-errors");
/// assert_eq!(gpuguard::footgun("dev-shm").unwrap().id, "GG001");
/// assert!(gpuguard::footgun("GG011").is_none());
/// ```
pub fn footgun(key: &str) -> Option<&'static Footgun> {
    let key = key.trim();
    let number = key.strip_prefix("GG").or_else(|| key.strip_prefix("gg")).unwrap_or(key).parse::<usize>().ok();
    CATALOG.iter().find(|f| {
        f.id.eq_ignore_ascii_case(key)
            || f.slug.eq_ignore_ascii_case(key)
            || number.is_some_and(|n| f.id[2..].parse::<usize>().ok() == Some(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs_are_unique_and_ordered() {
        for (i, f) in catalog().iter().enumerate() {
            assert_eq!(f.id, format!("GG{:03}", i + 1));
            assert!(!f.what.is_empty() && !f.why.is_empty() && !f.fix.is_empty());
            assert!(!f.example.is_empty() && !f.caught_by.is_empty());
        }
        let mut slugs: Vec<_> = catalog().iter().map(|f| f.slug).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), 10);
    }

    #[test]
    fn lookup_forms() {
        assert_eq!(footgun("GG010").map(|f| f.slug), Some("kernel-driver"));
        assert_eq!(footgun("10").map(|f| f.id), Some("GG010"));
        assert_eq!(footgun("Model-Cache").map(|f| f.id), Some("GG006"));
        assert!(footgun("").is_none());
        assert!(footgun("GG0").is_none());
    }
}
