//! The scanner against hand-written logs in every format users paste, near-misses included,
//! plus property tests: arbitrary bytes never panic or hang.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use gpuguard::Severity;
use gpuguard::xid::{XidEvent, XidScanner, parse_xid_line};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xid")
}

fn scan(path: &Path) -> (Vec<XidEvent>, gpuguard::xid::XidSummary) {
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
        assert_eq!(ev.iter().map(|r| r.xid).collect::<Vec<_>>(), *codes, "{file}");
    }
}

#[test]
fn fields_as_written() {
    let (ev, _) = scan(&fixtures().join("dmesg.log"));
    let dbe = &ev[0];
    assert_eq!((dbe.line, dbe.pci.as_deref(), dbe.pid), (6, Some("0000:3b:00"), Some(2210)));
    assert_eq!(dbe.timestamp.as_deref(), Some("4321.123456"));
    assert_eq!((dbe.category, dbe.action), ("memory-ecc", "drain-and-replace"));
    let off = &ev[6];
    assert_eq!((off.pid, off.process.as_deref()), (None, Some("<unknown>")));

    let (ev, _) = scan(&fixtures().join("journalctl-de.log"));
    assert_eq!(ev[0].timestamp.as_deref(), Some("Dez 03 14:22:10"));
    let (ev, _) = scan(&fixtures().join("kmsg.txt"));
    assert_eq!((ev[1].timestamp.as_deref(), ev[1].caused_by, ev[1].follow_on), (Some("1412000500"), Some(62), true));
    let (ev, _) = scan(&fixtures().join("old-driver.log"));
    assert_eq!((ev[0].pci.as_deref(), ev[0].message.as_str()), (Some("0000:03:00"), "Channel 00000001"));
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
    // 48 is the root cause; 45 and 63 collapse into it. kern.log's 31/119/120 on 0000:3b:00 are
    // gpu-node-7's: the directory names three machines, so dmesg.log's (which names none) stay apart.
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
        s.scan_bytes(&line, "x", &mut |r| codes.push(r.xid));
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
    s.scan_bytes(&log, "x", &mut |r| got.push((r.xid, r.line)));
    assert_eq!(got, [(48, 2)]);
    assert_eq!(s.summary().lines, 3);
    assert!(start.elapsed().as_secs() < 10);
}

fn field(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xid-field").join(file)
}

fn formats(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xid-formats").join(file)
}

/// Field case: a `Nonfatal` NVLink error is a warning with no action; its `Fatal` twin needs a
/// GPU reset and decides the GPU's verdict.
#[test]
fn field_nvlink_nonfatal_is_not_a_reset() {
    let (ev, sum) = scan(&field("nvlink_nonfatal_145.log"));
    assert_eq!(ev.len(), 2);
    let (nonfatal, fatal) = (&ev[0], &ev[1]);
    assert_eq!(
        (nonfatal.severity, nonfatal.action, nonfatal.verdict_words),
        (Severity::Warning, "none", Some("Nonfatal"))
    );
    assert_eq!((fatal.severity, fatal.action, fatal.verdict_words), (Severity::Error, "reset-gpu", Some("Fatal")));
    let v = &sum.verdicts[0];
    assert_eq!((v.gpu.as_str(), v.root_xid, v.action, v.severity), ("0000:a3:00", 145, "reset-gpu", Severity::Error));
    assert!(v.decided_by.as_deref().is_some_and(|d| d.ends_with("nvlink_nonfatal_145.log:2")), "{v:?}");
    assert_eq!((sum.by_gpu[0].by_severity.error, sum.by_gpu[0].by_severity.warning), (1, 1));

    // Only the Nonfatal line: a warning that asks for nothing, not a reset.
    let mut s = XidScanner::new();
    let first = std::fs::read_to_string(field("nvlink_nonfatal_145.log")).unwrap();
    s.scan_bytes(first.lines().next().unwrap().as_bytes(), "x", &mut |_| {});
    let v = &s.summary().verdicts[0];
    assert_eq!((v.action, v.severity), ("none", Severity::Warning));
}

