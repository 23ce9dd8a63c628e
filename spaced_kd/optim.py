"""Optimisers and learning-rate schedules by name.

The schedule is a pure function of the role's step, set on the param groups before every update,
so resuming needs no scheduler state.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn

from .config import OptimConfig
from .registry import Registry

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")


# A ViT's learned tokens and position embedding: the release exempts them from weight decay.
TOKENS = {"cls_token", "dist_token", "pos_embed"}


def _exempt(name: str, p: torch.Tensor, cfg: OptimConfig) -> bool:
    return (cfg.no_decay_1d and p.ndim <= 1) or (cfg.no_decay_tokens and name.rsplit(".", 1)[-1] in TOKENS)


def param_groups(modules: Iterable[nn.Module], cfg: OptimConfig) -> list[dict]:
    named = [(n, p) for m in modules for n, p in m.named_parameters() if p.requires_grad]
    if not (cfg.no_decay_1d or cfg.no_decay_tokens):
        return [{"params": [p for _, p in named], "weight_decay": cfg.weight_decay}]
    decay = [p for n, p in named if not _exempt(n, p, cfg)]
    rest = [p for n, p in named if _exempt(n, p, cfg)]
    return [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]


@OPTIMIZERS.register("sgd")
def sgd(groups: list[dict], cfg: OptimConfig, fused: bool) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, fused=None)


@OPTIMIZERS.register("adamw")
def adamw(groups: list[dict], cfg: OptimConfig, fused: bool) -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), fused=None)


def build_optimizer(modules: Iterable[nn.Module], cfg: OptimConfig) -> torch.optim.Optimizer:
    """On CUDA the update is one fused kernel per parameter group instead of a handful per tensor
    list (the CPU keeps PyTorch's default implementation, which the CPU tests pin down)."""
    modules = list(modules)
    on_cuda = any(p.is_cuda for m in modules for p in m.parameters())
    return OPTIMIZERS.get(cfg.name)(param_groups(modules, cfg), cfg, on_cuda)


def lr_schedule(cfg: OptimConfig, total_steps: int, steps_per_epoch: int) -> Callable[[int], float]:
    """step → learning rate (warm-up is linear from warmup_start × lr; cosine ends at min_lr).

    With `per_epoch` the schedule is read at the first step of the step's epoch, so the rate moves
    once an epoch, as a scheduler stepped at epoch ends does.
    """
    warm = int(cfg.warmup_epochs * steps_per_epoch)
    milestones = [int(m * steps_per_epoch) for m in cfg.milestones]

    def at(step: int) -> float:
        if cfg.per_epoch:
            step -= step % steps_per_epoch
        if step < warm:
            return cfg.lr * (cfg.warmup_start + (1 - cfg.warmup_start) * (step + 1) / warm)
        if cfg.scheduler == "cosine":
            span = max(1, total_steps - warm)
            frac = min(1.0, (step - warm) / span)
            return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * frac))
        if cfg.scheduler == "step":
            return cfg.lr * cfg.gamma ** sum(step >= m for m in milestones)
        return cfg.lr

    return at


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
