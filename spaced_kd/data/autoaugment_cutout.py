"""`dataset.augment=autoaugment_cutout`: the release's self-KD training augmentation for CIFAR.

self_KD/train.py trains on RandomCrop(32, padding 4, fill 128) → horizontal flip → the CIFAR-10
AutoAugment policy → ToTensor → Cutout(1 hole, 16 px) → Normalize(CIFAR-10 statistics). The policy
is torchvision's AutoAugment (AutoAugmentPolicy.CIFAR10: the same 25 sub-policies as the release's
copy of it), its geometric operations filled with 128 as the release's are. Cutout is the release's:
one 16×16 square centred at a uniformly drawn pixel, clipped at the border (a hole near an edge is
smaller), applied to the [0, 1] tensor *before* normalisation, so the hole is black, not the mean.

Each sample is transformed from its own seed inside `timm_augment.seeded` (torchvision's transforms
and Cutout draw from torch's CPU generator, which it seeds and restores), through the same
per-sample DataLoader as timm's pipeline: a batch stays a pure function of (seed, step).
"""
from __future__ import annotations

import torch
from PIL import Image

from .timm_augment import seeded

CUTOUT_HOLES = 1
CUTOUT_LENGTH = 16


class Cutout:
    """`holes` squares of side `length` zeroed in a [C, H, W] tensor (the release's cutout.py)."""

    def __init__(self, holes: int, length: int):
        self.holes, self.length = holes, length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        mask = torch.ones(h, w, dtype=img.dtype)
        half = self.length // 2
        for _ in range(self.holes):
            y, x = int(torch.randint(h, ())), int(torch.randint(w, ()))
            mask[max(y - half, 0):min(y + half, h), max(x - half, 0):min(x + half, w)] = 0
        return img * mask


class AutoAugmentCutout:
    """(PIL image, seed) → the release's self-KD augmentation, normalised float32 [C, size, size]."""

    normalised = True  # the worker's output is final: no device-side normalisation afterwards

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...], cfg):
        from torchvision import transforms as T

        steps = [T.Resize((size, size))] if cfg.image_size else []
        steps.append(T.RandomCrop(size, padding=cfg.crop_padding, fill=cfg.fill))
        if cfg.flip:
            steps.append(T.RandomHorizontalFlip())
        steps += [T.AutoAugment(T.AutoAugmentPolicy.CIFAR10, fill=[float(cfg.fill)] * len(mean)), T.ToTensor(),
                  Cutout(CUTOUT_HOLES, CUTOUT_LENGTH), T.Normalize(mean, std)]
        self.transform = T.Compose(steps)

    def __call__(self, img: Image.Image, seed: int) -> torch.Tensor:
        with seeded(seed):
            return self.transform(img)
