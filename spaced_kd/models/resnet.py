"""The residual trunk shared by every ResNet here: stem → stages → global average pool → linear.

CIFAR-style throughout: a 3×3 stride-1 stem with no max-pool (the released code's choice, kept for
64- and 224-px inputs too, so a 224-px run is much heavier than torchvision's ResNet). The BYOT
self-KD network reads the stage outputs through `forward_stages`, so a trained self-KD backbone
is also an ordinary classifier.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class DropPath(nn.Module):
    """Stochastic depth on a residual branch, per sample, rescaled so its expectation is unchanged.

    Our own five lines rather than timm's: importing timm costs seconds, and ResNet-only runs
    (the default CPU run) shouldn't pay for it."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class BasicBlock(nn.Module):
    """Two 3×3 convs. `shortcut="pad"` is He et al.'s parameter-free option A (CIFAR ResNet-20
    family: 0.27M params for ResNet-20); "conv" is a 1×1 projection (the CIFAR ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int, drop_path: float = 0.0, shortcut: str = "conv"):
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.shortcut: nn.Module
        if stride == 1 and in_ch == out_ch:
            self.shortcut = nn.Identity()
        elif shortcut == "pad":
            self.shortcut = PadShortcut(out_ch - in_ch, stride)
        else:
            self.shortcut = ConvShortcut(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(self.drop_path(out) + self.shortcut(x))


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided) → 1×1 ×4, projection shortcut where the shape changes."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int, drop_path: float = 0.0, shortcut: str = "conv"):
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.shortcut = nn.Identity() if stride == 1 and in_ch == out_ch else ConvShortcut(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(self.drop_path(out) + self.shortcut(x))


class ConvShortcut(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


class PadShortcut(nn.Module):
    """Subsample by striding and zero-fill the new channels: no parameters."""

    def __init__(self, extra_channels: int, stride: int):
        super().__init__()
        self.extra = extra_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra - half))


def cifar_stem(in_channels: int, channels: int) -> nn.Module:
    """3×3 stride 1, no pooling: the map keeps the input's size."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())


def imagenet_stem(in_channels: int, channels: int) -> nn.Module:
    """7×7 stride 2, then a 3×3 stride-2 max-pool: the map is a quarter of the input's size."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 7, 2, 3, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1))


STEMS = {"cifar": cifar_stem, "imagenet": imagenet_stem}


class ResNet(nn.Module):
    """forward(x) → (logits [B, num_classes], pooled penultimate feature [B, feature_dim])."""

    def __init__(
        self,
        block: Callable[..., nn.Module],
        stem_channels: int,
        planes: Sequence[int],
        blocks: Sequence[int],
        strides: Sequence[int],
        *,
        num_classes: int,
        in_channels: int,
        drop_path: float = 0.0,
        shortcut: str = "conv",
        stem: str = "cifar",
    ):
        super().__init__()
        self.stem = STEMS[stem](in_channels, stem_channels)
        total = sum(blocks)
        # Stochastic depth grows linearly with depth (Huang et al.; timm's rule): the first block never drops.
        rates = [drop_path * i / max(total - 1, 1) for i in range(total)]
        expansion = getattr(block, "expansion", 1)
        stages: list[nn.Module] = []
        self.stage_channels: list[int] = []
        in_ch, idx = stem_channels, 0
        for p, n, s in zip(planes, blocks, strides, strict=True):
            layers = []
            for j in range(n):
                layers.append(block(in_ch, p, s if j == 0 else 1, rates[idx], shortcut=shortcut))
                in_ch, idx = p * expansion, idx + 1
            stages.append(nn.Sequential(*layers))
            self.stage_channels.append(in_ch)
        self.stages = nn.ModuleList(stages)
        self.feature_dim = in_ch
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            # He (fan-out) init suits ReLU nets trained from scratch; it is torchvision's rule. Whether the
            # release's online-KD ResNet keeps PyTorch's default init instead is not recorded in OFFICIAL_CODE.md.
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def head(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feature = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(feature), feature

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.forward_stages(x)[-1])
