//! GG003's checkpoint store: keep the newest `keep_last` checkpoints, publish each atomically, and
//! always resume from one that is whole.
//!
//! A checkpoint is a directory `step-NNNNNNNNNN` in the store directory holding whatever files the
//! training script wrote plus a manifest (size and XXH3-128 of every file). It is written under a
//! temporary name on the same file system, fsynced, and renamed into place, so a SIGKILL or power
//! loss at any moment leaves either the previous state or the new checkpoint, never a truncated
//! file under a good name. [`CheckpointStore::latest`] verifies sizes and checksums and skips
//! (and names) anything that does not verify.
//!
//! ```
//! use gpuguard::store::{CheckpointStore, Status};
//! let dir = tempfile::tempdir().unwrap();
//! let store = CheckpointStore::open(dir.path(), 2).unwrap();
//! for step in [100, 200, 300] {
//!     store.save(step, |path| std::fs::write(path.join("model.bin"), step.to_le_bytes())).unwrap();
//! }
//! let latest = store.latest().unwrap().unwrap();
//! assert_eq!((latest.step, latest.status), (300, Status::Ok));
//! assert_eq!(store.list().unwrap().len(), 2); // step 100 was pruned
//! ```

pub mod checksum;
pub mod lock;
pub mod manifest;
pub mod publish;

use crate::{CheckpointPlan, Error, Result};
use manifest::{MANIFEST_NAME, Manifest, ManifestFile};
use publish::{TEMP_PREFIX, fsync_path, parse_step_dir_name, step_dir_name};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Maps an I/O error in the store directory to an error that says what failed and why in words
/// a user acts on (disk full, read-only, permissions).
pub(crate) fn io_error(dir: &Path, what: &str, e: io::Error) -> Error {
    let why = match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
            let free = publish::free_bytes(dir).map_or_else(|| "unknown".into(), |b| b.to_string());
            format!("no space left on the device ({free} bytes free): {e}")
        }
        Some(libc::EROFS) => format!("the file system is read-only: {e}"),
        Some(libc::EACCES) | Some(libc::EPERM) => format!("permission denied: {e}"),
        _ => e.to_string(),
    };
    Error::Store { path: dir.to_path_buf(), message: format!("{what}: {why}") }
}

/// A manifest lists every file in a few hundred bytes; 64 MiB is far beyond any real one.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// Locks a mutex even if a thread panicked while holding it: the data it guards (caches of what
/// verified) stays consistent at every point, and a panic must never spread to other callers.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Whether a checkpoint can be resumed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The manifest parses and every file's size and checksum match.
    Ok,
    /// Published, but a file is missing, truncated, changed or extra, or the manifest is bad.
    Corrupt,
    /// Never finished: temporary data of a writer, or a directory without a manifest.
    Partial,
}

impl Status {
    /// `"ok"`, `"corrupt"` or `"partial"`.
    ///
    /// ```
    /// assert_eq!(gpuguard::store::Status::Corrupt.as_str(), "corrupt");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Corrupt => "corrupt",
            Status::Partial => "partial",
        }
    }
}

/// One checkpoint in a store, with its verification result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Training step (from the directory name).
    pub step: u64,
    /// The checkpoint directory.
    pub path: PathBuf,
    /// Verification result.
    pub status: Status,
    /// Why it is not [`Status::Ok`].
    pub reason: Option<String>,
    /// Files as the manifest lists them (empty without a readable manifest).
    pub files: Vec<ManifestFile>,
    /// Sum of the files' sizes.
    pub total_bytes: u64,
    /// When it was published (seconds since the Unix epoch), from the manifest.
    pub created_unix: Option<f64>,
    /// From [`CheckpointStore::latest`]: the newer checkpoints it skipped, with their reasons.
    pub skipped: Vec<Checkpoint>,
}

impl Checkpoint {
    fn bad(step: u64, path: PathBuf, status: Status, reason: String, manifest: Option<&Manifest>) -> Self {
        Checkpoint {
            step,
            path,
            status,
            reason: Some(reason),
            files: manifest.map(|m| m.files.clone()).unwrap_or_default(),
            total_bytes: manifest.map_or(0, |m| m.total_bytes),
            created_unix: manifest.map(|m| m.created_unix),
            skipped: vec![],
        }
    }
}

