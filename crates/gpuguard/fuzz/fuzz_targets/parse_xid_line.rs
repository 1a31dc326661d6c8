//! Arbitrary bytes through the one-line XID parser, as bytes and as (lossy) text, then the
//! catalog lookup of the code. Checks: no panic, the text form agrees with the byte form on
//! valid UTF-8, and on a line without a newline the streaming scanner finds the same event first.
#![no_main]

use gpuguard::xid::{XidScanner, classify_xid, parse_xid_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let event = parse_xid_line(data);
    if let Some(e) = &event {
        assert!(e.xid <= 999_999_999, "at most 9 digits: {}", e.xid);
        let info = classify_xid(e.xid);
        assert!(!info.name.is_empty());
        let _ = (info.category.as_str(), info.action.as_str(), info.severity);
        if let Some(c) = e.caused_by {
            let _ = classify_xid(c);
        }
    }

    // The text form callers get from Python or a String: the same answer when the bytes were
    // UTF-8 already, and no panic on the replacement characters when they were not.
    let text = String::from_utf8_lossy(data);
    let from_text = parse_xid_line(text.as_bytes());
    if std::str::from_utf8(data).is_ok() {
        assert_eq!(from_text, event);
    } else if let Some(e) = &from_text {
        let _ = classify_xid(e.xid);
    }

    // One line: the scanner must report exactly what the line parser does, on line 1.
    if !data.contains(&b'\n') {
        let mut s = XidScanner::new();
        let mut got = Vec::new();
        s.scan_bytes(data, "<string>", &mut |r| got.push(r));
        // More than one only where rsyslog's "#012" joined lines; the first is the parser's.
        assert!(got.len() <= 1 || data.windows(4).any(|w| w == b"#012"));
        assert_eq!(got.first(), event.as_ref());
        if let Some(r) = got.first() {
            assert_eq!(r.line, 1);
        }
        assert_eq!(s.summary().lines, u64::from(!data.is_empty()));
    }
});
