"""The paper's tables from collected runs: ``python -m analysis.tables ROOT… --table 6``.

Each table is a `Spec`: which runs feed each column (a filter on the collected frame), which
keys make a row, and how rows and columns are laid out. `build_table` turns a spec into tidy
*cells* (one row per table cell: keys, mean, std, n, failed/unfinished counts, paper value) and
`TableResult` renders them as markdown, LaTeX or CSV in the paper's layout.

Cells are mean ± sample std over the usable runs (completed, not superseded by a rerun) with the
run count n (one run per seed). Settings a table does not vary are held at each row's defaults
(`analysis.select`); the runs that leaves out are reported as warnings.
Δ cells are the difference of the two cell means, ± the std of the per-seed paired differences
(n = seeds present on both sides). A cell with no usable run is never dropped: it reads
``missing``, or ``n/a (2 failed, 1 unfinished)`` when its runs did not complete.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .collect import collect, status_line
from .select import NUISANCE, describe_left_out, fixed_settings, mask as _mask, matches, parse_where
from .labels import (
    DATASET_ORDER, NETWORK_ORDER, interval_label, loss_label, order_key, teacher_group,
)

PAPER_CSV = Path(__file__).with_name("paper_values.csv")
TABLES = (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)
KEY_NAMES = {
    "dataset": "Dataset", "network": "Network", "teacher": "Teacher", "group": "",
    "loss_fn": "Loss", "method": "Method", "attack": "Attack", "intensity": "Noise Intensity",
    "column": "",
}
ATTACK_ORDER = ["impulse_noise", "zoom_blur", "snow", "frost", "jpeg_compression", "brightness"]


@dataclass
class Col:
    """One column: runs matching ``select`` (on the collected frame), or a Δ of two columns."""

    label: str
    select: dict[str, Any] = field(default_factory=dict)
    metric: Callable[[str], str] | None = None  # maps the table's metric to this column's
    delta: tuple[str, str] | None = None  # (a, b): b − a


@dataclass
class Spec:
    number: int
    title: str
    keys: list[str]  # tidy key columns (besides "column")
    index: list[str]  # keys laid out as rows (may include "column")
    header: list[str]  # keys laid out as columns (may include "column")
    cols: list[Col]
    base: dict[str, Any] = field(default_factory=dict)
    long: str = "runs"  # runs | corruptions | bim
    intensities: Callable[[float], bool] | None = None
    note: str = ""


# ---------------------------------------------------------------- specs


def _teacher_metric(metric: str) -> str:
    return metric.replace("student", "teacher") if metric.startswith("student") else "teacher_acc"


def _main_cols(interval: float, mode: str, labels=("w/o KD", "w/o Ours", "w/ Ours", "Δ")) -> list[Col]:
    kd_common = {"kd_mode": mode, "teacher_same": True}
    return [
        Col(labels[0], {"kd": "none"}),
        Col(labels[1], {"kd": "online", **kd_common}),
        Col(labels[2], {"kd": "spaced", "interval": interval, "full_period": True, **kd_common}),
        Col(labels[3], delta=(labels[1], labels[2])),
    ]


def _versus_cols(interval: float, labels: Sequence[str]) -> list[Col]:
    same = {"kd_mode": "peer", "teacher_same": True}
    return [
        Col(labels[0], {"kd": "online", **same}),
        Col(labels[1], {"kd": "spaced", "interval": interval, "full_period": True, **same}),
        Col(labels[2], delta=(labels[0], labels[1])),
    ]


def _present(df: pd.DataFrame, kd: str, extra: Sequence[float]) -> list[float]:
    """Intervals run with ``kd`` (peer mode, own-architecture teacher, whole training) ∪ extra."""
    mine = _mask(df, {"kd": kd, "kd_mode": "peer", "teacher_same": True, "full_period": True})
    found = df.loc[mine, "interval"].dropna()
    values = {float(v) for v in found if math.isfinite(v)} | set(extra)
    return sorted(values)


def make_spec(number: int, df: pd.DataFrame, interval: float | None = None) -> Spec:
    """The layout of paper table ``number``; dynamic columns (Tab. 6, 10) come from ``df``."""
    if number not in TABLES:
        raise ValueError(f"table {number} is not rebuilt; choose one of {', '.join(map(str, TABLES))}")
    s = 4.0 if number == 2 else 1.5
    s = float(interval) if interval is not None else s
    same = {"kd_mode": "peer", "teacher_same": True}
    rows2 = ["dataset", "network"]
    if number == 1:
        return Spec(1, f"Table 1: Overall performance of online KD (%), spaced interval {s:g} epochs.",
                    rows2, rows2, ["column"], _main_cols(s, "peer"),
                    note="w/o KD: kd=none; w/o Ours: kd=online; w/ Ours: kd=spaced; Δ = w/ Ours − w/o Ours.")
    if number == 2:
        return Spec(2, f"Table 2: Overall performance of self KD (%), spaced interval {s:g} epochs.",
                    rows2, rows2, ["column"], _main_cols(s, "self"),
                    note="kd_mode=self; the student is the deepest head (student_acc).")
    if number == 3:
        return Spec(3, f"Table 3: Spaced KD with different KD loss functions (%), interval {s:g} epochs.",
                    rows2 + ["loss_fn"], rows2 + ["loss_fn"], ["column"], _versus_cols(s, ["w/o Ours", "w/ Ours", "Δ"]),
                    note="Rows: the KD loss (loss=kl|l1|smooth_l1|mse_mean|mse_sum|soft_ce, its logit term).")
    if number == 4:
        own = {"teacher_same": True, "full_period": True}
        cols = [Col("w/o KD", {"kd": "none"}), Col("KD", {"kd": "online", "teacher_same": True}),
                Col("w/ Ours", {"kd": "spaced", "interval": s, **own}), Col("Δ", delta=("KD", "w/ Ours"))]
        return Spec(4, f"Table 4: Spaced KD added to KD methods (%), interval {s:g} epochs.",
                    rows2 + ["method"], rows2 + ["method"], ["column"], cols,
                    note="Rows: method.name; runs without one are the paper's own online / self KD "
                         "(BAN, TAKD, DML, SHAKE, DLB, PSKD are not implemented yet).")
    if number in (5, 11):
        if number == 5:
            title, keep = "Table 5: Accuracy under image corruption at intensity 1.0 (%).", lambda x: x == 1.0
        else:
            title, keep = "Table 11: Accuracy under image corruption at other intensities (%).", lambda x: x != 1.0
        return Spec(number, title + f" Interval {s:g} epochs.", rows2 + ["attack", "intensity"],
                    ["dataset", "attack", "intensity"], ["network", "column"],
                    _versus_cols(s, ["w/o Ours", "w/ Ours", "Δ"]), long="corruptions", intensities=keep,
                    note="Values from probes.json corruptions; w/o Ours: kd=online, w/ Ours: kd=spaced.")
    if number == 6:
        cols = [Col("Baseline", {"kd": "none"}), Col("w/o", {"kd": "online", **same})]
        for x in _present(df, "spaced", [0.5, 1.0, 1.5, 2.0]):
            cols.append(Col(f"w/{interval_label(x)}", {"kd": "spaced", "interval": x, "full_period": True, **same}))
        cols.append(Col("w/max", {"kd": "offline", **same}))
        return Spec(6, "Table 6: Overall performance of different intervals (%).", rows2, rows2, ["column"], cols,
                    note="Baseline: kd=none; w/o: online KD; w/s: spaced KD at interval s epochs; w/max: offline KD.")
    if number in (8, 9):
        teach = {"kd_mode": "peer", "teacher_same": False}  # Tab. 1 holds the own-architecture teacher
        if number == 8:
            cols = [Col("Baseline", {"kd": "online", **teach}, metric=_teacher_metric),
                    Col("Online KD", {"kd": "online", **teach}),
                    Col("Spaced KD", {"kd": "spaced", "interval": s, "full_period": True, **teach})]
            title = f"Table 8: Students distilled from different teachers (%), interval {s:g} epochs."
            note = "Baseline: the teacher trained alone (teacher_acc of the online-KD runs; it learns from labels only)."
        else:
            cols = [Col("Offline KD", {"kd": "offline", **teach}),
                    Col("Spaced KD", {"kd": "spaced", "interval": s, "full_period": True, **teach})]
            title = f"Table 9: Spaced KD vs offline KD for different teachers (%), interval {s:g} epochs."
            note = "Offline KD: kd=offline (the teacher trains to the end first)."
        keys = ["dataset", "network", "group", "teacher"]
        return Spec(number, title, keys, keys, ["column"], cols, note=note)
    if number == 10:
        cols = [Col("0", {"kd": "online", **same})]
        for x in _present(df, "ahead", [0.5, 1.0, 1.5, 2.0, 2.5]):
            cols.append(Col(f"{x:g}", {"kd": "ahead", "interval": x, **same}))
        return Spec(10, "Table 10: Student distilled from a teacher a constant s epochs ahead (%).",
                    rows2, rows2, ["column"], cols,
                    note="Columns: interval s in epochs; 0 = online KD, others kd=ahead.")
    # 12
    return Spec(12, f"Table 12: Accuracy after the BIM adversarial attack (%), interval {s:g} epochs.",
                rows2, ["column"], ["dataset", "network"],
                _versus_cols(s, ["w/o", f"w/{interval_label(s)}", "Δ"]), long="bim",
                note="Values: probes.json bim.robust_acc; w/o: kd=online.")


# ---------------------------------------------------------------- selecting runs


def _long_frame(df: pd.DataFrame, spec: Spec, metric: str) -> pd.DataFrame:
    """Runs (not superseded) with the table's key columns as labels and a ``value`` column."""
    live = df[~df["superseded"]] if "superseded" in df.columns else df
    # the dotted config copies are not needed past --where; dropping them makes selection cheap
    live = live[[c for c in live.columns if "." not in c or c.startswith("probe.")]]
    base = live.assign(
        dataset=live["dataset_label"],
        network=live["network"],
        teacher=live["teacher_label"],
        loss_fn=live["loss"].map(loss_label, na_action="ignore"),
        method=[m if isinstance(m, str) else (None if kd == "none" else f"{mode} KD (ours)")
                for m, kd, mode in zip(live["method"] if "method" in live.columns else [None] * len(live),
                                       live["kd"], live["kd_mode"].map({"peer": "online", "self": "self"}))],
        group=[teacher_group(n, t) if isinstance(t, str) else None
               for n, t in zip(live["network"], live["teacher_label"])],
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
    return out[out["intensity"].map(spec.intensities)]


# ---------------------------------------------------------------- cells


def _stats(values: pd.Series) -> tuple[float, float, int]:
    v = values.dropna().astype(float)
    n = len(v)
    mean = float(v.mean()) if n else math.nan
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    return mean, std, n


def cell_text(mean: float, std: float, n: int, n_failed: int = 0, n_unfinished: int = 0,
              n_novalue: int = 0, delta: bool = False, paired: bool = True) -> str:
    """'72.43 ± 0.31 (n=3)', '+1.38 ± 0.20 (n=3)', 'missing', 'n/a (2 failed)'."""
    notes = []
    if n_failed:
        notes.append(f"{n_failed} failed")
    if n_unfinished:
        notes.append(f"{n_unfinished} unfinished")
    if n_novalue:
        notes.append(f"{n_novalue} without value")
    if not (isinstance(mean, float) and math.isfinite(mean)):
        return f"n/a ({', '.join(notes)})" if notes else "missing"
    text = f"{mean:+.2f}" if delta else f"{mean:.2f}"
    if isinstance(std, float) and math.isfinite(std):
        text += f" ± {std:.2f}"
    count = f"n={n}" if paired else "unpaired"
    return f"{text} ({'; '.join([count] + notes)})"


def _in_row(frame: pd.DataFrame, where_key: dict[str, Any]) -> pd.Series:
    """Runs of one row; a run with no value for a key (kd=none has no KD method) is in every row."""
    mask = pd.Series(True, index=frame.index)
    for key, value in where_key.items():
        mask &= frame[key].isna() | frame[key].eq(value)
    return mask


# tidy keys that stand for a setting, so that setting is never fixed or warned about
KEY_SETTINGS = {"loss_fn": "loss", "teacher": "teacher_init"}


def compute_cells(df: pd.DataFrame, spec: Spec, metric: str = "student_acc",
                  where: dict[str, Any] | None = None, pool: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Tidy cells of ``spec`` from the collected frame, plus warnings.

    Within a row, settings that the table does not vary (lr, batch size, epochs, KD loss …) are
    fixed by `analysis.select.fixed_settings`, so a root holding several sweeps still gives the
    main-configuration table; the runs left out are reported in a warning. ``pool=True`` keeps
    every run instead and warns about the cells that mix settings. ``where`` filters first.
    """
    warnings: list[str] = []
    if where:
        df = df[_mask(df, where)]
    long = _long_frame(df, spec, metric)
    keys = spec.keys
    skip = set(keys) | {KEY_SETTINGS[k] for k in keys if k in KEY_SETTINGS}
    selected: dict[str, pd.DataFrame] = {}
    universe: list[tuple] = []
    for col in spec.cols:
        if col.delta:
            continue
        sub = long[_mask(long, {**spec.base, **col.select})]
        value_col = "probe.value" if spec.long != "runs" else (col.metric(metric) if col.metric else metric)
        sub = sub.assign(value=sub[value_col] if value_col in sub.columns else math.nan)
        selected[col.label] = sub
        universe.extend(sub[keys].dropna().drop_duplicates().itertuples(index=False, name=None))
    universe = list(dict.fromkeys(universe))
    records = []
    for key in universe:
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
            if col.delta:
                a, b = (by_label[c] for c in col.delta)
                mean = float(b["value"].mean() - a["value"].mean()) if len(a) and len(b) else math.nan
                diffs = (b.groupby("seed")["value"].mean() - a.groupby("seed")["value"].mean()).dropna()
                std = float(diffs.std(ddof=1)) if len(diffs) > 1 else math.nan
                records.append({**where_key, "column": col.label, "mean": mean, "std": std, "n": len(diffs),
                                "n_failed": 0, "n_unfinished": 0, "n_novalue": 0, "kind": "delta",
                                "seeds": ",".join(str(s) for s in diffs.index)})
                continue
            here = here_by_col[col.label]
            if chosen:
                here = here[matches(here, chosen)]
            ok = here[here["ok"]]
            usable = ok[ok["value"].notna()]
            by_label[col.label] = usable
            mean, std, n = _stats(usable["value"])
            records.append({
                **where_key, "column": col.label, "mean": mean, "std": std, "n": n,
                "n_failed": int(here["status"].eq("failed").sum()),
                "n_unfinished": int(here["status"].isin(["running", "no_summary"]).sum()),
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
    cells = pd.DataFrame(records, columns=keys + ["column", "mean", "std", "n", "n_failed", "n_unfinished",
                                                  "n_novalue", "kind", "seeds"])
    if spec.long == "corruptions":  # runs without probes.json have no row to be counted in
        live = df[~df["superseded"]] if "superseded" in df.columns else df
        want = live[_mask(live, {"kd": ["online", "spaced"], "kd_mode": "peer"})]
        lacking = int((~want["has_probes"].astype(bool)).sum()) if "has_probes" in want.columns else len(want)
        if lacking:
            warnings.append(f"{lacking} online/spaced runs have no probes.json and are not in this table")
    return cells, warnings


# ---------------------------------------------------------------- paper values


def paper_values(number: int | None = None) -> pd.DataFrame:
    """The paper's published numbers (analysis/paper_values.csv), typed from the paper's text."""
    paper = pd.read_csv(PAPER_CSV, keep_default_na=False, dtype=str)
    paper["table"] = paper["table"].astype(int)
    paper["value"] = paper["value"].astype(float)
    paper["intensity"] = pd.to_numeric(paper["intensity"], errors="coerce")
    if number is not None:
        paper = paper[paper["table"] == number]
    return paper.reset_index(drop=True)


def _attach_paper(cells: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Join the paper's value to each cell (``paper``, ``diff`` = ours − paper)."""
    join = spec.keys + ["column"]
    paper = paper_values(spec.number)
    if paper.empty:
        return cells.assign(paper=math.nan, diff=math.nan)
    paper = paper.assign(group=[teacher_group(n, t) if t else "" for n, t in zip(paper["network"], paper["teacher"])])
    paper = paper[join + ["value"]].rename(columns={"value": "paper"})
    # rows the paper reports and we have no runs for become rows of explicit "missing" cells
    ours = set(cells[spec.keys].itertuples(index=False, name=None))
    new_rows = paper[spec.keys].drop_duplicates()
    new_rows = new_rows[[r not in ours for r in new_rows.itertuples(index=False, name=None)]]
    if len(new_rows):
        deltas = {c.label for c in spec.cols if c.delta}
        blank = new_rows.merge(pd.DataFrame({"column": [c.label for c in spec.cols]}), how="cross")
        blank = blank.assign(mean=math.nan, std=math.nan, n=0, n_failed=0, n_unfinished=0, n_novalue=0,
                             kind=["delta" if c in deltas else "value" for c in blank["column"]], seeds="")
        cells = pd.concat([cells, blank], ignore_index=True) if len(cells) else blank
    out = cells.merge(paper, on=join, how="left")
    return out.assign(diff=out["mean"] - out["paper"])


# ---------------------------------------------------------------- layout


@dataclass
class TableResult:
    spec: Spec
    cells: pd.DataFrame
    metric: str
    warnings: list[str]
    with_paper: bool = False

    @property
    def number(self) -> int:
        return self.spec.number

    def _order(self, key: str, values: list) -> list:
        if key == "dataset":
            order = DATASET_ORDER
        elif key in ("network", "teacher"):
            order = NETWORK_ORDER
        elif key == "group":
            order = ["Width", "Depth", "Architecture", "Same"]
        elif key == "attack":
            order = ATTACK_ORDER
        elif key == "column":
            order = [c.label for c in self.spec.cols]
        else:
            order = []
        return sorted(values, key=lambda v: order_key(v, order))

    def _combos(self, keys: list[str]) -> list[tuple]:
        """Key combinations laid along one axis, in the paper's order; "column" always lists
        every column of the spec, so an all-missing column still shows."""
        if not keys:
            return [()]
        labels = [c.label for c in self.spec.cols]
        others = [k for k in keys if k != "column"]
        bases = list(dict.fromkeys(self.cells[others].itertuples(index=False, name=None))) if others else [()]
        combos = []
        for base in bases:
            if "column" in keys:
                for label in labels:
                    combo = list(base)
                    combo.insert(keys.index("column"), label)
                    combos.append(tuple(combo))
            else:
                combos.append(tuple(base))
        for i in reversed(range(len(keys))):  # stable sorts, last key first
            order = self._level_order(keys[i])
            combos.sort(key=lambda t, i=i, order=order: order_key(t[i], order))
        return combos

    def _level_order(self, key: str) -> list:
        return self._order(key, list(self.cells[key].dropna().unique()) if key in self.cells else [])

    def grid(self) -> tuple[list[str], list[list[str]]]:
        """Header labels and rows of strings in the paper's layout (repeated row labels blanked)."""
        spec = self.spec
        cells = self.cells
        lookup = {}
        for rec in cells.to_dict("records"):
            lookup[tuple(rec[k] for k in spec.index) + tuple(rec[k] for k in spec.header)] = rec
        row_combos = self._combos(spec.index)
        col_combos = self._combos(spec.header)
        paper_cols = set()
        if self.with_paper and "paper" in cells:
            for combo in col_combos:
                sub = cells
                for k, v in zip(spec.header, combo):
                    sub = sub[sub[k] == v]
                if sub["paper"].notna().any():
                    paper_cols.add(combo)
        headers = [KEY_NAMES.get(k, k) or "" for k in spec.index]
        for combo in col_combos:
            label = " · ".join(_fmt_key(k, v) for k, v in zip(spec.header, combo))
            headers.append(label)
            if combo in paper_cols:
                headers += [f"{label} · paper", f"{label} · ours−paper"]
        rows = []
        previous: tuple = ()
        for rcombo in row_combos:
            shown = []
            for i, (k, v) in enumerate(zip(spec.index, rcombo)):
                same_prefix = previous[: i + 1] == rcombo[: i + 1] and i < len(spec.index) - 1
                shown.append("" if same_prefix else _fmt_key(k, v))
            previous = rcombo
            line = list(shown)
            for ccombo in col_combos:
                rec = lookup.get(rcombo + ccombo)
                if rec is None:
                    line.append("missing")
                else:
                    line.append(cell_text(rec["mean"], rec["std"], int(rec["n"]), int(rec["n_failed"]),
                                          int(rec["n_unfinished"]), int(rec["n_novalue"]),
                                          delta=rec["kind"] == "delta"))
                if ccombo in paper_cols:
                    paper = rec.get("paper") if rec else math.nan
                    diff = rec.get("diff") if rec else math.nan
                    line.append("" if _nan(paper) else f"{paper:.2f}")
                    line.append("" if _nan(diff) else f"{diff:+.2f}")
            rows.append(line)
        return headers, rows

    def caption(self) -> str:
        what = "probe value" if self.spec.long != "runs" else self.metric
        return (f"{self.spec.title} {self.spec.note} Cells: mean ± std over seeds of {what} "
                f"(n = runs); Δ: ± std of paired per-seed differences.")

    def to_markdown(self) -> str:
        headers, rows = self.grid()
        esc = [[c.replace("|", "\\|") for c in r] for r in [headers] + rows]
        widths = [max(len(r[i]) for r in esc) for i in range(len(headers))]
        out = ["| " + " | ".join(h.ljust(w) for h, w in zip(esc[0], widths)) + " |",
               "|" + "|".join(("-" * (w + 2)) for w in widths) + "|"]
        out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in esc[1:]]
        if not rows:
            out.append("\n(no runs match this table's columns; check the root, --where and --interval)")
        return f"**{self.caption()}**\n\n" + "\n".join(out)

    def to_latex(self) -> str:
        headers, rows = self.grid()
        n_index = len(self.spec.index)
        spec = "l" * n_index + "c" * (len(headers) - n_index)
        lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{_latex(self.caption())}}}",
                 f"\\label{{tab:paper{self.number}}}", r"\resizebox{\linewidth}{!}{%",
                 f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
                 " & ".join(_latex(h) for h in headers) + r" \\", r"\midrule"]
        for i, row in enumerate(rows):
            if i and n_index > 1 and row[0]:
                lines.append(r"\midrule")
            lines.append(" & ".join(_latex(c) for c in row) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}"]
        return "\n".join(lines)

    def to_csv(self) -> str:
        cells = self.cells.assign(
            table=self.number,
            text=[cell_text(m, s, int(n), int(f), int(u), int(v), delta=k == "delta")
                  for m, s, n, f, u, v, k in zip(self.cells["mean"], self.cells["std"], self.cells["n"],
                                                 self.cells["n_failed"], self.cells["n_unfinished"],
                                                 self.cells["n_novalue"], self.cells["kind"])],
        )
        front = ["table"] + self.spec.keys + ["column"]
        return cells[front + [c for c in cells.columns if c not in front]].to_csv(index=False)

    def wide(self) -> pd.DataFrame:
        """The rendered table as a DataFrame of strings (for notebooks)."""
        headers, rows = self.grid()
        return pd.DataFrame(rows, columns=headers)

    def render(self, fmt: str = "md") -> str:
        return {"md": self.to_markdown, "latex": self.to_latex, "csv": self.to_csv}[fmt]()


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _fmt_key(key: str, value: Any) -> str:
    if key == "intensity":
        return f"{float(value):.1f}"
    return str(value)


