//! Follows a growing log file the way `tail -F` does: reads what was appended, and survives
//! both ways logrotate rotates. With `create` the file is renamed and a new one appears under the
//! path (a new inode): the old file is drained to its end, then the new one is read from its start.
//! With `copytruncate` the file is emptied in place: it is read again from the start, also when
//! the writer has already filled it past the old size before the next poll (the bytes just before
//! the read offset, and the file's first bytes, no longer match what was read: see
//! [`Fingerprint`]).
//!
//! Only regular files are followed. The path is opened without blocking and checked with
//! `fstat` before the first read, so a FIFO, a device or a directory put in the log's place (or a
//! symlink to one) is refused with a reason instead of hanging the follower or reading a device.

use crate::lines::LineAssembler;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Bytes read per `read` call.
const CHUNK: usize = 256 << 10;
/// The most one drain reads before the caller gets control back.
const DRAIN_MAX: usize = 64 << 20;
/// The longest line kept whole (see [`LineAssembler`]).
pub const MAX_LINE: usize = 64 << 10;

/// What the follower can see of its path right now; the `state` label of
/// `gpuguard_kernel_log_state` (a fixed set, so the series never depend on error text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogState {
    /// A regular file, read on the last poll.
    #[default]
    Ok,
    /// Nothing at the path (removed, or renamed and not yet recreated).
    Missing,
    /// Something that is not a regular file: a FIFO, a device, a directory, a socket.
    NotRegular,
    /// There, but it cannot be opened or read (permissions, a symlink loop, an I/O error).
    Unreadable,
}

impl LogState {
    /// Every state, in the order the metric lists them.
    pub const ALL: [LogState; 4] = [LogState::Ok, LogState::Missing, LogState::NotRegular, LogState::Unreadable];

    /// The label value: `ok`, `missing`, `not_regular`, `unreadable`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogState::Ok => "ok",
            LogState::Missing => "missing",
            LogState::NotRegular => "not_regular",
            LogState::Unreadable => "unreadable",
        }
    }
}

/// Why a followed path could not be read: its [`LogState`] and, for people, the reason.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FollowError {
    /// What the path is now.
    pub state: LogState,
    /// The followed path.
    pub path: PathBuf,
    /// The reason, as `/healthz` says it.
    pub reason: String,
}

impl FollowError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        let state = if e.kind() == ErrorKind::NotFound { LogState::Missing } else { LogState::Unreadable };
        let reason = match state {
            LogState::Missing => "missing (removed, or rotated and not yet recreated)".to_owned(),
            _ => format!("cannot be read: {e}"),
        };
        FollowError { state, path: path.to_owned(), reason }
    }
}

/// How much of the file's start, and of the bytes before the read offset, is remembered.
const PRINT: usize = 256;

/// What was read, remembered cheaply to notice a file that was truncated and rewritten past the
/// old size between two polls (copytruncate with a fast writer). The size alone cannot tell; but
/// the rewritten file starts with new lines (their timestamps differ) and holds other bytes just
/// before the old offset. Two `pread`s of [`PRINT`] bytes per poll check both, and every chunk
/// read past the start is checked against the head too (the rewrite may land between the check
/// and the read). Both runs are kept from the bytes actually read, never re-read afterwards, so a
/// rewrite cannot slip into the fingerprint itself. A rewrite that reproduces both byte runs
/// exactly is indistinguishable from no rewrite.
#[derive(Debug, Default)]
struct Fingerprint {
    /// Up to [`PRINT`] bytes from the file's start (fewer when the file was shorter).
    head: Vec<u8>,
    /// The up to [`PRINT`] bytes that end at the read offset.
    tail: Vec<u8>,
}

impl Fingerprint {
    /// Remembers the file as it is up to `offset`.
    fn take(file: &File, offset: u64) -> std::io::Result<Self> {
        let head = pread(file, 0, PRINT.min(usize::try_from(offset).unwrap_or(PRINT)))?;
        let start = offset.saturating_sub(PRINT as u64);
        let tail = pread(file, start, (offset - start) as usize)?;
        Ok(Fingerprint { head, tail })
    }

    /// Notes `data`, just read at `at`.
    fn push(&mut self, at: u64, data: &[u8]) {
        if self.head.len() < PRINT && at == self.head.len() as u64 {
            self.head.extend_from_slice(&data[..data.len().min(PRINT - self.head.len())]);
        }
        if data.len() >= PRINT {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - PRINT..]);
        } else {
            self.tail.extend_from_slice(data);
            let extra = self.tail.len().saturating_sub(PRINT);
            self.tail.drain(..extra);
        }
    }

    /// Whether the file still starts with the remembered head.
    fn head_holds(&self, file: &File) -> std::io::Result<bool> {
        Ok(self.head.is_empty() || pread(file, 0, self.head.len())? == self.head)
    }

    /// Whether the file still holds the remembered bytes.
    fn matches(&self, file: &File, offset: u64) -> std::io::Result<bool> {
        let start = offset.saturating_sub(self.tail.len() as u64);
        Ok(pread(file, 0, self.head.len())? == self.head && pread(file, start, self.tail.len())? == self.tail)
    }
}

