"""CIFAR ResNet-18/34/50/101 (the paper's students and teachers): stages 64/128/256/512 × width at
strides 1/2/2/2 after a 3×3 stride-1 stem; `width` makes the ×2/×4/×8 wide teachers."""
from __future__ import annotations

from collections.abc import Sequence

from .byot import register_with_self_kd
from .resnet import BasicBlock, Bottleneck, ResNet, scaled


def _cifar_resnet(
    block: type, blocks: Sequence[int], *,
    num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float,
) -> ResNet:
    del image_size  # global average pooling makes the trunk size-agnostic
    planes = [scaled(c, width) for c in (64, 128, 256, 512)]
    return ResNet(
        block, planes[0], planes, blocks, (1, 2, 2, 2),
        num_classes=num_classes, in_channels=in_channels, drop_path=drop_path,
    )


@register_with_self_kd("resnet18")
def resnet18(**kw) -> ResNet:
    return _cifar_resnet(BasicBlock, (2, 2, 2, 2), **kw)


@register_with_self_kd("resnet34")
def resnet34(**kw) -> ResNet:
    return _cifar_resnet(BasicBlock, (3, 4, 6, 3), **kw)


@register_with_self_kd("resnet50")
def resnet50(**kw) -> ResNet:
    return _cifar_resnet(Bottleneck, (3, 4, 6, 3), **kw)


@register_with_self_kd("resnet101")
def resnet101(**kw) -> ResNet:
    return _cifar_resnet(Bottleneck, (3, 4, 23, 3), **kw)
