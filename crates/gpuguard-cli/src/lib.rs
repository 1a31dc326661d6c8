//! The `gpuguard` command. [`run`] is the one entry point: the binary, `python -m gpuguard` and
//! the console script installed by pip all call it, so they cannot disagree.
//!
//! Exit codes (every subcommand): 0 = nothing at or above the fail level, 1 = findings at or
//! above it, 2 = usage or input error (the other inputs are still processed and reported).

mod commands;
mod output;

use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;

/// Nothing at or above the fail level.
pub const EXIT_OK: i32 = 0;
/// Findings at or above the fail level.
pub const EXIT_FINDINGS: i32 = 1;
/// Usage or input error.
pub const EXIT_ERROR: i32 = 2;

/// gpuguard catches the ML-ops mistakes that waste GPU time: /dev/shm too small for the
/// DataLoader, missing checkpoints, XID errors, broken drivers, GPU manifests Kubernetes rejects.
#[derive(Debug, Parser)]
#[command(name = "gpuguard", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Every subcommand takes negative numbers as values (`--workers -1`), so they reach the value
// parsers, which say what is wrong, instead of clap's "unexpected argument '-1'".
#[derive(Debug, Subcommand)]
enum Command {
    /// Check this machine (or container) for the footguns it can see.
    #[command(allow_negative_numbers = true)]
    Doctor(commands::doctor::DoctorArgs),
    /// List the ten footguns gpuguard knows.
    Footguns(commands::footguns::FootgunsArgs),
    /// Explain footguns and XID codes: `gpuguard explain GG001 dev-shm xid 48 79`; with none,
    /// list the rules.
    #[command(allow_negative_numbers = true)]
    Explain(commands::explain::ExplainArgs),
    /// How much /dev/shm a DataLoader needs, and the sizeLimit / --shm-size to set.
    #[command(allow_negative_numbers = true)]
    Shm(commands::shm::ShmArgs),
    /// Plan checkpoints: the optimal interval and what interruptions cost.
    #[command(allow_negative_numbers = true)]
    Checkpoint(commands::checkpoint::CheckpointArgs),
    /// Scan kernel logs for NVIDIA XID errors (and nvidia-smi -q ECC counters), say what to do.
    #[command(allow_negative_numbers = true)]
    Xid(commands::xid::XidArgs),
    /// Lint Kubernetes manifests for GPU and ML workload mistakes (files, directories, `-`).
    Lint(commands::lint::LintArgs),
    /// Run as a node agent: follow the kernel log, sample NVML, serve Prometheus /metrics.
    #[command(allow_negative_numbers = true)]
    Agent(commands::agent::AgentArgs),
    /// Print a shell completion script: `gpuguard completions bash > ~/.local/share/bash-completion/completions/gpuguard`.
    Completions(CompletionsArgs),
}

/// Arguments of `gpuguard completions`.
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes the completion script for `shell` to stdout.
fn completions(a: CompletionsArgs) -> std::io::Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "gpuguard", &mut script);
    output::print(&String::from_utf8_lossy(&script))?;
    Ok(EXIT_OK)
}

/// For a negative number given to an argument whose parser only knows "invalid digit" (a plain
/// `u32`), the sentence a person needs.
fn negative_hint(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::ValueValidation {
        return None;
    }
    let (Some(ContextValue::String(value)), Some(ContextValue::String(arg))) =
        (e.get(ContextKind::InvalidValue), e.get(ContextKind::InvalidArg))
    else {
        return None;
    };
    let negative = value.starts_with('-') && value[1..].parse::<f64>().is_ok();
    (negative && !e.to_string().contains("negative"))
        .then(|| format!("note: {arg} takes a number 0 or more, not {value}"))
}

/// Runs the command line `args` (the first item is the program name) and returns the exit code.
/// Never panics on user input; output errors such as a closed pipe end the run quietly.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            if let Some(hint) = negative_hint(&e) {
                eprintln!("{hint}");
            }
            return code;
        }
    };
    let result = match cli.command {
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Footguns(a) => commands::footguns::run(a),
        Command::Explain(a) => commands::explain::run(a),
        Command::Shm(a) => commands::shm::run(a),
        Command::Checkpoint(a) => commands::checkpoint::run(a),
        Command::Xid(a) => commands::xid::run(a),
        Command::Lint(a) => commands::lint::run(a),
        Command::Agent(a) => commands::agent::run(a),
        Command::Completions(a) => completions(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("gpuguard: {e}");
            EXIT_ERROR
        }
    }
}
