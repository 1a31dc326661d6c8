//! How bad a finding is. Ordered: `Info < Warning < Error`, so a fail level is a comparison.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong yet.
    Info,
    /// Likely to waste GPU time or money.
    Warning,
    /// Will crash, corrupt or lose work.
    Error,
}

impl Severity {
    /// The lowercase name used in every output format.
    ///
    /// ```
    /// assert_eq!(gpuguard::Severity::Warning.as_str(), "warning");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// All severities, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = crate::Error;

    /// Parses `info`, `warning` (or `warn`) and `error`, in any case.
    ///
    /// ```
    /// assert_eq!("WARN".parse::<gpuguard::Severity>().unwrap(), gpuguard::Severity::Warning);
    /// assert!("fatal".parse::<gpuguard::Severity>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            _ => Err(crate::Error::invalid("severity", format!("expected one of info, warning, error; got {s:?}"))),
        }
    }
}
