"""Cohort sweeps on the local SLURM cluster (tests/test_slurm.py brings it up): one array task per
cohort, requeue restores every member bit-identical to its run alone, a job killed outright is
one killed run per member.

    python -m pytest -m slurm tests/test_cohort_slurm.py
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from cohort_helpers import assert_same_run
from helpers import train
from spaced_kd import rundir
from test_slurm import (REPO, REQUEUE_WAYS, _settle, _tail, job_id_of_run, job_logs, sacct_states, slurm_env,  # noqa: F401
                        slurm_job_ids, student_progress, summaries, sweep_cmd, unique_name, wait_for)

pytestmark = pytest.mark.slurm

# three members, long enough (30 epochs of 4 steps) to be caught mid-way
GRID = ["hydra/sweeper=cohort", "kd=online,spaced,offline", "interval=0.5", "trainer.epochs=30",
        "trainer.checkpoint_every=5", "seed=0"]


def start(env: dict, sweep, name: str, log):
    with open(log, "w") as out:
        return subprocess.Popen(sweep_cmd(sweep, name, *GRID), cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("way", list(REQUEUE_WAYS))
def test_requeued_cohort_resumes_every_member_as_alone(slurm_env, tmp_path, way):
    """Requeued by Slurm (SIGTERM) or by submitit on the time-limit warning (USR2): the cohort
    checkpoints every member between two of its steps, the same array task starts again and
    every member resumes from its own checkpoint."""
    sweep, name, log = tmp_path / "sweep", unique_name("cohort"), tmp_path / "sweep.log"
    proc = start(slurm_env, sweep, name, log)
    try:
        wait_for("a member's first student epoch", lambda: student_progress(sweep), 240, proc, log)
        (job,) = slurm_job_ids(sweep)  # one launched job for the cohort of three
        subprocess.run(REQUEUE_WAYS[way](job), env=slurm_env, check=True, timeout=60)
        proc.wait(timeout=480)
    finally:
        if proc.poll() is None:
            proc.kill()
        _settle(slurm_env, name)
    detail = f"\n{_tail(log)}\n{job_logs(sweep)}"
    assert proc.returncode == 0, detail
    assert "3 runs in 1 job: 1 cohort of 3 runs" in log.read_text(), detail
    runs = summaries(sweep)
    assert len(runs) == 3 and {s["status"] for s in runs.values()} == {"completed"}, detail
    assert all(s["resumed_from_step"] is not None for s in runs.values()), detail
    assert {job_id_of_run(r) for r in runs} == {job}  # the array task that trained them all
    assert "REQUEUED" in sacct_states(slurm_env, job, duplicates=True)
    assert "3/3 runs completed" in log.read_text(), detail

    # the same grid, plain and local: every member bit-identical to its run alone
    plain = tmp_path / "plain"
    r = train("-m", *GRID[1:], "dataset.train_subset=256", "trainer.batch_size=64", "trainer.progress=false",
              f"hydra.sweep.dir={plain}", timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    for run_dir in runs:
        assert_same_run(plain / run_dir.relative_to(sweep), run_dir)


def test_a_cohort_killed_outright_is_one_killed_run_per_member(slurm_env, tmp_path):
    sweep, name, log = tmp_path / "sweep", unique_name("ckill"), tmp_path / "sweep.log"
    proc = start(slurm_env, sweep, name, log)
    try:
        victim, _ = wait_for("a member's first student epoch", lambda: student_progress(sweep), 240, proc, log)
        pid = wait_for("the cohort's process", lambda: rundir.holder(victim), 60)
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
        _settle(slurm_env, name)
    text = log.read_text()
    assert proc.returncode == 1, text[-3000:]
    assert "Traceback" not in text and "3 of 3 runs did not complete" in text, text[-3000:]
    runs = summaries(sweep)
    assert len(runs) == 3 and {s["status"] for s in runs.values()} == {"killed"}, runs
    assert all("scheduler state" in s["error"] for s in runs.values())
