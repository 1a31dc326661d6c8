"""Names the argument in the message of a conversion error from the compiled module.

PyO3 (0.30) reports an argument it could not convert (``gpuguard.classify_xid("48")``) with the
argument's name only in a PEP 678 note, ``while processing 'code'``: tracebacks print it, but
``str(e)``, ``logging.exception``'s first line and most error reporters do not. Every function of
``gpuguard._gpuguard`` and every method of its classes is wrapped here, once, at import, so the
message itself reads ``invalid argument `code`: 'str' object cannot be interpreted as an
integer``, as gpuguard's own checks word it. (Constructors read their arguments by hand in Rust
for the same message; see crates/gpuguard-py/src/errors.rs.)

The wrapper is one Python frame between the caller and Rust: a warning the extension emits uses
``stacklevel=2`` to point at the caller's line (crates/gpuguard-py/src/lint.rs).
"""

from __future__ import annotations

import functools
import re
import types
from typing import Any, Callable, TypeVar

from gpuguard import _gpuguard

F = TypeVar("F", bound=Callable[..., Any])

_NOTE = re.compile(r"while processing '([^']+)'")


def name_argument(error: BaseException) -> None:
    """Moves PyO3's ``while processing 'x'`` note into ``error``'s message (in place)."""
    notes = getattr(error, "__notes__", None)
    # UnicodeError and OSError build their message from fields, not from args: leave them be.
    if not notes or isinstance(error, (UnicodeError, OSError)) or len(error.args) > 1:
        return
    for note in notes:
        m = _NOTE.fullmatch(note)
        if m:
            if f"`{m[1]}`" not in str(error):
                error.args = (f"invalid argument `{m[1]}`: {error}",)
            notes.remove(note)
            if not notes:
                del error.__notes__
            return


def named(fn: F) -> F:
    """``fn`` whose conversion errors name the argument in their message."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            name_argument(e)
            raise

    return call  # type: ignore[return-value]


def _wrap_module(module: types.ModuleType) -> None:
    for name, value in vars(module).copy().items():
        if isinstance(value, types.BuiltinFunctionType):
            setattr(module, name, named(value))
        elif isinstance(value, type) and not issubclass(value, BaseException):
            for attr, member in vars(value).copy().items():
                # Methods only: properties take no arguments, dunders are Python's protocol.
                if isinstance(member, types.MethodDescriptorType) and not attr.startswith("__"):
                    setattr(value, attr, named(member))


_wrap_module(_gpuguard)
