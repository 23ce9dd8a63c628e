"""In-memory datasets: uint8 tensors on the training device, augmented there per step."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from .augment import Augment, Normalise
from .base import Data
from .stream import Stream

Split = tuple[torch.Tensor, torch.Tensor]  # uint8 images [N, C, H, W], int64 labels [N], on device


class TensorData(Data):
    def __init__(self, name: str, splits: dict[str, Split], num_classes: int, stream: Stream,
                 augment: Augment, normalise: Normalise, device: torch.device):
        self.name, self.num_classes, self.stream, self.device = name, num_classes, stream, device
        self._splits = splits  # "train" is both the training set and the un-augmented eval split
        train_x = splits["train"][0]
        self.in_channels, self.image_size = int(train_x.shape[1]), int(train_x.shape[-1])
        self.n_train = int(train_x.shape[0])
        self.eval_splits = [s for s in ("test", "val", "train") if s in splits]
        self.augment, self.normalise = augment, normalise

    def train_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._splits["train"]
        idx = self.stream.indices(t).to(self.device, non_blocking=True)  # no wait on the GPU
        return self.augment(x.index_select(0, idx), self.stream.generator(t)), y.index_select(0, idx)

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._check_split(split)
        x, y = self._splits[split]
        for i in range(0, x.shape[0], batch_size):
            yield self.normalise(x[i : i + batch_size]), y[i : i + batch_size]

    def train_eval_tensors(self) -> Split:
        """The un-augmented training set as stored (uint8 on device), e.g. for probes."""
        return self._splits["train"]
