"""``gpuguard.CheckpointStore``: the crash-safe store of ``gpuguard._gpuguard`` made fit for a real
training job: ranks of ``torchrun`` coordinated, saves in the background, preemption noticed.

The Rust store does the file work (atomic publish, manifest, checksums, pruning, the writer lock).
This layer adds what needs Python objects: ``torch.distributed`` collectives, threads that wait on
a writer's future, and the SIGTERM handler. Nothing here imports torch unless the script already
initialised ``torch.distributed``.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import numbers
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Literal

from gpuguard._gpuguard import Checkpoint, Finding, GpuGuardError, PendingCheckpoint
from gpuguard._gpuguard import CheckpointStore as _RustStore

__all__ = ["AsyncSave", "CheckpointStore"]

_log = logging.getLogger("gpuguard")

#: Kubernetes' default ``terminationGracePeriodSeconds``: the notice a pod gets when none is set.
DEFAULT_NOTICE_SECONDS = 30.0


def _process_group():
    """``torch.distributed`` when the script initialised a process group, else None (torch is
    never imported here: a script that did not import it is not distributed)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


class _Ranks:
    """The collectives the store needs, on two gloo groups of its own: one for calls from the
    training loop (``save``, ``due``, ``latest``), one for the background thread that publishes an
    async save. Separate groups keep the two threads' collectives from interleaving differently
    on different ranks; gloo keeps the small messages on the CPU whatever the training backend."""

    def __init__(self, dist) -> None:
        self.dist = dist
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        backend = dist.get_backend()
        self.loop = dist.new_group(backend="gloo") if backend != "gloo" else dist.new_group()
        self.background = dist.new_group(backend="gloo") if backend != "gloo" else dist.new_group()

    def broadcast(self, value: Any, group=None) -> Any:
        box = [value]
        self.dist.broadcast_object_list(box, src=0, group=group or self.loop)
        return box[0]

    def gather(self, value: Any, group=None) -> list[Any]:
        out: list[Any] = [None] * self.world
        self.dist.all_gather_object(out, value, group=group or self.loop)
        return out

    def any_true(self, *flags: bool) -> list[bool]:
        """Element-wise OR of ``flags`` over all ranks (one small all_reduce)."""
        import torch  # noqa: PLC0415 (already imported: a process group exists)

        t = torch.tensor([int(bool(f)) for f in flags], dtype=torch.int32)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX, group=self.loop)
        return [bool(x) for x in t.tolist()]


