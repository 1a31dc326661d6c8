//! Streaming XID scanner: files, directories of logs, gzip-rotated logs and stdin, in constant
//! memory (one fixed buffer; only the per-GPU, per-code summary grows, with distinct GPUs×codes).
//! Lines are never split out one by one: a SIMD search jumps from marker to marker, and only
//! the lines that hold one are parsed.

use super::catalog::{XidAction, XidInfo, classify_xid, recovery_action_154};
use super::find::Engine;
use super::parse::{XidEvent, parse_at};
use crate::report::InputError;
use crate::severity::Severity;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// Read size; also the longest line parsed whole (longer lines are cut there, not buffered).
const BUF: usize = 1 << 20;
/// Reads land at addresses aligned to this: the kernel's copy into an address 8 or 16 bytes off
/// a 32-byte boundary ran 1.6-4x slower here (1 GiB from page cache: 89 ms aligned, 145 ms at
/// +16, 375 ms at +8), and that copy is most of the time of a read-path scan.
const ALIGN: usize = 64;
/// Distinct (GPU, code) rows the summary keeps. A node has at most a few dozen GPUs and codes;
/// a garbled or hostile log could name endless "GPUs", and the agent must stay bounded, so
/// events past this many rows count under the GPU `other`.
pub const MAX_SUMMARY_ROWS: usize = 4096;

/// One event with where it was found, what it means, and whether it only follows another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct XidRecord {
    /// The parsed event (flattened into the JSON object).
    #[serde(flatten)]
    pub event: XidEvent,
    /// Input name (path, `<stdin>` or `<string>`).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// Severity of the code.
    pub severity: Severity,
    /// Cause category of the code.
    pub category: &'static str,
    /// What to do.
    pub action: &'static str,
    /// Name of the code.
    pub name: &'static str,
    /// True when it is a consequence of an earlier event on the same GPU (45 after an error,
    /// 63/64 after 48, or an explicit "caused by previous Xid N").
    pub follow_on: bool,
}

/// Per GPU and code: how many, when first and last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct XidSummaryEntry {
    /// PCI bus id as written, or `unknown`.
    pub gpu: String,
    /// The code.
    pub xid: u32,
    /// Its name.
    pub name: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// Its category.
    pub category: &'static str,
    /// Its action.
    pub action: &'static str,
    /// Events seen.
    pub count: u64,
    /// Of those, events that are not follow-ons of another.
    pub root_cause_count: u64,
    /// Timestamp (as written) of the first event.
    pub first_seen: Option<String>,
    /// Timestamp (as written) of the last event.
    pub last_seen: Option<String>,
    /// `file:line` of the first event.
    pub first_location: String,
}

/// The verdict for one GPU: its worst root cause, with follow-ons collapsed into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuVerdict {
    /// PCI bus id, or `unknown`.
    pub gpu: String,
    /// The root-cause XID that decides the action.
    pub root_xid: u32,
    /// Its severity.
    pub severity: Severity,
    /// The action to take for this GPU: the root cause's, or the driver's own when its last XID
    /// 154 asks for more.
    pub action: &'static str,
    /// The recovery the driver asked for in its last XID 154 on this GPU, if any.
    pub driver_action: Option<&'static str>,
    /// All events on this GPU.
    pub events: u64,
    /// Events collapsed into their cause.
    pub follow_on_events: u64,
    /// One line for people.
    pub message: String,
}

/// Everything a scan learned, without the events themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct XidSummary {
    /// Events found.
    pub events: u64,
    /// Lines read.
    pub lines: u64,
    /// Inputs read (files, stdin, strings).
    pub inputs: u64,
    /// Per GPU and code, ordered by GPU then code.
    pub by_gpu: Vec<XidSummaryEntry>,
    /// One per GPU with events.
    pub verdicts: Vec<GpuVerdict>,
}

