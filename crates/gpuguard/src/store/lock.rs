//! One writer per store directory: an exclusive, non-blocking `flock` on `.gpuguard.lock`. The
//! kernel drops it when the process dies (even by SIGKILL), so a killed writer never leaves a
//! stale lock behind.
//!
//! Inside one process the lock is handed over instead: a notebook cell re-run opens the same
//! directory while the previous cell's store still exists, and failing there would force a kernel
//! restart. The newer store becomes the writer and the older one is told so when it next saves.
//! The lock file is opened without following symlinks and without blocking on a FIFO.

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The lock file's name inside the store directory.
pub const LOCK_NAME: &str = ".gpuguard.lock";

/// The flock'ed file, shared by every store of this process that opened the same directory.
#[derive(Debug)]
struct Held {
    _file: File,
    /// Generation of the store that may write now; older generations were handed over.
    owner: AtomicU64,
}

/// A lock file's identity: (device, inode).
type FileKey = (u64, u64);

/// Locks this process holds, by the lock file's (device, inode): a second open of the same
/// directory (even through another path or a symlink) finds the first.
static HELD: Mutex<Vec<(FileKey, Weak<Held>)>> = Mutex::new(Vec::new());

/// A held writer lock; released when the last store of this process holding it is dropped.
#[derive(Debug)]
pub struct WriterLock {
    held: Arc<Held>,
    generation: u64,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of `dir`, or fails at once with an error that says another writer has it.
    /// When this process already holds it (another store of the same directory), the lock is
    /// handed over to the new one: the older store's [`is_current`](Self::is_current) turns false.
    ///
    /// ```
    /// use gpuguard::store::lock::WriterLock;
    /// let dir = tempfile::tempdir().unwrap();
    /// let first = WriterLock::acquire(dir.path()).unwrap();
    /// let second = WriterLock::acquire(dir.path()).unwrap(); // same process: handed over
    /// assert!(second.is_current() && !first.is_current());
    /// drop((first, second));
    /// assert!(WriterLock::acquire(dir.path()).unwrap().is_current());
    /// ```
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    Error::Store {
                        path: path.clone(),
                        message: "the lock file is a symlink; the store never follows one out of its directory: \
                                  remove it"
                            .into(),
                    }
                } else {
                    super::io_error(dir, "cannot create the writer lock file", e)
                }
            })?;
        let meta = file.metadata().map_err(|e| super::io_error(dir, "cannot stat the writer lock file", e))?;
        if !meta.file_type().is_file() {
            return Err(Error::Store {
                path,
                message: "the lock file is not a regular file (a FIFO, device or socket): remove it".into(),
            });
        }
        let key = (meta.dev(), meta.ino());
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|(_, w)| w.strong_count() > 0);
        if let Some(h) = held.iter().find(|(k, _)| *k == key).and_then(|(_, w)| w.upgrade()) {
            let generation = h.owner.fetch_add(1, Ordering::SeqCst) + 1;
            return Ok(WriterLock { held: h, generation, path });
        }
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::Store {
                    path: dir.to_path_buf(),
                    message: format!(
                        "another writer (another process) is saving checkpoints to this directory: it holds the \
                         lock {}; only one writer per directory is allowed: use another directory, or open this \
                         one read-only to inspect it (under torchrun, gpuguard.CheckpointStore makes rank 0 the \
                         writer by itself once torch.distributed is initialised)",
                        path.display()
                    ),
                });
            }
            return Err(super::io_error(dir, "cannot lock the directory", e));
        }
        let h = Arc::new(Held { _file: file, owner: AtomicU64::new(0) });
        held.push((key, Arc::downgrade(&h)));
        Ok(WriterLock { held: h, generation: 0, path })
    }

    /// Whether this is still the writer: false once a newer store of the same directory in this
    /// process took the lock over.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(gpuguard::store::lock::WriterLock::acquire(dir.path()).unwrap().is_current());
    /// ```
    pub fn is_current(&self) -> bool {
        self.held.owner.load(Ordering::SeqCst) == self.generation
    }

    /// The lock file.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let lock = gpuguard::store::lock::WriterLock::acquire(dir.path()).unwrap();
    /// assert!(lock.path().ends_with(".gpuguard.lock"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_or_fifo_lock_file_is_refused_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join(LOCK_NAME)).unwrap();
        assert!(WriterLock::acquire(d.path()).unwrap_err().to_string().contains("symlink"));
        std::fs::remove_file(d.path().join(LOCK_NAME)).unwrap();
        let fifo = std::ffi::CString::new(d.path().join(LOCK_NAME).to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(WriterLock::acquire(d.path()).unwrap_err().to_string().contains("FIFO"));
    }
}
