"""CIFAR-100 from the `cifar-100-python` pickles (torchvision's download, our own reader).

The files are read directly rather than through torchvision's CIFAR100 class, whose md5 check
rejects anything but the official archive contents (e.g. the small files the tests write), and
through a restricted unpickler (spaced_kd/data/safe_pickle.py): they are pickles, and a plain
pickle.load would run whatever a planted file asks for.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import UserError
from .. import safe_pickle
from ..roots import HOW_DOWNLOAD, missing, root_of
from ..source import SOURCES, Arrays

MEAN, STD = (0.507, 0.487, 0.441), (0.267, 0.256, 0.276)
FOLDER = "cifar-100-python"
IMAGE_BYTES = 3 * 32 * 32


def _load(path: Path) -> dict:
    entry = safe_pickle.load(path, "dataset cifar100")
    if not isinstance(entry, dict):
        raise _wrong(path, f"it holds a {type(entry).__name__}, not a dict")
    # Python-2 pickles give bytes keys; files re-pickled under Python 3 may give str keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _wrong(path: Path, what: str) -> UserError:
    return UserError(f"dataset cifar100: {path} is not a CIFAR-100 file ({what})")


def read_split(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    entry = _load(path)
    for key in ("data", "fine_labels"):
        if key not in entry:
            raise _wrong(path, f"no {key!r} entry")
    try:
        data = np.asarray(entry["data"])
        labels = np.asarray(entry["fine_labels"])
    except (TypeError, ValueError) as exc:
        raise _wrong(path, str(exc).splitlines()[0]) from None
    # Checked, not cast: a silent cast would wrap 300 to 44 or truncate 2.5 to 2.
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        raise _wrong(path, f"'data' is {data.dtype} {list(data.shape)}, expected uint8 [N, {IMAGE_BYTES}]")
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise _wrong(path, f"'fine_labels' is {labels.dtype} {list(labels.shape)}, expected {data.shape[0]} integers")
    # Rows are 3072 bytes: the 1024 red values row-major, then green, then blue.
    return (torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()),
            torch.from_numpy(labels.astype(np.int64)))


def num_classes(path: Path) -> int:
    names = _load(path).get("fine_label_names")
    if not isinstance(names, (list, tuple)) or not names:
        raise _wrong(path, "'fine_label_names' is not a list of names")
    return len(names)


@SOURCES.register("cifar100")
def cifar100(cfg) -> Arrays:
    root = root_of(cfg)
    base = root / FOLDER
    if not (base / "train").is_file() and cfg.download:
        # The archive only (md5-checked): constructing torchvision's CIFAR100 would unpickle the
        # files with pickle.load.
        from torchvision.datasets import CIFAR100
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(CIFAR100.url, str(root), filename=CIFAR100.filename, md5=CIFAR100.tgz_md5)
    for split in ("train", "test"):
        if not (base / split).is_file():
            raise missing(cfg.name, "CIFAR-100 files", root, base / split, HOW_DOWNLOAD)
    train_x, train_y = read_split(base / "train")
    test_x, test_y = read_split(base / "test")
    classes = num_classes(base / "meta") if (base / "meta").is_file() else 100
    return Arrays(train_x, train_y, test_x, test_y, num_classes=classes, mean=MEAN, std=STD)
