//! Follows the kernel's message buffer through `/dev/kmsg`: each `read` returns one record,
//! `prio,seq,usec,flags;message` followed by optional ` KEY=value` lines. Opening it starts at the
//! oldest record still in the ring buffer, so what this boot logged before the agent started is
//! counted too. Records overwritten before they were read show up as gaps in `seq`; they are
//! counted as lost rather than silently missing.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// Longest record the kernel writes (PRINTK_MESSAGE_MAX is 2048; keep room for dictionaries).
const RECORD_MAX: usize = 16 << 10;

/// A reader of `/dev/kmsg` records.
#[derive(Debug)]
pub struct KmsgFollower {
    file: File,
    buf: Vec<u8>,
    batch: Vec<u8>,
    last_seq: Option<u64>,
    /// Records the kernel overwrote before they could be read.
    pub lost: u64,
    /// Records read.
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// The first line of a `/dev/kmsg` record (prefix kept: the XID parser reads it) and its
/// sequence number.
///
/// ```
/// let (line, seq) = gpuguard_agent::kmsg_record(b"4,1501,9876543,-;NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.\n SUBSYSTEM=pci\n");
/// assert_eq!(seq, Some(1501));
/// assert!(line.ends_with(b"fallen off the bus."));
/// ```
pub fn kmsg_record(record: &[u8]) -> (&[u8], Option<u64>) {
    let line = record.split(|&b| b == b'\n').next().unwrap_or(record);
    let seq = line
        .split(|&b| b == b';')
        .next()
        .and_then(|head| head.split(|&b| b == b',').nth(1))
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok());
    (line, seq)
}

impl KmsgFollower {
    /// Opens `path` (normally `/dev/kmsg`) for non-blocking reads.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
        Ok(KmsgFollower {
            file,
            buf: vec![0; RECORD_MAX],
            batch: Vec::new(),
            last_seq: None,
            lost: 0,
            records: 0,
            bytes: 0,
        })
    }

    /// Waits up to `timeout` for records, then reads every record available and hands their
    /// lines to `sink` in blocks of whole lines.
    pub fn poll(&mut self, timeout: Duration, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        let mut pfd = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        loop {
            match self.file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.records += 1;
                    self.bytes += n as u64;
                    let (line, seq) = kmsg_record(&self.buf[..n]);
                    if let (Some(seq), Some(last)) = (seq, self.last_seq) {
                        self.lost += seq.saturating_sub(last + 1);
                    }
                    self.last_seq = seq.or(self.last_seq);
                    self.batch.extend_from_slice(line);
                    self.batch.push(b'\n');
                    if self.batch.len() >= 256 << 10 {
                        sink(&self.batch);
                        self.batch.clear();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // EPIPE: the record at our position was overwritten; reading goes on from the
                // oldest one left, and the sequence gap counts what was lost.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.batch.is_empty() {
            sink(&self.batch);
            self.batch.clear();
        }
        Ok(())
    }
}
