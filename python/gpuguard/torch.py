"""PyTorch integration: check a real DataLoader against /dev/shm, guard a training script in one
line, and judge a checkpoint cadence.

gpuguard never requires torch: this module imports it only when a function needs it.

>>> import gpuguard.torch as ggt                                       # doctest: +SKIP
>>> report = ggt.check_dataloader(loader)                              # doctest: +SKIP
>>> ggt.guard(loader=loader, checkpoint_dir="/ckpt", expect_gpus=8)    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import gpuguard
from gpuguard._gpuguard import Finding, Report, memory_limit_bytes

__all__ = ["batch_shm_bytes", "check_checkpoint_cadence", "check_dataloader", "guard", "loader_shape"]

_PAGE = 4096
_log = logging.getLogger("gpuguard")


def _torch():
    try:
        import torch  # noqa: PLC0415 (imported on use: gpuguard never requires torch)
    except ImportError as e:  # pragma: no cover - exercised only without torch
        raise gpuguard.GpuGuardError("gpuguard.torch needs PyTorch: pip install torch") from e
    return torch


def batch_shm_bytes(batch: Any) -> int:
    """Bytes a collated batch occupies in /dev/shm when a worker sends it: every distinct tensor
    storage, rounded up to whole 4 KiB pages (each storage is its own shared-memory file).
    Non-tensor leaves (ints, strings) travel pickled through a pipe and cost no shared memory.
    """
    torch = _torch()
    seen: set[int] = set()
    total = 0
    stack = [batch]
    while stack:
        obj = stack.pop()
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            key = storage.data_ptr()
            if key not in seen:
                seen.add(key)
                total += -(-storage.nbytes() // _PAGE) * _PAGE
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dataclass_fields__"):
            stack.extend(getattr(obj, f) for f in obj.__dataclass_fields__)
    return total


def _first_batch(loader) -> Any:
    """Collates one batch in this process, the way a worker would, without starting workers."""
    dataset = loader.dataset
    collate = loader.collate_fn
    torch = _torch()
    if isinstance(dataset, torch.utils.data.IterableDataset):
        size = loader.batch_size or 1
        it = iter(dataset)
        samples = [s for _, s in zip(range(size), it)]
        return collate(samples) if loader.batch_size is not None else collate(samples[0])
    if loader.batch_sampler is not None:
        indices = next(iter(loader.batch_sampler))
        if hasattr(dataset, "__getitems__") and dataset.__getitems__:
            return collate(dataset.__getitems__(indices))
        return collate([dataset[i] for i in indices])
    return collate(dataset[next(iter(loader.sampler))])


def _local_processes() -> int:
    """Training processes on this node: every local rank has its own loaders on the same /dev/shm."""
    for var in ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE"):
        value = os.environ.get(var, "").split("(")[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    torch = _torch()
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        nodes = int(os.environ.get("GROUP_WORLD_SIZE", "0") or 0) or max(1, world // max(1, torch.cuda.device_count()))
        return max(1, world // nodes)
    return 1


def loader_shape(loader, batch_bytes: int | None = None) -> dict[str, Any]:
    """What a DataLoader will ask of /dev/shm: num_workers, prefetch_factor, batch_size,
    pin_memory, the sharing strategy and the bytes of one batch (measured unless given)."""
    torch = _torch()
    workers = int(loader.num_workers)
    prefetch = loader.prefetch_factor if workers > 0 else 0
    prefetch = 2 if prefetch is None else int(prefetch)
    if batch_bytes is None:
        batch_bytes = batch_shm_bytes(_first_batch(loader)) if workers > 0 else 0
    elif batch_bytes < 0:
        raise ValueError(f"invalid argument `batch_bytes`: must not be negative, got {batch_bytes}")
    return {
        "num_workers": workers,
        "prefetch_factor": prefetch,
        "batch_size": loader.batch_size,
        "pin_memory": bool(loader.pin_memory),
        "persistent_workers": bool(getattr(loader, "persistent_workers", False)),
        "sharing_strategy": torch.multiprocessing.get_sharing_strategy(),
        "batch_bytes": int(batch_bytes),
    }


def check_dataloader(
    loader,
    *,
    batch_bytes: int | None = None,
    loaders: int = 1,
    local_processes: int | None = None,
    shm_path: str = "/dev/shm",
) -> Report:
    """Judges a real ``torch.utils.data.DataLoader`` against the free space of ``shm_path``.

    ``batch_bytes`` defaults to one batch collated here, in this process, without starting
    workers. ``loaders`` counts the DataLoaders iterating at once; ``local_processes`` the ranks
    on this node (read from ``LOCAL_WORLD_SIZE`` or torch.distributed when not given). Returns a
    :class:`gpuguard.Report` whose GG001 findings carry the numbers and the fix.
    """
    shape = loader_shape(loader, batch_bytes)
    procs = local_processes if local_processes is not None else _local_processes()
    report_findings: list[Finding] = []
    if shape["num_workers"] == 0:
        return Report("check_dataloader", [])
    limit = memory_limit_bytes()  # tmpfs pages count against it
    rec = gpuguard.shm_recommended_size(
        shape["num_workers"], shape["batch_bytes"], shape["prefetch_factor"], loaders, procs, limit
    )
    st = os.statvfs(shm_path)
    free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
    evidence = {
        **shape,
        "loaders": loaders,
        "local_processes": procs,
        "shm_free_bytes": free,
        "shm_total_bytes": total,
        "required_bytes": rec["required_bytes"],
        "recommended_size": rec["quantity"],
        "memory_limit_bytes": limit,
    }
    fix = (
        f"give /dev/shm at least {rec['quantity']}: Kubernetes emptyDir {{medium: Memory, sizeLimit: "
        f"{rec['quantity']}}} mounted at /dev/shm (and raise the memory limit by as much); "
        f"Docker --shm-size={rec['size_bytes']}; or lower num_workers/prefetch_factor/batch size"
    )
    mib = 2**20
    if rec["required_bytes"] > free:
        report_findings.append(
            Finding(
                "GG001",
                "error",
                f"DataLoader needs {rec['required_bytes'] / mib:.1f} MiB of /dev/shm "
                f"({shape['num_workers']} workers × prefetch {shape['prefetch_factor']} + 2 batches of "
                f"{shape['batch_bytes'] / mib:.1f} MiB, × {loaders} loader(s) × {procs} local process(es)) "
                f"but {shm_path} has {free / mib:.1f} MiB free: workers will die with a Bus error",
                fix,
                evidence,
                path=shm_path,
            )
        )
    elif limit is not None and rec["required_bytes"] > limit // 2:
        report_findings.append(
            Finding(
                "GG001",
                "warning",
                f"DataLoader shared memory ({rec['required_bytes'] / mib:.1f} MiB) is more than half "
                f"the container's memory limit ({limit / mib:.1f} MiB); tmpfs pages count against it",
                "raise the memory limit by the /dev/shm size, or lower num_workers/prefetch_factor",
                evidence,
                path=shm_path,
            )
        )
    return Report("check_dataloader", report_findings)


def check_checkpoint_cadence(
    *,
    checkpoint_seconds: float,
    hourly_gpu_cost: float,
    interruption_rate: float,
    period_hours: float = 730.0,
    nodes: int = 1,
    every_n_steps: int | None = None,
    seconds_per_step: float | None = None,
    interval_seconds: float | None = None,
    run_hours: float = 24.0,
    restart_seconds: float = 0.0,
) -> dict[str, Any]:
    """Judges a checkpoint cadence (``every_n_steps`` × ``seconds_per_step``, or
    ``interval_seconds``) against :func:`gpuguard.checkpoint_plan`; says what a preemption costs.

    Returns the plan, the current interval, the waste of both, the expected cost of one
    preemption at the current cadence (half an interval of work lost on average, plus the
    restart) and a ``finding`` (a GG003 :class:`gpuguard.Finding`, or ``None`` when the cadence is
    within 25% of the optimal waste).
    """
    if interval_seconds is None:
        if every_n_steps is None or seconds_per_step is None:
            raise ValueError("give `interval_seconds`, or both `every_n_steps` and `seconds_per_step`")
        if every_n_steps <= 0 or seconds_per_step <= 0:
            raise ValueError("invalid argument `every_n_steps`/`seconds_per_step`: must be greater than 0")
        interval_seconds = every_n_steps * seconds_per_step
    plan = gpuguard.checkpoint_plan(
        hourly_gpu_cost, run_hours, checkpoint_seconds, interruption_rate, period_hours, nodes, restart_seconds
    )
    waste_now = gpuguard.checkpoint_waste(interval_seconds, checkpoint_seconds, plan["mtbf_hours"], restart_seconds)
    waste_best = plan["waste_fraction"]
    preemption_cost = gpuguard.lost_work_cost(hourly_gpu_cost, (interval_seconds / 2 + restart_seconds) / 3600)
    result = {
        "interval_seconds": interval_seconds,
        "optimal_interval_seconds": plan["interval_seconds"],
        "waste_fraction": waste_now,
        "optimal_waste_fraction": waste_best,
        "preemption_cost": preemption_cost,
        "plan": plan,
        "finding": None,
    }
    if waste_now > waste_best * 1.25 + 1e-3:
        direction = "too rarely" if interval_seconds > plan["interval_seconds"] else "too often"
        result["finding"] = Finding(
            "GG003",
            "warning",
            f"checkpointing every {interval_seconds / 60:.1f} min is {direction}: it wastes "
            f"{waste_now:.1%} of GPU time against {waste_best:.1%} at the optimum of "
            f"{plan['interval_seconds'] / 60:.1f} min; a preemption costs ${preemption_cost:,.2f} on average",
            f"checkpoint every {plan['interval_seconds'] / 60:.0f} min of work and keep the last {plan['keep_last']}",
            {k: v for k, v in result.items() if k not in ("plan", "finding")},
        )
    return result


def guard(
    loader=None,
    checkpoint_dir: str | os.PathLike | None = None,
    expect_gpus: int | None = None,
    strict: bool = False,
    *,
    batch_bytes: int | None = None,
    loaders: int = 1,
    fail_on: str = "error",
    log: bool = False,
    quiet: bool = False,
) -> Report:
    """The one call at the top of a training script: runs the host preflight and the DataLoader
    check, prints a short summary (or logs it with ``log=True``), emits a
    :class:`gpuguard.GpuGuardWarning` per finding at or above ``fail_on``, and with
    ``strict=True`` raises :class:`gpuguard.PreflightError` before training starts.
    """
    report = gpuguard.preflight(
        expect_gpus=expect_gpus, checkpoint_dir=None if checkpoint_dir is None else os.fspath(checkpoint_dir)
    )
    if loader is not None:
        report = report.merged(check_dataloader(loader, batch_bytes=batch_bytes, loaders=loaders))
    failing = report.at_least(fail_on)
    summary = report.to_text()
    if log:
        _log.log(logging.ERROR if failing else logging.INFO, "%s", summary)
    elif not quiet:
        print(summary, end="" if summary.endswith("\n") else "\n")
    for f in failing:
        warnings.warn(f"{f.rule} {f.message}. Fix: {f.fix}", gpuguard.GpuGuardWarning, stacklevel=2)
    if strict and failing:
        err = gpuguard.PreflightError(
            "gpuguard: training would fail or waste GPU time:\n" + "\n".join(f"  {f.rule} {f.message}" for f in failing)
        )
        err.report = report
        raise err
    return report
