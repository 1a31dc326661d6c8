"""guard() never hurts the training script it protects: the RNG is where it was, a one-shot
IterableDataset keeps its items, a dataset's own exception becomes a skipped check; and its output
is something to act on (a dataloader line when fine, one GG001, fixes in the strict message,
only local rank 0 printing, a GG003 when a save cannot finish inside the preemption notice)."""

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="gpuguard.torch tests need PyTorch (pip install torch)")
import gpuguard  # noqa: E402
import gpuguard.torch as ggt  # noqa: E402
from torch.utils.data import DataLoader, Dataset, IterableDataset  # noqa: E402

IS_ROOT = os.geteuid() == 0


class Noisy(Dataset):
    """Draws from the global RNGs like augmentations do."""

    def __len__(self):
        return 32

    def __getitem__(self, i):
        return torch.rand(256) + random.random()


class OneShot(IterableDataset):
    """A stream that cannot replay: every item taken is gone for training."""

    def __init__(self, n):
        self.source = iter(range(n))

    def __iter__(self):
        return (torch.full((64,), float(i)) for i in self.source)


class NeedsWorkerInit(Dataset):
    def __init__(self):
        self.handle = None  # opened by worker_init_fn in each worker

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.handle.read(i)


def test_measuring_a_batch_leaves_the_global_rngs_as_they_were():
    loader = DataLoader(Noisy(), batch_size=4, shuffle=True, num_workers=2)
    torch.manual_seed(1234)
    random.seed(99)
    expected = (torch.rand(3), random.random())
    torch.manual_seed(1234)
    random.seed(99)
    report = ggt.check_dataloader(loader, local_processes=1)
    assert report.checks[0].status == "ok"
    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1]


def test_a_one_shot_iterable_dataset_keeps_every_item():
    ds = OneShot(10)
    loader = DataLoader(ds, batch_size=4, num_workers=1)
    report = ggt.guard(loader=loader, quiet=True)
    [check] = [c for c in report.checks if c.name == "dataloader"]
    assert check.status == "skipped" and "batch_bytes" in check.reason and "OneShot" in check.reason
    assert [float(t[0]) for t in ds] == list(range(10))  # nothing was taken
    # With the number given, it is judged without touching the stream.
    assert ggt.check_dataloader(DataLoader(OneShot(3), batch_size=4, num_workers=1), batch_bytes=4096).checks[0].status == "ok"


def test_an_exception_of_the_dataset_becomes_a_skipped_check_with_the_reason():
    loader = DataLoader(NeedsWorkerInit(), batch_size=2, num_workers=2)
    report = ggt.guard(loader=loader, quiet=True)
    [check] = [c for c in report.checks if c.name == "dataloader"]
    assert check.status == "skipped"
    assert "AttributeError" in check.reason and "worker_init_fn" in check.reason
    assert not [f for f in report.findings if f.rule == "GG001" and "DataLoader" in f.message]


def test_the_dataloader_appears_when_fine_with_its_numbers():
    loader = DataLoader(Noisy(), batch_size=4, num_workers=2)
    report = ggt.guard(loader=loader, quiet=True)
    [check] = [c for c in report.checks if c.name == "dataloader"]
    assert check.status == "ok" and check.reason.startswith("needs ") and check.reason.endswith("free: ok")
    assert "MiB" in check.reason and "dataloader" in report.to_text()


def test_strict_message_gives_each_fix_and_report():
    loader = DataLoader(Noisy(), batch_size=4, num_workers=2)
    with pytest.warns(gpuguard.GpuGuardWarning):
        with pytest.raises(gpuguard.PreflightError) as e:
            ggt.guard(loader=loader, batch_bytes=2**42, strict=True, quiet=True)
    assert "fix: give /dev/shm at least" in str(e.value)
    assert e.value.report.findings


