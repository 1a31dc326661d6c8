//! The agent's metric families, one collector per file (node_exporter's `collector/` layout):
//! each turns one part of [`AgentState`] into [`MetricFamily`] values, and the HTTP side
//! ([`crate::exposition`]) never changes when a collector is added.
//!
//! - [`agent`]: the agent itself and the kernel logs it follows (up, state, bytes, rotations).
//! - [`xid`]: XID events per GPU and code, through the XID module's own families.
//! - [`nvml`]: NVML's view of each GPU: identity, MIG, processes, ECC, retired pages, remapped rows.
//! - [`doctor`]: the doctor's findings per rule and severity and its checks.
//! - [`http`]: the agent's HTTP side: connections served, open, refused, cut at their deadline.
//!
//! Label values come from bounded sets only (configured paths, GPU bus ids, rule ids, check
//! names, fixed enums), never from the text of an event or an error message.

pub mod agent;
pub mod doctor;
pub mod http;
pub mod nvml;
pub mod xid;

use crate::state::AgentState;
use gpuguard::Report;
use gpuguard::probe::nvml::NvmlFacts;
use gpuguard::render::prometheus::MetricFamily;
use gpuguard::xid::XidSummary;

/// One source of metric families.
pub trait Collector: Sync {
    /// A short name, for docs and errors (`xid`, `nvml`, ...).
    fn name(&self) -> &'static str;
    /// Appends this collector's families, as of `state`, to `out`.
    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>);
}

/// Every collector the agent serves, in page order.
pub const COLLECTORS: &[&dyn Collector] =
    &[&agent::AgentCollector, &http::HttpCollector, &xid::XidCollector, &nvml::NvmlCollector, &doctor::DoctorCollector];

/// Every family of every collector, as of `state`.
///
/// ```
/// let state = gpuguard_agent::AgentState::new(&["/var/log/kern.log".into()]);
/// let families = gpuguard_agent::collector::gather(&state);
/// assert!(families.iter().any(|f| f.name == "gpuguard_kernel_log_up"));
/// ```
pub fn gather(state: &AgentState) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    for c in COLLECTORS {
        c.collect(state, &mut out);
    }
    out
}

/// Everything known about a node from plain inputs, the same families the agent serves from its
/// XID, NVML and doctor collectors: what `gpuguard doctor --format prometheus` writes once for
/// node_exporter's textfile collector.
///
/// ```
/// let text = gpuguard_agent::exposition::encode(&gpuguard_agent::node_metrics(&Default::default(), None, None), gpuguard_agent::exposition::Format::Prometheus);
/// assert!(text.contains("gpuguard_nvml_up 0"));
/// ```
pub fn node_metrics(xid: &XidSummary, facts: Option<&NvmlFacts>, report: Option<&Report>) -> Vec<MetricFamily> {
    let mut out = xid::xid_families(xid);
    out.extend(nvml::nvml_up(facts.is_some()));
    if let Some(facts) = facts {
        out.extend(nvml::nvml_metrics(facts));
    }
    if let Some(report) = report {
        out.extend(doctor::finding_metrics(report));
    }
    out
}
