"""One run over 2 Slurm tasks (hydra/launcher=slurm_ddp, gloo on the CPU) on the local cluster.

    python -m pytest -m slurm tests/test_slurm_ddp.py

The cluster comes from tests/test_slurm.py's fixture (.ci/slurm/up.sh; needs root).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_slurm import (FAST, REPO, _settle, _tail, describe, final_sacct_states, job_id_of_run, job_logs,
                        sacct_states, slurm_env, slurm_job_ids, student_progress, summaries, unique_name, wait_for)

pytestmark = pytest.mark.slurm
__all__ = ["slurm_env"]  # the module fixture, shared

# the preset asks for 4 GPUs a node; the test cluster is one CPU-only node with 2 CPUs
TWO_TASKS = [
    "hydra/launcher=slurm_ddp",
    "hydra.launcher.tasks_per_node=2",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=4",
    "hydra.launcher.timeout_min=15",
    "trainer.device=cpu",
]


def test_two_task_job_is_one_run(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    name = unique_name("ddp")
    cmd = [sys.executable, "train.py", "-m", *TWO_TASKS, f"hydra.launcher.name={name}", f"hydra.sweep.dir={sweep}",
           *FAST, "trainer.epochs=2", "seed=0", "dataset.test_subset=120"]
    try:
        proc = subprocess.run(cmd, check=False, cwd=REPO, env=slurm_env, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL)
    finally:
        _settle(slurm_env, name)
    assert proc.returncode == 0, describe(proc, sweep)

    runs = summaries(sweep)
    assert len(runs) == 1, f"expected one run, found {list(runs)}\n{describe(proc, sweep)}"
    (run_dir, s), = runs.items()
    assert s["status"] == "completed", f"{s.get('status')} {s.get('error')}\n{describe(proc, sweep)}"
    assert s["world_size"] == 2 and s["steps"] == s["total_steps"] > 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == len({(r["epoch"], r["role"], r["split"]) for r in rows})  # rank 0 alone logged

    # one Slurm job of two tasks, each of which logged (submitit writes one log per task)
    (job,) = slurm_job_ids(sweep)
    logs = sorted(p.name for p in (sweep / ".submitit" / job).glob("*_log.out"))
    assert len(logs) == 2, logs
    assert "2 ranks (slurm, gloo)" in "".join(p.read_text() for p in (sweep / ".submitit" / job).glob("*_0_log.out"))
    assert final_sacct_states(slurm_env, [job]) == {job: "COMPLETED"}


def test_a_requeued_two_task_job_resumes_its_run(slurm_env, tmp_path):
    """scontrol requeue of a running 2-task job: both tasks stop, Slurm starts the job again, and
    its two ranks resume the one run from rank 0's checkpoint in the same directory."""
    sweep, name, log = tmp_path / "sweep", unique_name("ddprq"), tmp_path / "sweep.log"
    cmd = [sys.executable, "train.py", "-m", *TWO_TASKS, f"hydra.launcher.name={name}", f"hydra.sweep.dir={sweep}",
           *FAST, "trainer.epochs=30", "trainer.checkpoint_every=5", "seed=0", "dataset.test_subset=120"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=slurm_env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    detail = lambda: f"\n--- sweep log ---\n{_tail(log)}\n{job_logs(sweep)}"  # noqa: E731
    try:
        run_dir, seen = wait_for("the first student epoch and checkpoint", lambda: student_progress(sweep), 240,
                                 proc, log)
        job = job_id_of_run(run_dir)
        subprocess.run(["scontrol", "requeue", job], env=slurm_env, check=True, timeout=60)
        proc.wait(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
            _settle(slurm_env, name, grace=0)
        _settle(slurm_env, name)
    assert proc.returncode == 0, f"sweep exit {proc.returncode}{detail()}"
    runs = summaries(sweep)
    assert list(runs) == [run_dir], f"runs {list(runs)}{detail()}"
    s = runs[run_dir]
    assert s["status"] == "completed" and s["world_size"] == 2, f"{s.get('status')} {s.get('error')}{detail()}"
    assert s["resumed_from_step"] is not None and seen <= s["resumed_from_step"] < s["total_steps"], detail()
    assert "REQUEUED" in sacct_states(slurm_env, job, duplicates=True)
    assert final_sacct_states(slurm_env, [job]) == {job: "COMPLETED"}
