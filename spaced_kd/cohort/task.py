"""The task function a cohort sweep hands its launcher.

The sweeper launches one job per group of the sweep's jobs; launched job k (hydra.job.num = k)
runs the jobs `jobs[k]`, each under the config and Hydra settings a plain sweep would give it:
composed from the same overrides in the same way, with its own hydra.job.num (its number in the
plain sweep) and run directory, and the hydra.job.id of the job that runs it. A group of one is
the plain task exactly; a group of several is a cohort (spaced_kd.cohort.runner), reported member
by member as the plain task reports a job: one record per member for the sweep's exit status.
"""
from __future__ import annotations

import copy
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, List, Sequence, Tuple

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from .. import distributed


@dataclass(frozen=True)
class Job:
    """One job of the plain sweep: its number there and its overrides."""

    num: int
    overrides: Tuple[str, ...]


class CohortTask:
    def __init__(self, task_function: Callable[[DictConfig], Any], hydra_context: Any, config: DictConfig):
        self.task_function, self.hydra_context, self.config = task_function, hydra_context, config
        self.jobs: List[List[Job]] = []  # filled by the sweeper before it launches

    def runs_of(self, num: int) -> List[Tuple[int, List[str]]]:
        """(number, overrides) of the plain-sweep jobs that launched job `num` runs (the launcher
        reports each of them when the job is killed outright)."""
        return [(job.num, list(job.overrides)) for job in self.jobs[num]]

    def __call__(self, cfg: DictConfig) -> Any:
        hc = HydraConfig.get()
        jobs = [(job, self._compose(job, hc.job.id)) for job in self.jobs[hc.job.num]]
        if len(jobs) == 1:
            return self._plain(jobs[0][1])
        if distributed.from_env().distributed:
            # one run over several processes (torchrun, hydra/launcher=slurm_ddp): a cohort is one
            # process, so its runs go one after another, each over every rank
            return [self._plain(full) for _, full in jobs]
        return self._cohort(jobs)

    # ---------------------------------------------------------------- a job as a plain sweep has it
    def _compose(self, job: Job, job_id: Any) -> DictConfig:
        """The job's full config (hydra node included), as the launchers and hydra.core.utils.run_job
        make it: composed from its overrides, its number and id set, its output dir resolved."""
        full = self.hydra_context.config_loader.load_sweep_config(self.config, list(job.overrides))
        with open_dict(full):
            full.hydra.job.id = job_id
            full.hydra.job.num = job.num
        with _hydra_config(full):  # the sweep's sub-dir may read ${hydra:...}
            out = os.path.join(str(OmegaConf.select(full, "hydra.sweep.dir")),
                               str(OmegaConf.select(full, "hydra.sweep.subdir")))
        with read_write(full.hydra.runtime), open_dict(full.hydra.runtime):
            full.hydra.runtime.output_dir = os.path.abspath(out)
        return full

    def _plain(self, full: DictConfig) -> Any:
        Path(full.hydra.runtime.output_dir).mkdir(parents=True, exist_ok=True)
        with _hydra_config(full):
            return self.task_function(_task_config(full))

    # ---------------------------------------------------------------- several jobs, one teacher
    def _cohort(self, jobs: Sequence[Tuple[Job, DictConfig]]) -> List[Any]:
        from . import report

        members, alone = [], []
        seen_dirs = set()
        for job, full in jobs:
            run_dir = Path(full.hydra.runtime.output_dir)
            conf = report.accepted(_task_config(full))
            if conf is None or run_dir in seen_dirs:
                # refused here (it fails on its own, as in a plain sweep) or a second job writing
                # the same directory (after the cohort it finds the run there, as in a plain sweep)
                alone.append(full)
                continue
            seen_dirs.add(run_dir)
            members.append((job, full, conf))
        results = report.run_members(members, _hydra_config, _task_config)
        return results + [self._plain(full) for full in alone]


@contextmanager
def _hydra_config(full: DictConfig):
    """HydraConfig says `full`'s Hydra settings inside the block (train_task and the .hydra record
    read it), then what it said before (as run_job restores it)."""
    instance = HydraConfig.instance()
    before = instance.cfg
    instance.set_config(full)
    try:
        yield
    finally:
        instance.cfg = before


def _task_config(full: DictConfig) -> DictConfig:
    task = copy.deepcopy(full)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task
