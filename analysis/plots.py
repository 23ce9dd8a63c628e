"""The paper's figures from collected runs, as PNG + PDF (matplotlib, Agg backend).

    fig_interval_curves   Fig. 2b  accuracy vs space interval per network (online = 0, offline = max)
    fig_interval_fit      Fig. 2c  gain over online KD vs interval, pooled, with the quadratic fit
    fig_critical_period   Fig. 3   accuracy vs the epoch spacing starts: (a) fixed window, (b) till the end
    fig_imagenet_curves   Fig. 5   student test accuracy per epoch on ImageNet-1K (ResNet-18), online vs spaced
    fig_lr_batch          Fig. 6   accuracy vs learning rate (a) and batch size (b), online vs spaced
    fig_flatness          Fig. 4   train loss / accuracy under Gaussian weight noise (probes.json)
    fig_training_curves   per run  test accuracy and loss per epoch, teacher vs student, replays marked

Every figure is readable on its own: axis labels with units, a legend, and ±1 std bands over
seeds (n in the legend). ``python -m analysis.plots ROOT… --out DIR`` writes them all.
"""
from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from spaced_kd import rundir  # noqa: E402

from .catalogue import DEFAULT_METRIC  # noqa: E402  (the tables' rule: the best accuracy over epochs)
from .collect import collect, read_metrics, usable  # noqa: E402
from .fits import fit_one, interval_points  # noqa: E402
from .select import main_runs  # noqa: E402
from .labels import DATASET_ORDER, NETWORK_ORDER, interval_label, order_key  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ACC_LABEL = "test accuracy (%)"


def _networks(values) -> list[str]:
    return sorted(set(values), key=lambda v: order_key(v, NETWORK_ORDER))


def _datasets(values) -> list[str]:
    return sorted(set(values), key=lambda v: order_key(v, DATASET_ORDER))


