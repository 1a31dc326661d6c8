"""The checkpoint store in real training jobs: ranks of `torchrun` (gloo on the CPU) saving with
torch.distributed.checkpoint and with per-rank torch.save, a rank SIGKILLed in the middle of a
save, resume on every rank, async saves, and preemption by a real SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the training-job tests need PyTorch (pip install torch)")
import gpuguard  # noqa: E402

CHILD = Path(__file__).with_name("train_child.py")


def events(log: Path, rank: int) -> list[dict]:
    p = Path(f"{log}.{rank}")
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def run_job(ckpt, log, ranks, timeout=240, **env):
    """Runs the training child alone (ranks=0) or under torchrun; returns the exit code."""
    full = dict(os.environ, OMP_NUM_THREADS="1", **{k: str(v) for k, v in env.items()})
    args = [str(CHILD), str(ckpt), str(log)]
    if ranks:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", *args]
    else:
        cmd = [sys.executable, *args]
    r = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)
    return r


def runs(log, ranks, event):
    return [[e for e in events(log, r) if e["event"] == event] for r in range(max(ranks, 1))]


@pytest.mark.parametrize(
    "mode, ranks, kill_rank",
    [("dcp", 3, 1), ("torch", 2, 0)],
    ids=["dcp-3-ranks-kill-rank1", "torch.save-2-ranks-kill-rank0"],
)
def test_torchrun_saves_survives_a_rank_killed_mid_save_and_resumes_on_every_rank(tmp_path, mode, ranks, kill_rank):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    # 1. A job of `ranks` processes saves at steps 0, 2, 4: one checkpoint each, not one per rank.
    r = run_job(ckpt, log, ranks, STEPS=6, EVERY=2, SAVE=mode)
    assert r.returncode == 0, r.stderr[-3000:]
    reader = gpuguard.CheckpointStore(ckpt, read_only=True)
    assert [(c.step, c.status) for c in reader.list()] == [(0, "ok"), (2, "ok"), (4, "ok")]
    files = reader.latest().files
    if mode == "torch":
        assert files == [f"rank{i}.pt" for i in range(ranks)]
    else:
        assert ".metadata" in files and sum(f.endswith(".distcp") for f in files) >= 1
    for rank in range(ranks):
        assert [e["step"] for e in runs(log, ranks, "saved")[rank]] == [0, 2, 4]
    # 2. Resumed, it saves 6; at step 8 one rank is SIGKILLed with half a file written.
    r = run_job(ckpt, log, ranks, STEPS=12, EVERY=2, SAVE=mode, KILL_AT=8, KILL_RANK=kill_rank)
    assert r.returncode != 0
    assert [e["step"] for e in runs(log, ranks, "killing")[kill_rank]] == [8]
    listed = [(c.step, c.status) for c in gpuguard.CheckpointStore(ckpt, read_only=True).list()]
    published = [x for x in listed if x[1] != "partial"]
    assert published == [(2, "ok"), (4, "ok"), (6, "ok")], listed  # nothing torn under a real name
    saved6 = {rank: runs(log, ranks, "saved")[rank][-1] for rank in range(ranks)}
    assert all(e["step"] == 6 for e in saved6.values())
    # 3. The next job resumes every rank from step 6 with the parameters it had then.
    r = run_job(ckpt, log, ranks, STEPS=12, EVERY=2, SAVE=mode)
    assert r.returncode == 0, r.stderr[-3000:]
    for rank in range(ranks):
        start = runs(log, ranks, "start")[rank][-1]
        assert start["latest"] == 6 and start["start"] == 7, start
        assert start["params"] == saved6[rank]["params"], "resumed parameters differ from the saved ones"
    store = gpuguard.CheckpointStore(ckpt, read_only=True)
    assert [(c.step, c.status) for c in store.list()] == [(6, "ok"), (8, "ok"), (10, "ok")]
    print(f"{mode}: {ranks} ranks, rank {kill_rank} SIGKILLed mid-save: nothing torn published, resumed at 7")


def test_async_saves_under_torchrun_publish_once_all_ranks_wrote(tmp_path):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    r = run_job(ckpt, log, 2, STEPS=9, EVERY=2, SAVE="async", STEP_SLEEP=0.5)
    assert r.returncode == 0, r.stderr[-3000:]
    store = gpuguard.CheckpointStore(ckpt, read_only=True)
    listed = store.list()
    started = [e["step"] for e in runs(log, 2, "saved")[0]]
    assert started == [e["step"] for e in runs(log, 2, "saved")[1]], "ranks started different saves"
    # Saves start at least EVERY steps apart and never while one is in flight; each published one
    # is whole and has DCP's metadata written by the end of the async save.
    assert started[0] == 0 and all(b - a >= 2 for a, b in zip(started, started[1:])), started
    assert [c.step for c in listed] == started[-3:] and all(c.ok for c in listed), listed
    assert all(".metadata" in c.files for c in listed)
    r = run_job(ckpt, log, 2, STEPS=started[-1] + 2, EVERY=2, SAVE="async")
    assert r.returncode == 0, r.stderr[-3000:]
    for rank in range(2):
        start = runs(log, 2, "start")[rank][-1]
        assert start["start"] == started[-1] + 1
        assert start["params"] == runs(log, 2, "saved")[rank][len(started) - 1]["params"]


def wait_for_step(log, rank, step, proc, timeout=120, event="step"):
    """Waits until `rank` logged `event` (a finished step, or a finished save) at `step` or later;
    returns the rank's pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = [e for e in events(log, rank) if e["event"] == event]
        if steps and steps[-1]["step"] >= step:
            return steps[-1]["pid"]
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    raise AssertionError(f"rank {rank} never logged {event} at step {step}")


