"""Every grid in sweeps/ composes to exactly the paper's cells, 3 seeds each, and its jobs validate.

The cells a grid should run are written by hand in tests/paper_cells.py; here each grid is expanded
into its jobs (the cartesian product of `hydra.sweeper.params`, as Hydra's basic sweeper runs them),
and one job per cell is composed and read back: which data set, network, teacher and column the
composed config says, not which overrides the grid file wrote. The seeds are checked on the
expansion; composing one job per cell instead of every job (3×) keeps the file at about half a
minute on one core (~0.12 s a compose, ~240 cells).
"""
import itertools
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from paper_cells import PAPER_CELLS
from spaced_kd.build import build_plan
from spaced_kd.conf_store import register, sweep_files
from spaced_kd.config import Config, load_config
from spaced_kd.data import SOURCES
from spaced_kd.losses import FEATURE_LOSSES, LOGIT_LOSSES
from spaced_kd.models import MODELS
from spaced_kd.models.registry import SELF_MODELS
from spaced_kd.probes.config import probe_names
from spaced_kd.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
GRIDS = sorted(sweep_files())
ARMS = sorted(p.stem for p in (ROOT / "conf" / "arm").glob("*.yaml"))


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


def by_cell(all_jobs: list[list[str]]) -> dict[tuple[str, ...], list[int]]:
    """Jobs grouped by everything but the seed: {other overrides: [seeds]}."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for job in all_jobs:
        seeds = [o for o in job if o.startswith("seed=")]
        assert len(seeds) == 1, f"job without one seed override: {job}"
        rest = tuple(o for o in job if not o.startswith("seed="))
        groups.setdefault(rest, []).append(int(seeds[0].split("=", 1)[1]))
    return groups


def read(c: Config, key: str) -> Any:
    """A dotted key of the typed config; a method (spaced.end) is called."""
    node: Any = c
    for part in key.split("."):
        node = getattr(node, part)
    return node() if callable(node) else node


def teacher_label(c: Config) -> str:
    if c.kd.name == "none":
        return "-"
    if c.kd_mode.name == "self":
        return "self"
    t = c.teacher
    if t.name is None and t.width is None:
        return "same"
    width = t.width if t.width is not None else c.model.width
    return (t.name or c.model.name) + (f"x{width:g}" if width != 1 else "")


def column(c: Config) -> str:
    if c.kd.name in ("spaced", "ahead"):
        assert c.interval_unit == "epochs", "the paper's intervals are in epochs"
        return f"{c.kd.name}{c.interval:g}"
    return c.kd.name


def cell(c: Config, extra: tuple[str, ...]) -> tuple:
    return (c.dataset.name, c.model.name, teacher_label(c), column(c), *(read(c, k) for k in extra))


def check_runnable(c: Config) -> None:
    assert c.model.name in MODELS and c.dataset.name in SOURCES and c.kd.name in SCHEDULES
    assert (c.teacher.name or c.model.name) in MODELS
    assert c.loss.logit in LOGIT_LOSSES and c.loss.feature in FEATURE_LOSSES
    if c.kd_mode.name == "self" and c.kd.name != "none":
        assert c.model.name in SELF_MODELS, f"no self-KD model for {c.model.name}"
    if c.probes:
        probe_names(c.probes)
    build_plan(c, steps_per_epoch=391)  # windows and intervals convert to steps


def test_every_grid_has_a_written_cell_list():
    assert set(GRIDS) == set(PAPER_CELLS)


@pytest.mark.parametrize("grid", GRIDS)
def test_grid_runs_exactly_the_papers_cells(grid):
    paper = PAPER_CELLS[grid]
    assert len(set(paper.cells)) == len(paper.cells), "a cell is written twice"
    all_jobs = jobs(grid)
    assert len(all_jobs) == len(paper.cells) * len(paper.seeds)
    groups = by_cell(all_jobs)
    for rest, seeds in groups.items():
        assert sorted(seeds) == sorted(paper.seeds), (rest, seeds)

    found: dict[tuple, list[tuple[str, ...]]] = {}
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        for rest in groups:
            c = load_config(compose(config_name="config", overrides=[f"+sweep={grid}", *rest, f"seed={paper.seeds[0]}"]))
            assert c.seed == paper.seeds[0]
            check_runnable(c)
            for key, want in paper.settings.items():
                assert read(c, key) == want, f"{grid} {list(rest)}: {key} = {read(c, key)!r}, the paper's is {want!r}"
            found.setdefault(cell(c, paper.extra), []).append(rest)

    twice = {k: v for k, v in found.items() if len(v) > 1}
    assert not twice, f"jobs that run the same cell: {twice}"
    missing = set(paper.cells) - set(found)
    extra = set(found) - set(paper.cells)
    assert not missing and not extra, f"{grid}: missing {sorted(missing, key=str)}; not the paper's {sorted(extra, key=str)}"


@pytest.mark.parametrize("arm", ARMS)
def test_an_arm_is_the_column_it_is_named_after(arm):
    """conf/arm/NAME.yaml gives column NAME whatever the experiment's own interval."""
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        for experiment in ("paper_resnet", "paper_self_kd"):
            c = load_config(compose(config_name="config", overrides=[f"experiment={experiment}", f"+arm={arm}"]))
            # method_kd: the method's own schedule (method.kd), here that of method=none
            assert column(c) == (c.method.kd if arm == "method_kd" else arm)


def test_written_cells_have_the_grid_shape():
    """Each written cell has four fields plus one per extra key (a typo'd tuple fails here, not as a
    confusing set difference)."""
    for grid, paper in PAPER_CELLS.items():
        for c in paper.cells:
            assert len(c) == 4 + len(paper.extra), (grid, c)
