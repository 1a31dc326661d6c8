//! `CheckpointStore`, `Checkpoint` and the `save(step)` context manager for Python. Hashing and
//! fsync run with the GIL released, so other Python threads (a data loader) keep going.
//!
//! Every class is `frozen`: state that changes sits behind a `Mutex` held only for a moment and
//! never across a GIL release, so threads sharing a store (one saving, others calling `latest()`)
//! never meet PyO3's "Already borrowed" panic. The store itself is `Sync` and shared by `Arc`:
//! a commit in flight keeps it alive even if `close()` runs meanwhile.

use crate::convert::to_py;
use crate::errors::{GpuGuardError, guard, guard_lib};
use gpuguard::store::{self, Checkpoint, CheckpointStore, Interval, PendingCheckpoint};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyAnyMethods, PyMapping};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A poisoned mutex still holds consistent data here (an `Option` swapped whole).
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pathlib<'py>(py: Python<'py>, p: &Path) -> PyResult<Bound<'py, PyAny>> {
    py.import("pathlib")?.getattr("Path")?.call1((p.as_os_str(),))
}

/// One checkpoint: its step, directory, files and whether it verifies (`status` ok, corrupt or
/// partial, with the `reason`).
#[pyclass(module = "gpuguard", name = "Checkpoint", frozen)]
#[derive(Debug)]
pub struct PyCheckpoint(Checkpoint);

#[pymethods]
impl PyCheckpoint {
    /// Training step of the checkpoint (from its directory name).
    #[getter]
    fn step(&self) -> u64 {
        self.0.step
    }
    /// The checkpoint directory (`pathlib.Path`); load from `path / "model.pt"` or pass it to DCP.
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pathlib(py, &self.0.path)
    }
    /// `"ok"` (verifies), `"corrupt"` (published, but a file is missing, truncated or changed) or
    /// `"partial"` (never finished).
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }
    /// Whether `status` is `"ok"`: safe to resume from.
    #[getter]
    fn ok(&self) -> bool {
        self.0.status == store::Status::Ok
    }
    /// Why it is not ok (None when it is), naming the file and what is wrong.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.0.reason.clone()
    }
    /// Relative paths of the files, as the manifest lists them.
    #[getter]
    fn files(&self) -> Vec<String> {
        self.0.files.iter().map(|f| f.path.clone()).collect()
    }
    /// Sum of the files' sizes in bytes.
    #[getter]
    fn total_bytes(&self) -> u64 {
        self.0.total_bytes
    }
    /// When it was published, in seconds since the Unix epoch (None without a manifest).
    #[getter]
    fn created_unix(&self) -> Option<f64> {
        self.0.created_unix
    }
    /// From `latest()`: the newer checkpoints it skipped because they did not verify.
    #[getter]
    fn skipped(&self) -> Vec<PyCheckpoint> {
        self.0.skipped.iter().cloned().map(PyCheckpoint).collect()
    }
    /// The checkpoint as a plain dict (step, path, status, reason, files with sizes and checksums).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
    fn __repr__(&self) -> String {
        let why = self.0.reason.as_deref().map(|r| format!(", reason={r:?}")).unwrap_or_default();
        format!(
            "Checkpoint(step={}, status={:?}, path={:?}{why})",
            self.0.step,
            self.0.status.as_str(),
            self.0.path.display().to_string()
        )
    }
}

/// A crash-safe checkpoint store (GG003): keeps the newest `keep_last` checkpoints of a directory
/// and always resumes from one that is whole.
///
/// ```python
/// store = gpuguard.CheckpointStore("/ckpt", keep_last=3, every_steps=1000)
/// latest = store.latest()                      # newest checkpoint that verifies, or None
/// start = latest.step + 1 if latest else 0     # load from latest.path / "model.pt"
/// for step in range(start, steps):
///     ...
///     if store.due(step=step):
///         with store.save(step) as path:       # a new, empty *directory* (pathlib.Path)
///             torch.save(model.state_dict(), path / "model.pt")
/// ```
///
/// `path` is always a directory on the checkpoint's file system: write any number of files and
/// subdirectories into it (`path / "model.pt"`, `safetensors` shards, or pass `path` itself as
/// `torch.distributed.checkpoint`'s `checkpoint_id`). On a clean exit the files are fsynced,
/// hashed (XXH3-128) into a manifest and renamed atomically to `step-NNNNNNNNNN`; on an exception
/// nothing is published and the directory is removed. One writer per directory (a lock);
/// `read_only=True` inspects without it.
#[pyclass(module = "gpuguard", name = "CheckpointStore", frozen)]
#[derive(Debug)]
pub struct PyCheckpointStore {
    inner: Mutex<Option<Arc<CheckpointStore>>>,
    directory: PathBuf,
}

impl PyCheckpointStore {
    fn store(&self) -> PyResult<Arc<CheckpointStore>> {
        let dir = self.directory.display().to_string();
        locked(&self.inner)
            .clone()
            .ok_or_else(|| GpuGuardError::new_err(format!("{dir}: the checkpoint store is closed")))
    }
}

