"""The six CIFAR-C corruptions of Tab. 5 and 11 as batched torch kernels, severities 1–5.

The constants are those of the CIFAR-10/100-C generator (Hendrycks & Dietterich, ICLR 2019,
`make_cifar_c.py`), calibrated for 32×32 images; ImageNet-C's would wipe out a 32-px image. The
code is our own (batched torch on the CPU, one seeded generator per chunk of images), so the
images are CIFAR-C-like, not byte-identical to the published CIFAR-100-C (for the official numbers
the probe reads the published `.npy` files instead: corruption_files.py).

Other image sizes: the constants that are lengths in pixels (snow's motion-blur radius and sigma,
the frost texture's scale) are scaled by size/32; the rest are relative (zoom factors, blend
weights, fractions, JPEG quality) and apply as they are. Single-channel images get the luma of the
RGB operations (snow's grey term is the image itself, frost uses the texture's luma, brightness
adds to V = the pixel value).
"""
from __future__ import annotations

import hashlib
import io
import math
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import UserError
from ..registry import Registry
from .corruption_files import REFERENCE_SIZE, frost_textures

CORRUPTIONS: Registry = Registry("corruption")

SEVERITIES = (1, 2, 3, 4, 5)

# ---- CIFAR-10/100-C constants, one entry per severity 1..5
IMPULSE_AMOUNT = (0.01, 0.02, 0.03, 0.05, 0.07)  # fraction of values set to 0 or 1 (half each)
# zoom factors averaged with the image; written as the generator's np.arange calls (whose float
# rounding makes the first two end at 1.06 and 1.11)
ZOOM_FACTORS = tuple(tuple(float(z) for z in np.arange(1, end, 0.01)) for end in (1.06, 1.11, 1.16, 1.21, 1.26))
# (noise mean, noise std, zoom, threshold, motion-blur radius px, motion-blur sigma px, image weight)
SNOW = ((0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8))
FROST = ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))  # (image weight, frost weight)
JPEG_QUALITY = (80, 65, 58, 50, 40)
BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)  # added to V in HSV
LUMA = (0.299, 0.587, 0.114)


def _seed(*parts) -> int:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, name: str, chunk: int = 0) -> torch.Generator:
    """The CPU generator of one chunk of images for one corruption: stable across runs, devices and
    batch sizes. Not seeded by severity: every severity of a corruption draws the same random
    numbers (the same impulse positions, snow flakes, frost crops), so severities differ only by
    their constants — common random numbers make the severity curve smooth."""
    return torch.Generator().manual_seed(_seed(int(seed), name, int(chunk)))


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x[:, :3] * w).sum(1, keepdim=True)


def zoom(x: torch.Tensor, factor: float | Sequence[float]) -> torch.Tensor:
    """Zoom into the centre by `factor` (≥ 1), bilinear, same size (CIFAR-C's clipped zoom).

    Several factors: [K·B, C, H, W], the K zooms of the batch one after another, in one call."""
    factors = [float(factor)] if isinstance(factor, (int, float)) else [float(f) for f in factor]
    B = x.shape[0]
    inv = torch.tensor([1 / f for f in factors], dtype=x.dtype).repeat_interleave(B)
    theta = torch.zeros(len(inv), 2, 3, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 1, 1] = inv, inv
    grid = F.affine_grid(theta, [len(inv), *x.shape[1:]], align_corners=False)
    src = x.repeat(len(factors), 1, 1, 1) if len(factors) > 1 else x
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)


def motion_blur(x: torch.Tensor, radius: float, sigma: float, angles: torch.Tensor) -> torch.Tensor:
    """One-sided Gaussian line blur per image (ImageMagick's MotionBlurImage convention): taps
    i = 0 … 2⌈radius⌉ weighted exp(−i²/2σ²), sampled i pixels along `angles` (degrees), edges
    replicated."""
    B, _, H, W = x.shape
    taps = int(2 * math.ceil(radius) + 1) if radius > 0 else 1
    i = torch.arange(taps, dtype=torch.float64)
    weights = torch.exp(-(i * i) / (2 * sigma * sigma)) if sigma > 0 else (i == 0).double()
    weights = (weights / weights.sum()).to(x.dtype)
    rad = angles.to(torch.float64) * (math.pi / 180)
    ox = torch.ceil(i[None, :] * torch.cos(rad)[:, None] - 0.5).long()  # [B, taps]
    oy = torch.ceil(i[None, :] * torch.sin(rad)[:, None] - 0.5).long()
    rows, cols = torch.arange(H), torch.arange(W)
    b = torch.arange(B)[:, None, None]
    out = torch.zeros_like(x)
    for k in range(taps):
        r = (rows[None, :] + oy[:, k, None]).clamp(0, H - 1)  # [B, H]
        c = (cols[None, :] + ox[:, k, None]).clamp(0, W - 1)  # [B, W]
        out += weights[k] * x.permute(0, 2, 3, 1)[b, r[:, :, None], c[:, None, :]].permute(0, 3, 1, 2)
    return out


