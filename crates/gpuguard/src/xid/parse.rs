//! One parser for every XID line users paste: raw dmesg, `dmesg -T`/`--decode`/`--time-format
//! iso`, syslog/kern.log (RFC 3164 and 5424, `#012` escapes), journalctl (`short`, `short-iso`,
//! `short-precise`, `json`; any month language), Talos, /dev/kmsg records, old drivers without
//! `PCI:`. The header (who wrote the line, when) is read by [`super::header`] and
//! [`super::journal`]; this file reads the event itself. Byte-oriented: invalid UTF-8 is
//! replaced, never an error; nothing here can panic or loop.

use super::header::{Header, Writer, header, next_escaped_newline};
use super::journal;
use memchr::memmem;
use std::sync::LazyLock;

/// The marker every XID line carries; lines without it are skipped by a SIMD search.
pub const XID_MARKER: &[u8] = b"NVRM: Xid";

pub(crate) static XID_FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(XID_MARKER));

/// What every line the engine stops at starts with.
pub(crate) const NVRM: &[u8] = b"NVRM: ";
/// The driver's words for a GPU that is gone from the bus when it probes it (no XID is logged
/// then): "NVRM: The NVIDIA GPU 0000:b3:00.0 (PCI ID: 10de:26b5) installed in this system has
/// fallen off the bus and is not responding to commands.", split over two or three lines.
pub(crate) const OFF_BUS_GPU: &[u8] = b"NVRM: The NVIDIA GPU ";
/// The line of that message that says what happened.
pub(crate) const OFF_BUS_WORDS: &[u8] = b"fallen off the bus";
pub(crate) static OFF_BUS_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(OFF_BUS_WORDS));

/// Whether a line marker starts at `at`: an XID, or a line of the driver's off-the-bus message
/// ("NVRM: The NVIDIA GPU …", "NVRM: fallen off the bus …").
pub(crate) fn marker_at(hay: &[u8], at: usize) -> bool {
    let Some(rest) = hay.get(at..).and_then(|r| r.strip_prefix(NVRM)) else { return false };
    rest.starts_with(b"Xid") || rest.starts_with(&OFF_BUS_GPU[NVRM.len()..]) || rest.starts_with(OFF_BUS_WORDS)
}

/// One XID line's fields as the log wrote them (timestamps normalised, see [`super::header`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub xid: u32,
    pub pci: Option<String>,
    pub gpu_instance: Option<u32>,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub timestamp: Option<String>,
    /// The machine that logged it, when the header names one.
    pub host: Option<String>,
    pub message: String,
    pub caused_by: Option<u32>,
}

/// What one line holding the marker turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// An XID event the kernel wrote (or a bare line that names no writer).
    Event(Parsed),
    /// XID text that is not the kernel's word: why, and who wrote it.
    Ignored { reason: String, writer: String },
    /// Not an XID event at all (banners, "Xid" in other text).
    NotXid,
}

/// Longest PCI field kept, in bytes.
const MAX_PCI: usize = 64;

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(trim(b)).into_owned()
}

/// Reads one line that holds the marker at `at`.
pub(crate) fn parse_line(line: &[u8], at: usize) -> LineKind {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if journal::is_json(line) {
        return match journal::journal_line(line) {
            // The n-th marker of the line is the n-th of its MESSAGE (JSON escapes none of
            // the marker's bytes), so each event of a "#012"-joined message is read once.
            Ok(j) => match XID_FINDER.find_iter(&j.message).nth(XID_FINDER.find_iter(&line[..at]).count()) {
                Some(m) => judge_writer(wrapped_header(j.header, &j.message[..m]), body(&j.message, m)),
                // The XID text is in another field: a monitor's report about an event, not the
                // kernel's line (node-problem-detector's "NPD caught event", health-check JSON).
                None => LineKind::Ignored {
                    reason:
                        "XID text outside the JSON record's message field (a monitor's report, not the kernel's line)"
                            .to_owned(),
                    writer: "unknown".to_owned(),
                },
            },
            Err(why) => LineKind::Ignored { reason: why.to_owned(), writer: "unknown".to_owned() },
        };
    }
    let h = header(&line[..at]);
    judge_writer(h, body(line, at))
}

