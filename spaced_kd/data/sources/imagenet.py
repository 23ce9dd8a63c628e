"""ImageNet-100 / ImageNet-1k as torchvision ImageFolder trees, decoded per step by workers:

    ROOT/train/<class>/*.JPEG      ROOT/val/<class>/*.JPEG

Class indices are train/'s sorted folder names; val/ must use the same folder names.

By default the JPEGs stay files, decoded every step at full resolution, because the pipelines
need them whole: RandomResizedCrop samples from the full image, and ImageNet-100's train split
held at 224 px would be ~19 GB of uint8 (ImageNet-1k ~190 GB). `dataset.decoded_size=S` trades
that for speed: every image is decoded once to S×S (short side S, centre crop) into a cache under
ROOT/spaced_kd_cache/, and the set trains in memory like CIFAR (S=64: ImageNet-100 is 1.6 GB).
"""
from __future__ import annotations

from functools import partial

import torch

from ...errors import UserError
from ..decode_cache import cached, decode_all
from ..folder_transforms import centre_square
from ..roots import missing, root_of
from ..source import IMAGENET_MEAN, IMAGENET_STD, SOURCES, Arrays, Folders

HOW = "set dataset.root=PATH to a prepared ImageFolder tree (ImageNet can't be downloaded automatically)"


def _decoded(cfg, root, split: str, samples: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    size = cfg.decoded_size
    paths = [p for p, _ in samples]
    decode = partial(centre_square, size=size)
    if cfg.cache:
        x = cached(cfg.name, split, paths, root, decode, (3, size, size), f"imagenet: centre square, bilinear to {size}")
    else:
        x = decode_all(paths, decode, (len(paths), 3, size, size))
    return x, torch.tensor([y for _, y in samples], dtype=torch.int64)


@SOURCES.register("imagenet100", "imagenet1k")
def imagenet(cfg) -> Folders | Arrays:
    root = root_of(cfg)
    train_dir, val_dir = root / "train", root / "val"
    for d in (train_dir, val_dir):
        if not d.is_dir():
            raise missing(cfg.name, "ImageFolder tree", root, f"{d}/<class>/*.JPEG", HOW)
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset  # slow import

    try:
        classes, class_to_idx = find_classes(str(train_dir))
        train = make_dataset(str(train_dir), class_to_idx, extensions=IMG_EXTENSIONS)
        val = make_dataset(str(val_dir), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
    except FileNotFoundError as exc:
        # torchvision's messages span lines; keep the first, which names the folder or class.
        raise UserError(f"dataset {cfg.name}: {str(exc).splitlines()[0]} ({HOW})") from None
    if not val:
        raise missing(cfg.name, "validation images", root, f"{val_dir}/<class>/*.JPEG with train's class names", HOW)
    if cfg.decoded_size:
        (train_x, train_y), (val_x, val_y) = _decoded(cfg, root, "train", train), _decoded(cfg, root, "val", val)
        return Arrays(train_x, train_y, val_x, val_y, num_classes=len(classes), mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return Folders(train, val, num_classes=len(classes), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                   image_size=cfg.image_size or 224)
