"""One run over 2 Slurm tasks (hydra/launcher=slurm_ddp, gloo on the CPU) on the local cluster.

    python -m pytest -m slurm tests/test_slurm_ddp.py

The cluster comes from tests/test_slurm.py's fixture (.ci/slurm/up.sh; needs root).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_slurm import (FAST, REPO, _settle, describe, final_sacct_states, slurm_env, slurm_job_ids, summaries,
                        unique_name)

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
