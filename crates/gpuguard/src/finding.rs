//! A finding: one footgun seen in one place, with the numbers that were judged.

use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// The values a check judged, in the order it judged them (`{"shm_free_bytes": 67108864, ...}`).
pub type Evidence = serde_json::Map<String, serde_json::Value>;

/// Where a finding was seen. Every field is optional: a manifest finding fills the file, line and
/// object fields; a host finding may fill only `path`. In JSON all keys are always present
/// (`null` when unknown) so consumers can rely on the shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Input name: a path, `<stdin>` or `<string>`.
    pub file: Option<String>,
    /// 1-based line (for manifests: at least the line where the object's document starts).
    pub line: Option<usize>,
    /// 0-based index of the YAML document in the file.
    pub document: Option<usize>,
    /// Kubernetes kind of the object.
    pub kind: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Object namespace.
    pub namespace: Option<String>,
    /// Container name within the object.
    pub container: Option<String>,
    /// Field path inside the object (`spec.template.spec.volumes`) or a filesystem path.
    pub path: Option<String>,
}

/// One footgun, seen once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, `GG001`…`GG010`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line that names the object and the numbers.
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// Where it was seen.
    #[serde(flatten)]
    pub location: Location,
    /// The values judged.
    pub evidence: Evidence,
}

impl Finding {
    /// A finding with no location and no evidence yet; add them with the builder methods.
    ///
    /// ```
    /// use gpuguard::{Finding, Severity};
    /// let f = Finding::new("GG001", Severity::Error, "/dev/shm is 64 MiB", "mount a Memory emptyDir")
    ///     .with_evidence("shm_total_bytes", 67108864u64)
    ///     .with_path("/dev/shm");
    /// assert_eq!(f.evidence["shm_total_bytes"], 67108864u64);
    /// assert_eq!(f.location.path.as_deref(), Some("/dev/shm"));
    /// ```
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.into(),
            severity,
            message: message.into(),
            fix: fix.into(),
            location: Location::default(),
            evidence: Evidence::new(),
        }
    }

    /// Adds one judged value to the evidence.
    pub fn with_evidence(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.evidence.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the whole location.
    pub fn with_location(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// Sets the location's path (a field path or a filesystem path).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.location.path = Some(path.into());
        self
    }

    /// The catalog slug of the rule (`dev-shm` for `GG001`), if the rule is known.
    ///
    /// ```
    /// let f = gpuguard::Finding::new("GG007", gpuguard::Severity::Error, "m", "f");
    /// assert_eq!(f.slug(), Some("gpu-requests-limits"));
    /// ```
    pub fn slug(&self) -> Option<&'static str> {
        crate::footguns::footgun(&self.rule).map(|f| f.slug)
    }
}
