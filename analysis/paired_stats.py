"""Statistics of paired differences d_i = b_i − a_i (one per pair of runs).

* **mean** of the differences;
* **95 % t-interval**: mean ± t(0.975, n−1) · s / √n, with s the sample std (ddof 1) — Student's
  t with n − 1 degrees of freedom; undefined (NaN) for n = 1;
* **bootstrap interval**: the 2.5 and 97.5 percentiles of the mean over ``boot`` resamples of the
  pairs with replacement, from a generator seeded with ``seed`` (so a rerun prints the same
  numbers); undefined for n = 1;
* **wins**: how many pairs have b > a (a tie is not a win).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

BOOT = 10_000
BOOT_SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Paired:
    n: int
    mean_delta: float
    ci_low: float
    ci_high: float
    boot_low: float
    boot_high: float
    wins: int

    def record(self) -> dict:
        return {"n": self.n, "mean_delta": self.mean_delta, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "boot_low": self.boot_low, "boot_high": self.boot_high, "wins": self.wins}


def t_interval(deltas: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    d = np.asarray(deltas, dtype=float)
    if len(d) < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1)) * float(d.std(ddof=1)) / math.sqrt(len(d))
    return float(d.mean()) - half, float(d.mean()) + half


def bootstrap_interval(deltas: Sequence[float], boot: int = BOOT, seed: int = BOOT_SEED,
                       level: float = LEVEL) -> tuple[float, float]:
    d = np.asarray(deltas, dtype=float)
    if len(d) < 2:
        return math.nan, math.nan
    draws = np.random.default_rng(seed).integers(0, len(d), size=(boot, len(d)))
    means = d[draws].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def paired(deltas: Sequence[float], boot: int = BOOT, seed: int = BOOT_SEED, level: float = LEVEL) -> Paired:
    d = np.asarray(deltas, dtype=float)
    mean = float(d.mean()) if len(d) else math.nan
    return Paired(len(d), mean, *t_interval(d, level), *bootstrap_interval(d, boot, seed, level),
                  int((d > 0).sum()))
