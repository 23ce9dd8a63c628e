"""A cohort job's members, told to the sweep as spaced_kd.cli.train_task tells a plain job: one line
per error, the failed cell on record, one job record per member (spaced_kd.sweep_status), probes
after training, the student's accuracy."""
from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from omegaconf import DictConfig

from ..cli import write_hydra_record
from ..config import Config, load_config
from ..engine import Preempted
from ..errors import UserError
from ..preemption import slurm_requeued
from ..run import record_failure
from ..sweep_status import report_job
from .member import COMPLETED, REFUSED, UNFINISHED, Member, MemberSpec
from .runner import Cohort


def accepted(task_cfg: DictConfig) -> Optional[Config]:
    """The job's checked config; None when the plain task would refuse it before training."""
    try:
        conf = load_config(task_cfg)
        if conf.probes:
            from ..probes.config import probe_names
            probe_names(conf.probes)
        return conf
    except UserError:
        return None


def run_members(members: Sequence[Tuple[Any, DictConfig, Config]], hydra_config: Callable,
                task_config: Callable[[DictConfig], DictConfig]) -> List[float]:
    """Train (job, full config, checked config) as one cohort; returns each student's test accuracy."""
    specs = []
    for _, full, conf in members:
        run_dir = Path(full.hydra.runtime.output_dir)

        def record(full=full, run_dir=run_dir) -> None:
            with hydra_config(full):
                write_hydra_record(run_dir, task_config(full))

        specs.append(MemberSpec(conf, run_dir, record, name=f"#{full.hydra.job.num}"))
        print(f"[#{full.hydra.job.num}] {_name(run_dir, Path(str(full.hydra.sweep.dir)))}", flush=True)
    cohort = Cohort(specs)
    try:
        cohort.run()
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr, flush=True)
        if slurm_requeued():
            # as spaced_kd.cli: the requeued attempt reports, this one leaves without a result
            raise SystemExit(3)
    except Exception:
        traceback.print_exc()  # each member still training has it in its summary (Member.abort)
    return [_report(member, full, conf, hydra_config, task_config)
            for member, (_, full, conf) in zip(cohort.members, members)]


def _report(member: Member, full: DictConfig, conf: Config, hydra_config: Callable, task_config: Callable) -> float:
    run_dir = Path(full.hydra.runtime.output_dir)
    sweep_dir, num = Path(str(full.hydra.sweep.dir)), int(full.hydra.job.num)
    if member.status == COMPLETED:
        summary = member.summary
        report_job(sweep_dir, num, run_dir, summary.get("status", "?"), summary.get("error"))
        if conf.probes:
            from ..probes import run_probes
            try:
                run_probes(run_dir, list(conf.probes))
            except UserError as exc:  # the training stays completed
                print(f"error: probes: [{member.name}] {exc}", file=sys.stderr, flush=True)
        acc = summary["metrics"].get("student_acc", math.nan)
        print(f"[{member.name}] student test acc {acc:.2f}%  summary: {run_dir / 'summary.json'}", flush=True)
        return acc
    error = member.error or "the cohort stopped before this run started"
    if member.status == UNFINISHED:
        report_job(sweep_dir, num, run_dir, "unfinished", error)
        return math.nan
    print(f"error: [{member.name}] {error}", file=sys.stderr, flush=True)
    if member.status == REFUSED:
        with hydra_config(full):
            if record_failure(run_dir, task_config(full), error):  # a fresh directory: the failed cell is on record
                write_hydra_record(run_dir, task_config(full))
    report_job(sweep_dir, num, run_dir, "failed", error)
    return math.nan


def _name(run_dir: Path, sweep_dir: Path) -> str:
    try:
        return str(run_dir.resolve().relative_to(sweep_dir.resolve()))
    except ValueError:
        return str(run_dir)
