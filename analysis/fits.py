"""Fig. 2c: a quadratic fit of accuracy (or gain over online KD) against the space interval.

    y = a·s² + b·s + c,   vertex s* = −b / (2a)   (the best interval when a < 0)

fitted by least squares to the individual runs (not to the means), per (dataset, network) and
pooled over all of them. R² is 1 − SS_res / SS_tot over those runs. The confidence interval of
the vertex is a bootstrap over *seeds*: each replicate draws the seed set with replacement and
keeps every run of the drawn seeds (a seed is one cluster: its runs share data order and
initialisation), then refits.

Points: spaced runs over the whole training (interval s, finite), plus online KD at s = 0 (a
teacher no steps ahead), unless ``include_online=False``. Offline KD (s = ∞) is never fitted.
Each (dataset, network) keeps only its main configuration (`analysis.select.main_runs`), so an
lr or loss sweep in the same root does not leak into the fit.
``y="gain"`` subtracts the mean online-KD accuracy of the same (dataset, network) — computed
inside each bootstrap replicate — so different networks can be pooled.

Runs of different recipes are different experiments: `fit_intervals` fits each recipe on its own
(and pools networks only within a recipe), and every fit names the recipe it fitted. The accuracy is
Tab. 6's rule, the best over epochs (``student_best_acc``); ``--metric student_acc`` fits the last epoch.

    python -m analysis.fits ROOT… [--y gain|acc] [--metric student_best_acc] [--boot 1000]
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import DEFAULT_METRIC
from .collect import usable
from .select import main_runs

GROUP = ["dataset_label", "network"]


@dataclass
class Quadratic:
    a: float
    b: float
    c: float
    r2: float
    n: int

    @property
    def vertex(self) -> float:
        return -self.b / (2 * self.a) if self.a != 0 else math.nan

    @property
    def vertex_y(self) -> float:
        v = self.vertex
        return self.a * v * v + self.b * v + self.c if math.isfinite(v) else math.nan

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        return self.a * x * x + self.b * x + self.c


def quadratic(x, y) -> Quadratic:
    """Least-squares y = a x² + b x + c; needs ≥ 3 distinct x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(np.unique(x)) < 3:
        raise ValueError("a quadratic fit needs at least 3 distinct intervals")
    design = np.column_stack([x * x, x, np.ones_like(x)])
    (a, b, c), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ np.array([a, b, c])
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / ss_tot if ss_tot > 0 else math.nan
    return Quadratic(float(a), float(b), float(c), r2, len(x))


def _raw_points(runs: pd.DataFrame, metric: str, kd_mode: str, pool: bool = False) -> pd.DataFrame:
    """Usable full-period spaced runs and online runs: group, seed, x (interval), acc, _online.

    Each (dataset, network) is held at its main configuration (`analysis.select.main_runs`)
    unless ``pool``, so an lr or loss sweep in the same root does not leak into the fit."""
    runs = usable(runs) if "ok" in runs.columns else runs
    runs = runs[(runs["kd_mode"] == kd_mode) & runs["teacher_same"].astype(bool) & runs[metric].notna()]
    runs = runs[runs["kd"].eq("online") | (runs["kd"].eq("spaced") & runs["full_period"].astype(bool)
                                           & np.isfinite(runs["interval"]))]
    runs, _ = main_runs(runs, GROUP, pool=pool)
    spaced = runs[runs["kd"] == "spaced"]
    online = runs[runs["kd"] == "online"]
    points = pd.concat([spaced.assign(_online=False), online.assign(_online=True)], ignore_index=True)
    points = points.assign(x=points["interval"].astype(float), acc=points[metric].astype(float))
    return points[GROUP + ["seed", "x", "acc", "_online"]]


