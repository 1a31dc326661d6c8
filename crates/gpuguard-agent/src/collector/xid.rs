//! XID events per GPU and code. Thin on purpose: the families, their labels and the bound on
//! their rows (`gpuguard::xid::MAX_SUMMARY_ROWS`, then GPU `other`) belong to the XID module;
//! this collector only hands it the agent's running summary.

use super::Collector;
use crate::state::AgentState;
use gpuguard::render::prometheus::MetricFamily;
use gpuguard::xid::XidSummary;

/// `gpuguard_xid_*` from the followed kernel logs.
#[derive(Debug, Clone, Copy)]
pub struct XidCollector;

/// The XID module's families for `summary`.
pub fn xid_families(summary: &XidSummary) -> Vec<MetricFamily> {
    gpuguard::xid::xid_metrics(summary)
}

impl Collector for XidCollector {
    fn name(&self) -> &'static str {
        "xid"
    }

    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>) {
        out.extend(xid_families(&state.xid.summary()));
    }
}
