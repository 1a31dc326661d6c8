//! GG005 from kernel logs: find the readable sources (/dev/kmsg, kern.log, syslog, messages,
//! journal files), take their NVRM lines and hand them to a [`LogSink`] that judges them.
//! Unreadable sources are a skip that names the access needed, never an error.

use super::Host;
use crate::{Check, CheckStatus, Finding, Severity};
use std::io::{ErrorKind, Read, Seek, SeekFrom};

/// Receives kernel log lines and turns them into findings. The XID classifier plugs in here;
/// [`XidLineCounter`] is the minimal one.
pub trait LogSink {
    /// One line from `source` (a path on the inspected machine) at 1-based `line`.
    fn line(&mut self, source: &str, line: usize, text: &str);
    /// The findings for everything fed so far.
    fn findings(&mut self) -> Vec<Finding>;
}

/// Parses and classifies XID events (through [`crate::xid`]) and reports them as one GG005
/// finding at the worst severity seen, naming the codes.
#[derive(Debug, Default)]
pub struct XidLineCounter {
    count: usize,
    codes: std::collections::BTreeMap<u32, usize>,
    worst: Option<Severity>,
    first: Option<(String, usize, String)>,
}

impl LogSink for XidLineCounter {
    fn line(&mut self, source: &str, line: usize, text: &str) {
        let Some(event) = crate::xid::parse_xid_line(text.as_bytes()) else { return };
        let info = crate::xid::classify_xid(event.xid);
        self.count += 1;
        *self.codes.entry(event.xid).or_default() += 1;
        self.worst = self.worst.max(Some(info.severity));
        self.first.get_or_insert_with(|| (source.to_owned(), line, text.trim().to_owned()));
    }

    fn findings(&mut self) -> Vec<Finding> {
        let Some((file, line, text)) = &self.first else { return vec![] };
        let codes = self
            .codes
            .iter()
            .map(|(code, n)| format!("{code} ({} ×{n})", crate::xid::classify_xid(*code).name))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            Finding::new(
                "GG005",
                self.worst.unwrap_or(Severity::Warning),
                format!("{} NVIDIA XID event(s) in the kernel log: XID {codes}; first: {text}", self.count),
                "run `gpuguard xid` on the log for each GPU's root cause and action (`gpuguard explain xid N`); drain the node for hardware XIDs",
            )
            .with_location(crate::Location { file: Some(file.clone()), line: Some(*line), ..Default::default() })
            .with_evidence("xid_lines", self.count)
            .with_evidence("xid_codes", self.codes.keys().copied().collect::<Vec<_>>()),
        ]
    }
}

/// [`XidLineCounter`]'s findings, and the lines also counted by an [`crate::xid::XidScanner`]
/// for per-GPU, per-code metrics (`gpuguard doctor --format prometheus`).
#[derive(Debug, Default)]
pub struct XidTally {
    /// Gives the findings.
    pub counter: XidLineCounter,
    /// Counts events per GPU and code.
    pub scanner: crate::xid::XidScanner,
    line: Vec<u8>,
}

impl LogSink for XidTally {
    fn line(&mut self, source: &str, line: usize, text: &str) {
        self.counter.line(source, line, text);
        self.line.clear();
        self.line.extend_from_slice(text.as_bytes());
        self.line.push(b'\n');
        self.scanner.scan_continued(&self.line, line as u64, source, &mut |_| {});
    }

    fn findings(&mut self) -> Vec<Finding> {
        self.counter.findings()
    }
}

/// Where kernel messages may be read, in order of preference.
pub const SOURCES: &[&str] = &["/dev/kmsg", "/var/log/kern.log", "/var/log/syslog", "/var/log/messages"];

/// At most this much of the end of each log file is read, so a huge syslog cannot slow preflight.
pub const TAIL_BYTES: u64 = 8 << 20;

/// Only lines containing this reach the sink: every XID and driver message carries it.
const NEEDLE: &[u8] = b"NVRM";

fn access_hint(path: &str) -> &'static str {
    if path == "/dev/kmsg" {
        "needs root or CAP_SYSLOG (or sysctl kernel.dmesg_restrict=0)"
    } else if path.contains("/log/journal/") {
        "needs membership in the systemd-journal or adm group"
    } else {
        "needs root or membership in the adm group"
    }
}

fn feed(sink: &mut dyn LogSink, source: &str, data: &[u8], first_line: usize) {
    let finder = memchr::memmem::Finder::new(NEEDLE);
    // Journal files separate fields with NUL; text logs with newlines.
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if finder.find(line).is_none() {
            continue;
        }
        for part in line.split(|&b| b == 0).filter(|p| finder.find(p).is_some()) {
            let text = String::from_utf8_lossy(part);
            let text = text.strip_prefix("MESSAGE=").unwrap_or(&text);
            sink.line(source, first_line + i, text);
        }
    }
}

