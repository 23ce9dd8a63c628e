"""Checkpoints: written atomically, read back with weights_only=True (a checkpoint can hold
tensors, numbers, strings and containers, never code)."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Optional

import torch

from .atomic import atomic_file
from .errors import UserError

# 2: the checkpoint also stores the run's resolved config ("config"), so a run is recoverable
# from the checkpoint alone. Format 1 (a config hash only) still gives its networks to probes and
# to teacher.checkpoint, but a run cannot resume from it (spaced_kd/run.py says so).
FORMAT = 2
READABLE = (1, 2)


def save(path: Path, state: dict[str, Any]) -> None:
    # Serialised in memory first: torch's zip writer turns a failed write (a full disk) into a
    # RuntimeError "unexpected pos …"; a plain write raises OSError(ENOSPC), which says what it is.
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    with atomic_file(path, "wb") as f:
        f.write(buf.getbuffer())


RESUME_HINT = "move it away, or set trainer.resume=false to train this run again from the start"


def load(path: Path, map_location: str | torch.device = "cpu", what: str = "checkpoint",
         hint: str = RESUME_HINT) -> Optional[dict[str, Any]]:
    """The checkpoint at `path`, None if there is none; a damaged or foreign file is a UserError."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, pickle garbage, objects that are not plain data
        raise UserError(f"{what} {path} is unreadable ({_reason(exc)}); {hint}") from None
    if not isinstance(state, dict) or state.get("format") not in READABLE:
        raise UserError(f"{what} {path} is not a spaced-kd checkpoint; {hint}")
    return state


def _reason(exc: Exception) -> str:
    text = str(exc)
    # weights_only refused a global: name it (torch's own text goes on to advise weights_only=False)
    refused = re.search(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL) ([\w.]+)", text)
    if refused:
        return f"it would call {refused.group(1)}; nothing in it was run"
    reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return reason if len(reason) <= 100 else reason[:100].rsplit(" ", 1)[0] + " …"
