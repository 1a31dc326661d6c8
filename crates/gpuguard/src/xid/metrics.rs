//! XID summary → Prometheus families (the metrics sink).
//!
//! Series stay stable while an agent runs: every label of a series comes from the GPU and the
//! code (the `severity` label of `gpuguard_xid_events_total` is the code's, from the catalog),
//! never from an event's words. What the words decide (an NVLink `Nonfatal` is a warning, its
//! `Fatal` twin an error) is counted in two separate families, `gpuguard_xid_fatal_events_total`
//! and `gpuguard_xid_nonfatal_events_total`, each present for every row, zeros included, so a
//! series never appears or vanishes when a message changes.

use super::catalog::classify_xid;
use super::summary::XidSummary;
use crate::render::prometheus::{MetricFamily, MetricType};

/// Families for a scan: events, fatal and non-fatal events and root-cause events per GPU and
/// code; lines scanned; lines ignored (not the kernel's); events past the summary's bound.
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 145, RLW_SRC_TRACK Nonfatal XC0 i0 Link 05\n", "x", &mut |_| {});
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::xid::xid_metrics(&s.summary()));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="145",severity="error",category="nvlink"} 1"#));
/// assert!(text.contains(r#"gpuguard_xid_nonfatal_events_total{gpu="0000:3b:00",xid="145"} 1"#));
/// assert!(text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:3b:00",xid="145"} 0"#));
/// ```
pub fn xid_metrics(summary: &XidSummary) -> Vec<MetricFamily> {
    let mut events = MetricFamily::new(
        "gpuguard_xid_events_total",
        "NVIDIA XID events found in kernel logs (severity: the code's, from the catalog).",
        MetricType::Counter,
    );
    let mut fatal = MetricFamily::new(
        "gpuguard_xid_fatal_events_total",
        "XID events judged errors from their own words (an NVLink Fatal, an ECC error, fallen off the bus).",
        MetricType::Counter,
    );
    let mut nonfatal = MetricFamily::new(
        "gpuguard_xid_nonfatal_events_total",
        "XID events judged warnings or info from their own words (an NVLink Nonfatal, an application fault).",
        MetricType::Counter,
    );
    let mut roots = MetricFamily::new(
        "gpuguard_xid_root_cause_events_total",
        "XID events that are not follow-ons of another event on the same GPU.",
        MetricType::Counter,
    );
    for e in &summary.by_gpu {
        let xid = e.xid.to_string();
        let code_severity = classify_xid(e.xid).severity;
        let labels = [
            ("gpu", e.gpu.as_str()),
            ("xid", xid.as_str()),
            ("severity", code_severity.as_str()),
            ("category", e.category),
        ];
        events.push(&labels, e.count as f64);
        roots.push(&labels, e.root_cause_count as f64);
        let short = [("gpu", e.gpu.as_str()), ("xid", xid.as_str())];
        fatal.push(&short, e.by_severity.error as f64);
        nonfatal.push(&short, (e.by_severity.warning + e.by_severity.info) as f64);
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
    vec![events, fatal, nonfatal, roots, lines, ignored, overflow]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xid::XidScanner;

    /// The series (names and label sets) of a GPU whose NVLink errors are all Nonfatal are the
    /// series of one whose errors are Fatal: only the values differ.
    #[test]
    fn label_sets_never_depend_on_event_words() {
        let series = |words: &str| {
            let mut s = XidScanner::new();
            let line = format!("NVRM: Xid (PCI:0000:a3:00): 145, RLW_SRC_TRACK {words} XC0 i0 Link 05 (0x04084507)\n");
            s.scan_bytes(line.as_bytes(), "x", &mut |_| {});
            let text = crate::render::prometheus::to_prometheus(&xid_metrics(&s.summary()));
            let keys: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k).to_owned())
                .collect();
            (keys, text)
        };
        let (nonfatal, nonfatal_text) = series("Nonfatal");
        let (fatal, fatal_text) = series("Fatal");
        assert_eq!(nonfatal, fatal);
        assert!(nonfatal_text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:a3:00",xid="145"} 0"#));
        assert!(fatal_text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:a3:00",xid="145"} 1"#));
    }
}
