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
    /// What the check should also say about the lines (such as lines it ignored and why).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Judges kernel log lines with the same XID pipeline as `gpuguard xid` ([`crate::xid`]), so the
/// doctor's GG005 findings are `gpuguard xid`'s ([`crate::xid::xid_findings`]): per GPU and root
/// cause, per-event severity, user-space lines ignored.
#[derive(Debug, Default)]
pub struct XidLineCounter {
    /// The scanner the lines go through; its summary gives the findings and the metrics.
    pub scanner: crate::xid::XidScanner,
    line: Vec<u8>,
}

impl LogSink for XidLineCounter {
    fn line(&mut self, source: &str, line: usize, text: &str) {
        self.line.clear();
        self.line.extend_from_slice(text.as_bytes());
        self.line.push(b'\n');
        self.scanner.scan_continued(&self.line, line as u64, source, &mut |_| {});
    }

    fn findings(&mut self) -> Vec<Finding> {
        crate::xid::xid_findings(&self.scanner.summary())
    }

    fn notes(&self) -> Vec<String> {
        let ignored = self.scanner.summary().ignored;
        match ignored.examples.first() {
            Some(first) => vec![format!(
                "ignored {} line(s) with XID text that user space wrote, not the kernel (first: {}:{}, {})",
                ignored.lines, first.file, first.line, first.writer
            )],
            None => Vec::new(),
        }
    }
}

/// The doctor's XID sink, with `scanner` for per-GPU, per-code metrics (`gpuguard doctor
/// --format prometheus`): the same type as [`XidLineCounter`].
pub type XidTally = XidLineCounter;

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
            // The kernel's ring buffer is a few MiB; past this something is not /dev/kmsg.
            Ok(_) if out.len() as u64 > 4 * TAIL_BYTES => break,
            Ok(n) => {
                // "6,1234,5678,-;message": the first line, header kept (its priority tells the
                // kernel's records from what user space wrote to /dev/kmsg).
                let rec = &buf[..n];
                out.extend_from_slice(rec.split(|&b| b == b'\n').next().unwrap_or(rec));
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
    let ft = meta.file_type();
    // Only /dev/kmsg itself (character device 1:11) is read as a device, and only regular files
    // as logs: under --root a FIFO at var/log/syslog could block or never end, /dev/zero never
    // ends. They are skipped with a note, like the rest of --root.
    let is_kmsg = ft.is_char_device() && {
        use std::os::unix::fs::MetadataExt;
        let rdev = meta.rdev();
        source == "/dev/kmsg" && (libc::major(rdev), libc::minor(rdev)) == (1, 11)
    };
    if is_kmsg {
        return Ok((read_kmsg(&mut file)?, 1));
    }
    if !ft.is_file() {
        return Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!("skipped: {}, not a regular file", crate::file_kind(&ft)),
        ));
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

/// The driver's refusal of a user-space driver library of another version ("NVRM: API
/// mismatch: the client has the version 550.90.12, but / NVRM: this kernel module has the
/// version 550.90.07. Please / NVRM: make sure that this kernel module and all NVIDIA driver /
/// NVRM: components have the same version."): after a driver upgrade without a reboot, every
/// CUDA and NVML call fails, and NVML cannot say why because it does not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiMismatch {
    /// The user-space driver's version (the "client").
    pub client_version: String,
    /// The loaded kernel module's version.
    pub kernel_module_version: String,
    /// 1-based line of the message in the text searched.
    pub line: usize,
}

