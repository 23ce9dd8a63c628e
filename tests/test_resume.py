"""SIGKILL at several points, resume in the same directory: final weights are bit-identical."""
import signal

import torch

from helpers import FAST, summary, train
from spaced_kd.engine import KILL_AT_ENV

# 2 epochs × 4 steps, spaced s = 6 steps: 16 events; checkpoints every 3 events and at epoch ends.
ARGS = [*FAST, "trainer.checkpoint_every=3", "model.drop_path=0.0"]


def final_state(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)


def assert_identical(a, b, path="state"):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{path} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_identical(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_sigkill_three_times_then_resume_matches_uninterrupted(tmp_path):
    straight = tmp_path / "straight"
    r = train(*ARGS, f"hydra.run.dir={straight}")
    assert r.returncode == 0, r.stderr

    crashed = tmp_path / "crashed"
    # event 5: mid-epoch, 2 events after a checkpoint (work is lost and redone);
    # event 10: during the first replay block; event 14: in the last block.
    for kill_at in (5, 10, 14):
        r = train(*ARGS, f"hydra.run.dir={crashed}", env={KILL_AT_ENV: str(kill_at)})
        assert r.returncode == -signal.SIGKILL, (kill_at, r.returncode, r.stderr[-500:])
        assert summary(crashed)["status"] == "running"
    r = train(*ARGS, f"hydra.run.dir={crashed}")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout
    s = summary(crashed)
    assert s["status"] == "completed" and s["resumed_from_step"] > 0

    a, b = final_state(straight), final_state(crashed)
    assert_identical(a["learner"], b["learner"])
    assert_identical(a["rng"]["torch"], b["rng"]["torch"])
    assert (straight / "metrics.jsonl").read_text().count("\n") == (crashed / "metrics.jsonl").read_text().count("\n")
    assert summary(straight)["metrics"] == s["metrics"]


def test_completed_run_is_not_retrained(tmp_path):
    d = tmp_path / "run"
    assert train(*ARGS, "kd=none", f"hydra.run.dir={d}").returncode == 0
    before = final_state(d)["engine"]
    r = train(*ARGS, "kd=none", f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr
    assert final_state(d)["engine"]["event_index"] == before["event_index"]
    assert summary(d)["status"] == "completed"


def test_resume_with_another_config_is_refused(tmp_path):
    d = tmp_path / "run"
    assert train(*ARGS, "kd=none", f"hydra.run.dir={d}").returncode == 0
    r = train(*ARGS, "kd=none", "optim.lr=0.05", f"hydra.run.dir={d}")
    assert r.returncode == 2
    assert "another configuration (optim.lr: 0.01 → 0.05)" in r.stderr
