"""Where a source looks for its files, and the one-line error when they aren't there."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError

ENV_VAR = "SPACED_KD_DATA"


def default_root(name: str) -> Path:
    base = os.environ.get(ENV_VAR)
    return Path(base) / name if base else Path("data") / name


def root_of(cfg) -> Path:
    return Path(cfg.root).expanduser() if cfg.root else default_root(cfg.name)


def missing(name: str, what: str, root: Path, expected: Path | str, how: str) -> UserError:
    return UserError(f"dataset {name}: no {what} under {root} (expected {expected}); {how}")


HOW_DOWNLOAD = "set dataset.root=PATH or dataset.download=true on a machine with internet"