/// Field case: Talos timestamps read as RFC 3339; the 45s name their cause (even 45 itself) so
/// they are follow-ons; 74 is the root cause; 154 raises the action to a GPU reset.
#[test]
fn field_talos_follow_ons_and_timestamps() {
    let (ev, sum) = scan(&field("talos_rfc3339_followons.log"));
    let got: Vec<_> = ev.iter().map(|e| (e.xid, e.timestamp.as_deref(), e.follow_on)).collect();
    assert_eq!(
        got,
        [
            (45, Some("2026-03-14T08:02:11.1002003Z"), true),
            (45, Some("2026-03-14T08:02:11.1003004Z"), true),
            (74, Some("2026-03-14T08:02:11.1004005Z"), false),
            (154, Some("2026-03-14T08:02:11.19Z"), true),
        ]
    );
    let v = &sum.verdicts[0];
    assert_eq!((v.root_xid, v.action, v.driver_action, v.follow_on_events), (74, "reset-gpu", Some("reset-gpu"), 3));
    assert!(v.root_in_log);
    // The 45s alone: the root cause is the XID they name, not one of them.
    let mut s = XidScanner::new();
    let text = std::fs::read_to_string(field("talos_rfc3339_followons.log")).unwrap();
    let lines: Vec<&str> = text.lines().take(2).collect();
    s.scan_bytes(lines.join("\n").as_bytes(), "x", &mut |_| {});
    let sum = s.summary();
    let v = &sum.verdicts[0];
    assert_eq!((v.root_xid, v.root_in_log, v.follow_on_events), (45, false, 2));
    assert!(sum.by_gpu.iter().all(|r| r.root_cause_count == 0));
    let f = gpuguard::xid::xid_findings(&sum);
    assert_eq!(f.len(), 1, "the GPU is still reported: {f:?}");
}

/// Field case: the driver's API mismatch message is no XID event; the doctor reports GG010
/// naming both versions and the fix, without NVML (a fixture root loads none).
#[test]
fn field_api_mismatch_is_gg010_without_nvml() {
    let (ev, _) = scan(&field("api_mismatch_dmesg.log"));
    assert!(ev.is_empty());
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/log")).unwrap();
    std::fs::copy(field("api_mismatch_dmesg.log"), root.path().join("var/log/kern.log")).unwrap();
    let report = gpuguard::doctor::doctor(&gpuguard::probe::Host::new(root.path()), &Default::default());
    let nvml = report.checks.iter().find(|c| c.name == "nvml").unwrap();
    assert_eq!(nvml.status, gpuguard::CheckStatus::Skipped);
    let f = report.findings.iter().find(|f| f.rule == "GG010").expect("GG010");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("550.90.12") && f.message.contains("550.90.07"), "{}", f.message);
    assert!(f.fix.contains("Reboot") && f.fix.contains("reinstall"), "{}", f.fix);
    assert_eq!((f.location.file.as_deref(), f.location.line), (Some("/var/log/kern.log"), Some(2)));
}

/// Field case: user-space lines with XID text never become events or verdicts; they are counted
/// as ignored, with the reason.
#[test]
fn field_forged_userspace_lines_are_ignored() {
    let (ev, sum) = scan(&field("forged_userspace.log"));
    assert_eq!(ev.iter().map(|e| e.xid).collect::<Vec<_>>(), [31]);
    assert_eq!((sum.verdicts.len(), sum.verdicts[0].root_xid), (1, 31));
    assert_eq!(sum.ignored.lines, 2);
    let lines: Vec<_> = sum.ignored.examples.iter().map(|i| (i.line, i.writer.as_str())).collect();
    assert_eq!(lines, [(2, "someuser[51234]"), (3, "python3[51240]")]);
    assert!(sum.ignored.examples[0].reason.contains("not the kernel"));
}

