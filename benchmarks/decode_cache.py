"""First run vs later runs of a JPEG data set: decode + write the uint8 cache, vs memory-map it.

    python benchmarks/decode_cache.py [--classes 60] [--per-class 50] [--val 600] [--repeats 3]

Writes a Tiny-ImageNet-layout folder of small 64-px JPEGs (smooth random pictures, so they
compress and decode like photographs rather than noise) in a temporary directory, then times, in
this one process, side by side:

  first run   no cache yet: decode every JPEG and write the cache, then one epoch
  later run   the cache exists: memory-map it, then one epoch
  no cache    dataset.cache=false, the behaviour before the cache: decode in memory, then one epoch

"Setup" is build_data (list the files, checksum the list, decode or map, move to the device); the
epoch is every step's augmented batch (batch 128, crop+flip on the CPU), the same work in all
three rows. Each row is the median of --repeats; a first run deletes the cache before it starts.

One buffer of 16 MB is allocated and freed before anything is timed. glibc serves a large
allocation by mmap until a freed mmap chunk raises its threshold; a decode happens to free such
chunks and a cache load does not, which made the epochs after a decode up to 5× faster than the
epochs after a load (fresh pages for every step's 6 MB batch) — an allocator state, not the data.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spaced_kd.config import DatasetConfig  # noqa: E402
from spaced_kd.data import build_data, decode_cache  # noqa: E402


def picture(rng: np.random.Generator) -> Image.Image:
    """A 64-px picture with photo-like statistics: 8×8 random colours upsampled, plus mild noise."""
    coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((64, 64), Image.BICUBIC)
    noisy = np.asarray(coarse, dtype=np.int16) + rng.integers(-12, 13, (64, 64, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def write_tiny_layout(root: Path, classes: int, per_class: int, val: int) -> int:
    rng = np.random.default_rng(0)
    base = root / "tiny-imagenet-200"
    wnids = [f"n{i:08d}" for i in range(classes)]
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for wnid in wnids:
        folder = base / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i in range(per_class):
            picture(rng).save(folder / f"{wnid}_{i}.JPEG", quality=90)
    lines = []
    for j in range(val):
        picture(rng).save(base / "val" / "images" / f"val_{j}.JPEG", quality=90)
        lines.append(f"val_{j}.JPEG\t{wnids[j % classes]}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return classes * per_class + val


def one_run(root: Path, cache: bool) -> tuple[float, float]:
    """(setup seconds, epoch seconds)."""
    cfg = DatasetConfig(name="tiny_imagenet", root=str(root), cache=cache)
    t0 = time.perf_counter()
    data = build_data(cfg, batch_size=128, seed=0, device=torch.device("cpu"))
    t1 = time.perf_counter()
    for t in range(data.steps_per_epoch):
        data.train_batch(t)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=60)
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--val", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)  # the epoch's work on one thread, as a busy machine would give it
    warm = np.ones(16 << 20, np.uint8)  # raise glibc's mmap threshold for every row alike (see above)
    del warm
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n = write_tiny_layout(root, args.classes, args.per_class, args.val)
        cache_dir = root / "tiny-imagenet-200" / decode_cache.FOLDER
        rows: dict[str, list[tuple[float, float]]] = {"first run": [], "later run": [], "no cache": []}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits every row alike
            shutil.rmtree(cache_dir, ignore_errors=True)
            rows["first run"].append(one_run(root, cache=True))
            rows["later run"].append(one_run(root, cache=True))
            rows["no cache"].append(one_run(root, cache=False))
        size = sum(p.stat().st_size for p in cache_dir.glob("*.npy"))
    print(f"\n{n} JPEGs of 64 px ({args.classes} classes × {args.per_class} train + {args.val} val); "
          f"cache {size / 2**20:.1f} MiB; median of {args.repeats}; {torch.get_num_threads()} torch thread")
    print(f"{'':<10} {'setup s':>9} {'epoch s':>9} {'total s':>9}")
    med = {}
    for name, runs in rows.items():
        setup, epoch = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        med[name] = (setup, epoch)
        print(f"{name:<10} {setup:>9.3f} {epoch:>9.3f} {setup + epoch:>9.3f}")
    first, later = med["first run"], med["later run"]
    print(f"first run / later run: setup {first[0] / later[0]:.1f}×, setup + epoch {sum(first) / sum(later):.2f}×")


if __name__ == "__main__":
    main()
