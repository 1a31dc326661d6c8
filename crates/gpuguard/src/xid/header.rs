//! The header before `NVRM: Xid`: who wrote the line and when, in every format people paste.
//!
//! Only the kernel's word may become an XID verdict: a user-space program can log the same text
//! through syslog (`someuser[51234]: NVRM: Xid …`) or through `/dev/kmsg` (facility `user`), and
//! a drained node must not follow it. The writer comes from the syslog tag (`kernel:`), the
//! facility (`<PRI>`, `/dev/kmsg`'s first field, `dmesg --decode`, Talos' `kern:`), RFC 5424's
//! APP-NAME or journald's `_TRANSPORT` (see [`super::journal`]). A bare line (raw `dmesg`, a
//! pasted fragment) names no writer and is taken as the kernel's.
//!
//! Timestamps come out as ISO 8601 when the log gives a full date (RFC 3339 syslog, journalctl
//! `-o short-iso`, `dmesg --time-format iso`, `dmesg -T`, Talos, RFC 5424); otherwise as written
//! (kernel seconds since boot, `Mar 14 08:02:11` without a year).

use memchr::memmem;

/// Who wrote a line, as its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Writer {
    /// The kernel (tag `kernel`, facility `kern`, journald transport `kernel`).
    Kernel,
    /// Nothing says: a bare line. Counted as the kernel's.
    Untagged,
    /// A user-space program: its tag (`someuser[51234]`) or facility (`facility user`).
    Program(String),
}

/// What the header of one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub timestamp: Option<String>,
    pub writer: Writer,
    /// The machine that logged the line, when the header names one (syslog's HOSTNAME, journald's
    /// `_HOSTNAME`, Talos' node address): two machines' GPUs can share a PCI bus id.
    pub host: Option<String>,
}

impl Header {
    fn new(timestamp: Option<String>, writer: Writer) -> Self {
        Self { timestamp, writer, host: None }
    }

    fn with_host(mut self, host: Option<String>) -> Self {
        self.host = host;
        self
    }
}

/// Longest header looked at, in bytes; a longer prefix is free text, not a header.
const MAX_HEADER: usize = 512;

