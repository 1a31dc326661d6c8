//! Where and how commands print: formats, colour on a TTY only, and one write that reports a
//! closed pipe instead of panicking like `println!`.

use clap::ValueEnum;
use gpuguard::{Report, Severity};
use std::io::{IsTerminal, Write};

/// Output formats of report-producing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people (colour on a terminal).
    Text,
    /// The versioned JSON schema (`{"schema": 1, ...}`).
    Json,
    /// Markdown tables, for PR comments and CI job summaries.
    Markdown,
    /// SARIF 2.1.0, for code scanning (`gpuguard lint`).
    Sarif,
}

/// Fail levels for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    /// Never exit 1 because of findings.
    Never,
}

impl FailOn {
    /// The severity at or above which the run fails, if any.
    pub fn level(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Error => Some(Severity::Error),
            FailOn::Never => None,
        }
    }
}

/// Whether stdout gets ANSI colour: a terminal, and `NO_COLOR` unset.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes `text` to stdout, flushing; a closed pipe comes back as an error for the caller.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Prints a report in `format` and returns the exit code for `fail_on`.
pub fn emit_report(report: &Report, format: Format, fail_on: FailOn) -> std::io::Result<i32> {
    let text = match format {
        Format::Text => gpuguard::render::to_text(report, colour()),
        Format::Json => gpuguard::render::to_json(report),
        Format::Markdown => gpuguard::render::to_markdown(report),
        Format::Sarif => gpuguard::render::to_sarif(report),
    };
    print(&text)?;
    Ok(exit_code(report, fail_on))
}

/// 2 when an input could not be used, else 1 when a finding is at or above the fail level.
pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    if !report.errors.is_empty() {
        crate::EXIT_ERROR
    } else if fail_on.level().is_some_and(|l| report.fails_at(l)) {
        crate::EXIT_FINDINGS
    } else {
        crate::EXIT_OK
    }
}