def _xy(x, acc, online, group, y: str, include_online: bool):
    """Fit coordinates; the gain reference (mean online accuracy per group) comes from the
    same rows, so a bootstrap replicate recomputes it from its own seeds."""
    if y == "gain":
        n = int(group.max()) + 1 if len(group) else 0
        total = np.bincount(group[online], weights=acc[online], minlength=n)
        count = np.bincount(group[online], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            reference = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        values = acc - reference[group] if n else acc * np.nan
    elif y == "acc":
        values = acc
    else:
        raise ValueError(f"y must be 'gain' or 'acc', got {y!r}")
    keep = (~online | include_online) & np.isfinite(values)
    return x[keep], values[keep], keep


def interval_points(df: pd.DataFrame, metric: str = DEFAULT_METRIC, y: str = "gain", kd_mode: str = "peer",
                    include_online: bool = True, pool: bool = False) -> pd.DataFrame:
    """The fit's points: dataset_label, network, seed, x (interval, epochs), y, acc."""
    raw = _raw_points(df, metric, kd_mode, pool)
    group = raw.groupby(GROUP, sort=False).ngroup().to_numpy() if len(raw) else np.zeros(0, int)
    _, values, keep = _xy(raw["x"].to_numpy(), raw["acc"].to_numpy(), raw["_online"].to_numpy(bool),
                          group, y, include_online)
    return raw[keep].assign(y=values)[GROUP + ["seed", "x", "y", "acc"]].reset_index(drop=True)


def fit_one(runs: pd.DataFrame, metric: str = DEFAULT_METRIC, y: str = "gain", kd_mode: str = "peer",
            include_online: bool = True, n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
            pool: bool = False) -> dict:
    """Fit one set of runs (one group, or all pooled) → coefficients, vertex, R², vertex CI."""
    raw = _raw_points(runs, metric, kd_mode, pool)
    x = raw["x"].to_numpy()
    acc = raw["acc"].to_numpy()
    online = raw["_online"].to_numpy(bool)
    group = raw.groupby(GROUP, sort=False).ngroup().to_numpy() if len(raw) else np.zeros(0, int)
    px, py, keep = _xy(x, acc, online, group, y, include_online)
    seeds = raw["seed"].to_numpy()
    out = {"n_points": len(px), "n_seeds": int(pd.Series(seeds[keep]).nunique()),
           "intervals": ",".join(f"{v:g}" for v in sorted(set(px.tolist())))}
    try:
        fit = quadratic(px, py)
    except ValueError as exc:
        return {**out, "a": math.nan, "b": math.nan, "c": math.nan, "vertex": math.nan, "vertex_y": math.nan,
                "r2": math.nan, "concave": False, "vertex_in_range": False, "ci_lo": math.nan,
                "ci_hi": math.nan, "n_boot": 0, "note": str(exc)}
    vertices = []
    unique_seeds = pd.unique(seeds[keep])
    if n_boot and len(unique_seeds) > 1:
        rng = np.random.default_rng(seed)
        rows_of = {s: np.flatnonzero(seeds == s) for s in unique_seeds}
        for _ in range(n_boot):
            idx = np.concatenate([rows_of[s] for s in rng.choice(unique_seeds, size=len(unique_seeds))])
            bx, by, _ = _xy(x[idx], acc[idx], online[idx], group[idx], y, include_online)
            try:
                vertices.append(quadratic(bx, by).vertex)
            except ValueError:
                continue
    tail = (1 - ci) / 2 * 100
    finite = np.array([v for v in vertices if math.isfinite(v)])
    ci_lo, ci_hi = np.percentile(finite, [tail, 100 - tail]) if len(finite) else (math.nan, math.nan)
    lo_x, hi_x = float(px.min()), float(px.max())
    in_range = bool(lo_x <= fit.vertex <= hi_x)
    note = ""
    if fit.a >= 0:
        note = "not concave (a ≥ 0): the curve has no maximum, so no best interval"
    elif not in_range:
        note = "vertex outside the measured intervals (extrapolated)"
    return {**out, "a": fit.a, "b": fit.b, "c": fit.c, "vertex": fit.vertex, "vertex_y": fit.vertex_y,
            "r2": fit.r2, "concave": fit.a < 0, "vertex_in_range": in_range,
            "ci_lo": float(ci_lo), "ci_hi": float(ci_hi), "n_boot": len(finite), "note": note}


def fit_intervals(df: pd.DataFrame, metric: str = DEFAULT_METRIC, y: str = "gain", kd_mode: str = "peer",
                  include_online: bool = True, pooled: bool = True, n_boot: int = 1000, ci: float = 0.95,
                  seed: int = 0, pool_settings: bool = False) -> pd.DataFrame:
    """Per recipe: one fit per (dataset, network) and, if ``pooled``, one over all of them
    (y="gain" only: raw accuracies of different networks do not share a scale). Column ``recipe``
    names the recipe each fit is of; recipes are never pooled."""
    runs = usable(df)
    if "recipe" not in runs.columns:
        runs = runs.assign(recipe=None)
    rows = []
    for recipe, of_recipe in runs.groupby("recipe", sort=True, dropna=False):
        mine = []
        for (dataset, network), group in of_recipe.groupby(GROUP, sort=True):
            res = fit_one(group, metric, y, kd_mode, include_online, n_boot, ci, seed, pool_settings)
            if res["n_points"]:
                mine.append({"recipe": recipe, "dataset": dataset, "network": network, **res})
        if pooled and y == "gain" and len(mine) > 0:
            mine.append({"recipe": recipe, "dataset": "pooled", "network": "pooled",
                         **fit_one(of_recipe, metric, y, kd_mode, include_online, n_boot, ci, seed, pool_settings)})
        rows += mine
    return pd.DataFrame(rows)


def describe(row: pd.Series | dict, y: str = "gain") -> str:
    """One line per fit, for notebooks and the CLI; it names the recipe the fit is of."""
    recipe = row.get("recipe")
    where = (f"[recipe={recipe}] " if isinstance(recipe, str) else "") + f"{row['dataset']} / {row['network']}"
    if not math.isfinite(row["a"]):
        return f"{where}: no fit ({row['note']})"
    what = "gain" if y == "gain" else "acc"
    text = f"{where}: {what} = {row['a']:.3f}·s² {row['b']:+.3f}·s {row['c']:+.3f}; "
    if row["concave"]:
        text += f"best s* = {row['vertex']:.2f} epochs ({what} {row['vertex_y']:.2f})"
        if math.isfinite(row["ci_lo"]):
            text += f", 95% CI [{row['ci_lo']:.2f}, {row['ci_hi']:.2f}]"
    else:
        text += "no best interval"
    text += f"; R² = {row['r2']:.3f}; {row['n_points']} runs, {row['n_seeds']} seeds"
    return text + (f"  ({row['note']})" if row["note"] else "")


def main(argv: list[str] | None = None) -> int:
    from . import cli

    parser = cli.parser("python -m analysis.fits", "Quadratic fit of accuracy vs spaced interval (Fig. 2c).")
    parser.add_argument("--y", choices=["gain", "acc"], default="gain",
                        help="fit the gain over online KD (default, poolable) or the raw accuracy")
    parser.add_argument("--metric", default=DEFAULT_METRIC,
                        help="summary metric to fit (default: Tab. 6's rule, the best accuracy over epochs; "
                             "student_acc: the last epoch)")
    parser.add_argument("--kd-mode", default="peer", choices=["peer", "self"])
    parser.add_argument("--no-online", action="store_true", help="do not use online KD as the s = 0 point")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap replicates over seeds (0: none)")
    parser.add_argument("--pool-settings", action="store_true",
                        help="fit every run even if lr, batch size, loss … differ (default: each network's main "
                             "config); runs of different recipes are never pooled")
    parser.add_argument("--csv", help="also write the fit table to this CSV")

    def body(args) -> int:
        df = cli.load(args)
        if args.metric not in df.columns:
            known = sorted(c for c in df.columns if str(c).endswith("_acc"))
            raise cli.CliError(f"no metric {args.metric!r} in these runs; found: {', '.join(known)}")
        fits = fit_intervals(df, args.metric, args.y, args.kd_mode, not args.no_online, n_boot=args.boot,
                             pool_settings=args.pool_settings)
        if fits.empty:
            raise cli.CliError("no completed spaced/online runs to fit under these roots", cli.EXIT_DATA)
        recipes = sorted({str(r) for r in fits["recipe"]})
        print(f"Recipe{'s' if len(recipes) > 1 else ''} fitted: {', '.join(recipes)}"
              + (" (each on its own; recipes are never pooled)" if len(recipes) > 1 else "")
              + f"; metric: {args.metric}")
        for _, row in fits.iterrows():
            print(describe(row, args.y))
        if args.csv:
            fits.to_csv(args.csv, index=False)
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