/// One fixture per timestamp format: events, ISO 8601 where the log gives a date, and the lines
/// user space wrote in the same format ignored.
#[test]
fn every_timestamp_format() {
    /// (file, events as (code, timestamp), lines ignored)
    type Case<'a> = (&'a str, &'a [(u32, &'a str)], u64);
    let want: &[Case] = &[
        ("talos-dmesg.log", &[(79, "2026-03-14T08:02:11.123456789Z")], 1),
        ("dmesg-time-format-iso.log", &[(79, "2026-03-14T08:02:11.1002+01:00")], 0),
        ("dmesg-decode.log", &[(48, "4321.123456"), (63, "4321.200001")], 1),
        ("journalctl-short-iso.log", &[(31, "2026-03-14T08:02:11+00:00")], 1),
        ("journalctl-short-precise.log", &[(119, "Mar 14 08:02:11.100200"), (154, "Mar 14 08:02:11.100900")], 0),
        ("journalctl-json.log", &[(94, "2026-03-14T08:02:11.1002Z"), (45, "2026-03-14T08:02:11.4Z")], 1),
        ("rfc5424.log", &[(13, "2026-03-14T08:02:11.1002Z"), (43, "2026-03-14T08:02:13.5+02:00")], 1),
        ("syslog-012.log", &[(13, "Mar 14 08:02:11"), (13, "Mar 14 08:02:11"), (43, "Mar 14 08:02:12")], 0),
        // journalctl -o short-full and -o short-unix (the user-space line of short-full is ignored,
        // not taken for a bare kernel line).
        ("journalctl-short-full.log", &[(79, "2026-03-14T08:02:11Z")], 1),
        ("journalctl-short-unix.log", &[(48, "2026-03-14T08:02:11.1002Z"), (63, "2026-03-14T08:02:11.2Z")], 0),
    ];
    for (file, events, ignored) in want {
        let (ev, sum) = scan(&formats(file));
        let got: Vec<(u32, &str)> = ev.iter().map(|e| (e.xid, e.timestamp.as_deref().unwrap_or("-"))).collect();
        assert_eq!(got, *events, "{file}");
        assert_eq!(sum.ignored.lines, *ignored, "{file}");
    }
    // #012: each event's message ends at the escape.
    assert_log_shippers_json();
    let (ev, _) = scan(&formats("syslog-012.log"));
    assert_eq!(ev[2].message, "Ch 00000010");
    // journal JSON: the cause named in MESSAGE makes a follow-on.
    let (ev, sum) = scan(&formats("journalctl-json.log"));
    assert!(ev[1].follow_on);
    assert_eq!(sum.verdicts[0].root_xid, 94);
}

/// A directory with symlinks to itself, a second link to a file, a FIFO and a socket: each file
/// is scanned once, the walk ends, and the specials are skipped with a note (never opened).
#[test]
fn directory_walk_is_safe() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("kern.log"), "NVRM: Xid (PCI:0000:01:00): 79, gone\n").unwrap();
    std::os::unix::fs::symlink(d, d.join("self-a")).unwrap();
    std::os::unix::fs::symlink(d, d.join("self-b")).unwrap();
    std::os::unix::fs::symlink(d.join("kern.log"), d.join("again.log")).unwrap();
    std::os::unix::fs::symlink(d.join("loop-x"), d.join("loop-y")).unwrap();
    std::os::unix::fs::symlink(d.join("loop-y"), d.join("loop-x")).unwrap();
    let fifo = std::ffi::CString::new(d.join("pipe").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = d.to_path_buf();
    std::thread::spawn(move || {
        let mut s = XidScanner::new();
        let (mut errors, mut n) = (vec![], 0);
        s.scan_path(&path, &mut errors, &mut |_| n += 1);
        let _ = tx.send((n, errors, s.summary()));
    });
    let (n, errors, sum) = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the walk ended");
    assert_eq!(n, 1, "the log was scanned once");
    assert!(errors.is_empty(), "{errors:?}");
    let notes: Vec<String> = sum.notes.iter().map(|n| format!("{}: {}", n.file, n.message)).collect();
    let has = |name: &str, what: &str| notes.iter().any(|n| n.contains(name) && n.contains(what));
    assert!(has("pipe", "FIFO") && has("sock", "socket"), "{notes:?}");
    assert!(has("self-a", "already scanned") && has("self-b", "already scanned"), "{notes:?}");
    assert!(has(".log", "a file already scanned") && has("loop-x", "skipped"), "{notes:?}");
}

/// 300,000 distinct codes in one log: every event counted, the summary stays at its bound.
#[test]
fn summary_bounded_for_300k_codes() {
    let mut log = Vec::with_capacity(16 << 20);
    for code in 0..300_000u32 {
        log.extend_from_slice(format!("NVRM: Xid (PCI:0000:{:02x}:00): {code}, x\n", code % 7).as_bytes());
    }
    let mut s = XidScanner::new();
    s.scan_bytes(&log, "x", &mut |_| {});
    let sum = s.summary();
    assert_eq!(sum.events, 300_000);
    assert_eq!(sum.by_gpu.len(), 7 * gpuguard::xid::MAX_CODES_PER_GPU);
    assert_eq!(sum.overflow_events, 300_000 - sum.by_gpu.len() as u64);
    assert!(sum.by_gpu.len() <= gpuguard::xid::MAX_SUMMARY_ROWS);
}

