"""examples/quickstart.ipynb must run top to bottom, so it cannot rot."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs nbformat (pip install nbformat)")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs nbclient (pip install nbclient ipykernel)")
pytest.importorskip("ipykernel", reason="the notebook test needs a Python kernel (pip install ipykernel)")
pytest.importorskip("torch", reason="the notebook trains a small model with PyTorch")
pytest.importorskip("matplotlib", reason="the notebook plots with matplotlib")

NOTEBOOK = Path(__file__).parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_runs_top_to_bottom(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    assert any("gpuguard-report" in h for h in html), "reports render as HTML tables"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the checkpoint plot is drawn"
