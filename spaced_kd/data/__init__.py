"""Datasets as pure functions of (seed, step).

    from spaced_kd.data import build_data
    data = build_data(cfg.dataset, batch_size=128, seed=0, device=torch.device("cuda"))
    x, y = data.train_batch(t)          # the same bytes every time step t is materialised

Sources (`dataset.name`): digits (bundled with scikit-learn, the default), fashion_mnist,
cifar100, tiny_imagenet — held as uint8 tensors on the training device and augmented there —
and imagenet100, imagenet1k — ImageFolder trees decoded by DataLoader workers. Tiny-ImageNet's
JPEGs (and ImageNet's, with dataset.decoded_size) are decoded once into a uint8 cache beside the
data (decode_cache.py).

`dataset.augment=timm` is the release's ViT pipeline, timm's create_transform applied per sample
(timm_augment.py); in-memory sources then stay at their native size on the CPU and go through the
same DataLoader machinery as folders (per_sample.py, array_samples.py). docs/data.md has the rest.

Where files are looked for when `dataset.root` is unset: `$SPACED_KD_DATA/<name>` if that
environment variable is set, else `./data/<name>` (relative to the working directory).
fashion_mnist first tries Debian's /usr/share/datasets/fashion-mnist (apt install
dataset-fashion-mnist). `dataset.download=true` fetches cifar100, fashion_mnist and tiny_imagenet
into the root; ImageNet must be prepared by hand.
"""
from . import sources as _sources  # noqa: F401  (registers the sources)
from .base import Data
from .build import build_data
from .source import SOURCES, Arrays, Folders
from .stream import Stream

__all__ = ["SOURCES", "Arrays", "Data", "Folders", "Stream", "build_data"]
