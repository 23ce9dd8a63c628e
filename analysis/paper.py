"""The paper's published numbers (analysis/paper_values.csv) and their join onto our cells."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .catalogue import Spec
from .labels import teacher_group

PAPER_CSV = Path(__file__).with_name("paper_values.csv")


def paper_values(number: int | None = None) -> pd.DataFrame:
    """The paper's published numbers, typed from the paper's text (one row per cell)."""
    paper = pd.read_csv(PAPER_CSV, keep_default_na=False, dtype=str)
    paper["table"] = paper["table"].astype(int)
    paper["value"] = paper["value"].astype(float)
    paper["intensity"] = pd.to_numeric(paper["intensity"], errors="coerce")
    if number is not None:
        paper = paper[paper["table"] == number]
    return paper.reset_index(drop=True)


def attach_paper(cells: pd.DataFrame, spec: Spec, recipes: list[str] | None = None) -> pd.DataFrame:
    """Join the paper's value to each cell (``paper``, ``diff`` = ours − paper).

    Rows the paper reports and we have no runs for become rows of explicit "missing" cells; when
    the rows are split by recipe, each recipe gets the paper's full set of rows."""
    keys = [k for k in spec.keys if k != "recipe"]  # the paper has one recipe: its rows match every one of ours
    join = keys + ["column"]
    paper = paper_values(spec.number)
    if paper.empty:
        return cells.assign(paper=math.nan, diff=math.nan)
    groups = [teacher_group(n, t) if t else "" for n, t in zip(paper["network"], paper["teacher"])]
    paper = paper.assign(group=[spec.group_names.get(g, g) for g in groups])
    paper = paper[join + ["value"]].rename(columns={"value": "paper"})
    split = "recipe" in spec.keys
    ours = set(cells[spec.keys].itertuples(index=False, name=None))
    new_rows = paper[keys].drop_duplicates()
    if split:
        new_rows = new_rows.merge(pd.DataFrame({"recipe": recipes or []}), how="cross")[spec.keys]
    new_rows = new_rows[[r not in ours for r in new_rows.itertuples(index=False, name=None)]]
    if len(new_rows):
        deltas = {c.label for c in spec.cols if c.delta}
        blank = new_rows.merge(pd.DataFrame({"column": [c.label for c in spec.cols]}), how="cross")
        blank = blank.assign(mean=math.nan, std=math.nan, n=0, n_failed=0, n_unfinished=0, n_unreadable=0,
                             n_novalue=0, kind=["delta" if c in deltas else "value" for c in blank["column"]],
                             seeds="")
        cells = pd.concat([cells, blank], ignore_index=True) if len(cells) else blank
    out = cells.merge(paper, on=join, how="left")
    return out.assign(diff=out["mean"] - out["paper"])
