"""Typed run configuration: the one place every default lives.

The dataclasses below are registered with Hydra as `base_config` (`checks.register_schema`); the
YAMLs under conf/ state only what differs from them. `load_config` merges Hydra's composed
DictConfig onto them (types checked by OmegaConf) and runs each section's `check`, so a bad run
fails before it touches its directory, with one line that says what is allowed.

Fields marked `VOLATILE` change how a run is executed or watched, not what it computes: a resume
may change them (another machine, another data path), and analysis treats two runs that differ
only there as reruns of one measurement. `NOT_IDENTITY` lists them, derived from the marks.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, List, Optional, get_type_hints

from omegaconf import DictConfig

from . import checks
from .errors import UserError

VOLATILE = {"identity": False}

KD_MODES = ("peer", "self")  # who the teacher is: a peer network, or the network's deepest head

# Keys older versions wrote that no longer exist (read from old run directories, then dropped).
RETIRED = ("loss.name",)


@dataclass
class ModelConfig:
    name: str = "resnet8"
    width: float = 1.0  # channel multiplier (the ×2/×4/×8 teachers)
    drop_path: float = 0.0

    def check(self, key: str = "model") -> None:
        checks.positive(f"{key}.width", self.width)
        checks.in_range(f"{key}.drop_path", self.drop_path, 0.0, 1.0, high_open=True)


@dataclass
class TeacherConfig:
    name: Optional[str] = None  # None: same architecture as the student
    width: Optional[float] = None  # None: the student's width
    drop_path: Optional[float] = None
    init: str = "same"  # same | different initial weights from the student (paper: same seed)
    checkpoint: Optional[str] = None  # kd=offline: load a trained teacher instead of training one
    # What the teacher teaches with, for every schedule alike: "train" = a train-mode forward
    # (BatchNorm batch statistics: what online KD gets from the teacher's own update), "eval" = an
    # eval-mode forward (running statistics; online KD then pays one extra teacher forward).
    target_mode: str = "train"
    # "ResNet-18×k": k times the channels ("channels") or k times the parameters ("params", channels
    # × √k). The paper does not say; the release's only width knob scales parameters.
    width_rule: str = "channels"
    # The peer teacher's own optimiser and schedule (a ViT teacher of a ResNet student, each on its
    # release recipe); None: the student's `optim`.
    optim: Optional["OptimConfig"] = None

    def check(self) -> None:
        checks.optional(checks.positive, "teacher.width", self.width)
        checks.optional(checks.in_range, "teacher.drop_path", self.drop_path, 0.0, 1.0, high_open=True)
        checks.choice("teacher.init", self.init, ["same", "different"])
        checks.choice("teacher.target_mode", self.target_mode, ["train", "eval"])
        checks.choice("teacher.width_rule", self.width_rule, ["channels", "params"])
        if self.optim is not None:
            self.optim.check("teacher.optim")


@dataclass
class DatasetConfig:
    name: str = "digits"
    root: Optional[str] = field(default=None, metadata=VOLATILE)  # None: the source's default location
    download: bool = field(default=False, metadata=VOLATILE)
    val_fraction: float = 0.0  # held out of train for model selection
    train_subset: Optional[int] = None  # first N of a fixed permutation of train (CPU experiments)
    test_subset: Optional[int] = None
    split_seed: int = 0  # fixes val/test splits independently of the run seed
    image_size: Optional[int] = None  # None: the source's native size
    # crop_flip: pad-crop + flip (in-memory sources, on the device) or random-resized-crop + flip
    # (folder sources). timm: the release's ViT pipeline, built by timm's create_transform per
    # sample (bicubic RandomResizedCrop, RandAugment, RandomErasing), for every source.
    # autoaugment_cutout: the release's CIFAR self-KD pipeline per sample (pad-crop, flip,
    # torchvision's CIFAR-10 AutoAugment, Cutout 16 px), in-memory sources.
    augment: str = "crop_flip"
    auto_augment: Optional[str] = "rand-m9-mstd0.5-inc1"  # augment=timm: timm's policy string; None: none
    color_jitter: float = 0.4  # augment=timm: the release's value (timm ignores it while RandAugment is on)
    erase_prob: float = 0.25  # augment=timm: RandomErasing probability (per-pixel noise, one box)
    crop_padding: int = 4
    flip: bool = True
    rotation: float = 0.0  # degrees; the official recipe uses 15
    fill: int = 0  # pad / rotation fill value (uint8)
    mean: Optional[List[float]] = None  # None: the source's statistics
    std: Optional[List[float]] = None
    num_workers: int = field(default=2, metadata=VOLATILE)  # per-sample pipelines: folders, augment=timm
    # Decode image files once into a uint8 .npy beside the data (Tiny-ImageNet; ImageNet with
    # decoded_size) and memory-map it on later runs; the bytes are those a fresh decode gives.
    cache: bool = field(default=True, metadata=VOLATILE)
    # ImageNet folders only. None: decode the JPEGs every step at full resolution (the paper's
    # pipeline). S: decode once to S×S (short side S, centre crop) and train as an in-memory set.
    decoded_size: Optional[int] = None

    def check(self) -> None:
        checks.in_range("dataset.val_fraction", self.val_fraction, 0.0, 1.0, high_open=True)
        checks.optional(checks.integer, "dataset.train_subset", self.train_subset, 1)
        checks.optional(checks.integer, "dataset.test_subset", self.test_subset, 1)
        checks.optional(checks.integer, "dataset.image_size", self.image_size, 1)
        checks.choice("dataset.augment", self.augment, AUGMENTS)
        checks.at_least("dataset.color_jitter", self.color_jitter, 0.0)
        checks.in_range("dataset.erase_prob", self.erase_prob, 0.0, 1.0)
        checks.integer("dataset.crop_padding", self.crop_padding, 0)
        checks.in_range("dataset.rotation", self.rotation, 0.0, 180.0)
        checks.in_range("dataset.fill", self.fill, 0, 255)
        checks.integer("dataset.num_workers", self.num_workers, 0)
        checks.optional(checks.integer, "dataset.decoded_size", self.decoded_size, 1)
        if self.std is not None and not all(isinstance(v, (int, float)) and v > 0 for v in self.std):
            raise UserError(f"dataset.std values must be > 0, got {list(self.std)}")
        if self.augment != "crop_flip" and self.rotation > 0:
            raise UserError(NO_ROTATION.format(self.augment, self.rotation))
        if self.decoded_size is not None and self.name not in DECODABLE:
            raise UserError(f"dataset.decoded_size applies to {' and '.join(DECODABLE)} only "
                            f"(dataset {self.name} is decoded as it is); remove it")
        if self.decoded_size and self.augment == "crop_flip" and (self.image_size or 0) > self.decoded_size:
            # crop_flip resizes an in-memory set once, whole: ImageNet-100 at 224 px is ~19 GB
            raise UserError(f"dataset.decoded_size={self.decoded_size} with dataset.image_size={self.image_size} "
                            f"and augment=crop_flip would hold every image upsampled to {self.image_size} px; "
                            f"set dataset.image_size={self.decoded_size} (or null), or augment=timm, which resizes per sample")


AUGMENTS = ("crop_flip", "timm", "autoaugment_cutout")
DECODABLE = ("imagenet100", "imagenet1k")  # folder sources that dataset.decoded_size can turn in-memory
NO_ROTATION = ("dataset.augment={} has no rotation step (the release's pipeline for it does not rotate), "
               "but a rotation of {:g} degrees was asked for; set dataset.rotation=0 and recipe.rotation=0")


@dataclass
class KDConfig:
    name: str = "spaced"  # none | online | spaced | ahead | offline (spaced_kd.schedules.SCHEDULES)


@dataclass
class KDModeConfig:
    name: str = "peer"  # peer | self

    def check(self) -> None:
        checks.choice("kd_mode.name", self.name, KD_MODES)


@dataclass
class SpacedConfig:
    """Critical period (Fig. 3): spacing applies in [start_epoch, end_epoch), online KD elsewhere."""

    start_epoch: float = 0.0
    end_epoch: Optional[float] = None  # None: till the end
    length: Optional[float] = None  # window length in epochs instead of end_epoch (Fig. 3a: 10)

    def end(self) -> Optional[float]:
        return self.start_epoch + self.length if self.length is not None else self.end_epoch

    def check(self) -> None:
        checks.at_least("spaced.start_epoch", self.start_epoch, 0.0)
        if self.length is not None and self.end_epoch is not None:
            raise UserError("set spaced.length or spaced.end_epoch, not both")
        checks.optional(checks.positive, "spaced.length", self.length)
        if self.end_epoch is not None and not self.end_epoch > self.start_epoch:
            raise UserError(
                f"spaced.end_epoch ({self.end_epoch}) must be after spaced.start_epoch ({self.start_epoch})")


@dataclass
class MethodConfig:
    """A published KD method (Tab. 4) that spacing plugs into; each reads only the keys it names.

    `kd` is the schedule of the method's own "KD" column (`arm=method_kd`): offline for BAN and
    TAKD, whose students wait for the network they learn from to converge, online for the rest.
    """

    name: str = "none"  # none | ban | takd | dml | shake | dlb | pskd (spaced_kd.methods.METHODS)
    kd: str = "online"
    generations: int = 1  # BAN: networks trained after the first; the last one is the student
    assistants: List[str] = field(default_factory=list)  # TAKD: architectures between teacher and student
    temperature: float = 1.0  # the method's own distillation term (DML, SHAKE, DLB)
    weight: float = 1.0  # its weight
    alpha_T: float = 0.8  # PSKD: weight of past predictions in the target at the last epoch
    # TAKD, kd=offline: each network teaches with its final weights (None) or with those of its best
    # epoch on a split: "test" is the release's (it selects on the test set: a peek), "val" needs
    # dataset.val_fraction > 0.
    from_best: Optional[str] = None
    # DLB: the previous batch comes back as a second augmented view of its images (the release's),
    # drawn from the stream's step seed; false: the same augmented tensors again.
    second_view: bool = True
    # DML under a joint (online) step: "sequential" — one peer updates, then the other learns from its
    # fresh, updated output (the paper's Alg. 1, the official code); "joint" — one shared forward.
    order: str = "sequential"

    def check(self) -> None:
        checks.choice("method.kd", self.kd, ["online", "offline"])
        checks.integer("method.generations", self.generations, 1)
        checks.positive("method.temperature", self.temperature)
        checks.at_least("method.weight", self.weight, 0.0)
        checks.in_range("method.alpha_T", self.alpha_T, 0.0, 1.0)
        checks.optional(checks.choice, "method.from_best", self.from_best, ["val", "test"])
        checks.choice("method.order", self.order, ["sequential", "joint"])


@dataclass
class LossConfig:
    logit: str = "kl"  # the response term l_KD (spaced_kd.losses.LOGIT_LOSSES)
    feature: str = "mse_mean"  # the feature term; "none" drops it (spaced_kd.losses.FEATURE_LOSSES)
    temperature: float = 3.0
    alpha: float = 0.3  # weight on l_KD; (1 - alpha) on CE
    beta: float = 0.03  # weight on the feature term
    t2_scaling: bool = True  # multiply temperature-softened logit losses by T²
    feature_heads: Optional[int] = None  # self KD: feature term on the k shallowest heads (None: all)

    def check(self) -> None:
        checks.positive("loss.temperature", self.temperature)
        checks.in_range("loss.alpha", self.alpha, 0.0, 1.0)
        checks.at_least("loss.beta", self.beta, 0.0)
        checks.optional(checks.integer, "loss.feature_heads", self.feature_heads, 1)


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
    no_decay_1d: bool = False  # no weight decay on biases and norms (1-D parameters)
    no_decay_tokens: bool = False  # nor on a ViT's class/distillation tokens and position embedding
    warmup_start: float = 0.0  # warm-up starts at warmup_start × lr (the release's ViTs: 0.001)
    per_epoch: bool = False  # the lr changes once an epoch (the release's ViT cosine), not every step

    def check(self, key: str = "optim") -> None:
        checks.positive(f"{key}.lr", self.lr)
        checks.in_range(f"{key}.momentum", self.momentum, 0.0, 1.0, high_open=True)
        checks.at_least(f"{key}.weight_decay", self.weight_decay, 0.0)
        checks.at_least(f"{key}.warmup_epochs", self.warmup_epochs, 0.0)
        checks.at_least(f"{key}.min_lr", self.min_lr, 0.0)
        checks.positive(f"{key}.gamma", self.gamma)
        checks.in_range(f"{key}.warmup_start", self.warmup_start, 0.0, 1.0)
        checks.choice(f"{key}.scheduler", self.scheduler, ["constant", "cosine", "step"])
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise UserError(f"{key}.betas must be two numbers in [0, 1), got {list(self.betas)}")
        for m in self.milestones:
            checks.at_least(f"{key}.milestones", m, 0.0)


@dataclass
class TrainerConfig:
    epochs: float = 80
    batch_size: int = 128
    device: str = field(default="auto", metadata=VOLATILE)  # auto | cpu | cuda
    precision: str = "fp32"  # fp32 | bf16
    channels_last: bool = field(default=False, metadata=VOLATILE)
    compile: bool = field(default=False, metadata=VOLATILE)
    # torch.compile mode: default | reduce-overhead (CUDA graphs) | max-autotune | max-autotune-no-cudagraphs
    compile_mode: str = field(default="default", metadata=VOLATILE)
    threads: Optional[int] = field(default=None, metadata=VOLATILE)  # CPU threads; None: torch's default
    eval_every: int = 1  # epochs
    eval_batch_size: int = field(default=512, metadata=VOLATILE)
    eval_train: bool = False  # also log accuracy on the training split
    checkpoint_every: int = field(default=200, metadata=VOLATILE)  # events; epoch ends always checkpoint
    resume: bool = field(default=True, metadata=VOLATILE)  # an existing checkpoint in the run dir is continued
    progress: bool = field(default=True, metadata=VOLATILE)
    # Multi-process runs (docs/ddp.md): BatchNorm statistics over the global batch (SyncBatchNorm)
    # instead of each rank's part. Changes what a run computes; a no-op in one process.
    sync_bn: bool = False
    # Cohorts (hydra/sweeper=cohort): students that learn from the same batch at the same moment run
    # as one stacked network, one forward and backward (docs/cohorts.md). No effect on a run alone.
    stack_students: bool = field(default=False, metadata=VOLATILE)

    def check(self) -> None:
        checks.positive("trainer.epochs", self.epochs)
        checks.integer("trainer.batch_size", self.batch_size, 1)
        checks.integer("trainer.eval_batch_size", self.eval_batch_size, 1)
        checks.integer("trainer.checkpoint_every", self.checkpoint_every, 1)
        checks.integer("trainer.eval_every", self.eval_every, 1)
        checks.optional(checks.integer, "trainer.threads", self.threads, 1)
        checks.choice("trainer.device", self.device, ["auto", "cpu", "cuda"])
        checks.choice("trainer.precision", self.precision, ["fp32", "bf16"])
        checks.choice("trainer.compile_mode", self.compile_mode,
                      ["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"])


@dataclass
class LoggerConfig:
    name: str = "jsonl"  # jsonl | wandb
    project: str = "spaced-kd"
    entity: Optional[str] = None
    mode: Optional[str] = None  # wandb mode; None: $WANDB_MODE, else offline
    tags: List[str] = field(default_factory=list)

    def check(self) -> None:
        checks.choice("logger.name", self.name, ["jsonl", "wandb"])
        checks.optional(checks.choice, "logger.mode", self.mode, ["online", "offline", "disabled"])


@dataclass
class RecipeConfig:
    """Each switch is one behaviour of the released code; `recipe=official` turns them all on."""

    name: str = "default"
    kl_softmax_input: bool = False  # KLDivLoss fed softmax (not log-softmax) probabilities
    teacher_train_mode_replay: bool = False  # teacher BatchNorm in train mode while it only teaches
    drop_last_block: bool = False  # a spaced block cut short by the end is never replayed
    self_kd_offset: bool = False  # spaced self KD: replays at ends of epochs 0, s, 2s, ... (first block 1 epoch)
    self_soft_ce: bool = False  # self KD: soft cross-entropy (no T²) instead of the logit loss
    # self-KD ResNets on CIFAR-100: AutoAugment + Cutout, grey fill, CIFAR-10 statistics (test set too)
    self_augment: bool = False
    self_replay_skips_ce: bool = False  # spaced self KD: the batch of a replay step gets no CE-only update
    floor_interval: bool = False  # steps = int(interval × steps_per_epoch) instead of rounding
    # RandomRotation(degrees) where the release has it: the online-KD pipeline of CIFAR-100 and
    # ImageNet for ResNets (not Tiny-ImageNet, self KD or ViTs); dataset.rotation applies everywhere
    rotation: float = 0.0
    pytorch_init: bool = False  # online-KD ResNets keep PyTorch's default init (no Kaiming)
    # a DeiT-Tiny student that learns from a peer teacher gets a distillation token (the release's
    # DISTILLATION.ENABLE_LOGIT, set in its KD configs only); the teacher and w/o KD stay plain
    distill_token: bool = False
    # BatchNorm in train mode over k chunks of the batch, only the first moving the running
    # statistics: the release's ResNet scripts on 2 GPUs under nn.DataParallel (1: one batch)
    bn_split: int = 1

    def check(self) -> None:
        checks.in_range("recipe.rotation", self.rotation, 0.0, 180.0)
        checks.integer("recipe.bn_split", self.bn_split, 1)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    kd: KDConfig = field(default_factory=KDConfig)
    kd_mode: KDModeConfig = field(default_factory=KDModeConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    spaced: SpacedConfig = field(default_factory=SpacedConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig, metadata=VOLATILE)
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    interval: float = 1.5  # space interval, in `interval_unit`
    interval_unit: str = "epochs"  # epochs | steps
    seed: int = 0
    probes: List[str] = field(default_factory=list, metadata=VOLATILE)
    tags: List[str] = field(default_factory=list, metadata=VOLATILE)

    def check(self) -> None:
        """Each section's own checks, then the ones that relate sections."""
        for f in fields(self):
            section = getattr(self, f.name)
            if is_dataclass(section) and hasattr(section, "check"):
                section.check()
        checks.choice("interval_unit", self.interval_unit, ["epochs", "steps"])
        if self.kd.name in ("none", "offline"):
            checks.at_least("interval", self.interval, 0.0)
        elif self.interval_unit == "steps":
            checks.whole("interval", self.interval, 1)
        else:
            checks.positive("interval", self.interval)
        if self.kd.name in ("spaced", "ahead") and self.interval_unit == "epochs" and self.interval >= self.trainer.epochs:
            raise UserError(interval_too_long(f"{self.interval:g} epochs", f"trainer.epochs={self.trainer.epochs:g}"))
        if self.method.name != "none":
            self._check_method()
        if self.method.from_best is not None:
            self._check_from_best()
        if self.kd.name == "spaced" and self.spaced.start_epoch >= self.trainer.epochs:
            raise UserError(f"spaced.start_epoch ({self.spaced.start_epoch:g}) is not before the end of training "
                            f"(trainer.epochs={self.trainer.epochs:g}): no step would be spaced")


    def _check_method(self) -> None:
        m = self.method.name
        if self.kd_mode.name != "peer":
            raise UserError(f"method={m} brings its own networks; it runs with kd_mode=peer, not kd_mode={self.kd_mode.name}")
        if self.recipe.name != "default":
            raise UserError(f"method={m} follows its own published pipeline; recipe={self.recipe.name} "
                            f"describes the release's online and self KD only: use recipe=default")
        if self.loss.feature != "none" and self.loss.beta > 0:
            raise UserError(f"method={m} distils logits only; set loss.feature=none (or loss.beta=0)")
        if self.teacher.optim is not None:
            raise UserError(f"method={m} trains every network with optim.*; teacher.optim is for a peer teacher: remove it")

    def _check_from_best(self) -> None:
        best = f"method.from_best={self.method.from_best}"
        if self.method.name != "takd":
            raise UserError(f"{best} is TAKD's key (method=takd), not method={self.method.name}'s; remove it")
        if self.kd.name not in ("offline", "none"):
            raise UserError(f"{best} needs kd=offline: under kd={self.kd.name} a network teaches while it "
                            f"trains, before its best epoch is known")
        if self.method.from_best == "val" and self.dataset.val_fraction <= 0:
            raise UserError(f"{best} selects on a validation split; set dataset.val_fraction > 0 (e.g. 0.1)")


