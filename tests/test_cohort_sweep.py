"""`python train.py -m ... hydra/sweeper=cohort` as a user runs it: the runs of a plain sweep, in the
same directories with the same files, trained as cohorts; splits, failures, kill -9 and rerun."""
import json
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from cohort_helpers import assert_same_run
from helpers import FAST, train
from spaced_kd import rundir
from spaced_kd.cohort.runner import KILL_AT_ENV

# 4 steps an epoch, 3 epochs: intervals 0.5 … 2 are 2 … 8 steps
CARD = ["kd=spaced", "interval=0.5,1,1.5,2", *FAST, "trainer.epochs=3", "trainer.checkpoint_every=3"]
COHORT = "hydra/sweeper=cohort"


def runs(root: Path) -> dict:
    """{run dir relative to the sweep: summary}."""
    return {str(p.parent.relative_to(root)): json.loads(p.read_text()) for p in root.rglob("summary.json")}


def files(run_dir: Path) -> set:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}


def job_records(root: Path) -> list:
    return [json.loads(p.read_text()) for p in (root / ".jobs").rglob("*.json")]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The card's sweep with Hydra's basic sweeper: what a cohort sweep must reproduce."""
    root = tmp_path_factory.mktemp("plain")
    r = train("-m", *CARD, f"hydra.sweep.dir={root}")
    assert r.returncode == 0, r.stderr[-2000:]
    return root


def assert_as_plain(plain: Path, root: Path) -> None:
    assert runs(root).keys() == runs(plain).keys() and len(runs(root)) == 4
    for rel in runs(plain):
        a, b = plain / rel, root / rel
        assert files(a) == files(b), rel
        for f in (rundir.CONFIG, rundir.OVERRIDES):
            assert (a / f).read_text() == (b / f).read_text(), (rel, f)
        ha, hb = OmegaConf.load(a / rundir.HYDRA).hydra, OmegaConf.load(b / rundir.HYDRA).hydra
        assert hb.job.num == ha.job.num and hb.job.override_dirname == ha.job.override_dirname
        assert hb.mode == ha.mode and list(hb.overrides.task) == list(ha.overrides.task)
        assert hb.runtime.output_dir == str(b.resolve())
        assert {k: v for k, v in hb.runtime.choices.items() if k != "hydra/sweeper"} == \
               {k: v for k, v in ha.runtime.choices.items() if k != "hydra/sweeper"}
        assert_same_run(a, b)


def test_the_cards_interval_sweep_is_one_cohort_with_the_plain_sweeps_runs(plain, tmp_path):
    r = train("-m", *CARD, COHORT, f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "4 runs in 1 job: 1 cohort of 4 runs" in r.stdout
    assert "Launching 1 jobs locally" in r.stdout  # the launcher is handed one job
    assert "4/4 runs completed" in r.stdout  # … and the sweep counts runs
    records = job_records(tmp_path)
    assert sorted(rec["status"] for rec in records) == ["completed"] * 4
    assert_as_plain(plain, tmp_path)


def test_kill_9_mid_cohort_and_the_same_command_again(plain, tmp_path):
    r = train("-m", *CARD, COHORT, f"hydra.sweep.dir={tmp_path}", env={KILL_AT_ENV: "6"})
    assert r.returncode == -9, r.stderr[-2000:]
    assert {s["status"] for s in runs(tmp_path).values()} == {"running"}
    r = train("-m", *CARD, COHORT, f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "4/4 runs completed" in r.stdout and r.stdout.count("resuming") == 4
    assert_as_plain(plain, tmp_path)


def test_a_paper_grid_splits_what_cannot_share_a_teacher(tmp_path):
    r = train("-m", "+arm=none,online,spaced0.5,offline", "kd_mode=peer,self", "seed=0,1", *FAST, "trainer.epochs=2",
              COHORT, f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    # peer runs: one cohort per seed; self-KD runs (kd=none of them too) run alone
    assert "16 runs in 10 jobs: 2 cohorts of 8 runs, 8 alone" in r.stdout
    assert len(re.findall(r"alone \(kd_mode=self", r.stdout)) == 8
    assert "16/16 runs completed" in r.stdout
    done = runs(tmp_path)
    assert len(done) == 16 and {s["status"] for s in done.values()} == {"completed"}
    assert sum("ensemble_acc" in s["metrics"] for s in done.values()) == 6  # self KD with a teacher head
    assert len(job_records(tmp_path)) == 16


def test_the_releases_recipe_keeps_replaying_students_apart(tmp_path):
    r = train("-m", "+arm=online,spaced0.5,offline", "recipe=official", *FAST, "trainer.epochs=2", COHORT,
              f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "3 runs in 2 jobs: 1 cohort of 2 runs, 1 alone" in r.stdout
    assert re.search(r"run #1 alone \(recipe.teacher_train_mode_replay: .*BatchNorm", r.stdout)
    assert {s["status"] for s in runs(tmp_path).values()} == {"completed"}


def test_a_member_that_fails_fails_alone_and_fails_the_sweep(tmp_path):
    r = train("-m", "kd=online", "loss.beta=0.03,1e38", *FAST, COHORT, f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 1
    assert "1 cohort of 2 runs" in r.stdout and "1 of 2 runs did not complete" in r.stderr
    done = runs(tmp_path)
    bad = [s for k, s in done.items() if "1e+38" in k or "1e38" in k]
    good = [s for k, s in done.items() if "0.03" in k]
    assert len(bad) == len(good) == 1
    assert bad[0]["status"] == "failed" and "non-finite" in bad[0]["error"]
    assert good[0]["status"] == "completed" and good[0]["steps"] == good[0]["total_steps"]
    assert sorted(rec["status"] for rec in job_records(tmp_path)) == ["completed", "failed"]


def test_local_launcher_runs_a_cohort_as_one_job(tmp_path):
    r = train("-m", "kd=online,spaced", "interval=0.5", *FAST, COHORT, "hydra/launcher=local",
              f"hydra.sweep.dir={tmp_path}", timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {s["status"] for s in runs(tmp_path).values()} == {"completed"} and len(runs(tmp_path)) == 2
    submitted = [d for d in (tmp_path / ".submitit").iterdir() if d.is_dir() and any(d.glob("*_result.pkl"))]
    assert len(submitted) == 1, submitted
    ids = {str(OmegaConf.load(tmp_path / k / rundir.HYDRA).hydra.job.id) for k in runs(tmp_path)}
    assert ids == {submitted[0].name}  # each run names the job that trained it


def test_table6_is_one_cohort_per_model_dataset_and_seed(tmp_path):
    """The paper's grid, composed and grouped for real (no data here: every run is refused at its
    data, on its own, so the sweep takes seconds): 7 arms × 3 models × 2 data sets × 3 seeds, under
    the paper's equations (`recipe=default`; the grid's own recipe is the release's)."""
    sweep = tmp_path / "sweep"
    r = train("-m", "+sweep=table6", "recipe=default", COHORT, f"dataset.root={tmp_path / 'no-data'}",
              f"hydra.sweep.dir={sweep}", timeout=900)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "126 runs in 18 jobs: 18 cohorts of 126 runs, 0 alone" in r.stdout
    assert "Launching 18 jobs locally" in r.stdout
    records = job_records(sweep)
    assert len(records) == 126 and {rec["status"] for rec in records} == {"failed"}
    assert "126 of 126 runs did not complete" in r.stderr
    cohorts = re.findall(r"one teacher for runs ([#\d, ]+)", r.stdout)
    assert [len(c.split(",")) for c in cohorts] == [7] * 18
