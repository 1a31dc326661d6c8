"""A wrong type raises TypeError naming the argument (DESIGN.md: Python API errors), for the
public functions, methods and constructors of the extension that take arguments.

The argument is named in the message itself, so ``str(e)`` (a log line, ``print(e)``) says which
one: arguments gpuguard reads by hand (several accepted types, dict values, ``__fspath__``) say so
themselves; for those PyO3 converts (``text: str``, ``code: int``), whose name PyO3 puts only in a
PEP 678 note (``while processing 'text'``), gpuguard/_named.py moves the note into the message, and
the constructors read their arguments by hand."""

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
    ("Check status", lambda: gpuguard.Check("n", 3, "r"), "status"),
    ("Finding line", lambda: gpuguard.Finding("GG001", "error", "m", "f", line="3"), "line"),
    ("Report checks", lambda: gpuguard.Report("x", [], "ok"), "checks"),
    ("Report.fails_at", lambda: gpuguard.Report("x").fails_at(3), "level"),
    ("Report.merged", lambda: gpuguard.Report("x").merged("y"), "other"),
    ("Finding.to_json", lambda: gpuguard.Finding("GG001", "error", "m", "f").to_json("2"), "indent"),
]


@pytest.mark.parametrize("call, argument", [(c, a) for _, c, a in CASES], ids=[n for n, _, _ in CASES])
def test_wrong_type_is_a_type_error_naming_the_argument(call, argument):
    with pytest.raises(TypeError) as e:
        call()
    shown = "".join(traceback.format_exception_only(e.value))
    assert f"`{argument}`" in shown or f"'{argument}'" in shown, shown


@pytest.mark.parametrize("call, argument", [(c, a) for _, c, a in CASES], ids=[n for n, _, _ in CASES])
def test_the_message_itself_names_the_argument(call, argument):
    # str(e) is what a log line or `except TypeError as e: print(e)` shows.
    with pytest.raises(TypeError) as e:
        call()
    assert f"`{argument}`" in str(e.value), str(e.value)
    # Named once: PyO3's note, now in the message, is not printed a second time.
    assert not any("while processing" in n for n in getattr(e.value, "__notes__", [])), e.value.__notes__


def test_overflow_names_the_argument_and_wrapping_keeps_signatures_and_results():
    import inspect

    with pytest.raises(OverflowError, match="invalid argument `num_workers`"):
        gpuguard.shm_required_bytes(2**70, 1)
    # The wrapped functions keep their names, docs and signatures (help(), IDEs, stubtest).
    assert gpuguard.classify_xid.__name__ == "classify_xid" and gpuguard.classify_xid.__doc__
    assert list(inspect.signature(gpuguard.classify_xid).parameters) == ["code"]
    assert list(inspect.signature(gpuguard.Report.fails_at).parameters) == ["self", "level"]
    assert gpuguard.classify_xid(48).code == 48
    assert gpuguard.Report("x").fails_at("error") is False
    # An exception that is not a conversion error passes through untouched.
    with pytest.raises(ValueError, match="^invalid argument `prefetch_factor`"):
        gpuguard.shm_required_bytes(2, 1, prefetch_factor=0)


@pytest.mark.parametrize("plan", [[1, 2], 3.0, "interval_seconds"])
def test_checkpoint_store_plan_of_a_wrong_type(tmp_path, plan):
    with pytest.raises(TypeError, match="`plan`"):
        gpuguard.CheckpointStore(tmp_path / "ckpt", plan=plan)
    # A mapping without the keys is a wrong value, not a wrong type.
    with pytest.raises(ValueError, match="`plan`"):
        gpuguard.CheckpointStore(tmp_path / "ckpt", plan={"keep_last": 2})
