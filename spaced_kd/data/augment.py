"""Batched augmentation of uint8 image tensors on the training device: no PIL, no workers.

Random parameters are drawn on a CPU generator (seeded by the step) and only then moved to the
device, so a batch is the same on CPU and GPU and never touches the global RNG.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F


@dataclass
class CropFlipParams:
    dy: torch.Tensor  # int64 [B], top offset in the padded image, 0..2*padding
    dx: torch.Tensor  # int64 [B]
    flip: torch.Tensor  # bool [B]
    angle: torch.Tensor  # float32 [B], degrees


def draw_params(gen: torch.Generator, batch: int, padding: int, flip: bool, rotation: float) -> CropFlipParams:
    # Everything is drawn in a fixed order whatever is switched on, so turning flip off leaves the
    # crops of a step unchanged (recipe switches then compare like with like).
    dy = torch.randint(0, 2 * padding + 1, (batch,), generator=gen)
    dx = torch.randint(0, 2 * padding + 1, (batch,), generator=gen)
    flips = torch.rand(batch, generator=gen) < 0.5
    angle = (torch.rand(batch, generator=gen) * 2 - 1) * rotation
    return CropFlipParams(dy, dx, flips & flip, angle)


def crop_flip(x: torch.Tensor, p: CropFlipParams, padding: int, fill: int) -> torch.Tensor:
    """Pad by `padding` with `fill`, crop back to size at (dy, dx), mirror where p.flip: one gather."""
    B, C, H, W = x.shape
    if padding:
        x = F.pad(x, (padding, padding, padding, padding), value=fill)
    Hp, Wp = x.shape[-2:]
    dev = x.device
    rows = p.dy.to(dev)[:, None] + torch.arange(H, device=dev)  # [B, H]
    cols = p.dx.to(dev)[:, None] + torch.arange(W, device=dev)  # [B, W]
    cols = torch.where(p.flip.to(dev)[:, None], cols.flip(1), cols)  # a flip is a reversed column read
    flat = (rows[:, :, None] * Wp + cols[:, None, :]).reshape(B, 1, H * W).expand(B, C, H * W)
    return torch.gather(x.reshape(B, C, Hp * Wp), 2, flat).reshape(B, C, H, W)


def rotate(x: torch.Tensor, degrees: torch.Tensor, fill: float) -> torch.Tensor:
    """Rotate each image by its angle about the centre; corners get `fill` (x in 0..255 floats).

    Nearest sampling, as torchvision's RandomRotation default, so pixel values stay exact.
    """
    B, C, H, W = x.shape
    rad = degrees.to(x.device, torch.float32) * (math.pi / 180)
    cos, sin = rad.cos(), rad.sin()
    zero = torch.zeros_like(cos)
    # affine_grid works in [-1, 1] coordinates per axis; the H/W factors keep the rotation rigid in
    # pixel space for non-square images.
    theta = torch.stack([cos, -sin * H / W, zero, sin * W / H, cos, zero], 1).view(B, 2, 3)
    grid = F.affine_grid(theta, [B, C, H, W], align_corners=False)
    # grid_sample pads with zeros; shifting by fill makes that the fill value.
    out = F.grid_sample(x - fill, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out + fill


class Normalise:
    """uint8 (or 0..255 float) → float32 (x/255 - mean) / std, as one fused multiply-add."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device):
        m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * s)
        self.shift = -m / s
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x.to(torch.float32), self.scale)


class Augment:
    """One step's training transform for an in-memory batch: crop+flip, optional rotation, normalise."""

    def __init__(self, padding: int, flip: bool, rotation: float, fill: int, normalise: Normalise):
        self.padding, self.flip, self.rotation, self.fill = padding, flip, rotation, fill
        self.normalise = normalise

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        p = draw_params(gen, x.shape[0], self.padding, self.flip, self.rotation)
        if self.padding or self.flip:
            x = crop_flip(x, p, self.padding, self.fill)
        if self.rotation > 0:
            x = rotate(x.to(torch.float32), p.angle, float(self.fill))
        return self.normalise(x)
