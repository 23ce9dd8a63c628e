"""train.py end to end on the embedded digits set (subprocesses, a few seconds each)."""
import json

import pytest

from helpers import FAST, summary, train


def test_default_run_writes_the_run_directory_contract(run_dir):
    r = train(*FAST, f"hydra.run.dir={run_dir}")
    assert r.returncode == 0, r.stderr
    assert "summary:" in r.stdout and str(run_dir / "summary.json") in r.stdout
    s = summary(run_dir)
    assert s["status"] == "completed" and s["error"] is None
    assert s["config"]["kd"]["name"] == "spaced"  # the paper's method is the default
    for key in ("student_acc", "student_best_acc", "teacher_acc"):
        assert 0.0 <= s["metrics"][key] <= 100.0
    assert s["metrics"]["student_best_acc"] >= s["metrics"]["student_acc"]
    assert s["steps"] == s["total_steps"] == 8 and s["steps_per_epoch"] == 4
    assert s["interval_steps"] == 6  # 1.5 epochs × 4 steps
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {(r["role"], r["epoch"]) for r in rows} == {(role, e) for role in ("teacher", "student") for e in (1, 2)}
    assert all(set(r) == {"epoch", "step", "role", "split", "acc", "loss", "wall_s"} for r in rows)
    last_student = [r for r in rows if r["role"] == "student"][-1]
    assert last_student["acc"] == pytest.approx(s["metrics"]["student_acc"], abs=1e-3)
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert (run_dir / "checkpoints" / "last.pt").exists()


def test_cfg_job_prints_the_composed_config():
    r = train("--cfg", "job", "kd=online", "model=resnet20")
    assert r.returncode == 0, r.stderr
    assert "name: online" in r.stdout and "name: resnet20" in r.stdout and "interval: 1.5" in r.stdout


@pytest.mark.parametrize("kd", ["none", "online", "ahead", "offline"])
def test_each_schedule_completes(kd, tmp_path):
    r = train(*FAST, f"kd={kd}", f"hydra.run.dir={tmp_path / kd}")
    assert r.returncode == 0, r.stderr
    s = summary(tmp_path / kd)
    assert s["status"] == "completed"
    assert ("teacher_acc" in s["metrics"]) == (kd != "none")


def test_val_fraction_logs_a_val_split(run_dir):
    r = train(*FAST, "dataset.val_fraction=0.2", "kd=none", f"hydra.run.dir={run_dir}")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} == {"test", "val"}
    assert "student_val_acc" in summary(run_dir)["metrics"]


def test_wandb_online_without_credentials_logs_offline(run_dir, tmp_path):
    # no API key and no ~/.netrc: online would stop at a login prompt, so the run says so and logs offline
    env = {"HOME": str(tmp_path), "WANDB_API_KEY": None, "WANDB_MODE": None}
    r = train(*FAST, "kd=none", "logger=wandb", "logger.mode=online", f"hydra.run.dir={run_dir}", env=env)
    assert r.returncode == 0, r.stderr
    assert "no wandb credentials" in r.stderr and "logging offline instead" in r.stderr
    assert summary(run_dir)["status"] == "completed"
    assert list((run_dir / "wandb").glob("offline-run-*")), "wandb wrote no offline run"


def test_offline_kd_from_a_trained_teacher_checkpoint(tmp_path):
    teacher_run = tmp_path / "teacher"
    assert train(*FAST, "kd=none", f"hydra.run.dir={teacher_run}").returncode == 0
    d = tmp_path / "student"
    r = train(*FAST, "kd=offline", f"teacher.checkpoint={teacher_run}", f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr
    s = summary(d)
    assert s["teacher_steps"] == 0 and s["steps"] == 8  # no teacher training, only the student
    # the loaded teacher is evaluated as it is: the accuracy the teacher run ended with
    assert s["metrics"]["teacher_acc"] == pytest.approx(summary(teacher_run)["metrics"]["student_acc"])


def test_interval_in_steps(run_dir):
    r = train(*FAST, "interval=3", "interval_unit=steps", f"hydra.run.dir={run_dir}")
    assert r.returncode == 0, r.stderr
    assert summary(run_dir)["interval_steps"] == 3
