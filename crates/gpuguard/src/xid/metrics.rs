//! XID summary → Prometheus families (the metrics sink).
//!
//! Series stay stable while an agent runs: every label of a series comes from the GPU and the
//! code, never from an event's words. An event's own severity (an NVLink `Nonfatal` is a
//! warning, its `Fatal` twin an error) is counted in the `severity` series, and each row always
//! has all three (`error`, `warning`, `info`), zeros included, so a series never appears or
//! vanishes when a message changes.

use super::summary::XidSummary;
use crate::render::prometheus::{MetricFamily, MetricType};

/// Families for a scan: events and root-cause events per GPU, code and event severity; lines
/// scanned; lines ignored (not the kernel's); events past the summary's bound.
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 145, RLW_SRC_TRACK Nonfatal XC0 i0 Link 05\n", "x", &mut |_| {});
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::xid::xid_metrics(&s.summary()));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="145",category="nvlink",severity="warning"} 1"#));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="145",category="nvlink",severity="error"} 0"#));
/// ```
pub fn xid_metrics(summary: &XidSummary) -> Vec<MetricFamily> {
    let mut events = MetricFamily::new(
        "gpuguard_xid_events_total",
        "NVIDIA XID events found in kernel logs, by GPU, code and the event's own severity.",
        MetricType::Counter,
    );
    let mut roots = MetricFamily::new(
        "gpuguard_xid_root_cause_events_total",
        "XID events that are not follow-ons of another event on the same GPU.",
        MetricType::Counter,
    );
    for e in &summary.by_gpu {
        let xid = e.xid.to_string();
        let base = [("gpu", e.gpu.as_str()), ("xid", xid.as_str()), ("category", e.category)];
        for (sev, n) in [("error", e.by_severity.error), ("warning", e.by_severity.warning), ("info", e.by_severity.info)]
        {
            let labels = [base[0], base[1], base[2], ("severity", sev)];
            events.push(&labels, n as f64);
        }
        roots.push(&base, e.root_cause_count as f64);
    }
    let mut lines =
        MetricFamily::new("gpuguard_xid_scanned_lines_total", "Log lines scanned for XID events.", MetricType::Counter);
    lines.push(&[], summary.lines as f64);
    let mut ignored = MetricFamily::new(
        "gpuguard_xid_ignored_lines_total",
        "Lines with XID text that user space wrote, not the kernel: never counted as events.",
        MetricType::Counter,
    );
    ignored.push(&[], summary.ignored.lines as f64);
    let mut overflow = MetricFamily::new(
        "gpuguard_xid_overflow_events_total",
        "XID events past the per-GPU summary's bound (GPUs x codes), counted but not broken down.",
        MetricType::Counter,
    );
    overflow.push(&[], summary.overflow_events as f64);
    vec![events, roots, lines, ignored, overflow]
}
