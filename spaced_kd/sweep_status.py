"""Hydra callback: a sweep whose jobs failed ends with a non-zero exit status.

Jobs record their own failures in summary.json and return normally, so one broken job cannot
stop its siblings (Hydra's launchers abort a sweep when a job raises). This callback reads the
summaries when the sweep is over and records what did not complete; Hydra turns exceptions in
callbacks into warnings, so train.py reads `FAILED` after Hydra returns and sets the exit status.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


# Runs of the last sweep in this process that did not complete: {subdir: status}.
FAILED: dict[str, str] = {}


def sweep_statuses(sweep_dir: Path) -> dict[str, str]:
    out = {}
    for path in sorted(sweep_dir.rglob("summary.json")):
        try:
            out[str(path.parent.relative_to(sweep_dir))] = json.loads(path.read_text()).get("status", "?")
        except (OSError, ValueError):
            out[str(path.parent.relative_to(sweep_dir))] = "unreadable"
    return out


class SweepStatus(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        statuses = sweep_statuses(sweep_dir)
        bad = {k: v for k, v in statuses.items() if v != "completed"}
        done = len(statuses) - len(bad)
        print(f"sweep {sweep_dir}: {done}/{len(statuses)} runs completed")
        FAILED.clear()
        FAILED.update(bad)
        if bad:
            listing = ", ".join(f"{k} ({v})" for k, v in bad.items())
            print(f"error: {len(bad)} of {len(statuses)} runs did not complete: {listing}", file=sys.stderr)