/// Verifies the checkpoint directory `path` of `step`: manifest, file set, sizes, checksums.
///
/// ```
/// use gpuguard::store::{CheckpointStore, Status, verify_checkpoint};
/// let dir = tempfile::tempdir().unwrap();
/// let store = CheckpointStore::open(dir.path(), 3).unwrap();
/// let c = store.save(5, |p| std::fs::write(p.join("w.bin"), b"weights")).unwrap();
/// std::fs::write(c.path.join("w.bin"), b"weighty").unwrap();
/// let v = verify_checkpoint(&c.path, 5);
/// assert_eq!(v.status, Status::Corrupt);
/// assert!(v.reason.unwrap().contains("w.bin: checksum"));
/// ```
pub fn verify_checkpoint(path: &Path, step: u64) -> Checkpoint {
    check_checkpoint(path, step, true)
}

/// [`verify_checkpoint`] without reading the files' bytes when `checksums` is false: manifest,
/// file set and sizes only (what another rank does after rank 0 verified the checksums).
///
/// ```
/// use gpuguard::store::{CheckpointStore, Status, check_checkpoint};
/// let dir = tempfile::tempdir().unwrap();
/// let store = CheckpointStore::open(dir.path(), 3).unwrap();
/// let c = store.save(5, |p| std::fs::write(p.join("w.bin"), b"weights")).unwrap();
/// std::fs::write(c.path.join("w.bin"), b"weighty").unwrap();
/// assert_eq!(check_checkpoint(&c.path, 5, false).status, Status::Ok); // same size
/// assert_eq!(check_checkpoint(&c.path, 5, true).status, Status::Corrupt);
/// ```
pub fn check_checkpoint(path: &Path, step: u64, checksums: bool) -> Checkpoint {
    let path_buf = path.to_path_buf();
    let text = match publish::read_small(&path.join(MANIFEST_NAME), MANIFEST_LIMIT) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Checkpoint::bad(
                step,
                path_buf,
                Status::Partial,
                format!("no {MANIFEST_NAME}: the save never finished"),
                None,
            );
        }
        Err(e) => {
            return Checkpoint::bad(step, path_buf, Status::Corrupt, format!("cannot read {MANIFEST_NAME}: {e}"), None);
        }
    };
    let manifest = match Manifest::parse(&text) {
        Ok(m) => m,
        Err(why) => return Checkpoint::bad(step, path_buf, Status::Corrupt, why, None),
    };
    let bad = |why: String| Checkpoint::bad(step, path.to_path_buf(), Status::Corrupt, why, Some(&manifest));
    if manifest.step != step {
        return bad(format!("manifest is for step {}, the directory for step {step}", manifest.step));
    }
    let on_disk = match publish::walk(path, MANIFEST_NAME) {
        Ok((files, _)) => files,
        Err(e) => return bad(format!("cannot list the files: {e}")),
    };
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    if let Some((extra, _)) = on_disk.iter().find(|(rel, _)| !listed.contains(rel.as_str())) {
        return bad(format!("{extra}: not in the manifest (added after the checkpoint was published)"));
    }
    let paths: Vec<PathBuf> = manifest.files.iter().map(|f| path.join(&f.path)).collect();
    for (f, p) in manifest.files.iter().zip(&paths) {
        match p.symlink_metadata() {
            Err(_) => return bad(format!("{}: missing", f.path)),
            Ok(m) if !m.is_file() => return bad(format!("{}: not a regular file", f.path)),
            Ok(m) if m.len() < f.size => return bad(format!("{}: truncated, {} of {} bytes", f.path, m.len(), f.size)),
            Ok(m) if m.len() != f.size => {
                return bad(format!("{}: {} bytes, the manifest says {}", f.path, m.len(), f.size));
            }
            Ok(_) => {}
        }
    }
    let digests = if checksums { checksum::digest_files(&paths) } else { vec![] };
    for ((f, p), digest) in manifest.files.iter().zip(&paths).zip(digests) {
        match digest {
            Err(e) => return bad(format!("{}: cannot read: {e}", p.display())),
            Ok(d) if d.size != f.size || d.checksum != f.checksum => {
                return bad(format!(
                    "{}: checksum {} does not match the manifest's {} (the bytes changed)",
                    f.path, d.checksum, f.checksum
                ));
            }
            Ok(_) => {}
        }
    }
    Checkpoint {
        step,
        path: path.to_path_buf(),
        status: Status::Ok,
        reason: None,
        total_bytes: manifest.total_bytes,
        created_unix: Some(manifest.created_unix),
        files: manifest.files,
        skipped: vec![],
    }
}

