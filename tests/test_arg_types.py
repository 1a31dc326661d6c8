"""A wrong type raises TypeError naming the argument (DESIGN.md: Python API errors), for the
public functions of the extension that take arguments.

Arguments PyO3 converts itself (``text: str``, ``code: int``) are named in a PEP 678 note,
``while processing 'text'``, that tracebacks print after the message; arguments gpuguard reads by
hand (several accepted types, dict values, ``__fspath__``) are named in the message itself. The
test checks what a user sees: the formatted exception."""

import traceback

import pytest

import gpuguard
from gpuguard import _gpuguard


class BadPath:
    """An os.PathLike whose __fspath__ returns neither str nor bytes."""

    def __fspath__(self):
        return 5


CASES = [
    ("parse_bytes", lambda: gpuguard.parse_bytes(1.5), "size"),
    ("shm_required_bytes", lambda: gpuguard.shm_required_bytes(2, [1]), "batch_bytes"),
    ("shm_required_bytes workers", lambda: gpuguard.shm_required_bytes("2", 1), "num_workers"),
    ("checkpoint_plan", lambda: gpuguard.checkpoint_plan("4", 10, 60, 0.01, 1), "hourly_gpu_cost"),
    ("validate_gpu_resources", lambda: gpuguard.validate_gpu_resources({"nvidia.com/gpu": [1]}), "requests"),
    ("footgun", lambda: gpuguard.footgun(1), "key"),
    ("classify_xid", lambda: gpuguard.classify_xid("48"), "code"),
    ("parse_xid_line", lambda: gpuguard.parse_xid_line(48), "line"),
    ("scan_xid", lambda: gpuguard.scan_xid(48), "path_or_text"),
    ("scan_xid fspath", lambda: gpuguard.scan_xid(BadPath()), "path_or_text"),
    ("parse_nvidia_smi_q", lambda: gpuguard.parse_nvidia_smi_q(5), "text"),
    ("corrected_error_rate", lambda: gpuguard.corrected_error_rate([("t", 1)]), "samples"),
    ("lint_manifests text", lambda: gpuguard.lint_manifests(42), "text"),
    ("lint_manifests filename", lambda: gpuguard.lint_manifests("", filename=1), "filename"),
    (
        "lint_manifests honour",
        lambda: gpuguard.lint_manifests("", honour_ignore_annotations="no"),
        "honour_ignore_annotations",
    ),
    ("lint_paths", lambda: gpuguard.lint_paths(42), "paths"),
    ("memory_limit_bytes", lambda: _gpuguard.memory_limit_bytes(5), "root"),
    ("doctor", lambda: gpuguard.doctor(expect_gpus="8"), "expect_gpus"),
    ("Finding rule", lambda: gpuguard.Finding(1, "error", "m", "f"), "rule"),
    ("Finding evidence", lambda: gpuguard.Finding("GG001", "error", "m", "f", {"x": object()}), "evidence"),
    ("Report findings", lambda: gpuguard.Report("x", ["not a finding"]), "findings"),
    ("cli_main", lambda: _gpuguard.cli_main("xid"), "argv"),
]


@pytest.mark.parametrize("call, argument", [(c, a) for _, c, a in CASES], ids=[n for n, _, _ in CASES])
def test_wrong_type_is_a_type_error_naming_the_argument(call, argument):
    with pytest.raises(TypeError) as e:
        call()
    shown = "".join(traceback.format_exception_only(e.value))
    assert f"`{argument}`" in shown or f"'{argument}'" in shown, shown


HAND_READ = {"size", "batch_bytes", "requests", "line", "path_or_text", "paths", "evidence"}


@pytest.mark.parametrize("call, argument", [(c, a) for _, c, a in CASES if a in HAND_READ])
def test_hand_read_arguments_are_named_in_the_message(call, argument):
    # str(e) is what a log line or `except TypeError as e: print(e)` shows.
    with pytest.raises(TypeError, match=f"`{argument}`"):
        call()


@pytest.mark.parametrize("plan", [[1, 2], 3.0, "interval_seconds"])
def test_checkpoint_store_plan_of_a_wrong_type(tmp_path, plan):
    with pytest.raises(TypeError, match="`plan`"):
        gpuguard.CheckpointStore(tmp_path / "ckpt", plan=plan)
    # A mapping without the keys is a wrong value, not a wrong type.
    with pytest.raises(ValueError, match="`plan`"):
        gpuguard.CheckpointStore(tmp_path / "ckpt", plan={"keep_last": 2})
