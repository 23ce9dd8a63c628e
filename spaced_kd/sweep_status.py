"""A sweep's exit status: the jobs of *this* invocation that did not complete.

Jobs record their own outcome and return normally, so one broken job cannot stop its siblings
(Hydra's launchers abort a sweep when a job raises). Each job of a sweep writes one small record,
`<sweep dir>/.jobs/<invocation>/<job number>.json` (its run directory, status and error); the
invocation id is set when the sweep starts and reaches every job through the environment (launcher
workers inherit it). When the sweep ends, only this invocation's records are read, so failed runs
left in the sweep directory by an earlier invocation never count. A job that died without a word
(killed on Slurm) is recorded by the launcher (spaced_kd/launchers.py).

Hydra turns exceptions in callbacks into warnings, so train.py reads `FAILED` after Hydra returns
and sets the exit status.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from . import distributed, rundir
from .atomic import write_json_atomic

INVOCATION_ENV = "SPACED_KD_INVOCATION"
JOBS_DIR = ".jobs"

# Runs of the last sweep in this process that did not complete: {run dir: status}.
FAILED: dict[str, str] = {}


def _records_dir(sweep_dir: Path, invocation: str) -> Path:
    return Path(sweep_dir) / JOBS_DIR / invocation


def report_job(sweep_dir: Path, job_num: int, run_dir: Path, status: str, error: Optional[str] = None) -> None:
    """Record one job's outcome for this invocation (no-op outside a sweep started here)."""
    invocation = os.environ.get(INVOCATION_ENV)
    if not invocation:
        return
    try:
        rel = str(Path(run_dir).resolve().relative_to(Path(sweep_dir).resolve()))
    except ValueError:
        rel = str(run_dir)
    try:
        write_json_atomic(_records_dir(sweep_dir, invocation) / f"{job_num}.json",
                          {"run": rel, "status": status, "error": error, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    except OSError:
        pass  # a full disk: the run's own summary (if it could be written) still tells


def job_records(sweep_dir: Path, invocation: str) -> dict[str, dict]:
    """{run dir relative to the sweep: record} for one invocation, in job order."""
    folder = _records_dir(sweep_dir, invocation)
    files = sorted(folder.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
    out = {}
    for path in files:
        rec = rundir.read_json(path)
        if isinstance(rec, dict):
            out[str(rec.get("run", path.stem))] = rec
    return out


class SweepStatus(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ[INVOCATION_ENV] = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        FAILED.clear()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not distributed.from_env().main:
            return  # a sweep of multi-process runs (torchrun): rank 0 recorded its jobs and reports them
        sweep_dir = Path(config.hydra.sweep.dir)
        records = job_records(sweep_dir, os.environ.get(INVOCATION_ENV, ""))
        bad = {run: rec.get("status", "?") for run, rec in records.items() if rec.get("status") != "completed"}
        print(f"sweep {sweep_dir}: {len(records) - len(bad)}/{len(records)} runs completed")
        FAILED.clear()
        FAILED.update(bad)
        if bad:
            listing = ", ".join(f"{k} ({v})" for k, v in bad.items())
            print(f"error: {len(bad)} of {len(records)} runs did not complete: {listing}", file=sys.stderr)