/// Reads the header from `prefix`, everything on the line before the `NVRM:` marker.
pub(crate) fn header(prefix: &[u8]) -> Header {
    // rsyslog writes a multi-line message as one line, each newline escaped as "#012" (the
    // kernel's /dev/kmsg and sysklogd as "\x0a"); the header is the first line's.
    let p = first_line(prefix);
    let p = unquote(p[..p.len().min(MAX_HEADER)].trim_ascii());
    if let Some((pri, rest)) = pri(p) {
        let facility = pri >> 3;
        if let Some(r) = rest.strip_prefix(b"1 ") {
            return rfc5424(facility, r);
        }
        let h = header(rest);
        return match (facility, h.writer) {
            (0, Writer::Untagged) => Header::new(h.timestamp, Writer::Kernel),
            (0, w) => Header::new(h.timestamp, w),
            (f, _) => Header::new(h.timestamp, Writer::Program(format!("facility {}", facility_name(f)))),
        }
        .with_host(h.host);
    }
    if let Some(h) = kmsg(p).or_else(|| facility_form(p)) {
        return h;
    }
    if let Some((ts, rest)) = short_full(p).or_else(|| short_unix(p)) {
        let (writer, host) = syslog_tag(rest);
        return Header::new(Some(ts), writer).with_host(host);
    }
    if let Some(ts) = iso(first_token(p)) {
        let rest = p[first_token(p).len()..].trim_ascii_start();
        // A container's log as the kubelet keeps it (/var/log/pods, /var/log/containers):
        // "<RFC 3339> stdout F <text>". Whatever a pod printed is user space, even dmesg's text.
        let mut t = tokens(rest).map(|(_, t)| t);
        if let (Some(stream @ (b"stdout" | b"stderr")), Some(b"F" | b"P")) = (t.next(), t.next()) {
            return Header::new(Some(ts), Writer::Program(format!("a container's {} (CRI log)", text(stream))));
        }
        let (writer, host) = syslog_tag(rest);
        return Header::new(Some(ts), writer).with_host(host);
    }
    if p.first() == Some(&b'[') {
        let close = memchr::memchr(b']', p);
        let inner = close.map(|e| text(&p[1..e]));
        let ts = inner.filter(|s| time_like(s)).map(|s| dmesg_t(&s).unwrap_or(s));
        // "[ 12.3] host kernel:" (journalctl -o short-monotonic) names a writer; "[ 12.3]" alone
        // (raw dmesg) and "[gpu-health] [WARN]" (a monitor's own tags) do not.
        let rest = close.map_or(&p[..0], |e| p[e + 1..].trim_ascii_start());
        let (writer, host) = if ts.is_some() { syslog_tag(rest) } else { (Writer::Untagged, None) };
        return Header::new(ts, writer).with_host(host);
    }
    // Traditional syslog and journalctl: "Mar 14 08:02:11[.123456] host tag: …" with the month in
    // any language; the time is the first token shaped hh:mm:ss among the first four.
    if let Some((start, t)) = tokens(p).take(4).find(|(_, t)| clock(t)) {
        let end = start + t.len();
        let rest = p[end..].trim_ascii_start();
        let (writer, host) = syslog_tag(rest);
        return Header::new(Some(text(&p[..end])), writer).with_host(host);
    }
    // No syslog time: "gpu-node-7 kernel: NVRM: …" is still the kernel's, and "kernel: [ 812.3]"
    // (the kernel's own seconds since boot, as journald's and rsyslog's templates without a date
    // keep them) gives the time; any other prefix is free text.
    let mut t = tokens(p).map(|(_, t)| t);
    let (first, second) = (t.next(), t.next());
    let uptime = || {
        let (at, tag) = tokens(p).find(|(_, t)| *t == b"kernel:")?;
        let rest = p[at + tag.len()..].trim_ascii_start().strip_prefix(b"[")?;
        Some(text(&rest[..memchr::memchr(b']', rest)?])).filter(|s| time_like(s))
    };
    match (first, second) {
        (Some(b"kernel:"), _) => Header::new(uptime(), Writer::Kernel),
        (Some(host), Some(b"kernel:")) => Header::new(uptime(), Writer::Kernel).with_host(Some(text(host))),
        _ if tokens(p).any(|(_, t)| t == b"kernel:") => Header::new(uptime(), Writer::Kernel),
        _ => Header::new(None, Writer::Untagged),
    }
}

/// A pasted line without the marks of where it was pasted: e-mail and Markdown quoting ("> ",
/// "> > "), and a list bullet ("- ", "* ") before the log's own header.
fn unquote(mut p: &[u8]) -> &[u8] {
    while let Some(r) = p.strip_prefix(b">") {
        p = r.trim_ascii_start();
    }
    match p {
        [b'-' | b'*', b' ' | b'\t', rest @ ..] => rest.trim_ascii_start(),
        _ => p,
    }
}

/// `journalctl -o short-full`: "Sat 2026-03-14 08:02:11 UTC host tag: …" (a weekday, the date,
/// the time, a zone). The time comes out as ISO 8601 (`Z` for UTC, local time for other zones,
/// whose offset the line does not give); returns it and the text after the zone.
fn short_full(p: &[u8]) -> Option<(String, &[u8])> {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    let mut t = tokens(p);
    let (_, day) = t.next()?;
    let (_, date) = t.next()?;
    let (_, time) = t.next()?;
    let (zs, zone) = t.next()?;
    if !DAYS.contains(&day) || !clock(time) || !zone.iter().all(|b| b.is_ascii_alphanumeric() || b"+-_/".contains(b)) {
        return None;
    }
    let mut stamp = Vec::with_capacity(date.len() + 1 + time.len() + 1);
    stamp.extend_from_slice(date);
    stamp.push(b'T');
    stamp.extend_from_slice(time);
    if zone == b"UTC" || zone == b"GMT" {
        stamp.push(b'Z');
    }
    Some((iso(&stamp)?, &p[zs + zone.len()..]))
}

