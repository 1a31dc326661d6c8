import warnings

import pytest

torch = pytest.importorskip("torch", reason="gpuguard.torch tests need PyTorch (pip install torch)")
import gpuguard  # noqa: E402
import gpuguard.torch as ggt  # noqa: E402
from torch.utils.data import DataLoader, Dataset, IterableDataset  # noqa: E402


class Pairs(Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        return {"x": torch.zeros(1000, dtype=torch.float32), "y": torch.tensor(i), "name": f"s{i}"}


class Stream(IterableDataset):
    def __iter__(self):
        for i in range(100):
            yield torch.zeros(256, dtype=torch.float64)


def test_loader_shape_reads_a_real_dataloader():
    loader = DataLoader(Pairs(), batch_size=4, num_workers=3, prefetch_factor=5, pin_memory=False)
    shape = ggt.loader_shape(loader)
    assert shape["num_workers"] == 3 and shape["prefetch_factor"] == 5 and shape["batch_size"] == 4
    assert shape["sharing_strategy"] in {"file_descriptor", "file_system"}
    # x: 4×1000 float32 = 16000 B → 4 pages; y: 4 int64 → 1 page; strings cost no shm.
    assert shape["batch_bytes"] == 4 * 4096 + 4096


def test_iterable_dataset_and_defaults():
    loader = DataLoader(Stream(), batch_size=8, num_workers=2)
    shape = ggt.loader_shape(loader)
    assert shape["prefetch_factor"] == 2  # PyTorch's default
    assert shape["batch_bytes"] == 8 * 256 * 8  # 16 KiB, page aligned
    assert ggt.loader_shape(DataLoader(Stream(), batch_size=8))["batch_bytes"] == 0


def test_check_dataloader_of_batches_without_tensors_needs_no_shm():
    class Words(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return f"word {i}"

    loader = DataLoader(Words(), batch_size=4, num_workers=2)
    assert ggt.loader_shape(loader)["batch_bytes"] == 0
    [check] = ggt.check_dataloader(loader).checks
    assert check.status == "ok" and "no tensors" in check.reason
    # A batch_bytes=0 the caller gives is a mistake, refused as gpuguard.shm_required_bytes does.
    with pytest.raises(ValueError, match="batch_bytes"):
        ggt.check_dataloader(loader, batch_bytes=0)


def test_check_dataloader_flags_a_loader_bigger_than_shm(tmp_path):
    loader = DataLoader(Pairs(), batch_size=4, num_workers=2)
    huge = ggt.check_dataloader(loader, batch_bytes=2**40, local_processes=1)
    [f] = huge.findings
    assert f.rule == "GG001" and f.severity == "error"
    assert f.evidence["required_bytes"] == gpuguard.shm_required_bytes(2, 2**40)
    assert "sizeLimit" in f.fix and "--shm-size" in f.fix
    fine = ggt.check_dataloader(loader, local_processes=1)
    assert [x for x in fine.findings if x.severity == "error"] == []
    with pytest.raises(ValueError, match="batch_bytes"):
        ggt.check_dataloader(loader, batch_bytes=-1)


def test_local_processes_multiply_the_need(monkeypatch):
    loader = DataLoader(Pairs(), batch_size=4, num_workers=2)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    r = ggt.check_dataloader(loader, batch_bytes=2**40)
    assert r.findings[0].evidence["local_processes"] == 8


def test_guard_strict_raises_and_warns():
    loader = DataLoader(Pairs(), batch_size=4, num_workers=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(gpuguard.PreflightError) as exc:
            ggt.guard(loader=loader, batch_bytes=2**40, strict=True, quiet=True)
    assert any(issubclass(w.category, gpuguard.GpuGuardWarning) for w in caught)
    assert isinstance(exc.value, gpuguard.GpuGuardError)
    assert any(f.rule == "GG001" for f in exc.value.report.findings)
    report = ggt.guard(loader=loader, quiet=True)
    assert isinstance(report, gpuguard.Report)


def test_checkpoint_cadence():
    kw = dict(checkpoint_seconds=120, hourly_gpu_cost=32, interruption_rate=0.3, nodes=8)
    rare = ggt.check_checkpoint_cadence(every_n_steps=50_000, seconds_per_step=2.0, **kw)
    assert rare["finding"] is not None and "too rarely" in rare["finding"].message
    assert rare["preemption_cost"] == pytest.approx(32 * 50_000 * 2.0 / 2 / 3600)
    best = ggt.check_checkpoint_cadence(interval_seconds=rare["optimal_interval_seconds"], **kw)
    assert best["finding"] is None
    often = ggt.check_checkpoint_cadence(interval_seconds=60, **kw)
    assert "too often" in often["finding"].message
    with pytest.raises(ValueError):
        ggt.check_checkpoint_cadence(every_n_steps=10, **kw)
