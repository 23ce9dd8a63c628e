"""A run directory is one writer's, and its record survives refusals, crashes and lost files."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import FAST, ROOT, one_line_error, summary, train
from spaced_kd import rundir
from spaced_kd.config import load_config
from spaced_kd.engine import KILL_AT_ENV
from spaced_kd.restore import load_run
from spaced_kd.run import run

ARGS = [*FAST, "trainer.checkpoint_every=3"]
RECORD = [rundir.CONFIG, rundir.OVERRIDES, rundir.HYDRA, rundir.SUMMARY, rundir.METRICS, rundir.CHECKPOINT]


def checksums(run_dir: Path) -> dict:
    return {str(p): hashlib.sha256((run_dir / p).read_bytes()).hexdigest()
            for p in RECORD if (run_dir / p).exists()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A completed run and one killed mid-way (SIGKILL at event 5), to be copied by each test."""
    base = tmp_path_factory.mktemp("runs")
    done, killed = base / "completed", base / "interrupted"
    assert train(*ARGS, f"hydra.run.dir={done}").returncode == 0
    r = train(*ARGS, f"hydra.run.dir={killed}", env={KILL_AT_ENV: "5"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    return {"completed": done, "interrupted": killed}


def copy_of(runs, which, tmp_path) -> Path:
    d = tmp_path / which
    shutil.copytree(runs[which], d)
    return d


@pytest.mark.parametrize("which", ["completed", "interrupted"])
@pytest.mark.parametrize("bad, says", [
    ("dataset.train_subset=200", "another configuration (dataset.train_subset: 256 → 200)"),
    ("optim.momentum=-1", "optim.momentum must be in [0, 1)"),
    # found only once the data is built, after the run was accepted for replacement
    ("trainer.resume=false trainer.batch_size=100000", "larger than the training set"),
])
def test_a_refusal_changes_nothing(runs, tmp_path, which, bad, says):
    d = copy_of(runs, which, tmp_path)
    before = checksums(d)
    assert len(before) == len(RECORD)
    line = one_line_error(train(*ARGS, *bad.split(), f"hydra.run.dir={d}"))
    assert says in line, line
    assert checksums(d) == before


def test_rerunning_a_completed_run_rewrites_nothing(runs, tmp_path):
    d = copy_of(runs, "completed", tmp_path)
    before = checksums(d)
    r = train(*ARGS, "trainer.progress=true", f"hydra.run.dir={d}")  # a watching-only setting may differ
    assert r.returncode == 0, r.stderr
    assert "not retrained" in r.stdout
    assert checksums(d) == before


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    d = tmp_path / "run"
    first = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *FAST, "trainer.epochs=400",
                              f"hydra.run.dir={d}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while rundir.holder(d) != first.pid and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rundir.holder(d) == first.pid
        while not (d / rundir.CHECKPOINT).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        line = one_line_error(train(*FAST, "trainer.epochs=400", f"hydra.run.dir={d}"))
        assert f"in use by process {first.pid}" in line, line
        assert first.poll() is None  # the first writer goes on
    finally:
        first.kill()
        first.wait()
    assert rundir.holder(d) is None  # its lock died with it


def test_a_stale_lock_file_never_blocks(runs, tmp_path):
    d = copy_of(runs, "interrupted", tmp_path)
    (d / rundir.LOCK).write_text("999999\n")  # left by a process that is gone
    r = train(*ARGS, f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr
    assert summary(d)["status"] == "completed"


def test_the_config_is_recovered_from_the_checkpoint(runs, tmp_path):
    d = copy_of(runs, "interrupted", tmp_path)
    shutil.rmtree(d / rundir.HYDRA_DIR)
    r = train(*ARGS, f"hydra.run.dir={d}")  # resumes: the checkpoint says which run this is
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout
    shutil.rmtree(d / rundir.HYDRA_DIR)
    setup = load_run(d)  # what evaluate.py uses: no .hydra needed either
    assert setup.cfg.dataset.train_subset == 256 and setup.cfg.trainer.checkpoint_every == 3


def test_moving_the_data_or_the_machine_does_not_block_a_resume(runs, tmp_path):
    d = copy_of(runs, "interrupted", tmp_path)
    r = train(*ARGS, f"dataset.root={tmp_path / 'elsewhere'}", "trainer.device=cpu", "trainer.threads=1",
              "dataset.num_workers=0", "trainer.channels_last=true", f"hydra.run.dir={d}")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout


def rows_without_time(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rundir.read_metrics(run_dir)]


@pytest.mark.parametrize("damage", ["cut mid-line", "emptied", "deleted"])
def test_metrics_are_rebuilt_from_the_checkpoint_on_resume(runs, tmp_path, damage):
    d = copy_of(runs, "interrupted", tmp_path)
    metrics = d / rundir.METRICS
    text = metrics.read_bytes()
    if damage == "cut mid-line":
        metrics.write_bytes(text[: len(text) // 2 + 3])
    elif damage == "emptied":
        metrics.write_bytes(b"")
    else:
        metrics.unlink()
    assert train(*ARGS, f"hydra.run.dir={d}").returncode == 0
    data = metrics.read_bytes()
    assert b"\x00" not in data and data.endswith(b"\n")
    assert rows_without_time(d) == rows_without_time(runs["completed"])


def test_metrics_deleted_during_the_run_are_rewritten_at_its_end(tmp_path):
    d = tmp_path / "run"
    cfg = load_config({"trainer": {"epochs": 3, "batch_size": 64, "progress": False},
                       "dataset": {"train_subset": 256, "test_subset": 120}})

    def log(line: str) -> None:  # called after each evaluation: lose the file once, mid-run
        if line.startswith("epoch 1 [student") and (d / rundir.METRICS).exists():
            (d / rundir.METRICS).unlink()

    s = run(cfg, d, log=log)
    assert s["status"] == "completed"
    roles = [(r["epoch"], r["role"]) for r in rundir.read_metrics(d)]
    assert sorted(roles) == [(e, role) for e in (1, 2, 3) for role in ("student", "teacher")]


def _tmpfs(path: Path, size_kb: int) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_a_full_disk_is_named_as_such(tmp_path):
    disk = tmp_path / "small-disk"
    if not _tmpfs(disk, 256):  # room for the summary, not for a checkpoint (~1 MB)
        pytest.skip("mounting a small tmpfs needs root and CAP_SYS_ADMIN")
    try:
        d = disk / "run"
        line = one_line_error(train(*FAST, f"hydra.run.dir={d}"))
        assert "no space left on device" in line, line
        s = summary(d)
        assert s["status"] == "failed" and "no space left on device" in s["error"], s["error"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_checkpoints_cannot_carry_code(tmp_path):
    """weights_only=True: a checkpoint whose pickle would run a command is refused, and nothing runs."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    d = tmp_path / "run"
    (d / "checkpoints").mkdir(parents=True)
    torch.save({"format": 2, "config": {}, "learner": Evil()}, d / rundir.CHECKPOINT)
    line = one_line_error(train(*FAST, f"hydra.run.dir={d}"))
    assert "unreadable" in line and "it would call" in line and "nothing in it was run" in line
    assert not marker.exists()
