"""The Hydra task behind train.py: one run, errors reported as one line, .hydra/ written last."""
from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from . import distributed, rundir
from .config import load_config
from .engine import Preempted
from .errors import UserError
from .preemption import slurm_requeued
from .run import record_failure, run
from .sweep_status import report_job


def write_hydra_record(run_dir: Path, cfg: DictConfig) -> None:
    """.hydra/{config,hydra,overrides}.yaml as Hydra writes them, written by the run itself once it
    is accepted (conf/config.yaml sets hydra.output_subdir=null), so a refused rerun leaves the
    record of the run already in the directory untouched."""
    hc = HydraConfig.instance().cfg
    rundir.write_text(run_dir, rundir.CONFIG, OmegaConf.to_yaml(cfg))
    rundir.write_text(run_dir, rundir.HYDRA, OmegaConf.to_yaml(hc))
    rundir.write_text(run_dir, rundir.OVERRIDES, OmegaConf.to_yaml(hc.hydra.overrides.task))


def train_task(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    in_sweep = hc.mode == RunMode.MULTIRUN
    world = distributed.SINGLE

    def report(status: str, error: str | None = None) -> None:
        if in_sweep and world.main:  # a multi-process run is one job: rank 0 reports it
            report_job(Path(hc.sweep.dir), hc.job.num, run_dir, status, error)

    try:
        world = distributed.from_env()
        conf = load_config(cfg)
        if conf.probes:  # an unknown probe fails before training
            from .probes.config import probe_names
            probe_names(conf.probes)
        if world.distributed:  # one run over several processes (torchrun, hydra/launcher=slurm_ddp)
            from .ddp_run import run as ddp_run
            summary = ddp_run(conf, run_dir, world, record=lambda: write_hydra_record(run_dir, cfg))
        else:
            summary = run(conf, run_dir, record=lambda: write_hydra_record(run_dir, cfg))
    except UserError as exc:
        if world.main:  # the other ranks refuse the same way, silently
            print(f"error: {exc}", file=sys.stderr, flush=True)
        if not in_sweep:
            sys.exit(2)
        if world.main and record_failure(run_dir, cfg, str(exc)):  # a fresh directory: the failed cell is on record
            write_hydra_record(run_dir, cfg)
        report("failed", str(exc))
        return math.nan  # the sweep goes on; the sweep_status callback reports the failure
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr, flush=True)
        if slurm_requeued():
            # Returning would hand submitit a result and end the sweep's wait for this job while
            # SLURM runs it again; leaving without one lets the requeued attempt report instead.
            raise SystemExit(3)
        if not in_sweep:
            sys.exit(3)
        report("unfinished", str(exc))
        return math.nan
    except Exception as exc:
        if not in_sweep:
            raise
        traceback.print_exc()
        report("failed", f"{type(exc).__name__}: {exc}")
        return math.nan
    report(summary.get("status", "?"), summary.get("error"))
    if not world.main:
        return summary["metrics"].get("student_acc", math.nan)
    if conf.probes:  # generalisation probes on the trained run → probes.json (defaults of conf/evaluate.yaml)
        from .probes import run_probes
        try:
            run_probes(run_dir, list(conf.probes))
        except UserError as exc:  # the training stays completed
            print(f"error: probes: {exc}", file=sys.stderr, flush=True)
            if not in_sweep:
                sys.exit(2)
    acc = summary["metrics"].get("student_acc", math.nan)
    print(f"student test acc {acc:.2f}%  summary: {run_dir / rundir.SUMMARY}", flush=True)
    return acc
