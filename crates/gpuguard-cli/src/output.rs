//! The output contract every reporting command shares: `--format`, the hidden `--json` alias and
//! `--fail-on` ([`OutputArgs`], flattened into each command's arguments), colour on a TTY only,
//! and one write that reports a closed pipe instead of panicking like `println!`.

use clap::{Args, ValueEnum};
use gpuguard::{Report, Severity};
use std::io::{IsTerminal, Write};

/// Every output format gpuguard can print. Each command offers a subset through its own
/// [`FormatChoice`] enum, so `--help` and shell completions list only what it can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people (colour on a terminal).
    Text,
    /// The versioned JSON schema (`{"schema": 1, ...}`).
    Json,
    /// Markdown, for PR comments and CI job summaries.
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// Prometheus text exposition (for node_exporter's textfile collector).
    Prometheus,
}

/// A command's set of formats: a clap value enum that maps onto [`Format`].
pub trait FormatChoice: ValueEnum + Clone + Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The format `--json` stands for.
    const JSON: Self;
    /// The format this choice prints.
    fn format(self) -> Format;
}

/// Declares a command's format enum: the variants it offers, each mapped to [`Format`].
macro_rules! format_choice {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl FormatChoice for $name {
            const JSON: Self = $name::Json;
            fn format(self) -> Format {
                match self {
                    $($name::$variant => Format::$variant),+
                }
            }
        }
    };
}

format_choice! {
    /// Formats of the commands that print a report or a plan.
    ReportFormat {
        /// For people.
        Text,
        /// The versioned JSON schema.
        Json,
        /// Markdown, for PR comments and CI job summaries.
        Markdown,
    }
}

format_choice! {
    /// Formats of `gpuguard lint`.
    LintFormat {
        /// Findings grouped by file (colour on a terminal).
        Text,
        /// The versioned JSON schema, with file and line per finding.
        Json,
        /// Markdown tables, for PR comments and CI job summaries.
        Markdown,
        /// SARIF 2.1.0, for GitHub code scanning.
        Sarif,
    }
}

format_choice! {
    /// Formats of `gpuguard xid`.
    XidFormat {
        /// Findings per GPU and code, then a verdict per GPU.
        Text,
        /// `{"schema": 1, "events": [...], "summary": {...}, "findings": [...], "errors": [...]}`.
        Json,
        /// Markdown tables, for PR comments and incident notes.
        Markdown,
        /// Prometheus text exposition (for node_exporter's textfile collector).
        Prometheus,
    }
}

format_choice! {
    /// Formats of `gpuguard doctor`.
    DoctorFormat {
        /// For people (colour on a terminal).
        Text,
        /// The versioned JSON schema.
        Json,
        /// Markdown tables.
        Markdown,
        /// SARIF 2.1.0.
        Sarif,
        /// Prometheus text exposition, the agent's metrics once (for node_exporter's textfile
        /// collector): `gpuguard_finding{rule,severity}`, NVML and XID families.
        Prometheus,
    }
}

/// `--format` and its hidden alias `--json`, for commands that print but never fail on
/// findings (`explain`, `footguns`).
#[derive(Debug, Args)]
pub struct FormatArgs<F: FormatChoice> {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: F,
    /// The same as `--format json` (kept for scripts written before `--format`).
    #[arg(long, hide = true, conflicts_with = "format")]
    json: bool,
}

impl<F: FormatChoice> FormatArgs<F> {
    /// The format asked for (`--json` is `--format json`).
    pub fn choice(&self) -> F {
        if self.json { F::JSON } else { self.format }
    }

    /// The format asked for, as a [`Format`].
    pub fn format(&self) -> Format {
        self.choice().format()
    }
}

/// `--format`, `--json` and `--fail-on`: flattened into every command that reports findings.
#[derive(Debug, Args)]
pub struct OutputArgs<F: FormatChoice> {
    #[command(flatten)]
    formats: FormatArgs<F>,
    /// Exit 1 when a finding is at or above this severity (`never`: findings never fail the run;
    /// input errors still exit 2). Default: error (lint: the config's, else warning).
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<FailOn>,
}

