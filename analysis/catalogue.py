"""The paper's tables as data: one `Spec` per table in `SPECS`.

A spec says which runs feed each column (a filter on the collected frame, see
`analysis.collect`), which tidy keys make a row, how rows and columns are laid out, which
metric the table compares, and what to print under it. Columns that depend on the spaced
interval or on the runs present (Tab. 6) are small functions referenced from the spec;
`make_spec` resolves them into a concrete spec for one frame.

One accuracy rule per table: the number the release logs for the pipeline that made the table.
Every release pipeline logs each epoch's test accuracy and keeps a running best, the one number it
singles out: online KD (online_KD/train_space.py: `best_acc`), the ViTs (vit/pycls: `min_top1_err`),
self KD (self_KD/train.py: `Best_acc`, the heads' ensemble). So the tables compare the best over
epochs (`*_best_acc`); `last_epoch` gives the last epoch's number beside it (``--last-epoch``).
Tab. 4's methods are not the release's and keep the last epoch.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd

from .labels import interval_label
from .select import mask

DEFAULT_METRIC = "student_best_acc"
# The recipe that produced the paper's numbers: the authors' released code (README "Paper vs release").
RELEASE_RECIPE = "official"
BEST_NOTE = ("best test accuracy over epochs, what the release logs (online-KD ResNets: train_space.py's best_acc; "
             "DeiT/PiT: pycls's min_top1_err)")


def last_epoch(metric: str) -> str:
    """The last-epoch counterpart of a best-over-epochs metric (student_best_acc → student_acc)."""
    if metric == RELEASE_METRIC:  # Tab. 4's per-method rule: every row at its last epoch
        return "student_acc"
    return metric.replace("_best_acc", "_acc")


@dataclass(frozen=True)
class Col:
    """One column: runs matching ``select`` (on the collected frame), or a Δ of two columns."""

    label: str
    select: dict[str, Any] = field(default_factory=dict)
    metric: Callable[[str], str] | None = None  # maps the table's metric to this column's
    delta: tuple[str, str] | None = None  # (a, b): b − a


Columns = Callable[[pd.DataFrame, float], list[Col]]  # (runs, interval s) → the columns


@dataclass(frozen=True)
class Spec:
    number: int
    title: str  # "{s}" is replaced by the interval
    keys: list[str]  # tidy key columns (besides "column")
    index: list[str]  # keys laid out as rows (may include "column")
    header: list[str]  # keys laid out as columns (may include "column")
    columns: Columns
    interval: float = 1.5  # the "w/ Ours" interval unless --interval says otherwise
    metric: str = DEFAULT_METRIC
    metric_note: str = BEST_NOTE  # the table's accuracy rule and its source, printed under the table
    base: dict[str, Any] = field(default_factory=dict)  # every column's runs also match this
    long: str = "runs"  # runs | corruptions | bim
    intensities: tuple[float, ...] | None = None  # corruption severities the table shows
    group_names: dict[str, str] = field(default_factory=dict)  # teacher-group labels as this table prints them
    rows_from: tuple[str, ...] = ()  # only rows with runs of these kd values (empty: rows of any column)
    paper_recipe: str = RELEASE_RECIPE  # the recipe of the paper's numbers: only its cells go beside them
    note: str = ""
    cols: tuple[Col, ...] = ()  # filled by make_spec
    # (row keys, the table's metric) → the metric that row reads, where rows differ (Tab. 4)
    row_metric: Callable[[dict[str, Any], str], str] | None = None


# ---------------------------------------------------------------- column builders

PEER_SAME = {"kd_mode": "peer", "teacher_same": True}
OTHER_TEACHER = {"kd_mode": "peer", "teacher_same": False}  # Tab. 1 holds the own-architecture teacher


def teacher_metric(metric: str) -> str:
    """The teacher's own accuracy in the runs that distil from it (Tab. 8's Baseline)."""
    return metric.replace("student", "teacher") if metric.startswith("student") else "teacher_acc"


def plain_network_metric(metric: str) -> str:
    """A network trained without KD has no heads to ensemble: its own accuracy stands in."""
    return metric.replace("ensemble", "student")


def main_columns(mode: str, labels: Sequence[str] = ("w/o KD", "w/o Ours", "w/ Ours", "Δ")) -> Columns:
    """w/o KD · online (or self) KD · spaced KD at s · Δ (Tab. 1, 2, 7)."""
    def build(df: pd.DataFrame, s: float) -> list[Col]:
        kd_common = {"kd_mode": mode, "teacher_same": True}
        return [
            Col(labels[0], {"kd": "none"}, metric=plain_network_metric),
            Col(labels[1], {"kd": "online", **kd_common}),
            Col(labels[2], {"kd": "spaced", "interval": s, "full_period": True, **kd_common}),
            Col(labels[3], delta=(labels[1], labels[2])),
        ]
    return build


def versus_columns(labels: Sequence[str] | None = None) -> Columns:
    """online KD · spaced KD at s · Δ (Tab. 3, 5, 11, 12); ``labels=None``: w/o · w/<s> · Δ."""
    def build(df: pd.DataFrame, s: float) -> list[Col]:
        a, b, d = labels or ("w/o", f"w/{interval_label(s)}", "Δ")
        return [
            Col(a, {"kd": "online", **PEER_SAME}),
            Col(b, {"kd": "spaced", "interval": s, "full_period": True, **PEER_SAME}),
            Col(d, delta=(a, b)),
        ]
    return build


def method_columns(df: pd.DataFrame, s: float) -> list[Col]:
    """Tab. 4: each method's w/o KD (its pipeline, no KD; DLB and PSKD: the network the method trains),
    KD (the method's own schedule: offline for BAN and TAKD, online for the rest) and spaced."""
    return [Col("w/o KD", {"kd": "none"}), Col("KD", {"own_kd": True, "kd": ["online", "offline"]}),
            Col("w/ Ours", {"kd": "spaced", "interval": s, "full_period": True}), Col("Δ", delta=("KD", "w/ Ours"))]


# Tab. 4: each method's accuracy as its release reports it (docs/methods.md): the best epoch's
# (TAKD, DLB and PSKD keep and report their best test accuracy) or the last epoch's (SHAKE says so;
# DML's code evaluates its last checkpoint; BAN's paper does not say). --metric picks one for all.
RELEASE_METRIC = "student_release_acc"
RELEASE_RULE = {"TAKD": "best", "DLB": "best", "PSKD": "best", "BAN": "last", "DML": "last", "SHAKE": "last"}


def release_metric(row: dict[str, Any], metric: str) -> str:
    if metric != RELEASE_METRIC:
        return metric
    return "student_best_acc" if RELEASE_RULE.get(row.get("method")) == "best" else "student_acc"


def _present(df: pd.DataFrame, kd: str, extra: Sequence[float]) -> list[float]:
    """Intervals run with ``kd`` (peer mode, own-architecture teacher, whole training) ∪ extra."""
    mine = mask(df, {"kd": kd, **PEER_SAME, "full_period": True})
    found = df.loc[mine, "interval"].dropna() if "interval" in df.columns else []
    values = {float(v) for v in found if math.isfinite(v)} | set(extra)
    return sorted(values)


def interval_columns(df: pd.DataFrame, s: float) -> list[Col]:
    """Tab. 6: every spaced interval that was run, at least the paper's 0.5–2.0."""
    cols = [Col("Baseline", {"kd": "none"}), Col("w/o", {"kd": "online", **PEER_SAME})]
    for x in _present(df, "spaced", [0.5, 1.0, 1.5, 2.0]):
        cols.append(Col(f"w/{interval_label(x)}", {"kd": "spaced", "interval": x, "full_period": True, **PEER_SAME}))
    cols.append(Col("w/max", {"kd": "offline", **PEER_SAME}))
    return cols


AHEAD_INTERVALS = (0.5, 1.0, 1.5, 2.0, 2.5)  # Tab. 10's columns, as the paper prints them


def ahead_columns(df: pd.DataFrame, s: float) -> list[Col]:
    """Tab. 10: 0 = online KD, then a teacher a constant s epochs ahead."""
    return [Col("0", {"kd": "online", **PEER_SAME})] + [
        Col(f"{x:g}", {"kd": "ahead", "interval": x, **PEER_SAME}) for x in AHEAD_INTERVALS]


def teacher_columns(df: pd.DataFrame, s: float) -> list[Col]:
    """Tab. 8: the teacher alone · online KD · spaced KD, for teachers other than the student's own."""
    return [Col("Baseline", {"kd": "online", **OTHER_TEACHER}, metric=teacher_metric),
            Col("Online KD", {"kd": "online", **OTHER_TEACHER}),
            Col("Spaced KD", {"kd": "spaced", "interval": s, "full_period": True, **OTHER_TEACHER})]


def offline_columns(df: pd.DataFrame, s: float) -> list[Col]:
    """Tab. 9: offline KD · spaced KD."""
    return [Col("Offline KD", {"kd": "offline", **OTHER_TEACHER}),
            Col("Spaced KD", {"kd": "spaced", "interval": s, "full_period": True, **OTHER_TEACHER})]


# ---------------------------------------------------------------- the catalogue

ROWS = ["dataset", "network"]
TEACHER_ROWS = ["dataset", "network", "group", "teacher"]

SPECS: dict[int, Spec] = {
    1: Spec(1, "Table 1: Overall performance of online KD (%), spaced interval {s} epochs.",
            ROWS, ROWS, ["column"], main_columns("peer"),
            note="w/o KD: kd=none; w/o Ours: kd=online; w/ Ours: kd=spaced; Δ = w/ Ours − w/o Ours. "
                 "In three rows the paper's w/ Ours is Tab. 6's best interval, not w/1.5 "
                 "(see the notes in analysis/paper_values.csv and docs/analysis.md)."),
    2: Spec(2, "Table 2: Overall performance of self KD (%), spaced interval {s} epochs.",
            ROWS, ROWS, ["column"], main_columns("self"), interval=4.0,
            metric="ensemble_best_acc",
            metric_note="best test accuracy over epochs of the heads' ensemble, the number the release "
                        "reports (self_KD/train.py's Best_acc; the paper does not say); w/o KD: the plain "
                        "network's student_best_acc",
            note="kd_mode=self."),
    3: Spec(3, "Table 3: Spaced KD with different KD loss functions (%), interval {s} epochs.",
            ROWS + ["feature"], ROWS + ["feature"], ["column"], versus_columns(("w/o Ours", "w/ Ours", "Δ")),
            metric_note="best test accuracy over epochs, what the release's online-KD script logs "
                        "(train_space.py's best_acc)",
            note="Rows: the feature term (loss.feature), which is what the release's loss flag and the "
                 "table3 sweep vary, under recipe=official."),
    4: Spec(4, "Table 4: Spaced KD added to KD methods (%), interval {s} epochs.",
            ROWS + ["method"], ROWS + ["method"], ["column"], method_columns,
            metric=RELEASE_METRIC, row_metric=release_metric,
            metric_note="each row by its method's release: best epoch (student_best_acc) for TAKD, DLB, "
                        "PSKD; last epoch (student_acc) for BAN, DML, SHAKE and rows without a method; "
                        "--metric student_acc or student_best_acc applies one rule to every row",
            paper_recipe="default",  # each method's own pipeline, not the release's (config refuses official)
            note="Rows: method (conf/method, docs/methods.md); w/o KD: kd=none in the method's pipeline; "
                 "KD: the method as published (method.kd: offline for BAN and TAKD, online else); "
                 "w/ Ours: kd=spaced. A row without a method is the paper's own online / self KD."),
    5: Spec(5, "Table 5: Accuracy under image corruption at intensity 1.0 (%). Interval {s} epochs.",
            ROWS + ["attack", "intensity"], ["dataset", "attack", "intensity"], ["network", "column"],
            versus_columns(("w/o Ours", "w/ Ours", "Δ")), long="corruptions", intensities=(1.0,),
            note="Values from probes.json corruptions; w/o Ours: kd=online, w/ Ours: kd=spaced."),
    6: Spec(6, "Table 6: Overall performance of different intervals (%).", ROWS, ROWS, ["column"],
            interval_columns,
            note="Baseline: kd=none; w/o: online KD; w/s: spaced KD at interval s epochs; w/max: offline KD."),
    7: Spec(7, "Table 7: Performance of DeiT-Tiny on ImageNet-1K (%), spaced interval {s} epochs.",
            ROWS, ROWS, ["column"], main_columns("peer"), base={"dataset": "ImageNet-1K", "network": "DeiT-Tiny"},
            note="w/o KD: kd=none; w/o Ours: kd=online; w/ Ours: kd=spaced. The paper prints this table as "
                 "an image, so its values are not in paper_values.csv."),
    8: Spec(8, "Table 8: Students distilled from different teachers (%), interval {s} epochs.",
            TEACHER_ROWS, TEACHER_ROWS, ["column"], teacher_columns,
            metric_note="best test accuracy over epochs, what the release's online-KD script logs for its "
                        "student (train_space.py's best_acc); Baseline: the teacher's, by the same rule",
            note="Baseline: the teacher trained alone (the teacher's accuracy in the online-KD runs; it "
                 "learns from labels only)."),
    9: Spec(9, "Table 9: Spaced KD vs offline KD for different teachers (%), interval {s} epochs.",
            TEACHER_ROWS, TEACHER_ROWS, ["column"], offline_columns,
            base={"network": "ResNet-18",
                  "teacher": ["ResNet-18×2", "ResNet-18×4", "ResNet-18×8", "DeiT-Tiny", "PiT-Tiny"]},
            group_names={"Width": "Size"},
            metric_note="best test accuracy over epochs, what the release's online-KD script logs "
                        "(train_space.py's best_acc)",
            note="A ResNet-18 student; Offline KD: kd=offline (the teacher trains to the end first)."),
    10: Spec(10, "Table 10: Student distilled from a teacher a constant s epochs ahead (%).",
             ROWS, ROWS, ["column"], ahead_columns, rows_from=("ahead",),
             metric_note="best test accuracy over epochs, as the release's online-KD script logs it "
                         "(train_space.py's best_acc; kd=ahead is not in the release)",
             note="Columns: interval s in epochs; 0 = online KD, others kd=ahead. Rows: where kd=ahead was run."),
    11: Spec(11, "Table 11: Accuracy under image corruption at other intensities (%). Interval {s} epochs.",
             ROWS + ["attack", "intensity"], ["dataset", "attack", "intensity"], ["network", "column"],
             versus_columns(("w/o Ours", "w/ Ours", "Δ")), long="corruptions", intensities=(3.0, 5.0),
             note="Severities 3 and 5, as the paper shows (1.0 is Tab. 5); values from probes.json."),
    12: Spec(12, "Table 12: Accuracy after the BIM adversarial attack (%), interval {s} epochs.",
             ROWS, ["column"], ["dataset", "network"], versus_columns(), long="bim",
             note="Values: probes.json bim.robust_acc; w/o: kd=online."),
}

TABLES = tuple(sorted(SPECS))


def defines_rows(spec: Spec, col: Col) -> bool:
    """Whether ``col``'s runs open rows of their own (Tab. 10: only the kd=ahead columns do, so
    online runs of networks never run ahead add no empty rows)."""
    return not col.delta and (not spec.rows_from or col.select.get("kd") in spec.rows_from)


def make_spec(number: int, df: pd.DataFrame, interval: float | None = None) -> Spec:
    """Table ``number`` resolved for the runs in ``df``: its columns built and its title filled in."""
    if number not in SPECS:
        raise ValueError(f"table {number} is not rebuilt; choose one of {', '.join(map(str, TABLES))}")
    spec = SPECS[number]
    s = float(interval) if interval is not None else spec.interval
    return dataclasses.replace(spec, interval=s, title=spec.title.format(s=f"{s:g}"),
                               cols=tuple(spec.columns(df, s)))
