//! The per-GPU summary sink: counts per GPU and code, follow-ons told from root causes, one
//! verdict per GPU, GG005 findings. Bounded: at most [`MAX_SUMMARY_GPUS`] GPUs and
//! [`MAX_CODES_PER_GPU`] codes per GPU are kept (a garbled or hostile log can name endless GPUs
//! and codes, and the node agent keeps a summary for weeks); events past that are counted in
//! [`XidSummary::overflow_events`].

use super::catalog::{XidAction, classify_xid, judge_xid, recovery_action_154};
use super::event::XidEvent;
use super::parse::Parsed;
use crate::severity::Severity;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Most GPUs (PCI bus ids) the summary keeps. A node has at most a few dozen.
pub const MAX_SUMMARY_GPUS: usize = 256;
/// Most distinct codes the summary keeps per GPU. A failing GPU logs a handful.
pub const MAX_CODES_PER_GPU: usize = 64;
/// Most rows (GPU × code) a summary can hold: the one bound on its size (about 300 bytes a
/// row, so under 5 MiB), whatever the log. The agent's summary is this one.
pub const MAX_SUMMARY_ROWS: usize = MAX_SUMMARY_GPUS * MAX_CODES_PER_GPU;
/// Most ignored lines and notes kept as examples (all are counted).
const MAX_EXAMPLES: usize = 16;
/// Most distinct causes remembered per GPU from "caused by previous Xid N".
const MAX_NAMED_CAUSES: usize = 8;
/// Most recent timestamped kernel records remembered to drop the same record seen in another
/// input (8 bytes of hash and 8 of input number each, about 300 KiB with the map's overhead:
/// a node agent's memory stays flat under an XID storm). A record whose twin is further back
/// than this many XID records (a kern.log with more XID lines than this before its syslog copy)
/// is counted twice.
pub const MAX_DEDUP_RECORDS: usize = 1 << 13;
/// Most file-derived machine identities remembered (see [`file_machine`]).
const MAX_FILE_MACHINES: usize = 1024;
/// Log names that rsyslog, syslog-ng and dmesg write in one machine's log directory: their
/// rotated siblings (`kern.log.1`, `syslog.2.gz`, `messages-20261129`, `dmesg.0`) and each other
/// are the same machine.
const SYSTEM_LOGS: &[&str] = &["kern.log", "kern", "kernel.log", "syslog", "messages", "dmesg", "all.log", "warn"];

/// The machine a line that names none belongs to, from the file it came from: the directory
/// for a system log and its rotated siblings (`/var/log/kern.log` and `/var/log/syslog.1` are one
/// machine's), the file itself otherwise (`host-c-dmesg.txt` and `host-d-dmesg.txt` are not
/// known to be the same machine, so their `0000:3b:00` must not merge).
pub(crate) fn file_machine(file: &str) -> String {
    let path = std::path::Path::new(file);
    let base = path.file_name().map(|b| b.to_string_lossy().into_owned()).unwrap_or_default();
    let mut stem = base.strip_suffix(".gz").unwrap_or(&base);
    let digits = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    if let Some((s, _)) = stem.rsplit_once('.').filter(|(_, n)| digits(n)) {
        stem = s;
    }
    if let Some((s, _)) = stem.rsplit_once('-').filter(|(_, n)| n.len() == 8 && digits(n)) {
        stem = s;
    }
    if SYSTEM_LOGS.contains(&stem) {
        let dir = path.parent().map(|d| d.display().to_string()).unwrap_or_default();
        if dir.is_empty() { "./".to_owned() } else { format!("{}/", dir.trim_end_matches('/')) }
    } else {
        file.to_owned()
    }
}

/// Events of one row by their own severity (an event's words can lower its code's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Events judged `error` (NVLink `Fatal`, ECC, fallen off the bus …).
    pub error: u64,
    /// Events judged `warning` (NVLink `Nonfatal` …).
    pub warning: u64,
    /// Events judged `info`.
    pub info: u64,
}

