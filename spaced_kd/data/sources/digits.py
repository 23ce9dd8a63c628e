"""scikit-learn's bundled 8×8 digits: the embedded default (no files, no download)."""
from __future__ import annotations

import torch

from ..source import SOURCES, Arrays

# Statistics of all 1797 images after the ×16 scaling below (fixed, so subsets don't shift them).
MEAN, STD = (0.3061,), (0.3769,)


@SOURCES.register("digits")
def digits(cfg) -> Arrays:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    # Values are 0..16; ×16 spreads them over uint8 (16·16 = 256 clamps to 255).
    x = torch.from_numpy(bunch.images).mul(16).clamp(0, 255).to(torch.uint8).unsqueeze(1)
    y = torch.from_numpy(bunch.target).to(torch.int64)
    train, test = train_test_split(torch.arange(len(y)).numpy(), test_size=0.2,
                                   random_state=cfg.split_seed, stratify=y.numpy())
    train, test = torch.from_numpy(train).sort().values, torch.from_numpy(test).sort().values
    return Arrays(x[train], y[train], x[test], y[test], num_classes=10, mean=MEAN, std=STD)
