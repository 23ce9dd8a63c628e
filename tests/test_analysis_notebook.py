"""analysis/paper_tables.ipynb executes headless (nbclient) from one sweep-root parameter."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analysis_fakes import ROOT, paper_sweep

NOTEBOOK = ROOT / "analysis" / "paper_tables.ipynb"


def execute(sweep_root: Path, out_dir: Path, n_boot: int = 20):
    """Run the notebook with its parameters cell replaced; returns the executed notebook."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    params[0].source = (f"SWEEP_ROOT = {str(sweep_root)!r}\nOUT_DIR = {str(out_dir)!r}\n"
                        f"METRIC = 'student_acc'\nN_BOOT = {n_boot}\nPAPER = True\n")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{out.ename}: {out.evalue}"
            if out.output_type == "stream":
                text.append(out.text)
            elif "data" in out:
                text.append(out.data.get("text/markdown", "") + out.data.get("text/plain", ""))
    return "\n".join(text)


def test_notebook_runs_on_a_fake_sweep(tmp_path):
    paper_sweep(tmp_path / "runs", seeds=(0, 1), epochs=4)
    text = outputs(execute(tmp_path / "runs", tmp_path / "figs"))
    for number in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12):
        assert f"Table {number}:" in text
    assert "| CIFAR-100 | ResNet-18 |" in text.replace("  ", " ").replace("  ", " ")
    assert "best s* = 1.50" in text  # the fake sweep plants its best interval at 1.5
    assert "1 failed" in text
    assert len(list((tmp_path / "figs").glob("*.png"))) >= 6 and len(list((tmp_path / "figs").glob("*.pdf"))) >= 6


@pytest.mark.slow
def test_notebook_runs_on_a_real_tiny_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "kd=none,online,spaced", "interval=0.5,1", "seed=0,1",
           "trainer.epochs=1", "dataset.train_subset=200", "dataset.test_subset=100", "trainer.batch_size=50",
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
    text = outputs(execute(sweep, tmp_path / "figs"))
    assert "Table 6:" in text and "| Digits" in text
    assert "best s* = " in text or "not concave" in text
    assert (tmp_path / "figs" / "fig2c_interval_fit.png").exists()
