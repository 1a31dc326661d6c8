//! The scanner against hand-written logs in every format users paste, near-misses included,
//! plus property tests: arbitrary bytes never panic or hang.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use gpuguard::xid::{XidRecord, XidScanner, parse_xid_line};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xid")
}

fn scan(path: &Path) -> (Vec<XidRecord>, gpuguard::xid::XidSummary) {
    let mut s = XidScanner::new();
    let mut errors = vec![];
    let mut v = vec![];
    s.scan_path(path, &mut errors, &mut |r| v.push(r));
    assert!(errors.is_empty(), "{errors:?}");
    (v, s.summary())
}

#[test]
fn every_fixture_counts_exactly_its_events() {
    let want: &[(&str, &[u32])] = &[
        ("dmesg.log", &[48, 45, 63, 13, 13, 43, 79]),
        ("dmesg-T.log", &[94, 154, 95]),
        ("kern.log", &[31, 119, 120, 74, 92, 999]),
        ("journalctl-de.log", &[64, 140]),
        ("kmsg.txt", &[62, 45]),
        ("old-driver.log", &[8, 32]),
        ("near-misses.log", &[]),
    ];
    for (file, codes) in want {
        let (ev, _) = scan(&fixtures().join(file));
        assert_eq!(ev.iter().map(|r| r.event.xid).collect::<Vec<_>>(), *codes, "{file}");
    }
}

#[test]
fn fields_as_written() {
    let (ev, _) = scan(&fixtures().join("dmesg.log"));
    let dbe = &ev[0];
    assert_eq!((dbe.line, dbe.event.pci.as_deref(), dbe.event.pid), (6, Some("0000:3b:00"), Some(2210)));
    assert_eq!(dbe.event.timestamp.as_deref(), Some("4321.123456"));
    assert_eq!((dbe.category, dbe.action), ("memory-ecc", "drain-and-replace"));
    let off = &ev[6];
    assert_eq!((off.event.pid, off.event.process.as_deref()), (None, Some("<unknown>")));

    let (ev, _) = scan(&fixtures().join("journalctl-de.log"));
    assert_eq!(ev[0].event.timestamp.as_deref(), Some("Dez 03 14:22:10"));
    let (ev, _) = scan(&fixtures().join("kmsg.txt"));
    assert_eq!(
        (ev[1].event.timestamp.as_deref(), ev[1].event.caused_by, ev[1].follow_on),
        (Some("1412000500"), Some(62), true)
    );
    let (ev, _) = scan(&fixtures().join("old-driver.log"));
    assert_eq!((ev[0].event.pci.as_deref(), ev[0].event.message.as_str()), (Some("0000:03:00"), "Channel 00000001"));
    let (ev, _) = scan(&fixtures().join("kern.log"));
    assert_eq!(ev[5].name, "Unknown XID"); // reported, never dropped
}

#[test]
fn directory_summary_and_verdicts() {
    let (ev, sum) = scan(&fixtures());
    assert_eq!(ev.len() as u64, sum.events);
    assert_eq!(sum.events, 22);
    assert_eq!(sum.inputs, 7);
    let v3b = sum.verdicts.iter().find(|v| v.gpu == "0000:3b:00").unwrap();
    // 48 is the root cause; 45 and 63 collapse into it; 31/119/120 from kern.log also count.
    assert_eq!(v3b.root_xid, 48);
    assert_eq!(v3b.action, "drain-and-replace");
    assert_eq!(v3b.follow_on_events, 2);
    let v5e = sum.verdicts.iter().find(|v| v.gpu == "0000:5e:00").unwrap();
    assert_eq!((v5e.root_xid, v5e.action), (13, "restart-app"));
    let v86 = sum.verdicts.iter().find(|v| v.gpu == "0000:86:00").unwrap();
    assert_eq!(v86.root_xid, 79);
    let e13 = sum.by_gpu.iter().find(|e| e.gpu == "0000:5e:00" && e.xid == 13).unwrap();
    assert_eq!(
        (e13.count, e13.first_seen.as_deref(), e13.last_seen.as_deref()),
        (2, Some("5000.000001"), Some("5000.000099"))
    );
    assert!(e13.first_location.ends_with("dmesg.log:9"));
}

#[test]
fn parse_line_agrees_with_scanner() {
    for line in std::fs::read_to_string(fixtures().join("kern.log")).unwrap().lines() {
        let mut s = XidScanner::new();
        let mut n = 0;
        s.scan_bytes(line.as_bytes(), "x", &mut |_| n += 1);
        assert_eq!(n, usize::from(parse_xid_line(line.as_bytes()).is_some()), "{line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_xid_line(&data);
        let mut s = XidScanner::new();
        s.scan_bytes(&data, "x", &mut |_| {});
    }

    #[test]
    fn marker_with_garbage_tail(tail in proptest::collection::vec(any::<u8>(), 0..512), code in 0u32..100_000) {
        let mut line = format!("[ 1.0] NVRM: Xid (PCI:0000:01:00): {code}, ").into_bytes();
        line.extend_from_slice(&tail);
        let e = parse_xid_line(&line).expect("an event");
        prop_assert_eq!(e.xid, code);
        // The scanner finds it too, whatever the tail holds (a newline in it ends the line).
        let mut s = XidScanner::new();
        let mut codes = vec![];
        s.scan_bytes(&line, "x", &mut |r| codes.push(r.event.xid));
        prop_assert_eq!(codes.first().copied(), Some(code));
    }

    #[test]
    fn events_counted_whatever_the_noise(noise in proptest::collection::vec("[^\n]{0,200}", 0..50), every in 1usize..5) {
        let mut log = String::new();
        let mut want = 0;
        for (i, n) in noise.iter().enumerate() {
            let n = n.replace("NVRM: Xid", "NVRM Xid");
            log.push_str(&n);
            log.push('\n');
            if i % every == 0 {
                log.push_str("Jan  1 00:00:00 h kernel: NVRM: Xid (PCI:0000:01:00): 13, pid=1, name=p, x\n");
                want += 1;
            }
        }
        let mut s = XidScanner::new();
        let mut got = 0;
        s.scan_bytes(log.as_bytes(), "x", &mut |_| got += 1);
        prop_assert_eq!(got, want);
    }
}

#[test]
fn megabyte_lines_and_invalid_utf8() {
    let mut log = Vec::new();
    log.extend(std::iter::repeat_n(0xffu8, 3 << 20));
    log.push(b'\n');
    log.extend_from_slice(b"NVRM: Xid (PCI:\xff\xfe): 48, name=\xc3(, x\n");
    log.extend(std::iter::repeat_n(b'N', 2 << 20));
    let start = std::time::Instant::now();
    let mut s = XidScanner::new();
    let mut got = vec![];
    s.scan_bytes(&log, "x", &mut |r| got.push((r.event.xid, r.line)));
    assert_eq!(got, [(48, 2)]);
    assert_eq!(s.summary().lines, 3);
    assert!(start.elapsed().as_secs() < 10);
}
