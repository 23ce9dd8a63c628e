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
    # A multi-process run (spaced_kd/distributed.py): this process builds only its part of each
    # global batch and of each evaluation split; (0, 1) is the whole.
    shard_rank: int = 0
    shard_size: int = 1

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.steps_per_epoch

    def set_shard(self, rank: int, size: int) -> None:
        self.shard_rank, self.shard_size = int(rank), int(size)

    def part(self, n: int) -> tuple[int, int]:
        """[lo, hi) of this process's part of n consecutive items (the whole when not sharded)."""
        from ..distributed import shard

        return shard(n, self.shard_rank, self.shard_size)

    def step_size(self, t: int) -> int:
        """Samples in step t's global batch (the last of an epoch may be short)."""
        s = self.stream
        return min(s.batch_size, s.n - (int(t) % s.steps_per_epoch) * s.batch_size)

    def eval_size(self, split: str) -> int:
        """Samples in an evaluation split (all of it, whatever the shard)."""
        raise NotImplementedError

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
