"""What the cohort tests share: a tiny config, and comparing a cohort member with the run alone."""
from pathlib import Path

import torch

from spaced_kd import rundir
from spaced_kd.config import load_config

# digits, 256 training images at batch 64: 4 steps an epoch; 3 epochs = 12 teacher steps
BASE = {"dataset": {"name": "digits", "train_subset": 256, "test_subset": 60},
        "model": {"name": "resnet8", "drop_path": 0.1},  # the forward randomness is shared too
        "trainer": {"epochs": 3, "batch_size": 64, "progress": False, "device": "cpu", "checkpoint_every": 3}}

# (kd, interval in epochs): 0.5 → 2 steps, 1 → 4, 2 → 8
ARMS = [("none", 1.5), ("online", 1.5), ("spaced", 0.5), ("spaced", 2.0), ("ahead", 1.0), ("offline", 1.5)]

# summary fields that say when and where, not what
TIMING = ("wall_s", "device", "run_dir", "resumed_from_step")


def cfg_for(kd: str, interval: float, **over):
    base = {**BASE, "kd": {"name": kd}, "interval": interval}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return load_config(base)


def checkpoint(run_dir: Path) -> dict:
    return torch.load(Path(run_dir) / rundir.CHECKPOINT, weights_only=True)


def assert_same(a, b, path="state"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f"{path} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def without(d: dict, keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def rows(run_dir: Path) -> list:
    return [without(r, ("wall_s",)) for r in rundir.read_metrics(run_dir)]


def assert_same_run(alone: Path, member: Path, timing=TIMING) -> None:
    """A cohort member's record equals the run alone: every tensor of its checkpoint (weights,
    buffers, optimiser state, RNG), its position and logged rows, metrics.jsonl and summary.json,
    all but wall-clock times and paths."""
    a, b = checkpoint(alone), checkpoint(member)
    assert_same(a["learner"], b["learner"], "learner")
    assert_same(a["rng"], b["rng"], "rng")
    assert_same(a["config"], b["config"], "config")
    assert_same(without(a["engine"], ("wall_s",)), without(b["engine"], ("wall_s",)), "engine")
    assert_same([without(r, ("wall_s",)) for r in a["tracker"]["rows"]],
                [without(r, ("wall_s",)) for r in b["tracker"]["rows"]], "tracker rows")
    assert rows(alone) == rows(member) and rows(alone)
    sa, sb = rundir.read_summary(alone), rundir.read_summary(member)
    assert without(sa, timing) == without(sb, timing)