_LATEX = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "±": r"$\pm$", "Δ": r"$\Delta$",
          "×": r"$\times$", "−": "-", "·": r"$\cdot$", "∈": r"$\in$", "{": r"\{", "}": r"\}"}


def _latex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def build_table(df: pd.DataFrame, number: int, metric: str = "student_acc", interval: float | None = None,
                paper: bool = False, where: dict[str, Any] | None = None, pool: bool = False) -> TableResult:
    """Paper table ``number`` from a collected frame (see `analysis.collect.collect`)."""
    spec = make_spec(number, df if not where else df[_mask(df, where)], interval)
    cells, warnings = compute_cells(df, spec, metric, where, pool)
    if paper:
        cells = _attach_paper(cells, spec)
    return TableResult(spec, cells, metric, warnings, with_paper=paper)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.tables",
        description="Rebuild the paper's tables from run directories (mean ± std over seeds).",
    )
    parser.add_argument("roots", nargs="+", help="sweep roots (multirun/…) or run directories")
    parser.add_argument("--table", "-t", action="append", required=True,
                        help=f"table number ({', '.join(map(str, TABLES))}) or 'all'; repeatable")
    parser.add_argument("--format", "-f", choices=["md", "latex", "csv"], default="md")
    parser.add_argument("--metric", default="student_acc",
                        help="summary metric to tabulate (student_acc = last epoch; student_best_acc; "
                             "ensemble_acc for self KD …)")
    parser.add_argument("--interval", type=float, default=None,
                        help="spaced interval for the 'w/ Ours' columns (default 1.5; Tab. 2: 4.0)")
    parser.add_argument("--paper", action="store_true",
                        help="add the paper's published value and ours−paper next to each cell")
    parser.add_argument("--where", action="append", metavar="KEY=VALUE[,VALUE…]",
                        help="keep only runs with these settings (a collected column, e.g. lr=0.01)")
    parser.add_argument("--pool-settings", action="store_true",
                        help="average over every run of a cell even if lr, batch size, loss … differ "
                             "(default: fix them per row at the commonest value and report the rest)")
    args = parser.parse_args(argv)
    numbers: list[int] = []
    for item in args.table:
        for part in item.split(","):
            if part == "all":
                numbers += list(TABLES)
            elif part.isdigit() and int(part) in TABLES:
                numbers.append(int(part))
            else:
                parser.error(f"--table {part}: choose from {', '.join(map(str, TABLES))} or all")
    try:
        where = parse_where(args.where)
        df = collect(args.roots)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if df.empty:
        print(f"error: no run directories under {' '.join(args.roots)}", file=sys.stderr)
        return 1
    if args.metric not in df.columns:
        known = sorted(c for c in df.columns if c.endswith("_acc"))
        print(f"error: no metric {args.metric!r} in these runs; found: {', '.join(known)}", file=sys.stderr)
        return 2
    for i, number in enumerate(numbers):
        result = build_table(df, number, args.metric, args.interval, args.paper, where, args.pool_settings)
        if i:
            print()
        print(result.render(args.format), end="" if args.format == "csv" else "\n")
        for warning in dict.fromkeys(result.warnings):
            print(f"warning (Tab. {number}): {warning}", file=sys.stderr)
    print(status_line(df), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
