"""`build_data`: a config → a ready dataset (source, hold-out, subsets, stream, augmentation).

The config's own values are checked where every config is (DatasetConfig.check, run by
config.load_config); what is checked here needs the data: label range, subset and batch sizes
against the split sizes, one mean/std value per channel.
"""
from __future__ import annotations

import torch

from ..config import NO_ROTATION
from ..errors import UserError
from .array_samples import ArraySampleData
from .augment import Augment, Normalise
from .autoaugment_cutout import AutoAugmentCutout
from .base import Data
from .folder_data import FolderData
from .folder_transforms import CropFlip
from .source import SOURCES, Arrays, Folders
from .splits import hold_out, subset
from .stream import Stream
from .tensor_data import TensorData
from .timm_augment import TimmTrain

# dataset.augment values built per sample from PIL images: (size, mean, std, dataset config) → transform
PER_SAMPLE = {"timm": TimmTrain, "autoaugment_cutout": AutoAugmentCutout}
IN_MEMORY_ONLY = {"autoaugment_cutout"}  # CIFAR-style crops of the whole image: not for image folders


def _stats(cfg, source: Arrays | Folders, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    mean = tuple(cfg.mean) if cfg.mean is not None else source.mean
    std = tuple(cfg.std) if cfg.std is not None else source.std
    if len(mean) != channels or len(std) != channels:
        raise UserError(f"dataset.mean and dataset.std need {channels} values for {cfg.name}, got {list(mean)} and {list(std)}")
    return mean, std


def _subset_fits(key: str, n_keep: int | None, n: int, what: str) -> None:
    # A subset larger than the split would silently train on less than the config says.
    if n_keep is not None and n_keep > n:
        raise UserError(f"{key}={n_keep} is larger than {what} ({n} samples); lower it or remove it")


def _labels(source: Arrays | Folders) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(source, Arrays):
        return source.train_y.long(), source.test_y.long()
    return (torch.tensor([y for _, y in source.train], dtype=torch.int64),
            torch.tensor([y for _, y in source.test], dtype=torch.int64))


def build_data(cfg, *, batch_size: int, seed: int, device: torch.device) -> Data:
    """`cfg`: a DatasetConfig whose own values are checked (DatasetConfig.check)."""
    rotation = float(cfg.rotation)
    if cfg.augment in PER_SAMPLE and rotation > 0:  # dataset.rotation is refused by check; recipe.rotation lands here
        raise UserError(NO_ROTATION.format(cfg.augment, rotation))
    device = torch.device(device)
    source = SOURCES.get(cfg.name)(cfg)

    train_y, test_y = _labels(source)
    if train_y.numel() == 0 or test_y.numel() == 0:
        raise UserError(f"dataset {cfg.name}: the {'train' if train_y.numel() == 0 else 'test'} split is empty")
    low, top = int(min(train_y.min(), test_y.min())), int(max(train_y.max(), test_y.max()))
    if top >= source.num_classes or low < 0:
        raise UserError(f"dataset {cfg.name}: labels must be in [0, {source.num_classes}), "
                        f"found {low if low < 0 else top}")
    train_idx, val_idx = hold_out(train_y, cfg.val_fraction, cfg.split_seed)
    held = " after the dataset.val_fraction hold-out" if val_idx.numel() else ""
    _subset_fits("dataset.train_subset", cfg.train_subset, train_idx.numel(), f"the training set of {cfg.name}{held}")
    _subset_fits("dataset.test_subset", cfg.test_subset, test_y.numel(), f"the test set of {cfg.name}")
    train_idx = train_idx[subset(train_y[train_idx], cfg.train_subset, cfg.split_seed)]
    test_idx = subset(test_y, cfg.test_subset, cfg.split_seed, test=True)
    parts = {"train": train_idx, "test": test_idx}
    if val_idx.numel():
        parts["val"] = val_idx

    n_train = train_idx.numel()
    if batch_size > n_train:
        raise UserError(f"trainer.batch_size ({batch_size}) is larger than the training set ({n_train} samples)")
    stream = Stream(n_train, batch_size, seed)

    if isinstance(source, Arrays):
        channels = int(source.train_x.shape[1])
        stats = _stats(cfg, source, channels)
        normalise = Normalise(*stats, device)
        if cfg.augment in PER_SAMPLE:
            # Stored at native size and transformed per sample: at 224 px the set would not fit.
            full = {"train": (source.train_x, train_y), "val": (source.train_x, train_y), "test": (source.test_x, test_y)}
            size = cfg.image_size or int(source.train_x.shape[-1])
            splits = {k: (full[k][0][i], full[k][1][i]) for k, i in parts.items()}
            return ArraySampleData(cfg.name, splits, source.num_classes, size, stream,
                                   PER_SAMPLE[cfg.augment](size, *stats, cfg), normalise, cfg.num_workers, device)
        if cfg.image_size:
            source = source.resized(cfg.image_size)
        full = {"train": (source.train_x, train_y), "val": (source.train_x, train_y), "test": (source.test_x, test_y)}
        splits = {k: (full[k][0][i].to(device), full[k][1][i].to(device)) for k, i in parts.items()}
        augment = Augment(cfg.crop_padding, cfg.flip, rotation, cfg.fill, normalise)
        return TensorData(cfg.name, splits, source.num_classes, stream, augment, normalise, device)

    if cfg.augment in IN_MEMORY_ONLY:
        raise UserError(f"dataset.augment={cfg.augment} is the release's CIFAR self-KD pipeline and crops whole "
                        f"small images; {cfg.name} is an image folder: use augment=crop_flip or timm")
    stats = _stats(cfg, source, 3)
    full_lists = {"train": source.train, "val": source.train, "test": source.test}
    samples = {k: [full_lists[k][j] for j in i.tolist()] for k, i in parts.items()}
    transform = PER_SAMPLE[cfg.augment](source.image_size, *stats, cfg) if cfg.augment in PER_SAMPLE \
        else CropFlip(source.image_size, cfg.flip)
    return FolderData(cfg.name, samples, source.num_classes, source.image_size, stream, transform, rotation,
                      cfg.fill, Normalise(*stats, device), cfg.num_workers, device)
