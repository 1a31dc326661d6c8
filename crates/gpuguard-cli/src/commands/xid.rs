//! `gpuguard xid`: scan kernel logs for NVIDIA XID events (and optionally nvidia-smi -q ECC
//! snapshots), classify them, collapse follow-ons into root causes, and exit 1 on bad ones.

use crate::output::{FailOn, OutputArgs, XidFormat, colour};
use clap::Args;
use gpuguard::ecc::{EccSample, GpuEcc};
use gpuguard::xid::{XidEvent, XidReportTail, XidReportWriter, XidScanner};
use gpuguard::{InputError, Report};
use std::io::Write;
use std::path::PathBuf;

/// Output formats of `gpuguard xid`.
#[derive(Debug, Args)]
pub struct XidArgs {
    /// Kernel logs: files (plain or gzip), directories (scanned recursively) or `-` for stdin.
    /// Default: stdin.
    #[arg(value_name = "FILE|DIR|-")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs<XidFormat>,
    /// `nvidia-smi -q` (or `-q -d ECC`) output files, one snapshot each; two or more give the
    /// corrected-error rate per GPU (times from their Timestamp lines).
    #[arg(long = "nvidia-smi", value_name = "FILE")]
    nvidia_smi: Vec<PathBuf>,
    /// Alert when corrected ECC errors rise faster than this many per hour.
    #[arg(long, default_value_t = 100.0)]
    ecc_rate_threshold: f64,
}

fn read_ecc(paths: &[PathBuf], threshold: f64, report: &mut Report) -> Vec<GpuEcc> {
    let mut last: Vec<GpuEcc> = Vec::new();
    let mut series: std::collections::BTreeMap<String, Vec<EccSample>> = Default::default();
    for p in paths {
        let text = match std::fs::read(p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                report.errors.push(InputError { file: p.display().to_string(), line: None, message: e.to_string() });
                continue;
            }
        };
        let gpus = gpuguard::ecc::parse_nvidia_smi_q(&text);
        if gpus.is_empty() {
            report.errors.push(InputError {
                file: p.display().to_string(),
                line: None,
                message: "no `GPU <bus id>` section: not nvidia-smi -q output".into(),
            });
            continue;
        }
        let time = gpuguard::ecc::smi_timestamp_seconds(&text);
        for g in &gpus {
            if let (Some(t), Some(c)) = (time, g.volatile_corrected.or(g.aggregate_corrected)) {
                series.entry(g.gpu.clone()).or_default().push(EccSample { time_seconds: t, corrected: c });
            }
        }
        last = gpus;
    }
    report.findings.extend(gpuguard::ecc::ecc_findings(&last));
    for (gpu, samples) in &series {
        if samples.len() >= 2 {
            if let Ok(rate) = gpuguard::ecc::corrected_error_rate(samples, threshold) {
                report.findings.extend(gpuguard::ecc::ecc_rate_finding(gpu, &rate, threshold));
            }
        }
    }
    last
}

