//! Arbitrary bytes (megabyte lines included: run with -max_len=2000000) through the streaming
//! XID scanner: from a slice, from a reader that hands out small pieces, and as whole-line
//! blocks (scan_continued), then the summary, verdicts, findings, metrics and JSON. Checks: no
//! panic or hang, the three ways agree, the counts add up, and every line shorter than the read
//! buffer gives exactly the event the line parser finds in it, with its line number.
//!
//! Megabyte lines without megabyte corpus files: an input starting with `\0` is stretched. Its
//! bytes 1..6 are `fill, size1, at1, size2, at2`: `fill` repeated `pad(size)` times is inserted
//! into the rest at `at`/256 of its length, twice. `pad` is 128 bytes under the scanner's 1 MiB
//! buffer to ~380 over it (size < 128), or 0 to ~1 MiB in 8 KiB steps, so lines straddle the
//! buffer's end, over-long lines get skipped, and lines follow them.
#![no_main]

use gpuguard::xid::{XidEvent, XidScanner, parse_xid_line, xid_findings, xid_metrics};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// The scanner's read buffer: a line and its newline that fit in it are parsed whole.
const BUF: usize = 1 << 20;
/// Lines at least this long may be cut by the scanner's buffer; shorter ones are whole.
const WHOLE: usize = BUF - 1;

/// A reader that returns at most `step` bytes per call (and sometimes `Interrupted`).
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls % 7 == 3 {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn key(r: &XidEvent) -> (u64, u32, Option<String>, bool) {
    (r.line, r.xid, r.pci.clone(), r.follow_on)
}

/// What the log wrote (where and the verdict need the lines before).
fn written(r: &XidEvent) -> (u32, Option<String>, Option<u32>, Option<String>, String, Option<String>) {
    (r.xid, r.pci.clone(), r.pid, r.process.clone(), r.message.clone(), r.timestamp.clone())
}

fuzz_target!(|input: &[u8]| {
    let stretched;
    let data = match input {
        [0, fill, size1, at1, size2, at2, rest @ ..] => {
            let pad = |size: u8| if size < 128 { BUF - 128 + usize::from(size) * 4 } else { usize::from(size - 128) * 8192 };
            let mut cuts = [(usize::from(*at1) * rest.len() / 256, pad(*size1)), (usize::from(*at2) * rest.len() / 256, pad(*size2))];
            cuts.sort();
            let mut v = Vec::with_capacity(rest.len() + cuts[0].1 + cuts[1].1);
            let mut from = 0;
            for (at, n) in cuts {
                v.extend_from_slice(&rest[from..at]);
                v.resize(v.len() + n, *fill);
                from = at;
            }
            v.extend_from_slice(&rest[from..]);
            stretched = v;
            &stretched[..]
        }
        _ => input,
    };
    check(data);
});

fn lines_of(data: &[u8]) -> Vec<&[u8]> {
    data.split(|b| *b == b'\n').collect()
}

fn check(data: &[u8]) {
    let mut s = XidScanner::new();
    let mut recs = Vec::new();
    s.scan_bytes(data, "fuzz", &mut |r| recs.push(r));
    let sum = s.summary();

    // Counts add up.
    let newlines = data.iter().filter(|b| **b == b'\n').count() as u64;
    let want_lines = newlines + u64::from(data.last().is_some_and(|b| *b != b'\n'));
    assert_eq!(sum.lines, want_lines);
    assert_eq!(sum.events, recs.len() as u64);
    assert_eq!(sum.inputs, 1);
    assert_eq!(sum.by_gpu.iter().map(|e| e.count).sum::<u64>() + sum.overflow_events, sum.events);
    assert_eq!(sum.verdicts.iter().map(|v| v.events).sum::<u64>() + sum.overflow_events, sum.events);
    assert!(sum.by_gpu.len() <= gpuguard::xid::MAX_SUMMARY_ROWS);
    for e in &sum.by_gpu {
        assert!(e.root_cause_count <= e.count);
        assert_eq!(e.by_severity.error + e.by_severity.warning + e.by_severity.info, e.count);
    }
    for v in &sum.verdicts {
        assert!(v.follow_on_events <= v.events);
        // The root cause is a row of its GPU, or a cause its follow-ons name (never one of them).
        assert_eq!(sum.by_gpu.iter().any(|e| e.gpu == v.gpu && e.xid == v.root_xid && e.root_cause_count > 0), v.root_in_log);
    }
    // In order; several on one line only where rsyslog's "#012" joined lines.
    assert!(recs.windows(2).all(|w| w[0].line < w[1].line || (w[0].line == w[1].line && lines_of(data)[w[0].line as usize - 1].windows(4).any(|x| x == b"#012"))));

    // Every line short enough to be read whole gives exactly what the line parser finds.
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let mut want = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.len() < WHOLE && let Some(e) = parse_xid_line(line) {
            want.push((i as u64 + 1, written(&e)));
        }
    }
    // The first event of each line is the one the line parser reads.
    let got: Vec<_> = recs
        .iter()
        .enumerate()
        .filter(|(i, r)| *i == 0 || recs[i - 1].line != r.line)
        .filter(|(_, r)| lines.get(r.line as usize - 1).is_some_and(|l| l.len() < WHOLE))
        .map(|(_, r)| (r.line, written(r)))
        .collect();
    assert_eq!(got, want);
    for r in &recs {
        assert!(r.line >= 1 && r.line <= want_lines.max(1));
    }

    // The same through a reader that trickles, and as whole-line blocks.
    // Small pieces for small inputs; at most ~64 reads for big ones (the scanner searches the
    // whole partial line again after every read, so the work grows with reads × line length).
    let step = (1 + usize::from(data.first().copied().unwrap_or(0)) * 31).max(data.len() / 64);
    let mut t = XidScanner::new();
    let mut trickled = Vec::new();
    t.scan_reader(Trickle { data, step, calls: 0 }, "fuzz", &mut |r| trickled.push(key(&r))).expect("in-memory reader");
    assert_eq!(trickled, recs.iter().map(key).collect::<Vec<_>>());
    assert_eq!(t.summary(), sum);

    if data.len() < WHOLE {
        let whole = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut c = XidScanner::new();
        let mut blocks = Vec::new();
        let mut next = 1;
        for block in data[..whole].split_inclusive(|b| *b == b'\n').collect::<Vec<_>>().chunks(step % 5 + 1) {
            let block: Vec<u8> = block.concat();
            next = c.scan_continued(&block, next, "fuzz", &mut |r| blocks.push(key(&r)));
        }
        assert_eq!(next, newlines + 1);
        let head: Vec<_> = recs.iter().filter(|r| r.line <= newlines).map(key).collect();
        assert_eq!(blocks, head);
    }

    // What the CLI renders from it.
    let findings = xid_findings(&sum);
    assert!(findings.len() <= sum.by_gpu.len() + sum.verdicts.len());
    let _ = gpuguard::render::prometheus::to_prometheus(&xid_metrics(&sum));
    let _ = serde_json::to_string(&sum).expect("summary serializes");
    for r in recs.iter().take(16) {
        let _ = serde_json::to_string(r).expect("record serializes");
    }
    let _ = serde_json::to_string(&findings).expect("findings serialize");
}
