//! Helpers shared by the integration tests of `gpuguard`, `gpuguard-agent` and `gpuguard-cli`.
//!
//! A crate of its own (a dev-dependency, `publish = false`) rather than a feature of `gpuguard`:
//! a feature turned on for tests only would build the library a second time with a different
//! feature set in CI's one target directory, and everything above it with it.

use std::path::{Path, PathBuf};

/// The scripted NVML stand-in's C source (`nvml_stub/fake_nvml.c` in this crate); its header
/// comment lists the scenarios. The Python tests build it too (tests/conftest.py).
pub fn fake_nvml_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("nvml_stub/fake_nvml.c")
}

/// Builds the NVML stand-in for `scenario` (`healthy`, `ecc`, `mig`, `pcie`…) into a fresh
/// temporary directory with the system C compiler (`$CC`, else `cc`), and returns the directory
/// (keep it alive while the library is used) and the library's path.
///
/// Returns `None`, saying why on stderr, when there is no C compiler, so the calling test ends
/// early; panics when the compiler runs and fails (the stand-in no longer builds).
///
/// ```no_run
/// let Some((_dir, lib)) = gpuguard_test_support::fake_nvml("ecc") else { return };
/// assert!(lib.ends_with("libnvidia-ml-ecc.so"));
/// ```
pub fn fake_nvml(scenario: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(format!("libnvidia-ml-{scenario}.so"));
    let src = fake_nvml_source();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(&cc)
        .args(["-shared", "-fPIC", "-O0", &format!("-DSCENARIO=\"{scenario}\""), "-o"])
        .arg(&out)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some((dir, out)),
        Ok(s) => panic!("{cc} failed to build {}: {s}", src.display()),
        Err(e) => {
            eprintln!("skipped: no C compiler to build the NVML stand-in ({cc}: {e})");
            None
        }
    }
}
