//! NVIDIA XID events (GG005): the catalog of codes, a line parser for every log format, and a
//! streaming scanner that summarises per GPU and collapses follow-on events into their cause.
//!
//! ```
//! let e = gpuguard::xid::parse_xid_line(b"Jan  1 00:00:00 n1 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=x, GPU has fallen off the bus.").unwrap();
//! assert_eq!(gpuguard::xid::classify_xid(e.xid).category.as_str(), "pcie-bus");
//! ```

mod catalog;
mod find;
mod metrics;
mod parse;
mod scan;
mod window;

pub use catalog::{XidAction, XidCategory, XidInfo, classify_xid, known_xids, recovery_action_154};
pub use metrics::xid_metrics;
pub use parse::{XID_MARKER, XidEvent, parse_xid_line};
pub use scan::{GpuVerdict, XidRecord, XidScanner, XidSummary, XidSummaryEntry, xid_findings};
