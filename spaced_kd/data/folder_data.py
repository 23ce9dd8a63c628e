"""Folder datasets (ImageNet): files decoded by DataLoader workers, a seeded transform per sample
(spaced_kd/data/per_sample.py); evaluation resizes and centre-crops each image.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from PIL import Image
from torch.utils.data import Dataset

from .augment import Normalise
from .folder_transforms import eval_image
from .images import open_image
from .per_sample import PerSampleData, TrainSamples, Transform, Unreadable, first_unreadable, guarded, readable
from .stream import Stream

Samples = Sequence[tuple[str, int]]


class Files:
    """A split's (path, label) list as `Images`: each image decoded when asked for."""

    def __init__(self, samples: Samples):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> Image.Image:
        return open_image(self.samples[index][0])

    def label(self, index: int) -> int:
        return self.samples[index][1]


class _EvalSet(Dataset):
    def __init__(self, samples: Samples, size: int):
        self.samples, self.size = samples, size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | Unreadable, int]:
        path, label = self.samples[index]
        return guarded(eval_image, path, self.size), label


def _eval_collate(items: list[tuple[torch.Tensor | Unreadable, int]]) -> tuple[torch.Tensor | Unreadable, torch.Tensor]:
    bad = first_unreadable(x for x, _ in items)
    return (bad if bad is not None else torch.stack([x for x, _ in items])), torch.tensor([y for _, y in items])


class FolderData(PerSampleData):
    def __init__(self, name: str, splits: dict[str, Samples], num_classes: int, image_size: int, stream: Stream,
                 transform: Transform, rotation: float, fill: int, normalise: Normalise, num_workers: int,
                 device: torch.device):
        super().__init__(name, TrainSamples(Files(splits["train"]), transform), num_classes, 3, image_size,
                         stream, rotation, fill, normalise, num_workers, device)
        self._splits = splits  # (path, label) lists: the probes decode single files from them
        self.eval_splits = [s for s in ("test", "val", "train") if s in splits]

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._check_split(split)
        samples = self._splits[split]
        lo, hi = self.part(len(samples))
        loader = self._loader(_EvalSet(samples[lo:hi], self.image_size), batch_size=batch_size, shuffle=False,
                              collate_fn=_eval_collate)
        for x, y in loader:
            x = readable(x)
            yield self.normalise(x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)

    def eval_size(self, split: str) -> int:
        self._check_split(split)
        return len(self._splits[split])
