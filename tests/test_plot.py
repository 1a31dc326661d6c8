import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plot tests need matplotlib (pip install 'gpuguard[plot]')")
matplotlib.use("Agg")

import gpuguard  # noqa: E402
from gpuguard.plot import plot_checkpoint_costs  # noqa: E402


def test_plot_marks_the_optimum_and_the_current_interval(tmp_path):
    fig = plot_checkpoint_costs(300, 24, current_interval_seconds=4 * 3600)
    ax = fig.axes[0]
    labels = [l.get_label() for l in ax.get_lines()]
    best = gpuguard.optimal_checkpoint_interval(300, 24)
    assert f"Daly optimum {best / 60:.0f} min" in labels
    assert "current 240 min" in labels
    curve = ax.get_lines()[0].get_ydata()
    # The curve's minimum sits at the optimum: waste there is below waste at the current interval.
    assert min(curve) == pytest.approx(100 * gpuguard.checkpoint_waste(best, 300, 24), rel=0.01)
    fig.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_plot_in_dollars_needs_both_arguments():
    fig = plot_checkpoint_costs(300, 24, hourly_gpu_cost=32, run_hours=100)
    assert "dollars" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="run_hours"):
        plot_checkpoint_costs(300, 24, hourly_gpu_cost=32)
