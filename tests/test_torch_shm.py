"""The proof that gpuguard's /dev/shm verdict matches what a real torch DataLoader does.

Each case runs a DataLoader in a private mount namespace whose /dev/shm is a tmpfs of a chosen
size (``unshare -m`` + ``mount -t tmpfs``; needs root). With the classic rule's size
(workers × prefetch_factor × batch) gpuguard must flag the loader and the loader must really die of
shared memory; with the size gpuguard says is required, gpuguard must not flag it and it must run to
the end.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the DataLoader proof needs PyTorch (pip install torch)")
import gpuguard  # noqa: E402

CHILD = Path(__file__).with_name("dataloader_child.py")
MIB = 2**20


def _can_unshare() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a private tmpfs at /dev/shm"
    if shutil.which("unshare") is None:
        return "needs unshare(1) from util-linux"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm"], capture_output=True)
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private namespace: {probe.stderr.decode().strip()}"
    return None


pytestmark = pytest.mark.skipif(_can_unshare() is not None, reason=_can_unshare() or "")


def run_in_shm(size_bytes: int, workers: int, batch_bytes: int, prefetch: int) -> dict:
    size_kib = -(-size_bytes // 1024)
    cmd = f"mount -t tmpfs -o size={size_kib}k tmpfs /dev/shm && exec {sys.executable} {CHILD} {workers} {batch_bytes} {prefetch}"
    p = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"child printed no verdict (rc {p.returncode}): {p.stderr[-2000:]}"
    return json.loads(lines[-1])


CASES = [(1, 8 * MIB, 2), (2, 8 * MIB, 2), (2, 4 * MIB, 4), (4, 4 * MIB, 2), (3, 2 * MIB, 1)]


@pytest.mark.parametrize("workers, batch_bytes, prefetch", CASES)
def test_too_small_shm_is_flagged_and_really_fails(workers, batch_bytes, prefetch):
    classic_rule = workers * prefetch * batch_bytes
    result = run_in_shm(classic_rule, workers, batch_bytes, prefetch)
    assert result["measured_batch_bytes"] == batch_bytes
    assert result["flagged"], result
    assert result["outcome"] == "died", result
    assert any(s in result["error"] for s in ("shared memory", "Bus error", "No space left", "killed by signal")), result


@pytest.mark.parametrize("workers, batch_bytes, prefetch", CASES)
def test_required_size_is_not_flagged_and_runs_to_the_end(workers, batch_bytes, prefetch):
    required = gpuguard.shm_required_bytes(workers, batch_bytes, prefetch)
    result = run_in_shm(required, workers, batch_bytes, prefetch)
    assert not result["flagged"], result
    assert result["outcome"] == "ran", result
