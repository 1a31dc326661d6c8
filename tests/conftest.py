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
    """Builds the scripted NVML stand-in (crates/gpuguard-test-support/nvml_stub/fake_nvml.c) for a
    scenario and returns the library's path; skips, saying so, without a C compiler."""
    from pathlib import Path

    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the NVML stand-in (.ci/run installs gcc)")
    src = Path(__file__).resolve().parents[1] / "crates/gpuguard-test-support/nvml_stub/fake_nvml.c"

    def build(scenario="healthy"):
        lib = tmp_path / f"libnvidia-ml-{scenario}.so"
        subprocess.run([cc, "-shared", "-fPIC", f'-DSCENARIO="{scenario}"', "-o", str(lib), str(src)], check=True)
        return lib

    return build


@pytest.fixture(scope="session")
def validate_sarif():
    """Checks a SARIF log against the official SARIF 2.1.0 schema (OASIS errata01, committed as
    tests/fixtures/sarif-schema-2.1.0.json: CI has the network only for package installs), URI and
    date formats included; returns the list of error messages (empty when valid)."""
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent / "fixtures/sarif-schema-2.1.0.json").read_text())
    checker = jsonschema.FormatChecker()
    # Without rfc3986-validator jsonschema accepts any string as a URI: the test would check less
    # than it says. `jsonschema[format-nongpl]` (in .ci/run) brings it.
    assert not checker.conforms("a b", "uri-reference"), "install jsonschema[format-nongpl] to check SARIF URIs"
    validator = jsonschema.Draft4Validator(schema, format_checker=checker)

    def validate(log):
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]

    return validate