/// `journalctl -o short-unix`: "1710403331.100200 host tag: …", seconds since the Unix epoch.
fn short_unix(p: &[u8]) -> Option<(String, &[u8])> {
    let (_, t) = tokens(p).next()?;
    let (secs, frac) = match memchr::memchr(b'.', t) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => return None,
    };
    if !(9..=11).contains(&secs.len())
        || !secs.iter().all(u8::is_ascii_digit)
        || frac.is_empty()
        || frac.len() > 9
        || !frac.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let s: u64 = std::str::from_utf8(secs).ok()?.parse().ok()?;
    let mut us = [b'0'; 6];
    for (d, b) in us.iter_mut().zip(frac) {
        *d = *b;
    }
    let us: u64 = std::str::from_utf8(&us).ok()?.parse().ok()?;
    Some((from_epoch_micros(s.checked_mul(1_000_000)?.checked_add(us)?), &p[t.len()..]))
}

/// The first line of a multi-line message that syslog daemons wrote as one: rsyslog escapes each
/// newline as "#012", the kernel's /dev/kmsg and sysklogd as "\x0a".
pub(crate) fn first_line(b: &[u8]) -> &[u8] {
    next_escaped_newline(b).map_or(b, |(i, _)| &b[..i])
}

/// Where the first escaped newline ("#012" or "\x0a") in `b` starts, and its length.
pub(crate) fn next_escaped_newline(b: &[u8]) -> Option<(usize, usize)> {
    let hash = memmem::find(b, b"#012");
    let hex = memmem::find(b, b"\\x0a");
    match (hash, hex) {
        (Some(a), Some(x)) if x < a => Some((x, 4)),
        (Some(a), _) => Some((a, 4)),
        (None, Some(x)) => Some((x, 4)),
        (None, None) => None,
    }
}

/// Whitespace-separated tokens with their start offsets.
fn tokens(p: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < p.len() && p[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= p.len() {
            return None;
        }
        let start = i;
        while i < p.len() && !p[i].is_ascii_whitespace() {
            i += 1;
        }
        Some((start, &p[start..i]))
    })
}

fn first_token(p: &[u8]) -> &[u8] {
    tokens(p).next().map_or(&p[..0], |(_, t)| t)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b.trim_ascii()).into_owned()
}

/// `<N>` at the start: syslog's priority (facility × 8 + level), or a console log level.
fn pri(p: &[u8]) -> Option<(u32, &[u8])> {
    let r = p.strip_prefix(b"<")?;
    let close = memchr::memchr(b'>', r).filter(|&c| (1..=3).contains(&c))?;
    let n: u32 = std::str::from_utf8(&r[..close]).ok()?.parse().ok()?;
    (n < 192).then(|| (n, &r[close + 1..]))
}

/// `/dev/kmsg` records: "6,1234,5678901,-;" (priority, sequence, microseconds since boot, flags).
/// The record's text may hold earlier lines of a multi-line message ("\x0a"-joined) before the
/// marker, so the header is what precedes the first ';'.
fn kmsg(p: &[u8]) -> Option<Header> {
    let head = &p[..memchr::memchr(b';', p)?];
    let mut fields = head.split(|&b| b == b',');
    let prio: u32 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let _seq: u64 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let usec = fields.next()?;
    if usec.is_empty() || !usec.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let facility = prio >> 3;
    let writer =
        if facility == 0 { Writer::Kernel } else { Writer::Program(format!("facility {}", facility_name(facility))) };
    Some(Header::new(Some(text(usec)), writer))
}

/// RFC 5424 after "<PRI>1 ": TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA.
fn rfc5424(facility: u32, r: &[u8]) -> Header {
    let mut t = tokens(r).map(|(_, t)| t);
    let ts = t.next().and_then(iso);
    let host = t.next().filter(|h| *h != b"-").map(text);
    let app = t.next().map(text).unwrap_or_default();
    let writer = match (facility, app.as_str()) {
        (0, "kernel" | "-" | "") => Writer::Kernel,
        (0, _) => Writer::Program(app),
        (f, _) => Writer::Program(if app == "-" { format!("facility {}", facility_name(f)) } else { app }),
    };
    Header::new(ts, writer).with_host(host)
}

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

