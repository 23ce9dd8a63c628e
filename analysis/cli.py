"""What the analysis commands (collect, tables, fits, plots) share: their inputs and one-line answers.

Every problem a user can cause — a path that does not exist, a root without run directories, a
damaged summary.json, a ``--where`` key that is no column — is answered with one line on stderr
and a non-zero exit, never a traceback. A damaged summary.json does not stop the output (the run
is listed as ``unreadable``), but the exit status says that something was wrong, as grep does
for a file it could not read.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

import pandas as pd

from .collect import collect, unreadable_line
from .select import check_where, mask, parse_where

EXIT_DATA = 1  # the runs are not what was asked for (none found, a damaged file)
EXIT_USAGE = 2  # the command line asks for something that cannot be done


class CliError(Exception):
    """A one-line answer to the user, with the exit status it deserves."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every analysis command takes: roots and --where."""
    out = argparse.ArgumentParser(prog=prog, description=description)
    out.add_argument("roots", nargs="+", help="sweep roots (multirun/…) or run directories")
    out.add_argument("--where", action="append", metavar="KEY=VALUE[,VALUE…]",
                     help="keep only runs with these settings (a collected column, e.g. lr=0.01 or "
                          "optim.momentum=0.9); repeatable")
    return out


def load(args: argparse.Namespace) -> pd.DataFrame:
    """The collected runs under ``args.roots``, filtered by ``args.where`` (CliError when impossible)."""
    try:
        where = parse_where(args.where)
        df = collect(args.roots)
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    if df.empty:
        raise CliError(f"no run directories under {', '.join(map(str, args.roots))}", EXIT_DATA)
    try:
        check_where(df, where)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return df[mask(df, where)] if where else df


def finish(df: pd.DataFrame) -> int:
    """The exit status once the output is written: non-zero (and one line) if a summary was damaged."""
    line = unreadable_line(df)
    if line:
        print(f"error: {line}", file=sys.stderr)
        return EXIT_DATA
    return 0


def run(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int],
        argv: list[str] | None = None) -> int:
    """Parse, run ``body``, and turn a CliError into its one line on stderr and its exit status."""
    args = parser.parse_args(argv)
    try:
        return body(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
