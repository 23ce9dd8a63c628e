"""Small data files in each source's real format, written by the data tests (no downloads), and
the payload of a planted file."""
import gzip
import os
import pickle
import shlex
import struct
from pathlib import Path

import numpy as np
from PIL import Image


class RunsACommand:
    """Unpickled without restriction (pickle.load, torch.load(weights_only=False), np.load with
    allow_pickle=True), this runs `touch MARKER`: pickle calls os.system."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(self.marker)}",)


def write_cifar100(root: Path, n_train=40, n_test=20) -> dict:
    rng = np.random.default_rng(0)
    base = root / "cifar-100-python"
    base.mkdir(parents=True)
    made = {}
    for split, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 5, n)]
        entry = {b"filenames": [b"x.png"] * n, b"data": data, b"fine_labels": labels, b"coarse_labels": [0] * n}
        with open(base / split, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        made[split] = (data, labels)
    with open(base / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [b"c%d" % i for i in range(100)], b"coarse_label_names": []}, f)
    return made


def write_tiny_imagenet(root: Path, wnids=("n02", "n01", "n03"), per_class=4, val_per_class=2) -> Path:
    rng = np.random.default_rng(1)
    base = root / "tiny-imagenet-200"
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for wnid in wnids:
        folder = base / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{wnid}_{i}.JPEG")
    lines = []
    for j in range(val_per_class * len(wnids)):
        wnid = wnids[j % len(wnids)]
        mode = "L" if j == 0 else "RGB"  # Tiny-ImageNet has a few grayscale images
        shape = (64, 64) if mode == "L" else (64, 64, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(base / "val" / "images" / f"val_{j}.JPEG")
        lines.append(f"val_{j}.JPEG\t{wnid}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return base


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    raw = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    raw += array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def write_fashion(folder: Path, gz=True, n_train=30, n_test=10) -> dict:
    rng = np.random.default_rng(2)
    folder.mkdir(parents=True, exist_ok=True)
    made = {"train_x": rng.integers(0, 256, (n_train, 28, 28)), "train_y": rng.integers(0, 10, n_train),
            "test_x": rng.integers(0, 256, (n_test, 28, 28)), "test_y": rng.integers(0, 10, n_test)}
    names = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
             "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
    for key, arr in made.items():
        write_idx(folder / names[key], arr, gz)
    return made


def write_image_folder(root: Path, classes=("b_cls", "a_cls", "c_cls"), per_class=7, val_per_class=3) -> Path:
    rng = np.random.default_rng(3)
    for split, n in (("train", per_class), ("val", val_per_class)):
        for c in classes:
            folder = root / split / c
            folder.mkdir(parents=True)
            for i in range(n):
                h, w = int(rng.integers(18, 30)), int(rng.integers(18, 30))
                Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{c}_{i}.JPEG")
    return root
