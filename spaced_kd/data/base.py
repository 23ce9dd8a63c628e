"""The interface every built dataset offers to the engine."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from ..errors import UserError
from .stream import Stream


class Data:
    """Training batches as a pure function of the step (`stream`), evaluation splits in order."""

    name: str
    num_classes: int
    in_channels: int
    image_size: int
    n_train: int
    stream: Stream
    eval_splits: list[str]
    device: torch.device

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.steps_per_epoch

    def train_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Augmented, normalised float32 images [B, C, H, W] and int64 labels [B] of step t."""
        raise NotImplementedError

    def train_batches(self, steps: Iterable[int]) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """(t, x, y) for each step in the order given; steps may repeat, go back, or be lazy."""
        for t in steps:
            yield (t, *self.train_batch(t))

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError

    def _check_split(self, split: str) -> None:
        if split not in self.eval_splits:
            raise UserError(f"dataset {self.name} has no eval split {split!r}; choose one of: {', '.join(self.eval_splits)}")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name}: {self.n_train} train, {self.num_classes} classes, "
                f"{self.in_channels}×{self.image_size}², {self.steps_per_epoch} steps/epoch)")