fn facility_name(f: u32) -> &'static str {
    FACILITIES.get(f as usize).copied().unwrap_or("unknown")
}

const LEVELS: [&str; 10] = ["emerg", "alert", "crit", "err", "warn", "warning", "notice", "info", "debug", "error"];

/// `dmesg --decode` ("kern  :warn  : [ 12.3] ") and Talos ("10.0.0.7: kern: warning:
/// [2026-03-14T08:02:11.1Z]: "): a facility and a level, each ending in ':'.
fn facility_form(p: &[u8]) -> Option<Header> {
    let colons: Vec<usize> = memchr::memchr_iter(b':', p).take(3).collect();
    let field = |a: usize, b: usize| p[a..b].trim_ascii();
    let is_facility = |f: &[u8]| FACILITIES.iter().any(|x| x.as_bytes() == f);
    let (c0, c1) = (*colons.first()?, *colons.get(1)?);
    let (a, b) = (field(0, c0), field(c0 + 1, c1));
    let (facility, level, rest_at, host) = if is_facility(a) {
        (a, b, c1 + 1, None)
    } else if !a.is_empty() && !a.contains(&b' ') && is_facility(b) {
        // Talos names the node first ("10.0.0.7: kern: warning: …").
        let c2 = *colons.get(2)?;
        (b, field(c1 + 1, c2), c2 + 1, Some(text(a)))
    } else {
        return None;
    };
    let rest = &p[rest_at..];
    if !LEVELS.iter().any(|l| l.as_bytes() == level) {
        return None;
    }
    let rest = rest.trim_ascii();
    let ts = rest.strip_prefix(b"[").and_then(|r| {
        let e = memchr::memchr(b']', r)?;
        let inner = text(&r[..e]);
        iso(inner.as_bytes()).or_else(|| dmesg_t(&inner)).or_else(|| Some(inner).filter(|s| time_like(s)))
    });
    let ts = ts.or_else(|| iso(first_token(rest)));
    let writer =
        if facility == b"kern" { Writer::Kernel } else { Writer::Program(format!("facility {}", text(facility))) };
    Some(Header::new(ts, writer).with_host(host))
}

/// After the time: "host tag: …" or "tag: …". `kernel` is the kernel; any other well-formed
/// tag (`name`, `name[pid]`) is a user-space program; anything else names no writer. The host is
/// the token before the tag, when there is one.
fn syslog_tag(rest: &[u8]) -> (Writer, Option<String>) {
    let mut t = tokens(rest).map(|(_, t)| t);
    let Some(first) = t.next() else { return (Writer::Untagged, None) };
    let (tag, host) = match first.strip_suffix(b":") {
        Some(tag) => (tag, None),
        None => match t.next().and_then(|s| s.strip_suffix(b":")) {
            Some(tag) => (tag, Some(text(first))),
            None => return (Writer::Untagged, None),
        },
    };
    if tag == b"kernel" {
        return (Writer::Kernel, host);
    }
    let name_end = tag.iter().position(|&b| b == b'[').unwrap_or(tag.len());
    let (name, pid) = tag.split_at(name_end);
    let name_ok =
        !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_./@()".contains(&b) || b >= 0x80);
    let pid_ok = pid.is_empty()
        || (pid.len() > 2 && pid.ends_with(b"]") && pid[1..pid.len() - 1].iter().all(u8::is_ascii_digit));
    if name_ok && pid_ok { (Writer::Program(text(tag)), host) } else { (Writer::Untagged, None) }
}

/// "08:02:11" or "08:02:11.100200".
fn clock(t: &[u8]) -> bool {
    let (hms, frac) = match memchr::memchr(b'.', t) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, &t[..0]),
    };
    hms.len() == 8
        && hms.iter().enumerate().all(|(i, b)| if i == 2 || i == 5 { *b == b':' } else { b.is_ascii_digit() })
        && frac.iter().all(u8::is_ascii_digit)
}

/// A short run of digits with ':' or '.' among them: what kernel, syslog and dmesg -T times look
/// like, and what tags before "NVRM:" do not.
fn time_like(s: &str) -> bool {
    s.len() <= 40 && s.bytes().any(|b| b.is_ascii_digit()) && s.contains([':', '.']) && !s.contains(['[', ']'])
}

