"""Paired comparison of two arms: ``python -m analysis.compare ROOT… --a ARM --b ARM``.

Runs of the two arms are paired by seed and by every other identity key (`analysis.pairs`); each
group of pairs (one per value of the settings that vary among them: recipe, model …) gets the
paired statistics of b − a (`analysis.paired_stats`): n pairs, the mean difference, the 95 %
t-interval, a seeded bootstrap interval over pairs, and how many pairs have b > a.

    python -m analysis.compare ROOT… --a online --b spaced1.5 [--where recipe=official]
        [--metric student_lastk_acc --last-k 5] [--csv deltas.csv] [--pairs]

Runs it cannot pair are named on one line of stderr; no pairs at all, or arms that name no
setting, are a one-line error.
"""
from __future__ import annotations

import math
import sys

import pandas as pd

from . import cli
from .collect import usable
from .lastk import DEFAULT_K, add_lastk, describe, is_lastk
from .paired_stats import BOOT, BOOT_SEED, paired
from .pairs import NoPairs, Pairing, PairingError, arm_text, compared_keys, identities, pair, parse_arm
from .select import check_where, mask

CSV_COLUMNS = ["group", "n", "mean_delta", "ci_low", "ci_high", "boot_low", "boot_high", "wins"]
DEFAULT_METRIC = "student_acc"


def compare(df: pd.DataFrame, a: dict, b: dict, metric: str = DEFAULT_METRIC, boot: int = BOOT,
            seed: int = BOOT_SEED) -> tuple[pd.DataFrame, Pairing]:
    """Per-group paired statistics of b − a (columns `CSV_COLUMNS`) and the pairing behind them.

    ``a`` / ``b``: arms as `analysis.pairs.parse_arm` returns them. Raises PairingError (one line)
    for arms that cannot be compared and ValueError for a key that is no column."""
    for flag, arm in (("--a", a), ("--b", b)):
        try:
            check_where(df, arm)
        except ValueError as exc:
            raise ValueError(str(exc).replace("--where", flag, 1)) from None
    if a == b:
        raise PairingError(f"--a and --b are the same arm ({arm_text(a)})")
    compared = compared_keys(set(a) | set(b))
    if metric not in df.columns:
        known = sorted(c for c in df.columns if str(c).endswith("_acc"))
        raise ValueError(f"no metric {metric!r} in these runs; found: {', '.join(known)}")
    runs = usable(df)
    sides = [runs[mask(runs, arm)] for arm in (a, b)]
    for flag, arm, side in (("--a", a, sides[0]), ("--b", b, sides[1])):
        if side.empty:
            raise NoPairs(f"no completed run matches {flag} {arm_text(arm)}")
        if side[metric].isna().all():
            raise NoPairs(f"no completed run of {flag} {arm_text(arm)} has a value of {metric}")
    pairing = pair(sides[0], sides[1], compared, identities(pd.concat(sides)), value=metric, arms=("a", "b"))
    _name_unusable(df, a, b, pairing)
    if pairing.pairs.empty:
        raise NoPairs(f"no pairs: no run of --b {arm_text(b)} has the seed and settings of a run of "
                           f"--a {arm_text(a)}; {pairing.unpaired_line()}")
    rows = [{"group": group, **paired(part["delta"], boot, seed).record()}
            for group, part in pairing.pairs.groupby("group", sort=True)]
    return pd.DataFrame(rows, columns=CSV_COLUMNS), pairing


def _name_unusable(df: pd.DataFrame, a: dict, b: dict, pairing: Pairing) -> None:
    """Runs of an arm that did not complete (failed, unfinished, unreadable) join the unpaired line;
    reruns that a later attempt replaced are one measurement, not a run left out."""
    live = df[~df["superseded"].astype(bool) & ~df["ok"].astype(bool)]
    extra = [{"run_dir": r.run_dir, "arm": arm, "seed": r.seed, "reason": r.status}
             for arm, want in (("a", a), ("b", b)) for r in live[mask(live, want)].itertuples()]
    if extra:
        pairing.unpaired = pd.concat([pairing.unpaired, pd.DataFrame(extra)], ignore_index=True)


def _interval(low: float, high: float, n: int) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"undefined (n={n})"
    return f"[{low:+.2f}, {high:+.2f}]"


def render(table: pd.DataFrame) -> str:
    """The per-group lines as a fixed-width text table."""
    shown = pd.DataFrame({
        "group": table["group"],
        "n": table["n"],
        "mean b−a": table["mean_delta"].map("{:+.2f}".format),
        "95% t-interval": [_interval(lo, hi, n) for lo, hi, n in zip(table["ci_low"], table["ci_high"], table["n"])],
        "bootstrap 95%": [_interval(lo, hi, n) for lo, hi, n in zip(table["boot_low"], table["boot_high"], table["n"])],
        "wins (b>a)": [f"{w}/{n}" for w, n in zip(table["wins"], table["n"])],
    })
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        return shown.to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m analysis.compare",
                        "Paired differences b − a between two arms, run by run (same seed, same settings).")
    parser.add_argument("--a", required=True, metavar="ARM",
                        help="KEY=VALUE[,KEY=VALUE…] or an arm name (none, online, offline, spaced1.5, ahead1)")
    parser.add_argument("--b", required=True, metavar="ARM", help="the other arm; differences are b − a")
    parser.add_argument("--metric", default=DEFAULT_METRIC,
                        help="summary metric, or <role>_lastk_acc (mean of the last k epochs); default student_acc")
    parser.add_argument("--last-k", type=int, default=DEFAULT_K, help=f"k of <role>_lastk_acc (default {DEFAULT_K})")
    parser.add_argument("--csv", help=f"write the groups to this CSV ({', '.join(CSV_COLUMNS)})")
    parser.add_argument("--pairs", action="store_true", help="also list every pair (seed, a, b, b − a)")
    parser.add_argument("--boot", type=int, default=BOOT, help=f"bootstrap resamples (default {BOOT}, seeded)")

    def body(args) -> int:
        try:
            a, b = parse_arm(args.a, "--a"), parse_arm(args.b, "--b")
        except PairingError as exc:
            raise cli.CliError(str(exc)) from None
        df = cli.load(args)
        if is_lastk(args.metric):
            try:
                df = add_lastk(df, args.last_k)
            except ValueError as exc:
                raise cli.CliError(str(exc)) from None
        try:
            table, pairing = compare(df, a, b, args.metric, args.boot)
        except PairingError as exc:
            raise cli.CliError(str(exc), cli.EXIT_DATA if isinstance(exc, NoPairs) else cli.EXIT_USAGE) from None
        except ValueError as exc:
            raise cli.CliError(str(exc)) from None
        note = f"; {describe(args.metric, args.last_k)}" if is_lastk(args.metric) else ""
        print(f"b − a of {args.metric}{note}\n  a: {arm_text(a)}\n  b: {arm_text(b)}")
        print(render(table))
        if args.pairs:
            with pd.option_context("display.width", 250, "display.max_colwidth", 200):
                print(pairing.pairs.assign(seed=pairing.pairs["seed"].astype(int)).to_string(index=False))
        if args.csv:
            table.to_csv(args.csv, index=False)
        line = pairing.unpaired_line()
        if line:
            print(f"warning: {line}", file=sys.stderr)
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