def _quantise(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


@CORRUPTIONS.register("impulse_noise")
def impulse_noise(x: torch.Tensor, severity: int, gen: torch.Generator, **_) -> torch.Tensor:
    """Salt and pepper: each value becomes 1 or 0 (equally likely) with probability `amount`."""
    amount = IMPULSE_AMOUNT[severity - 1]
    flip = torch.rand(x.shape, generator=gen) < amount
    salt = torch.rand(x.shape, generator=gen) < 0.5
    return x.masked_fill(flip & salt, 1.0).masked_fill(flip & ~salt, 0.0)


@CORRUPTIONS.register("zoom_blur")
def zoom_blur(x: torch.Tensor, severity: int, gen: torch.Generator, **_) -> torch.Tensor:
    """The mean of the image and its centre zooms by each factor."""
    factors = ZOOM_FACTORS[severity - 1]
    out = x.clone()
    group = max(1, (1 << 24) // max(1, x.numel()))  # zooms per grid_sample call: bounded memory
    for i in range(0, len(factors), group):
        part = factors[i : i + group]
        out += zoom(x, part).view(len(part), *x.shape).sum(0)
    return out / (len(factors) + 1)


@CORRUPTIONS.register("snow")
def snow(x: torch.Tensor, severity: int, gen: torch.Generator, **_) -> torch.Tensor:
    """Thresholded, zoomed Gaussian flakes, motion-blurred at a random angle in [−135°, −45°], added
    twice (as is and rotated 180°) to a brightened image."""
    mean, std, z, threshold, radius, sigma, keep = SNOW[severity - 1]
    B, _, H, W = x.shape
    scale = H / REFERENCE_SIZE
    layer = torch.randn((B, 1, H, W), generator=gen, dtype=x.dtype) * std + mean
    layer = zoom(layer, z)
    layer = _quantise(layer.masked_fill(layer < threshold, 0.0))
    angles = torch.rand(B, generator=gen, dtype=torch.float64) * 90 - 135
    layer = _quantise(motion_blur(layer, radius * scale, sigma * scale, angles))
    x = keep * x + (1 - keep) * torch.maximum(x, _gray(x) * 1.5 + 0.5)
    return x + layer + layer.flip(-1, -2)


@CORRUPTIONS.register("frost")
def frost(x: torch.Tensor, severity: int, gen: torch.Generator, frost_dir: Optional[str] = None, **_) -> torch.Tensor:
    """A random crop of a random frost texture blended over the image."""
    keep, weight = FROST[severity - 1]
    B, C, H, W = x.shape
    textures = frost_textures(frost_dir, H, W, C)
    which = torch.randint(len(textures), (B,), generator=gen).tolist()
    crops = []
    for b, t in enumerate(which):
        tex = textures[t]
        top = int(torch.randint(tex.shape[1] - H + 1, (1,), generator=gen))
        left = int(torch.randint(tex.shape[2] - W + 1, (1,), generator=gen))
        crops.append(tex[:, top : top + H, left : left + W])
    return keep * x + weight * torch.stack(crops).to(x.dtype)


@CORRUPTIONS.register("jpeg_compression")
def jpeg_compression(x: torch.Tensor, severity: int, gen: torch.Generator, **_) -> torch.Tensor:
    """Each image saved as JPEG at the severity's quality (PIL, default chroma subsampling) and read back."""
    quality = JPEG_QUALITY[severity - 1]
    arr = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = []
    for img in arr:
        pil = Image.fromarray(img[:, :, 0], "L") if img.shape[2] == 1 else Image.fromarray(img, "RGB")
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=quality)
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue()), formats=["JPEG"]).convert(pil.mode), dtype=np.uint8)
        out.append(torch.from_numpy(back.copy()).reshape(img.shape))
    return torch.stack(out).permute(0, 3, 1, 2).to(x.dtype) / 255


@CORRUPTIONS.register("brightness")
def brightness(x: torch.Tensor, severity: int, gen: torch.Generator, **_) -> torch.Tensor:
    """V += c in HSV (clipped to 1): hue and saturation kept, i.e. every channel scaled by V'/V;
    a black pixel (V = 0, S = 0) becomes grey c."""
    c = BRIGHTNESS[severity - 1]
    v = x.amax(1, keepdim=True)
    v_new = (v + c).clamp(max=1.0)
    scaled = x * (v_new / v.clamp(min=1e-12))
    return torch.where(v > 0, scaled, v_new.expand_as(x))


def check_corruption(name: str, severity) -> None:
    CORRUPTIONS.get(name)
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise UserError(f"corruption severity must be an integer in 1..5, got {severity!r}")


def corrupt(x: torch.Tensor, name: str, severity: int, seed: int | torch.Generator = 0, *,
            frost_dir: Optional[str] = None) -> torch.Tensor:
    """[B, C, H, W] images in [0, 1] → corrupted, clipped and rounded to the uint8 grid (as the
    published sets are stored); computed on the CPU and returned on x's device."""
    check_corruption(name, severity)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise UserError(f"corruptions need [B, 1 or 3, H, W] images, got shape {list(x.shape)}")
    gen = seed if isinstance(seed, torch.Generator) else generator(seed, name)
    out = CORRUPTIONS.get(name)(x.detach().to("cpu", torch.float32), severity, gen, frost_dir=frost_dir)
    return _quantise(out).to(x.device)
