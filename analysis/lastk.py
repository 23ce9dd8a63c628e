"""A metric robust to epoch-to-epoch swings: the mean test accuracy of the last k epochs.

At a constant learning rate the test accuracy of a small network can swing by several points from
one epoch to the next, so the last epoch's accuracy (``student_acc``) is a noisy sample and the
best epoch's (``student_best_acc``) is biased upwards. ``<role>_lastk_acc`` averages the last k
epochs instead:

* a role's curve is its test accuracy per epoch from metrics.jsonl; when an epoch was evaluated
  more than once (a final evaluation after a cut-short last block) the later evaluation counts;
* ``<role>_lastk_acc`` is the mean of the last k epochs of that curve (the last k evaluated
  epochs when ``trainer.eval_every`` > 1), or NaN when the run has fewer than k — a table then
  counts it "without value" rather than averaging a shorter window into it.

k defaults to `DEFAULT_K` = 5: enough epochs to average out swings of the preview's size (a
6-point swing in one epoch moves a 5-epoch mean by 1.2), few enough to sit on the plateau of a
run trained to one (see `analysis.plateau`).
"""
from __future__ import annotations

import math

import pandas as pd

from .collect import read_metrics

DEFAULT_K = 5
SUFFIX = "_lastk_acc"


def is_lastk(metric: str | None) -> bool:
    return bool(metric) and str(metric).endswith(SUFFIX)


def epoch_curve(records: pd.DataFrame, role: str, split: str = "test") -> pd.Series:
    """Accuracy per epoch (index: epoch) of one role on one split; the later evaluation of an epoch wins."""
    if records.empty:
        return pd.Series(dtype=float)
    rows = records[(records["role"] == role) & (records["split"] == split)]
    rows = rows.sort_values(["epoch", "step"], kind="stable").drop_duplicates("epoch", keep="last")
    return pd.Series(rows["acc"].astype(float).to_numpy(), index=rows["epoch"].to_numpy(), name=role)


def lastk(curve: pd.Series, k: int = DEFAULT_K) -> float:
    """Mean of the last ``k`` values of a per-epoch curve; NaN with fewer than k epochs."""
    values = curve.dropna()
    return float(values.iloc[-k:].mean()) if len(values) >= k else math.nan


def add_lastk(df: pd.DataFrame, k: int = DEFAULT_K) -> pd.DataFrame:
    """``df`` with a ``<role>_lastk_acc`` column for every role logged on the test split."""
    if k < 1:
        raise ValueError(f"--last-k {k}: k must be at least 1")
    rows = []
    for run_dir in df["run_dir"]:
        records = read_metrics(run_dir)
        roles = records.loc[records["split"] == "test", "role"].dropna().unique() if not records.empty else []
        rows.append({f"{role}{SUFFIX}": lastk(epoch_curve(records, role), k) for role in roles})
    extra = pd.DataFrame(rows, index=df.index)
    return df.drop(columns=[c for c in extra.columns if c in df.columns]).join(extra)


def describe(metric: str, k: int) -> str:
    return f"{metric} = mean test accuracy of the last {k} epochs (--last-k {k}), from metrics.jsonl"
