//! `gpuguard footguns`: the catalog of the ten footguns, one line each.

use crate::output::{Format, FormatArgs, ReportFormat, print, print_json};
use clap::Args;
use std::fmt::Write;

#[derive(Debug, Args)]
pub struct FootgunsArgs {
    #[command(flatten)]
    output: FormatArgs<ReportFormat>,
}

/// Prints the catalog in `format` (also `gpuguard explain` with no topic).
pub fn print_catalog(format: Format) -> std::io::Result<i32> {
    let catalog = gpuguard::catalog();
    match format {
        Format::Json => print_json(&serde_json::json!({
            "schema": gpuguard::SCHEMA_VERSION,
            "command": "footguns",
            "footguns": catalog,
            "errors": [],
            "summary": {"footguns": catalog.len()},
        }))?,
        Format::Markdown => {
            let mut out = String::from("| id | slug | severity | title |\n|---|---|---|---|\n");
            for f in catalog {
                let _ = writeln!(out, "| {} | {} | {} | {} |", f.id, f.slug, f.default_severity, f.title);
            }
            print(&out)?;
        }
        _ => {
            let mut out = String::new();
            for f in catalog {
                let _ = writeln!(out, "{}  {:<20} {:<8} {}", f.id, f.slug, f.default_severity.as_str(), f.title);
            }
            out.push_str("\nRun `gpuguard explain GG001` (or a slug) for what, why and how to fix.\n");
            print(&out)?;
        }
    }
    Ok(crate::EXIT_OK)
}

pub fn run(args: FootgunsArgs) -> std::io::Result<i32> {
    print_catalog(args.output.format())
}
