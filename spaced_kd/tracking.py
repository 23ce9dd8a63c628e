"""What a run tells the world: metrics.jsonl, summary.json, a progress bar, optionally wandb.

The files follow the run-directory contract (spaced_kd/rundir.py, docs/design.md) that
`analysis/` reads.
"""
from __future__ import annotations

import math
import netrc
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from . import __version__, rundir
from .config import LoggerConfig


class Tracker:
    """Logs evaluations, keeps last/best accuracy per (role, split), writes the summary.

    Every row it logs is also kept in memory and in the checkpoint (a few hundred small dicts), so
    metrics.jsonl can always be rebuilt exactly as the checkpoint saw it: on resume, and at the end
    of a run whose file was damaged or removed on the way.
    """

    def __init__(self, run_dir: Path, logger: LoggerConfig, config: dict, run_name: str):
        self.run_dir = run_dir
        self.rows: List[dict] = []
        self.last: Dict[str, float] = {}
        self.best: Dict[str, float] = {}
        self.wandb = _start_wandb(logger, config, run_dir, run_name) if logger.name == "wandb" else None

    # -- resume support: metrics.jsonl is rewritten to exactly what the checkpoint had seen
    def state_dict(self) -> dict:
        return {"rows": list(self.rows), "last": dict(self.last), "best": dict(self.best)}

    def load_state_dict(self, state: dict) -> None:
        self.last, self.best = dict(state["last"]), dict(state["best"])
        self.rows = list(state["rows"])
        rundir.write_metrics(self.run_dir, self.rows)

    def reset(self) -> None:
        rundir.write_metrics(self.run_dir, [])

    def log_eval(self, *, epoch: int, step: int, role: str, split: str, acc: float, loss: float, wall_s: float) -> None:
        row = {"epoch": epoch, "step": step, "role": role, "split": split,
               "acc": round(acc, 4), "loss": loss, "wall_s": round(wall_s, 3)}
        self.rows.append(row)
        rundir.append_metric(self.run_dir, row)
        key = role if split == "test" else f"{role}_{split}"
        self.last[key] = acc
        if not math.isnan(acc):
            self.best[key] = max(acc, self.best.get(key, -math.inf))
        if self.wandb is not None:
            self.wandb.log({f"{split}/{role}_acc": acc, f"{split}/{role}_loss": loss, "epoch": epoch}, step=step)

    def repair_metrics(self) -> bool:
        """Rewrite metrics.jsonl if it no longer holds exactly the logged rows; True if it had to."""
        if rundir.read_metrics(self.run_dir) == self.rows:
            return False
        rundir.write_metrics(self.run_dir, self.rows)
        return True

    def metrics(self) -> Dict[str, float]:
        out: Dict[str, float] = {}
        for key, acc in self.last.items():
            out[f"{key}_acc"] = acc
            out[f"{key}_best_acc"] = self.best.get(key, acc)
        return out

    def summary(self, **fields: Any) -> dict:
        return {"version": __version__, "run_dir": str(self.run_dir), "metrics": self.metrics(), **fields}

    def write_summary(self, summary: dict) -> None:
        rundir.write_summary(self.run_dir, summary)
        if self.wandb is not None:
            self.wandb.summary.update({k: v for k, v in summary["metrics"].items()})
            self.wandb.summary["status"] = summary.get("status")

    def close(self, failed: bool = False) -> None:
        if self.wandb is not None:
            self.wandb.finish(exit_code=1 if failed else 0)
            self.wandb = None


def wandb_mode(cfg: LoggerConfig, warn=print) -> str:
    """The wandb mode to use: logger.mode, else $WANDB_MODE, else offline.

    Online without credentials ($WANDB_API_KEY or an api.wandb.ai entry in ~/.netrc) would stop
    at a login prompt or fail mid-run, so such a run logs offline (`wandb sync` uploads it later)
    and says so once.
    """
    mode = cfg.mode or os.environ.get("WANDB_MODE") or "offline"
    if mode == "online" and not _wandb_credentials():
        warn("warning: logger.mode=online but no wandb credentials (WANDB_API_KEY or ~/.netrc); "
             "logging offline instead (upload later with `wandb sync`)")
        return "offline"
    return mode


def _wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def _start_wandb(cfg: LoggerConfig, config: dict, run_dir: Path, name: str):
    import wandb  # imported only when asked for: it is slow to import

    mode = wandb_mode(cfg, warn=lambda line: print(line, file=sys.stderr, flush=True))
    return wandb.init(project=cfg.project, entity=cfg.entity, mode=mode, dir=str(run_dir), name=name,
                      config=config, tags=list(cfg.tags) or None, reinit="finish_previous")


class Progress:
    """One tqdm bar per student epoch; loss values are read from the device only at refresh."""

    def __init__(self, enabled: bool, total_epochs: int, events_per_epoch: int):
        # A redrawn bar only helps a person at a terminal; in batch logs the epoch lines suffice.
        self.enabled = enabled and sys.stderr is not None and sys.stderr.isatty()
        self.total_epochs, self.events_per_epoch = total_epochs, events_per_epoch
        self.bar = None
        self.postfix: Dict[str, str] = {}
        self._last_refresh = 0.0

    def start_epoch(self, epoch: int, done_events: int = 0) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(total=self.events_per_epoch, initial=min(done_events, self.events_per_epoch),
                        desc=f"epoch {epoch}/{self.total_epochs}", leave=False, dynamic_ncols=True,
                        mininterval=0.5, file=sys.stderr)

    def advance(self, losses: Dict[str, Any]) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.monotonic()
        if now - self._last_refresh > 0.5 and "loss" in losses:
            self._last_refresh = now
            self.postfix["loss"] = f"{float(losses['loss']):.3f}"
            self.bar.set_postfix(self.postfix, refresh=False)

    def note(self, **kv: float) -> None:
        self.postfix.update({k: f"{v:.2f}" for k, v in kv.items()})

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
