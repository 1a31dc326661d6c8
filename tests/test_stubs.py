"""The hand-written .pyi stubs must match the compiled module: same names, same parameters."""

import ast
import inspect
from pathlib import Path

import gpuguard
from gpuguard import _gpuguard

STUB = Path(gpuguard.__file__).with_name("_gpuguard.pyi")


def stub_tree():
    return ast.parse(STUB.read_text())


def stub_functions():
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.FunctionDef)}


def stub_classes():
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}


def params(fn: ast.FunctionDef):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n != "self"]


def test_every_public_name_is_stubbed_and_exists():
    public = {n for n in dir(_gpuguard) if not n.startswith("_")}
    stubbed = set(stub_functions()) | set(stub_classes())
    assert public - stubbed == set(), "compiled names missing from the stub"
    assert stubbed - public == set(), "stubbed names missing from the module"


def test_function_signatures_match():
    for name, fn in stub_functions().items():
        real = inspect.signature(getattr(_gpuguard, name))
        assert list(real.parameters) == params(fn), name


def test_class_members_match():
    for name, cls in stub_classes().items():
        real = getattr(_gpuguard, name)
        for member in cls.body:
            if isinstance(member, ast.FunctionDef) and member.name != "__init__":
                assert hasattr(real, member.name), f"{name}.{member.name}"


def test_package_reexports_the_module():
    for name in gpuguard.__all__:
        assert hasattr(gpuguard, name), name
    assert (Path(gpuguard.__file__).parent / "py.typed").exists()


def test_mypy_stubtest_passes():
    """`python -m mypy.stubtest gpuguard`: the stub and the package agree with the runtime (names,
    parameters, defaults, final classes), and the pure-Python modules type-check against the stub."""
    import shutil
    import subprocess
    import sys

    import pytest

    pytest.importorskip("mypy", reason="stubtest needs mypy (pip install mypy; .ci/run installs it)")
    allow = Path(__file__).with_name("stubtest-allowlist.txt")
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "gpuguard", "--allowlist", str(allow)],
        capture_output=True, text=True, timeout=600, cwd=shutil.os.path.dirname(__file__),
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_stub_docstring_examples_run():
    """The examples in the stub's docstrings (what IDEs show) are doctests: they must stay true."""
    import doctest

    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    parser = doctest.DocTestParser()
    ran = 0
    for fn in stub_functions().values():
        doc = ast.get_docstring(fn)
        if doc and ">>>" in doc:
            test = parser.get_doctest(doc, {"gpuguard": gpuguard}, fn.name, str(STUB), fn.lineno)
            runner.run(test)
            ran += 1
    assert ran >= 10, f"only {ran} stub functions carry an example"
    assert runner.summarize(verbose=False).failed == 0


def test_runtime_docstrings_exist_and_match_the_stub():
    """``help(gpuguard.checkpoint_plan)`` shows the stub's text: every public function and class of
    the compiled module has a ``__doc__`` (kept by the argument-naming wrapper of _named.py), and a
    function the stub documents has the same text at runtime (the Rust doc comment)."""
    stubs = stub_functions()
    checked = 0
    for name in (n for n in dir(_gpuguard) if not n.startswith("_")):
        real = getattr(_gpuguard, name)  # a function here is _named.py's wrapper of the builtin
        builtin = getattr(real, "__wrapped__", real)
        assert (builtin.__doc__ or "").strip(), f"{name} has no runtime docstring"
        assert real.__doc__ == builtin.__doc__, f"the wrapper of {name} lost its docstring"
        if hasattr(gpuguard, name) and not isinstance(real, type):  # CheckpointStore: _store.py's class
            assert getattr(gpuguard, name).__doc__ == builtin.__doc__, f"gpuguard.{name} lost its docstring"
        stub_doc = ast.get_docstring(stubs[name]) if name in stubs else None
        if stub_doc:
            assert inspect.cleandoc(real.__doc__) == stub_doc, f"{name}: runtime docstring differs from the stub's"
            checked += 1
    assert checked >= 10, checked
