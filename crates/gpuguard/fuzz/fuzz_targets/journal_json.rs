//! The journal JSON reader (`journalctl -o json`): arbitrary bytes as a line (no panic), and as
//! the MESSAGE of a well-formed entry whose `_TRANSPORT` the first byte picks. A kernel entry must
//! give first the event the message gives from its marker on as a bare line (the timestamp aside:
//! the entry's comes from `__REALTIME_TIMESTAMP`); a user-space entry must give none, and count
//! it as ignored.
#![no_main]

use gpuguard::xid::{XidEvent, XidScanner, parse_xid_line};
use libfuzzer_sys::fuzz_target;

fn written(r: &XidEvent) -> (u32, Option<String>, Option<u32>, Option<String>, String, Option<u32>) {
    (r.xid, r.pci.clone(), r.pid, r.process.clone(), r.message.clone(), r.caused_by)
}

fuzz_target!(|data: &[u8]| {
    // As it comes (a JSON line or not).
    let mut s = XidScanner::new();
    s.scan_bytes(data, "raw", &mut |_| {});

    let Some((&pick, rest)) = data.split_first() else { return };
    // One line of text: a journal MESSAGE holds no raw newline.
    let text = String::from_utf8_lossy(rest).replace(['\n', '\r'], " ");
    let transport = ["kernel", "syslog", "journal", "stdout"][usize::from(pick) % 4];
    let entry = serde_json::json!({
        "__REALTIME_TIMESTAMP": (u64::from(pick) * 1_000_003_000).to_string(),
        "_TRANSPORT": transport,
        "SYSLOG_IDENTIFIER": if transport == "kernel" { "kernel" } else { "someuser" },
        "MESSAGE": text,
    });
    let line = serde_json::to_vec(&entry).expect("serializes");
    let mut j = XidScanner::new();
    let mut from_json = Vec::new();
    j.scan_bytes(&line, "journal", &mut |e| from_json.push(e));

    // The message from its first marker on, as a bare line: the event the entry must give first.
    let bare = text.find("NVRM: Xid").and_then(|at| parse_xid_line(text[at..].as_bytes()));
    if transport == "kernel" {
        assert_eq!(from_json.first().map(written), bare.as_ref().map(written));
        for e in &from_json {
            assert!(e.timestamp.as_deref().is_some_and(|t| t.ends_with('Z')), "{:?}", e.timestamp);
        }
    } else {
        assert!(from_json.is_empty(), "user space became an event: {:?}", from_json);
        // What would have been the kernel's event is counted as ignored instead.
        assert!(bare.is_none() || j.summary().ignored.lines >= 1);
    }
});
