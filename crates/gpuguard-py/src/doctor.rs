//! `doctor(...)`: every runtime probe, with the GIL released while they run (file reads, statvfs,
//! loading NVML). `gpuguard.preflight` (python/gpuguard/_preflight.py) wraps it.

use crate::errors::{guard, guard_lib, non_negative};
use crate::report::PyReport;
use gpuguard::doctor::{DoctorOptions, absolute_path, doctor as run_doctor};
use gpuguard::probe::{Host, dev_shm::LoaderShape};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Runs the doctor on this machine (or on the tree under `root`) and returns its Report.
/// `batch_bytes` is read as `shm_required_bytes` reads it (an int, or `"8Mi"`, `"512m"`).
#[pyfunction]
#[pyo3(signature = (expect_gpus=None, checkpoint_dir=None, dataloader_workers=None, batch_bytes=None, prefetch_factor=2, root=PathBuf::from("/"), nvml_library=None))]
#[allow(clippy::too_many_arguments)]
fn doctor(
    py: Python<'_>,
    expect_gpus: Option<i64>,
    checkpoint_dir: Option<PathBuf>,
    dataloader_workers: Option<i64>,
    batch_bytes: Option<&Bound<'_, PyAny>>,
    prefetch_factor: i64,
    root: PathBuf,
    nvml_library: Option<PathBuf>,
) -> PyResult<PyReport> {
    let expect_gpus = expect_gpus
        .map(|n| {
            u32::try_from(n).map_err(|_| {
                PyValueError::new_err(format!(
                    "invalid argument `expect_gpus`: must be between 0 and {}, got {n}",
                    u32::MAX
                ))
            })
        })
        .transpose()?;
    let prefetch_factor = non_negative("prefetch_factor", prefetch_factor)?;
    let loader = match (dataloader_workers, batch_bytes) {
        (Some(w), Some(b)) => Some(LoaderShape {
            num_workers: non_negative("dataloader_workers", w)?,
            batch_bytes: crate::math::bytes_arg("batch_bytes", b)?,
            prefetch_factor,
            loaders: 1,
            local_processes: 1,
        }),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "invalid arguments `dataloader_workers` and `batch_bytes`: give both or neither",
            ));
        }
    };
    // The checks of shm_required_bytes (a batch of 0 bytes, prefetch 0 with workers): ValueError
    // before anything runs, as the CLI exits 2, rather than a dev-shm check skipped.
    if let Some(shape) = &loader {
        guard_lib(|| shape.required_bytes())?;
    }
    let options = DoctorOptions {
        expect_gpus,
        loader,
        checkpoint_dir: checkpoint_dir.map(|p| absolute_path(&p, &root)),
        nvml_library,
    };
    guard(|| Ok(PyReport(py.detach(|| run_doctor(&Host::new(root), &options)))))
}

/// The memory limit of this process's cgroup (v2, then v1) in bytes, or `None` when unlimited or
/// unreadable: the same probe the doctor uses, for `gpuguard.torch`.
#[pyfunction]
#[pyo3(signature = (root=PathBuf::from("/")))]
fn memory_limit_bytes(py: Python<'_>, root: PathBuf) -> PyResult<Option<u64>> {
    guard(|| Ok(py.detach(|| gpuguard::probe::cgroup::memory_limit(&Host::new(root)).and_then(|l| l.bytes))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(memory_limit_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(doctor, m)?)
}
