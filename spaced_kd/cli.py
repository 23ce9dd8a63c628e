"""The Hydra task behind train.py: one run, errors reported as one line."""
from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .engine import Preempted
from .errors import UserError
from .preemption import slurm_requeued
from .run import record_failure, run


def train_task(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    in_sweep = hc.mode == RunMode.MULTIRUN
    try:
        if cfg.get("probes"):  # an unknown probe fails before training
            from .probes import probe_names
            probe_names(cfg.probes)
        summary = run(cfg, run_dir)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        record_failure(run_dir, cfg, str(exc))
        if in_sweep:
            return math.nan  # the sweep goes on; the sweep_status callback reports the failure
        sys.exit(2)
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr, flush=True)
        if slurm_requeued():
            # Returning would hand submitit a result and end the sweep's wait for this job while
            # SLURM runs it again; leaving without one lets the requeued attempt report instead.
            raise SystemExit(3)
        if in_sweep:
            return math.nan
        sys.exit(3)
    except Exception as exc:
        if not in_sweep:
            raise
        traceback.print_exc()
        record_failure(run_dir, cfg, f"{type(exc).__name__}: {exc}")
        return math.nan
    if cfg.get("probes"):  # generalisation probes on the trained run → probes.json (defaults of conf/evaluate.yaml)
        from .probes import run_probes
        try:
            run_probes(run_dir, list(cfg.probes))
        except UserError as exc:  # the training stays completed
            print(f"error: probes: {exc}", file=sys.stderr, flush=True)
            if not in_sweep:
                sys.exit(2)
    acc = summary["metrics"].get("student_acc", math.nan)
    print(f"student test acc {acc:.2f}%  summary: {run_dir / 'summary.json'}", flush=True)
    return acc
