//! XID summary → Prometheus families (the metrics sink).
//!
//! Series stay stable while an agent runs: the labels of a series are the GPU, the code and the
//! code's category, never a severity (a `severity` label would say `error` for a `Nonfatal` 145,
//! or move the series when a message changes it). What the words decide (an NVLink `Nonfatal` is
//! a warning, its `Fatal` twin an error) is counted in two separate families,
//! `gpuguard_xid_fatal_events_total` and `gpuguard_xid_nonfatal_events_total`, each present for
//! every GPU and code, zeros included, so a series never appears or vanishes when a message
//! changes. Rows of different machines that share a bus id (a directory of several hosts' logs)
//! are summed, so no two samples ever carry the same labels.

use super::summary::{SeverityCounts, XidSummary};
use crate::render::prometheus::{MetricFamily, MetricType};
use std::collections::BTreeMap;

/// Families for a scan: events, fatal and non-fatal events and root-cause events per GPU and
/// code; lines scanned; lines ignored (not the kernel's); events past the summary's bound.
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 145, RLW_SRC_TRACK Nonfatal XC0 i0 Link 05\n", "x", &mut |_| {});
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::xid::xid_metrics(&s.summary()));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="145",category="nvlink"} 1"#));
/// assert!(text.contains(r#"gpuguard_xid_nonfatal_events_total{gpu="0000:3b:00",xid="145"} 1"#));
/// assert!(text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:3b:00",xid="145"} 0"#));
/// ```
pub fn xid_metrics(summary: &XidSummary) -> Vec<MetricFamily> {
    let mut events = MetricFamily::new(
        "gpuguard_xid_events_total",
        "NVIDIA XID events found in kernel logs, by GPU, code and the code's category.",
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
    // (gpu, xid) -> (category, events, root-cause events, by severity), summed over machines.
    let mut rows: BTreeMap<(&str, u32), (&str, u64, u64, SeverityCounts)> = BTreeMap::new();
    for e in &summary.by_gpu {
        let r = rows.entry((e.gpu.as_str(), e.xid)).or_insert((e.category, 0, 0, SeverityCounts::default()));
        r.1 += e.count;
        r.2 += e.root_cause_count;
        r.3.error += e.by_severity.error;
        r.3.warning += e.by_severity.warning;
        r.3.info += e.by_severity.info;
    }
    for ((gpu, xid), (category, count, root_count, by_severity)) in rows {
        let xid = xid.to_string();
        let labels = [("gpu", gpu), ("xid", xid.as_str()), ("category", category)];
        events.push(&labels, count as f64);
        roots.push(&labels, root_count as f64);
        let short = [("gpu", gpu), ("xid", xid.as_str())];
        fatal.push(&short, by_severity.error as f64);
        nonfatal.push(&short, (by_severity.warning + by_severity.info) as f64);
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
        // No severity label anywhere: a Nonfatal 145 must not read severity="error".
        assert!(!nonfatal_text.contains("severity="), "{nonfatal_text}");
        assert!(nonfatal_text.contains(r#"gpuguard_xid_events_total{gpu="0000:a3:00",xid="145",category="nvlink"} 1"#));
        assert!(nonfatal_text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:a3:00",xid="145"} 0"#));
        assert!(fatal_text.contains(r#"gpuguard_xid_fatal_events_total{gpu="0000:a3:00",xid="145"} 1"#));
    }
}
