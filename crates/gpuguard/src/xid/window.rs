//! Memory-mapped windows over a regular file, so big logs are scanned without copying them
//! through a read buffer (half the time of a scan was that copy). Only one window is mapped at
//! a time, so resident memory stays at the window size whatever the file size.
//!
//! When to map ([`should_map`]): if another process truncates a file while a window of it is
//! mapped, touching the vanished pages raises SIGBUS, which kills the whole process: the CLI,
//! the node agent, or a training script that imported gpuguard. Logs are exactly the files that
//! get truncated (logrotate's `copytruncate`) and appended to while we read them, so only files
//! that look settled are mapped: regular files of at least [`MMAP_MIN`] bytes (below that the
//! mapping costs more than the copy it saves) whose mtime is at least [`SETTLED`] old. A live
//! log (the current kern.log, a file being rotated) changes its mtime with every write and is
//! read in chunks instead, which a truncation only cuts short. What is left is a file that was
//! quiet for a minute and is truncated during the scan; each window is sized to the file's
//! length when it is mapped, which keeps that race to one window.

use std::fs::{File, Metadata};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

/// Files smaller than this are read, not mapped.
pub(crate) const MMAP_MIN: u64 = 4 << 20;

/// How long a file must have been left unmodified to be mapped (see the module docs).
pub(crate) const SETTLED: Duration = Duration::from_secs(60);

/// Bytes mapped at a time.
pub(crate) const WINDOW: usize = 32 << 20;

/// Whether a file with `meta` may be memory-mapped at `now`: a regular file of at least
/// [`MMAP_MIN`] bytes, last modified at least [`SETTLED`] ago. An mtime in the future or one the
/// platform does not report counts as live.
pub(crate) fn should_map(meta: &Metadata, now: SystemTime) -> bool {
    let settled = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= SETTLED);
    meta.is_file() && meta.len() >= MMAP_MIN && settled
}

/// A read-only mapping of `len` bytes of a file at `offset`, unmapped on drop.
pub(crate) struct Window {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Window {
    /// Maps `len` (> 0) bytes at `offset` (a multiple of the page size).
    pub(crate) fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Window> {
        let off = libc::off_t::try_from(offset).map_err(|_| std::io::Error::other("file offset too large to map"))?;
        // SAFETY: a fresh private read-only mapping of an open fd; the kernel checks the range.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), off) };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: advice on the range just mapped; failure only loses the hint.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
        }
        Ok(Window { ptr, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `map`.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Window({} bytes)", self.len)
    }
}

/// The system page size.
pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settled_big_regular_files_are_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.log");
        let small = dir.path().join("small.log");
        std::fs::write(&big, vec![b'\n'; MMAP_MIN as usize]).unwrap();
        std::fs::write(&small, vec![b'\n'; MMAP_MIN as usize - 1]).unwrap();
        let old = SystemTime::now() - SETTLED - Duration::from_secs(1);
        for p in [&big, &small] {
            File::options().write(true).open(p).unwrap().set_modified(old).unwrap();
        }
        let meta = |p: &std::path::Path| std::fs::metadata(p).unwrap();
        let now = SystemTime::now();
        assert!(should_map(&meta(&big), now));
        assert!(!should_map(&meta(&small), now), "too small");
        assert!(!should_map(&meta(dir.path()), now), "not a regular file");
        assert!(!should_map(&meta(&big), old + SETTLED / 2), "modified half a minute ago");
        assert!(!should_map(&meta(&big), old - SETTLED), "mtime in the future");
    }
}
