"""In-memory sources under `augment=timm`: per-sample transforms from the stored uint8 images.

The release feeds each 32-px CIFAR image (64-px Tiny-ImageNet image) to timm's transform, whose
RandomResizedCrop brings it to 224 px. Holding the set at 224 px instead would cost 49× the memory
(CIFAR-100's train split: 7.5 GB of uint8), so the images stay at their native size on the CPU and
a DataLoader transforms each sample of a step from its own seed (spaced_kd/data/per_sample.py).

Evaluation is the release's test transform, a plain resize of the whole image to the input size
(torchvision's Resize: bilinear), done batched on the device and rounded to uint8 as PIL's would be.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from PIL import Image

from .augment import Normalise, resize_uint8
from .per_sample import PerSampleData, TrainSamples, Transform
from .stream import Stream

Split = tuple[torch.Tensor, torch.Tensor]  # uint8 images [N, C, H, W], int64 labels [N]


class StoredImages:
    """uint8 images [N, C, H, W] (C = 1 or 3) and labels as `Images`, on the CPU for the workers."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x.cpu().contiguous(), y.cpu()

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def image(self, index: int) -> Image.Image:
        a = self.x[index].numpy()
        return Image.fromarray(a[0], "L") if a.shape[0] == 1 else Image.fromarray(a.transpose(1, 2, 0), "RGB")

    def label(self, index: int) -> int:
        return int(self.y[index])


class ArraySampleData(PerSampleData):
    def __init__(self, name: str, splits: dict[str, Split], num_classes: int, image_size: int, stream: Stream,
                 transform: Transform, normalise: Normalise, num_workers: int, device: torch.device):
        train_x, train_y = splits["train"]
        super().__init__(name, TrainSamples(StoredImages(train_x, train_y), transform), num_classes, int(train_x.shape[1]),
                         image_size, stream, 0.0, 0, normalise, num_workers, device)
        # Native size on the device; no `_splits`: the probes then read pixels through eval_batches,
        # at the size the network sees.
        self._eval = {k: (x.to(device), y.to(device)) for k, (x, y) in splits.items()}
        self.eval_splits = [s for s in ("test", "val", "train") if s in splits]

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._check_split(split)
        x, y = self._eval[split]
        lo, hi = self.part(x.shape[0])
        x, y = x[lo:hi], y[lo:hi]
        for i in range(0, x.shape[0], batch_size):
            yield self.normalise(resize_uint8(x[i : i + batch_size], self.image_size)), y[i : i + batch_size]

    def eval_size(self, split: str) -> int:
        self._check_split(split)
        return int(self._eval[split][1].shape[0])
