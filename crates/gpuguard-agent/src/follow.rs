//! Follows a growing log file the way `tail -F` does: reads what was appended, and survives
//! both ways logrotate rotates. With `create` the file is renamed and a new one appears under the
//! path (a new inode): the old file is drained to its end, then the new one is read from its start.
//! With `copytruncate` the file shrinks in place: it is read again from the start.

use crate::lines::LineAssembler;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bytes read per `read` call.
const CHUNK: usize = 256 << 10;
/// The most one drain reads before the caller gets control back.
const DRAIN_MAX: usize = 64 << 20;
/// The longest line kept whole (see [`LineAssembler`]).
pub const MAX_LINE: usize = 64 << 10;

/// Follows one log file by path.
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    file: Option<File>,
    /// (device, inode) of the open file, to notice a rename rotation.
    id: (u64, u64),
    offset: u64,
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
    /// lines. An error (the path cannot be opened or read) leaves the follower ready to retry.
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
    pub fn poll(&mut self, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        if self.file.is_none() {
            if let Err(e) = self.open() {
                // Missing when following began: when it appears, all of it is new.
                self.opened_once |= e.kind() == ErrorKind::NotFound;
                return Err(e);
            }
        }
        if !self.drain(sink)? {
            return Ok(()); // more to read first; rotation is looked at once at the end
        }
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Renamed away and not yet recreated: keep the old file open, it may still grow.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if (meta.dev(), meta.ino()) != self.id {
            // Renamed: whatever the writer put in the old file before it reopened is read
            // above; one more drain catches lines written in between.
            while !self.drain(sink)? {}
            self.lines.finish(sink);
            self.file = None;
            self.rotations += 1;
            self.open()?;
            self.drain(sink)?;
        } else if meta.len() < self.offset {
            // Truncated in place (copytruncate).
            self.lines.finish(sink);
            self.rotations += 1;
            self.offset = 0;
            if let Some(f) = self.file.as_mut() {
                f.seek(SeekFrom::Start(0))?;
            }
            self.drain(sink)?;
        }
        Ok(())
    }

    fn open(&mut self) -> std::io::Result<()> {
        let mut file = File::open(&self.path)?;
        let meta = file.metadata()?;
        self.id = (meta.dev(), meta.ino());
        // A file that appears after the first open is a new file: read it whole.
        self.offset = if self.opened_once || self.from_start { 0 } else { file.seek(SeekFrom::End(0))? };
        self.opened_once = true;
        self.file = Some(file);
        Ok(())
    }

    /// Reads to the end of the open file, or [`DRAIN_MAX`] bytes, whichever comes first, so a
    /// writer faster than the reader cannot keep a poll from returning.
    /// Returns whether the end was reached.
    fn drain(&mut self, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<bool> {
        let Some(file) = self.file.as_mut() else { return Ok(true) };
        let mut read = 0;
        loop {
            if read >= DRAIN_MAX {
                return Ok(false);
            }
            match file.read(&mut self.buf) {
                Ok(0) => return Ok(true),
                Ok(n) => {
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