impl SeverityCounts {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::Error => self.error += 1,
            Severity::Warning => self.warning += 1,
            Severity::Info => self.info += 1,
        }
    }
}

/// Per GPU and code: how many, how bad, when first and last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct XidSummaryEntry {
    /// PCI bus id as written, or `unknown`.
    pub gpu: String,
    /// The machine whose log holds the events, when the log names it: GPUs of different machines
    /// that share a PCI bus id get rows of their own.
    pub host: Option<String>,
    /// The code.
    pub xid: u32,
    /// Its name.
    pub name: &'static str,
    /// The worst severity of its events (each judged from its words).
    pub severity: Severity,
    /// Its category.
    pub category: &'static str,
    /// The action of its worst event.
    pub action: &'static str,
    /// Events seen.
    pub count: u64,
    /// Of those, events that are not follow-ons of another.
    pub root_cause_count: u64,
    /// Events by their own severity.
    pub by_severity: SeverityCounts,
    /// Timestamp of the first event.
    pub first_seen: Option<String>,
    /// Timestamp of the last event.
    pub last_seen: Option<String>,
    /// `file:line` of the first event.
    pub first_location: String,
    /// `file:line` of the worst event (the one that set `severity` and `action`).
    pub worst_location: String,
    #[serde(skip)]
    worst: (Severity, XidAction),
}

/// The verdict for one GPU: its worst root cause, with follow-ons collapsed into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuVerdict {
    /// PCI bus id, or `unknown`.
    pub gpu: String,
    /// The machine, when the log names it (see [`XidSummaryEntry::host`]).
    pub host: Option<String>,
    /// The root-cause XID that decides the action. Never a line that names another cause: when
    /// every event names its cause, this is the named cause (see `root_in_log`).
    pub root_xid: u32,
    /// Its severity.
    pub severity: Severity,
    /// The action to take for this GPU: the root cause's, or the driver's own when its last XID
    /// 154, or a row remap (63) or failed remap (64) on it, asks for more.
    pub action: &'static str,
    /// The recovery the driver asked for in its last XID 154 on this GPU, if any.
    pub driver_action: Option<&'static str>,
    /// False when the root cause's own line is not in the scanned log (only the follow-ons that
    /// name it are).
    pub root_in_log: bool,
    /// `file:line` of the event that decided the verdict, when it is in the log.
    pub decided_by: Option<String>,
    /// All events on this GPU.
    pub events: u64,
    /// Events collapsed into their cause.
    pub follow_on_events: u64,
    /// Root-cause events of `root_xid` itself (0 when its line is not in the log).
    pub root_events: u64,
    /// Root-cause events of other codes on this GPU: judged on their own, milder than (or as bad
    /// as) `root_xid`, never counted as its follow-ons.
    pub other_root_events: u64,
    /// One line for people.
    pub message: String,
}

/// A line with XID text that did not count as an event, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XidIgnoredLine {
    /// Input name.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// Who wrote it (`someuser[51234]`, `facility user`).
    pub writer: String,
    /// Why it is not an event.
    pub reason: String,
}

/// Lines with XID text that are not the kernel's word: counted, a few kept as examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct XidIgnored {
    /// How many.
    pub lines: u64,
    /// The first few.
    pub examples: Vec<XidIgnoredLine>,
}

/// Something a scan wants people to know that is not an error: an input skipped (a FIFO in a
/// directory, a symlink loop), or cut short (a log truncated while it was read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XidNote {
    /// Input name.
    pub file: String,
    /// What happened.
    pub message: String,
}

