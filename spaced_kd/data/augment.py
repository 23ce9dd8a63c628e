"""Batched augmentation of uint8 image tensors on the training device: no PIL, no workers.

Random parameters are drawn on a CPU generator (seeded by the step) and only then moved to the
device, so a batch is the same on CPU and GPU and never touches the global RNG. In training they are
drawn for a whole epoch at once (`Augment.epoch_params`, the same draws step by step) and moved in
one copy, so a training step makes no host-to-device copy and never waits for the GPU.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class CropFlipParams:
    dy: torch.Tensor  # int64 [B], top offset in the padded image, 0..2*padding
    dx: torch.Tensor  # int64 [B]
    flip: torch.Tensor  # bool [B]
    angle: torch.Tensor  # float32 [B], degrees

    def to(self, device: torch.device) -> CropFlipParams:
        # non_blocking: a plain .to() from CPU makes PyTorch wait for the GPU to finish the previous
        # training step, which would stall kernel queueing on every batch.
        if device.type == "cpu" or self.dy.device == device:
            return self
        ints = torch.stack([self.dy, self.dx, self.flip.long()]).to(device, non_blocking=True)
        return CropFlipParams(ints[0], ints[1], ints[2].bool(), self.angle)  # rotate() moves cos/sin itself


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
    p = p.to(dev)
    rows = p.dy[:, None] + torch.arange(H, device=dev)  # [B, H]
    cols = p.dx[:, None] + torch.arange(W, device=dev)  # [B, W]
    cols = torch.where(p.flip[:, None], cols.flip(1), cols)  # a flip is a reversed column read
    flat = (rows[:, :, None] * Wp + cols[:, None, :]).reshape(B, 1, H * W).expand(B, C, H * W)
    return torch.gather(x.reshape(B, C, Hp * Wp), 2, flat).reshape(B, C, H, W)


def rotate(x: torch.Tensor, degrees: torch.Tensor, fill: int) -> torch.Tensor:
    """Rotate each uint8 image by its angle about the centre, nearest pixel; outside gets `fill`.

    Nearest, as torchvision's RandomRotation default, and done as one gather rather than
    grid_sample: the source coordinates are float64 and built from separate, correctly rounded
    ops with cos/sin taken on the CPU, so CPU and GPU pick the same pixels (grid_sample's float32
    grid does not), and the image stays uint8.
    """
    return rotate_cs(x, cos_sin(degrees).to(x.device, non_blocking=True), fill)  # non_blocking: no GPU wait


def cos_sin(degrees: torch.Tensor) -> torch.Tensor:
    """[B] angles in degrees → [B, 2] (cos, sin) in float64, taken on the CPU (see `rotate`)."""
    rad = degrees.to(torch.float64) * (math.pi / 180)
    return torch.stack([rad.cos(), rad.sin()], 1)


def rotate_cs(x: torch.Tensor, cs: torch.Tensor, fill: int) -> torch.Tensor:
    """`rotate` with each image's (cos, sin) given, on x's device."""
    B, C, H, W = x.shape
    dev = x.device
    cos, sin = cs[:, 0, None, None], cs[:, 1, None, None]
    u = (torch.arange(W, device=dev, dtype=torch.float64) - (W - 1) / 2)[None, None, :]
    v = (torch.arange(H, device=dev, dtype=torch.float64) - (H - 1) / 2)[None, :, None]
    sx = (cos * u - sin * v + (W - 1) / 2).round()  # [B, H, W]; round half to even on both devices
    sy = (sin * u + cos * v + (H - 1) / 2).round()
    inside = (sx >= 0) & (sx <= W - 1) & (sy >= 0) & (sy <= H - 1)
    src = (sy.clamp(0, H - 1) * W + sx.clamp(0, W - 1)).long().view(B, 1, H * W).expand(B, C, H * W)
    out = torch.gather(x.reshape(B, C, H * W), 2, src).view(B, C, H, W)
    return out.masked_fill(~inside[:, None], fill)


def resize_uint8(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images resized to size×size, bilinear (antialiased when shrinking), rounded back to uint8."""
    if tuple(x.shape[-2:]) == (size, size):
        return x
    shrink = size < max(x.shape[-2:])
    out = F.interpolate(x.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return out.round_().clamp_(0, 255).to(torch.uint8)


class Normalise:
    """uint8 → float32 (x/255 - mean) / std, as one fused multiply-add."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device):
        m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * s)
        self.shift = -m / s
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x.to(torch.float32), self.scale)


@dataclass
class StepParams:
    """The random parameters of consecutive samples, rotation as (cos, sin): a slice of an epoch's."""

    crop: CropFlipParams
    cs: torch.Tensor  # float64 [B, 2]

    def __getitem__(self, s: slice) -> StepParams:
        c = self.crop
        return StepParams(CropFlipParams(c.dy[s], c.dx[s], c.flip[s], c.angle[s]), self.cs[s])

    def to(self, device: torch.device) -> StepParams:
        if device.type == "cpu":
            return self
        c = self.crop
        # pinned: the copy is truly asynchronous (from pageable memory CUDA first waits for the stream)
        move = lambda t: t.pin_memory().to(device, non_blocking=True)  # noqa: E731
        return StepParams(CropFlipParams(move(c.dy), move(c.dx), move(c.flip), move(c.angle)), move(self.cs))


class Augment:
    """One step's training transform for an in-memory batch: crop+flip, optional rotation, normalise."""

    def __init__(self, padding: int, flip: bool, rotation: float, fill: int, normalise: Normalise):
        self.padding, self.flip, self.rotation, self.fill = padding, flip, rotation, fill
        self.normalise = normalise

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        p = draw_params(gen, x.shape[0], self.padding, self.flip, self.rotation)
        return self.apply(x, StepParams(p, cos_sin(p.angle)).to(x.device))

    def epoch_params(self, generators, sizes) -> StepParams:
        """Every step's parameters of one epoch, concatenated (CPU): step j draws `sizes[j]` samples
        from `generators[j]`, exactly as `__call__` would."""
        parts = [draw_params(g, n, self.padding, self.flip, self.rotation) for g, n in zip(generators, sizes)]
        crop = CropFlipParams(*(torch.cat([getattr(p, k) for p in parts]) for k in ("dy", "dx", "flip", "angle")))
        return StepParams(crop, cos_sin(crop.angle))

    def apply(self, x: torch.Tensor, p: StepParams) -> torch.Tensor:
        """The transform with parameters already on x's device."""
        if self.padding or self.flip:
            x = crop_flip(x, p.crop, self.padding, self.fill)
        if self.rotation > 0:
            x = rotate_cs(x, p.cs, self.fill)
        return self.normalise(x)
