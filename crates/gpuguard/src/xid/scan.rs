//! The line engine: one pass over bytes from any source (a reader, a mapped file, a followed
//! stream) that jumps from marker to marker with a SIMD search, parses only the lines that hold
//! one, and hands each to the sinks: the caller's event callback and the per-GPU summary
//! ([`super::summary`]). Constant memory: one fixed buffer, and the bounded summary. Sources
//! (files, directories, gzip, /dev/kmsg) are in [`super::source`].

use super::event::XidEvent;
use super::find::Engine;
use super::parse::{LineKind, XID_FINDER, XID_MARKER, next_marker, off_bus_line, parse_line};
use super::summary::{SummarySink, XidSummary};
use std::io::Read;

/// Read size; also the longest line parsed whole (longer lines are cut there, not buffered).
pub(crate) const BUF: usize = 1 << 20;
/// Reads land at addresses aligned to this: the kernel's copy into an address 8 or 16 bytes off
/// a 32-byte boundary ran 1.6-4x slower here (1 GiB from page cache: 89 ms aligned, 145 ms at
/// +16, 375 ms at +8), and that copy is most of the time of a read-path scan.
const ALIGN: usize = 64;

/// Accumulates XID events over many inputs: the engine plus the per-GPU summary.
///
/// The node agent keeps one for its lifetime: feed it with [`XidScanner::scan_continued`] (whole
/// lines as they arrive) and read [`XidScanner::summary`] (bounded by
/// [`super::MAX_SUMMARY_ROWS`]) for [`super::xid_metrics`].
#[derive(Debug, Default)]
pub struct XidScanner {
    pub(crate) sink: SummarySink,
    // Marker search + newline count (AVX2 when the CPU has it; tests force the portable one).
    engine: Engine,
    // Inputs that went through the mapped path, so tests can tell which path a file took.
    #[cfg(test)]
    pub(crate) mapped_inputs: u64,
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

    /// The summary so far, with one verdict per GPU.
    pub fn summary(&self) -> XidSummary {
        self.sink.summary()
    }

    /// Adds a note about an input (skipped, cut short) to the summary.
    pub(crate) fn note(&mut self, file: &str, message: String) {
        self.sink.note(file, message);
    }

    /// Scans an in-memory log.
    pub fn scan_bytes(&mut self, data: &[u8], name: &str, on_event: &mut dyn FnMut(XidEvent)) {
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
        on_event: &mut dyn FnMut(XidEvent),
    ) -> u64 {
        let next = self.scan_block(block, first_line, name, on_event);
        self.sink.lines += next - first_line;
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
        on_event: &mut dyn FnMut(XidEvent),
    ) -> std::io::Result<()> {
        self.sink.inputs += 1;
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
        let mut empty = true;
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
                empty = false;
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
        self.sink.lines += line_no - 1 + u64::from(last_byte != b'\n');
        if empty {
            // Named, so that among several inputs an empty one is never mistaken for a quiet log.
            self.sink.note(name, "empty: the input holds no bytes".into());
        }
        Ok(())
    }