/// A settled (memory-mapped) log truncated in the middle of its scan: no SIGBUS; the events
/// before the cut, and a note.
#[test]
fn log_truncated_during_mapped_scan() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kern.log");
    let mut log = Vec::new();
    log.extend_from_slice(b"[ 1.0] NVRM: Xid (PCI:0000:01:00): 13, first\n");
    while log.len() < 6 << 20 {
        log.extend_from_slice(b"Mar 14 08:02:11 node kernel: eth0: link up, 25Gbps, full duplex, flow control rx/tx\n");
    }
    let cut = log.len() as u64 / 2;
    for _ in 0..100 {
        log.extend_from_slice(b"[ 9.0] NVRM: Xid (PCI:0000:01:00): 79, after the cut\n");
    }
    std::fs::write(&p, &log).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
    let mut s = XidScanner::new();
    let (mut errors, mut got) = (vec![], vec![]);
    s.scan_path(&p, &mut errors, &mut |e| {
        if e.xid == 13 {
            // Truncate while the window is mapped and only its first line is scanned.
            std::fs::File::options().write(true).open(&p).unwrap().set_len(cut).unwrap();
        }
        got.push(e.xid);
    });
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(got, [13]);
    let sum = s.summary();
    assert!(sum.notes.iter().any(|n| n.message.contains("truncated")), "{:?}", sum.notes);
}

/// The doctor reads the forged log the same way: GG005 for the kernel's XID 31 only, the two
/// user-space lines named in the kernel-log check.
#[test]
fn field_forged_userspace_through_the_doctor() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/log")).unwrap();
    std::fs::copy(field("forged_userspace.log"), root.path().join("var/log/syslog")).unwrap();
    let report = gpuguard::doctor::doctor(&gpuguard::probe::Host::new(root.path()), &Default::default());
    let gg005: Vec<_> = report.findings.iter().filter(|f| f.rule == "GG005").collect();
    assert_eq!(gg005.len(), 1, "{gg005:?}");
    assert_eq!(gg005[0].evidence["xid"], 31);
    let check = report.checks.iter().find(|c| c.name == "kernel-log").unwrap();
    assert!(check.reason.contains("ignored 2 line(s)"), "{}", check.reason);
}

fn public(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xid-public").join(file)
}

/// Two machines' syslog in one file, both with a GPU at 0000:3b:00: one verdict per machine, each
/// from its own events (a DBE on node-a must not drain node-b, whose GPU only saw an app fault).
#[test]
fn public_two_hosts_sharing_a_bus_id_are_two_gpus() {
    let (ev, sum) = scan(&public("two_hosts_same_pci.log"));
    assert_eq!(
        ev.iter().map(|e| e.host.as_deref()).collect::<Vec<_>>(),
        [Some("node-a"), Some("node-b"), Some("node-b")]
    );
    let v: Vec<_> = sum.verdicts.iter().map(|v| (v.host.as_deref(), v.gpu.as_str(), v.root_xid, v.action)).collect();
    assert_eq!(
        v,
        [(Some("node-a"), "0000:3b:00", 48, "drain-and-replace"), (Some("node-b"), "0000:3b:00", 13, "restart-app")]
    );
    assert!(sum.verdicts[1].message.starts_with("GPU 0000:3b:00 on node-b: XID 13"), "{}", sum.verdicts[1].message);
    assert_eq!(sum.verdicts[1].follow_on_events, 1);
    let f = gpuguard::xid::xid_findings(&sum);
    assert!(f.iter().any(|f| f.message.contains("on node-a") && f.evidence["host"] == "node-a"));
    // Prometheus: one series per GPU and code, hosts summed, never a duplicate label set.
    let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::xid::xid_metrics(&sum));
    assert_eq!(text.matches(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#).count(), 1);
}

/// A dmesg (no machine named) and the syslog of one machine: the same GPU, one verdict. A single
/// row remap (63) asks for a reset to activate it, not a replacement.
#[test]
fn public_dmesg_joins_its_one_host_and_63_alone_is_a_reset() {
    let (_, sum) = scan(&public("row_remap_63_dmesg_and_syslog.log"));
    assert_eq!(sum.verdicts.len(), 1, "{:?}", sum.verdicts);
    let v = &sum.verdicts[0];
    assert_eq!(
        (v.host.as_deref(), v.root_xid, v.action, v.severity),
        (Some("gpu-node-3"), 63, "reset-gpu", Severity::Warning)
    );
    assert_eq!((v.root_events, v.other_root_events, v.follow_on_events), (1, 1, 0));
}

/// The verdict's counts: the deciding root cause's own events, the other root causes (judged on
/// their own, never called its follow-ons) and the follow-ons, apart.
#[test]
fn public_verdict_counts_other_roots_apart_from_follow_ons() {
    let (ev, sum) = scan(&public("other_roots_62_154_109.log"));
    assert_eq!(ev.iter().map(|e| (e.xid, e.follow_on)).collect::<Vec<_>>(), [(62, false), (154, true), (109, false)]);
    let v = &sum.verdicts[0];
    assert_eq!((v.root_xid, v.action, v.events), (62, "reset-gpu", 3));
    assert_eq!((v.root_events, v.other_root_events, v.follow_on_events), (1, 1, 1));
    assert!(
        v.message.contains(
            "is the root cause (1 event(s) in the log); other root causes: XID 109 x1; 1 follow-on event(s) collapsed"
        ),
        "{}",
        v.message
    );
    assert!(!v.message.contains("root cause of 3"), "{}", v.message);
}

/// A follow-on names a cause whose own line is outside the log: that cause is judged by its code
/// and can decide the verdict over a milder root cause that is in the log.
#[test]
fn public_cause_named_outside_the_log_decides() {
    let (ev, sum) = scan(&public("caused_by_outside_log.log"));
    assert!(ev.iter().filter(|e| e.xid == 45).all(|e| e.follow_on));
    let ed = sum.verdicts.iter().find(|v| v.gpu == "0000:ed:00").unwrap();
    assert_eq!((ed.root_xid, ed.root_in_log, ed.action), (79, false, "reboot-node"));
    assert_eq!((ed.root_events, ed.other_root_events, ed.follow_on_events), (0, 1, 1));
    let dc = sum.verdicts.iter().find(|v| v.gpu == "0000:dc:00").unwrap();
    assert_eq!((dc.root_xid, dc.root_in_log, dc.follow_on_events), (149, false, 2));
}

/// /dev/kmsg escapes the newlines of a multi-line record as "\x0a": the header (time, facility) is
/// the record's, the event ends at the escape, and a user-space record stays ignored.
#[test]
fn public_kmsg_multi_line_records() {
    let (ev, sum) = scan(&public("kmsg_x0a.log"));
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].xid, ev[0].timestamp.as_deref()), (79, Some("812330000")));
    assert_eq!(ev[0].message, "GPU has fallen off the bus.");
    assert_eq!((sum.ignored.lines, sum.ignored.examples[0].writer.as_str()), (1, "facility user"));
}