/// The last `API mismatch` message in a kernel log, in any of its forms: one line, one line per
/// sentence (dmesg, kern.log), or one syslog line with `#012` for each newline.
///
/// ```
/// let log = b"[ 4410.0] NVRM: API mismatch: the client has the version 550.90.12, but\n\
///             [ 4410.0] NVRM: this kernel module has the version 550.90.07.  Please\n";
/// let m = gpuguard::probe::kernel_log::find_api_mismatch(log).unwrap();
/// assert_eq!((m.client_version.as_str(), m.kernel_module_version.as_str(), m.line), ("550.90.12", "550.90.07", 1));
/// ```
pub fn find_api_mismatch(data: &[u8]) -> Option<ApiMismatch> {
    let at = memchr::memmem::rfind(data, b"API mismatch")?;
    let start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |i| i + 1);
    let line = memchr::memchr_iter(b'\n', &data[..start]).count() + 1;
    // The message and the lines after it, each piece's text after its "NVRM:", joined.
    let window = &data[start..data.len().min(start + 4096)];
    let mut text = String::new();
    for physical in window.split(|&b| b == b'\n').take(6) {
        let physical = String::from_utf8_lossy(physical);
        for piece in physical.split("#012") {
            let body = piece.rsplit_once("NVRM:").map_or(piece, |(_, b)| b);
            text.push_str(body.trim());
            text.push(' ');
        }
    }
    Some(ApiMismatch {
        client_version: version_after(&text, "client has the version")?,
        kernel_module_version: version_after(&text, "kernel module has the version")?,
        line,
    })
}

fn version_after(text: &str, key: &str) -> Option<String> {
    let rest = &text[text.find(key)? + key.len()..];
    let v: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let v = v.trim_end_matches('.');
    (v.chars().any(|c| c.is_ascii_digit()) && v.len() <= 32).then(|| v.to_owned())
}

