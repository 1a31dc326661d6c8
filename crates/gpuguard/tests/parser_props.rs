//! Issue #3: arbitrary bytes, invalid UTF-8 and megabyte-long lines never panic and never hang
//! the XID line parser, the streaming scanner or the `nvidia-smi -q` parser. The property
//! tests here are the fast counterpart of the cargo-fuzz targets in `fuzz/` (see its README).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use gpuguard::ecc::{
    EccSample, corrected_error_rate, ecc_findings, ecc_metrics, parse_nvidia_smi_q, smi_timestamp_seconds,
};
use gpuguard::xid::{XID_MARKER, XidEvent, XidScanner, classify_xid, parse_xid_line, xid_findings};
use proptest::prelude::*;
use std::io::Read;
use std::time::{Duration, Instant};

/// The scanner's read buffer: longer lines are parsed up to about here, the rest skipped.
const BUF: usize = 1 << 20;

const XID_LINE: &[u8] =
    b"Jan  1 00:00:00 gpu-7 kernel: [ 812.001] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, DBE";

fn scan(data: &[u8]) -> (Vec<XidEvent>, gpuguard::xid::XidSummary) {
    let mut s = XidScanner::new();
    let mut v = vec![];
    s.scan_bytes(data, "x", &mut |r| v.push(r));
    (v, s.summary())
}

/// A reader that hands out at most `step` bytes a call, like a pipe fed by a slow writer.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Pieces that make the parser work: the marker and its fields, invalid UTF-8 (lone
/// continuation bytes, truncated sequences, surrogates, overlongs), digits and separators.
fn xid_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(XID_MARKER.to_vec()),
        Just(b" (PCI:0000:3b:00): ".to_vec()),
        Just(b"(".to_vec()),
        Just(b")".to_vec()),
        Just(b": ".to_vec()),
        Just(b", ".to_vec()),
        Just(b"pid=".to_vec()),
        Just(b"name=".to_vec()),
        Just(b"previous Xid ".to_vec()),
        Just(b" kernel: ".to_vec()),
        Just(b"[ 12.5] ".to_vec()),
        Just(b"6,1,2,-;".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"\xc3".to_vec()),
        Just(b"\xed\xa0\x80".to_vec()),
        Just(b"\xc0\x80".to_vec()),
        Just(b"\xf4\x90\x80\x80".to_vec()),
        "[0-9]{1,12}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

fn xid_soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(xid_piece(), 0..40).prop_map(|v| v.concat())
}

