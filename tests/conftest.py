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


@pytest.fixture
def promtool():
    """Path of Prometheus' promtool (Debian package `prometheus`); skips, saying so, without it."""
    exe = shutil.which("promtool")
    if exe is None:
        pytest.skip("promtool not installed (Debian package `prometheus`; .ci/run installs it)")
    return exe


@pytest.fixture
def fake_nvml(tmp_path):
    """Builds the scripted NVML stand-in (crates/gpuguard/tests/nvml_stub/fake_nvml.c) for a
    scenario and returns the library's path; skips, saying so, without a C compiler."""
    from pathlib import Path

    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the NVML stand-in (.ci/run installs gcc)")
    src = Path(__file__).resolve().parents[1] / "crates/gpuguard/tests/nvml_stub/fake_nvml.c"

    def build(scenario="healthy"):
        lib = tmp_path / f"libnvidia-ml-{scenario}.so"
        subprocess.run([cc, "-shared", "-fPIC", f'-DSCENARIO="{scenario}"', "-o", str(lib), str(src)], check=True)
        return lib

    return build
