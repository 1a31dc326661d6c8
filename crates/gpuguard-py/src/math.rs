//! The math functions, with the Rust names, argument names and units.

use crate::convert::to_py;
use crate::errors::{guard, guard_lib, non_negative};
use crate::report::PyFinding;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

fn small(name: &str, value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| {
        PyValueError::new_err(format!("invalid argument `{name}`: must be between 0 and {}, got {value}", u32::MAX))
    })
}

fn method(name: &str) -> PyResult<gpuguard::CheckpointMethod> {
    name.parse().map_err(crate::errors::to_py)
}

/// A byte-size argument: an int (bytes) or a str read by [`gpuguard::ByteSize`] (`"64Mi"`,
/// `"512m"`, `"2GiB"`); errors name the argument and say how the text was read.
pub(crate) fn bytes_arg(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("invalid argument `{name}`: expected int or str, got bool")));
    }
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_str()?;
        return gpuguard::ByteSize::parse(text).map(|b| b.bytes()).map_err(|e| match e {
            gpuguard::Error::InvalidArgument { message, .. } => {
                PyValueError::new_err(format!("invalid argument `{name}`: {message}"))
            }
            other => crate::errors::to_py(other),
        });
    }
    match value.extract::<i64>() {
        Ok(v) => non_negative(name, v),
        Err(_) if value.is_instance_of::<PyInt>() => {
            Err(PyValueError::new_err(format!("invalid argument `{name}`: {value} bytes does not fit in 64 bits")))
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "invalid argument `{name}`: expected int (bytes) or str (\"64Mi\", \"512m\"), got {}",
            value.get_type().name()?
        ))),
    }
}

/// Bytes in a size as the gpuguard command reads it: ``"64Mi"``, ``"64M"`` (10**6), ``"512m"``
/// and ``"2g"`` (Docker's binary units, never milli), ``"64MB"``, ``"1.5 GiB"``; an int as it is.
/// Raises ValueError saying how the text was read when it is not a whole number of bytes.
#[pyfunction]
fn parse_bytes(size: &Bound<'_, PyAny>) -> PyResult<u64> {
    crate::errors::guard(|| bytes_arg("size", size))
}

/// Free /dev/shm in bytes a DataLoader needs so its workers never die of shared memory (Bus
/// error): ``(num_workers × prefetch_factor + 2)`` batches of ``batch_bytes`` (page-rounded) plus
/// semaphore pages, × ``loaders`` × ``local_processes``. ``num_workers=0`` needs none.
/// ``batch_bytes`` may be a size string, read as :func:`parse_bytes` reads it (``"512m"``).
///
/// Raises ValueError (naming the argument) for a zero ``prefetch_factor`` with workers or a
/// negative count.
///
/// >>> gpuguard.shm_required_bytes(2, 8 * 2**20) > 4 * 8 * 2**20
/// True
#[pyfunction]
#[pyo3(signature = (num_workers, batch_bytes, prefetch_factor=2, loaders=1, local_processes=1))]
fn shm_required_bytes(
    num_workers: i64,
    batch_bytes: &Bound<'_, PyAny>,
    prefetch_factor: i64,
    loaders: i64,
    local_processes: i64,
) -> PyResult<u64> {
    let (w, b, p) = (
        non_negative("num_workers", num_workers)?,
        bytes_arg("batch_bytes", batch_bytes)?,
        non_negative("prefetch_factor", prefetch_factor)?,
    );
    let (l, n) = (non_negative("loaders", loaders)?, non_negative("local_processes", local_processes)?);
    guard_lib(|| gpuguard::shm_required_bytes(w, b, p, l, n))
}

/// The /dev/shm size to set (emptyDir ``sizeLimit`` or ``--shm-size``): the requirement of
/// :func:`shm_required_bytes` plus 50% headroom, rounded up to whole GiB, at least 1 GiB. Returns
/// a dict: ``required_bytes``, ``size_bytes``, ``quantity`` (Kubernetes quantity, e.g. ``"2Gi"``)
/// and ``reasoning`` (which also says whether it fits ``memory_limit_bytes``, since tmpfs pages
/// count against the container's memory limit). Raises ValueError like
/// :func:`shm_required_bytes`.
///
/// >>> gpuguard.shm_recommended_size(8, 64 * 2**20)["quantity"]
/// '2Gi'
#[pyfunction]
#[pyo3(signature = (num_workers, batch_bytes, prefetch_factor=2, loaders=1, local_processes=1, memory_limit_bytes=None))]
fn shm_recommended_size<'py>(
    py: Python<'py>,
    num_workers: i64,
    batch_bytes: &Bound<'py, PyAny>,
    prefetch_factor: i64,
    loaders: i64,
    local_processes: i64,
    memory_limit_bytes: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (w, b, p) = (
        non_negative("num_workers", num_workers)?,
        bytes_arg("batch_bytes", batch_bytes)?,
        non_negative("prefetch_factor", prefetch_factor)?,
    );
    let (l, n) = (non_negative("loaders", loaders)?, non_negative("local_processes", local_processes)?);
    let limit = memory_limit_bytes.map(|v| bytes_arg("memory_limit_bytes", v)).transpose()?;
    let rec = guard_lib(|| gpuguard::shm_recommended_size(w, b, p, l, n, limit))?;
    to_py(py, &rec)
}

