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
//! quiet for a minute and is truncated during the scan: for that, [`guard`] installs (once, and
//! again if someone replaced it) a SIGBUS handler that knows the live windows. A fault inside one
//! of them maps zero pages over the rest of that window and marks it; the scan reads zeros instead
//! of dying, sees the mark after the window ([`Window::truncated`]) and stops with a note. A fault
//! anywhere else goes to the handler that was there before (Python's faulthandler, the default).

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
    slot: &'static guard::Slot,
}

impl Window {
    /// Maps `len` (> 0) bytes at `offset` (a multiple of the page size).
    /// Fails with `ResourceBusy` (and nothing is mapped) when the SIGBUS guard cannot protect
    /// another window: the caller reads the file instead.
    pub(crate) fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Window> {
        guard::install()?;
        let off = libc::off_t::try_from(offset).map_err(|_| std::io::Error::other("file offset too large to map"))?;
        // SAFETY: a fresh private read-only mapping of an open fd; the kernel checks the range.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), off) };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let Some(slot) = guard::register(ptr as usize, len) else {
            // SAFETY: unmapping the mapping just made, never handed out.
            unsafe { libc::munmap(ptr, len) };
            return Err(std::io::Error::new(std::io::ErrorKind::ResourceBusy, "too many logs mapped at once"));
        };
        // SAFETY: advice on the range just mapped; failure only loses the hint.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
        }
        Ok(Window { ptr, len, slot })
    }

    /// True when part of the window vanished under the scan (the file was truncated): the bytes
    /// from there on read as zeros.
    pub(crate) fn truncated(&self) -> bool {
        self.slot.hit.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        guard::unregister(self.slot);
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

/// The SIGBUS handler and the table of live windows it protects.
mod guard {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

    /// One live window: its address range, and whether a fault hit it.
    #[derive(Debug)]
    pub(crate) struct Slot {
        start: AtomicUsize,
        len: AtomicUsize,
        pub(crate) hit: AtomicBool,
    }

    const SLOTS: usize = 64;
    #[allow(clippy::declare_interior_mutable_const)] // only used to fill the array below
    const EMPTY: Slot = Slot { start: AtomicUsize::new(0), len: AtomicUsize::new(0), hit: AtomicBool::new(false) };
    static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
    /// The handler that was installed before ours, for faults that are not in a window.
    static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());
    static INSTALL: Mutex<()> = Mutex::new(());
    static PAGE: AtomicUsize = AtomicUsize::new(4096);

    /// Claims a slot for a window; `None` when all are in use.
    pub(crate) fn register(start: usize, len: usize) -> Option<&'static Slot> {
        for slot in &TABLE {
            if slot.start.load(Ordering::Acquire) == 0 {
                // Claim by len (0 = free), then publish start.
                if slot.len.compare_exchange(0, len, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    slot.hit.store(false, Ordering::Release);
                    slot.start.store(start, Ordering::Release);
                    return Some(slot);
                }
            }
        }
        None
    }

    pub(crate) fn unregister(slot: &Slot) {
        slot.start.store(0, Ordering::Release);
        slot.len.store(0, Ordering::Release);
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for slot in &TABLE {
            let start = slot.start.load(Ordering::Acquire);
            let len = slot.len.load(Ordering::Acquire);
            if start != 0 && addr >= start && addr < start + len {
                let from = addr & !(page - 1);
                // SAFETY: replaces pages inside a mapping this process made and still owns (the
                // slot is live until its Window is dropped) with anonymous zero pages; mmap is a
                // plain system call, safe in a signal handler.
                let r = unsafe {
                    libc::mmap(
                        from as *mut libc::c_void,
                        start + len - from,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if r != libc::MAP_FAILED {
                    slot.hit.store(true, Ordering::Release);
                    return; // the faulting read runs again and reads zeros
                }
            }
        }
        // Not ours: hand it to the handler that was there before.
        let prev = PREVIOUS.load(Ordering::Acquire);
        // SAFETY: `prev` is null or a leaked, never-freed sigaction written before ours was set.
        unsafe {
            if prev.is_null() || (*prev).sa_sigaction == libc::SIG_DFL || (*prev).sa_sigaction == libc::SIG_IGN {
                // Default action: reset and return; the fault happens again and kills as it would have.
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            } else if (*prev).sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute((*prev).sa_sigaction);
                f(sig, info, ctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute((*prev).sa_sigaction);
                f(sig);
            }
        }
    }

    /// Makes sure our handler is the one installed, keeping whatever was there before to chain to.
    pub(crate) fn install() -> std::io::Result<()> {
        let _lock = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        PAGE.store(super::page_size() as usize, Ordering::Relaxed);
        // SAFETY: querying and setting the SIGBUS disposition with valid, zero-initialised structs.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut current) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if current.sa_sigaction == on_sigbus as *const () as usize {
                return Ok(());
            }
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_sigbus as *const () as usize;
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
            libc::sigemptyset(&mut ours.sa_mask);
            // Leaked on purpose: the handler may read it at any time, forever.
            PREVIOUS.store(Box::into_raw(Box::new(current)), Ordering::Release);
            if libc::sigaction(libc::SIGBUS, &ours, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
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
