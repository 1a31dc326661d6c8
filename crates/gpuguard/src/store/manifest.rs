//! The manifest of one checkpoint: a JSON file inside the checkpoint directory listing every
//! file's relative path, size and checksum, with the step and creation time. It is written last,
//! before the atomic rename, so a checkpoint with a manifest that verifies is whole.

use super::checksum::ALGORITHM;
use serde::{Deserialize, Serialize};

/// The manifest's file name inside a checkpoint directory.
pub const MANIFEST_NAME: &str = ".gpuguard-manifest.json";

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the checkpoint directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Checksum (see [`Manifest::checksum`] for the algorithm), lowercase hex.
    pub checksum: String,
}

/// What a checkpoint holds, as recorded when it was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"gpuguard-checkpoint"`.
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The training step the checkpoint belongs to.
    pub step: u64,
    /// Seconds since the Unix epoch when it was published.
    pub created_unix: f64,
    /// The checksum algorithm (`xxh3-128`).
    pub checksum: String,
    /// Sum of the files' sizes.
    pub total_bytes: u64,
    /// Every file, sorted by path.
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// A manifest for `step` holding `files` (sorted here).
    ///
    /// ```
    /// use gpuguard::store::manifest::{Manifest, ManifestFile};
    /// let f = |p: &str| ManifestFile { path: p.into(), size: 2, checksum: "00".into() };
    /// let m = Manifest::new(7, 1.0, vec![f("b"), f("a")]);
    /// assert_eq!(m.files[0].path, "a");
    /// assert_eq!(m.total_bytes, 4);
    /// assert_eq!(Manifest::parse(&m.to_json()).unwrap(), m);
    /// ```
    pub fn new(step: u64, created_unix: f64, mut files: Vec<ManifestFile>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Manifest {
            format: "gpuguard-checkpoint".into(),
            version: FORMAT_VERSION,
            step,
            created_unix,
            checksum: ALGORITHM.into(),
            total_bytes: files.iter().map(|f| f.size).sum(),
            files,
        }
    }

    /// The manifest as pretty JSON.
    ///
    /// ```
    /// let m = gpuguard::store::manifest::Manifest::new(1, 0.0, vec![]);
    /// assert!(m.to_json().contains("\"step\": 1"));
    /// ```
    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Parses and checks a manifest; the error says what is wrong.
    ///
    /// ```
    /// use gpuguard::store::manifest::Manifest;
    /// assert!(Manifest::parse("{").unwrap_err().contains("not valid JSON"));
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
        if m.format != "gpuguard-checkpoint" {
            return Err(format!("manifest format is {:?}, expected \"gpuguard-checkpoint\"", m.format));
        }
        if m.version != FORMAT_VERSION {
            return Err(format!(
                "manifest version {} is not supported (this gpuguard reads {FORMAT_VERSION})",
                m.version
            ));
        }
        if m.checksum != ALGORITHM {
            return Err(format!("manifest checksum {:?} is not supported (expected {ALGORITHM:?})", m.checksum));
        }
        for f in &m.files {
            let bad = f.path.is_empty()
                || f.path.starts_with('/')
                || f.path.split('/').any(|c| c.is_empty() || c == "." || c == "..")
                || f.path == MANIFEST_NAME;
            if bad {
                return Err(format!("manifest lists an invalid path {:?}", f.path));
            }
        }
        if m.total_bytes != m.files.iter().map(|f| f.size).sum::<u64>() {
            return Err("manifest total_bytes does not match the sum of its files".into());
        }
        Ok(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `due()` compares the clock with the newest manifest's time: the time read back must be
    /// the time written, to the last bit (serde_json's default float parser can be one ulp off,
    /// which made a checkpoint "not due" at exactly its interval).
    #[test]
    fn created_time_round_trips_exactly() {
        for t in [1796065195.2018683, 1764524400.123_456_7, 0.1 + 0.2, 1.0e9 + 1.0 / 3.0] {
            let m = Manifest::new(1, t, Vec::new());
            assert_eq!(Manifest::parse(&m.to_json()).unwrap().created_unix.to_bits(), t.to_bits(), "{t}");
        }
    }

    #[test]
    fn rejects_paths_that_escape_and_foreign_manifests() {
        let mut m = Manifest::new(1, 0.0, vec![ManifestFile { path: "../x".into(), size: 0, checksum: String::new() }]);
        assert!(Manifest::parse(&m.to_json()).unwrap_err().contains("invalid path"));
        m.files.clear();
        m.version = 99;
        assert!(Manifest::parse(&m.to_json()).unwrap_err().contains("version 99"));
        assert!(Manifest::parse("{\"format\": 1}").is_err());
    }
}
