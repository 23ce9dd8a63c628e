"""One run over 2 processes (torchrun, gloo on the CPU): one run directory, the stream's batches
split between the ranks, the single-process weights under synchronised BatchNorm, and a rank
killed mid-run taking the run down and resuming."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from helpers import FAST, ROOT, summary, train
from spaced_kd.data import build_data
from spaced_kd import recipe
from spaced_kd.config import DatasetConfig, load_config
from spaced_kd.ddp_learner import BATCH_LOG_ENV, digest
from spaced_kd.ddp_run import attribute
from spaced_kd.distributed import shard
from spaced_kd.engine import KILL_AT_ENV
from test_resume import assert_identical, final_state

# 2 epochs × 4 steps of 64 (32 a rank), spaced KD s = 6 steps: 16 events, checkpoints every 3.
ARGS = [*FAST, "trainer.checkpoint_every=3", "trainer.device=cpu"]


def torchrun(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", **(env or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "train.py"), *args]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def weights(run_dir):
    return final_state(run_dir)["learner"]["models"]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """A 2-rank run of the embedded default (digits, resnet8, spaced KD), its batches logged."""
    d = tmp_path_factory.mktemp("ddp") / "run"
    log = d.parent / "batches"
    r = torchrun(*ARGS, f"hydra.run.dir={d}", env={BATCH_LOG_ENV: str(log)})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return d, log


def test_two_rank_run_completes_in_one_run_directory(two_ranks):
    d, _ = two_ranks
    s = summary(d)
    assert s["status"] == "completed" and s["world_size"] == 2
    assert s["steps"] == s["total_steps"] == 8
    assert s["events_done"] == s["events"] == 16
    rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    # rank 0 alone logged: one row per (epoch, role), none twice
    assert sorted((r["epoch"], r["role"]) for r in rows) == [(1, "student"), (1, "teacher"), (2, "student"), (2, "teacher")]
    assert sorted(p.name for p in d.iterdir()) == [".hydra", ".lock", "checkpoints", "metrics.jsonl", "summary.json"]
    assert final_state(d)["world_size"] == 2
    # evaluation was sharded and reduced: accuracies are counts over the whole 120-sample test split
    for r in rows:
        assert abs(r["acc"] * 120 / 100 - round(r["acc"] * 120 / 100)) < 1e-3


def test_ranks_train_on_their_shard_of_the_single_process_stream(two_ranks):
    d, log = two_ranks
    cfg = load_config(summary(d)["config"])  # the run's own config, as one process would build it
    data = build_data(recipe.data_config(cfg), batch_size=64, seed=cfg.seed, device=torch.device("cpu"))
    seen = {}
    for rank in (0, 1):
        lines = (log.parent / f"{log.name}.rank{rank}").read_text().splitlines()
        assert len(lines) == 16  # every event, replays included
        for line in lines:
            t, h = line.split()
            seen.setdefault((int(t), rank), set()).add(h)
    for (t, rank), hashes in seen.items():
        x, y = data.train_batch(t)  # the single-process global batch of step t
        lo, hi = (0, 32) if rank == 0 else (32, 64)
        assert hashes == {digest(x[lo:hi], y[lo:hi])}, (t, rank)


@pytest.mark.parametrize("batch", [64, 63])  # 63: the last step of an epoch (61 samples) splits 31/30
def test_shards_rebuild_every_global_batch_byte_for_byte(batch):
    cfg = DatasetConfig(train_subset=250, test_subset=101)
    whole = build_data(cfg, batch_size=batch, seed=3, device=torch.device("cpu"))
    parts = [build_data(cfg, batch_size=batch, seed=3, device=torch.device("cpu")) for _ in range(2)]
    for r, p in enumerate(parts):
        p.set_shard(r, 2)
    for t in [0, 1, whole.steps_per_epoch - 1, whole.steps_per_epoch, 2 * whole.steps_per_epoch - 1]:
        x, y = whole.train_batch(t)
        xs, ys = zip(*(p.train_batch(t) for p in parts))
        assert torch.equal(torch.cat(xs), x) and torch.equal(torch.cat(ys), y), t
        assert abs(xs[0].shape[0] - xs[1].shape[0]) <= 1
    x, y = zip(*whole.eval_batches("test", 50))
    for r, p in enumerate(parts):
        lo, hi = shard(101, r, 2)
        px, py = zip(*p.eval_batches("test", 50))
        assert torch.equal(torch.cat(px), torch.cat(x)[lo:hi]) and torch.equal(torch.cat(py), torch.cat(y)[lo:hi])


def test_shard_bounds_cover_every_item_once():
    for n in (1, 7, 64, 65):
        for size in (1, 2, 3, 4):
            bounds = [shard(n, r, size) for r in range(size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert max(hi - lo for lo, hi in bounds) - min(hi - lo for lo, hi in bounds) <= 1


def test_sync_bn_two_ranks_match_one_process(tmp_path):
    # online KD, no dropout or drop-path (resnet8's default): the only difference left between the
    # runs is float32 summation order (all-reduced gradient halves and BatchNorm statistics against
    # one process's reductions), a few ulps a step; 1e-5 absolute on O(1) weights after 8 steps
    # allows ~50× the observed 2e-7 and is still far below what one skipped or doubled sample moves
    # (> 1e-3)
    args = [*ARGS, "kd=online", "trainer.sync_bn=true"]
    one, two = tmp_path / "one", tmp_path / "two"
    r = train(*args, f"hydra.run.dir={one}", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    r = torchrun(*args, f"hydra.run.dir={two}")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = weights(one), weights(two)
    worst = 0.0
    for net in a:
        for k, v in a[net].items():
            if v.is_floating_point():
                worst = max(worst, (v - b[net][k]).abs().max().item())
            else:
                assert torch.equal(v, b[net][k]), k  # BatchNorm step counters
    assert worst < 1e-5, worst
    assert summary(one)["metrics"] == pytest.approx(summary(two)["metrics"], abs=1.0)


def test_sigkill_of_one_rank_fails_the_run_then_rerun_resumes(two_ranks, tmp_path):
    straight, _ = two_ranks
    d = tmp_path / "run"
    r = torchrun(*ARGS, f"hydra.run.dir={d}", env={KILL_AT_ENV: "10", "SPACED_KD_KILL_RANK": "1"})
    assert r.returncode != 0
    s = summary(d)
    assert s["status"] == "failed" and "rank 1" in s["error"], s.get("error")
    assert 0 < final_state(d)["engine"]["event_index"] < 16

    # per-rank BatchNorm: one process may not take over a 2-rank run
    r = train(*ARGS, f"hydra.run.dir={d}", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 2 and "trained on 2 processes" in r.stderr, r.stderr[-1000:]

    r = torchrun(*ARGS, f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming" in r.stdout
    s = summary(d)
    assert s["status"] == "completed" and s["resumed_from_step"] > 0
    assert_identical(weights(straight), weights(d))


def test_failure_names_the_rank():
    assert attribute({1: {"comm": False, "error": "ValueError: x"}}, 2, "gloo") == "rank 1 failed: ValueError: x"
    assert attribute({}, 3, "gloo: closed").startswith("rank 1, 2 stopped without a word")
    assert attribute({1: {"comm": True, "error": "e"}}, 2, "seen") == "the ranks lost each other: seen"


def test_sum_reduced_loss_is_refused_in_one_line(tmp_path):
    r = torchrun(*ARGS, "loss.feature=mse_sum", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode != 0
    assert "loss.feature=mse_sum is summed over the whole batch" in r.stderr
    # rank 0 says it once; no traceback of ours (torchrun adds its own report of the exit status)
    assert r.stderr.count("is summed over the whole batch") == 1 and "spaced_kd/" not in r.stderr
    assert not (tmp_path / "run" / "summary.json").exists()



def test_a_kd_method_is_refused_in_one_line(tmp_path):
    r = torchrun(*ARGS, "method=dml", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode != 0
    assert r.stderr.count("method=dml runs in one process") == 1 and "spaced_kd/" not in r.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


def test_spaced_self_kd_runs_over_two_ranks(tmp_path):
    """Self KD (BYOT heads) under DDP: one wrapped network whose shallow heads learn in replay; it
    completes as one run and reports every head."""
    d = tmp_path / "self"
    r = torchrun(*ARGS, "kd_mode=self", "kd=spaced", "interval_unit=steps", "interval=3", f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr[-3000:]
    s = summary(d)
    assert s["status"] == "completed" and s["world_size"] == 2 and s["steps"] == s["total_steps"]
    assert {"student_acc", "ensemble_acc", "head1_acc"} <= set(s["metrics"])


def test_sigkill_of_rank_0_is_written_into_the_summary_by_rank_1(tmp_path):
    """The writer itself dies: its last summary said "running"; the surviving rank writes the failure."""
    d = tmp_path / "run"
    r = torchrun(*ARGS, f"hydra.run.dir={d}", env={KILL_AT_ENV: "10", "SPACED_KD_KILL_RANK": "0"})
    assert r.returncode != 0
    s = summary(d)
    assert s["status"] == "failed" and "rank 0 stopped without a word" in s["error"], s
    assert s["world_size"] == 2 and s["config"]["seed"] == 0  # the rest of rank 0's record is kept


def test_a_cohort_sweep_under_torchrun_runs_its_jobs_one_by_one_over_every_rank(tmp_path):
    """A cohort is one process; over several ranks its runs go one after another, each a 2-rank run."""
    sweep = tmp_path / "sweep"
    r = torchrun("-m", "kd=online,spaced", "hydra/sweeper=cohort", *ARGS, f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr[-3000:]
    runs = sorted(sweep.glob("*/seed-0/summary.json"))
    assert len(runs) == 2
    for path in runs:
        s = summary(path.parent)
        assert s["status"] == "completed" and s["world_size"] == 2
    assert r.stdout.count("runs completed") == 1 and "2/2 runs completed" in r.stdout  # rank 0 reports
