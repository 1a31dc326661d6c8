//! Arbitrary bytes through the manifest linter: YAML and JSON streams, documents the YAML and
//! JSON readers both see (text starting with `{`), and what libyaml accepts where yaml-rust2
//! refuses. Checks: no panic or hang; every document is linted or is an input error (never both
//! lost); every finding and error points at a line of the input; the report renders.
#![no_main]

use gpuguard::lint::{LintOptions, lint_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = lint_bytes(data, "fuzz.yaml", &LintOptions::default());
    let lines = data.split(|b| *b == b'\n').count().max(1);
    for f in &report.findings {
        let line = f.location.line;
        assert!(line.is_none_or(|l| (1..=lines).contains(&l)), "finding line {line:?} of {lines}: {f:?}");
    }
    for e in &report.errors {
        assert!(e.line.is_none_or(|l| (1..=lines).contains(&l)), "error line {:?} of {lines}: {e:?}", e.line);
    }
    let _ = gpuguard::render::to_json(&report);
    let _ = gpuguard::render::to_sarif(&report);
});
