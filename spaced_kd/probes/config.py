"""Typed settings of `evaluate.py` and of each probe: the one place their defaults live.

evaluate.py registers `EvalConfig` as `base_evaluate` (checks.register_schema); conf/evaluate.yaml
states only what differs. Each probe checks its own section (the `check` it registers with).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import DictConfig

from .. import checks
from ..errors import UserError

ALL_PROBES = ["flatness", "corruptions", "bim", "hessian"]
PAPER_CORRUPTIONS = ["impulse_noise", "zoom_blur", "snow", "frost", "jpeg_compression", "brightness"]


@dataclass
class FlatnessConfig:
    """Fig. 4: Gaussian noise on every parameter, training loss / accuracy per noise level."""

    sigmas: List[float] = field(default_factory=lambda: [0.0, 0.01, 0.02, 0.05, 0.1, 0.2])
    relative: bool = True  # noise std = sigma · ‖W‖ / √numel(W) per tensor; false: std = sigma
    samples: int = 5  # K noise draws per sigma (the same K directions at every sigma)
    seed: int = 0
    split: str = "train"  # the un-augmented training set
    max_samples: Optional[int] = 10000  # spread evenly over the split; null: all
    bn: str = "eval"  # eval: trained running statistics | recalibrate: re-estimated per noisy model


@dataclass
class CorruptionsConfig:
    """Tab. 5 / 11: test accuracy under CIFAR-C-style corruptions at severities 1–5."""

    names: List[str] = field(default_factory=lambda: list(PAPER_CORRUPTIONS))
    severities: List[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    seed: int = 0
    split: str = "test"
    max_samples: Optional[int] = None
    npy_dir: Optional[str] = None  # official CIFAR-100-C folder (<name>.npy, labels.npy) instead of generating
    frost_dir: Optional[str] = None  # folder of frost textures; null: the ones shipped with imagecorruptions


@dataclass
class BIMConfig:
    """Tab. 12: basic iterative method (Kurakin et al.) in pixel space [0, 1], L∞ ball."""

    eps: float = 8 / 255
    alpha: float = 2 / 255
    steps: int = 10
    split: str = "test"
    max_samples: Optional[int] = None


@dataclass
class HessianConfig:
    """Thm 4.4: Hutchinson trace (Rademacher probes) and the top eigenvalue of the CE-loss Hessian."""

    probes: int = 20  # Rademacher vectors per batch
    batches: int = 4  # batches of the split; the Hessian is that of their mean loss
    batch_size: int = 128
    split: str = "train"
    power_iters: int = 20
    tol: float = 1e-3  # power iteration stops when the eigenvalue moves less than this (relative)
    seed: int = 0
    confidence: float = 0.95


@dataclass
class EvalConfig:
    run_dir: Optional[str] = None  # a run directory or a folder of runs; required on the command line
    probe: Any = field(default_factory=lambda: list(ALL_PROBES))  # list, "a,b" or "all"
    role: str = "student"  # student | teacher (peer mode); self mode has one network (its deepest head)
    device: Optional[str] = None  # null: the run's trainer.device (auto: CUDA when visible)
    threads: Optional[int] = None  # CPU threads for torch; null: the run's trainer.threads, else torch's default
    batch_size: int = 256
    allow_unfinished: bool = False  # probe a run whose training has not completed (its last checkpoint)
    flatness: FlatnessConfig = field(default_factory=FlatnessConfig)
    corruptions: CorruptionsConfig = field(default_factory=CorruptionsConfig)
    bim: BIMConfig = field(default_factory=BIMConfig)
    hessian: HessianConfig = field(default_factory=HessianConfig)

    def check(self) -> None:
        checks.optional(checks.integer, "threads", self.threads, 1)
        checks.integer("batch_size", self.batch_size, 1)
        checks.choice("role", self.role, ["student", "teacher"])
        checks.optional(checks.choice, "device", self.device, ["auto", "cpu", "cuda"])


def load_eval_config(cfg: DictConfig | dict | EvalConfig | None = None) -> EvalConfig:
    """Hydra's DictConfig (or a plain dict of overrides) → checked `EvalConfig`."""
    if isinstance(cfg, EvalConfig):
        return cfg
    return checks.load_typed(cfg, EvalConfig)


def probe_names(value: Any) -> list[str]:
    """`probe` as given (list, "a,b", "all") → known names in order, unknown → UserError."""
    from .runner import PROBES  # the runner imports every probe: all are registered by then

    if value is None:
        items: list[str] = []
    elif isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    else:
        items = [str(v).strip() for v in value]
    if items == ["all"]:
        items = list(ALL_PROBES)
    if not items:
        raise UserError(f"no probe given; choose from: {', '.join(PROBES.names())} (or all)")
    out: list[str] = []
    for name in items:
        PROBES.get(name)  # unknown → one line listing the choices
        if name not in out:
            out.append(name)
    return out
