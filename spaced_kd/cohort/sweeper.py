"""`hydra/sweeper=cohort`: Hydra's basic sweep (same grid, same job numbers, same run directories),
with the jobs that can share a teacher launched as one job each.

The sweeper composes every job of the grid (as Hydra's own sweeper does to check them), groups them
(spaced_kd.cohort.grouping) and hands the launcher one job per group: the overrides of the group's
first job, so the launcher's own view of the job (its line in the log, the run directory it
makes) is that of a real run. The launched task (spaced_kd.cohort.task.CohortTask) looks its group
up by its job number. Hydra accepts sweepers only from the `hydra_plugins` namespace: the class is
declared in hydra_plugins/spaced_kd_cohort on top of `CohortSweeping`.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, filter_overrides
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from .task import CohortTask, Job

if TYPE_CHECKING:
    from .grouping import Grouping


class CohortSweeping:
    """Mixed into hydra's BasicSweeper (its params, max_batch_size and argument splitting)."""

    config: DictConfig
    hydra_context: Any
    launcher: Any
    max_batch_size: Optional[int]

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        self.task = CohortTask(task_function, hydra_context, config)
        super().setup(hydra_context=hydra_context, task_function=self.task, config=config)  # type: ignore[misc]

    def sweep(self, arguments: List[str]) -> List[Sequence[JobReturn]]:
        # imported here: Hydra imports every plugin at each start of train.py (--help included)
        from .grouping import Grouping, group

        params = self._parse_config() + list(arguments)  # type: ignore[attr-defined]
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        (jobs,) = self.split_arguments(parser.parse_overrides(params), None)  # type: ignore[attr-defined]
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        grouping = group(*zip(*(self._checked(o) for o in jobs))) if jobs else Grouping()
        self.task.jobs = [[Job(i, tuple(jobs[i])) for i in g] for g in grouping.groups]
        print(describe(grouping, jobs), flush=True)

        returns = []
        size = self.max_batch_size or max(1, len(self.task.jobs))
        for start in range(0, len(self.task.jobs), size):
            batch = [list(g[0].overrides) for g in self.task.jobs[start:start + size]]
            results = self.launcher.launch(batch, initial_job_idx=start)
            for r in results:
                _ = r.return_value  # a job that raised ends the sweep, as in Hydra's basic sweeper
            returns.append(results)
        return returns

    def _checked(self, overrides: List[str]) -> Tuple[Optional[Any], Optional[dict]]:
        """(checked config, resolved dict) of one job; (None, None) when it does not load (the job
        reports that itself). Composing raises, as Hydra's validation of a sweep does."""
        from ..config import load_config
        from ..errors import UserError
        from ..run import resolved

        full = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        task = copy.deepcopy(full)
        with read_write(task), open_dict(task):
            del task["hydra"]
        try:
            conf = load_config(task)
        except (UserError, ValueError, KeyError):
            return None, None
        return conf, resolved(conf)


def describe(grouping: Grouping, jobs: Sequence[Sequence[str]]) -> str:
    """What the sweep launches, for the log: each cohort's members, each job that runs alone and why."""
    cohorts = grouping.cohorts
    n_members = sum(len(g) for g in cohorts)
    n = len(grouping.groups)
    lines = [f"cohort sweep: {len(jobs)} runs in {n} {'job' if n == 1 else 'jobs'}: "
             f"{len(cohorts)} {'cohort' if len(cohorts) == 1 else 'cohorts'} of {n_members} runs, "
             f"{n - len(cohorts)} alone"]
    for k, g in enumerate(grouping.groups):
        if len(g) > 1:
            lines.append(f"  job {k}: one teacher for runs {', '.join(f'#{i}' for i in g)}")
            lines += [f"    #{i} : {' '.join(filter_overrides(jobs[i]))}" for i in g]
        elif g[0] in grouping.alone:
            lines.append(f"  job {k}: run #{g[0]} alone ({grouping.alone[g[0]]})")
    return "\n".join(lines)
