"""Checkpoints: written atomically, read back with weights_only=True."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import torch

from .atomic import atomic_file
from .errors import UserError

FORMAT = 1


def save(path: Path, state: dict[str, Any]) -> None:
    with atomic_file(path, "wb") as f:
        torch.save({"format": FORMAT, **state}, f)


def load(path: Path, map_location: str | torch.device = "cpu") -> Optional[dict[str, Any]]:
    """The checkpoint at `path`, None if there is none; a damaged file is a UserError."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, pickle garbage, foreign objects: all unreadable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"checkpoint {path} is unreadable ({reason[:120]}); "
                        f"move it away or set trainer.resume=false to start over") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"checkpoint {path} is not a spaced-kd checkpoint of format {FORMAT}; "
                        f"move it away or set trainer.resume=false to start over")
    return state