/// Garbage for one line: any bytes but `\n`, with every marker broken (`X` → `x`) so the line
/// holds no event.
fn garbage_line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            any::<u8>().prop_filter("no newline", |b| *b != b'\n').prop_map(|b| vec![b]),
            xid_piece().prop_map(|p| p.into_iter().filter(|b| *b != b'\n').collect())
        ],
        0..24,
    )
    .prop_map(|v| {
        let mut line = v.concat();
        while let Some(i) = line.windows(XID_MARKER.len()).position(|w| w == XID_MARKER) {
            line[i + 6] = b'x';
        }
        line
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn xid_soup_never_panics_and_scanner_agrees(data in xid_soup()) {
        let event = parse_xid_line(&data);
        if let Some(e) = &event {
            let _ = classify_xid(e.xid);
        }
        let text = String::from_utf8_lossy(&data);
        let from_text = parse_xid_line(text.as_bytes());
        if std::str::from_utf8(&data).is_ok() {
            prop_assert_eq!(&from_text, &event);
        }
        // Line by line, the scanner reports exactly what the line parser finds.
        // (What the log wrote; where and the verdict need the lines before.)
        let key = |e: &XidEvent| (e.xid, e.pci.clone(), e.pid, e.process.clone(), e.message.clone(), e.timestamp.clone());
        let want: Vec<_> = data.split(|b| *b == b'\n').enumerate().filter_map(|(i, l)| parse_xid_line(l).map(|e| (i as u64 + 1, key(&e)))).collect();
        let (recs, sum) = scan(&data);
        prop_assert_eq!(recs.iter().map(|r| (r.line, key(r))).collect::<Vec<_>>(), want);
        prop_assert_eq!(sum.events, recs.len() as u64);
        prop_assert_eq!(sum.verdicts.iter().map(|v| v.events).sum::<u64>(), sum.events);
        let _ = xid_findings(&sum);
        let _ = serde_json::to_string(&sum).unwrap();
    }

    #[test]
    fn xid_line_found_between_garbage_lines(
        before in proptest::collection::vec(garbage_line(), 0..20),
        after in proptest::collection::vec(garbage_line(), 0..20),
        code in 0u32..1_000_000,
        crlf in any::<bool>(),
        step in 1usize..300,
    ) {
        let mut log = Vec::new();
        for l in &before {
            log.extend_from_slice(l);
            log.push(b'\n');
        }
        log.extend_from_slice(format!("[ 7.25] NVRM: Xid (PCI:0000:3b:00): {code}, pid=9, name=python, x").as_bytes());
        log.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        for l in &after {
            log.extend_from_slice(l);
            log.push(b'\n');
        }
        let (recs, sum) = scan(&log);
        prop_assert_eq!(recs.len(), 1);
        let r = &recs[0];
        prop_assert_eq!((r.line, r.xid, r.pci.as_deref(), r.pid), (before.len() as u64 + 1, code, Some("0000:3b:00"), Some(9)));
        prop_assert_eq!((r.timestamp.as_deref(), r.message.as_str()), (Some("7.25"), "x"));
        prop_assert_eq!(sum.lines, (before.len() + 1 + after.len()) as u64);
        // The same from a reader that hands out a few bytes at a time.
        let mut s = XidScanner::new();
        let mut lines = vec![];
        s.scan_reader(Trickle(&log, step), "x", &mut |r| lines.push(r.line)).unwrap();
        prop_assert_eq!(lines, vec![before.len() as u64 + 1]);
        prop_assert_eq!(s.summary().lines, sum.lines);
    }

    #[test]
    fn nvidia_smi_text_never_panics(text in any::<String>()) {
        let gpus = parse_nvidia_smi_q(&text);
        let _ = ecc_findings(&gpus);
        let _ = ecc_metrics(&gpus);
        if let Some(t) = smi_timestamp_seconds(&text) {
            prop_assert!(t.is_finite());
        }
    }

    #[test]
    fn nvidia_smi_like_text_never_panics(
        lines in proptest::collection::vec((0usize..20, prop_oneof![
            Just("GPU 00000000:3B:00.0"), Just("ECC Errors"), Just("Volatile"), Just("Aggregate"),
            Just("Single Bit"), Just("Double Bit"), Just("Total"), Just("SRAM Correctable"),
            Just("DRAM Uncorrectable"), Just("Retired Pages"), Just("Pending Page Blacklist"),
            Just("Remapped Rows"), Just("Pending"), Just("Remapping Failure Occurred"),
            Just("ECC Mode"), Just("Current"), Just("Product Name"), Just("Timestamp"),
        ], prop_oneof![
            Just(String::new()), Just("Yes".to_owned()), Just("N/A".to_owned()),
            "[0-9]{1,22}", "(Mon|Tue) (Jan|Feb|Dec) [ -]?[0-9]{1,20} [0-9]{1,20}:[0-9]{1,3}:[0-9]{1,20} -?[0-9]{1,20}", ".{0,12}",
        ]), 0..60),
        second_counts in proptest::collection::vec(any::<u64>(), 1..4),
    ) {
        let mut text = String::new();
        for (indent, key, value) in &lines {
            text.push_str(&" ".repeat(*indent));
            text.push_str(key);
            text.push_str(" : ");
            text.push_str(value);
            text.push('\n');
        }
        let gpus = parse_nvidia_smi_q(&text);
        let _ = ecc_findings(&gpus);
        let _ = ecc_metrics(&gpus);
        if let Some(t) = smi_timestamp_seconds(&text) {
            prop_assert!(t.is_finite());
            // Two snapshots an hour apart, as `gpuguard xid --ecc a --ecc b` builds them.
            for g in &gpus {
                if let Some(c) = g.volatile_corrected.or(g.aggregate_corrected) {
                    let mut samples = vec![EccSample { time_seconds: t, corrected: c }];
                    samples.extend(second_counts.iter().enumerate().map(|(i, &c)| EccSample { time_seconds: t + 3600.0 * (i + 1) as f64, corrected: c }));
                    let r = corrected_error_rate(&samples, 100.0).unwrap();
                    prop_assert!(r.per_hour >= 0.0 && r.peak_per_hour >= 0.0);
                }
            }
        }
    }
}

/// One line of `len` bytes of invalid UTF-8 filler, with `XID_LINE` ending at `marker_end` when
/// given.
fn long_line(len: usize, marker_end: Option<usize>) -> Vec<u8> {
    let mut line: Vec<u8> = b"\xff\xfe\xc3(".iter().copied().cycle().take(len).collect();
    if let Some(end) = marker_end {
        line[end - XID_LINE.len()..end].copy_from_slice(XID_LINE);
    }
    line
}

fn scan_in_time(log: &[u8]) -> (Vec<(u64, u32)>, u64) {
    let start = Instant::now();
    let (recs, sum) = scan(log);
    assert!(start.elapsed() < Duration::from_secs(10), "scan took {:?}", start.elapsed());
    (recs.iter().map(|r| (r.line, r.xid)).collect(), sum.lines)
}

#[test]
fn megabyte_line_without_marker() {
    for len in [BUF - 1, BUF, BUF + 1, 3 * BUF / 2] {
        let mut log = long_line(len, None);
        log.push(b'\n');
        log.extend_from_slice(XID_LINE);
        assert_eq!(scan_in_time(&log), (vec![(2, 48)], 2), "len {len}");
        assert_eq!(parse_xid_line(&long_line(len, None)), None);
    }
}

#[test]
fn megabyte_line_with_marker_at_its_start_and_near_its_end() {
    // Shorter than the read buffer: read whole, the event near its end is found.
    let len = BUF - 64;
    for at in [XID_LINE.len(), len / 2, len - 1, len] {
        let mut log = b"boot\n".to_vec();
        log.extend_from_slice(&long_line(len, Some(at)));
        log.extend_from_slice(b"\nafter\n");
        assert_eq!(scan_in_time(&log), (vec![(2, 48)], 3), "marker ending at {at}");
        // The line parser has no length limit.
        assert_eq!(parse_xid_line(&long_line(len, Some(at))).map(|e| e.xid), Some(48));
    }
    // Longer than the buffer: the head is parsed, the tail skipped (bounded memory), and the
    // scan goes on with the right line numbers. A marker near the start is found...
    let len = 3 * BUF / 2;
    let mut log = b"boot\n".to_vec();
    log.extend_from_slice(&long_line(len, Some(XID_LINE.len() + 10)));
    log.push(b'\n');
    log.extend_from_slice(XID_LINE);
    assert_eq!(scan_in_time(&log), (vec![(2, 48), (3, 48)], 3));
    // ...one near its end is past the cut: not reported, and nothing breaks.
    let mut log = b"boot\n".to_vec();
    log.extend_from_slice(&long_line(len, Some(len - 1)));
    log.push(b'\n');
    log.extend_from_slice(XID_LINE);
    log.push(b'\n');
    assert_eq!(scan_in_time(&log), (vec![(3, 48)], 3));
    assert_eq!(parse_xid_line(&long_line(len, Some(len - 1))).map(|e| e.xid), Some(48));
    // A megabyte line that is the whole input, without a final newline.
    assert_eq!(scan_in_time(&long_line(len, Some(XID_LINE.len()))), (vec![(1, 48)], 1));
}

#[test]
fn megabyte_line_from_a_trickling_reader() {
    let mut log = long_line(BUF + BUF / 4, Some(XID_LINE.len()));
    log.push(b'\n');
    log.extend_from_slice(XID_LINE);
    let start = Instant::now();
    let mut s = XidScanner::new();
    let mut got = vec![];
    s.scan_reader(Trickle(&log, 64 << 10), "x", &mut |r| got.push(r.line)).unwrap();
    assert_eq!((got, s.summary().lines), (vec![1, 2], 2));
    assert!(start.elapsed() < Duration::from_secs(10), "scan took {:?}", start.elapsed());
}

#[test]
fn line_after_an_over_long_line_is_read_whole() {
    // A line longer than the buffer, then one shorter than it (so it must be parsed whole) with
    // its event past the part of the buffer the first line's tail leaves. Found by
    // fuzz/scan_bytes: scan_reader took the second line for an over-long one because the buffer
    // was full, though the line started mid-buffer.
    let mut log = long_line(BUF + BUF / 2, None);
    log.push(b'\n');
    let second = BUF / 2 + 4096;
    log.extend_from_slice(&long_line(second, Some(second - 1)));
    log.push(b'\n');
    log.extend_from_slice(XID_LINE);
    assert_eq!(parse_xid_line(&long_line(second, Some(second - 1))).map(|e| e.xid), Some(48));
    assert_eq!(scan_in_time(&log), (vec![(2, 48), (3, 48)], 3));
}
