"""Hessian trace and top eigenvalue (Thm 4.4: a smaller trace is a flatter minimum).

The Hessian is that of the mean cross-entropy of the network (eval mode, w.r.t. all trainable
parameters) over `batches` fixed batches of the un-augmented training split:
H = (1/N) Σ_b H_b. Hessian-vector products by double back-propagation (Pearlmutter's trick), so
nothing of size P² is ever formed.

- Trace: Hutchinson's estimator, tr(H) = E[vᵀHv] for Rademacher v: the mean of vᵀHv over
  `probes` vectors (seeded, drawn on the CPU so CPU and GPU agree), with a Student-t confidence
  interval over them. The batches are fixed (spread evenly over the split), so the interval is
  that of the probe noise for this H; the batch-to-batch variation is not in it.
- Top eigenvalue: power iteration on v ↦ Hv from a seeded Gaussian start, the Rayleigh quotient
  vᵀHv at the end; stops when it moves less than `tol` (relative). Power iteration finds the
  eigenvalue of largest magnitude, which at a trained minimum is the largest positive one.
"""
from __future__ import annotations

import math
import statistics
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..errors import UserError
from .base import probe
from .config import HessianConfig

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _params(model: nn.Module) -> list[torch.Tensor]:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise UserError("hessian: the network has no trainable parameters")
    return params


def _grads(model: nn.Module, loss_fn: LossFn, batch: Batch, params: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    x, y = batch
    loss = loss_fn(model(x), y)
    return torch.autograd.grad(loss, params, create_graph=True)


def _hvp(grads: Sequence[torch.Tensor], params: list[torch.Tensor], v: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    hv = torch.autograd.grad(grads, params, grad_outputs=list(v), retain_graph=True)
    return [h.detach() for h in hv]


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b)))


def _rademacher(params: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
    return [(torch.randint(0, 2, p.shape, generator=gen) * 2 - 1).to(p.device, p.dtype) for p in params]


def _t_quantile(confidence: float, df: int) -> float:
    q = 0.5 + confidence / 2
    try:
        from scipy.stats import t

        return float(t.ppf(q, df))
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return statistics.NormalDist().inv_cdf(q)


class HessianOperator:
    """v ↦ Hv for the Hessian of the mean over `batches` of loss_fn(model(x), y). Each batch's
    gradient graph is built once and kept (memory: that of all batches' double-backward graphs;
    lower `batches` or `batch_size` if it does not fit)."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, batches: Sequence[Batch]):
        if len(batches) == 0:
            raise UserError("hessian: no batches to estimate the Hessian on")
        self.params = _params(model)
        self.graphs = [_grads(model, loss_fn, b, self.params) for b in batches]

    def __call__(self, v: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        total = _hvp(self.graphs[0], self.params, v)
        for g in self.graphs[1:]:
            total = [a + b for a, b in zip(total, _hvp(g, self.params, v))]
        return [a / len(self.graphs) for a in total]


def hutchinson_trace(model: nn.Module, loss_fn: LossFn, batches: Sequence[Batch], probes: int = 20, seed: int = 0,
                     confidence: float = 0.95, op: Optional[HessianOperator] = None) -> dict:
    """Trace of the Hessian of the mean over `batches` of loss_fn(model(x), y): the mean of vᵀHv
    over `probes` Rademacher vectors v, with a Student-t confidence interval over the probes."""
    op = op or HessianOperator(model, loss_fn, batches)
    gen = torch.Generator().manual_seed(int(seed))
    values = []
    for _ in range(probes):
        v = _rademacher(op.params, gen)
        values.append(_dot(v, op(v)))
    trace = statistics.fmean(values)
    if probes > 1:
        se = statistics.stdev(values) / math.sqrt(probes)
        half = _t_quantile(confidence, probes - 1) * se
    else:
        se, half = float("nan"), float("nan")
    return {"trace": trace, "trace_ci": [trace - half, trace + half], "trace_se": se, "confidence": confidence,
            "probes": int(probes), "batches": len(op.graphs), "samples": values}


def top_eigenvalue(model: nn.Module, loss_fn: LossFn, batches: Sequence[Batch], iters: int = 20, tol: float = 1e-3,
                   seed: int = 0, op: Optional[HessianOperator] = None) -> dict:
    """Largest-magnitude eigenvalue of the same Hessian by power iteration (Rayleigh quotient)."""
    op = op or HessianOperator(model, loss_fn, batches)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    v = [torch.randn(p.shape, generator=gen).to(p.device, p.dtype) for p in op.params]
    norm = math.sqrt(_dot(v, v))
    v = [t / norm for t in v]
    eig, done = float("nan"), 0
    for done in range(1, iters + 1):
        hv = op(v)
        new = _dot(v, hv)  # Rayleigh quotient of the unit vector v
        norm = math.sqrt(_dot(hv, hv))
        converged = not math.isnan(eig) and abs(new - eig) <= tol * max(abs(new), 1e-12)
        eig = new
        if norm == 0 or converged:
            break
        v = [t / norm for t in hv]
    return {"top_eigenvalue": eig, "power_iters": done}


def check(s: HessianConfig) -> None:
    checks.integer("hessian.probes", s.probes, 1)
    checks.integer("hessian.batches", s.batches, 1)
    checks.integer("hessian.batch_size", s.batch_size, 1)
    checks.integer("hessian.power_iters", s.power_iters, 1)
    checks.at_least("hessian.tol", s.tol, 0.0)
    if not (isinstance(s.confidence, float) and 0 < s.confidence < 1):
        raise UserError(f"hessian.confidence must be in (0, 1), got {s.confidence!r}")


def _ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), y)


@probe("hessian", check)
def run(ctx, s: HessianConfig) -> tuple[dict, dict, str]:
    batches = []
    for x, y in ctx.batches(s.split, s.batches * s.batch_size, batch_size=s.batch_size):
        batches.append((x, y))
    batches = batches[: s.batches]
    model = ctx.model
    was_training = model.training
    model.eval()
    try:
        op = HessianOperator(model, _ce, batches)
        out = hutchinson_trace(model, _ce, batches, s.probes, s.seed, s.confidence, op=op)
        out.update(top_eigenvalue(model, _ce, batches, s.power_iters, s.tol, s.seed, op=op))
        del op
    finally:
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    out.update(split=s.split, batch_size=s.batch_size, loss="cross_entropy", seed=s.seed)
    lo, hi = out["trace_ci"]
    line = (f"trace {out['trace']:.4g} [{lo:.4g}, {hi:.4g}] ({s.confidence:.0%} CI, {s.probes} probes × "
            f"{out['batches']} batches of {s.batch_size}), top eigenvalue {out['top_eigenvalue']:.4g} "
            f"({out['power_iters']} iterations)")
    return out, {}, line
