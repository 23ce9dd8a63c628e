"""probes.json never passes off an unfinished or stale result: unfinished runs are refused unless
allow_unfinished=true, and every result records the checkpoint, step and run status it measured."""
import hashlib
import json
import os
import shutil

import pytest

from spaced_kd import checkpoint, rundir
from spaced_kd.errors import UserError
from spaced_kd.probes import run_probes
from spaced_kd.probes.runner import stale

from helpers import one_line_error, run_script
from probe_fakes import make_run_dir

SMALL = {"bim": {"steps": 1, "max_samples": 16}, "hessian": {"probes": 2, "batches": 1, "batch_size": 16, "power_iters": 2}}


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    base = tmp_path_factory.mktemp("templates")
    return {"finished": make_run_dir(base / "finished", "kd.name=online"),
            "halfway": make_run_dir(base / "halfway", "kd.name=online", finished=False)}


@pytest.fixture
def runs(templates, tmp_path):
    """Fresh copies, so a test may change its runs."""
    return {k: shutil.copytree(v, tmp_path / k) for k, v in templates.items()}


def _file_id(path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_a_result_records_the_checkpoint_step_and_status_it_measured(runs):
    run = runs["finished"]
    run_probes(run, "bim", SMALL, echo=None)
    probed = json.loads((run / "probes.json").read_text())["meta"]["bim"]["run"]
    engine = checkpoint.load(run / rundir.CHECKPOINT)["engine"]
    summary = rundir.read_summary(run)
    assert probed == {"checkpoint": _file_id(run / rundir.CHECKPOINT), "step": engine["done"]["student"],
                      "teacher_steps": engine["done"]["teacher"], "events_done": engine["event_index"],
                      "events": summary["events"], "status": "completed"}


@pytest.mark.parametrize("change, expected", [
    (None, "has not finished training (its summary says 'running'); set allow_unfinished=true"),
    (lambda run: (run / rundir.SUMMARY).unlink(), "has not finished training (it has no summary.json)"),
    # the summary claims completion, the checkpoint is halfway: the checkpoint decides
    (lambda run: rundir.write_summary(run, {**rundir.read_summary(run), "status": "completed"}),
     "has not finished training (its checkpoint is at event "),
])
def test_an_unfinished_run_is_refused_before_anything_is_written(runs, change, expected):
    run = runs["halfway"]
    if change is not None:
        change(run)
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != rundir.LOCK}
    with pytest.raises(UserError) as err:
        run_probes(run, "bim", SMALL, echo=None)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not (run / "probes.json").exists()
    assert before == {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != rundir.LOCK}


def test_allow_unfinished_probes_the_last_checkpoint_and_says_where_it_was(runs):
    run = runs["halfway"]
    run_probes(run, "bim", {**SMALL, "allow_unfinished": True}, echo=None)
    probed = json.loads((run / "probes.json").read_text())["meta"]["bim"]["run"]
    summary = rundir.read_summary(run)
    assert probed["status"] == "running"
    assert probed["events_done"] == summary["events_done"] < probed["events"] == summary["events"]
    assert probed["step"] == summary["steps"]


def test_a_result_of_another_checkpoint_is_named_stale(runs):
    run = runs["finished"]
    run_probes(run, "bim", SMALL, echo=None)
    first = _file_id(run / rundir.CHECKPOINT)
    # the run is trained again (say trainer.resume=false): same progress, other weights
    state = checkpoint.load(run / rundir.CHECKPOINT)
    student = state["learner"]["models"]["student"]
    for value in student.values():
        if value.is_floating_point():
            value.add_(0.01)
    checkpoint.save(run / rundir.CHECKPOINT, {k: v for k, v in state.items() if k != "format"})
    second = _file_id(run / rundir.CHECKPOINT)
    assert second != first
    lines = []
    run_probes(run, "hessian", SMALL, echo=lines.append)
    data = json.loads((run / "probes.json").read_text())
    assert data["meta"]["bim"]["run"]["checkpoint"] == first and data["meta"]["hessian"]["run"]["checkpoint"] == second
    assert stale(data, second) == ["bim"] and stale(data, first) == ["hessian"]
    assert any(ln.startswith("note: bim in probes.json were measured on another checkpoint") for ln in lines), lines
    # probes.json written before results recorded their checkpoint: every result is stale
    assert stale({"bim": {}, "meta": {"bim": {"wall_s": 1}}}, second) == ["bim"]


def test_a_run_being_trained_is_refused_naming_the_process(runs, monkeypatch):
    from spaced_kd import restore

    monkeypatch.setattr(restore, "LOCK_WAIT_S", 0.2)
    run = runs["finished"]
    with rundir.RunLock(run):  # what a training process holds for its whole life
        with pytest.raises(UserError) as err:
            run_probes(run, "bim", SMALL, echo=None)
    assert f"is in use by process {os.getpid()}" in str(err.value)
    assert not (run / "probes.json").exists()


def test_evaluate_py_refuses_an_unfinished_run_in_one_line(runs):
    run = runs["halfway"]
    r = run_script("evaluate.py", f"run_dir={run}", "probe=bim", "bim.steps=1", "bim.max_samples=8")
    assert "has not finished training" in one_line_error(r) and r.returncode == 2
    assert not (run / "probes.json").exists()
    r = run_script("evaluate.py", f"run_dir={run}", "probe=bim", "bim.steps=1", "bim.max_samples=8",
                   "allow_unfinished=true")
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "probes.json").read_text())["meta"]["bim"]["run"]["status"] == "running"

