//! The file-system steps that make publishing atomic: temp directories on the same file system,
//! fsync of files and directories, the no-replace rename, and removal that hides a checkpoint
//! (rename to a temp name) before deleting it, so a kill mid-delete never leaves a half checkpoint
//! under a real name.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Prefix of every temporary entry in a store directory; all of them are removed on open.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Name of a published checkpoint directory: `step-` and the step in 10 digits (more if needed),
/// so names sort like steps.
///
/// ```
/// assert_eq!(gpuguard::store::publish::step_dir_name(42), "step-0000000042");
/// assert_eq!(gpuguard::store::publish::parse_step_dir_name("step-0000000042"), Some(42));
/// assert_eq!(gpuguard::store::publish::parse_step_dir_name("step-x"), None);
/// ```
pub fn step_dir_name(step: u64) -> String {
    format!("step-{step:010}")
}

/// The step of a checkpoint directory name, if it is one.
pub fn parse_step_dir_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("step-")?;
    if digits.len() < 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A unique temporary name for `what` (`<step>` or `delete-<step>`): `.tmp-<what>-<pid>-<nonce>`.
pub(crate) fn temp_name(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{what}-{}-{nanos:08x}{n}", std::process::id())
}

/// fsyncs a file or directory by path (a directory's fsync makes its entries durable). Never
/// follows a symlink and never blocks on a FIFO (`O_NOFOLLOW | O_NONBLOCK`).
pub(crate) fn fsync_path(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?.sync_all()
}

/// fsyncs the store directory itself, which may be a symlink the user chose (`/ckpt` → a volume).
pub(crate) fn fsync_store_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens `path` for reading only if it is a regular file: a symlink (`O_NOFOLLOW`), a FIFO (opened
/// `O_NONBLOCK`, so the open itself never waits for a writer) or a device is an error that says
/// so. The store reads only files it wrote; anything else is somebody else's.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let f = dir.path().join("m.json");
/// std::fs::write(&f, b"{}").unwrap();
/// assert!(gpuguard::store::publish::open_regular(&f).is_ok());
/// std::os::unix::fs::symlink(&f, dir.path().join("link")).unwrap();
/// assert!(gpuguard::store::publish::open_regular(&dir.path().join("link")).is_err());
/// assert!(gpuguard::store::publish::open_regular(std::path::Path::new("/dev/null")).unwrap_err()
///     .to_string().contains("not a regular file"));
/// ```
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(io::ErrorKind::InvalidData, "is a symlink; the store never follows one")
            } else {
                e
            }
        })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (a FIFO, device or socket); the store reads only files it wrote",
        ));
    }
    Ok(file)
}

/// Reads a small regular file (a manifest) whole, refusing one over `limit` bytes so a planted
/// huge file cannot exhaust memory.
pub(crate) fn read_small(path: &Path, limit: u64) -> io::Result<String> {
    use std::io::Read;
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{len} bytes, more than a manifest can be")));
    }
    let mut text = String::new();
    file.take(limit).read_to_string(&mut text)?;
    Ok(text)
}

/// Regular files `(relative path, absolute path)` and directories found by [`walk`].
pub(crate) type Walk = (Vec<(String, PathBuf)>, Vec<PathBuf>);

/// Every regular file under `root` (relative `/`-separated path, absolute path) and every
/// directory (absolute), skipping `skip` at the top level. Symlinks and special files are an
/// error: a checkpoint must hold its bytes, not point at bytes elsewhere.
pub(crate) fn walk(root: &Path, skip: &str) -> io::Result<Walk> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: file name is not UTF-8", entry.path().display()),
                ));
            };
            if rel.is_empty() && name == skip {
                continue;
            }
            let rel_path = if rel.is_empty() { name.to_owned() } else { format!("{rel}/{name}") };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
                stack.push((entry.path(), rel_path));
            } else if kind.is_file() {
                files.push((rel_path, entry.path()));
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: only regular files and directories can be checkpointed (symlinks and special files cannot)",
                        entry.path().display()
                    ),
                ));
            }
        }
    }
    files.sort();
    Ok((files, dirs))
}

/// Renames `from` to `to`, failing if `to` exists (even as an empty directory, which plain
/// `rename` would silently replace).
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    // Some file systems (old NFS, overlay on old kernels) lack RENAME_NOREPLACE; the writer lock
    // keeps others out, so check-then-rename is safe there.
    if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        if to.exists() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        return fs::rename(from, to);
    }
    Err(e)
}

/// Hides a published checkpoint by renaming it to a temp name: gone from view at once, deleted
/// later by [`delete_in_background`] (or, after a kill, on the next open). The rename is not
/// fsynced on purpose: if a crash undoes it, an older good checkpoint reappears, which is harmless
/// (the next save prunes it again).
pub(crate) fn hide_checkpoint(store_dir: &Path, dir: &Path, step: u64) -> io::Result<PathBuf> {
    let hidden = store_dir.join(temp_name(&format!("delete-{step}")));
    fs::rename(dir, &hidden)?;
    Ok(hidden)
}

/// Deletes hidden checkpoints on a detached thread: freeing a GiB-sized file takes a noticeable
/// fraction of a second, which the training loop should not wait for. Whatever a process exit
/// interrupts is temp data, removed on the next open.
pub(crate) fn delete_in_background(hidden: Vec<PathBuf>) {
    if hidden.is_empty() {
        return;
    }
    let work = move || {
        for h in &hidden {
            let _ = fs::remove_dir_all(h);
        }
    };
    // If no thread can be had nothing is lost: the next open removes the hidden data.
    let _ = std::thread::Builder::new().name("gpuguard-prune".into()).spawn(work);
}

/// Removes every temp entry in `store_dir` (left by a killed writer); returns their names.
pub(crate) fn clean_temp(store_dir: &Path) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(store_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let gone =
            if entry.file_type()?.is_dir() { fs::remove_dir_all(entry.path()) } else { fs::remove_file(entry.path()) };
        match gone {
            // A prune thread of a store closed a moment ago may be deleting the same entry.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
            Ok(()) => removed.push(name),
        }
    }
    if !removed.is_empty() {
        fsync_store_dir(store_dir)?;
    }
    Ok(removed)
}

/// Free bytes for an unprivileged writer on the file system of `path`.
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    crate::probe::statvfs_bytes(path).ok().map(|(free, _)| free)
}

/// Bytes in the regular files under `dir` (what a failed save had written).
pub(crate) fn bytes_under(dir: &Path) -> u64 {
    walk(dir, "")
        .map(|(files, _)| files.iter().filter_map(|(_, p)| p.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_replace_refuses_an_existing_empty_directory() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        assert!(rename_no_replace(&a, &b).is_err());
        fs::remove_dir(&b).unwrap();
        rename_no_replace(&a, &b).unwrap();
        assert!(b.is_dir() && !a.exists());
    }

    #[test]
    fn walk_lists_nested_files_and_rejects_symlinks() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("x/y")).unwrap();
        fs::write(d.path().join("x/y/z.bin"), b"1").unwrap();
        fs::write(d.path().join("top"), b"1").unwrap();
        fs::write(d.path().join("skipme"), b"1").unwrap();
        let (files, dirs) = walk(d.path(), "skipme").unwrap();
        let names: Vec<_> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["top", "x/y/z.bin"]);
        assert_eq!(dirs.len(), 3);
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("link")).unwrap();
        assert!(walk(d.path(), "").unwrap_err().to_string().contains("symlinks"));
    }
}
