"""The release's ViT training augmentation, built by timm's own factory and seeded per sample.

The release (vit/pycls/datasets/transforms.py) calls `timm.data.create_transform` with a bicubic
RandomResizedCrop to the model's input size, RandAugment `rand-m9-mstd0.5-inc1`, ColorJitter 0.4
and RandomErasing (p 0.25, per-pixel noise, one box), no mixup, cutmix or label smoothing. The
transform is asked of timm here as well rather than written again, so it is timm's code that runs.

timm and torchvision draw from three global generators: Python's `random` (crop box, RandAugment
magnitudes and sign flips, erasing box), numpy's (RandAugment's choice of operations) and torch's
CPU generator (the horizontal flip, the erasing noise). `seeded` seeds all three from the sample's
seed and puts their previous states back afterwards, so a sample is a function of its seed alone,
in whichever process decodes it, and the trainer's own random draws (dropout, drop-path) never move.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from PIL import Image

from ..errors import UserError

INTERPOLATION = "bicubic"  # the release's RandomResizedCrop (and RandAugment's geometric ops)
ERASE_MODE = "pixel"  # the release's re_mode: erased boxes get per-pixel normal noise
ERASE_COUNT = 1


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Python's, numpy's and torch's CPU generator seeded from `seed`, restored on the way out.

    torch.manual_seed would also reseed every CUDA generator (the trainer's dropout on the GPU), so
    only the CPU default generator is touched.
    """
    py_state, np_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        random.seed(seed)
        np.random.seed([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF])  # numpy's legacy seed takes 32-bit words
        torch.default_generator.manual_seed(seed)
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


def train_transform(size: int, mean: tuple[float, ...], std: tuple[float, ...], *, auto_augment: str | None,
                    color_jitter: float, erase_prob: float, flip: bool):
    """timm's training transform: PIL image → normalised float32 tensor [C, size, size]."""
    from timm.data import create_transform  # here: importing timm takes seconds that other runs needn't pay

    try:
        transform = create_transform(
            input_size=size,
            is_training=True,
            auto_augment=auto_augment or None,
            color_jitter=color_jitter,
            re_prob=erase_prob,
            re_mode=ERASE_MODE,
            re_count=ERASE_COUNT,
            interpolation=INTERPOLATION,
            hflip=0.5 if flip else 0.0,
            mean=tuple(mean),
            std=tuple(std),
        )
    except (AssertionError, KeyError, ValueError, IndexError) as exc:  # timm's policy parser asserts
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"dataset.auto_augment={auto_augment!r} is not a policy timm understands ({reason}); "
                        f"the release's is 'rand-m9-mstd0.5-inc1'") from None
    _allow_zero_bit_posterize(transform)
    return transform


def posterize_zero_bits(img: Image.Image, bits_to_keep: int, **kw) -> Image.Image:
    """timm's posterize, except that 0 bits gives the black image Pillow used to give."""
    if bits_to_keep < 1:
        return Image.new(img.mode, img.size)  # every value & mask 0
    from timm.data.auto_augment import posterize

    return posterize(img, bits_to_keep, **kw)


def _allow_zero_bit_posterize(transform) -> None:
    """Let RandAugment posterize to 0 bits again, as it did when the release ran.

    At magnitude 10 (reached under mstd0.5 about once in 44 draws of the op) timm's increasing
    posterize keeps 4 - 4 = 0 bits. Pillow then made every pixel 0 (its mask is 0); recent Pillow
    (13 here) raises ValueError instead, which would end a run within its first few dozen steps. The op
    gets a function that gives the old black image for 0 bits and calls timm's own otherwise
    (module-level, so the transform still pickles for spawned DataLoader workers).
    """
    from timm.data.auto_augment import RandAugment, posterize

    for step in getattr(transform, "transforms", []):
        if isinstance(step, RandAugment):
            for op in step.ops:
                if op.aug_fn is posterize:
                    op.aug_fn = posterize_zero_bits


class TimmTrain:
    """(PIL image, seed) → timm's augmented, normalised float32 tensor; a pure function of both."""

    normalised = True  # the worker's output is final: no device-side normalisation afterwards

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...], cfg):
        self.transform = train_transform(size, mean, std, auto_augment=cfg.auto_augment,
                                         color_jitter=cfg.color_jitter, erase_prob=cfg.erase_prob, flip=cfg.flip)

    def __call__(self, img: Image.Image, seed: int) -> torch.Tensor:
        with seeded(seed):
            return self.transform(img)
