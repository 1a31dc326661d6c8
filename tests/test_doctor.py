"""gpuguard.doctor(root=...) looks ahead on distribution trees: the kernel that boots next and
automatic updates without a pin (GG010), and cannot be hung by a FIFO under its root."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gpuguard
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "crates/gpuguard/tests/fixtures/doctor"


@pytest.fixture
def ubuntu(tmp_path):
    """A private copy of the Ubuntu 24.04 tree (links kept as links)."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "ubuntu-24.04", root, symlinks=True)
    return root


def check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_next_boot_kernel_without_its_module_is_an_error_naming_both_kernels(ubuntu):
    report = gpuguard.doctor(root=ubuntu)
    errors = [f for f in report.findings if f.rule == "GG010" and f.severity == "error"]
    assert len(errors) == 1, [f.message for f in report.findings]
    e = errors[0]
    assert "kernel 6.8.0-51-generic" in e.message and "running kernel 6.8.0-49-generic" in e.message
    assert e.file == "/var/lib/dkms/nvidia/550.120/build/make.log" and e.line == 7
    assert e.evidence["next_kernel"] == "6.8.0-51-generic"
    assert check(report, "next-boot").status == "finding"


def test_held_kernel_and_driver_clear_the_automatic_update_warnings(ubuntu):
    warnings = [f for f in gpuguard.doctor(root=ubuntu).findings if f.severity == "warning"]
    assert [f.rule for f in warnings] == ["GG010", "GG010"]
    assert "apt-mark hold linux-image-generic" in warnings[0].fix
    status = ubuntu / "var/lib/dpkg/status"
    text = status.read_text()
    for pkg in ["linux-image-generic", "nvidia-driver-550", "nvidia-dkms-550", "libnvidia-compute-550"]:
        text = text.replace(f"Package: {pkg}\nStatus: install ok installed", f"Package: {pkg}\nStatus: hold ok installed")
    status.write_text(text)
    report = gpuguard.doctor(root=ubuntu)
    assert not [f for f in report.findings if f.severity == "warning"], [f.message for f in report.findings]
    assert "held or pinned" in check(report, "auto-updates").reason


def test_a_fifo_under_the_root_is_skipped_not_waited_on(ubuntu):
    (ubuntu / "var/lib/dpkg/status").unlink()
    os.mkfifo(ubuntu / "var/lib/dpkg/status")
    (ubuntu / "boot/grub/grubenv").unlink()
    os.mkfifo(ubuntu / "boot/grub/grubenv")
    code = "import gpuguard, json, sys; print(gpuguard.doctor(root=sys.argv[1]).to_json())"
    # In a child process: a blocking read would hang it, and the timeout turns that into a failure.
    out = subprocess.run([sys.executable, "-c", code, str(ubuntu)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["dpkg-status"]["status"] == "skipped"
    assert "a FIFO, not read" in checks["dpkg-status"]["reason"]
    assert "skipped /boot/grub/grubenv" in checks["next-boot"]["reason"]


def test_the_footgun_docs_describe_the_look_ahead_and_the_nvml_health():
    gg010 = gpuguard.footgun("GG010")
    assert "boot loader starts next" in gg010.why and "version-locked" in gg010.why
    assert any("next-boot" in c for c in gg010.caught_by) and any("auto-updates" in c for c in gg010.caught_by)
    gg005 = gpuguard.footgun("GG005")
    assert "PCIe link trained down" in gg005.why and "power brake" in gg005.why
