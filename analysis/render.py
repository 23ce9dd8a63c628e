"""Rendering built tables: the paper's layout as markdown, LaTeX, tidy CSV, or a DataFrame."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .catalogue import Spec, last_epoch
from .cells import recipe_line
from .labels import DATASET_ORDER, NETWORK_ORDER, order_key

KEY_NAMES = {
    "dataset": "Dataset", "network": "Network", "teacher": "Teacher", "group": "",
    "loss_fn": "Loss", "feature": "Loss (feature term)", "method": "Method", "attack": "Attack",
    "intensity": "Noise Intensity", "recipe": "Recipe", "column": "",
}
ATTACK_ORDER = ["impulse_noise", "zoom_blur", "snow", "frost", "jpeg_compression", "brightness"]
GROUP_ORDER = ["Width", "Size", "Depth", "Architecture", "Same"]


def cell_text(mean: float, std: float, n: int, n_failed: int = 0, n_unfinished: int = 0,
              n_novalue: int = 0, delta: bool = False, paired: bool = True, n_unreadable: int = 0,
              ci: tuple[float, float] | None = None, wins: int | None = None) -> str:
    """'72.43 ± 0.31 (n=3)', '+1.38 ± 0.20 (n=3)', 'missing', 'n/a (2 failed, 1 unreadable)';
    with ``ci`` (a paired Δ): '+1.38 [+0.90, +1.86] (n=3; wins 3/3)'."""
    notes = []
    if n_failed:
        notes.append(f"{n_failed} failed")
    if n_unfinished:
        notes.append(f"{n_unfinished} unfinished")
    if n_unreadable:
        notes.append(f"{n_unreadable} unreadable")
    if n_novalue:
        notes.append(f"{n_novalue} without value")
    if not (isinstance(mean, float) and math.isfinite(mean)):
        return f"n/a ({', '.join(notes)})" if notes else "missing"
    text = f"{mean:+.2f}" if delta else f"{mean:.2f}"
    if ci is not None:
        if all(isinstance(x, float) and math.isfinite(x) for x in ci):
            text += f" [{ci[0]:+.2f}, {ci[1]:+.2f}]"
        if wins is not None:
            notes.insert(0, f"wins {wins}/{n}")
    elif isinstance(std, float) and math.isfinite(std):
        text += f" ± {std:.2f}"
    count = f"n={n}" if paired else "unpaired"
    return f"{text} ({'; '.join([count] + notes)})"


def _text(rec: dict) -> str:
    interval = rec["kind"] == "delta" and "ci_low" in rec  # a Δ of paired runs (--paired)
    return cell_text(rec["mean"], rec["std"], int(rec["n"]), int(rec["n_failed"]), int(rec["n_unfinished"]),
                     int(rec["n_novalue"]), delta=rec["kind"] == "delta",
                     n_unreadable=int(rec.get("n_unreadable", 0) or 0),
                     ci=(float(rec["ci_low"]), float(rec["ci_high"])) if interval else None,
                     wins=int(rec["wins"]) if interval else None)


@dataclass
class TableResult:
    spec: Spec
    cells: pd.DataFrame
    metric: str
    warnings: list[str]
    with_paper: bool = False
    recipes: list[str] = field(default_factory=list)
    paired: bool = False
    paper_recipe: str | None = None  # with the paper's values: the recipe they come from (the only one here)
    other_recipes: list[str] = field(default_factory=list)  # with the paper's values: recipes left out
    label: str = ""  # printed after the title (a table of another recipe than the paper's)

    @property
    def number(self) -> int:
        return self.spec.number

    def _order(self, key: str, values: list) -> list:
        order = {"dataset": DATASET_ORDER, "network": NETWORK_ORDER, "teacher": NETWORK_ORDER,
                 "group": GROUP_ORDER, "attack": ATTACK_ORDER,
                 "column": [c.label for c in self.spec.cols]}.get(key, [])
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
        if key == "column":  # the spec's order, even when no cell exists yet
            return [c.label for c in self.spec.cols]
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
                line.append("missing" if rec is None else _text(rec))
                if ccombo in paper_cols:
                    paper = rec.get("paper") if rec else math.nan
                    diff = rec.get("diff") if rec else math.nan
                    line.append("" if _nan(paper) else f"{paper:.2f}")
                    line.append("" if _nan(diff) else f"{diff:+.2f}")
            rows.append(line)
        return headers, rows

    def caption(self) -> str:
        what = "probe value" if self.spec.long != "runs" else self.metric
        delta = ("Δ: mean of the differences of paired runs (same seed and settings) [95% t-interval] "
                 "(n = pairs; wins = pairs with a positive difference)." if self.paired
                 else "Δ: ± std of paired per-seed differences.")
        label = f" {self.label}" if self.label else ""
        return f"{self.spec.title}{label} {self.spec.note} Cells: mean ± std over seeds of {what} (n = runs); {delta}"

    def footer(self) -> list[str]:
        """What the table compares and which recipe made it, printed under every table."""
        spec = self.spec
        last = last_epoch(spec.metric)
        if spec.long != "runs":
            metric = "Metric: probe value from probes.json (--metric does not apply)"
        elif self.metric == spec.metric:
            metric = f"Metric: {self.metric} — {spec.metric_note} (the table's rule"
            metric += f"; --last-epoch: {last})" if last != spec.metric else ")"
        elif self.metric == last:
            metric = f"Metric: {self.metric} — the last epoch's (--last-epoch; the table's rule is {spec.metric})"
        else:
            metric = f"Metric: {self.metric} (chosen with --metric; the table's rule is {spec.metric})"
        if self.paper_recipe is None:
            recipe = recipe_line(self.recipes)
        else:
            recipe = (f"Recipe: {self.paper_recipe}, the recipe of the paper's numbers: only its runs are in this "
                      f"table")
            if self.other_recipes:
                recipe += f" (runs of {', '.join(self.other_recipes)}: in a table of their own)"
        return [metric, recipe]

    def to_markdown(self) -> str:
        headers, rows = self.grid()
        esc = [[c.replace("|", "\\|") for c in r] for r in [headers] + rows]
        widths = [max(len(r[i]) for r in esc) for i in range(len(headers))]
        out = ["| " + " | ".join(h.ljust(w) for h, w in zip(esc[0], widths)) + " |",
               "|" + "|".join(("-" * (w + 2)) for w in widths) + "|"]
        out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in esc[1:]]
        if not rows:
            out.append("\n(no runs match this table's columns; check the root, --where and --interval)")
        return f"**{self.caption()}**\n\n" + "\n".join(out) + "\n\n" + "\n".join(self.footer())

    def to_latex(self) -> str:
        headers, rows = self.grid()
        n_index = len(self.spec.index)
        spec = "l" * n_index + "c" * (len(headers) - n_index)
        caption = self.caption() + " " + " ".join(f"{line}." for line in self.footer())
        lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{_latex(caption)}}}",
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
            **({} if "recipe" in self.cells.columns else {"recipe": self.paper_recipe or ",".join(self.recipes)}),
            metric=self.metric if self.spec.long == "runs" else "probe",
            text=[_text(rec) for rec in self.cells.to_dict("records")],
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
          "×": r"$\times$", "−": "-", "·": r"$\cdot$", "∈": r"$\in$", "{": r"\{", "}": r"\}",
          "—": "--"}


def _latex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))