pub fn run(a: XidArgs) -> std::io::Result<i32> {
    if !(a.ecc_rate_threshold.is_finite() && a.ecc_rate_threshold >= 0.0) {
        eprintln!("gpuguard xid: --ecc-rate-threshold must be a number >= 0, got {}", a.ecc_rate_threshold);
        return Ok(crate::EXIT_ERROR);
    }
    let inputs = if a.inputs.is_empty() {
        // As `gpuguard lint`: waiting on a terminal for a log nobody types looks like a hang.
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!("gpuguard xid: give files or directories, or `-` to read stdin");
            return Ok(crate::EXIT_ERROR);
        }
        vec![PathBuf::from("-")]
    } else {
        a.inputs
    };
    let mut scanner = XidScanner::new();
    let mut report = Report::new("xid");
    let stdout = std::io::stdout();
    // JSON events are written as they are found, so memory stays flat for any log.
    let format = a.output.choice();
    let fail_on = a.output.fail_on_or(FailOn::Error);
    let mut json = match format {
        XidFormat::Json => Some(XidReportWriter::new(std::io::BufWriter::with_capacity(1 << 16, stdout.lock()))?),
        _ => None,
    };
    let mut on_event = |e: XidEvent| {
        if let Some(w) = json.as_mut() {
            w.event(&e);
        }
    };
    for p in &inputs {
        // `-` is stdin: a CLI convention, so it is decided here, not in the library.
        if p.as_os_str() == "-" {
            if let Err(e) = scanner.scan_reader(std::io::stdin().lock(), "<stdin>", &mut on_event) {
                report.errors.push(InputError { file: "<stdin>".into(), line: None, message: e.to_string() });
            }
        } else {
            scanner.scan_path(p, &mut report.errors, &mut on_event);
        }
    }
    let summary = scanner.summary();
    report.findings.extend(gpuguard::xid::xid_findings(&summary));
    let ecc = read_ecc(&a.nvidia_smi, a.ecc_rate_threshold, &mut report);
    if let Some(w) = json {
        w.finish(&XidReportTail::new(&summary, &report, &ecc))?;
        return Ok(crate::output::exit_code(&report, fail_on));
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match format {
        XidFormat::Json => {}
        XidFormat::Prometheus => {
            let mut fams = gpuguard::xid::xid_metrics(&summary);
            fams.extend(gpuguard::ecc::ecc_metrics(&ecc));
            // The same exposition writer as the agent's /metrics and `doctor --format prometheus`.
            out.write_all(
                gpuguard_agent::exposition::encode(&fams, gpuguard_agent::exposition::Format::Prometheus).as_bytes(),
            )?;
        }
        XidFormat::Text | XidFormat::Markdown => {
            let markdown = format == XidFormat::Markdown;
            let mut text = if markdown {
                gpuguard::render::to_markdown(&report)
            } else {
                gpuguard::render::to_text(&report, colour())
            };
            let bullet = if markdown { "- " } else { "" };
            for v in &summary.verdicts {
                text.push_str(&format!("{bullet}verdict: {}\n", v.message));
            }
            for n in &summary.notes {
                text.push_str(&format!("{bullet}note: {}: {}\n", n.file, n.message));
            }
            if summary.ignored.lines > 0 {
                text.push_str(&format!(
                    "{bullet}ignored {} line(s) with XID text that user space wrote, not the kernel (first: {}:{}, {})\n",
                    summary.ignored.lines,
                    summary.ignored.examples.first().map_or("", |e| e.file.as_str()),
                    summary.ignored.examples.first().map_or(0, |e| e.line),
                    summary.ignored.examples.first().map_or("", |e| e.reason.as_str()),
                ));
            }
            for o in &summary.off_bus {
                text.push_str(&format!(
                    "{bullet}gone from the bus: GPU {}{} ({}:{}): the driver's probe found it not responding, without an XID; action: {}\n",
                    o.gpu,
                    o.host.as_ref().map_or(String::new(), |h| format!(" on {h}")),
                    o.file,
                    o.line,
                    o.action
                ));
            }
            if summary.duplicates_dropped > 0 {
                text.push_str(&format!(
                    "{bullet}note: dropped {} duplicate record(s): the same timestamped kernel line in more than one input (rsyslog writes kernel lines to both kern.log and syslog)\n",
                    summary.duplicates_dropped
                ));
            }
            if summary.events == 0 {
                // An empty file, /dev/null or a log without kernel XID lines: say what was read,
                // so silence is never mistaken for a healthy GPU or a skipped input.
                text.push_str(&format!(
                    "{bullet}no XID event found: read {} line(s) in {} input(s){}\n",
                    summary.lines,
                    summary.inputs,
                    if summary.notes_total > 0 { " (see the notes above)" } else { "" }
                ));
            } else {
                text.push_str(&format!(
                    "{bullet}scanned {} line(s) in {} input(s): {} XID event(s)\n",
                    summary.lines, summary.inputs, summary.events
                ));
            }
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(crate::output::exit_code(&report, fail_on))
}
