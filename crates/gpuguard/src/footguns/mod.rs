//! The ten footguns, laid out like ruff's rules: one file per footgun holding its documentation
//! (what goes wrong, why with the numbers, an example, the fix: what `gpuguard explain` prints)
//! and, for those a manifest can show, its check. This module is the registry: typed rule ids
//! ([`RuleId`]), the catalog ([`catalog()`]) and the manifest checks ([`manifest_rules()`]), so the
//! docs, the README table and the checks cannot drift.

pub(crate) mod gg001_dev_shm;
pub(crate) mod gg002_gpu_node_taint;
pub(crate) mod gg003_checkpointing;
pub(crate) mod gg004_time_slicing;
pub(crate) mod gg005_xid_errors;
pub(crate) mod gg006_model_cache;
pub(crate) mod gg007_gpu_requests_limits;
pub(crate) mod gg008_gpu_device_access;
pub(crate) mod gg009_probe_model_load;
pub(crate) mod gg010_kernel_driver;

#[cfg(feature = "lint")]
use crate::lint::Ctx;
use crate::severity::Severity;
use serde::Serialize;

/// A rule id: one footgun, stable forever (`GG001`…`GG010`).
///
/// ```
/// use gpuguard::footguns::RuleId;
/// assert_eq!(RuleId::GG007.as_str(), "GG007");
/// assert_eq!("gg7".parse::<RuleId>().ok(), Some(RuleId::GG007));
/// assert_eq!("dev-shm".parse::<RuleId>().ok(), Some(RuleId::GG001));
/// assert!("GG011".parse::<RuleId>().is_err());
/// assert_eq!(RuleId::GG009.footgun().slug, "probe-model-load");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "&'static str")]
#[allow(missing_docs)]
pub enum RuleId {
    GG001,
    GG002,
    GG003,
    GG004,
    GG005,
    GG006,
    GG007,
    GG008,
    GG009,
    GG010,
}

impl RuleId {
    /// Every id, in order.
    pub const ALL: [RuleId; 10] = [
        RuleId::GG001,
        RuleId::GG002,
        RuleId::GG003,
        RuleId::GG004,
        RuleId::GG005,
        RuleId::GG006,
        RuleId::GG007,
        RuleId::GG008,
        RuleId::GG009,
        RuleId::GG010,
    ];

    /// The id as written in findings, configs and annotations (`GG001`).
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::GG001 => "GG001",
            RuleId::GG002 => "GG002",
            RuleId::GG003 => "GG003",
            RuleId::GG004 => "GG004",
            RuleId::GG005 => "GG005",
            RuleId::GG006 => "GG006",
            RuleId::GG007 => "GG007",
            RuleId::GG008 => "GG008",
            RuleId::GG009 => "GG009",
            RuleId::GG010 => "GG010",
        }
    }

    /// The footgun's documentation.
    pub fn footgun(self) -> &'static Footgun {
        &CATALOG[self as usize]
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<RuleId> for &'static str {
    fn from(id: RuleId) -> Self {
        id.as_str()
    }
}

impl From<RuleId> for String {
    fn from(id: RuleId) -> Self {
        id.as_str().to_owned()
    }
}

impl std::str::FromStr for RuleId {
    type Err = crate::Error;

    /// An id (`GG001`, `gg1`, `1`) or a slug (`dev-shm`), ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let f = footgun(s).ok_or_else(|| {
            crate::Error::invalid(
                "rule",
                format!("unknown rule {s:?} (expected GG001…GG010 or a slug such as dev-shm)"),
            )
        })?;
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == f.id)
            .ok_or_else(|| crate::Error::invalid("rule", format!("unknown rule {s:?}")))
    }
}

/// One footgun: a well-known ops mistake that wastes GPU time, with its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Footgun {
    /// Stable rule id, `GG001`…`GG010` (written from [`RuleId::as_str`]). Never changes meaning.
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

/// One manifest rule: its id and its check.
#[cfg(feature = "lint")]
#[derive(Debug, Clone, Copy)]
pub struct ManifestRule {
    /// The rule.
    pub id: RuleId,
    /// Looks at one object and records findings in the context.
    pub check: fn(&mut Ctx<'_>),
}

#[cfg(feature = "lint")]
static MANIFEST_RULES: [ManifestRule; 8] = [
    ManifestRule { id: RuleId::GG001, check: gg001_dev_shm::check },
    ManifestRule { id: RuleId::GG002, check: gg002_gpu_node_taint::check },
    ManifestRule { id: RuleId::GG003, check: gg003_checkpointing::check },
    ManifestRule { id: RuleId::GG004, check: gg004_time_slicing::check },
    ManifestRule { id: RuleId::GG006, check: gg006_model_cache::check },
    ManifestRule { id: RuleId::GG007, check: gg007_gpu_requests_limits::check },
    ManifestRule { id: RuleId::GG008, check: gg008_gpu_device_access::check },
    ManifestRule { id: RuleId::GG009, check: gg009_probe_model_load::check },
];

/// The footguns a manifest can show, with their checks, in id order (what `gpuguard lint` runs).
///
/// ```
/// let ids: Vec<_> = gpuguard::footguns::manifest_rules().iter().map(|r| r.id.as_str()).collect();
/// assert_eq!(ids, ["GG001", "GG002", "GG003", "GG004", "GG006", "GG007", "GG008", "GG009"]);
/// ```
#[cfg(feature = "lint")]
pub fn manifest_rules() -> &'static [ManifestRule] {
    &MANIFEST_RULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs_are_unique_and_ordered() {
        for (i, f) in catalog().iter().enumerate() {
            assert_eq!(f.id, format!("GG{:03}", i + 1));
            assert_eq!(RuleId::ALL[i].footgun().id, f.id);
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

    #[test]
    #[cfg(feature = "lint")]
    fn manifest_rules_say_they_are_caught_by_lint() {
        for r in manifest_rules() {
            assert!(r.id.footgun().caught_by.iter().any(|c| c.starts_with("manifest lint")), "{}", r.id);
        }
    }
}
