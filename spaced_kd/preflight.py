"""Checks made before Hydra starts: Hydra creates the output directory itself and reports a
failure there as a traceback, so an unwritable location is caught here as one line instead."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

DEFAULT_ROOTS = {"hydra.run.dir=": "outputs", "hydra.sweep.dir=": "multirun"}


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def output_dir_problem(argv: Sequence[str]) -> str | None:
    """One line describing why the run's output location can't be written, or None."""
    multirun = any(a in ("-m", "--multirun") for a in argv)
    key = "hydra.sweep.dir=" if multirun else "hydra.run.dir="
    # `+key=` and `++key=` set the same key as `key=`
    value = next((a.split("=", 1)[1] for a in argv if a.lstrip("+~").startswith(key)), DEFAULT_ROOTS[key])
    literal = value.split("${", 1)[0] or "."  # the part before any interpolation
    base = _existing_ancestor(Path(literal))
    if not base.is_dir():
        return f"output directory {value} is not writable ({base} is not a directory); choose another with {key}PATH"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".spaced-kd-", dir=base))
    except OSError as exc:
        return f"output directory {value} is not writable ({exc.strerror} in {base}); choose another with {key}PATH"
    return None