class AsyncSave:
    """A save running in the background (from :meth:`CheckpointStore.save_async`).

    ``step`` and ``path`` (the pending directory) are known at once; :meth:`result` waits and
    returns the published :class:`gpuguard.Checkpoint` or raises what went wrong (nothing was
    published then).

    >>> import gpuguard, tempfile
    >>> store = gpuguard.CheckpointStore(tempfile.mkdtemp())
    >>> s = store.save_async(1, lambda p: (p / "m.bin").write_bytes(b"1"))
    >>> s.result().step
    1
    """

    def __init__(self, step: int, path: Path) -> None:
        self.step = step
        self.path = path
        self._future: concurrent.futures.Future[Checkpoint] = concurrent.futures.Future()
        self._seen = False

    def done(self) -> bool:
        """Whether the save finished (published or failed)."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> Checkpoint:
        """Waits up to ``timeout`` seconds (forever when None) and returns the published
        checkpoint; raises :class:`gpuguard.GpuGuardError` (or the writer's exception) when the
        save failed, ``TimeoutError`` when it is still running."""
        self._seen = True
        return self._future.result(timeout)

    def __repr__(self) -> str:
        state = "done" if self.done() else "in flight"
        return f"AsyncSave(step={self.step}, path={str(self.path)!r}, {state})"


class _Save:
    """The context manager of :meth:`CheckpointStore.save`; publishes on a clean exit."""

    def __init__(self, store: CheckpointStore, step: int, group=None) -> None:
        self._store = store
        self.step = step
        self._group = group
        self._pending: PendingCheckpoint | None = None
        self._started = time.monotonic()
        ranks = store._ranks
        if ranks is None:
            self._pending = store._inner.save(step)
            self.path = self._pending.__enter__()
            return
        # Rank 0 creates the one pending directory every rank writes into.
        reply: tuple[str, str]
        if ranks.rank == 0:
            try:
                self._pending = store._inner.save(step)
                reply = ("ok", str(self._pending.__enter__()))
            except Exception as e:  # every rank must learn of it, or they wait forever
                reply = ("error", f"{type(e).__name__}: {e}")
        else:
            reply = ("", "")
        kind, value = ranks.broadcast(reply, group)
        if kind == "error":
            raise GpuGuardError(f"rank 0 could not start checkpoint step {step}: {value}")
        self.path = Path(value)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The published checkpoint, once the ``with`` block exited cleanly (on rank 0 of a job;
        other ranks read it with :meth:`CheckpointStore.latest`)."""
        return None if self._pending is None else self._pending.checkpoint

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        ranks = self._store._ranks
        if ranks is None:
            assert self._pending is not None  # made in __init__ without ranks
            try:
                self._pending.__exit__(exc_type, exc, tb)
            finally:
                if exc_type is None and self._pending.checkpoint is not None:
                    self._store._saved(self.step, time.monotonic() - self._started)
            return False
        mine = None
        if exc_type is not None:
            mine = f"rank {ranks.rank}: {exc_type.__name__}: {exc}"
        elif not self.path.is_dir():
            mine = (
                f"rank {ranks.rank}: the pending directory {self.path} does not exist here: the checkpoint "
                "directory must be one shared file system seen by every rank"
            )
        failed = [m for m in ranks.gather(mine, self._group) if m]
        outcome: tuple[str, str] = ("", "")
        if ranks.rank == 0 and self._pending is not None:
            try:
                if failed:
                    err = exc if exc is not None else RuntimeError("; ".join(failed))
                    self._pending.__exit__(type(err), err, None)
                    outcome = ("error", "; ".join(failed))
                else:
                    self._pending.__exit__(None, None, None)
                    outcome = ("ok", "")
            except Exception as e:  # noqa: BLE001 (told to every rank below)
                outcome = ("error", f"rank 0: {e}")
        kind, why = ranks.broadcast(outcome, self._group)
        if kind == "ok":
            self._store._saved(self.step, time.monotonic() - self._started)
            return False
        if exc_type is not None:
            return False  # this rank's own exception says more than the summary
        raise GpuGuardError(f"checkpoint step {self.step} was not published (nothing torn is visible): {why}")


class CheckpointStore:
    """A crash-safe checkpoint store (GG003): keeps the newest ``keep_last`` checkpoints of a
    directory and always resumes from one that is whole.

    Each checkpoint is a directory (``step-NNNNNNNNNN``) holding whatever files the script wrote
    (``torch.save`` files, safetensors shards, a ``torch.distributed.checkpoint`` directory) plus a
    manifest with every file's size and XXH3-128 checksum. It is written under a temporary name,
    fsynced and renamed atomically, so a SIGKILL at any moment leaves the previous state or the new
    checkpoint, never a torn file under a good name.

    Args:
        directory: an existing directory (on a persistent volume, not the container's overlay).
        keep_last: complete checkpoints to keep (at least 1; 3 or more is wise).
        every_steps: :meth:`due` is true every this many training steps.
        every_seconds: :meth:`due` is true every this many seconds of wall time.
        plan: a :func:`gpuguard.checkpoint_plan` result: sets ``every_seconds`` and a
            ``keep_last`` floor.
        read_only: inspect without the writer lock (saving is refused).
        distributed: coordinate the ranks of ``torch.distributed`` (default: when a process group
            is initialised). Every rank must then construct the store, call :meth:`save`,
            :meth:`due` and :meth:`latest` at the same points (they are collectives).

    Under ``torchrun`` rank 0 owns the writer lock and publishes; every rank writes its files
    into the same pending directory (``path`` of ``save``, usable as DCP's ``checkpoint_id``); the
    store gathers every rank's outcome, and publishes once only if all succeeded. :meth:`latest`
    is decided by rank 0 and identical on every rank. The directory must be one file system that
    every rank sees.

    Raises:
        GpuGuardError: the directory is missing, not a directory, locked by another process, or
            unusable (the message names it and why).
        ValueError: an argument is out of range (the message names it).
        TypeError: an argument has the wrong type (the message names it).

    Example::

        store = gpuguard.CheckpointStore("/ckpt", keep_last=3, every_steps=1000)
        latest = store.latest()                      # newest checkpoint that verifies, or None
        start = latest.step + 1 if latest else 0     # load from latest.path / "model.pt"
        for step in range(start, steps):
            ...
            if store.due(step=step):
                with store.save(step) as path:       # a new, empty directory (pathlib.Path)
                    torch.save(model.state_dict(), path / "model.pt")
            if store.preempted:                      # SIGTERM seen: saved above, now stop
                break
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        keep_last: int = 3,
        *,
        every_steps: int | None = None,
        every_seconds: float | None = None,
        plan: dict[str, Any] | None = None,
        read_only: bool = False,
        distributed: bool | None = None,
    ) -> None:
        _typecheck("directory", directory, (str, os.PathLike))
        _typecheck("keep_last", keep_last, int)
        _typecheck("every_steps", every_steps, (int, type(None)))
        _typecheck("every_seconds", every_seconds, (int, float, type(None)))
        _typecheck("read_only", read_only, bool)
        dist = _process_group() if distributed in (None, True) else None
        if distributed is True and dist is None:
            raise GpuGuardError("distributed=True but torch.distributed is not initialised: call init_process_group first")
        self._ranks = _Ranks(dist) if dist is not None else None
        self._async: AsyncSave | None = None
        self._async_thread: threading.Thread | None = None
        self._preempted = False
        self._preemption: _Preemption | None = None
        #: Seconds the last save of this store took (write + fsync + hash + publish), or None.
        self.last_save_seconds: float | None = None
        #: Save time judged by :meth:`preemption_finding` (None: nothing to judge from yet).
        self.save_seconds_estimate: float | None = None

        def open_rust(read_only: bool) -> _RustStore:
            return _RustStore(
                directory, keep_last, every_steps=every_steps, every_seconds=every_seconds, plan=plan, read_only=read_only
            )

        if self._ranks is None:
            self._inner = open_rust(read_only)
            return
        # Rank 0 takes the lock (and removes a killed job's temp data) before the others look.
        error = None
        if self._ranks.rank == 0:
            try:
                self._inner = open_rust(read_only)
            except Exception as e:  # noqa: BLE001 (told to every rank, then raised)
                error = f"{type(e).__name__}: {e}"
        error = self._ranks.broadcast(error)
        if error is not None:
            raise GpuGuardError(f"rank 0 could not open the checkpoint store: {error}")
        mine = None
        if self._ranks.rank != 0:
            try:
                self._inner = open_rust(True)
            except Exception as e:  # noqa: BLE001
                mine = f"rank {self._ranks.rank}: {type(e).__name__}: {e}"
        failed = [m for m in self._ranks.gather(mine) if m]
        if failed:
            if self._ranks.rank == 0:
                self._inner.close()
            raise GpuGuardError("the checkpoint store could not be opened on every rank: " + "; ".join(failed))

    # ------------------------------------------------------------------ the store's own state
    @property
    def directory(self) -> Path:
        """The store directory."""
        return self._inner.directory

    @property
    def keep_last(self) -> int:
        """How many complete checkpoints are kept."""
        return self._inner.keep_last

    @property
    def every_steps(self) -> int | None:
        """The step interval of :meth:`due`, or None."""
        return self._inner.every_steps

    @property
    def every_seconds(self) -> float | None:
        """The time interval of :meth:`due` in seconds, or None."""
        return self._inner.every_seconds

    @property
    def is_writer(self) -> bool:
        """Whether this process publishes (holds the writer lock; rank 0 under torchrun)."""
        return self._inner.is_writer

    @property
    def cleaned_up(self) -> list[str]:
        """Temporary entries of a killed writer removed when the store was opened."""
        return self._inner.cleaned_up

    @property
    def rank(self) -> int:
        """This process's rank in the store's coordination (0 without a process group)."""
        return 0 if self._ranks is None else self._ranks.rank

    @property
    def async_process_group(self):
        """The gloo group to pass as ``process_group=`` to ``torch.distributed.checkpoint.async_save``
        inside :meth:`save_async` (the group the store publishes async saves on, so the two never
        interleave with the training loop's collectives); None without a process group."""
        return None if self._ranks is None else self._ranks.background

    @property
    def preempted(self) -> bool:
        """True once a preemption notice (SIGTERM) arrived, on this or (after :meth:`due`) any rank:
        save at this step boundary and stop."""
        return self._preempted

    @preempted.setter
    def preempted(self, value: bool) -> None:
        self._preempted = bool(value)

    # ------------------------------------------------------------------ reading
    def latest(self) -> Checkpoint | None:
        """The newest checkpoint that verifies (manifest, sizes, checksums), or None. Its
        ``skipped`` lists newer ones that did not verify, with reasons.

        Under torchrun rank 0 verifies and every rank gets the same step (other ranks check the
        manifest and sizes, not the bytes again). Raises :class:`gpuguard.GpuGuardError` when the
        directory cannot be read or the store is closed.
        """
        if self._ranks is None:
            return self._inner.latest()
        step = None
        if self._ranks.rank == 0:
            c = self._inner.latest()
            step = None if c is None else c.step
        step = self._ranks.broadcast(step)
        if self._ranks.rank == 0:
            return c
        return None if step is None else self._inner.get(step, checksums=False)

    def list(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first, each verified, with its ``status`` (ok, corrupt,
        partial) and ``reason``. Local to this process (not a collective)."""
        return self._inner.list()

    def get(self, step: int, *, checksums: bool = True) -> Checkpoint | None:
        """The checkpoint of ``step`` (None without one), verified with checksums unless
        ``checksums=False``. Local to this process."""
        _typecheck("step", step, int)
        return self._inner.get(step, checksums=checksums)

    # ------------------------------------------------------------------ deciding
    def due(self, step: int | None = None, now: float | None = None) -> bool:
        """Whether a checkpoint is due at training ``step`` / time ``now`` (Unix seconds; default:
        now): none saved yet, ``every_steps`` steps or ``every_seconds`` seconds since the newest,
        or a preemption notice arrived (then at once).

        Under torchrun rank 0 decides and one small all_reduce gives every rank the same answer
        (a preemption notice seen by any rank counts for all). Raises ``ValueError`` without an
        interval.
        """
        _typecheck("step", step, (int, type(None)))
        _typecheck("now", now, (int, float, type(None)))
        if self._ranks is None:
            return self._preempted or self._due_here(step, now)
        mine = self._due_here(step, now) if self._ranks.rank == 0 else False
        due, preempted = self._ranks.any_true(mine, self._preempted)
        if preempted:
            self._preempted = True
        return due or preempted

    def _due_here(self, step: int | None, now: float | None) -> bool:
        # An async save still in flight counts as the newest checkpoint: the next one cannot
        # start before it is published anyway (at most one in flight).
        if self._async is not None and not self._async.done():
            self._inner.due(step, now)  # still raises for a store without an interval
            return False
        return self._inner.due(step, now)

    # ------------------------------------------------------------------ writing
    def save(self, step: int) -> _Save:
        """A context manager: ``with store.save(step) as path:`` gives a new, empty directory
        (``pathlib.Path``) to write the checkpoint's files into; a clean exit publishes it, an
        exception removes it (and propagates). Waits for an async save still in flight first.

        Raises :class:`gpuguard.GpuGuardError` when a checkpoint of ``step`` that verifies exists,
        the store is read-only or handed over, the disk filled (the message gives bytes written
        and free), or (under torchrun) any rank failed: then nothing is published.
        """
        _typecheck("step", step, int)
        self._wait_previous()
        return _Save(self, step)

    def save_async(self, step: int, write: Callable[[Path], Any]) -> AsyncSave:
        """Saves ``step`` while training goes on; at most one save is in flight (a second call
        first waits for the previous one). Returns an :class:`AsyncSave`.

        ``write(path)`` runs at once on this thread with the pending directory. Whatever it
        returns is waited for on a background thread before the files are fsynced, hashed and
        published: a ``concurrent.futures.Future`` (what ``torch.distributed.checkpoint.async_save``
        returns), a ``torch.futures.Future``, DCP's ``AsyncSaveResponse``, or a started
        ``threading.Thread`` (your own writer); anything else (None, or a plain value such as the
        byte count ``Path.write_bytes`` returns) means the files are already written. So
        ``write`` should only snapshot the state (e.g. to CPU) and hand the slow part off.

        Nothing is published unless every file is written and verified (and, under torchrun,
        every rank's writer succeeded). A failure is raised by ``result()``, or by the next
        ``save``/``save_async``/``wait`` if nobody looked.

        Example::

            snapshot = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            store.save_async(step, lambda p: threading.Thread(
                target=torch.save, args=(snapshot, p / "model.pt")).start() or None)   # or:
            store.save_async(step, lambda p: dcp.async_save(state, checkpoint_id=p))
        """
        _typecheck("step", step, int)
        if not callable(write):
            raise TypeError(f"argument `write` must be a callable taking the pending directory, got {type(write).__name__}")
        self._wait_previous()
        group = None if self._ranks is None else self._ranks.background
        # Start on the loop group (this thread); publish on the background group.
        ctx = _Save(self, step)
        ctx._group = group
        handle, failed = None, None
        try:
            handle = write(ctx.path)
        except BaseException as e:  # noqa: BLE001 (published nowhere; raised below)
            failed = e
        job = AsyncSave(step, ctx.path)

        def finish() -> None:
            try:
                if failed is not None:
                    raise failed
                _wait_for(handle)
            except BaseException as e:  # noqa: BLE001 (recorded in the future)
                try:
                    ctx.__exit__(type(e), e, e.__traceback__)
                    job._future.set_exception(e)
                except BaseException as e2:  # noqa: BLE001
                    job._future.set_exception(e2)
                return
            try:
                ctx.__exit__(None, None, None)
                published = ctx.checkpoint or self._inner.get(step, checksums=False)
                if published is None:
                    raise GpuGuardError(f"checkpoint step {step} was published but cannot be read back")
                job._future.set_result(published)
            except BaseException as e:  # noqa: BLE001
                job._future.set_exception(e)

        thread = threading.Thread(target=finish, name=f"gpuguard-save-{step}")
        thread.start()
        if failed is not None:
            # Other ranks' writers may have succeeded: the outcome is agreed on the background
            # group, as for any async save, before this rank raises.
            thread.join()
            raise failed
        self._async, self._async_thread = job, thread
        return job

    def wait(self) -> Checkpoint | None:
        """Waits for the async save in flight (if any) and returns its checkpoint; raises its
        error if it failed."""
        job = self._async
        if job is None:
            return None
        self._async = None
        if self._async_thread is not None:
            self._async_thread.join()
        return job.result()

    def _wait_previous(self) -> None:
        job, thread = self._async, self._async_thread
        if job is None:
            return
        self._async = None
        if thread is not None:
            thread.join()
        if not job._seen:
            job.result()  # raises a failure nobody has looked at

    def _saved(self, step: int, seconds: float) -> None:
        self.last_save_seconds = seconds
        if self._preemption is not None and self._preempted:
            self._preemption.saved()

    # ------------------------------------------------------------------ preemption
    def handle_preemption(self, notice_seconds: float | None = None) -> float:
        """Installs a SIGTERM handler (main thread only) that never saves inside the handler: it
        sets :attr:`preempted`, so the next :meth:`due` is true and the loop saves at its next step
        boundary and stops. A second SIGTERM, or no save within the notice window, falls back to
        the previous action (the default: terminate). Returns the window in seconds: the
        argument, else ``GPUGUARD_NOTICE_SECONDS``, else 30 (Kubernetes' default grace period).

        Raises ``ValueError`` for a window that is not a positive number, and
        :class:`gpuguard.GpuGuardError` off the main thread (Python handles signals there only).
        """
        window, _ = notice_window(notice_seconds)
        if threading.current_thread() is not threading.main_thread():
            raise GpuGuardError("handle_preemption must be called from the main thread (signal handlers live there)")
        if self._preemption is not None:
            self._preemption.window = window
            return window
        self._preemption = _Preemption(self, window)
        return window

    def preemption_finding(self, notice_seconds: float | None = None, state_bytes: int | None = None) -> Finding | None:
        """Judges whether a save fits in the preemption notice: the measured save time (the last
        save of this store) or, before any, ``state_bytes`` (default: the newest checkpoint's
        size) divided by the disk's write speed measured here (a 64 MiB write + fsync), against the
        window. Returns a GG003 :class:`gpuguard.Finding` (error) when it cannot finish, else None.
        Under torchrun rank 0 measures and every rank gets the same answer.
        """
        window, source = notice_window(notice_seconds)
        _typecheck("state_bytes", state_bytes, (int, type(None)))
        verdict: tuple[float | None, Any] = (None, None)
        if self._ranks is None or self._ranks.rank == 0:
            verdict = _judge_save_time(self, window, source, state_bytes)
        if self._ranks is not None:
            verdict = self._ranks.broadcast(verdict)
        self.save_seconds_estimate, bad = verdict
        if bad is None:
            return None
        message, fix, evidence = bad
        return Finding("GG003", "error", message, fix, evidence, path=str(self.directory))

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Waits for an async save in flight, then releases the writer lock; the store cannot be
        used afterwards."""
        try:
            self._wait_previous()
        finally:
            if self._preemption is not None:
                self._preemption.uninstall()
                self._preemption = None
            self._inner.close()

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False

    def __repr__(self) -> str:
        inner = repr(self._inner)
        if self._ranks is None:
            return inner
        return f"{inner[:-1]}, rank {self._ranks.rank} of {self._ranks.world})"


def _typecheck(name: str, value: Any, types) -> None:
    """TypeError naming the argument. ``int`` accepts any integral number (numpy too) but not
    bool; ``float`` any real number."""
    types = types if isinstance(types, tuple) else (types,)
    wide = tuple(numbers.Integral if t is int else numbers.Real if t is float else t for t in types)
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"argument `{name}` must be {_names(types)}, got bool")
    if not isinstance(value, wide):
        raise TypeError(f"argument `{name}` must be {_names(types)}, got {type(value).__name__}")


def _names(types: tuple) -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def _wait_for(handle: Any) -> None:
    """Blocks until what a writer returned is done; re-raises its error."""
    if handle is None:
        return
    if hasattr(handle, "upload_completion"):  # DCP's AsyncSaveResponse (newer torch)
        handle.upload_completion.result()
    elif isinstance(handle, threading.Thread):
        handle.join()
    elif isinstance(handle, concurrent.futures.Future) or hasattr(handle, "result"):
        handle.result()
    elif hasattr(handle, "wait"):  # torch.futures.Future
        handle.wait()
    # Anything else is not a handle (a byte count from Path.write_bytes, a path, a bool): the
    # writer finished before it returned, like None.


def notice_window(notice_seconds: float | None) -> tuple[float, str]:
    """The preemption notice in seconds and where it came from."""
    if notice_seconds is not None:
        _typecheck("notice_seconds", notice_seconds, (int, float))
        source = "argument notice_seconds"
        window = float(notice_seconds)
    elif os.environ.get("GPUGUARD_NOTICE_SECONDS"):
        source = "GPUGUARD_NOTICE_SECONDS"
        try:
            window = float(os.environ["GPUGUARD_NOTICE_SECONDS"])
        except ValueError:
            raise ValueError(
                f"GPUGUARD_NOTICE_SECONDS must be a number of seconds, got {os.environ['GPUGUARD_NOTICE_SECONDS']!r}"
            ) from None
    else:
        return DEFAULT_NOTICE_SECONDS, "Kubernetes' default terminationGracePeriodSeconds (30 s)"
    if not (window > 0 and window < float("inf")):
        raise ValueError(f"invalid argument `notice_seconds`: must be a positive number of seconds, got {window}")
    return window, source


def _disk_write_speed(directory: Path, size: int = 64 << 20) -> float:
    """Bytes per second of a write + fsync of ``size`` bytes in ``directory`` (a temp file the
    store's cleanup also knows)."""
    probe = directory / f".tmp-probe-{os.getpid()}-{time.monotonic_ns()}"
    block = os.urandom(1 << 20)
    start = time.monotonic()
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        for _ in range(size >> 20):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    return size / max(time.monotonic() - start, 1e-6)


def _newest_bytes(store: CheckpointStore) -> int | None:
    """Size of the newest checkpoint with a readable manifest (no checksums: cheap)."""
    steps = sorted(
        (int(p.name[5:]) for p in store.directory.iterdir() if p.name.startswith("step-") and p.name[5:].isdigit()),
        reverse=True,
    )
    for step in steps:
        c = store._inner.get(step, checksums=False)
        if c is not None and c.ok:
            return c.total_bytes
    return None


def _judge_save_time(store: CheckpointStore, window: float, source: str, state_bytes: int | None):
    measured = store.last_save_seconds
    size = state_bytes if state_bytes is not None else _newest_bytes(store)
    evidence: dict[str, Any] = {"notice_seconds": window, "notice_source": source}
    if measured is not None:
        seconds, how = measured, "measured (the last save)"
    elif size:
        speed = _disk_write_speed(store.directory)
        # Writing, then reading back to hash: count the bytes twice on a cold cache at worst,
        # once is the realistic warm case.
        seconds, how = size / speed, f"estimated: {size / 2**30:.2f} GiB at {speed / 2**20:.0f} MiB/s measured here"
        evidence.update(state_bytes=size, disk_bytes_per_second=speed)
    else:
        return None, None
    evidence.update(save_seconds=seconds, how=how)
    if seconds <= window:
        return seconds, None
    message = (
        f"a checkpoint save takes {seconds:.1f} s ({how}) but the preemption notice is {window:g} s "
        f"({source}): an emergency checkpoint on SIGTERM cannot finish and the work since the last one is lost"
    )
    fix = (
        f"give the pod terminationGracePeriodSeconds of at least {int(seconds * 1.5) + 1} (and export "
        "GPUGUARD_NOTICE_SECONDS to match), shard the save across ranks (each writes its part), save less "
        "(model and optimizer only), or write to faster storage"
    )
    return seconds, (message, fix, evidence)


class _Preemption:
    """The SIGTERM handler of :meth:`CheckpointStore.handle_preemption`."""

    def __init__(self, store: CheckpointStore, window: float) -> None:
        self.store = store
        self.window = window
        self.timer: threading.Timer | None = None
        self.previous = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame) -> None:
        # Runs on the main thread between bytecodes: only set flags and arm a timer here.
        if self.store._preempted and self.timer is not None:
            _log.warning("gpuguard: second SIGTERM: giving up on the emergency checkpoint")
            self._fall_back_here()
            return
        self.store._preempted = True
        _log.warning("gpuguard: SIGTERM: saving a checkpoint at the next step boundary (within %.0f s)", self.window)
        self.timer = threading.Timer(self.window, self._fall_back_late)
        self.timer.daemon = True
        self.timer.start()

    def saved(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def _fall_back_here(self) -> None:
        previous = self.previous if self.previous is not None else signal.SIG_DFL
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signal.SIGTERM, None)
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    def _fall_back_late(self) -> None:
        # The timer thread cannot use signal.signal; the C call restores the default action
        # from any thread (the loop may be stuck in C code, where Python handlers never run).
        _log.error("gpuguard: no checkpoint within the %.0f s notice: terminating", self.window)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.signal(int(signal.SIGTERM), 0)  # SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)

    def uninstall(self) -> None:
        self.saved()
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, self.previous if self.previous is not None else signal.SIG_DFL)