/// A binary file is noted, not scanned silently; an empty one reads 0 lines.
#[test]
fn binary_and_empty_inputs_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("system.journal");
    let mut data = b"LPKSHHRH\0\0\0\0".to_vec();
    data.extend_from_slice(b"MESSAGE=NVRM: Xid (PCI:0000:01:00): 79, gone\n");
    std::fs::write(&bin, &data).unwrap();
    let (ev, sum) = scan(&bin);
    assert_eq!(ev.len(), 1, "XID lines in it still count");
    assert!(
        sum.notes[0].message.contains("looks binary") && sum.notes[0].message.contains("journalctl --file"),
        "{:?}",
        sum.notes
    );
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let (ev, sum) = scan(&empty);
    // An empty input is named in a note, so that among several inputs it is never mistaken for
    // a quiet log.
    assert_eq!((ev.len(), sum.lines, sum.inputs, sum.notes.len()), (0, 0, 1, 1));
    assert!(sum.notes[0].file.ends_with("empty.log") && sum.notes[0].message.starts_with("empty"), "{:?}", sum.notes);
}

/// Stock Ubuntu rsyslog writes every kernel line to both /var/log/kern.log and /var/log/syslog:
/// one DBE is one event, not two (a repeated 48 after a reset means replacing the GPU). A line
/// repeated within one file is a real repeat and counts; untimestamped twins in two files cannot
/// be told from real repeats and count too.
#[test]
fn rsyslog_copies_in_kern_log_and_syslog_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let dbe = "Nov 29 10:00:01 gpu-node-7 kernel: [ 4242.100000] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, Ch 00000008\n";
    let gr = "Nov 29 10:00:09 gpu-node-7 kernel: [ 4250.000000] NVRM: Xid (PCI:0000:3b:00): 13, pid=2210, name=python, Graphics Exception\n";
    std::fs::write(dir.path().join("kern.log"), format!("{dbe}{dbe}")).unwrap();
    std::fs::write(
        dir.path().join("syslog"),
        format!("Nov 29 10:00:00 gpu-node-7 systemd[1]: Started x.\n{dbe}{dbe}{gr}"),
    )
    .unwrap();
    let (ev, sum) = scan(dir.path());
    assert_eq!((ev.len(), sum.events, sum.duplicates_dropped), (3, 3, 2), "{sum:?}");
    let dbe_row = sum.by_gpu.iter().find(|r| r.xid == 48).unwrap();
    assert_eq!((dbe_row.count, dbe_row.host.as_deref()), (2, Some("gpu-node-7")));
    // The doctor reads the same two files through the same pipeline: GG005 says 2, not 4.
    let findings = gpuguard::xid::xid_findings(&sum);
    let f48 = findings.iter().find(|f| f.message.contains("XID 48")).unwrap();
    assert!(f48.message.contains("seen 2 time(s)"), "{}", f48.message);

    let bare = "NVRM: Xid (PCI:0000:5e:00): 31, pid=1, name=p, MMU Fault\n";
    let d2 = tempfile::tempdir().unwrap();
    std::fs::write(d2.path().join("kern.log"), bare).unwrap();
    std::fs::write(d2.path().join("syslog"), bare).unwrap();
    let (ev, sum) = scan(d2.path());
    assert_eq!((ev.len(), sum.duplicates_dropped), (2, 0), "no timestamp: cannot tell a copy from a repeat");
}

