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
import sys
import warnings
from typing import Any

import gpuguard
from gpuguard._gpuguard import Check, Finding, Report, memory_limit_bytes

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


class SkipMeasure(Exception):
    """The first batch could not be measured; the message says why (the DataLoader check is then
    reported as skipped, never raised into the training script)."""


def _replayable(dataset) -> bool:
    """Whether taking items from ``iter(dataset)`` leaves training's items alone: its ``__iter__``
    is a generator function (a fresh generator each call) and the dataset holds no iterator of
    its own that such a generator could be draining (a stream, a queue, a file being read)."""
    import collections.abc
    import inspect
    import io

    if not inspect.isgeneratorfunction(getattr(type(dataset), "__iter__", None)):
        return False
    state = getattr(dataset, "__dict__", {})
    return not any(isinstance(v, (collections.abc.Iterator, io.IOBase)) for v in state.values())


def _first_batch(loader) -> Any:
    """Collates one batch in this process, the way a worker would, without starting workers.

    It leaves the run as it would be without it: the global torch, ``random`` and numpy RNG
    states are saved and restored (a sampler's shuffle and the dataset's augmentations draw from
    them), and an ``IterableDataset`` whose items cannot be replayed is not touched. Anything the
    dataset raises (it may need ``worker_init_fn`` to run first) becomes :class:`SkipMeasure`.
    """
    import random

    dataset = loader.dataset
    collate = loader.collate_fn
    torch = _torch()
    iterable = isinstance(dataset, torch.utils.data.IterableDataset)
    if iterable and not _replayable(dataset):
        raise SkipMeasure(
            f"{type(dataset).__name__} is an IterableDataset whose items may not replay (its __iter__ is not a "
            "generator function, or it holds an open iterator or file): measuring a batch would take items "
            "training needs; pass batch_bytes= to check it"
        )
    np = sys.modules.get("numpy")
    saved = (torch.random.get_rng_state(), random.getstate(), np.random.get_state() if np is not None else None)
    try:
        if iterable:
            size = loader.batch_size or 1
            samples = [s for _, s in zip(range(size), iter(dataset))]
            if not samples:
                raise SkipMeasure(f"{type(dataset).__name__} yielded no items")
            return collate(samples) if loader.batch_size is not None else collate(samples[0])
        if loader.batch_sampler is not None:
            indices = next(iter(loader.batch_sampler))
            if hasattr(dataset, "__getitems__") and dataset.__getitems__:
                return collate(dataset.__getitems__(indices))
            return collate([dataset[i] for i in indices])
        return collate(dataset[next(iter(loader.sampler))])
    except SkipMeasure:
        raise
    except Exception as e:  # the user's dataset or collate_fn: report, never break the script
        raise SkipMeasure(
            f"measuring one batch in this process failed: {type(e).__name__}: {e} (a dataset that needs "
            "worker_init_fn or worker-only state cannot be sampled here); pass batch_bytes= to check it"
        ) from e
    finally:
        torch.random.set_rng_state(saved[0])
        random.setstate(saved[1])
        if np is not None:
            np.random.set_state(saved[2])


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


