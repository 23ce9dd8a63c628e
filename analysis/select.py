"""Choosing runs: filters on collected columns, and the "main configuration" rule.

A sweep root often holds several grids at once (the interval sweep, a learning-rate sweep, a
loss sweep …). A table cell or a plotted point must not average a run at lr 0.05 with one at
lr 0.01, so every consumer fixes the settings it does not vary:

* **settings** (`NUISANCE`): lr, batch size, epochs, optimiser, scheduler, KD loss and its
  weights, recipe, train subset, interval unit, teacher init and target mode;
* per row (dataset × network, …) each setting is fixed at the value used by the runs that did
  *not* override it on the command line (the config default), or — if every run overrode it —
  at the commonest value; settings are fixed one after another so the combination exists;
* a run with no value for a setting (kd=none has no KD loss) fits any value;
* what was left out is reported, never dropped silently; ``--where`` chooses explicitly and
  ``--pool-settings`` (``pool=True``) averages everything else instead — but never runs of
  different recipes (`NEVER_POOLED`): a recipe is a different experiment, not noise.

``--where`` keys must be collected columns: an unknown key is refused (`check_where`) instead of
quietly matching nothing.
"""
from __future__ import annotations

from typing import Any, Sequence

import difflib

import numpy as np
import pandas as pd
import yaml

NUISANCE = [
    "lr", "batch_size", "epochs", "optim", "scheduler", "loss", "logit_loss", "feature_loss",
    "temperature", "alpha", "beta", "recipe", "train_subset", "interval_unit", "teacher_init",
    "teacher_target_mode",
]

# Settings that even pool=True holds fixed per group (averaging them would mix experiments).
NEVER_POOLED = ("recipe",)

# Override keys that set each setting (config groups by name, other keys by dotted path; every one
# exists in spaced_kd.config.Config, which a test checks); a run that overrides none of them uses
# the default. The `loss` group sets the logit term; `recipe=official` also sets the feature term.
SETTING_KEYS = {
    "lr": ("optim.lr", "optim"), "batch_size": ("trainer.batch_size",), "epochs": ("trainer.epochs",),
    "optim": ("optim", "optim.name"), "scheduler": ("optim.scheduler", "optim"),
    "loss": ("loss", "loss.logit"), "logit_loss": ("loss.logit", "loss"),
    "feature_loss": ("loss.feature", "loss", "recipe"),
    "temperature": ("loss.temperature", "loss"), "alpha": ("loss.alpha", "loss"), "beta": ("loss.beta", "loss"),
    "recipe": ("recipe", "recipe.name"), "train_subset": ("dataset.train_subset",),
    "interval_unit": ("interval_unit",), "teacher_init": ("teacher.init", "recipe"),
    "teacher_target_mode": ("teacher.target_mode",),
}


def mask(df: pd.DataFrame, select: dict[str, Any]) -> pd.Series:
    """Rows where every ``column: value`` (or ``column: [values]``) holds; numbers compare as floats."""
    out = pd.Series(True, index=df.index)
    for key, want in select.items():
        if key not in df.columns:
            return pd.Series(False, index=df.index)
        col = df[key]
        wants = want if isinstance(want, (list, tuple, set)) else [want]
        hit = pd.Series(False, index=df.index)
        for w in wants:
            if w is None:
                hit |= col.isna()
            elif isinstance(w, (bool, str)):
                hit |= col.eq(w).fillna(False).astype(bool)
            else:  # numbers: tolerant of 1.5 vs 1.4999999 and of int vs float columns
                num = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
                hit |= pd.Series(np.isclose(num, float(w), rtol=0, atol=1e-9) | (num == float(w)), index=df.index)
        out &= hit
    return out