/// A GPU the driver says has fallen off the bus without logging an XID: when it probes a GPU
/// that no longer answers ("NVRM: The NVIDIA GPU 0000:b3:00.0 (PCI ID: 10de:26b5) installed in
/// this system has fallen off the bus and is not responding to commands."). No XID event is made
/// of it, but the GPU is gone from the bus as with XID 79, and GG005 says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XidOffBus {
    /// PCI bus id without the function (`0000:b3:00`, as an XID names it), or `unknown` when the
    /// line that named it is not in the log.
    pub gpu: String,
    /// The machine, when the log names it.
    pub host: Option<String>,
    /// Input name.
    pub file: String,
    /// 1-based line of the first message.
    pub line: u64,
    /// When, as the first message's header gives it.
    pub timestamp: Option<String>,
    /// How many times the log says it.
    pub count: u64,
    /// The action: `reboot-node`, as for XID 79.
    pub action: &'static str,
}

/// Everything a scan learned, without the events themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct XidSummary {
    /// Events found (the kernel's).
    pub events: u64,
    /// Lines read.
    pub lines: u64,
    /// Inputs read (files, stdin, strings).
    pub inputs: u64,
    /// Per GPU and code, ordered by GPU then code.
    pub by_gpu: Vec<XidSummaryEntry>,
    /// One per GPU with events.
    pub verdicts: Vec<GpuVerdict>,
    /// XID text that user space wrote: never events or verdicts.
    pub ignored: XidIgnored,
    /// Inputs skipped or cut short (the first few; `notes_total` counts all).
    pub notes: Vec<XidNote>,
    /// All notes, kept or not.
    pub notes_total: u64,
    /// Events past the summary's bound ([`MAX_SUMMARY_ROWS`]): counted in `events`, not in
    /// `by_gpu`.
    pub overflow_events: u64,
    /// GPUs the driver says fell off the bus without an XID (at most [`MAX_SUMMARY_GPUS`]).
    pub off_bus: Vec<XidOffBus>,
    /// Timestamped kernel records dropped because the same line (host, timestamp and message)
    /// was already counted from another input: rsyslog writes each kernel line to both
    /// `kern.log` and `syslog`. Repeats within one input are real and always counted.
    pub duplicates_dropped: u64,
}

/// A summary key: the machine (when the log names it) and the PCI bus id.
type GpuKey = (Option<String>, String);

#[derive(Debug, Default, Clone)]
struct GpuState {
    rows: Vec<XidSummaryEntry>,
    driver_action: Option<XidAction>,
    named_causes: Vec<u32>,
}

impl GpuState {
    /// One GPU's state from two logs of it (rows added code by code; the later log's 154 wins).
    fn merged(mut self, other: GpuState) -> GpuState {
        for o in other.rows {
            match self.rows.iter().position(|r| r.xid == o.xid) {
                Some(i) => {
                    let r = &mut self.rows[i];
                    r.count += o.count;
                    r.root_cause_count += o.root_cause_count;
                    r.by_severity.error += o.by_severity.error;
                    r.by_severity.warning += o.by_severity.warning;
                    r.by_severity.info += o.by_severity.info;
                    if r.first_seen.is_none() {
                        r.first_seen = o.first_seen;
                    }
                    if o.last_seen.is_some() {
                        r.last_seen = o.last_seen;
                    }
                    if o.worst > r.worst {
                        (r.worst, r.severity, r.action, r.worst_location) =
                            (o.worst, o.severity, o.action, o.worst_location);
                    }
                }
                None if self.rows.len() < MAX_CODES_PER_GPU => self.rows.push(o),
                None => {}
            }
        }
        for c in other.named_causes {
            if !self.named_causes.contains(&c) && self.named_causes.len() < MAX_NAMED_CAUSES {
                self.named_causes.push(c);
            }
        }
        self.driver_action = other.driver_action.or(self.driver_action);
        self
    }
}

/// The machines the log has named so far.
#[derive(Debug, Default)]
enum Hosts {
    /// None yet (raw dmesg, /dev/kmsg, a bare paste).
    #[default]
    NoneYet,
    /// One: lines that name no machine (a `dmesg` saved next to its syslog) are that machine's.
    One(String),
    /// Several: a line that names no machine cannot be placed, so it keeps a key of its own.
    Many,
}

