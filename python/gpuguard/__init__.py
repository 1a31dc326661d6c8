"""gpuguard: catch the ML-ops mistakes that waste GPU time, before they cost anything.

The core is Rust (``gpuguard._gpuguard``); this package re-exports it with Python names that
mirror the Rust ones (same argument names and units: bytes, seconds, hours).

>>> import gpuguard
>>> gpuguard.shm_required_bytes(2, 8 * 2**20) > 2 * 2 * 8 * 2**20
True
>>> gpuguard.footgun("GG001").slug
'dev-shm'
"""

# First: the compiled module's functions and methods then name a badly typed argument in the
# message, not only in a note (see _named.py).
from gpuguard import _named  # noqa: F401  isort: skip
from gpuguard._gpuguard import (
    Check,
    Checkpoint,
    Finding,
    Footgun,
    GpuGuardError,
    PendingCheckpoint,
    PreflightError,
    Report,
    XidEvent,
    XidInfo,
    XidScan,
    __version__,
    checkpoint_plan,
    checkpoint_waste,
    classify_xid,
    corrected_error_rate,
    doctor,
    estimate_load_seconds,
    footgun,
    footguns,
    lint_manifests,
    lint_paths,
    lost_work_cost,
    mtbf_hours,
    optimal_checkpoint_interval,
    parse_bytes,
    parse_nvidia_smi_q,
    parse_xid_line,
    probe_window_seconds,
    scan_xid,
    shm_recommended_size,
    shm_required_bytes,
    startup_window_covers,
    validate_gpu_resources,
)


class GpuGuardWarning(UserWarning):
    """Category of the warnings gpuguard emits through :mod:`warnings`."""


from gpuguard._preflight import preflight  # noqa: E402  (needs GpuGuardWarning defined first)
from gpuguard._store import AsyncSave, CheckpointStore  # noqa: E402  (the Rust store, coordinated)


__all__ = [
    "AsyncSave",
    "Check",
    "Checkpoint",
    "CheckpointStore",
    "Finding",
    "Footgun",
    "GpuGuardError",
    "GpuGuardWarning",
    "PendingCheckpoint",
    "PreflightError",
    "Report",
    "XidEvent",
    "XidInfo",
    "XidScan",
    "__version__",
    "checkpoint_plan",
    "checkpoint_waste",
    "classify_xid",
    "corrected_error_rate",
    "doctor",
    "estimate_load_seconds",
    "footgun",
    "footguns",
    "lint_manifests",
    "lint_paths",
    "lost_work_cost",
    "mtbf_hours",
    "optimal_checkpoint_interval",
    "parse_bytes",
    "parse_nvidia_smi_q",
    "parse_xid_line",
    "preflight",
    "probe_window_seconds",
    "scan_xid",
    "shm_recommended_size",
    "shm_required_bytes",
    "startup_window_covers",
    "validate_gpu_resources",
]