    /// Scans complete lines; returns the line number after the block. Works through
    /// cache-sized pieces cut at newlines, so that the portable engine's newline count re-reads
    /// bytes its marker search just brought into cache instead of going back to memory (the
    /// AVX2 engine reads each byte once either way).
    pub(crate) fn scan_block(
        &mut self,
        block: &[u8],
        mut line_no: u64,
        name: &str,
        on_event: &mut dyn FnMut(XidEvent),
    ) -> u64 {
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
    fn scan_lines(&mut self, block: &[u8], mut line_no: u64, name: &str, on_event: &mut dyn FnMut(XidEvent)) -> u64 {
        let mut cursor = 0;
        loop {
            let (hit, newlines) = self.engine.find(&block[cursor..]);
            line_no += newlines;
            let Some(rel) = hit else { return line_no };
            let hit = cursor + rel;
            // The line around the marker: both ends are near it, so these searches are short.
            let ls = memchr::memrchr(b'\n', &block[cursor..hit]).map_or(cursor, |i| cursor + i + 1);
            let le = memchr::memchr(b'\n', &block[hit..]).map_or(block.len(), |i| hit + i);
            let mut at = Some(hit);
            if !block[hit..].starts_with(XID_MARKER) {
                // A line of the driver's off-the-bus message; an XID joined to it by "#012" still counts.
                self.sink.off_bus_line(off_bus_line(&block[ls..le], hit - ls), name, line_no);
                at = XID_FINDER.find(&block[hit..le]).map(|i| hit + i);
            }
            while let Some(a) = at {
                match parse_line(&block[ls..le], a - ls) {
                    // The same timestamped kernel record in a second input (kern.log and
                    // syslog both get every kernel line) is one event, not two.
                    LineKind::Event(p)
                        if p.timestamp.is_some() && self.sink.duplicate(&block[ls..le], a - ls, name) => {}
                    LineKind::Event(p) => on_event(self.sink.event(p, name, line_no)),
                    LineKind::Ignored { reason, writer } => self.sink.ignored(name, line_no, writer, reason),
                    LineKind::NotXid => {}
                }
                // Several events on one line, joined by rsyslog's "#012".
                at = next_marker(&block[ls..le], a - ls).map(|next| ls + next);
            }
            if le == block.len() {
                return line_no;
            }
            line_no += 1;
            cursor = le + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xid::{MAX_CODES_PER_GPU, MAX_SUMMARY_GPUS, MAX_SUMMARY_ROWS, xid_findings};

    /// What the log wrote, without where and the verdict.
    type Key = (u32, Option<String>, Option<u32>, String, Option<String>);
    fn key(e: &XidEvent) -> Key {
        (e.xid, e.pci.clone(), e.pid, e.message.clone(), e.timestamp.clone())
    }

    fn scan(data: &[u8]) -> (Vec<XidEvent>, XidSummary) {
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
        // Endless GPUs, then endless codes on one GPU: rows stop at the bound, events still count.
        let mut log = Vec::new();
        for i in 0..MAX_SUMMARY_GPUS + 50 {
            log.extend_from_slice(format!("NVRM: Xid (PCI:{i:04x}:00:00): 13, x\n").as_bytes());
        }
        for code in 0..MAX_CODES_PER_GPU as u32 + 70 {
            log.extend_from_slice(format!("NVRM: Xid (PCI:0000:00:00): {code}, x\n").as_bytes());
        }
        let (ev, sum) = scan(&log);
        assert_eq!(ev.len(), MAX_SUMMARY_GPUS + 50 + MAX_CODES_PER_GPU + 70);
        assert_eq!(sum.events as usize, ev.len());
        assert_eq!(sum.by_gpu.len(), MAX_SUMMARY_GPUS - 1 + MAX_CODES_PER_GPU);
        // 50 GPUs past the bound, and 70 codes past the bound on GPU 0000:00:00.
        assert_eq!(sum.overflow_events as usize, 50 + 70);
        assert!(sum.by_gpu.len() <= MAX_SUMMARY_ROWS);
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
        let want: Vec<(u64, Key)> = log
            .split(|&b| b == b'\n')
            .zip(1..)
            .filter_map(|(l, n)| crate::xid::parse_xid_line(l).map(|e| (n, key(&e))))
            .collect();
        let mut s = XidScanner::new();
        let mut got = vec![];
        s.scan_reader(Chunky(&log, 1), "t", &mut |r| got.push((r.line, key(&r)))).unwrap();
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
            s.scan_path(&p, &mut errors, &mut |r| got.push((r.line, key(&r))));
            assert!(errors.is_empty(), "{errors:?}");
            (got, s.summary().lines, s.mapped_inputs)
        };
        let want: Vec<_> = want.iter().map(|r| (r.line, key(r))).collect();
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
            assert!(got.iter().zip(&want).all(|(a, b)| a.line == b.line && key(a) == key(b)), "window {window}");
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

    impl XidEvent {
        fn xid(&self) -> u32 {
            self.xid
        }
    }
}
