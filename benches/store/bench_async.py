"""Benchmark (issue #16): how long a training loop stalls for a checkpoint of the same state
saved synchronously (``store.save``) and asynchronously (``store.save_async`` with a writer
thread, and with ``torch.distributed.checkpoint.async_save``), in one run. Not part of CI (it
writes GiBs).

    python benches/store/bench_async.py [--gib 1] [--rounds 3] [--dir /tmp/gg-async-bench]

The stall is the wall time the loop thread spends inside the save call: for a sync save the whole
write + fsync + hash + publish; for an async one the snapshot copy (a GPU job's device-to-host
copy) and handing off. It also reports the whole round trip of the async save (until published)
and the loop's step time while it runs in the background. PyTorch reports 148.8 s -> 6.3 s for a
7B model with DCP async_save; this prints our ratio for the state size given.
"""

import argparse
import shutil
import statistics
import threading
import time
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp

import gpuguard


def make_state(total: int) -> dict[str, torch.Tensor]:
    """Model + optimizer-like tensors of 64 MiB each, ``total`` bytes in all."""
    chunk = 64 << 20
    return {f"t{i:03}": torch.rand(chunk // 4) for i in range(max(1, total // chunk))}


def step(x: torch.Tensor) -> None:
    """One stand-in training step (a few matmuls)."""
    for _ in range(4):
        x = torch.tanh(x @ x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/gg-async-bench")
    args = ap.parse_args()
    total = int(args.gib * (1 << 30))
    root = Path(args.dir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    state = make_state(total)
    size = sum(t.nbytes for t in state.values())
    x = torch.rand(256, 256)
    t0 = time.perf_counter()
    for _ in range(20):
        step(x)
    idle_step = (time.perf_counter() - t0) / 20

    store = gpuguard.CheckpointStore(root, keep_last=1)
    stalls: dict[str, list[float]] = {"sync": [], "async-thread": [], "async-dcp": []}
    finished: dict[str, list[float]] = {"async-thread": [], "async-dcp": []}
    busy_steps: list[float] = []
    n = 0
    for _ in range(args.rounds):
        for kind in stalls:
            n += 1
            t0 = time.perf_counter()
            if kind == "sync":
                with store.save(n) as p:
                    torch.save(state, p / "state.pt")
                stalls[kind].append(time.perf_counter() - t0)
                continue
            if kind == "async-thread":
                snapshot = {k: v.clone() for k, v in state.items()}  # on a GPU: the D2H copy

                def write(p, snapshot=snapshot):
                    t = threading.Thread(target=torch.save, args=(snapshot, p / "state.pt"))
                    t.start()
                    return t

                job = store.save_async(n, write)
            else:
                job = store.save_async(n, lambda p: dcp.async_save(state, checkpoint_id=p, no_dist=True))
            stalls[kind].append(time.perf_counter() - t0)
            steps = 0
            t1 = time.perf_counter()
            while not job.done():
                step(x)
                steps += 1
            if steps:
                busy_steps.append((time.perf_counter() - t1) / steps)
            job.result()
            finished[kind].append(time.perf_counter() - t0)
    store.close()
    shutil.rmtree(root, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in stalls.items()}
    print(f"state: {size / 2**30:.2f} GiB in {len(state)} tensors, {args.rounds} round(s), store {root}")
    print(f"training-loop stall, sync save            : {med['sync']:8.3f} s")
    for kind in finished:
        print(
            f"training-loop stall, {kind:<20} : {med[kind]:8.3f} s  "
            f"(published after {statistics.median(finished[kind]):.2f} s in the background)"
        )
    for kind in finished:
        print(f"stall ratio sync / {kind:<22}: {med['sync'] / med[kind]:8.1f}x")
    if busy_steps:
        print(
            f"loop step while an async save runs: {statistics.median(busy_steps) * 1e3:.1f} ms "
            f"(idle: {idle_step * 1e3:.1f} ms)"
        )


if __name__ == "__main__":
    main()