/// Two machines' `dmesg -T` files that name no host, in one directory, with the same bus id:
/// two verdicts, each shown with its file, never one merged GPU. Rotated siblings of one
/// machine's logs (kern.log, dmesg.0, syslog.2.gz) are that machine: one verdict.
#[test]
fn hostless_dmesg_files_of_two_machines_do_not_merge() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("host-c-dmesg.txt"),
        "[Sun Nov 29 10:00:00 2026] NVRM: Xid (PCI:0000:3b:00): 13, pid=1, name=python, Graphics SM Warp Exception\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("host-d-dmesg.txt"),
        "[Sun Nov 29 11:00:00 2026] NVRM: Xid (PCI:0000:3b:00): 48, pid=2, name=python, DBE\n",
    )
    .unwrap();
    let (_, sum) = scan(dir.path());
    assert_eq!(sum.verdicts.len(), 2, "{:?}", sum.verdicts);
    let of = |x: u32| sum.verdicts.iter().find(|v| v.root_xid == x).unwrap();
    assert!(of(13).host.as_deref().unwrap().ends_with("host-c-dmesg.txt"), "{:?}", of(13));
    assert!(of(48).host.as_deref().unwrap().ends_with("host-d-dmesg.txt"), "{:?}", of(48));
    assert!(of(48).message.contains("host-d-dmesg.txt"), "{}", of(48).message);

    let one = tempfile::tempdir().unwrap();
    std::fs::write(one.path().join("dmesg.0"), "[ 10.0] NVRM: Xid (PCI:0000:3b:00): 48, pid=2, name=p, DBE\n").unwrap();
    std::fs::write(one.path().join("kern.log.1"), "[ 11.0] NVRM: Xid (PCI:0000:3b:00): 63, pid=2, name=p, remap\n")
        .unwrap();
    let (_, sum) = scan(one.path());
    assert_eq!(sum.verdicts.len(), 1, "{:?}", sum.verdicts);
    assert_eq!(
        (sum.verdicts[0].root_xid, sum.verdicts[0].follow_on_events, sum.verdicts[0].host.as_deref()),
        (48, 1, None)
    );

    // One machine named (host-e) but two hostless files: which one is host-e's is unknown, so
    // neither joins it and they stay apart.
    std::fs::write(
        dir.path().join("syslog"),
        "Nov 29 12:00:00 host-e kernel: NVRM: Xid (PCI:0000:5e:00): 31, pid=3, name=p, MMU Fault\n",
    )
    .unwrap();
    let (_, sum) = scan(dir.path());
    assert_eq!(sum.verdicts.len(), 3, "{:?}", sum.verdicts);
    assert_eq!(sum.verdicts.iter().filter(|v| v.host.as_deref() == Some("host-e")).count(), 1);
    // One hostless file next to a syslog that names its machine: it is that machine's.
    std::fs::write(
        one.path().join("syslog"),
        "Nov 29 12:00:00 host-f kernel: NVRM: Xid (PCI:0000:5e:00): 31, pid=3, name=p, MMU Fault\n",
    )
    .unwrap();
    let (_, sum) = scan(one.path());
    assert!(sum.verdicts.iter().all(|v| v.host.as_deref() == Some("host-f")), "{:?}", sum.verdicts);
    assert_eq!(sum.verdicts.len(), 2);
}

/// A pod's log as the kubelet keeps it under /var/log/pods (CRI: "<time> stdout F <text>"): what a
/// monitor pod echoed from dmesg is user space, never a second copy of the kernel's event.
#[test]
fn public_pod_logs_are_user_space() {
    let (ev, sum) = scan(&public("pod_log_cri.log"));
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(sum.ignored.lines, 2);
    assert_eq!(sum.ignored.examples[0].writer, "a container's stdout (CRI log)");
}

