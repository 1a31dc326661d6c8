//! Memory-mapped windows over a regular file, so big logs are scanned without copying them
//! through a read buffer (half the time of a scan was that copy). Only one window is mapped at
//! a time, so resident memory stays at the window size whatever the file size.
//!
//! Caveat (shared with ripgrep's mmap mode): if another process truncates the file while a
//! window is mapped, touching the vanished pages raises SIGBUS. Each window is sized to the
//! file's length at the time it is mapped, which keeps that race to one window.

use std::fs::File;
use std::os::fd::AsRawFd;

/// Bytes mapped at a time.
pub(crate) const WINDOW: usize = 32 << 20;

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
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), off)
        };
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
