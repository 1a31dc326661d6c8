"""The checkpoint store (GG003), for real: atomic saves, corruption detection, SIGKILL at random
points, a full disk (tmpfs in a private mount namespace) and the one-writer lock."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import gpuguard
from gpuguard import CheckpointStore, GpuGuardError


def payload(step: int, name: str, size: int) -> bytes:
    """Deterministic bytes of one file of a step: the test checks content, not only checksums."""
    rng = random.Random(f"{step}/{name}")
    return rng.randbytes(size)


def write_checkpoint(path, step, sizes=(4096, 20_000, 1)):
    (path / "optim").mkdir()
    for i, size in enumerate(sizes):
        name = f"shard{i}.bin" if i != 1 else "optim/state.bin"
        (path / name).write_bytes(payload(step, name, size))


def test_save_publishes_a_directory_and_prunes_to_keep_last(tmp_path):
    store = CheckpointStore(tmp_path, keep_last=2)
    for step in (10, 20, 30):
        with store.save(step) as path:
            assert path.is_dir() and path.parent == tmp_path and path.name.startswith(".tmp-")
            write_checkpoint(path, step)
    assert [(c.step, c.status) for c in store.list()] == [(20, "ok"), (30, "ok")]
    latest = store.latest()
    assert latest.step == 30 and latest.ok and latest.reason is None and latest.skipped == []
    assert latest.path == tmp_path / "step-0000000030"
    assert latest.files == ["optim/state.bin", "shard0.bin", "shard2.bin"]
    assert latest.total_bytes == 24_097
    assert (latest.path / "optim/state.bin").read_bytes() == payload(30, "optim/state.bin", 20_000)
    manifest = json.loads((latest.path / ".gpuguard-manifest.json").read_text())
    assert manifest["step"] == 30 and manifest["version"] == 1 and manifest["checksum"] == "xxh3-128"
    assert {f["path"]: f["size"] for f in manifest["files"]}["shard0.bin"] == 4096
    assert latest.to_dict()["status"] == "ok"


def test_an_exception_publishes_nothing_and_removes_the_temp_data(tmp_path):
    store = CheckpointStore(tmp_path)
    with store.save(1) as path:
        write_checkpoint(path, 1)
    with pytest.raises(RuntimeError, match="torch.save failed"):
        with store.save(2) as path:
            (path / "model.pt").write_bytes(b"half")
            raise RuntimeError("torch.save failed")
    assert not path.exists()
    assert [c.step for c in store.list()] == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gpuguard.lock", "step-0000000001"]
    with pytest.raises(GpuGuardError, match="already exists"):
        store.save(1)


def test_due_by_steps_seconds_and_plan(tmp_path):
    store = CheckpointStore(tmp_path, every_steps=100, every_seconds=600)
    assert store.due(step=0)
    with store.save(0) as path:
        (path / "m").write_bytes(b"0")
    t = store.latest().created_unix
    assert not store.due(step=99, now=t + 1)
    assert store.due(step=100, now=t + 1)
    assert store.due(step=1, now=t + 600)
    plan = gpuguard.checkpoint_plan(32.0, 100.0, 120.0, 0.1, nodes=4)
    store.close()
    with CheckpointStore(tmp_path, keep_last=1, plan=plan) as planned:
        assert planned.every_seconds == plan["interval_seconds"] and planned.keep_last == 3
        assert not planned.due(now=t + plan["interval_seconds"] - 1)
        assert planned.due(now=t + plan["interval_seconds"])
    with CheckpointStore(tmp_path) as bare, pytest.raises(ValueError, match="every_steps"):
        bare.due(step=1)
    with pytest.raises(ValueError, match="plan"):
        CheckpointStore(tmp_path, plan={"x": 1})
    with pytest.raises(ValueError, match="every_seconds"):
        CheckpointStore(tmp_path, every_seconds=-1)


def test_clear_errors_for_missing_dirs_files_and_a_second_writer(tmp_path):
    with pytest.raises(GpuGuardError, match="does not exist"):
        CheckpointStore(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GpuGuardError, match="not a directory"):
        CheckpointStore(tmp_path / "file")
    with pytest.raises(ValueError, match="keep_last"):
        CheckpointStore(tmp_path, keep_last=0)
    store = CheckpointStore(tmp_path)
    other = subprocess.run(
        [sys.executable, "-c", f"import gpuguard; gpuguard.CheckpointStore({str(tmp_path)!r})"],
        capture_output=True, text=True, timeout=60,
    )
    assert other.returncode != 0
    assert "another writer" in other.stderr and str(tmp_path) in other.stderr
    reader = CheckpointStore(tmp_path, read_only=True)
    assert not reader.is_writer and reader.latest() is None
    with pytest.raises(GpuGuardError, match="read-only"):
        reader.save(1)
    store.close()
    with pytest.raises(GpuGuardError, match="closed"):
        store.latest()
    assert CheckpointStore(tmp_path).is_writer  # the lock went with close()


def test_leftover_temp_data_is_partial_then_cleaned_on_open(tmp_path):
    leftover = tmp_path / ".tmp-5-999999-deadbeef"
    leftover.mkdir()
    (leftover / "model.pt").write_bytes(b"half")
    reader = CheckpointStore(tmp_path, read_only=True)
    [c] = reader.list()
    assert (c.step, c.status) == (5, "partial") and "not finished" in c.reason
    assert reader.latest() is None
    writer = CheckpointStore(tmp_path)
    assert writer.cleaned_up == [leftover.name] and not leftover.exists()
    assert writer.list() == []


@pytest.mark.parametrize("victim", ["shard0.bin", "optim/state.bin", "shard2.bin"])
def test_truncation_and_every_kind_of_bit_flip_are_detected(tmp_path, victim):
    store = CheckpointStore(tmp_path, keep_last=10)
    for step in (1, 2):
        with store.save(step) as path:
            write_checkpoint(path, step)
    target = tmp_path / "step-0000000002" / victim
    good = target.read_bytes()
    rng = random.Random(victim)
    cases = [("truncated", good[:n]) for n in {0, len(good) // 2, len(good) - 1}]
    for bit in {0, len(good) * 8 - 1, *rng.sample(range(len(good) * 8), min(20, len(good) * 8))}:
        flipped = bytearray(good)
        flipped[bit // 8] ^= 1 << (bit % 8)
        cases.append(("checksum", bytes(flipped)))
    for why, data in cases:
        target.write_bytes(data)
        latest = store.latest()
        assert latest.step == 1, (why, len(data))
        [skipped] = latest.skipped
        assert skipped.step == 2 and skipped.status == "corrupt"
        assert victim in skipped.reason and why in skipped.reason, skipped.reason
        assert [c.status for c in store.list()] == ["ok", "corrupt"]
    target.write_bytes(good)
    assert store.latest().step == 2


WRITER = textwrap.dedent(
    """
    import itertools, os, random, sys
    sys.path.insert(0, os.environ["TEST_DIR"])
    from test_store import write_checkpoint
    import gpuguard

    directory, log = sys.argv[1], sys.argv[2]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    store = gpuguard.CheckpointStore(directory, keep_last=3)
    latest = store.latest()
    start = latest.step + 1 if latest else 0
    os.write(fd, f"open {len(store.cleaned_up)}\\n".encode())
    print("ready", flush=True)
    rng = random.Random()
    for step in itertools.count(start):
        os.write(fd, f"begin {step}\\n".encode())
        with store.save(step) as path:
            write_checkpoint(path, step, sizes=[rng.randint(1024, 200_000) for _ in range(3)])
        os.write(fd, f"done {step}\\n".encode())
    """
)


def check_after_kill(directory, run_events, completed, keep_last=3):
    """latest() is intact and the newest that completed; no completed one in the window is lost.

    `completed` holds the steps of earlier runs known to have completed; this run's are added.
    """
    completed += [int(s) for e, s in run_events if e == "done"]
    begun = [int(s) for e, s in run_events if e == "begin"]
    store = CheckpointStore(directory, read_only=True)
    latest = store.latest()
    # Killed after the rename but before the "done" line: the newest is the one just begun.
    if latest is not None and begun and latest.step == begun[-1] and latest.step not in completed:
        completed.append(latest.step)
    if not completed:
        assert latest is None
        return
    assert latest is not None, f"nothing to resume from after {len(completed)} completed saves"
    assert latest.step == max(completed), (latest.step, completed[-5:])
    assert latest.skipped == []
    for name in latest.files:
        data = (latest.path / name).read_bytes()
        assert data == payload(latest.step, name, len(data)), f"step {latest.step} {name} content"
    listed = store.list()
    ok = {c.step for c in listed if c.status == "ok"}
    window = sorted(completed)[-keep_last:]
    assert set(window) <= ok, f"lost a complete checkpoint: window {window}, ok {sorted(ok)}"
    assert all(c.status in ("ok", "partial") for c in listed), listed


def test_sigkill_at_random_points_never_loses_a_complete_checkpoint(tmp_path):
    kills, mid_save, cleaned, seen, completed = 0, 0, 0, 0, []
    directory, log = tmp_path / "ckpt", tmp_path / "log"
    directory.mkdir()
    env = dict(os.environ, TEST_DIR=os.path.dirname(__file__))
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(7)
    deadline = time.monotonic() + 240
    while kills < 120 and time.monotonic() < deadline:
        child = subprocess.Popen([sys.executable, str(script), str(directory), str(log)], env=env, stdout=subprocess.PIPE)
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        kills += 1
        mid_save += any(p.name.startswith(".tmp-") for p in directory.iterdir())
        events = [line.split() for line in log.read_text().splitlines()]
        run, seen = events[seen:], len(events)
        cleaned += sum(int(n) for e, n in run if e == "open")
        check_after_kill(directory, [e for e in run if e[0] != "open"], completed)
    print(f"{kills} kills, {mid_save} mid-save, {len(completed)} checkpoints completed, {cleaned} temp dirs cleaned on open")
    assert kills >= 100, f"only {kills} kills in the time budget"
    assert len(completed) >= 100, "the writer barely ran: the test proved little"
    assert mid_save >= 10 and cleaned >= 10, "too few kills landed in the middle of a save"


DISK_FULL = textwrap.dedent(
    """
    import json, os, sys
    import gpuguard
    d = sys.argv[1]
    out = {}
    store = gpuguard.CheckpointStore(d, keep_last=3)
    for step in (1, 2):
        with store.save(step) as p:
            (p / "model.bin").write_bytes(os.urandom(600_000))
    try:
        with store.save(3) as p:
            (p / "model.bin").write_bytes(os.urandom(3_000_000))
    except gpuguard.GpuGuardError as e:
        out["error"] = str(e)
        out["cause"] = type(e.__cause__).__name__
    try:  # torch.save wraps the OSError in a RuntimeError; the store still says disk full
        with store.save(3) as p:
            try:
                with open(p / "model.pt", "wb") as f:
                    f.write(os.urandom(3_000_000))
            except OSError:
                raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")
    except gpuguard.GpuGuardError as e:
        out["wrapped"] = str(e)
        out["wrapped_cause"] = type(e.__cause__).__name__
    out["latest"] = store.latest().step
    out["list"] = [(c.step, c.status) for c in store.list()]
    out["entries"] = sorted(os.listdir(d))
    store.close()
    os.system(f"mount -o remount,ro {d}")
    try:
        gpuguard.CheckpointStore(d)
    except gpuguard.GpuGuardError as e:
        out["read_only"] = str(e)
    out["read_only_latest"] = gpuguard.CheckpointStore(d, read_only=True).latest().step
    print(json.dumps(out))
    """
)


def test_a_full_disk_gives_a_clear_error_and_keeps_earlier_checkpoints(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace (needs root or user namespaces): {probe.stderr.strip()}")
    d = tmp_path / "small"
    d.mkdir()
    (tmp_path / "full.py").write_text(DISK_FULL)
    cmd = f"mount -t tmpfs -o size=2m tmpfs {d} && exec {sys.executable} {tmp_path / 'full.py'} {d}"
    r = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and "mount" in r.stderr and "permission" in r.stderr.lower():
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert str(d) in out["error"] and "no space left" in out["error"] and "step 3" in out["error"], out["error"]
    assert "bytes written" in out["error"] and "bytes free" in out["error"]
    assert "earlier checkpoints are intact" in out["error"] and out["cause"] == "OSError"
    assert "no space left" in out["wrapped"] and out["wrapped_cause"] == "RuntimeError"
    assert out["latest"] == 2 and out["list"] == [[1, "ok"], [2, "ok"]]
    assert out["entries"] == [".gpuguard.lock", "step-0000000001", "step-0000000002"]
    assert "read-only" in out["read_only"] and str(d) in out["read_only"]
    assert out["read_only_latest"] == 2


def test_threads_read_while_one_saves_and_nothing_panics(tmp_path):
    """The reported bug: latest() on one thread while another saves gave `PanicException:
    Already borrowed` (a BaseException that `except Exception` does not catch)."""
    import threading

    store = CheckpointStore(tmp_path, keep_last=2, every_steps=1)
    errors, seen, stop = [], set(), threading.Event()

    def writer():
        try:
            for step in range(60):
                with store.save(step) as path:
                    (path / "model.bin").write_bytes(payload(step, "model.bin", 300_000))
        except BaseException as e:  # noqa: BLE001 (any escape is the failure)
            errors.append(e)
        finally:
            stop.set()

    def reader():
        try:
            while not stop.is_set():
                c = store.latest()
                if c is not None:
                    assert c.ok
                    seen.add(c.step)
                store.list()
                store.due(step=1)
                _ = store.is_writer, store.keep_last
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors
    assert len(seen) >= 5, f"readers saw only {sorted(seen)}: they barely overlapped the writer"
    assert [c.step for c in store.list()] == [58, 59]


def test_close_on_another_thread_is_an_error_not_a_panic(tmp_path):
    store = CheckpointStore(tmp_path)
    ctx = store.save(1)
    with ctx as path:
        (path / "m").write_bytes(b"x")
        store._inner.close()  # the Rust store goes away while a save is open
    assert ctx.checkpoint.step == 1  # the save in flight kept it alive and published
    with pytest.raises(GpuGuardError, match="closed"):
        store.latest()


def test_reopening_the_same_directory_in_one_process_hands_over_the_lock(tmp_path):
    """A notebook cell re-run: the old store object still exists when the new one opens."""
    old = CheckpointStore(tmp_path)
    with old.save(1) as p:
        (p / "m").write_bytes(b"1")
    new = CheckpointStore(tmp_path)  # used to fail: "another writer"
    assert new.is_writer and not old.is_writer
    with pytest.raises(GpuGuardError, match="handed its writer lock"):
        old.save(2)
    with new.save(2) as p:
        (p / "m").write_bytes(b"2")
    assert old.latest().step == 2  # reading still works
    # Another process still cannot take it while this one holds it.
    other = subprocess.run(
        [sys.executable, "-c", f"import gpuguard; gpuguard.CheckpointStore({str(tmp_path)!r})"],
        capture_output=True, text=True, timeout=60,
    )
    assert other.returncode != 0 and "another writer" in other.stderr
    del old
    new.close()
    other = subprocess.run(
        [sys.executable, "-c", f"import gpuguard; print(gpuguard.CheckpointStore({str(tmp_path)!r}).is_writer)"],
        capture_output=True, text=True, timeout=60,
    )
    assert other.stdout.strip() == "True", other.stderr


def test_symlinks_fifos_and_devices_are_never_followed_or_waited_on(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("do not touch")
    d = tmp_path / "ckpt"
    d.mkdir()
    os.symlink(outside / "secret", d / ".gpuguard.lock")
    with pytest.raises(GpuGuardError, match="symlink"):
        CheckpointStore(d)
    assert (outside / "secret").read_text() == "do not touch"
    os.unlink(d / ".gpuguard.lock")
    store = CheckpointStore(d, keep_last=5)
    for step in (1, 2, 3):
        with store.save(step) as p:
            (p / "m").write_bytes(b"x" * step)
    manifest = ".gpuguard-manifest.json"
    (d / "step-0000000003" / manifest).unlink()
    os.mkfifo(d / "step-0000000003" / manifest)  # a blocking open would hang latest() forever
    (d / "step-0000000002" / manifest).unlink()
    os.symlink("/dev/zero", d / "step-0000000002" / manifest)
    os.symlink(outside, d / "step-0000000009")  # a step directory that points elsewhere
    t0 = time.monotonic()
    latest = store.latest()
    assert time.monotonic() - t0 < 10
    assert latest.step == 1
    reasons = {c.step: c.reason for c in latest.skipped}
    assert set(reasons) == {2, 3}, reasons
    assert "symlink" in reasons[2] and "not a regular file" in reasons[3], reasons
    with store.save(4) as p:  # keeps working; the FIFO step is never deleted through a link
        (p / "m").write_bytes(b"4")
    assert (outside / "secret").read_text() == "do not touch"


def test_wrong_types_raise_type_error_naming_the_argument(tmp_path):
    with pytest.raises(TypeError, match="`keep_last`"):
        CheckpointStore(tmp_path, keep_last="3")
    with pytest.raises(TypeError, match="`directory`"):
        CheckpointStore(3)
    store = CheckpointStore(tmp_path, every_steps=2)
    with pytest.raises(TypeError, match="`step`"):
        store.save("5")
    with pytest.raises(TypeError, match="`step`"):
        store.due(step=1.5)
    with pytest.raises(TypeError, match="`write`"):
        store.save_async(1, "model.pt")


def test_save_async_publishes_only_after_the_writer_thread_finished(tmp_path):
    import threading

    store = CheckpointStore(tmp_path, keep_last=3)
    release = threading.Event()

    def writer(path):
        def body():
            release.wait(30)
            (path / "model.bin").write_bytes(payload(1, "model.bin", 50_000))

        t = threading.Thread(target=body)
        t.start()
        return t

    job = store.save_async(1, writer)
    time.sleep(0.2)
    assert not job.done() and store.latest() is None  # nothing visible while the writer runs
    release.set()
    c = job.result(timeout=60)
    assert c.step == 1 and c.ok and c.files == ["model.bin"]
    # At most one in flight: the next one waits for the previous.
    from concurrent.futures import Future

    fut = Future()
    job2 = store.save_async(2, lambda p: ((p / "m").write_bytes(b"2"), fut)[1])
    assert not job2.done()
    fut.set_result(None)
    assert store.wait().step == 2
    # A failing writer publishes nothing; the error surfaces on the next call.
    bad = Future()
    store.save_async(3, lambda p: ((p / "m").write_bytes(b"3"), bad)[1])
    bad.set_exception(OSError("disk on fire"))
    with pytest.raises(OSError, match="disk on fire"):
        store.save_async(4, lambda p: None)
    assert [c.step for c in store.list()] == [1, 2]
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())


def test_save_async_with_dcp_async_save(tmp_path):
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    import torch.distributed.checkpoint as dcp

    model = torch.nn.Linear(64, 32)
    store = CheckpointStore(tmp_path)
    job = store.save_async(7, lambda p: dcp.async_save({"model": model.state_dict()}, checkpoint_id=p, no_dist=True))
    c = job.result(timeout=120)
    assert c.ok and any(f.endswith(".distcp") for f in c.files) and ".metadata" in c.files
    restored = {"model": torch.nn.Linear(64, 32).state_dict()}
    dcp.load(restored, checkpoint_id=c.path, no_dist=True)
    assert torch.equal(restored["model"]["weight"], model.weight.detach())


def test_save_async_takes_a_writer_returning_a_plain_value(tmp_path):
    """``Path.write_bytes`` returns the byte count: a plain value is no handle, the files are
    written (it was a TypeError ``write() returned a int``)."""
    store = CheckpointStore(tmp_path)
    c = store.save_async(1, lambda p: (p / "m.bin").write_bytes(b"12345")).result(timeout=60)
    assert c.step == 1 and c.ok and c.files == ["m.bin"]
    for step, value in [(2, "done"), (3, tmp_path), (4, True), (5, b"xyz")]:
        assert store.save_async(step, lambda p, v=value: ((p / "m.bin").write_bytes(b"x"), v)[1]).result(60).ok
    assert [c.step for c in store.list()][-1] == 5


def test_store_docstring_examples_run():
    """The examples in the store's docstrings (AsyncSave's runs a real async save) stay true."""
    import doctest

    import gpuguard._store

    result = doctest.testmod(gpuguard._store, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0, result
