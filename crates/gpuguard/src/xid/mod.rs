//! NVIDIA XID events (GG005): the catalog of codes, a line parser for every log format, and one
//! pipeline (ripgrep's searcher/sink split): sources ([`XidScanner::scan_path`] for files, mapped
//! files, gzip, directories, FIFOs and `/dev/kmsg`; [`XidScanner::scan_reader`] for stdin or any
//! reader; [`XidScanner::scan_continued`] for followed logs; journal JSON read per line) feed one
//! line engine, which feeds the sinks: the caller's event callback ([`XidEvent`]), the bounded
//! per-GPU summary ([`XidSummary`], its verdicts and [`xid_findings`]) and metrics
//! ([`xid_metrics`]). [`XidReportWriter`] writes `gpuguard xid --format json`.
//!
//! Only the kernel's word counts: XID text that a user-space program logged is counted in
//! [`XidSummary::ignored`], never an event.
//!
//! ```
//! let e = gpuguard::xid::parse_xid_line(b"Jan  1 00:00:00 n1 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=x, GPU has fallen off the bus.").unwrap();
//! assert_eq!(gpuguard::xid::classify_xid(e.xid).category.as_str(), "pcie-bus");
//! ```

mod catalog;
mod event;
mod find;
mod header;
mod journal;
mod metrics;
mod parse;
mod report;
mod scan;
mod source;
mod summary;
mod window;

pub use catalog::{
    XidAction, XidCategory, XidInfo, XidJudgement, XidWordRule, classify_xid, judge_xid, known_xids,
    recovery_action_154, xid_word_rules,
};
pub use event::{XidEvent, parse_xid_line};
pub use metrics::xid_metrics;
pub use parse::XID_MARKER;
pub use report::{XidReportTail, XidReportWriter};
pub use scan::XidScanner;
pub use summary::{
    GpuVerdict, MAX_CODES_PER_GPU, MAX_DEDUP_RECORDS, MAX_SUMMARY_GPUS, MAX_SUMMARY_ROWS, SeverityCounts, XidIgnored,
    XidIgnoredLine, XidNote, XidOffBus, XidSummary, XidSummaryEntry, xid_findings,
};