/// Accumulates the summary, event by event.
#[derive(Debug, Default)]
pub(crate) struct SummarySink {
    gpus: BTreeMap<GpuKey, GpuState>,
    hosts: Hosts,
    pub(crate) events: u64,
    pub(crate) lines: u64,
    pub(crate) inputs: u64,
    ignored: XidIgnored,
    notes: Vec<XidNote>,
    notes_total: u64,
    overflow_events: u64,
    off_bus: BTreeMap<GpuKey, XidOffBus>,
    /// "NVRM: The NVIDIA GPU …" waiting for its "fallen off the bus" line: the GPU, where, when.
    off_bus_pending: Option<(GpuKey, String, u64, Option<String>)>,
    /// Machine identities derived from file names for lines that name no machine.
    file_machines: BTreeSet<String>,
    /// Recent timestamped records: hash of the line → hash of the input it was first seen in.
    seen: HashMap<u64, u64>,
    seen_order: VecDeque<u64>,
    duplicates_dropped: u64,
}

/// The off-the-bus message spans at most three lines; a "fallen off the bus" line further from
/// its "The NVIDIA GPU" line is not its continuation.
const OFF_BUS_SPAN: u64 = 2;

fn is_follow_on(xid: u32, caused_by: Option<u32>, earlier: &[XidSummaryEntry]) -> bool {
    // The driver says so: even "caused by previous Xid 45" on a 45, or a cause not in the log.
    if caused_by.is_some() {
        return true;
    }
    let any = |f: &dyn Fn(u32) -> bool| earlier.iter().any(|r| f(r.xid));
    match xid {
        // Cleanup after any earlier error on the GPU.
        45 => any(&|c| c != 45),
        // Retirement/remap bookkeeping after an uncorrectable ECC error.
        63 | 64 => any(&|c| matches!(c, 48 | 94 | 95)),
        // DRAM/SRAM detail that newer drivers log right after the 48 it describes.
        171 | 172 => any(&|c| c == 48),
        // NVLink errors reported because the GPU itself failed.
        74 => any(&|c| matches!(c, 79 | 48 | 95)),
        // A recovery-action notice after the error that caused it.
        154 => any(&|c| c != 154),
        _ => false,
    }
}

impl SummarySink {
    /// Counts one parsed event and returns it judged.
    pub(crate) fn event(&mut self, p: Parsed, file: &str, line: u64) -> XidEvent {
        self.events += 1;
        let gpu = p.pci.clone().unwrap_or_else(|| "unknown".to_owned());
        let key = (self.host_of(p.host.as_deref(), file), gpu.clone());
        let host = key.0.clone();
        let full = self.gpus.len() >= MAX_SUMMARY_GPUS && !self.gpus.contains_key(&key);
        if full {
            self.overflow_events += 1;
            let follow_on = p.caused_by.is_some();
            return XidEvent::new(p, file, line, follow_on);
        }
        let g = self.gpus.entry(key).or_default();
        let follow_on = is_follow_on(p.xid, p.caused_by, &g.rows);
        if let Some(c) = p.caused_by {
            if !g.named_causes.contains(&c) && g.named_causes.len() < MAX_NAMED_CAUSES {
                g.named_causes.push(c);
            }
        }
        if p.xid == 154 {
            if let Some(action) = recovery_action_154(&p.message) {
                g.driver_action = Some(action);
            }
        }
        let location = format!("{file}:{line}");
        let judged = judge_xid(p.xid, &p.message);
        let row = match g.rows.iter().position(|r| r.xid == p.xid) {
            Some(i) => Some(i),
            None if g.rows.len() < MAX_CODES_PER_GPU => {
                let info = classify_xid(p.xid);
                g.rows.push(XidSummaryEntry {
                    gpu,
                    host,
                    xid: p.xid,
                    name: info.name,
                    severity: judged.severity,
                    category: info.category.as_str(),
                    action: judged.action.as_str(),
                    count: 0,
                    root_cause_count: 0,
                    by_severity: SeverityCounts::default(),
                    first_seen: p.timestamp.clone(),
                    last_seen: None,
                    first_location: location.clone(),
                    worst_location: location.clone(),
                    worst: (judged.severity, judged.action),
                });
                Some(g.rows.len() - 1)
            }
            None => None,
        };
        match row {
            Some(i) => {
                let r = &mut g.rows[i];
                r.count += 1;
                r.root_cause_count += u64::from(!follow_on);
                r.by_severity.add(judged.severity);
                r.last_seen.clone_from(&p.timestamp);
                if (judged.severity, judged.action) > r.worst {
                    r.worst = (judged.severity, judged.action);
                    r.severity = judged.severity;
                    r.action = judged.action.as_str();
                    r.worst_location = location;
                }
            }
            None => self.overflow_events += 1,
        }
        XidEvent::new(p, file, line, follow_on)
    }

