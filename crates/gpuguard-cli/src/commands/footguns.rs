use crate::output::print;
use clap::{Args, ValueEnum};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct FootgunsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CatalogFormat,
}

pub fn run(args: FootgunsArgs) -> std::io::Result<i32> {
    let catalog = gpuguard::catalog();
    let text = match args.format {
        CatalogFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
            "schema": gpuguard::report::SCHEMA_VERSION,
            "footguns": catalog,
            "errors": [],
            "summary": {"footguns": catalog.len()},
        }))
        .unwrap_or_default(),
        CatalogFormat::Text => {
            let mut out = String::new();
            for f in catalog {
                let _ = writeln!(out, "{}  {:<20} {:<8} {}", f.id, f.slug, f.default_severity.as_str(), f.title);
            }
            out.push_str("\nRun `gpuguard explain GG001` (or a slug) for what, why and how to fix.\n");
            out
        }
        CatalogFormat::Markdown => {
            let mut out = String::from("| id | slug | severity | title |\n|---|---|---|---|\n");
            for f in catalog {
                let _ = writeln!(out, "| {} | {} | {} | {} |", f.id, f.slug, f.default_severity, f.title);
            }
            out
        }
    };
    print(&text)?;
    Ok(crate::EXIT_OK)
}
