"""The files the corruption probe reads: frost textures and the published CIFAR-100-C arrays.

Frost textures: the six images shipped inside the `imagecorruptions` package (PyPI,
imagecorruptions/frost/frost1.png … frost6.jpg; the package's own code is never imported — its
1.1.2 release calls scikit-image with the removed `multichannel` argument), or any folder of
images given as `corruptions.frost_dir`. They are opened through spaced_kd.data.images (raster
formats only, a bad file is one line naming it).

CIFAR-100-C: `<name>.npy` and `labels.npy`, read with allow_pickle=False, so an object array in
a planted file is refused instead of unpickled.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from ..data.images import open_image
from ..errors import UserError

REFERENCE_SIZE = 32  # the image size the CIFAR-C constants were calibrated for
FROST_SCALE = 0.2  # textures are shrunk by this at 32 px before a random 32×32 crop
TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
STACKED = 5  # the published `<name>.npy` stacks severities 1..5, N images each


# ---- frost textures


def texture_files(frost_dir: Optional[str] = None) -> list[Path]:
    if frost_dir is not None:
        folder = Path(frost_dir)
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in TEXTURE_SUFFIXES) if folder.is_dir() else []
        if not files:
            raise UserError(f"corruptions.frost_dir={frost_dir}: no .png/.jpg frost textures there")
        return files
    from importlib import metadata

    try:
        files = sorted(Path(str(f.locate())) for f in (metadata.files("imagecorruptions") or [])
                       if "/frost/" in f"/{f}" and f.suffix.lower() in TEXTURE_SUFFIXES)
    except metadata.PackageNotFoundError:
        files = []
    files = [f for f in files if f.exists()]
    if not files:
        raise UserError("frost needs its textures: pip install imagecorruptions (they ship with it), "
                        "or set corruptions.frost_dir=FOLDER_OF_IMAGES")
    return files


@lru_cache(maxsize=8)
def _textures(files: tuple[Path, ...], height: int, width: int, channels: int) -> tuple[torch.Tensor, ...]:
    out = []
    for path in files:
        img = open_image(path, "RGB")  # drops alpha, as the generator's cv2.imread did
        if channels == 1:
            img = img.convert("L")
        w, h = img.size
        f = max(FROST_SCALE * height / REFERENCE_SIZE, height / h, width / w)  # never smaller than the image
        img = img.resize((max(width, round(w * f)), max(height, round(h * f))), Image.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255
        t = torch.from_numpy(arr.copy())
        out.append(t[None] if t.dim() == 2 else t.permute(2, 0, 1).contiguous())
    return tuple(out)


def frost_textures(frost_dir: Optional[str], height: int, width: int, channels: int) -> tuple[torch.Tensor, ...]:
    """The textures as float [C, h, w] in [0, 1], scaled for this image size."""
    return _textures(tuple(texture_files(frost_dir)), height, width, channels)


def texture_source(frost_dir: Optional[str]) -> str:
    if frost_dir is not None:
        return str(frost_dir)
    from importlib import metadata

    return f"imagecorruptions {metadata.version('imagecorruptions')} (package data imagecorruptions/frost/)"


# ---- the official CIFAR-100-C files


NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def _load_array(path: Path, npy_dir: str) -> np.ndarray:
    where = f"corruptions.npy_dir={npy_dir}"
    if not path.exists():
        raise UserError(f"{where}: {path.name} is missing")
    with open(path, "rb") as f:
        magic = f.read(len(NPY_MAGIC))
    # Told by the magic bytes first: for anything else np.load assumes a pickle and suggests
    # loading it with allow_pickle=True, which is the one thing not to do with a planted file.
    if magic.startswith(ZIP_MAGIC):
        raise UserError(f"{where}: {path} is a zip (.npz) archive, not an .npy array")
    if magic != NPY_MAGIC:
        raise UserError(f"{where}: {path} is not an .npy file")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Python objects" in str(exc):  # numpy's two words for an object array
            raise UserError(f"{where}: {path} holds Python objects, not numbers; refused (nothing in it was run)") from None
        raise UserError(f"{where}: cannot read {path} ({str(exc).strip().splitlines()[0]})") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{where}: cannot read {path} ({str(exc).strip().splitlines()[0]})") from None
    return array


def read_npy(npy_dir: str, name: str, severity: int, limit: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [N, C, H, W] and labels [N] of one severity from the published layout:
    `<name>.npy` holds severities 1..5 stacked (N each, [5N, H, W, C] or [5N, H, W]) and
    `labels.npy` the 5N labels."""
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= STACKED:
        raise UserError(f"corruption severity must be an integer in 1..{STACKED}, got {severity!r}")
    folder = Path(npy_dir)
    images = _load_array(folder / f"{name}.npy", npy_dir)
    labels = _load_array(folder / "labels.npy", npy_dir).reshape(-1)
    total = int(labels.shape[0])
    if total % STACKED or images.shape[0] != total or images.ndim not in (3, 4):
        raise UserError(f"corruptions.npy_dir={npy_dir}: {name}.npy has shape {list(images.shape)} and "
                        f"labels.npy {total} labels; expected [5·N, H, W, C] images and 5·N labels")
    if images.dtype != np.uint8:
        raise UserError(f"corruptions.npy_dir={npy_dir}: {name}.npy holds {images.dtype}, expected uint8 images")
    if not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"corruptions.npy_dir={npy_dir}: labels.npy holds {labels.dtype}, expected integer labels")
    n = total // STACKED
    idx = np.arange((severity - 1) * n, severity * n)
    if limit is not None and limit < n:
        idx = idx[np.linspace(0, n - 1, limit).round().astype(np.int64)]
    x = torch.from_numpy(np.ascontiguousarray(images[idx]))
    x = x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2)
    return x.contiguous(), torch.from_numpy(np.asarray(labels[idx], dtype=np.int64))