/// A checkpoint being written: a temporary directory in the store. Write files into
/// [`path`](Self::path), then [`CheckpointStore::commit`] it; dropping it unpublished removes it.
#[derive(Debug)]
pub struct PendingCheckpoint {
    step: u64,
    temp: PathBuf,
    store_dir: PathBuf,
    done: bool,
}

impl PendingCheckpoint {
    /// The directory to write the checkpoint's files into (any names, any subdirectories).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// let pending = store.begin(1).unwrap();
    /// assert!(pending.path().is_dir());
    /// let temp = pending.path().to_path_buf();
    /// pending.abort();
    /// assert!(!temp.exists());
    /// ```
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The step being saved.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert_eq!(store.begin(9).unwrap().step(), 9);
    /// ```
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Removes the temporary data; nothing is published.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// let pending = store.begin(2).unwrap();
    /// std::fs::write(pending.path().join("x"), b"1").unwrap();
    /// pending.abort();
    /// assert!(store.list().unwrap().is_empty());
    /// ```
    pub fn abort(mut self) {
        self.remove();
    }

    /// The error for a save that ran out of space: the directory, the bytes written before the
    /// disk filled and the bytes free. Call it before [`abort`](Self::abort) (it measures the
    /// temporary data).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// let pending = store.begin(3).unwrap();
    /// std::fs::write(pending.path().join("a"), [0u8; 10]).unwrap();
    /// assert!(pending.disk_full_error().to_string().contains("10 bytes written"));
    /// ```
    pub fn disk_full_error(&self) -> Error {
        let written = publish::bytes_under(&self.temp);
        let free = publish::free_bytes(&self.store_dir).map_or_else(|| "unknown".into(), |b| b.to_string());
        Error::Store {
            path: self.store_dir.clone(),
            message: format!(
                "no space left on the device while saving checkpoint step {}: {written} bytes written before it \
                 filled, {free} bytes free; nothing was published and the earlier checkpoints are intact",
                self.step
            ),
        }
    }

    /// Whether the store's file system is (nearly) full: under 1 MiB free. Tells a failed
    /// save that did not say ENOSPC itself (libraries that wrap the OS error, like
    /// `torch.save`'s "PytorchStreamWriter failed writing file") from other failures.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert!(!store.begin(1).unwrap().disk_is_full()); // the test machine has room
    /// ```
    pub fn disk_is_full(&self) -> bool {
        publish::free_bytes(&self.store_dir).is_some_and(|free| free < 1 << 20)
    }