/// Accumulates events over many inputs.
#[derive(Debug, Default)]
pub struct XidScanner {
    entries: BTreeMap<(String, u32), XidSummaryEntry>,
    // Codes seen so far per GPU, to tell a follow-on from a root cause.
    seen: HashMap<String, Vec<u32>>,
    // The recovery each GPU's last XID 154 asked for.
    driver_action: HashMap<String, XidAction>,
    events: u64,
    lines: u64,
    inputs: u64,
    // Marker search + newline count (AVX2 when the CPU has it; tests force the portable one).
    engine: Engine,
    // Inputs that went through the mapped path, so tests can tell which path a file took.
    #[cfg(test)]
    mapped_inputs: u64,
}

fn is_follow_on(xid: u32, caused_by: Option<u32>, earlier: &[u32]) -> bool {
    if caused_by.is_some_and(|c| c != xid) {
        return true;
    }
    match xid {
        // Cleanup after any earlier error on the GPU.
        45 => earlier.iter().any(|&c| c != 45),
        // Retirement/remap bookkeeping after an uncorrectable ECC error.
        63 | 64 => earlier.iter().any(|&c| matches!(c, 48 | 94 | 95)),
        // DRAM/SRAM detail that newer drivers log right after the 48 it describes.
        171 | 172 => earlier.contains(&48),
        // NVLink errors reported because the GPU itself failed.
        74 => earlier.iter().any(|&c| matches!(c, 79 | 48 | 95)),
        // A recovery-action notice after the error that caused it.
        154 => earlier.iter().any(|&c| c != 154),
        _ => false,
    }
}

