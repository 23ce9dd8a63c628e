"""BIM (Tab. 12): the basic iterative method of Kurakin et al. (2017), untargeted, L∞.

x₀ = x; x_{k+1} = clip_[0,1](clip_{x±eps}(x_k + alpha · sign ∇ₓ CE(f(x_k), y))), `steps` times, in
pixel space [0, 1]; the network sees normalised images through `PixelModel`, so eps and alpha
are in pixel units (8/255 = 8 grey levels). Eval mode (BatchNorm running statistics, no dropout);
gradients flow only to the input. Our own implementation.
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..errors import UserError
from .base import probe
from .config import BIMConfig


def bim_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
               ) -> tuple[torch.Tensor, list[float]]:
    """(adversarial images, summed CE after each step 0…steps) for one batch of [0, 1] images."""
    x = x.detach()
    adv = x.clone()
    losses: list[float] = []
    for k in range(steps + 1):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv).float(), y, reduction="sum")
        losses.append(float(loss.detach()))
        if k == steps:
            break
        (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            step = adv + alpha * grad.sign()
            adv = torch.minimum(torch.maximum(step, x - eps), x + eps).clamp(0.0, 1.0)
    return adv.detach(), losses


def bim_accuracy(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], eps: float, alpha: float,
                 steps: int) -> dict:
    """Clean and robust accuracy (%) and the mean loss after each step, over `batches`."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)  # gradients to the input only
    clean = robust = n = 0
    loss_sum: list[float] = [0.0] * (steps + 1)
    try:
        for x, y in batches:
            with torch.no_grad():
                clean += int((model(x).argmax(1) == y).sum())
            adv, losses = bim_attack(model, x, y, eps, alpha, steps)
            with torch.no_grad():
                robust += int((model(adv).argmax(1) == y).sum())
            loss_sum = [a + b for a, b in zip(loss_sum, losses)]
            n += int(y.shape[0])
    finally:
        for p in params:
            p.requires_grad_(True)
    if n == 0:
        raise UserError("bim: the split has no samples")
    return {"clean_acc": 100.0 * clean / n, "robust_acc": 100.0 * robust / n, "eps": float(eps),
            "alpha": float(alpha), "steps": int(steps), "loss_by_step": [v / n for v in loss_sum], "n": n}


def check(s: BIMConfig) -> None:
    checks.at_least("bim.eps", s.eps, 0.0)
    checks.at_least("bim.alpha", s.alpha, 0.0)
    checks.integer("bim.steps", s.steps, 0)
    if s.eps > 1:
        raise UserError(f"bim.eps is in pixel units [0, 1] (8/255 = {8 / 255:.4f}), got {s.eps}")
    checks.optional(checks.integer, "bim.max_samples", s.max_samples, 1)


@probe("bim", check)
def run(ctx, s: BIMConfig) -> tuple[dict, dict, str]:
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        out = bim_accuracy(ctx.model, ctx.batches(s.split, s.max_samples), s.eps, s.alpha, s.steps)
    finally:
        ctx.model.train(was_training)
    out["split"] = s.split
    line = (f"eps {s.eps * 255:.3g}/255, alpha {s.alpha * 255:.3g}/255, {s.steps} steps ({out['n']} {s.split}): "
            f"clean {out['clean_acc']:.2f}% → robust {out['robust_acc']:.2f}%")
    return out, {}, line
