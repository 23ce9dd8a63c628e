"""What many tests share: running train.py as a user would, the tiny run, reading a summary."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Small, fast run on the embedded digits set: 4 steps an epoch at batch 64 over 256 samples.
FAST = ["trainer.epochs=2", "dataset.train_subset=256", "trainer.batch_size=64", "trainer.progress=false",
        "dataset.test_subset=120"]


def train(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run train.py in a subprocess, as a user would."""
    return run_script("train.py", *args, env=env, timeout=timeout)


def run_script(script: str, *args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`env` is added to this process's environment; a None value removes that variable."""
    full_env = {k: v for k, v in {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (asserting it is one line, no traceback)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0, r.stdout[-2000:]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]
