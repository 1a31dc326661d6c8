//! `gpuguard lint [PATH|-]...`: Kubernetes manifests (files, directories, stdin) against the GPU
//! rules. Text output is grouped by file; JSON, SARIF and Markdown carry file and line per finding.

use crate::output::{FailOn, Format, LintFormat, OutputArgs, colour, emit_report, exit_code, print};
use clap::Args;
use gpuguard::Report;
use gpuguard::lint::{LintConfig, LintOptions};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files, directories (searched recursively for *.yaml, *.yml, *.json) or `-` for stdin
    /// (the default when stdin is not a terminal).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs<LintFormat>,
    /// Config file (rules to run, severities, fail level); default `.gpuguard.yaml` if present.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Do not honour `ignore-check.gpuguard.io/<rule>` annotations: findings they would silence
    /// are reported like any other (for CI that allows no in-manifest exceptions).
    #[arg(long)]
    no_ignore_annotations: bool,
    /// What one GPU node costs an hour, in USD: the cluster audit (GG002 on
    /// `kubectl get nodes,pods,daemonsets -A -o json`) then prices the share CPU pods take.
    #[arg(long, value_name = "USD")]
    gpu_node_hourly_cost: Option<f64>,
    /// Refuse inputs larger than this (default 64Mi; `1048576`, `1k`, `8Mi`, `1.5GiB` as every
    /// size flag reads them).
    #[arg(long, value_name = "BYTES", value_parser = super::parse_bytes)]
    max_file_bytes: Option<u64>,
}

pub fn run(a: LintArgs) -> std::io::Result<i32> {
    let config_path = a.config.clone().or_else(|| Some(PathBuf::from(".gpuguard.yaml")).filter(|p| p.is_file()));
    let mut config = match config_path.as_deref().map(LintConfig::load) {
        None => LintConfig::default(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("gpuguard lint: {e}");
            return Ok(crate::EXIT_ERROR);
        }
    };
    match a.gpu_node_hourly_cost {
        Some(c) if !(c.is_finite() && c > 0.0) => {
            eprintln!("gpuguard lint: --gpu-node-hourly-cost must be a price above 0 (USD an hour), got {c}");
            return Ok(crate::EXIT_ERROR);
        }
        Some(c) => config.gpu_node_hourly_cost = Some(c),
        None => {}
    }
    if let Some(b) = a.max_file_bytes {
        config.max_file_bytes = Some(b);
    }
    let fail_on = match (a.output.fail_on(), config.fail_on.as_deref()) {
        (Some(f), _) => f,
        (None, Some(level)) => clap::ValueEnum::from_str(level, true).unwrap_or(FailOn::Warning),
        (None, None) => FailOn::Warning,
    };
    let opts = LintOptions { config, ignore_annotations: !a.no_ignore_annotations };
    let paths = if a.paths.is_empty() {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!("gpuguard lint: give files or directories to lint, or `-` to read manifests from stdin");
            return Ok(crate::EXIT_ERROR);
        }
        vec![PathBuf::from("-")]
    } else {
        a.paths
    };
    // `-` is standard input, wherever it appears; the rest are paths, linted in order.
    let given = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let mut report = gpuguard::Report::new("lint");
    let mut batch: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            report.merge(gpuguard::lint::lint_paths(&std::mem::take(&mut batch), &opts));
            report.merge(gpuguard::lint::lint_reader(std::io::stdin().lock(), "<stdin>", &opts));
        } else {
            batch.push(p);
        }
    }
    report.merge(gpuguard::lint::lint_paths(&batch, &opts));
    // No object read anywhere (empty stdin from a failed `helm template`, a binary file): exit 2.
    gpuguard::lint::require_objects(&mut report, &given);
    if a.output.format() != Format::Text {
        return emit_report(&report, a.output.format(), fail_on);
    }
    print(&grouped_text(&report, colour()))?;
    Ok(exit_code(&report, fail_on))
}

fn file_of(f: &Option<String>) -> &str {
    f.as_deref().unwrap_or("")
}

/// The text report, one section per file (in the order the files were linted), then the totals.
fn grouped_text(report: &Report, colour: bool) -> String {
    let mut files: Vec<&str> = Vec::new();
    for name in
        report.findings.iter().map(|f| file_of(&f.location.file)).chain(report.errors.iter().map(|e| e.file.as_str()))
    {
        if !files.contains(&name) {
            files.push(name);
        }
    }
    let mut out = String::new();
    for file in files {
        let mut part = Report::new("lint");
        part.findings = report.findings.iter().filter(|f| file_of(&f.location.file) == file).cloned().collect();
        part.errors = report.errors.iter().filter(|e| e.file == file).cloned().collect();
        let text = gpuguard::render::to_text(&part, colour);
        // Drop the per-part totals line: the whole run's comes last.
        let body = text.trim_end().rsplit_once('\n').map_or("", |(b, _)| b);
        out.push_str(&format!(
            "{}\n{body}\n\n",
            if colour { format!("\x1b[1;4m{file}\x1b[0m") } else { file.to_owned() }
        ));
    }
    let mut totals = Report::new("lint");
    totals.findings = report.findings.clone();
    totals.errors = report.errors.clone();
    let text = gpuguard::render::to_text(&Report { checks: Vec::new(), ..totals }, colour);
    let totals_line = text.trim_end().rsplit('\n').next().unwrap_or("");
    // `lint: 0 error(s)…` becomes `lint: 12 object(s) in 3 input(s): 0 error(s)…`.
    let counted = format!("lint: {} object(s) in {} input(s): ", report.objects, report.inputs);
    out.push_str(&totals_line.strip_prefix("lint: ").map_or_else(|| totals_line.to_owned(), |t| counted + t));
    let suppressed = report.suppressed.len();
    if suppressed > 0 {
        out.push_str(&format!(
            "\n{suppressed} finding(s) suppressed by ignore-check.gpuguard.io annotations; --format json lists them (`suppressed`)"
        ));
    }
    let skipped = report.skipped.len();
    if skipped > 0 {
        out.push_str(&format!(
            "\n{skipped} object(s) skipped (a kind gpuguard does not check, with no pod spec in it); --format json lists them"
        ));
    }
    // Inputs that were not read (FIFOs, devices, symlink loops): few, so each is named here.
    for c in report.checks.iter().filter(|c| c.status == gpuguard::CheckStatus::Skipped) {
        out.push_str(&format!("\ninput skipped: {}", c.reason));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_grouped_by_file() {
        let opts = LintOptions::default();
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: t\n    resources: {requests: {nvidia.com/gpu: 1}}\n";
        let node = "kind: Node\nmetadata: {name: n, labels: {nvidia.com/gpu.present: 'true'}}\n---\nkind: [\n";
        let mut report = gpuguard::lint::lint_text(pod, "a.yaml", &opts);
        report.merge(gpuguard::lint::lint_text(node, "b.yaml", &opts));
        report.merge(gpuguard::lint::lint_text("kind: Widget\nmetadata: {name: w}\n", "c.yaml", &opts));
        insta::assert_snapshot!(grouped_text(&report, false));
    }
}
