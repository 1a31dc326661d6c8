"""Child process of test_torch_shm.py: runs inside a private mount namespace whose /dev/shm is a
tmpfs of a chosen size. Asks gpuguard for its verdict on a DataLoader, then iterates the loader to
the end like a training loop, and prints one JSON line: the verdict and what really happened."""

import json
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset

import gpuguard.torch as ggt


class Blobs(Dataset):
    def __init__(self, n, sample_floats):
        self.n, self.sample_floats = n, sample_floats

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.full((self.sample_floats,), float(i))


def main():
    workers, batch_bytes, prefetch = (int(a) for a in sys.argv[1:4])
    batch_size = 8
    sample_floats = batch_bytes // batch_size // 4
    batches = workers * prefetch * 3 + 6
    loader = DataLoader(
        Blobs(batches * batch_size, sample_floats), batch_size=batch_size, num_workers=workers, prefetch_factor=prefetch
    )
    report = ggt.check_dataloader(loader, local_processes=1)
    verdict = {
        "flagged": any(f.rule == "GG001" and f.severity == "error" for f in report.findings),
        "required_bytes": report.findings[0].evidence["required_bytes"] if report.findings else None,
        "measured_batch_bytes": ggt.loader_shape(loader)["batch_bytes"],
    }
    try:
        seen = 0
        for batch in loader:  # the loop holds each batch until the next one arrives
            seen += 1
            time.sleep(0.005)  # a slow consumer lets every prefetch slot fill
            assert batch.shape[0] == batch_size
        outcome, error = ("ran" if seen == batches else "short"), None
    except Exception as e:  # noqa: BLE001 - the point is to report what PyTorch raised
        text = f"{type(e).__name__}: {e}"
        outcome, error = "died", text[:200] + " ... " + text[-600:]
    print(json.dumps({**verdict, "outcome": outcome, "error": error}), flush=True)


if __name__ == "__main__":
    main()
