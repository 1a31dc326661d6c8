//! `gpuguard xid`: scan kernel logs for NVIDIA XID events (and optionally nvidia-smi -q ECC
//! snapshots), classify them, collapse follow-ons into root causes, and exit 1 on bad ones.

use crate::output::{FailOn, OutputArgs, XidFormat, colour};
use clap::Args;
use gpuguard::ecc::{EccSample, GpuEcc};
use gpuguard::render::prometheus::to_prometheus;
use gpuguard::xid::{XidRecord, XidScanner, XidSummary};
use gpuguard::{InputError, Report};
use std::io::Write;
use std::path::PathBuf;

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

/// Writes events as they are found so memory stays flat for any log size; remembers the first
/// write error (a closed pipe) and stops writing.
struct EventSink<W: Write> {
    out: W,
    first: bool,
    error: Option<std::io::Error>,
}

impl<W: Write> EventSink<W> {
    fn push(&mut self, r: &XidRecord) {
        if self.error.is_some() {
            return;
        }
        let sep = if self.first { "\n    " } else { ",\n    " };
        self.first = false;
        let res = self
            .out
            .write_all(sep.as_bytes())
            .and_then(|()| serde_json::to_writer(&mut self.out, r).map_err(std::io::Error::from));
        if let Err(e) = res {
            self.error = Some(e);
        }
    }
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

fn summary_json(summary: &XidSummary, report: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(summary).unwrap_or_default();
    if let (Some(obj), Ok(serde_json::Value::Object(counts))) =
        (v.as_object_mut(), serde_json::to_value(report.summary()))
    {
        obj.extend(counts);
    }
    v
}

pub fn run(a: XidArgs) -> std::io::Result<i32> {
    if !(a.ecc_rate_threshold.is_finite() && a.ecc_rate_threshold >= 0.0) {
        eprintln!("gpuguard xid: --ecc-rate-threshold must be a number >= 0, got {}", a.ecc_rate_threshold);
        return Ok(crate::EXIT_ERROR);
    }
    let inputs = if a.inputs.is_empty() { vec![PathBuf::from("-")] } else { a.inputs };
    let mut scanner = XidScanner::new();
    let mut report = Report::new("xid");
    let stdout = std::io::stdout();
    let mut sink =
        EventSink { out: std::io::BufWriter::with_capacity(1 << 16, stdout.lock()), first: true, error: None };
    let format = a.output.choice();
    let json = format == XidFormat::Json;
    if json {
        sink.out.write_all(b"{\n  \"schema\": 1,\n  \"command\": \"xid\",\n  \"events\": [")?;
    }
    for p in &inputs {
        scanner.scan_path(p, &mut report.errors, &mut |r| {
            if json {
                sink.push(&r);
            }
        });
    }
    if let Some(e) = sink.error.take() {
        return Err(e);
    }
    let summary = scanner.summary();
    report.findings.extend(gpuguard::xid::xid_findings(&summary));
    let ecc = read_ecc(&a.nvidia_smi, a.ecc_rate_threshold, &mut report);
    let mut out = sink.out;
    match format {
        XidFormat::Json => {
            let tail = serde_json::json!({
                "summary": summary_json(&summary, &report),
                "findings": report.findings,
                "ecc": ecc,
                "errors": report.errors,
            });
            let tail = serde_json::to_string_pretty(&tail).unwrap_or_default();
            // Splice the rest of the object after the streamed events.
            out.write_all(if summary.events == 0 { b"],\n  " } else { b"\n  ],\n  " })?;
            out.write_all(tail.trim_start_matches('{').trim_start().as_bytes())?;
            out.write_all(b"\n")?;
        }
        XidFormat::Prometheus => {
            let mut fams = gpuguard::xid::xid_metrics(&summary);
            fams.extend(gpuguard::ecc::ecc_metrics(&ecc));
            out.write_all(to_prometheus(&fams).as_bytes())?;
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
            text.push_str(&format!(
                "{bullet}scanned {} line(s) in {} input(s): {} XID event(s)\n",
                summary.lines, summary.inputs, summary.events
            ));
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(crate::output::exit_code(&report, a.output.fail_on_or(FailOn::Error)))
}
