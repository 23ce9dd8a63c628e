"""ImageNet-100 / ImageNet-1k as torchvision ImageFolder trees, decoded per step by workers:

    ROOT/train/<class>/*.JPEG      ROOT/val/<class>/*.JPEG

Class indices are train/'s sorted folder names; val/ must use the same folder names.
"""
from __future__ import annotations

from ...errors import UserError
from ..roots import missing, root_of
from ..source import IMAGENET_MEAN, IMAGENET_STD, SOURCES, Folders

HOW = "set dataset.root=PATH to a prepared ImageFolder tree (ImageNet can't be downloaded automatically)"


@SOURCES.register("imagenet100", "imagenet1k")
def imagenet(cfg) -> Folders:
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
    return Folders(train, val, num_classes=len(classes), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                   image_size=cfg.image_size or 224)
