"""Per-image PIL transforms for folder sources, driven by an explicit per-sample seed.

Each training image gets its own `random.Random(seed)`, so a sample's crop and flip depend only
on (step, position in batch) — not on which worker decoded it, nor on the global RNG. (The
`augment=timm` transform is spaced_kd/data/timm_augment.py.)
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
from PIL import Image

from .images import open_image

SCALE = (0.08, 1.0)  # Inception-style random-resized-crop area and aspect ranges
RATIO = (3 / 4, 4 / 3)


def to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def crop_box(width: int, height: int, rng: random.Random) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a random crop covering SCALE of the area with aspect in RATIO;
    after 10 misses, the largest central crop whose aspect is clamped into RATIO."""
    area = width * height
    log_lo, log_hi = math.log(RATIO[0]), math.log(RATIO[1])
    for _ in range(10):
        target = area * rng.uniform(*SCALE)
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.random() * (height - h + 1))
            left = int(rng.random() * (width - w + 1))
            return left, top, left + w, top + h
    aspect = width / height
    if aspect < RATIO[0]:
        w, h = width, round(width / RATIO[0])
    elif aspect > RATIO[1]:
        w, h = round(height * RATIO[1]), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


class CropFlip:
    """(PIL image, seed) → uint8 tensor [3, size, size]: random-resized crop, then a seeded flip.

    The `augment=crop_flip` transform of folder sources; rotation and normalisation follow batched
    on the device.
    """

    normalised = False

    def __init__(self, size: int, flip: bool):
        self.size, self.flip = size, flip

    def __call__(self, img: Image.Image, seed: int) -> torch.Tensor:
        rng = random.Random(seed)
        # PIL's resize with a box crops and resizes in one pass (antialiased when shrinking).
        img = img.resize((self.size, self.size), Image.BILINEAR, box=crop_box(*img.size, rng))
        if rng.random() < 0.5 and self.flip:  # drawn even when flip is off, so crops don't move
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return to_uint8_tensor(img)


def eval_image(path: str, size: int) -> torch.Tensor:
    """Resize the short side to size·256/224, then centre-crop size×size (the standard ImageNet eval)."""
    img = open_image(path)
    short = int(size * 256 / 224)
    w, h = img.size
    new = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    img = img.resize(new, Image.BILINEAR)
    left, top = round((new[0] - size) / 2), round((new[1] - size) / 2)
    return to_uint8_tensor(img.crop((left, top, left + size, top + size)))


def centre_square(path: str, size: int) -> np.ndarray:
    """uint8 [size, size, 3]: the largest centred square, resized (antialiased when shrinking) —
    the short side brought to `size`, then a centre crop, in one PIL pass."""
    img = open_image(path)
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return np.asarray(img.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side)), dtype=np.uint8)