/// The header of a JSON record: its fields' when they name the writer; otherwise the wrapped
/// line's own (Loki and other shippers keep the raw syslog line in `line` or `log`), with the
/// record's time and host where the line gives none.
fn wrapped_header(fields: Header, before_marker: &[u8]) -> Header {
    if fields.writer != Writer::Untagged {
        return fields;
    }
    let inner = header(before_marker);
    Header {
        // The record's time carries the date that a syslog line's "Mar 14 08:02:11" lacks.
        timestamp: fields.timestamp.or(inner.timestamp),
        writer: inner.writer,
        host: inner.host.or(fields.host),
    }
}

/// One line of the driver's off-the-bus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OffBusLine {
    /// "NVRM: The NVIDIA GPU 0000:b3:00.0 …": the GPU, as an XID names it (`0000:b3:00`), and
    /// whether the same line also says "fallen off the bus" (one line, or joined by "#012").
    Gpu { gpu: String, complete: bool, header: Header },
    /// "NVRM: fallen off the bus and is not responding to commands.": the GPU is on a line above.
    Words { header: Header },
    /// User space wrote it.
    Ignored { reason: String, writer: String },
    /// "NVRM: The NVIDIA GPU …" that is not about the bus (an unsupported GPU), or unreadable.
    Other,
}

/// Reads a line whose marker at `at` is not an XID (see [`marker_at`]).
pub(crate) fn off_bus_line(line: &[u8], at: usize) -> OffBusLine {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (h, said): (Header, &[u8]);
    let message;
    if journal::is_json(line) {
        let Ok(j) = journal::journal_line(line) else { return OffBusLine::Other };
        message = j.message;
        let Some(m) = (0..message.len()).find(|&i| marker_at(&message, i)) else { return OffBusLine::Other };
        (h, said) = (wrapped_header(j.header, &message[..m]), &message[m..]);
    } else {
        (h, said) = (header(&line[..at]), &line[at..]);
    }
    if let Writer::Program(who) = h.writer {
        return OffBusLine::Ignored {
            reason: format!("written by the user-space program `{who}`, not the kernel"),
            writer: who,
        };
    }
    let Some(rest) = said.strip_prefix(OFF_BUS_GPU) else {
        return if said.strip_prefix(NVRM).is_some_and(|r| r.starts_with(OFF_BUS_WORDS)) {
            OffBusLine::Words { header: h }
        } else {
            OffBusLine::Other
        };
    };
    // "0000:b3:00.0" (domain:bus:device.function): the function is dropped, as XIDs name GPUs.
    let bdf: &[u8] = rest.split(|b| b.is_ascii_whitespace() || *b == b'#' || *b == b'\\').next().unwrap_or(&[]);
    let bdf = memchr::memrchr(b'.', bdf).map_or(bdf, |i| &bdf[..i]);
    if bdf.is_empty() || bdf.len() > MAX_PCI || !bdf.iter().all(|b| b.is_ascii_hexdigit() || *b == b':') {
        return OffBusLine::Other;
    }
    OffBusLine::Gpu { gpu: text(bdf), complete: OFF_BUS_FINDER.find(rest).is_some(), header: h }
}

/// The next marker on the line that starts a message of its own: rsyslog writes a multi-line
/// message as one line with "#012" for each newline (/dev/kmsg and sysklogd with "\x0a"), so one
/// line can hold several events.
pub(crate) fn next_marker(line: &[u8], at: usize) -> Option<usize> {
    let from = at + XID_MARKER.len();
    let rest = line.get(from..)?;
    let (nl, _) = next_escaped_newline(rest)?;
    Some(from + nl + XID_FINDER.find(&rest[nl..])?)
}

fn judge_writer(h: Header, body: Option<Parsed>) -> LineKind {
    let Some(mut p) = body else { return LineKind::NotXid };
    match h.writer {
        Writer::Kernel | Writer::Untagged => {
            p.timestamp = h.timestamp;
            p.host = h.host;
            LineKind::Event(p)
        }
        Writer::Program(who) => LineKind::Ignored {
            reason: format!("written by the user-space program `{who}`, not the kernel"),
            writer: who,
        },
    }
}

