"""Has a run's test accuracy stopped rising? The plateau criterion a study states before it compares arms.

For a per-epoch test-accuracy curve of E evaluated epochs, with w = ⌊E · fraction⌋ (at least 1;
fraction = 1/5 by default):

    before = mean of epochs E−2w+1 … E−w     last = mean of epochs E−w+1 … E
    change = last − before                   plateaued  ⇔  |change| < tol (0.5 points by default)

i.e. "the test accuracy changed by less than 0.5 points over the last fifth of the epochs",
comparing window means so that one epoch's swing does not decide it. The command applies it to
the seed-mean curve of each group of runs (one group per setting that varies, seeds pooled: the
mean over seeds is what a table compares) and also prints the range of the per-seed changes:

    python -m analysis.plateau ROOT… [--where kd=none] [--role student] [--fraction 0.2] [--tol 0.5] [--strict]

``--strict`` exits 1 when a group has not plateaued.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import pandas as pd

from . import cli
from .collect import read_metrics, usable
from .lastk import epoch_curve
from .pairs import groups, identities

FRACTION = 0.2
TOL = 0.5


@dataclass(frozen=True)
class Plateau:
    epochs: int
    window: int
    before: float
    last: float
    tol: float

    @property
    def change(self) -> float:
        return self.last - self.before

    @property
    def plateaued(self) -> bool:
        return abs(self.change) < self.tol


def plateau(curve: pd.Series | list[float], fraction: float = FRACTION, tol: float = TOL) -> Plateau:
    """The criterion of the module docstring on one per-epoch curve (ValueError under 2 epochs)."""
    values = pd.Series(curve, dtype=float).dropna().to_numpy()
    if not 0 < fraction <= 0.5:
        raise ValueError(f"--fraction {fraction}: choose a fraction in (0, 0.5]")
    w = max(1, math.floor(len(values) * fraction + 1e-9))
    if len(values) < 2 * w or len(values) < 2:
        raise ValueError(f"a plateau needs at least 2 evaluated epochs; this curve has {len(values)}")
    return Plateau(len(values), w, float(values[-2 * w:-w].mean()), float(values[-w:].mean()), tol)


def plateau_table(df: pd.DataFrame, role: str = "student", fraction: float = FRACTION,
                  tol: float = TOL) -> pd.DataFrame:
    """One row per group of usable runs: the criterion on the seed-mean curve, per-seed change range."""
    runs = usable(df)
    curves = {r: epoch_curve(read_metrics(r), role) for r in runs["run_dir"]}
    curves = {r: c for r, c in curves.items() if len(c) >= 2}
    label = groups(curves, identities(runs[runs["run_dir"].isin(curves)]))
    out = []
    for name in sorted(set(label.values())):
        members = [r for r in curves if label[r] == name]
        mean_curve = pd.concat([curves[r] for r in members], axis=1, join="inner").mean(axis=1)
        per_seed = [plateau(curves[r], fraction, tol).change for r in members]
        p = plateau(mean_curve, fraction, tol)
        out.append({"group": name, "runs": len(members), "epochs": p.epochs, "window": p.window,
                    "before": p.before, "last": p.last, "change": p.change, "plateaued": p.plateaued,
                    "seed_change_min": min(per_seed), "seed_change_max": max(per_seed)})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m analysis.plateau",
                        "Has the test accuracy plateaued? |mean of the last fifth − mean of the fifth before| < tol.")
    parser.add_argument("--role", default="student", help="whose curve (student, teacher, ensemble …)")
    parser.add_argument("--fraction", type=float, default=FRACTION, help="window as a fraction of the epochs")
    parser.add_argument("--tol", type=float, default=TOL, help="largest change (points) that counts as a plateau")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a group has not plateaued")

    def body(args) -> int:
        df = cli.load(args)
        try:
            table = plateau_table(df, args.role, args.fraction, args.tol)
        except ValueError as exc:
            raise cli.CliError(str(exc)) from None
        if table.empty:
            raise cli.CliError(f"no completed run has a {args.role} test curve of 2 epochs or more", cli.EXIT_DATA)
        shown = table.assign(plateaued=table["plateaued"].map({True: "yes", False: "no"}))
        print(f"plateau: |mean of the last w epochs − mean of the w before| < {args.tol:g} points, "
              f"w = ⌊{args.fraction:g} × epochs⌋ ({args.role} test accuracy, seed-mean curve of each group)")
        with pd.option_context("display.width", 200, "display.max_colwidth", 80,
                               "display.float_format", "{:.2f}".format):
            print(shown.to_string(index=False))
        code = cli.finish(df)
        if args.strict and not table["plateaued"].all():
            print(f"error: {int((~table['plateaued']).sum())} group(s) have not plateaued", file=sys.stderr)
            return code or cli.EXIT_DATA
        return code

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