/// GG010 for an [`ApiMismatch`] found in `source` at `line`.
fn api_mismatch_finding(source: &str, line: usize, m: &ApiMismatch) -> Finding {
    Finding::new(
        "GG010",
        Severity::Error,
        format!(
            "NVIDIA driver/library version mismatch: the user-space driver is {} but the loaded kernel module is {}; \
             every CUDA and NVML call fails (\"Failed to initialize NVML: Driver/library version mismatch\")",
            m.client_version, m.kernel_module_version
        ),
        format!(
            "Reboot the node so the {} kernel module loads (the usual cause: the driver was upgraded without a reboot), \
             or reinstall the NVIDIA driver so the kernel module and the user-space libraries are the same version",
            m.client_version
        ),
    )
    .with_location(crate::Location { file: Some(source.to_owned()), line: Some(line), ..Default::default() })
    .with_evidence("client_version", m.client_version.clone())
    .with_evidence("kernel_module_version", m.kernel_module_version.clone())
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
    let mut mismatch = None;
    let sources: Vec<String> = SOURCES.iter().map(|s| (*s).to_owned()).chain(journal_files(host)).collect();
    for source in &sources {
        match read_source(host, source) {
            Ok((data, first)) => {
                feed(sink, source, &data, first);
                if let Some(m) = find_api_mismatch(&data) {
                    mismatch = Some(api_mismatch_finding(source, first + m.line - 1, &m));
                }
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
    let mut findings = sink.findings();
    findings.extend(mismatch);
    let mut seen = format!("read {} (this boot's messages)", read.join(", "));
    if !denied.is_empty() {
        seen.push_str(&format!("; not read: {}", denied.join("; ")));
    }
    for note in sink.notes() {
        seen.push_str(&format!("; {note}"));
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
        assert_eq!(f.len(), 2, "{f:?}");
        let of = |code: u32| f.iter().find(|f| f.evidence["xid"] == code).expect("finding");
        assert_eq!((of(79).location.file.as_deref(), of(79).location.line), (Some("/var/log/kern.log"), Some(2)));
        assert_eq!(of(48).location.file.as_deref(), Some("/var/log/journal/x/system.journal"));
    }

    /// The doctor's GG005 is `gpuguard xid`'s: same findings from the same lines, user space
    /// ignored, the Nonfatal/Fatal words judged per event.
    #[test]
    fn doctor_judges_like_gpuguard_xid() {
        let log = b"Mar 14 08:02:11 n kernel: [ 1.0] NVRM: Xid (PCI:0000:a3:00): 145, RLW_SRC_TRACK Nonfatal XC0 i0 Link 05\n\
                    Mar 14 08:02:12 n someuser[51234]: NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus.\n\
                    14,1235,5678999,-;NVRM: Xid (PCI:0000:3b:00): 48, pid=1, name=x, DBE\n";
        let mut sink = XidLineCounter::default();
        feed(&mut sink, "/var/log/kern.log", log, 1);
        let doctor = sink.findings();
        let mut scanner = crate::xid::XidScanner::new();
        scanner.scan_bytes(log, "/var/log/kern.log", &mut |_| {});
        let xid = crate::xid::xid_findings(&scanner.summary());
        assert_eq!(doctor, xid);
        assert_eq!(doctor.len(), 1);
        assert_eq!((doctor[0].severity, doctor[0].evidence["action"].as_str()), (Severity::Warning, Some("none")));
        assert_eq!(sink.scanner.summary().ignored.lines, 2);
        assert!(sink.notes()[0].contains("ignored 2 line(s)"), "{:?}", sink.notes());
    }

    #[test]
    fn api_mismatch_in_every_form() {
        let forms: [&[u8]; 3] = [
            b"[ 4410.003120] NVRM: API mismatch: the client has the version 550.90.12, but\n\
              [ 4410.003120] NVRM: this kernel module has the version 550.90.07.  Please\n\
              [ 4410.003120] NVRM: make sure that this kernel module and all NVIDIA driver\n",
            b"Mar 14 08:00:00 n kernel: NVRM: API mismatch: the client has the version 550.90.12, but this kernel module has the version 550.90.07.  Please make sure that this kernel module and all NVIDIA driver components have the same version.\n",
            b"Mar 14 08:00:00 n kernel: [ 4410.0] NVRM: API mismatch: the client has the version 550.90.12, but#012NVRM: this kernel module has the version 550.90.07.  Please#012NVRM: make sure that this kernel module and all NVIDIA driver#012NVRM: components have the same version.\n",
        ];
        for form in forms {
            let m = find_api_mismatch(form).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(form)));
            assert_eq!((m.client_version.as_str(), m.kernel_module_version.as_str()), ("550.90.12", "550.90.07"));
        }
        assert_eq!(find_api_mismatch(b"NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.90.07\n"), None);
        assert_eq!(find_api_mismatch(b"NVRM: API mismatch: garbled\n"), None);
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
        assert_eq!(f.len(), 1, "the XID 79 before the reboot counted: {f:?}");
        assert_eq!(f[0].evidence["xid"], 13);
        assert_eq!(f[0].location.line, Some(4));
    }

    /// A FIFO where syslog should be, with a writer that holds it open and never writes: the
    /// doctor skips it with a note instead of waiting, and still reads the real kern.log.
    #[test]
    fn fifo_at_var_log_syslog_is_skipped_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("var/log")).expect("mkdir");
        let fifo = dir.path().join("var/log/syslog");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf-8 path")).expect("no NUL");
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A writer that holds the FIFO open (O_RDWR does not wait for a reader).
        let _writer = std::fs::OpenOptions::new().read(true).write(true).open(&fifo).expect("open fifo");
        std::fs::write(dir.path().join("var/log/kern.log"), "n kernel: NVRM: Xid (PCI:0000:3b:00): 48, DBE\n")
            .expect("write");
        let started = std::time::Instant::now();
        let (c, f) = check(&Host::new(dir.path()), &mut XidLineCounter::default());
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "blocked on the FIFO");
        assert!(c.reason.contains("/var/log/syslog: skipped: a FIFO, not a regular file"), "{c:?}");
        assert!(c.reason.contains("read /var/log/kern.log"), "{c:?}");
        assert_eq!(f.len(), 1);
    }
}