/// The event after the marker: "(PCI:…): code, pid=…, name=…, message".
fn body(line: &[u8], at: usize) -> Option<Parsed> {
    let mut rest = line[at + XID_MARKER.len()..].trim_ascii_start();
    // rsyslog's "#012" (and the kernel's "\x0a") is a newline: the event ends there.
    if let Some((i, _)) = next_escaped_newline(rest) {
        rest = &rest[..i];
    }
    // Optional "(PCI:0000:3b:00)" or "(0000:3b:00)", then ':'.
    let mut pci = None;
    let mut gpu_instance = None;
    if let Some(r) = rest.strip_prefix(b"(") {
        let close = memchr::memchr(b')', r)?;
        // "PCI:0000:3b:00", then with MIG " GPU-I:05".
        let mut words = r[..close].split(u8::is_ascii_whitespace).filter(|w| !w.is_empty());
        if let Some(bus) = words.next() {
            let bus = bus.strip_prefix(b"PCI:").unwrap_or(bus);
            // A bus id is 10-16 bytes; a garbled one is cut so it cannot grow a summary's keys.
            // One without a hex digit ("PCI:..." in a redacted paste) names no GPU.
            pci = Some(text(&bus[..bus.len().min(MAX_PCI)])).filter(|s| s.bytes().any(|b| b.is_ascii_hexdigit()));
        }
        gpu_instance =
            words.find_map(|w| w.strip_prefix(b"GPU-I:")).and_then(|n| std::str::from_utf8(n).ok()?.parse().ok());
        rest = r[close + 1..].trim_ascii_start();
    }
    rest = rest.strip_prefix(b":").unwrap_or(rest).trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let xid: u32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    rest = &rest[digits..];
    // The code must end the token: "48," "48 " or end of line, not "48abc".
    if rest.first().is_some_and(|b| !(b.is_ascii_whitespace() || *b == b',')) {
        return None;
    }
    rest = rest.trim_ascii_start();
    rest = rest.strip_prefix(b",").unwrap_or(rest).trim_ascii_start();
    let mut pid = None;
    let mut process = None;
    if let Some(r) = rest.strip_prefix(b"pid=") {
        let (value, after) = split_field(r);
        pid = std::str::from_utf8(trim(value)).ok().and_then(|s| s.parse().ok());
        rest = after;
    }
    if let Some(r) = rest.strip_prefix(b"name=") {
        let (value, after) = split_field(r);
        process = Some(text(value)).filter(|s| !s.is_empty());
        rest = after;
    }
    Some(Parsed {
        xid,
        pci,
        gpu_instance,
        pid,
        process,
        timestamp: None,
        host: None,
        caused_by: caused_by(rest),
        message: text(rest),
    })
}

/// Splits "value, rest" at the first comma.
fn split_field(r: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b',', r) {
        Some(i) => (&r[..i], r[i + 1..].trim_ascii_start()),
        None => (r, &[]),
    }
}

