"""Cell statistics: a resolved table spec + collected runs → tidy cells (one row per table cell).

Cells are mean ± sample std over the usable runs (completed, not superseded by a rerun) with the
run count n (one run per seed). Settings a table does not vary are held at each row's defaults
(`analysis.select`); the runs that leaves out are reported as warnings. Δ cells are the
difference of the two cell means, ± the std of the per-seed paired differences (n = seeds present
on both sides). A cell with no usable run is kept: its counts say why.

Runs of different recipes (`recipe.name`) are never averaged into one cell: when a table's runs
span several recipes, `split_by_recipe` makes the recipe a row key and says so.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import Spec, defines_rows
from .labels import loss_label, teacher_group
from .paired_cells import PAIRED_COLUMNS, paired_delta
from .pairs import identities
from .select import NUISANCE, describe_left_out, fixed_settings, mask, matches

CELL_COLUMNS = ["column", "mean", "std", "n", "n_failed", "n_unfinished", "n_unreadable", "n_novalue", "kind",
                "seeds"]
FAILED = ("failed", "killed")  # a job that died outright is a failure too
UNFINISHED = ("running", "no_summary")

# tidy keys that stand for a setting, so that setting is never fixed or warned about
KEY_SETTINGS = {"loss_fn": "loss", "feature": "feature_loss", "teacher": "teacher_init", "recipe": "recipe"}


def _live(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["superseded"].astype(bool)] if "superseded" in df.columns else df


def long_frame(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Runs (not superseded) with the table's key columns as labels; probe tables get ``probe.value``."""
    live = _live(df)
    # the dotted config copies are not needed past --where; dropping them makes selection cheap
    live = live[[c for c in live.columns if "." not in c or c.startswith("probe.")]]
    groups = [teacher_group(n, t) if isinstance(t, str) else None
              for n, t in zip(live["network"], live["teacher_label"])]
    base = live.assign(
        dataset=live["dataset_label"],
        network=live["network"],
        teacher=live["teacher_label"],
        loss_fn=live["loss"].map(loss_label, na_action="ignore"),
        feature=live["feature_loss"].map(loss_label, na_action="ignore"),
        method=[m if isinstance(m, str) else (None if kd == "none" else f"{mode} KD (ours)")
                for m, kd, mode in zip(live["method"] if "method" in live.columns else [None] * len(live),
                                       live["kd"], live["kd_mode"].map({"peer": "online", "self": "self"}))],
        group=[spec.group_names.get(g, g) for g in groups],
        _row=np.arange(len(live)),
    )
    if spec.long == "runs":
        return base
    if spec.long == "bim":
        col = "probe.bim_robust_acc"
        return base.assign(**{"probe.value": base[col] if col in base.columns else math.nan})
    parts = []
    prefix = "probe.corruption."
    for col in [c for c in base.columns if c.startswith(prefix)]:
        attack, _, severity = col[len(prefix):].rpartition("@")
        part = base[base[col].notna() | ~base["ok"]].assign(attack=attack, intensity=float(severity))
        parts.append(part.assign(**{"probe.value": part[col]}))
    if not parts:
        return base.iloc[0:0].assign(attack=None, intensity=math.nan, **{"probe.value": math.nan})
    out = pd.concat(parts, ignore_index=True)
    out = out[[c for c in out.columns if not c.startswith(prefix)]]
    keep = spec.intensities or ()
    return out[out["intensity"].map(lambda x: any(math.isclose(x, k) for k in keep))]


def recipes_of(df: pd.DataFrame, spec: Spec) -> list[str]:
    """The recipes of the runs that feed any column of ``spec`` (for a probe table: the runs that
    have the probe's value, so runs never probed do not open rows of their own)."""
    long = long_frame(df, spec)
    if "recipe" not in long.columns:
        return []
    if spec.long != "runs":
        long = long[long["probe.value"].notna()]
    hit = pd.Series(False, index=long.index)
    for col in spec.cols:
        if defines_rows(spec, col):
            hit |= mask(long, {**spec.base, **col.select})
    return sorted({str(r) for r in long.loc[hit, "recipe"].dropna()})


def split_by_recipe(spec: Spec, recipes: list[str]) -> Spec:
    """The spec with ``recipe`` as its outermost row key when its runs span several recipes."""
    if len(recipes) < 2 or "recipe" in spec.keys:
        return spec
    return dataclasses.replace(spec, keys=["recipe"] + spec.keys, index=["recipe"] + spec.index)


def recipe_line(recipes: list[str]) -> str:
    if not recipes:
        return "Recipe: none (no runs)"
    if len(recipes) == 1:
        return f"Recipe: {recipes[0]} (recipe.name of every run in the table)"
    return (f"Recipes: {', '.join(recipes)} — one row per recipe: runs of different recipes are never "
            f"averaged into one cell")


def _stats(values: pd.Series) -> tuple[float, float, int]:
    v = values.dropna().astype(float)
    n = len(v)
    mean = float(v.mean()) if n else math.nan
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    return mean, std, n