/// JSON lines as log shippers write them (Vector's journald and syslog sources, Fluent Bit's kmsg
/// input, Loki's `line`, Google Cloud Logging's `jsonPayload`): the kernel's XIDs count, with the time and host from the record; a
/// container's stdout (Docker json-file), a user-space line wrapped by Loki and a monitor's report
/// about an XID (node-problem-detector) are ignored, each with its reason.
fn assert_log_shippers_json() {
    let (ev, sum) = scan(&formats("log-shippers-json.log"));
    let got: Vec<_> = ev.iter().map(|e| (e.xid, e.timestamp.as_deref(), e.host.as_deref(), e.follow_on)).collect();
    assert_eq!(
        got,
        [
            (48, Some("2026-03-14T08:02:11.1002Z"), Some("gpu-node-5"), false),
            (63, Some("2026-03-14T08:02:11.2Z"), Some("gpu-node-5"), true),
            (119, Some("812.330000"), None, false),
            (74, Some("2026-03-14T08:02:12.5Z"), Some("gpu-node-5"), false),
            // Google Cloud Logging (GKE): the journal entry inside `jsonPayload`, the envelope's time
            (13, Some("2026-03-14T08:02:16.25Z"), Some("gpu-node-5"), false),
        ]
    );
    let why: Vec<_> = sum.ignored.examples.iter().map(|i| (i.line, i.writer.as_str())).collect();
    assert_eq!(why, [(5, "a container's stdout (JSON log)"), (6, "xid-exporter[911]"), (7, "unknown")]);
    assert!(sum.ignored.examples[2].reason.contains("a monitor's report"), "{:?}", sum.ignored.examples[2]);
    // The kmsg record names no machine; the others name one, so it joins gpu-node-5.
    assert!(sum.verdicts.iter().all(|v| v.host.as_deref() == Some("gpu-node-5")), "{:?}", sum.verdicts);
}

/// A contained ECC error (94, on two MIG instances) followed by the row remap it caused: the 63
/// is a follow-on, yet its "reset gpu to activate" raises the GPU's action from restarting the
/// apps to a reset. An uncontained 95 whose page could not be retired (64) needs replacing.
#[test]
fn public_remap_follow_ons_raise_the_action() {
    let (ev, sum) = scan(&public("contained_94_mig_then_remap.log"));
    let got: Vec<_> = ev.iter().map(|e| (e.xid, e.gpu_instance, e.follow_on)).collect();
    assert_eq!(
        got,
        [(94, Some(5), false), (94, Some(3), false), (63, None, true), (95, None, false), (64, None, true)]
    );
    let v: Vec<_> = sum.verdicts.iter().map(|v| (v.gpu.as_str(), v.root_xid, v.action, v.follow_on_events)).collect();
    assert_eq!(v, [("0000:01:00", 94, "reset-gpu", 1), ("0000:41:00", 95, "drain-and-replace", 1)]);
    assert!(
        sum.verdicts[0].message.ends_with("action: reset-gpu (its XID 63 asks for reset-gpu)"),
        "{}",
        sum.verdicts[0].message
    );
}

