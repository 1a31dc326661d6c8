"""Type stubs of the Rust extension module. tests/test_stubs.py checks them against the module."""

import builtins
import os
from pathlib import Path
from typing import Any, Literal, Mapping, final

from typing_extensions import Self

__version__: str

Severity = Literal["info", "warning", "error"]

class GpuGuardError(Exception): ...
class PreflightError(GpuGuardError):
    report: Report

@final
class Finding:
    def __new__(
        cls,
        rule: str,
        severity: Severity,
        message: str,
        fix: str,
        evidence: Mapping[str, Any] | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        document: int | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        container: str | None = None,
        path: str | None = None,
    ) -> Self: ...
    @property
    def rule(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def message(self) -> str: ...
    @property
    def fix(self) -> str: ...
    @property
    def slug(self) -> str | None: ...
    @property
    def evidence(self) -> dict[str, Any]: ...
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def document(self) -> int | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def container(self) -> str | None: ...
    @property
    def path(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self, indent: int | None = None) -> str: ...
    def _repr_html_(self) -> str: ...

@final
class Check:
    def __new__(cls, name: str, status: str, reason: str) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> Literal["ok", "finding", "skipped"]: ...
    @property
    def reason(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Report:
    def __new__(cls, command: str, findings: list[Finding] | None = None, checks: list[Check] | None = None) -> Self: ...
    @property
    def command(self) -> str: ...
    @property
    def findings(self) -> list[Finding]: ...
    @property
    def checks(self) -> list[Check]: ...
    @property
    def errors(self) -> list[dict[str, Any]]: ...
    @property
    def summary(self) -> dict[str, int]: ...
    @property
    def ok(self) -> bool: ...
    def fails_at(self, level: str) -> bool: ...
    def at_least(self, level: str = "info") -> list[Finding]: ...
    def merged(self, other: Report) -> Report: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self, indent: int | None = None) -> str: ...
    def to_text(self, colour: bool = False) -> str: ...
    def to_markdown(self) -> str: ...
    def _repr_html_(self) -> str: ...
    def __len__(self) -> int: ...

@final
class Footgun:
    @property
    def id(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def what(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def fix(self) -> str: ...
    @property
    def example(self) -> str: ...
    @property
    def caught_by(self) -> list[str]: ...
    @property
    def default_severity(self) -> Severity: ...
    def to_dict(self) -> dict[str, Any]: ...

def footguns() -> list[Footgun]: ...
def footgun(key: str) -> Footgun: ...
def parse_bytes(size: int | str) -> int:
    """Bytes in a size as the gpuguard command reads it: ``"64Mi"``, ``"64M"`` (10**6), ``"512m"``
    and ``"2g"`` (Docker's binary units, never milli), ``"64MB"``, ``"1.5 GiB"``; an int as it is.
    Raises ValueError saying how the text was read when it is not a whole number of bytes."""

def shm_required_bytes(
    num_workers: int, batch_bytes: int | str, prefetch_factor: int = 2, loaders: int = 1, local_processes: int = 1
) -> int:
    """Free /dev/shm in bytes a DataLoader needs so its workers never die of shared memory (Bus
    error): ``(num_workers × prefetch_factor + 2)`` batches of ``batch_bytes`` (page-rounded) plus
    semaphore pages, × ``loaders`` × ``local_processes``. ``num_workers=0`` needs none.
    ``batch_bytes`` may be a size string, read as :func:`parse_bytes` reads it (``"512m"``).

    Raises ValueError (naming the argument) for a zero ``prefetch_factor`` with workers or a
    negative count.

    >>> gpuguard.shm_required_bytes(2, 8 * 2**20) > 4 * 8 * 2**20
    True"""
def shm_recommended_size(
    num_workers: int,
    batch_bytes: int | str,
    prefetch_factor: int = 2,
    loaders: int = 1,
    local_processes: int = 1,
    memory_limit_bytes: int | str | None = None,
) -> dict[str, Any]:
    """The /dev/shm size to set (emptyDir ``sizeLimit`` or ``--shm-size``): the requirement of
    :func:`shm_required_bytes` plus 50% headroom, rounded up to whole GiB, at least 1 GiB. Returns
    a dict: ``required_bytes``, ``size_bytes``, ``quantity`` (Kubernetes quantity, e.g. ``"2Gi"``)
    and ``reasoning`` (which also says whether it fits ``memory_limit_bytes``, since tmpfs pages
    count against the container's memory limit). Raises ValueError like
    :func:`shm_required_bytes`.

    >>> gpuguard.shm_recommended_size(8, 64 * 2**20)["quantity"]
    '2Gi'"""
def lost_work_cost(hourly_gpu_cost: float, hours_since_last_checkpoint: float) -> float:
    """Money lost to one interruption: ``hourly_gpu_cost`` (dollars per hour for the whole job) ×
    ``hours_since_last_checkpoint`` of work redone. Raises ValueError for a negative or non-finite
    argument.

    >>> gpuguard.lost_work_cost(32.0, 70.0)
    2240.0"""
def mtbf_hours(interruption_rate: float, period_hours: float, nodes: int = 1) -> float:
    """Mean time between interruptions of a job in hours. ``interruption_rate`` is the probability
    that one node is interrupted at least once in ``period_hours`` (AWS Spot "<5%" per month:
    ``0.05`` over ``730``); a job on ``nodes`` nodes stops when any one does:
    ``1 / (nodes × −ln(1 − rate) / period)``. A rate of 0 gives ``inf``. Raises ValueError for a
    rate outside [0, 1) or a non-positive period or node count.

    >>> round(gpuguard.mtbf_hours(0.05, 730.0, 16), 1)
    889.5"""
def optimal_checkpoint_interval(
    checkpoint_seconds: float, mtbf_hours: float, method: Literal["daly", "young"] = "daly"
) -> float:
    """Seconds of work between checkpoints that waste the least GPU time, for a checkpoint taking
    ``checkpoint_seconds`` and a job MTBF of ``mtbf_hours``: Daly's higher-order estimate
    (``method="daly"``) or Young's ``√(2δM)`` (``"young"``). Raises ValueError for non-positive
    arguments or an unknown method.

    >>> gpuguard.optimal_checkpoint_interval(300, 24.0, method="young")
    7200.0"""
def checkpoint_waste(
    interval_seconds: float, checkpoint_seconds: float, mtbf_hours: float, restart_seconds: float = 0.0
) -> float:
    """Expected fraction (0..1) of wall time wasted (writing checkpoints, redoing lost work,
    restarting) when checkpointing every ``interval_seconds`` of work, each checkpoint taking
    ``checkpoint_seconds``, with a job MTBF of ``mtbf_hours`` and ``restart_seconds`` per restart
    (Daly's model). Raises ValueError for non-positive intervals or MTBF.

    >>> w = gpuguard.checkpoint_waste(3933, 300, 7.9)   # Meta's ~7.9 h MTTF at 1,024 GPUs
    >>> round(w, 3)
    0.138"""
def checkpoint_plan(
    hourly_gpu_cost: float,
    run_hours: float,
    checkpoint_seconds: float,
    interruption_rate: float,
    period_hours: float = 730.0,
    nodes: int = 1,
    restart_seconds: float = 0.0,
    method: Literal["daly", "young"] = "daly",
) -> dict[str, Any]:
    """Plans the checkpoints of a run of ``run_hours`` of work costing ``hourly_gpu_cost`` dollars
    per hour, each checkpoint taking ``checkpoint_seconds``, each of ``nodes`` nodes interrupted
    with probability ``interruption_rate`` per ``period_hours``. Returns a dict: ``mtbf_hours``,
    ``interval_seconds`` (the optimum), ``keep_last``, ``checkpoints``,
    ``expected_interruptions``, ``waste_fraction``, ``expected_hours``, ``expected_cost`` and the
    same without checkpoints, ``method``. Pass it to ``CheckpointStore(plan=...)``. Raises
    ValueError naming a bad argument.

    >>> plan = gpuguard.checkpoint_plan(32.0, 100.0, 120.0, 0.1, nodes=4)
    >>> plan["keep_last"]
    3"""
def probe_window_seconds(initial_delay_seconds: int = 0, period_seconds: int = 10, failure_threshold: int = 3) -> int:
    """Seconds a Kubernetes probe gives a container before it fails: ``initial_delay_seconds +
    period_seconds × failure_threshold`` (Kubernetes' defaults 0, 10, 3). Raises ValueError for
    values the API server rejects (a period or threshold of 0).

    >>> gpuguard.probe_window_seconds(60, 10, 30)
    360"""
def estimate_load_seconds(model_bytes: float, read_bytes_per_second: float, overhead_seconds: float = 0.0) -> float:
    """Estimated seconds to load a model: ``model_bytes / read_bytes_per_second`` plus
    ``overhead_seconds`` (process start, CUDA context: 20-60 s for vLLM-class servers). Raises
    ValueError for a non-positive read speed or negative bytes.

    >>> gpuguard.estimate_load_seconds(140e9, 1e9, 30.0)
    170.0"""
def startup_window_covers(window_seconds: float, load_seconds: float, safety_factor: float = 2.0) -> bool:
    """Whether a startup window of ``window_seconds`` covers ``safety_factor`` × ``load_seconds``
    (2 is gpuguard's rule: loads are slower on a cold node or a busy volume). Raises ValueError
    for negative or non-finite arguments.

    >>> gpuguard.startup_window_covers(600.0, 170.0)
    True"""
def validate_gpu_resources(
    requests: Mapping[str, str | int | float] | None = None, limits: Mapping[str, str | int | float] | None = None
) -> list[Finding]: ...
def cli_main(argv: list[str]) -> int: ...

XidCategory = Literal[
    "hardware", "driver", "application", "memory-ecc", "pcie-bus", "nvlink", "thermal-power", "gsp-firmware", "display", "unknown"
]
XidAction = Literal["none", "restart-app", "investigate", "reset-gpu", "reboot-node", "drain-and-replace"]

@final
class XidInfo:
    @property
    def code(self) -> int: ...
    @property
    def mnemonic(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def meaning(self) -> str: ...
    @property
    def category(self) -> XidCategory: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def action(self) -> XidAction: ...
    @property
    def advice(self) -> str: ...
    @property
    def nvidia_action(self) -> str | None: ...
    @property
    def legacy(self) -> bool: ...
    @property
    def known(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str:
        """The code as a small HTML table (code, name, meaning, category, severity, action with
        its advice), the first row coloured by severity with dark text so it reads in dark
        notebook themes; all text escaped. Jupyter calls it to display the object.

        >>> "Graphics engine exception" in gpuguard.classify_xid(13)._repr_html_()
        True
        """

@final
class XidEvent:
    @property
    def xid(self) -> int: ...
    @property
    def pci(self) -> str | None: ...
    @property
    def gpu_instance(self) -> int | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def process(self) -> str | None: ...
    @property
    def timestamp(self) -> str | None: ...
    @property
    def message(self) -> str: ...
    @property
    def caused_by(self) -> int | None: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def category(self) -> XidCategory: ...
    @property
    def action(self) -> XidAction: ...
    @property
    def name(self) -> str: ...
    @property
    def follow_on(self) -> bool: ...
    @property
    def verdict_words(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class XidScan:
    @property
    def events(self) -> list[XidEvent]: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def findings(self) -> list[Finding]: ...
    def report(self) -> Report: ...
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str:
        """The scan as HTML: a header (events, GPUs, lines, inputs), one row per GPU verdict (root
        XID, severity, action, events, verdict) and one per GPU and code (count, root causes,
        first and last timestamps, where first seen), then unreadable inputs and notes. Rows are
        coloured by severity with dark text (readable in dark notebook themes); all text from the
        log is escaped. Events are not listed one by one (a log may hold millions).

        >>> scan = gpuguard.scan_xid("NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\\n")
        >>> "0000:3b:00" in scan._repr_html_()
        True
        """
    def __len__(self) -> int: ...

def classify_xid(code: int) -> XidInfo:
    """What an XID code (the number after ``NVRM: Xid (PCI:...):`` in the kernel log) means:
    name, meaning, category, severity and the action to take. Unknown codes come back with
    ``known == False``, never an error.

    Raises ``TypeError`` (the note names ``code``) when ``code`` is not an int, ``ValueError``
    naming ``code`` when it is outside 0..4294967295.

    >>> x = gpuguard.classify_xid(79)
    >>> x.name, x.action
    ('GPU has fallen off the bus', 'reboot-node')
    """

def parse_xid_line(line: str | bytes) -> XidEvent | None:
    """Parses one kernel-log line (dmesg, journalctl or syslog prefixes allowed; bytes may hold
    invalid UTF-8); ``None`` when it is not an XID event. Only the first line of the text counts.

    Raises ``TypeError`` naming ``line`` when it is not str or bytes.

    >>> gpuguard.parse_xid_line("NVRM: Xid (PCI:0000:3b:00): 48, pid=7, An uncorrectable double bit error").pci
    '0000:3b:00'
    """

def scan_xid(path_or_text: str | bytes | os.PathLike[str]) -> XidScan:
    """Scans a kernel log for XID events, with the GIL released: a path (a file, a gzip-rotated
    log or a directory of logs; a walk visits each file once, so symlink loops end, and skips
    FIFOs, devices and sockets inside a directory with a note) or the log text itself (a str
    holding a newline or ``NVRM: Xid``, or bytes). The per-GPU summary has a row limit; events
    past it are counted in ``summary["overflow_events"]``.

    Raises ``TypeError`` naming ``path_or_text`` for any other type (or an ``__fspath__`` that
    returns neither str nor bytes); ``GpuGuardError`` when nothing could be read (a missing file);
    unreadable files inside a directory are listed in ``report().errors`` instead.

    >>> scan = gpuguard.scan_xid("NVRM: Xid (PCI:0000:01:00): 79, pid=1, GPU has fallen off the bus.\\n")
    >>> len(scan), scan.summary["verdicts"][0]["action"]
    (1, 'reboot-node')
    """

def parse_nvidia_smi_q(text: str) -> list[dict[str, Any]]: ...
def corrected_error_rate(samples: list[tuple[float, int]], threshold_per_hour: float = 100.0) -> dict[str, Any]: ...
def lint_manifests(
    text: str,
    filename: str = "<string>",
    honour_ignore_annotations: bool | None = None,
    *,
    ignore_annotations: bool | None = None,
) -> Report:
    """Lints Kubernetes manifest text: one or more YAML or JSON documents (``---``-separated,
    ``List`` objects and Helm-rendered output included), with the GIL released.

    ``filename`` names the text in findings and errors. ``honour_ignore_annotations`` (default
    ``None``, meaning ``True``): whether ``ignore-check.gpuguard.io/<rule>`` annotations on an
    object silence that rule; ``False`` refuses them, as ``gpuguard lint --no-ignore-annotations``
    does in CI. ``ignore_annotations`` is its deprecated alias (same meaning; it warns).

    Invalid YAML is not an exception: it becomes an entry of ``Report.errors`` (with file and
    line) and the other documents are still linted.

    Raises ``TypeError`` naming the argument for a wrong type, and when ``ignore_annotations``
    contradicts ``honour_ignore_annotations``; ``DeprecationWarning`` (a warning) when
    ``ignore_annotations`` is passed.

    >>> r = gpuguard.lint_manifests("kind: Pod\\nmetadata: {name: p}\\nspec: {containers: [{name: c}]}")
    >>> r.ok, len(r.findings)
    (True, 0)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     _ = gpuguard.lint_manifests("", ignore_annotations=False)
    >>> w[0].category.__name__
    'DeprecationWarning'
    """

def lint_paths(
    paths: str | os.PathLike[str] | list[str | os.PathLike[str]],
    honour_ignore_annotations: bool | None = None,
    *,
    ignore_annotations: bool | None = None,
) -> Report:
    """Lints files and directories (walked recursively: regular ``*.yaml``, ``*.yml`` and
    ``*.json`` files), with the GIL released. ``paths`` is one path or a list of them.

    A missing or unreadable input, a file over the size limit (64 MiB) or invalid YAML becomes an
    entry of ``Report.errors``; the other inputs are still linted. ``honour_ignore_annotations``
    and the deprecated ``ignore_annotations`` are as in :func:`lint_manifests`.

    Raises ``TypeError`` naming ``paths`` when it is not a path or a list of paths, and naming
    both switches when they contradict.

    >>> report = gpuguard.lint_paths(["/nonexistent/deploy.yaml"])
    >>> len(report.errors), report.findings
    (1, [])
    """

def memory_limit_bytes(root: str | os.PathLike[str] = ...) -> int | None: ...
def doctor(
    expect_gpus: int | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    dataloader_workers: int | None = None,
    batch_bytes: int | str | None = None,
    prefetch_factor: int = 2,
    root: str | os.PathLike[str] = ...,
    nvml_library: str | os.PathLike[str] | None = None,
) -> Report: ...
# The checkpoint store (GG003): see crates/gpuguard/src/store.
@final
class Checkpoint:
    @property
    def step(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def status(self) -> Literal["ok", "corrupt", "partial"]: ...
    @property
    def ok(self) -> bool: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def files(self) -> list[str]: ...
    @property
    def total_bytes(self) -> int: ...
    @property
    def created_unix(self) -> float | None: ...
    @property
    def skipped(self) -> list[Checkpoint]: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class PendingCheckpoint:
    @property
    def step(self) -> int: ...
    @property
    def path(self) -> Path | None: ...
    @property
    def checkpoint(self) -> Checkpoint | None: ...
    def __enter__(self) -> Path: ...
    def __exit__(self, exc_type: Any = None, exc_value: Any = None, traceback: Any = None) -> bool: ...

@final
class CheckpointStore:
    def __new__(
        cls,
        directory: str | os.PathLike[str],
        keep_last: int = 3,
        *,
        every_steps: int | None = None,
        every_seconds: float | None = None,
        plan: Mapping[str, Any] | None = None,
        read_only: bool = False,
    ) -> Self: ...
    def save(self, step: int) -> PendingCheckpoint: ...
    def latest(self) -> Checkpoint | None: ...
    def get(self, step: int, *, checksums: bool = True) -> Checkpoint | None: ...
    def list(self) -> builtins.list[Checkpoint]: ...
    def due(self, step: int | None = None, now: float | None = None) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> CheckpointStore: ...
    def __exit__(self, exc_type: Any = None, exc_value: Any = None, traceback: Any = None) -> bool: ...
    @property
    def directory(self) -> Path: ...
    @property
    def keep_last(self) -> int: ...
    @property
    def every_steps(self) -> int | None: ...
    @property
    def every_seconds(self) -> float | None: ...
    @property
    def is_writer(self) -> bool: ...
    @property
    def cleaned_up(self) -> builtins.list[str]: ...
