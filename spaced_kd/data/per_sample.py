"""Batches built one sample at a time: a DataLoader materialises the stream's steps ahead of the
trainer, each sample transformed with its own seed.

The batch sampler walks the requested steps lazily and hands each sample (t, index, seed), where
the seed comes from the step's generator and the sample's position; so a step's batch is a pure
function of (seed, step) whichever worker decodes which sample. A transform either returns uint8
(rotation and normalisation then run batched on the device, as for in-memory sources) or, like
timm's, the final normalised tensor (its `normalised` attribute says which).

Used by folder sources (spaced_kd/data/folder_data.py) and by in-memory sources under
`augment=timm` (spaced_kd/data/array_samples.py), whose images are too many to hold at the
model's input size.

An unreadable image is returned by the worker as an `Unreadable` value instead of raised: the
DataLoader would re-raise it wrapped in the worker's traceback, and the user is owed one line.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..errors import UserError
from .augment import Normalise, rotate
from .base import Data
from .stream import Stream


def step_params(stream: Stream, t: int, batch: int, rotation: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample seeds (int64 [B]) and rotation angles (degrees [B]) of step t."""
    gen = stream.generator(t)
    seeds = torch.randint(0, 2**62, (batch,), generator=gen)
    angles = (torch.rand(batch, generator=gen) * 2 - 1) * rotation
    return seeds, angles


class Unreadable(NamedTuple):
    message: str  # the one-line UserError of spaced_kd.data.images.open_image, naming the file


def guarded(fn: Callable[..., torch.Tensor], *args) -> torch.Tensor | Unreadable:
    try:
        return fn(*args)
    except UserError as exc:
        return Unreadable(str(exc))


def readable(x: torch.Tensor | Unreadable) -> torch.Tensor:
    if isinstance(x, Unreadable):
        raise UserError(x.message)
    return x


def first_unreadable(images: Iterable) -> Unreadable | None:
    return next((x for x in images if isinstance(x, Unreadable)), None)


class Images(Protocol):
    """Random access to a split's images as PIL images (decoded files, or stored uint8 arrays)."""

    def __len__(self) -> int: ...
    def image(self, index: int) -> Image.Image: ...
    def label(self, index: int) -> int: ...


class Transform(Protocol):
    normalised: bool  # True: returns the final float tensor; False: uint8, normalised on the device

    def __call__(self, img: Image.Image, seed: int) -> torch.Tensor: ...


class TrainSamples(Dataset):
    """(t, index, seed) → (t, transformed image or Unreadable, label)."""

    def __init__(self, images: Images, transform: Transform):
        self.images, self.transform = images, transform

    def _sample(self, index: int, seed: int) -> torch.Tensor:
        return self.transform(self.images.image(index), seed)

    def __getitem__(self, item: tuple[int, int, int]) -> tuple[int, torch.Tensor | Unreadable, int]:
        t, index, seed = item
        return t, guarded(self._sample, index, seed), self.images.label(index)


class StepBatches:
    """A batch sampler over the given steps, consumed lazily (the DataLoader pulls a few ahead).
    `part(n)`: the [lo, hi) of each global batch this process builds (a multi-process run)."""

    def __init__(self, stream: Stream, steps: Iterable[int], part: Callable[[int], tuple[int, int]] = lambda n: (0, n)):
        self.stream, self.steps, self.part = stream, steps, part

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for t in self.steps:
            idx = self.stream.indices(t)
            seeds, _ = step_params(self.stream, t, len(idx), 0.0)
            lo, hi = self.part(len(idx))
            yield [(int(t), int(i), int(s)) for i, s in zip(idx.tolist()[lo:hi], seeds.tolist()[lo:hi])]


def collate(items: list[tuple[int, torch.Tensor | Unreadable, int]]) -> tuple[int, torch.Tensor | Unreadable, torch.Tensor]:
    bad = first_unreadable(x for _, x, _ in items)
    images = bad if bad is not None else torch.stack([x for _, x, _ in items])
    return items[0][0], images, torch.tensor([y for _, _, y in items])


class PerSampleData(Data):
    """Training batches through `TrainSamples`; subclasses add the evaluation splits."""

    def __init__(self, name: str, train: TrainSamples, num_classes: int, in_channels: int, image_size: int,
                 stream: Stream, rotation: float, fill: int, normalise: Normalise, num_workers: int,
                 device: torch.device):
        self.name, self.num_classes, self.stream, self.device = name, num_classes, stream, device
        self.in_channels, self.image_size, self.n_train = in_channels, image_size, len(train.images)
        self.rotation, self.fill = rotation, fill
        self.normalise, self.num_workers = normalise, num_workers
        self._train_set = train

    def _finish(self, t: int, x: torch.Tensor | Unreadable, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = readable(x).to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        if self._train_set.transform.normalised:
            return x, y
        if self.rotation > 0:
            n = self.step_size(t)
            lo, hi = self.part(n)
            _, angles = step_params(self.stream, t, n, self.rotation)
            x = rotate(x, angles[lo:hi], self.fill)
        return self.normalise(x), y

    def train_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Built in this process: the same bytes as train_batches gives, without prefetching."""
        (batch,) = StepBatches(self.stream, [t], self.part)
        return self._finish(*collate([self._train_set[item] for item in batch]))

    def _loader(self, dataset: Dataset, **kw) -> DataLoader:
        workers = self.num_workers
        # Its own generator: otherwise the DataLoader draws its worker base seed from the global RNG,
        # which would shift dropout draws (and break exact resume) whenever data is loaded.
        return DataLoader(dataset, num_workers=workers, pin_memory=self.device.type == "cuda",
                          prefetch_factor=4 if workers else None, generator=torch.Generator().manual_seed(0), **kw)

    def train_batches(self, steps: Iterable[int]) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        # A fresh loader per call: its workers end with the iteration, and two calls never share state.
        # Pass one long (lazy) step sequence rather than calling per step, or worker start-up dominates.
        loader = self._loader(self._train_set, batch_sampler=StepBatches(self.stream, steps, self.part), collate_fn=collate)
        for t, x, y in loader:
            yield (t, *self._finish(t, x, y))