/// The driver's probe-time "fallen off the bus and is not responding to commands" (three lines in
/// dmesg, two in newer drivers, one rsyslog line with "#012") has no XID line: no event is made
/// up, but each GPU it names gets a GG005 error with XID 79's action, in `gpuguard xid` and in
/// the doctor alike. A GPU that also logged XID 79 is reported once; a GPU the driver does not
/// support is not off the bus; user space echoing the message is ignored.
#[test]
fn public_off_bus_without_xid_is_reported() {
    let (ev, sum) = scan(&public("off_bus_without_xid.log"));
    assert_eq!(ev.iter().map(|e| e.xid).collect::<Vec<_>>(), [79]);
    let off: Vec<_> = sum.off_bus.iter().map(|o| (o.gpu.as_str(), o.line, o.timestamp.as_deref(), o.action)).collect();
    assert_eq!(
        off,
        [
            ("0000:01:00", 6, Some("1850.100001"), "reboot-node"),
            ("0000:86:00", 16, Some("2400.600000"), "reboot-node"),
            ("0000:b3:00", 1, Some("1843.308145"), "reboot-node"),
        ]
    );
    let f = gpuguard::xid::xid_findings(&sum);
    let gone: Vec<_> = f.iter().filter(|f| f.evidence.get("off_bus").is_some()).collect();
    assert_eq!(
        gone.iter().map(|f| f.location.path.as_deref().unwrap()).collect::<Vec<_>>(),
        ["0000:01:00", "0000:b3:00"]
    );
    assert!(gone.iter().all(|f| f.severity == Severity::Error && f.evidence.get("xid").is_none()));
    assert!(
        gone[1].message.contains("fallen off the bus") && gone[1].message.contains("reboot-node"),
        "{}",
        gone[1].message
    );
    // 0000:86:00 is reported once, by its XID 79.
    assert_eq!(f.iter().filter(|f| f.location.path.as_deref() == Some("0000:86:00")).count(), 1);

    // rsyslog's one-line form names the machine; a user-space echo is ignored.
    let mut s = XidScanner::new();
    s.scan_bytes(
        b"Mar 14 08:02:11 gpu-node-3 kernel: NVRM: The NVIDIA GPU 0000:db:00.0#012NVRM: (PCI ID: 10de:2330) installed in this system has#012NVRM: fallen off the bus and is not responding to commands.\n\
          Mar 14 08:02:12 gpu-node-3 gpu-check[77]: NVRM: The NVIDIA GPU 0000:18:00.0 (PCI ID: 10de:2330) installed in this system has fallen off the bus\n",
        "syslog",
        &mut |_| {},
    );
    let sum = s.summary();
    assert_eq!(
        sum.off_bus.iter().map(|o| (o.gpu.as_str(), o.host.as_deref())).collect::<Vec<_>>(),
        [("0000:db:00", Some("gpu-node-3"))]
    );
    assert_eq!(sum.ignored.lines, 1);

    // The doctor's kernel-log check says the same.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/log")).unwrap();
    std::fs::copy(public("off_bus_without_xid.log"), root.path().join("var/log/kern.log")).unwrap();
    let report = gpuguard::doctor::doctor(&gpuguard::probe::Host::new(root.path()), &Default::default());
    let doctor: Vec<_> = report.findings.iter().filter(|f| f.evidence.get("off_bus").is_some()).collect();
    assert_eq!(
        doctor.iter().map(|f| f.location.path.as_deref().unwrap()).collect::<Vec<_>>(),
        ["0000:01:00", "0000:b3:00"]
    );
}

/// "kernel: [16450076.435595] NVRM: Xid …" (a journal or syslog template without the date): the
/// kernel's seconds since boot are the events' time; a process named `nvc:[driver]` is kept whole.
#[test]
fn public_kernel_tag_with_uptime_and_no_date() {
    let (ev, sum) = scan(&public("kernel_tag_uptime_no_date.log"));
    let got: Vec<_> = ev.iter().map(|e| (e.xid, e.timestamp.as_deref(), e.process.as_deref())).collect();
    assert_eq!(
        got,
        [(119, Some("16450076.435595"), Some("nvc:[driver]")), (94, Some("16450076.435595"), Some("process"))]
    );
    let v = &sum.verdicts[0];
    assert_eq!((v.root_xid, v.action, v.other_root_events), (119, "reset-gpu", 1));
}

/// A syslog excerpt quoted in an issue ("> Aug 12 01:22:51 host kernel: …"): the quote mark is not
/// part of the time; a lone XID 154 asking for a node reboot decides the GPU's action.
#[test]
fn public_quoted_paste_keeps_time_and_host() {
    let (ev, sum) = scan(&public("quoted_paste_154_node_reboot.log"));
    assert_eq!(
        ev.iter().map(|e| (e.xid, e.timestamp.as_deref(), e.host.as_deref())).collect::<Vec<_>>(),
        [(154, Some("Aug 12 01:22:51"), Some("err-Stealth-16-AI-Studio-A1VGG"))]
    );
    assert_eq!(
        (sum.verdicts[0].root_xid, sum.verdicts[0].action, sum.verdicts[0].severity),
        (154, "reboot-node", Severity::Error)
    );
}

/// The GSP heartbeat is lost and the driver logs only XID 154 "GPU Reset Required": the GPU is
/// unusable until reset, an error (a warning let `gpuguard xid` exit 0 on a dead GPU).
#[test]
fn public_lone_154_reset_required_is_an_error() {
    let (ev, sum) = scan(&public("gsp_heartbeat_154_alone.log"));
    assert_eq!(
        ev.iter().map(|e| (e.xid, e.severity, e.verdict_words)).collect::<Vec<_>>(),
        [(154, Severity::Error, Some("(GPU Reset Required)"))]
    );
    let v = &sum.verdicts[0];
    assert_eq!((v.root_xid, v.action, v.severity), (154, "reset-gpu", Severity::Error));
    assert_eq!(gpuguard::xid::xid_findings(&sum)[0].severity, Severity::Error);
}
