//! One XID event: what the log wrote, where, and its verdict (severity and action from the code
//! and the event's own words, whether it only follows another event).

use super::catalog::{classify_xid, judge_xid};
use super::parse::{LineKind, Parsed, XID_FINDER, next_marker, parse_line};
use crate::severity::Severity;
use serde::Serialize;

/// One XID event the kernel wrote, with where it was found and what it means.
///
/// The JSON shape of `gpuguard xid --format json`'s `events` and Python's `XidEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct XidEvent {
    /// The XID code.
    pub xid: u32,
    /// The PCI bus id as written (`0000:3b:00`), without the `PCI:` prefix; `None` if absent.
    pub pci: Option<String>,
    /// The MIG GPU instance the event hit (`(PCI:0000:01:00 GPU-I:05)` gives 5); the event still
    /// counts against the physical GPU in `pci`.
    pub gpu_instance: Option<u32>,
    /// The machine that logged the line, when its header names one (syslog's HOSTNAME, journald's
    /// `_HOSTNAME`, Talos' node address); `None` for raw `dmesg` and `/dev/kmsg`.
    pub host: Option<String>,
    /// Process id; `None` when absent or `'<unknown>'`.
    pub pid: Option<u32>,
    /// Process name, when given (`<unknown>` is kept as written).
    pub process: Option<String>,
    /// Input name (path, `<stdin>` or `<string>`).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// ISO 8601 when the log gives a date (`2026-03-14T08:02:11.1002003Z`, `dmesg -T` and
    /// `--time-format iso`, journalctl `short-iso` and `json`, RFC 5424, Talos); otherwise as
    /// written (`4321.123456` seconds since boot, `Mar 14 08:02:11`, kmsg microseconds).
    pub timestamp: Option<String>,
    /// This event's severity: its code's, unless its words change it (`Nonfatal`).
    pub severity: Severity,
    /// Cause category of the code.
    pub category: &'static str,
    /// What to do about this event (kebab-case [`super::XidAction`]).
    pub action: &'static str,
    /// The detail text after the code, pid and name.
    pub message: String,
    /// Name of the code.
    pub name: &'static str,
    /// The XID this one says it was caused by ("... caused by previous Xid 48").
    pub caused_by: Option<u32>,
    /// True when it is a consequence of another event: it names its cause ("caused by previous
    /// Xid N", even N = its own code or a cause outside the scanned log), or it is 45 after an
    /// error, 63/64 after 48, 154 after another code, on the same GPU.
    pub follow_on: bool,
    /// The words in the message that set `severity` and `action` ([`super::xid_word_rules`]).
    pub verdict_words: Option<&'static str>,
}

impl XidEvent {
    /// Builds the event for a parsed line; `follow_on` is decided by the caller.
    pub(crate) fn new(p: Parsed, file: &str, line: u64, follow_on: bool) -> Self {
        let info = classify_xid(p.xid);
        let judged = judge_xid(p.xid, &p.message);
        XidEvent {
            xid: p.xid,
            pci: p.pci,
            gpu_instance: p.gpu_instance,
            host: p.host,
            pid: p.pid,
            process: p.process,
            file: file.to_owned(),
            line,
            timestamp: p.timestamp,
            severity: judged.severity,
            category: info.category.as_str(),
            action: judged.action.as_str(),
            message: p.message,
            name: info.name,
            caused_by: p.caused_by,
            follow_on,
            verdict_words: judged.words,
        }
    }
}

/// Parses one line on its own (file `<string>`, line 1): its first event (an rsyslog line can
/// hold several, joined by `#012`; [`super::XidScanner`] reports them all). `None` for lines that are not XID events
/// (NVRM banners, "GPU at PCI…", API mismatch, "Xid" in other text) and for XID text a user-space
/// program wrote (see [`super::XidScanner`] for the count of those). A line that names its cause
/// is a follow-on; other follow-ons need the lines before it (scan them with
/// [`super::XidScanner`]).
///
/// ```
/// let e = gpuguard::xid::parse_xid_line(
///     b"[ 4321.123456] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, An uncorrectable double bit error",
/// ).unwrap();
/// assert_eq!((e.xid, e.pci.as_deref(), e.pid), (48, Some("0000:3b:00"), Some(2210)));
/// assert_eq!(e.timestamp.as_deref(), Some("4321.123456"));
/// assert!(gpuguard::xid::parse_xid_line(b"NVRM: loading NVIDIA UNIX x86_64 Kernel Module").is_none());
/// assert!(gpuguard::xid::parse_xid_line(b"Mar 14 08:05:40 n someuser[51234]: NVRM: Xid (PCI:0000:3b:00): 79, x").is_none());
/// ```
pub fn parse_xid_line(line: &[u8]) -> Option<XidEvent> {
    let mut at = XID_FINDER.find(line)?;
    loop {
        match parse_line(line, at) {
            LineKind::Event(p) => {
                let follow_on = p.caused_by.is_some();
                return Some(XidEvent::new(p, "<string>", 1, follow_on));
            }
            LineKind::Ignored { .. } => return None,
            // "NVRM: Xid tracking …#012NVRM: Xid (…): 13, …": the first event of the line.
            LineKind::NotXid => at = next_marker(line, at)?,
        }
    }
}