impl XidScanner {
    /// An empty scanner.
    ///
    /// ```
    /// let mut s = gpuguard::xid::XidScanner::new();
    /// let mut n = 0;
    /// s.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 48, pid=1, name=py, DBE\n", "<string>", &mut |_| n += 1);
    /// assert_eq!(n, 1);
    /// assert_eq!(s.summary().verdicts[0].action, "drain-and-replace");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&mut self, event: XidEvent, file: &str, line: u64) -> XidRecord {
        let info: XidInfo = classify_xid(event.xid);
        let mut gpu = event.pci.clone().unwrap_or_else(|| "unknown".to_owned());
        if self.entries.len() >= MAX_SUMMARY_ROWS && !self.entries.contains_key(&(gpu.clone(), event.xid)) {
            "other".clone_into(&mut gpu);
        }
        let earlier = self.seen.entry(gpu.clone()).or_default();
        let follow_on = is_follow_on(event.xid, event.caused_by, earlier);
        if !earlier.contains(&event.xid) {
            earlier.push(event.xid);
        }
        if event.xid == 154 {
            if let Some(action) = recovery_action_154(&event.message) {
                self.driver_action.insert(gpu.clone(), action);
            }
        }
        self.events += 1;
        let entry = self.entries.entry((gpu.clone(), event.xid)).or_insert_with(|| XidSummaryEntry {
            gpu,
            xid: event.xid,
            name: info.name,
            severity: info.severity,
            category: info.category.as_str(),
            action: info.action.as_str(),
            count: 0,
            root_cause_count: 0,
            first_seen: event.timestamp.clone(),
            last_seen: None,
            first_location: format!("{file}:{line}"),
        });
        entry.count += 1;
        entry.root_cause_count += u64::from(!follow_on);
        entry.last_seen.clone_from(&event.timestamp);
        XidRecord {
            file: file.to_owned(),
            line,
            severity: info.severity,
            category: info.category.as_str(),
            action: info.action.as_str(),
            name: info.name,
            follow_on,
            event,
        }
    }

    /// Scans an in-memory log.
    pub fn scan_bytes(&mut self, data: &[u8], name: &str, on_event: &mut dyn FnMut(XidRecord)) {
        // Reading from a slice cannot fail.
        let _ = self.scan_reader(data, name, on_event);
    }

    /// Scans the next block of whole lines (each ending in `\n`) of a stream that is read a piece
    /// at a time, such as a followed log: `first_line` is the 1-based number of the block's
    /// first line; returns the number of the line after it. No buffer is allocated.
    ///
    /// ```
    /// let mut s = gpuguard::xid::XidScanner::new();
    /// let mut at = Vec::new();
    /// let next = s.scan_continued(b"boot\n", 1, "kern.log", &mut |r| at.push(r.line));
    /// let next = s.scan_continued(b"NVRM: Xid (PCI:0000:3b:00): 48, DBE\n", next, "kern.log", &mut |r| at.push(r.line));
    /// assert_eq!((next, at, s.summary().lines), (3, vec![2], 2));
    /// ```
    pub fn scan_continued(
        &mut self,
        block: &[u8],
        first_line: u64,
        name: &str,
        on_event: &mut dyn FnMut(XidRecord),
    ) -> u64 {
        let next = self.scan_block(block, first_line, name, on_event);
        self.lines += next - first_line;
        next
    }

    /// Scans a stream (plain text; see [`XidScanner::scan_path`] for gzip) in fixed memory.
    ///
    /// ```
    /// let log = b"[ 1.0] NVRM: Xid (PCI:0000:01:00): 79, pid=0, name=x, GPU has fallen off the bus.\n";
    /// let mut s = gpuguard::xid::XidScanner::new();
    /// let mut lines = vec![];
    /// s.scan_reader(&log[..], "kern.log", &mut |r| lines.push(r.line)).unwrap();
    /// assert_eq!(lines, [1]);
    /// ```
    pub fn scan_reader<R: Read>(
        &mut self,
        mut reader: R,
        name: &str,
        on_event: &mut dyn FnMut(XidRecord),
    ) -> std::io::Result<()> {
        self.inputs += 1;
        // Data is buf[lo..filled], at most BUF bytes; lo is chosen so that `filled`, where the
        // next read lands, is ALIGN-aligned.
        let mut buf = vec![0u8; BUF + 2 * ALIGN];
        let base = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
        let (mut lo, mut filled) = (base, base);
        // Moves the unscanned tail buf[from..filled] to its place before the next read.
        let keep = |buf: &mut [u8], from: usize, filled: usize| {
            let n = filled - from;
            let lo = base + (ALIGN - n % ALIGN) % ALIGN;
            buf.copy_within(from..filled, lo);
            (lo, lo + n)
        };
        let mut line_no: u64 = 1; // line number of buf[lo]
        let mut skipping = false; // inside the tail of an over-long line
        let mut last_byte = b'\n'; // so an empty input counts no line
        loop {
            let n = match reader.read(&mut buf[filled..lo + BUF]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let eof = n == 0;
            filled += n;
            if n > 0 {
                last_byte = buf[filled - 1];
            }
            let mut start = lo;
            if skipping {
                match memchr::memchr(b'\n', &buf[lo..filled]) {
                    Some(i) => {
                        start = lo + i + 1;
                        line_no += 1;
                        skipping = false;
                    }
                    None => {
                        (lo, filled) = (base, base);
                        if eof {
                            break;
                        }
                        continue;
                    }
                }
            }
            let end = if eof {
                filled
            } else {
                match memchr::memrchr(b'\n', &buf[start..filled]) {
                    Some(i) => start + i + 1,
                    // Only a line that fills the whole buffer is over-long; one that starts
                    // after the tail of a skipped line moves to the front and reads on.
                    None if filled - start == BUF => {
                        // A line longer than the buffer: parse its head, skip the rest.
                        skipping = true;
                        filled
                    }
                    None => {
                        (lo, filled) = keep(&mut buf, start, filled);
                        continue;
                    }
                }
            };
            line_no = self.scan_block(&buf[start..end], line_no, name, on_event);
            (lo, filled) = keep(&mut buf, end, filled);
            if eof {
                break;
            }
        }
        // Newline-terminated lines, plus a final unterminated one.
        self.lines += line_no - 1 + u64::from(last_byte != b'\n');
        Ok(())
    }

    /// Scans complete lines; returns the line number after the block. Works through
    /// cache-sized pieces cut at newlines, so that the portable engine's newline count re-reads
    /// bytes its marker search just brought into cache instead of going back to memory (the
    /// AVX2 engine reads each byte once either way).
    fn scan_block(&mut self, block: &[u8], mut line_no: u64, name: &str, on_event: &mut dyn FnMut(XidRecord)) -> u64 {
        const PIECE: usize = 128 << 10;
        let mut a = 0;
        while a < block.len() {
            let mut b = (a + PIECE).min(block.len());
            if b < block.len() {
                b = match memchr::memrchr(b'\n', &block[a..b]) {
                    Some(i) => a + i + 1,
                    None => memchr::memchr(b'\n', &block[b..]).map_or(block.len(), |i| b + i + 1),
                };
            }
            line_no = self.scan_lines(&block[a..b], line_no, name, on_event);
            a = b;
        }
        line_no
    }

    /// One search finds the next marker and counts the newlines up to it (see [`super::find`]),
    /// so each byte is read once however far apart the markers are.
    fn scan_lines(&mut self, block: &[u8], mut line_no: u64, name: &str, on_event: &mut dyn FnMut(XidRecord)) -> u64 {
        let mut cursor = 0;
        loop {
            let (hit, newlines) = self.engine.find(&block[cursor..]);
            line_no += newlines;
            let Some(rel) = hit else { return line_no };
            let hit = cursor + rel;
            // The line around the marker: both ends are near it, so these searches are short.
            let ls = memchr::memrchr(b'\n', &block[cursor..hit]).map_or(cursor, |i| cursor + i + 1);
            let le = memchr::memchr(b'\n', &block[hit..]).map_or(block.len(), |i| hit + i);
            if let Some(ev) = parse_at(&block[ls..le], hit - ls) {
                let rec = self.record(ev, name, line_no);
                on_event(rec);
            }
            if le == block.len() {
                return line_no;
            }
            line_no += 1;
            cursor = le + 1;
        }
    }

    /// Scans a file (gzip detected by its magic bytes), `-` for stdin, or every file under a
    /// directory (sorted, recursively). Unreadable inputs are added to `errors`, and the scan
    /// goes on with the others.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("kern.log"), "NVRM: Xid (PCI:0000:01:00): 13, x\n").unwrap();
    /// let (mut s, mut errors, mut n) = (gpuguard::xid::XidScanner::new(), vec![], 0);
    /// s.scan_path(dir.path(), &mut errors, &mut |_| n += 1);
    /// s.scan_path("/nonexistent/log".as_ref(), &mut errors, &mut |_| n += 1);
    /// assert_eq!((n, errors.len()), (1, 1));
    /// ```
    pub fn scan_path(&mut self, path: &Path, errors: &mut Vec<InputError>, on_event: &mut dyn FnMut(XidRecord)) {
        if path.as_os_str() == "-" {
            if let Err(e) = self.scan_reader(std::io::stdin().lock(), "<stdin>", on_event) {
                errors.push(InputError { file: "<stdin>".into(), line: None, message: e.to_string() });
            }
            return;
        }
        let name = path.display().to_string();
        let fail = |errors: &mut Vec<InputError>, e: std::io::Error| {
            errors.push(InputError { file: name.clone(), line: None, message: e.to_string() });
        };
        match std::fs::metadata(path) {
            Err(e) => fail(errors, e),
            Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
                Err(e) => fail(errors, e),
                Ok(rd) => {
                    let mut children: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    for c in children {
                        self.scan_path(&c, errors, on_event);
                    }
                }
            },
            Ok(_) => {
                if let Err(e) = self.scan_file(path, &name, on_event) {
                    fail(errors, e);
                }
            }
        }
    }

    fn scan_file(&mut self, path: &Path, name: &str, on_event: &mut dyn FnMut(XidRecord)) -> std::io::Result<()> {
        let mut f = std::fs::File::open(path)?;
        let mut magic = [0u8; 2];
        let got = f.read(&mut magic)?;
        let head = std::io::Cursor::new(magic[..got].to_vec());
        if got == 2 && magic == [0x1f, 0x8b] {
            #[cfg(feature = "gzip")]
            {
                let gz = flate2::read::MultiGzDecoder::new(head.chain(f));
                self.scan_reader(std::io::BufReader::with_capacity(1 << 16, gz), name, on_event)
            }
            #[cfg(not(feature = "gzip"))]
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "gzip-compressed log, and gpuguard was built without its `gzip` feature",
            ))
        } else {
            // Only settled files are mapped: a live log truncated under a mapping would SIGBUS.
            let meta = f.metadata()?;
            if super::window::should_map(&meta, std::time::SystemTime::now()) {
                self.scan_mapped(&f, meta.len(), super::window::WINDOW, name, on_event)
            } else {
                self.scan_reader(head.chain(f), name, on_event)
            }
        }
    }

    /// Scans a regular file through memory-mapped windows (see [`super::window`]).
    fn scan_mapped(
        &mut self,
        f: &std::fs::File,
        len: u64,
        window: usize,
        name: &str,
        on_event: &mut dyn FnMut(XidRecord),
    ) -> std::io::Result<()> {
        use super::window::{Window, page_size};
        self.inputs += 1;
        #[cfg(test)]
        {
            self.mapped_inputs += 1;
        }
        let page = page_size();
        let (mut pos, mut line_no, mut skipping, mut last_byte) = (0u64, 1u64, false, b'\n');
        while pos < len {
            let map_off = pos & !(page - 1);
            let map_len = usize::try_from((len - map_off).min(window as u64)).unwrap_or(window);
            let window = Window::map(f, map_off, map_len)?;
            let data = window.bytes();
            let eof = map_off + map_len as u64 == len;
            let mut s = (pos - map_off) as usize;
            if eof {
                last_byte = data[map_len - 1];
            }
            if skipping {
                match memchr::memchr(b'\n', &data[s..]) {
                    Some(i) => {
                        s += i + 1;
                        line_no += 1;
                        skipping = false;
                    }
                    None => {
                        pos = map_off + map_len as u64;
                        continue;
                    }
                }
            }
            let end = if eof {
                map_len
            } else {
                match memchr::memrchr(b'\n', &data[s..]) {
                    Some(i) => s + i + 1,
                    // The line started late in the window: map again from its page.
                    None if s as u64 >= page => {
                        pos = map_off + s as u64;
                        continue;
                    }
                    // A line longer than a window: parse its head, skip the rest.
                    None => {
                        skipping = true;
                        map_len
                    }
                }
            };
            line_no = self.scan_block(&data[s..end], line_no, name, on_event);
            pos = map_off + end as u64;
        }
        self.lines += line_no - 1 + u64::from(last_byte != b'\n');
        Ok(())
    }

    /// The summary so far, with one verdict per GPU.
    pub fn summary(&self) -> XidSummary {
        let by_gpu: Vec<XidSummaryEntry> = self.entries.values().cloned().collect();
        let mut verdicts: Vec<GpuVerdict> = Vec::new();
        for e in &by_gpu {
            let info = classify_xid(e.xid);
            let new = verdicts.last().is_none_or(|v| v.gpu != e.gpu);
            if new {
                verdicts.push(GpuVerdict {
                    gpu: e.gpu.clone(),
                    root_xid: e.xid,
                    severity: e.severity,
                    action: e.action,
                    driver_action: None,
                    events: 0,
                    follow_on_events: 0,
                    message: String::new(),
                });
            }
            let Some(v) = verdicts.last_mut() else { continue };
            v.events += e.count;
            v.follow_on_events += e.count - e.root_cause_count;
            let cur = classify_xid(v.root_xid);
            let better = (info.severity, info.action) > (cur.severity, cur.action);
            // Prefer a root cause; a code seen only as a follow-on decides only when nothing else does.
            let cur_is_root = self.entries.get(&(v.gpu.clone(), v.root_xid)).is_some_and(|x| x.root_cause_count > 0);
            if new || (e.root_cause_count > 0 && (better || !cur_is_root)) {
                v.root_xid = e.xid;
                v.severity = info.severity;
                v.action = info.action.as_str();
            }
        }
        for v in &mut verdicts {
            let info = classify_xid(v.root_xid);
            let driver = self.driver_action.get(&v.gpu).copied();
            v.driver_action = driver.map(XidAction::as_str);
            let asked = match driver {
                Some(d) if d > info.action => {
                    v.action = d.as_str();
                    format!(" (the driver's XID 154 asks for {})", d.as_str())
                }
                _ => String::new(),
            };
            v.message = format!(
                "GPU {}: XID {} ({}) is the root cause of {} event(s), {} collapsed as follow-ons; action: {}{asked}",
                v.gpu, v.root_xid, info.name, v.events, v.follow_on_events, v.action
            );
        }
        XidSummary { events: self.events, lines: self.lines, inputs: self.inputs, by_gpu, verdicts }
    }
}

