"""Image files decoded once: a uint8 `.npy` beside the data, memory-mapped by later runs.

    <data folder>/spaced_kd_cache/<split>-<H>px-<digest>.npy      uint8 [N, C, H, W]

The digest is a SHA-256 of what the cache was made from: a format version, the decode recipe,
and every file's path (relative to the data folder) and byte size, in order. A file added,
removed, renamed or replaced by one of another size gives another digest, so the old cache is
not found, and is rebuilt; a cache of the right name is used only if its header holds the
expected shape and dtype and the file is exactly as long as that header says (a truncated or
padded file is rebuilt, never trusted). File times are left out so that a copied data set keeps
its cache. A cache is written to a temporary file, fsynced and renamed into place, so a run
killed while writing leaves no cache rather than half of one.

When the data folder is read-only the cache goes to `$SPACED_KD_CACHE` (else ~/.cache/spaced-kd),
under the data set's name and a hash of the folder's path, with a one-line note.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError

VERSION = 1
FOLDER = "spaced_kd_cache"
ENV_VAR = "SPACED_KD_CACHE"

Decode = Callable[[str], np.ndarray]  # path → uint8 [H, W, C]


def digest(paths: Sequence[str], base: Path, recipe: str) -> str:
    h = hashlib.sha256(f"spaced-kd decode cache v{VERSION}\n{recipe}\n".encode())
    for p in paths:
        try:
            size = os.stat(p).st_size
        except FileNotFoundError:
            raise UserError(f"image {p} does not exist") from None
        h.update(f"{os.path.relpath(p, base)}\t{size}\n".encode())
    return h.hexdigest()


def fallback_dir(name: str, base: Path) -> Path:
    root = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "spaced-kd").expanduser()
    where = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:12]
    return root / name / where


def valid(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The memory-mapped cache at `path`, or None unless it is whole and of `shape`, uint8."""
    try:
        # "c": copy-on-write pages, so torch gets a writable array and the file is never changed
        arr = np.load(path, mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError, EOFError):  # missing, not .npy, or shorter than its header says
        return None
    if not isinstance(arr, np.memmap) or arr.dtype != np.uint8 or arr.shape != shape:
        return None
    if arr.offset + arr.nbytes != os.path.getsize(path):
        return None
    return arr


def _decode_into(out: np.ndarray, paths: Sequence[str], decode: Decode) -> None:
    # PIL releases the GIL while decoding, so threads scale without pickling arrays between processes.
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        for i, arr in enumerate(pool.map(decode, paths)):
            out[i] = arr.transpose(2, 0, 1)


def decode_all(paths: Sequence[str], decode: Decode, shape: tuple[int, ...]) -> torch.Tensor:
    """All images decoded into memory, no cache: uint8 [N, C, H, W]."""
    out = np.empty(shape, dtype=np.uint8)
    _decode_into(out, paths, decode)
    return torch.from_numpy(out)


def _write(path: Path, paths: Sequence[str], decode: Decode, shape: tuple[int, ...], what: str) -> None:
    """Decode into a temporary file beside `path`, then rename it into place.

    OSError from creating the folder or the temporary file propagates (the caller tries the
    fallback); any later failure removes the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    print(f"decoding {shape[0]} {what} images once into {path}", flush=True)  # minutes for Tiny-ImageNet
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        _decode_into(out, paths, decode)
        out.flush()
        del out
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; a data cache is for every user of the data
        os.replace(tmp, path)
    except OSError as exc:  # e.g. the disk filled while writing
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write the decode cache {path} ({type(exc).__name__}: {exc}); "
                        f"free space there or set dataset.cache=false") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.npy"):  # earlier versions of this data
        if old != path:
            old.unlink(missing_ok=True)


def cached(name: str, split: str, paths: Sequence[str], base: Path, decode: Decode, image_shape: tuple[int, int, int],
           recipe: str) -> torch.Tensor:
    """uint8 [N, C, H, W] of `paths` decoded by `decode`: from a valid cache, else decoded and cached.

    `image_shape` is (C, H, W) of every decoded image; `recipe` names the decode (it changes the
    digest). The tensor shares the memory-mapped file's pages.
    """
    shape = (len(paths), *image_shape)
    file = f"{split}-{image_shape[-1]}px-{digest(paths, base, recipe)[:20]}.npy"
    places = [base / FOLDER / file, fallback_dir(name, base) / file]
    for place in places:
        arr = valid(place, shape)
        if arr is not None:
            return torch.from_numpy(arr)
    for i, place in enumerate(places):
        try:
            _write(place, paths, decode, shape, f"{name} {split}")
            break
        except OSError as exc:  # the folder or its temporary file could not be made: read-only, no permission
            if i + 1 == len(places):
                raise UserError(f"cannot write the decode cache of {name} to {places[0].parent} nor "
                                f"{place.parent} ({exc.strerror or exc}); set {ENV_VAR}=DIR or dataset.cache=false") from None
            print(f"note: {base} is not writable ({exc.strerror or exc}); caching decoded {name} images in "
                  f"{places[1].parent} instead (set {ENV_VAR} to choose)", file=sys.stderr, flush=True)
    arr = valid(place, shape)
    if arr is None:  # written and renamed a moment ago: only another process could have broken it
        raise UserError(f"the decode cache {place} was changed while it was being written; run again")
    return torch.from_numpy(arr)
