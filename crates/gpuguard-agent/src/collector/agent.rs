//! The agent itself (version, start time, resident memory) and each kernel log it follows:
//! whether it could be read, what the path is now, bytes, rotations, lost records, errors.

use super::Collector;
use crate::follow::LogState;
use crate::state::{AgentState, LogStats};
use gpuguard::render::prometheus::{MetricFamily, MetricType};

/// `gpuguard_agent_info`, `process_*` and `gpuguard_kernel_log_*`.
#[derive(Debug, Clone, Copy)]
pub struct AgentCollector;

/// Resident memory of this process in bytes, from `/proc/self/statm`.
fn resident_bytes() -> Option<f64> {
    // statm: size resident shared … in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as f64)
}

fn single(name: &str, help: &str, kind: MetricType, value: f64) -> MetricFamily {
    let mut f = MetricFamily::new(name, help, kind);
    f.push(&[], value);
    f
}

fn per_log(state: &AgentState, name: &str, help: &str, kind: MetricType, value: fn(&LogStats) -> f64) -> MetricFamily {
    let mut f = MetricFamily::new(name, help, kind);
    for l in &state.logs {
        f.push(&[("source", &l.source)], value(l));
    }
    f
}

impl Collector for AgentCollector {
    fn name(&self) -> &'static str {
        "agent"
    }

    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>) {
        let mut info =
            MetricFamily::new("gpuguard_agent_info", "The running gpuguard agent (value 1).", MetricType::Gauge);
        info.push(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
        out.push(info);
        out.push(single(
            "process_start_time_seconds",
            "Start time of the agent since the Unix epoch.",
            MetricType::Gauge,
            state.started,
        ));
        if let Some(rss) = resident_bytes() {
            out.push(single("process_resident_memory_bytes", "Resident memory of the agent.", MetricType::Gauge, rss));
        }
        let (gauge, counter) = (MetricType::Gauge, MetricType::Counter);
        // Without it an agent that follows nothing has no gpuguard_kernel_log_* series at all,
        // and `gpuguard_kernel_log_up == 0` cannot fire for it.
        out.push(single(
            "gpuguard_kernel_logs_followed",
            "Kernel logs the agent follows; 0: none was named or found readable, XID events are not counted.",
            gauge,
            state.logs.len() as f64,
        ));
        out.push(per_log(
            state,
            "gpuguard_kernel_log_up",
            "1 when the followed kernel log could be read on the last try.",
            gauge,
            |l| f64::from(u8::from(l.up)),
        ));
        // One series per state, 1 for the current one: a path replaced by a device, removed or
        // unreadable is visible by what it is (the reason itself is in /healthz and the log).
        let mut states = MetricFamily::new(
            "gpuguard_kernel_log_state",
            "1 for what the followed path is now (ok, missing, not_regular, unreadable), 0 for the others.",
            gauge,
        );
        for l in &state.logs {
            for s in LogState::ALL {
                states.push(&[("source", &l.source), ("state", s.as_str())], f64::from(u8::from(l.state == s)));
            }
        }
        out.push(states);
        out.push(per_log(
            state,
            "gpuguard_kernel_log_bytes_total",
            "Bytes read from the followed kernel log.",
            counter,
            |l| l.bytes as f64,
        ));
        out.push(per_log(
            state,
            "gpuguard_kernel_log_rotations_total",
            "Rotations (rename or truncation) of the followed log.",
            counter,
            |l| l.rotations as f64,
        ));
        out.push(per_log(
            state,
            "gpuguard_kernel_log_lost_records_total",
            "Kernel records overwritten in the ring buffer before they were read.",
            counter,
            |l| l.lost as f64,
        ));
        out.push(per_log(
            state,
            "gpuguard_kernel_log_errors_total",
            "Failed opens or reads of the followed kernel log.",
            counter,
            |l| l.errors as f64,
        ));
    }
}