/// Reads up to `len` bytes at `at` (fewer at the end of the file).
fn pread(file: &File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// How far a drain got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// To the end of the file.
    End,
    /// [`DRAIN_MAX`] bytes; more to read.
    More,
    /// The file was rewritten under the reader (its start changed): what was just read is
    /// dropped, and reading starts again from the start.
    Rewritten,
}

/// Follows one log file by path.
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    file: Option<File>,
    /// (device, inode) of the open file, to notice a rename rotation.
    id: (u64, u64),
    offset: u64,
    print: Fingerprint,
    /// Whether the first open starts at the end (only new lines count) or at the start.
    from_start: bool,
    opened_once: bool,
    lines: LineAssembler,
    buf: Vec<u8>,
    /// Rotations (renames and truncations) seen.
    pub rotations: u64,
    /// Bytes read in all.
    pub bytes: u64,
}

impl FileFollower {
    /// Follows `path`, which need not exist yet. `from_start` reads what the file already holds
    /// on the first open; otherwise only lines appended from now on are read.
    pub fn new(path: impl Into<PathBuf>, from_start: bool) -> Self {
        FileFollower {
            path: path.into(),
            file: None,
            id: (0, 0),
            offset: 0,
            print: Fingerprint::default(),
            from_start,
            opened_once: false,
            lines: LineAssembler::new(MAX_LINE),
            buf: vec![0; CHUNK],
            rotations: 0,
            bytes: 0,
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads everything appended since the last call and hands it to `sink` in blocks of whole
    /// lines. An error says what the path is now (missing, not a regular file, unreadable); the
    /// follower keeps what it can (an old file renamed away is still drained) and retries on the
    /// next call, so following resumes when a regular file is back.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("kern.log");
    /// std::fs::write(&path, "old line\n").unwrap();
    /// let mut f = gpuguard_agent::FileFollower::new(&path, false);
    /// let mut got = Vec::new();
    /// f.poll(&mut |b| got.extend_from_slice(b)).unwrap();
    /// assert!(got.is_empty()); // started at the end
    /// std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"new line\n").unwrap();
    /// f.poll(&mut |b| got.extend_from_slice(b)).unwrap();
    /// assert_eq!(got, b"new line\n");
    /// ```
    pub fn poll(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), FollowError> {
        let path = self.path.clone();
        let io = |e: std::io::Error| FollowError::io(&path, &e);
        if self.file.is_none() {
            if let Err(e) = self.open() {
                // Missing when following began: when it appears, all of it is new.
                self.opened_once |= e.state == LogState::Missing;
                return Err(e);
            }
        }
        // Truncated in place (copytruncate) since the last poll, perhaps already written past the
        // old size: looked at before reading on from the old offset, which would then be in the
        // middle of the new text.
        if self.truncated().map_err(io)? {
            self.restart(sink).map_err(io)?;
        }
        let mut drained = self.drain(sink).map_err(io)?;
        if drained == Drained::Rewritten {
            self.restart(sink).map_err(io)?;
            drained = self.drain(sink).map_err(io)?;
        }
        if drained != Drained::End {
            return Ok(()); // more to read first; rotation is looked at once at the end
        }
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Renamed away and not yet recreated, or removed: the old file stays open (it may
            // still grow), but the path is reported missing until something is back.
            Err(e) => return Err(io(e)),
        };
        if (meta.dev(), meta.ino()) != self.id {
            // Renamed: whatever the writer put in the old file before it reopened is read
            // above; one more drain catches lines written in between.
            while self.drain(sink).map_err(io)? == Drained::More {}
            self.lines.finish(sink);
            self.file = None;
            self.rotations += 1;
            self.open()?;
            self.drain(sink).map_err(io)?;
        }
        Ok(())
    }

    /// Starts again from the start of the same file (it was truncated or rewritten in place).
    fn restart(&mut self, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        self.lines.finish(sink);
        self.rotations += 1;
        self.offset = 0;
        self.print = Fingerprint::default();
        if let Some(f) = self.file.as_mut() {
            f.seek(SeekFrom::Start(0))?;
        }
        Ok(())
    }

    /// Whether the open file no longer holds what was read: shorter than the read offset, or
    /// other bytes at its start or just before the offset.
    fn truncated(&self) -> std::io::Result<bool> {
        let Some(f) = &self.file else { return Ok(false) };
        Ok(f.metadata()?.len() < self.offset || !self.print.matches(f, self.offset)?)
    }

    /// Opens the path without blocking (a FIFO would block a plain open until a writer comes)
    /// and refuses anything but a regular file.
    fn open(&mut self) -> Result<(), FollowError> {
        let path = self.path.clone();
        let io = |e: std::io::Error| FollowError::io(&path, &e);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&self.path)
            .map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.file_type().is_file() {
            return Err(FollowError {
                state: LogState::NotRegular,
                path: self.path.clone(),
                reason: format!("is {}, not a regular file: not followed", gpuguard::file_kind(&meta.file_type())),
            });
        }
        self.id = (meta.dev(), meta.ino());
        // A file that appears after the first open is a new file: read it whole.
        self.offset = if self.opened_once || self.from_start { 0 } else { file.seek(SeekFrom::End(0)).map_err(io)? };
        self.print = Fingerprint::take(&file, self.offset).map_err(io)?;
        self.opened_once = true;
        self.file = Some(file);
        Ok(())
    }

    /// Reads to the end of the open file, or [`DRAIN_MAX`] bytes, whichever comes first, so a
    /// writer faster than the reader cannot keep a poll from returning.
    fn drain(&mut self, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<Drained> {
        let Some(file) = self.file.as_mut() else { return Ok(Drained::End) };
        let mut read = 0;
        loop {
            if read >= DRAIN_MAX {
                return Ok(Drained::More);
            }
            match file.read(&mut self.buf) {
                Ok(0) => return Ok(Drained::End),
                Ok(n) => {
                    // Read past the start: the file must still start as it did, or these bytes
                    // may be the middle of a rewritten file.
                    if self.offset > 0 && !self.print.head_holds(file)? {
                        return Ok(Drained::Rewritten);
                    }
                    self.print.push(self.offset, &self.buf[..n]);
                    read += n;
                    self.offset += n as u64;
                    self.bytes += n as u64;
                    self.lines.push(&self.buf[..n], sink);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(got: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(got).lines().map(str::to_owned).collect()
    }

    /// Copytruncate, then the writer fills the file past the old size before the next poll:
    /// every line of every round is read, round after round.
    #[test]
    fn copytruncate_with_regrowth_past_the_old_size_loses_no_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kern.log");
        std::fs::write(&path, "").expect("write");
        let mut f = FileFollower::new(&path, false);
        let mut got = Vec::new();
        f.poll(&mut |b| got.extend_from_slice(b)).expect("poll");
        let mut want = Vec::new();
        for round in 0..300u32 {
            // The old file: a few lines, read.
            let mut w = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
            for i in 0..(round % 7 + 1) {
                let line = format!("round {round} before {i} kernel: NVRM: Xid (PCI:0000:3b:00): 48, DBE");
                writeln!(w, "{line}").expect("write");
                want.push(line);
            }
            drop(w);
            f.poll(&mut |b| got.extend_from_slice(b)).expect("poll");
            // Truncated in place, then regrown past the old size, all between two polls.
            let old = std::fs::metadata(&path).expect("stat").len();
            let mut w = std::fs::OpenOptions::new().write(true).truncate(true).open(&path).expect("truncate");
            let mut written = 0;
            let mut i = 0;
            while written <= old + u64::from(round % 3) * 100 {
                let line = format!("round {round} after {i} kernel: NVRM: Xid (PCI:0000:5e:00): 79, fell off");
                writeln!(w, "{line}").expect("write");
                written += line.len() as u64 + 1;
                want.push(line);
                i += 1;
            }
            drop(w);
            f.poll(&mut |b| got.extend_from_slice(b)).expect("poll");
        }
        assert_eq!(lines_of(&got), want);
        assert_eq!(f.rotations, 300);
    }

    #[test]
    fn a_fifo_or_directory_in_the_logs_place_is_refused_without_blocking_and_following_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kern.log");
        std::fs::write(&path, "").expect("write");
        let mut f = FileFollower::new(&path, false);
        let mut got = Vec::new();
        f.poll(&mut |b| got.extend_from_slice(b)).expect("poll");
        std::fs::remove_file(&path).expect("rm");
        let e = f.poll(&mut |b| got.extend_from_slice(b)).expect_err("missing");
        assert_eq!(e.state, LogState::Missing, "{e}");
        let fifo = std::ffi::CString::new(path.to_str().expect("utf8")).expect("cstring");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = f.poll(&mut |b| got.extend_from_slice(b)).expect_err("fifo");
        assert_eq!(e.state, LogState::NotRegular, "{e}");
        assert!(e.to_string().contains("a FIFO"), "{e}");
        std::fs::remove_file(&path).expect("rm");
        std::os::unix::fs::symlink("/dev/null", &path).expect("symlink");
        let e = f.poll(&mut |b| got.extend_from_slice(b)).expect_err("device");
        assert!(e.to_string().contains("a character device"), "{e}");
        std::fs::remove_file(&path).expect("rm");
        std::os::unix::fs::symlink(&path, &path).expect("loop");
        let e = f.poll(&mut |b| got.extend_from_slice(b)).expect_err("loop");
        assert_eq!(e.state, LogState::Unreadable, "{e}");
        std::fs::remove_file(&path).expect("rm");
        std::fs::write(&path, "back\n").expect("write");
        f.poll(&mut |b| got.extend_from_slice(b)).expect("back");
        assert_eq!(got, b"back\n");
    }
}
