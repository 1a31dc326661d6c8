//! What the agent knows, shared between its threads: XID counts from the followed kernel log,
//! the last NVML sample, the last doctor report. Everything here is bounded: the XID summary
//! grows only with distinct GPU × code pairs, and the rest is replaced, not appended to.

use crate::metrics::node_metrics;
use gpuguard::Report;
use gpuguard::probe::nvml::NvmlFacts;
use gpuguard::render::prometheus::{MetricFamily, MetricType, to_prometheus};
use gpuguard::xid::XidScanner;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Counters of one followed kernel log.
#[derive(Debug, Clone, Default)]
pub struct LogStats {
    /// The path followed.
    pub source: String,
    /// Whether the last attempt to read it worked.
    pub up: bool,
    /// Bytes read.
    pub bytes: u64,
    /// Rotations seen (files).
    pub rotations: u64,
    /// Records overwritten before they were read (/dev/kmsg).
    pub lost: u64,
    /// Failed reads or opens.
    pub errors: u64,
    /// The last error, for people (logged, not exported: it would be an unbounded label).
    pub last_error: Option<String>,
    /// Next line number in the followed stream.
    pub next_line: u64,
}

/// The last NVML sample.
#[derive(Debug, Clone, Default)]
pub struct NvmlSample {
    /// Facts, when NVML answered.
    pub facts: Option<NvmlFacts>,
    /// Why it did not.
    pub failure: Option<String>,
    /// Samples taken.
    pub samples: u64,
    /// Unix time of the last sample.
    pub at: f64,
}

/// The agent's shared state.
#[derive(Debug)]
pub struct AgentState {
    started: f64,
    /// XID events from the followed logs.
    pub xid: XidScanner,
    /// One per followed log.
    pub logs: Vec<LogStats>,
    /// The last NVML sample.
    pub nvml: NvmlSample,
    /// The last doctor report, with its Unix time and duration in seconds.
    pub doctor: Option<(Report, f64, f64)>,
    /// When each follower last went round its loop (for `/healthz`).
    pub heartbeats: Vec<Instant>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn family(
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Vec<(&'static str, String)>, f64)>,
) -> MetricFamily {
    let mut f = MetricFamily::new(name, help, kind);
    for (labels, v) in samples {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        f.push(&labels, v);
    }
    f
}

fn resident_bytes() -> Option<f64> {
    // statm: size resident shared … in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as f64)
}

impl AgentState {
    /// A fresh state for `sources` (the followed logs).
    pub fn new(sources: &[String]) -> Self {
        AgentState {
            started: unix_now(),
            xid: XidScanner::new(),
            logs: sources.iter().map(|s| LogStats { source: s.clone(), next_line: 1, ..Default::default() }).collect(),
            nvml: NvmlSample::default(),
            doctor: None,
            heartbeats: vec![Instant::now(); sources.len()],
        }
    }

    /// Every metric family the agent serves.
    pub fn families(&self) -> Vec<MetricFamily> {
        let gauge = MetricType::Gauge;
        let counter = MetricType::Counter;
        let per_log = |f: fn(&LogStats) -> f64| {
            self.logs.iter().map(move |l| (vec![("source", l.source.clone())], f(l))).collect::<Vec<_>>()
        };
        let mut out = vec![
            family(
                "gpuguard_agent_info",
                "The running gpuguard agent (value 1).",
                gauge,
                [(vec![("version", env!("CARGO_PKG_VERSION").to_owned())], 1.0)],
            ),
            family(
                "process_start_time_seconds",
                "Start time of the agent since the Unix epoch.",
                gauge,
                [(vec![], self.started)],
            ),
            family(
                "process_resident_memory_bytes",
                "Resident memory of the agent.",
                gauge,
                resident_bytes().map(|b| (vec![], b)),
            ),
            family(
                "gpuguard_kernel_log_up",
                "1 when the followed kernel log could be read on the last try.",
                gauge,
                per_log(|l| f64::from(u8::from(l.up))),
            ),
            family(
                "gpuguard_kernel_log_bytes_total",
                "Bytes read from the followed kernel log.",
                counter,
                per_log(|l| l.bytes as f64),
            ),
            family(
                "gpuguard_kernel_log_rotations_total",
                "Rotations (rename or truncation) of the followed log.",
                counter,
                per_log(|l| l.rotations as f64),
            ),
            family(
                "gpuguard_kernel_log_lost_records_total",
                "Kernel records overwritten in the ring buffer before they were read.",
                counter,
                per_log(|l| l.lost as f64),
            ),
            family(
                "gpuguard_kernel_log_errors_total",
                "Failed opens or reads of the followed kernel log.",
                counter,
                per_log(|l| l.errors as f64),
            ),
        ];
        let report = self.doctor.as_ref().map(|(r, _, _)| r);
        out.extend(node_metrics(&self.xid.summary(), self.nvml.facts.as_ref(), report));
        out.push(family(
            "gpuguard_nvml_samples_total",
            "NVML samples taken.",
            counter,
            [(vec![], self.nvml.samples as f64)],
        ));
        if self.nvml.samples > 0 {
            out.push(family(
                "gpuguard_nvml_last_sample_timestamp_seconds",
                "When NVML was last sampled.",
                gauge,
                [(vec![], self.nvml.at)],
            ));
        }
        if let Some((_, at, took)) = &self.doctor {
            out.push(family(
                "gpuguard_doctor_last_run_timestamp_seconds",
                "When the doctor last ran.",
                gauge,
                [(vec![], *at)],
            ));
            out.push(family(
                "gpuguard_doctor_duration_seconds",
                "How long the last doctor run took.",
                gauge,
                [(vec![], *took)],
            ));
        }
        out
    }

    /// `/metrics` in the Prometheus text format.
    pub fn render(&self) -> String {
        to_prometheus(&self.families())
    }
}
