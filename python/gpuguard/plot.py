"""Plots for notebooks (matplotlib is an optional extra: ``pip install gpuguard[plot]``)."""

from __future__ import annotations

from typing import Any

import gpuguard

__all__ = ["plot_checkpoint_costs"]


def plot_checkpoint_costs(
    checkpoint_seconds: float,
    mtbf_hours: float,
    *,
    current_interval_seconds: float | None = None,
    hourly_gpu_cost: float | None = None,
    run_hours: float | None = None,
    restart_seconds: float = 0.0,
    ax: Any = None,
):
    """Expected waste (or, with ``hourly_gpu_cost`` and ``run_hours``, wasted dollars) against the
    checkpoint interval, with Daly's optimum and the user's ``current_interval_seconds`` marked.

    Returns the matplotlib ``Figure``.
    """
    try:
        import matplotlib.pyplot as plt  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise gpuguard.GpuGuardError("plot_checkpoint_costs needs matplotlib: pip install 'gpuguard[plot]'") from e
    if (hourly_gpu_cost is None) != (run_hours is None):
        raise ValueError("give both `hourly_gpu_cost` and `run_hours` to plot dollars, or neither to plot waste")
    best = gpuguard.optimal_checkpoint_interval(checkpoint_seconds, mtbf_hours)
    young = gpuguard.optimal_checkpoint_interval(checkpoint_seconds, mtbf_hours, method="young")
    hi = max(best * 8, (current_interval_seconds or 0) * 1.5)
    lo = max(checkpoint_seconds / 10, best / 20)
    steps = 200
    xs = [lo * (hi / lo) ** (i / (steps - 1)) for i in range(steps)]

    def y(t: float) -> float:
        w = gpuguard.checkpoint_waste(t, checkpoint_seconds, mtbf_hours, restart_seconds)
        if hourly_gpu_cost is None or run_hours is None:
            return 100 * w
        # Wasted dollars over the run: wall time is work / (1 - waste).
        return hourly_gpu_cost * run_hours * (1 / (1 - w) - 1) if w < 1 else float("inf")

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    ax.plot([x / 60 for x in xs], [y(x) for x in xs], label="expected waste")
    ax.axvline(best / 60, color="tab:green", linestyle="--", label=f"Daly optimum {best / 60:.0f} min")
    ax.axvline(young / 60, color="tab:gray", linestyle=":", label=f"Young {young / 60:.0f} min")
    if current_interval_seconds is not None:
        ax.axvline(current_interval_seconds / 60, color="tab:red", label=f"current {current_interval_seconds / 60:.0f} min")
        ax.plot([current_interval_seconds / 60], [y(current_interval_seconds)], "o", color="tab:red")
    ax.set_xscale("log")
    ax.set_xlabel("checkpoint interval (minutes of work)")
    ax.set_ylabel("wasted GPU time (%)" if hourly_gpu_cost is None else "expected wasted dollars")
    ax.set_title(f"checkpoint every τ: δ = {checkpoint_seconds:.0f} s, MTBF = {mtbf_hours:.1f} h")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
