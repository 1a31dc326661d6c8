//! One writer per store directory: an exclusive, non-blocking `flock` on `.gpuguard.lock`. The
//! kernel drops it when the process dies (even by SIGKILL), so a killed writer never leaves a
//! stale lock behind.

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name inside the store directory.
pub const LOCK_NAME: &str = ".gpuguard.lock";

/// A held writer lock; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of `dir`, or fails at once with an error that says another writer has it.
    ///
    /// ```
    /// use gpuguard::store::lock::WriterLock;
    /// let dir = tempfile::tempdir().unwrap();
    /// let first = WriterLock::acquire(dir.path()).unwrap();
    /// let second = WriterLock::acquire(dir.path()).unwrap_err();
    /// assert!(second.to_string().contains("another writer"));
    /// drop(first);
    /// assert!(WriterLock::acquire(dir.path()).is_ok());
    /// ```
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| super::io_error(dir, "cannot create the writer lock file", e))?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::Store {
                    path: dir.to_path_buf(),
                    message: format!(
                        "another writer (another process, or another store in this one) is saving checkpoints to this directory: it holds the lock {}; \
                         only one writer per directory is allowed: use another directory, or open this one \
                         read-only to inspect it",
                        path.display()
                    ),
                });
            }
            return Err(super::io_error(dir, "cannot lock the directory", e));
        }
        Ok(WriterLock { _file: file, path })
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
