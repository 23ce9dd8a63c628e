"""Where each `recipe=official` switch applies.

The released code is several pipelines (online-KD ResNets, self-KD ResNets, ViTs), and a behaviour
of one is not a behaviour of the others. Each function here scopes one switch to the runs the
release applies it to; everywhere else the paper's default holds. `tests/test_recipe.py` has one
test per switch.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .config import Config, DatasetConfig
from .models.vit import TRANSFORMERS

# The release's online-KD pipeline adds RandomRotation(15) for these data sets (not Tiny-ImageNet).
ROTATED = {"cifar100", "imagenet100", "imagenet1k"}
# The release's ViT KD configs give these students a distillation token (its PiT has none).
DISTILLED = {"deit_tiny": "deit_tiny_distilled"}
# Its self-KD script trains CIFAR on AutoAugment + Cutout (its Tiny-ImageNet loader only crops and
# flips), with the pad and the policy's geometric operations filled grey and CIFAR-10 statistics.
SELF_AUGMENTED = {"cifar100"}
SELF_AUGMENT_FILL = 128
CIFAR10_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR10_STD = [0.2023, 0.1994, 0.2010]


def _online_kd_resnet(cfg: Config) -> bool:
    """The release's online_KD/ pipeline: a peer-mode run of ResNets, and a ResNet without KD in
    either mode. The paper's Tab. 2 (self KD) "w/o KD" numbers are its Tab. 1 (online KD) ones,
    digit for digit, so the self-KD baseline is this pipeline's plain network."""
    if cfg.kd_mode.name == "self":
        return cfg.kd.name == "none" and cfg.model.name not in TRANSFORMERS
    names = {cfg.model.name, cfg.teacher.name or cfg.model.name}
    return cfg.kd_mode.name == "peer" and not names & TRANSFORMERS


def _resnet_script(cfg: Config) -> bool:
    """The release's two ResNet scripts: online_KD/train_space.py (peer mode) and self_KD/train.py."""
    names = {cfg.model.name, cfg.teacher.name or cfg.model.name} if cfg.kd_mode.name == "peer" else {cfg.model.name}
    return not names & TRANSFORMERS


def data_config(cfg: Config) -> DatasetConfig:
    """dataset.* with recipe.rotation where the release rotates (online-KD ResNets, CIFAR/ImageNet)
    and recipe.self_augment where it trains on AutoAugment + Cutout (self-KD ResNets, CIFAR)."""
    d = cfg.dataset
    if cfg.recipe.rotation > 0 and _online_kd_resnet(cfg) and d.name in ROTATED:
        d = replace(d, rotation=cfg.recipe.rotation)
    if _self_augment(cfg):
        d = replace(d, augment="autoaugment_cutout", fill=SELF_AUGMENT_FILL,
                    mean=d.mean if d.mean is not None else CIFAR10_MEAN, std=d.std if d.std is not None else CIFAR10_STD)
    return d


def _self_augment(cfg: Config) -> bool:
    # an augmentation chosen by hand (dataset.augment=timm) stands
    return (cfg.recipe.self_augment and cfg.kd_mode.name == "self" and cfg.kd.name != "none"
            and _resnet_script(cfg) and cfg.dataset.name in SELF_AUGMENTED and cfg.dataset.augment == "crop_flip")


def peer_logit_loss(cfg: Config) -> Optional[str]:
    """The release's CNN KL (KLDivLoss fed probabilities); its ViT KD is a proper log-prob KL."""
    if cfg.recipe.kl_softmax_input and cfg.loss.logit == "kl" and _online_kd_resnet(cfg):
        return "kl_softmax_input"
    return None


def self_logit_loss(cfg: Config) -> Optional[str]:
    return "soft_ce" if cfg.recipe.self_soft_ce else None


def teacher_targets(cfg: Config) -> tuple[str, bool]:
    """(target mode, whether a replayed train-mode forward moves the teacher's BatchNorm statistics).

    The release replays against its teacher in train mode and lets the running statistics move,
    but its offline KD calls teacher.eval().
    """
    if cfg.recipe.teacher_train_mode_replay:
        return ("eval", False) if cfg.kd.name == "offline" else ("train", True)
    return cfg.teacher.target_mode, False


def student_model(cfg: Config) -> str:
    """The student's architecture: with recipe.distill_token, a DeiT-Tiny that learns from a peer
    teacher is the distillation-token DeiT (CE on the class head, KD on the distillation head, the
    mean of both at test time). Its teacher (`teacher.name` null: `model.name`) stays the plain DeiT,
    as the release drops the teacher's distillation token, and so does the w/o KD network."""
    if cfg.recipe.distill_token and cfg.kd_mode.name == "peer" and cfg.kd.name != "none":
        return DISTILLED.get(cfg.model.name, cfg.model.name)
    return cfg.model.name


def pytorch_init(cfg: Config) -> bool:
    """The release's online-KD ResNets keep PyTorch's default initialisation."""
    return cfg.recipe.pytorch_init and _online_kd_resnet(cfg)


def self_kd_first_block(cfg: Config, steps_per_epoch: int, interval: int) -> Optional[int]:
    """The release's self-KD loop replays when its step counter passes a multiple of s one step
    late: the first block is steps_per_epoch mod s steps long (or s when that is 0)."""
    if cfg.recipe.self_kd_offset and cfg.kd_mode.name == "self":
        return steps_per_epoch % interval or interval
    return None


def self_replay_skips_ce(cfg: Config) -> bool:
    """The release's self-KD loop appends the step's batch to the buffer before it decides to
    replay; on a replay step it trains that batch in the replay only, with no CE-only update."""
    return cfg.recipe.self_replay_skips_ce and cfg.kd_mode.name == "self"


def bn_split(cfg: Config) -> int:
    """Chunks of the batch each BatchNorm normalises apart. The release's ResNet scripts wrap every
    network in nn.DataParallel and run.sh / self.sh give them 2 GPUs; its ViT pipeline runs on 1."""
    return cfg.recipe.bn_split if _resnet_script(cfg) else 1