/// "previous Xid 48" / "previous Xid: 48" in the detail text.
fn caused_by(detail: &[u8]) -> Option<u32> {
    let i = memmem::find(detail, b"previous Xid")?;
    let r = detail[i + 12..].trim_ascii_start();
    let r = r.strip_prefix(b":").unwrap_or(r).trim_ascii_start();
    let r = r.strip_prefix(b"(").unwrap_or(r);
    let n = r.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    std::str::from_utf8(&r[..n]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xid::{XidEvent, parse_xid_line};

    fn p(s: &str) -> XidEvent {
        parse_xid_line(s.as_bytes()).unwrap_or_else(|| panic!("no event in {s:?}"))
    }

    #[test]
    fn forms() {
        let e = p(
            "[Sat Nov 28 13:54:20 2026] NVRM: Xid (PCI:0000:b1:00): 79, pid=0, name=nvidia-smi, GPU has fallen off the bus.",
        );
        assert_eq!(e.timestamp.as_deref(), Some("2026-11-28T13:54:20"));
        assert_eq!((e.xid, e.pid, e.process.as_deref()), (79, Some(0), Some("nvidia-smi")));
        assert_eq!(e.message, "GPU has fallen off the bus.");

        let e = p(
            "Jan  1 00:00:00 gpu-node-7 kernel: [ 812.001] NVRM: Xid (PCI:0000:3b:00): 31, pid='<unknown>', name=<unknown>, Ch 00000008, intr 10000000",
        );
        assert_eq!(e.timestamp.as_deref(), Some("Jan  1 00:00:00"));
        assert_eq!((e.pid, e.process.as_deref()), (None, Some("<unknown>")));
        assert_eq!(e.message, "Ch 00000008, intr 10000000");

        let e = p("déc. 01 12:00:00 nœud kernel: NVRM: Xid (PCI:0000:18:00): 13, Graphics SM Warp Exception");
        assert_eq!(e.timestamp.as_deref(), Some("déc. 01 12:00:00"));
        assert_eq!((e.pid, e.process.clone()), (None, None));

        let e = p("6,1234,5678901,-;NVRM: Xid (PCI:0000:01:00): 62 pmu halt");
        assert_eq!((e.timestamp.as_deref(), e.xid, e.message.as_str()), (Some("5678901"), 62, "pmu halt"));

        let e = p("NVRM: Xid (0000:03:00): 8, Channel 00000001");
        assert_eq!((e.pci.as_deref(), e.timestamp), (Some("0000:03:00"), None));

        let e =
            p("[  10.0] NVRM: Xid (PCI:0000:3b:00): 45, pid=77, name=python3, Ch 00000010, caused by previous Xid 48");
        assert_eq!(e.caused_by, Some(48));

        // MIG: the GPU instance is split from the bus id.
        let e = p(
            "NVRM: Xid (PCI:0000:01:00 GPU-I:05): 94, pid=7194, Contained: CE User Channel (0x9). RST: No, D-RST: No",
        );
        assert_eq!((e.pci.as_deref(), e.gpu_instance, e.pid), (Some("0000:01:00"), Some(5), Some(7194)));

        // A redacted bus id names no GPU: the event counts against `unknown`.
        assert_eq!(p("NVRM: Xid (PCI:...): 145, RLW_RXPIPE Nonfatal XC0 i0 Link 11 (...)").pci, None);

        let long = format!("NVRM: Xid (PCI:{}): 13, x", "a".repeat(5000));
        assert_eq!(p(&long).pci.map(|s| s.len()), Some(MAX_PCI));

        // A monitor that re-logs the line with its own tags: no timestamp, not the tag.
        let e = p(
            "[gpu-health] [WARN] GPU-e11dfcca-7c93: XID: NVRM: Xid (PCI:0000:00:06): 31, pid=79749, name=exe, Ch 0000000a",
        );
        assert_eq!((e.timestamp, e.pid, e.process.as_deref()), (None, Some(79749), Some("exe")));

        // A syslog line without a time: the host name is not one.
        assert_eq!(p("gpu-node-7 kernel: NVRM: Xid (PCI:0000:3b:00): 79, x").timestamp, None);

        let e = p("2024-03-01T10:00:00.123+0000 host kernel: NVRM: Xid 79");
        assert_eq!((e.xid, e.pci.clone(), e.timestamp.as_deref()), (79, None, Some("2024-03-01T10:00:00.123+00:00")));

        // rsyslog's #012 ends the event; the header is the first line's.
        let e = p(
            "Mar 14 08:02:11 n kernel: NVRM: GPU at PCI:0000:3b:00#012NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus.#012NVRM: GPU Board Serial Number: 1",
        );
        assert_eq!(
            (e.xid, e.timestamp.as_deref(), e.message.as_str()),
            (79, Some("Mar 14 08:02:11"), "GPU has fallen off the bus.")
        );
        // journalctl -o json
        let e = p(
            r#"{"__REALTIME_TIMESTAMP":"1710403331100200","_TRANSPORT":"kernel","MESSAGE":"NVRM: Xid (PCI:0000:3b:00): 48, pid=7, name=py, DBE"}"#,
        );
        assert_eq!((e.xid, e.pid, e.timestamp.as_deref()), (48, Some(7), Some("2024-03-14T08:02:11.1002Z")));
    }

    #[test]
    fn near_misses() {
        for s in [
            "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.104.05",
            "NVRM: GPU at PCI:0000:3b:00: GPU-1234",
            "NVRM: API mismatch: the client has the version 535, but this kernel module has 550",
            "systemd[1]: Started Xid monitor",
            "NVRM: Xid tracking enabled",
            "NVRM: Xid (PCI:0000:3b:00): 48abc",
            "NVRM: Xid (PCI:0000:3b:00",
            // user space, not the kernel
            "Mar 14 08:05:40 gpu-node-3 someuser[51234]: NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, x",
            r#"{"_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"python3","MESSAGE":"NVRM: Xid (PCI:0000:3b:00): 79, x"}"#,
        ] {
            assert!(parse_xid_line(s.as_bytes()).is_none(), "{s}");
        }
    }

    #[test]
    fn invalid_utf8_is_kept_lossy() {
        let e = parse_xid_line(b"NVRM: Xid (PCI:0000:3b:00): 13, name=py\xff\xfe, bad \xc3").unwrap();
        assert_eq!(e.xid, 13);
        assert!(e.process.unwrap().contains('\u{fffd}'));
    }
}
