"""Multirun sweeps with Hydra's basic launcher: the card's command verbatim, failure isolation."""
import json
from pathlib import Path

from helpers import FAST, train


def summaries(root: Path) -> dict:
    return {str(p.parent.relative_to(root)): json.loads(p.read_text()) for p in root.rglob("summary.json")}


def test_interval_sweep_verbatim(tmp_path):
    r = train("-m", "kd=spaced", "interval=0.5,1,1.5,2", *FAST, "trainer.epochs=3", f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    runs = summaries(tmp_path)
    assert len(runs) == 4 and all(s["status"] == "completed" for s in runs.values())
    # grouped by override, seed underneath; each run replayed with its own interval (4 steps/epoch)
    assert {s["interval_steps"] for s in runs.values()} == {2, 4, 6, 8}
    # plain folder names: no '=' or ',' to quote when a path is passed on to evaluate.py or a shell
    assert all(k.endswith("/seed-0") and "interval-" in k and "=" not in k and "," not in k for k in runs), runs


def test_self_kd_sweep(tmp_path):
    r = train("-m", "kd=online,spaced", "kd_mode=self", *FAST, "interval=0.5", "trainer.epochs=1",
              f"hydra.sweep.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    runs = summaries(tmp_path)
    assert len(runs) == 2 and all(s["status"] == "completed" and "ensemble_acc" in s["metrics"] for s in runs.values())


def test_one_broken_job_does_not_stop_the_sweep_but_fails_it(tmp_path):
    r = train("-m", "dataset.val_fraction=0.1,0.2", "dataset.train_subset=256,4", *FAST[2:], "trainer.epochs=1",
              "kd=none", f"hydra.sweep.dir={tmp_path}")
    assert r.returncode != 0  # the sweep says something failed …
    runs = summaries(tmp_path)
    assert len(runs) == 4  # … but every job ran
    failed = {k: s for k, s in runs.items() if s["status"] == "failed"}
    assert set(failed) == {k for k in runs if "train_subset-4" in k}
    assert all("larger than the training set" in s["error"] for s in failed.values())
    assert "2 of 4 runs did not complete" in r.stderr


def test_exit_status_counts_only_this_invocations_jobs(tmp_path):
    common = [*FAST[2:], "trainer.epochs=1", "kd=none", f"hydra.sweep.dir={tmp_path}"]
    first = train("-m", "dataset.train_subset=256,4", *common)
    assert first.returncode == 1 and "1 of 2 runs did not complete" in first.stderr
    # the failed run stays in the sweep dir; a later invocation that runs only good jobs succeeds
    again = train("-m", "dataset.train_subset=256,128", *common)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2/2 runs completed" in again.stdout
    assert sum(s["status"] == "failed" for s in summaries(tmp_path).values()) == 1


def test_sweep_folders_are_named_by_what_defines_a_run():
    from hydra import compose, initialize_config_dir

    from helpers import ROOT
    from spaced_kd.conf_store import register
    from spaced_kd.config import NOT_IDENTITY

    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose(config_name="config", return_hydra_config=True)
    assert list(cfg.hydra.job.config.override_dirname.exclude_keys) == ["seed", *NOT_IDENTITY]
