"""Name → builder maps for networks, and the two entry points the rest of spaced-kd calls.

Every builder takes the same keywords (num_classes, in_channels, image_size, width, drop_path), so a
config's model group maps straight onto a call and a new architecture is one decorated function.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .. import checks
from ..registry import Registry

Builder = Callable[..., nn.Module]

MODELS: Registry[Builder] = Registry("model")
# BYOT-style networks with one classifier per depth; names mirror MODELS where both exist.
SELF_MODELS: Registry[Builder] = Registry("self-KD model")


def _build(registry: Registry[Builder], name: str, num_classes: int, in_channels: int, image_size: int,
           width: float, drop_path: float) -> nn.Module:
    builder = registry.get(name)
    _check(name, num_classes, in_channels, image_size, width, drop_path)
    return builder(
        num_classes=num_classes, in_channels=in_channels, image_size=image_size, width=width, drop_path=drop_path
    )


def build_model(name: str, *, num_classes: int, in_channels: int, image_size: int,
                width: float = 1.0, drop_path: float = 0.0) -> nn.Module:
    """A classifier whose forward returns (logits [B, C], pooled feature [B, feature_dim])."""
    return _build(MODELS, name, num_classes, in_channels, image_size, width, drop_path)


def build_self_model(name: str, *, num_classes: int, in_channels: int, image_size: int,
                     width: float = 1.0, drop_path: float = 0.0) -> nn.Module:
    """A self-KD network whose forward returns (logits list, feature list), deepest head first."""
    return _build(SELF_MODELS, name, num_classes, in_channels, image_size, width, drop_path)


def _check(name: str, num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float) -> None:
    # Bad sizes would otherwise surface as a shape error deep inside a conv or timm's patch embed.
    # The config checks width and drop_path too; builders are also called directly (tests, tools).
    for key, value in (("num_classes", num_classes), ("in_channels", in_channels), ("image_size", image_size)):
        checks.integer(f"model {name!r}: {key}", value, 1)
    checks.positive(f"model {name!r}: width", width)
    checks.in_range(f"model {name!r}: drop_path", drop_path, 0.0, 1.0, high_open=True)
