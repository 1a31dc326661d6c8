//! XID scan summary → Prometheus families.

use super::scan::XidSummary;
use crate::render::prometheus::{MetricFamily, MetricType};

/// Families for a scan: events and root-cause events per GPU and code, lines scanned.
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 48, DBE\n", "x", &mut |_| {});
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::xid::xid_metrics(&s.summary()));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48",severity="error",category="memory-ecc"} 1"#));
/// ```
pub fn xid_metrics(summary: &XidSummary) -> Vec<MetricFamily> {
    let mut events =
        MetricFamily::new("gpuguard_xid_events_total", "NVIDIA XID events found in kernel logs.", MetricType::Counter);
    let mut roots = MetricFamily::new(
        "gpuguard_xid_root_cause_events_total",
        "XID events that are not follow-ons of an earlier event on the same GPU.",
        MetricType::Counter,
    );
    for e in &summary.by_gpu {
        let xid = e.xid.to_string();
        let labels = [
            ("gpu", e.gpu.as_str()),
            ("xid", xid.as_str()),
            ("severity", e.severity.as_str()),
            ("category", e.category),
        ];
        events.push(&labels, e.count as f64);
        roots.push(&labels, e.root_cause_count as f64);
    }
    let mut lines =
        MetricFamily::new("gpuguard_xid_scanned_lines_total", "Log lines scanned for XID events.", MetricType::Counter);
    lines.push(&[], summary.lines as f64);
    vec![events, roots, lines]
}