    fn remove(&mut self) {
        if !self.done {
            self.done = true;
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

impl Drop for PendingCheckpoint {
    fn drop(&mut self) {
        self.remove();
    }
}

/// When [`CheckpointStore::due`] says a checkpoint is due.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    /// Every this many training steps.
    pub every_steps: Option<u64>,
    /// Every this many seconds of wall time.
    pub every_seconds: Option<f64>,
}

/// A directory of checkpoints with one writer. See the [module docs](self).
///
/// Every method takes `&self` and the store is `Sync`: readers ([`latest`](Self::latest),
/// [`list`](Self::list)) run while another thread commits (an async save), and commits are
/// serialised among themselves.
#[derive(Debug)]
pub struct CheckpointStore {
    dir: PathBuf,
    keep_last: usize,
    lock: Option<lock::WriterLock>,
    interval: Interval,
    /// Steps known to verify (published or fully verified by this store), with their manifest's
    /// creation time: pruning needs the newer ones verified, and verifying each once is enough.
    verified: Mutex<HashMap<u64, f64>>,
    /// Step and time of the newest checkpoint, for [`due`](Self::due).
    last: Mutex<Option<(u64, f64)>>,
    /// Held through a commit and its prune: one publisher at a time.
    committing: Mutex<()>,
    cleaned: Vec<String>,
}

impl CheckpointStore {
    /// Opens `directory` for writing, keeping the newest `keep_last` complete checkpoints. Takes
    /// the directory's writer lock (a second writer gets an error) and removes temporary data a
    /// killed writer left behind.
    ///
    /// A second open of the same directory in the same process (a re-run notebook cell) takes the
    /// lock over: the first store then refuses to save, saying so.
    ///
    /// ```
    /// use gpuguard::store::CheckpointStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let old = CheckpointStore::open(dir.path(), 3).unwrap();
    /// let store = CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert!(store.is_writer() && !old.is_writer());
    /// assert!(old.begin(1).unwrap_err().to_string().contains("handed"));
    /// assert!(CheckpointStore::open(dir.path().join("nope"), 3).unwrap_err().to_string().contains("does not exist"));
    /// assert!(CheckpointStore::open(dir.path(), 0).is_err());
    /// ```
    pub fn open(directory: impl AsRef<Path>, keep_last: usize) -> Result<Self> {
        let mut store = Self::open_read_only(directory, keep_last)?;
        store.lock = Some(lock::WriterLock::acquire(&store.dir)?);
        store.cleaned = publish::clean_temp(&store.dir)
            .map_err(|e| io_error(&store.dir, "cannot remove leftover temporary data", e))?;
        Ok(store)
    }

    /// Opens `directory` to inspect it ([`latest`](Self::latest), [`list`](Self::list)) without
    /// the writer lock; saving is refused and nothing is removed.
    ///
    /// ```
    /// use gpuguard::store::CheckpointStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let _writer = CheckpointStore::open(dir.path(), 3).unwrap();
    /// let reader = CheckpointStore::open_read_only(dir.path(), 3).unwrap();
    /// assert!(reader.latest().unwrap().is_none());
    /// assert!(reader.begin(1).unwrap_err().to_string().contains("read-only"));
    /// ```
    pub fn open_read_only(directory: impl AsRef<Path>, keep_last: usize) -> Result<Self> {
        let dir = directory.as_ref().to_path_buf();
        if keep_last == 0 {
            return Err(Error::invalid(
                "keep_last",
                "must be at least 1 (3 or more is wise: a corrupt latest checkpoint is then not fatal)",
            ));
        }
        match fs::metadata(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::Store {
                    path: dir,
                    message: "the checkpoint directory does not exist; create it first (mkdir -p, os.makedirs)".into(),
                });
            }
            Err(e) => return Err(io_error(&dir, "cannot open the checkpoint directory", e)),
            Ok(m) if !m.is_dir() => {
                return Err(Error::Store { path: dir, message: "not a directory".into() });
            }
            Ok(_) => {}
        }
        Ok(CheckpointStore {
            dir,
            keep_last,
            lock: None,
            interval: Interval::default(),
            verified: Mutex::new(HashMap::new()),
            last: Mutex::new(None),
            committing: Mutex::new(()),
            cleaned: vec![],
        })
    }

    /// Sets when [`due`](Self::due) says a checkpoint is due.
    ///
    /// ```
    /// use gpuguard::store::{CheckpointStore, Interval};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = CheckpointStore::open(dir.path(), 3).unwrap()
    ///     .with_interval(Interval { every_steps: Some(500), every_seconds: None });
    /// assert_eq!(store.interval().every_steps, Some(500));
    /// ```
    pub fn with_interval(mut self, interval: Interval) -> Self {
        self.interval = interval;
        self
    }