def _colors(names: list[str]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_axis_off()  # not set_yticks([]): that would also strip a shared-y neighbour


def _legend_below(ax) -> None:
    """Legends under the axes never hide data, however the curves fall."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False, ncol=1)


def save(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` into out_dir; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return paths


def _band(ax, groups, color, label, marker="o", linestyle="-"):
    """Mean line over the group keys (x) with a ±1 std band; n in the legend."""
    stats = groups.agg(["mean", "std", "count"])
    xs = np.asarray(stats.index, dtype=float)
    mean = stats["mean"].to_numpy()
    std = np.nan_to_num(stats["std"].to_numpy())
    n = int(stats["count"].max()) if len(stats) else 0
    (line,) = ax.plot(xs, mean, marker=marker, linestyle=linestyle, color=color,
                      label=f"{label} (n={n})" if n > 1 else label)
    if n > 1:
        ax.fill_between(xs, mean - std, mean + std, color=line.get_color(), alpha=0.18, linewidth=0)
    return stats


# ---------------------------------------------------------------- Fig. 2b


def fig_interval_curves(df: pd.DataFrame, metric: str = DEFAULT_METRIC, kd_mode: str = "peer"):
    """Accuracy against space interval, one panel per dataset, one line per network."""
    runs = usable(df)
    runs = runs[(runs["kd_mode"] == kd_mode) & runs["teacher_same"].astype(bool) & runs["full_period"].astype(bool)
                & runs[metric].notna()]
    runs, _ = main_runs(runs)
    curve = runs[runs["kd"].isin(["online", "spaced"])]
    datasets = _datasets(curve["dataset_label"]) or ["(no runs)"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 4.0), squeeze=False)
        for ax, dataset in zip(axes[0], datasets):
            here = runs[runs["dataset_label"] == dataset]
            sub = curve[curve["dataset_label"] == dataset]
            if sub.empty:
                _empty(ax, "no online / spaced runs")
                continue
            finite = sorted(sub["interval"].unique())
            step = np.median(np.diff(finite)) if len(finite) > 1 else 0.5
            x_max = finite[-1] + step  # where offline KD ("max") is drawn
            nets = _networks(here["network"])
            colors = _colors(nets)
            has_offline = has_none = False
            for net in nets:
                net_runs = here[here["network"] == net]
                line = net_runs[net_runs["kd"].isin(["online", "spaced"])]
                if not line.empty:
                    _band(ax, line.groupby("interval")[metric], colors[net], net)
                offline = net_runs[net_runs["kd"] == "offline"][metric]
                if len(offline):
                    has_offline = True
                    ax.errorbar([x_max], [offline.mean()], yerr=[offline.std() if len(offline) > 1 else 0],
                                fmt="s", color=colors[net], capsize=3, markersize=6)
                base = net_runs[net_runs["kd"] == "none"][metric]
                if len(base):
                    has_none = True
                    ax.axhline(base.mean(), color=colors[net], linestyle=":", linewidth=1.2)
            ticks = list(finite) + ([x_max] if has_offline else [])
            ax.set_xticks(ticks, [("0\n(online)" if t == 0 else interval_label(t)) for t in finite]
                          + (["max\n(offline)"] if has_offline else []))
            ax.set_xlabel("space interval s (epochs)")
            ax.set_ylabel(ACC_LABEL)
            ax.set_title(f"{dataset}: accuracy vs interval")
            handles, labels = ax.get_legend_handles_labels()
            if has_none:
                handles.append(plt.Line2D([], [], color="0.3", linestyle=":"))
                labels.append("w/o KD (same colour)")
            if has_offline:
                handles.append(plt.Line2D([], [], color="0.3", marker="s", linestyle="none"))
                labels.append("offline KD")
            ax.legend(handles, labels, loc="best", frameon=False)
        fig.suptitle(f"Fig. 2b — {metric}, mean ± std over seeds", fontsize=10, color="0.3")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Fig. 2c


def fig_interval_fit(df: pd.DataFrame, metric: str = DEFAULT_METRIC, kd_mode: str = "peer", n_boot: int = 500):
    """Gain over online KD against interval for every run, pooled, with the quadratic fit."""
    points = interval_points(df, metric, "gain", kd_mode)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        if len(points["x"].unique()) < 3:
            _empty(ax, "need runs at ≥ 3 intervals (online counts as s = 0) to fit a quadratic")
            return fig
        groups = points.assign(label=points["network"] + " / " + points["dataset_label"])
        labels = sorted(groups["label"].unique(), key=lambda v: order_key(v.split(" / ")[0], NETWORK_ORDER))
        colors = _colors(labels)
        span = points["x"].max() - points["x"].min()
        rng = np.random.default_rng(0)
        for label in labels:
            sub = groups[groups["label"] == label]
            jitter = rng.uniform(-0.015, 0.015, len(sub)) * span  # keeps coincident seeds visible
            ax.scatter(sub["x"] + jitter, sub["y"], s=16, alpha=0.6, color=colors[label], label=label)
        fit = fit_one(df, metric, "gain", kd_mode, n_boot=n_boot)
        xs = np.linspace(points["x"].min(), points["x"].max(), 200)
        curve = fit["a"] * xs**2 + fit["b"] * xs + fit["c"]
        ax.plot(xs, curve, color="black", linewidth=2,
                label=f"quadratic fit: {fit['a']:.2f}s² {fit['b']:+.2f}s {fit['c']:+.2f} (R² = {fit['r2']:.2f})")
        if fit["concave"]:
            label = f"best s* = {fit['vertex']:.2f} epochs"
            if math.isfinite(fit["ci_lo"]):
                ax.axvspan(fit["ci_lo"], fit["ci_hi"], color="tab:red", alpha=0.12,
                           label=f"95% CI over seeds [{fit['ci_lo']:.2f}, {fit['ci_hi']:.2f}]")
            ax.axvline(fit["vertex"], color="tab:red", linestyle="--", label=label)
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_xlabel("space interval s (epochs; 0 = online KD)")
        ax.set_ylabel("gain over online KD (percentage points)")
        ax.set_title("Fig. 2c — all networks pooled, quadratic fit")
        ax.legend(loc="best", frameon=False)
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Fig. 3


def fig_critical_period(df: pd.DataFrame, metric: str = DEFAULT_METRIC, kd_mode: str = "peer"):
    """(a) spaced KD only inside [start, start + L); (b) spaced KD from start till the end.

    A line is drawn for each (network, dataset, interval s) that has runs restricted to a window;
    in (b) the run spaced over the whole training is its start-0 point. Dashed: online KD
    throughout; dotted: spaced KD throughout (same s)."""
    runs = usable(df)
    runs = runs[(runs["kd_mode"] == kd_mode) & runs["teacher_same"].astype(bool) & runs[metric].notna()
                & runs["kd"].isin(["online", "spaced"])]
    runs, _ = main_runs(runs)
    spaced = runs[runs["kd"] == "spaced"]
    partial = spaced[~spaced["full_period"].astype(bool)]
    lines = partial[["network", "dataset_label", "interval"]].drop_duplicates()
    combos = _networks((lines["network"] + " / " + lines["dataset_label"]).unique())
    colors = _colors(combos)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        titles = ["(a) spaced KD inside a fixed window, online elsewhere",
                  "(b) spaced KD from the start epoch till the end"]
        for ax, title in zip(axes, titles):
            ax.set_title(title)
            ax.set_xlabel("epoch at which spaced KD starts")
        drawn = [False, False]
        for net, dataset, s in lines.itertuples(index=False, name=None):
            combo = f"{net} / {dataset}"
            same = spaced[(spaced["network"] == net) & (spaced["dataset_label"] == dataset)
                          & np.isclose(spaced["interval"], s)]
            windowed = same[np.isfinite(same["end_epoch"])]
            till_end = same[np.isinf(same["end_epoch"])]  # includes the whole-training run (start 0)
            online = runs[(runs["kd"] == "online") & (runs["network"] == net) & (runs["dataset_label"] == dataset)]
            whole = same[same["full_period"].astype(bool)]
            for i, (ax, sub) in enumerate([(axes[0], windowed), (axes[1], till_end)]):
                if sub.empty:
                    continue
                lengths = (sub["end_epoch"] - sub["start_epoch"]).round(6)
                for length, piece in sub.groupby(lengths):
                    extra = f", {length:g}-epoch window" if math.isfinite(length) else ""
                    _band(ax, piece.groupby("start_epoch")[metric], colors[combo],
                          f"{combo}: s = {interval_label(s)}{extra}")
                if len(online):
                    ax.axhline(online[metric].mean(), color=colors[combo], linestyle="--", linewidth=1,
                               label=f"{combo}: online KD throughout")
                if len(whole):
                    ax.axhline(whole[metric].mean(), color=colors[combo], linestyle=":", linewidth=1.2,
                               label=f"{combo}: spaced KD throughout (s = {interval_label(s)})")
                drawn[i] = True
        for ax, done in zip(axes, drawn):
            if done:
                _legend_below(ax)
            else:
                _empty(ax, "no runs for this variant (set spaced.start_epoch / spaced.end_epoch)")
        axes[0].set_ylabel(ACC_LABEL)
        fig.suptitle(f"Fig. 3 — critical period of spaced KD ({metric}, mean ± std over seeds)",
                     fontsize=10, color="0.3")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Fig. 6


def fig_lr_batch(df: pd.DataFrame, metric: str = DEFAULT_METRIC, kd_mode: str = "peer"):
    """(a) accuracy vs learning rate, (b) vs batch size; every other setting at its default."""
    runs = usable(df)
    runs = runs[(runs["kd_mode"] == kd_mode) & runs["teacher_same"].astype(bool) & runs["full_period"].astype(bool)
                & runs["kd"].isin(["online", "spaced"]) & runs[metric].notna()]
    runs = runs.assign(batch_size=runs["batch_size"].astype(float))
    by_lr, _ = main_runs(runs, skip=["lr"])  # everything but lr at its default
    by_bs, _ = main_runs(runs, skip=["batch_size"])
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        bs_used = ", ".join(f"{v:g}" for v in sorted(by_lr["batch_size"].dropna().unique()))
        lr_used = ", ".join(f"{v:g}" for v in sorted(by_bs["lr"].dropna().unique()))
        panels = [
            (axes[0], by_lr, "lr", "learning rate (log scale)", f"(a) learning rate (batch size {bs_used})"),
            (axes[1], by_bs, "batch_size", "batch size (log₂ scale)", f"(b) batch size (learning rate {lr_used})"),
        ]
        for ax, sub, xcol, xlabel, title in panels:
            ax.set_title(title)
            if sub.empty:
                _empty(ax, "no runs")
                continue
            combos = sub.assign(label=sub["network"] + " / " + sub["dataset_label"])
            swept = combos.groupby(["label", "kd", "interval"])[xcol].transform("nunique") > 1
            if not swept.any():  # nothing was run at two values of this setting
                _empty(ax, f"no runs at two or more {'learning rates' if xcol == 'lr' else 'batch sizes'}")
                continue
            for (label, kd, s), part in combos[swept].groupby(["label", "kd", "interval"]):
                kind = "online KD" if kd == "online" else f"spaced KD s={interval_label(s)}"
                style = "--" if kd == "online" else "-"
                _band(ax, part.groupby(xcol)[metric], None, f"{label}: {kind}",
                      linestyle=style, marker="o" if kd == "online" else "^")
            ax.set_xscale("log", base=10 if xcol == "lr" else 2)
            ticks = sorted(sub[xcol].unique())
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel(xlabel)
            _legend_below(ax)
        axes[0].set_ylabel(ACC_LABEL)
        fig.suptitle(f"Fig. 6 — learning rate and batch size ({metric}, mean ± std over seeds)",
                     fontsize=10, color="0.3")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Fig. 4


def flatness_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, σ) from probes.json flatness curves of usable runs."""
    runs = usable(df)
    runs = runs[runs["has_probes"].astype(bool)] if "has_probes" in runs.columns else runs.iloc[0:0]
    rows = []
    for rec in runs.to_dict("records"):
        flat = (rundir.read_probes(Path(rec["run_dir"])) or {}).get("flatness") or {}
        sigmas = flat.get("sigmas") or []
        for i, sigma in enumerate(sigmas):
            rows.append({
                "network": rec["network"], "dataset_label": rec["dataset_label"], "kd": rec["kd"],
                "interval": rec["interval"], "seed": rec["seed"], "sigma": float(sigma),
                "relative": bool(flat.get("relative", False)),
                **{k: float(flat[k][i]) for k in ("loss_mean", "loss_std", "acc_mean", "acc_std")
                   if isinstance(flat.get(k), list) and len(flat[k]) > i},
            })
    return pd.DataFrame(rows)


def fig_flatness(df: pd.DataFrame):
    """Train loss and accuracy as Gaussian noise of std σ is added to the weights (Fig. 4)."""
    data = flatness_frame(df)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        if data.empty:
            for ax in axes:
                _empty(ax, "no probes.json with a flatness curve yet")
            return fig
        data = data.assign(label=data["network"] + " / " + data["dataset_label"])
        colors = _colors(_networks(data["label"]))
        for ax, col, ylabel in [(axes[0], "loss_mean", "train loss under weight noise"),
                                (axes[1], "acc_mean", "train accuracy under weight noise (%)")]:
            for (label, kd, s), part in data.groupby(["label", "kd", "interval"], dropna=False):
                kind = {"online": "w/o (online KD)", "none": "w/o KD", "offline": "offline KD"}.get(
                    kd, f"w/{interval_label(s)} ({kd} KD)")
                seeds = part["seed"].nunique()
                stats = part.groupby("sigma")[col].agg(["mean", "std"])
                # band: spread over seeds; with one seed, the probe's own std over noise draws
                spread = stats["std"] if seeds > 1 else part.groupby("sigma")[col.replace("mean", "std")].mean()
                xs = stats.index.to_numpy(float)
                style = "--" if kd == "online" else "-"
                ax.plot(xs, stats["mean"], style, marker="o", markersize=3, color=colors[label],
                        label=f"{label}: {kind}, n={seeds}")
                ax.fill_between(xs, stats["mean"] - np.nan_to_num(spread), stats["mean"] + np.nan_to_num(spread),
                                color=colors[label], alpha=0.15, linewidth=0)
            ax.set_xlabel("noise level σ (std relative to each weight tensor's RMS)" if data["relative"].all()
                          else "std σ of Gaussian noise added to the weights")
            ax.set_ylabel(ylabel)
            _legend_below(ax)
        axes[0].set_title("(a) loss rises less on a flatter minimum")
        axes[1].set_title("(b) accuracy under the same perturbation")
        fig.suptitle("Fig. 4 — flatness of the minimum (mean ± std)", fontsize=10, color="0.3")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- training curves


def replay_epochs(summary_row: dict) -> list[float]:
    """Epochs (in the student's time) at which a spaced block ends and the student replays it."""
    if summary_row.get("kd") != "spaced":
        return []
    epochs = float(summary_row.get("epochs") or 0)
    steps, per_epoch = summary_row.get("interval_steps"), summary_row.get("steps_per_epoch")
    if steps is not None and per_epoch is not None and not pd.isna(steps) and not pd.isna(per_epoch) and per_epoch:
        s = float(steps) / float(per_epoch)
    else:
        s = float(summary_row.get("interval_raw") or 0)
    if not s or not epochs:
        return []
    start = summary_row.get("start_epoch")
    start = 0.0 if start is None or pd.isna(start) else float(start)
    end = summary_row.get("end_epoch")
    end = epochs if end is None or pd.isna(end) or math.isinf(end) else min(float(end), epochs)
    points = list(np.arange(start + s, end + 1e-9, s))
    if not points or points[-1] < end - 1e-9:
        points.append(end)  # the block cut short by the window's end is still replayed
    return [float(p) for p in points]


def fig_training_curves(run_dir: str | os.PathLike, row: dict | None = None):
    """Test accuracy and loss per epoch for every role of one run, with replay points marked."""
    records = read_metrics(run_dir)
    if row is None:
        frame = collect([run_dir])
        row = frame.iloc[0].to_dict() if len(frame) else {}
    test = records[records["split"] == "test"] if not records.empty else records
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), sharex=True)  # the same epochs side by side
        title = (f"{row.get('network', '?')} / {row.get('dataset_label', '?')} — kd={row.get('kd')}"
                 f" ({row.get('kd_mode')}), s={row.get('interval_raw')}, seed {row.get('seed')}, {row.get('status')}")
        if test.empty:
            for ax in axes:
                _empty(ax, "no test evaluations in metrics.jsonl")
            fig.suptitle(title, fontsize=10)
            return fig
        roles = sorted(test["role"].unique(), key=lambda r: (r not in ("teacher", "student"), r))
        styles = {"teacher": ("tab:gray", "--"), "student": ("tab:blue", "-"), "ensemble": ("black", "-")}
        heads = [r for r in roles if str(r).startswith("head")]
        cmap = plt.get_cmap("viridis")
        for i, head in enumerate(sorted(heads, key=lambda h: int(h[4:]) if h[4:].isdigit() else 0)):
            styles[head] = (cmap(0.15 + 0.7 * i / max(1, len(heads) - 1)), "-")
        for ax, col, ylabel in [(axes[0], "acc", ACC_LABEL), (axes[1], "loss", "test loss (cross-entropy)")]:
            for role in roles:
                part = test[test["role"] == role].sort_values("epoch")
                color, style = styles.get(role, (None, "-"))
                ax.plot(part["epoch"], part[col], style, marker="o", markersize=3, color=color, label=str(role))
            ax.set_xlabel("epoch (completed by that network)")
            ax.set_ylabel(ylabel)
        replays = replay_epochs(row)
        if replays:
            ymin, ymax = axes[0].get_ylim()
            axes[0].plot(replays, [ymax] * len(replays), linestyle="none", marker="v", color="tab:red",
                         markersize=6, clip_on=False, label="student replays a block (teacher frozen)")
            start, end = row.get("start_epoch"), row.get("end_epoch")
            if not row.get("full_period", True) and start is not None and not pd.isna(start):
                stop = row.get("epochs") if end is None or pd.isna(end) or math.isinf(end) else end
                axes[0].axvspan(start, stop, color="tab:red", alpha=0.08, label="spaced window (online elsewhere)")
        for ax in axes:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False, ncol=4)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Fig. 5