fn digits(b: &[u8], n: usize) -> Option<&[u8]> {
    (b.len() >= n && b[..n].iter().all(u8::is_ascii_digit)).then(|| &b[..n])
}

/// An ISO 8601 / RFC 3339 time, normalised: `T` between date and time, '.' before the fraction,
/// trailing zeros of the fraction dropped (as RFC 3339 printers such as Go's do), `Z` kept, a
/// numeric offset written `+hh:mm`. `None` unless `t` is one.
///
/// "2026-03-14T08:02:11,100200+00:00" (dmesg --time-format iso) gives
/// "2026-03-14T08:02:11.1002+00:00".
pub(crate) fn iso(t: &[u8]) -> Option<String> {
    digits(t, 4).and(t.get(4).filter(|b| **b == b'-'))?;
    if digits(&t[5..], 2).is_none()
        || t.get(7) != Some(&b'-')
        || digits(&t[8..], 2).is_none()
        || !matches!(t.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let time = t.get(11..19)?;
    if !clock(time) {
        return None;
    }
    let mut out = String::with_capacity(40);
    out.push_str(std::str::from_utf8(&t[..10]).ok()?);
    out.push('T');
    out.push_str(std::str::from_utf8(time).ok()?);
    let mut r = &t[19..];
    if let Some(f) = r.strip_prefix(b".").or_else(|| r.strip_prefix(b",")) {
        let n = f.iter().take_while(|b| b.is_ascii_digit()).count();
        let frac = std::str::from_utf8(&f[..n]).ok()?.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        r = &f[n..];
    }
    match r {
        [] => {}
        [b'Z' | b'z'] => out.push('Z'),
        [s @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return None,
            };
            if !(h.iter().chain(&m).all(u8::is_ascii_digit)) {
                return None;
            }
            out.push(*s as char);
            out.extend([h[0] as char, h[1] as char, ':', m[0] as char, m[1] as char]);
        }
        _ => return None,
    }
    Some(out)
}

/// `dmesg -T`'s "Sat Nov 28 13:54:20 2026" (C locale) as "2026-11-28T13:54:20", local time as
/// the log gives no offset. `None` for any other shape (another locale stays as written).
fn dmesg_t(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut w = s.split_ascii_whitespace();
    let (_day, mon, dd, time, year) = (w.next()?, w.next()?, w.next()?, w.next()?, w.next()?);
    if w.next().is_some() || !clock(time.as_bytes()) || year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let m = MONTHS.iter().position(|x| *x == mon)? + 1;
    let d: u32 = dd.parse().ok().filter(|d| (1..=31).contains(d))?;
    Some(format!("{year}-{m:02}-{d:02}T{time}"))
}

