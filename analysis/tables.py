"""The paper's tables from collected runs: ``python -m analysis.tables ROOT… --table 6``.

This module joins the jobs that live in their own files and is the command line:

    catalogue.py   the tables as data (`SPECS`): columns, rows, layout, metric, notes
    cells.py       cell statistics (mean ± std over seeds, paired Δ), the recipe rule
    paper.py       the paper's published values and their join onto the cells of the paper's recipe
    render.py      markdown / LaTeX / CSV in the paper's layout (`TableResult`)

See docs/analysis.md for what each cell means.
"""
from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from . import cli
from .catalogue import SPECS, TABLES, Col, Spec, last_epoch, make_spec  # noqa: F401  (the public names)
from .cells import compute_cells, recipe_line, recipes_of, split_by_recipe
from .collect import status_line
from .lastk import DEFAULT_K, add_lastk, describe, is_lastk
from .paired_cells import paired_spec
from .paper import PAPER_CSV, attach_paper, paper_values  # noqa: F401
from .render import TableResult, cell_text  # noqa: F401
from .select import check_where, mask


def build_table(df: pd.DataFrame, number: int, metric: str | None = None, interval: float | None = None,
                paper: bool = False, where: dict[str, Any] | None = None, pool: bool = False,
                last: bool = False, label: str = "", paired: bool = False) -> TableResult:
    """Paper table ``number`` from a collected frame (see `analysis.collect.collect`).

    ``metric=None`` uses the table's own rule (the best accuracy over epochs, as the release logs it;
    Tab. 2: ensemble_best_acc; Tab. 4: each method's release rule); ``last=True`` its last-epoch
    counterpart. ``paper=True`` puts the paper's values beside cells of runs of the recipe that
    produced them only (``spec.paper_recipe``: the release's, ``official``; Tab. 4: ``default``): runs
    of other recipes are left out of this table and named in ``other_recipes`` (`build_tables` gives
    each its own). ``label`` is printed with the title. ``paired=True`` adds the Δ columns of
    `analysis.paired_cells` and gives every Δ its paired 95 % intervals. An unknown ``where`` key
    raises ValueError instead of matching nothing."""
    if where:
        check_where(df, where)
        df = df[mask(df, where)]
    spec = make_spec(number, df, interval)
    others: list[str] = []
    if paper:
        others = [r for r in recipes_of(df, spec) if r != spec.paper_recipe]
        df = df[mask(df, {"recipe": spec.paper_recipe})]
        spec = make_spec(number, df, interval)  # columns that depend on the runs present (Tab. 6)
    recipes = recipes_of(df, spec)
    spec = split_by_recipe(spec, recipes)
    if paired:
        spec = paired_spec(spec)
    metric = metric or (last_epoch(spec.metric) if last else spec.metric)
    cells, warnings = compute_cells(df, spec, metric, pool, paired)
    if len(recipes) > 1:
        warnings.insert(0, recipe_line(recipes))
    if paper:
        cells = attach_paper(cells, spec)
        if others:
            warnings.insert(0, f"the paper's numbers come from recipe={spec.paper_recipe}: runs of recipe "
                               f"{', '.join(others)} are not beside them but in a table of their own")
    return TableResult(spec, cells, metric, warnings, with_paper=paper, recipes=recipes, paired=paired,
                       paper_recipe=spec.paper_recipe if paper else None, other_recipes=others, label=label)


def build_tables(df: pd.DataFrame, number: int, metric: str | None = None, interval: float | None = None,
                 paper: bool = False, where: dict[str, Any] | None = None, pool: bool = False,
                 last: bool = False, paired: bool = False) -> list[TableResult]:
    """Table ``number`` as the command line prints it: one table; with ``paper``, the comparison with
    the paper (runs of its recipe) and then one labelled table per other recipe the runs used."""
    first = build_table(df, number, metric, interval, paper, where, pool, last, paired=paired)
    if where:
        df = df[mask(df, where)]
    rest = [build_table(df[mask(df, {"recipe": r})], number, metric, interval, False, None, pool, last,
                        label=f"recipe={r}: not the recipe of the paper's numbers ({first.paper_recipe}), "
                              f"so no paper values beside it.", paired=paired)
            for r in first.other_recipes]
    return [first, *rest]


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
                        help="summary metric to tabulate in every table (default: each table's own rule, "
                             "printed under it: the best accuracy over epochs, as the release logs it — "
                             "student_best_acc; Tab. 2: ensemble_best_acc; Tab. 4: student_acc)")
    parser.add_argument("--last-epoch", action="store_true",
                        help="the last epoch's accuracy instead of the best over epochs, in every table "
                             "(student_best_acc → student_acc, ensemble_best_acc → ensemble_acc)")
    parser.add_argument("--interval", type=float, default=None,
                        help="spaced interval for the 'w/ Ours' columns (default 1.5; Tab. 2: 4.0)")
    parser.add_argument("--paper", action="store_true",
                        help="add the paper's published value and ours−paper next to each cell of the "
                             "recipe that produced them (recipe=official; Tab. 4: default); runs of another "
                             "recipe get a labelled table of their own, without paper values")
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
        if args.metric is not None and args.last_epoch:
            raise cli.CliError("--metric names the metric itself; --last-epoch changes each table's own: give one")
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
        first = True
        for number in numbers:
            for result in build_tables(df, number, args.metric, args.interval, args.paper, pool=args.pool_settings,
                                       last=args.last_epoch, paired=args.paired):
                if not first:
                    print()
                first = False
                print(result.render(args.format), end="" if args.format == "csv" else "\n")
                for warning in dict.fromkeys(result.warnings):
                    print(f"warning (Tab. {number}): {warning}", file=sys.stderr)
        print(status_line(df), file=sys.stderr)
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
