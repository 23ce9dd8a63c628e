"""Every grid in sweeps/ composes to exactly the paper's cells, 3 seeds each, and its jobs validate.

The cells a grid should run are written by hand in tests/paper_cells.py; here each grid is expanded
into its jobs (the cartesian product of `hydra.sweeper.params`, as Hydra's basic sweeper runs them),
and one job per cell is composed and read back: which data set, network, teacher and column the
composed config says, not which overrides the grid file wrote. The seeds are checked on the
expansion; composing one job per cell instead of every job (3×) keeps the file at about half a
minute on one core (~0.12 s a compose, ~240 cells).

Every grid that reproduces a published number composes the recipe that produced it, the release's
(`recipe=official`, with its teacher built apart from the student), in every cell; the paper's
equations stay one override away (`+sweep=table6 recipe=default`), in folders of their own.
"""
import itertools
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from paper_cells import PAPER_CELLS
from spaced_kd import recipe
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
# The grids whose numbers the paper publishes, all made by the release's code (README "Sweeps").
REPRODUCTIONS = {"table1", "table1_in100", "table1_vit", "table2", "table2_in100", "table2_vit", "table3",
                 "table6", "table6_vit", "table7", "table8", "table8_vit", "table9", "table9_vit", "table10", "fig3",
                 "fig5", "fig6_lr",
                 "fig6_bs", "probes"}
RESNETS = {"resnet18", "resnet50", "resnet101"}
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
    """"same" when the teacher is built as the student is (architecture and width), else its name."""
    if c.kd.name == "none":
        return "-"
    if c.kd_mode.name == "self":
        return "self"
    t = c.teacher
    width = t.width if t.width is not None else c.model.width
    name = t.name or c.model.name
    if name == recipe.student_model(c) and width == c.model.width:
        return "same"
    return name + (f"x{width:g}" if width != 1 else "")


def column(c: Config) -> str:
    if c.kd.name in ("spaced", "ahead"):
        assert c.interval_unit == "epochs", "the paper's intervals are in epochs"
        return f"{c.kd.name}{c.interval:g}"
    return c.kd.name


def cell(c: Config, extra: tuple[str, ...]) -> tuple:
    return (c.dataset.name, recipe.student_model(c), teacher_label(c), column(c), *(read(c, k) for k in extra))


def check_recipe(grid: str, c: Config) -> None:
    """A reproduction runs the release's recipe; a peer ResNet pair is built one after the other."""
    if grid not in REPRODUCTIONS:
        return
    assert c.recipe.name == "official", f"{grid}: recipe {c.recipe.name}, the paper's numbers are the release's"
    if c.kd_mode.name == "peer" and c.kd.name != "none" and c.model.name in RESNETS:
        assert c.teacher.init == "different", f"{grid}: teacher.init={c.teacher.init}, the release's is different"


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
            check_recipe(grid, c)
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


def test_every_reproduction_is_a_grid():
    assert REPRODUCTIONS <= set(GRIDS)
    assert {g for g in GRIDS if PAPER_CELLS[g].settings.get("recipe.name") == "official"} == REPRODUCTIONS


def test_the_papers_equations_are_one_override_away_in_folders_of_their_own():
    """`+sweep=table6 recipe=default` composes the paper's equations, and its runs' folders and
    identities differ from the release-recipe runs of the same cell."""
    register()
    cell_overrides = ["+sweep=table6", "+arm=online", "model=resnet18", "dataset=cifar100", "seed=0"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        official = compose(config_name="config", overrides=cell_overrides, return_hydra_config=True)
        default = compose(config_name="config", overrides=[*cell_overrides, "recipe=default"], return_hydra_config=True)
    a, b = load_config(official), load_config(default)
    assert (a.recipe.name, a.teacher.init, a.loss.t2_scaling) == ("official", "different", False)
    assert (b.recipe.name, b.teacher.init, b.loss.t2_scaling) == ("default", "same", True)
    check_runnable(b)
    assert official.hydra.job.override_dirname != default.hydra.job.override_dirname
    assert "recipe-default" in default.hydra.job.override_dirname.split("__")
