//! GG006 at run time: where will the Hugging Face libraries put downloaded models, and does that
//! directory outlive the pod?

use super::Host;
use super::mounts::{StorageRole, check_storage};
use crate::{Check, CheckStatus, Finding, Severity};

/// A resolved cache directory and the variable (or default) that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    /// Which library uses it (`huggingface_hub`, `transformers`).
    pub library: &'static str,
    /// The directory.
    pub path: String,
    /// What chose it (`HF_HUB_CACHE`, `HF_HOME`, `default`…).
    pub source: &'static str,
}

fn expand_home(host: &Host, p: &str) -> Option<String> {
    match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => Some(format!("{}{rest}", host.var("HOME")?)),
        _ => Some(p.to_owned()),
    }
}

fn set<'a>(host: &'a Host, name: &str) -> Option<&'a str> {
    host.var(name).filter(|v| !v.is_empty())
}

/// The hub cache in huggingface_hub's order (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub,
/// XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub), plus transformers' own directory
/// when the deprecated TRANSFORMERS_CACHE overrides it. Empty when no HOME is known.
///
/// ```
/// use gpuguard::probe::{Host, hf_cache};
/// let host = Host::new("/").with_env([("HOME", "/root"), ("HF_HOME", "/mnt/hf")]);
/// assert_eq!(hf_cache::resolve(&host)[0].path, "/mnt/hf/hub");
/// ```
pub fn resolve(host: &Host) -> Vec<CacheDir> {
    let hub = if let Some(p) = set(host, "HF_HUB_CACHE") {
        expand_home(host, p).map(|p| (p, "HF_HUB_CACHE"))
    } else if let Some(p) = set(host, "HUGGINGFACE_HUB_CACHE") {
        expand_home(host, p).map(|p| (p, "HUGGINGFACE_HUB_CACHE"))
    } else if let Some(p) = set(host, "HF_HOME") {
        expand_home(host, p).map(|p| (format!("{}/hub", p.trim_end_matches('/')), "HF_HOME"))
    } else if let Some(p) = set(host, "XDG_CACHE_HOME") {
        expand_home(host, p).map(|p| (format!("{}/huggingface/hub", p.trim_end_matches('/')), "XDG_CACHE_HOME"))
    } else {
        host.var("HOME").map(|h| (format!("{}/.cache/huggingface/hub", h.trim_end_matches('/')), "default"))
    };
    let mut out: Vec<CacheDir> =
        hub.into_iter().map(|(path, source)| CacheDir { library: "huggingface_hub", path, source }).collect();
    if let Some(p) = set(host, "TRANSFORMERS_CACHE").and_then(|p| expand_home(host, p)) {
        if out.first().is_none_or(|hub| hub.path != p) {
            out.push(CacheDir { library: "transformers", path: p, source: "TRANSFORMERS_CACHE" });
        }
    }
    out
}

const ROLE: StorageRole = StorageRole {
    check: "hf-cache",
    rule: "GG006",
    severity: Severity::Warning,
    what: "Hugging Face cache",
    fix: "set HF_HOME (or HF_HUB_CACHE) to a directory on a persistent volume so each restart does not download the model again",
};

/// Judges every cache directory the libraries will use.
///
/// ```
/// use gpuguard::probe::{Host, hf_cache};
/// let (check, _) = hf_cache::check(&Host::new("/nonexistent").with_env([("HOME", "/root")]));
/// assert_eq!(check.name, "hf-cache");
/// ```
pub fn check(host: &Host) -> (Check, Vec<Finding>) {
    let dirs = resolve(host);
    if dirs.is_empty() {
        return (
            Check::new(
                ROLE.check,
                CheckStatus::Skipped,
                "HOME is not set and no HF_HOME/HF_HUB_CACHE: cannot tell where the cache is",
            ),
            vec![],
        );
    }
    let mut reasons = Vec::new();
    let mut findings = Vec::new();
    let mut all_skipped = true;
    for d in &dirs {
        let (c, f) = check_storage(host, &d.path, ROLE);
        reasons.push(format!("{} cache (from {}): {}", d.library, d.source, c.reason));
        findings
            .extend(f.into_iter().map(|f| f.with_evidence("library", d.library).with_evidence("chosen_by", d.source)));
        all_skipped &= c.status == CheckStatus::Skipped;
    }
    let status = match (findings.is_empty(), all_skipped) {
        (false, _) => CheckStatus::Finding,
        (true, true) => CheckStatus::Skipped,
        (true, false) => CheckStatus::Ok,
    };
    (Check::new(ROLE.check, status, reasons.join("; ")), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(vars: &[(&str, &str)]) -> Vec<(String, &'static str)> {
        resolve(&Host::new("/").with_env(vars.iter().copied())).into_iter().map(|d| (d.path, d.source)).collect()
    }

    #[test]
    fn resolution_order() {
        let base = [("HOME", "/home/u")];
        assert_eq!(hub(&base), [("/home/u/.cache/huggingface/hub".to_owned(), "default")]);
        assert_eq!(hub(&[base[0], ("XDG_CACHE_HOME", "/xdg")])[0].0, "/xdg/huggingface/hub");
        assert_eq!(hub(&[base[0], ("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "~/hf")])[0].0, "/home/u/hf/hub");
        assert_eq!(hub(&[base[0], ("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")])[0].0, "/old");
        assert_eq!(
            hub(&[base[0], ("HF_HUB_CACHE", "/new"), ("HUGGINGFACE_HUB_CACHE", "/old")])[0],
            ("/new".to_owned(), "HF_HUB_CACHE")
        );
        let both = hub(&[base[0], ("TRANSFORMERS_CACHE", "/tc")]);
        assert_eq!(both.len(), 2);
        assert_eq!(both[1], ("/tc".to_owned(), "TRANSFORMERS_CACHE"));
        assert!(hub(&[]).is_empty());
        assert_eq!(hub(&[("HF_HOME", "")]).len(), 0, "empty values count as unset");
    }
}
