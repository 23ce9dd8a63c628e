"""Reading a pickled data file without letting it run code.

A pickle is a program: its GLOBAL / STACK_GLOBAL opcodes import any callable and REDUCE calls it,
so `pickle.load` on a downloaded file (CIFAR-100's `train`, `test`, `meta`) can run any command.
`load` admits only what a data file needs: the builtin containers, str, bytes and numbers (which
pickle builds without importing anything) and numpy arrays. Any other import is refused before it
happens, with one line naming the file.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserError


def _reconstruct() -> Callable[..., Any]:
    # The function an ndarray pickle names; its home moved from numpy.core (1.x) to numpy._core (2.x).
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct as fn
    return fn


def _scalar() -> Callable[..., Any]:
    try:
        from numpy._core.multiarray import scalar as fn
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import scalar as fn
    return fn


def _frombuffer() -> Callable[..., Any]:
    # What protocol 5 (Python 3.14's default) names for a contiguous array: frombuffer + reshape.
    try:
        from numpy._core.numeric import _frombuffer as fn
    except ImportError:  # numpy 1.x
        from numpy.core.numeric import _frombuffer as fn
    return fn


def _latin1(text: str, encoding: str) -> bytes:
    # Protocols 0-2 written by Python 3 store bytes as codecs.encode(text, "latin1"); any other
    # codec is not how bytes are pickled, so it is refused rather than looked up.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# (module, name) a data pickle may name → what it stands for. Python-2 pickles say __builtin__;
# pickle maps that to builtins before find_class sees it.
ALLOWED: dict[tuple[str, str], Callable[[], Any]] = {
    ("builtins", "set"): lambda: set,
    ("builtins", "frozenset"): lambda: frozenset,
    ("builtins", "bytearray"): lambda: bytearray,
    ("builtins", "complex"): lambda: complex,
    ("_codecs", "encode"): lambda: _latin1,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.core.multiarray", "scalar"): _scalar,  # a numpy number, e.g. an np.int64 label
    ("numpy._core.multiarray", "scalar"): _scalar,
}


class Refused(pickle.UnpicklingError):
    """The pickle names a callable that is not on the list."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        make = ALLOWED.get((module, name))
        if make is None:
            raise Refused(f"{module}.{name}")
        return make()

    def persistent_load(self, pid: Any) -> Any:  # no external references either
        raise Refused(f"persistent id {pid!r}")


def load(path: Path, what: str) -> Any:
    """The object pickled in `path`, built from plain data and numpy arrays only.

    Python-2 `str` values come back as bytes (encoding="bytes"), as in the official CIFAR files.
    A refused import, a damaged or truncated file: UserError `"<what>: <path> …"` in one line.
    """
    try:
        with open(path, "rb") as f:
            return _Unpickler(f, encoding="bytes").load()
    except Refused as exc:
        raise UserError(f"{what}: {path} is refused: it would call {exc} (a data file may hold only "
                        f"containers, strings, numbers and numpy arrays); nothing in it was run") from None
    except (OSError, MemoryError) as exc:
        raise UserError(f"{what}: cannot read {path} ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # garbage bytes: pickle raises almost any type (EOFError, KeyError, ValueError, …)
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{what}: {path} is not a readable pickle ({reason})") from None
