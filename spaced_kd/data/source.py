"""What a dataset source returns, and the registry that maps `dataset.name` to a source.

A source is `fn(cfg: DatasetConfig) -> Arrays | Folders`: the full train and test splits.
Hold-outs, subsets, resizing and normalisation are applied by `build_data`, the same for all.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..registry import Registry
from .augment import resize_uint8

SOURCES = Registry("dataset")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Arrays:
    """An in-memory source: uint8 images [N, C, H, W] and int64 labels [N]."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def resized(self, size: int, chunk: int = 4096) -> Arrays:
        """Both splits resized to size×size once (bilinear, antialiased when shrinking), back to uint8."""
        if tuple(self.train_x.shape[-2:]) == (size, size):
            return self
        return replace(self, train_x=_resize(self.train_x, size, chunk), test_x=_resize(self.test_x, size, chunk))


def _resize(x: torch.Tensor, size: int, chunk: int) -> torch.Tensor:
    # In chunks: Tiny-ImageNet as float32 in one piece would be ~5 GB.
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8, device=x.device)
    for i in range(0, x.shape[0], chunk):
        out[i : i + chunk] = resize_uint8(x[i : i + chunk], size)
    return out


@dataclass
class Folders:
    """A folder source: (path, label) lists decoded per step by DataLoader workers."""

    train: list[tuple[str, int]]
    test: list[tuple[str, int]]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int = 224