/// GG005 findings: one per GPU and root-cause code (follow-ons collapse into their cause).
///
/// ```
/// let mut s = gpuguard::xid::XidScanner::new();
/// s.scan_bytes(b"NVRM: Xid (PCI:0000:01:00): 48, DBE\nNVRM: Xid (PCI:0000:01:00): 63, remap\n", "x", &mut |_| {});
/// let f = gpuguard::xid::xid_findings(&s.summary());
/// assert_eq!(f.len(), 1);
/// assert_eq!(f[0].rule, "GG005");
/// ```
pub fn xid_findings(summary: &XidSummary) -> Vec<crate::Finding> {
    summary
        .by_gpu
        .iter()
        .filter(|e| e.root_cause_count > 0)
        .map(|e| {
            let info = classify_xid(e.xid);
            let when = match (&e.first_seen, &e.last_seen) {
                (Some(a), Some(b)) if a != b => format!(", first {a}, last {b}"),
                (Some(a), _) => format!(", at {a}"),
                _ => String::new(),
            };
            let action: XidAction = info.action;
            crate::Finding::new(
                "GG005",
                e.severity,
                format!("GPU {}: XID {} ({}) seen {} time(s){when}", e.gpu, e.xid, e.name, e.count),
                action.advice(),
            )
            .with_location(crate::Location {
                file: e.first_location.rsplit_once(':').map(|(f, _)| f.to_owned()),
                line: e.first_location.rsplit_once(':').and_then(|(_, l)| l.parse().ok()),
                path: Some(e.gpu.clone()),
                ..Default::default()
            })
            .with_evidence("xid", e.xid)
            .with_evidence("category", e.category)
            .with_evidence("action", e.action)
            .with_evidence("count", e.count)
            .with_evidence("root_cause_count", e.root_cause_count)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(data: &[u8]) -> (Vec<XidRecord>, XidSummary) {
        let mut s = XidScanner::new();
        let mut v = vec![];
        s.scan_bytes(data, "t", &mut |r| v.push(r));
        (v, s.summary())
    }

    #[test]
    fn line_numbers_and_follow_ons() {
        let log = b"boot\nNVRM: loading\n[1] NVRM: Xid (PCI:0000:3b:00): 48, DBE\nx\n[2] NVRM: Xid (PCI:0000:3b:00): 63, remap\n[3] NVRM: Xid (PCI:0000:3b:00): 45, cleanup\n[4] NVRM: Xid (PCI:0000:5e:00): 13, app";
        let (ev, sum) = scan(log);
        assert_eq!(ev.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 5, 6, 7]);
        assert_eq!(ev.iter().map(|r| r.follow_on).collect::<Vec<_>>(), [false, true, true, false]);
        assert_eq!(sum.lines, 7);
        assert_eq!(sum.verdicts.len(), 2);
        assert_eq!((sum.verdicts[0].root_xid, sum.verdicts[0].follow_on_events), (48, 2));
        assert_eq!(sum.verdicts[1].root_xid, 13);
        assert_eq!(xid_findings(&sum).len(), 2);
    }

    #[test]
    fn summary_rows_are_bounded() {
        let mut log = Vec::new();
        for i in 0..MAX_SUMMARY_ROWS + 500 {
            log.extend_from_slice(format!("NVRM: Xid (PCI:{i:04x}:00:00): 13, x\n").as_bytes());
        }
        let (ev, sum) = scan(&log);
        assert_eq!(ev.len(), MAX_SUMMARY_ROWS + 500);
        assert_eq!(sum.by_gpu.len(), MAX_SUMMARY_ROWS + 1);
        let other = sum.by_gpu.iter().find(|e| e.gpu == "other").map(|e| e.count);
        assert_eq!(other, Some(500));
    }

    #[test]
    fn driver_recovery_action_and_ecc_detail() {
        // A GSP timeout whose 154 asks for a node reboot, and a DBE with its DRAM detail line.
        let log = b"NVRM: Xid (PCI:0000:01:00): 119, pid=2, name=python, Timeout after 45s of waiting for RPC response from GPU0 GSP!\n\
            NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)\n\
            NVRM: Xid (PCI:0000:02:00): 48, pid=3, name=python, Ch 00000008\n\
            NVRM: Xid (PCI:0000:02:00): 171, Uncorrectable DRAM error\n";
        let (ev, sum) = scan(log);
        assert_eq!(ev.iter().map(|r| r.follow_on).collect::<Vec<_>>(), [false, true, false, true]);
        let gsp = &sum.verdicts[0];
        assert_eq!((gsp.root_xid, gsp.action, gsp.driver_action), (119, "reboot-node", Some("reboot-node")));
        assert!(gsp.message.contains("XID 154 asks for reboot-node"), "{}", gsp.message);
        let dbe = &sum.verdicts[1];
        assert_eq!(
            (dbe.root_xid, dbe.action, dbe.follow_on_events, dbe.driver_action),
            (48, "drain-and-replace", 1, None)
        );
    }

    #[test]
    fn over_long_line_then_event() {
        let mut log = vec![b'a'; 3 * BUF + 17];
        log.extend_from_slice(b"\nNVRM: Xid (PCI:0000:01:00): 79, gone\n");
        let (ev, sum) = scan(&log);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].line, 2);
        assert_eq!(sum.lines, 2);
    }

    #[test]
    #[cfg(feature = "gzip")]
    fn gzip_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kern.log.2.gz");
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        gz.write_all(b"x\nNVRM: Xid (PCI:0000:01:00): 94, contained\n").unwrap();
        gz.finish().unwrap();
        let mut s = XidScanner::new();
        let mut errs = vec![];
        let mut lines = vec![];
        s.scan_path(&p, &mut errs, &mut |r| lines.push((r.xid(), r.line)));
        assert!(errs.is_empty());
        assert_eq!(lines, [(94, 2)]);
    }

    /// Events in many formats, short and empty lines, unterminated pieces and lines several
    /// pages long, ending without a newline.
    fn mixed_log(page: usize) -> Vec<u8> {
        let mut log = Vec::new();
        let mut state = 12345u64;
        for i in 0..4000u64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (state >> 33) as usize;
            match r % 7 {
                0 => log.extend_from_slice(
                    format!("[{i}] NVRM: Xid (PCI:0000:{:02x}:00): {}, pid={i}, name=p, m\n", r % 5, r % 160)
                        .as_bytes(),
                ),
                1 if r % 50 == 1 => log.extend(std::iter::repeat_n(b'z', 3 * page + r % 999)),
                _ => log.extend(std::iter::repeat_n(b'a' + (r % 26) as u8, r % 300)),
            }
            if r % 3 != 0 {
                log.push(b'\n');
            }
        }
        log.extend_from_slice(b"tail NVRM: Xid 13 no newline");
        log
    }

    /// Whatever sizes reads return (so the kept tail and the aligned landing spot take every
    /// value), the reader finds what parsing the log line by line finds.
    #[test]
    fn odd_read_sizes_match_line_by_line_parse() {
        struct Chunky<'a>(&'a [u8], usize);
        impl Read for Chunky<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                self.1 = (self.1 * 7 + 13) % 5003;
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let log = mixed_log(4096);
        let want: Vec<(u64, XidEvent)> = log
            .split(|&b| b == b'\n')
            .zip(1..)
            .filter_map(|(l, n)| super::super::parse::parse_xid_line(l).map(|e| (n, e)))
            .collect();
        let mut s = XidScanner::new();
        let mut got = vec![];
        s.scan_reader(Chunky(&log, 1), "t", &mut |r| got.push((r.line, r.event))).unwrap();
        assert_eq!(got, want);
        assert_eq!(s.summary().lines, log.split(|&b| b == b'\n').count() as u64);
    }

    /// The portable engine (what non-AVX2 CPUs run) gives the same events and line numbers.
    #[test]
    fn portable_engine_agrees() {
        let log = mixed_log(4096);
        let (want, want_sum) = scan(&log);
        let mut s = XidScanner { engine: Engine::Portable, ..XidScanner::default() };
        let mut got = vec![];
        s.scan_bytes(&log, "t", &mut |r| got.push(r));
        assert_eq!(got, want);
        assert_eq!(s.summary(), want_sum);
        assert!(want.len() > 400);
    }

    /// A big file that was just written is treated as live and read, not mapped; once it has
    /// settled it is mapped; both give what an in-memory scan gives.
    #[test]
    fn live_big_file_is_read_settled_one_is_mapped() {
        use super::super::window::{MMAP_MIN, SETTLED};
        let part = mixed_log(4096);
        let mut log = Vec::new();
        while (log.len() as u64) < MMAP_MIN + 1 {
            log.extend_from_slice(&part);
            log.push(b'\n');
        }
        let (want, want_sum) = scan(&log);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kern.log");
        std::fs::write(&p, &log).unwrap();
        let scan_file = || {
            let (mut s, mut errors, mut got) = (XidScanner::new(), vec![], vec![]);
            s.scan_path(&p, &mut errors, &mut |r| got.push((r.line, r.event)));
            assert!(errors.is_empty(), "{errors:?}");
            (got, s.summary().lines, s.mapped_inputs)
        };
        let want: Vec<_> = want.into_iter().map(|r| (r.line, r.event)).collect();
        assert_eq!(scan_file(), (want.clone(), want_sum.lines, 0), "just written: read path");
        let old = std::time::SystemTime::now() - SETTLED - std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        assert_eq!(scan_file(), (want, want_sum.lines, 1), "settled: mapped path");
    }

    /// The mapped path and the read path agree on events, line numbers and line counts,
    /// with windows small enough that many lines straddle two of them.
    #[test]
    fn mapped_windows_agree_with_reader() {
        use std::io::Write;
        let page = super::super::window::page_size() as usize;
        let log = mixed_log(page);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.log");
        std::fs::File::create(&p).unwrap().write_all(&log).unwrap();
        let (want, want_sum) = scan(&log);
        let longest = log.split(|b| *b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
        let smallest = (longest / page + 2) * page; // lines longer than a window are cut
        for window in [smallest, smallest + page, 64 * page] {
            let mut s = XidScanner::new();
            let mut got = vec![];
            let f = std::fs::File::open(&p).unwrap();
            s.scan_mapped(&f, log.len() as u64, window, "t", &mut |r| got.push(r)).unwrap();
            assert_eq!(got.len(), want.len(), "window {window}");
            assert!(got.iter().zip(&want).all(|(a, b)| a.line == b.line && a.event == b.event), "window {window}");
            assert_eq!(s.summary().lines, want_sum.lines, "window {window}");
        }
        assert!(want.len() > 400);

        // A line longer than the window is cut, and the scan goes on after it.
        let mut long = vec![b'a'; 5 * page + 7];
        long.extend_from_slice(b"\nNVRM: Xid (PCI:0000:01:00): 79, gone\nlast");
        std::fs::write(&p, &long).unwrap();
        let mut s = XidScanner::new();
        let mut got = vec![];
        s.scan_mapped(&std::fs::File::open(&p).unwrap(), long.len() as u64, 2 * page, "t", &mut |r| got.push(r.line))
            .unwrap();
        assert_eq!((got, s.summary().lines), (vec![2], 3));
    }

    impl XidRecord {
        fn xid(&self) -> u32 {
            self.event.xid
        }
    }
}
