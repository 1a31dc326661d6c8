import shutil
import subprocess
import sys

import pytest


@pytest.fixture
def run_cli():
    """Runs the installed `gpuguard` console script; returns the CompletedProcess."""
    exe = shutil.which("gpuguard")
    assert exe, "the gpuguard console script is not on PATH: install the package first (pip install .)"

    def run(*args, input=None):
        return subprocess.run([exe, *args], capture_output=True, text=True, input=input, timeout=120)

    return run


@pytest.fixture
def run_module():
    """Runs `python -m gpuguard`."""

    def run(*args, input=None):
        return subprocess.run(
            [sys.executable, "-m", "gpuguard", *args], capture_output=True, text=True, input=input, timeout=120
        )

    return run