/// Money lost to one interruption: ``hourly_gpu_cost`` (dollars per hour for the whole job) ×
/// ``hours_since_last_checkpoint`` of work redone. Raises ValueError for a negative or non-finite
/// argument.
///
/// >>> gpuguard.lost_work_cost(32.0, 70.0)
/// 2240.0
#[pyfunction]
fn lost_work_cost(hourly_gpu_cost: f64, hours_since_last_checkpoint: f64) -> PyResult<f64> {
    guard_lib(|| gpuguard::lost_work_cost(hourly_gpu_cost, hours_since_last_checkpoint))
}

/// Mean time between interruptions of a job in hours. ``interruption_rate`` is the probability
/// that one node is interrupted at least once in ``period_hours`` (AWS Spot "<5%" per month:
/// ``0.05`` over ``730``); a job on ``nodes`` nodes stops when any one does:
/// ``1 / (nodes × −ln(1 − rate) / period)``. A rate of 0 gives ``inf``. Raises ValueError for a
/// rate outside [0, 1) or a non-positive period or node count.
///
/// >>> round(gpuguard.mtbf_hours(0.05, 730.0, 16), 1)
/// 889.5
#[pyfunction]
#[pyo3(signature = (interruption_rate, period_hours, nodes=1))]
fn mtbf_hours(interruption_rate: f64, period_hours: f64, nodes: i64) -> PyResult<f64> {
    let nodes = small("nodes", nodes)?;
    guard_lib(|| gpuguard::mtbf_hours(interruption_rate, period_hours, nodes))
}

/// Seconds of work between checkpoints that waste the least GPU time, for a checkpoint taking
/// ``checkpoint_seconds`` and a job MTBF of ``mtbf_hours``: Daly's higher-order estimate
/// (``method="daly"``) or Young's ``√(2δM)`` (``"young"``). Raises ValueError for non-positive
/// arguments or an unknown method.
///
/// >>> gpuguard.optimal_checkpoint_interval(300, 24.0, method="young")
/// 7200.0
#[pyfunction]
#[pyo3(signature = (checkpoint_seconds, mtbf_hours, method="daly"))]
fn optimal_checkpoint_interval(checkpoint_seconds: f64, mtbf_hours: f64, method: &str) -> PyResult<f64> {
    let m = self::method(method)?;
    guard_lib(|| gpuguard::optimal_checkpoint_interval(checkpoint_seconds, mtbf_hours, m))
}

/// Expected fraction (0..1) of wall time wasted (writing checkpoints, redoing lost work,
/// restarting) when checkpointing every ``interval_seconds`` of work, each checkpoint taking
/// ``checkpoint_seconds``, with a job MTBF of ``mtbf_hours`` and ``restart_seconds`` per restart
/// (Daly's model). Raises ValueError for non-positive intervals or MTBF.
///
/// >>> w = gpuguard.checkpoint_waste(3933, 300, 7.9)   # Meta's ~7.9 h MTTF at 1,024 GPUs
/// >>> round(w, 3)
/// 0.138
#[pyfunction]
#[pyo3(signature = (interval_seconds, checkpoint_seconds, mtbf_hours, restart_seconds=0.0))]
fn checkpoint_waste(
    interval_seconds: f64,
    checkpoint_seconds: f64,
    mtbf_hours: f64,
    restart_seconds: f64,
) -> PyResult<f64> {
    guard_lib(|| gpuguard::checkpoint_waste(interval_seconds, checkpoint_seconds, mtbf_hours, restart_seconds))
}

/// Plans the checkpoints of a run of ``run_hours`` of work costing ``hourly_gpu_cost`` dollars
/// per hour, each checkpoint taking ``checkpoint_seconds``, each of ``nodes`` nodes interrupted
/// with probability ``interruption_rate`` per ``period_hours``. Returns a dict: ``mtbf_hours``,
/// ``interval_seconds`` (the optimum), ``keep_last``, ``checkpoints``,
/// ``expected_interruptions``, ``waste_fraction``, ``expected_hours``, ``expected_cost`` and the
/// same without checkpoints, ``method``. Pass it to ``CheckpointStore(plan=...)``. Raises
/// ValueError naming a bad argument.
///
/// >>> plan = gpuguard.checkpoint_plan(32.0, 100.0, 120.0, 0.1, nodes=4)
/// >>> plan["keep_last"]
/// 3
#[pyfunction]
#[pyo3(signature = (hourly_gpu_cost, run_hours, checkpoint_seconds, interruption_rate, period_hours=730.0, nodes=1, restart_seconds=0.0, method="daly"))]
#[allow(clippy::too_many_arguments)]
fn checkpoint_plan<'py>(
    py: Python<'py>,
    hourly_gpu_cost: f64,
    run_hours: f64,
    checkpoint_seconds: f64,
    interruption_rate: f64,
    period_hours: f64,
    nodes: i64,
    restart_seconds: f64,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let job = gpuguard::CheckpointJob {
        hourly_gpu_cost,
        run_hours,
        checkpoint_seconds,
        interruption_rate,
        period_hours,
        nodes: small("nodes", nodes)?,
        restart_seconds,
        method: self::method(method)?,
    };
    let plan = guard_lib(|| gpuguard::checkpoint_plan(&job))?;
    to_py(py, &plan)
}

