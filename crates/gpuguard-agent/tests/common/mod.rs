//! Helpers shared by the agent's integration tests.

use std::path::{Path, PathBuf};

/// Builds the core crate's stand-in NVML for `scenario`, or `None` (test skipped, saying why)
/// without a C compiler.
pub fn fake_nvml(scenario: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(format!("libnvidia-ml-{scenario}.so"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpuguard/tests/nvml_stub/fake_nvml.c");
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
            eprintln!("skipped: no C compiler ({cc}: {e})");
            None
        }
    }
}