def fig_imagenet_curves(df: pd.DataFrame, dataset: str = "imagenet1k", model: str = "resnet18"):
    """Fig. 5: the student's test accuracy per epoch on ImageNet-1K (ResNet-18), online vs spaced
    KD, mean ± std over seeds (each run's metrics.jsonl; sweeps/fig5.yaml trains them)."""
    live = df[~df["superseded"]] if "superseded" in df.columns else df
    runs = live[(live["dataset"] == dataset) & (live["model"] == model) & live["kd"].isin(["online", "spaced"])] \
        if len(live) else live
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        if runs.empty:
            _empty(ax, f"no online or spaced runs of {model} on {dataset}")
            return fig
        for kd, color in (("online", "tab:gray"), ("spaced", "tab:blue")):
            part = runs[runs["kd"] == kd]
            if part.empty:
                continue
            curves = []
            for run_dir in part["run_dir"]:
                m = read_metrics(run_dir)
                if m.empty:
                    continue
                m = m[(m["split"] == "test") & (m["role"] == "student")]
                curves.append(m[["epoch", "acc"]])
            if curves:
                frame = pd.concat(curves)
                label = "online KD" if kd == "online" else "spaced KD (ours)"
                _band(ax, frame.groupby("epoch")["acc"], color, label, marker=None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ACC_LABEL)
        ax.set_title(f"Fig. 5 — {model} on {dataset}, student test accuracy (mean ± std over seeds)")
        _legend_below(ax)
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- everything


