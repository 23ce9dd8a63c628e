"""Pixel-space access for the probes: images in [0, 1], and a model that normalises them itself.

Corruptions and BIM work on pixels, so the probes feed every network through `PixelModel`
(normalisation inside the module, the way the dataset normalises for training) and read the
evaluation splits as pixels with `pixel_batches`.

Relies on these attributes of the built dataset (spaced_kd/data): `normalise.mean` and
`normalise.std` (tuples, one value per channel) and, for random access without decoding a whole
split, `_splits[split]`: a `(uint8 images [N, C, H, W], int64 labels [N])` pair for in-memory
sources (TensorData) or a list of `(path, label)` for folder sources (FolderData). A dataset
without `_splits` is read through its public `eval_batches` and un-normalised.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Optional

import torch
from torch import nn

from ..errors import UserError


def logits_of(output) -> torch.Tensor:
    """A network's output → the logits probes use.

    Peer networks return (logits, feature); self-KD networks (BYOT) return
    ([logits deepest … shallowest], [features …]): the deepest head is the student.
    """
    if isinstance(output, torch.Tensor):
        return output
    first = output[0]
    if isinstance(first, (list, tuple)):
        first = first[0]
    return first


class PixelModel(nn.Module):
    """[0, 1] images → logits: (x − mean) / std, then the network, then its deepest logits."""

    def __init__(self, net: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logits_of(self.net((x - self.mean) / self.std))


def _spread(n: int, limit: Optional[int]) -> torch.Tensor:
    """`limit` indices spread evenly over range(n) (all when limit is None or ≥ n): class-sorted
    splits keep every class."""
    if limit is None or limit >= n:
        return torch.arange(n)
    return torch.linspace(0, n - 1, limit, dtype=torch.float64).round().long()


def split_size(data, split: str) -> Optional[int]:
    store = getattr(data, "_splits", {}).get(split)
    if store is None:
        return None
    return int(store[1].shape[0]) if isinstance(store, tuple) else len(store)


def pixel_batches(data, split: str, batch_size: int, limit: Optional[int] = None,
                  device: Optional[torch.device] = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(float32 images in [0, 1] [B, C, H, W], int64 labels [B]) of a split, in order, on `device`.

    `limit` keeps that many samples spread evenly over the split (deterministic).
    """
    if split not in data.eval_splits:
        raise UserError(f"dataset {data.name} has no split {split!r}; choose one of: {', '.join(data.eval_splits)}")
    if limit is not None and limit <= 0:
        raise UserError(f"max_samples must be > 0 or null, got {limit}")
    device = torch.device(device) if device is not None else data.device
    store = getattr(data, "_splits", {}).get(split)
    if isinstance(store, tuple):  # in-memory: uint8 tensors
        x_all, y_all = store
        idx = _spread(int(y_all.shape[0]), limit).to(x_all.device)
        for i in range(0, idx.numel(), batch_size):
            j = idx[i : i + batch_size]
            yield (x_all.index_select(0, j).to(device, torch.float32) / 255.0,
                   y_all.index_select(0, j).to(device))
        return
    if isinstance(store, list):  # folder source: decode only the chosen files
        from ..data.folder_transforms import eval_image

        idx = _spread(len(store), limit).tolist()
        for i in range(0, len(idx), batch_size):
            chunk = [store[k] for k in idx[i : i + batch_size]]
            x = torch.stack([eval_image(path, data.image_size) for path, _ in chunk])
            y = torch.tensor([label for _, label in chunk], dtype=torch.int64)
            yield x.to(device, torch.float32) / 255.0, y.to(device)
        return
    mean = torch.tensor(data.normalise.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.normalise.std, device=device).view(1, -1, 1, 1)
    seen = 0
    for x, y in data.eval_batches(split, batch_size):
        if limit is not None:
            x, y = x[: limit - seen], y[: limit - seen]
        # uint8 → normalised → back: rounding to the 1/255 grid undoes the float error exactly
        x01 = ((x.to(device) * std + mean) * 255).round().clamp(0, 255) / 255.0
        yield x01, y.to(device)
        seen += y.shape[0]
        if limit is not None and seen >= limit:
            return


def eager(net: nn.Module) -> nn.Module:
    """Undo `trainer.compile` (nn.Module.compile, in place) for the probes: compiled graphs don't
    support the double backward of the Hessian probe, and compiling for a few passes costs more
    than it saves."""
    for m in net.modules():
        if getattr(m, "_compiled_call_impl", None) is not None:
            m._compiled_call_impl = None
    return net


def pixel_model(setup, net: nn.Module) -> PixelModel:
    norm = setup.data.normalise
    return PixelModel(eager(net), norm.mean, norm.std).to(setup.device).eval()
