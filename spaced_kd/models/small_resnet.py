"""He et al.'s CIFAR ResNet-(6n+2), 16/32/64 × width, for CPU runs: ResNet-8/14/20 = n 1/2/3.

Option-A (zero-padding) shortcuts as in the paper, so the counts match its table (ResNet-20 0.27M).
Three stages, so its BYOT network has two shallow heads.
"""
from __future__ import annotations

from .byot import register_with_self_kd
from .resnet import BasicBlock, ResNet, scaled


def _small_resnet(
    n: int, *, num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float
) -> ResNet:
    del image_size  # global average pooling makes the trunk size-agnostic
    planes = [scaled(c, width) for c in (16, 32, 64)]
    return ResNet(
        BasicBlock, planes[0], planes, (n, n, n), (1, 2, 2),
        num_classes=num_classes, in_channels=in_channels, drop_path=drop_path, shortcut="pad",
    )


@register_with_self_kd("resnet8")
def resnet8(**kw) -> ResNet:
    return _small_resnet(1, **kw)


@register_with_self_kd("resnet14")
def resnet14(**kw) -> ResNet:
    return _small_resnet(2, **kw)


@register_with_self_kd("resnet20")
def resnet20(**kw) -> ResNet:
    return _small_resnet(3, **kw)