def plot_all(df: pd.DataFrame, out_dir: str | os.PathLike, metric: str = DEFAULT_METRIC,
             curves: int = 3, n_boot: int = 500) -> dict[str, list[Path]]:
    """Every figure into out_dir (PNG + PDF); ``curves`` training-curve figures (one per kd first)."""
    out: dict[str, list[Path]] = {}
    out["fig2b_interval_curves"] = save(fig_interval_curves(df, metric), out_dir, "fig2b_interval_curves")
    out["fig2c_interval_fit"] = save(fig_interval_fit(df, metric, n_boot=n_boot), out_dir, "fig2c_interval_fit")
    out["fig3_critical_period"] = save(fig_critical_period(df, metric), out_dir, "fig3_critical_period")
    out["fig6_lr_batch"] = save(fig_lr_batch(df, metric), out_dir, "fig6_lr_batch")
    out["fig4_flatness"] = save(fig_flatness(df), out_dir, "fig4_flatness")
    out["fig5_imagenet_curves"] = save(fig_imagenet_curves(df), out_dir, "fig5_imagenet_curves")
    live = df[~df["superseded"]] if "superseded" in df.columns else df
    picks = live.sort_values("run_dir").drop_duplicates("kd").head(curves) if curves else live.iloc[0:0]
    for rec in picks.to_dict("records"):
        # Hydra's run dirs are often all named seed=<n>: name the file by what the run is
        s = rec.get("interval")  # normalised: none has no interval, online is 0
        stem = re.sub(r"[^A-Za-z0-9_.=-]", "_", f"curves_{rec['kd']}_s{s:g}_seed{rec['seed']}_{rec['config_id'][:6]}"
                      if isinstance(s, float) and math.isfinite(s) else f"curves_{rec['kd']}_{rec['config_id'][:6]}")
        out[stem] = save(fig_training_curves(rec["run_dir"], rec), out_dir, stem)
    return out


def main(argv: list[str] | None = None) -> int:
    from . import cli

    parser = cli.parser("python -m analysis.plots", "The paper's figures as PNG + PDF.")
    parser.add_argument("--out", default="figures", help="output directory (default: figures/)")
    parser.add_argument("--metric", default=DEFAULT_METRIC,
                        help="summary metric (default: the tables' rule, the best accuracy over epochs; "
                             "student_acc: the last epoch)")
    parser.add_argument("--curves", type=int, default=3, help="training-curve figures to draw (one per kd)")

    def body(args) -> int:
        df = cli.load(args)
        if args.metric not in df.columns:
            known = sorted(c for c in df.columns if str(c).endswith("_acc"))
            raise cli.CliError(f"no metric {args.metric!r} in these runs; found: {', '.join(known)}")
        try:
            figures = plot_all(df, args.out, args.metric, args.curves)
        except OSError as exc:  # an --out that cannot be written (a file, no permission, full disk)
            raise cli.CliError(f"cannot write figures to {args.out}: {exc.strerror or exc}") from None
        for name, paths in figures.items():
            print(f"{name}: {', '.join(str(p) for p in paths)}")
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
