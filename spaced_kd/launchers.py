"""Sweep launchers: hydra-submitit-launcher's Slurm and local launchers, except that a job which
dies outright (out of memory, `kill -9` of its step, a node failure) is reported as one failed run
instead of ending the sweep process with submitit's UncompletedJobError traceback.

Such a job never returns, so nothing in it could say what happened. Here the sweep process does:
it asks the scheduler for the job's final state (sacct, when accounting is on), marks the run's
summary.json `killed` with that state (a run that had already completed is left alone), records
the job for this invocation's exit status (spaced_kd/sweep_status.py) and goes on with the others.

Hydra accepts launchers only from the `hydra_plugins` namespace, so the two classes are declared
in hydra_plugins/spaced_kd_launchers/ on top of `Reporting` here, and selected by the presets
conf/hydra/launcher/slurm.yaml and local.yaml (`_target_`).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, List, Optional, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import OmegaConf

from . import rundir
from .sweep_status import report_job


class Reporting:
    """Mixed into the plugin's launchers; `launch` submits like the plugin and collects each job alone."""

    _EXECUTOR: str
    params: dict
    config: Any
    hydra_context: Any
    task_function: Any

    def _executor(self):
        import submitit

        init = {"folder": self.params["submitit_folder"]}
        if "max_num_timeout" in self.params:
            init[f"{self._EXECUTOR}_max_num_timeout"] = self.params["max_num_timeout"]
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init)
        queue_keys = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{
            key if key in queue_keys else f"{self._EXECUTOR}_{key}": value
            for key, value in self.params.items() if key not in ("submitit_folder", "max_num_timeout")})
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and len(job_overrides) > 0
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        params = []
        for i, overrides in enumerate(job_overrides):
            num = initial_job_idx + i
            print(f"\t#{num} : {' '.join(filter_overrides(overrides))}", flush=True)
            params.append((list(overrides), "hydra.sweep.dir", num, f"job_id_for_{num}", Singleton.get_state()))
        jobs = self._executor().map_array(self, *zip(*params))
        return [self._collect(job, p[0], p[2], sweep_dir) for job, p in zip(jobs, params)]

    def _collect(self, job, overrides: List[str], num: int, sweep_dir: Path) -> JobReturn:
        from submitit.core.utils import UncompletedJobError

        try:
            return job.results()[0]
        except UncompletedJobError:
            state = _final_state(job)
        error = f"killed: the job ended without a result (scheduler state {state}; job {job.job_id})"
        # A cohort sweep's job trains several runs (spaced_kd.cohort.task): each is one run, killed
        # unless it had completed before the job died.
        runs_of = getattr(self.task_function, "runs_of", None)
        for run_num, run_overrides in (runs_of(num) if runs_of is not None else [(num, overrides)]):
            run_dir = self._run_dir(run_overrides)
            if runs_of is not None and run_dir is not None and \
                    (rundir.read_summary(run_dir) or {}).get("status") == "completed":
                report_job(sweep_dir, run_num, run_dir, "completed")
                continue
            print(f"error: {run_dir}: {error}", file=sys.stderr, flush=True)
            if run_dir is not None:
                mark_killed(run_dir, error)
                report_job(sweep_dir, run_num, run_dir, "killed", error)
        # COMPLETED with no value: Hydra's sweeper re-raises a FAILED job's error, which would end
        # the sweep; the failure is reported through the job record instead.
        return JobReturn(overrides=overrides, status=JobStatus.COMPLETED, _return_value=math.nan)

    def _run_dir(self, overrides: List[str]) -> Optional[Path]:
        """Where the job wrote (or would have written): the sweep dir and sub-dir of its config."""
        try:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
        except Exception:  # the report must not fail the sweep; the job record then lacks a path
            return None


def _final_state(job, tries: int = 10) -> str:
    """The scheduler's final word on the job (sacct lags the end of a job by a moment)."""
    state = "UNKNOWN"
    for _ in range(tries):
        try:
            info = job.get_info(mode="force")
            state = str(info.get("State", state)).split()[0]
        except Exception:
            return state
        if state not in ("RUNNING", "PENDING", "COMPLETING", "UNKNOWN", "REQUEUED"):
            return state
        time.sleep(1)
    return state


def mark_killed(run_dir: Path, error: str) -> None:
    """Say in summary.json that the run was killed, keeping what the summary knew (config,
    metrics of the epochs it finished); a completed run is never relabelled."""
    old = rundir.read_summary(run_dir) or {}
    if old.get("status") == "completed":
        return
    try:
        rundir.write_summary(run_dir, {**old, "status": "killed", "error": error, "run_dir": str(run_dir),
                                       "metrics": old.get("metrics", {}),
                                       "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")})
    except OSError:
        pass
