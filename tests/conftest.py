import os

# Tiny models on a 2-core machine: one thread per process is as fast and never thrashes when
# another process (a subprocess run, another job) wants the other core.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "run"
