"""Pairing runs that differ only in the settings being compared (the same seed, the same everything else).

Arms share seeds, data order and the teacher's trajectory, so two arms are compared run by run:
a run of arm *a* is paired with the run of arm *b* that has the same seed and the same value for
every other identity key. The identity keys are the config's, minus the ones
`spaced_kd.config.NOT_IDENTITY` marks as not changing what a run computes (device, paths,
threads, logging …) and minus retired keys; a key an older version did not write counts as its
schema default, and 2 and 2.0 are one value.

A key that does not apply to one of the two runs is not compared (it has no value there):

* the teacher's settings (``teacher.*``) of a run without a separate teacher (kd=none, self KD);
* the KD loss (``loss.*``) of kd=none;
* the interval (``interval``, ``interval_unit``) of kd=none, online and offline;
* the critical-period window (``spaced.*``) of any kd but spaced.

So kd=none pairs with every KD run of its seed whatever their loss or teacher, as a baseline
belongs to every loss row of a table.

**Groups.** The identity keys that are neither compared nor the seed and that take several values
among the compared runs (recipe, model, epochs …) split the pairs into groups, one per value; a
group's label names only the keys needed to tell it apart (``recipe.name=official`` rather than
every ``recipe.*`` switch it sets). Within a group a run is in at most one pair; a run that would
pair twice makes the pairing ambiguous (`PairingError`).

**Arms** are written like ``--where`` (``kd.name=online``, ``interval=1.5``, ``teacher.init=same``,
one value per key, pairs separated by commas), or by the name of a ``conf/arm`` file: ``none``,
``online``, ``offline``, ``spaced1.5``, ``ahead2`` (``+arm=spaced1.5`` runs have kd.name=spaced
and interval=1.5).
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from spaced_kd.config import NOT_IDENTITY, RETIRED

from .collect import SCHEMA_DEFAULTS


class _NotApplicable:
    def __repr__(self) -> str:
        return "n/a"


NA = _NotApplicable()  # the value of a key that does not apply to a run (see the module docstring)

# Collected short columns → the identity keys they are made of. A dotted config key names itself.
SHORT_KEYS: dict[str, tuple[str, ...]] = {
    "kd": ("kd.name",), "kd_mode": ("kd_mode.name",),
    "model": ("model.name",), "model_width": ("model.width",), "network": ("model.name", "model.width"),
    "dataset": ("dataset.name",), "dataset_label": ("dataset.name",), "train_subset": ("dataset.train_subset",),
    "interval": ("interval",), "interval_raw": ("interval",), "interval_unit": ("interval_unit",),
    "start_epoch": ("spaced.start_epoch",), "end_epoch": ("spaced.end_epoch",),
    "full_period": ("spaced.start_epoch", "spaced.end_epoch"),
    "teacher": ("teacher.name",), "teacher_width": ("teacher.width",),
    "teacher_label": ("teacher.name", "teacher.width"), "teacher_same": ("teacher.name", "teacher.width"),
    "teacher_init": ("teacher.init",),
    "loss": ("loss.logit",), "logit_loss": ("loss.logit",), "feature_loss": ("loss.feature",),
    "temperature": ("loss.temperature",), "alpha": ("loss.alpha",), "beta": ("loss.beta",),
    "optim": ("optim.name",), "lr": ("optim.lr",), "scheduler": ("optim.scheduler",),
    "batch_size": ("trainer.batch_size",), "epochs": ("trainer.epochs",),
    "recipe": ("recipe.name",), "method": ("method.name",), "own_kd": ("method.kd", "kd.name"),
}

# The conf/arm files by name: none, online, offline, spaced<s>, ahead<s>.
ARM_NAME = re.compile(r"(?:arm=)?(none|online|offline|spaced|ahead)(\d+(?:\.\d*)?|\.\d+)?")

# The order in which group labels name keys (the rest follow alphabetically).
LABEL_ORDER = ("recipe.name", "dataset.name", "model.name", "model.width", "kd_mode.name", "kd.name",
               "interval", "teacher.name", "teacher.width", "teacher.init", "trainer.epochs")


class PairingError(ValueError):
    """Arms that cannot be compared as asked (one line for the user)."""


class NoPairs(PairingError):
    """The arms are well formed but the runs do not pair (none match, or ambiguously)."""


# ---------------------------------------------------------------- arms


def parse_arm(text: str, flag: str = "--a") -> dict[str, Any]:
    """``"kd=spaced,interval=1.5"`` or ``"spaced1.5"`` → {"kd": "spaced", "interval": 1.5}."""
    out: dict[str, Any] = {}
    for item in (part.strip() for part in str(text).split(",")):
        named = ARM_NAME.fullmatch(item)
        if named:
            kd, number = named.groups()
            if (number is None) == (kd in ("spaced", "ahead")):
                raise PairingError(f"{flag} {item}: {kd} arms are named "
                                   + (f"with their interval ({kd}1.5)" if number is None else "without a number"))
            pairs = [("kd", kd)] + ([("interval", float(number))] if number is not None else [])
        elif "=" in item and item.split("=", 1)[0].strip():
            key, _, raw = item.partition("=")
            pairs = [(key.strip(), yaml.safe_load(raw) if raw.strip() else None)]
        else:
            raise PairingError(f"{flag} wants KEY=VALUE[,KEY=VALUE…] or an arm name (none, online, offline, "
                               f"spaced1.5, ahead1), got {item!r}")
        for key, value in pairs:
            if key in out and out[key] != value:
                raise PairingError(f"{flag}: {key} is given twice ({out[key]!r} and {value!r})")
            out[key] = value
    return out


def arm_text(arm: dict[str, Any]) -> str:
    return ",".join(f"{k}={_show(v)}" for k, v in arm.items())


def compared_keys(columns: Iterable[str]) -> set[str]:
    """The identity keys behind the collected columns an arm names (PairingError for a column
    that is no setting: the seed, a metric, a key that is not part of a run's identity)."""
    out: set[str] = set()
    for column in columns:
        if column == "seed":
            raise PairingError("seed: runs are paired by seed, so arms cannot differ in it")
        if column in SHORT_KEYS:
            out.update(SHORT_KEYS[column])
        elif _is_identity(column):
            out.add(column)
        elif _volatile(column):
            raise PairingError(f"{column} is not part of a run's identity (spaced_kd.config.NOT_IDENTITY): runs "
                               f"that differ only there are reruns of one measurement, not two arms")
        else:
            raise PairingError(f"{column} is not a setting of a run (a config key or one of "
                               f"{', '.join(sorted(SHORT_KEYS))}); arms are compared by settings")
    return out


# ---------------------------------------------------------------- identities


def _volatile(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in NOT_IDENTITY)


_SECTIONS = {k.split(".")[0] for k in SCHEMA_DEFAULTS if "." in k}


def _is_identity(key: str) -> bool:
    """A config key that defines what a run computes (a key of a schema section written by another
    version counts too); the seed is paired on, not compared."""
    return (key in SCHEMA_DEFAULTS or key.split(".")[0] in _SECTIONS) and key != "seed" \
        and key not in RETIRED and not _volatile(key)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _canonical(value: Any) -> Any:
    """1 and 1.0 are one value (Hydra types `interval=1` as an int); numpy scalars are plain ones."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    return value


def identities(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """run_dir → {identity key: value, or `NA` where the key does not apply}, seed excluded.

    ``df`` is a collected frame (`analysis.collect.collect`): it holds every dotted config key."""
    keys = sorted({k for k in SCHEMA_DEFAULTS if _is_identity(k)}
                  | {c for c in df.columns if isinstance(c, str) and "." in c and _is_identity(c)})
    out: dict[str, dict[str, Any]] = {}
    for row in df.to_dict("records"):
        ident: dict[str, Any] = {}
        for key in keys:
            # top-level `interval` is a short, normalised column; the config's value is interval_raw
            value = row.get("interval_raw" if key == "interval" else key)
            ident[key] = _canonical(SCHEMA_DEFAULTS.get(key) if _missing(value) else value)
        out[str(row["run_dir"])] = _applicable(ident, row)
    return out


def _applicable(ident: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Mark the keys that do not apply to this run as `NA` and use the normalised ones."""
    kd = ident.get("kd.name")
    has_teacher = not _missing(row.get("teacher"))
    for key in ident:
        top = key.split(".")[0]
        if (top == "teacher" and not has_teacher) or (top == "loss" and kd == "none") \
                or (key in ("interval", "interval_unit") and kd not in ("spaced", "ahead")) \
                or (top == "spaced" and kd != "spaced"):
            ident[key] = NA
    if has_teacher:  # null = "the student's", filled in by collect
        ident["teacher.name"] = row.get("teacher")
        ident["teacher.width"] = _canonical(row.get("teacher_width"))
    if kd == "spaced":  # one window however it was written (end, length, or till the end)
        ident["spaced.start_epoch"] = _canonical(row.get("start_epoch"))
        ident["spaced.end_epoch"] = _canonical(row.get("end_epoch"))
        ident["spaced.length"] = NA
    return ident


# ---------------------------------------------------------------- pairing


@dataclass
class Pairing:
    """The pairs (one row each: group, seed, a_run, b_run, a, b, delta), the runs left without a
    partner (run_dir, arm, seed, reason) and the keys that define the groups."""

    pairs: pd.DataFrame
    unpaired: pd.DataFrame
    group_keys: list[str] = field(default_factory=list)

    def unpaired_line(self) -> str | None:
        """One line naming every run without a partner, or None."""
        if self.unpaired.empty:
            return None
        items = [f"{r.arm}: {r.run_dir} (seed {_show(r.seed)}: {r.reason})" for r in self.unpaired.itertuples()]
        n = len(items)
        return f"{n} run{'s' if n > 1 else ''} unpaired: " + "; ".join(items)


PAIR_COLUMNS = ["group", "seed", "a_run", "b_run", "a", "b", "delta"]
UNPAIRED_COLUMNS = ["run_dir", "arm", "seed", "reason"]


def _compatible(x: dict[str, Any], y: dict[str, Any], free: set[str]) -> bool:
    return not _differing(x, y, free)


def _differing(x: dict[str, Any], y: dict[str, Any], free: set[str]) -> list[str]:
    """Keys that keep two runs from pairing: not compared, applicable to both, different."""
    return [k for k, vx in x.items() if k not in free and vx is not NA and y.get(k, NA) is not NA
            and vx != y[k] and not (_missing(vx) and _missing(y[k]))]


def _why_alone(run: str, same_seed: list[str], idents: dict, free: set[str], other: str) -> str:
    """Why a run has no partner: no run of the other arm has its seed, or the closest one differs in …"""
    if not same_seed:
        return f"no {other} run with this seed"
    keys = min((_differing(idents[run], idents[o], free) for o in same_seed), key=len)
    return f"the {other} runs of this seed differ in {', '.join(keys)}" if keys else f"no {other} run left for it"


def _varying(idents: list[dict[str, Any]], free: set[str]) -> list[str]:
    """Keys (not free) with more than one applicable value among ``idents``, in label order."""
    seen: dict[str, set] = {}
    for ident in idents:
        for key, value in ident.items():
            if key not in free and value is not NA:
                seen.setdefault(key, set()).add(repr(value))
    keys = [k for k, v in seen.items() if len(v) > 1]
    return sorted(keys, key=lambda k: (LABEL_ORDER.index(k) if k in LABEL_ORDER else len(LABEL_ORDER), k))


def _label_keys(keys: list[str], values: list[tuple]) -> list[int]:
    """Indices of the keys a label needs: a key is kept only if it splits groups the kept ones don't."""
    kept: list[int] = []
    for i in range(len(keys)):
        before = {tuple(v[j] for j in kept) for v in values}
        after = {tuple(v[j] for j in kept + [i]) for v in values}
        if len(after) > len(before):
            kept.append(i)
    return kept


def groups(run_dirs: Iterable[str], idents: dict[str, dict[str, Any]]) -> dict[str, str]:
    """run_dir → its group label among ``run_dirs``: the identity keys (seed excluded) that vary
    among them, named as briefly as tells the groups apart ("all" when nothing varies)."""
    runs = list(run_dirs)
    keys = _varying([idents[r] for r in runs], set())
    values = {r: tuple(repr(idents[r].get(k, NA)) for k in keys) for r in runs}
    shown = _label_keys(keys, sorted(set(values.values())))
    return {r: ", ".join(f"{keys[i]}={_show(idents[r].get(keys[i], NA))}" for i in shown) or "all" for r in runs}


def pair(a: pd.DataFrame, b: pd.DataFrame, compared: set[str], idents: dict[str, dict[str, Any]],
         value: str = "value", arms: tuple[str, str] = ("a", "b")) -> Pairing:
    """Pair the runs of ``a`` with those of ``b`` (see the module docstring).

    ``a`` / ``b``: collected rows (run_dir, seed and the ``value`` column), usable runs only;
    runs without a value are listed as unpaired. ``compared``: identity keys the arms differ in
    (`compared_keys`). ``idents``: `identities` of (at least) these runs."""
    overlap = set(a["run_dir"]) & set(b["run_dir"])
    if overlap:
        raise PairingError(f"{len(overlap)} runs match both arms (e.g. {sorted(overlap)[0]}); make the arms exclusive")
    unpaired: list[dict[str, Any]] = []
    sides = []
    for arm, frame in zip(arms, (a, b)):
        rows = []
        for r in frame[["run_dir", "seed", value]].itertuples(index=False):
            if _missing(r[2]) or _missing(r[1]):
                unpaired.append({"run_dir": r[0], "arm": arm, "seed": r[1],
                                 "reason": "no seed" if _missing(r[1]) else f"no {value}"})
            else:
                rows.append((str(r[0]), float(r[1]), float(r[2])))
        sides.append(rows)
    free = set(compared)
    group_keys = _varying([idents[r[0]] for side in sides for r in side], free)
    candidates: list[tuple[tuple, tuple, tuple]] = []  # (label values, a row, b row)
    by_seed: dict[float, list] = {}
    for row in sides[1]:
        by_seed.setdefault(row[1], []).append(row)
    for ra in sides[0]:
        ia = idents[ra[0]]
        for rb in by_seed.get(ra[1], []):
            ib = idents[rb[0]]
            if _compatible(ia, ib, free):
                label = tuple(repr(_side_value(ia, ib, k)) for k in group_keys)
                candidates.append((label, ra, rb))
    _refuse_ambiguity(candidates, idents, free, arms)
    labels = sorted({c[0] for c in candidates})
    shown = _label_keys(group_keys, labels)
    records = []
    for label, ra, rb in candidates:
        parts = [f"{group_keys[i]}={_show(_side_value(idents[ra[0]], idents[rb[0]], group_keys[i]))}" for i in shown]
        records.append({"group": ", ".join(parts) or "all", "seed": ra[1], "a_run": ra[0], "b_run": rb[0],
                        "a": ra[2], "b": rb[2], "delta": rb[2] - ra[2]})
    paired = {c[1][0] for c in candidates} | {c[2][0] for c in candidates}
    for i, (arm, side) in enumerate(zip(arms, sides)):
        others = {}
        for run, seed, _ in sides[1 - i]:
            others.setdefault(seed, []).append(run)
        for run, seed, _ in side:
            if run not in paired:
                unpaired.append({"run_dir": run, "arm": arm, "seed": seed,
                                 "reason": _why_alone(run, others.get(seed, []), idents, free, arms[1 - i])})
    pairs = pd.DataFrame(records, columns=PAIR_COLUMNS).sort_values(["group", "seed"], kind="stable")
    return Pairing(pairs.reset_index(drop=True), pd.DataFrame(unpaired, columns=UNPAIRED_COLUMNS),
                   [group_keys[i] for i in shown])


def _side_value(ia: dict[str, Any], ib: dict[str, Any], key: str) -> Any:
    """A group key's value for a pair: b's, or a's where it does not apply to b (kd=none's loss)."""
    value = ib.get(key, NA)
    return ia.get(key, NA) if value is NA else value


def _refuse_ambiguity(candidates, idents, free, arms) -> None:
    for side, arm, other in ((1, arms[0], arms[1]), (2, arms[1], arms[0])):
        partners: dict[tuple, list[str]] = {}
        for c in candidates:
            partners.setdefault((c[0], c[side][0]), []).append(c[3 - side][0])
        for (_, run), found in partners.items():
            if len(found) > 1:
                x, y = idents[found[0]], idents[found[1]]
                differ = sorted(k for k in x if x[k] != y.get(k)) or ["nothing but their folder"]
                raise NoPairs(
                    f"ambiguous pairs: {arm} run {run} matches {len(found)} {other} runs of its seed that differ "
                    f"only in {', '.join(differ)} ({found[0]}, {found[1]}); name the value in the arms or --where")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)
