"""What every probe shares: the probe registry, the context a probe runs in, a plain evaluation loop."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry
from .pixels import pixel_batches


class Probe(NamedTuple):
    # (context, settings) → (result: probes.json[name], info: probes.json["meta"][name], one console line)
    run: Callable[["Context", Any], tuple[dict, dict, str]]
    check: Callable[[Any], None]  # settings → UserError before any model is loaded


PROBES: Registry = Registry("probe")


def probe(name: str, check: Callable[[Any], None]):
    """Register `fn(ctx, settings) -> (result, info, line)` as probe `name` with its settings check."""

    def deco(fn):
        PROBES.register(name)(Probe(fn, check))
        return fn

    return deco


@dataclass
class Context:
    run_dir: Path
    setup: Any  # spaced_kd.build.Setup
    model: nn.Module  # PixelModel: [0, 1] images → logits, eval mode
    device: torch.device
    batch_size: int

    @property
    def data(self):
        return self.setup.data

    def batches(self, split: str, limit: Optional[int] = None, batch_size: Optional[int] = None):
        return pixel_batches(self.setup.data, split, batch_size or self.batch_size, limit, self.device)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in %) of `model` over `batches`."""
    loss_sum, correct, n = 0.0, 0, 0
    for x, y in batches:
        logits = model(x).float()
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        n += int(y.shape[0])
    if n == 0:
        return float("nan"), float("nan")
    return loss_sum / n, 100.0 * correct / n
