"""Benchmark of the checkpoint store (issue #7): save + verify a 1 GiB checkpoint against plain
open().write() + fsync of the same bytes, in one run. Not part of CI (it writes GiBs).

    python benches/store/bench_store.py [--gib 1] [--files 1] [--rounds 3] [--dir /tmp/gg-store-bench]

Prints the plain write time, the store's save time and overhead ratio, and verification speed
with the file in the page cache (warm) and after evicting it (cold, posix_fadvise DONTNEED).
Targets: overhead < 10% of the plain write; verification >= 1 GB/s.
"""

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import gpuguard

BLOCK = 64 << 20


def write_files(directory: Path, files: int, total: int, block: bytes) -> None:
    per_file = total // files
    for i in range(files):
        with open(directory / f"shard{i:03}.bin", "wb") as f:
            left = per_file
            while left:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n


def evict(directory: Path) -> None:
    for p in directory.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--files", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/gg-store-bench")
    args = ap.parse_args()
    total = int(args.gib * (1 << 30))
    root = Path(args.dir)
    shutil.rmtree(root, ignore_errors=True)
    (root / "plain").mkdir(parents=True)
    (root / "store").mkdir()
    block = os.urandom(BLOCK)
    store = gpuguard.CheckpointStore(root / "store", keep_last=1)
    plain_s, store_s, warm_s, cold_s, fsync_s, commit_s = [], [], [], [], [], []
    for r in range(args.rounds):
        # Alternate the order so neither side always runs on a just-flushed disk.
        for which in (("plain", "store") if r % 2 == 0 else ("store", "plain")):
            if which == "plain":
                target = root / "plain" / f"r{r}"
                target.mkdir()
                t = time.perf_counter()
                write_files(target, args.files, total, block)
                t_written = time.perf_counter()
                for p in sorted(target.iterdir()):
                    fd = os.open(p, os.O_RDONLY)
                    os.fsync(fd)
                    os.close(fd)
                fd = os.open(target, os.O_RDONLY)
                os.fsync(fd)  # the directory entry too, as a careful plain writer would
                os.close(fd)
                plain_s.append(time.perf_counter() - t)
                fsync_s.append(plain_s[-1] - (t_written - t))
                shutil.rmtree(target)
            else:
                t = time.perf_counter()
                with store.save(r) as path:
                    write_files(path, args.files, total, block)
                    t_written = time.perf_counter()
                store_s.append(time.perf_counter() - t)
                commit_s.append(time.perf_counter() - t_written)
        t = time.perf_counter()
        latest = store.latest()
        warm_s.append(time.perf_counter() - t)
        assert latest is not None and latest.step == r and latest.total_bytes == total
        evict(latest.path)
        t = time.perf_counter()
        assert store.latest().step == r
        cold_s.append(time.perf_counter() - t)
    plain, saved = statistics.median(plain_s), statistics.median(store_s)
    gb = total / 1e9
    print(f"checkpoint: {total / (1 << 30):.2f} GiB in {args.files} file(s), {args.rounds} rounds (medians), dir {root}")
    print(f"plain write+fsync : {plain:7.3f} s  ({gb / plain:.2f} GB/s)  rounds {[round(x, 3) for x in plain_s]}")
    print(f"store save        : {saved:7.3f} s  ({gb / saved:.2f} GB/s)  rounds {[round(x, 3) for x in store_s]}")
    print(f"store overhead    : {100 * (saved - plain) / plain:+6.1f} % of the plain write (target < 10 %)")
    # The disk is shared and noisy; the publish step against the plain fsync step isolates what
    # the store adds (hash, manifest, renames, directory fsyncs) from the user's own write.
    extra = statistics.median(commit_s) - statistics.median(fsync_s)
    print(f"plain fsync step  : {statistics.median(fsync_s):7.3f} s   store publish step: {statistics.median(commit_s):7.3f} s")
    print(f"store's own work  : {extra:+7.3f} s = {100 * extra / plain:+.1f} % of the plain write (publish minus fsync)")
    print(f"verify, warm cache: {statistics.median(warm_s):7.3f} s  ({gb / statistics.median(warm_s):.2f} GB/s)")
    print(f"verify, evicted   : {statistics.median(cold_s):7.3f} s  ({gb / statistics.median(cold_s):.2f} GB/s)  (target >= 1 GB/s)")
    store.close()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
