import json
import os

# Tiny models on a 2-core machine: one thread per process is as fast and never thrashes when
# another process (a subprocess run, another job) wants the other core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Small, fast run on the embedded digits set: 4 steps an epoch at batch 64 over 256 samples.
FAST = ["trainer.epochs=2", "dataset.train_subset=256", "trainer.batch_size=64", "trainer.progress=false",
        "dataset.test_subset=120"]


def train(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run train.py in a subprocess, as a user would."""
    full_env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
