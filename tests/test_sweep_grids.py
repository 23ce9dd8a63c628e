"""Every paper grid in sweeps/ expands into jobs whose configs compose and validate."""
import itertools
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from spaced_kd.build import build_plan
from spaced_kd.conf_store import register, sweep_files
from spaced_kd.config import load_config
from spaced_kd.losses import FEATURE_LOSSES, LOGIT_LOSSES
from spaced_kd.models import MODELS
from spaced_kd.data import SOURCES
from spaced_kd.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
GRIDS = sorted(sweep_files())
EXPECTED_JOBS = {"table1": 81, "table1_vit": 54, "table2": 54, "table6": 126, "fig3": 48, "fig6": 120,
                 "table3": 30, "table8": 45, "table9": 36, "table10": 24, "cpu_mini": 18}


def jobs(grid: str) -> list[list[str]]:
    """The grid's jobs as override lists: the cartesian product of its swept values, as Hydra's
    basic sweeper runs them."""
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose(config_name="config", overrides=[f"+sweep={grid}"], return_hydra_config=True)
        params = [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
    axes = []
    for override in OverridesParser.create().parse_overrides(params):
        key = override.get_key_element()
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.get_value_element_as_str()]
        axes.append([f"{key}={v}" for v in values])
    return [list(job) for job in itertools.product(*axes)]


def covering(all_jobs: list[list[str]]) -> list[list[str]]:
    """A few jobs that between them use every value of every swept key (composing all is slow)."""
    chosen, seen = [], set()
    for job in all_jobs:
        if not set(job) <= seen:
            chosen.append(job)
            seen |= set(job)
    return chosen


def test_every_grid_is_listed():
    assert set(GRIDS) == set(EXPECTED_JOBS)


@pytest.mark.parametrize("grid", GRIDS)
def test_grid_expands_to_valid_runs(grid):
    all_jobs = jobs(grid)
    assert len(all_jobs) == EXPECTED_JOBS[grid]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        for job in covering(all_jobs):
            c = load_config(compose(config_name="config", overrides=[f"+sweep={grid}", *job]))
            assert c.model.name in MODELS and c.dataset.name in SOURCES and c.kd.name in SCHEDULES
            assert (c.teacher.name or c.model.name) in MODELS
            assert c.loss.logit in LOGIT_LOSSES and c.loss.feature in FEATURE_LOSSES
            build_plan(c, steps_per_epoch=391)  # windows and intervals convert to steps


def test_table6_arms_are_the_papers_columns():
    grid = covering(jobs("table6"))
    seen = set()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        for job in grid:
            c = load_config(compose(config_name="config", overrides=["+sweep=table6", *job]))
            seen.add((c.kd.name, c.interval if c.kd.name == "spaced" else None))
    assert seen == {("none", None), ("online", None), ("offline", None),
                    ("spaced", 0.5), ("spaced", 1.0), ("spaced", 1.5), ("spaced", 2.0)}


def test_fig3_windows():
    grid = [j for j in jobs("fig3") if "seed=0" in j]
    ends = set()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        for job in grid:
            c = load_config(compose(config_name="config", overrides=["+sweep=fig3", *job]))
            ends.add((c.spaced.start_epoch, c.spaced.end()))
    assert (70.0, 80.0) in ends and (70.0, None) in ends and (0.0, 10.0) in ends
