"""CIFAR-100 from the `cifar-100-python` pickles (torchvision's download, our own reader).

The files are read directly rather than through torchvision's CIFAR100 class, whose md5 check
rejects anything but the official archive contents (e.g. the small files the tests write).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from ...errors import UserError
from ..roots import HOW_DOWNLOAD, missing, root_of
from ..source import SOURCES, Arrays

MEAN, STD = (0.507, 0.487, 0.441), (0.267, 0.256, 0.276)
FOLDER = "cifar-100-python"


def _load(path: Path) -> dict:
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="bytes")
    # Python-2 pickles give bytes keys; files re-pickled under Python 3 may give str keys.
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}


def read_split(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    entry = _load(path)
    try:
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry["fine_labels"], dtype=np.int64)
    except KeyError as exc:
        raise UserError(f"dataset cifar100: {path} has no {exc.args[0]!r} entry; is it a CIFAR-100 file?") from None
    # Rows are 3072 bytes: the 1024 red values row-major, then green, then blue.
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


@SOURCES.register("cifar100")
def cifar100(cfg) -> Arrays:
    root = root_of(cfg)
    base = root / FOLDER
    if not (base / "train").is_file() and cfg.download:
        from torchvision.datasets import CIFAR100

        CIFAR100(str(root), train=True, download=True)
    for split in ("train", "test"):
        if not (base / split).is_file():
            raise missing(cfg.name, "CIFAR-100 files", root, base / split, HOW_DOWNLOAD)
    train_x, train_y = read_split(base / "train")
    test_x, test_y = read_split(base / "test")
    num_classes = 100
    if (base / "meta").is_file():
        num_classes = len(_load(base / "meta").get("fine_label_names", range(100)))
    return Arrays(train_x, train_y, test_x, test_y, num_classes=num_classes, mean=MEAN, std=STD)
