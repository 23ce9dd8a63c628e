"""Flatness (Fig. 4): Gaussian noise on every weight, training loss and accuracy per noise level.

For each sigma and each of K seeded draws, every parameter tensor W gets W + sigma·Z (absolute) or
W + sigma·‖W‖/√numel(W)·Z (relative: the noise has about sigma times the tensor's norm), Z ~ N(0, I).
The K directions Z are the same at every sigma (common random numbers), so sigma = 0 is exactly
the trained network and the curves are smooth in sigma. Z is drawn on the CPU from a generator
seeded by (seed, k): CPU and GPU see the same noise.

Parameters only: BatchNorm's running statistics are buffers and are not perturbed. With bn=eval
(the default) the noisy network is evaluated in eval mode with the trained running statistics, as
the network would be deployed. With bn=recalibrate the running statistics are re-estimated on the
evaluated training samples for each noisy network (cumulative average, train-mode forward passes
without gradients) before it is evaluated, which measures the weights alone. The trained weights
and statistics are restored afterwards.

`area`: the area between the mean-loss curve and the clean loss, ∫ (L(σ) − L(0)) dσ by the
trapezoid rule over {0} ∪ sigmas (smaller = flatter; comparable between runs on the same grid).
"""
from __future__ import annotations

import statistics
from typing import Iterable

import torch
from torch import nn

from .. import checks
from ..errors import UserError
from .base import evaluate, probe
from .config import FlatnessConfig

_SEED_STRIDE = 1_000_003


def _noise(params: list[torch.Tensor], seed: int, k: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed * _SEED_STRIDE + k)
    return [torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.device, p.dtype) for p in params]


def _scales(params: list[torch.Tensor], relative: bool) -> list[float]:
    if not relative:
        return [1.0] * len(params)
    return [float(p.detach().float().norm()) / max(1, p.numel()) ** 0.5 for p in params]


def _norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def _recalibrate(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    layers = _norm_layers(model)
    if not layers:
        return
    saved = [(m.momentum, m.training) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    for x, _ in batches:
        model(x)
    for m, (momentum, training) in zip(layers, saved):
        m.momentum = momentum
        m.train(training)


def flatness_curve(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], sigmas: list[float], *,
                   relative: bool = True, samples: int = 5, seed: int = 0, bn: str = "eval") -> dict:
    """Loss / accuracy of `model` (eval mode, logits out) under weight noise; weights restored after."""
    if not hasattr(batches, "__len__"):
        batches = list(batches)  # iterated 1 + K·|sigmas| times
    params = [p for p in model.parameters()]
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    clean_loss, clean_acc = evaluate(model, batches)
    scales = _scales(params, relative)
    loss: list[list[float]] = [[] for _ in sigmas]
    acc: list[list[float]] = [[] for _ in sigmas]
    was_training = model.training
    model.eval()
    try:
        for k in range(samples):
            z = _noise(params, seed, k)
            for i, sigma in enumerate(sigmas):
                with torch.no_grad():
                    for p, zp, s in zip(params, z, scales):
                        p.add_(zp, alpha=sigma * s)
                if bn == "recalibrate":
                    _recalibrate(model, batches)
                l_, a_ = evaluate(model, batches)
                loss[i].append(l_)
                acc[i].append(a_)
                model.load_state_dict(state)
    finally:
        model.load_state_dict(state)
        model.train(was_training)

    def sd(v: list[float]) -> float:
        return statistics.stdev(v) if len(v) > 1 else 0.0

    loss_mean = [statistics.fmean(v) for v in loss]
    xs, ys = [0.0] + list(sigmas), [clean_loss] + loss_mean
    if sigmas and sigmas[0] == 0:
        xs, ys = list(sigmas), loss_mean
    area = sum((xs[j + 1] - xs[j]) * ((ys[j + 1] - clean_loss) + (ys[j] - clean_loss)) / 2 for j in range(len(xs) - 1))
    return {
        "sigmas": [float(s) for s in sigmas], "relative": bool(relative), "samples": int(samples),
        "loss_mean": loss_mean, "loss_std": [sd(v) for v in loss],
        "acc_mean": [statistics.fmean(v) for v in acc], "acc_std": [sd(v) for v in acc],
        "area": float(area), "clean_loss": clean_loss, "clean_acc": clean_acc, "bn": bn, "seed": int(seed),
    }


def check(s: FlatnessConfig) -> None:
    if not s.sigmas:
        raise UserError("flatness.sigmas is empty; give noise levels, e.g. [0,0.01,0.05,0.1]")
    for sigma in s.sigmas:
        checks.at_least("flatness.sigmas values", sigma, 0.0)
    if list(s.sigmas) != sorted(s.sigmas):
        raise UserError(f"flatness.sigmas must be increasing, got {list(s.sigmas)}")
    checks.integer("flatness.samples", s.samples, 1)
    checks.choice("flatness.bn", s.bn, ["eval", "recalibrate"])
    checks.optional(checks.integer, "flatness.max_samples", s.max_samples, 1)


class _AsFloat:
    """uint8 batches, re-iterable as [0, 1] floats one batch at a time."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]):
        self._batches = batches

    def __len__(self) -> int:
        return len(self._batches)

    def __iter__(self):
        return ((x.float() / 255.0, y) for x, y in self._batches)


@probe("flatness", check)
def run(ctx, s: FlatnessConfig) -> tuple[dict, dict, str]:
    # uint8 copies: the split is read once and reused K·|sigmas| times
    cached = [((x * 255).round().to(torch.uint8), y) for x, y in ctx.batches(s.split, s.max_samples)]
    batches = _AsFloat(cached)
    out = flatness_curve(ctx.model, batches, list(s.sigmas), relative=s.relative, samples=s.samples,
                         seed=s.seed, bn=s.bn)
    out["split"], out["n"] = s.split, sum(int(y.shape[0]) for _, y in cached)
    kind = "relative" if s.relative else "absolute"
    line = (f"σ {out['sigmas'][0]:g}…{out['sigmas'][-1]:g} ({kind}, K={s.samples}, bn={s.bn}, {out['n']} {s.split}): "
            f"loss {out['loss_mean'][0]:.3f}→{out['loss_mean'][-1]:.3f}, "
            f"acc {out['acc_mean'][0]:.1f}→{out['acc_mean'][-1]:.1f}%, area {out['area']:.4g}")
    return out, {}, line
