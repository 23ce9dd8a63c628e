"""The paper's tables from collected runs: ``python -m analysis.tables ROOT… --table 6``.

This module joins the jobs that live in their own files and is the command line:

    catalogue.py   the tables as data (`SPECS`): columns, rows, layout, metric, notes
    cells.py       cell statistics (mean ± std over seeds, paired Δ), the recipe rule
    paper.py       the paper's published values and their join onto our cells
    render.py      markdown / LaTeX / CSV in the paper's layout (`TableResult`)

See docs/analysis.md for what each cell means.
"""
from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from . import cli
from .catalogue import SPECS, TABLES, Col, Spec, make_spec  # noqa: F401  (the public names)
from .cells import compute_cells, recipe_line, recipes_of, split_by_recipe
from .collect import status_line
from .lastk import DEFAULT_K, add_lastk, describe, is_lastk
from .paired_cells import paired_spec
from .paper import PAPER_CSV, attach_paper, paper_values  # noqa: F401
from .render import TableResult, cell_text  # noqa: F401
from .select import check_where, mask


def build_table(df: pd.DataFrame, number: int, metric: str | None = None, interval: float | None = None,
                paper: bool = False, where: dict[str, Any] | None = None, pool: bool = False,
                paired: bool = False) -> TableResult:
    """Paper table ``number`` from a collected frame (see `analysis.collect.collect`).

    ``metric=None`` uses the table's own (Tab. 2: ensemble_best_acc; the others: student_acc).
    An unknown ``where`` key raises ValueError instead of matching nothing. ``paired=True`` adds
    the Δ columns of `analysis.paired_cells` and gives every Δ its paired 95 % intervals."""
    if where:
        check_where(df, where)
        df = df[mask(df, where)]
    spec = make_spec(number, df, interval)
    recipes = recipes_of(df, spec)
    spec = split_by_recipe(spec, recipes)
    if paired:
        spec = paired_spec(spec)
    metric = metric or spec.metric
    cells, warnings = compute_cells(df, spec, metric, pool, paired)
    if len(recipes) > 1:
        warnings.insert(0, recipe_line(recipes))
    if paper:
        cells = attach_paper(cells, spec, recipes)
    return TableResult(spec, cells, metric, warnings, with_paper=paper, recipes=recipes, paired=paired)


def _numbers(items: list[str]) -> list[int]:
    numbers: list[int] = []
    for item in items:
        for part in item.split(","):
            if part == "all":
                numbers += list(TABLES)
            elif part.isdigit() and int(part) in TABLES:
                numbers.append(int(part))
            else:
                raise cli.CliError(f"--table {part}: choose from {', '.join(map(str, TABLES))} or all")
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m analysis.tables",
                        "Rebuild the paper's tables from run directories (mean ± std over seeds).")
    parser.add_argument("--table", "-t", action="append", required=True,
                        help=f"table number ({', '.join(map(str, TABLES))}) or 'all'; repeatable")
    parser.add_argument("--format", "-f", choices=["md", "latex", "csv"], default="md")
    parser.add_argument("--metric", default=None,
                        help="summary metric to tabulate in every table (default: each table's own, printed "
                             "under it — student_acc = last epoch; Tab. 2: ensemble_best_acc)")
    parser.add_argument("--interval", type=float, default=None,
                        help="spaced interval for the 'w/ Ours' columns (default 1.5; Tab. 2: 4.0)")
    parser.add_argument("--paper", action="store_true",
                        help="add the paper's published value and ours−paper next to each cell")
    parser.add_argument("--pool-settings", action="store_true",
                        help="average over every run of a cell even if lr, batch size, loss … differ "
                             "(default: fix them per row at the commonest value and report the rest); "
                             "runs of different recipes are never averaged")
    parser.add_argument("--paired", action="store_true",
                        help="Δ columns (online − baseline, spaced − online, spaced − baseline) from paired runs, "
                             "each with its 95%% t-interval (docs/analysis.md)")
    parser.add_argument("--last-k", type=int, default=DEFAULT_K,
                        help=f"k of --metric <role>_lastk_acc, the mean of the last k epochs (default {DEFAULT_K})")

    def body(args) -> int:
        numbers = _numbers(args.table)
        df = cli.load(args)
        if is_lastk(args.metric):
            try:
                df = add_lastk(df, args.last_k)
            except ValueError as exc:
                raise cli.CliError(str(exc)) from None
            print(f"note: {describe(args.metric, args.last_k)}", file=sys.stderr)
        if args.metric is not None and args.metric not in df.columns:
            known = sorted(c for c in df.columns if str(c).endswith("_acc"))
            raise cli.CliError(f"no metric {args.metric!r} in these runs; found: {', '.join(known)}")
        for i, number in enumerate(numbers):
            result = build_table(df, number, args.metric, args.interval, args.paper, pool=args.pool_settings,
                                 paired=args.paired)
            if i:
                print()
            print(result.render(args.format), end="" if args.format == "csv" else "\n")
            for warning in dict.fromkeys(result.warnings):
                print(f"warning (Tab. {number}): {warning}", file=sys.stderr)
        print(status_line(df), file=sys.stderr)
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