fn step_arg(name: &str, step: i64) -> PyResult<u64> {
    u64::try_from(step)
        .map_err(|_| PyValueError::new_err(format!("invalid argument `{name}`: must not be negative, got {step}")))
}

/// `plan["interval_seconds"]` and `plan["keep_last"]` of a `checkpoint_plan()` result.
fn plan_values(plan: &Bound<'_, PyAny>) -> PyResult<(f64, usize)> {
    let bad = || {
        PyValueError::new_err(
            "invalid argument `plan`: expected the dict checkpoint_plan() returns (with interval_seconds and keep_last)",
        )
    };
    // Not a mapping at all is a wrong type; a mapping without the keys is a wrong value.
    let m = plan.cast::<PyMapping>().map_err(|_| match plan.get_type().name() {
        Ok(t) => PyTypeError::new_err(format!(
            "invalid argument `plan`: expected the dict checkpoint_plan() returns, got {t}"
        )),
        Err(e) => e,
    })?;
    let interval: f64 = m.get_item("interval_seconds").and_then(|v| v.extract()).map_err(|_| bad())?;
    let keep: usize = m.get_item("keep_last").and_then(|v| v.extract()).map_err(|_| bad())?;
    Ok((interval, keep))
}

#[pymethods]
impl PyCheckpointStore {
    #[new]
    #[pyo3(signature = (directory, keep_last=3, *, every_steps=None, every_seconds=None, plan=None, read_only=false))]
    fn new(
        py: Python<'_>,
        directory: PathBuf,
        keep_last: i64,
        every_steps: Option<i64>,
        every_seconds: Option<f64>,
        plan: Option<&Bound<'_, PyAny>>,
        read_only: bool,
    ) -> PyResult<Self> {
        let keep = usize::try_from(keep_last).map_err(|_| {
            PyValueError::new_err(format!("invalid argument `keep_last`: must be at least 1, got {keep_last}"))
        })?;
        let every_steps = every_steps
            .map(|n| {
                u64::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
                    PyValueError::new_err(format!("invalid argument `every_steps`: must be at least 1, got {n}"))
                })
            })
            .transpose()?;
        if let Some(s) = every_seconds.filter(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(PyValueError::new_err(format!(
                "invalid argument `every_seconds`: must be a positive number, got {s}"
            )));
        }
        let plan = plan.map(plan_values).transpose()?;
        // A plan sets the time interval (unless every_seconds is given) and a keep_last floor.
        let every_seconds = every_seconds.or(plan.map(|p| p.0));
        let keep = keep.max(plan.map_or(0, |p| p.1));
        let dir = directory.clone();
        let store = guard_lib(|| {
            py.detach(|| {
                if read_only { CheckpointStore::open_read_only(&dir, keep) } else { CheckpointStore::open(&dir, keep) }
            })
        })?;
        let store = store.with_interval(Interval { every_steps, every_seconds });
        Ok(PyCheckpointStore { inner: Mutex::new(Some(Arc::new(store))), directory })
    }

    /// A context manager: `with store.save(step) as path:` gives a new directory (a
    /// `pathlib.Path`) to write the checkpoint's files into; a clean exit publishes it, an
    /// exception removes it.
    fn save(&self, py: Python<'_>, step: i64) -> PyResult<PyPendingCheckpoint> {
        let step = step_arg("step", step)?;
        let store = self.store()?;
        let pending = guard_lib(|| py.detach(|| store.begin(step)))?;
        Ok(PyPendingCheckpoint { store, pending: Mutex::new(Some(pending)), published: Mutex::new(None), step })
    }

    /// The newest checkpoint that verifies (its `skipped` lists newer ones that did not), or None.
    fn latest(&self, py: Python<'_>) -> PyResult<Option<PyCheckpoint>> {
        let s = self.store()?;
        guard_lib(|| py.detach(|| s.latest())).map(|c| c.map(PyCheckpoint))
    }

    /// The checkpoint of `step` (None without one), verified with checksums unless
    /// `checksums=False` (manifest, file set and sizes only: no file is read).
    #[pyo3(signature = (step, *, checksums=true))]
    fn get(&self, py: Python<'_>, step: i64, checksums: bool) -> PyResult<Option<PyCheckpoint>> {
        let step = step_arg("step", step)?;
        let s = self.store()?;
        guard_lib(|| py.detach(|| s.get(step, checksums))).map(|c| c.map(PyCheckpoint))
    }

    /// Every checkpoint, oldest first, each verified, with its status and reason.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<PyCheckpoint>> {
        let s = self.store()?;
        guard_lib(|| py.detach(|| s.list())).map(|v| v.into_iter().map(PyCheckpoint).collect())
    }

    /// Whether a checkpoint is due at `step` / time `now` (Unix seconds; default: now).
    #[pyo3(signature = (step=None, now=None))]
    fn due(&self, py: Python<'_>, step: Option<i64>, now: Option<f64>) -> PyResult<bool> {
        let step = step.map(|s| step_arg("step", s)).transpose()?;
        let s = self.store()?;
        guard_lib(|| py.detach(|| s.due(step, now)))
    }

    /// Releases the writer lock (once a save in flight on another thread has finished); the
    /// store cannot be used afterwards.
    fn close(&self) {
        let store = locked(&self.inner).take();
        drop(store);
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (exc_type=None, exc_value=None, traceback=None))]
    fn __exit__(
        &self,
        exc_type: Option<Bound<'_, PyAny>>,
        exc_value: Option<Bound<'_, PyAny>>,
        traceback: Option<Bound<'_, PyAny>>,
    ) -> bool {
        let _ = (exc_type, exc_value, traceback);
        self.close();
        false
    }

    /// The store directory (`pathlib.Path`).
    #[getter]
    fn directory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pathlib(py, &self.directory)
    }
    /// How many complete checkpoints are kept.
    #[getter]
    fn keep_last(&self) -> PyResult<usize> {
        Ok(self.store()?.keep_last())
    }
    /// The step interval of `due()`, or None.
    #[getter]
    fn every_steps(&self) -> PyResult<Option<u64>> {
        Ok(self.store()?.interval().every_steps)
    }
    /// The time interval of `due()` in seconds, or None.
    #[getter]
    fn every_seconds(&self) -> PyResult<Option<f64>> {
        Ok(self.store()?.interval().every_seconds)
    }
    /// Whether this store holds the writer lock (False read-only or after a hand-over).
    #[getter]
    fn is_writer(&self) -> PyResult<bool> {
        Ok(self.store()?.is_writer())
    }
    /// Temporary entries (from a killed writer) removed when the store was opened.
    #[getter]
    fn cleaned_up(&self) -> PyResult<Vec<String>> {
        Ok(self.store()?.cleaned_up().to_vec())
    }
    fn __repr__(&self) -> String {
        let state = if locked(&self.inner).is_none() { ", closed" } else { "" };
        format!("CheckpointStore({:?}{state})", self.directory.display().to_string())
    }
}

