"""``analysis.tables --paired``: Δ columns from paired runs, with their 95 % intervals.

A table built with ``paired=True`` gets a Δ column for each comparison the paper's claim is made
of, beside the Δ columns the table already has:

* KD − no KD: every online column − the baseline (kd=none) column (Tab. 6: ``w/o − Baseline``);
* spaced − online: every spaced (and offline, Tab. 6's ``w/max``) column − the online column;
* spaced − no KD: the spaced column at the table's interval (``--interval``, default 1.5) − the
  baseline column.

Every Δ cell — added or already there — is then computed with the pairing of `analysis.compare`
(`analysis.pairs`: the same seed and the same settings but those the two columns select on) and
shows the mean difference, its 95 % t-interval and the pairs where the later column is higher:
``+1.00 [-1.48, +3.48] (n=3; wins 2/3)``. The CSV format also carries the bootstrap interval.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from .catalogue import Col, Spec
from .paired_stats import paired
from .pairs import PairingError, compared_keys, pair

PAIRED_COLUMNS = ["ci_low", "ci_high", "boot_low", "boot_high", "wins"]


def _kd(col: Col) -> Any:
    return col.select.get("kd")


def paired_spec(spec: Spec) -> Spec:
    """``spec`` with the Δ columns of the module docstring added after its own columns."""
    cols = list(spec.cols)
    have = {c.delta for c in cols if c.delta}
    base = [c for c in cols if not c.delta and _kd(c) == "none"]
    online = [c for c in cols if not c.delta and _kd(c) == "online" and c.metric is None]
    later = [c for c in cols if not c.delta and _kd(c) in ("spaced", "offline")]
    at_s = [c for c in later if _kd(c) == "spaced" and math.isclose(float(c.select.get("interval", math.nan)),
                                                                     spec.interval)]
    wanted = ([(a, b) for a in base for b in online] + [(a, b) for a in online for b in later]
              + [(a, b) for a in base for b in at_s])
    for a, b in wanted:
        if (a.label, b.label) not in have:
            cols.append(Col(f"{b.label} − {a.label}", delta=(a.label, b.label)))
            have.add((a.label, b.label))
    return dataclasses.replace(spec, cols=tuple(cols))


def paired_delta(col: Col, spec: Spec, by_label: dict[str, pd.DataFrame], where_key: dict[str, Any],
                 idents: dict[str, dict[str, Any]], row: str) -> tuple[dict[str, Any], str | None]:
    """One Δ cell from paired runs (``by_label``: each column's usable runs with a ``value``),
    and a warning naming the runs that found no partner (or why the pairing failed), or None."""
    first, second = col.delta
    selects = {c.label: c.select for c in spec.cols}
    keys = set(selects.get(first, {})) | set(selects.get(second, {}))
    a, b = by_label[first], by_label[second]
    deltas: list[float] = []
    seeds: list[Any] = []
    warning = None
    if len(a) and len(b):
        try:
            pairing = pair(a, b, compared_keys(keys), idents, arms=(first, second))
            deltas = pairing.pairs["delta"].tolist()
            seeds = sorted(pairing.pairs["seed"].astype(int).tolist())
            line = pairing.unpaired_line()
            warning = f"{row} · {col.label}: {line}" if line else None
        except PairingError as exc:
            warning = f"{row} · {col.label}: {exc}"
    stats = paired(deltas)
    std = float(pd.Series(deltas, dtype=float).std(ddof=1)) if len(deltas) > 1 else math.nan
    record = {**where_key, "column": col.label, "mean": stats.mean_delta, "std": std, "n": stats.n,
              "n_failed": 0, "n_unfinished": 0, "n_unreadable": 0, "n_novalue": 0, "kind": "delta",
              "seeds": ",".join(str(s) for s in seeds),
              **{k: getattr(stats, k) for k in PAIRED_COLUMNS}}
    return record, warning
