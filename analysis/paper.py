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


def attach_paper(cells: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Join the paper's value to each cell (``paper``, ``diff`` = ours − paper).

    The cells must be of runs of ``spec.paper_recipe`` only, the recipe that produced the paper's
    numbers (`analysis.tables.build_table` sees to it). Rows the paper reports and we have no runs for
    become rows of explicit "missing" cells."""
    if "recipe" in spec.keys:
        raise ValueError(f"the paper's values go beside cells of recipe={spec.paper_recipe} only, "
                         f"not beside a table split by recipe")
    join = spec.keys + ["column"]
    paper = paper_values(spec.number)
    if paper.empty:
        return cells.assign(paper=math.nan, diff=math.nan)
    groups = [teacher_group(n, t) if t else "" for n, t in zip(paper["network"], paper["teacher"])]
    paper = paper.assign(group=[spec.group_names.get(g, g) for g in groups])
    paper = paper[join + ["value"]].rename(columns={"value": "paper"})
    ours = set(cells[spec.keys].itertuples(index=False, name=None))
    new_rows = paper[spec.keys].drop_duplicates()
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