    /// Checkpoints every `plan.interval_seconds` (from [`crate::checkpoint_plan`]), keeping at
    /// least `plan.keep_last`.
    ///
    /// ```
    /// use gpuguard::{checkpoint_plan, CheckpointJob, store::CheckpointStore};
    /// let job = CheckpointJob {
    ///     hourly_gpu_cost: 32.0,
    ///     run_hours: 100.0,
    ///     checkpoint_seconds: 120.0,
    ///     interruption_rate: 0.1,
    ///     nodes: 4,
    ///     restart_seconds: 300.0,
    ///     ..Default::default()
    /// };
    /// let plan = checkpoint_plan(&job).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = CheckpointStore::open(dir.path(), 1).unwrap().with_plan(&plan);
    /// assert_eq!(store.interval().every_seconds, Some(plan.interval_seconds));
    /// assert_eq!(store.keep_last(), 3);
    /// ```
    pub fn with_plan(mut self, plan: &CheckpointPlan) -> Self {
        self.interval.every_seconds = Some(plan.interval_seconds);
        self.keep_last = self.keep_last.max(plan.keep_last as usize);
        self
    }

    /// The interval [`due`](Self::due) uses.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert_eq!(store.interval(), gpuguard::store::Interval::default());
    /// ```
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// The store directory.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert_eq!(store.directory(), dir.path());
    /// ```
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// How many complete checkpoints are kept.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// assert_eq!(gpuguard::store::CheckpointStore::open(dir.path(), 5).unwrap().keep_last(), 5);
    /// ```
    pub fn keep_last(&self) -> usize {
        self.keep_last
    }

    /// Whether this store holds the writer lock.
    ///
    /// ```
    /// use gpuguard::store::CheckpointStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(CheckpointStore::open(dir.path(), 3).unwrap().is_writer());
    /// assert!(!CheckpointStore::open_read_only(dir.path(), 3).unwrap().is_writer());
    /// ```
    pub fn is_writer(&self) -> bool {
        self.lock.as_ref().is_some_and(|l| l.is_current())
    }

    /// The checkpoint of `step`, checked like [`latest`](Self::latest) (with `checksums` false:
    /// manifest, file set and sizes only, no file read); `None` when there is no such directory.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// store.save(3, |p| std::fs::write(p.join("m"), b"x")).unwrap();
    /// assert_eq!(store.get(3, false).unwrap().unwrap().total_bytes, 1);
    /// assert!(store.get(4, true).unwrap().is_none());
    /// ```
    pub fn get(&self, step: u64, checksums: bool) -> Result<Option<Checkpoint>> {
        let path = self.dir.join(step_dir_name(step));
        match path.symlink_metadata() {
            Ok(m) if m.is_dir() => Ok(Some(check_checkpoint(&path, step, checksums))),
            _ => Ok(None),
        }
    }

    /// Names of the temporary entries removed when the store was opened.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(dir.path().join(".tmp-7-1234-abcd")).unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// assert_eq!(store.cleaned_up(), [".tmp-7-1234-abcd"]);
    /// ```
    pub fn cleaned_up(&self) -> &[String] {
        &self.cleaned
    }

