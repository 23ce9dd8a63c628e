"""analysis/paper_tables.ipynb runs headless with the README's command, exactly as written.

The command is run as a user types it (a shell, from the repository root), with only the sweep
root replaced by the test's own; everything it needs comes from `pip install -e '.[dev]'`.
"""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from analysis_fakes import ROOT, paper_sweep

EXAMPLE_ROOT = "multirun/<date>/<time>"
NOTEBOOK_COMMAND = f"SWEEP_ROOT={EXAMPLE_ROOT} jupyter execute analysis/paper_tables.ipynb"


def run_notebook(sweep_root: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """The README's command from the repository root, with a relative path to ``sweep_root``
    (a relative SWEEP_ROOT is read from the directory the command ran in)."""
    relative = os.path.relpath(sweep_root, ROOT)
    command = NOTEBOOK_COMMAND.replace(EXAMPLE_ROOT, shlex.quote(relative))
    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_ROOT", "FIGURES_DIR")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # this env's jupyter
    return subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_readme_command_runs_on_a_fake_sweep(tmp_path):
    sweep = tmp_path / "runs"
    paper_sweep(sweep, seeds=(0, 1), epochs=4)
    done = run_notebook(sweep)
    assert done.returncode == 0, done.stderr[-3000:]
    written = sweep / "figures"  # the default: next to the runs it was made from
    text = (written / "tables.md").read_text()
    for number in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12):
        assert f"Table {number}:" in text
    assert "| CIFAR-100 " in text and "2 failed" in text  # a failed and a killed run
    assert "Metric: ensemble_best_acc" in text  # Tab. 2's choice, printed under it
    assert len(list(written.glob("*.png"))) >= 6 and len(list(written.glob("*.pdf"))) >= 6


def test_the_readme_command_refuses_a_missing_root(tmp_path):
    done = run_notebook(tmp_path / "nope", timeout=300)
    assert done.returncode != 0
    assert f"no such sweep root: {tmp_path / 'nope'}" in done.stderr


@pytest.mark.slow
def test_the_readme_command_runs_on_a_real_tiny_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "kd=none,online,spaced", "interval=0.5,1", "seed=0,1",
           "trainer.epochs=2", "dataset.train_subset=200", "dataset.test_subset=100", "trainer.batch_size=50",
           "trainer.progress=false", f"hydra.sweep.dir={sweep}"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    from analysis.collect import collect
    from analysis.tables import build_table

    df = collect(sweep)
    assert len(df) == 12 and df["ok"].all()
    # kd=none/online ignore the interval: their second interval is a rerun of the first
    assert int(df["superseded"].sum()) == 4
    t6 = build_table(df, 6)
    assert {"Baseline", "w/o", "w/0.5", "w/1.0"} <= set(t6.cells.loc[t6.cells["n"] == 2, "column"])
    done = run_notebook(sweep)
    assert done.returncode == 0, done.stderr[-3000:]
    text = (sweep / "figures" / "tables.md").read_text()
    assert "Table 6:" in text and "| Digits" in text
    assert (sweep / "figures" / "fig2c_interval_fit.png").exists()