    /// The machine an event counts against: the one its line names, or none. GPUs are told apart
    /// by machine and bus id, so two hosts' `0000:3b:00` never merge; lines that name no machine
    /// join the named one in [`Self::summary`] when the log names exactly one (a `dmesg` saved
    /// next to its syslog).
    fn host_of(&mut self, named: Option<&str>, file: &str) -> Option<String> {
        let Some(h) = named else {
            // Keyed by the file's machine; [`Self::place`] decides what to show.
            let m = file_machine(file);
            if self.file_machines.len() < MAX_FILE_MACHINES || self.file_machines.contains(&m) {
                self.file_machines.insert(m.clone());
                return Some(m);
            }
            return None;
        };
        match &self.hosts {
            Hosts::NoneYet => self.hosts = Hosts::One(h.to_owned()),
            Hosts::One(one) if one != h => self.hosts = Hosts::Many,
            _ => {}
        }
        Some(h.to_owned())
    }

    /// Whether a line should be dropped as a copy of a timestamped kernel record already counted
    /// from another input (`record`: the line and where its event starts in it). Remembers the
    /// last [`MAX_DEDUP_RECORDS`] records.
    pub(crate) fn duplicate(&mut self, record: &[u8], at: usize, file: &str) -> bool {
        let hash = |v: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v(&mut h);
            h.finish()
        };
        let h = hash(&|h| (record, at).hash(h));
        // The input: a file read whole counts up `inputs`; the doctor and the agent feed lines
        // of several sources (or of one followed log, poll after poll) by name.
        let input = hash(&|h| (self.inputs, file).hash(h));
        match self.seen.get(&h) {
            Some(&first) if first != input => {
                self.duplicates_dropped += 1;
                true
            }
            Some(_) => false,
            None => {
                if self.seen_order.len() >= MAX_DEDUP_RECORDS {
                    if let Some(old) = self.seen_order.pop_front() {
                        self.seen.remove(&old);
                    }
                }
                self.seen.insert(h, input);
                self.seen_order.push_back(h);
                false
            }
        }
    }

    /// The machine shown for a key's host. When all lines that name no machine come from one
    /// file's machine (one dmesg, stdin, the agent's followed log, one /var/log), they join the
    /// one machine the input names (a `dmesg` saved next to its syslog), or none when no machine
    /// is named. When they come from several, each is shown as the file (or log directory) it
    /// came from: which of them is the named machine is unknown, and two machines' dmesg files
    /// must never merge.
    fn place(&self, host: &Option<String>) -> Option<String> {
        match host {
            Some(m) if self.file_machines.contains(m) => match &self.hosts {
                _ if self.file_machines.len() > 1 => Some(m.clone()),
                Hosts::One(h) => Some(h.clone()),
                _ => None,
            },
            other => other.clone(),
        }
    }

    /// The per-GPU states to judge, keyed by the machine shown ([`Self::place`]).
    fn judged_gpus(&self) -> std::borrow::Cow<'_, BTreeMap<GpuKey, GpuState>> {
        if self.file_machines.is_empty() {
            return std::borrow::Cow::Borrowed(&self.gpus);
        }
        let mut out: BTreeMap<GpuKey, GpuState> = BTreeMap::new();
        for ((host, gpu), g) in &self.gpus {
            let key = (self.place(host), gpu.clone());
            let mut g = g.clone();
            for r in &mut g.rows {
                r.host = key.0.clone();
            }
            match out.remove(&key) {
                Some(into) => out.insert(key, into.merged(g)),
                None => out.insert(key, g),
            };
        }
        std::borrow::Cow::Owned(out)
    }

    /// Takes a line of the driver's off-the-bus message (see [`XidOffBus`]).
    pub(crate) fn off_bus_line(&mut self, l: super::parse::OffBusLine, file: &str, line: u64) {
        use super::parse::OffBusLine;
        match l {
            OffBusLine::Gpu { gpu, complete, header } => {
                let key = (self.host_of(header.host.as_deref(), file), gpu);
                if complete {
                    self.off_bus_record(key, file, line, header.timestamp);
                } else {
                    self.off_bus_pending = Some((key, file.to_owned(), line, header.timestamp));
                }
            }
            OffBusLine::Words { header } => match self.off_bus_pending.take() {
                Some((key, f, at, ts)) if f == file && line > at && line - at <= OFF_BUS_SPAN => {
                    self.off_bus_record(key, &f, at, ts)
                }
                _ => {
                    let key = (self.host_of(header.host.as_deref(), file), "unknown".to_owned());
                    self.off_bus_record(key, file, line, header.timestamp);
                }
            },
            OffBusLine::Ignored { reason, writer } => self.ignored(file, line, writer, reason),
            OffBusLine::Other => {}
        }
    }

    fn off_bus_record(&mut self, key: GpuKey, file: &str, line: u64, timestamp: Option<String>) {
        if self.off_bus.len() >= MAX_SUMMARY_GPUS && !self.off_bus.contains_key(&key) {
            return;
        }
        let e = self.off_bus.entry(key.clone()).or_insert_with(|| XidOffBus {
            gpu: key.1,
            host: key.0,
            file: file.to_owned(),
            line,
            timestamp,
            count: 0,
            action: XidAction::RebootNode.as_str(),
        });
        e.count += 1;
    }

    /// Counts a line that is not the kernel's word.
    pub(crate) fn ignored(&mut self, file: &str, line: u64, writer: String, reason: String) {
        self.ignored.lines += 1;
        if self.ignored.examples.len() < MAX_EXAMPLES {
            self.ignored.examples.push(XidIgnoredLine { file: file.to_owned(), line, writer, reason });
        }
    }

    /// Adds a note about an input.
    pub(crate) fn note(&mut self, file: &str, message: String) {
        self.notes_total += 1;
        if self.notes.len() < MAX_EXAMPLES {
            self.notes.push(XidNote { file: file.to_owned(), message });
        }
    }

    /// The summary so far, with one verdict per GPU.
    pub(crate) fn summary(&self) -> XidSummary {
        let mut by_gpu = Vec::new();
        let mut verdicts = Vec::new();
        let gpus = self.judged_gpus();
        for ((host, gpu), g) in gpus.iter() {
            let mut rows: Vec<&XidSummaryEntry> = g.rows.iter().collect();
            rows.sort_by_key(|r| r.xid);
            by_gpu.extend(rows.iter().map(|r| (*r).clone()));
            let events: u64 = rows.iter().map(|r| r.count).sum();
            let roots: u64 = rows.iter().map(|r| r.root_cause_count).sum();
            // The worst root cause decides; a line that names another cause never does. A cause
            // that follow-ons name but whose own line is outside the log counts too, judged by
            // its code: a 45 "caused by previous Xid 79" is a GPU off the bus, whatever else the
            // log holds.
            let in_log =
                rows.iter().filter(|r| r.root_cause_count > 0).max_by_key(|r| (r.worst, std::cmp::Reverse(r.xid)));
            let named = g
                .named_causes
                .iter()
                .filter(|c| !rows.iter().any(|r| r.xid == **c && r.root_cause_count > 0))
                .map(|&c| (classify_xid(c), c))
                .max_by_key(|(i, c)| ((i.severity, i.action), std::cmp::Reverse(*c)));
            let (root_xid, severity, action, root_in_log, decided_by, root_events) = match (in_log, named) {
                (Some(r), Some((i, c))) if (i.severity, i.action) > r.worst => {
                    (c, i.severity, i.action, false, None, 0)
                }
                (Some(r), _) => (r.xid, r.worst.0, r.worst.1, true, Some(r.worst_location.clone()), r.root_cause_count),
                (None, Some((i, c))) => (c, i.severity, i.action, false, None, 0),
                // Only heuristic follow-ons (cannot happen: their cause is a row); the worst row.
                (None, None) => match rows.iter().max_by_key(|r| r.worst) {
                    Some(r) => (r.xid, r.worst.0, r.worst.1, true, Some(r.worst_location.clone()), 0),
                    None => continue,
                },
            };
            let info = classify_xid(root_xid);
            let mut act = action;
            let mut asked = match g.driver_action {
                Some(d) if d > action => {
                    act = d;
                    format!(" (the driver's XID 154 asks for {})", d.as_str())
                }
                _ => String::new(),
            };
            // A row remap (63) or a failed one (64) is the driver's word on the memory even when
            // it follows the ECC error that caused it: "reset gpu to activate" after a contained
            // 94 still needs the reset, and a failed remap cannot heal whatever came first.
            if let Some(r) = rows.iter().filter(|r| matches!(r.xid, 63 | 64)).max_by_key(|r| r.worst.1) {
                if r.worst.1 > act {
                    act = r.worst.1;
                    asked = format!(" (its XID {} asks for {})", r.xid, act.as_str());
                }
            }
            let outside = if root_in_log { "" } else { " (named by its follow-ons; its own line is not in the log)" };
            let others: Vec<String> = rows
                .iter()
                .filter(|r| r.root_cause_count > 0 && !(root_in_log && r.xid == root_xid))
                .map(|r| format!("XID {} x{}", r.xid, r.root_cause_count))
                .collect();
            let others_text =
                if others.is_empty() { String::new() } else { format!("; other root causes: {}", others.join(", ")) };
            let label = match host {
                Some(h) => format!("{gpu} on {h}"),
                None => gpu.clone(),
            };
            verdicts.push(GpuVerdict {
                gpu: gpu.clone(),
                host: host.clone(),
                root_xid,
                severity,
                action: act.as_str(),
                driver_action: g.driver_action.map(XidAction::as_str),
                root_in_log,
                decided_by,
                events,
                follow_on_events: events - roots,
                root_events,
                other_root_events: roots - root_events,
                message: format!(
                    "GPU {label}: XID {root_xid} ({}){outside} is the root cause ({root_events} event(s) in the log){others_text}; {} follow-on event(s) collapsed; {events} event(s) in all; action: {}{asked}",
                    info.name,
                    events - roots,
                    act.as_str()
                ),
            });
        }
        XidSummary {
            events: self.events,
            lines: self.lines,
            inputs: self.inputs,
            by_gpu,
            verdicts,
            ignored: self.ignored.clone(),
            notes: self.notes.clone(),
            notes_total: self.notes_total,
            overflow_events: self.overflow_events,
            off_bus: self
                .off_bus
                .values()
                .map(|o| {
                    let mut o = o.clone();
                    // As for events (see [`Self::place`]).
                    o.host = self.place(&o.host);
                    o
                })
                .collect(),
            duplicates_dropped: self.duplicates_dropped,
        }
    }
}