/// Microseconds since the Unix epoch (journald's `__REALTIME_TIMESTAMP`) as RFC 3339 UTC.
pub(crate) fn from_epoch_micros(us: u64) -> String {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> (Option<String>, Writer) {
        let h = header(s.as_bytes());
        (h.timestamp, h.writer)
    }
    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }
    use Writer::{Kernel, Program, Untagged};

    #[test]
    fn every_format() {
        assert_eq!(h("[ 4321.123456] "), (some("4321.123456"), Untagged));
        assert_eq!(h("[Sat Nov 28 13:54:20 2026] "), (some("2026-11-28T13:54:20"), Untagged));
        assert_eq!(h("Jan  1 00:00:00 gpu-node-7 kernel: [ 812.001] "), (some("Jan  1 00:00:00"), Kernel));
        assert_eq!(h("déc. 01 12:00:00 nœud kernel: "), (some("déc. 01 12:00:00"), Kernel));
        // journalctl -o short-precise and -o short-iso
        assert_eq!(h("Mar 14 08:02:11.100200 gpu-node-3 kernel: "), (some("Mar 14 08:02:11.100200"), Kernel));
        assert_eq!(h("2026-03-14T08:02:11+0000 gpu-node-3 kernel: "), (some("2026-03-14T08:02:11+00:00"), Kernel));
        // dmesg --time-format iso
        assert_eq!(h("2026-03-14T08:02:11,100200+00:00 "), (some("2026-03-14T08:02:11.1002+00:00"), Untagged));
        // dmesg --decode, alone and with -T
        assert_eq!(h("kern  :warn  : [ 4321.123456] "), (some("4321.123456"), Kernel));
        assert_eq!(h("kern  :err   : [Sat Nov 28 13:54:20 2026] "), (some("2026-11-28T13:54:20"), Kernel));
        assert_eq!(h("user  :warn  : [ 4321.123456] "), (some("4321.123456"), Program("facility user".into())));
        // Talos
        assert_eq!(
            h("10.0.0.7: kern: warning: [2026-03-14T08:02:11.100200300Z]: "),
            (some("2026-03-14T08:02:11.1002003Z"), Kernel)
        );
        assert_eq!(
            h("10.0.0.7: daemon:    info: [2026-03-14T08:02:11.1Z]: "),
            (some("2026-03-14T08:02:11.1Z"), Program("facility daemon".into()))
        );
        // RFC 5424, and RFC 3164 with a priority
        assert_eq!(h("<4>1 2026-03-14T08:02:11.000Z gpu-node-3 kernel - - - "), (some("2026-03-14T08:02:11Z"), Kernel));
        assert_eq!(
            h("<13>1 2026-03-14T08:02:11Z gpu-node-3 someuser 51234 - - "),
            (some("2026-03-14T08:02:11Z"), Program("someuser".into()))
        );
        assert_eq!(h("<4>Mar 14 08:02:11 gpu-node-3 kernel: "), (some("Mar 14 08:02:11"), Kernel));
        assert_eq!(h("<4>[ 12.5] "), (some("12.5"), Kernel));
        assert_eq!(h("<14>[ 12.5] "), (some("12.5"), Program("facility user".into())));
        // /dev/kmsg
        assert_eq!(h("6,1234,5678901,-;"), (some("5678901"), Kernel));
        assert_eq!(h("14,1235,5678999,-;"), (some("5678999"), Program("facility user".into())));
        // a multi-line record: /dev/kmsg escapes the newline as "\x0a"
        assert_eq!(h("4,1236,5679000,-;NVRM: GPU at PCI:0000:44:00\\x0a"), (some("5679000"), Kernel));
        assert_eq!(h("12,1237,5679001,-;x\\x0a"), (some("5679001"), Program("facility user".into())));
        // user space through syslog
        assert_eq!(
            h("Mar 14 08:05:40 gpu-node-3 someuser[51234]: "),
            (some("Mar 14 08:05:40"), Program("someuser[51234]".into()))
        );
        assert_eq!(
            h("Mar 14 08:05:41 gpu-node-3 python3[51240]: training step 1200 "),
            (some("Mar 14 08:05:41"), Program("python3[51240]".into()))
        );
        // a pod's log as the kubelet writes it (CRI): user space, whatever it printed
        assert_eq!(
            h("2026-03-14T08:02:11.123456789Z stdout F [ 12.3] "),
            (some("2026-03-14T08:02:11.123456789Z"), Program("a container's stdout (CRI log)".into()))
        );
        // journalctl -o short-full and -o short-unix
        assert_eq!(h("Sat 2026-03-14 08:02:11 UTC gpu-node-3 kernel: "), (some("2026-03-14T08:02:11Z"), Kernel));
        assert_eq!(h("Sat 2026-03-14 09:02:11 CET gpu-node-3 kernel: "), (some("2026-03-14T09:02:11"), Kernel));
        assert_eq!(
            h("Sat 2026-03-14 08:02:11 UTC gpu-node-3 python3[12]: "),
            (some("2026-03-14T08:02:11Z"), Program("python3[12]".into()))
        );
        assert_eq!(h("1710403331.100200 gpu-node-4 kernel: "), (some("2024-03-14T08:02:11.1002Z"), Kernel));
        assert_eq!(
            h("1710403331.100200 gpu-node-4 someuser[5]: "),
            (some("2024-03-14T08:02:11.1002Z"), Program("someuser[5]".into()))
        );
        // quoted or bulleted where it was pasted
        assert_eq!(h("> Aug 12 01:22:51 n kernel: "), (some("Aug 12 01:22:51"), Kernel));
        assert_eq!(h(">> > [ 12.5] "), (some("12.5"), Untagged));
        assert_eq!(h("- [ 94.381121] "), (some("94.381121"), Untagged));
        assert_eq!(h("> Aug 12 01:22:51 n python3[7]: "), (some("Aug 12 01:22:51"), Program("python3[7]".into())));
        // no tag at all
        assert_eq!(h(""), (None, Untagged));
        assert_eq!(h("[gpu-health] [WARN] GPU-e11dfcca-7c93: XID: "), (None, Untagged));
        assert_eq!(h("gpu-node-7 kernel: "), (None, Kernel));
        // No syslog time, the kernel's own uptime after the tag
        assert_eq!(h("kernel: [16450076.435595] "), (some("16450076.435595"), Kernel));
        assert_eq!(h("gpu-node-7 kernel: [ 812.001] "), (some("812.001"), Kernel));
        assert_eq!(h("kernel: [gpu-health] "), (None, Kernel));
        assert_eq!(h("training step 1200 "), (None, Untagged));
        // #012: the header is the first line's
        assert_eq!(h("Mar 14 08:02:11 n kernel: NVRM: GPU at PCI:0000:3b:00#012"), (some("Mar 14 08:02:11"), Kernel));
    }

    /// The machine a header names, where it names one.
    #[test]
    fn hosts() {
        let host = |s: &str| header(s.as_bytes()).host;
        assert_eq!(host("Jan  1 00:00:00 gpu-node-7 kernel: [ 812.001] "), some("gpu-node-7"));
        assert_eq!(host("2026-03-14T08:02:11+0000 gpu-node-3 kernel: "), some("gpu-node-3"));
        assert_eq!(host("<4>1 2026-03-14T08:02:11.000Z gpu-node-3 kernel - - - "), some("gpu-node-3"));
        assert_eq!(host("<4>1 2026-03-14T08:02:11.000Z - kernel - - - "), None);
        assert_eq!(host("10.0.0.7: kern: warning: [2026-03-14T08:02:11.1Z]: "), some("10.0.0.7"));
        assert_eq!(host("[ 12.3] gpu-2 kernel: "), some("gpu-2"));
        assert_eq!(host("gpu-node-7 kernel: "), some("gpu-node-7"));
        assert_eq!(host("<4>Mar 14 08:02:11 gpu-node-3 kernel: "), some("gpu-node-3"));
        assert_eq!(host("Sat 2026-03-14 08:02:11 UTC gpu-node-3 kernel: "), some("gpu-node-3"));
        assert_eq!(host("1710403331.100200 gpu-node-4 kernel: "), some("gpu-node-4"));
        for bare in
            ["[ 4321.123456] ", "kernel: ", "6,1234,5678901,-;", "kern  :warn  : [ 1.0] ", "Mar 14 08:02:11 kernel: "]
        {
            assert_eq!(host(bare), None, "{bare}");
        }
    }

    #[test]
    fn epoch_micros() {
        assert_eq!(from_epoch_micros(0), "1970-01-01T00:00:00Z");
        assert_eq!(from_epoch_micros(1_710_403_331_100_200), "2024-03-14T08:02:11.1002Z");
        assert_eq!(from_epoch_micros(951_782_400_000_000), "2000-02-29T00:00:00Z");
        assert!(from_epoch_micros(u64::MAX).len() > 10);
    }

    #[test]
    fn iso_shapes() {
        assert_eq!(iso(b"2026-03-14T08:02:11.100200300Z").as_deref(), Some("2026-03-14T08:02:11.1002003Z"));
        assert_eq!(iso(b"2026-03-14T08:02:11.000-0500").as_deref(), Some("2026-03-14T08:02:11-05:00"));
        assert_eq!(iso(b"2026-03-14"), None);
        assert_eq!(iso(b"2026-03-14T08:02:11+5"), None);
        assert_eq!(iso(b"x"), None);
    }
}
