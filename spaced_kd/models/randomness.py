"""Which modules draw random numbers in training: what a learner reseeds per (seed, role, step)
and what a stack of students cannot share."""
from __future__ import annotations

from torch import nn


def draws(module: nn.Module) -> bool:
    """Whether a module draws random numbers in training (dropout, drop-path: ours and timm's)."""
    p = getattr(module, "p", None) if isinstance(module, nn.modules.dropout._DropoutNd) else getattr(module, "drop_prob", None)
    if p is None and type(module).__name__ == "DropPath":
        p = getattr(module, "p", None)
    return isinstance(p, float) and p > 0
