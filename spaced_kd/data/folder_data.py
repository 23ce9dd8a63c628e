"""Folder datasets (ImageNet): a DataLoader decodes the stream's batches ahead of the trainer.

The batch sampler walks the requested steps lazily and hands each sample (t, index, seed), where
the seed comes from the step's generator and the sample's position; workers return uint8, and
rotation and normalisation run batched on the device, as for in-memory sources.

An unreadable image is returned by the worker as an `_Unreadable` value instead of raised: the
DataLoader would re-raise it wrapped in the worker's traceback, and the user is owed one line.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import UserError
from .augment import Normalise, rotate
from .base import Data
from .folder_transforms import eval_image, train_image
from .stream import Stream

Samples = Sequence[tuple[str, int]]


def step_params(stream: Stream, t: int, batch: int, rotation: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample seeds (int64 [B]) and rotation angles (degrees [B]) of step t."""
    gen = stream.generator(t)
    seeds = torch.randint(0, 2**62, (batch,), generator=gen)
    angles = (torch.rand(batch, generator=gen) * 2 - 1) * rotation
    return seeds, angles


class _Unreadable(NamedTuple):
    message: str  # the one-line UserError of spaced_kd.data.images.open_image, naming the file


def _decoded(decode, *args) -> torch.Tensor | _Unreadable:
    try:
        return decode(*args)
    except UserError as exc:
        return _Unreadable(str(exc))


def _raise_unreadable(x: torch.Tensor | _Unreadable) -> torch.Tensor:
    if isinstance(x, _Unreadable):
        raise UserError(x.message)
    return x


class _TrainSet(Dataset):
    def __init__(self, samples: Samples, size: int, flip: bool):
        self.samples, self.size, self.flip = samples, size, flip

    def __getitem__(self, item: tuple[int, int, int]) -> tuple[int, torch.Tensor | _Unreadable, int]:
        t, index, seed = item
        path, label = self.samples[index]
        return t, _decoded(train_image, path, seed, self.size, self.flip), label


class _EvalSet(Dataset):
    def __init__(self, samples: Samples, size: int):
        self.samples, self.size = samples, size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | _Unreadable, int]:
        path, label = self.samples[index]
        return _decoded(eval_image, path, self.size), label


class _StepBatches:
    """A batch sampler over the given steps, consumed lazily (the DataLoader pulls a few ahead)."""

    def __init__(self, stream: Stream, steps: Iterable[int]):
        self.stream, self.steps = stream, steps

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for t in self.steps:
            idx = self.stream.indices(t)
            seeds, _ = step_params(self.stream, t, len(idx), 0.0)
            yield [(int(t), int(i), int(s)) for i, s in zip(idx.tolist(), seeds.tolist())]


def _first_unreadable(images: Iterable) -> _Unreadable | None:
    return next((x for x in images if isinstance(x, _Unreadable)), None)


def _collate(items: list[tuple[int, torch.Tensor | _Unreadable, int]]) -> tuple[int, torch.Tensor | _Unreadable, torch.Tensor]:
    bad = _first_unreadable(x for _, x, _ in items)
    images = bad if bad is not None else torch.stack([x for _, x, _ in items])
    return items[0][0], images, torch.tensor([y for _, _, y in items])


def _eval_collate(items: list[tuple[torch.Tensor | _Unreadable, int]]) -> tuple[torch.Tensor | _Unreadable, torch.Tensor]:
    bad = _first_unreadable(x for x, _ in items)
    return (bad if bad is not None else torch.stack([x for x, _ in items])), torch.tensor([y for _, y in items])


class FolderData(Data):
    def __init__(self, name: str, splits: dict[str, Samples], num_classes: int, image_size: int, stream: Stream,
                 flip: bool, rotation: float, fill: int, normalise: Normalise, num_workers: int,
                 device: torch.device):
        self.name, self.num_classes, self.image_size, self.stream = name, num_classes, image_size, stream
        self.in_channels, self.n_train, self.device = 3, len(splits["train"]), device
        self._splits = splits
        self.eval_splits = [s for s in ("test", "val", "train") if s in splits]
        self.flip, self.rotation, self.fill = flip, rotation, fill
        self.normalise, self.num_workers = normalise, num_workers
        self._train_set = _TrainSet(splits["train"], image_size, flip)

    def _finish(self, t: int, x: torch.Tensor | _Unreadable, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = _raise_unreadable(x).to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        if self.rotation > 0:
            _, angles = step_params(self.stream, t, x.shape[0], self.rotation)
            x = rotate(x, angles, self.fill)
        return self.normalise(x), y

    def train_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded in this process: the same bytes as train_batches gives, without prefetching."""
        (batch,) = _StepBatches(self.stream, [t])
        return self._finish(*_collate([self._train_set[item] for item in batch]))

    def _loader(self, dataset: Dataset, **kw) -> DataLoader:
        workers = self.num_workers
        # Its own generator: otherwise the DataLoader draws its worker base seed from the global RNG,
        # which would shift dropout draws (and break exact resume) whenever data is loaded.
        return DataLoader(dataset, num_workers=workers, pin_memory=self.device.type == "cuda",
                          prefetch_factor=4 if workers else None, generator=torch.Generator().manual_seed(0), **kw)

    def train_batches(self, steps: Iterable[int]) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        # A fresh loader per call: its workers end with the iteration, and two calls never share state.
        # Pass one long (lazy) step sequence rather than calling per step, or worker start-up dominates.
        loader = self._loader(self._train_set, batch_sampler=_StepBatches(self.stream, steps), collate_fn=_collate)
        for t, x, y in loader:
            yield (t, *self._finish(t, x, y))

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._check_split(split)
        loader = self._loader(_EvalSet(self._splits[split], self.image_size), batch_size=batch_size, shuffle=False,
                              collate_fn=_eval_collate)
        for x, y in loader:
            x = _raise_unreadable(x)
            yield self.normalise(x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)
