"""Name → builder maps for networks, and the two entry points the rest of spaced-kd calls.

Every builder takes the same keywords (num_classes, in_channels, image_size, width, drop_path), so a
config's model group maps straight onto a call and a new architecture is one decorated function.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..errors import UserError
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
    for key, value in (("num_classes", num_classes), ("in_channels", in_channels), ("image_size", image_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"model {name!r}: {key} must be a positive integer, got {value!r}")
    if not width > 0:
        raise UserError(f"model {name!r}: width must be > 0, got {width!r}")
    if not 0.0 <= drop_path < 1.0:
        raise UserError(f"model {name!r}: drop_path must be in [0, 1), got {drop_path!r}")
