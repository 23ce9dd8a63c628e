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


def param_groups(modules: Iterable[nn.Module], cfg: OptimConfig) -> list[dict]:
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    if not cfg.no_decay_1d:
        return [{"params": params, "weight_decay": cfg.weight_decay}]
    decay = [p for p in params if p.ndim > 1]
    rest = [p for p in params if p.ndim <= 1]
    return [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]


@OPTIMIZERS.register("sgd")
def sgd(groups: list[dict], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)


@OPTIMIZERS.register("adamw")
def adamw(groups: list[dict], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))


def build_optimizer(modules: Iterable[nn.Module], cfg: OptimConfig) -> torch.optim.Optimizer:
    return OPTIMIZERS.get(cfg.name)(param_groups(modules, cfg), cfg)


def lr_schedule(cfg: OptimConfig, total_steps: int, steps_per_epoch: int) -> Callable[[int], float]:
    """step → learning rate (warm-up is linear from 0; cosine ends at min_lr)."""
    warm = int(cfg.warmup_epochs * steps_per_epoch)
    milestones = [int(m * steps_per_epoch) for m in cfg.milestones]

    def at(step: int) -> float:
        if step < warm:
            return cfg.lr * (step + 1) / warm
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