/// What `CheckpointStore.save(step)` returns: enter it for the directory to write into.
#[pyclass(module = "gpuguard", name = "PendingCheckpoint", frozen)]
#[derive(Debug)]
pub struct PyPendingCheckpoint {
    store: Arc<CheckpointStore>,
    pending: Mutex<Option<PendingCheckpoint>>,
    published: Mutex<Option<Checkpoint>>,
    step: u64,
}

fn is_disk_full(exc: &Bound<'_, PyAny>) -> bool {
    exc.is_instance_of::<PyOSError>()
        && exc.getattr("errno").and_then(|e| e.extract::<i32>()).is_ok_and(|e| e == 28 || e == 122) // ENOSPC, EDQUOT
}

#[pymethods]
impl PyPendingCheckpoint {
    /// The step being saved.
    #[getter]
    fn step(&self) -> u64 {
        self.step
    }

    /// The published checkpoint (None until the `with` block exited cleanly).
    #[getter]
    fn checkpoint(&self) -> Option<PyCheckpoint> {
        locked(&self.published).clone().map(PyCheckpoint)
    }

    /// The temporary directory (None once published or aborted).
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let path = locked(&self.pending).as_ref().map(|p| p.path().to_path_buf());
        path.map(|p| pathlib(py, &p)).transpose()
    }

    fn __enter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let path = locked(&self.pending).as_ref().map(|p| p.path().to_path_buf());
        match path {
            Some(p) => pathlib(py, &p),
            None => {
                Err(GpuGuardError::new_err(format!("checkpoint step {} was already published or aborted", self.step)))
            }
        }
    }

    /// Publishes on a clean exit; on an exception removes the temporary data and lets it
    /// propagate (a full disk becomes a `GpuGuardError` that says so, chained to the original
    /// error: an OSError ENOSPC, or any error raised while the file system has under 1 MiB free).
    #[pyo3(signature = (exc_type=None, exc_value=None, traceback=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<Bound<'_, PyAny>>,
        exc_value: Option<Bound<'_, PyAny>>,
        traceback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let _ = traceback;
        let Some(pending) = locked(&self.pending).take() else { return Ok(false) };
        if exc_type.is_some_and(|t| !t.is_none()) {
            if let Some(exc) = exc_value.filter(|e| is_disk_full(e) || pending.disk_is_full()) {
                let err = GpuGuardError::new_err(pending.disk_full_error().to_string());
                py.detach(|| pending.abort());
                err.set_cause(py, Some(PyErr::from_value(exc)));
                return Err(err);
            }
            py.detach(|| pending.abort());
            return Ok(false);
        }
        let store = &self.store;
        let c = guard(|| py.detach(|| store.commit(pending)).map_err(crate::errors::to_py))?;
        *locked(&self.published) = Some(c);
        Ok(false)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCheckpointStore>()?;
    m.add_class::<PyCheckpoint>()?;
    m.add_class::<PyPendingCheckpoint>()?;
    Ok(())
}
