"""CIFAR ResNet-18/34/50/101 (the paper's students and teachers): stages 64/128/256/512 × width at
strides 1/2/2/2 after a 3×3 stride-1 stem; `width` makes the ×2/×4/×8 wide teachers. And the
ResNet-18 of the release's ViT pipeline, with ImageNet's stem."""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .byot import register_with_self_kd
from .registry import MODELS
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


@MODELS.register("resnet18_imagenet")
def resnet18_imagenet(*, num_classes: int, in_channels: int, image_size: int, width: float, drop_path: float) -> ResNet:
    """The ResNet-18 of the release's ViT pipeline (pycls, `vit/configs/resnet/r-18_c100.yaml`):
    ImageNet's 7×7 stride-2 stem and max-pool before the same four stages, pycls's initialisation
    (the classifier drawn from N(0, 0.01), zero bias). At 224 px it costs what torchvision's
    ResNet-18 does, a sixteenth of the CIFAR ResNet-18 at that size."""
    del image_size
    planes = [scaled(c, width) for c in (64, 128, 256, 512)]
    net = ResNet(BasicBlock, planes[0], planes, (2, 2, 2, 2), (1, 2, 2, 2), num_classes=num_classes,
                 in_channels=in_channels, drop_path=drop_path, stem="imagenet")
    nn.init.normal_(net.fc.weight, std=0.01)
    nn.init.zeros_(net.fc.bias)
    return net


@register_with_self_kd("resnet34")
def resnet34(**kw) -> ResNet:
    return _cifar_resnet(BasicBlock, (3, 4, 6, 3), **kw)


@register_with_self_kd("resnet50")
def resnet50(**kw) -> ResNet:
    return _cifar_resnet(Bottleneck, (3, 4, 6, 3), **kw)


@register_with_self_kd("resnet101")
def resnet101(**kw) -> ResNet:
    return _cifar_resnet(Bottleneck, (3, 4, 23, 3), **kw)
