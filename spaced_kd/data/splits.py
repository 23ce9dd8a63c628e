"""Fixed, split_seed-determined hold-outs and subsets (independent of the run seed)."""
from __future__ import annotations

import torch

from .stream import mix_seed

# Separate seed domains so the val hold-out and the subsets are different draws.
_VAL, _TRAIN_SUBSET, _TEST_SUBSET = 0, 1, 2


def stratified_order(labels: torch.Tensor, seed: int) -> torch.Tensor:
    """A random order of range(N) in which every prefix holds the classes in (nearly) their overall
    proportions: sample k of a class of size n gets key (k + 0.5) / n and the order sorts by key."""
    labels = labels.to(torch.int64).cpu()
    n = labels.numel()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    lp = labels[perm]
    counts = torch.bincount(lp)
    by_class = torch.sort(lp, stable=True).indices
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(n, dtype=torch.int64)
    rank[by_class] = torch.arange(n) - starts[lp[by_class]]
    key = (rank.to(torch.float64) + 0.5) / counts[lp].to(torch.float64)
    return perm[torch.sort(key, stable=True).indices]


def hold_out(labels: torch.Tensor, fraction: float, split_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, val indices), both sorted; val is a stratified `fraction` of the samples."""
    n = labels.numel()
    if fraction <= 0:
        return torch.arange(n), torch.arange(0)
    n_val = min(max(1, round(fraction * n)), n - 1)
    order = stratified_order(labels, mix_seed(split_seed, _VAL))
    return order[n_val:].sort().values, order[:n_val].sort().values


def subset(labels: torch.Tensor, n_keep: int | None, split_seed: int, test: bool = False) -> torch.Tensor:
    """Indices (sorted) of the first n_keep samples of a fixed stratified order; all when n_keep is
    None or not smaller than the set."""
    n = labels.numel()
    if n_keep is None or n_keep >= n:
        return torch.arange(n)
    order = stratified_order(labels, mix_seed(split_seed, _TEST_SUBSET if test else _TRAIN_SUBSET))
    return order[:n_keep].sort().values