/// Seconds a Kubernetes probe gives a container before it fails: ``initial_delay_seconds +
/// period_seconds × failure_threshold`` (Kubernetes' defaults 0, 10, 3). Raises ValueError for
/// values the API server rejects (a period or threshold of 0).
///
/// >>> gpuguard.probe_window_seconds(60, 10, 30)
/// 360
#[pyfunction]
#[pyo3(signature = (initial_delay_seconds=0, period_seconds=10, failure_threshold=3))]
fn probe_window_seconds(initial_delay_seconds: i64, period_seconds: i64, failure_threshold: i64) -> PyResult<u64> {
    let d = small("initial_delay_seconds", initial_delay_seconds)?;
    let (p, f) = (small("period_seconds", period_seconds)?, small("failure_threshold", failure_threshold)?);
    guard_lib(|| gpuguard::probe_window_seconds(d, p, f))
}

/// Estimated seconds to load a model: ``model_bytes / read_bytes_per_second`` plus
/// ``overhead_seconds`` (process start, CUDA context: 20-60 s for vLLM-class servers). Raises
/// ValueError for a non-positive read speed or negative bytes.
///
/// >>> gpuguard.estimate_load_seconds(140e9, 1e9, 30.0)
/// 170.0
#[pyfunction]
#[pyo3(signature = (model_bytes, read_bytes_per_second, overhead_seconds=0.0))]
fn estimate_load_seconds(model_bytes: f64, read_bytes_per_second: f64, overhead_seconds: f64) -> PyResult<f64> {
    guard_lib(|| gpuguard::estimate_load_seconds(model_bytes, read_bytes_per_second, overhead_seconds))
}

/// Whether a startup window of ``window_seconds`` covers ``safety_factor`` × ``load_seconds``
/// (2 is gpuguard's rule: loads are slower on a cold node or a busy volume). Raises ValueError
/// for negative or non-finite arguments.
///
/// >>> gpuguard.startup_window_covers(600.0, 170.0)
/// True
#[pyfunction]
#[pyo3(signature = (window_seconds, load_seconds, safety_factor=2.0))]
fn startup_window_covers(window_seconds: f64, load_seconds: f64, safety_factor: f64) -> PyResult<bool> {
    guard_lib(|| gpuguard::startup_window_covers(window_seconds, load_seconds, safety_factor))
}

/// A resources dict (`{"nvidia.com/gpu": 2}`) as `(name, quantity text)` pairs: ints, floats and
/// strings are all quantities, as in YAML.
fn resource_pairs(arg: &str, value: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let Some(dict) = value else { return Ok(vec![]) };
    let mut pairs = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let name: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("invalid argument `{arg}`: resource names must be str")))?;
        let text = if v.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "invalid argument `{arg}`: {name} must be a quantity, not a bool"
            )));
        } else if v.is_instance_of::<PyString>() || v.is_instance_of::<PyInt>() {
            v.str()?.to_string()
        } else if v.is_instance_of::<PyFloat>() {
            let f: f64 = v.extract()?;
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                v.str()?.to_string()
            }
        } else {
            return Err(PyTypeError::new_err(format!(
                "invalid argument `{arg}`: {name} must be a str, int or float quantity"
            )));
        };
        pairs.push((name, text));
    }
    Ok(pairs)
}

/// GG007 problems of one container's GPU `requests` and `limits` (dicts, or None), as findings.
#[pyfunction]
#[pyo3(signature = (requests=None, limits=None))]
fn validate_gpu_resources(
    requests: Option<&Bound<'_, PyDict>>,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<PyFinding>> {
    let (req, lim) = (resource_pairs("requests", requests)?, resource_pairs("limits", limits)?);
    guard(|| {
        let r: Vec<(&str, &str)> = req.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let l: Vec<(&str, &str)> = lim.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        Ok(gpuguard::validate_gpu_resources(&r, &l).iter().map(|p| PyFinding(p.to_finding())).collect())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(shm_required_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(shm_recommended_size, m)?)?;
    m.add_function(wrap_pyfunction!(lost_work_cost, m)?)?;
    m.add_function(wrap_pyfunction!(mtbf_hours, m)?)?;
    m.add_function(wrap_pyfunction!(optimal_checkpoint_interval, m)?)?;
    m.add_function(wrap_pyfunction!(checkpoint_waste, m)?)?;
    m.add_function(wrap_pyfunction!(checkpoint_plan, m)?)?;
    m.add_function(wrap_pyfunction!(probe_window_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_load_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(startup_window_covers, m)?)?;
    m.add_function(wrap_pyfunction!(validate_gpu_resources, m)?)?;
    Ok(())
}
