"""Networks as a run builds them: the device, seeded initialisation, memory format, compilation."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import checkpoint, rundir
from .config import Config
from .errors import UserError
from .models import build_model, build_self_model

# How far apart networks' initial seeds are when teacher.init=different.
TEACHER_SEED_OFFSET = 10_007


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("trainer.device=cuda but no CUDA device is visible; use trainer.device=auto or cpu")
    return torch.device(name)


def prepare(net: nn.Module, cfg: Config, device: torch.device) -> nn.Module:
    net = net.to(device)
    if cfg.trainer.channels_last:
        net = net.to(memory_format=torch.channels_last)
    if cfg.trainer.compile:
        # in place: state_dict keys stay unprefixed, so checkpoints don't depend on it
        net.compile(mode=None if cfg.trainer.compile_mode == "default" else cfg.trainer.compile_mode)
    return net


def make_net(name: str, width: float, drop_path: float, data, seed: int, self_kd: bool,
             pytorch_init: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    builder = build_self_model if self_kd else build_model
    net = builder(name, num_classes=data.num_classes, in_channels=data.in_channels,
                  image_size=data.image_size, width=width, drop_path=drop_path)
    if pytorch_init:  # every layer back to PyTorch's own initialisation, in module order
        for module in net.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return net


def load_teacher_weights(path: str, teacher: nn.Module) -> None:
    p = Path(path)
    file = p / rundir.CHECKPOINT if p.is_dir() else p
    if not file.exists():
        raise UserError(f"teacher.checkpoint={path}: no checkpoint at {file}")
    state = checkpoint.load(file, what="teacher.checkpoint", hint="point teacher.checkpoint at a spaced-kd run")
    models = state.get("learner", {}).get("models") if isinstance(state.get("learner"), dict) else None
    weights = None
    if isinstance(models, dict):
        weights = models.get("teacher") or models.get("student") or models.get("network")
    if not isinstance(weights, dict):
        raise UserError(f"teacher.checkpoint={path}: {file} holds no trained network "
                        f"(expected a spaced-kd run directory or its checkpoints/last.pt)")
    try:
        teacher.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(f"teacher.checkpoint={path} does not fit the teacher architecture "
                        f"({str(exc).splitlines()[0][:100]})") from None
