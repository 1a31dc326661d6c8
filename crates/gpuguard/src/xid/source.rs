//! Where XID lines come from: files (read, or memory-mapped when settled), gzip-rotated logs,
//! directories of logs, FIFOs, `/dev/kmsg`; each feeds the one line engine in [`super::scan`].
//! (Journal JSON is recognised per line by the engine, so it works from any of them, stdin
//! included: `journalctl -o json | gpuguard xid -`.)
//!
//! Safe on any input: a directory walk visits each file once (by device and inode), so symlink
//! loops and second links end; FIFOs, devices and sockets inside a directory are skipped with a
//! note (reading one could block forever); a file truncated while it is scanned gives the lines
//! read so far and a note, never SIGBUS (see [`super::window`]).

use super::event::XidEvent;
use super::scan::XidScanner;
use super::window::{self, Window, page_size};
use crate::report::InputError;
use std::collections::HashSet;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Bytes read from the start of a file to tell gzip (magic bytes) and binary data (NUL bytes,
/// as grep tells them) from a text log.
const HEAD: usize = 8 << 10;

/// Fills `buf` from `f` as far as the file goes; returns the bytes read.
fn read_head(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Counts the bytes a reader gave, to tell a file that shrank during the scan.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl XidScanner {
    /// Scans a file (plain or gzip, told by its magic bytes), every file under a directory
    /// (sorted, recursively, each file once), a FIFO named directly (read to its end), or
    /// `/dev/kmsg` (the records buffered now, without waiting for more). Unreadable inputs are
    /// added to `errors` and the scan goes on with the others; skipped inputs and logs cut short
    /// get a note in [`XidScanner::summary`]. For stdin, use [`XidScanner::scan_reader`].
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("kern.log"), "NVRM: Xid (PCI:0000:01:00): 13, x\n").unwrap();
    /// std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    /// let (mut s, mut errors, mut n) = (gpuguard::xid::XidScanner::new(), vec![], 0);
    /// s.scan_path(dir.path(), &mut errors, &mut |_| n += 1);
    /// s.scan_path("/nonexistent/log".as_ref(), &mut errors, &mut |_| n += 1);
    /// assert_eq!((n, errors.len()), (1, 1));
    /// assert!(s.summary().notes[0].message.contains("already scanned"));
    /// ```
    pub fn scan_path(&mut self, path: &Path, errors: &mut Vec<InputError>, on_event: &mut dyn FnMut(XidEvent)) {
        let mut visited = HashSet::new();
        self.walk(path, true, &mut visited, errors, on_event);
    }

    fn walk(
        &mut self,
        path: &Path,
        top: bool,
        visited: &mut HashSet<(u64, u64)>,
        errors: &mut Vec<InputError>,
        on_event: &mut dyn FnMut(XidEvent),
    ) {
        let name = path.display().to_string();
        let error = |errors: &mut Vec<InputError>, e: std::io::Error| {
            errors.push(InputError { file: name.clone(), line: None, message: e.to_string() });
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if top => return error(errors, e),
            // A dangling link or a link chain that loops, inside a directory.
            Err(e) => return self.note(&name, format!("skipped: {e}")),
        };
        let ft = meta.file_type();
        if !visited.insert((meta.dev(), meta.ino())) {
            let what = if ft.is_dir() { "a directory" } else { "a file" };
            return self.note(&name, format!("skipped: {what} already scanned (a symlink loop or a second link)"));
        }
        if ft.is_dir() {
            match std::fs::read_dir(path) {
                Err(e) => error(errors, e),
                Ok(rd) => {
                    let mut children: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    for c in children {
                        self.walk(&c, false, visited, errors, on_event);
                    }
                }
            }
        } else if ft.is_file() || (top && ft.is_fifo()) {
            if let Err(e) = self.scan_file(path, &name, on_event) {
                error(errors, e);
            }
        } else if top && ft.is_char_device() && path.file_name().is_some_and(|n| n == "kmsg") {
            if let Err(e) = self.scan_kmsg(path, &name, on_event) {
                error(errors, e);
            }
        } else {
            self.note(&name, format!("skipped: {}, not a log file", crate::file_kind(&ft)));
        }
    }

    fn scan_file(&mut self, path: &Path, name: &str, on_event: &mut dyn FnMut(XidEvent)) -> std::io::Result<()> {
        // Non-blocking open: a path swapped for a FIFO after the walk looked must not hang us.
        let mut f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
        let meta = f.metadata()?;
        let ft = meta.file_type();
        if ft.is_fifo() {
            // Named directly (`<(zcat kern.log.2.gz)`): read it to its end, waiting for data.
            // SAFETY: F_SETFL on an fd this function owns.
            unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&f), libc::F_SETFL, 0) };
            return self.scan_reader(f, name, on_event);
        }
        if !ft.is_file() {
            self.note(name, format!("skipped: {}, not a log file", crate::file_kind(&ft)));
            return Ok(());
        }
        let mut first = vec![0u8; HEAD];
        let got = read_head(&mut f, &mut first)?;
        first.truncate(got);
        if first.starts_with(&[0x1f, 0x8b]) {
            return self.scan_gzip(std::io::Cursor::new(first).chain(f), name, on_event);
        }
        if memchr::memchr(0, &first).is_some() {
            // What grep calls a binary file: say so rather than scan it silently.
            let hint = if name.ends_with(".journal") || name.ends_with(".journal~") {
                " (a binary journald file: read it with `journalctl --file FILE -o json | gpuguard xid -`)"
            } else {
                ""
            };
            self.note(
                name,
                format!(
                    "looks binary, not a text log (NUL bytes in its first {} bytes){hint}: scanned as text anyway, XID lines in it still count",
                    first.len()
                ),
            );
        }
        let head = std::io::Cursor::new(first);
        // Only settled files are mapped: a live log is read (see `window`).
        if window::should_map(&meta, std::time::SystemTime::now()) {
            match self.scan_mapped(&f, meta.len(), window::WINDOW, name, on_event) {
                Err(e) if e.kind() == ErrorKind::ResourceBusy => {}
                other => return other,
            }
            // Every guarded slot is in use (many scans at once): read instead.
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0))?;
            return self.scan_reader(f, name, on_event);
        }
        let mut counted = Counted { inner: head.chain(f), bytes: 0 };
        self.scan_reader(&mut counted, name, on_event)?;
        if counted.bytes < meta.len() {
            self.note(
                name,
                format!(
                    "the file shrank while it was scanned (truncated or rotated): read {} of {} bytes",
                    counted.bytes,
                    meta.len()
                ),
            );
        }
        Ok(())
    }

    /// Scans a gzip stream (`kern.log.2.gz`; several members, as `cat a.gz b.gz` makes, are read
    /// one after the other). A corrupt or cut stream is an error after the events before the
    /// damage were reported.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    /// gz.write_all(b"NVRM: Xid (PCI:0000:01:00): 79, gone\n").unwrap();
    /// let bytes = gz.finish().unwrap();
    /// let (mut s, mut n) = (gpuguard::xid::XidScanner::new(), 0);
    /// s.scan_gzip(&bytes[..], "kern.log.2.gz", &mut |_| n += 1).unwrap();
    /// assert_eq!(n, 1);
    /// assert!(s.scan_gzip(&bytes[..bytes.len() / 2], "cut.gz", &mut |_| {}).is_err());
    /// ```
    ///
    /// # Errors
    /// The reader's, or the stream is not valid gzip.
    #[cfg(feature = "gzip")]
    pub fn scan_gzip<R: Read>(
        &mut self,
        reader: R,
        name: &str,
        on_event: &mut dyn FnMut(XidEvent),
    ) -> std::io::Result<()> {
        let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, reader));
        self.scan_reader(gz, name, on_event)
    }

    /// Built without the `gzip` feature: a compressed log is an input error that says so.
    #[cfg(not(feature = "gzip"))]
    pub fn scan_gzip<R: Read>(
        &mut self,
        _reader: R,
        _name: &str,
        _on_event: &mut dyn FnMut(XidEvent),
    ) -> std::io::Result<()> {
        Err(std::io::Error::new(
            ErrorKind::Unsupported,
            "gzip-compressed log, and gpuguard was built without its `gzip` feature",
        ))
    }

    /// Reads the records `/dev/kmsg` holds now (one per read; `EAGAIN` is the end, `EPIPE` means
    /// some were overwritten while reading) and scans each record's first line, its header kept:
    /// the priority tells the kernel's records from what user space wrote to `/dev/kmsg`.
    fn scan_kmsg(&mut self, path: &Path, name: &str, on_event: &mut dyn FnMut(XidEvent)) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
        self.sink.inputs += 1;
        let mut rec = vec![0u8; 16 * 1024];
        let mut block = Vec::with_capacity(1 << 16);
        let mut next = 1;
        loop {
            match f.read(&mut rec) {
                Ok(0) => break,
                Ok(n) => {
                    let first = rec[..n].split(|&b| b == b'\n').next().unwrap_or_default();
                    block.extend_from_slice(first);
                    block.push(b'\n');
                    if block.len() >= 1 << 16 {
                        next = self.scan_continued(&block, next, name, on_event);
                        block.clear();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) || e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.scan_continued(&block, next, name, on_event);
        Ok(())
    }

    /// Scans a regular file through memory-mapped windows (see [`super::window`]).
    pub(crate) fn scan_mapped(
        &mut self,
        f: &File,
        len: u64,
        window: usize,
        name: &str,
        on_event: &mut dyn FnMut(XidEvent),
    ) -> std::io::Result<()> {
        let page = page_size();
        let mut first = true;
        let (mut pos, mut line_no, mut skipping, mut last_byte) = (0u64, 1u64, false, b'\n');
        while pos < len {
            let map_off = pos & !(page - 1);
            let map_len = usize::try_from((len - map_off).min(window as u64)).unwrap_or(window);
            let window = Window::map(f, map_off, map_len)?;
            if first {
                first = false;
                self.sink.inputs += 1;
                #[cfg(test)]
                {
                    self.mapped_inputs += 1;
                }
            }
            let data = window.bytes();
            let eof = map_off + map_len as u64 == len;
            let mut s = (pos - map_off) as usize;
            let mut next = map_off + map_len as u64;
            if skipping {
                match memchr::memchr(b'\n', &data[s..]) {
                    Some(i) => {
                        s += i + 1;
                        line_no += 1;
                        skipping = false;
                    }
                    None => s = map_len,
                }
            }
            if s < map_len {
                let end = if eof {
                    Some(map_len)
                } else {
                    match memchr::memrchr(b'\n', &data[s..]) {
                        Some(i) => Some(s + i + 1),
                        // The line started late in the window: map again from its page.
                        None if s as u64 >= page => {
                            next = map_off + s as u64;
                            None
                        }
                        // A line longer than a window: parse its head, skip the rest.
                        None => {
                            skipping = true;
                            Some(map_len)
                        }
                    }
                };
                if let Some(end) = end {
                    line_no = self.scan_block(&data[s..end], line_no, name, on_event);
                    next = map_off + end as u64;
                }
            }
            if eof {
                last_byte = data[map_len - 1];
            }
            if window.truncated() {
                self.sink.lines += line_no;
                self.note(
                    name,
                    format!(
                        "the file was truncated while it was scanned: events up to line {line_no} are reported, \
                         the rest of the file was gone"
                    ),
                );
                return Ok(());
            }
            pos = next;
        }
        self.sink.lines += line_no - 1 + u64::from(last_byte != b'\n');
        Ok(())
    }
}
