"""Online and spaced KD with loss.alpha = loss.beta = 0 are the baseline (kd=none), bit for bit.

With both KD weights at zero the student's loss is its cross-entropy alone, and the teacher only
reads the batches (its own random draws and updates never touch the student's), so the student
must end with the baseline's weights, buffers and test accuracies, epoch by epoch. A difference
here means the KD arms measure something besides distillation (a shared random stream, an
optimiser built differently, a batch seen in another order).
"""
import pytest
import torch
from hydra import compose, initialize_config_dir

from cohort_helpers import assert_same, checkpoint
from helpers import ROOT
from spaced_kd import rundir
from spaced_kd.conf_store import register
from spaced_kd.config import load_config
from spaced_kd.run import run

# digits, 256 training images at batch 64: 4 steps an epoch, 2 epochs; spaced 0.5 → 2-step blocks
TINY = ["dataset=digits", "dataset.train_subset=256", "dataset.test_subset=60", "model=resnet8",
        "trainer.epochs=2", "trainer.batch_size=64", "trainer.progress=false", "trainer.device=cpu",
        "trainer.threads=1", "interval=0.5"]
SILENT = ["loss.alpha=0", "loss.beta=0"]


def train(tmp_path, name, *overrides):
    """One run composed as train.py composes it (the real conf/, recipe group included)."""
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = load_config(compose(config_name="config", overrides=[*TINY, *overrides]))
    run(cfg, tmp_path / name, log=lambda _: None)
    return tmp_path / name


def student(run_dir):
    return checkpoint(run_dir)["learner"]["models"]["student"]


def student_rows(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rundir.read_metrics(run_dir)
            if r["role"] == "student"]


def student_metrics(run_dir):
    return {k: v for k, v in rundir.read_summary(run_dir)["metrics"].items() if k.startswith("student")}


@pytest.mark.parametrize("recipe", ["default", "official"])
def test_kd_with_zero_weights_is_the_baseline(tmp_path, recipe):
    base = train(tmp_path, "none", "kd=none", f"recipe={recipe}")
    for kd in ("online", "spaced"):
        silent = train(tmp_path, kd, f"kd={kd}", f"recipe={recipe}", *SILENT)
        assert_same(student(base), student(silent), f"{kd}: student state")
        assert student_rows(base) == student_rows(silent) and student_rows(base), kd
        assert student_metrics(base) == student_metrics(silent), kd


def test_the_identity_is_not_vacuous(tmp_path):
    """With the default weights the same online run moves away from the baseline."""
    base = train(tmp_path, "none", "kd=none")
    online = train(tmp_path, "online", "kd=online")
    assert any(not torch.equal(v, student(online)[k]) for k, v in student(base).items() if v.is_floating_point())