def parse_where(items: Sequence[str] | None) -> dict[str, Any]:
    """``["lr=0.01", "kd=online,spaced"]`` → {"lr": [0.01], "kd": ["online", "spaced"]}."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--where wants KEY=VALUE[,VALUE…], got {item!r}")
        key, _, raw = item.partition("=")
        out[key.strip()] = [yaml.safe_load(v) for v in raw.split(",")]
    return out


def check_where(df: pd.DataFrame, where: dict[str, Any] | None) -> None:
    """ValueError (one line) for a ``--where`` key that is not a column, naming the likely ones."""
    for key in where or {}:
        if key in df.columns:
            continue
        names = [str(c) for c in df.columns]
        near = difflib.get_close_matches(key, names, n=6, cutoff=0.6)
        if not near:  # no look-alike: offer the short columns (dotted config keys are also allowed)
            near = sorted(c for c in names if "." not in c)
        raise ValueError(f"--where {key}: no such column; it could be one of: {', '.join(near)}")


def fixed_settings(runs: pd.DataFrame, skip: set[str] | frozenset[str] = frozenset(),
                   names: Sequence[str] = tuple(NUISANCE)) -> dict[str, Any]:
    """The settings one row is fixed at (see the module docstring); ``skip`` are varied on purpose."""
    chosen: dict[str, Any] = {}
    if runs.empty:
        return chosen
    pool = runs[runs["ok"]] if "ok" in runs.columns and runs["ok"].any() else runs
    overridden = pool["overridden"].fillna("").str.split() if "overridden" in pool.columns else None
    for name in names:
        if name in skip or name not in pool.columns:
            continue
        values = pool[name].dropna()
        if values.nunique() < 2:
            continue
        if overridden is not None:
            keys = set(SETTING_KEYS.get(name, ()))
            default = overridden.loc[values.index].map(lambda ks, keys=keys: not keys.intersection(ks))
        else:
            default = pd.Series(False, index=values.index)
        score = pd.DataFrame({"v": values, "d": default.astype(int)}).groupby("v")["d"].agg(["sum", "count"])
        best = score[score["sum"] == score["sum"].max()]
        best = best[best["count"] == best["count"].max()]
        value = sorted(best.index, key=lambda v: (str(type(v)), v))[0]
        chosen[name] = value
        pool = pool[pool[name].isna() | pool[name].eq(value)]
        overridden = overridden.loc[pool.index] if overridden is not None else None
    return chosen


def matches(frame: pd.DataFrame, chosen: dict[str, Any]) -> pd.Series:
    """Runs at the chosen settings (a run without a value fits any)."""
    out = pd.Series(True, index=frame.index)
    for name, value in chosen.items():
        out &= frame[name].isna() | frame[name].eq(value)
    return out


def describe_left_out(row: str, chosen: dict[str, Any], left_out: pd.DataFrame) -> str | None:
    """One warning line for the runs a row left out, or None."""
    if left_out.empty:
        return None
    other = {n: sorted({str(x) for x in left_out[n].dropna().unique()} - {str(chosen[n])}) for n in chosen}
    other = {n: v for n, v in other.items() if v}
    return (f"{row}: fixed {', '.join(f'{n}={v}' for n, v in chosen.items())} (the row's default settings); "
            f"left out {len(left_out)} runs with " + "; ".join(f"{n} ∈ {{{', '.join(v)}}}" for n, v in other.items())
            + " — choose with --where, or pool them with --pool-settings")


def main_runs(df: pd.DataFrame, by: Sequence[str] = ("dataset_label", "network"), skip: Sequence[str] = (),
              pool: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Runs at each group's main configuration (fixed settings), plus what was left out.

    ``pool=True`` fixes only `NEVER_POOLED` (the recipe)."""
    if df.empty:
        return df, []
    names = NEVER_POOLED if pool else tuple(NUISANCE)
    keep = []
    notes = []
    for key, group in df.groupby(list(by), sort=False, dropna=False):
        chosen = fixed_settings(group, set(skip), names)
        inside = matches(group, chosen)
        keep.append(group[inside])
        note = describe_left_out("/".join(map(str, key if isinstance(key, tuple) else (key,))), chosen, group[~inside])
        if note:
            notes.append(note)
    return pd.concat(keep).sort_index(), notes
