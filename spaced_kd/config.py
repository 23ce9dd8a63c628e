"""Typed run configuration.

Hydra composes YAML groups into a DictConfig; `load_config` merges it onto these dataclasses
(types checked by OmegaConf) and then checks values, so a bad run fails before it touches its
directory, with one line that says what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import UserError


@dataclass
class ModelConfig:
    name: str = "resnet8"
    width: float = 1.0  # channel multiplier (the ×2/×4/×8 teachers)
    drop_path: float = 0.0


@dataclass
class TeacherConfig:
    name: Optional[str] = None  # None: same architecture as the student
    width: Optional[float] = None  # None: the student's width
    drop_path: Optional[float] = None
    init: str = "same"  # same | different initial weights from the student (paper: same seed)
    checkpoint: Optional[str] = None  # kd=offline: load a trained teacher instead of training one


@dataclass
class DatasetConfig:
    name: str = "digits"
    root: Optional[str] = None  # None: the source's default location
    download: bool = False
    val_fraction: float = 0.0  # held out of train for model selection
    train_subset: Optional[int] = None  # first N of a fixed permutation of train (CPU experiments)
    test_subset: Optional[int] = None
    split_seed: int = 0  # fixes val/test splits independently of the run seed
    image_size: Optional[int] = None  # None: the source's native size
    crop_padding: int = 4
    flip: bool = True
    rotation: float = 0.0  # degrees; the official recipe uses 15
    fill: int = 0  # pad / rotation fill value (uint8)
    mean: Optional[List[float]] = None  # None: the source's statistics
    std: Optional[List[float]] = None
    num_workers: int = 2  # folder sources only


@dataclass
class KDConfig:
    name: str = "spaced"  # none | online | spaced | ahead | offline


@dataclass
class KDModeConfig:
    name: str = "peer"  # peer | self


@dataclass
class SpacedConfig:
    """Critical period (Fig. 3): spacing applies in [start_epoch, end_epoch), online KD elsewhere."""

    start_epoch: float = 0.0
    end_epoch: Optional[float] = None  # None: till the end
    length: Optional[float] = None  # window length in epochs instead of end_epoch (Fig. 3a: 10)

    def end(self) -> Optional[float]:
        return self.start_epoch + self.length if self.length is not None else self.end_epoch


@dataclass
class LossConfig:
    name: str = "kl"
    logit: str = "kl"  # the response term l_KD
    feature: str = "mse_mean"  # the feature term; "none" drops it
    temperature: float = 3.0
    alpha: float = 0.3  # weight on l_KD; (1 - alpha) on CE
    beta: float = 0.03  # weight on the feature term
    t2_scaling: bool = True  # multiply temperature-softened logit losses by T²
    feature_heads: Optional[int] = None  # self KD: feature term on the k shallowest heads (None: all)


@dataclass
class OptimConfig:
    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    scheduler: str = "constant"  # constant | cosine | step
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    milestones: List[float] = field(default_factory=list)  # step scheduler, in epochs
    gamma: float = 0.1
    no_decay_1d: bool = False  # no weight decay on biases, norms and tokens


@dataclass
class TrainerConfig:
    epochs: float = 80
    batch_size: int = 128
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "fp32"  # fp32 | bf16
    channels_last: bool = False
    compile: bool = False
    threads: Optional[int] = None  # CPU threads for torch; None: torch's default (all cores)
    eval_every: int = 1  # epochs
    eval_batch_size: int = 512
    eval_train: bool = False  # also log accuracy on the training split
    checkpoint_every: int = 200  # steps of either network; epoch ends always checkpoint
    resume: bool = True  # an existing checkpoint in the run dir is continued
    progress: bool = True


@dataclass
class LoggerConfig:
    name: str = "jsonl"  # jsonl | wandb
    project: str = "spaced-kd"
    entity: Optional[str] = None
    mode: Optional[str] = None  # wandb mode; None: $WANDB_MODE, else offline
    tags: List[str] = field(default_factory=list)


@dataclass
class RecipeConfig:
    """Each switch is one behaviour of the released code; `recipe=official` turns them all on."""

    name: str = "default"
    kl_softmax_input: bool = False  # KLDivLoss fed softmax (not log-softmax) probabilities
    teacher_train_mode_replay: bool = False  # teacher BatchNorm in train mode while it only teaches
    drop_last_block: bool = False  # a spaced block cut short by the end is never replayed
    self_kd_offset: bool = False  # spaced self KD: replays at ends of epochs 0, s, 2s, ... (first block 1 epoch)
    self_soft_ce: bool = False  # self KD: soft cross-entropy (no T²) instead of the logit loss
    floor_interval: bool = False  # steps = int(interval × steps_per_epoch) instead of rounding


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    kd: KDConfig = field(default_factory=KDConfig)
    kd_mode: KDModeConfig = field(default_factory=KDModeConfig)
    spaced: SpacedConfig = field(default_factory=SpacedConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    interval: float = 1.5  # space interval, in `interval_unit`
    interval_unit: str = "epochs"  # epochs | steps
    seed: int = 0
    probes: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    head = text[0] if text else type(exc).__name__
    key = next((ln.split(":", 1)[1].strip() for ln in text if ln.strip().startswith("full_key:")), "")
    return f"{key}: {head}" if key else head


def load_config(cfg: DictConfig | dict) -> Config:
    """DictConfig from Hydra → checked `Config` (raises UserError with one line)."""
    raw = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    raw = OmegaConf.masked_copy(raw, [k for k in raw.keys() if k != "hydra"]) if "hydra" in raw else raw
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        conf: Config = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise UserError(f"bad config value {_one_line(exc)}") from None
    check(conf)
    return conf


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a number > 0, got {value!r}")


def _choice(name: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise UserError(f"{name}={value!r} is not allowed; choose one of: {', '.join(allowed)}")


def check(c: Config) -> None:
    """Value checks that types can't express; registries are checked where they are used."""
    _positive("trainer.epochs", c.trainer.epochs)
    _positive("trainer.batch_size", c.trainer.batch_size)
    _positive("trainer.eval_batch_size", c.trainer.eval_batch_size)
    _positive("trainer.checkpoint_every", c.trainer.checkpoint_every)
    _positive("trainer.eval_every", c.trainer.eval_every)
    _positive("optim.lr", c.optim.lr)
    _positive("model.width", c.model.width)
    if c.kd.name not in ("none", "offline"):
        _positive("interval", c.interval)
    elif not (isinstance(c.interval, (int, float)) and math.isfinite(c.interval) and c.interval >= 0):
        raise UserError(f"interval must be a number >= 0, got {c.interval!r}")
    _choice("interval_unit", c.interval_unit, ["epochs", "steps"])
    _choice("trainer.device", c.trainer.device, ["auto", "cpu", "cuda"])
    _choice("trainer.precision", c.trainer.precision, ["fp32", "bf16"])
    _choice("teacher.init", c.teacher.init, ["same", "different"])
    _choice("optim.scheduler", c.optim.scheduler, ["constant", "cosine", "step"])
    _choice("logger.name", c.logger.name, ["jsonl", "wandb"])
    if not 0.0 <= c.dataset.val_fraction < 1.0:
        raise UserError(f"dataset.val_fraction must be in [0, 1), got {c.dataset.val_fraction!r}")
    if not 0.0 <= c.loss.alpha <= 1.0:
        raise UserError(f"loss.alpha must be in [0, 1], got {c.loss.alpha!r}")
    _positive("loss.temperature", c.loss.temperature)
    if c.loss.beta < 0:
        raise UserError(f"loss.beta must be >= 0, got {c.loss.beta!r}")
    for name in ("train_subset", "test_subset"):
        value = getattr(c.dataset, name)
        if value is not None:
            _positive(f"dataset.{name}", value)
    if c.spaced.length is not None and c.spaced.end_epoch is not None:
        raise UserError("set spaced.length or spaced.end_epoch, not both")
    if c.spaced.length is not None:
        _positive("spaced.length", c.spaced.length)
    if c.spaced.end_epoch is not None and c.spaced.end_epoch <= c.spaced.start_epoch:
        raise UserError(
            f"spaced.end_epoch ({c.spaced.end_epoch}) must be after spaced.start_epoch ({c.spaced.start_epoch})"
        )
    if c.spaced.start_epoch < 0:
        raise UserError(f"spaced.start_epoch must be >= 0, got {c.spaced.start_epoch}")


def register_defaults() -> None:
    """Give Hydra every key with its default (as a plain node) under the name `base_config`.

    Group YAMLs then only state what differs, any key can be overridden from the command
    line, and types are checked by `load_config` so a wrong value fails with one line.
    """
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_config", node=OmegaConf.to_container(OmegaConf.structured(Config)))
