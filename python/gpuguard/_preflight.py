"""``gpuguard.preflight()``: the doctor's runtime checks from inside a training script.

>>> import gpuguard
>>> report = gpuguard.preflight()
>>> any(c.name == "dev-shm" for c in report.checks)
True
"""

from __future__ import annotations

import os
import warnings

from gpuguard._gpuguard import PreflightError, Report, doctor

_FAIL_ON = ("info", "warning", "error", "never")


def preflight(
    expect_gpus: int | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    dataloader_workers: int | None = None,
    batch_bytes: int | str | None = None,
    prefetch_factor: int = 2,
    fail_on: str = "error",
    strict: bool = False,
    warn: bool = False,
    root: str | os.PathLike[str] = "/",
) -> Report:
    """Checks this machine before the job spends GPU time: /dev/shm against the DataLoader and the
    memory limit, checkpoint and Hugging Face cache persistence, GPU visibility, driver and kernel,
    kernel-log XIDs and NVML health. Returns the :class:`Report`.

    ``strict=True`` raises :class:`PreflightError` (its ``.report`` is the Report) when a finding is
    at or above ``fail_on``; ``warn=True`` emits each warning or error finding as a
    :class:`GpuGuardWarning`.
    """
    if fail_on not in _FAIL_ON:
        raise ValueError(f"invalid argument `fail_on`: expected one of {', '.join(_FAIL_ON)}, got {fail_on!r}")
    report = doctor(
        expect_gpus=expect_gpus,
        checkpoint_dir=checkpoint_dir,
        dataloader_workers=dataloader_workers,
        batch_bytes=batch_bytes,
        prefetch_factor=prefetch_factor,
        root=root,
    )
    if warn:
        from gpuguard import GpuGuardWarning

        for f in report.at_least("warning"):
            warnings.warn(f"{f.rule} {f.severity}: {f.message} (fix: {f.fix})", GpuGuardWarning, stacklevel=2)
    if strict and fail_on != "never" and report.fails_at(fail_on):
        failing = report.at_least(fail_on)
        lines = "\n".join(f"  {f.rule} {f.severity}: {f.message}" for f in failing)
        err = PreflightError(f"preflight failed: {len(failing)} finding(s) at or above {fail_on}:\n{lines}")
        err.report = report
        raise err
    return report
