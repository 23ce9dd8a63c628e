"""Sweep roots or run directories → a tidy DataFrame, one row per run.

Reads only the run-directory contract, through `spaced_kd.rundir` (which owns the file names,
run discovery and the readers; see docs/analysis.md):

    <run>/.hydra/config.yaml     the composed config (used when summary.json is absent or unreadable)
    <run>/.hydra/overrides.yaml  the command-line overrides, kept verbatim in `overrides`
    <run>/metrics.jsonl          one evaluation per line (used for unfinished runs and curves)
    <run>/summary.json           status, final metrics, resolved config — written last
    <run>/probes.json            optional: flatness, corruptions, BIM, Hessian

A sweep's sub-directory names are never parsed: they changed (``k1=v1,k2=v2/seed=n`` before,
``k1-v1__k2-v2/seed-n`` now), and the overrides are in ``.hydra/overrides.yaml`` either way.

Columns
-------
* short config columns: model, model_width, network (paper label), teacher, teacher_width,
  teacher_label, teacher_same, teacher_init, teacher_target_mode, dataset, dataset_label, train_subset, kd, kd_mode, interval,
  interval_raw, interval_unit, start_epoch, end_epoch, full_period, loss, logit_loss,
  feature_loss, temperature, alpha, beta, optim, lr, scheduler, batch_size, epochs, recipe, method,
  seed;
* every key of the resolved config, flattened with dots (``optim.momentum``, ``dataset.val_fraction``);
* every metric of ``summary.metrics`` under its own name (``student_acc``, ``teacher_best_acc`` …),
  and summary.json's other scalar facts (``device``, ``total_steps`` …);
* probe scalars as ``probe.*`` (``probe.bim_robust_acc``, ``probe.corruption.snow@3.0`` …);
* run facts: status, ok, error, wall_s, steps, steps_per_epoch, interval_steps, epochs_done,
  version, overrides (verbatim), overridden (their keys), config_id, run_dir, root, finished_at,
  superseded, superseded_by.

Normalisation (so that grouping works)
--------------------------------------
* ``interval``: NaN for kd=none (no teacher), 0 for kd=online (a teacher 0 steps ahead), +inf for
  kd=offline (Tab. 6's "max"); the configured value for spaced and ahead. ``interval_raw`` keeps
  the config value.
* ``start_epoch`` / ``end_epoch``: the critical-period window for kd=spaced, ``end_epoch`` = +inf
  when it runs to the end; NaN for other kd. ``full_period`` is True unless a spaced run is
  restricted to a window.
* ``teacher`` / ``teacher_width``: null in the config means "same as the student" and is filled
  in; both are None for kd=none and kd_mode=self (there is no separate teacher).
* ``end_epoch`` also comes from ``spaced.length`` (a window given by its length).
* KD-loss settings (loss, logit_loss, feature_loss, temperature, alpha, beta) are None/NaN for
  kd=none: a baseline has no KD loss, so it belongs to every loss setting's row.
* ``loss`` / ``logit_loss`` are ``loss.logit``; runs written before ``loss.name`` was retired
  that lack ``loss.logit`` fall back to ``loss.name`` (the read shim for old run directories).
* ``recipe``: a run written before recipes existed counts as the schema's default recipe.

Status
------
``status`` is summary.json's value (completed | failed | killed | running), ``no_summary`` when
the run never wrote one (killed before the sweep could record it, still starting, or crashed
hard), or ``unreadable`` when summary.json exists but is damaged (``error`` then names the file;
such a run is never shown as merely unfinished). Without a readable summary the metrics come from
metrics.jsonl (last and best test accuracy per role). ``ok`` is status == completed. Nothing is
dropped.

Rerun rule
----------
Runs whose configs agree on everything that can change the result (``config_id``: the normalised
config including the seed, minus the keys `spaced_kd.config.NOT_IDENTITY` lists — the same
definition a resume uses — and minus retired keys; a key an older version did not write counts as
its schema default) are attempts at the same measurement. One is kept, the others get ``superseded=True``:

1. if any attempt completed, the newest completed attempt wins;
2. otherwise the newest attempt wins (so a retry in flight shows as running, not failed).

"Newest" is the modification time of summary.json (else metrics.jsonl, else the run dir); a tie
goes to the lexicographically last path. A repeat is not averaged in: with a fixed seed it is the
same sample again, usually re-run after a fix.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import yaml

from spaced_kd import rundir
from spaced_kd.config import NOT_IDENTITY, RETIRED, Config

from .labels import dataset_label, network_label

STATUS_ORDER = ["completed", "failed", "killed", "running", "no_summary", "unreadable"]
UNREADABLE = "unreadable"

# Old run directories hold `loss.name` (retired); the logit-loss label now comes from `loss.logit`.
LOSS_KEY, OLD_LOSS_KEY = "loss.logit", "loss.name"
assert OLD_LOSS_KEY in RETIRED  # the shim exists only for a key the schema retired


# ---------------------------------------------------------------- reading one run


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10× faster on big sweeps


def _read_yaml(path: Path) -> Any:
    """Safe loader only: a run file can hold data, never code (no python/object tags)."""
    try:
        return yaml.load(path.read_text(), Loader=_YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


METRIC_COLUMNS = ["epoch", "step", "role", "split", "acc", "loss", "wall_s"]


def read_metrics(run_dir: str | os.PathLike) -> pd.DataFrame:
    """metrics.jsonl → DataFrame (epoch, step, role, split, acc, loss, wall_s, …).

    `rundir.read_metrics` skips a truncated last line (a run killed mid-write)."""
    frame = pd.DataFrame(rundir.read_metrics(Path(run_dir)))
    for col in METRIC_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.Series(dtype="float64" if col not in ("role", "split") else "object")
    return frame


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dict → {"a.b.c": leaf}; lists become tuples so they can be compared and hashed."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list):
        out[prefix[:-1]] = tuple(tree)
    else:
        out[prefix[:-1]] = tree
    return out


# Every key of the schema with its default: what a run written by an older version means by a
# key it did not write (the same reading `spaced_kd.config.differences` gives a resume).
SCHEMA_DEFAULTS = flatten(dataclasses.asdict(Config()))


def _float(value: Any, default: float = math.nan) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _metrics_from_jsonl(records: pd.DataFrame) -> dict[str, float]:
    """Last and best test accuracy per role, for runs without a readable summary.json.

    Roles are taken as logged: self KD logs its deepest head as `student` at the source."""
    out: dict[str, float] = {}
    if records.empty:
        return out
    test = records[records["split"] == "test"]
    for role, rows in test.groupby("role", sort=False):
        rows = rows.sort_values(["epoch", "step"])
        out[f"{role}_acc"] = float(rows["acc"].iloc[-1])
        out[f"{role}_best_acc"] = float(rows["acc"].max())
    return out


def _probe_columns(probes: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    flat = probes.get("flatness") or {}
    if "area" in flat:
        out["probe.flatness_area"] = _float(flat["area"])
    for key, value in (probes.get("bim") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"probe.bim_{key}"] = float(value)
    hess = probes.get("hessian") or {}
    for key in ("trace", "top_eigenvalue"):
        if key in hess:
            out[f"probe.hessian_{key}"] = _float(hess[key])
    if isinstance(hess.get("trace_ci"), (list, tuple)) and len(hess["trace_ci"]) == 2:
        out["probe.hessian_trace_lo"], out["probe.hessian_trace_hi"] = map(_float, hess["trace_ci"])
    for name, by_severity in (probes.get("corruptions") or {}).items():
        for severity, acc in (by_severity or {}).items():
            out[f"probe.corruption.{name}@{_float(severity):.1f}"] = _float(acc)
    return out


def _window(cfg: dict[str, Any]) -> tuple[float, float]:
    """(start, end) of the critical period in epochs; end = +inf "till the end", however spelled."""
    start = _float(cfg.get("spaced.start_epoch"), 0.0)
    length = _float(cfg.get("spaced.length"))
    end = start + length if math.isfinite(length) else _float(cfg.get("spaced.end_epoch"), math.inf)
    epochs = _float(cfg.get("trainer.epochs"), math.inf)
    return start, (math.inf if end >= epochs else end)


def _normalise(cfg: dict[str, Any]) -> dict[str, Any]:
    """Short, normalised columns from the flattened config (see the module docstring)."""
    kd = cfg.get("kd.name")
    kd_mode = cfg.get("kd_mode.name")
    model = cfg.get("model.name")
    model_width = _float(cfg.get("model.width"), 1.0)
    interval_raw = _float(cfg.get("interval"))
    if kd == "none":
        interval = math.nan
    elif kd == "online":
        interval = 0.0
    elif kd == "offline":
        interval = math.inf
    else:
        interval = interval_raw
    if kd == "spaced":
        start, end = _window(cfg)
        full = start <= 0 and math.isinf(end)
    else:
        start = end = math.nan
        full = True
    has_teacher = kd != "none" and kd_mode != "self"
    if has_teacher:
        teacher = cfg.get("teacher.name") or model
        teacher_width = _float(cfg.get("teacher.width"), model_width)
        teacher_lbl = network_label(teacher, teacher_width)
    else:
        teacher, teacher_width, teacher_lbl = None, math.nan, None
    network = network_label(model, model_width)
    kd_loss = kd != "none"
    logit = cfg.get(LOSS_KEY) or cfg.get(OLD_LOSS_KEY)  # the read shim for old run directories
    return {
        "model": model,
        "model_width": model_width,
        "network": network,
        "teacher": teacher,
        "teacher_width": teacher_width,
        "teacher_label": teacher_lbl,
        "teacher_same": (not has_teacher) or teacher_lbl == network,
        "teacher_init": cfg.get("teacher.init") if has_teacher else None,
        "teacher_target_mode": cfg.get("teacher.target_mode", "train") if has_teacher else None,
        "dataset": cfg.get("dataset.name"),
        "dataset_label": dataset_label(cfg.get("dataset.name")),
        "train_subset": _float(cfg.get("dataset.train_subset")),
        "kd": kd,
        "kd_mode": kd_mode,
        "interval": interval,
        "interval_raw": interval_raw,
        "interval_unit": cfg.get("interval_unit", "epochs"),
        "start_epoch": start,
        "end_epoch": end,
        "full_period": full,
        "loss": logit if kd_loss else None,
        "logit_loss": logit if kd_loss else None,
        "feature_loss": cfg.get("loss.feature") if kd_loss else None,
        "temperature": _float(cfg.get("loss.temperature")) if kd_loss else math.nan,
        "alpha": _float(cfg.get("loss.alpha")) if kd_loss else math.nan,
        "beta": _float(cfg.get("loss.beta")) if kd_loss else math.nan,
        "optim": cfg.get("optim.name"),
        "lr": _float(cfg.get("optim.lr")),
        "scheduler": cfg.get("optim.scheduler"),
        "batch_size": _float(cfg.get("trainer.batch_size")),
        "epochs": _float(cfg.get("trainer.epochs")),
        # runs of different recipes are different experiments (tables never average them)
        "recipe": cfg.get("recipe.name") or (SCHEMA_DEFAULTS["recipe.name"] if cfg else None),
        # Tab. 4's KD methods: a method's runs (its kd=none included: each method has its own
        # pipeline) form its row; None, the paper's own online / self KD, whose kd=none is every row's
        "method": _method(cfg.get("method.name")),
        # the method's own schedule, as published (Tab. 4's KD column): offline for BAN and TAKD
        "own_kd": kd == (cfg.get("method.kd") or "online"),
    }


def _method(name: Any) -> Any:
    if isinstance(name, str) and name != "none":
        return METHOD_LABELS.get(name, name)
    return None


# How the paper names the methods it plugs spacing into (Tab. 4).
METHOD_LABELS = {"ban": "BAN", "takd": "TAKD", "dml": "DML", "shake": "SHAKE", "dlb": "DLB", "pskd": "PSKD"}


def _volatile(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in NOT_IDENTITY)


def _canonical(value: Any) -> Any:
    """1 and 1.0 are one value (Hydra types `interval=1` as an int, a default may be a float)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, tuple):
        return [_canonical(v) for v in value]
    return value


