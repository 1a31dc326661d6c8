//! Which files a lint run reads, and reading them safely: directories are walked with `walkdir`
//! (regular files named `*.yaml`, `*.yml`, `*.json` only; FIFOs, sockets and devices are skipped
//! with a note, so a walk never blocks; symlinked directories are followed once, a loop is noted
//! and not entered again), and every input is read up to a size cap, so a 12 GB file or
//! `/dev/zero` is an input error instead of an allocation.

use crate::report::{Check, CheckStatus};
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The default cap on one input's size: 64 MiB (the largest `kubectl get -A -o json` of a
/// several-thousand-node cluster stays well under it).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

/// The files to lint, what could not be listed, and notes about what was skipped.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files (or other readable paths named on the command line, such as a FIFO from `<(...)`),
    /// in order: each argument in turn, a directory's files sorted by name.
    pub files: Vec<PathBuf>,
    /// Arguments that do not exist, directories that cannot be read.
    pub errors: Vec<Error>,
    /// Entries of walked directories that were skipped, with the reason.
    pub notes: Vec<Check>,
}

fn is_manifest_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

fn note(path: &Path, what: &str) -> Check {
    Check::new("input", CheckStatus::Skipped, format!("{}: {what}; skipped", path.display()))
}

/// Expands paths: a directory is walked recursively (hidden entries skipped), anything else named
/// explicitly is read as given. Never opens a file.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.yaml"), "kind: Pod\n").unwrap();
/// std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
/// let inputs = gpuguard::lint::input::collect(&[dir.path().to_path_buf(), "missing.yaml".into()]);
/// assert_eq!(inputs.files, [dir.path().join("a.yaml")]);
/// assert_eq!(inputs.errors.len(), 1);
/// ```
pub fn collect(paths: &[PathBuf]) -> Inputs {
    let mut out = Inputs::default();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut out),
            Ok(_) => out.files.push(p.clone()),
            Err(e) => out.errors.push(Error::io(p, e)),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Inputs) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_str().is_some_and(|n| n.starts_with('.')));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) if e.file_type().is_file() => {
                if is_manifest_name(e.path()) {
                    out.files.push(e.into_path());
                }
            }
            Ok(e) => {
                let ft = e.file_type();
                // A symlink here is one walkdir could not follow: it points nowhere.
                let what = if ft.is_symlink() { "a broken symlink" } else { crate::file_kind(&ft) };
                out.notes.push(note(e.path(), &format!("{what}, not a regular file")));
            }
            Err(e) if e.loop_ancestor().is_some() => {
                let path = e.path().map(Path::to_path_buf).unwrap_or_default();
                out.notes.push(note(&path, "symlink loop to a directory already walked"));
            }
            Err(e) => {
                let path = e.path().map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                let source = e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk failed"));
                out.errors.push(Error::io(path, source));
            }
        }
    }
}

/// Reads everything from `reader`, refusing more than `max_bytes` (an [`Error::Parse`] naming
/// `name` and the cap; nothing past the cap is read).
///
/// ```
/// let big = std::io::repeat(b'a');
/// let e = gpuguard::lint::input::read_capped(big, "<stdin>", 1024).unwrap_err();
/// assert!(e.to_string().contains("larger than the 1024-byte cap"), "{e}");
/// assert_eq!(gpuguard::lint::input::read_capped(&b"kind: Pod\n"[..], "x", 1024).unwrap(), b"kind: Pod\n");
/// ```
pub fn read_capped(reader: impl Read, name: &str, max_bytes: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(max_bytes.saturating_add(1)).read_to_end(&mut buf).map_err(|e| Error::io(name, e))?;
    if buf.len() as u64 > max_bytes {
        return Err(too_big(name, max_bytes));
    }
    Ok(buf)
}

fn too_big(name: &str, max_bytes: u64) -> Error {
    Error::Parse {
        file: name.to_owned(),
        line: None,
        message: format!(
            "larger than the {max_bytes}-byte cap ({}); not read (raise max-file-bytes in .gpuguard.yaml or --max-file-bytes)",
            crate::math::quantity::human_bytes(max_bytes)
        ),
    }
}

/// Reads one file, up to `max_bytes`: a regular file over the cap is refused before reading.
pub fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.len() > max_bytes {
        return Err(too_big(&name, max_bytes));
    }
    if meta.is_dir() {
        return Err(Error::io(path, std::io::Error::other("is a directory")));
    }
    read_capped(file, &name, max_bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn walks_regular_files_once_and_notes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/b.yml"), "kind: Pod\n").unwrap();
        std::fs::write(d.join("a.json"), "{}").unwrap();
        std::fs::write(d.join(".hidden.yaml"), "kind: Pod\n").unwrap();
        std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
        let fifo = d.join("pipe.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let inputs = collect(&[d.to_path_buf()]);
        assert_eq!(inputs.files, [d.join("a.json"), d.join("sub/b.yml")]);
        assert!(inputs.errors.is_empty(), "{:?}", inputs.errors);
        let reasons: Vec<&str> = inputs.notes.iter().map(|n| n.reason.as_str()).collect();
        assert!(reasons.iter().any(|r| r.contains("pipe.yaml") && r.contains("FIFO")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("loop")), "{reasons:?}");
    }

    #[test]
    fn caps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::write(&p, vec![b'#'; 2048]).unwrap();
        assert!(read_file(&p, 1024).unwrap_err().to_string().contains("cap"));
        assert_eq!(read_file(&p, 4096).unwrap().len(), 2048);
        assert!(read_file(Path::new("/dev/zero"), 1 << 16).unwrap_err().to_string().contains("cap"));
    }
}
