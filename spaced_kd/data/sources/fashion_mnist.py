"""Fashion-MNIST from its raw IDX files (gzipped or not).

Looks in Debian's `dataset-fashion-mnist` location first when dataset.root is unset, then the
default root; under a root it accepts the files directly or torchvision's FashionMNIST/raw layout.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ...errors import UserError
from ..roots import HOW_DOWNLOAD, default_root, missing
from ..source import SOURCES, Arrays

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
MEAN, STD = (0.2860,), (0.3530,)  # of the 60k training images


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _complete(directory: Path) -> dict[str, Path] | None:
    found = {key: _find(directory, stem) for key, stem in FILES.items()}
    return found if all(found.values()) else None  # type: ignore[return-value]


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The IDX format: 2 zero bytes, a type code (0x08 = uint8), the number of dims, big-endian
    int32 sizes, then the data. `ndim`: 3 for an image file, 1 for a label file."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, a cut gzip stream, a bad checksum
        raise UserError(f"dataset fashion_mnist: cannot read {path} ({type(exc).__name__}: {exc})") from None
    if len(raw) < 4 + 4 * ndim or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != ndim:
        raise UserError(f"dataset fashion_mnist: {path} is not a uint8 IDX file of {ndim} dimension(s)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise UserError(f"dataset fashion_mnist: {path} is truncated ({data.size} bytes for shape {shape})")
    return data.reshape(shape)


@SOURCES.register("fashion_mnist")
def fashion_mnist(cfg) -> Arrays:
    if cfg.root:
        root = Path(cfg.root).expanduser()
        places = [root, root / "FashionMNIST" / "raw"]
    else:
        root = default_root(cfg.name)
        places = [DEBIAN_DIR, root, root / "FashionMNIST" / "raw"]
    files = next((f for f in map(_complete, places) if f), None)
    if files is None and cfg.download:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
        files = _complete(root / "FashionMNIST" / "raw")
    if files is None:
        where = " or ".join(str(p) for p in places)
        raise missing(cfg.name, "Fashion-MNIST IDX files", where,
                      f"{FILES['train_x']}[.gz] and the 3 other IDX files",
                      f"apt install dataset-fashion-mnist, or {HOW_DOWNLOAD}")
    arr = {key: torch.from_numpy(read_idx(path, 3 if key.endswith("_x") else 1).copy())
           for key, path in files.items()}
    for split in ("train", "test"):
        if arr[f"{split}_x"].shape[0] != arr[f"{split}_y"].shape[0]:
            raise UserError(f"dataset fashion_mnist: {files[split + '_x']} holds {arr[split + '_x'].shape[0]} images "
                            f"but {files[split + '_y']} {arr[split + '_y'].shape[0]} labels")
    return Arrays(arr["train_x"].unsqueeze(1), arr["train_y"].long(), arr["test_x"].unsqueeze(1),
                  arr["test_y"].long(), num_classes=10, mean=MEAN, std=STD)