/// GG005 findings: one per GPU and root-cause code (follow-ons collapse into their cause), and
/// one per GPU whose root cause is named only by its follow-ons. Both `gpuguard xid` and
/// `gpuguard doctor` report these.
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:01:00): 48, DBE\nNVRM: Xid (PCI:0000:01:00): 63, remap\n", "x", &mut |_| {});
/// let f = gpuguard::xid::xid_findings(&s.summary());
/// assert_eq!(f.len(), 1);
/// assert_eq!(f[0].rule, "GG005");
/// ```
pub fn xid_findings(summary: &XidSummary) -> Vec<crate::Finding> {
    let mut out: Vec<crate::Finding> = summary
        .by_gpu
        .iter()
        .filter(|e| e.root_cause_count > 0)
        .map(|e| {
            let when = match (&e.first_seen, &e.last_seen) {
                (Some(a), Some(b)) if a != b => format!(", first {a}, last {b}"),
                (Some(a), _) => format!(", at {a}"),
                _ => String::new(),
            };
            let action = action_of(e.action);
            let (file, line) = split_location(&e.worst_location);
            let f = crate::Finding::new(
                "GG005",
                e.severity,
                format!(
                    "GPU {}{}: XID {} ({}) seen {} time(s){when}; action: {}",
                    e.gpu,
                    e.host.as_ref().map_or(String::new(), |h| format!(" on {h}")),
                    e.xid,
                    e.name,
                    e.count,
                    e.action
                ),
                action.advice(),
            )
            .with_location(crate::Location { file, line, path: Some(e.gpu.clone()), ..Default::default() })
            .with_evidence("xid", e.xid)
            .with_evidence("category", e.category)
            .with_evidence("action", e.action)
            .with_evidence("count", e.count)
            .with_evidence("root_cause_count", e.root_cause_count)
            .with_evidence("by_severity", serde_json::to_value(e.by_severity).unwrap_or_default());
            match &e.host {
                Some(h) => f.with_evidence("host", h.as_str()),
                None => f,
            }
        })
        .collect();
    // A GPU gone from the bus without an XID 79 (lost before the driver could use it): the same
    // action as XID 79, and no XID invented for it.
    for o in &summary.off_bus {
        let has_79 = summary.by_gpu.iter().any(|e| e.xid == 79 && e.gpu == o.gpu && e.host == o.host);
        if has_79 {
            continue;
        }
        let on = o.host.as_ref().map_or(String::new(), |h| format!(" on {h}"));
        let when = o.timestamp.as_ref().map_or(String::new(), |t| format!(", at {t}"));
        let f = crate::Finding::new(
            "GG005",
            Severity::Error,
            format!(
                "GPU {}{on}: the driver says it has fallen off the bus and is not responding to commands{when} (no XID logged: it was lost before the driver could use it); the GPU is gone from the bus as with XID 79; action: {}",
                o.gpu, o.action
            ),
            XidAction::RebootNode.advice(),
        )
        .with_location(crate::Location {
            file: Some(o.file.clone()),
            line: usize::try_from(o.line).ok(),
            path: Some(o.gpu.clone()),
            ..Default::default()
        })
        .with_evidence("category", "pcie-bus")
        .with_evidence("action", o.action)
        .with_evidence("count", o.count)
        .with_evidence("off_bus", true);
        out.push(match &o.host {
            Some(h) => f.with_evidence("host", h.as_str()),
            None => f,
        });
    }
    for v in summary.verdicts.iter().filter(|v| !v.root_in_log) {
        out.push(
            crate::Finding::new("GG005", v.severity, v.message.clone(), action_of(v.action).advice())
                .with_location(crate::Location { path: Some(v.gpu.clone()), ..Default::default() })
                .with_evidence("xid", v.root_xid)
                .with_evidence("action", v.action)
                .with_evidence("count", v.events)
                .with_evidence("root_cause_count", 0),
        );
    }
    out
}

fn split_location(loc: &str) -> (Option<String>, Option<usize>) {
    match loc.rsplit_once(':') {
        Some((f, l)) => (Some(f.to_owned()), l.parse().ok()),
        None => (Some(loc.to_owned()), None),
    }
}

fn action_of(name: &str) -> XidAction {
    use XidAction::*;
    [None, RestartApp, Investigate, ResetGpu, RebootNode, DrainAndReplace]
        .into_iter()
        .find(|a| a.as_str() == name)
        .unwrap_or(Investigate)
}