def _in_row(frame: pd.DataFrame, where_key: dict[str, Any]) -> pd.Series:
    """Runs of one row; a run with no value for a key (kd=none has no KD method) is in every row."""
    out = pd.Series(True, index=frame.index)
    for key, value in where_key.items():
        out &= frame[key].isna() | frame[key].eq(value)
    return out


def _delta(col, by_label: dict[str, pd.DataFrame], where_key: dict[str, Any]) -> dict[str, Any]:
    a, b = (by_label[c] for c in col.delta)
    mean = float(b["value"].mean() - a["value"].mean()) if len(a) and len(b) else math.nan
    diffs = (b.groupby("seed")["value"].mean() - a.groupby("seed")["value"].mean()).dropna()
    std = float(diffs.std(ddof=1)) if len(diffs) > 1 else math.nan
    return {**where_key, "column": col.label, "mean": mean, "std": std, "n": len(diffs), "n_failed": 0,
            "n_unfinished": 0, "n_unreadable": 0, "n_novalue": 0, "kind": "delta",
            "seeds": ",".join(str(s) for s in diffs.index)}


def compute_cells(df: pd.DataFrame, spec: Spec, metric: str | None = None,
                  pool: bool = False, paired: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Tidy cells of a resolved ``spec`` from the collected frame, plus warnings.

    Within a row, settings that the table does not vary (lr, batch size, epochs, KD loss …) are
    fixed by `analysis.select.fixed_settings`, so a root holding several sweeps still gives the
    main-configuration table; the runs left out are reported in a warning. ``pool=True`` keeps
    every run instead and warns about the cells that mix settings. ``paired=True`` computes the Δ
    cells from paired runs with their intervals (`analysis.paired_cells`).
    """
    metric = metric or spec.metric
    warnings: list[str] = []
    long = long_frame(df, spec)
    idents = identities(_live(df)) if paired else {}
    keys = spec.keys
    skip = set(keys) | {KEY_SETTINGS[k] for k in keys if k in KEY_SETTINGS}
    selected: dict[str, pd.DataFrame] = {}
    universe: list[tuple] = []
    for col in spec.cols:
        if col.delta:
            continue
        sub = long[mask(long, {**spec.base, **col.select})]
        value_col = "probe.value" if spec.long != "runs" else (col.metric(metric) if col.metric else metric)
        sub = sub.assign(value=sub[value_col] if value_col in sub.columns else math.nan)
        selected[col.label] = sub
        if defines_rows(spec, col):
            universe.extend(sub[keys].dropna().drop_duplicates().itertuples(index=False, name=None))
    records = []
    for key in dict.fromkeys(universe):
        where_key = dict(zip(keys, key))
        here_by_col = {label: sub[_in_row(sub, where_key)] for label, sub in selected.items()}
        row_runs = pd.concat(list(here_by_col.values())).drop_duplicates("_row")
        chosen = {} if pool else fixed_settings(row_runs, skip)
        if chosen:
            note = describe_left_out(f"row {'/'.join(map(str, key))}", chosen, row_runs[~matches(row_runs, chosen)])
            if note:
                warnings.append(note)
        by_label: dict[str, pd.DataFrame] = {}
        for col in spec.cols:
            if col.delta and paired:
                record, warning = paired_delta(col, spec, by_label, where_key, idents, f"row {'/'.join(map(str, key))}")
                records.append(record)
                warnings.extend([warning] if warning else [])
                continue
            if col.delta:
                records.append(_delta(col, by_label, where_key))
                continue
            here = here_by_col[col.label]
            if spec.row_metric is not None and spec.long == "runs":
                name = spec.row_metric(where_key, metric)
                here = here.assign(value=here[name] if name in here.columns else math.nan)
            if chosen:
                here = here[matches(here, chosen)]
            ok = here[here["ok"]]
            usable = ok[ok["value"].notna()]
            by_label[col.label] = usable
            mean, std, n = _stats(usable["value"])
            records.append({
                **where_key, "column": col.label, "mean": mean, "std": std, "n": n,
                "n_failed": int(here["status"].isin(FAILED).sum()),
                "n_unfinished": int(here["status"].isin(UNFINISHED).sum()),
                "n_unreadable": int(here["status"].eq("unreadable").sum()),
                "n_novalue": int(len(ok) - len(usable)), "kind": "value",
                "seeds": ",".join(str(s) for s in sorted(usable["seed"].dropna().tolist())),
            })
            for name in NUISANCE:
                if name in skip or name not in usable.columns:
                    continue
                values = usable[name].dropna().unique()
                if len(values) > 1:
                    warnings.append(f"cell {'/'.join(map(str, key))} · {col.label} pools runs with "
                                    f"{name} ∈ {{{', '.join(sorted(map(str, values)))}}}")
    cells = pd.DataFrame(records, columns=keys + CELL_COLUMNS + (PAIRED_COLUMNS if paired else []))
    if spec.long == "corruptions":  # runs without probes.json have no row to be counted in
        live = _live(df)
        want = live[mask(live, {"kd": ["online", "spaced"], "kd_mode": "peer"})]
        lacking = int((~want["has_probes"].astype(bool)).sum()) if "has_probes" in want.columns else len(want)
        if lacking:
            warnings.append(f"{lacking} online/spaced runs have no probes.json and are not in this table")
    return cells, warnings
