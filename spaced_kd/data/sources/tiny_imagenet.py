"""Tiny-ImageNet-200 from the official layout, decoded once into a uint8 cache beside it.

    tiny-imagenet-200/wnids.txt
    tiny-imagenet-200/train/<wnid>/images/*.JPEG
    tiny-imagenet-200/val/images/*.JPEG  +  val/val_annotations.txt  (file, wnid, box)

The val set is the test set, as in the paper. Class indices follow sorted wnids, as torchvision's
ImageFolder over train/ (what the released code uses) numbers them. The first run decodes the
JPEGs into tiny-imagenet-200/spaced_kd_cache/ (spaced_kd/data/decode_cache.py); later runs
memory-map it. dataset.cache=false decodes in memory every run instead.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...errors import UserError
from ..decode_cache import cached, decode_all
from ..images import open_image
from ..roots import HOW_DOWNLOAD, missing, root_of
from ..source import IMAGENET_MEAN, IMAGENET_STD, SOURCES, Arrays

FOLDER = "tiny-imagenet-200"
URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
SIZE = 64
RECIPE = f"tiny_imagenet: open_image RGB, bilinear resize to {SIZE}x{SIZE} where not already"  # part of the cache key


def _decode(path: str) -> np.ndarray:
    img = open_image(path, "RGB")  # a few Tiny-ImageNet images are grayscale
    if img.size != (SIZE, SIZE):
        img = img.resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"dataset tiny_imagenet: cannot read {path} as text ({type(exc).__name__})") from None


def _images(cfg, base: Path, split: str, paths: list[str]) -> torch.Tensor:
    if not cfg.cache:
        return decode_all(paths, _decode, (len(paths), 3, SIZE, SIZE))
    return cached(cfg.name, split, paths, base, _decode, (3, SIZE, SIZE), RECIPE)


def _plain(name: str, where: Path) -> str:
    # Names from the text files become path parts: "../x" or "/x" would read outside the dataset.
    if name in (".", "..") or "/" in name or "\\" in name:
        raise UserError(f"dataset tiny_imagenet: {where} names {name!r}, which is not a plain file or folder name")
    return name


def _train_files(base: Path, wnids: list[str]) -> tuple[list[str], list[int]]:
    paths, labels = [], []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpeg", ".jpg", ".png"))) \
            if folder.is_dir() else []
        if not files:
            raise UserError(f"dataset tiny_imagenet: no images in {folder} (wnid {wnid} is listed in wnids.txt)")
        paths += [str(folder / f) for f in files]
        labels += [label] * len(files)
    return paths, labels


def _val_files(base: Path, index: dict[str, int]) -> tuple[list[str], list[int]]:
    paths, labels = [], []
    for n, line in enumerate(_lines(base / "val" / "val_annotations.txt"), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or parts[1] not in index:
            raise UserError(f"dataset tiny_imagenet: val_annotations.txt line {n} names no class of wnids.txt: {line.strip()!r}")
        paths.append(str(base / "val" / "images" / _plain(parts[0], base / "val" / "val_annotations.txt")))
        labels.append(index[parts[1]])
    return paths, labels


@SOURCES.register("tiny_imagenet")
def tiny_imagenet(cfg) -> Arrays:
    root = root_of(cfg)
    base = root / FOLDER
    needed = [base / "wnids.txt", base / "val" / "val_annotations.txt"]
    if not all(p.is_file() for p in needed) and cfg.download:
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(URL, str(root))
    for path in needed:
        if not path.is_file():
            raise missing(cfg.name, "Tiny-ImageNet files", root, path, f"unzip {URL} there, or {HOW_DOWNLOAD}")
    wnids = sorted({_plain(w, base / "wnids.txt") for line in _lines(base / "wnids.txt") for w in line.split()})
    index = {w: i for i, w in enumerate(wnids)}
    train_paths, train_labels = _train_files(base, wnids)
    val_paths, val_labels = _val_files(base, index)
    # a bad image: UserError naming it (and no cache is written)
    train_x, test_x = _images(cfg, base, "train", train_paths), _images(cfg, base, "val", val_paths)
    return Arrays(train_x, torch.tensor(train_labels), test_x, torch.tensor(val_labels),
                  num_classes=len(wnids), mean=IMAGENET_MEAN, std=IMAGENET_STD)