@pytest.mark.skipif(not IS_ROOT or not shutil.which("unshare"), reason="needs root for unshare -m and a tmpfs mount")
def test_host_shm_and_dataloader_give_one_gg001_with_one_fix():
    code = textwrap.dedent(
        """
        import json, gpuguard, gpuguard.torch as ggt, torch
        from torch.utils.data import DataLoader, TensorDataset
        loader = DataLoader(TensorDataset(torch.zeros(64, 1 << 20)), batch_size=8, num_workers=2)
        host = gpuguard.preflight()
        r = ggt.guard(loader=loader, quiet=True)
        print(json.dumps({"host": [f.rule for f in host.findings],
                          "guard": [[f.rule, f.severity, f.message, f.fix] for f in r.findings]}))
        """
    )
    out = subprocess.run(
        ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=48m tmpfs /dev/shm && exec "$0" -W ignore -c "$1"',
         sys.executable, code],
        capture_output=True, text=True, timeout=120, check=True,
    )
    got = json.loads(out.stdout)
    assert got["host"].count("GG001") == 1  # the host check alone sees the small /dev/shm
    shm = [f for f in got["guard"] if f[0] == "GG001"]
    assert len(shm) == 1, shm
    assert shm[0][1] == "error" and "48.0 MiB free" in shm[0][2] and "sizeLimit" in shm[0][3]


RANK_SCRIPT = textwrap.dedent(
    """
    import sys, gpuguard, gpuguard.torch as ggt, torch
    from torch.utils.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(torch.zeros(16, 8)), batch_size=4, num_workers=1)
    try:
        ggt.guard(loader=loader, batch_bytes=2**42, strict=True)
    except gpuguard.PreflightError:
        print("raised", flush=True)
        sys.exit(3)
    """
)


def test_under_torchrun_only_local_rank_0_prints_and_every_rank_raises(tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    outs = []
    for rank in (0, 1):
        env = dict(os.environ, LOCAL_RANK=str(rank), RANK=str(rank), WORLD_SIZE="2")
        outs.append(subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120))
    assert [o.returncode for o in outs] == [3, 3]
    assert "GG001" in outs[0].stdout and "GpuGuardWarning" in outs[0].stderr
    assert outs[1].stdout.strip() == "raised" and "GpuGuardWarning" not in outs[1].stderr


def test_guard_with_a_store_installs_preemption_and_judges_the_save_time(tmp_path):
    import signal

    store = gpuguard.CheckpointStore(tmp_path, every_steps=10)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        # 64 GiB can never be written in a 0.5 s notice on any disk: GG003 error with the fix.
        with pytest.warns(gpuguard.GpuGuardWarning, match="GG003"):
            r = ggt.guard(checkpoint=store, notice_seconds=0.5, state_bytes=64 << 30, quiet=True)
        # The preemption finding (a disk under 10 GiB free adds a GG003 free-space warning too).
        [f] = [f for f in r.findings if f.rule == "GG003" and "preemption notice" in f.message]
        assert f.severity == "error" and "the preemption notice is 0.5 s" in f.message, f.message
        assert "terminationGracePeriodSeconds" in f.fix and f.evidence["state_bytes"] == 64 << 30
        assert f.evidence["notice_source"] == "argument notice_seconds"
        assert signal.getsignal(signal.SIGTERM) != previous
        [check] = [c for c in r.checks if c.name == "preemption"]
        assert check.status == "finding"
        # A small state in a generous window fits.
        ok = ggt.guard(checkpoint=store, notice_seconds=600, state_bytes=1 << 20, quiet=True)
        assert not [f for f in ok.findings if f.rule == "GG003" and "preemption notice" in f.message]
        assert [c.status for c in ok.checks if c.name == "preemption"] == ["ok"]
        # SIGTERM only sets the flag; due() then says save now.
        assert store.due(step=0)
        with store.save(0) as p:
            (p / "m").write_bytes(b"0")
        assert not store.due(step=1) and not store.preempted
        os.kill(os.getpid(), signal.SIGTERM)
        assert store.preempted and store.due(step=1)
    finally:
        store.close()
    assert signal.getsignal(signal.SIGTERM) == previous  # close() put the old handler back