/// Reads /dev/kmsg without blocking: each read returns one record, `EAGAIN` means the end.
fn read_kmsg(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // "6,1234,5678,-;message": keep the message.
                let rec = &buf[..n];
                let msg = rec.iter().position(|&b| b == b';').map_or(rec, |p| &rec[p + 1..]);
                out.extend_from_slice(msg.split(|&b| b == b'\n').next().unwrap_or(msg));
                out.push(b'\n');
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            // EPIPE: records were overwritten while reading; the next read continues.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Where the current boot starts in a log that spans several: the line of the last boot banner
/// (`Linux version …`, the kernel's first message). XIDs before it happened to hardware that has
/// since been reset, and often replaced; counting them would keep a repaired node flagged until
/// the log rotates. No banner: the whole text is this boot's (or undated).
///
/// ```
/// let log = b"old: NVRM: Xid (PCI:0000:3b:00): 79\n[    0.000000] Linux version 6.8.0\nnew line\n";
/// let at = gpuguard::probe::kernel_log::current_boot_offset(log);
/// assert!(log[at..].starts_with(b"[    0.000000] Linux version"));
/// ```
pub fn current_boot_offset(data: &[u8]) -> usize {
    match memchr::memmem::rfind(data, b"Linux version ") {
        Some(at) => memchr::memrchr(b'\n', &data[..at]).map_or(0, |nl| nl + 1),
        None => 0,
    }
}

fn read_source(host: &Host, source: &str) -> std::io::Result<(Vec<u8>, usize)> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let path = host.path(source);
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path)?;
    let meta = file.metadata()?;
    if meta.file_type().is_char_device() {
        return Ok((read_kmsg(&mut file)?, 1));
    }
    let len = meta.len();
    let mut data = Vec::new();
    let mut first_line = 1;
    if len > TAIL_BYTES {
        file.seek(SeekFrom::Start(len - TAIL_BYTES))?;
        first_line = 0; // unknown: line numbers count from the cut
    }
    file.read_to_end(&mut data)?;
    if first_line == 0 {
        // Drop the partial first line.
        let cut = data.iter().position(|&b| b == b'\n').map_or(data.len(), |p| p + 1);
        data.drain(..cut);
        first_line = 1;
    }
    let boot = current_boot_offset(&data);
    first_line += memchr::memchr_iter(b'\n', &data[..boot]).count();
    data.drain(..boot);
    Ok((data, first_line))
}

/// The active system journal under /var/log/journal (persistent) and /run/log/journal
/// (volatile). Archived journal files are skipped: there can be gigabytes of them.
fn journal_files(host: &Host) -> Vec<String> {
    let mut out = Vec::new();
    for base in ["/var/log/journal", "/run/log/journal"] {
        for machine in std::fs::read_dir(host.path(base)).into_iter().flatten().flatten() {
            let Ok(m) = machine.file_name().into_string() else { continue };
            for f in std::fs::read_dir(machine.path()).into_iter().flatten().flatten() {
                if let Ok(name) = f.file_name().into_string() {
                    if name == "system.journal" {
                        out.push(format!("{base}/{m}/{name}"));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// Feeds every readable source to `sink` and reports which were read and which were not.
///
/// ```
/// use gpuguard::probe::{Host, kernel_log};
/// let (check, findings) = kernel_log::check(&Host::new("/nonexistent"), &mut kernel_log::XidLineCounter::default());
/// assert_eq!(check.status, gpuguard::CheckStatus::Skipped);
/// assert!(findings.is_empty());
/// ```
pub fn check(host: &Host, sink: &mut dyn LogSink) -> (Check, Vec<Finding>) {
    let mut read = Vec::new();
    let mut denied = Vec::new();
    let sources: Vec<String> = SOURCES.iter().map(|s| (*s).to_owned()).chain(journal_files(host)).collect();
    for source in &sources {
        match read_source(host, source) {
            Ok((data, first)) => {
                feed(sink, source, &data, first);
                read.push(source.clone());
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                denied.push(format!("{source}: permission denied ({})", access_hint(source)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => denied.push(format!("{source}: {e}")),
        }
    }
    if read.is_empty() {
        let why = if denied.is_empty() {
            "no kernel log found (/dev/kmsg, /var/log/kern.log, syslog, messages, journal)".to_owned()
        } else {
            format!("no kernel log readable: {}", denied.join("; "))
        };
        return (Check::new("kernel-log", CheckStatus::Skipped, why), vec![]);
    }
    let findings = sink.findings();
    let mut seen = format!("read {} (this boot's messages)", read.join(", "));
    if !denied.is_empty() {
        seen.push_str(&format!("; not read: {}", denied.join("; ")));
    }
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new("kernel-log", status, seen), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_xid_lines_in_text_and_journal_records() {
        let mut sink = XidLineCounter::default();
        feed(
            &mut sink,
            "/var/log/kern.log",
            b"a\nNov 28 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\nNVRM: loading\n",
            1,
        );
        feed(
            &mut sink,
            "/var/log/journal/x/system.journal",
            b"\x00\x00MESSAGE=NVRM: Xid (PCI:0000:3b:00): 48, An uncorrectable double bit error\x00\x01",
            1,
        );
        let f = sink.findings();
        assert_eq!(f[0].evidence["xid_lines"], 2);
        assert_eq!((f[0].location.file.as_deref(), f[0].location.line), (Some("/var/log/kern.log"), Some(2)));
    }

    #[test]
    fn only_the_current_boot_of_a_log_file_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = "Nov 20 09:00:00 n kernel: [ 5.0] NVRM: Xid (PCI:0000:3b:00): 79, pid=0, GPU has fallen off the bus.\n\
                   Nov 21 08:00:00 n kernel: [    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02) #45-Ubuntu SMP\n\
                   Nov 21 08:00:09 n kernel: [    9.1] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.14\n\
                   Nov 21 09:00:00 n kernel: [ 3600.0] NVRM: Xid (PCI:0000:86:00): 13, pid=7, Graphics Exception\n";
        std::fs::create_dir_all(dir.path().join("var/log")).expect("mkdir");
        std::fs::write(dir.path().join("var/log/kern.log"), log).expect("write");
        let mut sink = XidLineCounter::default();
        let (c, f) = check(&Host::new(dir.path()), &mut sink);
        assert_eq!(c.status, CheckStatus::Finding, "{c:?}");
        assert_eq!(f[0].evidence["xid_codes"], serde_json::json!([13]), "the XID 79 before the reboot counted");
        assert_eq!(f[0].location.line, Some(4));
    }
}
