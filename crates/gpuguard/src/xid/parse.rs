//! One parser for every XID line users paste: raw dmesg, `dmesg -T`, syslog/kern.log,
//! journalctl (any month language), /dev/kmsg records, old drivers without `PCI:`.
//! Byte-oriented: invalid UTF-8 is replaced, never an error; nothing here can panic or loop.

use memchr::memmem;
use serde::Serialize;
use std::sync::LazyLock;

/// The marker every XID line carries; lines without it are skipped by a SIMD search.
pub const XID_MARKER: &[u8] = b"NVRM: Xid";

pub(crate) static XID_FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(XID_MARKER));

/// One XID event as the log wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XidEvent {
    /// The XID code.
    pub xid: u32,
    /// The PCI bus id as written (`0000:3b:00`), without the `PCI:` prefix; `None` if absent.
    pub pci: Option<String>,
    /// The MIG GPU instance the event hit (`(PCI:0000:01:00 GPU-I:05)` gives 5); the event still
    /// counts against the physical GPU in `pci`.
    pub gpu_instance: Option<u32>,
    /// Process id; `None` when absent or `'<unknown>'`.
    pub pid: Option<u32>,
    /// Process name, when given (`<unknown>` is kept as written).
    pub process: Option<String>,
    /// The timestamp as the log wrote it (`1234.567890`, `Jan  1 00:00:00`, kmsg microseconds).
    pub timestamp: Option<String>,
    /// The detail text after the code, pid and name.
    pub message: String,
    /// The XID this one says it was caused by ("... caused by previous Xid 48").
    pub caused_by: Option<u32>,
}

/// Longest PCI field kept, in bytes.
const MAX_PCI: usize = 64;

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(trim(b)).into_owned()
}

/// Parses one line. Returns `None` for lines that are not XID events (NVRM banners,
/// "GPU at PCI…", API mismatch, "Xid" in other text).
///
/// ```
/// let e = gpuguard::xid::parse_xid_line(
///     b"[ 4321.123456] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, An uncorrectable double bit error",
/// ).unwrap();
/// assert_eq!((e.xid, e.pci.as_deref(), e.pid), (48, Some("0000:3b:00"), Some(2210)));
/// assert_eq!(e.timestamp.as_deref(), Some("4321.123456"));
/// assert!(gpuguard::xid::parse_xid_line(b"NVRM: loading NVIDIA UNIX x86_64 Kernel Module").is_none());
/// ```
pub fn parse_xid_line(line: &[u8]) -> Option<XidEvent> {
    let at = XID_FINDER.find(line)?;
    parse_at(line, at)
}

/// Parses a line whose marker is known to start at `at`.
pub(crate) fn parse_at(line: &[u8], at: usize) -> Option<XidEvent> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let prefix = &line[..at];
    let mut rest = line[at + XID_MARKER.len()..].trim_ascii_start();
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
            pci = Some(text(&bus[..bus.len().min(MAX_PCI)])).filter(|s| !s.is_empty());
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
    let message = text(rest);
    Some(XidEvent {
        xid,
        pci,
        gpu_instance,
        pid,
        process,
        timestamp: timestamp(prefix),
        caused_by: caused_by(rest),
        message,
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

/// The timestamp from what precedes "NVRM:", as written.
fn timestamp(prefix: &[u8]) -> Option<String> {
    let mut p = trim(prefix);
    // syslog / journalctl: "<time> <host> kernel: [ 12.3] " -> "<time>".
    if let Some(k) = memmem::rfind(p, b"kernel:") {
        let header = trim(&p[..k]);
        let header = match header.iter().rposition(|b| b.is_ascii_whitespace()) {
            Some(sp) => trim(&header[..sp]),
            None => header,
        };
        return bracketed(header).or_else(|| Some(text(header)).filter(|s| time_like(s)));
    }
    // "<4>" console log level.
    if p.first() == Some(&b'<') {
        if let Some(e) = memchr::memchr(b'>', p) {
            p = trim(&p[e + 1..]);
        }
    }
    // /dev/kmsg: "6,1234,5678,-;" -> the microseconds field.
    if p.ends_with(b";") && p.first().is_some_and(u8::is_ascii_digit) {
        return p.split(|b| *b == b',').nth(2).map(text).filter(|s| !s.is_empty());
    }
    bracketed(p).or_else(|| Some(text(p)).filter(|s| time_like(s)))
}

/// The content of a leading "[ ... ]" when it is a time ("[ 12.345]", "[Sat Nov 28 13:54:20
/// 2026]"), not a tag ("[gpu-health] [WARN] ... NVRM: Xid" from a monitor that re-logs lines).
fn bracketed(p: &[u8]) -> Option<String> {
    let r = p.strip_prefix(b"[")?;
    let e = memchr::memchr(b']', r)?;
    Some(text(&r[..e])).filter(|s| time_like(s))
}

/// A short run of digits with ':' or '.' among them, and no brackets: what kernel, syslog and
/// dmesg -T times look like, and what tags and free text before "NVRM:" do not.
fn time_like(s: &str) -> bool {
    s.len() <= 40 && s.bytes().any(|b| b.is_ascii_digit()) && s.contains([':', '.']) && !s.contains(['[', ']'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> XidEvent {
        parse_xid_line(s.as_bytes()).unwrap_or_else(|| panic!("no event in {s:?}"))
    }

    #[test]
    fn forms() {
        let e = p(
            "[Sat Nov 28 13:54:20 2026] NVRM: Xid (PCI:0000:b1:00): 79, pid=0, name=nvidia-smi, GPU has fallen off the bus.",
        );
        assert_eq!(e.timestamp.as_deref(), Some("Sat Nov 28 13:54:20 2026"));
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
        assert_eq!((e.xid, e.pci.clone(), e.timestamp.as_deref()), (79, None, Some("2024-03-01T10:00:00.123+0000")));
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
