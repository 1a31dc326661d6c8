//! `.gpuguard.yaml`: which rules run, their severities and the fail level.
//!
//! ```yaml
//! rules: [GG001, GG007]      # only these (default: all)
//! disable: [GG004]           # never these
//! severity: {GG003: warning} # override a rule's severity
//! fail-on: warning           # info | warning | error | never
//! hub-download-bytes-per-second: 100000000  # GG009: how fast weights come from the hub
//! gpu-node-hourly-cost: 32.77 # GG002 cluster audit: USD an hour for one GPU node
//! max-file-bytes: 67108864    # inputs larger than this are refused (default 64 MiB)
//! ```

use crate::footguns::RuleId;
use crate::severity::Severity;
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What an invalid config's error says about the format.
const KEYS: &str = "the keys are rules: [GG001, ...], disable: [GG004, ...], severity: {GG003: info|warning|error}, \
fail-on: info|warning|error|never, hub-download-bytes-per-second, gpu-node-hourly-cost, max-file-bytes";

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
    /// Bytes a second a model server downloads weights from the Hugging Face hub at (GG009 adds
    /// the download to the load time when there is no persistent cache); default
    /// [`DEFAULT_HUB_BYTES_PER_SECOND`].
    #[serde(default)]
    pub hub_download_bytes_per_second: Option<f64>,
    /// What one GPU node costs an hour, in USD, for the cluster audit (GG002) to price the share
    /// of GPU nodes that CPU pods take.
    #[serde(default)]
    pub gpu_node_hourly_cost: Option<f64>,
    /// The largest input read, in bytes (default 64 MiB).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
}

/// The hub download speed GG009 assumes when the config does not say: 100 MB/s, a good
/// datacenter link shared with the hub's per-client limits, not a lab benchmark.
pub const DEFAULT_HUB_BYTES_PER_SECOND: f64 = 100e6;

impl LintConfig {
    /// Parses a config file's text; errors name `file` and the line.
    ///
    /// ```
    /// let c = gpuguard::lint::LintConfig::parse("disable: [GG004]\nseverity: {GG003: info}\n", ".gpuguard.yaml").unwrap();
    /// use gpuguard::footguns::RuleId;
    /// assert!(!c.enabled(RuleId::GG004) && c.enabled(RuleId::GG001));
    /// assert_eq!(c.severity_of("GG003"), Some(gpuguard::Severity::Info));
    /// assert!(gpuguard::lint::LintConfig::parse("rule: [GG001]\n", "c.yaml").is_err());
    /// assert!(gpuguard::lint::LintConfig::parse("rules: [GG999]\n", "c.yaml").is_err());
    /// let c = gpuguard::lint::LintConfig::parse("hub-download-bytes-per-second: 5e7\ngpu-node-hourly-cost: 40\n", "c").unwrap();
    /// assert_eq!((c.hub_bytes_per_second(), c.gpu_node_hourly_cost), (5e7, Some(40.0)));
    /// assert!(gpuguard::lint::LintConfig::parse("gpu-node-hourly-cost: -1\n", "c").is_err());
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<LintConfig> {
        let (value, _) = crate::yaml::parse_value(text, file, 1)?;
        let value = if value.is_null() { serde_json::json!({}) } else { value };
        let parse_err = |message: String| Error::Parse { file: file.to_owned(), line: None, message };
        let config: LintConfig =
            serde_json::from_value(value).map_err(|e| parse_err(format!("invalid config: {e}; {KEYS}")))?;
        for id in config.rules.iter().chain(&config.disable).chain(config.severity.keys()) {
            if id.parse::<RuleId>().is_err() {
                return Err(parse_err(format!("unknown rule {id:?} (expected GG001…GG010)")));
            }
        }
        let positive = |v: Option<f64>, key: &str| match v {
            Some(x) if !(x.is_finite() && x > 0.0) => {
                Err(parse_err(format!("{key} must be a number above 0, got {x}")))
            }
            _ => Ok(()),
        };
        positive(config.hub_download_bytes_per_second, "hub-download-bytes-per-second")?;
        positive(config.gpu_node_hourly_cost, "gpu-node-hourly-cost")?;
        positive(config.max_file_bytes.map(|b| b as f64), "max-file-bytes")?;
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

    /// Whether rule `id` runs (the config may name rules by id or slug).
    pub fn enabled(&self, id: RuleId) -> bool {
        let names = |r: &String| r.parse::<RuleId>().ok() == Some(id);
        (self.rules.is_empty() || self.rules.iter().any(names)) && !self.disable.iter().any(names)
    }

    /// The hub download speed GG009 assumes, bytes a second.
    pub fn hub_bytes_per_second(&self) -> f64 {
        self.hub_download_bytes_per_second.unwrap_or(DEFAULT_HUB_BYTES_PER_SECOND)
    }

    /// The input size cap, bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes.unwrap_or(super::input::DEFAULT_MAX_FILE_BYTES)
    }

    /// The severity override for rule `id` (written as a rule id such as `GG003`), if any.
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        let want = id.parse::<RuleId>().ok()?;
        self.severity.iter().find(|(k, _)| k.parse::<RuleId>().ok() == Some(want)).map(|(_, s)| *s)
    }
}
