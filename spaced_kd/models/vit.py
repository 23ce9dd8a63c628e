"""DeiT-Tiny and PiT-Tiny from timm (random init only), sized for small images.

The release upsamples CIFAR to 224 and uses 16-px patches. For native-resolution runs the patch
shrinks with the image so the token grid stays useful (32 px → 4-px patches, an 8×8 grid; 64 px →
8-px patches; ≥128 px → 16). PiT keeps the release's overlap ratio: stride = patch / 2.
The plain (non-distilled) DeiT is used: one class token, no distillation token, so the feature
is the class token after the final norm and every KD term acts on the one classifier.
"""
from __future__ import annotations

from torch import Tensor, nn

from ..errors import UserError
from .registry import MODELS

# Transformer classifiers (the release trains them in their own pipeline, spaced_kd/recipe.py).
TRANSFORMERS = frozenset({"deit_tiny", "deit_tiny_distilled", "pit_tiny"})


def patch_size_for(image_size: int) -> int:
    """16 at ≥128 px, 8 at ≥64, 4 at ≥16, else 2 — lowered to a power of two dividing the image."""
    target = 16 if image_size >= 128 else 8 if image_size >= 64 else 4 if image_size >= 16 else 2
    while target > 1 and image_size % target:
        target //= 2
    return target


class TimmClassifier(nn.Module):
    """forward(x) → (logits, pooled feature), the feature being what timm's head would classify."""

    def __init__(self, net: nn.Module, patch_size: int):
        super().__init__()
        self.net = net
        self.patch_size = patch_size
        self.feature_dim: int = net.num_features

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feature = self.net.forward_head(self.net.forward_features(x), pre_logits=True)
        return self.net.head(feature), feature


@MODELS.register("deit_tiny")
def deit_tiny(*, num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float) -> TimmClassifier:
    _no_width("deit_tiny", width)
    patch = patch_size_for(image_size)
    import timm  # here, not at module top: importing timm takes seconds that ResNet runs shouldn't pay

    net = timm.create_model(
        "deit_tiny_patch16_224",  # dim 192, depth 12, 3 heads; patch size overridden below
        pretrained=False,
        num_classes=num_classes,
        img_size=image_size,
        in_chans=in_channels,
        patch_size=patch,
        drop_path_rate=drop_path,
    )
    return TimmClassifier(net, patch)


@MODELS.register("pit_tiny")
def pit_tiny(*, num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float) -> TimmClassifier:
    _no_width("pit_tiny", width)
    patch = patch_size_for(image_size)
    import timm

    net = timm.create_model(
        "pit_ti_224",  # dims 64/128/256, depths 2/6/4, heads 2/4/8
        pretrained=False,
        num_classes=num_classes,
        img_size=image_size,
        in_chans=in_channels,
        patch_size=patch,
        stride=max(1, patch // 2),
        drop_path_rate=drop_path,
    )
    return TimmClassifier(net, patch)


def _no_width(name: str, width: float) -> None:
    # Scaling a ViT's width would also need new head counts; refuse rather than silently ignore it.
    if width != 1.0:
        raise UserError(f"model {name!r} has a fixed width; width must be 1.0, got {width!r}")