def start_job(ckpt, log, ranks, **env):
    full = dict(os.environ, OMP_NUM_THREADS="1", **{k: str(v) for k, v in env.items()})
    args = [str(CHILD), str(ckpt), str(log)]
    if ranks:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", *args]
    return subprocess.Popen([sys.executable, *args], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_mid_run_saves_exits_0_and_resume_loses_at_most_one_step(tmp_path):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    proc = start_job(ckpt, log, 0, PREEMPT=1, STEPS=100_000, EVERY=1_000_000, STEP_SLEEP=0.05, SAVE="torch")
    pid = wait_for_step(log, 0, 20, proc)
    os.kill(pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    ev = events(log, 0)
    last_step = [e for e in ev if e["event"] == "step"][-1]["step"]
    [preempted] = [e for e in ev if e["event"] == "preempted"]
    assert [e["step"] for e in ev if e["event"] == "saved"] == [0, preempted["step"]]
    latest = gpuguard.CheckpointStore(ckpt, read_only=True).latest()
    assert latest.step == preempted["step"] and latest.step >= 20
    assert last_step - latest.step <= 1, "the preempted run lost more than one step"
    proc = run_job(ckpt, log, 0, STEPS=latest.step + 3, SAVE="torch")
    assert proc.returncode == 0, proc.stderr[-3000:]
    start = [e for e in events(log, 0) if e["event"] == "start"][-1]
    assert start["start"] == latest.step + 1 and start["params"] == preempted_params(ev, latest.step)


def preempted_params(ev, step):
    return [e for e in ev if e["event"] == "saved" and e["step"] == step][-1]["params"]


def test_a_second_sigterm_or_no_save_in_the_window_falls_back_to_terminate(tmp_path):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    # A step longer than the notice: the save cannot come in time, the default action kills it.
    proc = start_job(ckpt, log, 0, PREEMPT=1, NOTICE=1, STEPS=1000, EVERY=1_000_000, STEP_SLEEP=4, SAVE="torch")
    # Step 0 is followed by the first save: a SIGTERM during that save is (rightly) answered by
    # it, so signal only once it is written and the job is inside step 1's 4 s.
    pid = wait_for_step(log, 0, 0, proc, event="saved")
    time.sleep(0.2)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM and time.monotonic() - t0 < 4
    # A second SIGTERM: give up at once.
    (tmp_path / "log.0").unlink()
    proc = start_job(ckpt, log, 0, PREEMPT=1, NOTICE=60, STEPS=1000, EVERY=1_000_000, STEP_SLEEP=4, SAVE="torch")
    pid = wait_for_step(log, 0, 1, proc)
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    store = gpuguard.CheckpointStore(ckpt, read_only=True)
    assert all(c.status in ("ok", "partial") for c in store.list())


def test_sigterm_to_one_rank_stops_every_rank_at_the_same_saved_step(tmp_path):
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    proc = start_job(ckpt, log, 3, PREEMPT=1, STEPS=100_000, EVERY=1_000_000, STEP_SLEEP=0.05, SAVE="dcp")
    pid = wait_for_step(log, 2, 10, proc)
    os.kill(pid, signal.SIGTERM)  # only rank 2 hears it
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    stops = [runs(log, 3, "preempted")[rank] for rank in range(3)]
    assert all(len(s) == 1 for s in stops), stops
    steps = {s[0]["step"] for s in stops}
    assert len(steps) == 1, f"ranks stopped at different steps: {stops}"
    latest = gpuguard.CheckpointStore(ckpt, read_only=True).latest()
    assert {latest.step} == steps


def test_sigterm_to_the_torchrun_agent_reaches_every_rank_which_saves_and_stops(tmp_path):
    """Kubernetes signals the container's main process: under torchrun that is the agent, which
    forwards SIGTERM to every worker (and itself exits 1 with SignalException, torch's choice)."""
    ckpt, log = tmp_path / "ckpt", tmp_path / "log"
    ckpt.mkdir()
    proc = start_job(ckpt, log, 2, PREEMPT=1, STEPS=100_000, EVERY=1_000_000, STEP_SLEEP=0.05, SAVE="dcp")
    wait_for_step(log, 1, 10, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=180)
    stops = [runs(log, 2, "preempted")[rank] for rank in range(2)]
    assert all(len(s) == 1 for s in stops) and stops[0][0]["step"] == stops[1][0]["step"], stops
    assert all(runs(log, 2, "stop")[rank] for rank in range(2)), "a worker did not finish cleanly"
    latest = gpuguard.CheckpointStore(ckpt, read_only=True).latest()
    assert latest.step == stops[0][0]["step"] and ".metadata" in latest.files
