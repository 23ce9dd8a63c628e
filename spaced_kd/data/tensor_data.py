"""In-memory datasets: uint8 tensors on the training device, augmented there per step."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import torch

from .augment import Augment, Normalise, StepParams
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
        self._epochs: OrderedDict[int, tuple[torch.Tensor, StepParams]] = OrderedDict()

    _CACHE = 2  # epochs on the device: a replay may step back over an epoch boundary

    def _epoch(self, epoch: int) -> tuple[torch.Tensor, StepParams]:
        """An epoch's sample order and augmentation parameters, on the device (one copy an epoch)."""
        if epoch not in self._epochs:
            s, spe = self.stream, self.stream.steps_per_epoch
            steps = range(epoch * spe, (epoch + 1) * spe)
            sizes = [min(s.batch_size, s.n - j * s.batch_size) for j in range(spe)]
            params = self.augment.epoch_params((s.generator(t) for t in steps), sizes).to(self.device)
            order = s.permutation(epoch).long()
            order = order.pin_memory().to(self.device, non_blocking=True) if self.device.type == "cuda" else order
            self._epochs[epoch] = (order, params)
            while len(self._epochs) > self._CACHE:
                self._epochs.popitem(last=False)
        self._epochs.move_to_end(epoch)
        return self._epochs[epoch]

    def train_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._splits["train"]
        epoch, i = divmod(int(t), self.stream.steps_per_epoch)
        order, params = self._epoch(epoch)
        start = i * self.stream.batch_size
        lo, hi = self.part(min(self.stream.batch_size, self.stream.n - start))  # the whole unless sharded
        part = slice(start + lo, start + hi)
        idx = order[part]
        return self.augment.apply(x.index_select(0, idx), params[part]), y.index_select(0, idx)

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._check_split(split)
        x, y = self._splits[split]
        lo, hi = self.part(x.shape[0])
        x, y = x[lo:hi], y[lo:hi]
        for i in range(0, x.shape[0], batch_size):
            yield self.normalise(x[i : i + batch_size]), y[i : i + batch_size]

    def eval_size(self, split: str) -> int:
        self._check_split(split)
        return int(self._splits[split][1].shape[0])

    def train_eval_tensors(self) -> Split:
        """The un-augmented training set as stored (uint8 on device), e.g. for probes."""
        return self._splits["train"]