def _identity(cfg: dict[str, Any], short: dict[str, Any], seed: Any) -> str:
    """Hash of everything that can change a run's numbers (see "Rerun rule")."""
    full = {**SCHEMA_DEFAULTS, **cfg} if cfg else {}
    ident = {k: _canonical(v) for k, v in full.items() if not _volatile(k) and k not in RETIRED}
    # knobs that do not apply must not split reruns: replace them by their normalised meaning
    ident["interval"] = short["interval"]
    for key in ("spaced.start_epoch", "spaced.end_epoch", "spaced.length"):
        ident.pop(key, None)
    ident["window"] = (short["start_epoch"], short["end_epoch"])
    # a run without a teacher has no teacher settings; one with a teacher keeps them all
    # (target_mode, drop_path …), its name / width / init normalised ("null" = the student's)
    drop = ("teacher.",) if short["teacher"] is None else ("teacher.name", "teacher.width", "teacher.init")
    drop += ("loss.",) if short["kd"] == "none" else ()
    for key in [k for k in ident if k.startswith(drop)]:
        ident.pop(key)
    ident["teacher"] = (short["teacher"], short["teacher_width"], short["teacher_init"])
    ident["seed"] = _canonical(seed)
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def read_run(run_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """One run directory → one flat row (dict)."""
    run = Path(run_dir).resolve()
    damaged = None
    try:
        summary = rundir.read_summary(run, strict=True)
    except rundir.Unreadable as exc:  # never mistaken for a run that is still going
        summary, damaged = None, str(exc)
    overrides = _read_yaml(run / rundir.OVERRIDES)
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
    # summary.json's config is resolved; Hydra's composed one is the fallback for unfinished runs
    config = (summary or {}).get("config") or _read_yaml(run / rundir.CONFIG) or {}
    cfg = flatten(config) if isinstance(config, dict) else {}
    cfg.pop("", None)
    records = read_metrics(run)

    row: dict[str, Any] = {}
    row.update(_normalise(cfg))
    seed = (summary or {}).get("seed", cfg.get("seed"))
    row["seed"] = _float(seed)

    if summary is not None:
        status = str(summary.get("status", "no_summary"))
        metrics = summary.get("metrics") or {}
        row.update({k: _float(v) for k, v in metrics.items()} if isinstance(metrics, dict) else {})
        row["error"] = summary.get("error")
        row["wall_s"] = _float(summary.get("wall_s"))
        for key in ("steps", "steps_per_epoch", "interval_steps"):
            row[key] = _float(summary.get(key))
        row["version"] = summary.get("version")
        for key, value in summary.items():  # further scalar facts (device, total_steps, …)
            if key not in row and key not in ("metrics", "config", "status") and (
                    value is None or isinstance(value, (str, int, float, bool))):
                row[key] = value
    else:
        status = UNREADABLE if damaged else "no_summary"
        row.update(_metrics_from_jsonl(records))
        row["error"] = damaged
        row["wall_s"] = _float(records["wall_s"].max()) if not records.empty else math.nan
        row["version"] = None
    row["status"] = status
    row["ok"] = status == "completed"
    if not records.empty:
        student_roles = records["role"].isin(["student", "ensemble"])
        row["epochs_done"] = _float(records.loc[student_roles, "epoch"].max())
    else:
        row["epochs_done"] = math.nan

    probes = rundir.read_probes(run)
    row["has_probes"] = probes is not None
    if probes is not None:
        row.update(_probe_columns(probes))

    stamp_file = next((run / f for f in (rundir.SUMMARY, rundir.METRICS) if (run / f).is_file()), run)
    row["finished_at"] = pd.Timestamp(stamp_file.stat().st_mtime, unit="s", tz="UTC")
    row["overrides"] = " ".join(overrides)
    # which settings this run chose on the command line (tables prefer the others' values)
    row["overridden"] = " ".join(sorted({o.split("=", 1)[0].lstrip("+~") for o in overrides}))
    row["config_id"] = _identity(cfg, row, seed)
    row["run_dir"] = str(run)
    row["root"] = str(Path(root).resolve()) if root is not None else str(run.parent)
    for key, value in cfg.items():  # every config key, dotted; short names above never contain dots
        row.setdefault(key, value)
    return row


# ---------------------------------------------------------------- the whole frame


def mark_reruns(df: pd.DataFrame) -> pd.DataFrame:
    """Apply the rerun rule: add ``superseded`` and ``superseded_by`` (see the module docstring)."""
    df = df.copy()
    df["superseded"] = False
    df["superseded_by"] = None
    if df.empty:
        return df
    ranked = df.assign(_done=df["status"].eq("completed")).sort_values(
        ["config_id", "_done", "finished_at", "run_dir"]
    )
    winners = ranked.groupby("config_id", sort=False).tail(1).set_index("config_id")["run_dir"]
    winner_of = df["config_id"].map(winners)
    lost = winner_of.ne(df["run_dir"])
    df.loc[lost, "superseded"] = True
    df.loc[lost, "superseded_by"] = winner_of[lost]
    return df


FRONT = [
    "dataset", "network", "model", "kd", "kd_mode", "interval", "seed", "status", "ok",
    "superseded", "student_acc", "student_best_acc", "teacher_acc", "wall_s",
]


def collect(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> pd.DataFrame:
    """Sweep roots and/or run dirs → DataFrame, one row per run, reruns marked (not removed).

    A path that does not exist raises FileNotFoundError (from `rundir.find_runs`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows = [read_run(run, root) for root, run in rundir.find_runs(paths)]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=FRONT + ["error", "run_dir", "config_id", "finished_at", "superseded_by"])
    for col in ("seed", "batch_size", "steps", "steps_per_epoch", "interval_steps"):
        if col in df.columns:  # integers that may be missing: nullable ints print as 128, not 128.0
            df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
    df = mark_reruns(df)
    front = [c for c in FRONT if c in df.columns]
    return df[front + [c for c in df.columns if c not in front]].reset_index(drop=True)


def usable(df: pd.DataFrame) -> pd.DataFrame:
    """Completed runs that no rerun replaced — what tables, fits and plots average over."""
    return df[df["ok"] & ~df["superseded"]]


def status_line(df: pd.DataFrame) -> str:
    """'12 runs: 10 completed, 1 failed, 1 no_summary; 2 superseded reruns' (for footers)."""
    live = df[~df["superseded"].astype(bool)] if "superseded" in df else df
    counts = live["status"].value_counts() if "status" in live else pd.Series(dtype=int)
    parts = [f"{int(counts[s])} {s}" for s in STATUS_ORDER if s in counts]
    parts += [f"{int(n)} {s}" for s, n in counts.items() if s not in STATUS_ORDER]
    text = f"{len(df)} runs: " + (", ".join(parts) if parts else "none")
    n_sup = int(df["superseded"].astype(bool).sum()) if "superseded" in df else 0
    if n_sup:
        text += f"; {n_sup} superseded by reruns"
    return text


def unreadable_line(df: pd.DataFrame) -> str | None:
    """One line naming the runs whose summary.json is damaged, or None."""
    if "status" not in df or df.empty:
        return None
    bad = df[df["status"].eq(UNREADABLE)]
    if bad.empty:
        return None
    paths = ", ".join(str(Path(r) / rundir.SUMMARY) for r in bad["run_dir"])
    return (f"{len(bad)} run{'s' if len(bad) > 1 else ''} with an unreadable {rundir.SUMMARY} "
            f"(status 'unreadable', not counted as unfinished): {paths}")


def main(argv: list[str] | None = None) -> int:
    from . import cli

    parser = cli.parser("python -m analysis.collect", "List the runs under sweep roots / run dirs.")
    parser.add_argument("--csv", help="write the full frame to this CSV file")

    def body(args) -> int:
        df = cli.load(args)
        if args.csv:
            df.to_csv(args.csv, index=False)
        cols = [c for c in ["dataset", "network", "kd", "kd_mode", "interval", "seed", "status",
                            "superseded", "student_acc", "wall_s", "run_dir"] if c in df.columns]
        with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 60):
            print(df[cols].to_string(index=False) if not df.empty else "(no runs match --where)")
        print(status_line(df), file=sys.stderr)
        return cli.finish(df)

    return cli.run(parser, body, argv)


if __name__ == "__main__":
    sys.exit(main())
