"""gpuguard: catch the ML-ops mistakes that waste GPU time, before they cost anything.

The core is Rust (``gpuguard._gpuguard``); this package re-exports it with Python names that
mirror the Rust ones (same argument names and units: bytes, seconds, hours).

>>> import gpuguard
>>> gpuguard.shm_required_bytes(2, 8 * 2**20) > 2 * 2 * 8 * 2**20
True
>>> gpuguard.footgun("GG001").slug
'dev-shm'
"""

from gpuguard._gpuguard import (
    Check,
    Checkpoint,
    CheckpointStore,
    Finding,
    Footgun,
    GpuGuardError,
    PendingCheckpoint,
    PreflightError,
    Report,
    __version__,
    checkpoint_plan,
    checkpoint_waste,
    estimate_load_seconds,
    footgun,
    footguns,
    lost_work_cost,
    mtbf_hours,
    optimal_checkpoint_interval,
    probe_window_seconds,
    shm_recommended_size,
    shm_required_bytes,
    startup_window_covers,
    validate_gpu_resources,
)


class GpuGuardWarning(UserWarning):
    """Category of the warnings gpuguard emits through :mod:`warnings`."""


__all__ = [
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
    "__version__",
    "checkpoint_plan",
    "checkpoint_waste",
    "estimate_load_seconds",
    "footgun",
    "footguns",
    "lost_work_cost",
    "mtbf_hours",
    "optimal_checkpoint_interval",
    "probe_window_seconds",
    "shm_recommended_size",
    "shm_required_bytes",
    "startup_window_covers",
    "validate_gpu_resources",
]
