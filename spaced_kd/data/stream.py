"""The data stream: global step t → (sample indices, augmentation seed), a pure function of (seed, t).

Replay, exact resume and shared teacher trajectories all rest on this: a batch is never stored,
only re-materialised from its step number.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch

_MASK64 = (1 << 64) - 1
# Domain tags keep permutation seeds and augmentation seeds from ever coinciding.
_PERMUTATION, _AUGMENTATION = 0, 1


def mix_seed(*words: int) -> int:
    """A stable 63-bit seed from integers (SeedSequence hashing: no correlation between neighbours)."""
    state = np.random.SeedSequence([int(w) & _MASK64 for w in words]).generate_state(1, np.uint64)
    return int(state[0]) >> 1  # 63 bits: a valid torch seed and a valid int64 everywhere


class Stream:
    """Epoch e = t // steps_per_epoch shuffles by a permutation seeded from (seed, e); step t takes
    its slice. The last batch of an epoch may be short (no drop_last, as the paper's code)."""

    _CACHE = 2  # epochs kept: a replay may step back over an epoch boundary

    def __init__(self, n: int, batch_size: int, seed: int):
        if n <= 0 or batch_size <= 0:
            raise ValueError(f"Stream needs n > 0 and batch_size > 0, got n={n}, batch_size={batch_size}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        self._perms: OrderedDict[int, torch.Tensor] = OrderedDict()

    def epoch_of(self, t: int) -> int:
        return self._check(t) // self.steps_per_epoch

    def permutation(self, epoch: int) -> torch.Tensor:
        perm = self._perms.get(epoch)
        if perm is None:
            gen = torch.Generator().manual_seed(mix_seed(self.seed, _PERMUTATION, epoch))
            # int32 halves the cache (two Tiny-ImageNet epochs: 0.8 MB, not 1.6 MB); n < 2**31 always
            perm = torch.randperm(self.n, generator=gen).to(torch.int32)
            self._perms[epoch] = perm
            while len(self._perms) > self._CACHE:
                self._perms.popitem(last=False)
        else:
            self._perms.move_to_end(epoch)
        return perm

    def indices(self, t: int) -> torch.Tensor:
        """Sample indices of step t (CPU int64); a copy, so callers can't corrupt the cache."""
        epoch, i = divmod(self._check(t), self.steps_per_epoch)
        return self.permutation(epoch)[i * self.batch_size : (i + 1) * self.batch_size].long()

    def aug_seed(self, t: int) -> int:
        return mix_seed(self.seed, _AUGMENTATION, self._check(t))

    def generator(self, t: int) -> torch.Generator:
        """A CPU generator for step t's random augmentation parameters (CPU, so any device agrees)."""
        return torch.Generator().manual_seed(self.aug_seed(t))

    @staticmethod
    def _check(t: int) -> int:
        t = int(t)
        if t < 0:
            raise ValueError(f"step must be >= 0, got {t}")
        return t

    def __repr__(self) -> str:
        return f"Stream(n={self.n}, batch_size={self.batch_size}, seed={self.seed})"
