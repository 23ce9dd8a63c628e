"""BYOT self distillation for any `ResNet` (Zhang et al. 2019, as in the released self-KD code).

Every stage but the last feeds a shallow classifier: attention gate → SepConv blocks that halve the
map and step the channels up to the last stage's width → average pool → its own Linear. The gate
multiplies only the branch into its head; the trunk carries on ungated (so the deepest head is the
plain ResNet). Heads are returned deepest first: index 0 is the backbone's own fc.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .registry import MODELS, SELF_MODELS
from .resnet import ResNet


class SepConv(nn.Sequential):
    """Depthwise 3×3 (stride) → 1×1 → BN → ReLU → depthwise 3×3 → 1×1 → BN → ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 2):
        super().__init__(
            nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, in_ch, 1, bias=False),
            nn.BatchNorm2d(in_ch),
            nn.ReLU(),
            nn.Conv2d(in_ch, in_ch, 3, 1, 1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
        )


class AttentionGate(nn.Module):
    """x · sigmoid(up(relu(bn(sepconv(x))))).

    The release upsamples ×2; resizing to x's own size is the same map for even sizes and also
    works for the odd ones (7×7 maps of 28-px inputs, 1×1 maps of 8-px inputs)."""

    def __init__(self, channels: int):
        super().__init__()
        self.sep = SepConv(channels, channels)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        a = F.relu(self.bn(self.sep(x)))
        a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(a)


class ShallowHead(nn.Module):
    """SepConvs up to the deepest width, pool, classify; `adapt` maps the feature for the feature loss."""

    def __init__(self, channels: list[int], num_classes: int):
        super().__init__()
        self.gate = AttentionGate(channels[0])
        self.convs = nn.Sequential(*(SepConv(a, b) for a, b in zip(channels[:-1], channels[1:])))
        # Adaptive pooling stands in for the release's AvgPool2d(4): identical at 32 px, any size elsewhere.
        self.fc = nn.Linear(channels[-1], num_classes)
        # Trained with the network; the classifier sees the unadapted feature, as in the release.
        self.adapt = nn.Linear(channels[-1], channels[-1])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feature = torch.flatten(F.adaptive_avg_pool2d(self.convs(self.gate(x)), 1), 1)
        return self.fc(feature), self.adapt(feature)


class ByotResNet(nn.Module):
    """forward(x) → ([logits deepest … shallowest], [features deepest … shallowest])."""

    def __init__(self, backbone: ResNet, num_classes: int):
        super().__init__()
        self.backbone = backbone
        ch = backbone.stage_channels
        self.heads = nn.ModuleList(ShallowHead(ch[k:], num_classes) for k in range(len(ch) - 1))
        self.num_heads = len(ch)
        self.feature_dim = backbone.feature_dim

    def forward(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        stages = self.backbone.forward_stages(x)
        logits, feature = self.backbone.head(stages[-1])
        all_logits, all_features = [logits], [feature]
        for k in reversed(range(len(self.heads))):
            logits, feature = self.heads[k](stages[k])
            all_logits.append(logits)
            all_features.append(feature)
        return all_logits, all_features


def register_with_self_kd(name: str) -> Callable[[Callable[..., ResNet]], Callable[..., ResNet]]:
    """Register a ResNet builder under `name` in MODELS and its BYOT network in SELF_MODELS."""

    def deco(builder: Callable[..., ResNet]) -> Callable[..., ResNet]:
        MODELS.register(name)(builder)

        def self_builder(**kw) -> ByotResNet:
            return ByotResNet(builder(**kw), kw["num_classes"])

        self_builder.__name__ = f"byot_{name}"
        SELF_MODELS.register(name)(self_builder)
        return builder

    return deco