impl<F: FormatChoice> OutputArgs<F> {
    /// The format asked for, as the command's own enum.
    pub fn choice(&self) -> F {
        self.formats.choice()
    }

    /// The format asked for.
    pub fn format(&self) -> Format {
        self.formats.format()
    }

    /// `--fail-on` when given, else the command's `default`.
    pub fn fail_on_or(&self, default: FailOn) -> FailOn {
        self.fail_on.unwrap_or(default)
    }

    /// `--fail-on` as given.
    pub fn fail_on(&self) -> Option<FailOn> {
        self.fail_on
    }
}

/// Fail levels for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding fails the run.
    Info,
    /// Warnings and errors fail the run.
    Warning,
    /// Only errors fail the run.
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

/// Prints a value as pretty JSON.
pub fn print_json(value: &serde_json::Value) -> std::io::Result<()> {
    print(&serde_json::to_string_pretty(value).map_err(std::io::Error::other)?)
}

/// Labelled values as text (`label: value` lines) or as a two-column Markdown table.
pub fn key_values(rows: &[(&str, String)], markdown: bool) -> String {
    let mut out = if markdown { String::from("| | |\n|---|---|\n") } else { String::new() };
    for (label, value) in rows {
        if markdown {
            out.push_str(&format!("| {label} | {} |\n", value.replace('|', "\\|")));
        } else {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    out
}

/// The findings of a plan-style command (`shm`, `checkpoint`) after its text or Markdown.
pub fn findings_after(report: &Report, markdown: bool) -> String {
    if report.findings.is_empty() {
        return String::new();
    }
    if !markdown {
        // The shared renderer, so `warning[GG003] ...` reads as in lint, doctor and xid.
        return format!("\n{}", gpuguard::render::to_text(report, colour()));
    }
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!("\n**{} {}**: {}. Fix: {}.\n", f.severity, f.rule, f.message, f.fix));
    }
    out
}

/// Prints a report in `format` and returns the exit code for `fail_on`. Prometheus is the
/// command's own business (its metric families); here it prints the JSON schema.
pub fn emit_report(report: &Report, format: Format, fail_on: FailOn) -> std::io::Result<i32> {
    let text = match format {
        Format::Text => gpuguard::render::to_text(report, colour()),
        Format::Json | Format::Prometheus => gpuguard::render::to_json(report),
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

/// A clap value parser for counts (`--workers`, `--nodes`): a whole number ≥ 0, with a message
/// that says so for `-1` or `2.5` instead of clap's "invalid digit".
pub fn count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    let t = s.trim();
    if t.starts_with('-') && t[1..].parse::<f64>().is_ok() {
        return Err(format!("{t} is negative; give a whole number, 0 or more"));
    }
    let n: u64 = t.parse().map_err(|_| format!("{t:?} is not a whole number (0 or more)"))?;
    T::try_from(n).map_err(|_| format!("{t} is too large"))
}

/// A clap value parser for byte sizes: [`gpuguard::ByteSize`] (`64Mi`, `512m`, `2GiB`, bytes).
pub fn byte_size(s: &str) -> Result<gpuguard::ByteSize, String> {
    gpuguard::ByteSize::parse(s).map_err(|e| match e {
        gpuguard::Error::InvalidArgument { message, .. } => message,
        other => other.to_string(),
    })
}

/// A library error worded for the command line: the core names a bad argument as the Rust and
/// Python functions do (`num_workers`), which a CLI user never typed; `flags` maps those names
/// to the command's own flags (`("num_workers", "--workers")`). Other errors are left as they are.
///
/// ```text
/// invalid argument `num_workers`: must be at most 4096, got 100000
///   -> invalid `--workers`: must be at most 4096, got 100000
/// ```
pub fn flag_error(error: &gpuguard::Error, flags: &[(&str, &str)]) -> String {
    if let gpuguard::Error::InvalidArgument { name, message } = error
        && let Some((_, flag)) = flags.iter().find(|(arg, _)| arg == name)
    {
        return format!("invalid `{flag}`: {message}");
    }
    error.to_string()
}