    /// Published checkpoint directories, `(step, path)`, oldest first.
    fn step_dirs(&self) -> Result<Vec<(u64, PathBuf)>> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "cannot list the checkpoint directory", e))?;
        let mut out: Vec<(u64, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| parse_step_dir_name(&e.file_name().to_string_lossy()).map(|s| (s, e.path())))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The newest checkpoint whose manifest, sizes and checksums verify, with the newer ones it
    /// skipped (and why) in [`Checkpoint::skipped`]; `None` when none verifies.
    ///
    /// ```
    /// use gpuguard::store::CheckpointStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = CheckpointStore::open(dir.path(), 3).unwrap();
    /// store.save(1, |p| std::fs::write(p.join("m"), b"one")).unwrap();
    /// let two = store.save(2, |p| std::fs::write(p.join("m"), b"two")).unwrap();
    /// std::fs::write(two.path.join("m"), b"tw").unwrap(); // truncated behind our back
    /// let latest = store.latest().unwrap().unwrap();
    /// assert_eq!(latest.step, 1);
    /// assert!(latest.skipped[0].reason.as_deref().unwrap().contains("truncated"));
    /// ```
    pub fn latest(&self) -> Result<Option<Checkpoint>> {
        let mut skipped = Vec::new();
        for (step, path) in self.step_dirs()?.into_iter().rev() {
            let mut c = verify_checkpoint(&path, step);
            if c.status == Status::Ok {
                c.skipped = skipped;
                return Ok(Some(c));
            }
            skipped.push(c);
        }
        Ok(None)
    }

    /// Every checkpoint, oldest first, each verified, plus unfinished temporary data of a writer
    /// still running (or killed, until the next writer opens) as [`Status::Partial`].
    ///
    /// ```
    /// use gpuguard::store::{CheckpointStore, Status};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = CheckpointStore::open(dir.path(), 3).unwrap();
    /// store.save(1, |p| std::fs::write(p.join("m"), b"x")).unwrap();
    /// let _pending = store.begin(2).unwrap();
    /// let all = store.list().unwrap();
    /// assert_eq!(all.iter().map(|c| (c.step, c.status)).collect::<Vec<_>>(), [(1, Status::Ok), (2, Status::Partial)]);
    /// ```
    pub fn list(&self) -> Result<Vec<Checkpoint>> {
        let mut out: Vec<Checkpoint> = self.step_dirs()?.into_iter().map(|(s, p)| verify_checkpoint(&p, s)).collect();
        let entries =
            fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "cannot list the checkpoint directory", e))?;
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(TEMP_PREFIX) else { continue };
            let Some(step) = rest.split('-').next().and_then(|s| s.parse().ok()) else { continue };
            let reason = "temporary data of a save that has not finished (or whose writer was killed)".to_owned();
            out.push(Checkpoint::bad(step, e.path(), Status::Partial, reason, None));
        }
        out.sort_by(|a, b| a.step.cmp(&b.step).then(a.status.as_str().cmp(b.status.as_str())));
        Ok(out)
    }

    /// Starts saving `step`: a temporary directory to write into. Fails if the store is
    /// read-only or a checkpoint of `step` that verifies already exists (a corrupt one is
    /// replaced on commit).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// store.save(4, |p| std::fs::write(p.join("a"), b"1")).unwrap();
    /// assert!(store.begin(4).unwrap_err().to_string().contains("already exists"));
    /// ```
    pub fn begin(&self, step: u64) -> Result<PendingCheckpoint> {
        self.check_writer()?;
        let target = self.dir.join(step_dir_name(step));
        if target.symlink_metadata().is_ok_and(|m| m.is_dir())
            && (lock(&self.verified).contains_key(&step) || verify_checkpoint(&target, step).status == Status::Ok)
        {
            return Err(Error::Store {
                path: target,
                message: format!("a complete checkpoint of step {step} already exists"),
            });
        }
        let temp = self.dir.join(publish::temp_name(&step.to_string()));
        fs::create_dir(&temp)
            .map_err(|e| io_error(&self.dir, "cannot create the temporary checkpoint directory", e))?;
        Ok(PendingCheckpoint { step, temp, store_dir: self.dir.clone(), done: false })
    }

    /// An error unless this store is the writer (not read-only, not handed over).
    fn check_writer(&self) -> Result<()> {
        match &self.lock {
            None => Err(Error::Store {
                path: self.dir.clone(),
                message: "the store was opened read-only; open it as the writer to save".into(),
            }),
            Some(l) if !l.is_current() => Err(Error::Store {
                path: self.dir.clone(),
                message: "this store handed its writer lock to a newer store of the same directory opened in this \
                          process (a re-run notebook cell?): save through the newer one"
                    .into(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Publishes `pending`: fsyncs its files (while hashing them on other threads), writes the
    /// manifest, renames it to `step-NNNNNNNNNN` atomically, fsyncs the store directory, and
    /// prunes to the newest `keep_last` checkpoints that verify. On error nothing is published.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// let pending = store.begin(10).unwrap();
    /// std::fs::create_dir(pending.path().join("shards")).unwrap();
    /// std::fs::write(pending.path().join("shards/0.bin"), b"abc").unwrap();
    /// let c = store.commit(pending).unwrap();
    /// assert!(c.path.ends_with("step-0000000010"));
    /// assert_eq!(c.files[0].path, "shards/0.bin");
    /// ```
    pub fn commit(&self, mut pending: PendingCheckpoint) -> Result<Checkpoint> {
        self.check_writer()?;
        let dir = self.dir.clone();
        let step = pending.step;
        let fail = |pending: &PendingCheckpoint, what: &str, e: io::Error| {
            if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
                pending.disk_full_error()
            } else {
                io_error(&dir, what, e)
            }
        };
        let (files, dirs) = publish::walk(&pending.temp, MANIFEST_NAME).map_err(|e| Error::Store {
            path: pending.temp.clone(),
            message: format!("cannot checkpoint step {step}: {e}"),
        })?;
        if pending.temp.join(MANIFEST_NAME).exists() {
            return Err(Error::Store {
                path: pending.temp.clone(),
                message: format!("{MANIFEST_NAME} is reserved for the store's manifest"),
            });
        }
        let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
        // fsync (disk-bound) and hashing (CPU and page cache) overlap: one set of threads syncs
        // while another hashes.
        let (synced, digests) = std::thread::scope(|s| {
            // fsyncs of different files proceed together (the journal batches them), which
            // matters for checkpoints of many shards.
            let sync =
                s.spawn(|| checksum::parallel_map(&paths, |p| fsync_path(p)).into_iter().collect::<io::Result<()>>());
            let digests = checksum::digest_files(&paths);
            (sync.join().unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked"))), digests)
        });
        synced.map_err(|e| fail(&pending, "cannot fsync the checkpoint files", e))?;
        let mut entries = Vec::with_capacity(files.len());
        for ((rel, _), d) in files.iter().zip(digests) {
            let d = d.map_err(|e| fail(&pending, &format!("cannot read back {rel}"), e))?;
            entries.push(ManifestFile { path: rel.clone(), size: d.size, checksum: d.checksum });
        }
        let created = unix_now();
        let manifest = Manifest::new(step, created, entries);
        let manifest_path = pending.temp.join(MANIFEST_NAME);
        let write_manifest = || -> io::Result<()> {
            use std::io::Write;
            let mut f = fs::File::create(&manifest_path)?;
            f.write_all(manifest.to_json().as_bytes())?;
            f.sync_all()?;
            for d in dirs.iter().rev() {
                fsync_path(d)?;
            }
            Ok(())
        };
        write_manifest().map_err(|e| fail(&pending, "cannot write the manifest", e))?;
        let target = dir.join(step_dir_name(step));
        // From here on one publisher at a time: the rename, the prune and the caches.
        let _publishing = lock(&self.committing);
        if target.symlink_metadata().is_ok() {
            // Only a checkpoint that does not verify gets here (begin refuses a good one).
            let hidden = publish::hide_checkpoint(&dir, &target, step)
                .map_err(|e| io_error(&dir, "cannot replace the corrupt checkpoint", e))?;
            publish::delete_in_background(vec![hidden]);
        }
        publish::rename_no_replace(&pending.temp, &target)
            .map_err(|e| io_error(&dir, "cannot publish the checkpoint", e))?;
        pending.done = true;
        publish::fsync_store_dir(&dir).map_err(|e| io_error(&dir, "cannot fsync the checkpoint directory", e))?;
        lock(&self.verified).insert(step, created);
        {
            let mut last = lock(&self.last);
            if last.is_none_or(|(s, _)| step >= s) {
                *last = Some((step, created));
            }
        }
        self.prune()?;
        Ok(Checkpoint {
            step,
            path: target,
            status: Status::Ok,
            reason: None,
            total_bytes: manifest.total_bytes,
            created_unix: Some(created),
            files: manifest.files,
            skipped: vec![],
        })
    }

    /// Saves `step` by calling `write` with the directory to write into, then [`commit`](Self::commit);
    /// if `write` fails nothing is published (running out of space gives an error that says so).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = gpuguard::store::CheckpointStore::open(dir.path(), 3).unwrap();
    /// let err = store.save(1, |_| Err(std::io::Error::other("boom"))).unwrap_err();
    /// assert!(err.to_string().contains("boom"));
    /// assert!(store.latest().unwrap().is_none());
    /// ```
    pub fn save(&self, step: u64, write: impl FnOnce(&Path) -> io::Result<()>) -> Result<Checkpoint> {
        let pending = self.begin(step)?;
        if let Err(e) = write(pending.path()) {
            let err = if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
                pending.disk_full_error()
            } else {
                Error::Store {
                    path: self.dir.clone(),
                    message: format!("writing checkpoint step {step} failed, nothing was published: {e}"),
                }
            };
            pending.abort();
            return Err(err);
        }
        self.commit(pending)
    }

    /// Deletes checkpoints older than the `keep_last` newest that verify; never one while the
    /// newer ones are unverified, and never a newer one that does not verify (kept to inspect).
    fn prune(&self) -> Result<()> {
        let dirs = self.step_dirs()?;
        let mut ok = 0;
        let mut cut = None;
        for (i, (step, path)) in dirs.iter().enumerate().rev() {
            if ok == self.keep_last {
                cut = Some(i + 1);
                break;
            }
            if !lock(&self.verified).contains_key(step) {
                let c = verify_checkpoint(path, *step);
                if c.status != Status::Ok {
                    continue;
                }
                lock(&self.verified).insert(*step, c.created_unix.unwrap_or(0.0));
            }
            ok += 1;
        }
        let Some(cut) = cut else { return Ok(()) };
        let mut hidden = Vec::with_capacity(cut);
        let mut result = Ok(());
        for (step, path) in &dirs[..cut] {
            match publish::hide_checkpoint(&self.dir, path, *step) {
                Ok(h) => hidden.push(h),
                Err(e) => {
                    result = Err(io_error(&self.dir, &format!("cannot prune step {step}"), e));
                    break;
                }
            }
            lock(&self.verified).remove(step);
        }
        publish::delete_in_background(hidden);
        result
    }

    /// Whether a checkpoint is due at training `step` and time `now` (seconds since the Unix
    /// epoch; the current time when `None`): none saved yet, or at least `every_steps` steps or
    /// `every_seconds` seconds since the newest one.
    ///
    /// ```
    /// use gpuguard::store::{CheckpointStore, Interval};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = CheckpointStore::open(dir.path(), 3).unwrap()
    ///     .with_interval(Interval { every_steps: Some(100), every_seconds: Some(600.0) });
    /// assert!(store.due(Some(0), None).unwrap());
    /// let c = store.save(0, |p| std::fs::write(p.join("m"), b"0")).unwrap();
    /// let t = c.created_unix.unwrap();
    /// assert!(!store.due(Some(99), Some(t + 10.0)).unwrap());
    /// assert!(store.due(Some(100), Some(t + 10.0)).unwrap());
    /// assert!(store.due(Some(1), Some(t + 600.0)).unwrap());
    /// ```
    pub fn due(&self, step: Option<u64>, now: Option<f64>) -> Result<bool> {
        let Interval { every_steps, every_seconds } = self.interval;
        if every_steps.is_none() && every_seconds.is_none() {
            return Err(Error::invalid(
                "every_steps",
                "no interval set: give every_steps or every_seconds, or a checkpoint_plan",
            ));
        }
        if every_steps.is_some() && every_seconds.is_none() && step.is_none() {
            return Err(Error::invalid("step", "is needed with every_steps"));
        }
        let cached = *lock(&self.last);
        let last = match cached {
            Some(l) => Some(l),
            None => {
                let found = self.newest_manifest()?;
                let mut last = lock(&self.last);
                if last.is_none() {
                    *last = found;
                }
                *last
            }
        };
        let Some((last_step, last_time)) = last else { return Ok(true) };
        let by_steps = matches!((every_steps, step), (Some(n), Some(s)) if s >= last_step.saturating_add(n));
        let by_time = every_seconds.is_some_and(|n| now.unwrap_or_else(unix_now) >= last_time + n);
        Ok(by_steps || by_time)
    }

    /// Step and time of the newest checkpoint with a readable manifest (cheap: no checksums).
    fn newest_manifest(&self) -> Result<Option<(u64, f64)>> {
        for (step, path) in self.step_dirs()?.into_iter().rev() {
            if let Ok(m) = publish::read_small(&path.join(MANIFEST_NAME), MANIFEST_LIMIT)
                .map_err(|e| e.to_string())
                .and_then(|t| Manifest::parse(&t))
            {
                return Ok(Some((step, m.created_unix)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
