#!/usr/bin/env python3
"""Measure how much /dev/shm a real PyTorch DataLoader needs.

Two modes:

  child   Run one DataLoader epoch inside whatever /dev/shm this process sees
          and exit 0 on success, nonzero on failure (printing the error).
  driver  For a grid of configurations, binary-search the smallest private
          tmpfs /dev/shm (``unshare -m`` + ``mount -t tmpfs -o size=...``) in
          which ``child`` succeeds, and write a CSV plus a table.

The driver needs root (or CAP_SYS_ADMIN) for ``unshare -m`` and ``mount``.
Every probe runs in its own mount namespace, so the host /dev/shm is never
touched.

Rerun the whole calibration (55 configs, about 45 min on 2 CPU cores):

    python3 benches/shm/calibrate_dataloader_shm.py driver \
        --log benches/shm/dataloader_shm_run.log

Rerun some configs only and merge them into the existing CSV:

    python3 benches/shm/calibrate_dataloader_shm.py driver --list
    python3 benches/shm/calibrate_dataloader_shm.py driver --only 24,43 --merge

Print the table of the CSV:

    python3 benches/shm/calibrate_dataloader_shm.py driver --table

Quick smoke run (a few configs):

    python3 benches/shm/calibrate_dataloader_shm.py driver --grid quick \
        --csv /tmp/shm.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings

MIB = 1024 * 1024
KIB = 1024
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CSV = os.path.join(HERE, "dataloader_shm_measurements.csv")
DEFAULT_ERRLOG = os.path.join(HERE, "dataloader_shm_errors.log")

CSV_COLUMNS = [
    "workers",
    "prefetch_factor",
    "batch_bytes",
    "loaders",
    "sharing_strategy",
    "consumer",
    "zip_style",
    "min_ok_bytes",
    "max_fail_bytes",
    "min_ok_in_batches",
    "classic_rule_bytes",
    "candidate_bytes",
    # extra columns (not part of the formula, for judging the measurement)
    "resolution_bytes",
    "probes",
    "reconfirm_min_ok",
    "peak_used_bytes",
    "fail_kind",
    "predicted_bytes",
    "ok_at_candidate",
    "ok_at_predicted",
    "ok_at_predicted_minus_4k",
]


# --------------------------------------------------------------------------
# child
# --------------------------------------------------------------------------


def shm_used_bytes(path: str = "/dev/shm") -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def child_main(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore")
    import threading

    import torch
    import torch.multiprocessing as tmp
    from torch.utils.data import DataLoader, Dataset

    torch.set_num_threads(1)
    if args.strategy != "default":
        tmp.set_sharing_strategy(args.strategy)
    strategy = tmp.get_sharing_strategy()

    batch_bytes = args.batch_bytes
    batch_size = args.batch_size
    if batch_bytes % (4 * batch_size):
        print(f"CHILD_BADARGS batch_bytes {batch_bytes} not divisible by 4*{batch_size}")
        return 2
    sample_numel = batch_bytes // 4 // batch_size
    w, p = args.workers, args.prefetch
    num_batches = args.num_batches or (w * p * 3 + 10)

    class Synthetic(Dataset):
        """Each sample is a float32 vector; one collated batch is exactly B bytes."""

        def __len__(self) -> int:
            return num_batches * batch_size

        def __getitem__(self, idx: int):
            return torch.full((sample_numel,), float(idx), dtype=torch.float32)

    def make_loader() -> DataLoader:
        return DataLoader(
            Synthetic(),
            batch_size=batch_size,
            shuffle=False,
            num_workers=w,
            prefetch_factor=p,
            pin_memory=False,
        )

    peak = [0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                u = shm_used_bytes()
            except OSError:
                u = 0
            if u > peak[0]:
                peak[0] = u
            time.sleep(0.0005)

    poller = None
    if args.poll:
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()

    base_used = shm_used_bytes()
    t0 = time.monotonic()
    steps = 0
    checksum = 0.0
    try:
        if args.loaders == 1:
            for batch in make_loader():
                # The loop variable keeps the previous batch alive until the
                # next one has been received, as in a real training loop.
                x = batch.sum()
                checksum += float(x)
                steps += 1
                if args.consumer == "slow":
                    time.sleep(args.sleep)
        elif args.zip_style == "unpack":
            # for a, b in zip(la, lb): the tuple is unpacked at once.
            if args.loaders != 2:
                print("CHILD_BADARGS --zip-style unpack needs --loaders 2")
                return 2
            la, lb = make_loader(), make_loader()
            for a, b in zip(la, lb):
                x = a.sum() + b.sum()
                checksum += float(x)
                steps += 1
                if args.consumer == "slow":
                    time.sleep(args.sleep)
        else:
            # for batches in zip(...): the loop variable holds the tuple.
            # CPython's zip keeps and reuses its first result tuple, so one
            # stale batch stays alive while the next tuple is being filled.
            loaders = [make_loader() for _ in range(args.loaders)]
            for batches in zip(*loaders):
                x = sum(b.sum() for b in batches)
                checksum += float(x)
                steps += 1
                if args.consumer == "slow":
                    time.sleep(args.sleep)
    except BaseException as exc:  # noqa: BLE001 - we report everything
        stop.set()
        msg = str(exc).strip().replace("\n", " | ")
        print(f"CHILD_FAIL {type(exc).__name__}: {msg}", flush=True)
        return 1
    stop.set()
    if poller is not None:
        poller.join(timeout=1)
    if steps != num_batches:
        print(f"CHILD_FAIL short epoch: {steps} of {num_batches} batches", flush=True)
        return 1
    dt = time.monotonic() - t0
    print(
        f"CHILD_OK steps={steps} secs={dt:.2f} strategy={strategy} "
        f"base_used={base_used} peak_used={peak[0]}",
        flush=True,
    )
    return 0


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


class Probe:
    def __init__(self, ok: bool, rc: int, secs: float, out: str, peak: int):
        self.ok, self.rc, self.secs, self.out, self.peak = ok, rc, secs, out, peak


def classify(out: str, rc: int) -> str:
    text = out
    if rc in (124, -9) and "CHILD_FAIL" not in text:
        return "timeout"
    keys = [
        ("Bus error", "bus_error"),
        ("No space left on device", "enospc"),
        ("unable to allocate shared memory", "shm_alloc"),
        ("unable to write to file", "shm_write"),
        ("killed by signal", "worker_killed"),
        ("unexpectedly", "worker_exited"),
        ("unable to mmap", "mmap"),
        ("Too many open files", "emfile"),
    ]
    kinds = [k for needle, k in keys if needle in text]
    if kinds:
        return "+".join(dict.fromkeys(kinds))
    if rc < 0:
        return f"signal{-rc}"
    return f"rc{rc}"


def run_probe(cfg: dict, size_bytes: int, timeout: float, poll: bool = False) -> Probe:
    size_k = max(4, (size_bytes + KIB - 1) // KIB)
    child_cmd = [
        sys.executable,
        "-W",
        "ignore",
        os.path.abspath(__file__),
        "child",
        "--workers", str(cfg["workers"]),
        "--prefetch", str(cfg["prefetch_factor"]),
        "--batch-bytes", str(cfg["batch_bytes"]),
        "--batch-size", str(cfg.get("batch_size", 8)),
        "--loaders", str(cfg["loaders"]),
        "--strategy", cfg["sharing_strategy"],
        "--consumer", cfg["consumer"],
    ]
    if cfg["loaders"] > 1:
        child_cmd += ["--zip-style", cfg.get("zip_style", "unpack")]
    if poll:
        child_cmd.append("--poll")
    inner = (
        f"mount -t tmpfs -o size={size_k}k tmpfs /dev/shm && exec "
        + " ".join(shlex.quote(c) for c in child_cmd)
    )
    cmd = ["unshare", "-m", "sh", "-c", inner]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        out = (out or "") + "\nDRIVER_TIMEOUT"
        rc = 124
    # Reap any stragglers of this probe (workers, torch_shm_manager).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    secs = time.monotonic() - t0
    ok = rc == 0 and "CHILD_OK" in out
    peak = 0
    for tok in out.split():
        if tok.startswith("peak_used="):
            peak = int(tok.split("=", 1)[1])
    return Probe(ok, rc, secs, out, peak)


class ErrorLog:
    def __init__(self, path: str, append: bool = False):
        self.path = path
        self.seen: set[str] = set()
        if append and os.path.exists(path):
            return
        with open(path, "w") as f:
            f.write("# One example of each distinct failure seen by the calibration driver.\n")

    def add(self, cfg: dict, size: int, probe: Probe) -> None:
        kind = classify(probe.out, probe.rc)
        key = f"{kind}|{cfg['sharing_strategy']}|{cfg['loaders']}"
        if key in self.seen:
            return
        self.seen.add(key)
        with open(self.path, "a") as f:
            f.write(f"\n===== kind={kind} rc={probe.rc} size={size} cfg={cfg}\n")
            f.write(probe.out.strip()[-6000:] + "\n")


PAGE = 4096


def page_round(n: int) -> int:
    return (n + PAGE - 1) // PAGE * PAGE


def sem_pages(workers: int) -> int:
    """POSIX semaphores CPython's multiprocessing creates per DataLoader iterator.

    Each ``sem_open`` semaphore occupies one 4 KiB tmpfs page in /dev/shm
    (unlinked at once, but the page stays allocated while mapped):
    3 per ``multiprocessing.Queue`` (rlock, wlock, bounded semaphore) for the
    W index queues and the one result queue, plus 5 for ``done_event``
    (an ``Event`` = Condition(Lock) with 3 semaphores + Lock + flag).
    """
    return 3 * workers + 8


def batch_cost(b: int, strategy: str) -> int:
    """tmpfs bytes one collated batch occupies.

    file_descriptor (Linux default): the batch rounded up to whole pages.
    file_system: a 64-byte refcount header precedes the data, so a batch of
    whole pages costs one extra page.
    """
    return page_round(b + 64) if strategy == "file_system" else page_round(b)


def predicted_bytes(w: int, p: int, b: int, loaders: int,
                    strategy: str = "default", zip_style: str = "-") -> int:
    cost = batch_cost(b, strategy)
    total = ((w * p + 2) * cost + sem_pages(w) * PAGE) * loaders
    if loaders > 1 and zip_style == "tuple":
        total += cost  # the stale batch in zip's reused result tuple
    return total


def repeat(cfg: dict, size: int, n: int, timeout: float, errlog: "ErrorLog", log, label: str,
           stop_on_fail: bool = True) -> str:
    ok = 0
    runs = 0
    for _ in range(n):
        pr = run_probe(cfg, size, timeout)
        runs += 1
        if pr.ok:
            ok += 1
        else:
            errlog.add(cfg, size, pr)
        log(f"    {label:<9} {size / MIB:9.4f} MiB -> {'ok' if pr.ok else 'FAIL'} "
            f"({pr.secs:.1f}s{'' if pr.ok else ', ' + classify(pr.out, pr.rc)})")
        if not pr.ok and stop_on_fail:
            break
    return f"{ok}/{runs}"


def search(cfg: dict, timeout: float, max_probes: int, errlog: ErrorLog, log) -> dict:
    w, p, b, nl = cfg["workers"], cfg["prefetch_factor"], cfg["batch_bytes"], cfg["loaders"]
    res = cfg.get("resolution") or max(MIB, b // 4)
    max_probes = cfg.get("max_probes", max_probes)
    # A generous size first: confirms the config works at all, and the
    # in-process poller records the peak /dev/shm usage it saw.
    hi = (w * p + 4) * b * nl + cfg.get("headroom", 16 * MIB)
    probes = 0
    gen = None
    for _ in range(3):
        gen = run_probe(cfg, hi, timeout, poll=True)
        log(f"    generous  {hi / MIB:9.4f} MiB -> {'ok' if gen.ok else 'FAIL'} "
            f"({gen.secs:.1f}s, peak {gen.peak / MIB:.2f} MiB)")
        if gen.ok:
            break
        errlog.add(cfg, hi, gen)
        hi *= 2
    if not gen.ok:
        return {"min_ok": "", "max_fail": "", "probes": probes, "peak": 0,
                "fail_kind": classify(gen.out, gen.rc), "reconfirm": "", "res": res}
    ok_at, fail_at = hi, 0
    fail_kind = ""
    while ok_at - fail_at > res and probes < max_probes:
        mid = (ok_at + fail_at) // 2
        mid = max(res, (mid // res) * res)
        if mid <= fail_at or mid >= ok_at:
            mid = (ok_at + fail_at) // 2
        pr = run_probe(cfg, mid, timeout)
        probes += 1
        log(f"    probe     {mid / MIB:9.4f} MiB -> {'ok' if pr.ok else 'FAIL'} "
            f"({pr.secs:.1f}s{'' if pr.ok else ', ' + classify(pr.out, pr.rc)})")
        if pr.ok:
            ok_at = mid
        else:
            fail_at = mid
            fail_kind = classify(pr.out, pr.rc)
            errlog.add(cfg, mid, pr)
    # Re-run at the minimum size that worked: near the threshold the outcome
    # depends on timing. If the rerun fails, treat that size as failing and
    # move up one step (at most twice).
    reconfirm = "ok"
    for _ in range(8):
        pr = run_probe(cfg, ok_at, timeout)
        log(f"    reconfirm {ok_at / MIB:9.4f} MiB -> {'ok' if pr.ok else 'FAIL'}")
        if pr.ok:
            break
        errlog.add(cfg, ok_at, pr)
        reconfirm = "flaky"
        fail_at = max(fail_at, ok_at)
        fail_kind = classify(pr.out, pr.rc)
        ok_at = ok_at + res
    else:
        reconfirm = "FAIL"  # never succeeded twice at one size: min_ok unverified
    # Direct checks of the two formulas.
    cand = (w * p + 2) * b * nl
    pred = predicted_bytes(w, p, b, nl, cfg["sharing_strategy"], cfg.get("zip_style", "-"))
    at_cand = repeat(cfg, cand, 2, timeout, errlog, log, "candidate")
    at_pred = repeat(cfg, pred, 2, timeout, errlog, log, "predicted")
    at_pred_m = repeat(cfg, pred - PAGE, 1, timeout, errlog, log, "pred-4k")
    return {
        "min_ok": ok_at,
        "max_fail": fail_at,
        "probes": probes,
        "peak": gen.peak,
        "fail_kind": fail_kind,
        "reconfirm": reconfirm,
        "res": res,
        "at_cand": at_cand,
        "at_pred": at_pred,
        "at_pred_m": at_pred_m,
        "pred": pred,
    }


def build_grid(name: str) -> list[dict]:
    def c(w, p, b, loaders=1, strategy="default", consumer="slow", **kw):
        d = dict(workers=w, prefetch_factor=p, batch_bytes=b, loaders=loaders,
                 sharing_strategy=strategy, consumer=consumer)
        d.update(kw)
        return d

    if name == "quick":
        return [c(2, 2, 8 * MIB), c(1, 1, 1 * MIB),
                c(4, 2, 64 * KIB, resolution=4 * KIB, headroom=MIB, max_probes=10)]

    grid: list[dict] = []
    # Main grid: default strategy (file_descriptor on Linux), slow consumer.
    for w in (1, 2, 4):
        for b in (1, 4, 8, 16):
            for p in (1, 2, 4):
                grid.append(c(w, p, b * MIB))
    # Fast consumer for a subset.
    for w, p, b in [(1, 2, 8), (2, 2, 8), (4, 2, 8), (2, 4, 4), (2, 1, 16), (4, 4, 4)]:
        grid.append(c(w, p, b * MIB, consumer="fast"))
    # file_system sharing strategy.
    for w, p, b, cons in [(2, 2, 8, "slow"), (4, 2, 4, "slow"), (2, 2, 8, "fast"), (1, 4, 16, "slow")]:
        grid.append(c(w, p, b * MIB, strategy="file_system", consumer=cons))
    # Two DataLoaders iterated together with zip().
    for w, p, b in [(2, 2, 8), (1, 2, 4), (4, 1, 4)]:
        grid.append(c(w, p, b * MIB, loaders=2, zip_style="unpack"))
    for w, p, b in [(2, 2, 8), (1, 2, 4), (4, 1, 4)]:
        grid.append(c(w, p, b * MIB, loaders=2, zip_style="tuple"))
    grid.append(c(2, 2, 8 * MIB, loaders=2, strategy="file_system", zip_style="unpack"))
    # Tiny batches at 4 KiB resolution: the fixed (per-worker) overhead.
    grid.append(c(4, 2, 64 * KIB, resolution=4 * KIB, headroom=MIB, max_probes=10))
    grid.append(c(1, 1, 64 * KIB, resolution=4 * KIB, headroom=MIB, max_probes=10))
    return grid


def driver_main(args: argparse.Namespace) -> int:
    if args.table:
        with open(args.csv, newline="") as f:
            print_table(list(csv.DictReader(f)))
        return 0
    full_grid = build_grid(args.grid)
    if args.list:
        for i, cfg in enumerate(full_grid, 1):
            print(i, cfg_row(cfg))
        return 0
    if os.geteuid() != 0:
        print("driver needs root for unshare -m / mount", file=sys.stderr)
        return 2
    grid = full_grid
    if args.only:
        picks = [int(x) for x in args.only.split(",")]
        grid = [full_grid[i - 1] for i in picks]
    if args.limit:
        grid = grid[: args.limit]
    old_rows: dict = {}
    if args.merge and os.path.exists(args.csv):
        with open(args.csv, newline="") as f:
            for r in csv.DictReader(f):
                r.setdefault("zip_style", "tuple" if r["loaders"] != "1" else "-")
                if not r.get("zip_style"):
                    r["zip_style"] = "tuple" if r["loaders"] != "1" else "-"
                old_rows[row_key(r)] = {k: r.get(k, "") for k in CSV_COLUMNS}
    grid_keys = [row_key(cfg_row(cfg)) for cfg in full_grid]
    errlog = ErrorLog(args.errlog, append=args.merge)
    logf = open(args.log, "a") if args.log else None

    def log(msg: str) -> None:
        print(msg, flush=True)
        if logf:
            logf.write(msg + "\n")
            logf.flush()

    import platform

    ver = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import torch;print(torch.__version__)"],
        capture_output=True, text=True,
    ).stdout.strip()
    log(f"# torch {ver}, python {platform.python_version()}, {os.cpu_count()} cpus, "
        f"{len(grid)} configs, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    rows = []
    t_start = time.monotonic()
    for i, cfg in enumerate(grid, 1):
        w, p, b, nl = cfg["workers"], cfg["prefetch_factor"], cfg["batch_bytes"], cfg["loaders"]
        log(f"[{i}/{len(grid)}] W={w} P={p} B={b / MIB:g}MiB loaders={nl} "
            f"strategy={cfg['sharing_strategy']} consumer={cfg['consumer']} "
            f"(t={time.monotonic() - t_start:.0f}s)")
        r = search(cfg, args.timeout, args.max_probes, errlog, log)
        min_ok = r["min_ok"]
        row = {
            "workers": w,
            "prefetch_factor": p,
            "batch_bytes": b,
            "loaders": nl,
            "sharing_strategy": cfg["sharing_strategy"] if cfg["sharing_strategy"] != "default"
            else "file_descriptor(default)",
            "consumer": cfg["consumer"],
            "zip_style": cfg.get("zip_style", "-") if nl > 1 else "-",
            "min_ok_bytes": min_ok,
            "max_fail_bytes": r["max_fail"],
            "min_ok_in_batches": f"{min_ok / b:.2f}" if min_ok != "" else "",
            "classic_rule_bytes": w * p * b * nl,
            "candidate_bytes": (w * p + 2) * b * nl,
            "resolution_bytes": r.get("res", ""),
            "probes": r["probes"],
            "reconfirm_min_ok": r["reconfirm"],
            "peak_used_bytes": r["peak"],
            "fail_kind": r["fail_kind"],
            "predicted_bytes": r.get("pred", ""),
            "ok_at_candidate": r.get("at_cand", ""),
            "ok_at_predicted": r.get("at_pred", ""),
            "ok_at_predicted_minus_4k": r.get("at_pred_m", ""),
        }
        rows.append(row)
        if args.merge:
            for r in rows:
                old_rows[row_key(r)] = r
            # Keep the grid's order; drop stale rows that the grid no longer has.
            merged = [old_rows[k] for k in grid_keys if k in old_rows]
            write_csv(args.csv, merged)
        else:
            write_csv(args.csv, rows)
    log(f"# done in {time.monotonic() - t_start:.0f}s")
    if args.merge:
        with open(args.csv, newline="") as f:
            rows = list(csv.DictReader(f))
    print_table(rows, log)
    return 0


def strategy_label(s: str) -> str:
    return "file_descriptor(default)" if s in ("default", "file_descriptor") else s


def cfg_row(cfg: dict) -> dict:
    return {
        "workers": cfg["workers"], "prefetch_factor": cfg["prefetch_factor"],
        "batch_bytes": cfg["batch_bytes"], "loaders": cfg["loaders"],
        "sharing_strategy": strategy_label(cfg["sharing_strategy"]),
        "consumer": cfg["consumer"],
        "zip_style": cfg.get("zip_style", "-") if cfg["loaders"] > 1 else "-",
    }


def row_key(r: dict) -> tuple:
    return tuple(str(r[k]) for k in ("workers", "prefetch_factor", "batch_bytes", "loaders",
                                     "sharing_strategy", "consumer", "zip_style"))


def write_csv(path: str, rows: list[dict]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        wr.writeheader()
        wr.writerows(rows)
    os.replace(tmp, path)


def print_table(rows: list[dict], log=print) -> None:
    def num(v):
        try:
            return int(v)
        except (TypeError, ValueError):
            return v

    rows = [{k: num(v) if k.endswith("_bytes") or k in ("workers", "prefetch_factor", "loaders")
             else v for k, v in r.items()} for r in rows]
    def mib(v):
        return "" if v == "" else f"{v / MIB:.2f}"

    hdr = (f"{'W':>2} {'P':>2} {'B MiB':>6} {'L':>2} {'strategy':>15} {'cons':>4} "
           f"{'min_ok':>8} {'max_fail':>8} {'ok/B':>6} {'WPB':>7} {'(WP+2)B':>8} "
           f"{'peak':>8} {'cand>=ok':>8} {'reconf':>6} {'pred':>9} {'@cand':>5} {'@pred':>5} {'@p-4k':>5}")
    log(hdr)
    log("-" * len(hdr))
    for r in rows:
        cand_ok = "" if r["min_ok_bytes"] == "" else (
            "yes" if r["candidate_bytes"] >= r["min_ok_bytes"] else "NO")
        strat = "fd" if r["sharing_strategy"].startswith("file_descriptor") else "file_system"
        if str(r["loaders"]) != "1":
            strat += "/" + r.get("zip_style", "")
        log(f"{r['workers']:>2} {r['prefetch_factor']:>2} {r['batch_bytes'] / MIB:>6.3g} "
            f"{r['loaders']:>2} {strat:>15} {r['consumer']:>4} "
            f"{mib(r['min_ok_bytes']):>8} {mib(r['max_fail_bytes']):>8} "
            f"{r['min_ok_in_batches']:>6} {mib(r['classic_rule_bytes']):>7} "
            f"{mib(r['candidate_bytes']):>8} {mib(r['peak_used_bytes']):>8} {cand_ok:>8} "
            f"{r['reconfirm_min_ok'][:6]:>6} {mib(r['predicted_bytes']):>9} "
            f"{r['ok_at_candidate']:>5} {r['ok_at_predicted']:>5} {r['ok_at_predicted_minus_4k']:>5}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    ch = sub.add_parser("child", help="run one DataLoader epoch in the current /dev/shm")
    ch.add_argument("--workers", type=int, required=True)
    ch.add_argument("--prefetch", type=int, default=2)
    ch.add_argument("--batch-bytes", type=int, required=True)
    ch.add_argument("--batch-size", type=int, default=8)
    ch.add_argument("--loaders", type=int, default=1)
    ch.add_argument("--strategy", default="default",
                    choices=["default", "file_descriptor", "file_system"])
    ch.add_argument("--consumer", default="slow", choices=["slow", "fast"])
    ch.add_argument("--zip-style", default="unpack", choices=["unpack", "tuple"],
                    help="with --loaders 2: 'for a, b in zip(...)' or 'for t in zip(...)'")
    ch.add_argument("--sleep", type=float, default=0.01)
    ch.add_argument("--num-batches", type=int, default=0)
    ch.add_argument("--poll", action="store_true", help="record peak /dev/shm usage")
    dr = sub.add_parser("driver", help="binary-search the minimum /dev/shm per config")
    dr.add_argument("--grid", default="full", choices=["full", "quick"])
    dr.add_argument("--limit", type=int, default=0)
    dr.add_argument("--only", default="",
                    help="comma-separated 1-based indices into the grid (see --list)")
    dr.add_argument("--merge", action="store_true",
                    help="replace matching rows of an existing --csv instead of rewriting it")
    dr.add_argument("--list", action="store_true", help="print the grid and exit")
    dr.add_argument("--table", action="store_true", help="print the table of --csv and exit")
    dr.add_argument("--timeout", type=float, default=60.0)
    dr.add_argument("--max-probes", type=int, default=8)
    dr.add_argument("--csv", default=DEFAULT_CSV)
    dr.add_argument("--errlog", default=DEFAULT_ERRLOG)
    dr.add_argument("--log", default="")
    args = ap.parse_args()
    if args.mode == "child":
        return child_main(args)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
