"""Corruption robustness (Tab. 5, 11): test accuracy under six CIFAR-C corruptions, severities 1–5.

The images are corrupted by our kernels (corruption_kernels.py) or, with `corruptions.npy_dir`,
read from the published CIFAR-100-C files (corruption_files.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from .. import checks
from ..errors import UserError
from .base import evaluate, probe
from .config import CorruptionsConfig
from .corruption_files import read_npy, texture_files, texture_source
from .corruption_kernels import CORRUPTIONS, check_corruption, corrupt, generator

CHUNK = 256  # images per generator: results don't depend on the evaluation batch size


def check(s: CorruptionsConfig) -> None:
    if not s.names:
        raise UserError(f"corruptions.names is empty; choose from: {', '.join(CORRUPTIONS.names())}")
    if not s.severities:
        raise UserError("corruptions.severities is empty; choose from 1..5")
    for name in s.names:
        CORRUPTIONS.get(name)
    for sev in s.severities:
        check_corruption(s.names[0], sev)
    checks.optional(checks.integer, "corruptions.max_samples", s.max_samples, 1)
    if s.npy_dir is not None:
        if not (Path(s.npy_dir) / "labels.npy").exists():
            raise UserError(f"corruptions.npy_dir={s.npy_dir} has no labels.npy (the CIFAR-100-C layout)")
    elif "frost" in s.names:
        texture_files(s.frost_dir)


def _accuracy(model, chunks: Sequence[tuple[torch.Tensor, torch.Tensor]], device) -> float:
    return evaluate(model, ((x.to(device), y.to(device)) for x, y in chunks))[1]


def _published(ctx, s: CorruptionsConfig, name: str, severity: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One severity of the published `<name>.npy`, checked against the run's dataset."""
    data = ctx.data
    x, y = read_npy(s.npy_dir, name, severity, s.max_samples)
    if x.shape[1] != data.in_channels or x.shape[-1] != data.image_size or x.shape[-2] != data.image_size:
        raise UserError(f"{s.npy_dir}/{name}.npy holds {x.shape[1]}×{x.shape[2]}×{x.shape[3]} images; "
                        f"the run's dataset {data.name} is {data.in_channels}×{data.image_size}×{data.image_size}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= data.num_classes):
        # an out-of-range label never matches a prediction: the accuracy would be silently low
        raise UserError(f"{s.npy_dir}/labels.npy has labels outside [0, {data.num_classes}) of the run's dataset {data.name}")
    return x, y


@probe("corruptions", check)
def run(ctx, s: CorruptionsConfig) -> tuple[dict, dict, str]:
    data = ctx.data
    result: dict[str, dict[str, float]] = {}
    if s.npy_dir is not None:
        for name in s.names:
            result[name] = {}
            for sev in s.severities:
                x, y = _published(ctx, s, name, sev)
                chunks = [(x[i : i + ctx.batch_size].float() / 255, y[i : i + ctx.batch_size])
                          for i in range(0, y.shape[0], ctx.batch_size)]
                result[name][str(sev)] = _accuracy(ctx.model, chunks, ctx.device)
        n, clean, source = None, None, f"npy:{s.npy_dir}"
    else:
        # the clean split once, as uint8 chunks on the CPU; each chunk gets its own generator
        clean_chunks = [((x * 255).round().to("cpu", torch.uint8), y.cpu())
                        for x, y in ctx.batches(s.split, s.max_samples, batch_size=CHUNK)]
        n = sum(int(y.shape[0]) for _, y in clean_chunks)
        clean = _accuracy(ctx.model, [(x.float() / 255, y) for x, y in clean_chunks], ctx.device)
        for name in s.names:
            result[name] = {}
            for sev in s.severities:
                chunks = ((corrupt(x.float() / 255, name, sev, generator(s.seed, name, i), frost_dir=s.frost_dir), y)
                          for i, (x, y) in enumerate(clean_chunks))
                result[name][str(sev)] = _accuracy(ctx.model, chunks, ctx.device)
        source = "generated"
    info = {"source": source, "seed": s.seed, "split": s.split, "n": n, "clean_acc": clean,
            "constants": "CIFAR-10/100-C generator (Hendrycks & Dietterich 2019), 32×32 calibration",
            "image_size": data.image_size}
    if "frost" in s.names and s.npy_dir is None:
        info["frost_textures"] = texture_source(s.frost_dir)
    accs = [a for per in result.values() for a in per.values()]
    mean = sum(accs) / len(accs)
    worst = min(((a, f"{k}@{sev}") for k, per in result.items() for sev, a in per.items()))
    clean_txt = f", clean {clean:.1f}%" if clean is not None else ""
    line = (f"{len(result)} corruptions × severities {','.join(map(str, s.severities))} ({source}{clean_txt}): "
            f"mean acc {mean:.1f}%, worst {worst[1]} {worst[0]:.1f}%")
    return result, info, line