def interval_too_long(interval: str, training: str) -> str:
    return (f"interval ({interval}) is not shorter than training ({training}): the teacher would finish "
            f"before the student starts, which is offline KD; use kd=offline")


def _volatile_paths(schema: type, prefix: str = "") -> list[str]:
    hints = get_type_hints(schema)
    out = []
    for f in fields(schema):
        if f.metadata.get("identity", True) is False:
            out.append(f"{prefix}{f.name}")
        elif is_dataclass(hints[f.name]):
            out += _volatile_paths(hints[f.name], f"{prefix}{f.name}.")
    return out


# Dotted config keys that do not change what a run computes (see the module docstring).
NOT_IDENTITY: tuple[str, ...] = tuple(_volatile_paths(Config))


def identity(config: dict) -> dict[str, Any]:
    """A resolved config (nested dict) → {dotted key: value} of the keys that define the run."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if any(prefix[:-1] == p for p in NOT_IDENTITY):
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            flat[prefix[:-1]] = list(node) if isinstance(node, (list, tuple)) else node

    walk(config, "")
    return flat


def differences(old: dict, new: dict) -> list[str]:
    """Keys whose values differ between two resolved configs, as "key: old → new", identity keys
    only. A key one side lacks (written by another version) counts as its schema default."""
    from dataclasses import asdict

    default = identity(asdict(Config()))
    a, b = identity(old), identity(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if key in RETIRED:
            continue
        va, vb = a.get(key, default.get(key)), b.get(key, default.get(key))
        if va != vb and not (_number(va) and _number(vb) and float(va) == float(vb)):
            out.append(f"{key}: {va!r} → {vb!r}")
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_config(cfg: DictConfig | dict) -> Config:
    """DictConfig from Hydra (or a plain dict) → checked `Config` (raises UserError with one line)."""
    return checks.load_typed(cfg, Config, drop=RETIRED)