def _size(n: float) -> str:
    """Bytes as people read them: MiB below a GiB, GiB above."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def check_dataloader(
    loader,
    *,
    batch_bytes: int | None = None,
    loaders: int = 1,
    local_processes: int | None = None,
    shm_path: str = "/dev/shm",
) -> Report:
    """Judges a real ``torch.utils.data.DataLoader`` against the free space of ``shm_path``.

    Args:
        loader: the DataLoader (its dataset, sampler, collate_fn, num_workers, prefetch_factor).
        batch_bytes: bytes one collated batch occupies in shared memory; default: one batch
            collated here, in this process, without starting workers, leaving the RNGs and a
            non-replayable IterableDataset untouched.
        loaders: DataLoaders iterating at once (training + validation: 2).
        local_processes: ranks on this node; default from ``LOCAL_WORLD_SIZE`` or torch.distributed.
        shm_path: the shared-memory mount (bytes free are read with statvfs).

    Returns:
        A :class:`gpuguard.Report` with one ``dataloader`` check (ok with the numbers, finding, or
        skipped with the reason when the batch could not be measured) and a GG001 finding with the
        fix when the loader needs more than is free.

    Raises:
        ValueError: ``batch_bytes`` negative or 0. Nothing the dataset raises escapes: it is reported.

    Example::

        report = gpuguard.torch.check_dataloader(loader)
        print(report.checks[0].reason)   # needs 367.7 MiB of /dev/shm ..., 23.5 GiB free
    """
    try:
        shape = loader_shape(loader, batch_bytes)
    except SkipMeasure as e:
        return Report("check_dataloader", [], [Check("dataloader", "skipped", str(e))])
    if shape["num_workers"] == 0:
        why = "num_workers=0: batches are made in this process and need no /dev/shm"
        return Report("check_dataloader", [], [Check("dataloader", "ok", why)])
    if shape["batch_bytes"] == 0 and batch_bytes is None:
        # Measured, not given: a batch of ints or strings travels pickled through the workers'
        # pipes. (A batch_bytes=0 given by the caller is a mistake: shm_recommended_size says so.)
        why = "the first batch holds no tensors: workers send it pickled through pipes, not through /dev/shm"
        return Report("check_dataloader", [], [Check("dataloader", "ok", why)])
    procs = local_processes if local_processes is not None else _local_processes()
    report_findings: list[Finding] = []
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
        f"Docker --shm-size={rec['docker_shm_size']}; or lower num_workers/prefetch_factor/batch size"
    )
    need = (
        f"needs {_size(rec['required_bytes'])} of {shm_path} ({shape['num_workers']} workers × prefetch "
        f"{shape['prefetch_factor']} + 2 batches of {_size(shape['batch_bytes'])}, × {loaders} loader(s) × "
        f"{procs} local process(es))"
    )
    if rec["required_bytes"] > free:
        report_findings.append(
            Finding(
                "GG001",
                "error",
                f"DataLoader {need} but {shm_path} has {_size(free)} free: workers will die with a Bus error",
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
                f"DataLoader shared memory ({_size(rec['required_bytes'])}) is more than half "
                f"the container's memory limit ({_size(limit)}); tmpfs pages count against it",
                "raise the memory limit by the /dev/shm size, or lower num_workers/prefetch_factor",
                evidence,
                path=shm_path,
            )
        )
    status = "finding" if report_findings else "ok"
    verdict = "too little" if report_findings and report_findings[0].severity == "error" else status
    check = Check("dataloader", status, f"{need}, {_size(free)} free: {verdict}")
    return Report("check_dataloader", report_findings, [check])


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


def _local_rank() -> int:
    """This process's rank on its node (torchrun's ``LOCAL_RANK``; 0 without a launcher)."""
    value = os.environ.get("LOCAL_RANK", "0")
    return int(value) if value.isdigit() else 0


def _one_shm_finding(host: Report, loader: Report) -> Report:
    """Merges the host preflight with the DataLoader check so /dev/shm is judged once: when the
    DataLoader check measured (not skipped), its GG001 (with the loader's real numbers) replaces
    the host's generic /dev/shm GG001 and the host's dev-shm check points at it."""
    measured = any(c.name == "dataloader" and c.status != "skipped" for c in loader.checks)
    if not measured or not any(f.rule == "GG001" for f in host.findings):
        return host.merged(loader)
    findings = [f for f in host.findings if f.rule != "GG001"] + list(loader.findings)
    status = "finding" if any(f.rule == "GG001" for f in loader.findings) else "ok"
    checks = [
        Check(c.name, status, f"{c.reason}; judged with the DataLoader's numbers: see the dataloader check")
        if c.name == "dev-shm"
        else c
        for c in host.checks
    ] + list(loader.checks)
    return Report(host.command, findings, checks)


def guard(
    loader=None,
    checkpoint_dir: str | os.PathLike | None = None,
    expect_gpus: int | None = None,
    strict: bool = False,
    *,
    checkpoint=None,
    notice_seconds: float | None = None,
    state_bytes: int | None = None,
    batch_bytes: int | None = None,
    loaders: int = 1,
    fail_on: str = "error",
    log: bool = False,
    quiet: bool = False,
) -> Report:
    """The one call at the top of a training script.

    Runs the host preflight (:func:`gpuguard.preflight`) and the DataLoader check
    (:func:`check_dataloader`; one GG001 when both judge /dev/shm), and with ``checkpoint=store``
    (a :class:`gpuguard.CheckpointStore`) installs the preemption handler
    (:meth:`~gpuguard.CheckpointStore.handle_preemption`: SIGTERM sets ``store.preempted``, the
    next ``store.due(step)`` is true, the loop saves and stops) and judges whether a save fits in
    the notice (a GG003 error when it cannot).

    Prints a short summary (``log=True``: logs it; ``quiet=True``: neither) and emits a
    :class:`gpuguard.GpuGuardWarning` per finding at or above ``fail_on``; under torchrun only local
    rank 0 prints and warns. With ``strict=True`` every rank raises
    :class:`gpuguard.PreflightError` (``.report`` holds the report; the message gives each
    finding's fix) before training starts.

    Args:
        loader: a DataLoader to check against /dev/shm.
        checkpoint_dir: checked for persistence (default: ``checkpoint``'s directory).
        expect_gpus: GPUs this process should see.
        strict: raise instead of warn.
        checkpoint: the run's :class:`gpuguard.CheckpointStore`.
        notice_seconds: the preemption notice (default: ``GPUGUARD_NOTICE_SECONDS``, else 30 s,
            Kubernetes' default ``terminationGracePeriodSeconds``; AWS spot gives 120, GCP 30).
        state_bytes: bytes one checkpoint writes (model + optimizer), to estimate the save time
            before the first save (default: the newest checkpoint's size).
        batch_bytes, loaders: see :func:`check_dataloader`.
        fail_on: ``info``, ``warning``, ``error`` or ``never``.

    Returns:
        The :class:`gpuguard.Report`.

    Raises:
        PreflightError: ``strict=True`` and a finding at or above ``fail_on``.
        ValueError: a bad ``fail_on`` or ``notice_seconds``.

    Example::

        store = gpuguard.CheckpointStore("/ckpt", every_steps=500)
        gpuguard.torch.guard(loader=loader, checkpoint=store, notice_seconds=120, strict=True)
    """
    if checkpoint is not None and checkpoint_dir is None:
        checkpoint_dir = checkpoint.directory
    report = gpuguard.preflight(
        expect_gpus=expect_gpus,
        checkpoint_dir=None if checkpoint_dir is None else os.fspath(checkpoint_dir),
        fail_on=fail_on,
    )
    if loader is not None:
        report = _one_shm_finding(report, check_dataloader(loader, batch_bytes=batch_bytes, loaders=loaders))
    if checkpoint is not None:
        report = report.merged(_preemption_report(checkpoint, notice_seconds, state_bytes))
    failing = [] if fail_on == "never" else report.at_least(fail_on)
    speaker = _local_rank() == 0
    summary = report.to_text()
    if speaker and log:
        _log.log(logging.ERROR if failing else logging.INFO, "%s", summary)
    elif speaker and not quiet:
        print(summary, end="" if summary.endswith("\n") else "\n")
    if speaker:
        for f in failing:
            warnings.warn(f"{f.rule} {f.message}. Fix: {f.fix}", gpuguard.GpuGuardWarning, stacklevel=2)
    if strict and failing:
        lines = "\n".join(f"  {f.rule} {f.severity}: {f.message}\n    fix: {f.fix}" for f in failing)
        err = gpuguard.PreflightError(f"gpuguard: training would fail or waste GPU time:\n{lines}")
        err.report = report
        raise err
    return report


def _preemption_report(store, notice_seconds: float | None, state_bytes: int | None) -> Report:
    """Installs the SIGTERM handler on ``store`` and judges the save time against the notice."""
    from gpuguard._store import notice_window

    window, source = notice_window(notice_seconds)
    checks = []
    try:
        store.handle_preemption(window)
        installed = f"SIGTERM sets store.preempted; the loop saves within the {window:.0f} s notice ({source})"
    except gpuguard.GpuGuardError as e:
        checks.append(Check("preemption", "skipped", str(e)))
        installed = None
    finding = store.preemption_finding(window, state_bytes)
    if installed is not None:
        if finding is not None:
            checks.append(Check("preemption", "finding", installed))
        elif store.save_seconds_estimate is None:
            checks.append(
                Check("preemption", "ok", f"{installed}; save time not judged: no checkpoint yet, pass state_bytes=")
            )
        else:
            checks.append(Check("preemption", "ok", f"{installed}; a save takes ~{store.save_seconds_estimate:.1f} s"))
    return Report("guard", [finding] if finding is not None else [], checks)
