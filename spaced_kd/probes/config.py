"""Typed settings of `evaluate.py` and of each probe (the defaults of conf/evaluate.yaml)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

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
    run_dir: Optional[str] = MISSING  # required on the command line; run_probes takes it as an argument
    probe: Any = field(default_factory=lambda: list(ALL_PROBES))  # list, "a,b" or "all"
    role: str = "student"  # student | teacher (peer mode); self mode has one network
    device: Optional[str] = None  # null: the run's trainer.device
    threads: Optional[int] = None  # CPU threads for torch; null: the run's trainer.threads, else torch's default
    batch_size: int = 256
    flatness: FlatnessConfig = field(default_factory=FlatnessConfig)
    corruptions: CorruptionsConfig = field(default_factory=CorruptionsConfig)
    bim: BIMConfig = field(default_factory=BIMConfig)
    hessian: HessianConfig = field(default_factory=HessianConfig)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    head = text[0] if text else type(exc).__name__
    key = next((ln.split(":", 1)[1].strip() for ln in text if ln.strip().startswith("full_key:")), "")
    return f"{key}: {head}" if key else head


def load_eval_config(cfg: DictConfig | dict | EvalConfig | None = None) -> EvalConfig:
    """Hydra's DictConfig (or a plain dict of overrides) → checked `EvalConfig`."""
    if isinstance(cfg, EvalConfig):
        return cfg
    raw = OmegaConf.create({}) if cfg is None else (cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg))
    if "hydra" in raw:
        raw = OmegaConf.masked_copy(raw, [k for k in raw if k != "hydra"])
    try:
        merged = OmegaConf.merge(OmegaConf.structured(EvalConfig), raw)
        if OmegaConf.is_missing(merged, "run_dir"):
            merged.run_dir = None
        conf: EvalConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise UserError(f"bad config value {_one_line(exc)}") from None
    if conf.threads is not None and conf.threads <= 0:
        raise UserError(f"threads must be an integer > 0 or null, got {conf.threads!r}")
    if not isinstance(conf.batch_size, int) or conf.batch_size <= 0:
        raise UserError(f"batch_size must be an integer > 0, got {conf.batch_size!r}")
    return conf


def probe_names(value: Any) -> list[str]:
    """`probe` as given (list, "a,b", "all") → known names in order, unknown → UserError."""
    from . import PROBES  # through the package: every probe is registered by then

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


def _number(name: str, value: Any, low: float = 0.0, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        raise UserError(f"{name} must be a number {'>' if strict else '>='} {low:g}, got {value!r}")


def check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise UserError(f"{name} must be an integer >= {low}, got {value!r}")


def check_number(name: str, value: Any, low: float = 0.0, strict: bool = False) -> None:
    _number(name, value, low, strict)


def register_eval_defaults() -> None:
    """Every evaluate.py key with its default, as `base_evaluate` for conf/evaluate.yaml."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_evaluate", node=OmegaConf.to_container(OmegaConf.structured(EvalConfig)))
