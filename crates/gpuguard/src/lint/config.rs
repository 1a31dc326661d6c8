//! `.gpuguard.yaml`: which rules run, their severities and the fail level.
//!
//! ```yaml
//! rules: [GG001, GG007]      # only these (default: all)
//! disable: [GG004]           # never these
//! severity: {GG003: warning} # override a rule's severity
//! fail-on: warning           # info | warning | error | never
//! ```

use crate::severity::Severity;
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The parsed config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Rules to run; empty means all.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rules never to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Fail level (`info`, `warning`, `error`, `never`); the CLI's `--fail-on` wins.
    #[serde(default)]
    pub fail_on: Option<String>,
}

impl LintConfig {
    /// Parses a config file's text; errors name `file` and the line.
    ///
    /// ```
    /// let c = gpuguard::lint::LintConfig::parse("disable: [GG004]\nseverity: {GG003: info}\n", ".gpuguard.yaml").unwrap();
    /// assert!(!c.enabled("GG004") && c.enabled("GG001"));
    /// assert_eq!(c.severity_of("GG003"), Some(gpuguard::Severity::Info));
    /// assert!(gpuguard::lint::LintConfig::parse("rule: [GG001]\n", "c.yaml").is_err());
    /// assert!(gpuguard::lint::LintConfig::parse("rules: [GG999]\n", "c.yaml").is_err());
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<LintConfig> {
        let value = crate::yaml::parse_value(text, file, 1)?;
        let value = if value.is_null() { serde_json::json!({}) } else { value };
        let parse_err = |message: String| Error::Parse { file: file.to_owned(), line: None, message };
        let config: LintConfig =
            serde_json::from_value(value).map_err(|e| parse_err(format!("invalid config: {e}")))?;
        for id in config.rules.iter().chain(&config.disable).chain(config.severity.keys()) {
            if crate::catalog::footgun(id).is_none() {
                return Err(parse_err(format!("unknown rule {id:?} (expected GG001…GG010)")));
            }
        }
        if let Some(level) = &config.fail_on {
            if level != "never" {
                level.parse::<Severity>().map_err(|e| parse_err(e.to_string()))?;
            }
        }
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &std::path::Path) -> Result<LintConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        LintConfig::parse(&text, &path.display().to_string())
    }

    /// Whether rule `id` runs.
    pub fn enabled(&self, id: &str) -> bool {
        (self.rules.is_empty() || self.rules.iter().any(|r| r.eq_ignore_ascii_case(id)))
            && !self.disable.iter().any(|r| r.eq_ignore_ascii_case(id))
    }

    /// The severity override for rule `id`, if any.
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        self.severity.get(id).copied()
    }
}
