"""Config names → the names the paper prints, and the paper's row order.

Tables join our runs to the paper's published values on these labels, so the mapping is
tolerant of spelling (``resnet18``, ``cifar_resnet18``, ``deit_tiny_patch16_224`` …); a name it
doesn't know is shown as it is.
"""
from __future__ import annotations

import math
import re

_DATASETS = {
    "cifar100": "CIFAR-100",
    "cifar10": "CIFAR-10",
    "tinyimagenet": "Tiny-ImageNet",
    "tinyimagenet200": "Tiny-ImageNet",
    "imagenet100": "ImageNet-100",
    "imagenet": "ImageNet-1K",
    "imagenet1k": "ImageNet-1K",
    "digits": "Digits",
    "mnist": "MNIST",
    "fashionmnist": "Fashion-MNIST",
}

# The paper's order of rows; unknown names sort after these, alphabetically.
DATASET_ORDER = ["CIFAR-100", "Tiny-ImageNet", "ImageNet-100", "ImageNet-1K"]
NETWORK_ORDER = [
    "ResNet-18", "ResNet-18×2", "ResNet-18×4", "ResNet-18×8", "ResNet-50", "ResNet-101",
    "DeiT-Tiny", "PiT-Tiny",
]

# loss.logit and loss.feature values as the paper prints them (Tab. 3's rows are the feature term)
_LOSSES = {
    "kl": "KL",
    "l1": "L1",
    "smoothl1": "Smooth L1",
    "smooth_l1": "Smooth L1",
    "mse": "MSE (mean)",
    "msemean": "MSE (mean)",
    "mse_mean": "MSE (mean)",
    "msesum": "MSE (sum)",
    "mse_sum": "MSE (sum)",
    "ce": "Cross-entropy",
    "soft_ce": "Cross-entropy",
    "softce": "Cross-entropy",
    "crossentropy": "Cross-entropy",
    "dist": "L2 (torch.dist)",
    "l2_dist": "L2 (torch.dist)",
    "none": "none",
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def dataset_label(name) -> str:
    if _missing(name):
        return "?"
    return _DATASETS.get(_key(str(name)), str(name))


def network_label(name, width=1.0) -> str:
    """``resnet18`` → ``ResNet-18``; a width multiplier ≠ 1 is appended as ``×2`` (Tab. 8)."""
    if _missing(name):
        return "?"
    key = _key(str(name))
    match = re.search(r"resnet(\d+)", key)
    if match:
        label = f"ResNet-{match.group(1)}"
    elif key.startswith("deit") and ("tiny" in key or key.startswith("deitti")):
        label = "DeiT-Tiny"
    elif key.startswith("pit") and ("tiny" in key or key.startswith("pitti")):
        label = "PiT-Tiny"
    elif key.startswith("vit") and ("tiny" in key or key.startswith("vitti")):
        label = "ViT-Tiny"
    else:
        label = str(name)
    if not _missing(width) and float(width) != 1.0:
        label += f"×{float(width):g}"
    return label


def network_family(label: str) -> tuple[str, str]:
    """(family, depth) of a network label, used to group Tab. 8's teachers."""
    match = re.match(r"ResNet-(\d+)", label)
    if match:
        return "ResNet", match.group(1)
    return label.split("×")[0], ""


def teacher_group(student: str, teacher: str) -> str:
    """Tab. 8's left column: the teacher differs from the student in Width, Depth or Architecture."""
    s_family, s_depth = network_family(student)
    t_family, t_depth = network_family(teacher)
    if s_family != t_family:
        return "Architecture"
    if s_depth != t_depth:
        return "Depth"
    if student != teacher:
        return "Width"
    return "Same"


def loss_label(name) -> str:
    if _missing(name):
        return "?"
    return _LOSSES.get(str(name).lower(), str(name))


def order_key(value, order: list[str]) -> tuple:
    """Sort key: the paper's order first, then the rest alphabetically (numbers numerically)."""
    if value in order:
        return (0, order.index(value), "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (2, 0, str(value))


def interval_label(value: float) -> str:
    """Tab. 6's column headers print one decimal (w/0.5, w/1.0); finer intervals keep theirs."""
    if math.isinf(value):
        return "max"
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"
